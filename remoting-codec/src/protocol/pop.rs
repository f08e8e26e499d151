//! 5.x POP consumption, the protocol layer: the headers of POP_MESSAGE (200050), ACK_MESSAGE
//! (200051) and CHANGE_MESSAGE_INVISIBLETIME (200053), and the strings a popped message and
//! a POP response carry (Java's `ExtraInfoUtil`, `KeyBuilder`), from rocketmq-all-5.3.3's
//! `remoting/protocol/header`; also NOTIFICATION, POLLING_INFO and PEEK_MESSAGE. The broker
//! side is `broker::pop`.
//!
//! - *extraInfo* (the receipt handle, a popped message's `POP_CK` property and the `extraInfo`
//!   of ACK / CHANGE_INVISIBLETIME): `ckQueueOffset popTime invisibleTime reviveQid retry
//!   brokerName queueId [queueOffset]`, space-separated (`MessageConst.KEY_SEPARATOR`), where
//!   `retry` is `0` (the topic), `1` (`%RETRY%<group>_<topic>`, V1) or `2`
//!   (`%RETRY%<group>+<topic>`, V2). reviveQid 999 marks an orderly pop.
//! - the POP response's `startOffsetInfo`, `msgOffsetInfo`, `orderCountInfo`: entries
//!   `retry queueId value` joined by `;` (msgOffsetInfo's value: offsets joined by `,`); parsed
//!   into maps keyed `retry@queueId`.

use std::collections::BTreeMap;

use crate::remoting_header;

