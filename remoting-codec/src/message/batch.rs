//! SEND_BATCH_MESSAGE (320) bodies: messages encoded back to back by the client
//! (`MessageDecoder.encodeMessages`), each entry
//!
//! ```text
//! TOTALSIZE i32 | MAGICCODE i32 (0) | BODYCRC i32 (0) | FLAG i32 | BODYLEN i32 | BODY
//! PROPLEN i16 | PROPERTIES
//! ```
//!
//! Each entry carries its own properties (its `UNIQ_KEY`, keys, tags); topic, queueId, sysFlag
//! and bornTimestamp come from the request header and are shared. What the broker must do when
//! storing a batch (not here): add `CLUSTER`, append the header's batch-level properties (the
//! header `properties`, typically `WAIT=true`) to every entry's properties, reject delay/retry
//! messages in a batch, compute each body CRC, and answer with the comma-separated offsetMsgIds
//! and the first queue offset.
//!
//! The Java broker reads entries field by field and ignores TOTALSIZE; here TOTALSIZE must match
//! the entry's fields, since a mismatch means the rest of the body cannot be trusted.

use bytes::{BufMut, Bytes, BytesMut};

use super::properties::{MessageProperties, MAX_PROPERTIES_LENGTH};
use super::record::StoredMessage;
use super::MessageError;

/// TOTALSIZE + MAGICCODE + BODYCRC + FLAG + BODYLEN + PROPLEN.
const FIXED_LEN: usize = 4 + 4 + 4 + 4 + 4 + 2;

/// One message of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchEntry {
    pub flag: i32,
    /// Shares the request body's memory.
    pub body: Bytes,
    pub properties: MessageProperties,
}

impl BatchEntry {
    pub fn new(flag: i32, body: impl Into<Bytes>, properties: MessageProperties) -> Self {
        Self {
            flag,
            body: body.into(),
            properties,
        }
    }

    /// The size of this entry once encoded.
    pub fn encoded_len(&self) -> usize {
        FIXED_LEN + self.body.len() + self.properties.encoded_len()
    }

    /// Appends this entry as Java's `encodeMessage` writes it (magic and CRC 0).
    pub fn encode_into(&self, out: &mut BytesMut) -> Result<(), MessageError> {
        let props = self.properties.encode();
        if props.len() > MAX_PROPERTIES_LENGTH {
            return Err(MessageError::TooLong {
                field: "PROPERTIES",
                len: props.len(),
                max: MAX_PROPERTIES_LENGTH,
            });
        }
        let size = FIXED_LEN + self.body.len() + props.len();
        if size > i32::MAX as usize {
            return Err(MessageError::TooLong {
                field: "batch entry",
                len: size,
                max: i32::MAX as usize,
            });
        }
        out.reserve(size);
        out.put_i32(size as i32);
        out.put_i32(0);
        out.put_i32(0);
        out.put_i32(self.flag);
        out.put_i32(self.body.len() as i32);
        out.put_slice(&self.body);
        out.put_i16(props.len() as i16);
        out.put_slice(props.as_bytes());
        Ok(())
    }
}

/// Encodes a batch body.
pub fn encode_batch<'a>(
    entries: impl IntoIterator<Item = &'a BatchEntry>,
) -> Result<Bytes, MessageError> {
    let mut out = BytesMut::new();
    for entry in entries {
        entry.encode_into(&mut out)?;
    }
    Ok(out.freeze())
}

/// Decodes a whole batch body; the first bad entry fails the batch.
pub fn decode_batch(body: &Bytes) -> Result<Vec<BatchEntry>, MessageError> {
    BatchEntries::new(body).collect()
}

/// Iterator over the entries of a batch body; stops after the first error.
#[derive(Clone, Debug)]
pub struct BatchEntries {
    buf: Bytes,
    failed: bool,
}

impl BatchEntries {
    pub fn new(body: &Bytes) -> Self {
        Self {
            buf: body.clone(),
            failed: false,
        }
    }

    fn decode_one(&mut self) -> Result<BatchEntry, MessageError> {
        let buf = &self.buf;
        let truncated = |field, needed, available| MessageError::Truncated {
            field,
            needed,
            available,
        };
        if buf.len() < FIXED_LEN - 2 {
            return Err(truncated("batch entry header", FIXED_LEN - 2, buf.len()));
        }
        let int_at =
            |pos: usize| i32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
        let total = int_at(0);
        let flag = int_at(12);
        let body_len = int_at(16);
        let body_len = usize::try_from(body_len).map_err(|_| MessageError::NegativeLength {
            field: "BODYLEN",
            value: body_len as i64,
        })?;
        let body_start = FIXED_LEN - 2;
        let available = buf.len() - body_start;
        if body_len > available || available - body_len < 2 {
            return Err(truncated("BODY", body_len + 2, available));
        }
        let props_pos = body_start + body_len;
        let prop_len = i16::from_be_bytes([buf[props_pos], buf[props_pos + 1]]);
        let prop_len = usize::try_from(prop_len).map_err(|_| MessageError::NegativeLength {
            field: "PROPERTIESLENGTH",
            value: prop_len as i64,
        })?;
        let props_start = props_pos + 2;
        let end = props_start + prop_len;
        if end > buf.len() {
            return Err(truncated("PROPERTIES", prop_len, buf.len() - props_start));
        }
        if i64::from(total) != end as i64 {
            return Err(MessageError::SizeMismatch {
                declared: total as i64,
                actual: end,
            });
        }
        let properties = MessageProperties::parse_bytes(&buf[props_start..end])
            .ok_or(MessageError::InvalidUtf8("PROPERTIES"))?;
        let body = buf.slice(body_start..props_pos);
        let _ = self.buf.split_to(end);
        Ok(BatchEntry {
            flag,
            body,
            properties,
        })
    }
}

impl Iterator for BatchEntries {
    type Item = Result<BatchEntry, MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.buf.is_empty() {
            return None;
        }
        let result = self.decode_one();
        self.failed = result.is_err();
        Some(result)
    }
}

/// 5.x inner batch (`INNER_BATCH_FLAG` / `NEED_UNWRAP_FLAG`): one commitlog record whose body is a
/// batch body. Splits it into the messages a 5.x consumer sees (Java's
/// `MessageDecoder.decodeMessage(MessageExt, List)`): each entry's flag, body and properties, the
/// record's hosts, timestamps, sysFlag and commitlog offset, and queue offsets counting up from
/// the record's. The 4.9.8 broker never writes such records.
pub fn unwrap_inner_batch(record: &StoredMessage) -> Result<Vec<StoredMessage>, MessageError> {
    BatchEntries::new(&record.body)
        .enumerate()
        .map(|(i, entry)| {
            let entry = entry?;
            Ok(StoredMessage {
                queue_offset: record.queue_offset.wrapping_add(i as i64),
                flag: entry.flag,
                body: entry.body,
                properties: entry.properties,
                ..record.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncation() {
        let entries = vec![
            BatchEntry::new(
                0,
                &b"one"[..],
                MessageProperties::parse("UNIQ_KEY\u{1}A\u{2}TAGS\u{1}t"),
            ),
            BatchEntry::new(7, Bytes::new(), MessageProperties::new()),
        ];
        let body = encode_batch(&entries).unwrap();
        assert_eq!(
            body.len(),
            entries.iter().map(BatchEntry::encoded_len).sum::<usize>()
        );
        assert_eq!(decode_batch(&body).unwrap(), entries);
        for cut in 0..body.len() {
            if cut != entries[0].encoded_len() && cut != 0 {
                assert!(decode_batch(&body.slice(..cut)).is_err(), "cut {cut}");
            }
        }
    }
}
