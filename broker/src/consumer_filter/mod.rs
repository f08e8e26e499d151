//! Server-side message filtering, Java's `broker/filter` package.
//!
//! | item | Java |
//! |---|---|
//! | [`ConsumerFilterManager`], [`FilterData`] | `ConsumerFilterManager`, `ConsumerFilterData`: the SQL92 expressions of consumer groups registered by heartbeats, per topic and group, with their client version, life span and bloom-filter bits; `consumerFilter.json` |
//! | [`CalcBitMap`] | `CommitLogDispatcherCalcBitMap`: each dispatched message's bloom bitmap, from the filters of its topic that match it |
//! | [`SubscriptionFilter`] | `ExpressionMessageFilter`, `ExpressionForRetryMessageFilter`: the one filter of a pull, used by the store read and by long polling alike (tags by hash code, SQL92 on the record's properties, `%RETRY%` records by their original topic's expression) |
//! | [`properties`] | `MessageDecoder.decodeProperties`: a record's properties read in place |
//!
//! The manager never sees a socket or the clock: every call that stamps or compares a time
//! takes `now` (ms).

mod bit_map;
mod message_filter;
pub mod properties;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, RwLock};

use filter::bloom::{BloomFilter, BloomFilterData};
use remoting_codec::fastjson;
use remoting_codec::message::java_string_hash_code;
use remoting_codec::protocol::config_files::{
    BloomFilterData as BloomFilterDataJson, ConsumerFilterData as FilterDataJson,
    ConsumerFilterSerializeWrapper,
};
use remoting_codec::protocol::SubscriptionData;
use serde::Serialize;
use store::config_file::ConfigFileError;

pub use bit_map::CalcBitMap;
pub use filter::sql92::{Expression, ParseError};
pub use message_filter::SubscriptionFilter;

use crate::config_file::ConfigFile;
use crate::java_order::JavaMap;

/// `ExpressionType.SQL92`.
pub const SQL92: &str = "SQL92";
/// `ExpressionType.TAG`.
pub const TAG: &str = "TAG";

/// `ExpressionType.isTagType`: no type, an empty one or `TAG`.
pub fn is_tag_type(expression_type: Option<&str>) -> bool {
    expression_type.is_none_or(|t| t.is_empty() || t == TAG)
}

/// `SubscriptionData.SUB_ALL`.
pub const SUB_ALL: &str = "*";

/// `FilterAPI.buildSubscriptionData`: a tag expression (`*`, empty or none = every tag,
/// else `a || b`, with each tag's Java hash code). `Err` where Java's split finds no part at
/// all (a text of `||` only).
pub fn build_subscription_data(
    topic: &str,
    sub_string: Option<&str>,
) -> Result<SubscriptionData, SubscriptionParseError> {
    let mut data = SubscriptionData {
        topic: Some(topic.to_owned()),
        sub_version: crate::now_millis(),
        expression_type: Some(TAG.to_owned()),
        ..SubscriptionData::default()
    };
    match sub_string {
        None | Some("") | Some(SUB_ALL) => data.sub_string = Some(SUB_ALL.to_owned()),
        Some(s) => {
            // Java's `split` drops trailing empty parts: nothing is left of "||||".
            if s.split("||").all(str::is_empty) {
                return Err(SubscriptionParseError);
            }
            data.sub_string = Some(s.to_owned());
            for tag in s.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                data.tags_set.push(tag.to_owned());
                data.code_set.push(java_string_hash_code(tag));
            }
        }
    }
    Ok(data)
}

/// `FilterAPI.build`: a tag subscription for type `TAG` or none; any other type needs an
/// expression and is not compiled here.
pub fn build(
    topic: &str,
    sub_string: Option<&str>,
    expression_type: Option<&str>,
) -> Result<SubscriptionData, SubscriptionParseError> {
    if expression_type.is_none_or(|t| t == TAG) {
        return build_subscription_data(topic, sub_string);
    }
    let Some(expression) = sub_string.filter(|s| !s.is_empty()) else {
        return Err(SubscriptionParseError);
    };
    Ok(SubscriptionData {
        topic: Some(topic.to_owned()),
        sub_string: Some(expression.to_owned()),
        expression_type: expression_type.map(str::to_owned),
        sub_version: crate::now_millis(),
        ..SubscriptionData::default()
    })
}

