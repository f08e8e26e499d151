//! The recorded 4.9.8 HA streams (`s15-ha`, `s15-ha-sync`: `*.ha-units.ndjson`, one protocol
//! unit a line) replayed against our HA code, byte for byte.
//!
//! The recording keeps each transfer's offset, size and the SHA-256 of its body, not the
//! bodies; the bodies are rebuilt from the same capture: the messages the consumers pulled are
//! the stored records, each carrying its commitlog offset, and their concatenation at the
//! recorded offsets must hash to the recorded SHA-256 (checked for every unit used). Units
//! whose messages nobody pulled (the last sends of each capture) are left out.
//!
//! - **Master**: our master store holds Java's bytes up to where the recorded connection
//!   started; a fake slave sends the recorded first report; each recorded transfer's bytes are
//!   then appended to the master's commitlog (as Java's puts made them appear) and our master
//!   must send exactly the recorded unit (offset, size, body hash), each heartbeat naming the
//!   offset Java's named; the fake slave answers with the recorded report.
//! - **Slave**: a fake master sends the recorded units to our (empty) slave store; the
//!   slave's reports must be the recorded ones (first 0, then each transfer's end) and its
//!   commitlog must hold the recorded bytes; its consume queues count the recorded messages.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use serde_json::Value;
use store::{BrokerRole, MessageStore, MessageStoreConfig};
use support::sha256_hex;
use test_support::capture::{captures_dir, read_capture};

const MAGIC: u32 = 0xdaa3_20a7;
/// Our heartbeat interval in the replay (Java's 5 s scaled down; the fake slave waits longer
/// than it before its first report, as Java's slave waits 5 s after connecting).
const HEARTBEAT_MS: u64 = 300;

#[derive(Clone, Debug)]
enum Unit {
    Report(i64),
    Heartbeat(i64),
    Transfer {
        offset: i64,
        size: usize,
        sha: String,
    },
}

fn units(name: &str) -> BTreeMap<i64, Vec<Unit>> {
    let text =
        std::fs::read_to_string(captures_dir().join(format!("{name}.ha-units.ndjson"))).unwrap();
    let mut by_conn: BTreeMap<i64, Vec<Unit>> = BTreeMap::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let unit = match v["kind"].as_str().unwrap() {
            "report" => Unit::Report(v["offset"].as_i64().unwrap()),
            "heartbeat" => Unit::Heartbeat(v["phyOffset"].as_i64().unwrap()),
            "transfer" => Unit::Transfer {
                offset: v["phyOffset"].as_i64().unwrap(),
                size: v["bodySize"].as_u64().unwrap() as usize,
                sha: v["body_sha256"].as_str().unwrap().to_owned(),
            },
            k => panic!("unknown unit {k}"),
        };
        by_conn
            .entry(v["conn"].as_i64().unwrap())
            .or_default()
            .push(unit);
    }
    by_conn
}

/// Java's commitlog records by offset, from every response body made of whole records.
fn recorded_records(name: &str) -> BTreeMap<i64, Vec<u8>> {
    let mut out = BTreeMap::new();
    for f in read_capture(&format!("{name}.jsonl")) {
        if !f.is_response() || f.body.is_empty() {
            continue;
        }
        let b = &f.body[..];
        let mut pos = 0;
        let mut found = Vec::new();
        while pos + 36 <= b.len() {
            let size = i32::from_be_bytes(b[pos..pos + 4].try_into().unwrap());
            let magic = u32::from_be_bytes(b[pos + 4..pos + 8].try_into().unwrap());
            if magic != MAGIC || size <= 0 || pos + size as usize > b.len() {
                break;
            }
            let phy = i64::from_be_bytes(b[pos + 28..pos + 36].try_into().unwrap());
            found.push((phy, b[pos..pos + size as usize].to_vec()));
            pos += size as usize;
        }
        if pos == b.len() {
            out.extend(found);
        }
    }
    out
}

