//! Client registration: HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38)
//! and CHECK_CLIENT_CONFIG (46).
//!
//! A heartbeat is how the broker learns a client's producer groups (needed to route transaction
//! checks) and a consumer's subscriptions (needed before it may pull).

use serde::{Deserialize, Serialize};

use super::common::SubscriptionData;
use crate::fastjson::lenient::{enum_name_or_ordinal, JavaEnum};
use crate::remoting_header;

/// `extFields` key of a 5.x broker's HEART_BEAT response: `true` tells a 5.x client it may send
/// v2 heartbeats (only the fingerprint while subscriptions are unchanged). A 4.9.8 broker does not
/// send it, and the client then keeps sending full heartbeats.
pub const IS_SUPPORT_HEART_BEAT_V2: &str = "IS_SUPPORT_HEART_BEAT_V2";
/// `extFields` key of a 5.x broker's HEART_BEAT response: whether the heartbeat changed a
/// subscription (always `true` for a full heartbeat).
pub const IS_SUB_CHANGE: &str = "IS_SUB_CHANGE";

/// `ConsumeType`: how a consumer group consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConsumeType {
    /// Pull consumers (`DefaultMQPullConsumer`, lite pull); Java's display name "PULL".
    #[serde(rename = "CONSUME_ACTIVELY")]
    ConsumeActively,
    /// Push consumers; "PUSH".
    #[serde(rename = "CONSUME_PASSIVELY")]
    ConsumePassively,
    /// 5.x POP consumers; "POP".
    #[serde(rename = "CONSUME_POP")]
    ConsumePop,
}

impl ConsumeType {
    /// Java's `getTypeCN`, shown by mqadmin and the dashboard.
    pub fn type_cn(self) -> &'static str {
        match self {
            ConsumeType::ConsumeActively => "PULL",
            ConsumeType::ConsumePassively => "PUSH",
            ConsumeType::ConsumePop => "POP",
        }
    }
}

/// `MessageModel`: whether each message goes to one consumer of the group or to all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    Broadcasting,
    #[default]
    Clustering,
}

/// `ConsumeFromWhere`: where a group with no committed offset starts. Three values are deprecated
/// in Java but still accepted (and sent by old clients).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    #[default]
    ConsumeFromLastOffset,
    /// Deprecated in Java.
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    /// Deprecated in Java.
    ConsumeFromMinOffset,
    /// Deprecated in Java.
    ConsumeFromMaxOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
}

// Ordinals (Java's declaration order): non-Java clients send enums as numbers.
impl JavaEnum for ConsumeType {
    const VALUES: &'static [Self] = &[
        ConsumeType::ConsumeActively,
        ConsumeType::ConsumePassively,
        ConsumeType::ConsumePop,
    ];
}

impl JavaEnum for MessageModel {
    const VALUES: &'static [Self] = &[MessageModel::Broadcasting, MessageModel::Clustering];
}

impl JavaEnum for ConsumeFromWhere {
    const VALUES: &'static [Self] = &[
        ConsumeFromWhere::ConsumeFromLastOffset,
        ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst,
        ConsumeFromWhere::ConsumeFromMinOffset,
        ConsumeFromWhere::ConsumeFromMaxOffset,
        ConsumeFromWhere::ConsumeFromFirstOffset,
        ConsumeFromWhere::ConsumeFromTimestamp,
    ];
}

/// `ProducerData`: one producer group of a heartbeating client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProducerData {
    #[serde(default)]
    pub group_name: String,
}

/// `ConsumerData`: one consumer group of a heartbeating client, with its subscriptions
/// (including the `%RETRY%group` one a push consumer adds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerData {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "enum_name_or_ordinal"
    )]
    pub consume_from_where: Option<ConsumeFromWhere>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "enum_name_or_ordinal"
    )]
    pub consume_type: Option<ConsumeType>,
    #[serde(default)]
    pub group_name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "enum_name_or_ordinal"
    )]
    pub message_model: Option<MessageModel>,
    #[serde(default)]
    pub subscription_data_set: Vec<SubscriptionData>,
    #[serde(default)]
    pub unit_mode: bool,
}

/// `HeartbeatData`, the body of HEART_BEAT (34). `heartbeatFingerprint` and `withoutSub` are
/// 5.x only (heartbeat v2: a client whose subscriptions did not change sends only the
/// fingerprint, with `withoutSub=true`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatData {
    #[serde(rename = "clientID", default)]
    pub client_id: String,
    #[serde(rename = "consumerDataSet", default)]
    pub consumer_data_set: Vec<ConsumerData>,
    #[serde(
        rename = "heartbeatFingerprint",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_fingerprint: Option<i32>,
    #[serde(rename = "producerDataSet", default)]
    pub producer_data_set: Vec<ProducerData>,
    #[serde(
        rename = "withoutSub",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub without_sub: Option<bool>,
}

