use super::*;
use crate::v2::{Message, Resource, SystemProperties};
use remoting_codec::message::StoredMessage;

fn message(topic: &str) -> Message {
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: topic.into(),
        }),
        user_properties: [("k".to_owned(), "v".to_owned())].into(),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            keys: vec!["a".into(), "b".into()],
            message_id: "01ABCDEF".into(),
            message_type: MessageType::Normal as i32,
            ..Default::default()
        }),
        body: Bytes::from_static(b"hello"),
    }
}

#[test]
fn a_normal_message_carries_the_proxys_properties() {
    let out = build_message(&message("T"), &SendLimits::default(), "1.2.3.4:5", 1000).unwrap();
    let p = &out.properties;
    assert_eq!(p.get("k"), Some("v"));
    assert_eq!(p.tags(), Some("TagA"));
    assert_eq!(p.keys(), Some("a b"));
    assert_eq!(p.uniq_key(), Some("01ABCDEF"));
    assert_eq!(p.get(PROPERTY_PRODUCER_GROUP), Some("T"));
    assert_eq!(p.get(PROPERTY_BORN_HOST), Some("1.2.3.4:5"));
    assert_eq!(p.get(PROPERTY_RECONSUME_TIME), Some("0"));
    assert_eq!(out.born_timestamp, 1000);
    assert_eq!(out.sys_flag, 0);
    assert_eq!(message_type_of(p), MessageType::Normal);
}

#[test]
fn transaction_fifo_and_delay_messages() {
    let mut m = message("T");
    let sys = m.system_properties.as_mut().unwrap();
    sys.message_type = MessageType::Transaction as i32;
    sys.orphaned_transaction_recovery_duration = Some(duration_of_millis(30_000));
    let out = build_message(&m, &SendLimits::default(), "h:1", 0).unwrap();
    assert_eq!(out.sys_flag, TRANSACTION_PREPARED_TYPE);
    assert_eq!(
        out.properties.get(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS),
        Some("30")
    );
    assert_eq!(message_type_of(&out.properties), MessageType::Transaction);

    let mut m = message("T");
    m.system_properties.as_mut().unwrap().message_group = Some("g1".into());
    let out = build_message(&m, &SendLimits::default(), "h:1", 0).unwrap();
    assert_eq!(out.properties.get(PROPERTY_SHARDING_KEY), Some("g1"));
    assert_eq!(message_type_of(&out.properties), MessageType::Fifo);

    let mut m = message("T");
    m.system_properties.as_mut().unwrap().delivery_timestamp = Some(timestamp_of_millis(5_000));
    let out = build_message(&m, &SendLimits::default(), "h:1", 1_000).unwrap();
    assert_eq!(out.properties.get(PROPERTY_TIMER_DELIVER_MS), Some("5000"));
    assert_eq!(message_type_of(&out.properties), MessageType::Delay);
}

#[test]
fn refusals_carry_the_proxys_codes() {
    let limits = SendLimits::default();
    let code = |m: &Message| build_message(m, &limits, "h:1", 0).unwrap_err().code;
    let mut m = message("T");
    m.body = Bytes::new();
    assert_eq!(code(&m), Code::MessageBodyEmpty);
    m.body = Bytes::from(vec![0u8; 4 * 1024 * 1024 + 1]);
    assert_eq!(code(&m), Code::MessageBodyTooLarge);
    let mut m = message("T");
    m.system_properties.as_mut().unwrap().message_id = " ".into();
    assert_eq!(code(&m), Code::IllegalMessageId);
    let mut m = message("T");
    m.system_properties.as_mut().unwrap().tag = Some("a|b".into());
    assert_eq!(code(&m), Code::IllegalMessageTag);
    let mut m = message("T");
    m.user_properties.insert("TAGS".into(), "x".into());
    assert_eq!(code(&m), Code::IllegalMessagePropertyKey);
    let mut m = message("T");
    m.system_properties.as_mut().unwrap().message_group = Some("g".repeat(64));
    assert_eq!(code(&m), Code::IllegalMessageGroup);
    let mut m = message("T");
    m.system_properties.as_mut().unwrap().delivery_timestamp =
        Some(timestamp_of_millis(24 * 3600 * 1000 + 1));
    assert_eq!(code(&m), Code::IllegalDeliveryTime);
    let mut m = message("T");
    m.system_properties.as_mut().unwrap().keys = vec!["a\u{1}".into()];
    assert_eq!(code(&m), Code::IllegalMessageKey);
}

#[test]
fn remoting_codes_map_as_the_proxy_maps_them() {
    assert_eq!(code_of_remoting(0), Code::Ok);
    assert_eq!(code_of_remoting(26), Code::ConsumerGroupNotFound);
    assert_eq!(code_of_remoting(17), Code::InternalServerError);
    assert_eq!(status_of_remoting(1, None).message, "1");
}

#[test]
fn a_stored_message_converts_back() {
    let out = build_message(&message("T"), &SendLimits::default(), "h:1", 7).unwrap();
    let stored = StoredMessage {
        topic: "T".into(),
        body: out.body.clone(),
        properties: out.properties.clone(),
        queue_offset: 3,
        ..Default::default()
    };
    let back = to_proto_message(&stored, "T", None);
    let sys = back.system_properties.unwrap();
    assert_eq!(sys.message_id, "01ABCDEF");
    assert_eq!(sys.tag.as_deref(), Some("TagA"));
    assert_eq!(sys.keys, vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(back.user_properties.get("k").map(String::as_str), Some("v"));
    assert!(!back.user_properties.contains_key("PGROUP"));
    assert_eq!(sys.queue_offset, Some(3));
}
