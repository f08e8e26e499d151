//! The config-file helper: temp + `.bak` + rename on write, fallback to `.bak` on read, and
//! every state a crash between the steps (ours or the Java broker's) can leave.

mod aux_util;

use std::path::Path;

use aux_util::{golden_dir, TempDir};
use remoting_codec::fastjson;
use serde_json::Value;
use store::config_file::{bak_path, load_with, persist, tmp_path, ConfigFileError};

/// The owners parse with fastjson (unquoted integer keys); a value is enough here.
fn parse(text: &str) -> Result<Value, fastjson::JsonError> {
    fastjson::from_slice_value(text.as_bytes())
}

fn load(path: &Path) -> Result<Option<Value>, ConfigFileError> {
    load_with(path, parse)
}

fn golden_config(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join("store-config/clean").join(name)).unwrap()
}

const V1: &str = "{\n\t\"offsetTable\":{1:1,2:1\n\t}\n}";
const V2: &str = "{\n\t\"offsetTable\":{1:5,2:6,3:7\n\t}\n}";

fn offsets(v: &Value) -> String {
    v["offsetTable"].to_string()
}

#[test]
fn persist_keeps_previous_content_in_bak() {
    let tmp = TempDir::new("cfg-persist");
    let path = tmp.path().join("config/delayOffset.json");

    persist(&path, V1).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), V1);
    assert!(
        !bak_path(&path).exists(),
        "nothing to back up the first time"
    );
    assert!(!tmp_path(&path).exists(), "no temp file left");

    persist(&path, V2).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), V2);
    assert_eq!(std::fs::read_to_string(bak_path(&path)).unwrap(), V1);
    assert!(!tmp_path(&path).exists());
    assert_eq!(
        offsets(&load(&path).unwrap().unwrap()),
        r#"{"1":5,"2":6,"3":7}"#
    );

    // A Java-written file goes through unchanged.
    let golden = golden_config("topics.json");
    persist(&path, &golden).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), golden);
    assert_eq!(std::fs::read_to_string(bak_path(&path)).unwrap(), V2);
    let v = load(&path).unwrap().unwrap();
    assert!(v["topicConfigTable"].is_object());
}

#[test]
fn falls_back_to_bak_when_main_is_corrupt_empty_or_missing() {
    let tmp = TempDir::new("cfg-fallback");
    let path = tmp.path().join("delayOffset.json");
    std::fs::write(bak_path(&path), V1).unwrap();

    for main in [
        Some("{\n\t\"offsetTable\":{1:5,2:"),
        Some(""),
        Some("\u{0}\u{0}\u{0}"),
        None,
    ] {
        match main {
            Some(text) => std::fs::write(&path, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&path);
            }
        }
        let v = load(&path).unwrap().expect("loaded from .bak");
        assert_eq!(offsets(&v), r#"{"1":1,"2":1}"#, "main = {main:?}");
    }
    // Invalid UTF-8 counts as unparsable.
    std::fs::write(&path, [0xff, 0xfe, b'{']).unwrap();
    assert!(load(&path).unwrap().is_some());
}

#[test]
fn nothing_on_disk_is_none_and_corrupt_without_backup_is_an_error() {
    let tmp = TempDir::new("cfg-none");
    let path = tmp.path().join("topics.json");
    assert!(load(&path).unwrap().is_none());
    std::fs::write(&path, "").unwrap();
    assert!(
        load(&path).unwrap().is_none(),
        "empty file, no backup: defaults"
    );

    std::fs::write(&path, "{oops").unwrap();
    assert!(matches!(
        load(&path),
        Err(ConfigFileError::Unparsable { .. })
    ));
    std::fs::write(bak_path(&path), "also {bad").unwrap();
    let err = load(&path).unwrap_err();
    assert!(err.to_string().contains("topics.json.bak"), "{err}");
    // The broken files are left for the operator.
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{oops");
}

/// The states a crash can leave between the steps of a persist, written by hand.
#[test]
fn every_crash_state_loads_a_complete_version() {
    let tmp = TempDir::new("cfg-crash");
    let path = tmp.path().join("consumerOffset.json");
    let old = golden_config("consumerOffset.json");
    let older = golden_config("consumerOffset.json.bak");
    let new = V2;
    let check = |state: &str, want: &str| {
        let got = load(&path).unwrap().unwrap();
        assert_eq!(got, parse(want).unwrap(), "{state}");
    };
    let reset = || {
        for p in [path.clone(), bak_path(&path), tmp_path(&path)] {
            let _ = std::fs::remove_file(p);
        }
        std::fs::write(&path, &old).unwrap();
        std::fs::write(bak_path(&path), &older).unwrap();
    };

    // Our step 1 torn: a partial .tmp; the file is untouched.
    reset();
    std::fs::write(tmp_path(&path), &new[..new.len() / 2]).unwrap();
    check("partial tmp", &old);
    // Our step 2 torn: .tmp complete, .bak partially overwritten; the file is untouched.
    std::fs::write(tmp_path(&path), new).unwrap();
    std::fs::write(bak_path(&path), &old[..old.len() / 3]).unwrap();
    check("partial bak", &old);
    // Step 2 done, before the rename.
    std::fs::write(bak_path(&path), &old).unwrap();
    check("before rename", &old);
    // After the rename: the new version.
    std::fs::rename(tmp_path(&path), &path).unwrap();
    check("after rename", new);
    // And persisting from any of these states completes normally.
    std::fs::write(tmp_path(&path), "garbage").unwrap();
    persist(&path, V1).unwrap();
    check("persisted", V1);
    assert_eq!(std::fs::read_to_string(bak_path(&path)).unwrap(), new);
    assert!(!tmp_path(&path).exists());

    // Java 4.x crashed after deleting the file and before renaming .tmp: .bak has the previous.
    reset();
    std::fs::write(tmp_path(&path), new).unwrap();
    std::fs::write(bak_path(&path), &old).unwrap();
    std::fs::remove_file(&path).unwrap();
    check("java: file deleted, tmp not renamed", &old);
    // Java 5.x overwrites in place: a truncated or half-written file.
    reset();
    std::fs::write(bak_path(&path), &old).unwrap();
    std::fs::write(&path, "").unwrap();
    check("java 5: truncated", &old);
    std::fs::write(&path, &new[..10]).unwrap();
    check("java 5: half written", &old);
}
