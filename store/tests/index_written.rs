//! Index files written by our IndexService, read back byte by byte with an independent reader
//! of Java's layout (store-format.md §5).

mod aux_util;

use std::path::Path;

use aux_util::TempDir;
use remoting_codec::message::java_string_hash_code;
use remoting_codec::message::sysflag::message_sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_PREPARED_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use store::checkpoint::StoreCheckpoint;
use store::index::{time_millis_to_human_string, IndexRecord, IndexService};

/// An index file parsed without the store's code.
#[derive(Debug)]
struct RawIndex {
    begin_ts: i64,
    end_ts: i64,
    begin_phy: i64,
    end_phy: i64,
    slot_count: i32,
    index_count: i32,
    slots: Vec<i32>,
    /// (keyHash, phyOffset, timeDiff, prev), entry number = position.
    entries: Vec<(i32, i64, i32, i32)>,
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn be_i32(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}

fn read_raw(path: &Path, slots: usize, entries: usize) -> RawIndex {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        b.len(),
        40 + slots * 4 + entries * 20,
        "file size of {path:?}"
    );
    let entry_base = 40 + slots * 4;
    RawIndex {
        begin_ts: be_i64(&b, 0),
        end_ts: be_i64(&b, 8),
        begin_phy: be_i64(&b, 16),
        end_phy: be_i64(&b, 24),
        slot_count: be_i32(&b, 32),
        index_count: be_i32(&b, 36),
        slots: (0..slots).map(|i| be_i32(&b, 40 + i * 4)).collect(),
        entries: (0..entries)
            .map(|i| {
                let p = entry_base + i * 20;
                (
                    be_i32(&b, p),
                    be_i64(&b, p + 4),
                    be_i32(&b, p + 12),
                    be_i32(&b, p + 16),
                )
            })
            .collect(),
    }
}

fn key_hash(key: &str) -> i32 {
    let h = java_string_hash_code(key);
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

fn rec<'a>(
    topic: &'a str,
    keys: Option<&'a str>,
    uniq: Option<&'a str>,
    offset: i64,
    ts: i64,
) -> IndexRecord<'a> {
    IndexRecord {
        topic,
        keys,
        uniq_key: uniq,
        commit_log_offset: offset,
        store_timestamp: ts,
        sys_flag: 0,
        msg_size: 100,
    }
}

fn index_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const T0: i64 = 1_795_243_834_068;

