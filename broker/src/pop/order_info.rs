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
//! The table is `config/consumerOrderInfo.json` as Java writes it (`{"table":{"topic@group":
//! {queueId:{"a","cm","i","l","o","oc","ot","popTime"}}}}`, `o` the first offset then the
//! differences), loaded at start and written every 10 s and at shutdown, so a blocked queue
//! stays blocked across a restart. Java's `autoClean` on write is not done (entries of deleted
//! topics or groups stay until overwritten).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

use remoting_codec::protocol::pop::{append_order_count_info, retry_flag};
use serde::{Deserialize, Serialize};
use store::config_file::ConfigFileError;

use crate::config_file::ConfigFile;

/// `OrderInfo` as fastjson writes it.
#[derive(Default, Serialize, Deserialize)]
struct OrderInfoJson {
    #[serde(rename = "a", default)]
    attempt_id: Option<String>,
    #[serde(rename = "cm", default)]
    commit_offset_bit: i64,
    #[serde(rename = "i", default)]
    invisible_time: Option<i64>,
    #[serde(rename = "l", default)]
    last_consume_timestamp: i64,
    #[serde(rename = "o", default)]
    offset_list: Option<Vec<i64>>,
    #[serde(rename = "oc", default)]
    offset_consumed_count: Option<BTreeMap<i64, i32>>,
    #[serde(rename = "ot", default)]
    offset_next_visible_time: Option<BTreeMap<i64, i64>>,
    #[serde(rename = "popTime", default)]
    pop_time: i64,
}

#[derive(Default, Serialize, Deserialize)]
struct TableJson {
    #[serde(default)]
    table: BTreeMap<String, BTreeMap<i32, OrderInfoJson>>,
}

/// `OrderInfo`. `offsets` are absolute here (Java stores the first and the differences).
#[derive(Clone, Debug, Default)]
struct OrderInfo {
    last_consume_timestamp: i64,
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

impl OrderInfo {
    fn to_json(&self) -> OrderInfoJson {
        let first = self.offsets.first().copied().unwrap_or(0);
        let list = self
            .offsets
            .iter()
            .enumerate()
            .map(|(i, o)| if i == 0 { *o } else { o - first })
            .collect();
        OrderInfoJson {
            attempt_id: self.attempt_id.clone(),
            commit_offset_bit: self.commit_bits as i64,
            invisible_time: Some(self.invisible_time),
            last_consume_timestamp: self.last_consume_timestamp,
            offset_list: Some(list),
            offset_consumed_count: (!self.consumed_count.is_empty())
                .then(|| self.consumed_count.clone()),
            offset_next_visible_time: (!self.next_visible.is_empty())
                .then(|| self.next_visible.iter().map(|(k, v)| (*k, *v)).collect()),
            pop_time: self.pop_time,
        }
    }

    fn from_json(j: OrderInfoJson) -> Self {
        let list = j.offset_list.unwrap_or_default();
        let first = list.first().copied().unwrap_or(0);
        OrderInfo {
            last_consume_timestamp: j.last_consume_timestamp,
            pop_time: j.pop_time,
            invisible_time: j.invisible_time.unwrap_or(0),
            offsets: list
                .iter()
                .enumerate()
                .map(|(i, o)| if i == 0 { *o } else { first + o })
                .collect(),
            next_visible: j
                .offset_next_visible_time
                .unwrap_or_default()
                .into_iter()
                .collect(),
            consumed_count: j.offset_consumed_count.unwrap_or_default(),
            commit_bits: j.commit_offset_bit as u64,
            attempt_id: j.attempt_id,
        }
    }
}

/// The table, by `topic@group` and queue id.
#[derive(Default)]
pub struct OrderInfoManager {
    table: Mutex<HashMap<(String, String, i32), OrderInfo>>,
    file: Option<ConfigFile>,
}

impl OrderInfoManager {
    /// Loads `config/consumerOrderInfo.json` (or its `.bak`).
    pub fn open(store_root: &Path) -> Result<Self, ConfigFileError> {
        let file =
            ConfigFile::new(crate::paths::config_dir(store_root).join("consumerOrderInfo.json"));
        let loaded = file
            .load(remoting_codec::fastjson::from_str::<TableJson>)?
            .unwrap_or_default();
        let mut table = HashMap::new();
        for (key, queues) in loaded.table {
            let Some((topic, group)) = key.split_once('@') else {
                continue;
            };
            for (queue_id, info) in queues {
                table.insert(
                    (topic.to_owned(), group.to_owned(), queue_id),
                    OrderInfo::from_json(info),
                );
            }
        }
        Ok(OrderInfoManager {
            table: Mutex::new(table),
            file: Some(file),
        })
    }

    /// Writes the file (Java's `persist`, every 10 s and at shutdown).
    pub fn persist(&self) {
        let Some(file) = &self.file else {
            return;
        };
        file.persist_logged(|| {
            let mut json = TableJson::default();
            for ((topic, group, queue_id), info) in self.lock().iter() {
                json.table
                    .entry(format!("{topic}@{group}"))
                    .or_default()
                    .insert(*queue_id, info.to_json());
            }
            remoting_codec::fastjson::to_string_pretty(&json).unwrap_or_default()
        });
    }

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
            last_consume_timestamp: crate::now_millis(),
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

    #[test]
    fn the_file_is_javas_json_and_reads_back() {
        let info = OrderInfo {
            last_consume_timestamp: 7,
            pop_time: 1000,
            invisible_time: 500,
            offsets: vec![3, 4, 6],
            next_visible: [(4, 9000)].into(),
            consumed_count: [(3, 2)].into(),
            commit_bits: 0b10,
            attempt_id: None,
        };
        let mut json = TableJson::default();
        json.table
            .entry("T@G".into())
            .or_default()
            .insert(0, info.to_json());
        let text = remoting_codec::fastjson::to_string(&json).unwrap();
        assert_eq!(
            text,
            r#"{"table":{"T@G":{0:{"cm":2,"i":500,"l":7,"o":[3,1,3],"oc":{3:2},"ot":{4:9000},"popTime":1000}}}}"#
        );
        let back: TableJson = remoting_codec::fastjson::from_str(&text).unwrap();
        let mut back = back.table;
        let again = OrderInfo::from_json(back.get_mut("T@G").unwrap().remove(&0).unwrap());
        assert_eq!(again.offsets, vec![3, 4, 6]);
        assert_eq!(again.next_offset(), 3);
        assert_eq!(again.next_visible[&4], 9000);
    }
}
