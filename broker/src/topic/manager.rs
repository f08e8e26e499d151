//! `TopicConfigManager`: the broker's topic table, `<storePathRootDir>/config/topics.json`.
//!
//! What a client sees of it: a send to an unknown topic is auto-created from TBW102 (or refused
//! with TOPIC_NOT_EXIST when that is off), queue ids are checked against the counts here, and
//! perm decides NO_PERMISSION. The table and its [`DataVersion`] are what REGISTER_BROKER sends
//! the namesrv, so a change that clients must see in routes raises [`register_requested`]:
//! Java calls `registerBrokerAll` right after auto-creating a topic, and the admin handler
//! registers after UPDATE_AND_CREATE_TOPIC.
//!
//! [`register_requested`]: TopicConfigManager::take_register_request

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use remoting_codec::fastjson;
use remoting_codec::protocol::{
    perm, DataVersion, KvTable, TopicConfig, TopicConfigSerializeWrapper,
};
use serde::Serialize;
use store::config_file::ConfigFileError;

use super::validator::*;
use crate::config::BrokerConfig;
use crate::config_file::ConfigFile;
use crate::java_order::{JavaMap, TABLE_1024};

/// Queues of SCHEDULE_TOPIC_XXXX: one per delay level.
const SCHEDULE_TOPIC_QUEUE_NUM: i32 = 18;

/// The result of a create-if-absent call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOutcome {
    pub config: TopicConfig,
    /// The topic did not exist before this call (the table changed and was persisted).
    pub created: bool,
}

struct Table {
    topics: HashMap<String, TopicConfig>,
    data_version: DataVersion,
}

pub struct TopicConfigManager {
    /// topics.json.
    file: ConfigFile,
    auto_create_topic_enable: bool,
    /// Java's static system topic set plus the names added at start.
    system_topics: HashSet<String>,
    /// The same names in the order Java's `HashSet` received them (static block first, then
    /// `addSystemTopic` in the constructor's order), for GET_SYSTEM_TOPIC_LIST_FROM_BROKER.
    system_topic_order: Vec<String>,
    table: RwLock<Table>,
    /// Java's `topicConfigTableLock`: serialises the create-if-absent paths.
    create_lock: Mutex<()>,
    register_requested: AtomicBool,
    /// Wakes the registering task when `register_requested` is raised.
    register_wakeup: tokio::sync::Notify,
}

/// topics.json as 4.9.8 writes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicsFile<'a> {
    data_version: &'a DataVersion,
    topic_config_table: JavaMap<'a, TopicConfig>,
}

fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        read_queue_nums: queues,
        write_queue_nums: queues,
        perm,
        ..TopicConfig::new(name)
    }
}

impl TopicConfigManager {
    /// The table a 4.9.8 broker starts with (before topics.json is read): the system topics.
    pub fn new(config: &BrokerConfig, store_root: &Path) -> Self {
        let rw = perm::READ | perm::WRITE;
        let all = perm::INHERIT | rw;
        let inherit_or_all = |enabled| if enabled { all } else { perm::INHERIT };
        let cluster = &config.broker_cluster_name;
        let mut start = vec![topic(RMQ_SYS_SELF_TEST_TOPIC, 1, rw)];
        if config.auto_create_topic_enable {
            start.push(topic(
                AUTO_CREATE_TOPIC_KEY_TOPIC,
                config.default_topic_queue_nums,
                all,
            ));
        }
        start.push(topic(RMQ_SYS_BENCHMARK_TOPIC, 1024, rw));
        start.push(topic(
            cluster,
            16,
            inherit_or_all(config.cluster_topic_enable),
        ));
        start.push(topic(
            &config.broker_name,
            1,
            inherit_or_all(config.broker_topic_enable),
        ));
        start.push(topic(RMQ_SYS_OFFSET_MOVED_EVENT, 1, rw));
        start.push(topic(RMQ_SYS_SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM, rw));
        if config.trace_topic_enable {
            start.push(topic(&config.msg_trace_topic_name, 1, rw));
        }
        start.push(topic(&format!("{cluster}_{REPLY_TOPIC_POSTFIX}"), 1, rw));

        let mut system_topic_order: Vec<String> = Vec::new();
        for name in SYSTEM_TOPICS
            .iter()
            .map(|s| s.to_string())
            .chain(start.iter().map(|t| t.topic_name.clone()))
        {
            if !system_topic_order.contains(&name) {
                system_topic_order.push(name);
            }
        }
        let system_topics: HashSet<String> = system_topic_order.iter().cloned().collect();
        TopicConfigManager {
            file: ConfigFile::new(crate::paths::topic_config_path(store_root)),
            auto_create_topic_enable: config.auto_create_topic_enable,
            system_topics,
            system_topic_order,
            table: RwLock::new(Table {
                topics: start
                    .into_iter()
                    .map(|t| (t.topic_name.clone(), t))
                    .collect(),
                data_version: DataVersion::default(),
            }),
            create_lock: Mutex::new(()),
            register_requested: AtomicBool::new(false),
            register_wakeup: tokio::sync::Notify::new(),
        }
    }

