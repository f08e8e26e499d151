//! `Broker2Client`: every request the broker sends to a client, and the table of open client
//! connections they go out on.
//!
//! Java's broker calls its clients for these codes (4.9.8 `Broker2Client`, the admin
//! processor's relays), each over the connection the client's heartbeats came on:
//!
//! | code | when | how |
//! |---|---|---|
//! | CHECK_TRANSACTION_STATE 39 | an open half message is old enough to check | oneway |
//! | NOTIFY_CONSUMER_IDS_CHANGED 40 | a consumer group's membership changed | oneway |
//! | RESET_CONSUMER_CLIENT_OFFSET 220 | INVOKE_BROKER_TO_RESET_OFFSET (222), to every member | oneway (Java's 5 s is the wait for a send permit) |
//! | GET_CONSUMER_STATUS_FROM_CLIENT 221 | INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223), to every (or the named) member | two-way, 5 s |
//! | GET_CONSUMER_RUNNING_INFO 307 | relayed from an admin (`callClient`) | two-way, 10 s |
//! | CONSUME_MESSAGE_DIRECTLY 309 | relayed from an admin (`callClient`) | two-way, 10 s |
//!
//! A request gets a fresh opaque from the connection and its response is matched by that
//! opaque ([`Connection::invoke`]). Nothing else in the broker writes requests to a client.
//! A 5.x gRPC client's connection is the in-memory one of [`crate::grpc::session`], whose far
//! end turns 39 into a transaction check-back and 307 / 309 into Telemetry commands
//! ([`crate::grpc::relay`]), answering here as a remoting client would.
//!
//! **Opaques.** Java builds the 220 and 221 request once and sends that same object to every
//! member, so all members see one opaque (s14: 220 with 135 to both consumers, 221 with 140),
//! taken from the broker's JVM-wide counter. We do not copy that: a client only echoes the
//! opaque of a request it serves (its `NettyRemotingAbstract.processRequestCommand` sets the
//! request's opaque on its response) and never looks it up, so any value works for it; and
//! the reuse is only safe in Java because the 221 calls are made one after the other (Java's
//! response table is keyed by opaque alone, across channels). Ours are per connection, which
//! cannot collide whatever the order.
//!
//! **Failures** ([`CallError`]): a connection that is gone or fails while sending is Java's
//! `RemotingSendRequestException`, no answer within the timeout its `RemotingTimeoutException`;
//! [`CallError::java_desc`] is what Java's `RemotingHelper.exceptionSimpleDesc` makes of them
//! (the exception text and its first stack frame, `NettyRemotingAbstract.invokeSyncImpl` at
//! the line of the `throw` in 4.9.8), which the admin relays put in their remarks.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use remoting::{Connection, RemotingError};
use remoting_codec::code::request;
use remoting_codec::protocol::callback::NotifyConsumerIdsChangedRequestHeader;
use remoting_codec::protocol::transaction::CheckTransactionStateRequestHeader;
use remoting_codec::RemotingCommand;

use crate::client::{ClientChannelInfo, ConnectionId};

/// How long the broker waits for a client's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTimeouts {
    /// `Broker2Client.callClient` (GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY): 10 s.
    pub call_client: Duration,
    /// `getConsumeStatus` (GET_CONSUMER_STATUS_FROM_CLIENT): 5 s per member.
    pub consumer_status: Duration,
}

impl Default for CallTimeouts {
    fn default() -> Self {
        CallTimeouts {
            call_client: Duration::from_millis(10_000),
            consumer_status: Duration::from_millis(5_000),
        }
    }
}

/// Why a two-way call to a client got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// Java's `RemotingSendRequestException`: the connection is closed or the write failed.
    SendFailed { addr: String },
    /// Java's `RemotingTimeoutException`: sent, not answered in time.
    Timeout { addr: String, millis: u128 },
}

impl CallError {
    fn of(e: RemotingError, addr: &str) -> Self {
        match e {
            RemotingError::Timeout { millis, .. } => CallError::Timeout {
                addr: addr.to_owned(),
                millis,
            },
            RemotingError::Closed(_) | RemotingError::Io(_) => CallError::SendFailed {
                addr: addr.to_owned(),
            },
        }
    }

