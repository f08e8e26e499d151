//! Orderly POP: 5.3.3's `ConsumerOrderInfoManager`, the batch each queue of a group handed out
//! last and which of its messages were acked.
//!
//! An orderly pop (`order=true`) takes the queue lock, asks [`OrderInfoManager::check_block`]
//! (a batch with an un-acked message still invisible blocks the queue: the pop returns nothing
//! from it), reads from the group's consumer offset, records the batch with
//! [`OrderInfoManager::update`] (the offsets, `popTime`, `invisibleTime`, and per offset how
//! many times it was handed out, which becomes `orderCountInfo`) and commits the offset it read
//! from, so the same messages come back until they are acked. No checkpoint is written (the
//! revive queue id is 999). An ack ([`OrderInfoManager::commit_and_next`]) sets the message's
//! bit; the consumer offset moves to the first un-acked message of the batch, or past it when
//! all are acked. CHANGE_INVISIBLE_TIME of an orderly message sets that offset's next visible
//! time ([`OrderInfoManager::update_next_visible_time`]).
//!
//! Java persists the table in `config/consumerOrderInfo.json`; here it is memory only: after a
//! restart no queue is blocked, so an un-acked orderly batch is handed out again at once (the
//! consumer offset was not moved past it) — the at-least-once order is kept, the remaining
//! invisible time is not.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use remoting_codec::protocol::pop::{append_order_count_info, retry_flag};

/// `OrderInfo`. `offsets` are absolute here (Java stores the first and the differences).
#[derive(Clone, Debug, Default)]
struct OrderInfo {
    pop_time: i64,
    invisible_time: i64,
    offsets: Vec<i64>,
    next_visible: HashMap<i64, i64>,
    consumed_count: BTreeMap<i64, i32>,
    commit_bits: u64,
    attempt_id: Option<String>,
}

impl OrderInfo {
    fn is_acked(&self, i: usize) -> bool {
        i < 64 && self.commit_bits & (1 << i) != 0
    }

    /// `needBlock`.
    fn need_block(&mut self, attempt_id: Option<&str>, invisible_time: i64, now: i64) -> bool {
        if self.offsets.is_empty() {
            return false;
        }
        if self.attempt_id.is_some() && self.attempt_id.as_deref() == attempt_id {
            return false;
        }
        if self.invisible_time <= 0 {
            self.invisible_time = invisible_time;
        }
        (0..self.offsets.len()).any(|i| {
            !self.is_acked(i)
                && now
                    < *self
                        .next_visible
                        .get(&self.offsets[i])
                        .unwrap_or(&(self.pop_time + self.invisible_time))
        })
    }

    /// `getNextOffset`.
    fn next_offset(&self) -> i64 {
        match (0..self.offsets.len()).find(|&i| !self.is_acked(i)) {
            Some(i) => self.offsets[i],
            None => self.offsets.last().map_or(-2, |o| o + 1),
        }
    }
}

/// The table, by `topic@group` and queue id.
#[derive(Default)]
pub struct OrderInfoManager {
    table: Mutex<HashMap<(String, String, i32), OrderInfo>>,
}

