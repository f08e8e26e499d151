//! The enqueue and dequeue steps of [`TimerMessageStore`] (Java's `enqueue`, `doEnqueue`,
//! `dequeue`, the dequeue get/put services, `convert` and `doPut`).

use std::collections::{HashMap, HashSet, VecDeque};

use remoting_codec::message::message_const::PROPERTY_REAL_TOPIC;
use remoting_codec::message::StoredMessage;

use super::hook::{
    TIMER_DEL_UNIQKEY, TIMER_DEQUEUE_MS, TIMER_ENQUEUE_MS, TIMER_OUT_MS, TIMER_ROLL_TIMES,
};
use super::log::{TimerLogUnit, MAGIC_DEFAULT, MAGIC_DELETE, MAGIC_ROLL};
use super::{Progress, TimerMessageStore, TIMER_TOPIC};
use crate::message_store::MessageStore;
use crate::results::PutMessageStatus;

/// Messages taken from the timer queue per enqueue call.
const ENQUEUE_BATCH: usize = 256;
/// Java's put attempts before giving up on a message (without `timerEnableRetryUntilSuccess`).
const PUT_TRIES: usize = 3;

/// Java's `buildDeleteKey`.
pub fn build_delete_key(real_topic: &str, uniq_key: &str) -> String {
    format!("{real_topic}+{uniq_key}")
}

fn need_roll(magic: i32) -> bool {
    magic & MAGIC_ROLL != 0
}

fn need_delete(magic: i32) -> bool {
    magic & MAGIC_DELETE != 0
}

impl TimerMessageStore {
    /// Java's `enqueue(0)` + the put service: reads the timer queue from `currQueueOffset`.
    /// True when something was taken (call again).
    pub(super) fn enqueue(&self, store: &MessageStore) -> bool {
        let Some(cq) = store.consume_queue(TIMER_TOPIC, 0) else {
            return false;
        };
        let mut p = self.progress();
        if p.curr_queue_offset < cq.min_offset() {
            p.curr_queue_offset = cq.min_offset();
        }
        let Some(entries) = cq.entries_from(p.curr_queue_offset) else {
            p.commit_queue_offset = p.curr_queue_offset;
            return false;
        };
        let mut taken = 0;
        for (index, entry) in entries.take(ENQUEUE_BATCH) {
            if let Some(msg) = store.look_message_by_offset(entry.offset) {
                let delayed = msg
                    .properties
                    .get(TIMER_OUT_MS)
                    .and_then(|v| v.parse().ok());
                match delayed {
                    Some(delayed) if delayed < p.curr_write_time_ms => {
                        // Already due: delivered at once, marked never-enqueued.
                        if self.deliver(store, &msg, i64::MAX, false).is_err() {
                            break;
                        }
                    }
                    Some(delayed) => {
                        if let Err(e) =
                            self.do_enqueue(&mut p, entry.offset, entry.size, delayed, &msg)
                        {
                            tracing::error!("timer enqueue failed: {e}");
                            break;
                        }
                    }
                    None => tracing::error!(
                        "timer message at {} has no usable {TIMER_OUT_MS}, skipped",
                        entry.offset
                    ),
                }
            }
            p.curr_queue_offset = index + 1;
            taken += 1;
        }
        p.commit_queue_offset = p.curr_queue_offset;
        taken > 0
    }

    /// Java's `doEnqueue`: one unit appended and chained into its slot.
    fn do_enqueue(
        &self,
        p: &mut Progress,
        offset_py: i64,
        size_py: i32,
        mut delayed: i64,
        msg: &StoredMessage,
    ) -> Result<(), crate::StoreError> {
        let write_time = p.curr_write_time_ms;
        let window = self.roll_window_slots * self.precision_ms;
        let mut magic = MAGIC_DEFAULT;
        if delayed - write_time >= window {
            magic |= MAGIC_ROLL;
            delayed =
                if delayed - write_time - window < self.roll_window_slots / 3 * self.precision_ms {
                    write_time + self.roll_window_slots / 2 * self.precision_ms
                } else {
                    write_time + window
                };
        }
        let is_delete = msg.properties.contains_key(TIMER_DEL_UNIQKEY);
        if is_delete {
            magic |= MAGIC_DELETE;
        }
        let real_topic = msg.properties.get(PROPERTY_REAL_TOPIC);
        let slot = self.wheel.slot(delayed);
        let unit = TimerLogUnit {
            prev_pos: slot.last_pos,
            magic,
            write_time_ms: write_time,
            delay: (delayed - write_time) as i32,
            offset_py,
            size_py,
            topic_hash: Self::hash_topic(real_topic),
        };
        let pos = self.log.append(&unit.encode())?;
        let first = if slot.first_pos == -1 {
            pos
        } else {
            slot.first_pos
        };
        let num = if is_delete {
            slot.num - 1
        } else {
            slot.num + 1
        };
        self.wheel.put_slot(delayed, first, pos, num, slot.magic);
        self.add_metric(msg, if is_delete { -1 } else { 1 });
        Ok(())
    }

    /// Java's `addMetric`: counts by REAL_TOPIC, never for a message delivered without being
    /// enqueued.
    fn add_metric(&self, msg: &StoredMessage, value: i64) {
        let Some(topic) = msg.properties.get(PROPERTY_REAL_TOPIC) else {
            return;
        };
        if msg.properties.get(TIMER_ENQUEUE_MS) == Some(&i64::MAX.to_string()) {
            return;
        }
        self.metrics.add_and_get(topic, value, (self.clock)());
    }

