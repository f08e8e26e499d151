//! Java's `TransactionalMessageBridge` (with `TransactionalMessageUtil` and the default check
//! listener's discard): how half and op messages are written and read back.
//!
//! Property strings: Java builds a stored record's properties string from the message's
//! `HashMap` at one moment and keeps changing the map afterwards (`WAIT=false`, a `UNIQ_KEY`,
//! cleared keys), so several records keep pairs their map no longer has. Each function below
//! says which pairs its record carries; every string is written in Java's HashMap order.

use std::net::SocketAddr;

use bytes::Bytes;
use remoting_codec::message::message_const::{
    PROPERTY_REAL_QUEUE_ID, PROPERTY_REAL_TOPIC, PROPERTY_TAGS,
    PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET, PROPERTY_WAIT_STORE_MSG_OK,
};
use remoting_codec::message::sysflag::message_sys_flag::{
    reset_transaction_value, TRANSACTION_NOT_TYPE,
};
use remoting_codec::message::{MessageProperties, StoredMessage};
use remoting_codec::protocol::{perm, TopicConfig};
use store::{GetMessageStatus, MessageStore, PutMessageResult};

use crate::offset::ConsumerOffsetManager;
use crate::topic::validator::{RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC};
use crate::topic::TopicConfigManager;

/// `MixAll.CID_SYS_RMQ_TRANS`: the group under which the half and op queues' progress is kept
/// in consumerOffset.json.
pub const CID_RMQ_SYS_TRANS: &str = "CID_RMQ_SYS_TRANS";
/// `TransactionalMessageUtil.REMOVETAG`: the tag of an op message ("this half is done").
pub const REMOVE_TAG: &str = "d";
/// `AbstractTransactionalMessageCheckListener.TCMT_QUEUE_NUMS`.
const TRANS_CHECK_MAX_TIME_QUEUE_NUMS: i32 = 1;

/// Java's `PullStatus` as the bridge maps the store's `GetMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullStatus {
    Found,
    NoNewMsg,
    NoMatchedMsg,
    OffsetIllegal,
}

/// Java's `PullResult` of the bridge: `found` is `Some` only for FOUND (Java's
/// `msgFoundList` is null otherwise).
#[derive(Clone, Debug)]
pub struct Pull {
    pub status: PullStatus,
    pub next_begin_offset: i64,
    pub found: Option<Vec<StoredMessage>>,
}

/// The parts of the broker the transaction service reads and writes.
pub struct TransactionalMessageBridge<'a> {
    pub store: &'a MessageStore,
    pub topics: &'a TopicConfigManager,
    pub offsets: &'a ConsumerOffsetManager,
    /// `brokerIP1:listenPort`: born and store host of op messages, and the "client host" of
    /// the offset commits.
    pub store_host: SocketAddr,
}

/// `parseHalfMessageInner`: a PREPARED send as it is stored. `REAL_TOPIC` / `REAL_QID` keep the
/// destination, the transaction bits of sysFlag are cleared (so the store dispatches it to a
/// consume queue), and it goes to `RMQ_SYS_TRANS_HALF_TOPIC` queue 0. The caller's properties
/// must be the whole map (WAIT included: 4.9.8 puts it back into the map before this runs).
pub fn parse_half_message_inner(msg: &mut StoredMessage) {
    msg.properties
        .insert(PROPERTY_REAL_TOPIC, msg.topic.as_str());
    msg.properties
        .insert(PROPERTY_REAL_QUEUE_ID, msg.queue_id.to_string());
    msg.sys_flag = reset_transaction_value(msg.sys_flag, TRANSACTION_NOT_TYPE);
    msg.topic = RMQ_SYS_TRANS_HALF_TOPIC.to_owned();
    msg.queue_id = 0;
    msg.properties.sort_in_java_hash_map_order();
}

