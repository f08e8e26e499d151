//! Crash loop: our broker is killed with SIGKILL and restarted 20 times while the crates.io
//! `rocketmq-client-rust` producer sends synchronously without pause, once with SYNC_FLUSH and
//! once with ASYNC_FLUSH. The producer prints an ack line per SEND_OK (msgId, queueId,
//! queueOffset). Afterwards every acknowledged message is in its queue at the acknowledged
//! offset, and no queue offset was acknowledged twice.
//!
//! A process kill leaves the page cache to the kernel, so even ASYNC_FLUSH must keep every
//! acknowledged message (Java promises no more than that for an OS crash, where the last flush
//! interval may be lost; that is not tested here).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use compat_tests::client::PHASE_TIMEOUT;
use compat_tests::{Clients, Cluster};

const TOPIC: &str = "RsCrashLoopTopic";
const QUEUES: i32 = 4;
const KILLS: usize = 20;
/// Acknowledged sends between two kills (after each restart).
const ACKS_PER_LIFE: usize = 20;

/// One crash loop at a time: two brokers and two producers at once would slow both on 2 cores.
static SERIAL: Mutex<()> = Mutex::new(());

struct Ack {
    msg_id: String,
    queue_id: i32,
    queue_offset: i64,
    body: String,
}

fn crash_loop(mode: &str, name: &str) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let mut cluster = Cluster::start_with(name, |s| {
        s.set("flushDiskType", mode)
            // 64 KiB commitlog files: the loop crosses several (rollovers under the kills
            // too), so a restart's recovery can start from a later file than the first.
            .set("mappedFileSizeCommitLog", "65536")
            // Lives here last a few seconds; the checkpoint is written as for a broker that
            // runs for minutes. Java writes the file on thorough consume-queue flushes (the
            // first a second after start, then every 60 s), and with ASYNC_FLUSH its physic
            // timestamp follows thorough commitlog flushes only (every 10 s). In a life of a
            // few seconds whose sends start after that first second, both would leave
            // physicMsgTimestamp at 0 (recovery from file 0), with Java as with us: one
            // second each here.
            .set("flushCommitLogThoroughInterval", "1000")
            .set("flushConsumeQueueThoroughInterval", "1000")
    });
    cluster.create_topic(TOPIC, QUEUES);
    let client = Clients::RocketmqRust;
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCrashLoopProducer".to_owned()),
        ("timeout-ms", "3000".to_owned()),
    ];
    let home = cluster.client_home("producer");
    let mut producer = client.spawn("send-loop", &home, "send-loop", &args);
    producer.wait_ready();
    let checkpoint = cluster.broker.settings.store_root.join("checkpoint");
    for kill in 0..=KILLS {
        let life_began = now_millis();
        let before = producer.count("ack");
        let what = format!("{ACKS_PER_LIFE} acks in life {kill} of the broker");
        producer.wait_until(&what, PHASE_TIMEOUT, |p| {
            p.count("ack") >= before + ACKS_PER_LIFE
        });
        if kill == KILLS - 1 {
            // The last kill comes once this life's checkpoint is on disk: the restart after
            // it must recover from a later file than the first.
            let what = format!("the checkpoint of life {kill} on disk");
            producer.wait_until(&what, PHASE_TIMEOUT, |_| {
                let (physic, logics) = checkpoint_on_disk(&checkpoint);
                physic >= life_began && logics >= life_began
            });
        }
        if kill < KILLS {
            cluster.broker.kill();
            cluster.broker.restart();
        }
    }
    // The last restart's abnormal recovery started from the file its checkpoint names, not
    // from file 0.
    let stderr = cluster.broker.stderr();
    let start_line = without_ansi_colours(&stderr);
    let start_line = start_line
        .lines()
        .rfind(|l| l.contains("abnormal recovery starts here"))
        .unwrap_or_else(|| {
            panic!(
                "{mode}: no abnormal recovery logged:\n{}",
                cluster.broker.stderr_tail(4000)
            )
        });
    let start_file: u64 = start_line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("file="))
        .and_then(|p| p.rsplit('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{mode}: no file in {start_line:?}"));
    assert!(
        start_file > 0,
        "{mode}: the last recovery started from file 0: {start_line}"
    );
    let status = producer.finish(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "the producer did not exit cleanly ({status:?})\n{}",
        producer.diagnostics()
    );
    let acks: Vec<Ack> = producer
        .events("ack")
        .iter()
        .map(|e| Ack {
            msg_id: e["msgId"].as_str().unwrap().to_owned(),
            queue_id: e["queueId"].as_i64().unwrap() as i32,
            queue_offset: e["queueOffset"].as_i64().unwrap(),
            body: e["body"].as_str().unwrap().to_owned(),
        })
        .collect();
    let failed = producer.count("error");

    // No queue offset acknowledged twice.
    let mut by_slot: HashMap<(i32, i64), &Ack> = HashMap::new();
    for a in &acks {
        if let Some(other) = by_slot.insert((a.queue_id, a.queue_offset), a) {
            panic!(
                "{mode}: queue {} offset {} acknowledged twice: {} and {}",
                a.queue_id, a.queue_offset, other.body, a.body
            );
        }
    }
    // Every acknowledged message at its offset, read back from the restarted broker.
    let mut stored: BTreeMap<(i32, i64), (String, String)> = BTreeMap::new();
    for q in 0..QUEUES {
        let max = cluster.max_offset(TOPIC, q);
        let mut offset = 0;
        while offset < max {
            let records = cluster.pull_records(TOPIC, q, offset);
            assert!(
                !records.is_empty(),
                "{mode}: queue {q}: no record at {offset} < {max}"
            );
            for r in records {
                let uniq = r.properties.uniq_key().unwrap_or_default().to_owned();
                let body = String::from_utf8_lossy(&r.body).into_owned();
                stored.insert((q, r.queue_offset), (uniq, body));
                offset = r.queue_offset + 1;
            }
        }
    }
    for a in &acks {
        match stored.get(&(a.queue_id, a.queue_offset)) {
            Some((uniq, body)) => assert!(
                uniq == &a.msg_id && body == &a.body,
                "{mode}: queue {} offset {} holds {uniq} {body}, acknowledged as {} {}",
                a.queue_id,
                a.queue_offset,
                a.msg_id,
                a.body
            ),
            None => panic!(
                "{mode}: acknowledged {} ({}) lost: nothing at queue {} offset {}",
                a.body, a.msg_id, a.queue_id, a.queue_offset
            ),
        }
    }
    assert!(acks.len() >= (KILLS + 1) * ACKS_PER_LIFE);
    println!(
        "{mode}: {KILLS} kills, {} acks all found, {failed} failed sends, {} stored, \
         last recovery from commitlog offset {start_file}, {:?}",
        acks.len(),
        stored.len(),
        started.elapsed()
    );
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// physicMsgTimestamp and logicsMsgTimestamp as the broker's checkpoint file holds them.
fn checkpoint_on_disk(path: &std::path::Path) -> (i64, i64) {
    let bytes = std::fs::read(path).unwrap_or_default();
    let long = |i: usize| {
        bytes
            .get(i * 8..i * 8 + 8)
            .map_or(0, |b| i64::from_be_bytes(b.try_into().unwrap()))
    };
    (long(0), long(1))
}

/// The broker's log lines without the terminal colour sequences (`ESC [ ... m`).
fn without_ansi_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn sync_flush_keeps_every_ack_through_kill_loop() {
    crash_loop("SYNC_FLUSH", "crash-loop-sync");
}

#[test]
fn async_flush_keeps_every_ack_through_kill_loop() {
    crash_loop("ASYNC_FLUSH", "crash-loop-async");
}
