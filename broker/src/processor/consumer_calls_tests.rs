use remoting_codec::protocol::client::{ConsumeFromWhere, ConsumeType, MessageModel};
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::LanguageCode;

use super::*;
use crate::client::ConnectionId;
use crate::test_util::TempDir;

const NOW: i64 = 1_795_243_753_000;

fn member(conn: u64, client_id: &str, version: i32) -> ClientChannelInfo {
    ClientChannelInfo::new(
        ConnectionId(conn),
        client_id,
        LanguageCode::Java,
        version,
        format!("127.0.0.1:{}", 50000 + conn),
        NOW,
    )
}

fn group_of(members: &[ClientChannelInfo]) -> ConsumerManager {
    let consumers = ConsumerManager::new();
    for m in members {
        consumers.register_consumer(
            "g",
            m.clone(),
            ConsumeType::ConsumePassively,
            MessageModel::Clustering,
            ConsumeFromWhere::ConsumeFromFirstOffset,
            &[SubscriptionData {
                topic: Some("T".into()),
                ..Default::default()
            }],
            NOW,
        );
    }
    consumers
}

#[test]
fn a_reset_moves_back_only_unless_forced() {
    // The timestamp is before the committed offset: both move back.
    assert_eq!(reset_queue_offset(5, 2, false), 2);
    assert_eq!(reset_queue_offset(5, 2, true), 2);
    // After it: only a forced reset moves forward.
    assert_eq!(reset_queue_offset(5, 9, false), 5);
    assert_eq!(reset_queue_offset(5, 9, true), 9);
    // Equal: unchanged either way.
    assert_eq!(reset_queue_offset(5, 5, false), 5);
    // A negative search result counts as 0.
    assert_eq!(reset_queue_offset(5, -1, false), 0);
    assert_eq!(reset_queue_offset(0, -1, true), 0);
}

#[test]
fn reset_offsets_cover_the_write_queues_with_the_searched_offsets() {
    let dir = TempDir::new("reset-offsets");
    let offsets = ConsumerOffsetManager::new(dir.path());
    for (q, o) in [(0, 1), (1, 1), (2, 2), (3, 1)] {
        offsets.commit_offset("h", "g", "T", q, o);
    }
    // The store's offset for the timestamp: queue 2 has one message after it.
    let searched = |q: i32| if q == 2 { 1 } else { 0 };
    let table =
        compute_reset_offsets(&offsets, "broker-a", "T", "g", Some(4), false, searched).unwrap();
    let expected: BTreeMap<MessageQueue, i64> = [(0, 0), (1, 0), (2, 1), (3, 0)]
        .into_iter()
        .map(|(q, o)| (MessageQueue::new("T", "broker-a", q), o))
        .collect();
    assert_eq!(table, expected);
    // Not forced, a timestamp in the future leaves every offset where it is.
    let table =
        compute_reset_offsets(&offsets, "broker-a", "T", "g", Some(4), false, |_| 7).unwrap();
    assert!(table.values().zip([1, 1, 2, 1]).all(|(a, b)| *a == b));
    // Forced, it moves them all forward.
    let table =
        compute_reset_offsets(&offsets, "broker-a", "T", "g", Some(4), true, |_| 7).unwrap();
    assert!(table.values().all(|o| *o == 7));
}

#[test]
fn reset_offsets_refusals_are_javas() {
    let dir = TempDir::new("reset-refusals");
    let offsets = ConsumerOffsetManager::new(dir.path());
    assert_eq!(
        compute_reset_offsets(&offsets, "b", "T", "g", None, false, |_| 0).unwrap_err(),
        Refusal::system_error(
            "[reset-offset] reset offset failed, no topic in this broker. topic=T"
        )
    );
    // One queue without a committed offset is enough.
    offsets.commit_offset("h", "g", "T", 0, 1);
    assert_eq!(
        compute_reset_offsets(&offsets, "b", "T", "g", Some(2), false, |_| 0).unwrap_err(),
        Refusal::system_error("THe consumer group <g> not exist")
    );
}

