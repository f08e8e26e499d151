//! [`PopService`]: POP, ACK / BATCH_ACK and CHANGE_INVISIBLE_TIME on plain arguments (see the
//! module doc of [`crate::pop`] for what Java does and the order of its checks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use remoting_codec::code::response;
use remoting_codec::message::message_const::PROPERTY_POP_CK;
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::perm;
use remoting_codec::protocol::pop::{
    append_msg_offset_info, append_start_offset_info, ExtraInfo, POP_ORDER_REVIVE_QUEUE,
};
use store::{GetMessageStatus, MessageFilter, PutMessageStatus};

use super::checkpoint::{ck_message, revive_topic, PopCheckPoint};
use super::order_info::OrderInfoManager;
use super::{PopConfig, PopPolling, QueueLocks};

// ACK, BATCH_ACK and CHANGE_INVISIBLE_TIME: more of `impl PopService`.
#[path = "ack.rs"]
mod ack;
use crate::consumer_filter::SubscriptionFilter;
use crate::controller::BrokerController;
use crate::processor::Refusal;

/// One POP request (the fields of `PopMessageRequestHeader` the logic uses).
#[derive(Clone, Debug)]
pub struct PopRequest {
    pub group: String,
    pub topic: String,
    /// −1: every queue of the topic.
    pub queue_id: i32,
    pub max_msg_nums: i32,
    pub invisible_time: i64,
    /// `ConsumeInitMode`: 0 MIN (from the first message), 1 MAX (from the last).
    pub init_mode: i32,
    pub order: bool,
    pub attempt_id: Option<String>,
    /// The expression filter, when the request has one.
    pub filter: Option<Arc<SubscriptionFilter>>,
    /// The client's address, for the offset commit logs.
    pub peer: String,
}

/// What a pop found: the records (retry ones re-encoded under the topic with `POP_CK`) and
/// the values of `PopMessageResponseHeader`.
#[derive(Clone, Debug, Default)]
pub struct Popped {
    pub messages: Vec<Bytes>,
    pub pop_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    pub rest_num: i64,
    pub start_offset_info: String,
    pub msg_offset_info: String,
    pub order_count_info: Option<String>,
}

/// One receipt handle to ack (ACK_MESSAGE).
#[derive(Clone, Debug)]
pub struct AckRequest {
    pub group: String,
    pub topic: String,
    pub queue_id: i32,
    pub extra_info: String,
    pub offset: i64,
    pub peer: String,
}

/// CHANGE_MESSAGE_INVISIBLETIME.
#[derive(Clone, Debug)]
pub struct ChangeRequest {
    pub ack: AckRequest,
    pub invisible_time: i64,
}

/// The POP machinery of one broker.
pub struct PopService {
    pub config: PopConfig,
    pub revive_topic: String,
    broker_name: String,
    ck_counter: AtomicU64,
    pub locks: QueueLocks,
    pub order_info: OrderInfoManager,
    pub polling: Arc<PopPolling>,
}

/// Java's `PutMessageResult.isOk()` for a checkpoint or ack put.
fn put_ok(status: PutMessageStatus) -> bool {
    matches!(
        status,
        PutMessageStatus::PutOk
            | PutMessageStatus::FlushDiskTimeout
            | PutMessageStatus::FlushSlaveTimeout
            | PutMessageStatus::SlaveNotAvailable
    )
}

/// The exception text Java's remoting layer answers (SYSTEM_ERROR) for a receipt handle its
/// `ExtraInfoUtil` getters cannot read.
fn bad_extra_info(extra_info: &str) -> Refusal {
    Refusal::system_error(format!(
        "java.lang.IllegalArgumentException: bad extraInfo [{extra_info}]"
    ))
}

