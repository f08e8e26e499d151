//! The Java 4.9.8 broker's index files and checkpoints (compat-tests/fixtures/golden/stores) read
//! back as the manifests say, and key lookups find exactly the entries the manifests imply.

mod aux_util;

use std::collections::BTreeMap;

use aux_util::{copy_dir, golden_dir, TempDir};
use remoting_codec::message::java_string_hash_code;
use serde_json::Value;
use store::checkpoint::StoreCheckpoint;
use store::index::IndexService;

/// Both golden stores use maxHashSlotNum=1000, maxIndexNum=4000 (see their broker.conf).
const SLOTS: u32 = 1000;
const ENTRIES: u32 = 4000;

fn manifest(store: &str) -> Value {
    let path = golden_dir().join(format!("stores/{store}.manifest.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A scratch copy of a golden store's index directory and checkpoint (loading may delete files).
fn scratch_copy(store: &str) -> TempDir {
    let tmp = TempDir::new(&format!("golden-{store}"));
    let src = golden_dir().join("stores").join(store);
    copy_dir(&src.join("index"), &tmp.path().join("index"));
    std::fs::copy(src.join("checkpoint"), tmp.path().join("checkpoint")).unwrap();
    tmp
}

fn hash(key: &str) -> i32 {
    java_string_hash_code(key).checked_abs().unwrap_or(0)
}

/// Every index entry the manifest implies: (keyHash of `topic#key`, commitlog offset) for the
/// UNIQ_KEY and each KEYS token of every message up to the index's last indexed offset.
fn implied_entries(manifest: &Value, last_indexed_offset: i64) -> Vec<(i32, i64)> {
    let mut out = Vec::new();
    for m in manifest["messages"].as_array().unwrap() {
        let offset = m["commitLogOffset"].as_i64().unwrap();
        if offset > last_indexed_offset || m["tranType"] == "ROLLBACK" {
            continue;
        }
        let topic = m["topic"].as_str().unwrap();
        let props = &m["properties"];
        let mut keys: Vec<&str> = props["UNIQ_KEY"].as_str().into_iter().collect();
        if let Some(k) = props["KEYS"].as_str() {
            keys.extend(k.split(' ').filter(|k| !k.is_empty()));
        }
        for k in keys {
            out.push((hash(&format!("{topic}#{k}")), offset));
        }
    }
    out
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

fn check_store(store: &str) {
    let manifest = manifest(store);
    let tmp = scratch_copy(store);

    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    let want_cp = &manifest["checkpoint"];
    assert_eq!(
        cp.physic_msg_timestamp(),
        want_cp["physicMsgTimestamp"].as_i64().unwrap()
    );
    assert_eq!(
        cp.logics_msg_timestamp(),
        want_cp["logicsMsgTimestamp"].as_i64().unwrap()
    );
    assert_eq!(
        cp.index_msg_timestamp(),
        want_cp["indexMsgTimestamp"].as_i64().unwrap()
    );
    assert_eq!(
        cp.master_flushed_offset(),
        0,
        "4.x leaves the 5.x fields zero"
    );
    assert_eq!(cp.confirm_phy_offset(), 0);

    let index = IndexService::open(tmp.path().join("index"), SLOTS, ENTRIES).unwrap();
    index.load(true, &cp).unwrap();
    let files = index.files();
    let want_files = manifest["index"].as_array().unwrap();
    assert_eq!(files.len(), want_files.len());
    for (got, want) in files.iter().zip(want_files) {
        assert_eq!(got.name, want["file"].as_str().unwrap());
        let h = &got.header;
        assert_eq!(h.begin_timestamp, want["beginTimestamp"].as_i64().unwrap());
        assert_eq!(h.end_timestamp, want["endTimestamp"].as_i64().unwrap());
        assert_eq!(h.begin_phy_offset, want["beginPhyOffset"].as_i64().unwrap());
        assert_eq!(h.end_phy_offset, want["endPhyOffset"].as_i64().unwrap());
        assert_eq!(
            h.hash_slot_count as i64,
            want["hashSlotCount"].as_i64().unwrap()
        );
        assert_eq!(h.index_count as i64, want["indexCount"].as_i64().unwrap());
    }
    let last = files.last().unwrap().header;
    assert_eq!(index.last_update_timestamp(), last.end_timestamp);
    assert_eq!(index.last_update_phy_offset(), last.end_phy_offset);

    // The manifest's messages imply exactly as many entries as the headers count.
    let entries = implied_entries(&manifest, last.end_phy_offset);
    let counted: i64 = files.iter().map(|f| f.header.index_count as i64 - 1).sum();
    assert_eq!(
        entries.len() as i64,
        counted,
        "entries implied by the manifest"
    );

    let mut by_hash: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for &(h, offset) in &entries {
        by_hash.entry(h).or_default().push(offset);
    }

    // Every key of every indexed message: the lookup returns exactly the entries with that
    // key's hash (the message itself plus any hash collisions), newest first.
    let mut looked_up = 0;
    let mut with_uniq = 0;
    for m in manifest["messages"].as_array().unwrap() {
        let offset = m["commitLogOffset"].as_i64().unwrap();
        if offset > last.end_phy_offset {
            continue;
        }
        let topic = m["topic"].as_str().unwrap();
        let mut keys: Vec<&str> = Vec::new();
        if let Some(uniq) = m["msgId"].as_str() {
            keys.push(uniq);
            with_uniq += 1;
        }
        if let Some(k) = m["keys"].as_str() {
            keys.extend(k.split(' ').filter(|k| !k.is_empty()));
        }
        for key in keys {
            let result = index.query(topic, key, 100_000, 0, i64::MAX);
            let want = &by_hash[&hash(&format!("{topic}#{key}"))];
            assert!(
                result.phy_offsets.contains(&offset),
                "{topic}#{key} must find {offset}"
            );
            assert_eq!(
                sorted(result.phy_offsets.clone()),
                sorted(want.clone()),
                "{topic}#{key}"
            );
            assert!(
                result.phy_offsets.windows(2).all(|w| w[0] >= w[1]),
                "newest first: {topic}#{key}"
            );
            assert_eq!(result.index_last_update_timestamp, last.end_timestamp);
            assert_eq!(result.index_last_update_phyoffset, last.end_phy_offset);
            looked_up += 1;
        }
    }
    assert!(looked_up > 1000 && with_uniq > 1000, "{looked_up} lookups");

    // A key no message has finds nothing.
    let none_key = "NO-SUCH-KEY-42";
    let topic = manifest["messages"][0]["topic"].as_str().unwrap();
    assert!(!by_hash.contains_key(&hash(&format!("{topic}#{none_key}"))));
    assert!(index
        .query(topic, none_key, 64, 0, i64::MAX)
        .phy_offsets
        .is_empty());
}

#[test]
fn clean_store_index_and_checkpoint() {
    check_store("clean");
}

#[test]
fn crashed_store_index_and_checkpoint() {
    check_store("crashed");
}

#[test]
fn clean_store_lookups_by_listed_keys() {
    let manifest = manifest("clean");
    let tmp = scratch_copy("clean");
    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    let index = IndexService::open(tmp.path().join("index"), SLOTS, ENTRIES).unwrap();
    index.load(true, &cp).unwrap();

    let offsets_with_key = |topic: &str, key: &str| -> Vec<i64> {
        manifest["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["topic"] == topic)
            .filter(|m| {
                m["keys"]
                    .as_str()
                    .is_some_and(|k| k.split(' ').any(|t| t == key))
            })
            .map(|m| m["commitLogOffset"].as_i64().unwrap())
            .collect()
    };
    // A key shared by 150 messages across both index files, the compressed message's key, and
    // the committed transaction's key.
    for (topic, key) in [
        ("StoreTopicA", "KCOMMON-0"),
        ("StoreTopicA", "KZIP-0"),
        ("StoreTxTopic", "KTX-commit"),
    ] {
        let want = offsets_with_key(topic, key);
        assert!(!want.is_empty(), "{key} is in the manifest");
        let got = index.query(topic, key, 1000, 0, i64::MAX).phy_offsets;
        // Callers re-check the real key; here the manifest plays the commitlog.
        let mut real: Vec<i64> = got.into_iter().filter(|o| want.contains(o)).collect();
        real.sort_unstable();
        assert_eq!(real, sorted(want), "{topic}#{key}");
    }
    // max_num caps the result.
    assert_eq!(
        index
            .query("StoreTopicA", "KCOMMON-0", 64, 0, i64::MAX)
            .phy_offsets
            .len(),
        64
    );
    // A time window inside the second file only finds that file's entries.
    let files = index.files();
    let second = files[1].header;
    let got = index
        .query(
            "StoreTopicA",
            "KCOMMON-0",
            1000,
            second.begin_timestamp,
            i64::MAX,
        )
        .phy_offsets;
    assert!(!got.is_empty());
    assert!(got.iter().all(|&o| o >= second.begin_phy_offset), "{got:?}");
}

#[test]
fn crashed_store_abnormal_load_drops_index_files_newer_than_checkpoint() {
    let tmp = scratch_copy("crashed");
    let cp = StoreCheckpoint::open(tmp.path().join("checkpoint")).unwrap();
    let index = IndexService::open(tmp.path().join("index"), SLOTS, ENTRIES).unwrap();
    index.load(false, &cp).unwrap();
    // The newest file ends after indexMsgTimestamp: deleted (the Java broker did the same).
    let files = index.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].name, "20261121065133496");
    assert!(!tmp.path().join("index/20261121065136321").exists());
    assert!(files[0].header.end_timestamp <= cp.index_msg_timestamp());
}

#[test]
fn golden_index_files_have_the_java_names() {
    // The Java broker ran in UTC and named each file by its creation time; the first entry came
    // a few ms earlier than the name's time. Formatting that name's instant in UTC gives it back.
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "index_file_name_in_utc_child",
            "--ignored",
            "--nocapture",
        ])
        .env("TZ", "UTC0")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(child.status.success(), "{out}");
    assert!(out.contains("1 passed"), "{out}");
}

/// Run by `golden_index_files_have_the_java_names` with TZ=UTC0.
#[test]
#[ignore = "run in a child process with TZ set"]
fn index_file_name_in_utc_child() {
    use store::index::time_millis_to_human_string;
    if std::env::var("TZ").as_deref() != Ok("UTC0") {
        return eprintln!("helper: only meaningful when run by its parent test");
    }
    assert_eq!(
        time_millis_to_human_string(1_795_243_834_073),
        "20261121065034073"
    );
    assert_eq!(
        time_millis_to_human_string(1_795_243_836_429),
        "20261121065036429"
    );
    assert_eq!(time_millis_to_human_string(0), "19700101000000000");
}
