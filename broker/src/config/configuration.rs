//! Java's `org.apache.rocketmq.common.Configuration` for the broker: the four config objects
//! (`BrokerConfig`, `NettyServerConfig`, `NettyClientConfig`, `MessageStoreConfig`) as one
//! properties table, its `DataVersion`, and the `-c` file it rewrites. GET_BROKER_CONFIG (26)
//! answers [`Configuration::text`]; UPDATE_BROKER_CONFIG (25) calls [`Configuration::update`].
//!
//! Java (4.9.8) registers the objects in that order at start (`MixAll.object2Properties`: every
//! non-null field under its field name, the last object winning for a key two of them have:
//! `writeBufferHigh/LowWaterMark` of the client config), and keeps them in a
//! `java.util.Properties`, whose JDK 17 backing map is a `ConcurrentHashMap(8)`. The text is
//! `MixAll.properties2String`: `key=value\n` per entry in that map's iteration order, which
//! [`Configuration::text`] reproduces: hash bucket first (a 256-bucket table for the 178 keys of
//! a default broker), then the order the keys entered the map (the objects' declaration order,
//! reshuffled by the map's resizes: [`java_order::ChmOrder`] simulates them).
//! The recorded `mqadmin getBrokerConfig` answer (s12 m19) and the file the Java broker rewrote
//! (`broker.conf.after-updateBrokerConfig`) have exactly this key order.
//!
//! An update (`Configuration.update`) hands every pair to every object (`properties2Object`:
//! the setter of the key's name, a value that does not parse swallowed, unknown keys ignored),
//! bumps the data version and rewrites the whole table to the `-c` file (default
//! `~/store/config/broker.properties`, `BrokerPathConfigHelper`), with Java's `.tmp`/`.bak`
//! files. Which settings take effect on the running broker is the caller's business
//! ([`crate::processor`]'s broker_config module lists them).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use remoting_codec::fastjson;
use remoting_codec::protocol::{properties_text, DataVersion};

use super::store_props::{bloom_filter_bits, MessageStoreProperties, NettyClientConfig};
use super::{BrokerConfig, LoadedConfig, NettyServerConfig};
use crate::java_order;

/// The four objects, as Java's `Configuration.configObjectList` holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigObjects {
    pub broker: BrokerConfig,
    pub netty_server: NettyServerConfig,
    pub netty_client: NettyClientConfig,
    pub store: MessageStoreProperties,
}

impl ConfigObjects {
    /// What `BrokerStartup` and the `BrokerController` constructor leave in the objects: the
    /// loaded file, `haListenPort = listenPort + 1`, `bitMapLengthConsumeQueueExt` from the
    /// consumer filter's bloom filter.
    pub fn from_loaded(loaded: &LoadedConfig) -> Self {
        let mut store = loaded.store.clone();
        store.store_path_root_dir = loaded.store_path_root_dir.display().to_string();
        store.ha_listen_port = loaded.netty_server.listen_port + 1;
        if let Some(bits) = bloom_filter_bits(
            loaded.broker.max_error_rate_of_bloom_filter,
            loaded.broker.expect_consumer_num_use_filter,
        ) {
            store.bit_map_length_consume_queue_ext = bits;
        }
        ConfigObjects {
            broker: loaded.broker.clone(),
            netty_server: loaded.netty_server.clone(),
            netty_client: loaded.netty_client.clone(),
            store,
        }
    }