    /// [`new`](Self::new), then topics.json (or its `.bak`) over it, as Java's `load()`: the
    /// file's topics replace the start ones of the same name and its data version is taken.
    pub fn open(config: &BrokerConfig, store_root: &Path) -> Result<Self, ConfigFileError> {
        let manager = Self::new(config, store_root);
        let loaded = manager
            .file
            .load(fastjson::from_str::<TopicConfigSerializeWrapper>)?;
        if let Some(wrapper) = loaded {
            let mut table = manager.write();
            table.topics.extend(wrapper.topic_config_table);
            // 4.9.8 keeps counter and timestamp only (5.x's stateVersion is not written back).
            table.data_version = DataVersion {
                state_version: None,
                ..wrapper.data_version
            };
        }
        Ok(manager)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // A panic while holding the lock cannot leave the table half-changed (every write is a
        // single insert or remove), so a poisoned lock is still consistent.
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn select_topic_config(&self, topic: &str) -> Option<TopicConfig> {
        self.read().topics.get(topic).cloned()
    }

    pub fn contains(&self, topic: &str) -> bool {
        self.read().topics.contains_key(topic)
    }

    pub fn topic_names(&self) -> Vec<String> {
        self.read().topics.keys().cloned().collect()
    }

    /// Java's `TopicValidator.isSystemTopic` with this broker's additions: the fixed set, the
    /// names added at start, and anything starting with `rmq_sys_`.
    pub fn is_system_topic(&self, topic: &str) -> bool {
        self.system_topics.contains(topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
    }

    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// `TopicValidator.getSystemTopicSet()`: the system topic names in the iteration order of
    /// Java's `HashSet` (hash bucket, then insertion order).
    pub fn system_topic_list(&self) -> Vec<String> {
        let names = &self.system_topic_order;
        let table = crate::java_order::table_size(16, names.len());
        let mut keyed: Vec<(usize, usize, &String)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (crate::java_order::bucket(n, table), i, n))
            .collect();
        keyed.sort_unstable();
        keyed.into_iter().map(|(_, _, n)| n.clone()).collect()
    }

    /// `getDataVersion().nextVersion()` without a table change (UPDATE_BROKER_CONFIG with
    /// `brokerPermission`, whose registration must carry a new version).
    pub fn next_data_version(&self) {
        crate::next_version(&mut self.write().data_version);
    }

    /// The table with its data version, taken together (REGISTER_BROKER, GET_ALL_TOPIC_CONFIG).
    pub fn serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let table = self.read();
        TopicConfigSerializeWrapper {
            data_version: table.data_version.clone(),
            topic_config_table: table
                .topics
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..Default::default()
        }
    }

    /// A slave's copy of its master's table (Java's `SlaveSynchronize.syncTopicConfig`): when
    /// the master's data version differs from ours, our table becomes the master's and takes
    /// its version, and topics.json is written. Returns whether it changed.
    pub fn apply_master_table(&self, master: TopicConfigSerializeWrapper) -> bool {
        {
            let mut table = self.write();
            if crate::same_version(&table.data_version, &master.data_version) {
                return false;
            }
            table.data_version = DataVersion {
                state_version: None,
                ..master.data_version
            };
            table.topics.clear();
            table.topics.extend(master.topic_config_table);
        }
        if let Err(e) = self.persist() {
            tracing::error!("persist topics.json failed: {e}");
        }
        true
    }

