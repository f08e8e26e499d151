//! Bounded randomized robustness: arbitrary and mutated bytes fed to every message decoder
//! must give a value or a typed error, never a panic or an unbounded allocation.

use std::net::SocketAddr;

use bytes::Bytes;
use proptest::prelude::*;
use remoting_codec::message::compression::{compress_zlib, inflate_zlib};
use remoting_codec::message::record::encode_records;
use remoting_codec::message::{
    decode_batch, decode_record, decode_records, decompress_body, encode_batch, BatchEntry,
    ClientMessageId, MessageProperties, OffsetMessageId, StoredMessage,
};

fn sample_pull_body() -> Bytes {
    let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let v6: SocketAddr = "[::1]:40000".parse().unwrap();
    let props = MessageProperties::parse(
        "KEYS\u{1}K\u{2}UNIQ_KEY\u{1}7F0000016C265FFD2B27685AF4960000\u{2}TAGS\u{1}TagA",
    );
    let a = StoredMessage {
        topic: "TopicA".into(),
        body: Bytes::from_static(b"hello"),
        born_host: host,
        store_host: host,
        properties: props.clone(),
        ..StoredMessage::default()
    };
    let b = StoredMessage {
        topic: "TopicB".into(),
        body: Bytes::from(compress_zlib(&[7u8; 3000], 5)),
        sys_flag: 0x301,
        born_host: v6,
        store_host: v6,
        properties: props,
        ..StoredMessage::default()
    };
    encode_records([&a, &b]).unwrap()
}

fn sample_batch() -> Bytes {
    encode_batch(&[
        BatchEntry::new(
            1,
            &b"one"[..],
            MessageProperties::parse("UNIQ_KEY\u{1}X\u{2}bidx\u{1}0"),
        ),
        BatchEntry::new(2, &b"two"[..], MessageProperties::parse("UNIQ_KEY\u{1}Y")),
    ])
    .unwrap()
}

fn exercise(bytes: &Bytes) {
    let _ = decode_record(bytes);
    let _ = StoredMessage::decode(bytes);
    for m in decode_records(bytes).flatten() {
        let _ = m.encode();
        let _ = m.uncompressed_body(1 << 16);
        let _ = m.offset_msg_id();
    }
    let _ = decode_batch(bytes);
    let _ = MessageProperties::parse_bytes(bytes);
    let _ = inflate_zlib(bytes, 1 << 16);
    for flag in [1, 0x101, 0x201, 0x301, 0x401, 0x701] {
        let _ = decompress_body(bytes, flag, 1 << 16);
    }
    let text = String::from_utf8_lossy(bytes);
    let _ = text.parse::<OffsetMessageId>();
    let _ = text.parse::<ClientMessageId>();
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, u8),
    SetInt(usize, i32),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(-1),
                Just(i32::MAX),
                Just(i32::MIN),
                Just(0),
                Just(1 << 20),
                any::<i32>()
            ]
        )
            .prop_map(|(i, v)| Mutation::SetInt(i, v)),
    ]
}

fn apply(base: &Bytes, mutations: &[Mutation]) -> Bytes {
    let mut v = base.to_vec();
    for m in mutations {
        if v.is_empty() {
            break;
        }
        match *m {
            Mutation::Flip(i, b) => {
                let i = i % v.len();
                v[i] ^= b;
            }
            Mutation::Truncate(i) => v.truncate(i % v.len()),
            Mutation::Insert(i, b) => {
                let i = i % (v.len() + 1);
                v.insert(i, b);
            }
            Mutation::SetInt(i, x) => {
                // Land on a 4-byte boundary often: most length fields are there.
                let i = (i % v.len()) & !3;
                let end = (i + 4).min(v.len());
                v[i..end].copy_from_slice(&x.to_be_bytes()[..end - i]);
            }
        }
    }
    Bytes::from(v)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        exercise(&Bytes::from(bytes));
    }

    #[test]
    fn mutated_pull_bodies_never_panic(mutations in prop::collection::vec(mutation(), 1..5)) {
        exercise(&apply(&sample_pull_body(), &mutations));
    }

    #[test]
    fn mutated_batches_never_panic(mutations in prop::collection::vec(mutation(), 1..5)) {
        exercise(&apply(&sample_batch(), &mutations));
    }
}

#[test]
fn every_truncation_of_a_pull_body_is_an_error_or_a_prefix() {
    let body = sample_pull_body();
    let first_len = StoredMessage::decode(&body).unwrap().store_size as usize;
    for cut in 0..body.len() {
        let results: Vec<_> = decode_records(&body.slice(..cut)).collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, usize::from(cut >= first_len), "cut {cut}");
        if cut != 0 && cut != first_len {
            assert!(results.last().unwrap().is_err(), "cut {cut}");
        }
    }
}
