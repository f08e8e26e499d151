//! The bounded, in-CI run of the `sql92` fuzz target (`fuzz/fuzz_targets/sql92.rs`): the same
//! step, `filter::sql92::fuzz_one`, over a seed corpus of selectors and deterministic random
//! mutations of it (byte flips, token insertions, splices, truncations), plus raw random bytes.
//! Stable Rust, no cargo-fuzz. The iteration count is fixed so the run is quick and
//! reproducible; `FUZZ_ITERATIONS=1000000 cargo test -p filter --release --test
//! sql92_fuzz_bounded` runs longer.

use filter::sql92::fuzz_one;

const SEEDS: &[&str] = &[
    "a=3 and b<>4 And c>5 AND d<=4\0a=3\nb=5\nc=6\nd=1",
    "a in ('3', '4', '5')\0a=4",
    "(a not in ('6', '4', '5')) or (b in ('3', '4', '5'))\0b=3",
    "(a between 2 and 10) AND (b not between 6 and 9)\0a=2\nb=10",
    "a is null OR a='hello'\0a=hello",
    "a is not null\0a=",
    "TAGS is not null and TAGS='''''tag'''''\0TAGS=''tag''",
    "value not contains 'x' and v startswith 'ab' or w endswith 'z'\0value=y\nv=abc",
    "a > 3.1E10 and b < -5 and c >= 2147483648 and d <= 1L\0a=4e10\nb=-6",
    "a=TRUE OR b=FALSE\0a=true",
    "NOT (a = 1) AND NOT NOT b IS NULL\0a=2",
    "a = b /* comment */ -- line\n AND c <> 'it''s'\0a=x\nb=x\nc=its",
    "a BETWEEN 1.5 AND 'x'",
    "((((a > 1))))\0a=2",
    "+-+-1 < a\0a=0",
    "a = 0.0",
    "'unterminated",
    "/* open",
    "a.b = 1",
];

const TOKENS: &[&[u8]] = &[
    b" AND ",
    b" OR ",
    b" NOT ",
    b"(",
    b")",
    b"'",
    b"''",
    b"=",
    b"<>",
    b">=",
    b"<=",
    b" IS NULL",
    b" IN ('a','b','c','d','e')",
    b" BETWEEN 1 AND 2",
    b" CONTAINS 'x'",
    b"1e400",
    b"0.0",
    b"99999999999999999999",
    b"-",
    b"+",
    b"--",
    b"/*",
    b"*/",
    b"\0",
    b"\n",
    b"\t",
    b"\xc3\xa9",
    b"\xff",
    b"TRUE",
    b"NULL",
    b"a",
    b",",
];

/// xorshift64*, so a failure reproduces from the iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(6) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
            2 if !input.is_empty() => {
                let end = (at + rng.below(8)).min(input.len());
                input.drain(at.min(end)..end);
            }
            3 => {
                let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                let from = rng.below(other.len());
                input.splice(at..at, other[from..].iter().copied());
            }
            4 => input.truncate(at),
            _ => input.insert(at, rng.next() as u8),
        }
    }
    input.truncate(2048);
}

#[test]
fn seeds_as_they_are() {
    for seed in SEEDS {
        fuzz_one(seed.as_bytes());
    }
}

#[test]
fn mutated_seeds() {
    let mut rng = Rng(0x5EED_5E1E_C70B_0001);
    for i in 0..iterations() {
        let mut input = SEEDS[i % SEEDS.len()].as_bytes().to_vec();
        mutate(&mut rng, &mut input);
        fuzz_one(&input);
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0xB17E_5B17_E5B1_7E5B);
    for _ in 0..iterations() / 4 {
        let len = rng.below(64);
        let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        fuzz_one(&data);
    }
}