/// A subscription Java's `FilterAPI` throws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionParseError;

/// Why an expression does not compile: `FilterFactory.get(type).compile(expression)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// No filter of this type is registered (Java: a `NullPointerException`, whose message is
    /// null, so the answer has no remark).
    UnknownType,
    /// The language refused the expression; the text is Java's exception message.
    Parse(String),
}

impl CompileError {
    /// The exception message Java puts in a remark (`None`: Java's `null`).
    pub fn message(&self) -> Option<&str> {
        match self {
            CompileError::UnknownType => None,
            CompileError::Parse(m) => Some(m),
        }
    }
}

/// Compiles `expression` as a filter of `expression_type`: only SQL92 is registered, as in
/// 4.9.8's `FilterFactory`.
pub fn compile(expression_type: &str, expression: &str) -> Result<Expression, CompileError> {
    if expression_type != SQL92 {
        return Err(CompileError::UnknownType);
    }
    Expression::parse(expression).map_err(|e| CompileError::Parse(e.to_string()))
}

/// `ConsumerFilterData`: one group's expression on one topic.
#[derive(Debug, Clone)]
pub struct FilterData {
    pub consumer_group: String,
    pub topic: String,
    pub expression: String,
    pub expression_type: String,
    /// `None` when a loaded expression no longer compiles (Java keeps such data; it filters
    /// nothing).
    pub compiled: Option<Arc<Expression>>,
    pub born_time: i64,
    pub dead_time: i64,
    /// The group's positions in the broker's bloom filter (`group#topic`); always set on
    /// registration, `None` only when loaded so from a file.
    pub bloom_filter_data: Option<BloomFilterData>,
    pub client_version: i64,
}

impl FilterData {
    /// `ConsumerFilterManager.build`: `None` for a tag type or an expression that does not
    /// compile. Born now, alive, without bloom-filter bits.
    pub fn build(
        topic: &str,
        group: &str,
        expression: &str,
        expression_type: &str,
        client_version: i64,
        now: i64,
    ) -> Option<FilterData> {
        if is_tag_type(Some(expression_type)) {
            return None;
        }
        let compiled = match compile(expression_type, expression) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(
                    "parse error: expr={expression}, topic={topic}, group={group}, error={:?}",
                    e.message()
                );
                return None;
            }
        };
        Some(FilterData {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            expression: expression.to_owned(),
            expression_type: expression_type.to_owned(),
            compiled: Some(Arc::new(compiled)),
            born_time: now,
            dead_time: 0,
            bloom_filter_data: None,
            client_version,
        })
    }

    /// `isDead`: a death time at or after the birth.
    pub fn is_dead(&self) -> bool {
        self.dead_time >= self.born_time
    }

    /// `howLongAfterDeath`: -1 while alive.
    pub fn how_long_after_death(&self, now: i64) -> i64 {
        if self.is_dead() {
            now - self.dead_time
        } else {
            -1
        }
    }

    /// `isMsgInLive`: the message was stored after this filter was born, so its bitmap was
    /// computed with it.
    pub fn is_msg_in_live(&self, msg_store_time: i64) -> bool {
        msg_store_time > self.born_time
    }

    /// The JSON of consumerFilter.json and of QUERY_CONSUME_QUEUE's `filterData`.
    pub(crate) fn to_json(&self) -> FilterDataJson {
        let mut json = FilterDataJson {
            bloom_filter_data: self
                .bloom_filter_data
                .as_ref()
                .map(|b| BloomFilterDataJson {
                    bit_num: b.bit_num,
                    bit_pos: Some(b.bit_pos.clone()),
                }),
            born_time: self.born_time,
            client_version: self.client_version,
            consumer_group: Some(self.consumer_group.clone()),
            dead: false,
            dead_time: 0,
            expression: Some(self.expression.clone()),
            expression_type: Some(self.expression_type.clone()),
            topic: Some(self.topic.clone()),
        };
        json.set_dead_time(self.dead_time);
        json
    }
}

/// `FilterDataMapByTopic`.
#[derive(Debug, Clone, Default)]
struct TopicFilters {
    topic: String,
    groups: HashMap<String, Arc<FilterData>>,
}