impl TransactionalMessageBridge<'_> {
    /// `fetchConsumeOffset`: the committed offset of CID_RMQ_SYS_TRANS, else the queue's minimum.
    pub fn fetch_consume_offset(&self, topic: &str, queue_id: i32) -> i64 {
        match self
            .offsets
            .query_offset(CID_RMQ_SYS_TRANS, topic, queue_id)
        {
            // Java's store creates a missing queue here, so its minimum is 0 (ours says -1,
            // which the check would take for an illegal offset).
            -1 => self.store.min_offset_in_queue(topic, queue_id).max(0),
            offset => offset,
        }
    }

    /// `updateConsumeOffset`.
    pub fn update_consume_offset(&self, topic: &str, queue_id: i32, offset: i64) {
        self.offsets.commit_offset(
            &self.store_host.to_string(),
            CID_RMQ_SYS_TRANS,
            topic,
            queue_id,
            offset,
        );
    }

    /// `fetchMessageQueues`: the queue ids of `topic`, which is created on first use (1 queue,
    /// perm 6) as `selectTopicConfig` does — this is where a 4.9.8 broker creates
    /// RMQ_SYS_TRANS_HALF_TOPIC in topics.json.
    pub fn fetch_message_queues(&self, topic: &str) -> Vec<i32> {
        let config: TopicConfig = match self.topics.select_topic_config(topic) {
            Some(c) => c,
            None => {
                self.topics
                    .create_topic_in_send_message_back_method(topic, 1, perm::WRITE | perm::READ, 0)
                    .config
            }
        };
        (0..config.read_queue_nums.max(0)).collect()
    }

    pub fn get_half_message(&self, queue_id: i32, offset: i64, nums: usize) -> Pull {
        self.get_message(RMQ_SYS_TRANS_HALF_TOPIC, queue_id, offset, nums)
    }

    pub fn get_op_message(&self, queue_id: i32, offset: i64, nums: usize) -> Pull {
        self.get_message(RMQ_SYS_TRANS_OP_HALF_TOPIC, queue_id, offset, nums)
    }

    fn get_message(&self, topic: &str, queue_id: i32, offset: i64, nums: usize) -> Pull {
        let r = self.store.get_message(topic, queue_id, offset, nums, None);
        let status = match r.status {
            GetMessageStatus::Found => PullStatus::Found,
            GetMessageStatus::NoMatchedMessage => PullStatus::NoMatchedMsg,
            GetMessageStatus::NoMessageInQueue | GetMessageStatus::OffsetOverflowOne => {
                PullStatus::NoNewMsg
            }
            GetMessageStatus::MessageWasRemoving
            | GetMessageStatus::NoMatchedLogicQueue
            | GetMessageStatus::OffsetFoundNull
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetTooSmall => PullStatus::OffsetIllegal,
        };
        let found = (status == PullStatus::Found).then(|| {
            r.messages
                .iter()
                .filter_map(|b| StoredMessage::decode(b).ok())
                .collect()
        });
        Pull {
            status,
            next_begin_offset: r.next_begin_offset,
            found,
        }
    }

    pub fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<StoredMessage> {
        self.store.look_message_by_offset(commit_log_offset)
    }

    /// `putMessage`: true on PUT_OK.
    pub fn put_message(&self, msg: StoredMessage) -> bool {
        let (topic, queue_id) = (msg.topic.clone(), msg.queue_id);
        let r = self.store.put_message(msg);
        if !r.is_ok() {
            tracing::error!(
                "put message failed ({:?}), topic: {topic}, queueId: {queue_id}",
                r.status
            );
        }
        r.is_ok()
    }

    pub fn put_message_return_result(&self, msg: StoredMessage) -> PutMessageResult {
        self.store.put_message(msg)
    }

    /// `putOpMessage(half, "d")` (`addRemoveTagInTransactionOp`): marks a half message done.
    /// The op message goes to RMQ_SYS_TRANS_OP_HALF_TOPIC, same queue id as the half, body =
    /// the half's queue offset as text. Java builds it as `new Message(opTopic, "d", body)`,
    /// whose map is {TAGS=d, WAIT=true}, and writes that string before it sets WAIT=false and
    /// a UNIQ_KEY in the map: the record carries `WAIT=true` and `TAGS=d` only. Born and store
    /// host are the broker's; sysFlag, flag 0. Java ignores the outcome of the put.
    pub fn put_op_message(&self, half: &StoredMessage, now: i64) {
        let mut properties = MessageProperties::new();
        properties.insert(PROPERTY_TAGS, REMOVE_TAG);
        properties.insert(PROPERTY_WAIT_STORE_MSG_OK, "true");
        properties.sort_in_java_hash_map_order();
        self.put_message(StoredMessage {
            topic: RMQ_SYS_TRANS_OP_HALF_TOPIC.to_owned(),
            queue_id: half.queue_id,
            body: Bytes::from(half.queue_offset.to_string()),
            born_timestamp: now,
            born_host: self.store_host,
            store_host: self.store_host,
            properties,
            ..StoredMessage::default()
        });
    }

    /// `resolveDiscardMsg` of the default check listener: a half message checked
    /// `transactionCheckMax` times (or older than the commitlog's reserved time) is moved to
    /// TRANS_CHECK_MAX_TIME_TOPIC (1 queue, perm 6, created on first use) with its body, flag,
    /// sysFlag, hosts, born time, reconsume times and properties as read.
    pub fn resolve_discard_msg(&self, msg: &StoredMessage) {
        tracing::error!(
            "half message {} (commitlog offset {}) has been checked too many times, so discard it by moving it to system topic TRANS_CHECK_MAX_TIME_TOPIC",
            msg.msg_id(),
            msg.commit_log_offset
        );
        let config = self
            .topics
            .create_topic_of_tran_check_max_time(
                TRANS_CHECK_MAX_TIME_QUEUE_NUMS,
                perm::READ | perm::WRITE,
            )
            .config;
        let mut properties = msg.properties.clone();
        properties.sort_in_java_hash_map_order();
        let inner = StoredMessage {
            topic: config.topic_name,
            queue_id: 0,
            flag: msg.flag,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            born_host: msg.born_host,
            store_host: msg.store_host,
            reconsume_times: msg.reconsume_times,
            body: msg.body.clone(),
            properties,
            ..StoredMessage::default()
        };
        let r = self.store.put_message(inner);
        if !r.is_ok() {
            tracing::error!(
                "put checked-too-many-time half message to TRANS_CHECK_MAX_TIME_TOPIC failed: {:?}",
                r.status
            );
        }
    }
}

