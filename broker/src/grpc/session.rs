//! A gRPC client as the broker's managers see it: one in-memory remoting connection per client
//! id (Java's `GrpcChannelManager` and `GrpcClientChannel`, the proxy's channel standing for a
//! gRPC client in the broker's `ProducerManager` and `ConsumerManager`).
//!
//! The connection is a [`remoting::Connection`] over an in-memory duplex pipe. Requests the
//! broker sends to the client arrive at the pipe's far end, read here: CHECK_TRANSACTION_STATE
//! becomes a `RecoverOrphanedTransactionCommand` on the client's Telemetry stream (with the
//! transaction recorded for the client's EndTransaction, as the proxy's
//! `ProxyClientRemotingProcessor` does); GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY
//! are relayed as Telemetry commands ([`super::relay`]); any other request that expects an
//! answer gets REQUEST_CODE_NOT_SUPPORTED. A client that sent nothing for `grpcClientIdleTimeMills`
//! (120 s) or said NotifyClientTermination is closed: it leaves the managers' tables as a
//! closed remoting connection does.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use futures::{SinkExt, StreamExt};
use grpc::v2::{telemetry_command, RecoverOrphanedTransactionCommand, Settings, TelemetryCommand};
use remoting::{Connection, PeerLimits};
use remoting_codec::code::{request, response};
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::transaction::CheckTransactionStateRequestHeader;
use remoting_codec::{RemotingCodec, RemotingCommand};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::transaction::TxRecord;
use super::GrpcContext;
use crate::controller::BrokerController;

/// Java's `grpcClientIdleTimeMills`.
const CLIENT_IDLE: Duration = Duration::from_secs(120);
/// The largest frame the in-memory connection carries (a check-back holds one message).
const MAX_FRAME: usize = 16 * 1024 * 1024;

/// What the server sends on a Telemetry stream.
pub type TelemetrySender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

/// One gRPC client.
pub struct Session {
    pub client_id: String,
    pub conn: Arc<Connection>,
    /// The client's Telemetry stream, while open.
    pub telemetry: Mutex<Option<TelemetrySender>>,
    /// The settings the client last sent (with the server's parts merged in).
    pub settings: Mutex<Option<Settings>>,
    last_seen_ms: AtomicI64,
}

impl Session {
    pub fn touch(&self) {
        self.last_seen_ms
            .store(crate::now_millis(), Ordering::Relaxed);
    }

