//! 5.x POP consumption, the broker side: what 5.3.3's `PopMessageProcessor`,
//! `AckMessageProcessor`, `ChangeInvisibleTimeProcessor`, `PopReviveService`,
//! `PopLongPollingService`, `QueueLockManager` and `ConsumerOrderInfoManager` do, as a
//! [`PopService`] the remoting processors (`processor::pop`, `processor::ack`,
//! `processor::change_invisible`, `processor::notification`) and a gRPC front end call with
//! plain arguments — no `RemotingCommand`:
//!
//! ```ignore
//! let popped = ctrl.pop.pop(&ctrl, &PopRequest { .. }, now)?;   // messages + response header
//! ctrl.pop.ack(&ctrl, &AckRequest { .. }, now)?;                // one receipt handle
//! ctrl.pop.batch_ack(&ctrl, &batch_ack, broker_name, peer, now);
//! let header = ctrl.pop.change_invisible_time(&ctrl, &ChangeRequest { .. }, now)?;
//! let woken = ctrl.pop.polling.waiter(&topic, &group);           // long polling
//! ```
//!
//! How it works, as Java with its defaults (`enablePopBufferMerge=false`,
//! `popConsumerKVServiceEnable=false`):
//! - a pop takes the queue's lock (`topic@group@queueId`, [`QueueLocks`]; a locked queue is
//!   skipped), reads from the group's consumer offset, writes a checkpoint ([`checkpoint`]) to
//!   the revive topic `rmq_sys_REVIVE_LOG_<cluster>` (queue `n mod reviveQueueNum`) and then
//!   moves the group's consumer offset past what it read — the offset advances on pop, not on
//!   ack; 20 % of pops (`popFromRetryProbability`) read the pop retry topic
//!   `%RETRY%<group>_<topic>` first, the others after the topic if the batch is not full;
//! - an ack writes an ack record to the same revive queue; CHANGE_INVISIBLE_TIME writes a new
//!   one-message checkpoint (popTime now) and then acks the old one;
//! - checkpoints and acks reach the revive topic through the timer store (`TIMER_DELIVER_MS`),
//!   at the revive time; the [`revive`] service reads each revive queue from its offset (the
//!   consumer offset of `CID_RMQ_SYS_REVIVE_GROUP`, persisted with consumerOffset.json), pairs
//!   acks with checkpoints and puts every un-acked message into the pop retry topic with
//!   `reconsumeTimes + 1`. A client sends a message that failed too often to `%DLQ%<group>`
//!   with CONSUMER_SEND_MSG_BACK (`processor::send_back`), as the broker does not in 5.3.3 (for
//!   the 5.x gRPC clients the proxy's part does it: [`crate::grpc::receive`]).
//!   Everything is in the commitlog, so acks and checkpoints survive a restart or kill -9;
//!   a revive offset not yet persisted only means a message may be delivered again.
//! - orderly pops: [`order_info`].
//!
//! Java's store creates a consume queue when asked for its min offset, so an unknown queue's
//! min offset is 0 there; ours answers −1, which these modules read as 0.
//!
//! Settings (broker.conf keys of 5.3.3's `BrokerConfig`, Java's defaults): [`PopConfig`].

pub mod checkpoint;
pub mod order_info;
pub mod request_mode;
pub mod revive;
mod service;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use remoting_codec::message::MessageProperties;
use store::MessageArrivingListener;
use tokio::sync::Notify;

pub use service::{AckRequest, ChangeRequest, PopRequest, PopService, Popped};

/// `PopAckConstants.REVIVE_GROUP`: the group whose consumer offsets are the revive offsets.
pub const REVIVE_GROUP: &str = "CID_RMQ_SYS_REVIVE_GROUP";
/// `PopAckConstants.LOCAL_HOST`: the client host of the revive offset commits.
pub const LOCAL_HOST: &str = "127.0.0.1";
/// `PopAckConstants.retryQueueNum`.
pub const RETRY_QUEUE_NUM: i32 = 1;

/// The POP keys of 5.3.3's `BrokerConfig`, with Java's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PopConfig {
    pub revive_queue_num: i32,
    pub revive_interval: i64,
    pub revive_max_slow: i64,
    pub revive_scan_time: i64,
    pub pop_from_retry_probability: i32,
    pub enable_retry_topic_v2: bool,
    pub pop_polling_size: usize,
    pub max_pop_polling_size: usize,
}

impl Default for PopConfig {
    fn default() -> Self {
        PopConfig {
            revive_queue_num: 8,
            revive_interval: 1000,
            revive_max_slow: 3,
            revive_scan_time: 10_000,
            pop_from_retry_probability: 20,
            enable_retry_topic_v2: false,
            pop_polling_size: 1024,
            max_pop_polling_size: 100_000,
        }
    }
}