impl OrderInfoManager {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String, i32), OrderInfo>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `checkBlock`.
    pub fn check_block(
        &self,
        attempt_id: Option<&str>,
        topic: &str,
        group: &str,
        queue_id: i32,
        invisible_time: i64,
        now: i64,
    ) -> bool {
        let mut table = self.lock();
        table
            .get_mut(&(topic.to_owned(), group.to_owned(), queue_id))
            .is_some_and(|info| info.need_block(attempt_id, invisible_time, now))
    }

    /// `clearBlock` (an offset reset).
    pub fn clear_block(&self, topic: &str, group: &str, queue_id: i32) {
        self.lock()
            .remove(&(topic.to_owned(), group.to_owned(), queue_id));
    }

    /// `update`: records a popped batch and appends its `orderCountInfo` entries (one
    /// `qo<queueId>%<offset>` entry per offset handed out before, then the queue's minimum).
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        attempt_id: Option<&str>,
        topic: &str,
        group: &str,
        queue_id: i32,
        pop_time: i64,
        invisible_time: i64,
        offsets: &[i64],
        order_count_info: &mut String,
    ) {
        let mut table = self.lock();
        let key = (topic.to_owned(), group.to_owned(), queue_id);
        let mut info = OrderInfo {
            pop_time,
            invisible_time,
            offsets: offsets.to_vec(),
            attempt_id: attempt_id.map(str::to_owned),
            ..OrderInfo::default()
        };
        if let Some(prev) = table.get(&key) {
            if prev.attempt_id.is_some() && prev.attempt_id == info.attempt_id {
                info.consumed_count = prev.consumed_count.clone();
            } else {
                for &o in offsets {
                    if prev.offsets.contains(&o) {
                        let count = prev.consumed_count.get(&o).map_or(1, |c| c + 1);
                        info.consumed_count.insert(o, count);
                    }
                }
            }
        }
        let mut min = i32::MAX;
        for (&offset, &count) in &info.consumed_count {
            if !order_count_info.is_empty() {
                order_count_info.push(';');
            }
            order_count_info.push_str(&format!(
                "{} qo{queue_id}%{offset} {count}",
                retry_flag(topic)
            ));
            min = min.min(count);
        }
        if info.consumed_count.len() != info.offsets.len() {
            min = 0;
        }
        append_order_count_info(order_count_info, topic, queue_id, min);
        table.insert(key, info);
    }

    /// `commitAndNext`: the consumer offset after acking `offset`; −1 when the offset is not
    /// in the batch (or there is none), −2 when `pop_time` is not the batch's.
    pub fn commit_and_next(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
    ) -> i64 {
        let mut table = self.lock();
        let Some(info) = table.get_mut(&(topic.to_owned(), group.to_owned(), queue_id)) else {
            return offset + 1;
        };
        if info.offsets.is_empty() {
            return -1;
        }
        if info.pop_time != pop_time {
            return -2;
        }
        let Some(i) = info.offsets.iter().position(|&o| o == offset) else {
            return -1;
        };
        if i < 64 {
            info.commit_bits |= 1 << i;
        }
        info.next_offset()
    }

    /// `updateNextVisibleTime`.
    pub fn update_next_visible_time(
        &self,
        topic: &str,
        group: &str,
        queue_id: i32,
        offset: i64,
        pop_time: i64,
        next_visible_time: i64,
    ) {
        let mut table = self.lock();
        if let Some(info) = table.get_mut(&(topic.to_owned(), group.to_owned(), queue_id)) {
            if info.pop_time == pop_time {
                info.next_visible.insert(offset, next_visible_time);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_blocks_until_acked_or_invisible_time_passes() {
        let m = OrderInfoManager::default();
        let mut info = String::new();
        m.update(None, "T", "G", 0, 1000, 500, &[3, 4], &mut info);
        assert_eq!(info, "0 0 0");
        assert!(m.check_block(None, "T", "G", 0, 500, 1200));
        assert!(!m.check_block(None, "T", "G", 0, 500, 1500));
        assert_eq!(m.commit_and_next("T", "G", 0, 4, 999), -2);
        assert_eq!(m.commit_and_next("T", "G", 0, 9, 1000), -1);
        assert_eq!(m.commit_and_next("T", "G", 0, 4, 1000), 3);
        assert_eq!(m.commit_and_next("T", "G", 0, 3, 1000), 5);
        assert!(!m.check_block(None, "T", "G", 0, 500, 1200));
        // Handed out again: the counts grow.
        let mut info = String::new();
        m.update(None, "T", "G", 0, 2000, 500, &[3, 4], &mut info);
        assert_eq!(info, "0 qo0%3 1;0 qo0%4 1;0 0 1");
        let mut again = String::new();
        m.update(None, "T", "G", 0, 3000, 500, &[3, 4], &mut again);
        assert_eq!(again, "0 qo0%3 2;0 qo0%4 2;0 0 2");
        let mut third = String::new();
        m.update(None, "T", "G", 0, 3000, 500, &[3, 4, 5], &mut third);
        assert_eq!(third, "0 qo0%3 3;0 qo0%4 3;0 0 0");
        m.update_next_visible_time("T", "G", 0, 3, 3000, 9000);
        assert!(m.check_block(None, "T", "G", 0, 500, 8000));
    }
}