    /// Whether a topic change asked for a REGISTER_BROKER since the last call (clears the flag).
    pub fn take_register_request(&self) -> bool {
        self.register_requested.swap(false, Ordering::AcqRel)
    }

    /// Resolves once a topic change has asked for a REGISTER_BROKER (then take the request with
    /// [`take_register_request`](Self::take_register_request)). Java registers in the thread
    /// that created the topic, before answering; waking the registering task at once keeps the
    /// namesrv that close behind.
    pub async fn register_requested(&self) {
        self.register_wakeup.notified().await
    }

    /// `createTopicInSendMessageMethod`: a send (or a client's topic route lookup through the
    /// broker) to a missing topic creates it from `default_topic` (TBW102) when that topic has
    /// the INHERIT bit: `min(client's defaultTopicQueueNums, default's write queues)` queues
    /// (never negative), the default's perm without INHERIT, its filter type, the client's
    /// sysFlag. `None`: the default topic is missing or not inheritable.
    ///
    /// Java quirk kept: with `autoCreateTopicEnable=false`, a TBW102 loaded from topics.json has
    /// its perm set to read+write (losing INHERIT) in memory here, so nothing is created from it.
    pub fn create_topic_in_send_message_method(
        &self,
        topic: &str,
        default_topic: &str,
        remote_addr: &str,
        client_default_topic_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<CreateOutcome> {
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        let created = {
            let mut table = self.write();
            if let Some(existing) = table.topics.get(topic) {
                return Some(CreateOutcome {
                    config: existing.clone(),
                    created: false,
                });
            }
            let auto_create = self.auto_create_topic_enable;
            let default = table.topics.get_mut(default_topic)?;
            if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !auto_create {
                default.perm = perm::READ | perm::WRITE;
            }
            let (default_perm, default_queues, filter_type) = (
                default.perm,
                default.write_queue_nums,
                default.topic_filter_type,
            );
            if !perm::is_inherited(default_perm) {
                tracing::warn!(
                    "create topic {topic} from {default_topic} refused: perm {default_perm} has no INHERIT, client {remote_addr}"
                );
                return None;
            }
            let queues = client_default_topic_queue_nums.min(default_queues).max(0);
            let config = TopicConfig {
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: default_perm & !perm::INHERIT,
                topic_sys_flag,
                topic_filter_type: filter_type,
                ..TopicConfig::new(topic)
            };
            tracing::info!(
                "create topic {topic} from {default_topic} for {remote_addr}: {config:?}"
            );
            table.topics.insert(topic.to_owned(), config.clone());
            crate::next_version(&mut table.data_version);
            config
        };
        self.changed_and_register();
        Some(CreateOutcome {
            config: created,
            created: true,
        })
    }

    /// `createTopicInSendMessageBackMethod`: a retry (`%RETRY%group`) or DLQ topic, or the
    /// transaction half/op topics, created on first use with the given queues and perm.
    pub fn create_topic_in_send_message_back_method(
        &self,
        topic: &str,
        client_default_topic_queue_nums: i32,
        perm: i32,
        topic_sys_flag: i32,
    ) -> CreateOutcome {
        self.create_if_absent(TopicConfig {
            read_queue_nums: client_default_topic_queue_nums,
            write_queue_nums: client_default_topic_queue_nums,
            perm,
            topic_sys_flag,
            ..TopicConfig::new(topic)
        })
    }

    /// `createTopicOfTranCheckMaxTime`: TRANS_CHECK_MAX_TIME_TOPIC, where half messages go after
    /// `transactionCheckMax` checks.
    pub fn create_topic_of_tran_check_max_time(
        &self,
        client_default_topic_queue_nums: i32,
        perm: i32,
    ) -> CreateOutcome {
        self.create_topic_in_send_message_back_method(
            RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
            client_default_topic_queue_nums,
            perm,
            0,
        )
    }

    fn create_if_absent(&self, config: TopicConfig) -> CreateOutcome {
        if let Some(existing) = self.select_topic_config(&config.topic_name) {
            return CreateOutcome {
                config: existing,
                created: false,
            };
        }
        let _guard = self.create_lock.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut table = self.write();
            if let Some(existing) = table.topics.get(&config.topic_name) {
                return CreateOutcome {
                    config: existing.clone(),
                    created: false,
                };
            }
            table
                .topics
                .insert(config.topic_name.clone(), config.clone());
            crate::next_version(&mut table.data_version);
        }
        tracing::info!("create new topic {config:?}");
        self.changed_and_register();
        CreateOutcome {
            config,
            created: true,
        }
    }

