//! A stored message as a 5.x client receives it (the proxy's `GrpcConverter.buildMessage`),
//! and the 5.x message type its properties make (`TopicMessageType.parseFromMessageProperty`).
//! User properties are the stored ones minus every name the broker or the 5.x protocol reserves;
//! tag, keys, the client's message id (`UNIQ_KEY`, else the offset id), the message group, the
//! trace context, the delivery time and the born host become system properties; the body's
//! digest is its MD5 as 32 upper-case hex digits (`BinaryUtil.generateMd5`, digest type MD5),
//! which every 5.x client checks: npm `rocketmq-client-nodejs` 1.0.8 compares a CRC32 digest
//! with the decimal CRC, so an upper-case-hex CRC32 marks every message corrupted and its
//! PushConsumer discards them all (to the DLQ after the retries).

use remoting_codec::message::message_const::*;
use remoting_codec::message::sysflag::message_sys_flag::COMPRESSED_FLAG;
use remoting_codec::message::{MessageProperties, StoredMessage};

use md5::{Digest, Md5};

use crate::convert::timestamp_of_millis;
use crate::v2::{self, Encoding, MessageType};

/// `TopicMessageType.parseFromMessageProperty`: the type the properties make of a message.
pub fn message_type_of(props: &MessageProperties) -> MessageType {
    if props
        .get(PROPERTY_TRANSACTION_PREPARED)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        MessageType::Transaction
    } else if props.contains_key(PROPERTY_DELAY_TIME_LEVEL)
        || props.contains_key(PROPERTY_TIMER_DELIVER_MS)
        || props.contains_key(PROPERTY_TIMER_DELAY_SEC)
        || props.contains_key(PROPERTY_TIMER_DELAY_MS)
    {
        MessageType::Delay
    } else if props.contains_key(PROPERTY_SHARDING_KEY) {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}

/// The properties a 5.x client sees as system properties, not user properties
/// (`GrpcConverter.buildUserAttributes` leaves out every reserved name and the 5.x ones).
fn is_system_property(name: &str) -> bool {
    RESERVED_KEYS.contains(&name)
        || matches!(
            name,
            PROPERTY_SHARDING_KEY
                | PROPERTY_TRACE_CONTEXT
                | PROPERTY_BORN_HOST
                | PROPERTY_BORN_TIMESTAMP
                | PROPERTY_TIMER_DELIVER_MS
                | PROPERTY_TIMER_DELAY_SEC
                | PROPERTY_TIMER_DELAY_MS
                | PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS
                | PROPERTY_CLUSTER
                | PROPERTY_TRANSACTION_CHECK_TIMES
        )
}

/// `GrpcConverter.buildMessage`: a stored message as a 5.x client receives it. `topic` is the
/// name the client asked for (a retry message's real topic), `receipt_handle` is set for POP.
pub fn to_proto_message(
    msg: &StoredMessage,
    topic: &str,
    receipt_handle: Option<String>,
) -> v2::Message {
    let props = &msg.properties;
    let user_properties = props
        .iter()
        .filter(|(k, _)| !is_system_property(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let keys = props
        .keys()
        .map(|k| {
            k.split(KEY_SEPARATOR)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let delivery_timestamp = props
        .get(PROPERTY_TIMER_DELIVER_MS)
        .and_then(|v| v.parse::<i64>().ok())
        .map(timestamp_of_millis);
    let born_host = props
        .get(PROPERTY_BORN_HOST)
        .map(str::to_owned)
        .unwrap_or_else(|| msg.born_host.to_string());
    let sys = v2::SystemProperties {
        tag: props.tags().map(str::to_owned),
        keys,
        message_id: msg.msg_id(),
        body_digest: Some(v2::Digest {
            r#type: v2::DigestType::Md5 as i32,
            checksum: md5_upper_hex(&msg.body),
        }),
        body_encoding: if msg.sys_flag & COMPRESSED_FLAG != 0 {
            Encoding::Gzip as i32
        } else {
            Encoding::Identity as i32
        },
        message_type: message_type_of(props) as i32,
        born_timestamp: Some(timestamp_of_millis(msg.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp_of_millis(msg.store_timestamp)),
        store_host: msg.store_host.to_string(),
        delivery_timestamp,
        receipt_handle,
        queue_id: msg.queue_id,
        queue_offset: Some(msg.queue_offset),
        invisible_duration: None,
        delivery_attempt: Some(msg.reconsume_times.saturating_add(1)),
        message_group: props.get(PROPERTY_SHARDING_KEY).map(str::to_owned),
        trace_context: props.get(PROPERTY_TRACE_CONTEXT).map(str::to_owned),
        orphaned_transaction_recovery_duration: None,
        dead_letter_queue: None,
    };
    v2::Message {
        topic: Some(v2::Resource {
            resource_namespace: String::new(),
            name: topic.to_owned(),
        }),
        user_properties,
        system_properties: Some(sys),
        body: msg.body.clone(),
    }
}

/// The body's MD5 as upper-case hex (`BinaryUtil.generateMd5`).
fn md5_upper_hex(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::md5_upper_hex;

    #[test]
    fn body_digest_is_upper_case_hex_md5() {
        assert_eq!(md5_upper_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
        assert_eq!(md5_upper_hex(b"msg-0"), "A1473D8DBF9511692E41A723FD6EF0F1");
    }
}
