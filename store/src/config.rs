//! `MessageStoreConfig`: the store's settings, with the Java key names and 4.9.8 defaults.
//!
//! Loaded from the `key=value` pairs of a broker.conf (`protocol::properties_text`); keys that
//! are not store keys (broker, namesrv, …) and keys we do not implement are ignored, as Java's
//! `MixAll.properties2Object` ignores properties without a setter. A value that does not parse
//! is reported, not silently replaced by the default.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use remoting_codec::protocol::properties_text;

/// `FlushDiskType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushDiskType {
    SyncFlush,
    AsyncFlush,
}

/// `BrokerRole` (the store only reads it: a SLAVE does not notify long polling, etc.).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokerRole {
    AsyncMaster,
    SyncMaster,
    Slave,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value {value:?} for {key}")]
    InvalidValue { key: String, value: String },
    #[error("properties text: {0}")]
    Properties(String),
}

/// Every store key the issue and store-format.md name (Java `MessageStoreConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageStoreConfig {
    pub store_path_root_dir: PathBuf,
    /// `storePathCommitLog`; `None` means `<storePathRootDir>/commitlog`.
    pub store_path_commit_log: Option<PathBuf>,
    pub mapped_file_size_commit_log: u64,
    pub mapped_file_size_consume_queue: u64,
    /// Writes the consume-queue extension (`consumequeue_ext/`), Java default false.
    pub enable_consume_queue_ext: bool,
    /// Extension file size, Java default 48 MiB.
    pub mapped_file_size_consume_queue_ext: u64,
    /// Bits of the filter bitmap (Java default 64; the broker's `ConsumerFilterManager` sets it
    /// to its bloom filter's `m` at start). Java only sizes a scratch buffer with it: a unit's
    /// bitmap is as long as the bitmap the dispatcher computed.
    pub bit_map_length_consume_queue_ext: u32,
    pub max_hash_slot_num: u32,
    pub max_index_num: u32,
    pub message_index_enable: bool,
    pub message_index_safe: bool,
    pub flush_disk_type: FlushDiskType,
    pub broker_role: BrokerRole,
    pub flush_interval_commit_log: u64,
    pub flush_commit_log_least_pages: usize,
    pub flush_commit_log_thorough_interval: u64,
    /// 4.9.8 default true: the flush thread sleeps the interval instead of waiting for a wakeup.
    pub flush_commit_log_timed: bool,
    pub flush_interval_consume_queue: u64,
    pub flush_consume_queue_least_pages: usize,
    pub flush_consume_queue_thorough_interval: u64,
    pub sync_flush_timeout: u64,
    pub max_message_size: usize,
    pub max_msgs_num_batch: usize,
    pub check_crc_on_recover: bool,
    pub message_delay_level: String,
    pub max_transfer_bytes_on_message_in_memory: usize,
    pub max_transfer_count_on_message_in_memory: usize,
    pub max_transfer_bytes_on_message_in_disk: usize,
    pub max_transfer_count_on_message_in_disk: usize,
    pub access_message_in_memory_max_ratio: u32,
    pub default_query_max_num: usize,
    pub file_reserved_time: u32,
    pub delete_when: String,
    pub disk_max_used_space_ratio: u32,
    pub clean_resource_interval: u64,
    pub delete_commit_log_files_interval: u64,
    pub delete_consume_queue_files_interval: u64,
    pub destroy_maped_file_interval_forcibly: u64,
    pub redelete_hanged_file_interval: u64,
    pub clean_file_forcibly_enable: bool,
    /// Percent of disk use above which the disk is marked full and puts are refused. 4.9.8
    /// reads it from the system property `rocketmq.broker.diskSpaceWarningLevelRatio` (0.90);
    /// 5.x made it this store key (90).
    pub disk_space_warning_level_ratio: u32,
    /// Percent above which files are deleted even when not expired (with
    /// `cleanFileForciblyEnable`); 4.9.8 system property `…diskSpaceCleanForciblyRatio` 0.85,
    /// 5.x store key (85).
    pub disk_space_clean_forcibly_ratio: u32,
    pub flush_delay_offset_interval: u64,
    pub offset_check_in_slave: bool,
    pub duplication_enable: bool,
    /// 5.x timer messages ([`crate::timer`]): `timerWheelEnable` (true).
    pub timer_wheel_enable: bool,
    /// `timerPrecisionMs` (1000), snapped down to 100, 200, 500 or 1000 as Java's setter.
    pub timer_precision_ms: i64,
    /// `timerMaxDelaySec` (3 days).
    pub timer_max_delay_sec: i64,
    /// `mappedFileSizeTimerLog` (100 MiB).
    pub mapped_file_size_timer_log: u64,
    /// `timerFlushIntervalMs` (1000).
    pub timer_flush_interval_ms: u64,
    /// `timerCongestNumEachSlot` (Integer.MAX_VALUE).
    pub timer_congest_num_each_slot: i64,
    /// `timerRollWindowSlot` (2 days of slots).
    pub timer_roll_window_slot: i64,
    /// `haListenPort` (the broker sets `listenPort + 1`, as `BrokerStartup`).
    pub ha_listen_port: u16,
    pub ha_send_heartbeat_interval: u64,
    pub ha_housekeeping_interval: u64,
    pub ha_transfer_batch_size: usize,
    pub ha_master_address: Option<String>,
    pub ha_slave_fallbehind_max: i64,
    /// How long a SYNC_MASTER put waits for a slave (`slaveTimeout`).
    pub slave_timeout: u64,
}