const KEY_SEPARATOR: char = ' ';
const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`.
pub const POP_ORDER_REVIVE_QUEUE: i32 = 999;

remoting_header! {
    /// `PopMessageRequestHeader` (POP_MESSAGE 200050). `queueId` −1: any queue of the topic.
    pub struct PopMessageRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required max_msg_nums: i32 = "maxMsgNums",
        required invisible_time: i64 = "invisibleTime",
        required poll_time: i64 = "pollTime",
        required born_time: i64 = "bornTime",
        required init_mode: i32 = "initMode",
        optional exp_type: String = "expType",
        optional exp: String = "exp",
        optional order: bool = "order",
        optional attempt_id: String = "attemptId",
    }
}

remoting_header! {
    /// `PopMessageResponseHeader` (POP_MESSAGE 200050).
    pub struct PopMessageResponseHeader {
        required pop_time: i64 = "popTime",
        required invisible_time: i64 = "invisibleTime",
        required revive_qid: i32 = "reviveQid",
        required rest_num: i64 = "restNum",
        optional start_offset_info: String = "startOffsetInfo",
        optional msg_offset_info: String = "msgOffsetInfo",
        optional order_count_info: String = "orderCountInfo",
    }
}

remoting_header! {
    /// `AckMessageRequestHeader` (ACK_MESSAGE 200051).
    pub struct AckMessageRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required extra_info: String = "extraInfo",
        required offset: i64 = "offset",
    }
}

remoting_header! {
    /// `ChangeInvisibleTimeRequestHeader` (CHANGE_MESSAGE_INVISIBLETIME 200053).
    pub struct ChangeInvisibleTimeRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required extra_info: String = "extraInfo",
        required offset: i64 = "offset",
        required invisible_time: i64 = "invisibleTime",
    }
}

remoting_header! {
    /// `ChangeInvisibleTimeResponseHeader` (CHANGE_MESSAGE_INVISIBLETIME 200053).
    pub struct ChangeInvisibleTimeResponseHeader {
        required pop_time: i64 = "popTime",
        required invisible_time: i64 = "invisibleTime",
        required revive_qid: i32 = "reviveQid",
    }
}

remoting_header! {
    /// `NotificationRequestHeader` (NOTIFICATION 200054).
    pub struct NotificationRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required poll_time: i64 = "pollTime",
        required born_time: i64 = "bornTime",
        optional order: bool = "order",
        optional attempt_id: String = "attemptId",
    }
}

remoting_header! {
    /// `NotificationResponseHeader` (NOTIFICATION 200054).
    pub struct NotificationResponseHeader {
        required has_msg: bool = "hasMsg",
        required polling_full: bool = "pollingFull",
    }
}

remoting_header! {
    /// `PollingInfoRequestHeader` (POLLING_INFO 200055).
    pub struct PollingInfoRequestHeader {
        required consumer_group: String = "consumerGroup",
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
    }
}

remoting_header! {
    /// `PollingInfoResponseHeader` (POLLING_INFO 200055).
    pub struct PollingInfoResponseHeader {
        required polling_num: i32 = "pollingNum",
    }
}

remoting_header! {
    /// `PeekMessageRequestHeader` (PEEK_MESSAGE 200052).
    pub struct PeekMessageRequestHeader {
        required topic: String = "topic",
        required queue_id: i32 = "queueId",
        required max_msg_nums: i32 = "maxMsgNums",
        required consumer_group: String = "consumerGroup",
    }
}

/// `KeyBuilder.buildPopRetryTopicV1`: `%RETRY%<group>_<topic>`.
pub fn pop_retry_topic_v1(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}_{topic}")
}

/// `KeyBuilder.buildPopRetryTopicV2`: `%RETRY%<group>+<topic>`.
pub fn pop_retry_topic_v2(topic: &str, group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}+{topic}")
}

/// `KeyBuilder.isPopRetryTopicV2`.
pub fn is_pop_retry_topic_v2(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) && topic.contains('+')
}

/// `ExtraInfoUtil.getRetry(topic)`: `2` for a V2 retry topic, `1` for another `%RETRY%`
/// topic, `0` otherwise.
pub fn retry_flag(topic: &str) -> &'static str {
    if is_pop_retry_topic_v2(topic) {
        "2"
    } else if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        "1"
    } else {
        "0"
    }
}

/// A parsed extraInfo / `POP_CK` (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraInfo {
    pub ck_queue_offset: i64,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// `0`, `1` or `2` (see [`retry_flag`]).
    pub retry: String,
    pub broker_name: String,
    pub queue_id: i32,
    /// Present in the 8-field form (`buildExtraInfo` with the message's queue offset).
    pub queue_offset: Option<i64>,
}

impl ExtraInfo {
    /// `buildExtraInfo` for a message popped from `topic` (its retry flag is derived).
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        ck_queue_offset: i64,
        pop_time: i64,
        invisible_time: i64,
        revive_qid: i32,
        topic: &str,
        broker_name: &str,
        queue_id: i32,
        queue_offset: Option<i64>,
    ) -> String {
        let mut s = format!(
            "{ck_queue_offset} {pop_time} {invisible_time} {revive_qid} {} {broker_name} {queue_id}",
            retry_flag(topic)
        );
        if let Some(offset) = queue_offset {
            s.push_str(&format!(" {offset}"));
        }
        s
    }

    /// Java's getters over `split`: None where Java's would throw (too few fields, not a
    /// number).
    pub fn parse(extra_info: &str) -> Option<ExtraInfo> {
        let f: Vec<&str> = extra_info.split(KEY_SEPARATOR).collect();
        Some(ExtraInfo {
            ck_queue_offset: f.first()?.parse().ok()?,
            pop_time: f.get(1)?.parse().ok()?,
            invisible_time: f.get(2)?.parse().ok()?,
            revive_qid: f.get(3)?.parse().ok()?,
            retry: (*f.get(4)?).to_owned(),
            broker_name: (*f.get(5)?).to_owned(),
            queue_id: f.get(6)?.parse().ok()?,
            queue_offset: match f.get(7) {
                Some(v) => Some(v.parse().ok()?),
                None => None,
            },
        })
    }

    /// `getRealTopic(extraInfo, topic, group)`: the retry topic the message was popped from.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.retry.as_str() {
            "1" => pop_retry_topic_v1(topic, group),
            "2" => pop_retry_topic_v2(topic, group),
            _ => topic.to_owned(),
        }
    }

    /// `isOrder`.
    pub fn is_order(&self) -> bool {
        self.revive_qid == POP_ORDER_REVIVE_QUEUE
    }
}

fn append_entry(out: &mut String, topic: &str, queue: &str, value: &str) {
    if !out.is_empty() {
        out.push(';');
    }
    out.push_str(&format!("{} {queue} {value}", retry_flag(topic)));
}

/// `buildStartOffsetInfo`.
pub fn append_start_offset_info(out: &mut String, topic: &str, queue_id: i32, start_offset: i64) {
    append_entry(out, topic, &queue_id.to_string(), &start_offset.to_string());
}

/// `buildMsgOffsetInfo`.
pub fn append_msg_offset_info(out: &mut String, topic: &str, queue_id: i32, offsets: &[i64]) {
    let list: Vec<String> = offsets.iter().map(i64::to_string).collect();
    append_entry(out, topic, &queue_id.to_string(), &list.join(","));
}

/// `buildQueueIdOrderCountInfo`.
pub fn append_order_count_info(out: &mut String, topic: &str, queue_id: i32, count: i32) {
    append_entry(out, topic, &queue_id.to_string(), &count.to_string());
}

/// `getStartOffsetInfoMapKey(topic, queueId)`: `retry@queueId`.
pub fn offset_info_key(topic: &str, queue_id: i64) -> String {
    format!("{}@{queue_id}", retry_flag(topic))
}

/// The entries of an info string by `retry@queue`, each value parsed by `value`; None where
/// Java throws (not three fields, a duplicate key, a bad number). An empty string is None
/// too (Java returns null).
fn parse_info<T>(
    info: &str,
    mut value: impl FnMut(&str) -> Option<T>,
) -> Option<BTreeMap<String, T>> {
    if info.is_empty() {
        return None;
    }
    let mut map = BTreeMap::new();
    for one in info.split(';') {
        let f: Vec<&str> = one.split(KEY_SEPARATOR).collect();
        if f.len() != 3 {
            return None;
        }
        let key = format!("{}@{}", f[0], f[1]);
        if map.insert(key, value(f[2])?).is_some() {
            return None;
        }
    }
    Some(map)
}

/// `parseStartOffsetInfo`.
pub fn parse_start_offset_info(info: &str) -> Option<BTreeMap<String, i64>> {
    parse_info(info, |v| v.parse().ok())
}

/// `parseMsgOffsetInfo`.
pub fn parse_msg_offset_info(info: &str) -> Option<BTreeMap<String, Vec<i64>>> {
    parse_info(info, |v| v.split(',').map(|o| o.parse().ok()).collect())
}

/// `parseOrderCountInfo`.
pub fn parse_order_count_info(info: &str) -> Option<BTreeMap<String, i32>> {
    parse_info(info, |v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExtFields;

    #[test]
    fn extra_info_is_javas_string() {
        let s = ExtraInfo::build(
            12,
            1_700_000_000_000,
            60_000,
            3,
            "T",
            "broker-a",
            1,
            Some(40),
        );
        assert_eq!(s, "12 1700000000000 60000 3 0 broker-a 1 40");
        let info = ExtraInfo::parse(&s).unwrap();
        assert_eq!(
            (info.ck_queue_offset, info.revive_qid, info.queue_offset),
            (12, 3, Some(40))
        );
        assert_eq!(info.real_topic("T", "G"), "T");
        let retry = ExtraInfo::build(1, 2, 3, 999, "%RETRY%G_T", "b", 0, None);
        assert_eq!(retry, "1 2 3 999 1 b 0");
        let info = ExtraInfo::parse(&retry).unwrap();
        assert!(info.is_order());
        assert_eq!(info.queue_offset, None);
        assert_eq!(info.real_topic("T", "G"), "%RETRY%G_T");
        assert_eq!(retry_flag("%RETRY%G+T"), "2");
        assert_eq!(pop_retry_topic_v2("T", "G"), "%RETRY%G+T");
        assert_eq!(ExtraInfo::parse("1 2 3"), None);
        assert_eq!(ExtraInfo::parse("1 2 3 x 0 b 0"), None);
    }

    #[test]
    fn offset_infos_are_javas_strings() {
        let mut start = String::new();
        append_start_offset_info(&mut start, "T", 0, 5);
        append_start_offset_info(&mut start, "%RETRY%G_T", 1, 7);
        assert_eq!(start, "0 0 5;1 1 7");
        let parsed = parse_start_offset_info(&start).unwrap();
        assert_eq!(parsed[&offset_info_key("T", 0)], 5);
        assert_eq!(parsed["1@1"], 7);
        let mut msgs = String::new();
        append_msg_offset_info(&mut msgs, "T", 2, &[5, 6, 9]);
        assert_eq!(msgs, "0 2 5,6,9");
        assert_eq!(parse_msg_offset_info(&msgs).unwrap()["0@2"], vec![5, 6, 9]);
        let mut order = String::new();
        append_order_count_info(&mut order, "T", 3, 2);
        assert_eq!(parse_order_count_info(&order).unwrap()["0@3"], 2);
        assert_eq!(parse_start_offset_info("0 0 5;0 0 6"), None, "duplicate");
        assert_eq!(parse_start_offset_info("0 0"), None);
        assert_eq!(parse_start_offset_info(""), None);
    }

    #[test]
    fn headers_have_javas_field_names() {
        let ext: ExtFields = [
            ("consumerGroup", "G"),
            ("topic", "T"),
            ("queueId", "-1"),
            ("maxMsgNums", "32"),
            ("invisibleTime", "60000"),
            ("pollTime", "15000"),
            ("bornTime", "1700000000000"),
            ("initMode", "0"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("order", "false"),
            // RpcRequestHeader / TopicQueueRequestHeader fields 5.x clients add.
            ("lo", "true"),
            ("brokerName", "b"),
        ]
        .into_iter()
        .collect();
        let h: PopMessageRequestHeader = ext.decode().unwrap();
        assert_eq!((h.queue_id, h.max_msg_nums, h.order), (-1, 32, Some(false)));
        let resp = PopMessageResponseHeader {
            pop_time: 1,
            invisible_time: 2,
            revive_qid: 3,
            rest_num: 4,
            start_offset_info: Some("0 0 5".into()),
            msg_offset_info: None,
            order_count_info: None,
        };
        let mut ext = ExtFields::new();
        ext.encode(&resp);
        assert_eq!(ext.get("reviveQid"), Some("3"));
        assert_eq!(ext.get("startOffsetInfo"), Some("0 0 5"));
        assert_eq!(ext.decode::<PopMessageResponseHeader>().unwrap(), resp);
        let ack: ExtFields = [
            ("consumerGroup", "G"),
            ("topic", "T"),
            ("queueId", "1"),
            ("extraInfo", "1 2 3 4 0 b 1 9"),
            ("offset", "9"),
        ]
        .into_iter()
        .collect();
        let a: AckMessageRequestHeader = ack.decode().unwrap();
        assert_eq!(
            ExtraInfo::parse(&a.extra_info).unwrap().queue_offset,
            Some(9)
        );
        let mut change = ack.clone();
        change.insert("invisibleTime", "30000");
        let c: ChangeInvisibleTimeRequestHeader = change.decode().unwrap();
        assert_eq!(c.invisible_time, 30_000);
    }
}