#[test]
fn layout_counts_slots_and_chains() {
    let tmp = TempDir::new("layout");
    let dir = tmp.path().join("index");
    let index = IndexService::open(&dir, 7, 50).unwrap();
    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    index.load(true, &cp).unwrap();

    // 4 records: uniq key first, then KEYS tokens (empty tokens skipped).
    let records = [
        rec("T", Some("a b"), Some("U1"), 0, T0),
        rec("T", Some("  a  "), Some("U2"), 300, T0 + 1500),
        rec("T", None, Some("U3"), 600, T0 + 2999),
        rec("T", Some("c"), None, 900, T0 + 10_000),
    ];
    for r in &records {
        assert_eq!(index.build_index(r).unwrap(), None);
    }
    let expected: Vec<(&str, i64, i32)> = vec![
        ("T#U1", 0, 0),
        ("T#a", 0, 0),
        ("T#b", 0, 0),
        ("T#U2", 300, 1),
        ("T#a", 300, 1),
        ("T#U3", 600, 2),
        ("T#c", 900, 10),
    ];

    let names = index_files(&dir);
    assert_eq!(names.len(), 1);
    let raw = read_raw(&dir.join(&names[0]), 7, 50);
    assert_eq!(raw.begin_ts, T0);
    assert_eq!(raw.end_ts, T0 + 10_000);
    assert_eq!(raw.begin_phy, 0);
    assert_eq!(raw.end_phy, 900);
    // The counter starts at 1: 7 entries make indexCount 8, and entry 0 stays zero.
    assert_eq!(raw.index_count, expected.len() as i32 + 1);
    assert_eq!(raw.entries[0], (0, 0, 0, 0));

    // Recompute slots and chains independently.
    let mut slots = [0i32; 7];
    for (i, &(key, offset, diff)) in expected.iter().enumerate() {
        let n = i + 1;
        let h = key_hash(key);
        let slot = (h as usize) % 7;
        assert_eq!(
            raw.entries[n],
            (h, offset, diff, slots[slot]),
            "entry {n} ({key})"
        );
        slots[slot] = n as i32;
    }
    assert_eq!(raw.slots, slots.to_vec());
    assert_eq!(
        raw.slot_count,
        slots.iter().filter(|&&s| s != 0).count() as i32
    );
    assert!(raw.entries[expected.len() + 1..]
        .iter()
        .all(|e| *e == (0, 0, 0, 0)));

    // Queries: the real keys, newest first.
    assert_eq!(
        index.query("T", "a", 10, 0, i64::MAX).phy_offsets,
        vec![300, 0]
    );
    assert_eq!(
        index.query("T", "U3", 10, 0, i64::MAX).phy_offsets,
        vec![600]
    );
    assert_eq!(index.query("T", "a", 1, 0, i64::MAX).phy_offsets, vec![300]);
    assert!(index
        .query("T", "zz", 10, 0, i64::MAX)
        .phy_offsets
        .is_empty());
    assert!(index
        .query("Other", "a", 10, 0, i64::MAX)
        .phy_offsets
        .is_empty());
    // Time window: entry times are begin + whole seconds.
    assert_eq!(
        index.query("T", "a", 10, T0 + 1000, T0 + 5000).phy_offsets,
        vec![300]
    );
    assert!(index
        .query("T", "a", 10, T0 + 20_000, i64::MAX)
        .phy_offsets
        .is_empty());
    let r = index.query("T", "c", 10, 0, i64::MAX);
    assert_eq!(r.index_last_update_timestamp, T0 + 10_000);
    assert_eq!(r.index_last_update_phyoffset, 900);
}

#[test]
fn hash_collisions_are_returned_for_the_caller_to_filter() {
    // "Aa" and "BB" have the same Java hash code, so "T#Aa" and "T#BB" do too.
    assert_eq!(java_string_hash_code("T#Aa"), java_string_hash_code("T#BB"));
    let tmp = TempDir::new("collide");
    let index = IndexService::open(tmp.path().join("index"), 100, 50).unwrap();
    index
        .build_index(&rec("T", Some("Aa"), None, 10, T0))
        .unwrap();
    index
        .build_index(&rec("T", Some("BB"), None, 20, T0))
        .unwrap();
    assert_eq!(
        index.query("T", "BB", 10, 0, i64::MAX).phy_offsets,
        vec![20, 10]
    );
}

#[test]
fn skips_rollback_and_already_indexed_records() {
    let tmp = TempDir::new("skip");
    let dir = tmp.path().join("index");
    let index = IndexService::open(&dir, 11, 50).unwrap();
    index
        .build_index(&rec("T", Some("k"), None, 1000, T0))
        .unwrap();
    let mut rollback = rec("T", Some("k"), None, 2000, T0);
    rollback.sys_flag = TRANSACTION_ROLLBACK_TYPE;
    index.build_index(&rollback).unwrap();
    // Below the file's endPhyOffset: already indexed (re-dispatch after recovery).
    index
        .build_index(&rec("T", Some("k"), None, 500, T0))
        .unwrap();
    // Prepared and commit records are indexed.
    let mut prepared = rec("T", Some("k"), None, 3000, T0);
    prepared.sys_flag = TRANSACTION_PREPARED_TYPE;
    index.build_index(&prepared).unwrap();
    let mut commit = rec("T", Some("k"), None, 4000, T0);
    commit.sys_flag = TRANSACTION_COMMIT_TYPE;
    index.build_index(&commit).unwrap();

    assert_eq!(
        index.query("T", "k", 10, 0, i64::MAX).phy_offsets,
        vec![4000, 3000, 1000]
    );
    let raw = read_raw(&dir.join(&index_files(&dir)[0]), 11, 50);
    assert_eq!(raw.index_count, 4);
}

