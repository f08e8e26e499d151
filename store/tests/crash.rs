//! Kill a writer with SIGKILL at random points while it appends; after reopening, every
//! acknowledged append is readable, the tail is clean and the consume queues agree with the
//! commitlog.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use remoting_codec::message::StoredMessage;
use store::{GetMessageStatus, MessageStore, MessageStoreConfig};

/// The example binary, built by cargo next to the test executables.
fn writer_binary() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir.join("examples").join("crash_writer");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "store", "--example", "crash_writer"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    bin
}

struct Ack {
    uniq: String,
    queue_id: i32,
    queue_offset: i64,
    commit_log_offset: i64,
}

/// xorshift: random kill delays without a dependency.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Acks a writer must have printed before its kill timer starts. Its start-up (a debug binary
/// opening, maybe recovering, a store) takes an unknown time on a loaded machine: a timer
/// started at the spawn could fire before any append.
const ACKS_BEFORE_TIMER: usize = 6;

/// How long a writer may take to print its first acks (it only hangs if this runs out).
const START_DEADLINE: Duration = Duration::from_secs(120);

/// Runs the writer until it has printed [`ACKS_BEFORE_TIMER`] acks, lets it append for `delay`
/// more, kills it; returns every ack it printed.
fn run_and_kill(bin: &Path, root: &Path, mode: &str, delay: Duration) -> Vec<Ack> {
    let mut child = Command::new(bin)
        .arg(root)
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (appending_tx, appending) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut acks = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let f: Vec<&str> = line.split(' ').collect();
            // A line cut by the kill is not an ack the producer saw.
            if f.len() != 6 || f[0] != "ack" {
                continue;
            }
            let Ok(commit_log_offset) = f[5].parse() else {
                continue;
            };
            acks.push(Ack {
                uniq: format!("T{}S{}", f[1], f[2]),
                queue_id: f[3].parse().unwrap(),
                queue_offset: f[4].parse().unwrap(),
                commit_log_offset,
            });
            if acks.len() == ACKS_BEFORE_TIMER {
                let _ = appending_tx.send(());
            }
        }
        acks
    });
    let started = appending.recv_timeout(START_DEADLINE);
    if started.is_ok() {
        std::thread::sleep(delay);
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let status = child.wait().unwrap();
    let acks = reader.join().unwrap();
    if let Err(e) = started {
        panic!(
            "the writer printed {} acks, not {ACKS_BEFORE_TIMER}, before it was killed \
             ({e:?} after at most {START_DEADLINE:?}; exit {status})",
            acks.len()
        );
    }
    acks
}

fn verify(root: &Path, mode: &str, acks: &[Ack]) {
    let text = format!(
        "storePathRootDir={}\nflushDiskType={mode}\nmappedFileSizeCommitLog=262144\n\
         mappedFileSizeConsumeQueue=2000\nmaxHashSlotNum=100\nmaxIndexNum=400\n",
        root.display()
    );
    let config = MessageStoreConfig::from_properties_text(&text).unwrap();
    let store = MessageStore::open(config).unwrap();
    assert!(store.recovery_report().abnormal);
    for a in acks {
        let got = store.get_message("CrashTest", a.queue_id, a.queue_offset, 1, None);
        assert_eq!(got.status, GetMessageStatus::Found, "ack {} lost", a.uniq);
        let rec = StoredMessage::decode(&got.messages[0]).unwrap();
        assert_eq!(rec.properties.uniq_key(), Some(a.uniq.as_str()));
        assert_eq!(rec.commit_log_offset, a.commit_log_offset);
    }
    // Consume queues agree with the commitlog: every entry of every queue decodes to the
    // record of that queue and offset; nothing beyond the end.
    let end = store.max_phy_offset();
    let mut total = 0;
    for qid in store.queue_ids("CrashTest") {
        let max = store.max_offset_in_queue("CrashTest", qid);
        let mut offset = store.min_offset_in_queue("CrashTest", qid);
        while offset < max {
            let got = store.get_message("CrashTest", qid, offset, 32, None);
            assert_eq!(got.status, GetMessageStatus::Found);
            for (rec, qo) in got.messages.iter().zip(&got.message_queue_offsets) {
                let rec = StoredMessage::decode(rec).unwrap();
                assert_eq!((rec.queue_id, rec.queue_offset), (qid, *qo));
                assert!(rec.commit_log_offset + rec.store_size as i64 <= end);
                total += 1;
            }
            offset = got.next_begin_offset;
        }
    }
    assert!(total >= acks.len());
    // The tail is clean: appending continues right at the recovered end (or, when the record
    // does not fit, at the next file after a BLANK) with the next queue offset.
    let next = store.max_offset_in_queue("CrashTest", 0);
    let r = store
        .put_message(support::message("CrashTest", 0, 0, 10))
        .append
        .unwrap();
    assert!(r.wrote_offset == end || (r.wrote_offset % 262144 == 0 && r.wrote_offset > end));
    assert_eq!(r.logics_offset, next);
}

#[test]
fn sigkill_loses_no_acknowledged_append() {
    let bin = writer_binary();
    let started = Instant::now();
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ std::process::id() as u64;
    let mut runs = 0;
    for mode in ["SYNC_FLUSH", "ASYNC_FLUSH"] {
        for _ in 0..11 {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("store");
            // Two lives per store: a crash, a reopen that appends and crashes again.
            let mut all = Vec::new();
            for _ in 0..2 {
                let delay = Duration::from_millis(next_random(&mut seed) % 400);
                let acks = run_and_kill(&bin, &root, mode, delay);
                all.extend(acks);
            }
            assert!(
                all.len() > 10,
                "the writer acknowledged {} appends",
                all.len()
            );
            verify(&root, mode, &all);
            runs += 1;
        }
    }
    println!("{runs} stores, {} kills, {:?}", runs * 2, started.elapsed());
    assert!(runs * 2 >= 20);
}
