//! Java's `BrokerController.start()`/`shutdown()`: the two listening ports, the periodic
//! tasks and the order of a clean stop.
//!
//! Start: the store is open (recovered) when the controller exists; then both ports are bound
//! (`listenPort` and the VIP port `listenPort - 2`, 0.0.0.0 as Java), with `enableGrpcServer`
//! the gRPC port `grpcServerPort` ([`crate::grpc`]), and the store's HA service
//! listens on `listenPort + 1`, the broker registers with
//! every name server, and the periodic tasks run:
//!
//! | task | first run | period (Java 4.9.8) |
//! |---|---|---|
//! | REGISTER_BROKER | 10 s | `registerNameServerPeriod` clamped to 10–60 s (30 s) |
//! | consumerOffset.json | 10 s | `flushConsumerOffsetInterval` (5 s) |
//! | client housekeeping (120 s silence); the day's stats snapshot at local midnight | 10 s | 10 s |
//! | oneway REGISTER_BROKER after a topic change | — | at once (the topic manager wakes the task) |
//! | statistics sampling ([`crate::stats::BrokerStatsManager::on_tick`]) | 0 s | 10 s (10 min and 1 h windows inside) |
//! | delayed delivery, delayOffset.json ([`crate::schedule`]) | 1 s / 10 s | 100 ms / `flushDelayOffsetInterval` |
//! | transaction check ([`crate::transaction`], master only) | `transactionCheckInterval` | `transactionCheckInterval` (60 s) |
//! | metadata copy from the master ([`crate::slave`], slave only) | 3 s | 10 s |
//! | parked pulls whose queue grew woken ([`crate::long_polling`], slave only) | 5 s | 5 s |
//!
//! Java registers oneway right after a send auto-creates a topic and after a topic admin
//! change; here those paths raise a flag on the topic manager and the last task sends it.
//!
//! Stop (SIGTERM): parked pulls are answered, both ports (and the gRPC port, whose clients'
//! sessions close) stop accepting and close their connections, UNREGISTER_BROKER goes to every namesrv, the delay timers and the transaction
//! check stop, the config files (delayOffset.json included) are written, and the store shuts
//! down (flushes and removes the `abort` file).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use remoting::RemotingServer;
use tokio::sync::watch;

use crate::controller::BrokerController;
use crate::namesrv_link::BrokerIdentity;
use crate::processor::BrokerProcessor;
use crate::transaction::CheckConfig;

/// Java's `PullRequestHoldService` check period with long polling.
const SLAVE_HOLD_CHECK_PERIOD: Duration = Duration::from_secs(5);
/// Java's delay before the first run of every periodic task.
const FIRST_RUN_DELAY: Duration = Duration::from_secs(10);
const HOUSEKEEPING_PERIOD: Duration = Duration::from_secs(10);
/// `consumerFilter.json` is written every 10 s.
const CONSUMER_FILTER_PERIOD: Duration = Duration::from_secs(10);
/// `StatsItemSet`'s sampling timer (the 10-minute and hourly samplings ride on it).
const STATS_SAMPLING_PERIOD: Duration = Duration::from_secs(10);

/// A broker with its ports bound, ready to [`serve`](Self::serve).
pub struct BoundBroker {
    controller: Arc<BrokerController>,
    main: RemotingServer,
    vip: RemotingServer,
    /// The Prometheus exporter's socket (`metricsExporterType=PROM`).
    metrics: Option<tokio::net::TcpListener>,
    /// The gRPC port (`enableGrpcServer`, [`crate::grpc`]).
    grpc: Option<crate::grpc::GrpcListener>,
}

