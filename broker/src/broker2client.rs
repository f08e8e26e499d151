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
//!
//! A request gets a fresh opaque from the connection and its response is matched by that
//! opaque ([`Connection::invoke`]); a call that is not answered within its timeout fails with
//! Java's remark. Nothing else in the broker writes requests to a client.

use std::sync::Arc;

use dashmap::DashMap;
use remoting::Connection;
use remoting_codec::code::request;
use remoting_codec::protocol::callback::NotifyConsumerIdsChangedRequestHeader;
use remoting_codec::protocol::transaction::CheckTransactionStateRequestHeader;
use remoting_codec::RemotingCommand;

use crate::client::ConnectionId;

/// The open client connections (both ports) and the requests the broker sends on them.
#[derive(Default)]
pub struct Broker2Client {
    connections: DashMap<ConnectionId, Arc<Connection>>,
}

impl Broker2Client {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a connection on its first request.
    pub fn connection_opened(&self, conn: &Arc<Connection>) {
        self.connections
            .entry(ConnectionId(conn.id()))
            .or_insert_with(|| conn.clone());
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
}
