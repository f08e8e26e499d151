//! `BrokerConfig` and `NettyServerConfig` of 4.9.8: every key, Java's default, declaration order.
//! Thread-pool sizes and queue capacities have no meaning for our runtime but are kept so that
//! a broker.conf setting them is recognised, `-p` lists them as Java does, and
//! GET_BROKER_CONFIG answers them.

use super::fields::java_config;
use super::host;

fn cpus() -> i32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as i32)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

java_config! {
    /// The broker's own settings (`org.apache.rocketmq.common.BrokerConfig`).
    pub struct BrokerConfig {
        /// `rocketmq.home.dir` / `ROCKETMQ_HOME`; Java refuses to start without it (it locates the
        /// logback file); we only report it.
        rocketmq_home: Option<String> = "rocketmqHome", env("ROCKETMQ_HOME");
        /// `;`-separated `host:port` list; default from `NAMESRV_ADDR`, overridden by `-n`.
        namesrv_addr: Option<String> = "namesrvAddr", env("NAMESRV_ADDR");
        /// The address registered with the namesrv, which clients connect to. Java's default is
        /// the first non-loopback, non-192.168 IPv4 address of the machine; see
        /// [`host::local_address`]. Set it in broker.conf when the machine has several.
        broker_ip1: String = "brokerIP1", host::local_address();
        /// The HA address registered for slaves.
        broker_ip2: String = "brokerIP2", host::local_address();
        /// Java's default is the host name.
        broker_name: String = "brokerName", host::local_host_name();
        broker_cluster_name: String = "brokerClusterName", "DefaultCluster".to_owned();
        /// 0 is the master; forced to 0 for a master role at start (see `load`).
        broker_id: i64 = "brokerId", 0;
        /// `PermName` bits the broker registers with: 6 = read + write.
        broker_permission: i32 = "brokerPermission", 6;
        /// Queue count of TBW102, the template of auto-created topics.
        default_topic_queue_nums: i32 = "defaultTopicQueueNums", 8;
        auto_create_topic_enable: bool = "autoCreateTopicEnable", true;
        cluster_topic_enable: bool = "clusterTopicEnable", true;
        broker_topic_enable: bool = "brokerTopicEnable", true;
        auto_create_subscription_group: bool = "autoCreateSubscriptionGroup", true;
        message_store_plug_in: String = "messageStorePlugIn", String::new();
        msg_trace_topic_name: String = "msgTraceTopicName", "RMQ_SYS_TRACE_TOPIC".to_owned();
        trace_topic_enable: bool = "traceTopicEnable", false;
        send_message_thread_pool_nums: i32 = "sendMessageThreadPoolNums", cpus().min(4);
        put_message_future_thread_pool_nums: i32 = "putMessageFutureThreadPoolNums", cpus().min(4);
        pull_message_thread_pool_nums: i32 = "pullMessageThreadPoolNums", 16 + cpus() * 2;
        process_reply_message_thread_pool_nums: i32 = "processReplyMessageThreadPoolNums", 16 + cpus() * 2;
        query_message_thread_pool_nums: i32 = "queryMessageThreadPoolNums", 8 + cpus();
        admin_broker_thread_pool_nums: i32 = "adminBrokerThreadPoolNums", 16;
        client_manage_thread_pool_nums: i32 = "clientManageThreadPoolNums", 32;
        consumer_manage_thread_pool_nums: i32 = "consumerManageThreadPoolNums", 32;
        heartbeat_thread_pool_nums: i32 = "heartbeatThreadPoolNums", cpus().min(32);
        end_transaction_thread_pool_nums: i32 = "endTransactionThreadPoolNums", (8 + cpus() * 2).max(cpus().min(4) * 4);
        /// How often consumerOffset.json is written (ms).
        flush_consumer_offset_interval: i32 = "flushConsumerOffsetInterval", 5000;
        flush_consumer_offset_history_interval: i32 = "flushConsumerOffsetHistoryInterval", 60_000;
        /// Refuse transactional (prepared) messages.
        reject_transaction_message: bool = "rejectTransactionMessage", false;
        fetch_namesrv_addr_by_address_server: bool = "fetchNamesrvAddrByAddressServer", false;
        send_thread_pool_queue_capacity: i32 = "sendThreadPoolQueueCapacity", 10_000;
        put_thread_pool_queue_capacity: i32 = "putThreadPoolQueueCapacity", 10_000;
        pull_thread_pool_queue_capacity: i32 = "pullThreadPoolQueueCapacity", 100_000;
        reply_thread_pool_queue_capacity: i32 = "replyThreadPoolQueueCapacity", 10_000;
        query_thread_pool_queue_capacity: i32 = "queryThreadPoolQueueCapacity", 20_000;
        client_manager_thread_pool_queue_capacity: i32 = "clientManagerThreadPoolQueueCapacity", 1_000_000;
        consumer_manager_thread_pool_queue_capacity: i32 = "consumerManagerThreadPoolQueueCapacity", 1_000_000;
        heartbeat_thread_pool_queue_capacity: i32 = "heartbeatThreadPoolQueueCapacity", 50_000;
        end_transaction_pool_queue_capacity: i32 = "endTransactionPoolQueueCapacity", 100_000;
        filter_server_nums: i32 = "filterServerNums", 0;
        /// Park pulls that find nothing until a message arrives or the client's suspend time ends.
        long_polling_enable: bool = "longPollingEnable", true;
        /// Without long polling, how long an empty pull is held (ms).
        short_polling_time_mills: i64 = "shortPollingTimeMills", 1000;
        /// Broker-wide switch of NOTIFY_CONSUMER_IDS_CHANGED (each group has its own too).
        notify_consumer_ids_changed_enable: bool = "notifyConsumerIdsChangedEnable", true;
        high_speed_mode: bool = "highSpeedMode", false;
        commercial_enable: bool = "commercialEnable", true;
        commercial_timer_count: i32 = "commercialTimerCount", 1;
        commercial_trans_count: i32 = "commercialTransCount", 1;
        commercial_big_count: i32 = "commercialBigCount", 1;
        commercial_base_count: i32 = "commercialBaseCount", 1;
        transfer_msg_by_heap: bool = "transferMsgByHeap", true;
        max_delay_time: i32 = "maxDelayTime", 40;
        /// Sent to clients in the MSG_REGION response field.
        region_id: String = "regionId", "DefaultRegion".to_owned();
        register_broker_timeout_mills: i32 = "registerBrokerTimeoutMills", 6000;
        slave_read_enable: bool = "slaveReadEnable", false;
        disable_consume_if_consumer_read_slowly: bool = "disableConsumeIfConsumerReadSlowly", false;
        consumer_fallbehind_threshold: i64 = "consumerFallbehindThreshold", 16 * 1024 * 1024 * 1024;
        broker_fast_failure_enable: bool = "brokerFastFailureEnable", true;
        wait_time_mills_in_send_queue: i64 = "waitTimeMillsInSendQueue", 200;
        wait_time_mills_in_pull_queue: i64 = "waitTimeMillsInPullQueue", 5000;
        wait_time_mills_in_heartbeat_queue: i64 = "waitTimeMillsInHeartbeatQueue", 31_000;
        wait_time_mills_in_transaction_queue: i64 = "waitTimeMillsInTransactionQueue", 3000;
        start_accept_send_request_time_stamp: i64 = "startAcceptSendRequestTimeStamp", 0;
        /// Sent to clients in the TRACE_ON response field.
        trace_on: bool = "traceOn", true;
        enable_calc_filter_bit_map: bool = "enableCalcFilterBitMap", false;
        expect_consumer_num_use_filter: i32 = "expectConsumerNumUseFilter", 32;
        max_error_rate_of_bloom_filter: i32 = "maxErrorRateOfBloomFilter", 20;
        filter_data_clean_time_span: i64 = "filterDataCleanTimeSpan", 24 * 3600 * 1000;
        filter_support_retry: bool = "filterSupportRetry", false;
        /// SQL92 / property filters (CHECK_CLIENT_CONFIG rejects them when off).
        enable_property_filter: bool = "enablePropertyFilter", false;
        compressed_register: bool = "compressedRegister", false;
        force_register: bool = "forceRegister", true;
        /// REGISTER_BROKER period (ms); Java clamps it to 10 s ..= 60 s when scheduling.
        register_name_server_period: i32 = "registerNameServerPeriod", 30_000;
        /// A half message older than this is checked back with the producer (ms).
        transaction_time_out: i64 = "transactionTimeOut", 6000;
        /// After this many checks a half message goes to TRANS_CHECK_MAX_TIME_TOPIC.
        transaction_check_max: i32 = "transactionCheckMax", 15;
        transaction_check_interval: i64 = "transactionCheckInterval", 60_000;
        acl_enable: bool = "aclEnable", false;
        store_reply_message_enable: bool = "storeReplyMessageEnable", true;
        enable_detail_stat: bool = "enableDetailStat", true;
        auto_delete_unused_stats: bool = "autoDeleteUnusedStats", false;
        isolate_log_enable: bool = "isolateLogEnable", false;
        /// Keys UPDATE_BROKER_CONFIG may not change.
        config_black_list: String = "configBlackList", "configBlackList;brokerConfigPath".to_owned();
    }
}

