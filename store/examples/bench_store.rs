//! Store throughput against `dd` on the same disk, in one run:
//! `cargo run --release -p store --example bench_store -- [--dir DIR] [--async-mib N]
//! [--sync-secs S] [--async-writers N] [--sync-writers N]` (or `scripts/bench-store`).
//!
//! For 128 B, 1 KiB and 4 KiB bodies:
//! - ASYNC_FLUSH append: `--async-writers` threads put about `--async-mib` MiB of records;
//!   the time includes the final flush, as `dd conv=fdatasync` includes its fdatasync. `dd`
//!   then writes the same number of bytes (bs=1M).
//! - read: every queue read from offset 0 with `get_message` batches of 32 (the records stay
//!   in the page cache: this is the store's read path, not the disk's read speed). Records are
//!   zero-copy slices; one byte per 4 KiB is touched so the pages are really mapped.
//! - SYNC_FLUSH append: `--sync-writers` threads put for `--sync-secs` seconds; each put waits
//!   for the group commit. `dd oflag=dsync` then writes the same bytes with a block of the
//!   average group-commit size (one synchronous write per msync), and 2,000 blocks of one
//!   record (one synchronous write per message: what no group commit would give).
//!
//! Prints a Markdown table. Topic `BenchTopic`, 4 queues, UNIQ_KEY and TAGS as a client sets
//! them (so the index is built), default file sizes (1 GiB commitlog files).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use remoting_codec::message::{MessageProperties, StoredMessage};
use store::{FlushDiskType, GetMessageStatus, MessageStore, MessageStoreConfig, PutMessageStatus};

const TOPIC: &str = "BenchTopic";
const QUEUES: i32 = 4;
const SIZES: [usize; 3] = [128, 1024, 4096];

struct Args {
    dir: PathBuf,
    async_mib: u64,
    sync_secs: f64,
    async_writers: usize,
    sync_writers: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        dir: PathBuf::from("target/bench-store"),
        async_mib: 256,
        sync_secs: 4.0,
        async_writers: 2,
        sync_writers: 32,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage(&flag));
        match flag.as_str() {
            "--dir" => a.dir = PathBuf::from(value),
            "--async-mib" => a.async_mib = value.parse().unwrap_or_else(|_| usage(&flag)),
            "--sync-secs" => a.sync_secs = value.parse().unwrap_or_else(|_| usage(&flag)),
            "--async-writers" => a.async_writers = value.parse().unwrap_or_else(|_| usage(&flag)),
            "--sync-writers" => a.sync_writers = value.parse().unwrap_or_else(|_| usage(&flag)),
            _ => usage(&flag),
        }
    }
    a
}

fn usage(flag: &str) -> ! {
    eprintln!(
        "bad argument {flag}\nusage: bench_store [--dir DIR] [--async-mib N] [--sync-secs S] \
         [--async-writers N] [--sync-writers N]"
    );
    std::process::exit(2)
}

fn message(i: u64, body_len: usize) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert("UNIQ_KEY", format!("7F00000100002A9F0000{i:012X}"));
    properties.insert("TAGS", "TagA");
    properties.insert("WAIT", "true");
    StoredMessage {
        topic: TOPIC.to_owned(),
        queue_id: (i % QUEUES as u64) as i32,
        body: bytes::Bytes::from(vec![(i % 251) as u8; body_len]),
        born_timestamp: 1_700_000_000_000,
        born_host: "127.0.0.1:40000".parse().expect("address"),
        store_host: "127.0.0.1:10911".parse().expect("address"),
        properties,
        ..Default::default()
    }
}

fn open(root: &Path, mode: FlushDiskType) -> MessageStore {
    let _ = std::fs::remove_dir_all(root);
    let config = MessageStoreConfig {
        store_path_root_dir: root.to_owned(),
        flush_disk_type: mode,
        ..Default::default()
    };
    MessageStore::open(config).expect("open store")
}

/// One table row.
struct Row {
    case: String,
    msgs: Option<u64>,
    bytes: u64,
    secs: f64,
    note: String,
}

impl Row {
    fn print(&self) {
        let mib = self.bytes as f64 / (1 << 20) as f64;
        let (msgs, rate) = match self.msgs {
            Some(m) => (m.to_string(), format!("{:.0}", m as f64 / self.secs)),
            None => ("".into(), "".into()),
        };
        println!(
            "| {} | {} | {:.1} | {:.2} | {} | {:.1} | {} |",
            self.case,
            msgs,
            mib,
            self.secs,
            rate,
            mib / self.secs,
            self.note
        );
    }
}

/// Puts from `writers` threads until `more` says stop; returns (messages, record bytes,
/// per-put latencies in µs).
fn put_load(
    store: &MessageStore,
    writers: usize,
    body: usize,
    more: &(dyn Fn(u64, u64) -> bool + Sync),
) -> (u64, u64, Vec<u32>) {
    let next = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let latencies = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..writers {
            s.spawn(|| {
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if !more(i, bytes.load(Ordering::Relaxed)) {
                        stop.store(true, Ordering::Relaxed);
                        break;
                    }
                    let msg = message(i, body);
                    let t = Instant::now();
                    let r = store.put_message(msg);
                    mine.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    assert_eq!(r.status, PutMessageStatus::PutOk, "put {i}");
                    let wrote = r.append.expect("append result").wrote_bytes as u64;
                    bytes.fetch_add(wrote, Ordering::Relaxed);
                }
                latencies.lock().expect("latencies").extend(mine);
            });
        }
    });
    let lat = latencies.into_inner().expect("latencies");
    (lat.len() as u64, bytes.into_inner(), lat)
}

