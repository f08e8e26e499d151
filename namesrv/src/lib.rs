//! The RocketMQ NameServer: brokers register here; clients, mqadmin and the dashboard read
//! topic routes and cluster data from here.
//!
//! - [`NamesrvController`]: the state (route tables, KV config, settings) and, as a
//!   [`remoting::RequestProcessor`], the dispatch of every namesrv request code to the
//!   handler modules in `processor/`.
//! - [`route_info::RouteInfoManager`]: brokers, topics, liveness.
//! - [`kv_config::KvConfigManager`]: the `kvConfig.json` table.
//! - [`config::NamesrvConfig`]: Java's settings.
//! - [`serve`]: bind, scan for expired brokers every 10 s, serve until shut down.

pub mod config;
pub mod kv_config;
mod processor;
pub mod route_info;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use remoting::RemotingServer;

use crate::config::NamesrvConfig;
use crate::kv_config::KvConfigManager;
use crate::route_info::{RouteInfoManager, DEFAULT_BROKER_EXPIRY};

/// Java's `scanNotActiveBroker` period.
pub const DEFAULT_SCAN_INTERVAL: Duration = Duration::from_secs(10);

/// Liveness timing. Java's values in production; tests shorten them.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How long a broker stays registered without re-registering (unless it sends its own
    /// `heartbeatTimeoutMillis`).
    pub broker_expiry: Duration,
    pub scan_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            broker_expiry: DEFAULT_BROKER_EXPIRY,
            scan_interval: DEFAULT_SCAN_INTERVAL,
        }
    }
}

/// The name server's state, shared by every connection.
pub struct NamesrvController {
    pub route_info: RouteInfoManager,
    pub kv_config: KvConfigManager,
    config: RwLock<NamesrvConfig>,
}

impl NamesrvController {
    /// Loads `kvConfig.json` from the configured path.
    pub fn new(config: NamesrvConfig, timing: Timing) -> Result<Self, String> {
        let kv_config = KvConfigManager::load(config.kv_config_path())?;
        Ok(Self {
            route_info: RouteInfoManager::new(timing.broker_expiry),
            kv_config,
            config: RwLock::new(config),
        })
    }

    pub fn config(&self) -> std::sync::RwLockReadGuard<'_, NamesrvConfig> {
        self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    fn config_mut(&self) -> std::sync::RwLockWriteGuard<'_, NamesrvConfig> {
        self.config.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A bound name server, ready to [`serve`](BoundNamesrv::serve).
pub struct BoundNamesrv {
    server: RemotingServer,
    controller: Arc<NamesrvController>,
    timing: Timing,
}

/// Binds `bindAddress:listenPort` of the config and loads the KV config.
pub async fn bind(config: NamesrvConfig, timing: Timing) -> Result<BoundNamesrv, String> {
    let addr: SocketAddr = format!("{}:{}", config.bind_address(), config.listen_port()?)
        .parse()
        .map_err(|e| format!("bad bind address {:?}: {e}", config.bind_address()))?;
    // Java's `serverChannelMaxIdleTimeSeconds`: an idle connection is closed.
    let max_idle = config
        .get("serverChannelMaxIdleTimeSeconds")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(120);
    let controller = Arc::new(NamesrvController::new(config, timing)?);
    // tls.server.mode and the tls.* settings (remoting::tls), as Java's NettyRemotingServer.
    let tls = remoting::tls::TlsConfig::from_env();
    tracing::info!("Server is running in TLS {:?} mode", tls.server_mode);
    let server = RemotingServer::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?
        .with_tls(tls.server().map_err(|e| format!("tls: {e}"))?)
        .with_max_idle_seconds(max_idle);
    Ok(BoundNamesrv {
        server,
        controller,
        timing,
    })
}

impl BoundNamesrv {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.server.local_addr()
    }

    pub fn controller(&self) -> &Arc<NamesrvController> {
        &self.controller
    }

    /// Serves until `shutdown` resolves; then closes every connection.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let controller = self.controller.clone();
        let interval = self.timing.scan_interval;
        let scanner = tokio::spawn(async move {
            // Java: first scan 5 s after start, then every 10 s.
            let mut ticks =
                tokio::time::interval_at(tokio::time::Instant::now() + interval / 2, interval);
            loop {
                ticks.tick().await;
                let removed = controller.route_info.scan_not_active_broker();
                if removed > 0 {
                    tracing::info!("scanNotActiveBroker removed {} broker(s)", removed);
                }
            }
        });
        self.server.run(self.controller, shutdown).await;
        scanner.abort();
    }
}