/// `renewHalfMessageInner`: the copy of a half message put back into the half queue before a
/// check. Kept: topic, queue, body, sysFlag, born time and host, store host, and the properties
/// string of `msg`'s map as it is now (TRANSACTION_CHECK_TIMES already updated). Not kept, as in
/// Java: flag and reconsume times (0). Java shares the map with `msg` and then sets WAIT=false
/// in it, after the copy's string was made: so the copy's record keeps `msg`'s WAIT while `msg`
/// (the body of the CHECK_TRANSACTION_STATE request) gets `WAIT=false`.
pub fn renew_half_message_inner(msg: &mut StoredMessage) -> StoredMessage {
    let mut properties = msg.properties.clone();
    properties.sort_in_java_hash_map_order();
    msg.properties.insert(PROPERTY_WAIT_STORE_MSG_OK, "false");
    msg.properties.sort_in_java_hash_map_order();
    StoredMessage {
        topic: msg.topic.clone(),
        queue_id: msg.queue_id,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_host: msg.store_host,
        body: msg.body.clone(),
        properties,
        ..StoredMessage::default()
    }
}

/// `renewImmunityHalfMessageInner`: as [`renew_half_message_inner`], plus
/// TRAN_PREPARED_QUEUE_OFFSET (kept if present, else `msg`'s queue offset); this string is
/// made after WAIT=false went into the shared map, so the record carries `WAIT=false`.
pub fn renew_immunity_half_message_inner(msg: &mut StoredMessage) -> StoredMessage {
    let mut inner = renew_half_message_inner(msg);
    let prepared = msg
        .properties
        .get(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET)
        .map(str::to_owned)
        .unwrap_or_else(|| msg.queue_offset.to_string());
    msg.properties
        .insert(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET, prepared);
    msg.properties.sort_in_java_hash_map_order();
    inner.properties = msg.properties.clone();
    inner
}
