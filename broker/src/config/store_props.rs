//! The other two objects Java's broker configuration is made of: `NettyClientConfig` (the
//! broker's connections to the name servers) and `MessageStoreConfig`, every 4.9.8 field with
//! Java's default in declaration order. They are what GET_BROKER_CONFIG lists and
//! UPDATE_BROKER_CONFIG sets ([`super::configuration`]); the store crate's own typed
//! `store::MessageStoreConfig` is built from the same broker.conf pairs and holds the subset it
//! implements.

use std::path::PathBuf;

use super::fields::java_config;

fn cpus() -> i32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as i32)
}

fn default_store_root() -> String {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join("store")
        .display()
        .to_string()
}

java_config! {
    /// `org.apache.rocketmq.remoting.netty.NettyClientConfig` (4.9.8), with the
    /// `NettySystemConfig` defaults. Kept and listed; our client side has fixed settings.
    pub struct NettyClientConfig {
        client_worker_threads: i32 = "clientWorkerThreads", 4;
        client_callback_executor_threads: i32 = "clientCallbackExecutorThreads", cpus();
        client_oneway_semaphore_value: i32 = "clientOnewaySemaphoreValue", 65535;
        client_async_semaphore_value: i32 = "clientAsyncSemaphoreValue", 65535;
        connect_timeout_millis: i32 = "connectTimeoutMillis", 3000;
        channel_not_active_interval: i64 = "channelNotActiveInterval", 60_000;
        client_channel_max_idle_time_seconds: i32 = "clientChannelMaxIdleTimeSeconds", 120;
        client_socket_snd_buf_size: i32 = "clientSocketSndBufSize", 0;
        client_socket_rcv_buf_size: i32 = "clientSocketRcvBufSize", 0;
        client_pooled_byte_buf_allocator_enable: bool = "clientPooledByteBufAllocatorEnable", false;
        client_close_socket_if_timeout: bool = "clientCloseSocketIfTimeout", true;
        /// `BrokerStartup` sets it from the `tls.enable` system property (false).
        use_tls: bool = "useTLS", false;
        write_buffer_high_water_mark: i32 = "writeBufferHighWaterMark", 0;
        write_buffer_low_water_mark: i32 = "writeBufferLowWaterMark", 0;
    }
}

