//! `ConsumerOffsetManager`: committed consumer offsets, `<storePathRootDir>/config/consumerOffset.json`
//! (`"topic@group"` → queueId → the next offset to consume).
//!
//! A client meets it through UPDATE_CONSUMER_OFFSET, the commit offset piggy-backed on pulls,
//! and QUERY_CONSUMER_OFFSET at rebalance, which decides where a consumer starts: see
//! [`ConsumerOffsetManager::query_for_client`] for Java's "return 0" rule. The table is written
//! by a timer (`flushConsumerOffsetInterval`, 5 s) and at shutdown; the timer belongs to the
//! server, which calls [`ConsumerOffsetManager::persist`].

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use dashmap::DashMap;
use remoting_codec::fastjson;
use remoting_codec::protocol::config_files::{
    ConsumerOffsetSerializeWrapper, TOPIC_GROUP_SEPARATOR,
};
use serde::Serialize;
use store::config_file::ConfigFileError;

use crate::config_file::ConfigFile;
use crate::java_order::{JavaMap, TABLE_512};

/// The answer to QUERY_CONSUMER_OFFSET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryOffsetAnswer {
    /// SUCCESS with this offset.
    Offset(i64),
    /// QUERY_NOT_FOUND, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first":
    /// the client then starts from its `consumeFromWhere`.
    NotFound,
}

/// consumerOffset.json as 4.9.8 writes it (only `offsetTable`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OffsetsFile<'a> {
    offset_table: JavaMap<'a, BTreeMap<i32, i64>>,
}

pub struct ConsumerOffsetManager {
    /// consumerOffset.json.
    file: ConfigFile,
    table: DashMap<String, BTreeMap<i32, i64>>,
}

/// `topic@group`.
pub fn key(topic: &str, group: &str) -> String {
    ConsumerOffsetSerializeWrapper::key(topic, group)
}

/// Java's `key.split("@")` with its `length == 2` check: a key with another `@`, or an empty
/// group, is skipped by every by-topic/by-group scan.
fn split(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.split(TOPIC_GROUP_SEPARATOR);
    let (topic, group) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !group.is_empty()).then_some((topic, group))
}

impl ConsumerOffsetManager {
    pub fn new(store_root: &Path) -> Self {
        ConsumerOffsetManager {
            file: ConfigFile::new(crate::paths::consumer_offset_path(store_root)),
            table: DashMap::new(),
        }
    }

    /// Reads consumerOffset.json (or `.bak`); 5.x's extra `dataVersion`/`groupTopicMap` are
    /// ignored, as 4.9.8 ignores them.
    pub fn open(store_root: &Path) -> Result<Self, ConfigFileError> {
        let mut manager = Self::new(store_root);
        let loaded = manager
            .file
            .load(fastjson::from_str::<ConsumerOffsetSerializeWrapper>)?;
        if let Some(wrapper) = loaded {
            manager.table.extend(wrapper.offset_table);
        }
        Ok(manager)
    }

    /// `commitOffset`. A commit lower than the stored one is accepted (a reset, or a consumer
    /// re-consuming) and logged, as Java does.
    pub fn commit_offset(
        &self,
        client_host: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) {
        let mut queues = self.table.entry(key(topic, group)).or_default();
        if let Some(previous) = queues.insert(queue_id, offset) {
            if offset < previous {
                tracing::warn!(
                    "[NOTIFYME]update consumer offset less than store. clientHost={client_host}, key={topic}@{group}, queueId={queue_id}, requestOffset={offset}, storeOffset={previous}"
                );
            }
        }
    }