/// Reads every queue from 0 in batches of 32; returns (messages, bytes).
fn read_all(store: &MessageStore) -> (u64, u64) {
    let (mut msgs, mut bytes, mut touched) = (0u64, 0u64, 0u64);
    for q in 0..QUEUES {
        let mut offset = 0;
        loop {
            let r = store.get_message(TOPIC, q, offset, 32, None);
            if r.status != GetMessageStatus::Found {
                break;
            }
            for m in &r.messages {
                touched += m.iter().step_by(4096).map(|&b| b as u64).sum::<u64>();
                bytes += m.len() as u64;
            }
            msgs += r.messages.len() as u64;
            offset = r.next_begin_offset;
        }
    }
    std::hint::black_box(touched);
    (msgs, bytes)
}

/// Runs dd writing `count` blocks of `bs` bytes to `path`; returns the wall time.
fn dd(path: &Path, bs: u64, count: u64, flag: &str) -> f64 {
    let _ = std::fs::remove_file(path);
    let t = Instant::now();
    let out = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", path.display()))
        .arg(format!("bs={bs}"))
        .arg(format!("count={count}"))
        .arg(flag)
        .output()
        .expect("run dd");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "dd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_file(path);
    secs
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args = parse_args();
    std::fs::create_dir_all(&args.dir).expect("bench dir");
    let dd_file = args.dir.join("dd.tmp");
    println!(
        "store bench in {} ({} cores); MiB = 2^20 bytes of stored records\n",
        std::fs::canonicalize(&args.dir)
            .unwrap_or(args.dir.clone())
            .display(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| case | msgs | MiB | s | msgs/s | MiB/s | note |");
    println!("|---|---|---|---|---|---|---|");
    for body in SIZES {
        // ASYNC_FLUSH append, then reads, then dd with the same bytes.
        let root = args.dir.join(format!("async-{body}"));
        let store = open(&root, FlushDiskType::AsyncFlush);
        let budget = args.async_mib << 20;
        let t = Instant::now();
        let (msgs, bytes, _) = put_load(&store, args.async_writers, body, &|_, b| b < budget);
        store.flush().expect("flush");
        let secs = t.elapsed().as_secs_f64();
        Row {
            case: format!("ASYNC_FLUSH append, body {body} B"),
            msgs: Some(msgs),
            bytes,
            secs,
            note: format!(
                "{} writers, record {} B, incl. final flush",
                args.async_writers,
                bytes / msgs.max(1)
            ),
        }
        .print();
        let mib = bytes.div_ceil(1 << 20);
        let secs = dd(&dd_file, 1 << 20, mib, "conv=fdatasync");
        Row {
            case: "  dd bs=1M conv=fdatasync".into(),
            msgs: None,
            bytes: mib << 20,
            secs,
            note: "same bytes, same disk".into(),
        }
        .print();
        store.wait_dispatched().expect("dispatch");
        let t = Instant::now();
        let (read_msgs, read_bytes) = read_all(&store);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(read_msgs, msgs, "every message read back");
        Row {
            case: format!("read via consume queue, body {body} B"),
            msgs: Some(read_msgs),
            bytes: read_bytes,
            secs,
            note: "get_message batches of 32, page cache".into(),
        }
        .print();
        store.shutdown().expect("shutdown");
        drop(store);
        let _ = std::fs::remove_dir_all(&root);

        // SYNC_FLUSH append with group commit, then dd with one dsync write per group.
        let root = args.dir.join(format!("sync-{body}"));
        let store = open(&root, FlushDiskType::SyncFlush);
        let msyncs_before = store.commit_log_msync_count();
        let deadline = Instant::now() + Duration::from_secs_f64(args.sync_secs);
        let t = Instant::now();
        let (msgs, bytes, mut lat) = put_load(&store, args.sync_writers, body, &|_, _| {
            Instant::now() < deadline
        });
        let secs = t.elapsed().as_secs_f64();
        let msyncs = (store.commit_log_msync_count() - msyncs_before).max(1);
        lat.sort_unstable();
        Row {
            case: format!("SYNC_FLUSH append, body {body} B"),
            msgs: Some(msgs),
            bytes,
            secs,
            note: format!(
                "{} writers, {msyncs} msyncs ({:.1} msgs/msync), put p50 {:.2} ms p99 {:.2} ms",
                args.sync_writers,
                msgs as f64 / msyncs as f64,
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            ),
        }
        .print();
        store.shutdown().expect("shutdown");
        drop(store);
        let _ = std::fs::remove_dir_all(&root);
        let group = (bytes / msyncs).max(512);
        let secs = dd(&dd_file, group, msyncs, "oflag=dsync");
        Row {
            case: format!("  dd bs={group} oflag=dsync count={msyncs}"),
            msgs: None,
            bytes: group * msyncs,
            secs,
            note: format!(
                "one dsync write per msync: {:.0} writes/s",
                msyncs as f64 / secs
            ),
        }
        .print();
        let record = bytes / msgs.max(1);
        let secs = dd(&dd_file, record, 2000, "oflag=dsync");
        Row {
            case: format!("  dd bs={record} oflag=dsync count=2000"),
            msgs: Some(2000),
            bytes: record * 2000,
            secs,
            note: "one dsync write per record (no group commit)".into(),
        }
        .print();
    }
}
