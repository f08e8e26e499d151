//! `SubscriptionGroupManager`: consumer group settings, `<storePathRootDir>/config/subscriptionGroup.json`.
//!
//! A client meets it on every heartbeat and pull: an unknown group is auto-created with Java's
//! defaults when `autoCreateSubscriptionGroup` is on (else the heartbeat/pull answers
//! SUBSCRIPTION_GROUP_NOT_EXIST), `consumeEnable=false` stops pulls, `retryQueueNums` sizes the
//! `%RETRY%group` topic, `retryMaxTimes` decides when a message goes to the DLQ, and
//! `notifyConsumerIdsChangedEnable` gates NOTIFY_CONSUMER_IDS_CHANGED.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::RwLock;

use remoting_codec::fastjson;
use remoting_codec::protocol::group_admin::{SubscriptionGroupConfig, SubscriptionGroupWrapper};
use remoting_codec::protocol::DataVersion;
use serde::Serialize;
use store::config_file::ConfigFileError;

use crate::config_file::ConfigFile;
use crate::java_order::{JavaMap, TABLE_1024};

pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
pub const FILTERSRV_CONSUMER_GROUP: &str = "FILTERSRV_CONSUMER";
pub const SELF_TEST_CONSUMER_GROUP: &str = "SELF_TEST_C_GROUP";
pub const ONS_HTTP_PROXY_GROUP: &str = "CID_ONS-HTTP-PROXY";
pub const CID_ONSAPI_PULL_GROUP: &str = "CID_ONSAPI_PULL";
pub const CID_ONSAPI_PERMISSION_GROUP: &str = "CID_ONSAPI_PERMISSION";
pub const CID_ONSAPI_OWNER_GROUP: &str = "CID_ONSAPI_OWNER";
/// `MixAll.CID_RMQ_SYS_PREFIX`: groups the broker uses itself; always auto-created.
pub const CID_RMQ_SYS_PREFIX: &str = "CID_RMQ_SYS_";

/// The groups a 4.9.8 broker has before reading its file.
pub const BUILT_IN_GROUPS: &[&str] = &[
    TOOLS_CONSUMER_GROUP,
    FILTERSRV_CONSUMER_GROUP,
    SELF_TEST_CONSUMER_GROUP,
    ONS_HTTP_PROXY_GROUP,
    CID_ONSAPI_PULL_GROUP,
    CID_ONSAPI_PERMISSION_GROUP,
    CID_ONSAPI_OWNER_GROUP,
];

/// `MixAll.isSysConsumerGroup`.
pub fn is_sys_consumer_group(group: &str) -> bool {
    group.starts_with(CID_RMQ_SYS_PREFIX)
}

struct Table {
    groups: HashMap<String, SubscriptionGroupConfig>,
    data_version: DataVersion,
}

/// subscriptionGroup.json as 4.9.8 writes it (a dump of the manager: `dataVersion` and
/// `subscriptionGroupTable`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupsFile<'a> {
    data_version: &'a DataVersion,
    subscription_group_table: JavaMap<'a, SubscriptionGroupConfig>,
}

pub struct SubscriptionGroupManager {
    /// subscriptionGroup.json.
    file: ConfigFile,
    auto_create: bool,
    table: RwLock<Table>,
}

impl SubscriptionGroupManager {
    /// The built-in groups (all with Java's initial values), before the file is read.
    pub fn new(auto_create_subscription_group: bool, store_root: &Path) -> Self {
        let groups = BUILT_IN_GROUPS
            .iter()
            .map(|g| (g.to_string(), SubscriptionGroupConfig::new(*g)))
            .collect();
        SubscriptionGroupManager {
            file: ConfigFile::new(crate::paths::subscription_group_path(store_root)),
            auto_create: auto_create_subscription_group,
            table: RwLock::new(Table {
                groups,
                data_version: DataVersion::default(),
            }),
        }
    }