java_config! {
    /// `org.apache.rocketmq.store.config.MessageStoreConfig` (4.9.8) as a property table.
    pub struct MessageStoreProperties {
        store_path_root_dir: String = "storePathRootDir", default_store_root();
        /// Null in Java unless set (the store then uses `<storePathRootDir>/commitlog`).
        store_path_commit_log: Option<String> = "storePathCommitLog", None;
        store_path_d_ledger_commit_log: Option<String> = "storePathDLedgerCommitLog", None;
        read_only_commit_log_store_paths: Option<String> = "readOnlyCommitLogStorePaths", None;
        mapped_file_size_commit_log: i32 = "mappedFileSizeCommitLog", 1024 * 1024 * 1024;
        mapped_file_size_consume_queue: i32 = "mappedFileSizeConsumeQueue", 300_000 * 20;
        enable_consume_queue_ext: bool = "enableConsumeQueueExt", false;
        mapped_file_size_consume_queue_ext: i32 = "mappedFileSizeConsumeQueueExt", 48 * 1024 * 1024;
        /// Replaced at start by the bloom filter's bit count ([`bloom_filter_bits`]).
        bit_map_length_consume_queue_ext: i32 = "bitMapLengthConsumeQueueExt", 64;
        flush_interval_commit_log: i32 = "flushIntervalCommitLog", 500;
        commit_interval_commit_log: i32 = "commitIntervalCommitLog", 200;
        use_reentrant_lock_when_put_message: bool = "useReentrantLockWhenPutMessage", true;
        flush_commit_log_timed: bool = "flushCommitLogTimed", true;
        flush_interval_consume_queue: i32 = "flushIntervalConsumeQueue", 1000;
        clean_resource_interval: i32 = "cleanResourceInterval", 10_000;
        delete_commit_log_files_interval: i32 = "deleteCommitLogFilesInterval", 100;
        delete_consume_queue_files_interval: i32 = "deleteConsumeQueueFilesInterval", 100;
        destroy_maped_file_interval_forcibly: i32 = "destroyMapedFileIntervalForcibly", 120_000;
        redelete_hanged_file_interval: i32 = "redeleteHangedFileInterval", 120_000;
        delete_when: String = "deleteWhen", "04".to_owned();
        disk_max_used_space_ratio: i32 = "diskMaxUsedSpaceRatio", 75;
        file_reserved_time: i32 = "fileReservedTime", 72;
        put_msg_index_hight_water: i32 = "putMsgIndexHightWater", 600_000;
        max_message_size: i32 = "maxMessageSize", 1024 * 1024 * 4;
        check_crc_on_recover: bool = "checkCRCOnRecover", true;
        flush_commit_log_least_pages: i32 = "flushCommitLogLeastPages", 4;
        commit_commit_log_least_pages: i32 = "commitCommitLogLeastPages", 4;
        flush_least_pages_when_warm_maped_file: i32 = "flushLeastPagesWhenWarmMapedFile", 1024 / 4 * 16;
        flush_consume_queue_least_pages: i32 = "flushConsumeQueueLeastPages", 2;
        flush_commit_log_thorough_interval: i32 = "flushCommitLogThoroughInterval", 10_000;
        commit_commit_log_thorough_interval: i32 = "commitCommitLogThoroughInterval", 200;
        flush_consume_queue_thorough_interval: i32 = "flushConsumeQueueThoroughInterval", 60_000;
        max_transfer_bytes_on_message_in_memory: i32 = "maxTransferBytesOnMessageInMemory", 256 * 1024;
        max_transfer_count_on_message_in_memory: i32 = "maxTransferCountOnMessageInMemory", 32;
        max_transfer_bytes_on_message_in_disk: i32 = "maxTransferBytesOnMessageInDisk", 64 * 1024;
        max_transfer_count_on_message_in_disk: i32 = "maxTransferCountOnMessageInDisk", 8;
        access_message_in_memory_max_ratio: i32 = "accessMessageInMemoryMaxRatio", 40;
        message_index_enable: bool = "messageIndexEnable", true;
        max_hash_slot_num: i32 = "maxHashSlotNum", 5_000_000;
        max_index_num: i32 = "maxIndexNum", 5_000_000 * 4;
        max_msgs_num_batch: i32 = "maxMsgsNumBatch", 64;
        message_index_safe: bool = "messageIndexSafe", false;
        /// `BrokerStartup` overwrites it with `listenPort + 1` whatever the file says.
        ha_listen_port: i32 = "haListenPort", 10912;
        ha_send_heartbeat_interval: i32 = "haSendHeartbeatInterval", 5000;
        ha_housekeeping_interval: i32 = "haHousekeepingInterval", 20_000;
        ha_transfer_batch_size: i32 = "haTransferBatchSize", 32 * 1024;
        ha_master_address: Option<String> = "haMasterAddress", None;
        ha_slave_fallbehind_max: i32 = "haSlaveFallbehindMax", 256 * 1024 * 1024;
        broker_role: store::BrokerRole = "brokerRole", store::BrokerRole::AsyncMaster;
        flush_disk_type: store::FlushDiskType = "flushDiskType", store::FlushDiskType::AsyncFlush;
        sync_flush_timeout: i32 = "syncFlushTimeout", 5000;
        slave_timeout: i32 = "slaveTimeout", 3000;
        message_delay_level: String = "messageDelayLevel",
            "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h".to_owned();
        flush_delay_offset_interval: i64 = "flushDelayOffsetInterval", 10_000;
        clean_file_forcibly_enable: bool = "cleanFileForciblyEnable", true;
        warm_maped_file_enable: bool = "warmMapedFileEnable", false;
        offset_check_in_slave: bool = "offsetCheckInSlave", false;
        debug_lock_enable: bool = "debugLockEnable", false;
        duplication_enable: bool = "duplicationEnable", false;
        disk_fall_recorded: bool = "diskFallRecorded", true;
        os_page_cache_busy_time_out_mills: i64 = "osPageCacheBusyTimeOutMills", 1000;
        default_query_max_num: i32 = "defaultQueryMaxNum", 32;
        transient_store_pool_enable: bool = "transientStorePoolEnable", false;
        transient_store_pool_size: i32 = "transientStorePoolSize", 5;
        fast_fail_if_no_buffer_in_store_pool: bool = "fastFailIfNoBufferInStorePool", false;
        enable_d_leger_commit_log: bool = "enableDLegerCommitLog", false;
        d_leger_group: Option<String> = "dLegerGroup", None;
        d_leger_peers: Option<String> = "dLegerPeers", None;
        d_leger_self_id: Option<String> = "dLegerSelfId", None;
        preferred_leader_id: Option<String> = "preferredLeaderId", None;
        /// Listed under the field name; Java's setter key is `enableBatchPush` (see
        /// [`MessageStoreProperties::set_property`]).
        is_enable_batch_push: bool = "isEnableBatchPush", false;
        enable_schedule_message_stats: bool = "enableScheduleMessageStats", true;
        enable_lmq: bool = "enableLmq", false;
        enable_multi_dispatch: bool = "enableMultiDispatch", false;
        max_lmq_consume_queue_num: i32 = "maxLmqConsumeQueueNum", 20_000;
        enable_schedule_async_deliver: bool = "enableScheduleAsyncDeliver", false;
        schedule_async_deliver_max_pending_limit: i32 = "scheduleAsyncDeliverMaxPendingLimit", 2000;
        schedule_async_deliver_max_resend_num2_blocked: i32 = "scheduleAsyncDeliverMaxResendNum2Blocked", 3;
    }
}

impl MessageStoreProperties {
    /// Sets a key as `MixAll.properties2Object` does, which finds fields through their setters:
    /// `enableBatchPush` sets `isEnableBatchPush` (whose own name has no setter and is ignored).
    pub fn set_property(&mut self, key: &str, value: &str) -> Result<bool, super::InvalidValue> {
        match key {
            "enableBatchPush" => self.set("isEnableBatchPush", value),
            "isEnableBatchPush" => Ok(true),
            _ => self.set(key, value),
        }
    }
}

/// The bit count of the broker's consumer-filter bloom filter (`BloomFilter.createByFn`), which
/// `ConsumerFilterManager` writes into `bitMapLengthConsumeQueueExt` at start:
/// `m = ⌈n · log2(1/p) · log2(e)⌉` rounded up to a multiple of 8, with `p` =
/// `maxErrorRateOfBloomFilter` % and `n` = `expectConsumerNumUseFilter` (112 for 20 % and 32).
/// Java refuses to start when `p` is not in 1..99 or `n` < 1; `None` then.
pub fn bloom_filter_bits(max_error_rate_percent: i32, expect_num: i32) -> Option<i32> {
    if !(1..100).contains(&max_error_rate_percent) || expect_num < 1 {
        return None;
    }
    let log = |m: f64, n: f64| n.ln() / m.ln();
    let p = f64::from(max_error_rate_percent) / 100.0;
    let m = (f64::from(expect_num) * log(2.0, 1.0 / p) * log(2.0, std::f64::consts::E)).ceil();
    Some((8.0 * (m / 8.0).ceil()) as i32)
}
