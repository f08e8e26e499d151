//! `BrokerController`: everything a request handler needs, in one place — the configuration,
//! the store, the managers, the live connections, the long-polling hold service and the link
//! to the name servers.
//!
//! It owns no sockets and runs no loops: [`crate::startup`] binds the two ports, starts the
//! periodic tasks (registration, offset flush, client housekeeping) and drives shutdown.
//! It imports no request handler: the processor ([`crate::processor`]) reads it, not the other
//! way round, and every request to a client goes through [`Broker2Client`].

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use remoting::Connection;
use store::{MessageStore, MessageStoreConfig};

use crate::acl::PlainAccessValidator;
use crate::broker2client::Broker2Client;
use crate::client::{housekeeping, ConnectionId, ConsumerManager, ProducerManager};
use crate::config::{BrokerConfig, Configuration, LoadedConfig, NettyServerConfig};
use crate::consumer_filter::{CalcBitMap, ConsumerFilterManager};
use crate::lock::{RebalanceLockManager, DEFAULT_LOCK_MAX_LIVE_TIME_MS};
use crate::long_polling::PullRequestHoldService;
use crate::metrics::{BrokerMetrics, ExporterType, MetricsConfig};
use crate::namesrv_link::NamesrvLink;
use crate::offset::ConsumerOffsetManager;
use crate::schedule::ScheduleMessageService;
use crate::stats::{BrokerStats, BrokerStatsManager};
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;
use crate::transaction::{TransactionalMessageBridge, TransactionalMessageCheckService};

