//! The commitlog record: what the store appends and what PULL_MESSAGE, QUERY_MESSAGE and
//! VIEW_MESSAGE_BY_ID return (records concatenated byte for byte), and what the broker re-encodes
//! for CHECK_TRANSACTION_STATE and CONSUME_MESSAGE_DIRECTLY.
//!
//! ```text
//! TOTALSIZE i32 | MAGICCODE i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64
//! PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST (4|16 ip + i32 port)
//! STORETIMESTAMP i64 | STOREHOST (4|16 ip + i32 port) | RECONSUMETIMES i32
//! PREPAREDTRANSACTIONOFFSET i64 | BODYLEN i32 | BODY | TOPICLEN (i8 v1 | i16 v2) | TOPIC
//! PROPLEN i16 | PROPERTIES
//! ```
//!
//! sysFlag bit 4 (born host) and bit 5 (store host) select 16-byte IPv6 addresses. The v2 magic
//! (5.x, written only for topics longer than 127 bytes) widens the topic length to 2 bytes; 4.x
//! clients cannot read it. A BLANK record (magic only, TOTALSIZE = rest of the file) pads the end
//! of a commitlog file; [`decode_record`] reports it as [`Record::Blank`].
//!
//! Java's reader ignores TOTALSIZE and reads field by field; here a record whose fields do not
//! add up to its TOTALSIZE is an error, since it would desynchronise every following record.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::compression::decompress_body;
use super::hash::crc32;
use super::ids::OffsetMessageId;
use super::properties::{MessageProperties, MAX_PROPERTIES_LENGTH};
use super::sysflag::message_sys_flag::{BORNHOST_V6_FLAG, STOREHOSTADDRESS_V6_FLAG};
use super::MessageError;

/// Magic of a v1 record (`0xDAA320A7`).
pub const MESSAGE_MAGIC_CODE: i32 = -626843481;
/// Magic of a v2 record (`0xDAA320AB`, 5.x): 2-byte topic length.
pub const MESSAGE_MAGIC_CODE_V2: i32 = -626843477;
/// Magic of the end-of-file filler (`0xCBD43194`).
pub const BLANK_MAGIC_CODE: i32 = -875286124;

/// Offset of SYSFLAG, QUEUEOFFSET and PHYSICALOFFSET in every record (the store patches or
/// peeks them without decoding).
pub const SYSFLAG_POSITION: usize = 36;
pub const QUEUE_OFFSET_POSITION: usize = 20;
pub const PHY_POS_POSITION: usize = 28;

/// The longest topic a v1 record can hold: its length is a signed byte.
pub const MAX_TOPIC_LENGTH_V1: usize = i8::MAX as usize;

/// Record format version, told apart by the magic code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MessageVersion {
    #[default]
    V1,
    V2,
}

impl MessageVersion {
    pub fn magic_code(self) -> i32 {
        match self {
            MessageVersion::V1 => MESSAGE_MAGIC_CODE,
            MessageVersion::V2 => MESSAGE_MAGIC_CODE_V2,
        }
    }

    pub fn from_magic_code(magic: i32) -> Option<Self> {
        match magic {
            MESSAGE_MAGIC_CODE => Some(MessageVersion::V1),
            MESSAGE_MAGIC_CODE_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }

    pub fn topic_length_size(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }
}

/// Java's `CommitLog.calMsgLength` / `MessageExtEncoder.calMsgLength`: the TOTALSIZE of a record.
pub fn cal_msg_length(
    version: MessageVersion,
    sys_flag: i32,
    body_length: usize,
    topic_length: usize,
    properties_length: usize,
) -> usize {
    let born_host = if sys_flag & BORNHOST_V6_FLAG == 0 {
        8
    } else {
        20
    };
    let store_host = if sys_flag & STOREHOSTADDRESS_V6_FLAG == 0 {
        8
    } else {
        20
    };
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + born_host
        + 8
        + store_host
        + 4
        + 8
        + 4
        + body_length
        + version.topic_length_size()
        + topic_length
        + 2
        + properties_length
}

/// One commitlog record (Java's `MessageExt` as the store holds it). The body is kept as stored:
/// still compressed when sysFlag says so (see [`StoredMessage::uncompressed_body`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// TOTALSIZE as decoded; [`encode`](Self::encode) writes the recomputed size.
    pub store_size: i32,
    pub version: MessageVersion,
    /// BODYCRC as decoded; [`encode`](Self::encode) writes the CRC of `body`.
    pub body_crc: i32,
    pub queue_id: i32,
    /// The producer's `flag`.
    pub flag: i32,
    pub queue_offset: i64,
    /// PHYSICALOFFSET: this record's own commitlog offset.
    pub commit_log_offset: i64,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: SocketAddr,
    pub store_timestamp: i64,
    pub store_host: SocketAddr,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
    pub body: Bytes,
    pub topic: String,
    pub properties: MessageProperties,
}