impl Default for MessageStoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        Self {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * 20,
            enable_consume_queue_ext: false,
            mapped_file_size_consume_queue_ext: 48 * 1024 * 1024,
            bit_map_length_consume_queue_ext: 64,
            max_hash_slot_num: 5_000_000,
            max_index_num: 5_000_000 * 4,
            message_index_enable: true,
            message_index_safe: false,
            flush_disk_type: FlushDiskType::AsyncFlush,
            broker_role: BrokerRole::AsyncMaster,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            flush_commit_log_timed: true,
            flush_interval_consume_queue: 1000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            sync_flush_timeout: 5000,
            max_message_size: 4 * 1024 * 1024,
            max_msgs_num_batch: 64,
            check_crc_on_recover: true,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_owned(),
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            access_message_in_memory_max_ratio: 40,
            default_query_max_num: 32,
            file_reserved_time: 72,
            delete_when: "04".to_owned(),
            disk_max_used_space_ratio: 75,
            clean_resource_interval: 10_000,
            delete_commit_log_files_interval: 100,
            delete_consume_queue_files_interval: 100,
            destroy_maped_file_interval_forcibly: 120_000,
            redelete_hanged_file_interval: 120_000,
            clean_file_forcibly_enable: true,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            flush_delay_offset_interval: 10_000,
            offset_check_in_slave: false,
            duplication_enable: false,
            timer_wheel_enable: true,
            timer_precision_ms: 1000,
            timer_max_delay_sec: 3 * 24 * 3600,
            mapped_file_size_timer_log: 100 * 1024 * 1024,
            timer_flush_interval_ms: 1000,
            timer_congest_num_each_slot: i32::MAX as i64,
            timer_roll_window_slot: 2 * 24 * 3600,
            ha_listen_port: 10912,
            ha_send_heartbeat_interval: 5000,
            ha_housekeeping_interval: 20_000,
            ha_transfer_batch_size: 32 * 1024,
            ha_master_address: None,
            ha_slave_fallbehind_max: 256 * 1024 * 1024,
            slave_timeout: 3000,
        }
    }
}

impl MessageStoreConfig {
    /// Defaults overridden by the pairs of a broker.conf text.
    pub fn from_properties_text(text: &str) -> Result<Self, ConfigError> {
        let pairs =
            properties_text::parse(text).map_err(|e| ConfigError::Properties(e.to_string()))?;
        let mut config = Self::default();
        config.apply(&pairs)?;
        Ok(config)
    }

    /// Applies `key=value` pairs; unknown keys are ignored.
    pub fn apply(&mut self, pairs: &[(String, String)]) -> Result<(), ConfigError> {
        for (key, value) in pairs {
            self.set(key, value.trim())?;
        }
        Ok(())
    }

