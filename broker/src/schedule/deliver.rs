//! One pass of a level's timer (Java's `DeliverDelayedMessageTimerTask.executeOnTimeup`) and
//! the rebuilt copy of a due message (`messageTimeup`).

use remoting_codec::message::StoredMessage;
use store::SCHEDULE_TOPIC;

use super::ScheduleMessageService;
use crate::topic::validator::RMQ_SYS_TRANS_HALF_TOPIC;

/// `MixAll.SCHEDULE_CONSUMER_GROUP`: the group deliveries are counted under.
const SCHEDULE_CONSUMER: &str = "SCHEDULE_CONSUMER";

/// What a pass decided: the queue offset the next pass starts from and how long to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NextPass {
    pub offset: i64,
    pub put_failed: bool,
}

impl ScheduleMessageService {
    /// Scans level `level`'s queue of SCHEDULE_TOPIC_XXXX from `offset` and delivers every
    /// entry that is due, in order, stopping at the first one that is not (the queue is in
    /// store-time order and every entry of a level has the same delay, so later ones are not
    /// due either). The level's offset in the table moves past an entry only after its copy was
    /// stored; a failed put ends the pass at that entry, which the next pass retries.
    pub(crate) fn deliver_due(&self, level: i32, offset: i64, now: &dyn Fn() -> i64) -> NextPass {
        let pass = |offset| NextPass {
            offset,
            put_failed: false,
        };
        let Some(cq) = self.store.consume_queue(SCHEDULE_TOPIC, level - 1) else {
            return pass(offset);
        };
        // As stored: an extension address is resolved here, so a missing unit can be told apart.
        let Some(entries) = cq.entries_from_raw(offset) else {
            // Java: an offset below the queue's minimum or above its maximum is reset to it.
            let (min, max) = (cq.min_offset(), cq.max_offset());
            let reset = if min > offset {
                min
            } else if max < offset {
                max
            } else {
                offset
            };
            if reset != offset {
                tracing::error!(
                    "schedule CQ offset invalid. offset={offset}, reset to {reset}, queueId={}",
                    level - 1
                );
            }
            return pass(reset);
        };
        let delay_ms = self.levels.delay_ms(level).unwrap_or(0);
        let end = offset + entries.len() as i64;
        for (this_offset, entry) in entries {
            if !self.is_started() {
                return pass(this_offset);
            }
            let now = now();
            let mut deliver_at = entry.tags_code;
            if store::is_ext_addr(deliver_at) {
                deliver_at = match cq.ext_unit(deliver_at) {
                    Some(unit) => unit.tags_code,
                    None => {
                        // Java: the due time again from the record's store time.
                        tracing::error!(
                            "[BUG] can't find consume queue extend file content!addr={deliver_at}, offsetPy={}, sizePy={}",
                            entry.offset,
                            entry.size
                        );
                        self.store
                            .message_store_timestamp(SCHEDULE_TOPIC, level - 1, this_offset)
                            + delay_ms
                    }
                };
            }
            if correct_deliver_timestamp(now, deliver_at, delay_ms) > now {
                return pass(this_offset);
            }
            let Some(msg) = self.store.look_message_by_offset(entry.offset) else {
                // Java skips an entry whose record cannot be read (expired commitlog).
                continue;
            };
            let inner = match message_timeup(msg) {
                Ok(inner) => inner,
                Err(why) => {
                    // Java throws here and retries the same entry forever, blocking the level;
                    // a record without a usable destination is skipped instead.
                    tracing::error!(
                        "schedule level {level} offset {this_offset}: {why}, message skipped"
                    );
                    continue;
                }
            };
            if inner.topic == RMQ_SYS_TRANS_HALF_TOPIC {
                tracing::error!(
                    "[BUG] the real topic of schedule msg is {}, discard the msg",
                    inner.topic
                );
                continue;
            }
            let (topic, queue_id) = (inner.topic.clone(), inner.queue_id);
            let result = self.store.put_timeup_message(inner);
            if let (Some(stats), Some(a)) = (self.stats.get(), result.append.as_ref()) {
                if result.is_ok() {
                    let (n, bytes) = (a.msg_num as i64, a.wrote_bytes as i64);
                    stats.inc_queue_get(SCHEDULE_CONSUMER, SCHEDULE_TOPIC, level - 1, n, bytes);
                    stats.inc_group_get(SCHEDULE_CONSUMER, SCHEDULE_TOPIC, n, bytes);
                    stats.on_message_put(&topic, queue_id, n, bytes);
                }
            }
            if !result.is_ok() {
                tracing::warn!(
                    "schedule level {level} offset {this_offset}: put failed ({:?}), retry later",
                    result.status
                );
                return NextPass {
                    offset: this_offset,
                    put_failed: true,
                };
            }
            self.update_offset(level, this_offset + 1);
        }
        pass(end)
    }
}

/// Java's `correctDeliverTimestamp`: a delivery time further away than the level's delay from
/// now (the clock went back, or the level table was shortened since the message was stored) is
/// treated as due now.
pub fn correct_deliver_timestamp(now: i64, deliver_timestamp: i64, delay_ms: i64) -> i64 {
    if deliver_timestamp > now + delay_ms {
        now
    } else {
        deliver_timestamp
    }
}

/// Java's `messageTimeup`: the message as it goes to its real topic and queue. Body, flag,
/// sysFlag, born time and host, store host and reconsume times are kept; the properties are
/// kept byte for byte, DELAY, REAL_TOPIC and REAL_QID included (see
/// `MessageStore::put_timeup_message` for why DELAY stays); the tags code is recomputed from
/// TAGS when the store dispatches the copy. Store time, offsets and CRC are the store's.
pub(crate) fn message_timeup(msg: StoredMessage) -> Result<StoredMessage, String> {
    let topic = msg
        .properties
        .real_topic()
        .ok_or("no REAL_TOPIC property")?
        .to_owned();
    let queue_id = msg
        .properties
        .real_queue_id()
        .ok_or("no usable REAL_QID property")?;
    Ok(StoredMessage {
        topic,
        queue_id,
        flag: msg.flag,
        sys_flag: msg.sys_flag,
        born_timestamp: msg.born_timestamp,
        born_host: msg.born_host,
        store_host: msg.store_host,
        reconsume_times: msg.reconsume_times,
        body: msg.body,
        properties: msg.properties,
        ..StoredMessage::default()
    })
}
