//! Index build and query throughput: `cargo run --release -p store --example index_bench [dir]`.
//! Builds 1,000,000 records (UNIQ_KEY + 2 KEYS each = 3,000,000 keys) into files of
//! 500,000 slots × 2,000,000 entries (40 MB each), then runs 100,000 key lookups.

use std::time::Instant;

use store::index::{IndexRecord, IndexService};

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::env::temp_dir().join(format!("index-bench-{}", std::process::id()))
        });
    let _ = std::fs::remove_dir_all(&dir);
    let index = IndexService::open(&dir, 500_000, 2_000_000).unwrap();

    const N: i64 = 1_000_000;
    let t0 = 1_795_243_834_068i64;
    let start = Instant::now();
    let mut rollovers = 0;
    for i in 0..N {
        let uniq = format!("7F0000015A345FFD2B27687712{i:06X}");
        let keys = format!("ORDER-{i} USER-{}", i % 10_000);
        let rec = IndexRecord {
            topic: "BenchTopic",
            keys: Some(&keys),
            uniq_key: Some(&uniq),
            commit_log_offset: i * 300,
            store_timestamp: t0 + i / 10,
            sys_flag: 0,
            msg_size: 300,
        };
        if index.build_index(&rec).unwrap().is_some() {
            rollovers += 1;
        }
    }
    index.flush().unwrap();
    let build = start.elapsed();
    println!(
        "build: {N} records, {} keys in {:.2?} = {:.0} records/s, {:.0} keys/s ({} files, {rollovers} rollovers, incl. final flush)",
        N * 3,
        build,
        N as f64 / build.as_secs_f64(),
        (N * 3) as f64 / build.as_secs_f64(),
        index.files().len()
    );

    let start = Instant::now();
    let mut found = 0usize;
    const Q: i64 = 100_000;
    for q in 0..Q {
        let i = (q * 7919) % N;
        found += index
            .query("BenchTopic", &format!("ORDER-{i}"), 64, 0, i64::MAX)
            .phy_offsets
            .len();
    }
    let query = start.elapsed();
    println!(
        "query: {Q} lookups by unique key in {:.2?} = {:.0} lookups/s ({found} offsets)",
        query,
        Q as f64 / query.as_secs_f64()
    );
    let start = Instant::now();
    let hot = index
        .query("BenchTopic", "USER-42", 64, 0, i64::MAX)
        .phy_offsets
        .len();
    println!(
        "query: a key with 100 messages, max 64: {hot} offsets in {:.2?}",
        start.elapsed()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
