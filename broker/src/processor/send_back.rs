//! CONSUMER_SEND_MSG_BACK (36): a push consumer hands back a message it failed to consume
//! (Java 4.9.8 `SendMessageProcessor.asyncConsumerSendMsgBack`).
//!
//! Order of checks, as Java, each with Java's code and remark: the subscription group must exist
//! or be auto-created (SUBSCRIPTION_GROUP_NOT_EXIST); the broker must be writeable
//! (NO_PERMISSION); a group with `retryQueueNums <= 0` answers SUCCESS and stores nothing;
//! `%RETRY%<group>` is created (`createTopicInSendMessageBackMethod`: the group's retryQueueNums,
//! perm 6, unit-sub sysFlag 0x2 in unit mode; registered with the namesrv like any new topic)
//! and must be writeable (NO_PERMISSION); the original must be found at the header's commitlog
//! `offset` (SYSTEM_ERROR `look message by offset failed, <offset>`).
//!
//! What is stored: the original's body (still compressed if it was), flag, sysFlag, born
//! timestamp and host, store host and properties, with `reconsumeTimes + 1`, into a random
//! queue of the retry topic, and these properties added (Java puts them into the original's
//! own property map, so the stored string is that map in HashMap order):
//! - `RETRY_TOPIC` = the original's topic, unless already set (a message sent back again keeps
//!   the first topic);
//! - `WAIT` = false (the put does not wait for a SYNC_FLUSH);
//! - `DELAY` = the header's level, or 3 + reconsumeTimes when it is 0; the store then parks the
//!   message in SCHEDULE_TOPIC_XXXX until the schedule service delivers it to the retry topic;
//! - `ORIGIN_MESSAGE_ID` = the original's offsetMsgId, unless already set.
//!
//! When the original's reconsumeTimes reached the maximum (the header's `maxReconsumeTimes` from
//! clients of V3_4_9 or later, else the group's `retryMaxTimes`) or the level is negative, the
//! message goes to `%DLQ%<group>` (1 queue, perm 6 in 4.9.8, created on first use) with
//! `DELAY` = 0, so it is stored at once. The DLQ is an ordinary topic for the store: its
//! records are indexed by key and uniq key like any other.
//!
//! Any put outcome other than PUT_OK (FLUSH_DISK_TIMEOUT included) is SYSTEM_ERROR with the
//! status name as remark. 5.x differences a client could see: none on a single master (5.x
//! writes this broker as store host, where 4.9.8 keeps the original's; the same address here).

use remoting_codec::code::{request, response, version};
use remoting_codec::message::ids::OffsetMessageId;
use remoting_codec::message::message_const::{
    PROPERTY_DELAY_TIME_LEVEL, PROPERTY_ORIGIN_MESSAGE_ID, PROPERTY_RETRY_TOPIC,
    PROPERTY_WAIT_STORE_MSG_OK,
};
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::perm;
use remoting_codec::protocol::transaction::ConsumerSendMsgBackRequestHeader;
use remoting_codec::RemotingCommand;
use store::{MessageStore, PutMessageResult, PutMessageStatus};

use store::SCHEDULE_TOPIC;

use super::{faq_suggest_todo, Refusal, Route};
use crate::stats::BrokerStatsManager;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::validator::{dlq_topic, retry_topic};
use crate::topic::{random_queue_id, TopicConfigManager, DLQ_NUMS_PER_GROUP};

/// `TopicSysFlag.buildSysFlag(false, true)`: a unit-mode consumer's retry topic.
const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// What the handler works on: the broker's managers, its store and two settings.
pub(crate) struct SendBack<'a> {
    pub groups: &'a SubscriptionGroupManager,
    pub topics: &'a TopicConfigManager,
    pub store: &'a MessageStore,
    pub broker_permission: i32,
    pub broker_ip1: &'a str,
    pub stats: &'a BrokerStatsManager,
}

/// The answer: Java's code and remark (the response has no header and no body).
pub(crate) type Answer = Result<(), Refusal>;