    /// `object2Properties` of each object, in registration order.
    fn each_properties(&self) -> [Vec<(&'static str, String)>; 4] {
        [
            self.broker.properties(),
            self.netty_server.properties(),
            self.netty_client.properties(),
            self.store.properties(),
        ]
    }

    /// `properties2Object` on every object; returns the values that did not parse (Java
    /// swallows them: the field keeps its value).
    pub fn apply(&mut self, pairs: &[(String, String)]) -> Vec<super::InvalidValue> {
        let mut invalid = Vec::new();
        for (key, value) in pairs {
            for result in [
                self.broker.set(key, value),
                self.netty_server.set(key, value),
                self.netty_client.set(key, value),
                self.store.set_property(key, value),
            ] {
                if let Err(bad) = result {
                    invalid.push(bad);
                }
            }
        }
        invalid
    }
}

struct State {
    objects: ConfigObjects,
    /// The keys of Java's `allConfigs` (a `Properties`), in its iteration order.
    all_configs: java_order::ChmOrder,
    data_version: DataVersion,
}

impl State {
    /// `getAllConfigsInternal`: each object's `object2Properties` (a `Properties` of its own,
    /// filled in declaration order) merged into `allConfigs` in that map's order, then the
    /// entries in `allConfigs`' order, the value of the last object having the key.
    fn entries(&mut self) -> Vec<(&'static str, String)> {
        let mut values: HashMap<&'static str, String> = HashMap::new();
        for object in self.objects.each_properties() {
            let mut own = java_order::ChmOrder::new(8);
            for (key, _) in &object {
                own.insert(key);
            }
            for key in own.keys() {
                self.all_configs.insert(key);
            }
            values.extend(object);
        }
        let mut by_name: HashMap<&str, (&'static str, String)> =
            values.into_iter().map(|(k, v)| (k, (k, v))).collect();
        self.all_configs
            .keys()
            .filter_map(|k| by_name.remove(k))
            .collect()
    }
}

/// The broker's `Configuration`.
pub struct Configuration {
    state: RwLock<State>,
    /// Where updates are written (`BrokerPathConfigHelper.getBrokerConfigPath()`).
    path: PathBuf,
    /// `AdminBrokerProcessor.configBlackList`: `brokerConfigPath`, `rocketmqHome`,
    /// `configBlackList` and the start-time `configBlackList` setting's items.
    black_list: BTreeSet<String>,
}

/// `BrokerPathConfigHelper`'s default: `~/store/config/broker.properties`.
pub fn default_config_path() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("store")
        .join("config")
        .join("broker.properties")
}

impl Configuration {
    /// The configuration of a broker started from `loaded`, persisted to `path` (the `-c` file),
    /// with data version `{counter 0, timestamp now}`.
    pub fn new(loaded: &LoadedConfig, path: PathBuf, now: i64) -> Self {
        let objects = ConfigObjects::from_loaded(loaded);
        let mut black_list: BTreeSet<String> =
            ["brokerConfigPath", "rocketmqHome", "configBlackList"]
                .into_iter()
                .map(str::to_owned)
                .collect();
        black_list.extend(
            objects
                .broker
                .config_black_list
                .split(';')
                .map(str::to_owned),
        );
        let mut state = State {
            objects,
            all_configs: java_order::ChmOrder::new(8),
            data_version: DataVersion {
                counter: 0,
                state_version: None,
                timestamp: now,
            },
        };
        state.entries();
        Configuration {
            state: RwLock::new(state),
            path,
            black_list,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The objects as they are now.
    pub fn objects(&self) -> ConfigObjects {
        self.read().objects.clone()
    }

    /// Reads the live broker settings (those UPDATE_BROKER_CONFIG may have changed).
    pub fn broker<T>(&self, f: impl FnOnce(&BrokerConfig) -> T) -> T {
        f(&self.read().objects.broker)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every `(key, value)` in Java's order (`getAllConfigsFormatString`).
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        self.write().entries()
    }

    /// The properties text of GET_BROKER_CONFIG and of the rewritten `-c` file.
    pub fn text(&self) -> String {
        properties_text::write(self.entries())
    }

    pub fn data_version(&self) -> DataVersion {
        self.read().data_version.clone()
    }

    /// `getDataVersionJson`: `{"counter":0,"timestamp":…}`.
    pub fn data_version_json(&self) -> String {
        fastjson::to_string(&self.data_version()).unwrap_or_default()
    }

    /// `validateBlackListConfigExist`: whether the update names a black-listed key.
    pub fn touches_black_list(&self, pairs: &[(String, String)]) -> bool {
        pairs.iter().any(|(k, _)| self.black_list.contains(k))
    }

    /// `Configuration.update` + `persist`: every pair set on every object, the data version
    /// bumped, the whole table written to the file. Returns the values that did not parse
    /// (ignored, as Java does) and the write error if the file could not be written (Java logs
    /// it and the update still stands).
    pub fn update(
        &self,
        pairs: &[(String, String)],
        now: i64,
    ) -> (Vec<super::InvalidValue>, std::io::Result<()>) {
        let (invalid, text) = {
            let mut state = self.write();
            let invalid = state.objects.apply(pairs);
            state.data_version.counter += 1;
            state.data_version.timestamp = now;
            (invalid, properties_text::write(state.entries()))
        };
        (invalid, self.persist(&text))
    }

    fn persist(&self, text: &str) -> std::io::Result<()> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        store::config_file::persist(&self.path, text)
    }
}

#[cfg(test)]
#[path = "configuration_tests.rs"]
pub(crate) mod tests;