    /// Sets one key (Java's name). Returns `Ok(false)` for a key that is not a store key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let bad = || ConfigError::InvalidValue {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        macro_rules! num {
            ($field:expr) => {
                $field = value.parse().map_err(|_| bad())?
            };
        }
        macro_rules! flag {
            ($field:expr) => {
                // Java's Boolean.parseBoolean: "true" (any case) is true, anything else false.
                $field = value.eq_ignore_ascii_case("true")
            };
        }
        match key {
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(value),
            "storePathCommitLog" => self.store_path_commit_log = Some(PathBuf::from(value)),
            "mappedFileSizeCommitLog" => num!(self.mapped_file_size_commit_log),
            "mappedFileSizeConsumeQueue" => num!(self.mapped_file_size_consume_queue),
            "enableConsumeQueueExt" => flag!(self.enable_consume_queue_ext),
            "mappedFileSizeConsumeQueueExt" => num!(self.mapped_file_size_consume_queue_ext),
            "bitMapLengthConsumeQueueExt" => num!(self.bit_map_length_consume_queue_ext),
            "maxHashSlotNum" => num!(self.max_hash_slot_num),
            "maxIndexNum" => num!(self.max_index_num),
            "messageIndexEnable" => flag!(self.message_index_enable),
            "messageIndexSafe" => flag!(self.message_index_safe),
            "flushDiskType" => {
                self.flush_disk_type = match value {
                    "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                    "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                    _ => return Err(bad()),
                }
            }
            "brokerRole" => {
                self.broker_role = match value {
                    "ASYNC_MASTER" => BrokerRole::AsyncMaster,
                    "SYNC_MASTER" => BrokerRole::SyncMaster,
                    "SLAVE" => BrokerRole::Slave,
                    _ => return Err(bad()),
                }
            }
            "flushIntervalCommitLog" => num!(self.flush_interval_commit_log),
            "flushCommitLogLeastPages" => num!(self.flush_commit_log_least_pages),
            "flushCommitLogThoroughInterval" => num!(self.flush_commit_log_thorough_interval),
            "flushCommitLogTimed" => flag!(self.flush_commit_log_timed),
            "flushIntervalConsumeQueue" => num!(self.flush_interval_consume_queue),
            "flushConsumeQueueLeastPages" => num!(self.flush_consume_queue_least_pages),
            "flushConsumeQueueThoroughInterval" => {
                num!(self.flush_consume_queue_thorough_interval)
            }
            "syncFlushTimeout" => num!(self.sync_flush_timeout),
            "maxMessageSize" => num!(self.max_message_size),
            "maxMsgsNumBatch" => num!(self.max_msgs_num_batch),
            "checkCRCOnRecover" => flag!(self.check_crc_on_recover),
            "messageDelayLevel" => {
                parse_delay_levels(value).ok_or_else(bad)?;
                self.message_delay_level = value.to_owned()
            }
            "maxTransferBytesOnMessageInMemory" => {
                num!(self.max_transfer_bytes_on_message_in_memory)
            }
            "maxTransferCountOnMessageInMemory" => {
                num!(self.max_transfer_count_on_message_in_memory)
            }
            "maxTransferBytesOnMessageInDisk" => num!(self.max_transfer_bytes_on_message_in_disk),
            "maxTransferCountOnMessageInDisk" => num!(self.max_transfer_count_on_message_in_disk),
            "accessMessageInMemoryMaxRatio" => num!(self.access_message_in_memory_max_ratio),
            "defaultQueryMaxNum" => num!(self.default_query_max_num),
            "fileReservedTime" => num!(self.file_reserved_time),
            "deleteWhen" => self.delete_when = value.to_owned(),
            "diskMaxUsedSpaceRatio" => num!(self.disk_max_used_space_ratio),
            "cleanResourceInterval" => num!(self.clean_resource_interval),
            "deleteCommitLogFilesInterval" => num!(self.delete_commit_log_files_interval),
            "deleteConsumeQueueFilesInterval" => num!(self.delete_consume_queue_files_interval),
            "destroyMapedFileIntervalForcibly" => num!(self.destroy_maped_file_interval_forcibly),
            "redeleteHangedFileInterval" => num!(self.redelete_hanged_file_interval),
            "cleanFileForciblyEnable" => flag!(self.clean_file_forcibly_enable),
            "diskSpaceWarningLevelRatio" => num!(self.disk_space_warning_level_ratio),
            "diskSpaceCleanForciblyRatio" => num!(self.disk_space_clean_forcibly_ratio),
            "flushDelayOffsetInterval" => num!(self.flush_delay_offset_interval),
            "offsetCheckInSlave" => flag!(self.offset_check_in_slave),
            "duplicationEnable" => flag!(self.duplication_enable),
            "timerWheelEnable" => flag!(self.timer_wheel_enable),
            "timerPrecisionMs" => {
                let ms: i64 = value.trim().parse().map_err(|_| bad())?;
                self.timer_precision_ms = snap_timer_precision(ms);
            }
            "timerMaxDelaySec" => num!(self.timer_max_delay_sec),
            "mappedFileSizeTimerLog" => num!(self.mapped_file_size_timer_log),
            "timerFlushIntervalMs" => num!(self.timer_flush_interval_ms),
            "timerCongestNumEachSlot" => num!(self.timer_congest_num_each_slot),
            "timerRollWindowSlot" => num!(self.timer_roll_window_slot),
            "haListenPort" => num!(self.ha_listen_port),
            "haSendHeartbeatInterval" => num!(self.ha_send_heartbeat_interval),
            "haHousekeepingInterval" => num!(self.ha_housekeeping_interval),
            "haTransferBatchSize" => num!(self.ha_transfer_batch_size),
            "haMasterAddress" => self.ha_master_address = Some(value.to_owned()),
            "haSlaveFallbehindMax" => num!(self.ha_slave_fallbehind_max),
            "slaveTimeout" => num!(self.slave_timeout),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The commitlog directory (`storePathCommitLog`, else `<root>/commitlog`). Java 4.9.x
    /// accepts several directories separated by `;`; we use the first one.
    pub fn commit_log_dir(&self) -> PathBuf {
        match &self.store_path_commit_log {
            Some(p) => {
                let s = p.to_string_lossy();
                PathBuf::from(s.split(';').next().unwrap_or_default())
            }
            None => self.store_path_root_dir.join("commitlog"),
        }
    }

    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// `<root>/consumequeue_ext` (Java's `getStorePathConsumeQueueExt`).
    pub fn consume_queue_ext_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue_ext")
    }

    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    pub fn checkpoint_path(&self) -> PathBuf {
        self.store_path_root_dir.join("checkpoint")
    }

    pub fn root(&self) -> &Path {
        &self.store_path_root_dir
    }

    /// The delay level table of `messageDelayLevel`.
    pub fn delay_levels(&self) -> DelayLevels {
        DelayLevels::parse(&self.message_delay_level).unwrap_or_default()
    }
}

