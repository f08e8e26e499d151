//! RocketMQ 5.x's gRPC protocol (`apache.rocketmq.v2.MessagingService`), served by the broker
//! itself on `grpcServerPort` (8081) when `enableGrpcServer=true`: the official 5.x clients
//! (Java, Go, C++, Python, Node.js, Rust, C#) connect here with no rocketmq-proxy in between.
//!
//! Java serves this protocol from a separate process, `rocketmq-proxy` (5.3.3 `proxy/`:
//! `GrpcMessagingApplication`, the `grpc/v2` activities, `GrpcConverter`, `ResponseBuilder`).
//! Its "local" mode runs inside the broker and turns each call into the broker's own remoting
//! request, handed to the broker's processor through an in-memory channel (`LocalMessageService`,
//! `SimpleChannel`). This module does the same: every call becomes the `RemotingCommand` a
//! remoting client would send (SEND_MESSAGE_V2, END_TRANSACTION, HEART_BEAT, …) and goes through
//! [`crate::processor::BrokerProcessor`], so sends, offsets and transactions have one
//! implementation, with the same statistics and metrics. A gRPC client is one in-memory
//! remoting connection ([`session`]); what the broker sends to it (a transaction check-back)
//! is read from that connection and forwarded on the client's Telemetry stream, as the proxy's
//! `GrpcClientChannel` does; so are the admin requests the broker relays to a consumer
//! ([`relay`]).
//!
//! | module | RPCs (proxy activity) |
//! |---|---|
//! | [`route`] | QueryRoute, QueryAssignment (`RouteActivity`) |
//! | [`send`] | SendMessage (`SendMessageActivity`) |
//! | [`transaction`] | EndTransaction (`EndTransactionActivity`, `TransactionService`) |
//! | [`client`] | Heartbeat, Telemetry, NotifyClientTermination (`ClientActivity`, `GrpcClientSettingsManager`) |
//! | [`receive`] | ReceiveMessage (`ReceiveMessageActivity`, `ConsumerProcessor.popMessage`) |
//! | [`consume`] | AckMessage, ChangeInvisibleDuration, ForwardMessageToDeadLetterQueue (`AckMessageActivity`, `ChangeInvisibleDurationActivity`, `ForwardMessageToDLQActivity`) |
//! | [`batch_ack`] | AckMessage with `enableBatchAck` (`ackMessageInBatch`) |
//! | [`offset`] | PullMessage, UpdateOffset, GetOffset, QueryOffset (not in the 5.3.3 proxy: the remoting pull and offset calls) |
//! | [`session`] | the client's in-memory connection (`GrpcChannelManager`, `GrpcClientChannel`) |
//! | [`relay`] | admin requests (307 with jstack, 309) relayed over Telemetry with nonces (`ProxyChannel`, `ClientActivity.report*`) |
//! | [`auth`] | 5.x signatures (`authorization`, `x-mq-date-time`) checked against the ACL 1.0 accounts with `aclEnable`, QueryRoute / QueryAssignment permissions |
//! | [`listener`] | the port's connections, TLS as on the remoting ports (`tls.server.mode`) with ALPN `h2` |
//! | [`config`] | `enableGrpcServer`, `grpcServerPort` and the proxy's limits |
//!
//! Status codes are the proxy's: its own checks give its codes (ILLEGAL_TOPIC,
//! TOPIC_NOT_FOUND, MESSAGE_BODY_TOO_LARGE, …, see `grpc::convert`), and a remoting refusal
//! is mapped as `ResponseBuilder.buildCode` maps it (most codes become INTERNAL_SERVER_ERROR
//! with the broker's remark). ReceiveMessage, AckMessage, ChangeInvisibleDuration and
//! ForwardMessageToDeadLetterQueue are the broker's POP (POP_MESSAGE, ACK_MESSAGE,
//! CHANGE_MESSAGE_INVISIBLETIME, CONSUMER_SEND_MSG_BACK over [`crate::pop::PopService`]), as
//! the proxy's local mode calls them. TLS follows the remoting ports'
//! settings ([`listener`]); with `aclEnable` the 5.x signatures are checked and the account's
//! permissions applied ([`auth`]).

pub mod auth;
pub mod batch_ack;
pub mod client;
pub mod config;
pub mod consume;
pub mod listener;
pub mod offset;
pub mod receive;
pub mod relay;
pub mod route;
pub mod send;
pub mod service;
pub mod session;
pub mod transaction;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use config::GrpcConfig;
use grpc::v2::messaging_service_server::MessagingServiceServer;
use grpc::v2::{Resource, Status};
use remoting_codec::RemotingCommand;

use crate::controller::BrokerController;
use crate::processor::BrokerProcessor;

