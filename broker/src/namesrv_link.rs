//! Java's `BrokerOuterAPI`: the broker's connections to its name servers, REGISTER_BROKER and
//! UNREGISTER_BROKER.
//!
//! REGISTER_BROKER (103) carries the header `brokerAddr`, `brokerId`, `brokerName`,
//! `clusterName`, `haServerAddr`, `compressed` (false unless `compressedRegister`) and
//! `bodyCrc32` (CRC32 of the body as sent, masked to 31 bits), and as body the topic table with
//! its data version and an empty filter server list. It goes to every name server in parallel;
//! a namesrv that cannot be reached is logged and retried at the next period. The request
//! `version` is 4.9.8's, so a namesrv reads the compressed body in the 4.x layout.

use std::net::SocketAddr;
use std::time::Duration;

use futures::future::join_all;
use remoting::RemotingClient;
use remoting_codec::code::{request, response, version};
use remoting_codec::fastjson;
use remoting_codec::protocol::namesrv::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use remoting_codec::protocol::register_broker::{body_crc32, RegisterBrokerBody};
use remoting_codec::protocol::{KvTable, TopicConfigSerializeWrapper};
use remoting_codec::RemotingCommand;
use tokio::sync::Mutex;

/// Who the broker is, as the name servers know it.
#[derive(Clone, Debug)]
pub struct BrokerIdentity {
    pub cluster_name: String,
    pub broker_addr: String,
    pub broker_name: String,
    pub broker_id: i64,
    pub ha_server_addr: String,
}

/// What a namesrv answered to REGISTER_BROKER (Java's `RegisterBrokerResult`).
#[derive(Clone, Debug, Default)]
pub struct RegisterBrokerResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
    /// The ORDER_TOPIC_CONFIG namespace (present when the namesrv has `orderMessageEnable`).
    pub kv_table: Option<KvTable>,
}

pub struct NamesrvLink {
    addrs: Vec<String>,
    /// One cached connection per namesrv, re-made after a failure.
    clients: Vec<Mutex<Option<RemotingClient>>>,
    /// `tls.enable`: the connections are TLS ([`remoting::tls`]).
    tls: Option<tokio_rustls::TlsConnector>,
}

impl NamesrvLink {
    pub fn new(addrs: Vec<String>) -> Self {
        let clients = addrs.iter().map(|_| Mutex::new(None)).collect();
        Self {
            addrs,
            clients,
            tls: None,
        }
    }

    /// Registers over TLS (Java's `tls.enable` for the broker's own client).
    pub fn with_tls(mut self, connector: tokio_rustls::TlsConnector) -> Self {
        self.tls = Some(connector);
        self
    }

    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    async fn client(&self, i: usize) -> Result<RemotingClient, String> {
        let mut slot = self.clients[i].lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.connection().is_closed()) {
            return Ok(client.clone());
        }
        let addr = resolve(&self.addrs[i])?;
        let connect = async {
            match &self.tls {
                Some(tls) => RemotingClient::connect_tls(addr, tls).await,
                None => RemotingClient::connect(addr).await,
            }
        };
        let client = tokio::time::timeout(Duration::from_secs(3), connect)
            .await
            .map_err(|_| format!("connect to {addr} timed out"))?
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    async fn send(
        &self,
        i: usize,
        request: RemotingCommand,
        oneway: bool,
        timeout: Duration,
    ) -> Result<Option<RemotingCommand>, String> {
        let client = self.client(i).await?;
        let result = if oneway {
            client.invoke_oneway(request).await.map(|()| None)
        } else {
            client.invoke(request, timeout).await.map(Some)
        };
        result.map_err(|e| {
            client.close();
            e.to_string()
        })
    }

    /// `registerBrokerAll`: REGISTER_BROKER to every namesrv in parallel. Returns the answers
    /// of those that answered (none for a oneway registration).
    pub async fn register_broker_all(
        &self,
        who: &BrokerIdentity,
        topics: TopicConfigSerializeWrapper,
        oneway: bool,
        timeout: Duration,
        compressed: bool,
    ) -> Vec<RegisterBrokerResult> {
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: topics,
        };
        let body = match body.encode(compressed, version::V4_9_8) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!("cannot encode the REGISTER_BROKER body: {e}");
                return Vec::new();
            }
        };
        let header = RegisterBrokerRequestHeader {
            broker_name: who.broker_name.clone(),
            broker_addr: who.broker_addr.clone(),
            cluster_name: who.cluster_name.clone(),
            ha_server_addr: who.ha_server_addr.clone(),
            broker_id: who.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed,
            body_crc32: body_crc32(&body),
        };
        let mut request = RemotingCommand::request(request::REGISTER_BROKER, &header);
        request.version = version::V4_9_8;
        let request = request.with_body(body);
        let sends = (0..self.addrs.len()).map(|i| {
            let request = request.clone();
            async move { (i, self.send(i, request, oneway, timeout).await) }
        });
        let mut results = Vec::new();
        for (i, outcome) in join_all(sends).await {
            let addr = &self.addrs[i];
            match outcome {
                Ok(None) => tracing::debug!("registered (oneway) with {addr}"),
                Ok(Some(resp)) if resp.code == response::SUCCESS => {
                    let header: RegisterBrokerResponseHeader =
                        resp.decode_header()
                            .unwrap_or(RegisterBrokerResponseHeader {
                                ha_server_addr: None,
                                master_addr: None,
                            });
                    let kv_table = if resp.body.is_empty() {
                        None
                    } else {
                        fastjson::from_slice::<KvTable>(&resp.body).ok()
                    };
                    tracing::debug!("registered with {addr}");
                    results.push(RegisterBrokerResult {
                        ha_server_addr: header.ha_server_addr,
                        master_addr: header.master_addr,
                        kv_table,
                    });
                }
                Ok(Some(resp)) => tracing::warn!(
                    "register broker to name server {addr} failed: code {} {:?}",
                    resp.code,
                    resp.remark
                ),
                Err(e) => tracing::warn!("register broker to name server {addr} failed: {e}"),
            }
        }
        results
    }

    /// `unregisterBrokerAll`: UNREGISTER_BROKER to every namesrv (at shutdown).
    pub async fn unregister_broker_all(&self, who: &BrokerIdentity, timeout: Duration) {
        let header = UnRegisterBrokerRequestHeader {
            broker_name: who.broker_name.clone(),
            broker_addr: who.broker_addr.clone(),
            cluster_name: who.cluster_name.clone(),
            broker_id: who.broker_id,
        };
        let request = RemotingCommand::request(request::UNREGISTER_BROKER, &header);
        let sends = (0..self.addrs.len()).map(|i| {
            let request = request.clone();
            async move { (i, self.send(i, request, false, timeout).await) }
        });
        for (i, outcome) in join_all(sends).await {
            let addr = &self.addrs[i];
            match outcome {
                Ok(Some(resp)) if resp.code == response::SUCCESS => {
                    tracing::info!("unregisterBroker OK, NamesrvAddr: {addr}")
                }
                Ok(other) => tracing::warn!(
                    "unregisterBroker from {addr}: unexpected answer {:?}",
                    other.map(|r| (r.code, r.remark))
                ),
                Err(e) => tracing::warn!("unregisterBroker from {addr} failed: {e}"),
            }
        }
    }
}

/// `host:port` to a socket address (names resolved by the system).
fn resolve(addr: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()
        .map_err(|e| format!("bad namesrv address {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("namesrv address {addr} resolves to nothing"))
}
