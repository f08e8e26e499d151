//! The message index: files under `<storePathRootDir>/index/` that map `topic#key` to commitlog
//! offsets, for QUERY_MESSAGE (by KEYS) and VIEW by client msgId (UNIQ_KEY).
//!
//! - [`IndexFile`]: one file — header, hash slots, entries (byte layout in `index_file.rs`).
//! - [`IndexService`]: the list of files, oldest first: building entries as the dispatcher
//!   follows the commitlog, rolling over to a new file when one is full, queries, expiry.

mod index_file;
mod index_service;

#[cfg_attr(not(feature = "internals"), allow(unused_imports))] // the store's own tests use them
pub use index_file::{
    index_key_hash, time_millis_to_human_string, IndexFile, IndexHeader, HASH_SLOT_SIZE,
    INDEX_ENTRY_SIZE, INDEX_HEADER_SIZE,
};
#[cfg_attr(not(feature = "internals"), allow(unused_imports))] // the store's own tests use them
pub use index_service::{IndexFileInfo, IndexRecord, IndexService, KeyHashes, QueryOffsetResult};