#[test]
fn the_reset_request_is_javas_220() {
    let table: BTreeMap<MessageQueue, i64> = [(MessageQueue::new("T", "broker-a", 3), 0)]
        .into_iter()
        .collect();
    let r = reset_request("T", "g", 1_795_243_741_647, &table, false).unwrap();
    assert_eq!(r.code, req::RESET_CONSUMER_CLIENT_OFFSET);
    let ext: Vec<(&str, &str)> = r.ext_fields.as_ref().unwrap().iter().collect();
    let mut ext = ext;
    ext.sort();
    assert_eq!(
        ext,
        [
            ("group", "g"),
            ("isForce", "false"),
            ("timestamp", "1795243741647"),
            ("topic", "T")
        ]
    );
    assert_eq!(
        std::str::from_utf8(&r.body).unwrap(),
        r#"{"offsetTable":{{"brokerName":"broker-a","queueId":3,"topic":"T"}:0}}"#
    );
    let c = reset_request("T", "g", -1, &table, true).unwrap();
    assert_eq!(
        std::str::from_utf8(&c.body).unwrap(),
        r#"{"offsetTable":[{"brokerName":"broker-a","offset":0,"queueId":3,"topic":"T"}]}"#
    );
}

#[test]
fn a_reset_without_members_is_consumer_not_online() {
    let header = ResetOffsetRequestHeader {
        topic: "T".into(),
        group: "g".into(),
        queue_id: None,
        offset: None,
        timestamp: 1_795_243_741_647,
        is_force: true,
    };
    assert_eq!(
        reset_targets(None, &header).unwrap_err(),
        Refusal::new(
            resp::CONSUMER_NOT_ONLINE,
            "Consumer not online, so can not reset offset, Group: g Topic: T Timestamp: 1795243741647"
        )
    );
    let consumers = group_of(&[member(1, "c1", 409), member(2, "c2", 409)]);
    let targets = reset_targets(consumers.get_consumer_group_info("g"), &header).unwrap();
    assert_eq!(targets.len(), 2);
}

#[test]
fn status_goes_to_every_member_or_the_named_one() {
    let consumers = group_of(&[member(1, "c1", 409), member(2, "c2", 409)]);
    let all = status_targets(consumers.get_consumer_group_info("g"), "g", Some("")).unwrap();
    assert_eq!(
        all.iter().map(|m| m.client_id.as_str()).collect::<Vec<_>>(),
        ["c1", "c2"]
    );
    let one = status_targets(consumers.get_consumer_group_info("g"), "g", Some("c2")).unwrap();
    assert_eq!(
        one.iter().map(|m| m.client_id.as_str()).collect::<Vec<_>>(),
        ["c2"]
    );
    let none = status_targets(consumers.get_consumer_group_info("g"), "g", Some("x")).unwrap();
    assert!(none.is_empty());
}

#[test]
fn status_refusals_are_javas() {
    let unknown = status_targets(None, "g", None).unwrap_err();
    assert_eq!(unknown.code, resp::SYSTEM_ERROR);
    assert!(unknown
        .remark
        .unwrap()
        .ends_with("Broker2Client.getConsumeStatus(Broker2Client.java:243)"));
    // V3_0_6_SNAPSHOT (26) is older than V3_0_7_SNAPSHOT.
    let consumers = group_of(&[member(1, "c1", 26)]);
    assert_eq!(
        status_targets(consumers.get_consumer_group_info("g"), "g", None).unwrap_err(),
        Refusal::system_error("the client does not support this feature. version=V3_0_6_SNAPSHOT")
    );
}

#[test]
fn a_members_status_counts_only_when_successful_with_a_body() {
    let body = br#"{"consumerTable":{},"messageQueueTable":{{"brokerName":"broker-a","queueId":3,"topic":"T"}:1}}"#;
    let request = RemotingCommand::request_without_header(req::GET_CONSUMER_STATUS_FROM_CLIENT);
    let ok = RemotingCommand::response_to(&request, resp::SUCCESS).with_body(&body[..]);
    let table = status_of_member(&ok).unwrap();
    assert_eq!(table[&MessageQueue::new("T", "broker-a", 3)], 1);
    let empty = RemotingCommand::response_to(&request, resp::SUCCESS);
    assert_eq!(status_of_member(&empty), None);
    let failed = RemotingCommand::response_to(&request, resp::SYSTEM_ERROR).with_body(&body[..]);
    assert_eq!(status_of_member(&failed), None);
}

