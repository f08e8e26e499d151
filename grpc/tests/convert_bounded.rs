//! A bounded run of the `grpc_convert` fuzz target's property in every test run: arbitrary
//! bytes as a SendMessageRequest and as stored records never make the conversion layer panic,
//! and every converted message's properties read back whole.

use bytes::Bytes;
use grpc::convert::{build_message, to_proto_message, SendLimits};
use grpc::v2::{Message, Resource, SendMessageRequest, SystemProperties};
use proptest::prelude::*;
use prost::Message as _;
use remoting_codec::message::{decode_records, MessageProperties};

fn check(data: &[u8]) {
    if let Ok(req) = SendMessageRequest::decode(data) {
        for m in &req.messages {
            let topic = m.topic.as_ref().map_or("", |t| t.name.as_str());
            if topic.is_empty()
                || !topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b))
            {
                continue;
            }
            if let Ok(out) = build_message(m, &SendLimits::default(), "127.0.0.1:1", 0) {
                let encoded = out.properties.encode();
                assert_eq!(
                    MessageProperties::parse(&encoded).len(),
                    out.properties.len()
                );
            }
        }
    }
    for msg in decode_records(&Bytes::copy_from_slice(data)).flatten() {
        let _ = to_proto_message(&msg, &msg.topic, None).encode_to_vec();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&data);
    }

    /// Well-formed requests with arbitrary strings where the client puts text.
    #[test]
    fn arbitrary_text(topic in "[a-zA-Z0-9_%|-]{1,20}", tag in ".{0,8}", key in ".{0,8}",
                      group in ".{0,8}", id in ".{0,8}", k in ".{0,6}", v in ".{0,6}") {
        let m = Message {
            topic: Some(Resource { resource_namespace: String::new(), name: topic }),
            user_properties: [(k, v)].into(),
            system_properties: Some(SystemProperties {
                tag: Some(tag),
                keys: vec![key],
                message_id: id,
                message_group: Some(group),
                ..Default::default()
            }),
            body: Bytes::from_static(b"b"),
        };
        check(&SendMessageRequest { messages: vec![m] }.encode_to_vec());
    }
}