#[test]
fn rollover_when_full_names_and_reload() {
    let tmp = TempDir::new("rollover");
    let dir = tmp.path().join("index");
    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    // maxIndexNum 4: entries 1..3 per file; each record has 2 keys (U<i>, K<i>), so some
    // records straddle two files.
    let index = IndexService::open(&dir, 3, 4).unwrap();
    index.load(true, &cp).unwrap();
    let before = time_millis_to_human_string(now_ms());

    let mut closed = Vec::new();
    let uniq: Vec<String> = (0..10).map(|i| format!("U{i}")).collect();
    let keys: Vec<String> = (0..10).map(|i| format!("K{i}")).collect();
    for i in 0..10 {
        let r = rec(
            "T",
            Some(&keys[i]),
            Some(&uniq[i]),
            i as i64 * 100,
            T0 + i as i64 * 1000,
        );
        if let Some(ts) = index.build_index(&r).unwrap() {
            cp.set_index_msg_timestamp(ts);
            closed.push(ts);
        }
    }
    let after = time_millis_to_human_string(now_ms());

    // U0 K0 U1 | K1 U2 K2 | U3 K3 U4 | K4 U5 K5 | U6 K6 U7 | K7 U8 K8 | U9 K9
    let names = index_files(&dir);
    assert_eq!(names.len(), 7, "{names:?}");
    // A full file is reported when the next one is created: in the middle of a record (K1 goes
    // to a new file) or at the start of the next record (file 1 filled exactly by record 2).
    let ends = [1, 2, 4, 5, 7, 8];
    assert_eq!(closed, ends.map(|i| T0 + i * 1000).to_vec());
    let first_keys = ["U0", "K1", "U3", "K4", "U6", "K7", "U9"];
    let begins = [0, 1, 3, 4, 6, 7, 9];
    for (i, name) in names.iter().enumerate() {
        assert_eq!(name.len(), 17);
        assert!(name.bytes().all(|b| b.is_ascii_digit()));
        // Creation time in local time; files made within one ms get the next free name.
        assert!(name.as_str() >= before.as_str(), "{name} < {before}");
        let n: u64 = name.parse().unwrap();
        assert!(
            n <= after.parse::<u64>().unwrap() + i as u64,
            "{name} > {after}"
        );
        let raw = read_raw(&dir.join(name), 3, 4);
        assert_eq!(raw.index_count, if i < 6 { 4 } else { 3 }, "file {i}");
        assert_eq!(raw.entries[1].0, key_hash(&format!("T#{}", first_keys[i])));
        assert_eq!(raw.begin_phy, begins[i] * 100, "file {i}");
        assert_eq!(raw.begin_ts, T0 + begins[i] * 1000, "file {i}");
        if i > 0 {
            // Entry 1's timeDiff is measured from the previous file's end (Java sets the new
            // file's begin to it until the first entry).
            let prev = read_raw(&dir.join(&names[i - 1]), 3, 4);
            assert_eq!(prev.end_ts, T0 + ends[i - 1] * 1000);
            assert_eq!(raw.entries[1].2 as i64, (raw.begin_ts - prev.end_ts) / 1000);
        }
    }
    for i in 0..10 {
        let want = vec![i as i64 * 100];
        assert_eq!(
            index.query("T", &keys[i], 10, 0, i64::MAX).phy_offsets,
            want
        );
        assert_eq!(
            index.query("T", &uniq[i], 10, 0, i64::MAX).phy_offsets,
            want
        );
    }

    // K10 fills the last file; the next record starts a new one and reports the full one.
    let r = rec("T", Some("K10"), None, 1000, T0 + 10_000);
    assert_eq!(index.build_index(&r).unwrap(), None);
    let r = rec("T", Some("K11"), None, 1100, T0 + 11_000);
    assert_eq!(index.build_index(&r).unwrap(), Some(T0 + 10_000));
    assert_eq!(index_files(&dir).len(), 8);
    index.flush().unwrap();

    // Reload (clean): everything is found again, and writing continues in the last file.
    drop(index);
    let index = IndexService::open(&dir, 3, 4).unwrap();
    index.load(true, &cp).unwrap();
    assert_eq!(index.files().len(), 8);
    assert_eq!(
        index.query("T", "K3", 10, 0, i64::MAX).phy_offsets,
        vec![300]
    );
    let r = rec("T", Some("K12"), None, 1200, T0 + 12_000);
    assert_eq!(index.build_index(&r).unwrap(), None);
    let names = index_files(&dir);
    assert_eq!(names.len(), 8);
    assert_eq!(read_raw(&dir.join(&names[7]), 3, 4).index_count, 3);
    assert_eq!(index.last_update_phy_offset(), 1200);
    assert_eq!(index.last_update_timestamp(), T0 + 12_000);

    // Abnormal reload: files ending after the checkpoint's indexMsgTimestamp are deleted.
    drop(index);
    cp.set_index_msg_timestamp(T0 + 4000);
    let index = IndexService::open(&dir, 3, 4).unwrap();
    index.load(false, &cp).unwrap();
    assert_eq!(index_files(&dir), names[..3].to_vec());
    assert_eq!(index.files().len(), 3);
    assert!(index
        .query("T", "K5", 10, 0, i64::MAX)
        .phy_offsets
        .is_empty());
    assert_eq!(
        index.query("T", "K3", 10, 0, i64::MAX).phy_offsets,
        vec![300]
    );
    // Re-dispatch from an earlier record: the last file is full, so a new one starts at its end
    // (offset 400); records below that are skipped, the record at it is indexed again (as Java
    // does), later ones are indexed.
    let r = rec("T", Some("K3"), Some("U3"), 300, T0 + 3000);
    assert_eq!(index.build_index(&r).unwrap(), Some(T0 + 4000));
    assert_eq!(index.files().len(), 4);
    assert_eq!(
        index.query("T", "K3", 10, 0, i64::MAX).phy_offsets,
        vec![300]
    );
    index
        .build_index(&rec("T", Some("K4"), Some("U4"), 400, T0 + 4000))
        .unwrap();
    assert_eq!(
        index.query("T", "U4", 10, 0, i64::MAX).phy_offsets,
        vec![400, 400]
    );
    index
        .build_index(&rec("T", Some("K5"), Some("U5"), 500, T0 + 5000))
        .unwrap();
    assert_eq!(
        index.query("T", "K5", 10, 0, i64::MAX).phy_offsets,
        vec![500]
    );
}