    pub fn settings(&self) -> Option<Settings> {
        self.settings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_settings(&self, settings: Settings) {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = Some(settings);
    }

    pub fn set_telemetry(&self, tx: Option<TelemetrySender>) {
        *self.telemetry.lock().unwrap_or_else(|e| e.into_inner()) = tx;
    }

    /// Forgets the Telemetry stream if it is still `tx` (not a newer one of the same client).
    pub fn clear_telemetry_if(&self, tx: &TelemetrySender) {
        let mut t = self.telemetry.lock().unwrap_or_else(|e| e.into_inner());
        if t.as_ref().is_some_and(|cur| cur.same_channel(tx)) {
            *t = None;
        }
    }

    /// The client's Telemetry stream, while open.
    pub fn telemetry_sender(&self) -> Option<TelemetrySender> {
        self.telemetry()
    }

    fn telemetry(&self) -> Option<TelemetrySender> {
        self.telemetry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The sessions by client id.
#[derive(Default)]
pub struct Sessions {
    by_client: DashMap<String, Arc<Session>>,
}

impl Sessions {
    /// The client's session, created (with its connection) on first use.
    pub fn get_or_open(
        &self,
        cx: &Arc<GrpcContext>,
        client_id: &str,
        peer: SocketAddr,
    ) -> Arc<Session> {
        if let Some(s) = self.by_client.get(client_id) {
            if !s.conn.is_closed() {
                s.touch();
                return s.clone();
            }
        }
        let session = self
            .by_client
            .entry(client_id.to_owned())
            .and_modify(|s| {
                if s.conn.is_closed() {
                    *s = open(cx, client_id, peer);
                }
            })
            .or_insert_with(|| open(cx, client_id, peer))
            .clone();
        session.touch();
        session
    }

    pub fn get(&self, client_id: &str) -> Option<Arc<Session>> {
        self.by_client.get(client_id).map(|s| s.clone())
    }

    /// Closes the client's connection: it leaves every producer and consumer table.
    pub fn close(&self, ctrl: &BrokerController, client_id: &str) {
        if let Some((_, s)) = self.by_client.remove(client_id) {
            close_session(ctrl, &s);
        }
    }

    /// Every session closed (the server stops); their Telemetry streams end.
    pub fn close_all(&self, ctrl: &BrokerController) {
        let ids: Vec<String> = self.by_client.iter().map(|e| e.key().clone()).collect();
        for id in ids {
            self.close(ctrl, &id);
        }
    }

    fn idle(&self, now_ms: i64) -> Vec<String> {
        self.by_client
            .iter()
            .filter(|s| {
                now_ms - s.last_seen_ms.load(Ordering::Relaxed) > CLIENT_IDLE.as_millis() as i64
            })
            .map(|s| s.key().clone())
            .collect()
    }
}

fn close_session(ctrl: &BrokerController, s: &Session) {
    s.set_telemetry(None);
    if !s.conn.is_closed() {
        s.conn.close();
        ctrl.connection_closed(&s.conn);
    }
}

/// Closes the sessions idle for `grpcClientIdleTimeMills`, every 10 s.
pub async fn reap_idle(cx: Arc<GrpcContext>) {
    let mut ticks = tokio::time::interval(Duration::from_secs(10));
    loop {
        ticks.tick().await;
        for id in cx.sessions.idle(crate::now_millis()) {
            tracing::info!("gRPC client {id} idle for {CLIENT_IDLE:?}: closed");
            cx.sessions.close(&cx.ctrl, &id);
        }
    }
}

fn open(cx: &Arc<GrpcContext>, client_id: &str, peer: SocketAddr) -> Arc<Session> {
    let (broker_side, client_side) = tokio::io::duplex(256 * 1024);
    let conn = Connection::spawn_io(
        broker_side,
        peer,
        MAX_FRAME,
        PeerLimits::default(),
        |_, _| {},
    );
    cx.ctrl.broker2client.connection_opened(&conn);
    let session = Arc::new(Session {
        client_id: client_id.to_owned(),
        conn,
        telemetry: Mutex::new(None),
        settings: Mutex::new(None),
        last_seen_ms: AtomicI64::new(crate::now_millis()),
    });
    tokio::spawn(client_side_loop(
        cx.clone(),
        Arc::downgrade(&session),
        client_side,
    ));
    tracing::debug!("gRPC client {client_id} from {peer}: session opened");
    session
}

/// Reads what the broker sends to the client and answers or forwards it.
async fn client_side_loop(
    cx: Arc<GrpcContext>,
    session: std::sync::Weak<Session>,
    pipe: tokio::io::DuplexStream,
) {
    let (r, w) = tokio::io::split(pipe);
    let mut frames = FramedRead::new(r, RemotingCodec::new(MAX_FRAME));
    // Answers go out through one writer: relayed requests answer later, from their own tasks.
    let (answers, mut to_write) = mpsc::unbounded_channel::<RemotingCommand>();
    tokio::spawn(async move {
        let mut out = FramedWrite::new(w, RemotingCodec::new(MAX_FRAME));
        while let Some(resp) = to_write.recv().await {
            if out.send(resp).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(cmd)) = frames.next().await {
        if cmd.is_response() {
            continue;
        }
        let Some(s) = session.upgrade() else { break };
        if cmd.code == request::CHECK_TRANSACTION_STATE {
            forward_check(&cx, &s, &cmd).await;
        } else if super::relay::is_relayed(cmd.code) {
            super::relay::relay(&cx, &s, cmd, answers.clone());
        } else if !cmd.is_oneway() {
            let resp = RemotingCommand::response_to(&cmd, response::REQUEST_CODE_NOT_SUPPORTED)
                .with_remark(format!(
                    "request type {} not supported by a gRPC client",
                    cmd.code
                ));
            if answers.send(resp).is_err() {
                break;
            }
        }
    }
}

/// CHECK_TRANSACTION_STATE → `RecoverOrphanedTransactionCommand` (the half message as the client
/// sees it, and a transaction id its EndTransaction names).
async fn forward_check(cx: &GrpcContext, s: &Session, cmd: &RemotingCommand) {
    let Ok(header) = cmd.decode_header::<CheckTransactionStateRequestHeader>() else {
        tracing::warn!("gRPC client {}: check-back without its header", s.client_id);
        return;
    };
    let Ok(msg) = StoredMessage::decode(&cmd.body) else {
        tracing::warn!(
            "gRPC client {}: check-back message undecodable",
            s.client_id
        );
        return;
    };
    let Some(tx) = s.telemetry() else {
        tracing::warn!(
            "gRPC client {}: no telemetry stream for a transaction check",
            s.client_id
        );
        return;
    };
    let topic = msg
        .properties
        .real_topic()
        .map(str::to_owned)
        .unwrap_or_else(|| msg.topic.clone());
    let transaction_id = cx.record_transaction(TxRecord {
        producer_group: msg
            .properties
            .producer_group()
            .unwrap_or(topic.as_str())
            .to_owned(),
        tran_state_table_offset: header.tran_state_table_offset,
        commit_log_offset: header.commit_log_offset,
        msg_id: header.msg_id.clone().unwrap_or_else(|| msg.msg_id()),
    });
    let message = grpc::convert::to_proto_message(&msg, &topic, None);
    let command = TelemetryCommand {
        status: None,
        command: Some(
            telemetry_command::Command::RecoverOrphanedTransactionCommand(
                RecoverOrphanedTransactionCommand {
                    message: Some(message),
                    transaction_id,
                },
            ),
        ),
    };
    if tx.send(Ok(command)).await.is_err() {
        tracing::warn!("gRPC client {}: telemetry stream closed", s.client_id);
    }
}