    /// `queryOffset`: the committed offset, or -1.
    pub fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.table
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
            .unwrap_or(-1)
    }

    /// Every queue's offset of a group on a topic.
    pub fn query_offsets(&self, group: &str, topic: &str) -> Option<BTreeMap<i32, i64>> {
        self.table.get(&key(topic, group)).map(|q| q.clone())
    }

    /// QUERY_CONSUMER_OFFSET as 4.9.8's `ConsumerManageProcessor` answers it: the committed
    /// offset if any; otherwise 0 when the queue still starts at offset 0 (`min_offset <= 0`)
    /// and its first message is not on disk only (`first_message_in_disk()` is the store's
    /// `checkInDiskByConsumeOffset(topic, queueId, 0)`, false for an empty queue). That rule
    /// makes a new group on a new (small, in-memory) queue start from the beginning whatever its
    /// `consumeFromWhere`, so no message sent before the consumer came up is skipped; on an
    /// older queue the client decides.
    pub fn query_for_client(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        min_offset: i64,
        first_message_in_disk: impl FnOnce() -> bool,
    ) -> QueryOffsetAnswer {
        let offset = self.query_offset(group, topic, queue_id);
        if offset >= 0 {
            QueryOffsetAnswer::Offset(offset)
        } else if min_offset <= 0 && !first_message_in_disk() {
            QueryOffsetAnswer::Offset(0)
        } else {
            QueryOffsetAnswer::NotFound
        }
    }

    /// `whichTopicByConsumer`.
    pub fn which_topic_by_consumer(&self, group: &str) -> BTreeSet<String> {
        self.table
            .iter()
            .filter_map(|e| {
                split(e.key())
                    .filter(|(_, g)| *g == group)
                    .map(|(t, _)| t.to_owned())
            })
            .collect()
    }

    /// `whichGroupByTopic`.
    pub fn which_group_by_topic(&self, topic: &str) -> BTreeSet<String> {
        self.table
            .iter()
            .filter_map(|e| {
                split(e.key())
                    .filter(|(t, _)| *t == topic)
                    .map(|(_, g)| g.to_owned())
            })
            .collect()
    }

    /// `cloneOffset` (mqadmin cloneGroupOffset): copies a group's offsets on a topic, replacing
    /// the destination's.
    pub fn clone_offset(&self, src_group: &str, dest_group: &str, topic: &str) {
        if let Some(offsets) = self.query_offsets(src_group, topic) {
            self.table.insert(key(topic, dest_group), offsets);
        }
    }

    /// `removeOffset` (group deleted with its offsets): every `*@group` key.
    pub fn remove_offset(&self, group: &str) {
        self.table
            .retain(|k, _| !matches!(split(k), Some((_, g)) if g == group));
    }

    /// 5.x `cleanOffsetByTopic` (topic deleted): every `topic@*` key.
    pub fn remove_topic(&self, topic: &str) {
        self.table
            .retain(|k, _| !matches!(split(k), Some((t, _)) if t == topic));
    }

    /// `queryMinOffsetInAllGroup`: per queue of `topic`, the smallest committed offset among the
    /// groups not named in `filter_groups` (comma-separated), ignoring offsets already below the
    /// store's minimum (`min_offset_in_queue`).
    pub fn query_min_offset_in_all_group(
        &self,
        topic: &str,
        filter_groups: &str,
        min_offset_in_queue: impl Fn(i32) -> i64,
    ) -> BTreeMap<i32, i64> {
        let excluded: Vec<&str> = filter_groups
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        let mut result = BTreeMap::new();
        for entry in self.table.iter() {
            let Some((t, g)) = split(entry.key()) else {
                continue;
            };
            if t != topic || excluded.contains(&g) {
                continue;
            }
            for (&queue_id, &offset) in entry.value() {
                if offset >= min_offset_in_queue(queue_id) {
                    result
                        .entry(queue_id)
                        .and_modify(|m: &mut i64| *m = (*m).min(offset))
                        .or_insert(offset);
                }
            }
        }
        result
    }

    /// `scanUnsubscribedTopic`: drops `topic@group` entries whose group no longer subscribes the
    /// topic (`is_subscribed`) and whose every offset is at or below the store's minimum (all
    /// their messages are gone). Returns the removed keys.
    pub fn scan_unsubscribed_topic(
        &self,
        is_subscribed: impl Fn(&str, &str) -> bool,
        min_offset_in_queue: impl Fn(&str, i32) -> i64,
    ) -> Vec<String> {
        let mut removed = Vec::new();
        self.table.retain(|k, queues| {
            let Some((topic, group)) = split(k) else {
                return true;
            };
            let behind = !queues.is_empty()
                && queues
                    .iter()
                    .all(|(&q, &offset)| offset <= min_offset_in_queue(topic, q));
            let drop = !is_subscribed(group, topic) && behind;
            if drop {
                tracing::warn!("remove topic offset, {k}");
                removed.push(k.clone());
            }
            !drop
        });
        removed
    }

    /// A slave's copy of its master's offsets (Java's `syncConsumerOffset`: `putAll`, so
    /// offsets only the slave holds — committed to it while the master was down — stay).
    pub fn merge_from_master(&self, master: ConsumerOffsetSerializeWrapper) {
        for (key, offsets) in master.offset_table {
            self.table.insert(key, offsets);
        }
        if let Err(e) = self.persist() {
            tracing::error!("persist consumerOffset.json failed: {e}");
        }
    }

    /// The whole table (GET_ALL_CONSUMER_OFFSET, admin listings).
    pub fn wrapper(&self) -> ConsumerOffsetSerializeWrapper {
        ConsumerOffsetSerializeWrapper {
            offset_table: self.snapshot().into_iter().collect(),
            ..Default::default()
        }
    }

    fn snapshot(&self) -> Vec<(String, BTreeMap<i32, i64>)> {
        self.table
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect()
    }

    /// consumerOffset.json text as 4.9.8 writes the same table.
    pub fn encode_pretty(&self) -> String {
        self.encode_as(true)
    }

    /// Java's `encode()`: the same content on one line (the body of GET_ALL_CONSUMER_OFFSET).
    pub fn encode(&self) -> String {
        self.encode_as(false)
    }

    fn encode_as(&self, pretty: bool) -> String {
        let snapshot = self.snapshot();
        let file = OffsetsFile {
            offset_table: JavaMap::new(snapshot.iter().map(|(k, v)| (k, v)), TABLE_512),
        };
        // Invariant: string and integer keys always serialize.
        if pretty {
            fastjson::to_string_pretty(&file).expect("consumerOffset.json serializes")
        } else {
            fastjson::to_string(&file).expect("consumerOffset.json serializes")
        }
    }

    /// Writes consumerOffset.json (the periodic flush and the shutdown call this).
    pub fn persist(&self) -> io::Result<()> {
        self.file.persist(|| self.encode_pretty())
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
mod tests;
