//! `PopReviveService`: one thread per revive queue re-delivers what was popped and not acked.
//!
//! Every `reviveInterval` (slowing down to `reviveMaxSlow` intervals while there is nothing
//! to do), a round reads the queue from its revive offset + 1 (the consumer offset of
//! `CID_RMQ_SYS_REVIVE_GROUP` on the revive topic, or what this thread reached since): a
//! checkpoint goes into a map by its merge key (with its own queue offset as `ro`), an ack or
//! batch ack sets the bits of its checkpoint (an ack whose checkpoint is not in the map is
//! skipped, `enableSkipLongAwaitingAck=false`). `endTime` is the latest `TIMER_DELIVER_MS` seen,
//! or now once the queue has been idle 3 s and the timer store is not behind; the read stops
//! when the queue is idle for 4 s, when `endTime` is more than 2 s past the first checkpoint's
//! revive time, or after `reviveScanTime`.
//!
//! Then, in queue order, every checkpoint whose revive time is more than 2 s before `endTime`
//! is revived: each un-acked message is read from its queue and put into the pop retry topic
//! (`%RETRY%<group>_<topic>`, or the checkpoint's own retry topic; queue 0; created with one
//! queue and the group's offset 0 when missing) with `reconsumeTimes + 1`, its tags and
//! properties, and `1ST_POP_TIME` on the first revive. A checkpoint of a topic or group that
//! no longer exists is skipped; a message that cannot be read any more is skipped; a failed put
//! writes the checkpoint again for that message (`rePutCK`, its invisible time lengthened by
//! Java's 10 s … 2 h steps). The revive offset then moves to the last revived checkpoint and
//! is committed; consumerOffset.json persists it with the other offsets.
//!
//! Java runs revived checkpoints asynchronously with up to 3 in flight; here they are revived
//! in turn, so the offset commit needs no in-flight table.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use remoting_codec::message::message_const::PROPERTY_FIRST_POP_TIME;
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::perm;
use store::timer::hook::TIMER_DELIVER_MS;
use store::timer::TIMER_TOPIC;
use store::PutMessageStatus;

use super::checkpoint::{ck_message, AckMsg, PopCheckPoint, ACK_TAG, BATCH_ACK_TAG, CK_TAG};
use super::{LOCAL_HOST, RETRY_QUEUE_NUM, REVIVE_GROUP};
use crate::controller::BrokerController;

