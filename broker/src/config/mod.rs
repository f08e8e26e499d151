//! broker.conf: Java's key names and defaults, read as `BrokerStartup -c` reads them.
//!
//! Java loads the file with `Properties.load` and hands the same properties to four objects
//! (`BrokerConfig`, `NettyServerConfig`, `NettyClientConfig`, `MessageStoreConfig`) with
//! `MixAll.properties2Object`, which sets every field that has a key and silently ignores the
//! rest, including values that do not parse. We read the same files the same way
//! ([`properties_text`]), with two differences an operator should know:
//!
//! - keys no Java class has are accepted and logged once (Java says nothing, and a typo goes
//!   unnoticed); a value that does not parse keeps the default, as in Java, and is logged and
//!   reported in [`LoadedConfig::invalid`];
//! - numbers and booleans are trimmed before parsing (Java would ignore `listenPort=10911 ` and
//!   read `true ` as false).
//!
//! `storePathRootDir` belongs to the store and to the broker (the config files live under it).
//! The store's keys are passed on unchanged in [`LoadedConfig::store_entries`] for its own
//! config type.

mod broker;
pub mod configuration;
pub(crate) mod fields;
pub mod five;
pub mod host;
pub mod store_props;

use std::path::{Path, PathBuf};

pub use broker::{
    BrokerConfig, NettyServerConfig, NETTY_CLIENT_KEYS, STARTUP_KEYS, STORE_KEYS, TIMER_STORE_KEYS,
};
pub use configuration::Configuration;
use remoting_codec::protocol::properties_text;
pub use store_props::{MessageStoreProperties, NettyClientConfig};

/// A value that does not parse for its field's type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid value {value:?} for {key} (expected {expected}); the default is kept")]
pub struct InvalidValue {
    pub key: String,
    pub value: String,
    pub expected: &'static str,
}

/// Why a broker.conf cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Properties(#[from] properties_text::PropertiesError),
    /// `BrokerStartup`: "Slave's brokerId must be > 0".
    #[error("Slave's brokerId must be > 0")]
    SlaveBrokerId,
    /// `BrokerStartup` checks every namesrv address.
    #[error("The Name Server Address[{0}] illegal, please set it as follows, \"127.0.0.1:9876;192.168.0.1:9876\"")]
    NamesrvAddr(String),
}

/// What a broker.conf gives the broker.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedConfig {
    pub broker: BrokerConfig,
    pub netty_server: NettyServerConfig,
    /// The broker's client side (listed by GET_BROKER_CONFIG; not used otherwise).
    pub netty_client: NettyClientConfig,
    /// Every 4.9.8 store key with its value (GET_BROKER_CONFIG); the store's own typed config
    /// is built from [`store_entries`](Self::store_entries).
    pub store: MessageStoreProperties,
    /// `storePathRootDir` (default `$HOME/store`, as the store's).
    pub store_path_root_dir: PathBuf,
    /// The `-c` file (Java's `BrokerPathConfigHelper.brokerConfigPath`), which
    /// UPDATE_BROKER_CONFIG rewrites; `None`: started without one.
    pub config_file: Option<PathBuf>,
    /// The file's store keys, in file order, for the store's config.
    pub store_entries: Vec<(String, String)>,
    /// Keys no Java config class has (logged once at load).
    pub unknown_keys: Vec<String>,
    /// Values that did not parse (logged; the defaults were kept).
    pub invalid: Vec<InvalidValue>,
    /// The 5.x metrics switches (`metricsExporterType`, …), not listed by GET_BROKER_CONFIG
    /// (4.9.8 has none).
    pub metrics: crate::metrics::MetricsConfig,
    /// The 5.x switches of the 5.x client codes ([`five`]), not listed by GET_BROKER_CONFIG.
    pub five: five::FiveConfig,
    /// The 5.x POP keys (`reviveQueueNum`, …), not listed by GET_BROKER_CONFIG (4.9.8 has
    /// none).
    pub pop: crate::pop::PopConfig,
    /// The gRPC endpoint's keys (`enableGrpcServer`, `grpcServerPort`, …; [`crate::grpc`]).
    pub grpc: crate::grpc::GrpcConfig,
}