/// Buckets of `new ConcurrentHashMap(256)` (the topic table of a new manager).
const TOPIC_TABLE: usize = 512;
/// Buckets of `new ConcurrentHashMap()` (each topic's group table).
const GROUP_TABLE: usize = 16;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicOut<'a> {
    group_filter_data: JavaMap<'a, FilterDataJson>,
    topic: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileOut<'a> {
    filter_data_by_topic: JavaMap<'a, TopicOut<'a>>,
}

/// Java's `ConsumerFilterManager`.
pub struct ConsumerFilterManager {
    /// consumerFilter.json.
    file: ConfigFile,
    /// `BloomFilter.createByFn(maxErrorRateOfBloomFilter, expectConsumerNumUseFilter)`: gives
    /// each registered filter its positions and sizes the dispatch bitmaps.
    bloom: BloomFilter,
    /// `filterDataCleanTimeSpan`: how long dead data is kept.
    clean_time_span: i64,
    /// topic → group → filter.
    table: RwLock<HashMap<String, TopicFilters>>,
}

/// The broker's default bloom filter (`maxErrorRateOfBloomFilter` 20 %,
/// `expectConsumerNumUseFilter` 32: k = 3, m = 112).
pub fn default_bloom_filter() -> BloomFilter {
    BloomFilter::create_by_fn(20, 32).expect("the default bloom parameters are valid")
}

impl ConsumerFilterManager {
    /// An empty manager with the default bloom filter ([`default_bloom_filter`]).
    pub fn new(store_root: &Path, clean_time_span: i64) -> Self {
        Self::with_bloom(store_root, clean_time_span, default_bloom_filter())
    }

    /// An empty manager with the broker's bloom filter.
    pub fn with_bloom(store_root: &Path, clean_time_span: i64, bloom: BloomFilter) -> Self {
        ConsumerFilterManager {
            file: ConfigFile::new(crate::paths::consumer_filter_path(store_root)),
            bloom,
            clean_time_span,
            table: RwLock::new(HashMap::new()),
        }
    }

    /// [`with_bloom`](Self::with_bloom), then consumerFilter.json (or `.bak`) read as Java's
    /// `decode` does: every expression compiled again (one that fails is kept without compiled
    /// form), every filter alive in the file taken for dead since `now - 30 s` (or its birth),
    /// so that only consumers that heartbeat again revive theirs — and the whole file ignored
    /// when one filter's bloom data was not made by this bloom filter (missing, or another
    /// `m`/`k`: the bitmaps computed before no longer mean anything).
    pub fn open(
        store_root: &Path,
        clean_time_span: i64,
        bloom: BloomFilter,
        now: i64,
    ) -> Result<Self, ConfigFileError> {
        let manager = Self::with_bloom(store_root, clean_time_span, bloom);
        let loaded = manager
            .file
            .load(fastjson::from_str::<ConsumerFilterSerializeWrapper>)?;
        if let Some(wrapper) = loaded {
            if let Some(table) = decode(wrapper, &manager.bloom, now) {
                *manager.write() = table;
            }
        }
        Ok(manager)
    }

