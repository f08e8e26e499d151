//! The broker's message store, byte-compatible with the Java (4.9.8) broker's store directory:
//! a Java broker and this one can take turns on the same `storePathRootDir`.
//!
//! Module map (names follow the Java classes):
//!
//! | Module | Java | What it is |
//! |---|---|---|
//! | [`config`] | `MessageStoreConfig` | store settings with Java keys/defaults; delay level table |
//! | [`mapped_file`] | `MappedFile` | one fixed-size memory-mapped file, zero-copy `Bytes` reads |
//! | [`mapped_file_queue`] | `MappedFileQueue` | the ordered files of a log, flush position |
//! | [`commit_log`] | `CommitLog` | appends (put lock, BLANK + rollover), reads by offset |
//! | [`consume_queue`] | `ConsumeQueue` | 20-byte entries per topic queue, min/max, by time |
//! | [`consume_queue_ext`] | `ConsumeQueueExt` | extension units (real tagsCode, store time, filter bitmap) |
//! | [`dispatch`] | `ReputMessageService`, dispatchers | commitlog → consume queues + index |
//! | [`recovery`] | `recoverNormally/Abnormally` | open after a clean stop or a crash |
//! | [`flush`] | `FlushRealTimeService`, `GroupCommitService`, … | ASYNC/SYNC flush |
//! | [`clean`] | `CleanCommitLogService`, `CleanConsumeQueueService` | expiry, disk-full guard |
//! | [`running_flags`] | `RunningFlags` | health bits (disk full refuses puts) |
//! | `ha` | `store/ha`: `HAService`, `HAConnection`, `HAClient`, `GroupTransferService` | master/slave replication |
//! | [`message_store`] | `DefaultMessageStore` | the facade the broker uses (read path in `message_store/read.rs`) |
//! | [`results`] | `PutMessageResult`, `GetMessageResult`, … | what the facade returns |
//! | [`checkpoint`], [`lock`], [`index`], [`config_file`] | | (store-aux) checkpoint, lock/abort, index, config JSON files |
//! | [`views`] | | read-only views for the broker ([`ConsumeQueueView`]) |
//! | [`timer`] | `TimerMessageStore`, `TimerWheel`, `TimerLog`, `TimerCheckpoint`, `TimerMetrics` | 5.x timer messages (`rmq_sys_wheel_timer`) |
//!
//! Only `config`, `config_file`, `message_store` and `timer` are public modules; the rest is reached
//! through `MessageStore` and the re-exports below (the `internals` feature opens them to the
//! store's own integration tests).
//!
//! Durability per flush mode is argued in [`flush`]; the zero-copy read choice in
//! [`mapped_file`].

// The broker sees the store through `MessageStore`, the result types, the views and the
// settings; the modules below are its internals. The `internals` feature (enabled only by the
// store's own dev-dependency on itself) opens them to the store's integration tests, examples
// and benches, which check the file formats piece by piece.
macro_rules! internal_mods {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "internals")]
            pub mod $name;
            #[cfg(not(feature = "internals"))]
            pub(crate) mod $name;
        )*
    };
}

internal_mods!(
    checkpoint,
    clean,
    commit_log,
    consume_queue,
    consume_queue_ext,
    dispatch,
    flush,
    ha,
    index,
    lock,
    mapped_file,
    mapped_file_queue,
    recovery,
    results,
    reput,
    running_flags,
    stats,
);

pub mod config;
/// The JSON config-file helper (write `.tmp`, keep `.bak`, rename); the broker's managers
/// (topics, groups, offsets, delay offsets) write their files through it too.
pub mod config_file;
pub mod message_store;
/// 5.x timer messages: `timerwheel`, `timerlog/`, `config/timercheck`, `config/timermetrics`.
pub mod timer;
mod views;

pub use clean::{
    local_day, CleanReport, Clock, DiskUsageProbe, FixedDiskUsage, StatvfsProbe, StoreOptions,
};
pub use commit_log::store_timestamp_of as record_store_timestamp;
pub use config::{BrokerRole, DelayLevels, FlushDiskType, MessageStoreConfig};
pub use consume_queue::{CqEntry, CQ_STORE_UNIT_SIZE};
pub use consume_queue_ext::{is_ext_addr, CqExtUnit};
pub use dispatch::{FilterBitMapCalculator, MessageArrivingListener, SCHEDULE_TOPIC};
pub use ha::{HAService, ReplicaTicket};
pub use message_store::{
    GetMessageResult, GetMessageStatus, MessageFilter, MessageStore, PendingFlush,
    PutMessageResult, PutMessageStatus, PutOutcome, QueryMessageResult, ReplicaWait,
};
pub use recovery::RecoveryReport;
pub use running_flags::RunningFlags;
pub use stats::StoreStats;
pub use views::{ConsumeQueueView, CqEntries};

use std::path::PathBuf;

/// Why the store cannot open or an operation failed at the I/O level.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("{path}: length {actual} differs from the configured file size {expected}")]
    FileSize {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{0}: not a store file name (20-digit offset expected)")]
    BadFileName(PathBuf),
    #[error("Lock failed, MQ already started ({0})")]
    Locked(String),
    #[error("message encoding: {0}")]
    Message(#[from] remoting_codec::message::MessageError),
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

/// Wall-clock milliseconds (Java's `System.currentTimeMillis`).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