const SECOND: i64 = 1000;
/// A revive record's body is a small JSON object; a larger one is not ours.
const MAX_BODY: usize = 4 * 1024 * 1024;
const ACK_TIME_INTERVAL: i64 = super::checkpoint::ACK_TIME_INTERVAL;
/// `ckRewriteIntervalsInSeconds`.
const CK_REWRITE_INTERVALS: [i64; 17] = [
    10, 20, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

/// Starts one thread per revive queue; they stop when `stop` is set.
pub fn start(ctrl: &Arc<BrokerController>, stop: Arc<AtomicBool>) {
    for queue_id in 0..ctrl.pop.config.revive_queue_num {
        let ctrl = ctrl.clone();
        let stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("PopReviveService_{queue_id}"))
            .spawn(move || {
                let mut queue = ReviveQueue::new(&ctrl, queue_id);
                let mut slow = 1;
                let interval = ctrl.pop.config.revive_interval;
                while !stop.load(Ordering::Acquire) {
                    sleep_unless_stopped(&stop, interval);
                    if stop.load(Ordering::Acquire) || !ctrl.is_master() {
                        continue;
                    }
                    if !ctrl.store.config().timer_wheel_enable {
                        continue;
                    }
                    let revived = queue.round(&ctrl, &stop);
                    if revived {
                        slow = 1;
                    } else {
                        sleep_unless_stopped(&stop, slow * interval);
                        if slow < ctrl.pop.config.revive_max_slow {
                            slow += 1;
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!("revive thread {queue_id} not started: {e}");
        }
    }
}

fn sleep_unless_stopped(stop: &AtomicBool, ms: i64) {
    let end = std::time::Instant::now() + Duration::from_millis(ms.max(0) as u64);
    while !stop.load(Ordering::Acquire) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One revive queue's progress.
pub struct ReviveQueue {
    queue_id: i32,
    revive_offset: i64,
}

impl ReviveQueue {
    pub fn new(ctrl: &BrokerController, queue_id: i32) -> Self {
        let revive_offset = ctrl.consumer_offset_manager.query_offset(
            REVIVE_GROUP,
            &ctrl.pop.revive_topic,
            queue_id,
        );
        ReviveQueue {
            queue_id,
            revive_offset,
        }
    }

    /// The timer store has delivered what is due (Java's dequeue / enqueue behind ≤ 0).
    fn timer_caught_up(ctrl: &BrokerController, now: i64) -> bool {
        let Some(timer) = ctrl.store.timer() else {
            return true;
        };
        let (read_time, queue_offset) = timer.read_time_and_queue_offset();
        now - read_time < 2 * ctrl.store.config().timer_precision_ms
            && ctrl.store.max_offset_in_queue(TIMER_TOPIC, 0) <= queue_offset
    }

    /// `consumeReviveMessage` then `mergeAndRevive`; whether any checkpoint was revived.
    pub fn round(&mut self, ctrl: &BrokerController, stop: &AtomicBool) -> bool {
        let topic = ctrl.pop.revive_topic.clone();
        let default_broker = ctrl.broker_config.broker_name.clone();
        let committed =
            ctrl.consumer_offset_manager
                .query_offset(REVIVE_GROUP, &topic, self.queue_id);
        let old_offset = self.revive_offset.max(committed);
        let mut offset = old_offset + 1;
        let mut map: HashMap<String, PopCheckPoint> = HashMap::new();
        let start = std::time::Instant::now();
        let (mut end_time, mut first_rt, mut idle) = (0i64, 0i64, 0i64);
        loop {
            if stop.load(Ordering::Acquire) {
                return false;
            }
            let result = ctrl
                .store
                .get_message(&topic, self.queue_id, offset, 32, None);
            if result.messages.is_empty() {
                let now = crate::now_millis();
                if end_time != 0 && now - end_time > 3 * SECOND && Self::timer_caught_up(ctrl, now)
                {
                    end_time = now;
                }
                if end_time - first_rt > ACK_TIME_INTERVAL + SECOND {
                    break;
                }
                idle += 1;
                std::thread::sleep(Duration::from_millis(100));
                if idle * 100 > 4 * SECOND {
                    break;
                }
                continue;
            }
            idle = 0;
            if start.elapsed().as_millis() as i64 > ctrl.pop.config.revive_scan_time {
                break;
            }
            for (record, queue_offset) in result.messages.iter().zip(&result.message_queue_offsets)
            {
                let Ok(msg) = StoredMessage::decode(record) else {
                    continue;
                };
                let body = msg
                    .uncompressed_body(MAX_BODY)
                    .unwrap_or_else(|_| msg.body.clone());
                match msg.properties.tags() {
                    Some(CK_TAG) => {
                        let Ok(mut ck) =
                            remoting_codec::fastjson::from_slice::<PopCheckPoint>(&body)
                        else {
                            continue;
                        };
                        if ck.topic.is_none() || ck.cid.is_none() {
                            continue;
                        }
                        ck.revive_offset = *queue_offset;
                        if first_rt == 0 {
                            first_rt = ck.revive_time();
                        }
                        map.insert(ck.merge_key(), ck);
                    }
                    Some(ACK_TAG) | Some(BATCH_ACK_TAG) => {
                        let Ok(ack) = remoting_codec::fastjson::from_slice::<AckMsg>(&body) else {
                            continue;
                        };
                        if let Some(ck) = map.get_mut(&ack.merge_key(&default_broker)) {
                            let list = ack.ack_offset_list.clone().unwrap_or(vec![ack.ack_offset]);
                            for o in list {
                                if let Some(i) = ck.index_of_ack(o) {
                                    ck.set_acked(i);
                                }
                            }
                        }
                    }
                    _ => {}
                }
                let deliver = msg
                    .properties
                    .get(TIMER_DELIVER_MS)
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0);
                end_time = end_time.max(deliver);
            }
            offset += result.messages.len() as i64;
        }
        self.merge_and_revive(ctrl, map, old_offset, end_time, stop)
    }

    fn merge_and_revive(
        &mut self,
        ctrl: &BrokerController,
        map: HashMap<String, PopCheckPoint>,
        old_offset: i64,
        end_time: i64,
        stop: &AtomicBool,
    ) -> bool {
        let mut list: Vec<PopCheckPoint> = map.into_values().collect();
        list.sort_by_key(|ck| ck.revive_offset);
        let mut new_offset = old_offset;
        let mut revived = false;
        for ck in &list {
            if stop.load(Ordering::Acquire) {
                break;
            }
            if end_time - ck.revive_time() <= ACK_TIME_INTERVAL + SECOND {
                break;
            }
            let topic = ck.topic.as_deref().unwrap_or("");
            let group = ck.cid.as_deref().unwrap_or("");
            let normal = normal_topic(topic, group);
            if ctrl
                .topic_config_manager
                .select_topic_config(&normal)
                .is_some()
                && ctrl
                    .subscription_group_manager
                    .find_subscription_group_config(group)
                    .is_some()
            {
                self.revive_checkpoint(ctrl, ck);
                revived = true;
            }
            new_offset = ck.revive_offset;
        }
        if new_offset > old_offset {
            ctrl.consumer_offset_manager.commit_offset(
                LOCAL_HOST,
                REVIVE_GROUP,
                &ctrl.pop.revive_topic,
                self.queue_id,
                new_offset,
            );
        }
        self.revive_offset = new_offset;
        revived || !list.is_empty()
    }

    /// `reviveMsgFromCk`.
    fn revive_checkpoint(&self, ctrl: &BrokerController, ck: &PopCheckPoint) {
        let topic = ck.topic.as_deref().unwrap_or("");
        for i in 0..ck.num.max(0) as usize {
            if ck.is_acked(i) {
                continue;
            }
            let offset = ck.ack_offset_by_index(i);
            let found = ctrl.store.get_message(topic, ck.queue_id, offset, 1, None);
            let Some(msg) = found
                .messages
                .first()
                .filter(|_| found.message_queue_offsets.first() == Some(&offset))
                .and_then(|r| StoredMessage::decode(r).ok())
            else {
                tracing::warn!("revive: message {topic}@{}:{offset} not found", ck.queue_id);
                continue;
            };
            if !revive_retry(ctrl, ck, msg) {
                self.re_put_ck(ctrl, ck, offset);
            }
        }
    }

    /// `rePutCK`.
    fn re_put_ck(&self, ctrl: &BrokerController, old: &PopCheckPoint, offset: i64) {
        let times = old.parse_re_put_times();
        let mut ck = PopCheckPoint::new(
            old.cid.as_deref().unwrap_or(""),
            old.topic.as_deref().unwrap_or(""),
            old.queue_id,
            offset,
            &[offset],
            old.pop_time,
            old.invisible_time,
            old.broker_name.as_deref().unwrap_or(""),
        );
        ck.re_put_times = Some((times + 1).to_string());
        let now = crate::now_millis();
        if old.revive_time() <= now {
            let step =
                CK_REWRITE_INTERVALS[(times.max(0) as usize).min(CK_REWRITE_INTERVALS.len() - 1)];
            ck.invisible_time = old.invisible_time + step * 1000;
        }
        let msg = ck_message(
            &ck,
            &ctrl.pop.revive_topic,
            self.queue_id,
            ctrl.store_host,
            now,
        );
        ctrl.store.put_message(msg);
    }
}

/// `KeyBuilder.parseNormalTopic`: the topic of a pop retry topic of `group`.
pub fn normal_topic(topic: &str, group: &str) -> String {
    let v1 = format!("%RETRY%{group}_");
    let v2 = format!("%RETRY%{group}+");
    topic
        .strip_prefix(&v1)
        .or_else(|| topic.strip_prefix(&v2))
        .unwrap_or(topic)
        .to_owned()
}

/// `reviveRetry`: the message into the pop retry topic.
fn revive_retry(ctrl: &BrokerController, ck: &PopCheckPoint, original: StoredMessage) -> bool {
    let topic = ck.topic.as_deref().unwrap_or("");
    let group = ck.cid.as_deref().unwrap_or("");
    let retry_topic = if topic.starts_with("%RETRY%") {
        topic.to_owned()
    } else {
        ctrl.pop.config.retry_topic(topic, group)
    };
    if ctrl
        .topic_config_manager
        .select_topic_config(&retry_topic)
        .is_none()
    {
        let mut config = remoting_codec::protocol::common::TopicConfig::new(&retry_topic);
        config.read_queue_nums = RETRY_QUEUE_NUM;
        config.write_queue_nums = RETRY_QUEUE_NUM;
        config.perm = perm::READ | perm::WRITE;
        ctrl.topic_config_manager.update_topic_config(config);
        if ctrl
            .consumer_offset_manager
            .query_offset(group, &retry_topic, 0)
            < 0
        {
            ctrl.consumer_offset_manager.commit_offset(
                "initPopRetryOffset",
                group,
                &retry_topic,
                0,
                0,
            );
        }
    }
    let mut properties = original.properties.clone();
    if original.reconsume_times == 0 || properties.get(PROPERTY_FIRST_POP_TIME).is_none() {
        properties.insert(PROPERTY_FIRST_POP_TIME, ck.pop_time.to_string());
    }
    properties.set_trailing_separator(true);
    let msg = StoredMessage {
        topic: retry_topic,
        queue_id: 0,
        flag: original.flag,
        sys_flag: original.sys_flag,
        born_timestamp: original.born_timestamp,
        born_host: ctrl.store_host,
        store_host: ctrl.store_host,
        reconsume_times: original.reconsume_times + 1,
        body: original.body,
        properties,
        ..StoredMessage::default()
    };
    let put = ctrl.store.put_message(msg);
    put.status == PutMessageStatus::PutOk
}