impl Default for StoredMessage {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        Self {
            store_size: 0,
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: Bytes::new(),
            topic: String::new(),
            properties: MessageProperties::new(),
        }
    }
}

/// What a position in the commitlog holds.
// Boxing the message would cost an allocation per record for a value that is matched at once.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Message(StoredMessage),
    /// End-of-file filler; `total_size` is the rest of the file, to be skipped.
    Blank {
        total_size: i32,
    },
}

/// Decodes the record at the start of `buf` (which may continue with further records). The body
/// shares `buf`'s memory.
pub fn decode_record(buf: &Bytes) -> Result<Record, MessageError> {
    let mut r = Reader { buf, pos: 0 };
    let store_size = r.i32("TOTALSIZE")?;
    let magic = r.i32("MAGICCODE")?;
    if magic == BLANK_MAGIC_CODE {
        return Ok(Record::Blank {
            total_size: store_size,
        });
    }
    let version = MessageVersion::from_magic_code(magic).ok_or(MessageError::BadMagic(magic))?;
    if store_size < 0 {
        return Err(MessageError::NegativeLength {
            field: "TOTALSIZE",
            value: store_size as i64,
        });
    }
    let body_crc = r.i32("BODYCRC")?;
    let queue_id = r.i32("QUEUEID")?;
    let flag = r.i32("FLAG")?;
    let queue_offset = r.i64("QUEUEOFFSET")?;
    let commit_log_offset = r.i64("PHYSICALOFFSET")?;
    let sys_flag = r.i32("SYSFLAG")?;
    let born_timestamp = r.i64("BORNTIMESTAMP")?;
    let born_host = r.host("BORNHOST", sys_flag & BORNHOST_V6_FLAG != 0)?;
    let store_timestamp = r.i64("STORETIMESTAMP")?;
    let store_host = r.host("STOREHOSTADDRESS", sys_flag & STOREHOSTADDRESS_V6_FLAG != 0)?;
    let reconsume_times = r.i32("RECONSUMETIMES")?;
    let prepared_transaction_offset = r.i64("PREPAREDTRANSACTIONOFFSET")?;
    let body_len = r.len_i32("BODYLENGTH")?;
    let body = r.slice("BODY", body_len)?;
    let topic_len = match version {
        MessageVersion::V1 => r.take::<1>("TOPICLENGTH")?[0] as i8 as i64,
        MessageVersion::V2 => i16::from_be_bytes(r.take::<2>("TOPICLENGTH")?) as i64,
    };
    let topic_len = non_negative("TOPICLENGTH", topic_len)?;
    let topic = r.slice("TOPIC", topic_len)?;
    let topic =
        String::from_utf8(topic.to_vec()).map_err(|_| MessageError::InvalidUtf8("TOPIC"))?;
    let prop_len = i16::from_be_bytes(r.take::<2>("PROPERTIESLENGTH")?) as i64;
    let prop_len = non_negative("PROPERTIESLENGTH", prop_len)?;
    let props = r.slice("PROPERTIES", prop_len)?;
    let properties =
        MessageProperties::parse_bytes(&props).ok_or(MessageError::InvalidUtf8("PROPERTIES"))?;
    if r.pos != store_size as usize {
        return Err(MessageError::SizeMismatch {
            declared: store_size as i64,
            actual: r.pos,
        });
    }
    Ok(Record::Message(StoredMessage {
        store_size,
        version,
        body_crc,
        queue_id,
        flag,
        queue_offset,
        commit_log_offset,
        sys_flag,
        born_timestamp,
        born_host,
        store_timestamp,
        store_host,
        reconsume_times,
        prepared_transaction_offset,
        body,
        topic,
        properties,
    }))
}