java_config! {
    /// The listening side (`org.apache.rocketmq.remoting.netty.NettyServerConfig`). The broker
    /// also listens on the VIP port `listenPort - 2`.
    pub struct NettyServerConfig {
        /// `BrokerStartup` sets 10911 before reading broker.conf (the class default is 8888).
        listen_port: i32 = "listenPort", 10911;
        server_worker_threads: i32 = "serverWorkerThreads", 8;
        server_callback_executor_threads: i32 = "serverCallbackExecutorThreads", 0;
        server_selector_threads: i32 = "serverSelectorThreads", 3;
        server_oneway_semaphore_value: i32 = "serverOnewaySemaphoreValue", 256;
        server_async_semaphore_value: i32 = "serverAsyncSemaphoreValue", 64;
        /// A connection idle this long (s) is closed.
        server_channel_max_idle_time_seconds: i32 = "serverChannelMaxIdleTimeSeconds", 120;
        server_socket_snd_buf_size: i32 = "serverSocketSndBufSize", 0;
        server_socket_rcv_buf_size: i32 = "serverSocketRcvBufSize", 0;
        write_buffer_high_water_mark: i32 = "writeBufferHighWaterMark", 0;
        write_buffer_low_water_mark: i32 = "writeBufferLowWaterMark", 0;
        server_socket_backlog: i32 = "serverSocketBacklog", 1024;
        server_pooled_byte_buf_allocator_enable: bool = "serverPooledByteBufAllocatorEnable", true;
        use_epoll_native_selector: bool = "useEpollNativeSelector", false;
    }
}

