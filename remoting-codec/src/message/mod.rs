//! Message encodings shared by clients, the store and the broker.
//!
//! - [`properties`]: the `k\u{1}v\u{2}` properties string and [`MessageProperties`], an ordered
//!   map that re-encodes byte for byte; [`message_const`]: every `MessageConst` key.
//! - [`sysflag`]: message, pull and topic sysFlag bits.
//! - [`record`]: the commitlog record ([`StoredMessage`]) that the store writes and PULL,
//!   QUERY_MESSAGE, VIEW_MESSAGE_BY_ID, CHECK_TRANSACTION_STATE and CONSUME_MESSAGE_DIRECTLY carry.
//! - [`compression`]: body compression as selected by sysFlag (zlib; lz4/zstd are reported).
//! - [`batch`]: SEND_BATCH_MESSAGE bodies.
//! - [`ids`]: offsetMsgId, the client msgId (`UNIQ_KEY`) and its generator.
//! - [`hash`]: Java `String.hashCode` (tag codes), CRC32 as Java's `UtilAll.crc32`, hex.
//!
//! Every decoder takes untrusted bytes: truncated or inconsistent input is a [`MessageError`],
//! never a panic, and no length read from input is allocated before it is checked against the
//! bytes actually present.

pub mod batch;
pub mod compression;
pub mod hash;
pub mod ids;
pub mod message_const;
pub mod properties;
pub mod record;
pub mod sysflag;

pub use batch::{decode_batch, encode_batch, unwrap_inner_batch, BatchEntries, BatchEntry};
pub use compression::{compress_zlib, decompress_body, CompressionType, DEFAULT_MAX_INFLATE_SIZE};
pub use hash::{crc32, java_string_hash_code, java_string_hash_continue, tags_string_to_tags_code};
pub use ids::{ClientMessageId, MessageClientIdSetter, OffsetMessageId};
pub use properties::MessageProperties;
pub use record::{
    decode_record, decode_records, MessageVersion, Record, RecordIter, StoredMessage,
    BLANK_MAGIC_CODE, MESSAGE_MAGIC_CODE, MESSAGE_MAGIC_CODE_V2,
};

/// Why message bytes could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("{field} truncated: needs {needed} bytes, {available} left")]
    Truncated {
        field: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("unknown magic code {0:#010x}")]
    BadMagic(i32),
    #[error("BLANK (end of file) record where a message was expected")]
    UnexpectedBlank,
    #[error("negative {field} {value}")]
    NegativeLength { field: &'static str, value: i64 },
    #[error("record declares {declared} bytes but its fields take {actual}")]
    SizeMismatch { declared: i64, actual: usize },
    #[error("port {0} out of range")]
    InvalidPort(i32),
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    #[error("{field} of {len} bytes exceeds the limit of {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("unknown compression type {0} in sysFlag")]
    UnknownCompressionType(i32),
    #[error("compression {0:?} is not supported")]
    UnsupportedCompression(CompressionType),
    #[error("corrupt compressed body: {0}")]
    Decompress(String),
    #[error("decompressed body exceeds the limit of {0} bytes")]
    DecompressedTooLarge(usize),
    #[error("invalid message id {0:?}")]
    InvalidMessageId(String),
}
