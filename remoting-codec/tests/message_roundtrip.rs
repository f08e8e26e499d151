//! Property tests: properties, records and batches survive encode → decode, and the properties
//! parser agrees with a direct model of Java's `string2messageProperties`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use proptest::prelude::*;
use remoting_codec::message::compression::compress_zlib;
use remoting_codec::message::record::encode_records;
use remoting_codec::message::{
    decode_batch, decode_record, decode_records, encode_batch, BatchEntry, MessageProperties,
    MessageVersion, Record, StoredMessage,
};

fn text(max: usize) -> impl Strategy<Value = String> {
    // Printable text with some non-ASCII, never a separator.
    proptest::string::string_regex(&format!("[a-zA-Z0-9_ #%.é中]{{1,{max}}}")).unwrap()
}

fn properties() -> impl Strategy<Value = MessageProperties> {
    (
        prop::collection::vec((text(12), text(24)), 0..8),
        any::<bool>(),
    )
        .prop_map(|(pairs, trailing)| {
            let mut s = String::new();
            for (k, v) in &pairs {
                s.push_str(k);
                s.push('\u{1}');
                s.push_str(v);
                s.push('\u{2}');
            }
            if !trailing {
                s.pop();
            }
            MessageProperties::parse(&s)
        })
}

fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

prop_compose! {
    fn stored_message()(
        v2 in any::<bool>(),
        queue_id in any::<i32>(),
        flag in any::<i32>(),
        queue_offset in any::<i64>(),
        commit_log_offset in any::<i64>(),
        sys_flag in any::<i32>(),
        compressed in any::<bool>(),
        born_timestamp in any::<i64>(),
        born_host in socket_addr(),
        store_timestamp in any::<i64>(),
        store_host in socket_addr(),
        reconsume_times in any::<i32>(),
        prepared_transaction_offset in any::<i64>(),
        payload in prop::collection::vec(any::<u8>(), 0..600),
        topic in proptest::string::string_regex("[A-Za-z0-9%_-]{0,200}").unwrap(),
        properties in properties(),
    ) -> StoredMessage {
        let (body, sys_flag) = if compressed {
            (Bytes::from(compress_zlib(&payload, 5)), (sys_flag & !0x701) | 0x301)
        } else {
            (Bytes::from(payload), sys_flag & !0x1)
        };
        StoredMessage {
            version: if v2 { MessageVersion::V2 } else { MessageVersion::V1 },
            queue_id, flag, queue_offset, commit_log_offset, sys_flag, born_timestamp, born_host,
            store_timestamp, store_host, reconsume_times, prepared_transaction_offset, body, topic,
            properties,
            ..StoredMessage::default()
        }
    }
}

/// What decoding the encoding of `m` must give: the computed fields filled in.
fn normalized(m: &StoredMessage) -> StoredMessage {
    StoredMessage {
        store_size: m.encoded_len() as i32,
        version: m.effective_version(),
        body_crc: m.compute_body_crc(),
        sys_flag: m.effective_sys_flag(),
        ..m.clone()
    }
}