    /// [`new`](Self::new), then subscriptionGroup.json (or `.bak`) over it.
    pub fn open(
        auto_create_subscription_group: bool,
        store_root: &Path,
    ) -> Result<Self, ConfigFileError> {
        let manager = Self::new(auto_create_subscription_group, store_root);
        let loaded = manager
            .file
            .load(fastjson::from_str::<SubscriptionGroupWrapper>)?;
        if let Some(wrapper) = loaded {
            let mut table = manager.write();
            table.groups.extend(wrapper.subscription_group_table);
            table.data_version = DataVersion {
                state_version: None,
                ..wrapper.data_version
            };
        }
        Ok(manager)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        // Every write is one insert/remove/field store: a poisoned lock is still consistent.
        self.table.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|e| e.into_inner())
    }

    /// `findSubscriptionGroupConfig`: the group, auto-created (persisted, new data version) when
    /// missing and `autoCreateSubscriptionGroup` is on or the group is a `CID_RMQ_SYS_` one.
    pub fn find_subscription_group_config(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(found) = self.read().groups.get(group) {
            return Some(found.clone());
        }
        if !(self.auto_create || is_sys_consumer_group(group)) {
            return None;
        }
        let config = {
            let mut table = self.write();
            if let Some(found) = table.groups.get(group) {
                return Some(found.clone());
            }
            let config = SubscriptionGroupConfig::new(group);
            table.groups.insert(group.to_owned(), config.clone());
            crate::next_version(&mut table.data_version);
            config
        };
        tracing::info!("auto create a subscription group {group}");
        self.persist_logged();
        Some(config)
    }

    /// A slave's copy of its master's groups (Java's `syncSubscriptionGroupConfig`): taken
    /// with the master's data version when that differs from ours, then persisted. Returns
    /// whether it changed.
    pub fn apply_master_table(&self, master: SubscriptionGroupWrapper) -> bool {
        {
            let mut table = self.write();
            if crate::same_version(&table.data_version, &master.data_version) {
                return false;
            }
            table.data_version = DataVersion {
                state_version: None,
                ..master.data_version
            };
            table.groups.clear();
            table.groups.extend(master.subscription_group_table);
        }
        self.persist_logged();
        true
    }

    /// The group if it exists, without auto-creating it.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.read().groups.get(group).cloned()
    }

    pub fn contains(&self, group: &str) -> bool {
        self.read().groups.contains_key(group)
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: replaces or adds; returns the previous config.
    pub fn update_subscription_group_config(
        &self,
        config: SubscriptionGroupConfig,
    ) -> Option<SubscriptionGroupConfig> {
        let old = {
            let mut table = self.write();
            let old = table.groups.insert(config.group_name.clone(), config);
            crate::next_version(&mut table.data_version);
            old
        };
        self.persist_logged();
        old
    }

    /// `disableConsume`: Java bumps the version but does not persist here.
    pub fn disable_consume(&self, group: &str) {
        let mut table = self.write();
        if let Some(config) = table.groups.get_mut(group) {
            config.consume_enable = false;
            crate::next_version(&mut table.data_version);
        }
    }

    /// DELETE_SUBSCRIPTIONGROUP: the version moves only if the group existed.
    pub fn delete_subscription_group_config(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        let old = {
            let mut table = self.write();
            let old = table.groups.remove(group);
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

    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    pub fn group_names(&self) -> Vec<String> {
        self.read().groups.keys().cloned().collect()
    }

    /// The table and version taken together (GET_ALL_SUBSCRIPTIONGROUP_CONFIG).
    pub fn wrapper(&self) -> SubscriptionGroupWrapper {
        let table = self.read();
        SubscriptionGroupWrapper {
            data_version: table.data_version.clone(),
            forbidden_table: None,
            subscription_group_table: table
                .groups
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The same content on one line: Java's `encode()`, the body of GET_ALL_SUBSCRIPTIONGROUP_CONFIG.
    pub fn encode(&self) -> String {
        self.encode_as(false)
    }

    /// subscriptionGroup.json text as 4.9.8 writes the same table.
    pub fn encode_pretty(&self) -> String {
        self.encode_as(true)
    }

    fn encode_as(&self, pretty: bool) -> String {
        let table = self.read();
        let file = GroupsFile {
            data_version: &table.data_version,
            subscription_group_table: JavaMap::from_hash_map(&table.groups, TABLE_1024),
        };
        // Invariant: string keys and plain fields always serialize.
        if pretty {
            fastjson::to_string_pretty(&file)
        } else {
            fastjson::to_string(&file)
        }
        .expect("subscriptionGroup.json serializes")
    }

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
mod tests {
    use super::*;
    use crate::test_util::{golden, install_golden_config, TempDir};

    #[test]
    fn golden_file_round_trips_byte_for_byte() {
        for case in ["clean", "s05-delay"] {
            let dir = TempDir::new("groups-golden");
            let rel = format!("store-config/{case}/subscriptionGroup.json");
            install_golden_config(dir.path(), &rel, "subscriptionGroup.json");
            let java = std::fs::read_to_string(golden(&rel)).unwrap();
            let m = SubscriptionGroupManager::open(true, dir.path()).unwrap();
            assert_eq!(m.encode_pretty(), java, "{case}");
            m.persist().unwrap();
            assert_eq!(std::fs::read_to_string(m.path()).unwrap(), java);
        }
    }

    /// A fresh 4.9.8 broker plus auto-created groups gives Java's file (the s05 capture: the
    /// built-in groups and `delay_consumer_group`).
    #[test]
    fn built_ins_plus_auto_created_group_is_javas_file() {
        let java = std::fs::read_to_string(golden("store-config/s05-delay/subscriptionGroup.json"))
            .unwrap();
        let file: SubscriptionGroupWrapper = fastjson::from_str(&java).unwrap();
        let dir = TempDir::new("groups-fresh");
        let m = SubscriptionGroupManager::new(true, dir.path());
        assert_eq!(m.group_names().len(), 7);
        let extra: Vec<&String> = file
            .subscription_group_table
            .keys()
            .filter(|g| !BUILT_IN_GROUPS.contains(&g.as_str()))
            .collect();
        assert_eq!(extra, ["delay_consumer_group"]);
        for g in &extra {
            assert_eq!(m.find_subscription_group_config(g).unwrap().group_name, **g);
        }
        let ours = std::fs::read_to_string(m.path()).unwrap();
        let ts = m.data_version().timestamp.to_string();
        let ours = ours
            .replace(&ts, &file.data_version.timestamp.to_string())
            .replace(
                "\"counter\":1,",
                &format!("\"counter\":{},", file.data_version.counter),
            );
        assert_eq!(ours, java);
    }

    #[test]
    fn auto_create_rules() {
        let dir = TempDir::new("groups-auto");
        let m = SubscriptionGroupManager::new(false, dir.path());
        assert!(m.find_subscription_group_config("g").is_none());
        assert!(!m.path().exists());
        // CID_RMQ_SYS_ groups are created even with auto-create off.
        let sys = m
            .find_subscription_group_config("CID_RMQ_SYS_TRANS")
            .unwrap();
        assert_eq!((sys.retry_max_times, sys.retry_queue_nums), (16, 1));
        assert_eq!(m.data_version().counter, 1);
        assert!(m
            .find_subscription_group_config("CID_RMQ_SYS_TRANS")
            .is_some());
        assert_eq!(m.data_version().counter, 1);

        let mut custom = SubscriptionGroupConfig::new("g");
        custom.retry_max_times = 3;
        assert!(m.update_subscription_group_config(custom).is_none());
        assert_eq!(m.get("g").unwrap().retry_max_times, 3);
        m.disable_consume("g");
        assert!(!m.get("g").unwrap().consume_enable);
        assert_eq!(m.data_version().counter, 3);
        assert!(m.delete_subscription_group_config("g").is_some());
        assert!(m.delete_subscription_group_config("g").is_none());
        assert_eq!(m.data_version().counter, 4);
        // The file was read back by a new manager.
        let again = SubscriptionGroupManager::open(false, dir.path()).unwrap();
        assert_eq!(again.data_version().counter, 4);
        assert!(again.contains("CID_RMQ_SYS_TRANS") && !again.contains("g"));
        assert_eq!(again.wrapper().subscription_group_table.len(), 8);
    }
}
