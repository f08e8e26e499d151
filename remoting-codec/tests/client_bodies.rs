//! The JSON bodies of the client data-path codes (heartbeat, consumer list, locks, check-client
//! config, reset offset, consumer status, running info, consume-directly result) against the
//! recorded Java traffic: every recorded body reads into its typed body and writes back, through
//! fastjson, to the same JSON.

mod support;

use std::collections::BTreeMap;

use remoting_codec::fastjson;
use remoting_codec::protocol::callback::*;
use remoting_codec::protocol::client::*;
use remoting_codec::protocol::lock::*;

/// Reads a recorded body into `T`, writes it back with fastjson, and checks that the result reads
/// (as fastjson reads anything) to the same value as the recorded body: no key Java sent is lost
/// or altered, and nothing is added.
fn body_round_trip<T>(f: &support::GoldenFrame)
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let typed: T =
        fastjson::from_slice(&f.body).unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
    let written = fastjson::to_vec(&typed).unwrap();
    assert_eq!(
        fastjson::from_slice_value(&written).unwrap(),
        fastjson::from_slice_value(&f.body).unwrap(),
        "{}",
        f.describe()
    );
}

#[test]
fn every_recorded_body_survives_a_typed_round_trip() {
    type Check = fn(&support::GoldenFrame);
    let mut counts: BTreeMap<(i32, bool), usize> = BTreeMap::new();
    for f in support::golden_frames() {
        let Some(code) = f.request_code_of_exchange() else {
            continue;
        };
        if f.body.is_empty() || f.body[0] != b'{' {
            continue;
        }
        let check: Check = match (code, f.is_response()) {
            (34, false) => body_round_trip::<HeartbeatData>,
            (38, true) => body_round_trip::<GetConsumerListByGroupResponseBody>,
            (41, false) => body_round_trip::<LockBatchRequestBody>,
            (41, true) => body_round_trip::<LockBatchResponseBody>,
            (42, false) => body_round_trip::<UnlockBatchRequestBody>,
            (46, false) => body_round_trip::<CheckClientRequestBody>,
            (220, false) => body_round_trip::<ResetOffsetBody>,
            (221, true) => body_round_trip::<GetConsumerStatusBody>,
            (307, true) => body_round_trip::<ConsumerRunningInfo>,
            (309, true) => body_round_trip::<ConsumeMessageDirectlyResult>,
            _ => continue,
        };
        check(&f);
        *counts.entry((code, f.is_response())).or_default() += 1;
    }
    let expected = [
        ((34, false), 85),
        ((38, true), 89),
        ((41, false), 5),
        ((41, true), 5),
        ((42, false), 1),
        ((46, false), 1),
        ((220, false), 3),
        ((221, true), 2),
        ((307, true), 4),
        ((309, true), 4),
    ];
    for (key, n) in expected {
        assert!(
            counts.get(&key).copied().unwrap_or(0) >= n,
            "{key:?}: {counts:?}"
        );
    }
}