#[test]
fn size_check_on_load() {
    let tmp = TempDir::new("size");
    let dir = tmp.path().join("index");
    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    let index = IndexService::open(&dir, 10, 20).unwrap();
    index
        .build_index(&rec("T", Some("k"), None, 0, T0))
        .unwrap();
    drop(index);

    // Another configuration gives another size: refused.
    let other = IndexService::open(&dir, 10, 21).unwrap();
    let err = other.load(true, &cp).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("maxIndexNum 21"), "{err}");

    // A truncated file: refused, and left as it was.
    let name = &index_files(&dir)[0];
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(name))
        .unwrap();
    file.set_len(100).unwrap();
    let again = IndexService::open(&dir, 10, 20).unwrap();
    assert!(again.load(true, &cp).is_err());
    assert_eq!(std::fs::metadata(dir.join(name)).unwrap().len(), 100);

    assert!(IndexService::open(&dir, 0, 20).is_err());
    assert!(IndexService::open(&dir, 10, 1).is_err());
}

#[test]
fn delete_expired_files_keeps_the_newest() {
    let tmp = TempDir::new("expire");
    let dir = tmp.path().join("index");
    let index = IndexService::open(&dir, 3, 3).unwrap();
    // 2 keys per file: offsets 0,100 | 200,300 | 400,500 | 600
    for i in 0..7 {
        index
            .build_index(&rec("T", Some(&format!("K{i}")), None, i * 100, T0 + i))
            .unwrap();
    }
    assert_eq!(index.files().len(), 4);
    assert_eq!(
        index.delete_expired_files(100).unwrap(),
        0,
        "end 100 is not below 100"
    );
    assert_eq!(index.delete_expired_files(301).unwrap(), 2);
    assert_eq!(index.files()[0].header.end_phy_offset, 500);
    assert_eq!(index_files(&dir).len(), 2);
    assert!(index
        .query("T", "K1", 10, 0, i64::MAX)
        .phy_offsets
        .is_empty());
    assert_eq!(
        index.query("T", "K5", 10, 0, i64::MAX).phy_offsets,
        vec![500]
    );
    assert_eq!(index.delete_expired_files(i64::MAX).unwrap(), 1);
    assert_eq!(index.files().len(), 1, "the newest file stays");
}

