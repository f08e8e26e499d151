//! The records of the revive topic, as 5.3.3's store `pop/` classes and `PopAckConstants`:
//! a checkpoint (`PopCheckPoint`, tag `ck`) written when messages are popped, an ack
//! (`AckMsg`, tag `ack`) and a batch ack (`BatchAckMsg`, tag `bAck`) written when they are
//! acknowledged. The bodies are fastjson objects with Java's short names (`so`, `pt`, `it`, `bm`,
//! `n`, `q`, `t`, `c`, `ro`, `d`, `bn`, `rp`; `ao`, `aol`), so a Java broker taking over the
//! store revives what we wrote and the other way round (the reader also takes the long names
//! Java's `alternateNames` allow). fastjson also writes the checkpoint's `reviveTime` getter;
//! it is written here and ignored when read, as Java does.
//!
//! Every record goes to `rmq_sys_REVIVE_LOG_<cluster>` with `TIMER_DELIVER_MS` set, so the
//! timer store holds it until then: a checkpoint until its revive time minus
//! `ackTimeInterval` (1 s), an ack until the checkpoint's revive time (popTime +
//! invisibleTime). `UNIQ_KEY` is Java's `genCkUniqueId` / `genAckUniqueId`.

use std::net::SocketAddr;

use bytes::Bytes;
use remoting_codec::message::message_const::{
    PROPERTY_TAGS, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use remoting_codec::message::{MessageProperties, StoredMessage};
use serde::{Deserialize, Serialize};
use store::timer::hook::TIMER_DELIVER_MS;

/// `PopAckConstants.CK_TAG`.
pub const CK_TAG: &str = "ck";
/// `PopAckConstants.ACK_TAG`.
pub const ACK_TAG: &str = "ack";
/// `PopAckConstants.BATCH_ACK_TAG`.
pub const BATCH_ACK_TAG: &str = "bAck";
/// `PopAckConstants.ackTimeInterval`.
pub const ACK_TIME_INTERVAL: i64 = 1000;
/// `PopAckConstants.SPLIT`.
pub const SPLIT: &str = "@";

/// `PopAckConstants.buildClusterReviveTopic`.
pub fn revive_topic(cluster: &str) -> String {
    format!("rmq_sys_REVIVE_LOG_{cluster}")
}

/// `PopCheckPoint`: `num` messages popped together from one queue, `d` their offsets as
/// differences from `so`, `bm` the acked ones.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopCheckPoint {
    #[serde(rename = "bm", alias = "bitMap", default)]
    pub bit_map: i32,
    #[serde(rename = "bn", alias = "brokerName", default)]
    pub broker_name: Option<String>,
    #[serde(rename = "c", alias = "cid", alias = "cId", default)]
    pub cid: Option<String>,
    #[serde(rename = "d", alias = "queueOffsetDiff", default)]
    pub queue_offset_diff: Option<Vec<i32>>,
    #[serde(rename = "it", alias = "invisibleTime", default)]
    pub invisible_time: i64,
    #[serde(rename = "n", alias = "num", default)]
    pub num: i8,
    #[serde(rename = "pt", alias = "popTime", default)]
    pub pop_time: i64,
    #[serde(rename = "q", alias = "queueId", default)]
    pub queue_id: i32,
    /// fastjson writes the getter; ignored when read.
    #[serde(rename = "reviveTime", default, skip_deserializing)]
    pub revive_time: i64,
    #[serde(rename = "ro", alias = "reviveOffset", default)]
    pub revive_offset: i64,
    #[serde(rename = "rp", alias = "rePutTimes", default)]
    pub re_put_times: Option<String>,
    #[serde(rename = "so", alias = "startOffset", default)]
    pub start_offset: i64,
    #[serde(rename = "t", alias = "topic", default)]
    pub topic: Option<String>,
}