/// Binds `0.0.0.0:listenPort` and `0.0.0.0:listenPort-2`.
pub async fn bind(controller: Arc<BrokerController>) -> Result<BoundBroker, String> {
    let port = controller.netty_server_config.listen_port;
    let vip_port = controller.netty_server_config.vip_port();
    let addr = |p: i32| -> Result<SocketAddr, String> {
        u16::try_from(p)
            .map(|p| SocketAddr::from(([0, 0, 0, 0], p)))
            .map_err(|_| format!("listen port {p} out of range"))
    };
    // tls.server.mode and the tls.* settings (remoting::tls), on both ports as Java.
    let tls = remoting::tls::TlsConfig::from_env();
    tracing::info!("Server is running in TLS {:?} mode", tls.server_mode);
    let tls = tls.server().map_err(|e| format!("tls: {e}"))?;
    let max_idle = controller
        .netty_server_config
        .server_channel_max_idle_time_seconds as i64;
    let main = RemotingServer::bind(addr(port)?)
        .await
        .map_err(|e| format!("cannot listen on port {port}: {e}"))?
        .with_tls(tls.clone())
        .with_max_idle_seconds(max_idle);
    let vip = RemotingServer::bind(addr(vip_port)?)
        .await
        .map_err(|e| format!("cannot listen on the VIP port {vip_port}: {e}"))?
        .with_tls(tls)
        .with_max_idle_seconds(max_idle);
    let metrics = if controller.metrics.enabled() {
        let addr = controller.metrics_config.prom_addr();
        let listener = crate::metrics::exporter::bind(&addr)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!("metrics exporter listening on {addr}");
        Some(listener)
    } else {
        None
    };
    let grpc = crate::grpc::bind(&controller).await?;
    // Java's DefaultMessageStore.start: the HA service listens on haListenPort (every role).
    let ha_port = controller.store.config().ha_listen_port;
    controller
        .store
        .start_ha()
        .map_err(|e| format!("cannot listen on the HA port {ha_port}: {e}"))?;
    Ok(BoundBroker {
        controller,
        main,
        vip,
        metrics,
        grpc,
    })
}

impl BrokerController {
    fn identity(&self) -> BrokerIdentity {
        BrokerIdentity {
            cluster_name: self.broker_config.broker_cluster_name.clone(),
            broker_addr: self.broker_addr(),
            broker_name: self.broker_config.broker_name.clone(),
            broker_id: self.broker_config.broker_id,
            ha_server_addr: self.ha_server_addr(),
        }
    }

    /// Java's `registerBrokerAll(checkOrderConfig = true, oneway, force = true)`. A broker
    /// whose own permission lacks read or write registers every topic with that permission.
    pub async fn register_broker_all(&self, oneway: bool) {
        if self.namesrv_link.addrs().is_empty() {
            return;
        }
        let mut topics = self.topic_config_manager.serialize_wrapper();
        let broker_perm = self.configuration.broker(|b| b.broker_permission);
        use remoting_codec::protocol::perm;
        if !perm::is_writeable(broker_perm) || !perm::is_readable(broker_perm) {
            for config in topics.topic_config_table.values_mut() {
                config.perm = broker_perm;
            }
        }
        let timeout =
            Duration::from_millis(self.broker_config.register_broker_timeout_mills.max(1) as u64);
        let results = self
            .namesrv_link
            .register_broker_all(
                &self.identity(),
                topics,
                oneway,
                timeout,
                self.broker_config.compressed_register,
            )
            .await;
        // Java's `doRegisterBrokerAll`: the first answer names the master's HA address (a
        // slave's HA client follows it unless broker.conf fixed one) and the master's address
        // (the slave's metadata sync follows it, and stops while it is absent).
        if let Some(first) = results.first() {
            if self.update_master_ha_server_addr_periodically {
                if let Some(ha) = first.ha_server_addr.as_deref() {
                    self.store.update_ha_master_address(ha);
                }
            }
            self.slave_synchronize
                .set_master_addr(first.master_addr.clone());
            if let Some(kv) = first.kv_table.as_ref() {
                self.topic_config_manager.update_order_topic_config(kv);
            }
        }
    }
}