remoting_header! {
    /// `UnregisterClientRequestHeader` (UNREGISTER_CLIENT 35): a client leaving one producer or
    /// consumer group (one request per group) at shutdown. Java's key is `clientID`.
    pub struct UnregisterClientRequestHeader {
        required client_id: String = "clientID",
        optional producer_group: String = "producerGroup",
        optional consumer_group: String = "consumerGroup",
    }
}

remoting_header! {
    /// `GetConsumerListByGroupRequestHeader` (GET_CONSUMER_LIST_BY_GROUP 38): the client ids of a
    /// group, for rebalancing. The answer is [`GetConsumerListByGroupResponseBody`].
    pub struct GetConsumerListByGroupRequestHeader {
        required consumer_group: String = "consumerGroup",
    }
}

/// `GetConsumerListByGroupResponseBody` (GET_CONSUMER_LIST_BY_GROUP 38).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConsumerListByGroupResponseBody {
    #[serde(default)]
    pub consumer_id_list: Vec<String>,
}

/// `CheckClientRequestBody` (CHECK_CLIENT_CONFIG 46): a consumer with a non-TAG (SQL92)
/// subscription asks the broker whether it can evaluate it. `namespace` is 5.x only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckClientRequestBody {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_data: Option<SubscriptionData>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_use_java_names() {
        assert_eq!(
            serde_json::to_string(&ConsumeFromWhere::ConsumeFromLastOffsetAndFromMinWhenBootFirst)
                .unwrap(),
            r#""CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST""#
        );
        assert_eq!(
            serde_json::to_string(&ConsumeType::ConsumePop).unwrap(),
            r#""CONSUME_POP""#
        );
        assert_eq!(
            serde_json::to_string(&MessageModel::Broadcasting).unwrap(),
            r#""BROADCASTING""#
        );
        assert_eq!(ConsumeType::ConsumePassively.type_cn(), "PUSH");
    }

    /// The heartbeat of the Apache C++ client (PyPI `rocketmq` 0.4.4), as captured: enums as
    /// ordinals, `subVersion` as a string. The Java broker (fastjson) accepts it.
    #[test]
    fn cpp_client_heartbeat_reads_as_java_does() {
        let body = br#"{"clientID":"3977-127.0.0.1@consumer","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"RsCompatPushGroup","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1795252623131","topic":"%RETRY%RsCompatPushGroup"},{"subString":"*","subVersion":"1795252623131","topic":"RsCompatTopic"}]}]}
"#;
        let hb: HeartbeatData = crate::fastjson::from_slice(body).unwrap();
        let c = &hb.consumer_data_set[0];
        assert_eq!(
            c.consume_from_where,
            Some(ConsumeFromWhere::ConsumeFromLastOffset)
        );
        assert_eq!(c.consume_type, Some(ConsumeType::ConsumePassively));
        assert_eq!(c.message_model, Some(MessageModel::Clustering));
        assert_eq!(c.subscription_data_set[1].sub_version, 1_795_252_623_131);
        assert_eq!(
            c.subscription_data_set[1].topic.as_deref(),
            Some("RsCompatTopic")
        );
        let java: HeartbeatData = crate::fastjson::from_str(
            r#"{"clientID":"c","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_TIMESTAMP","consumeType":"CONSUME_POP","groupName":"g","messageModel":"BROADCASTING","subscriptionDataSet":[],"unitMode":false}],"producerDataSet":[]}"#,
        )
        .unwrap();
        let c = &java.consumer_data_set[0];
        assert_eq!(
            c.consume_from_where,
            Some(ConsumeFromWhere::ConsumeFromTimestamp)
        );
        assert_eq!(c.consume_type, Some(ConsumeType::ConsumePop));
        assert_eq!(c.message_model, Some(MessageModel::Broadcasting));
    }

    #[test]
    fn heartbeat_keys_are_sorted_and_5x_fields_optional() {
        let hb = HeartbeatData {
            client_id: "c".into(),
            producer_data_set: vec![ProducerData {
                group_name: "g".into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&hb).unwrap(),
            r#"{"clientID":"c","consumerDataSet":[],"producerDataSet":[{"groupName":"g"}]}"#
        );
    }
}