impl PopCheckPoint {
    /// A checkpoint of the messages at `offsets` (their first is `start_offset` or later).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        group: &str,
        topic: &str,
        queue_id: i32,
        start_offset: i64,
        offsets: &[i64],
        pop_time: i64,
        invisible_time: i64,
        broker_name: &str,
    ) -> Self {
        let mut ck = PopCheckPoint {
            num: offsets.len() as i8,
            pop_time,
            invisible_time,
            start_offset,
            cid: Some(group.to_owned()),
            topic: Some(topic.to_owned()),
            queue_id,
            broker_name: Some(broker_name.to_owned()),
            queue_offset_diff: Some(offsets.iter().map(|o| (o - start_offset) as i32).collect()),
            ..Default::default()
        };
        ck.revive_time = ck.revive_time();
        ck
    }

    /// `getReviveTime`.
    pub fn revive_time(&self) -> i64 {
        self.pop_time + self.invisible_time
    }

    /// `indexOfAck`: the bit of the message at `ack_offset`, if it is one of this checkpoint's.
    pub fn index_of_ack(&self, ack_offset: i64) -> Option<usize> {
        if ack_offset < self.start_offset {
            return None;
        }
        let diff = ack_offset - self.start_offset;
        match self.queue_offset_diff.as_deref() {
            Some(d) if !d.is_empty() => d.iter().position(|&x| i64::from(x) == diff),
            _ => (diff < i64::from(self.num)).then_some(diff as usize),
        }
    }

    /// `ackOffsetByIndex`.
    pub fn ack_offset_by_index(&self, index: usize) -> i64 {
        match self.queue_offset_diff.as_deref() {
            Some(d) if !d.is_empty() => self.start_offset + i64::from(d[index]),
            _ => self.start_offset + index as i64,
        }
    }

    pub fn is_acked(&self, index: usize) -> bool {
        index < 32 && self.bit_map & (1 << index) != 0
    }

    pub fn set_acked(&mut self, index: usize) {
        if index < 32 {
            self.bit_map |= 1 << index;
        }
    }

    /// `parseRePutTimes`.
    pub fn parse_re_put_times(&self) -> i32 {
        self.re_put_times
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// The revive service's merge key (`topic + cid + queueId + startOffset + popTime +
    /// brokerName`).
    pub fn merge_key(&self) -> String {
        merge_key(
            self.topic.as_deref().unwrap_or(""),
            self.cid.as_deref().unwrap_or(""),
            self.queue_id,
            self.start_offset,
            self.pop_time,
            self.broker_name.as_deref().unwrap_or(""),
        )
    }

    /// `genCkUniqueId`.
    pub fn unique_id(&self) -> String {
        [
            opt(&self.topic),
            self.queue_id.to_string(),
            self.start_offset.to_string(),
            opt(&self.cid),
            self.pop_time.to_string(),
            opt(&self.broker_name),
            CK_TAG.to_owned(),
        ]
        .join(SPLIT)
    }
}

/// Java's string concatenation of a possibly null field.
fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "null".to_owned())
}

pub fn merge_key(
    topic: &str,
    group: &str,
    queue_id: i32,
    start_offset: i64,
    pop_time: i64,
    broker: &str,
) -> String {
    format!("{topic}{group}{queue_id}{start_offset}{pop_time}{broker}")
}

/// `AckMsg` (and the common part of `BatchAckMsg`, whose `aol` lists the acked offsets).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckMsg {
    #[serde(rename = "ao", alias = "ackOffset", default)]
    pub ack_offset: i64,
    #[serde(
        rename = "aol",
        alias = "ackOffsetList",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ack_offset_list: Option<Vec<i64>>,
    #[serde(rename = "bn", alias = "brokerName", default)]
    pub broker_name: Option<String>,
    #[serde(rename = "c", alias = "consumerGroup", default)]
    pub consumer_group: Option<String>,
    #[serde(rename = "pt", alias = "popTime", default)]
    pub pop_time: i64,
    #[serde(rename = "q", alias = "queueId", default)]
    pub queue_id: i32,
    #[serde(rename = "so", alias = "startOffset", default)]
    pub start_offset: i64,
    #[serde(rename = "t", alias = "topic", default)]
    pub topic: Option<String>,
}

impl AckMsg {
    pub fn merge_key(&self, default_broker: &str) -> String {
        let broker = self
            .broker_name
            .as_deref()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or(default_broker);
        merge_key(
            self.topic.as_deref().unwrap_or(""),
            self.consumer_group.as_deref().unwrap_or(""),
            self.queue_id,
            self.start_offset,
            self.pop_time,
            broker,
        )
    }

