//! Shared helpers of the store tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use store::{FixedDiskUsage, MessageStore, MessageStoreConfig, StoreOptions};
#[allow(unused_imports)] // not every test binary copies a fixture
pub use test_support::dirs::copy_dir;

pub fn golden_stores() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compat-tests/fixtures/golden/stores")
}

/// A golden store copied to `tmp/store`, with its broker.conf's paths pointed at the copy.
pub fn golden_copy(name: &str, tmp: &Path) -> MessageStoreConfig {
    let root = tmp.join("store");
    copy_dir(&golden_stores().join(name), &root);
    let conf =
        std::fs::read_to_string(golden_stores().join(format!("{name}.broker.conf"))).unwrap();
    let mut config = MessageStoreConfig::from_properties_text(&conf).unwrap();
    config.store_path_root_dir = root.clone();
    config.store_path_commit_log = Some(root.join("commitlog"));
    config
}

/// Options for every store a test opens: the disk is always half full, so neither the disk-full
/// guard (puts refused from 1 s after opening when the machine's disk is over 90 % used) nor a
/// forced clean (over 85 %) depends on the machine the tests run on.
pub fn options() -> StoreOptions {
    StoreOptions {
        disk_probe: Arc::new(FixedDiskUsage(0.5)),
        ..StoreOptions::default()
    }
}

/// `MessageStore::open` with [`options`].
pub fn open(config: MessageStoreConfig) -> MessageStore {
    MessageStore::open_with(config, options()).unwrap()
}

/// Options for a store opened on a golden copy: no clean pass runs while the test does, and the
/// disk is never full. By default a pass would start a minute after opening, and on the
/// `deleteWhen` hour (04), or with the machine's disk over 75 % used, it deletes commitlog files
/// older than 72 h, which the copies are when the tests run with the clock faked a year ahead
/// (the copies' mtimes are the kernel's real time); over 85 % any file goes.
pub fn golden_options() -> StoreOptions {
    StoreOptions {
        clean_initial_delay: Duration::from_secs(24 * 3600),
        ..options()
    }
}

/// A small-file config for stores written by the tests.
pub fn small_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        store_path_root_dir: root.to_owned(),
        mapped_file_size_commit_log: 64 * 1024,
        mapped_file_size_consume_queue: 50 * 20,
        max_hash_slot_num: 100,
        max_index_num: 400,
        ..Default::default()
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

use remoting_codec::message::{MessageProperties, StoredMessage};

/// A message as the broker would hand it to the store.
pub fn message(topic: &str, queue_id: i32, i: usize, body_len: usize) -> StoredMessage {
    let mut properties = MessageProperties::new();
    properties.insert("KEYS", format!("K-{i} KC-{i}"));
    properties.insert("UNIQ_KEY", format!("ID{i:030}"));
    properties.insert("TAGS", format!("Tag{}", i % 3));
    properties.insert("CLUSTER", "DefaultCluster");
    StoredMessage {
        topic: topic.to_owned(),
        queue_id,
        body: bytes::Bytes::from(vec![(i % 251) as u8; body_len]),
        born_timestamp: 1_700_000_000_000 + i as i64,
        born_host: "127.0.0.1:40000".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        properties,
        ..Default::default()
    }
}