/// Iterates over the messages of a concatenation of records (a PULL_MESSAGE or QUERY_MESSAGE
/// response body). Each body is a zero-copy slice of `body`.
pub fn decode_records(body: &Bytes) -> RecordIter {
    RecordIter {
        buf: body.clone(),
        failed: false,
    }
}

/// Iterator of [`decode_records`]. A BLANK record or a decoding error is yielded as an error and
/// ends the iteration (Java's client also stops at the first record it cannot read).
#[derive(Clone, Debug)]
pub struct RecordIter {
    buf: Bytes,
    failed: bool,
}

impl RecordIter {
    /// The bytes not consumed yet.
    pub fn remaining(&self) -> &Bytes {
        &self.buf
    }
}

impl Iterator for RecordIter {
    type Item = Result<StoredMessage, MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let result = match decode_record(&self.buf) {
            Ok(Record::Message(msg)) => {
                let _ = self.buf.split_to(msg.store_size as usize);
                return Some(Ok(msg));
            }
            Ok(Record::Blank { .. }) => Err(MessageError::UnexpectedBlank),
            Err(e) => Err(e),
        };
        self.failed = true;
        Some(result)
    }
}

impl StoredMessage {
    /// Decodes one message record at the start of `buf`; a BLANK record is an error here.
    pub fn decode(buf: &Bytes) -> Result<Self, MessageError> {
        match decode_record(buf)? {
            Record::Message(msg) => Ok(msg),
            Record::Blank { .. } => Err(MessageError::UnexpectedBlank),
        }
    }

    /// The sysFlag written by [`encode`](Self::encode): bits 4 and 5 follow the actual address
    /// families of `born_host` and `store_host` (as the Java broker sets them from the addresses).
    pub fn effective_sys_flag(&self) -> i32 {
        let mut flag = self.sys_flag & !(BORNHOST_V6_FLAG | STOREHOSTADDRESS_V6_FLAG);
        if self.born_host.is_ipv6() {
            flag |= BORNHOST_V6_FLAG;
        }
        if self.store_host.is_ipv6() {
            flag |= STOREHOSTADDRESS_V6_FLAG;
        }
        flag
    }

    /// The version [`encode`](Self::encode) writes: v2 when asked for or when the topic does not
    /// fit a v1 record.
    pub fn effective_version(&self) -> MessageVersion {
        if self.topic.len() > MAX_TOPIC_LENGTH_V1 {
            MessageVersion::V2
        } else {
            self.version
        }
    }