/// The recorded body of `[offset, offset + size)`, if its records were recorded; checked
/// against the recorded hash.
fn body(records: &BTreeMap<i64, Vec<u8>>, offset: i64, size: usize, sha: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(size);
    let mut at = offset;
    while out.len() < size {
        let r = records.get(&at)?;
        out.extend_from_slice(r);
        at += r.len() as i64;
    }
    assert_eq!(out.len(), size, "transfer at {offset} ends inside a record");
    assert_eq!(sha256_hex(&out), sha, "rebuilt body at {offset}");
    Some(out)
}

fn store_config(root: &std::path::Path, role: BrokerRole) -> MessageStoreConfig {
    // The recorded brokers' store settings (s15-*.broker.conf).
    MessageStoreConfig {
        store_path_root_dir: root.to_owned(),
        broker_role: role,
        mapped_file_size_commit_log: 1_048_576,
        mapped_file_size_consume_queue: 6000,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        ha_listen_port: 0,
        ha_send_heartbeat_interval: HEARTBEAT_MS,
        ..Default::default()
    }
}

fn read_unit(c: &mut TcpStream) -> (i64, Vec<u8>) {
    let mut h = [0u8; 12];
    c.read_exact(&mut h).unwrap();
    let offset = i64::from_be_bytes(h[..8].try_into().unwrap());
    let size = i32::from_be_bytes(h[8..].try_into().unwrap());
    let mut b = vec![0u8; size as usize];
    c.read_exact(&mut b).unwrap();
    (offset, b)
}

/// Our master against one recorded connection; returns how many transfers were compared.
fn replay_master_connection(
    role: BrokerRole,
    units: &[Unit],
    records: &BTreeMap<i64, Vec<u8>>,
) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let master = support::open(store_config(dir.path(), role));
    let port = master.start_ha().unwrap().port();
    let Unit::Report(first) = units[0] else {
        panic!("a connection starts with the slave's report")
    };
    let Unit::Heartbeat(start) = units[1] else {
        panic!("the master answers the first report with a heartbeat")
    };
    // The master's store as it was when the slave connected: Java's bytes up to `start`.
    let mut at = 0;
    while at < start {
        let r = &records[&at];
        assert!(master.append_to_commit_log(at, r));
        at += r.len() as i64;
    }
    let mut slave = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slave
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::thread::sleep(Duration::from_millis(HEARTBEAT_MS + 200));
    slave.write_all(&first.to_be_bytes()).unwrap();
    let (offset, b) = read_unit(&mut slave);
    assert_eq!((offset, b.len()), (start, 0), "the first heartbeat");
    let mut next = start;
    let mut compared = 0;
    let mut i = 2;
    while i < units.len() {
        match &units[i] {
            Unit::Transfer { offset, size, sha } => {
                let Some(bytes) = body(records, *offset, *size, sha) else {
                    break;
                };
                assert!(master.append_to_commit_log(*offset, &bytes));
                loop {
                    let (o, b) = read_unit(&mut slave);
                    assert_eq!(o, next, "unit offset");
                    if b.is_empty() {
                        continue; // a heartbeat names the next transfer offset
                    }
                    assert_eq!((o, b.len()), (*offset, *size));
                    assert_eq!(&sha256_hex(&b), sha);
                    break;
                }
                next = offset + *size as i64;
                compared += 1;
            }
            Unit::Report(r) => slave.write_all(&r.to_be_bytes()).unwrap(),
            Unit::Heartbeat(h) => assert_eq!(*h, next, "recorded heartbeat offset"),
        }
        i += 1;
    }
    compared
}