fn default_store_root() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("store")
}

impl Default for LoadedConfig {
    fn default() -> Self {
        LoadedConfig {
            broker: BrokerConfig::default(),
            netty_server: NettyServerConfig::default(),
            netty_client: NettyClientConfig::default(),
            store: MessageStoreProperties::default(),
            store_path_root_dir: default_store_root(),
            config_file: None,
            store_entries: Vec::new(),
            unknown_keys: Vec::new(),
            invalid: Vec::new(),
            metrics: crate::metrics::MetricsConfig::default(),
            five: five::FiveConfig::default(),
            pop: crate::pop::PopConfig::default(),
            grpc: crate::grpc::GrpcConfig::default(),
        }
    }
}

impl LoadedConfig {
    /// Reads a broker.conf file (`-c`).
    pub fn load_file(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut loaded = Self::from_entries(&properties_text::parse_bytes(&bytes)?)?;
        loaded.config_file = Some(path.to_path_buf());
        Ok(loaded)
    }

    /// Reads broker.conf text.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        Self::from_entries(&properties_text::parse(text)?)
    }

    /// Applies `key=value` entries (the last one of a key wins, as in `Properties`) over the
    /// defaults, then `BrokerStartup`'s checks.
    pub fn from_entries(entries: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut config = LoadedConfig::default();
        for (key, value) in entries {
            config.set(key, value);
        }
        if !config.unknown_keys.is_empty() {
            tracing::warn!(
                "broker.conf: ignoring keys no Java broker config has: {}",
                config.unknown_keys.join(", ")
            );
        }
        for bad in &config.invalid {
            tracing::warn!("broker.conf: {bad}");
        }
        config.check()?;
        Ok(config)
    }

    /// Sets one key, as a broker.conf line or a command-line override (`-n` sets
    /// `namesrvAddr`) would.
    pub fn set(&mut self, key: &str, value: &str) {
        let mut known = false;
        for result in [
            self.broker.set(key, value),
            self.netty_server.set(key, value),
            self.netty_client.set(key, value),
            self.store.set_property(key, value),
        ] {
            match result {
                Ok(hit) => known |= hit,
                Err(bad) => {
                    known = true;
                    self.invalid.push(bad);
                }
            }
        }
        if STORE_KEYS.contains(&key) || TIMER_STORE_KEYS.contains(&key) {
            known = true;
            if key == "storePathRootDir" {
                self.store_path_root_dir = PathBuf::from(value);
            }
            self.store_entries.push((key.to_owned(), value.to_owned()));
        }
        known |= self.five.set(key, value).unwrap_or(true);
        // The 5.x key families: a hit is a known key, a bad value is logged.
        for set in [
            self.metrics.set(key, value),
            self.pop.set(key, value),
            self.grpc.set(key, value),
        ] {
            match set {
                Ok(hit) => known |= hit,
                Err(reason) => {
                    known = true;
                    tracing::warn!("broker.conf: {reason}");
                }
            }
        }
        known |= NETTY_CLIENT_KEYS.contains(&key) || STARTUP_KEYS.contains(&key);
        if !known && !self.unknown_keys.iter().any(|k| k == key) {
            self.unknown_keys.push(key.to_owned());
        }
    }

    /// The last value the file gave a store key.
    pub fn store_value(&self, key: &str) -> Option<&str> {
        self.store_entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `BrokerStartup`'s checks: a master's `brokerId` is forced to 0, a slave needs one > 0,
    /// and every namesrv address must be `host:port`.
    pub fn check(&mut self) -> Result<(), ConfigError> {
        match self.store_value("brokerRole").map(str::trim) {
            Some("SLAVE") => {
                if self.broker.broker_id <= 0 {
                    return Err(ConfigError::SlaveBrokerId);
                }
            }
            // ASYNC_MASTER (the default) and SYNC_MASTER.
            _ => self.broker.broker_id = 0,
        }
        for addr in self.broker.namesrv_addrs() {
            let ok = addr
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !ok {
                return Err(ConfigError::NamesrvAddr(
                    self.broker.namesrv_addr.clone().unwrap_or_default(),
                ));
            }
        }
        Ok(())
    }

    /// `-p`: every key of the broker and server configs with its effective value, one
    /// `key=value` per line in Java's declaration order, then `storePathRootDir` and the other store keys the file set
    /// (the store lists its own effective values).
    pub fn print_effective(&self) -> String {
        let mut out = String::new();
        for (key, value) in self
            .broker
            .entries()
            .into_iter()
            .chain(self.netty_server.entries())
        {
            out.push_str(&format!("{key}={value}\n"));
        }
        let root = self.store_path_root_dir.display();
        out.push_str(&format!("storePathRootDir={root}\n"));
        for (key, value) in &self.store_entries {
            if key != "storePathRootDir" {
                out.push_str(&format!("{key}={value}\n"));
            }
        }
        out
    }
}