#[test]
fn relay_target_refusals_are_javas() {
    let consumers = group_of(&[member(1, "c1", 409), member(2, "old", 61)]);
    assert_eq!(
        relay_target(&consumers, "g", Some("c1")).unwrap().client_id,
        "c1"
    );
    assert_eq!(
        relay_target(&consumers, "g", Some("c9")).unwrap_err(),
        Refusal::system_error("The Consumer <g> <c9> not online")
    );
    assert_eq!(
        relay_target(&consumers, "other", None).unwrap_err(),
        Refusal::system_error("The Consumer <other> <null> not online")
    );
    // 61 is V3_1_7 (the release before V3_1_8_SNAPSHOT).
    assert_eq!(
        relay_target(&consumers, "g", Some("old")).unwrap_err(),
        Refusal::system_error(
            "The Consumer <old> Version <V3_1_7> too low to finish, please upgrade it to V3_1_8_SNAPSHOT"
        )
    );
}

#[test]
fn relay_failures_are_javas() {
    let timeout = CallError::Timeout {
        addr: "127.0.0.1:58888".into(),
        millis: 10_000,
    };
    assert_eq!(
        relay_failure(&timeout, "g", "c1"),
        Refusal::new(
            resp::CONSUME_MSG_TIMEOUT,
            "consumer <g> <c1> Timeout: org.apache.rocketmq.remoting.exception.RemotingTimeoutException: wait response on the channel <127.0.0.1:58888> timeout, 10000(ms), org.apache.rocketmq.remoting.netty.NettyRemotingAbstract.invokeSyncImpl(NettyRemotingAbstract.java:438)"
        )
    );
    let gone = CallError::SendFailed {
        addr: "127.0.0.1:58888".into(),
    };
    assert_eq!(
        relay_failure(&gone, "g", "c1"),
        Refusal::system_error(
            "invoke consumer <g> <c1> Exception: org.apache.rocketmq.remoting.exception.RemotingSendRequestException: send request to <127.0.0.1:58888> failed, org.apache.rocketmq.remoting.netty.NettyRemotingAbstract.invokeSyncImpl(NettyRemotingAbstract.java:441)"
        )
    );
}

#[test]
fn the_relayed_request_carries_the_admins_fields_and_body() {
    let admin = RemotingCommand::request_without_header(req::GET_CONSUMER_RUNNING_INFO)
        .with_ext_field("consumerGroup", "g")
        .with_ext_field("clientId", "c1")
        .with_ext_field("jstackEnable", "false")
        .with_body(&b"x"[..]);
    let mut admin = admin;
    admin.opaque = 129;
    admin.language = LanguageCode::Cpp;
    let r = relayed_request(req::GET_CONSUMER_RUNNING_INFO, &admin);
    assert_eq!(r.ext_fields, admin.ext_fields);
    assert_eq!(&r.body[..], b"x");
    // A request of the broker's own: Java's language and version, not the admin's.
    assert_eq!(r.language, LanguageCode::Java);
    assert!(!r.is_response() && !r.is_oneway());
}

#[test]
fn message_ids_decode_as_java_does() {
    // s14: the first record of the commitlog; m37: offset 196.
    assert_eq!(
        message_id_offset(Some("7F00000100002A9F0000000000000000")),
        Ok(0)
    );
    assert_eq!(
        message_id_offset(Some("7F00000100002A9F00000000000000C4")),
        Ok(196)
    );
    assert_eq!(
        message_id_offset(Some("7f00000100002a9f00000000000000c4")),
        Ok(196)
    );
    // An IPv6 id: 16 address bytes.
    let v6 = format!("{}{}{}", "00".repeat(16), "00002A9F", "00000000000000C8");
    assert_eq!(message_id_offset(Some(&v6)), Ok(200));
    // A non-hex digit is -1 in Java's string2bytes: "Z0" is 0xF0, "0Z" 0xFF.
    assert_eq!(
        message_id_offset(Some("7F00000100002A9F00000000000000Z0")),
        Ok(0xF0)
    );
    assert_eq!(
        message_id_offset(Some("7F00000100002A9F000000000000000Z")),
        Ok(0xFF)
    );
    // Too short for its form (not 32 characters: the IPv6 form).
    assert_eq!(
        message_id_offset(Some("7F000001")),
        Err(Refusal::system_error("java.nio.BufferUnderflowException"))
    );
    for missing in [None, Some("")] {
        let e = message_id_offset(missing).unwrap_err();
        assert_eq!(e.code, resp::SYSTEM_ERROR);
        assert!(e
            .remark
            .unwrap()
            .starts_with("java.lang.NullPointerException"));
    }
}