    /// Java's `dequeue`: delivers the slot at `currReadTimeMs` if it is past. 1: a slot was
    /// delivered, 0: an empty slot was passed, −1: nothing due (or a put failed; the slot is
    /// retried next time).
    pub(super) fn dequeue(&self, store: &MessageStore) -> i32 {
        let mut p = self.progress();
        if p.curr_read_time_ms >= p.curr_write_time_ms {
            return -1;
        }
        let slot = self.wheel.slot(p.curr_read_time_ms);
        if slot.time_ms == -1 {
            self.move_read_time(&mut p);
            return 0;
        }
        let mut deletes = Vec::new();
        let mut normals = VecDeque::new();
        let mut at = slot.last_pos;
        while at != -1 {
            let Some(unit) = self.log.unit_at(at) else {
                break;
            };
            if need_delete(unit.magic) && !need_roll(unit.magic) {
                deletes.push(unit);
            } else {
                normals.push_front(unit);
            }
            at = unit.prev_pos;
        }
        let mut delete_msgs: HashMap<String, StoredMessage> = HashMap::new();
        for unit in &deletes {
            if let Some(msg) = store.look_message_by_offset(unit.offset_py) {
                if let Some(key) = msg.properties.get(TIMER_DEL_UNIQKEY) {
                    delete_msgs.insert(key.to_owned(), msg);
                }
            }
        }
        let mut matched = HashSet::new();
        for unit in &normals {
            let Some(msg) = store.look_message_by_offset(unit.offset_py) else {
                continue;
            };
            if let (Some(uniq), Some(topic)) = (
                msg.properties.uniq_key(),
                msg.properties.get(PROPERTY_REAL_TOPIC),
            ) {
                let key = build_delete_key(topic, uniq);
                if delete_msgs.contains_key(&key) {
                    matched.insert(key);
                    continue;
                }
            }
            if self
                .deliver(store, &msg, unit.write_time_ms, need_roll(unit.magic))
                .is_err()
            {
                return -1;
            }
        }
        // A cancel whose target was not in this slot cancelled nothing: its −1 is undone
        // (Java's `avoidDeleteLose`).
        for (key, msg) in &delete_msgs {
            if !matched.contains(key) {
                self.add_metric(msg, 1);
            }
        }
        self.move_read_time(&mut p);
        1
    }

    fn move_read_time(&self, p: &mut Progress) {
        p.curr_read_time_ms += self.precision_ms;
        p.commit_read_time_ms = p.curr_read_time_ms;
    }

    /// Java's `convert` + `doPut`: the message to its real topic and queue (or, rolled, back
    /// to the timer topic). Err when the put kept failing.
    fn deliver(
        &self,
        store: &MessageStore,
        msg: &StoredMessage,
        enqueue_time: i64,
        roll: bool,
    ) -> Result<(), ()> {
        let mut props = msg.properties.clone();
        if enqueue_time == i64::MAX {
            props.insert(TIMER_ENQUEUE_MS, i64::MAX.to_string());
        }
        let counted = StoredMessage {
            properties: props.clone(),
            ..StoredMessage::default()
        };
        self.add_metric(&counted, -1);
        if !roll && props.contains_key(TIMER_DEL_UNIQKEY) {
            // A cancel message is never delivered itself.
            return Ok(());
        }
        if enqueue_time != -1 {
            props.insert(TIMER_ENQUEUE_MS, enqueue_time.to_string());
        }
        if roll {
            let times = props
                .get(TIMER_ROLL_TIMES)
                .and_then(|v| v.parse::<i32>().ok())
                .map_or(1, |t| t + 1);
            props.insert(TIMER_ROLL_TIMES, times.to_string());
        }
        props.insert(TIMER_DEQUEUE_MS, (self.clock)().to_string());
        props.sort_in_java_hash_map_order();
        let (topic, queue_id) = if roll {
            (msg.topic.clone(), msg.queue_id)
        } else {
            match (props.real_topic(), props.real_queue_id()) {
                (Some(t), Some(q)) => (t.to_owned(), q),
                _ => {
                    tracing::error!(
                        "timer message at {} has no REAL_TOPIC/REAL_QID, dropped",
                        msg.commit_log_offset
                    );
                    return Ok(());
                }
            }
        };
        let inner = StoredMessage {
            topic,
            queue_id,
            flag: msg.flag,
            sys_flag: msg.sys_flag,
            born_timestamp: msg.born_timestamp,
            born_host: msg.born_host,
            store_host: msg.store_host,
            reconsume_times: msg.reconsume_times,
            body: msg.body.clone(),
            properties: props,
            ..StoredMessage::default()
        };
        for _ in 0..PUT_TRIES {
            let result = store.put_timeup_message(inner.clone());
            match result.status {
                PutMessageStatus::PutOk
                | PutMessageStatus::FlushDiskTimeout
                | PutMessageStatus::FlushSlaveTimeout
                | PutMessageStatus::SlaveNotAvailable => return Ok(()),
                PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
                    tracing::error!("timer message dropped: {:?}", result.status);
                    return Ok(());
                }
                other => tracing::warn!("timer delivery put failed: {other:?}"),
            }
        }
        Err(())
    }
}