/// What the typed bodies hold, on a few recorded examples (the round trip alone would pass with
/// an untyped map).
#[test]
fn recorded_bodies_read_into_the_expected_values() {
    let frames = support::golden_frames();
    let body_of = |code: i32, response: bool, file: &str| {
        frames
            .iter()
            .find(|f| {
                f.request_code_of_exchange() == Some(code)
                    && f.is_response() == response
                    && f.file.starts_with(file)
                    && f.body.first() == Some(&b'{')
            })
            .unwrap_or_else(|| panic!("no body for {code} in {file}"))
            .body
            .clone()
    };

    let hb: HeartbeatData = fastjson::from_slice(&body_of(34, false, "s09")).unwrap();
    let consumer = &hb.consumer_data_set[0];
    assert_eq!(consumer.consume_type, Some(ConsumeType::ConsumePassively));
    assert_eq!(consumer.message_model, Some(MessageModel::Clustering));
    assert_eq!(
        consumer.consume_from_where,
        Some(ConsumeFromWhere::ConsumeFromFirstOffset)
    );
    assert!(consumer
        .subscription_data_set
        .iter()
        .any(|s| s.tags_set == ["TagA", "TagC"] && s.code_set == [2598919, 2598921]));
    assert_eq!(hb.heartbeat_fingerprint, None);

    let hb5: HeartbeatData = fastjson::from_slice(&body_of(34, false, "s13")).unwrap();
    assert_eq!(
        (hb5.heartbeat_fingerprint, hb5.without_sub),
        (Some(0), Some(false))
    );

    let reset: ResetOffsetBody = fastjson::from_slice(&body_of(220, false, "s14")).unwrap();
    assert_eq!(reset.offset_table.len(), 4);
    assert_eq!(
        reset
            .offset_table
            .get(&remoting_codec::protocol::MessageQueue::new(
                "CallbackTopic",
                "broker-a",
                3
            )),
        Some(&0)
    );
    let for_c = fastjson::to_string(&ResetOffsetBodyForC::from(&reset)).unwrap();
    assert!(for_c.starts_with(
        r#"{"offsetTable":[{"brokerName":"broker-a","offset":0,"queueId":0,"topic":"CallbackTopic"},"#
    ));

    let status: GetConsumerStatusBody = fastjson::from_slice(&body_of(221, true, "s14")).unwrap();
    assert_eq!(status.message_queue_table.len(), 2);

    let info: ConsumerRunningInfo = fastjson::from_slice(&body_of(307, true, "s14")).unwrap();
    assert_eq!(
        info.properties
            .get(ConsumerRunningInfo::PROP_CONSUME_TYPE)
            .map(String::as_str),
        Some("CONSUME_PASSIVELY")
    );
    assert_eq!(info.mq_table.len(), 3);
    assert_eq!(info.status_table["CallbackTopic"].pull_tps, 0.5);
    assert_eq!(info.subscription_set.len(), 2);

    let result: ConsumeMessageDirectlyResult =
        fastjson::from_slice(&body_of(309, true, "s14")).unwrap();
    assert_eq!(result.consume_result, Some(CMResult::CrSuccess));
    assert!(result.auto_commit && !result.order);

    let lock: LockBatchResponseBody = fastjson::from_slice(&body_of(41, true, "s04")).unwrap();
    assert_eq!(lock.lock_ok_mq_set.len(), 1);
}

/// Bodies nothing recorded carries: the 5.x fields of the lock, check-client and running-info
/// bodies.
#[test]
fn hand_made_5x_bodies_round_trip() {
    let lock = br#"{"clientId":"c","consumerGroup":"g","mqSet":[{"brokerName":"b","queueId":0,"topic":"t"}],"onlyThisBroker":true}"#;
    let typed: UnlockBatchRequestBody = fastjson::from_slice(lock).unwrap();
    assert_eq!(typed.only_this_broker, Some(true));
    assert_eq!(fastjson::to_vec(&typed).unwrap(), lock.to_vec());

    let check = br#"{"clientId":"c","group":"g","namespace":"ns","subscriptionData":{"classFilterMode":false,"codeSet":[],"expressionType":"SQL92","subString":"a > 1","subVersion":1,"tagsSet":[],"topic":"t"}}"#;
    let typed: CheckClientRequestBody = fastjson::from_slice(check).unwrap();
    assert_eq!(fastjson::to_vec(&typed).unwrap(), check.to_vec());

    let info = br#"{"jstack":"main","mqPopTable":{{"brokerName":"b","queueId":0,"topic":"t"}:{"droped":false,"lastPopTimestamp":5,"waitAckCount":2}},"mqTable":{},"properties":{"a":"1"},"statusTable":{},"subscriptionSet":[],"userConsumerInfo":{"k":"v"}}"#;
    let typed: ConsumerRunningInfo = fastjson::from_slice(info).unwrap();
    assert_eq!(typed.mq_pop_table.as_ref().map(|t| t.len()), Some(1));
    assert_eq!(fastjson::to_vec(&typed).unwrap(), info.to_vec());
}