impl BoundBroker {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.main.local_addr()
    }

    pub fn controller(&self) -> &Arc<BrokerController> {
        &self.controller
    }

    /// The gRPC port's address, when `enableGrpcServer` is on.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|g| g.local_addr().ok())
    }

    /// Starts serving both ports, registers with every namesrv (answers awaited, as Java's
    /// start does before it reports "boot success") and starts the periodic tasks.
    pub async fn start(self) -> RunningBroker {
        let ctrl = self.controller.clone();
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let main = tokio::spawn(self.main.run(
            Arc::new(BrokerProcessor::new(ctrl.clone(), false)),
            stopped(stop_rx.clone()),
        ));
        let vip = tokio::spawn(self.vip.run(
            Arc::new(BrokerProcessor::new(ctrl.clone(), true)),
            stopped(stop_rx.clone()),
        ));
        let mut servers = vec![main, vip];
        if let Some(listener) = self.grpc {
            servers.push(tokio::spawn(crate::grpc::serve(
                listener,
                ctrl.clone(),
                stopped(stop_rx.clone()),
            )));
        }
        if ctrl.is_master() {
            // Java's `handleScheduleMessageService`: only a master delivers delayed messages.
            if let Err(e) = ctrl.schedule_message_service.start() {
                tracing::error!("schedule message service not started: {e}");
            }
            // 5.x: only a master's timer store delivers (a slave's dequeue does not run).
            if let Err(e) = ctrl.store.start_timer() {
                tracing::error!("timer message store not started: {e}");
            }
            // 5.x: the POP revive threads (they idle on a slave).
            crate::pop::revive::start(&ctrl, ctrl.pop_stop.clone());
            // Java's `startProcessorByHa`: only a master checks half messages.
            if let Err(e) = start_transaction_check(&ctrl) {
                tracing::error!("transaction check service not started: {e}");
            }
        }
        ctrl.register_broker_all(false).await;
        let mut tasks = spawn_periodic_tasks(&ctrl);
        if let Some(listener) = self.metrics {
            tasks.push(tokio::spawn(crate::metrics::exporter::serve(
                listener,
                ctrl.clone(),
            )));
        }
        RunningBroker {
            controller: ctrl,
            stop_tx,
            servers,
            tasks,
        }
    }
}

/// The transaction check thread: a pass with the broker's settings every
/// `transactionCheckInterval`, checks sent on this runtime.
fn start_transaction_check(ctrl: &Arc<BrokerController>) -> std::io::Result<()> {
    let interval =
        Duration::from_millis(ctrl.broker_config.transaction_check_interval.max(1) as u64);
    let runtime = tokio::runtime::Handle::current();
    let c = ctrl.clone();
    ctrl.transactional_message_check_service
        .start(interval, move || {
            let config = CheckConfig {
                transaction_timeout_ms: c.configuration.broker(|b| b.transaction_time_out),
                transaction_check_max: c.configuration.broker(|b| b.transaction_check_max),
                file_reserved_hours: c.store.current_config().file_reserved_time as i64,
            };
            crate::transaction::check_once(
                &c.transaction_bridge(),
                config,
                &c.producer_manager,
                &c.broker2client,
                &runtime,
            )
        })
}

/// A serving broker; [`run_until`](Self::run_until) stops it.
pub struct RunningBroker {
    controller: Arc<BrokerController>,
    stop_tx: watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningBroker {
    pub fn controller(&self) -> &Arc<BrokerController> {
        &self.controller
    }

    /// Serves until `shutdown` resolves, then stops as described in the module docs.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        shutdown.await;
        tracing::info!("broker shutting down");
        let ctrl = self.controller;
        for task in &self.tasks {
            task.abort();
        }
        ctrl.pull_request_hold_service.wake_all();
        ctrl.pop_stop
            .store(true, std::sync::atomic::Ordering::Release);
        let _ = self.stop_tx.send(true);
        for server in self.servers {
            let _ = server.await;
        }
        let timeout =
            Duration::from_millis(ctrl.broker_config.register_broker_timeout_mills.max(1) as u64);
        ctrl.namesrv_link
            .unregister_broker_all(&ctrl.identity(), timeout)
            .await;
        let store_ctrl = ctrl.clone();
        let result = tokio::task::spawn_blocking(move || {
            store_ctrl.schedule_message_service.shutdown();
            store_ctrl.transactional_message_check_service.shutdown();
            store_ctrl.persist_consumer_offsets();
            store_ctrl.persist_consumer_filters();
            if let Err(e) = store_ctrl.topic_config_manager.persist() {
                tracing::error!("persist topics.json failed: {e}");
            }
            if let Err(e) = store_ctrl.subscription_group_manager.persist() {
                tracing::error!("persist subscriptionGroup.json failed: {e}");
            }
            store_ctrl.store.shutdown()
        })
        .await;
        match result {
            Ok(Ok(())) => tracing::info!("store shut down cleanly"),
            Ok(Err(e)) => tracing::error!("store shutdown failed: {e}"),
            Err(e) => tracing::error!("store shutdown task failed: {e}"),
        }
    }
}