    /// The broker's bloom filter (Java's `getBloomFilter`).
    pub fn bloom_filter(&self) -> &BloomFilter {
        &self.bloom
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, TopicFilters>> {
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, TopicFilters>> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The heartbeat's registration of a group's subscriptions (Java's REGISTER event, on
    /// every heartbeat): each non-tag subscription registered, then the group's filters on
    /// topics it no longer subscribes die.
    pub fn register_subscriptions(&self, group: &str, subs: &[SubscriptionData], now: i64) {
        for sub in subs {
            self.register(
                sub.topic.as_deref().unwrap_or(""),
                group,
                sub.sub_string.as_deref().unwrap_or(""),
                sub.expression_type.as_deref(),
                sub.sub_version,
                now,
            );
        }
        let mut table = self.write();
        for topic in table.values_mut() {
            let Some(data) = topic.groups.get_mut(group) else {
                continue;
            };
            let subscribed = subs
                .iter()
                .any(|s| s.topic.as_deref() == Some(data.topic.as_str()));
            if !subscribed && !data.is_dead() {
                Arc::make_mut(data).dead_time = now;
                tracing::info!(
                    "Consumer filter changed: {group}, make illegal topic dead:{data:?}"
                );
            }
        }
    }

    /// Registers one subscription; true when the group's filter on `topic` is (now) this one
    /// and alive.
    pub fn register(
        &self,
        topic: &str,
        group: &str,
        expression: &str,
        expression_type: Option<&str>,
        client_version: i64,
        now: i64,
    ) -> bool {
        if is_tag_type(expression_type) || expression.is_empty() {
            return false;
        }
        let expression_type = expression_type.unwrap_or_default();
        let mut table = self.write();
        let topic_filters = table
            .entry(topic.to_owned())
            .or_insert_with(|| TopicFilters {
                topic: topic.to_owned(),
                groups: HashMap::new(),
            });
        let bloom = Some(self.bloom.generate(&format!("{group}#{topic}")));
        let groups = &mut topic_filters.groups;
        let Some(old) = groups.get_mut(group) else {
            let Some(mut data) = FilterData::build(
                topic,
                group,
                expression,
                expression_type,
                client_version,
                now,
            ) else {
                return false;
            };
            data.bloom_filter_data = bloom;
            tracing::info!("New consumer filter registered: {data:?}");
            groups.insert(group.to_owned(), Arc::new(data));
            return true;
        };
        if client_version <= old.client_version {
            if expression_type != old.expression_type || expression != old.expression {
                tracing::info!(
                    "Ignore consumer({group}:{topic}) filter, because of version {client_version} <= {}, but maybe info changed!old={}:{}, ignored={expression_type}:{expression}",
                    old.client_version, old.expression_type, old.expression
                );
            }
            if client_version == old.client_version && old.is_dead() {
                Arc::make_mut(old).dead_time = 0;
                return true;
            }
            return false;
        }
        let changed = old.expression != expression
            || old.expression_type != expression_type
            || old.bloom_filter_data != bloom;
        if changed {
            let Some(mut data) = FilterData::build(
                topic,
                group,
                expression,
                expression_type,
                client_version,
                now,
            ) else {
                // The new expression does not compile: the old one goes, the client's pulls
                // are told FILTER_DATA_NOT_EXIST.
                groups.remove(group);
                return false;
            };
            data.bloom_filter_data = bloom;
            tracing::info!("Consumer filter info change, old: {old:?}, new: {data:?}");
            *old = Arc::new(data);
        } else {
            let data = Arc::make_mut(old);
            data.client_version = client_version;
            if data.is_dead() {
                tracing::info!("Re alive consumer filter: {data:?}");
                data.dead_time = 0;
            }
        }
        true
    }

    /// Java's UNREGISTER event (the group's last member left): its filters die now.
    pub fn unregister(&self, group: &str, now: i64) {
        for topic in self.write().values_mut() {
            if let Some(data) = topic.groups.get_mut(group) {
                if !data.is_dead() {
                    tracing::info!("Unregister consumer filter: {data:?}, deadTime: {now}");
                    Arc::make_mut(data).dead_time = now;
                }
            }
        }
    }

    /// The group's filter on `topic`, dead or alive.
    pub fn get(&self, topic: &str, group: &str) -> Option<Arc<FilterData>> {
        self.read().get(topic)?.groups.get(group).cloned()
    }

    /// Every filter on `topic` (the bitmap calculation's input).
    pub fn filters_of_topic(&self, topic: &str) -> Vec<Arc<FilterData>> {
        self.read()
            .get(topic)
            .map(|t| t.groups.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every filter of `group`, on any topic.
    pub fn filters_of_group(&self, group: &str) -> Vec<Arc<FilterData>> {
        self.read()
            .values()
            .filter_map(|t| t.groups.get(group).cloned())
            .collect()
    }

    /// `clean`: filters dead for `filterDataCleanTimeSpan` or longer go, then topics left
    /// without filters.
    pub fn clean(&self, now: i64) {
        let span = self.clean_time_span;
        self.write().retain(|topic, filters| {
            filters.groups.retain(|_, data| {
                let keep = data.how_long_after_death(now) < span;
                if !keep {
                    tracing::info!("Remove filter consumer {data:?}, died too long!");
                }
                keep
            });
            if filters.groups.is_empty() {
                tracing::info!("Topic has no consumer, remove it! {topic}");
            }
            !filters.groups.is_empty()
        });
    }

    /// `encode(pretty)`: cleans first, as Java's does, then the file's JSON with the maps in
    /// Java's `ConcurrentHashMap` order (a new manager's table sizes; after a reload Java's
    /// tables are fastjson's default-sized ones, whose order may differ).
    pub fn encode(&self, now: i64, pretty: bool) -> String {
        self.clean(now);
        let table = self.read();
        let json: HashMap<String, (String, HashMap<String, FilterDataJson>)> = table
            .iter()
            .map(|(topic, filters)| {
                let groups = filters
                    .groups
                    .iter()
                    .map(|(g, d)| (g.clone(), d.to_json()))
                    .collect();
                (topic.clone(), (filters.topic.clone(), groups))
            })
            .collect();
        drop(table);
        let topics: HashMap<String, TopicOut<'_>> = json
            .iter()
            .map(|(topic, (name, groups))| {
                (
                    topic.clone(),
                    TopicOut {
                        group_filter_data: JavaMap::from_hash_map(groups, GROUP_TABLE),
                        topic: name,
                    },
                )
            })
            .collect();
        let file = FileOut {
            filter_data_by_topic: JavaMap::from_hash_map(&topics, TOPIC_TABLE),
        };
        let text = if pretty {
            fastjson::to_string_pretty(&file)
        } else {
            fastjson::to_string(&file)
        };
        text.expect("the filter table always encodes")
    }

    /// Writes consumerFilter.json (Java's `persist`: pretty, after a clean).
    pub fn persist(&self, now: i64) -> io::Result<()> {
        self.file.persist(|| self.encode(now, true))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// Java's `decode` of a loaded file: `None` when a filter's bloom data is not `bloom`'s.
fn decode(
    wrapper: ConsumerFilterSerializeWrapper,
    bloom: &BloomFilter,
    now: i64,
) -> Option<HashMap<String, TopicFilters>> {
    let mut table = HashMap::new();
    for (topic, by_topic) in wrapper.filter_data_by_topic {
        let mut filters = TopicFilters {
            topic: by_topic.topic.clone().unwrap_or_else(|| topic.clone()),
            groups: HashMap::new(),
        };
        for (group, json) in by_topic.group_filter_data {
            let expression = json.expression.clone().unwrap_or_default();
            let expression_type = json.expression_type.clone().unwrap_or_default();
            let compiled = match compile(&expression_type, &expression) {
                Ok(e) => Some(Arc::new(e)),
                Err(e) => {
                    tracing::error!("load filter data error, {json:?}: {:?}", e.message());
                    None
                }
            };
            let mut data = FilterData {
                consumer_group: json.consumer_group.clone().unwrap_or_else(|| group.clone()),
                topic: json.topic.clone().unwrap_or_else(|| topic.clone()),
                expression,
                expression_type,
                compiled,
                born_time: json.born_time,
                dead_time: json.dead_time,
                bloom_filter_data: json.bloom_filter_data.as_ref().map(|b| {
                    BloomFilterData::new(b.bit_pos.clone().unwrap_or_default(), b.bit_num)
                }),
                client_version: json.client_version,
            };
            // `isValid(null)` is false too: a file without bloom data is not loaded.
            let bloom_valid = json.bloom_filter_data.as_ref().is_some_and(|b| {
                b.bit_pos.is_some()
                    && data
                        .bloom_filter_data
                        .as_ref()
                        .is_some_and(|d| bloom.is_valid(d))
            });
            if !bloom_valid {
                tracing::info!(
                    "Bloom filter is changed!So ignore all filter data persisted! {bloom}, {:?}",
                    data.bloom_filter_data
                );
                return None;
            }
            if data.dead_time == 0 {
                data.dead_time = (now - 30_000).max(data.born_time);
            }
            tracing::info!("load exist consumer filter data: {data:?}");
            filters.groups.insert(group, Arc::new(data));
        }
        table.insert(topic, filters);
    }
    Some(table)
}
