//! Kill a writer with SIGKILL at random points while it appends; after reopening, every
//! acknowledged append is readable, the tail is clean and the consume queues agree with the
//! commitlog.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
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

/// A running `crash_writer` and the acks it has printed so far.
struct Writer {
    child: std::process::Child,
    acks: Arc<Mutex<Vec<Ack>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Writer {
    fn spawn(bin: &Path, root: &Path, mode: &str, clock_shift_ms: i64, conf: &str) -> Writer {
        let mut child = Command::new(bin)
            .env("CRASH_WRITER_CONF", conf)
            .arg(root)
            .arg(mode)
            .arg(clock_shift_ms.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acks = Arc::new(Mutex::new(Vec::new()));
        let sink = acks.clone();
        let reader = std::thread::spawn(move || {
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
                sink.lock().unwrap().push(Ack {
                    uniq: format!("T{}S{}", f[1], f[2]),
                    queue_id: f[3].parse().unwrap(),
                    queue_offset: f[4].parse().unwrap(),
                    commit_log_offset,
                });
            }
        });
        Writer {
            child,
            acks,
            reader,
        }
    }

    /// Polls `cond` over the acks printed so far until it holds or `deadline` passes.
    fn wait_for(&self, deadline: Duration, mut cond: impl FnMut(&[Ack]) -> bool) -> bool {
        let until = Instant::now() + deadline;
        loop {
            if cond(&self.acks.lock().unwrap()) {
                return true;
            }
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGKILL; returns every ack printed.
    fn kill(mut self) -> Vec<Ack> {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGKILL) };
        let _ = self.child.wait();
        self.reader.join().unwrap();
        std::mem::take(&mut *self.acks.lock().unwrap())
    }
}

/// Runs the writer until it has printed [`ACKS_BEFORE_TIMER`] acks, lets it append for `delay`
/// more, kills it; returns every ack it printed.
fn run_and_kill(bin: &Path, root: &Path, mode: &str, delay: Duration) -> Vec<Ack> {
    let writer = Writer::spawn(bin, root, mode, 0, "");
    let started = writer.wait_for(START_DEADLINE, |a| a.len() >= ACKS_BEFORE_TIMER);
    if started {
        std::thread::sleep(delay);
    }
    let acks = writer.kill();
    assert!(
        started,
        "the writer printed {} acks, not {ACKS_BEFORE_TIMER}, within {START_DEADLINE:?}",
        acks.len()
    );
    acks
}

const FILE_SIZE: i64 = 262144;

fn open_store(root: &Path, mode: &str, conf: &str) -> MessageStore {
    let text = format!(
        "storePathRootDir={}\nflushDiskType={mode}\nmappedFileSizeCommitLog={FILE_SIZE}\n\
         mappedFileSizeConsumeQueue=2000\nmaxHashSlotNum=100\nmaxIndexNum=400\n{conf}",
        root.display()
    );
    support::open(MessageStoreConfig::from_properties_text(&text).unwrap())
}

fn verify(root: &Path, mode: &str, acks: &[Ack]) {
    verify_store(&open_store(root, mode, ""), acks);
}

fn verify_store(store: &MessageStore, acks: &[Ack]) {
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
    assert!(r.wrote_offset == end || (r.wrote_offset % FILE_SIZE == 0 && r.wrote_offset > end));
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

/// physicMsgTimestamp and logicsMsgTimestamp as the checkpoint file on disk holds them.
fn checkpoint_on_disk(root: &Path) -> (i64, i64) {
    let Ok(bytes) = std::fs::read(root.join("checkpoint")) else {
        return (0, 0);
    };
    let long = |i: usize| {
        bytes
            .get(i * 8..i * 8 + 8)
            .map_or(0, |b| i64::from_be_bytes(b.try_into().unwrap()))
    };
    (long(0), long(1))
}

/// Java's consume-queue flush is thorough on its first round (`lastFlushTimestamp = 0`), so the
/// checkpoint is on disk about a second after start, not after `flushConsumeQueueThoroughInterval`
/// (60 s, left at its default here). A crash after that recovers from the file the checkpoint
/// names, near the end of the commitlog, and re-dispatches only what follows.
///
/// The index is off: a full index file also writes the checkpoint (Java's
/// `IndexService.flush`), which would hide a late consume-queue flush.
///
/// Life 1 writes at least five commitlog files with store times an hour in the past and is
/// killed; life 2 (the real clock) is killed once its checkpoint is on disk. The reopened store
/// must start its scan at the last file of life 1 or later, re-dispatch no more than what lies
/// from there on, and keep every acknowledged append.
#[test]
fn sigkill_recovery_starts_from_the_checkpoint_file() {
    let bin = writer_binary();
    let conf = "messageIndexEnable=false\n";
    for mode in ["SYNC_FLUSH", "ASYNC_FLUSH"] {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let old = Writer::spawn(&bin, &root, mode, -3_600_000, conf);
        let wrote_files = old.wait_for(START_DEADLINE, |a| {
            a.iter().any(|a| a.commit_log_offset >= 5 * FILE_SIZE)
        });
        let mut acks = old.kill();
        assert!(
            wrote_files,
            "life 1 did not reach file 5 ({} acks)",
            acks.len()
        );
        let last_old_file = acks.iter().map(|a| a.commit_log_offset).max().unwrap() / FILE_SIZE;

        let spawned_at = store::now_millis();
        let young = Writer::spawn(&bin, &root, mode, 0, conf);
        assert!(
            young.wait_for(START_DEADLINE, |a| !a.is_empty()),
            "life 2 acknowledged nothing"
        );
        // Both timestamps from life 2's real clock (life 1's are an hour old), well within the
        // 60 s thorough interval: only a first thorough round writes them this early.
        let mut on_disk = (0, 0);
        let flushed = young.wait_for(Duration::from_secs(40), |_| {
            on_disk = checkpoint_on_disk(&root);
            on_disk.0 >= spawned_at - 60_000 && on_disk.1 >= spawned_at - 60_000
        });
        acks.extend(young.kill());
        assert!(
            flushed,
            "{mode}: life 2's checkpoint did not reach the disk within 40 s: {on_disk:?}"
        );

        let store = open_store(&root, mode, conf);
        let report = store.recovery_report().clone();
        let start = report.scan_start.expect("a commitlog") as i64;
        assert!(
            start >= last_old_file * FILE_SIZE,
            "{mode}: recovery started at {start}, before life 1's last file {last_old_file} \
             ({report:?})"
        );
        // What was re-dispatched lies at or after the start: the acks there, plus at most one
        // unacknowledged append per writer thread and life.
        let acked_after_start = acks.iter().filter(|a| a.commit_log_offset >= start).count();
        assert!(
            report.redispatched as usize <= acked_after_start + 8,
            "{mode}: {report:?}, {acked_after_start} acks after the start"
        );
        verify_store(&store, &acks);
    }
}