    /// `RemotingHelper.exceptionSimpleDesc(e)` of the Java exception: `toString()`, `", "`,
    /// the first stack frame (4.9.8's `invokeSyncImpl` throws the timeout at line 438 and the
    /// send failure at line 441 of NettyRemotingAbstract.java).
    pub fn java_desc(&self) -> String {
        const FRAME: &str = "org.apache.rocketmq.remoting.netty.NettyRemotingAbstract.invokeSyncImpl(NettyRemotingAbstract.java";
        match self {
            CallError::Timeout { addr, millis } => format!(
                "org.apache.rocketmq.remoting.exception.RemotingTimeoutException: wait response on the channel <{addr}> timeout, {millis}(ms), {FRAME}:438)"
            ),
            CallError::SendFailed { addr } => format!(
                "org.apache.rocketmq.remoting.exception.RemotingSendRequestException: send request to <{addr}> failed, {FRAME}:441)"
            ),
        }
    }
}

/// The open client connections (both ports) and the requests the broker sends on them.
#[derive(Default)]
pub struct Broker2Client {
    /// Looked up on every request (`connection_opened`): foldhash instead of SipHash.
    connections: DashMap<ConnectionId, Arc<Connection>, foldhash::fast::RandomState>,
    timeouts: CallTimeouts,
}

impl Broker2Client {
    pub fn new() -> Self {
        Self::default()
    }

    /// With other timeouts than Java's (tests of the timeout answers).
    pub fn with_timeouts(timeouts: CallTimeouts) -> Self {
        Broker2Client {
            timeouts,
            ..Self::default()
        }
    }

    pub fn timeouts(&self) -> CallTimeouts {
        self.timeouts
    }

    /// Records a connection on its first request.
    pub fn connection_opened(&self, conn: &Arc<Connection>) {
        let id = ConnectionId(conn.id());
        // Every request calls this: a read lock finds a known connection, and only the first
        // request takes the shard's write lock.
        if !self.connections.contains_key(&id) {
            self.connections.entry(id).or_insert_with(|| conn.clone());
        }
    }

    pub fn connection_closed(&self, id: ConnectionId) {
        self.connections.remove(&id);
    }

    /// The open connection `id`, if any.
    pub fn connection(&self, id: ConnectionId) -> Option<Arc<Connection>> {
        self.connections
            .get(&id)
            .map(|c| c.clone())
            .filter(|c| !c.is_closed())
    }

    /// NOTIFY_CONSUMER_IDS_CHANGED (40), oneway, to each listed connection of `group` that is
    /// still open (Java's `notifyConsumerIdsChanged`). Resolves once every notice is queued, so
    /// a handler that awaits it before answering sends the notice first, as Java does.
    pub async fn notify_consumer_ids_changed(&self, group: &str, connections: &[ConnectionId]) {
        for id in connections {
            let Some(conn) = self.connection(*id) else {
                continue;
            };
            if let Err(e) = conn.invoke_oneway(notify_request(group)).await {
                tracing::warn!("notifyConsumerIdsChanged exception. group={group}, {e}");
            }
        }
    }

    /// CHECK_TRANSACTION_STATE (39), oneway, with the half message as body (Java's
    /// `checkProducerTransactionState`).
    pub async fn check_producer_transaction_state(
        &self,
        group: &str,
        id: ConnectionId,
        header: &CheckTransactionStateRequestHeader,
        body: bytes::Bytes,
    ) {
        let Some(conn) = self.connection(id) else {
            tracing::warn!("Check transaction failed, channel is null. groupId={group}");
            return;
        };
        let request =
            RemotingCommand::request(request::CHECK_TRANSACTION_STATE, header).with_body(body);
        if let Err(e) = conn.invoke_oneway(request).await {
            tracing::error!(
                "Check transaction failed because invoke producer exception. group={group}, error={e}"
            );
        }
    }
}