/// The lookup reads the mapped commitlog at random and the put takes the store's lock: a
/// blocking thread.
pub(super) const ROUTES: &[Route] = &[Route::blocking(
    request::CONSUMER_SEND_MSG_BACK,
    |cx, req| {
        let header: ConsumerSendMsgBackRequestHeader = req.decode_header()?;
        let c = &cx.ctrl;
        SendBack {
            groups: &c.subscription_group_manager,
            topics: &c.topic_config_manager,
            store: &c.store,
            broker_permission: c.configuration.broker(|b| b.broker_permission),
            broker_ip1: &c.broker_config.broker_ip1,
            stats: &c.broker_stats_manager,
        }
        .consumer_send_msg_back(req.version, &header)?;
        Ok(RemotingCommand::response_to(&req, response::SUCCESS).into())
    },
)];

impl SendBack<'_> {
    /// The whole of `asyncConsumerSendMsgBack`: checks, the new message, the put, the answer.
    pub(crate) fn consumer_send_msg_back(
        &self,
        request_version: i32,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Answer {
        match self.build(request_version, header) {
            Ok(Some(msg)) => {
                let parked_in = self.store.schedule_redirect_level(&msg).map(|l| l - 1);
                let back_topic = msg
                    .properties
                    .retry_topic()
                    .unwrap_or(&msg.topic)
                    .to_owned();
                let to_dlq = msg.topic.starts_with("%DLQ%");
                let result = self.store.put_message(msg);
                if result.status == PutMessageStatus::PutOk {
                    self.count(&header.group, &back_topic, parked_in, &result);
                    if to_dlq {
                        let origin = header.origin_topic.as_deref().unwrap_or(&back_topic);
                        self.stats.on_send_to_dlq(&header.group, origin);
                    }
                }
                answer(result)
            }
            Ok(None) => Ok(()),
            Err(refusal) => Err(refusal),
        }
    }

    /// Java's statistics of a stored send-back: SNDBCK_PUT_NUMS under the original topic
    /// (its `RETRY_TOPIC` when it was a retry already) and the group; when the store parked
    /// the message in `SCHEDULE_TOPIC_XXXX` (queue `parked_in`), one put of that topic.
    fn count(&self, group: &str, back_topic: &str, parked_in: Option<i32>, r: &PutMessageResult) {
        if let Some(queue_id) = parked_in {
            let bytes = r.append.as_ref().map_or(0, |a| a.wrote_bytes as i64);
            self.stats.inc_topic_put(SCHEDULE_TOPIC, bytes);
            self.stats.inc_queue_put(SCHEDULE_TOPIC, queue_id, 1, bytes);
        }
        self.stats.inc_send_back_nums(group, back_topic);
    }

    /// The message to store, `None` when the group keeps no retry queues, or the refusal.
    fn build(
        &self,
        request_version: i32,
        header: &ConsumerSendMsgBackRequestHeader,
    ) -> Result<Option<StoredMessage>, Refusal> {
        let group = &header.group;
        let Some(group_config) = self.groups.find_subscription_group_config(group) else {
            return Err(Refusal::new(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!(
                    "subscription group not exist, {group} {}",
                    faq_suggest_todo()
                ),
            ));
        };
        if !perm::is_writeable(self.broker_permission) {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                format!(
                    "the broker[{}] sending message is forbidden",
                    self.broker_ip1
                ),
            ));
        }
        if group_config.retry_queue_nums <= 0 {
            return Ok(None);
        }

        let mut topic = retry_topic(group);
        let mut queue_id = random_queue_id(group_config.retry_queue_nums);
        let topic_sys_flag = if header.unit_mode {
            TOPIC_SYS_FLAG_UNIT_SUB
        } else {
            0
        };
        // Java answers SYSTEM_ERROR "topic[..] not exist" when this returns null, which happens
        // only when its table lock times out; ours always returns the topic.
        let retry_config = self
            .topics
            .create_topic_in_send_message_back_method(
                &topic,
                group_config.retry_queue_nums,
                perm::WRITE | perm::READ,
                topic_sys_flag,
            )
            .config;
        if !perm::is_writeable(retry_config.perm) {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                format!("the topic[{topic}] sending message is forbidden"),
            ));
        }

        let Some(original) = self.store.look_message_by_offset(header.offset) else {
            return Err(Refusal::new(
                response::SYSTEM_ERROR,
                format!("look message by offset failed, {}", header.offset),
            ));
        };
        let mut properties = original.properties.clone();
        if properties.retry_topic().is_none() {
            properties.insert(PROPERTY_RETRY_TOPIC, original.topic.as_str());
        }
        properties.insert(PROPERTY_WAIT_STORE_MSG_OK, "false");

        let mut max_reconsume_times = group_config.retry_max_times;
        if request_version >= version::V3_4_9 {
            if let Some(times) = header.max_reconsume_times {
                max_reconsume_times = times;
            }
        }
        let delay_level =
            if original.reconsume_times >= max_reconsume_times || header.delay_level < 0 {
                topic = dlq_topic(group);
                queue_id = random_queue_id(DLQ_NUMS_PER_GROUP);
                self.topics.create_topic_in_send_message_back_method(
                    &topic,
                    DLQ_NUMS_PER_GROUP,
                    perm::WRITE | perm::READ,
                    0,
                );
                0
            } else if header.delay_level == 0 {
                3 + original.reconsume_times
            } else {
                header.delay_level
            };
        properties.insert(PROPERTY_DELAY_TIME_LEVEL, delay_level.to_string());
        if properties
            .origin_message_id()
            .is_none_or(|id| id.trim().is_empty())
        {
            // Java's decoded `msgId` of a stored record is its offsetMsgId.
            let id = OffsetMessageId::new(original.store_host, original.commit_log_offset);
            properties.insert(PROPERTY_ORIGIN_MESSAGE_ID, id.to_string());
        }
        // 4.9.8 writes the properties without the trailing separator, in HashMap order.
        properties.set_trailing_separator(false);
        properties.sort_in_java_hash_map_order();

        Ok(Some(StoredMessage {
            topic,
            queue_id,
            flag: original.flag,
            sys_flag: original.sys_flag,
            born_timestamp: original.born_timestamp,
            born_host: original.born_host,
            store_host: original.store_host,
            reconsume_times: original.reconsume_times + 1,
            body: original.body,
            properties,
            ..StoredMessage::default()
        }))
    }
}