/// The client id a 5.x client sends in every call's metadata.
pub const CLIENT_ID_KEY: &str = "x-mq-client-id";

/// What every RPC needs: the broker, its processor and the gRPC clients' sessions.
pub struct GrpcContext {
    pub ctrl: Arc<BrokerController>,
    pub processor: BrokerProcessor,
    pub sessions: session::Sessions,
    pub transactions: transaction::TransactionData,
    /// Admin requests relayed over Telemetry streams, waiting for the clients' answers.
    pub relays: relay::Relays,
}

impl GrpcContext {
    pub fn new(ctrl: Arc<BrokerController>) -> Arc<Self> {
        Arc::new(GrpcContext {
            processor: BrokerProcessor::new(ctrl.clone(), false),
            sessions: session::Sessions::default(),
            transactions: transaction::TransactionData::default(),
            relays: relay::Relays::default(),
            ctrl,
        })
    }

    /// Runs a remoting request through the broker's processor on `conn`, as a remoting client's
    /// request would run. `None` when the processor answered nothing (a oneway request).
    pub async fn dispatch(
        &self,
        caller: &Caller,
        conn: &Arc<remoting::Connection>,
        mut req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, Status> {
        use remoting::RequestProcessor;
        auth::authorize(&self.ctrl, caller, &mut req)?;
        self.processor
            .process(conn, req)
            .await
            .map_err(|e| grpc::convert::status(grpc::v2::Code::NotImplemented, &format!("{e:?}")))
    }
}

/// Who called: the client id of the metadata, the peer's address and the 5.x signature.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub peer: SocketAddr,
    pub authorization: Option<String>,
    pub date_time: Option<String>,
}

impl Caller {
    pub fn of<T>(request: &tonic::Request<T>) -> Caller {
        let text = |key: &str| {
            request
                .metadata()
                .get(key)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let client_id = text(CLIENT_ID_KEY).unwrap_or_default();
        let peer = request
            .remote_addr()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        Caller {
            client_id,
            peer,
            authorization: text("authorization"),
            date_time: text("x-mq-date-time"),
        }
    }
}

/// The name of an optional resource (empty when absent).
pub fn name_of(resource: Option<&Resource>) -> &str {
    resource.map_or("", |r| r.name.as_str())
}

/// A bound gRPC port, ready to [`serve`].
pub struct GrpcListener {
    listener: tokio::net::TcpListener,
    tls: remoting::tls::TlsServer,
}

impl GrpcListener {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// Binds `0.0.0.0:grpcServerPort` when `enableGrpcServer` is on.
pub async fn bind(ctrl: &BrokerController) -> Result<Option<GrpcListener>, String> {
    if !ctrl.grpc_config.enable {
        return Ok(None);
    }
    let port = ctrl.grpc_config.port;
    // The remoting ports' TLS settings (tls.server.mode, tls.*), with gRPC's ALPN.
    let tls = remoting::tls::TlsConfig::from_env()
        .server_with_alpn(&[b"h2"])
        .map_err(|e| format!("gRPC tls: {e}"))?;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
        .await
        .map_err(|e| format!("cannot listen on grpcServerPort {port}: {e}"))?;
    tracing::info!("gRPC server (apache.rocketmq.v2.MessagingService) listening on {port}");
    Ok(Some(GrpcListener { listener, tls }))
}

/// Serves until `shutdown` resolves; open calls then get up to `grpcShutdownTimeSeconds`.
pub async fn serve(
    listener: GrpcListener,
    ctrl: Arc<BrokerController>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let cx = GrpcContext::new(ctrl.clone());
    let reaper = tokio::spawn(session::reap_idle(cx.clone()));
    let max = ctrl.grpc_config.max_inbound_message_size;
    let service = MessagingServiceServer::new(service::Messaging::new(cx.clone()))
        .max_decoding_message_size(max)
        .max_encoding_message_size(usize::MAX);
    let incoming = tokio_stream::wrappers::ReceiverStream::new(listener::incoming(
        listener.listener,
        listener.tls,
    ));
    let grace = std::time::Duration::from_secs(ctrl.grpc_config.shutdown_time_seconds);
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let closing = cx.clone();
    let server = tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.await;
            // Sessions closed first: their Telemetry streams end, so open calls can finish.
            closing.sessions.close_all(&closing.ctrl);
            let _ = stopped_tx.send(());
        });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => {
            if let Err(e) = result {
                tracing::error!("gRPC server failed: {e}");
            }
        }
        _ = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("gRPC server: calls still open after {grace:?}, stopped"),
    }
    reaper.abort();
    cx.sessions.close_all(&cx.ctrl);
}