/// The store's settings as they are now: what the clean and flush services and the SYNC_FLUSH
/// wait read each time they run, as Java's services call the `MessageStoreConfig` getters each
/// time. The broker's UPDATE_BROKER_CONFIG changes them on a running store
/// ([`crate::MessageStore::update_config`]); settings read only at open (file sizes, paths,
/// flush type, role, delay levels, index sizes) keep the value the store was opened with.
#[derive(Clone, Debug)]
pub struct LiveConfig(Arc<RwLock<MessageStoreConfig>>);

impl LiveConfig {
    pub fn new(config: MessageStoreConfig) -> Self {
        Self(Arc::new(RwLock::new(config)))
    }

    /// A copy of the current settings.
    pub fn snapshot(&self) -> MessageStoreConfig {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads one value without copying the rest.
    pub fn with<T>(&self, f: impl FnOnce(&MessageStoreConfig) -> T) -> T {
        f(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Applies `key=value` pairs as Java's `MixAll.properties2Object` does: each known key is
    /// set, a value that does not parse leaves its field unchanged (Java swallows the parse
    /// exception; the error is returned here so that the caller can log it), unknown keys are
    /// ignored.
    pub fn update(&self, pairs: &[(String, String)]) -> Vec<ConfigError> {
        let mut config = self.0.write().unwrap_or_else(|e| e.into_inner());
        pairs
            .iter()
            .filter_map(|(k, v)| config.set(k, v.trim()).err())
            .collect()
    }
}

/// `messageDelayLevel` parsed: level n (1-based) waits `levels[n-1]`. Shared with the broker's
/// schedule service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelayLevels {
    delays_ms: Vec<i64>,
}

impl Default for DelayLevels {
    fn default() -> Self {
        DelayLevels::parse(&MessageStoreConfig::default().message_delay_level)
            .expect("the default delay levels parse")
    }
}

impl DelayLevels {
    /// Parses Java's form: space-separated numbers with a unit `s`, `m`, `h` or `d`.
    pub fn parse(text: &str) -> Option<Self> {
        parse_delay_levels(text).map(|delays_ms| Self { delays_ms })
    }

    /// The highest level (18 by default).
    pub fn max_level(&self) -> i32 {
        self.delays_ms.len() as i32
    }

    /// The delay of a level (1-based), `None` outside 1..=max.
    pub fn delay(&self, level: i32) -> Option<Duration> {
        self.delay_ms(level)
            .map(|ms| Duration::from_millis(ms as u64))
    }

    pub fn delay_ms(&self, level: i32) -> Option<i64> {
        let index = usize::try_from(level).ok()?.checked_sub(1)?;
        self.delays_ms.get(index).copied()
    }

    /// Java's `ScheduleMessageService.computeDeliverTimestamp`: store time + the level's delay,
    /// or + 1000 ms for a level without an entry.
    pub fn deliver_timestamp(&self, level: i32, store_timestamp: i64) -> i64 {
        store_timestamp + self.delay_ms(level).unwrap_or(1000)
    }
}

fn parse_delay_levels(text: &str) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for item in text.split(' ').filter(|s| !s.is_empty()) {
        let (num, unit) = item.split_at(item.len() - 1);
        let unit_ms = match unit {
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        let n: i64 = num.parse().ok()?;
        out.push(n.checked_mul(unit_ms)?);
    }
    Some(out)
}

/// Java's `setTimerPrecisionMs`: the largest of 100, 200, 500, 1000 not above `ms` (100 below).
pub fn snap_timer_precision(ms: i64) -> i64 {
    const CANDIDATES: [i64; 4] = [100, 200, 500, 1000];
    for i in 1..CANDIDATES.len() {
        if ms < CANDIDATES[i] {
            return CANDIDATES[i - 1];
        }
    }
    CANDIDATES[CANDIDATES.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_conf_overrides_and_ignores_broker_keys() {
        let text =
            "brokerName=broker-a\nstorePathRootDir=/x/store\nmappedFileSizeCommitLog=1048576\n\
                    mappedFileSizeConsumeQueue=6000\nmaxIndexNum=4000\nmaxHashSlotNum=1000\n\
                    flushDiskType=SYNC_FLUSH\nmessageDelayLevel=1s 2s 1h 2h\n";
        let c = MessageStoreConfig::from_properties_text(text).unwrap();
        assert_eq!(c.store_path_root_dir, PathBuf::from("/x/store"));
        assert_eq!(c.commit_log_dir(), PathBuf::from("/x/store/commitlog"));
        assert_eq!(c.mapped_file_size_commit_log, 1048576);
        assert_eq!(c.mapped_file_size_consume_queue, 6000);
        assert_eq!((c.max_hash_slot_num, c.max_index_num), (1000, 4000));
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        let levels = c.delay_levels();
        assert_eq!(levels.max_level(), 4);
        assert_eq!(levels.delay_ms(3), Some(3_600_000));
        assert_eq!(levels.delay_ms(0), None);
        assert_eq!(levels.deliver_timestamp(9, 10), 1010);
    }

    #[test]
    fn defaults_are_java_4_9_8() {
        let c = MessageStoreConfig::default();
        assert_eq!(c.mapped_file_size_commit_log, 1 << 30);
        assert_eq!(c.mapped_file_size_consume_queue, 6_000_000);
        assert_eq!(c.delay_levels().max_level(), 18);
        assert_eq!(c.delay_levels().delay_ms(18), Some(7_200_000));
        assert_eq!(c.flush_disk_type, FlushDiskType::AsyncFlush);
        assert_eq!(c.sync_flush_timeout, 5000);
        assert!(!c.enable_consume_queue_ext);
        assert_eq!(c.mapped_file_size_consume_queue_ext, 48 << 20);
        assert_eq!(c.bit_map_length_consume_queue_ext, 64);
        let e = MessageStoreConfig::from_properties_text(
            "enableConsumeQueueExt=true\nmappedFileSizeConsumeQueueExt=4096\nbitMapLengthConsumeQueueExt=112\n",
        )
        .unwrap();
        assert!(e.enable_consume_queue_ext);
        assert_eq!(e.mapped_file_size_consume_queue_ext, 4096);
        assert_eq!(e.bit_map_length_consume_queue_ext, 112);
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(MessageStoreConfig::from_properties_text("flushDiskType=SOMETIMES").is_err());
        assert!(MessageStoreConfig::from_properties_text("maxIndexNum=lots").is_err());
        assert!(MessageStoreConfig::from_properties_text("messageDelayLevel=1x").is_err());
    }
}