/// Java's parser, transcribed as a model: indexes over chars, a HashMap, later keys win.
fn java_model(s: &str) -> HashMap<String, String> {
    let chars: Vec<char> = s.chars().collect();
    let index_of =
        |c: char, from: usize| chars[from..].iter().position(|&x| x == c).map(|p| p + from);
    let mut map = HashMap::new();
    let len = chars.len();
    let mut index = 0;
    while index < len {
        let new_index = index_of('\u{2}', index).unwrap_or(len);
        if new_index - index >= 3 {
            if let Some(kv) = index_of('\u{1}', index) {
                if kv > index && kv + 1 < new_index {
                    map.insert(
                        chars[index..kv].iter().collect(),
                        chars[kv + 1..new_index].iter().collect(),
                    );
                }
            }
        }
        index = new_index + 1;
    }
    map
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn properties_round_trip(p in properties()) {
        let s = p.encode();
        prop_assert_eq!(s.len(), p.encoded_len());
        let again = MessageProperties::parse(&s);
        prop_assert_eq!(&again, &p);
        prop_assert_eq!(again.encode(), s);
    }

    #[test]
    fn properties_parse_like_java(s in "[ab\u{1}\u{2}é]{0,24}") {
        let ours = MessageProperties::parse(&s);
        let model = java_model(&s);
        let keys: std::collections::HashSet<&str> = ours.iter().map(|(k, _)| k).collect();
        prop_assert_eq!(keys.len(), model.len());
        for (k, v) in &model {
            prop_assert_eq!(ours.get(k), Some(v.as_str()));
        }
    }

    #[test]
    fn records_round_trip(msgs in prop::collection::vec(stored_message(), 1..4)) {
        let body = encode_records(&msgs).unwrap();
        let decoded: Vec<StoredMessage> = decode_records(&body).collect::<Result<_, _>>().unwrap();
        let expected: Vec<StoredMessage> = msgs.iter().map(normalized).collect();
        prop_assert_eq!(&decoded, &expected);
        for (m, original) in decoded.iter().zip(&msgs) {
            prop_assert_eq!(m.encode().unwrap(), original.encode().unwrap());
            if m.sys_flag & 1 != 0 {
                let inflated = m.uncompressed_body(1 << 20).unwrap();
                prop_assert_eq!(compress_zlib(&inflated, 5), m.body.to_vec());
            }
        }
        match decode_record(&body).unwrap() {
            Record::Message(m) => prop_assert_eq!(&m, &expected[0]),
            Record::Blank { .. } => prop_assert!(false),
        }
    }

    #[test]
    fn batches_round_trip(entries in prop::collection::vec(
        (any::<i32>(), prop::collection::vec(any::<u8>(), 0..300), properties())
            .prop_map(|(flag, body, props)| BatchEntry::new(flag, body, props)),
        0..6,
    )) {
        let body = encode_batch(&entries).unwrap();
        prop_assert_eq!(decode_batch(&body).unwrap(), entries);
    }
}

#[test]
fn long_topics_switch_to_v2_and_v1_limits_hold() {
    let mut m = StoredMessage {
        topic: "t".repeat(127),
        ..StoredMessage::default()
    };
    assert_eq!(m.effective_version(), MessageVersion::V1);
    m.topic.push('x');
    let bytes = m.encode().unwrap();
    assert_eq!(
        i32::from_be_bytes(bytes[4..8].try_into().unwrap()),
        MessageVersion::V2.magic_code()
    );
    assert_eq!(StoredMessage::decode(&bytes).unwrap().topic.len(), 128);
    // A v1 record whose topic length byte reads negative is refused, as Java fails on it.
    m.topic.truncate(10);
    let mut raw = m.encode().unwrap().to_vec();
    raw[88] = 0x80;
    assert!(StoredMessage::decode(&Bytes::from(raw)).is_err());
}

#[test]
fn blank_records_are_reported() {
    let mut raw = vec![0u8; 64];
    raw[..4].copy_from_slice(&578i32.to_be_bytes());
    raw[4..8].copy_from_slice(&(-875286124i32).to_be_bytes());
    let raw = Bytes::from(raw);
    assert_eq!(
        decode_record(&raw).unwrap(),
        Record::Blank { total_size: 578 }
    );
    assert!(StoredMessage::decode(&raw).is_err());
    let items: Vec<_> = decode_records(&raw).collect();
    assert_eq!(items.len(), 1);
    assert!(items[0].is_err());
}

#[test]
fn inner_batches_unwrap_into_messages() {
    let entries = [
        BatchEntry::new(1, &b"a"[..], MessageProperties::parse("UNIQ_KEY\u{1}A")),
        BatchEntry::new(2, &b"b"[..], MessageProperties::parse("UNIQ_KEY\u{1}B")),
    ];
    let record = StoredMessage {
        topic: "T".into(),
        queue_offset: 10,
        sys_flag: 0x80,
        body: encode_batch(&entries).unwrap(),
        ..StoredMessage::default()
    };
    let inner = remoting_codec::message::unwrap_inner_batch(&record).unwrap();
    assert_eq!(inner.len(), 2);
    assert_eq!((inner[1].queue_offset, inner[1].flag), (11, 2));
    assert_eq!(inner[1].properties.uniq_key(), Some("B"));
    assert_eq!(&inner[0].body[..], b"a");
}