fn every(
    first: Duration,
    period: Duration,
    mut tick: impl FnMut() -> Option<tokio::task::JoinHandle<()>> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Some(job) = tick() {
                let _ = job.await;
            }
        }
    })
}

fn spawn_periodic_tasks(ctrl: &Arc<BrokerController>) -> Vec<tokio::task::JoinHandle<()>> {
    let config = &ctrl.broker_config;
    let register_period =
        Duration::from_millis(config.register_name_server_period.clamp(10_000, 60_000) as u64);
    let offset_period = Duration::from_millis(config.flush_consumer_offset_interval.max(1) as u64);
    let c = ctrl.clone();
    let register = every(FIRST_RUN_DELAY, register_period, move || {
        let c = c.clone();
        Some(tokio::spawn(
            async move { c.register_broker_all(false).await },
        ))
    });
    let c = ctrl.clone();
    let register_on_change = tokio::spawn(async move {
        loop {
            c.topic_config_manager.register_requested().await;
            if c.topic_config_manager.take_register_request() {
                c.register_broker_all(true).await;
            }
        }
    });
    let c = ctrl.clone();
    let offsets = every(FIRST_RUN_DELAY, offset_period, move || {
        let c = c.clone();
        Some(tokio::task::spawn_blocking(move || {
            c.persist_consumer_offsets()
        }))
    });
    let c = ctrl.clone();
    let housekeeping = every(FIRST_RUN_DELAY, HOUSEKEEPING_PERIOD, move || {
        c.scan_expired_clients();
        let stats = c.store.stats();
        c.broker_stats.on_tick(
            store::local_day(),
            stats.put_times_total(),
            stats.get_transferred_total(),
        );
        None
    });
    // Java: consumerFilter.json 10 s after start, then every 10 s.
    let c = ctrl.clone();
    let filters = every(FIRST_RUN_DELAY, CONSUMER_FILTER_PERIOD, move || {
        let c = c.clone();
        Some(tokio::task::spawn_blocking(move || {
            c.persist_consumer_filters()
        }))
    });
    // Java's BrokerStatsManager timers start with the broker (no delay), every 10 s.
    let c = ctrl.clone();
    let stats = every(Duration::ZERO, STATS_SAMPLING_PERIOD, move || {
        c.broker_stats_manager.on_tick(crate::now_millis());
        None
    });
    let mut tasks = Vec::new();
    if !ctrl.is_master() {
        // Java's `handleSlaveSynchronize`: a slave copies its master's metadata.
        let c = ctrl.clone();
        tasks.push(every(
            crate::slave::FIRST_SYNC_DELAY,
            crate::slave::SYNC_PERIOD,
            move || {
                let c = c.clone();
                Some(tokio::spawn(async move {
                    c.slave_synchronize.sync_all(&c).await
                }))
            },
        ));
        // Java's PullRequestHoldService check (5 s with long polling): a slave's store does not
        // tell the hold service of replicated messages, so parked pulls wake here.
        let c = ctrl.clone();
        tasks.push(every(
            SLAVE_HOLD_CHECK_PERIOD,
            SLAVE_HOLD_CHECK_PERIOD,
            move || {
                let store = &c.store;
                c.pull_request_hold_service
                    .check_hold_requests(|topic, queue| store.max_offset_in_queue(topic, queue));
                None
            },
        ));
    }
    tasks.extend([
        register,
        register_on_change,
        offsets,
        filters,
        housekeeping,
        stats,
    ]);
    // Java's AclFileWatchService: the ACL files' times compared every 5 s.
    if let Some(acl) = ctrl.access_validator.clone() {
        let period = crate::acl::WATCH_INTERVAL;
        tasks.push(every(period, period, move || {
            let acl = acl.clone();
            Some(tokio::task::spawn_blocking(move || {
                acl.poll_files(crate::now_millis())
            }))
        }));
    }
    tasks
}