/// Java's `@ImportantField`s (4.9.8 BrokerConfig, NettyServerConfig, MessageStoreConfig): what
/// `mqbroker -m` prints.
pub const IMPORTANT_KEYS: &[&str] = &[
    "namesrvAddr",
    "brokerIP1",
    "brokerIP2",
    "brokerName",
    "brokerClusterName",
    "brokerId",
    "brokerPermission",
    "defaultTopicQueueNums",
    "autoCreateTopicEnable",
    "clusterTopicEnable",
    "autoCreateSubscriptionGroup",
    "messageStorePlugIn",
    "msgTraceTopicName",
    "traceTopicEnable",
    "rejectTransactionMessage",
    "fetchNamesrvAddrByAddressServer",
    "sendThreadPoolQueueCapacity",
    "putThreadPoolQueueCapacity",
    "transactionTimeOut",
    "transactionCheckMax",
    "transactionCheckInterval",
    "aclEnable",
    "storeReplyMessageEnable",
    "storePathRootDir",
    "storePathCommitLog",
    "storePathDLedgerCommitLog",
    "readOnlyCommitLogStorePaths",
    "flushIntervalCommitLog",
    "commitIntervalCommitLog",
    "flushCommitLogTimed",
    "flushIntervalConsumeQueue",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "fileReservedTime",
    "putMsgIndexHightWater",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    "maxTransferBytesOnMessageInDisk",
    "maxTransferCountOnMessageInDisk",
    "accessMessageInMemoryMaxRatio",
    "messageIndexEnable",
    "maxHashSlotNum",
    "maxIndexNum",
    "messageIndexSafe",
    "haListenPort",
    "haSendHeartbeatInterval",
    "haMasterAddress",
    "haSlaveFallbehindMax",
    "brokerRole",
    "flushDiskType",
    "syncFlushTimeout",
    "slaveTimeout",
    "cleanFileForciblyEnable",
    "warmMapedFileEnable",
    "offsetCheckInSlave",
    "transientStorePoolEnable",
    "transientStorePoolSize",
    "fastFailIfNoBufferInStorePool",
];

impl LoadedConfig {
    /// `-m`: the lines of [`print_effective`](Self::print_effective) whose key is one of
    /// [`IMPORTANT_KEYS`].
    pub fn print_important(&self) -> String {
        self.print_effective()
            .lines()
            .filter(|line| {
                line.split_once('=')
                    .is_some_and(|(k, _)| IMPORTANT_KEYS.contains(&k))
            })
            .map(|line| format!("{line}\n"))
            .collect()
    }

    /// Settings the conf may ask for that this broker cannot honour: DLedger
    /// (`enableDLegerCommitLog=true`, Java's `conf/dledger/` examples) is refused with a clear
    /// message rather than started as a plain master.
    pub fn refuse_unsupported(&self) -> Result<(), String> {
        let dledger = self
            .store_value("enableDLegerCommitLog")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if dledger {
            return Err(
                "enableDLegerCommitLog=true: the DLedger commitlog (Raft replication, conf/dledger) \
                 is not supported by this broker yet; use a master/slave conf \
                 (conf/2m-2s-async, conf/2m-2s-sync) or conf/broker.conf"
                    .to_owned(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