impl BrokerConfig {
    /// The namesrv addresses of `namesrvAddr` (`;`-separated, blanks skipped).
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The broker's address as registered and as clients reach it: `brokerIP1:listenPort`.
    pub fn broker_addr(&self, netty: &NettyServerConfig) -> String {
        format!("{}:{}", self.broker_ip1, netty.listen_port)
    }
}

impl NettyServerConfig {
    /// The "VIP channel" port Java clients may use for sends: `listenPort - 2`.
    pub fn vip_port(&self) -> i32 {
        self.listen_port - 2
    }
}

/// `NettyClientConfig` keys (the broker's connections to the namesrv). Accepted, not used: our
/// client side has its own fixed settings.
pub const NETTY_CLIENT_KEYS: &[&str] = &[
    "clientWorkerThreads",
    "clientCallbackExecutorThreads",
    "clientOnewaySemaphoreValue",
    "clientAsyncSemaphoreValue",
    "connectTimeoutMillis",
    "channelNotActiveInterval",
    "clientChannelMaxIdleTimeSeconds",
    "clientSocketSndBufSize",
    "clientSocketRcvBufSize",
    "clientPooledByteBufAllocatorEnable",
    "clientCloseSocketIfTimeout",
    "useTLS",
    "writeBufferHighWaterMark",
    "writeBufferLowWaterMark",
];