    fn changed_and_register(&self) {
        self.persist_logged();
        self.register_requested.store(true, Ordering::Release);
        // `notify_one` keeps a permit when the task is busy registering, so no change is lost.
        self.register_wakeup.notify_one();
    }

    /// `updateTopicConfig` (UPDATE_AND_CREATE_TOPIC): replaces or adds the topic, bumps the data
    /// version, persists, and asks for a registration as Java's admin handler does. Returns the
    /// previous config.
    pub fn update_topic_config(&self, config: TopicConfig) -> Option<TopicConfig> {
        let old = {
            let mut table = self.write();
            let old = table.topics.insert(config.topic_name.clone(), config);
            crate::next_version(&mut table.data_version);
            old
        };
        self.changed_and_register();
        old
    }

    /// `deleteTopicConfig` (DELETE_TOPIC_IN_BROKER): bumps the version only if the topic existed.
    /// Java does not re-register here (mqadmin deletes the route from the namesrv itself).
    pub fn delete_topic_config(&self, topic: &str) -> Option<TopicConfig> {
        let old = {
            let mut table = self.write();
            let old = table.topics.remove(topic);
            if old.is_some() {
                crate::next_version(&mut table.data_version);
            }
            old
        };
        if old.is_some() {
            self.persist_logged();
        }
        old
    }

    /// `updateOrderTopicConfig`: the namesrv's ORDER_TOPIC_CONFIG table marks exactly its topics
    /// as ordered; the version moves only if a flag changed.
    pub fn update_order_topic_config(&self, order_topics: &KvTable) {
        let changed = {
            let mut table = self.write();
            let mut changed = false;
            for (name, config) in table.topics.iter_mut() {
                let order = order_topics.table.contains_key(name);
                if config.order != order {
                    config.order = order;
                    changed = true;
                }
            }
            if changed {
                crate::next_version(&mut table.data_version);
            }
            changed
        };
        if changed {
            self.persist_logged();
        }
    }

    pub fn is_order_topic(&self, topic: &str) -> bool {
        self.read().topics.get(topic).is_some_and(|t| t.order)
    }

    /// The same content on one line: Java's `encode()`, the body of GET_ALL_TOPIC_CONFIG.
    pub fn encode(&self) -> String {
        self.encode_as(false)
    }

    /// topics.json text, byte for byte as 4.9.8 writes the same table (fastjson pretty, keys in
    /// Java's hash order).
    pub fn encode_pretty(&self) -> String {
        self.encode_as(true)
    }

    fn encode_as(&self, pretty: bool) -> String {
        let table = self.read();
        let file = TopicsFile {
            data_version: &table.data_version,
            topic_config_table: JavaMap::from_hash_map(&table.topics, TABLE_1024),
        };
        // Invariant: string keys and plain fields always serialize.
        if pretty {
            fastjson::to_string_pretty(&file)
        } else {
            fastjson::to_string(&file)
        }
        .expect("topics.json serializes")
    }

    /// Writes topics.json (keeping the previous one as `.bak`).
    pub fn persist(&self) -> io::Result<()> {
        self.file.persist(|| self.encode_pretty())
    }

    fn persist_logged(&self) {
        self.file.persist_logged(|| self.encode_pretty())
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