impl PopService {
    /// `order_info`: [`OrderInfoManager::open`] on the store (or a default one in memory).
    pub fn new(
        config: PopConfig,
        cluster: &str,
        broker_name: &str,
        order_info: OrderInfoManager,
    ) -> Self {
        PopService {
            config,
            revive_topic: revive_topic(cluster),
            broker_name: broker_name.to_owned(),
            ck_counter: AtomicU64::new(0),
            locks: QueueLocks::default(),
            order_info,
            polling: Arc::new(PopPolling::default()),
        }
    }

    /// The revive topic exists (5.x creates it at start: reviveQueueNum queues, perm 6).
    pub fn ensure_revive_topic(&self, ctrl: &BrokerController) {
        if ctrl
            .topic_config_manager
            .select_topic_config(&self.revive_topic)
            .is_none()
        {
            let mut config = remoting_codec::protocol::common::TopicConfig::new(&self.revive_topic);
            config.read_queue_nums = self.config.revive_queue_num;
            config.write_queue_nums = self.config.revive_queue_num;
            config.perm = perm::READ | perm::WRITE;
            ctrl.topic_config_manager.update_topic_config(config);
        }
    }

    /// Java's checks of a POP request, in its order (the exp filter is the caller's).
    pub fn check(
        &self,
        ctrl: &BrokerController,
        req: &PopRequest,
    ) -> Result<remoting_codec::protocol::common::TopicConfig, Refusal> {
        let ip = &ctrl.broker_config.broker_ip1;
        if !perm::is_readable(ctrl.configuration.broker(|b| b.broker_permission)) {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                format!("the broker[{ip}] pop message is forbidden"),
            ));
        }
        if req.max_msg_nums > 32 {
            return Err(Refusal::new(
                response::INVALID_PARAMETER,
                format!("the broker[{ip}] pop message's num is greater than 32"),
            ));
        }
        if !ctrl.store.config().timer_wheel_enable {
            return Err(Refusal::system_error(format!(
                "the broker[{ip}] pop message is forbidden because timerWheelEnable is false"
            )));
        }
        self.check_topic_and_group(ctrl, &req.group, &req.topic, req.queue_id, &req.peer)
    }

    /// The checks POP, PEEK, NOTIFICATION and POLLING_INFO share, after the broker's own: the
    /// topic, its read permission and queues, the group and its consumeEnable.
    pub fn check_topic_and_group(
        &self,
        ctrl: &BrokerController,
        group_name: &str,
        topic_name: &str,
        queue_id: i32,
        peer: &str,
    ) -> Result<remoting_codec::protocol::common::TopicConfig, Refusal> {
        let Some(topic) = ctrl.topic_config_manager.select_topic_config(topic_name) else {
            return Err(Refusal::new(
                response::TOPIC_NOT_EXIST,
                format!(
                    "topic[{topic_name}] not exist, apply first please! {}",
                    crate::processor::faq_suggest_todo()
                ),
            ));
        };
        if !perm::is_readable(topic.perm) {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                format!("the topic[{topic_name}] peeking message is forbidden"),
            ));
        }
        if queue_id >= topic.read_queue_nums {
            return Err(Refusal::new(
                response::INVALID_PARAMETER,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic_name}] topicConfig.readQueueNums:[{}] consumer:[{peer}]",
                    topic.read_queue_nums
                ),
            ));
        }
        let Some(group) = ctrl
            .subscription_group_manager
            .find_subscription_group_config(group_name)
        else {
            return Err(Refusal::new(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group [{group_name}] does not exist, {}",
                    crate::processor::faq_suggest_todo()
                ),
            ));
        };
        if !group.consume_enable {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                format!("subscription group no permission, {group_name}"),
            ));
        }
        Ok(topic)
    }

    /// One POP over the retry topic and the topic's queues (after [`check`](Self::check)).
    /// An empty [`Popped::messages`] is Java's "nothing found" (the caller may park).
    pub fn pop(&self, ctrl: &BrokerController, req: &PopRequest, now: i64) -> Popped {
        let read_queues = ctrl
            .topic_config_manager
            .select_topic_config(&req.topic)
            .map_or(0, |t| t.read_queue_nums);
        let revive_qid = if req.order {
            POP_ORDER_REVIVE_QUEUE
        } else {
            (self.ck_counter.fetch_add(1, Ordering::Relaxed)
                % self.config.revive_queue_num.max(1) as u64) as i32
        };
        let mut out = Popped {
            pop_time: now,
            invisible_time: req.invisible_time,
            revive_qid,
            order_count_info: req.order.then(String::new),
            ..Popped::default()
        };
        let random_q = (now.unsigned_abs() % 100) as i32;
        let need_retry = random_q < self.config.pop_from_retry_probability;
        let retry_topic = self.config.retry_topic(&req.topic, &req.group);
        if need_retry && !req.order {
            self.pop_from_topic(ctrl, req, &retry_topic, true, random_q, &mut out);
        }
        if req.queue_id < 0 {
            for i in 0..read_queues {
                let q = (random_q + i) % read_queues;
                self.pop_from_queue(ctrl, req, &req.topic, false, q, &mut out);
            }
        } else {
            self.pop_from_queue(ctrl, req, &req.topic, false, req.queue_id, &mut out);
        }
        if !need_retry && (out.messages.len() as i32) < req.max_msg_nums && !req.order {
            self.pop_from_topic(ctrl, req, &retry_topic, true, random_q, &mut out);
        }
        out
    }

    fn pop_from_topic(
        &self,
        ctrl: &BrokerController,
        req: &PopRequest,
        topic: &str,
        is_retry: bool,
        random_q: i32,
        out: &mut Popped,
    ) {
        let Some(config) = ctrl.topic_config_manager.select_topic_config(topic) else {
            return;
        };
        let n = config.read_queue_nums;
        for i in 0..n {
            self.pop_from_queue(ctrl, req, topic, is_retry, (random_q + i) % n, out);
        }
    }

    /// `popMsgFromQueue`.
    fn pop_from_queue(
        &self,
        ctrl: &BrokerController,
        req: &PopRequest,
        topic: &str,
        is_retry: bool,
        queue_id: i32,
        out: &mut Popped,
    ) {
        let store = &ctrl.store;
        let offsets = &ctrl.consumer_offset_manager;
        let Some(_guard) = self
            .locks
            .try_lock(QueueLocks::key(topic, &req.group, queue_id))
        else {
            if !req.order {
                let offset = self.pop_offset(ctrl, req, topic, queue_id, false);
                out.rest_num += store.max_offset_in_queue(topic, queue_id) - offset;
            }
            return;
        };
        let mut offset = self.pop_offset(ctrl, req, topic, queue_id, true);
        if req.order
            && self.order_info.check_block(
                req.attempt_id.as_deref(),
                topic,
                &req.group,
                queue_id,
                req.invisible_time,
                out.pop_time,
            )
        {
            return;
        }
        let want = (req.max_msg_nums as usize).saturating_sub(out.messages.len());
        if want == 0 {
            out.rest_num += store.max_offset_in_queue(topic, queue_id) - offset;
            return;
        }
        let filter = req.filter.as_deref().map(|f| f as &dyn MessageFilter);
        let mut result = store.get_message(topic, queue_id, offset, want, filter);
        if matches!(
            result.status,
            GetMessageStatus::OffsetTooSmall
                | GetMessageStatus::OffsetOverflowBadly
                | GetMessageStatus::OffsetFoundNull
        ) {
            offsets.commit_offset(
                &req.peer,
                &req.group,
                topic,
                queue_id,
                result.next_begin_offset,
            );
            offset = result.next_begin_offset;
            result = store.get_message(topic, queue_id, offset, want, filter);
        }
        if !result.messages.is_empty() {
            ctrl.broker_stats_manager.on_pop_found(
                &req.group,
                topic,
                result.messages.len() as i64,
                result.buffer_total_size as i64,
            );
            if req.order {
                let info = out.order_count_info.get_or_insert_with(String::new);
                self.order_info.update(
                    req.attempt_id.as_deref(),
                    topic,
                    &req.group,
                    queue_id,
                    out.pop_time,
                    req.invisible_time,
                    &result.message_queue_offsets,
                    info,
                );
                offsets.commit_offset(&req.peer, &req.group, topic, queue_id, offset);
            } else {
                let ck = PopCheckPoint::new(
                    &req.group,
                    topic,
                    queue_id,
                    offset,
                    &result.message_queue_offsets,
                    out.pop_time,
                    req.invisible_time,
                    &self.broker_name,
                );
                self.ensure_revive_topic(ctrl);
                let put = store.put_message(ck_message(
                    &ck,
                    &self.revive_topic,
                    out.revive_qid,
                    ctrl.store_host,
                    out.pop_time,
                ));
                if !put_ok(put.status) {
                    tracing::warn!("pop checkpoint not stored: {:?}", put.status);
                    out.rest_num += store.max_offset_in_queue(topic, queue_id) - offset;
                    return;
                }
                // PopBufferMergeService commits the offset once the checkpoint is stored.
                offsets.commit_offset(
                    &req.peer,
                    &req.group,
                    topic,
                    queue_id,
                    result.next_begin_offset,
                );
            }
            append_start_offset_info(&mut out.start_offset_info, topic, queue_id, offset);
            append_msg_offset_info(
                &mut out.msg_offset_info,
                topic,
                queue_id,
                &result.message_queue_offsets,
            );
        } else if matches!(
            result.status,
            GetMessageStatus::NoMatchedMessage
                | GetMessageStatus::OffsetFoundNull
                | GetMessageStatus::MessageWasRemoving
                | GetMessageStatus::NoMatchedLogicQueue
        ) && result.next_begin_offset > -1
        {
            // `addCkMock` commits the offset past the filtered messages.
            offsets.commit_offset(
                &req.peer,
                &req.group,
                topic,
                queue_id,
                result.next_begin_offset,
            );
        }
        out.rest_num += result.max_offset - result.next_begin_offset;
        for (record, queue_offset) in result.messages.iter().zip(&result.message_queue_offsets) {
            if !is_retry {
                out.messages.push(record.clone());
                continue;
            }
            // popResponseReturnActualRetryTopic=false: the record under the topic, with POP_CK.
            let Ok(mut msg) = StoredMessage::decode(record) else {
                continue;
            };
            if msg.properties.get(PROPERTY_POP_CK).is_none() {
                let ck = ExtraInfo::build(
                    offset,
                    out.pop_time,
                    req.invisible_time,
                    out.revive_qid,
                    &msg.topic,
                    &self.broker_name,
                    msg.queue_id,
                    Some(*queue_offset),
                );
                msg.properties.insert(PROPERTY_POP_CK, ck);
            }
            msg.topic = req.topic.clone();
            let mut buf = BytesMut::new();
            if msg.encode_into(&mut buf).is_ok() {
                out.messages.push(buf.freeze());
            }
        }
    }

    /// `getPopOffset` (with `init`, `getInitOffset` commits the start offset it chose).
    fn pop_offset(
        &self,
        ctrl: &BrokerController,
        req: &PopRequest,
        topic: &str,
        queue_id: i32,
        init: bool,
    ) -> i64 {
        let offsets = &ctrl.consumer_offset_manager;
        let offset = offsets.query_offset(&req.group, topic, queue_id);
        if offset >= 0 {
            return offset;
        }
        let store = &ctrl.store;
        let min = store.min_offset_in_queue(topic, queue_id).max(0);
        let offset = if req.init_mode == 0 || topic.starts_with("%RETRY%") {
            min
        } else if min <= 0 && store.max_offset_in_queue(topic, queue_id) > 0 {
            // initPopOffsetByCheckMsgInMem: a queue still holding its first message starts at 0.
            0
        } else {
            (store.max_offset_in_queue(topic, queue_id) - 1).max(0)
        };
        if init {
            offsets.commit_offset("getPopOffset", &req.group, topic, queue_id, offset);
        }
        offset
    }
}