/// `MessageStoreConfig` keys of 4.9.8 (`isEnableBatchPush` is a field whose setter key is
/// `enableBatchPush`; both spellings are listed). Java applies the same broker.conf to the store
/// config; these pairs are handed to the store's own config unchanged.
pub const STORE_KEYS: &[&str] = &[
    "storePathRootDir",
    "storePathCommitLog",
    "storePathDLedgerCommitLog",
    "readOnlyCommitLogStorePaths",
    "mappedFileSizeCommitLog",
    "mappedFileSizeConsumeQueue",
    "enableConsumeQueueExt",
    "mappedFileSizeConsumeQueueExt",
    "bitMapLengthConsumeQueueExt",
    "flushIntervalCommitLog",
    "commitIntervalCommitLog",
    "useReentrantLockWhenPutMessage",
    "flushCommitLogTimed",
    "flushIntervalConsumeQueue",
    "cleanResourceInterval",
    "deleteCommitLogFilesInterval",
    "deleteConsumeQueueFilesInterval",
    "destroyMapedFileIntervalForcibly",
    "redeleteHangedFileInterval",
    "deleteWhen",
    "diskMaxUsedSpaceRatio",
    "fileReservedTime",
    "putMsgIndexHightWater",
    "maxMessageSize",
    "checkCRCOnRecover",
    "flushCommitLogLeastPages",
    "commitCommitLogLeastPages",
    "flushLeastPagesWhenWarmMapedFile",
    "flushConsumeQueueLeastPages",
    "flushCommitLogThoroughInterval",
    "commitCommitLogThoroughInterval",
    "flushConsumeQueueThoroughInterval",
    "maxTransferBytesOnMessageInMemory",
    "maxTransferCountOnMessageInMemory",
    "maxTransferBytesOnMessageInDisk",
    "maxTransferCountOnMessageInDisk",
    "accessMessageInMemoryMaxRatio",
    "messageIndexEnable",
    "maxHashSlotNum",
    "maxIndexNum",
    "maxMsgsNumBatch",
    "messageIndexSafe",
    "haListenPort",
    "haSendHeartbeatInterval",
    "haHousekeepingInterval",
    "haTransferBatchSize",
    "haMasterAddress",
    "haSlaveFallbehindMax",
    "brokerRole",
    "flushDiskType",
    "syncFlushTimeout",
    "slaveTimeout",
    "messageDelayLevel",
    "flushDelayOffsetInterval",
    "cleanFileForciblyEnable",
    "warmMapedFileEnable",
    "offsetCheckInSlave",
    "debugLockEnable",
    "duplicationEnable",
    "diskFallRecorded",
    "osPageCacheBusyTimeOutMills",
    "defaultQueryMaxNum",
    "transientStorePoolEnable",
    "transientStorePoolSize",
    "fastFailIfNoBufferInStorePool",
    "enableDLegerCommitLog",
    "dLegerGroup",
    "dLegerPeers",
    "dLegerSelfId",
    "preferredLeaderId",
    "isEnableBatchPush",
    "enableBatchPush",
    "enableScheduleMessageStats",
    "enableLmq",
    "enableMultiDispatch",
    "maxLmqConsumeQueueNum",
    "enableScheduleAsyncDeliver",
    "scheduleAsyncDeliverMaxPendingLimit",
    "scheduleAsyncDeliverMaxResendNum2Blocked",
    // 4.9.8 reads these two from system properties (`rocketmq.broker.diskSpace…Ratio`); 5.x made
    // them store keys, and a 5.x broker.conf sets them.
    "diskSpaceWarningLevelRatio",
    "diskSpaceCleanForciblyRatio",
];

/// 5.x `MessageStoreConfig` keys of the timer store (`store::timer`): handed to the store's
/// config like [`STORE_KEYS`], not part of the 4.9.8 listing GET_BROKER_CONFIG answers.
pub const TIMER_STORE_KEYS: &[&str] = &[
    "timerWheelEnable",
    "timerPrecisionMs",
    "timerMaxDelaySec",
    "mappedFileSizeTimerLog",
    "timerFlushIntervalMs",
    "timerCongestNumEachSlot",
    "timerRollWindowSlot",
];

/// Keys `BrokerStartup` reads into system properties (address-server lookup).
pub const STARTUP_KEYS: &[&str] = &["rmqAddressServerDomain", "rmqAddressServerSubGroup"];
