//! The bounded, in-CI run of the `acl_check` fuzz target (`fuzz/fuzz_targets/acl_check.rs`):
//! the same step, `broker::acl::fuzz::fuzz_one`, over seeds (white-address rules of every form
//! and requests of the codes `PlainAccessValidator.parse` reads) and deterministic random
//! mutations of them, plus raw random bytes. Stable Rust, no cargo-fuzz; the iteration count is
//! fixed (`FUZZ_ITERATIONS=1000000 cargo test -p broker --release --test acl_fuzz_bounded`
//! runs longer).

use broker::acl::fuzz::fuzz_one;

const SEEDS: &[&str] = &[
    "192.168.1.1-100\n\x01\na=g\nb=AclTopic\0body",
    "10.10.103.*\n\x0b\ntopic=AclTopic\nconsumerGroup=acl_group\0",
    "192.168.*.*\n\x0e\nconsumerGroup=denied_group\ntopic=T\0",
    "192.168.1.{1,2,3}\n\x06\0{\"consumerDataSet\":[{\"groupName\":\"g\",\"subscriptionDataSet\":[{\"topic\":\"T\"}]}]}",
    "1050:0:0:0:5:600:300c:1-ff\n\x01\na=g\nb=%RETRY%g\0",
    "1050::{1,2}\n\x04\ngroup=g\0",
    "*\n\x0a\ntopic=DeniedTopic\nbname=b\0",
    "1.1.1.1,2.2.2.2\n\x06\0",
    "::1\n\x0c\ntopic=RMQ_SYS_TRACE_TOPIC\0",
    "1.2.3\n\x00\ntopic=x\ngroup=%RETRY%y\0",
    "-1.2.3.4\n\x02\n_UNIQUE_KEY_QUERY=true\nSignature=x\0",
    "1050:0:0:0:5:600:*:1-ff\n\x03\nAccessKey=nosuchuser\0",
];

const TOKENS: &[&[u8]] = &[
    b"*",
    b"-",
    b"{",
    b"}",
    b",",
    b".",
    b":",
    b"::",
    b"=",
    b"\n",
    b"\0",
    b"%RETRY%",
    b"255",
    b"256",
    b"ffff",
    b"10000",
    b"AccessKey=",
    b"Signature=",
    b"SecurityToken=",
    b"\xc3\xa9",
    b"\xff",
    b"[",
    b"]",
    b"\"topic\":",
    b"null",
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