    /// The TOTALSIZE [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        cal_msg_length(
            self.effective_version(),
            self.effective_sys_flag(),
            self.body.len(),
            self.topic.len(),
            self.properties.encoded_len(),
        )
    }

    /// Java's body CRC of the body as stored.
    pub fn compute_body_crc(&self) -> i32 {
        crc32(&self.body)
    }

    /// The offsetMsgId of this record: store host + commitlog offset.
    pub fn offset_msg_id(&self) -> String {
        OffsetMessageId::new(self.store_host, self.commit_log_offset).to_string()
    }

    /// The client msgId (`UNIQ_KEY`), falling back to the offsetMsgId as Java's
    /// `MessageClientExt.getMsgId` does.
    pub fn msg_id(&self) -> String {
        self.properties
            .uniq_key()
            .map(str::to_owned)
            .unwrap_or_else(|| self.offset_msg_id())
    }

    pub fn tags(&self) -> Option<&str> {
        self.properties.tags()
    }

    /// The body inflated when sysFlag marks it compressed, limited to `max_size` bytes.
    pub fn uncompressed_body(&self, max_size: usize) -> Result<Bytes, MessageError> {
        decompress_body(&self.body, self.sys_flag, max_size)
    }

    /// Appends the record, with TOTALSIZE and BODYCRC computed from the fields.
    pub fn encode_into(&self, out: &mut BytesMut) -> Result<usize, MessageError> {
        let props = self.properties.encode();
        if props.len() > MAX_PROPERTIES_LENGTH {
            return Err(too_long("PROPERTIES", props.len(), MAX_PROPERTIES_LENGTH));
        }
        let version = self.effective_version();
        let max_topic = match version {
            MessageVersion::V1 => MAX_TOPIC_LENGTH_V1,
            MessageVersion::V2 => i16::MAX as usize,
        };
        if self.topic.len() > max_topic {
            return Err(too_long("TOPIC", self.topic.len(), max_topic));
        }
        let sys_flag = self.effective_sys_flag();
        let size = cal_msg_length(
            version,
            sys_flag,
            self.body.len(),
            self.topic.len(),
            props.len(),
        );
        if size > i32::MAX as usize {
            return Err(too_long("record", size, i32::MAX as usize));
        }
        out.reserve(size);
        out.put_i32(size as i32);
        out.put_i32(version.magic_code());
        out.put_i32(self.compute_body_crc());
        out.put_i32(self.queue_id);
        out.put_i32(self.flag);
        out.put_i64(self.queue_offset);
        out.put_i64(self.commit_log_offset);
        out.put_i32(sys_flag);
        out.put_i64(self.born_timestamp);
        put_host(out, &self.born_host);
        out.put_i64(self.store_timestamp);
        put_host(out, &self.store_host);
        out.put_i32(self.reconsume_times);
        out.put_i64(self.prepared_transaction_offset);
        out.put_i32(self.body.len() as i32);
        out.put_slice(&self.body);
        match version {
            MessageVersion::V1 => out.put_u8(self.topic.len() as u8),
            MessageVersion::V2 => out.put_u16(self.topic.len() as u16),
        }
        out.put_slice(self.topic.as_bytes());
        out.put_u16(props.len() as u16);
        out.put_slice(props.as_bytes());
        Ok(size)
    }

    /// The record as bytes (see [`encode_into`](Self::encode_into)).
    pub fn encode(&self) -> Result<Bytes, MessageError> {
        let mut out = BytesMut::new();
        self.encode_into(&mut out)?;
        Ok(out.freeze())
    }
}

/// Encodes messages back to back, as a pull response body.
pub fn encode_records<'a>(
    messages: impl IntoIterator<Item = &'a StoredMessage>,
) -> Result<Bytes, MessageError> {
    let mut out = BytesMut::new();
    for msg in messages {
        msg.encode_into(&mut out)?;
    }
    Ok(out.freeze())
}

fn put_host(out: &mut BytesMut, addr: &SocketAddr) {
    match addr.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(addr.port() as i32);
}

fn too_long(field: &'static str, len: usize, max: usize) -> MessageError {
    MessageError::TooLong { field, len, max }
}

fn non_negative(field: &'static str, value: i64) -> Result<usize, MessageError> {
    usize::try_from(value).map_err(|_| MessageError::NegativeLength { field, value })
}

/// A bounds-checked big-endian reader over a shared buffer.
struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], MessageError> {
        let bytes = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(MessageError::Truncated {
                field,
                needed: N,
                available: self.buf.len().saturating_sub(self.pos),
            })?;
        self.pos += N;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn i32(&mut self, field: &'static str) -> Result<i32, MessageError> {
        self.take::<4>(field).map(i32::from_be_bytes)
    }

    fn i64(&mut self, field: &'static str) -> Result<i64, MessageError> {
        self.take::<8>(field).map(i64::from_be_bytes)
    }

    fn len_i32(&mut self, field: &'static str) -> Result<usize, MessageError> {
        let v = self.i32(field)?;
        non_negative(field, v as i64)
    }

    fn slice(&mut self, field: &'static str, len: usize) -> Result<Bytes, MessageError> {
        let available = self.buf.len().saturating_sub(self.pos);
        if len > available {
            return Err(MessageError::Truncated {
                field,
                needed: len,
                available,
            });
        }
        let out = self.buf.slice(self.pos..self.pos + len);
        self.pos += len;
        Ok(out)
    }

    fn host(&mut self, field: &'static str, v6: bool) -> Result<SocketAddr, MessageError> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.take::<16>(field)?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.take::<4>(field)?))
        };
        let port = self.i32(field)?;
        let port = u16::try_from(port).map_err(|_| MessageError::InvalidPort(port))?;
        Ok(SocketAddr::new(ip, port))
    }
}
