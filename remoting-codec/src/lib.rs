//! The RocketMQ remoting protocol, as the Apache Java client, broker and name server speak it.
//!
//! - [`RemotingCommand`] and [`RemotingCodec`]: the frame and its tokio-util codec, with both
//!   header serializations (fastjson text and the binary `ROCKETMQ` layout).
//! - [`ExtFields`], [`CommandHeader`] and [`remoting_header!`]: typed request/response headers
//!   converted to and from `extFields` with Java's field names and rules.
//! - [`code`]: every request and response code of 4.9.x and 5.x.
//! - [`protocol`]: the typed headers and JSON bodies of each request family.
//! - [`fastjson`]: JSON in the shapes fastjson reads and writes (unquoted integer keys,
//!   object-valued keys, pretty config files).
//! - [`message`]: the message encodings: properties, stored records, batches, ids, CRC.
//!
//! The crate does no I/O of its own, so every byte path can be unit-tested and fuzzed.

pub mod code;
pub mod codec;
pub mod command;
pub mod ext_fields;
pub mod fastjson;
mod header;
mod header_scan;
pub mod message;
pub mod protocol;

pub use codec::{CodecError, RemotingCodec, DEFAULT_MAX_FRAME_LENGTH};
pub use command::{
    LanguageCode, RemotingCommand, SerializeType, CURRENT_VERSION, FLAG_ONEWAY, FLAG_RESPONSE,
};
pub use ext_fields::{CommandHeader, EmptyHeader, ExtFields, FieldValue, HeaderError};