    /// `genAckUniqueId` / `genBatchAckUniqueId` (the batch form has no broker name).
    pub fn unique_id(&self) -> String {
        let mut parts = vec![opt(&self.topic), self.queue_id.to_string()];
        match &self.ack_offset_list {
            Some(list) => parts.push(format!(
                "[{}]",
                list.iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => parts.push(self.ack_offset.to_string()),
        }
        parts.push(opt(&self.consumer_group));
        parts.push(self.pop_time.to_string());
        if self.ack_offset_list.is_some() {
            parts.push(BATCH_ACK_TAG.to_owned());
        } else {
            parts.push(opt(&self.broker_name));
            parts.push(ACK_TAG.to_owned());
        }
        parts.join(SPLIT)
    }
}

/// A record of the revive topic: body, tag, unique key, and the time the timer delivers it.
#[allow(clippy::too_many_arguments)]
fn revive_record(
    revive_topic: &str,
    revive_qid: i32,
    body: Vec<u8>,
    tag: &str,
    unique_id: String,
    deliver_ms: i64,
    host: SocketAddr,
    now: i64,
) -> StoredMessage {
    let mut properties = MessageProperties::new().with_trailing_separator(true);
    properties.insert(PROPERTY_TAGS, tag);
    properties.insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, unique_id);
    properties.insert(TIMER_DELIVER_MS, deliver_ms.to_string());
    properties.sort_in_java_hash_map_order();
    StoredMessage {
        topic: revive_topic.to_owned(),
        queue_id: revive_qid,
        body: Bytes::from(body),
        born_timestamp: now,
        born_host: host,
        store_host: host,
        properties,
        ..StoredMessage::default()
    }
}

/// `buildCkMsg`: delivered one `ackTimeInterval` before the revive time.
pub fn ck_message(
    ck: &PopCheckPoint,
    revive_topic: &str,
    revive_qid: i32,
    host: SocketAddr,
    now: i64,
) -> StoredMessage {
    let mut ck = ck.clone();
    ck.revive_time = ck.revive_time();
    let body = remoting_codec::fastjson::to_vec(&ck).unwrap_or_default();
    revive_record(
        revive_topic,
        revive_qid,
        body,
        CK_TAG,
        ck.unique_id(),
        ck.revive_time() - ACK_TIME_INTERVAL,
        host,
        now,
    )
}

/// The ack record of `appendAck` / `ackOrigin`: delivered at the checkpoint's revive time.
pub fn ack_message(
    ack: &AckMsg,
    invisible_time: i64,
    revive_topic: &str,
    revive_qid: i32,
    host: SocketAddr,
    now: i64,
) -> StoredMessage {
    let body = remoting_codec::fastjson::to_vec(ack).unwrap_or_default();
    let tag = if ack.ack_offset_list.is_some() {
        BATCH_ACK_TAG
    } else {
        ACK_TAG
    };
    revive_record(
        revive_topic,
        revive_qid,
        body,
        tag,
        ack.unique_id(),
        ack.pop_time + invisible_time,
        host,
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_json_has_javas_names_and_round_trips() {
        let ck = PopCheckPoint::new("G", "T", 1, 10, &[10, 12], 1000, 5000, "b");
        let json = remoting_codec::fastjson::to_string(&ck).unwrap();
        assert_eq!(
            json,
            r#"{"bm":0,"bn":"b","c":"G","d":[0,2],"it":5000,"n":2,"pt":1000,"q":1,"reviveTime":6000,"ro":0,"so":10,"t":"T"}"#
        );
        let back: PopCheckPoint = remoting_codec::fastjson::from_str(&json).unwrap();
        assert_eq!(back.index_of_ack(12), Some(1));
        assert_eq!(back.index_of_ack(11), None);
        assert_eq!(back.ack_offset_by_index(1), 12);
        // An old checkpoint without `d`, in Java's long names.
        let old: PopCheckPoint =
            remoting_codec::fastjson::from_str(r#"{"startOffset":5,"num":3,"topic":"T"}"#).unwrap();
        assert_eq!(old.index_of_ack(7), Some(2));
        assert_eq!(old.index_of_ack(8), None);
        assert_eq!(ck.unique_id(), "T@1@10@G@1000@b@ck");
    }

    #[test]
    fn ack_json_and_unique_ids() {
        let ack = AckMsg {
            ack_offset: 12,
            broker_name: Some("b".into()),
            consumer_group: Some("G".into()),
            pop_time: 1000,
            queue_id: 1,
            start_offset: 10,
            topic: Some("T".into()),
            ack_offset_list: None,
        };
        assert_eq!(
            remoting_codec::fastjson::to_string(&ack).unwrap(),
            r#"{"ao":12,"bn":"b","c":"G","pt":1000,"q":1,"so":10,"t":"T"}"#
        );
        assert_eq!(ack.unique_id(), "T@1@12@G@1000@b@ack");
        let batch = AckMsg {
            ack_offset: -1,
            ack_offset_list: Some(vec![10, 12]),
            ..ack
        };
        assert_eq!(batch.unique_id(), "T@1@[10, 12]@G@1000@bAck");
        let msg = ack_message(&batch, 5000, "R", 3, "127.0.0.1:1".parse().unwrap(), 7);
        assert_eq!(msg.properties.get(TIMER_DELIVER_MS), Some("6000"));
        assert_eq!(msg.properties.tags(), Some(BATCH_ACK_TAG));
    }
}