impl Broker2Client {
    /// A two-way request to the client on `info`'s connection, answered within `timeout`.
    async fn invoke(
        &self,
        info: &ClientChannelInfo,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, CallError> {
        let Some(conn) = self.connection(info.connection_id) else {
            return Err(CallError::SendFailed {
                addr: info.remote_addr.clone(),
            });
        };
        conn.invoke(request, timeout)
            .await
            .map_err(|e| CallError::of(e, &info.remote_addr))
    }

    /// `callClient`: GET_CONSUMER_RUNNING_INFO (307) or CONSUME_MESSAGE_DIRECTLY (309) relayed
    /// to one consumer; its answer as it came (code, remark, header, body).
    pub async fn call_client(
        &self,
        info: &ClientChannelInfo,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, CallError> {
        self.invoke(info, request, self.timeouts.call_client).await
    }

    /// GET_CONSUMER_STATUS_FROM_CLIENT (221) to one member of the group.
    pub async fn get_consumer_status_from_client(
        &self,
        info: &ClientChannelInfo,
        request: RemotingCommand,
    ) -> Result<RemotingCommand, CallError> {
        self.invoke(info, request, self.timeouts.consumer_status)
            .await
    }

    /// RESET_CONSUMER_CLIENT_OFFSET (220), oneway, to one member; a failure is logged, as Java
    /// logs it and goes on with the next member.
    pub async fn reset_consumer_client_offset(
        &self,
        info: &ClientChannelInfo,
        request: RemotingCommand,
    ) {
        let sent = match self.connection(info.connection_id) {
            Some(conn) => conn.invoke_oneway(request).await.map_err(|e| e.to_string()),
            None => Err("the connection is closed".to_owned()),
        };
        match sent {
            Ok(()) => tracing::info!(
                "[reset-offset] reset offset success. clientId={}",
                info.client_id
            ),
            Err(e) => tracing::error!(
                "[reset-offset] reset offset exception. clientId={}, error={e}",
                info.client_id
            ),
        }
    }
}

/// The NOTIFY_CONSUMER_IDS_CHANGED request: header `consumerGroup`, JSON-serialized whatever
/// the client's own requests use (as the s02b capture shows).
fn notify_request(group: &str) -> RemotingCommand {
    RemotingCommand::request(
        request::NOTIFY_CONSUMER_IDS_CHANGED,
        &NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_request_is_javas_frame() {
        let r = notify_request("qs_consumer_group");
        assert_eq!(r.code, 40);
        assert_eq!(r.ext_field("consumerGroup"), Some("qs_consumer_group"));
        assert_eq!(r.serialize_type, remoting_codec::SerializeType::Json);
    }

    use remoting_codec::code::response;
    use remoting_codec::LanguageCode;

    /// A broker-side connection (registered in `b2c`) whose peer answers every request it gets
    /// with `answer(request)`, or never when that is `None`.
    async fn client_pair(
        b2c: &Broker2Client,
        answer: fn(&RemotingCommand) -> Option<RemotingCommand>,
    ) -> (ClientChannelInfo, Arc<Connection>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client_side = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (broker_side, _) = listener.accept().await.unwrap();
        let client = Connection::spawn(client_side, 1 << 20, move |conn, request| {
            if let Some(response) = answer(&request) {
                tokio::spawn(async move { conn.send(response).await });
            }
        });
        let conn = Connection::spawn(broker_side, 1 << 20, |_, _| {});
        b2c.connection_opened(&conn);
        let info = ClientChannelInfo::new(
            ConnectionId(conn.id()),
            "127.0.0.1@c1",
            LanguageCode::Java,
            409,
            conn.peer_addr().to_string(),
            0,
        );
        (info, client)
    }

    fn running_info_request() -> RemotingCommand {
        RemotingCommand::request_without_header(request::GET_CONSUMER_RUNNING_INFO)
            .with_ext_field("consumerGroup", "g")
    }

    #[tokio::test]
    async fn a_call_gets_the_clients_answer_by_opaque() {
        let b2c = Broker2Client::new();
        let (info, _client) = client_pair(&b2c, |r| {
            Some(
                RemotingCommand::response_to(r, response::SUCCESS)
                    .with_remark("not set any response code")
                    .with_body(r.ext_field("consumerGroup").unwrap().to_owned()),
            )
        })
        .await;
        // Two calls in flight on one connection: each gets its own answer.
        let (a, b) = tokio::join!(
            b2c.call_client(&info, running_info_request()),
            b2c.call_client(
                &info,
                running_info_request().with_ext_field("consumerGroup", "h")
            )
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((&a.body[..], &b.body[..]), (&b"g"[..], &b"h"[..]));
        assert_eq!(a.remark.as_deref(), Some("not set any response code"));
    }

    #[tokio::test]
    async fn an_unanswered_call_times_out_with_javas_exception() {
        let b2c = Broker2Client::with_timeouts(CallTimeouts {
            call_client: Duration::from_millis(50),
            consumer_status: Duration::from_millis(50),
        });
        let (info, _client) = client_pair(&b2c, |_| None).await;
        let e = b2c
            .call_client(&info, running_info_request())
            .await
            .unwrap_err();
        assert_eq!(
            e,
            CallError::Timeout {
                addr: info.remote_addr.clone(),
                millis: 50
            }
        );
        assert_eq!(
            e.java_desc(),
            format!("org.apache.rocketmq.remoting.exception.RemotingTimeoutException: wait response on the channel <{}> timeout, 50(ms), org.apache.rocketmq.remoting.netty.NettyRemotingAbstract.invokeSyncImpl(NettyRemotingAbstract.java:438)", info.remote_addr)
        );
        let status =
            RemotingCommand::request_without_header(request::GET_CONSUMER_STATUS_FROM_CLIENT);
        let e = b2c
            .get_consumer_status_from_client(&info, status)
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::Timeout { millis: 50, .. }));
    }

    #[test]
    fn javas_timeouts() {
        let t = CallTimeouts::default();
        assert_eq!(t.call_client, Duration::from_secs(10));
        assert_eq!(t.consumer_status, Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_call_to_a_closed_connection_is_a_send_failure() {
        let b2c = Broker2Client::new();
        let (info, client) = client_pair(&b2c, |_| None).await;
        client.close();
        let conn = b2c.connections.get(&info.connection_id).unwrap().clone();
        conn.closed().await;
        let e = b2c
            .call_client(&info, running_info_request())
            .await
            .unwrap_err();
        assert_eq!(
            e,
            CallError::SendFailed {
                addr: info.remote_addr.clone()
            }
        );
        // Never registered at all: the same.
        let stranger = ClientChannelInfo {
            connection_id: ConnectionId(u64::MAX),
            ..info.clone()
        };
        let e = b2c
            .call_client(&stranger, running_info_request())
            .await
            .unwrap_err();
        assert!(matches!(e, CallError::SendFailed { .. }));
    }

    #[tokio::test]
    async fn a_reset_notice_is_oneway() {
        let b2c = Broker2Client::new();
        let seen: Arc<std::sync::Mutex<Vec<RemotingCommand>>> = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client_side = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (broker_side, _) = listener.accept().await.unwrap();
        let sink = seen.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _client = Connection::spawn(client_side, 1 << 20, move |_, r| {
            sink.lock().unwrap().push(r);
            let _ = tx.send(());
        });
        let conn = Connection::spawn(broker_side, 1 << 20, |_, _| {});
        b2c.connection_opened(&conn);
        let info = ClientChannelInfo::new(
            ConnectionId(conn.id()),
            "c",
            LanguageCode::Java,
            409,
            "x",
            0,
        );
        let reset = RemotingCommand::request_without_header(request::RESET_CONSUMER_CLIENT_OFFSET);
        b2c.reset_consumer_client_offset(&info, reset).await;
        rx.recv().await.unwrap();
        let got = seen.lock().unwrap()[0].clone();
        assert_eq!(got.code, request::RESET_CONSUMER_CLIENT_OFFSET);
        assert!(got.is_oneway());
    }
}
