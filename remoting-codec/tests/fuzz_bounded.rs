//! The bounded, in-CI version of the fuzz targets in `fuzz/`: arbitrary and mutated bytes go into
//! every decoder that reads peer input. Nothing may panic, and no single allocation may exceed a
//! small multiple of the configured frame limit (a hostile length field must not make us reserve
//! memory for a frame we will refuse anyway).
//!
//! The iteration count is fixed so the test is deterministic and quick; set `FUZZ_ITERATIONS` for
//! a longer local run.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::BytesMut;
use remoting_codec::{RemotingCodec, RemotingCommand};
use tokio_util::codec::Decoder;

/// Records the largest single allocation made while `MEASURING` is set on the allocating thread.
struct PeakAllocator;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    // Per thread, because the tests of this file run in parallel.
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    if MEASURING.with(|m| m.get()) {
        PEAK.with(|p| p.set(p.get().max(size)));
    }
}

fn peak() -> usize {
    PEAK.with(|p| p.get())
}

unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: PeakAllocator = PeakAllocator;

/// A small deterministic PRNG (xorshift64*), so failures reproduce from the printed seed.
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
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// Mutations that hit the interesting places: length fields, the type byte, header contents.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>) {
    match rng.below(6) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = rng.next() as u8;
        }
        1 => input.truncate(rng.below(input.len() + 1)),
        2 if input.len() >= 8 => {
            // Rewrite the frame length or the header length/type word.
            let at = if rng.below(2) == 0 { 0 } else { 4 };
            let v = match rng.below(4) {
                0 => u32::MAX,
                1 => 0x7FFF_FFFF,
                2 => rng.next() as u32,
                _ => (input.len() as u32).wrapping_sub(rng.below(16) as u32),
            };
            input[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        3 => {
            let at = rng.below(input.len() + 1);
            let n = rng.below(32);
            let extra = rng.bytes(n);
            input.splice(at..at, extra);
        }
        4 if input.len() > 12 => {
            // Corrupt a length inside a binary header (remark / extFields / key / value lengths).
            let i = 8 + rng.below(input.len() - 12);
            input[i..i + 4].copy_from_slice(&(rng.next() as u32 | 0x8000_0000).to_be_bytes());
        }
        _ => {
            let n = rng.below(8);
            for _ in 0..n {
                let i = rng.below(input.len().max(1));
                if i < input.len() {
                    input[i] ^= 1 << rng.below(8);
                }
            }
        }
    }
}

fn decode_all(codec: &mut RemotingCodec, input: &[u8]) {
    let mut buf = BytesMut::from(input);
    while let Ok(Some(cmd)) = codec.decode(&mut buf) {
        // Whatever decoded must also encode and decode again.
        let again = RemotingCommand::decode_frame(cmd.to_frame().slice(4..));
        assert!(
            again.is_ok(),
            "re-decode of a decoded frame failed: {again:?}"
        );
    }
}

#[test]
fn frame_decoder_survives_arbitrary_and_mutated_input() {
    const LIMIT: usize = 64 * 1024;
    let mut codec = RemotingCodec::new(LIMIT);
    let seeds: Vec<Vec<u8>> = support::golden_frames()
        .iter()
        .map(|f| f.whole_frame())
        .filter(|f| f.len() < LIMIT)
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..iterations() {
        let mut input = if i % 4 == 0 {
            let len = rng.below(256);
            rng.bytes(len)
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut input);
        }
        MEASURING.with(|m| m.set(true));
        decode_all(&mut codec, &input);
        MEASURING.with(|m| m.set(false));
    }
    let peak = peak();
    assert!(
        peak <= 2 * LIMIT + 4096,
        "an allocation of {peak} bytes exceeds the frame limit"
    );
}

#[test]
fn a_hostile_length_field_allocates_nothing_big() {
    let mut codec = RemotingCodec::default();
    MEASURING.with(|m| m.set(true));
    for len in [i32::MAX, 16 * 1024 * 1024 - 3, -5, 3] {
        let mut buf = BytesMut::from(&len.to_be_bytes()[..]);
        buf.extend_from_slice(&[0, 0, 0, 2, b'{', b'}']);
        let _ = codec.decode(&mut buf);
    }
    MEASURING.with(|m| m.set(false));
    assert!(peak() < 1024 * 1024);
}

/// Message bodies as a pull response or a batch send carries them, from the recorded frames.
fn message_seeds() -> Vec<Vec<u8>> {
    support::golden_frames()
        .iter()
        .filter(|f| {
            matches!(
                f.request_code_of_exchange(),
                Some(11 | 12 | 33 | 320 | 39 | 309)
            )
        })
        .filter(|f| !f.body.is_empty())
        .map(|f| f.body.to_vec())
        .collect()
}

#[test]
fn message_decoders_survive_arbitrary_and_mutated_input() {
    use bytes::Bytes;
    use remoting_codec::message::{decode_batch, decode_records};

    const MAX_INFLATE: usize = 1 << 20;
    let seeds = message_seeds();
    assert!(
        seeds.len() > 100,
        "only {} message bodies recorded",
        seeds.len()
    );
    let largest = seeds.iter().map(Vec::len).max().unwrap_or(0);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for i in 0..iterations() / 2 {
        let mut input = if i % 4 == 0 {
            let len = rng.below(512);
            rng.bytes(len)
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..=rng.below(3) {
            mutate(&mut rng, &mut input);
        }
        let bytes = Bytes::from(input);
        MEASURING.with(|m| m.set(true));
        for msg in decode_records(&bytes).flatten() {
            let _ = msg.uncompressed_body(MAX_INFLATE);
            let _ = msg.encode();
        }
        let _ = decode_batch(&bytes);
        MEASURING.with(|m| m.set(false));
    }
    let peak = peak();
    let bound = 2 * (MAX_INFLATE + largest) + 4096;
    assert!(
        peak <= bound,
        "an allocation of {peak} bytes exceeds {bound}"
    );
}
