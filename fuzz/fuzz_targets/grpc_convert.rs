//! Arbitrary bytes as the protobuf of a gRPC SendMessageRequest and TelemetryCommand, through
//! the conversion layer of the broker's gRPC endpoint (`grpc::convert`): the proxy's checks and
//! the property building of every message must answer a status or a message, never panic; and
//! the same bytes as a stored record, converted to what a 5.x client receives.
#![no_main]

use bytes::Bytes;
use grpc::convert::{build_message, message_type_of, to_proto_message, SendLimits};
use grpc::v2::{SendMessageRequest, TelemetryCommand};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use remoting_codec::message::decode_records;

fuzz_target!(|data: &[u8]| {
    let limits = SendLimits::default();
    if let Ok(req) = SendMessageRequest::decode(data) {
        for m in &req.messages {
            // The broker checks the topic name first (`GrpcValidator.validateTopic`).
            let topic = m.topic.as_ref().map_or("", |t| t.name.as_str());
            if topic.is_empty()
                || !topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"%|_-".contains(&b))
            {
                continue;
            }
            if let Ok(out) = build_message(m, &limits, "127.0.0.1:1", 1_700_000_000_000) {
                let _ = message_type_of(&out.properties);
                // What is stored must read back as one property string.
                let encoded = out.properties.encode();
                assert_eq!(
                    remoting_codec::message::MessageProperties::parse(&encoded).len(),
                    out.properties.len()
                );
            }
        }
    }
    let _ = TelemetryCommand::decode(data);
    let bytes = Bytes::copy_from_slice(data);
    for msg in decode_records(&bytes).flatten() {
        let proto = to_proto_message(&msg, &msg.topic, None);
        let _ = proto.encode_to_vec();
    }
});