impl PopConfig {
    /// One broker.conf key: `Ok(true)` when it is one of these.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let v = value.trim();
        fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("{key}: not a number: {v}"))
        }
        match key {
            "reviveQueueNum" => self.revive_queue_num = num::<i32>(key, v)?.max(1),
            "reviveInterval" => self.revive_interval = num::<i64>(key, v)?.max(1),
            "reviveMaxSlow" => self.revive_max_slow = num(key, v)?,
            "reviveScanTime" => self.revive_scan_time = num(key, v)?,
            "popFromRetryProbability" => self.pop_from_retry_probability = num(key, v)?,
            "enableRetryTopicV2" => self.enable_retry_topic_v2 = v.eq_ignore_ascii_case("true"),
            "popPollingSize" => self.pop_polling_size = num(key, v)?,
            "maxPopPollingSize" => self.max_pop_polling_size = num(key, v)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// `KeyBuilder.buildPopRetryTopic`.
    pub fn retry_topic(&self, topic: &str, group: &str) -> String {
        if self.enable_retry_topic_v2 {
            remoting_codec::protocol::pop::pop_retry_topic_v2(topic, group)
        } else {
            remoting_codec::protocol::pop::pop_retry_topic_v1(topic, group)
        }
    }
}

/// `QueueLockManager`: one pop at a time per `topic@group@queueId`; `try_lock` never waits.
#[derive(Default)]
pub struct QueueLocks {
    held: Mutex<HashSet<String>>,
}

/// A held queue lock; dropping it unlocks.
pub struct QueueGuard<'a> {
    locks: &'a QueueLocks,
    key: String,
}

impl Drop for QueueGuard<'_> {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl QueueLocks {
    /// `buildLockKey`.
    pub fn key(topic: &str, group: &str, queue_id: i32) -> String {
        format!("{topic}@{group}@{queue_id}")
    }

    pub fn try_lock(&self, key: String) -> Option<QueueGuard<'_>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.insert(key.clone())
            .then(|| QueueGuard { locks: self, key })
    }

    /// Java's spin in `ackOrderly`: waits (yielding) until the lock is free.
    pub fn lock(&self, key: String) -> QueueGuard<'_> {
        loop {
            if let Some(g) = self.try_lock(key.clone()) {
                return g;
            }
            std::thread::yield_now();
        }
    }
}

/// `PopLongPollingService`: parked pops and NOTIFICATION requests wait on the topic they read
/// (and the group's pop retry topic); a message dispatched to either wakes them, as does an
/// orderly ack that unblocks a queue. A waiter re-runs its request when woken. Parked requests
/// are counted by `topic@group@queueId` (POLLING_INFO answers the count); beyond
/// `popPollingSize` for one key or `maxPopPollingSize` in all a request is not parked
/// (POLLING_FULL).
#[derive(Default)]
pub struct PopPolling {
    topics: Mutex<HashMap<String, Arc<Notify>>>,
    keys: Mutex<HashMap<String, usize>>,
    parked: std::sync::atomic::AtomicUsize,
}

/// A parked request: [`PopPolling::park`], then enable a `notified()` of each notify,
/// re-check, await.
pub struct Parked<'a> {
    polling: &'a PopPolling,
    key: String,
    pub notifies: Vec<Arc<Notify>>,
}

impl Drop for Parked<'_> {
    fn drop(&mut self) {
        self.polling
            .parked
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let mut keys = self.polling.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = keys.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

impl PopPolling {
    fn notify(&self, topic: &str) -> Arc<Notify> {
        let mut t = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        t.entry(topic.to_owned()).or_default().clone()
    }

    /// `KeyBuilder.buildPollingKey`.
    pub fn key(topic: &str, group: &str, queue_id: i32) -> String {
        format!("{topic}@{group}@{queue_id}")
    }

    /// Parks a request counted under `key` on `topics`; None when full.
    pub fn park(&self, key: String, topics: &[String], config: &PopConfig) -> Option<Parked<'_>> {
        let total = self
            .parked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let per_key = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            let n = keys.entry(key.clone()).or_default();
            *n += 1;
            *n
        };
        let parked = Parked {
            polling: self,
            key,
            notifies: topics.iter().map(|t| self.notify(t)).collect(),
        };
        (total < config.max_pop_polling_size && per_key <= config.pop_polling_size + 1)
            .then_some(parked)
    }

    /// The requests parked under `key` (POLLING_INFO).
    pub fn polling_num(&self, key: &str) -> usize {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.get(key).copied().unwrap_or(0)
    }

    /// Wakes every request parked on `topic`.
    pub fn wake(&self, topic: &str) {
        let n = self
            .topics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(topic)
            .cloned();
        if let Some(n) = n {
            n.notify_waiters();
        }
    }
}

impl MessageArrivingListener for PopPolling {
    fn arriving(
        &self,
        topic: &str,
        _queue_id: i32,
        _logic_offset: i64,
        _tags_code: i64,
        _store_timestamp: i64,
        _properties: &MessageProperties,
    ) {
        self.wake(topic);
    }
}

/// The store has one arriving listener: this passes each arrival to the pull hold service and
/// to the POP long polling.
pub struct ArrivingFanOut(pub Vec<Arc<dyn MessageArrivingListener>>);

impl MessageArrivingListener for ArrivingFanOut {
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
        properties: &MessageProperties,
    ) {
        for l in &self.0 {
            l.arriving(
                topic,
                queue_id,
                logic_offset,
                tags_code,
                store_timestamp,
                properties,
            );
        }
    }

    fn arriving_with_bit_map(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
        bit_map: Option<&[u8]>,
        properties: &MessageProperties,
    ) {
        for l in &self.0 {
            l.arriving_with_bit_map(
                topic,
                queue_id,
                logic_offset,
                tags_code,
                store_timestamp,
                bit_map,
                properties,
            );
        }
    }
}
