//! The properties of a stored record, read in place (Java's `MessageDecoder.decodeProperties`):
//! the filter evaluates SQL92 on them without decoding the record or copying its strings.

use remoting_codec::message::properties::{NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};
use remoting_codec::message::record::MessageVersion;
use remoting_codec::message::sysflag::message_sys_flag::{
    BORNHOST_V6_FLAG, STOREHOSTADDRESS_V6_FLAG,
};

/// The properties string of the record at the start of `record`, or `None` when the record is
/// cut short, has an unknown magic code or non-UTF-8 properties.
pub fn record_properties(record: &[u8]) -> Option<&str> {
    let i32_at = |at: usize| -> Option<i32> {
        Some(i32::from_be_bytes(record.get(at..at + 4)?.try_into().ok()?))
    };
    let version = MessageVersion::from_magic_code(i32_at(4)?)?;
    // TOTALSIZE, MAGICCODE, BODYCRC, QUEUEID, FLAG, QUEUEOFFSET, PHYSICALOFFSET.
    let sys_flag = i32_at(36)?;
    let host = |v6: bool| if v6 { 20 } else { 8 };
    // SYSFLAG, BORNTIMESTAMP, BORNHOST, STORETIMESTAMP, STOREHOST, RECONSUMETIMES,
    // PREPAREDTRANSACTIONOFFSET.
    let body_len_at = 40
        + 8
        + host(sys_flag & BORNHOST_V6_FLAG != 0)
        + 8
        + host(sys_flag & STOREHOSTADDRESS_V6_FLAG != 0)
        + 4
        + 8;
    let body_len = usize::try_from(i32_at(body_len_at)?).ok()?;
    let mut at = body_len_at + 4 + body_len;
    let topic_len = match version {
        MessageVersion::V1 => *record.get(at)? as usize,
        MessageVersion::V2 => u16::from_be_bytes(record.get(at..at + 2)?.try_into().ok()?) as usize,
    };
    at += version.topic_length_size() + topic_len;
    let props_len = i16::from_be_bytes(record.get(at..at + 2)?.try_into().ok()?);
    let props_len = usize::try_from(props_len).ok()?;
    std::str::from_utf8(record.get(at + 2..at + 2 + props_len)?).ok()
}

/// The value of `name` in a properties string, with Java's parsing rules (pairs without a
/// separator, an empty name or an empty value do not count; a later pair wins).
pub fn property<'a>(properties: &'a str, name: &str) -> Option<&'a str> {
    properties
        .split(PROPERTY_SEPARATOR)
        .rev()
        .filter_map(|pair| pair.split_once(NAME_VALUE_SEPARATOR))
        .filter(|(k, v)| !k.is_empty() && *k == name && !v.is_empty())
        .map(|(_, v)| v)
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use remoting_codec::message::{MessageProperties, StoredMessage};

    #[test]
    fn finds_properties_of_v1_and_v2_records() {
        let mut props = MessageProperties::new();
        props.insert("a", "3");
        props.insert("b", "x");
        props.insert("TAGS", "TagA");
        for version in [MessageVersion::V1, MessageVersion::V2] {
            let msg = StoredMessage {
                version,
                topic: "FilterTopic".into(),
                body: Bytes::from_static(b"hello"),
                properties: props.clone(),
                ..StoredMessage::default()
            };
            let record = msg.encode().unwrap();
            let found = record_properties(&record).unwrap();
            assert_eq!(found, props.encode());
            assert_eq!(property(found, "a"), Some("3"));
            assert_eq!(property(found, "TAGS"), Some("TagA"));
            assert_eq!(property(found, "c"), None);
            assert!(record_properties(&record[..record.len() - 3]).is_none());
        }
    }

    #[test]
    fn property_lookup_follows_java_rules() {
        let s = "a\u{1}1\u{2}b\u{1}\u{2}a\u{1}2\u{2}\u{1}z\u{2}c";
        assert_eq!(property(s, "a"), Some("2"));
        assert_eq!(property(s, "b"), None);
        assert_eq!(property(s, ""), None);
        assert_eq!(property(s, "c"), None);
    }
}