/// Only PUT_OK is a success here; anything else is SYSTEM_ERROR named after the status.
fn answer(result: PutMessageResult) -> Answer {
    if result.status == PutMessageStatus::PutOk {
        return Ok(());
    }
    Err(Refusal::system_error(put_status_name(result.status)))
}

/// Java's `PutMessageStatus.name()`.
fn put_status_name(status: PutMessageStatus) -> &'static str {
    match status {
        PutMessageStatus::PutOk => "PUT_OK",
        PutMessageStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
        PutMessageStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
        PutMessageStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        PutMessageStatus::ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
        PutMessageStatus::CreateMappedFileFailed => "CREATE_MAPPED_FILE_FAILED",
        PutMessageStatus::MessageIllegal => "MESSAGE_ILLEGAL",
        PutMessageStatus::PropertiesSizeExceeded => "PROPERTIES_SIZE_EXCEEDED",
        PutMessageStatus::OsPageCacheBusy => "OS_PAGECACHE_BUSY",
        PutMessageStatus::UnknownError => "UNKNOWN_ERROR",
        PutMessageStatus::WheelTimerFlowControl => "WHEEL_TIMER_FLOW_CONTROL",
        PutMessageStatus::WheelTimerMsgIllegal => "WHEEL_TIMER_MSG_ILLEGAL",
        PutMessageStatus::WheelTimerNotEnable => "WHEEL_TIMER_NOT_ENABLE",
    }
}

#[cfg(test)]
#[path = "send_back_tests.rs"]
mod tests;