#[test]
fn file_names_follow_the_local_time_zone() {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "name_in_utc_plus_8_child",
            "--ignored",
            "--nocapture",
        ])
        .env("TZ", "XST-8")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "{out}");
    assert!(out.contains("1 passed"), "{out}");
}

/// Run by `file_names_follow_the_local_time_zone` with TZ=XST-8 (UTC+8, no tz database needed).
#[test]
#[ignore = "run in a child process with TZ set"]
fn name_in_utc_plus_8_child() {
    if std::env::var("TZ").as_deref() != Ok("XST-8") {
        return eprintln!("helper: only meaningful when run by its parent test");
    }
    assert_eq!(time_millis_to_human_string(T0 + 5), "20261121145034073");
    let tmp = TempDir::new("tz");
    let dir = tmp.path().join("index");
    let index = IndexService::open(&dir, 3, 5).unwrap();
    let before = now_ms();
    index
        .build_index(&rec("T", Some("k"), None, 0, T0))
        .unwrap();
    let after = now_ms();
    let name = &index_files(&dir)[0];
    // The name is UTC+8 wall-clock time: compare with the UTC fields shifted by 8 hours (the
    // hour it was made in, which is the hour before or after it if an hour began meanwhile).
    let hour_in_utc_plus_8 = |ms: i64| ((ms + 8 * 3600 * 1000) / 1000 % 86_400) / 3600;
    let hours = [hour_in_utc_plus_8(before), hour_in_utc_plus_8(after)].map(|h| format!("{h:02}"));
    assert!(
        hours.contains(&name[8..10].to_owned()),
        "{name} made between hours {hours:?} of UTC+8"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<IndexService>();
    send_sync::<StoreCheckpoint>();

    // A dispatcher thread builds while readers query.
    let tmp = TempDir::new("threads");
    let index = IndexService::open(tmp.path().join("index"), 101, 500).unwrap();
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..2000i64 {
                let key = format!("K{i}");
                index
                    .build_index(&rec("T", Some(&key), None, i * 10, T0 + i))
                    .unwrap();
            }
        });
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..200 {
                    let r = index.query("T", "K7", 10, 0, i64::MAX);
                    assert!(r.phy_offsets.is_empty() || r.phy_offsets == vec![70]);
                }
            });
        }
    });
    assert_eq!(index.files().len(), 5);
    for i in [0i64, 499, 500, 1999] {
        let r = index.query("T", &format!("K{i}"), 10, 0, i64::MAX);
        assert_eq!(r.phy_offsets, vec![i * 10]);
    }
}