/// Our slave against one recorded connection (an empty slave store); returns the transfers
/// appended and the store.
fn replay_slave_connection(
    units: &[Unit],
    records: &BTreeMap<i64, Vec<u8>>,
    dir: &std::path::Path,
) -> (usize, MessageStore) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = store_config(dir, BrokerRole::Slave);
    config.ha_master_address = Some(listener.local_addr().unwrap().to_string());
    let slave = support::open(config);
    slave.start_ha().unwrap();
    let (mut c, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let Unit::Report(first) = units[0] else {
        panic!("a connection starts with the slave's report")
    };
    let mut b = [0u8; 8];
    c.read_exact(&mut b).unwrap();
    assert_eq!(i64::from_be_bytes(b), first, "the first report");
    let mut appended = 0;
    for (i, u) in units.iter().enumerate().skip(1) {
        match u {
            Unit::Heartbeat(h) => c
                .write_all(&[&h.to_be_bytes()[..], &[0, 0, 0, 0]].concat())
                .unwrap(),
            Unit::Transfer { offset, size, sha } => {
                let end = offset + *size as i64;
                // The recorded slave's report after this transfer (before the next one); a
                // slave that did not report it (frozen by SIGSTOP in s15-ha-sync) ends the
                // comparable part.
                let recorded = units[i + 1..]
                    .iter()
                    .take_while(|u| !matches!(u, Unit::Transfer { .. }))
                    .any(|u| matches!(u, Unit::Report(r) if *r == end));
                let Some(bytes) = body(records, *offset, *size, sha).filter(|_| recorded) else {
                    break;
                };
                let mut unit = offset.to_be_bytes().to_vec();
                unit.extend_from_slice(&(*size as i32).to_be_bytes());
                unit.extend_from_slice(&bytes);
                c.write_all(&unit).unwrap();
                let mut b = [0u8; 8];
                c.read_exact(&mut b).unwrap();
                assert_eq!(i64::from_be_bytes(b), end, "report after {offset}");
                appended += 1;
            }
            Unit::Report(_) => {} // checked after each transfer; idle reports are timing
        }
    }
    (appended, slave)
}

fn check_master(name: &str, role: BrokerRole, expect_compared: usize) {
    let records = recorded_records(name);
    let mut compared = 0;
    for conn_units in units(name).values() {
        compared += replay_master_connection(role, conn_units, &records);
    }
    assert_eq!(compared, expect_compared, "{name}: transfers compared");
}

#[test]
fn our_async_master_sends_the_recorded_units() {
    check_master("s15-ha", BrokerRole::AsyncMaster, 6);
}

#[test]
fn our_sync_master_sends_the_recorded_units() {
    check_master("s15-ha-sync", BrokerRole::SyncMaster, 53);
}

fn check_slave(name: &str, expect_appended: usize, queue_counts: [i64; 4]) {
    let records = recorded_records(name);
    let all = units(name);
    let first_conn = all.values().next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (appended, slave) = replay_slave_connection(first_conn, &records, dir.path());
    assert_eq!(appended, expect_appended);
    // The slave's commitlog holds Java's bytes, and its consume queues the messages.
    let end = slave.max_phy_offset();
    let data = std::fs::read(dir.path().join("commitlog").join(format!("{:020}", 0))).unwrap();
    let mut at = 0i64;
    while at < end {
        let r = &records[&at];
        assert_eq!(
            &data[at as usize..at as usize + r.len()],
            &r[..],
            "record at {at}"
        );
        at += r.len() as i64;
    }
    assert_eq!(at, end);
    slave.wait_dispatched().unwrap();
    for (q, n) in queue_counts.iter().enumerate() {
        assert_eq!(
            slave.max_offset_in_queue("HaTopic", q as i32),
            *n,
            "queue {q}"
        );
    }
}

#[test]
fn our_slave_writes_the_recorded_async_stream() {
    // The 200 messages before the master was killed: 50 per queue, 40870 bytes.
    check_slave("s15-ha", 6, [50; 4]);
}

#[test]
fn our_slave_writes_the_recorded_sync_stream() {
    // SYNC_MASTER: one transfer per message. The 50 first sends (13/13/12/12 by queue) until
    // the slave was frozen.
    check_slave("s15-ha-sync", 50, [12, 13, 13, 12]);
}