/// Why the broker cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store config: {0}")]
    StoreConfig(String),
    #[error("message store: {0}")]
    Store(#[from] store::StoreError),
    #[error("{file}: {error}")]
    ConfigFile { file: &'static str, error: String },
    #[error("acl: {0}")]
    Acl(String),
    #[error("tls: {0}")]
    Tls(String),
}

/// The ACL validator when `aclEnable` (Java's `initialAcl`): the files of `rocketmqHome`, the
/// plain file relative to it from `ROCKETMQ_ACL_PLAIN_FILE` (Java's system property
/// `rocketmq.acl.plain.file`), default `conf/plain_acl.yml`.
fn start_acl(config: &BrokerConfig) -> Result<Option<Arc<PlainAccessValidator>>, StartError> {
    if !config.acl_enable {
        return Ok(None);
    }
    let plain = std::env::var("ROCKETMQ_ACL_PLAIN_FILE")
        .unwrap_or_else(|_| "conf/plain_acl.yml".to_owned());
    let home = config.rocketmq_home.as_deref().map(std::path::Path::new);
    PlainAccessValidator::start(home, &plain, crate::now_millis())
        .map(|v| Some(Arc::new(v)))
        .map_err(StartError::Acl)
}

pub struct BrokerController {
    /// The broker settings as started. Those UPDATE_BROKER_CONFIG may change are read through
    /// [`configuration`](Self::configuration) (see `processor::broker_config`).
    pub broker_config: BrokerConfig,
    /// Java's `Configuration`: the four config objects as they are now, their data version and
    /// the `-c` file updates are written to (GET/UPDATE_BROKER_CONFIG).
    pub configuration: Configuration,
    pub netty_server_config: NettyServerConfig,
    /// The whole broker.conf as loaded (store keys included), for `-p` and admin listings.
    pub loaded_config: LoadedConfig,
    pub store: Arc<MessageStore>,
    pub topic_config_manager: TopicConfigManager,
    pub subscription_group_manager: SubscriptionGroupManager,
    pub consumer_offset_manager: ConsumerOffsetManager,
    pub consumer_manager: ConsumerManager,
    /// The SQL92 expressions consumer groups registered (consumerFilter.json).
    pub consumer_filter_manager: Arc<ConsumerFilterManager>,
    /// The dispatch-time filter bitmaps (`enableCalcFilterBitMap`).
    pub bit_map_calculator: Arc<CalcBitMap>,
    pub producer_manager: ProducerManager,
    pub rebalance_lock_manager: RebalanceLockManager,
    pub pull_request_hold_service: Arc<PullRequestHoldService>,
    /// Delivers delayed messages (started by [`crate::startup`] on a master).
    pub schedule_message_service: Arc<ScheduleMessageService>,
    /// Checks open half messages (started by [`crate::startup`] on a master).
    pub transactional_message_check_service: Arc<TransactionalMessageCheckService>,
    pub namesrv_link: NamesrvLink,
    /// Every open client connection (both ports) and the requests the broker sends on them.
    pub broker2client: Arc<Broker2Client>,
    /// `brokerIP1:listenPort`, written into every stored record's STOREHOST.
    pub store_host: SocketAddr,
    /// When the store was opened (Java's `StoreStatsService.messageStoreBootTimestamp`), ms.
    pub boot_timestamp: i64,
    /// A SLAVE's copies of its master's metadata (and the master address it learned).
    pub slave_synchronize: crate::slave::SlaveSynchronize,
    /// Java's `updateMasterHAServerAddrPeriodically`: the HA master address comes from the
    /// registration answers unless broker.conf names one (`haMasterAddress`).
    pub update_master_ha_server_addr_periodically: bool,
    /// The day's message counts (`msgPutTotalTodayMorning`, …).
    pub broker_stats: BrokerStats,
    /// Per topic / group / queue counters with minute, hour and day windows.
    pub broker_stats_manager: Arc<BrokerStatsManager>,
    /// The 5.x metrics switches of the conf.
    pub metrics_config: MetricsConfig,
    /// The gRPC endpoint's settings ([`crate::grpc`]).
    pub grpc_config: crate::grpc::GrpcConfig,
    /// The live 5.x metrics (counting only when an exporter is on).
    pub metrics: Arc<BrokerMetrics>,
    /// ACL 1.0 (`aclEnable`): checked once per request around the processor's table.
    pub access_validator: Option<Arc<PlainAccessValidator>>,
    /// 5.x POP consumption (checkpoints, acks, revive, orderly pops, long polling).
    pub pop: crate::pop::PopService,
    /// 5.x server-side rebalance: `messageRequestMode.json`.
    pub message_request_mode_manager: crate::pop::request_mode::MessageRequestModeManager,
    /// Stops the revive threads.
    pub pop_stop: Arc<std::sync::atomic::AtomicBool>,
}

impl BrokerController {
    /// Java's `initialize()`: loads topics.json, subscriptionGroup.json, consumerOffset.json,
    /// opens (recovers) the store and wires the long-polling listener to it.
    pub fn new(loaded: LoadedConfig) -> Result<Self, StartError> {
        let root = loaded.store_path_root_dir.clone();
        let broker_config = loaded.broker.clone();
        let netty = loaded.netty_server.clone();

        let mut store_config = MessageStoreConfig::default();
        store_config
            .apply(&loaded.store_entries)
            .map_err(|e| StartError::StoreConfig(e.to_string()))?;
        store_config.store_path_root_dir = root.clone();
        // BrokerStartup: the HA port is listenPort + 1 whatever the file says.
        store_config.ha_listen_port = u16::try_from(netty.listen_port + 1).map_err(|_| {
            StartError::StoreConfig(format!(
                "haListenPort {} out of range",
                netty.listen_port + 1
            ))
        })?;

        let topic_config_manager =
            TopicConfigManager::open(&broker_config, &root).map_err(|e| {
                StartError::ConfigFile {
                    file: "topics.json",
                    error: e.to_string(),
                }
            })?;
        let subscription_group_manager =
            SubscriptionGroupManager::open(broker_config.auto_create_subscription_group, &root)
                .map_err(|e| StartError::ConfigFile {
                    file: "subscriptionGroup.json",
                    error: e.to_string(),
                })?;
        let consumer_offset_manager =
            ConsumerOffsetManager::open(&root).map_err(|e| StartError::ConfigFile {
                file: "consumerOffset.json",
                error: e.to_string(),
            })?;

        let boot_timestamp = crate::now_millis();
        // Java's ConsumerFilterManager constructor: the bloom filter, whose m becomes the
        // store's bitMapLengthConsumeQueueExt (an invalid pair stops the start, as Java's throw).
        let bloom = filter::bloom::BloomFilter::create_by_fn(
            broker_config.max_error_rate_of_bloom_filter,
            broker_config.expect_consumer_num_use_filter,
        )
        .map_err(|e| StartError::StoreConfig(format!("bloom filter: {e}")))?;
        store_config.bit_map_length_consume_queue_ext = bloom.m() as u32;
        let consumer_filter_manager = Arc::new(
            ConsumerFilterManager::open(
                &root,
                broker_config.filter_data_clean_time_span,
                bloom,
                boot_timestamp,
            )
            .map_err(|e| StartError::ConfigFile {
                file: "consumerFilter.json",
                error: e.to_string(),
            })?,
        );
        // First in Java's dispatcher list, before the store loads: recovery's re-dispatch
        // computes bitmaps too.
        let bit_map_calculator = Arc::new(CalcBitMap::new(
            consumer_filter_manager.clone(),
            broker_config.enable_calc_filter_bit_map,
        ));
        let config_path = loaded
            .config_file
            .clone()
            .unwrap_or_else(crate::config::configuration::default_config_path);
        let configuration = Configuration::new(&loaded, config_path, boot_timestamp);
        let store = Arc::new(MessageStore::open_with(
            store_config,
            store::StoreOptions {
                filter_bit_map: Some(bit_map_calculator.clone()),
                ..store::StoreOptions::default()
            },
        )?);
        let pull_request_hold_service = Arc::new(PullRequestHoldService::new());
        let order_info = crate::pop::order_info::OrderInfoManager::open(&root).map_err(|e| {
            StartError::ConfigFile {
                file: "consumerOrderInfo.json",
                error: e.to_string(),
            }
        })?;
        let pop = crate::pop::PopService::new(
            loaded.pop.clone(),
            &broker_config.broker_cluster_name,
            &broker_config.broker_name,
            order_info,
        );
        store.set_message_arriving_listener(Arc::new(crate::pop::ArrivingFanOut(vec![
            pull_request_hold_service.clone(),
            pop.polling.clone(),
        ])));
        let message_request_mode_manager =
            crate::pop::request_mode::MessageRequestModeManager::open(&root).map_err(|e| {
                StartError::ConfigFile {
                    file: "messageRequestMode.json",
                    error: e.to_string(),
                }
            })?;
        let schedule_message_service = Arc::new(ScheduleMessageService::new(
            store.clone(),
            crate::paths::delay_offset_path(&root),
        ));
        schedule_message_service
            .load()
            .map_err(|e| StartError::ConfigFile {
                file: "delayOffset.json",
                error: e.to_string(),
            })?;

        let ip: IpAddr = broker_config
            .broker_ip1
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let store_host = SocketAddr::new(ip, netty.listen_port.clamp(0, 65535) as u16);
        let tls = remoting::tls::TlsConfig::from_env();
        let mut namesrv_link = NamesrvLink::new(broker_config.namesrv_addrs());
        if tls.enable {
            let connector = tls.connector().map_err(StartError::Tls)?;
            namesrv_link = namesrv_link.with_tls(connector);
        }
        let access_validator = start_acl(&broker_config)?;
        let update_master_ha_server_addr_periodically = store
            .config()
            .ha_master_address
            .as_deref()
            .is_none_or(|a| a.len() < 6);
        let broker_stats_manager = Arc::new(BrokerStatsManager::new(
            &broker_config.broker_cluster_name,
            broker_config.enable_detail_stat,
        ));
        let schedule_stats = loaded
            .store_value("enableScheduleMessageStats")
            .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"));
        if schedule_stats {
            schedule_message_service.count_deliveries_in(broker_stats_manager.clone());
        }
        let metrics_config = loaded.metrics.clone();
        let exporting = match metrics_config.exporter_type {
            ExporterType::Prom => true,
            ExporterType::Disable => false,
            other => {
                tracing::warn!(
                    "metricsExporterType={other:?} is not supported (only PROM): metrics are off"
                );
                false
            }
        };
        let metrics = Arc::new(BrokerMetrics::new(
            exporting,
            topic_config_manager.system_topic_list(),
        ));
        if exporting {
            broker_stats_manager.attach_metrics(metrics.clone());
        }
        Ok(BrokerController {
            metrics_config,
            grpc_config: loaded.grpc.clone(),
            metrics,
            broker_config,
            configuration,
            netty_server_config: netty,
            loaded_config: loaded,
            store,
            topic_config_manager,
            subscription_group_manager,
            consumer_offset_manager,
            consumer_manager: ConsumerManager::new(),
            consumer_filter_manager,
            bit_map_calculator,
            producer_manager: ProducerManager::new(),
            rebalance_lock_manager: RebalanceLockManager::new(DEFAULT_LOCK_MAX_LIVE_TIME_MS),
            pull_request_hold_service,
            schedule_message_service,
            transactional_message_check_service: Arc::new(TransactionalMessageCheckService::new()),
            namesrv_link,
            broker2client: Arc::new(Broker2Client::new()),
            slave_synchronize: Default::default(),
            update_master_ha_server_addr_periodically,
            store_host,
            boot_timestamp,
            broker_stats: BrokerStats::default(),
            broker_stats_manager,
            access_validator,
            pop,
            message_request_mode_manager,
            pop_stop: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        })
    }

    /// `brokerIP1:listenPort`, the address registered with the name servers.
    pub fn broker_addr(&self) -> String {
        self.broker_config.broker_addr(&self.netty_server_config)
    }

    /// `brokerIP2:haListenPort`; `BrokerStartup` sets `haListenPort` to `listenPort + 1`.
    pub fn ha_server_addr(&self) -> String {
        format!(
            "{}:{}",
            self.broker_config.broker_ip2,
            self.store.config().ha_listen_port
        )
    }

    pub fn is_master(&self) -> bool {
        self.store.config().broker_role != store::BrokerRole::Slave
    }

    /// The store and managers the transaction service works on.
    pub fn transaction_bridge(&self) -> TransactionalMessageBridge<'_> {
        TransactionalMessageBridge {
            store: &self.store,
            topics: &self.topic_config_manager,
            offsets: &self.consumer_offset_manager,
            store_host: self.store_host,
        }
    }

    /// `ClientHousekeepingService.onChannelClose`: the connection leaves every table.
    pub(crate) fn connection_closed(&self, conn: &Arc<Connection>) {
        let id = ConnectionId(conn.id());
        self.broker2client.connection_closed(id);
        let closed =
            housekeeping::connection_closed(&self.consumer_manager, &self.producer_manager, id);
        for change in &closed.consumer_groups {
            if change.group_removed {
                self.consumer_filter_manager
                    .unregister(&change.group, crate::now_millis());
            }
            tracing::info!(
                "connection {:?} closed: consumer group {} now has {} member(s)",
                conn,
                change.group,
                change.remaining.len()
            );
            let notify = self
                .configuration
                .broker(|b| b.notify_consumer_ids_changed_enable);
            if notify && !change.group_removed {
                let (clients, change) = (self.broker2client.clone(), change.clone());
                tokio::spawn(async move {
                    clients
                        .notify_consumer_ids_changed(&change.group, &change.remaining)
                        .await
                });
            }
        }
    }

    /// Writes consumerOffset.json (periodically and at shutdown).
    pub fn persist_consumer_offsets(&self) {
        if let Err(e) = self.consumer_offset_manager.persist() {
            tracing::error!("persist consumerOffset.json failed: {e}");
        }
    }

    /// Writes consumerFilter.json (every 10 s and at shutdown), cleaning long-dead filters, and
    /// (5.x, same schedule) consumerOrderInfo.json.
    pub fn persist_consumer_filters(&self) {
        self.pop.order_info.persist();
        if let Err(e) = self.consumer_filter_manager.persist(crate::now_millis()) {
            tracing::error!("persist consumerFilter.json failed: {e}");
        }
    }

    /// Every 10 s: clients silent for 120 s are dropped and their connections closed.
    pub fn scan_expired_clients(&self) {
        let expired = housekeeping::scan_expired(
            &self.consumer_manager,
            &self.producer_manager,
            crate::now_millis(),
        );
        for id in expired.connections_to_close() {
            if let Some(conn) = self.broker2client.connection(id) {
                tracing::warn!("{:?}: no heartbeat for 120 s, closing", conn);
                conn.close();
            }
        }
    }
}
