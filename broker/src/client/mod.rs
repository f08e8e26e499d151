//! Clients known by their heartbeats: consumer groups ([`ConsumerManager`]), producer groups
//! ([`ProducerManager`]) and the periodic/close-time cleanup ([`housekeeping`]).
//!
//! The managers never see sockets. The server gives each connection a [`ConnectionId`] and
//! passes a [`ClientChannelInfo`] with every heartbeat; the managers answer with the connection
//! ids to notify or close.

mod consumer;
pub mod housekeeping;
mod producer;

pub use consumer::{ConsumerGroupInfo, ConsumerManager, GroupChange};
pub use producer::{ChannelState, ProducerManager};

use remoting_codec::LanguageCode;

/// Java's `ConsumerManager`/`ProducerManager.CHANNEL_EXPIRED_TIMEOUT`: a client that has not
/// sent a heartbeat for this long (ms) is dropped and its connection closed. Java clients
/// heartbeat every 30 s.
pub const CHANNEL_EXPIRED_TIMEOUT_MS: i64 = 120_000;

/// One client connection, as the server numbers them (Java keys its tables by the Netty
/// `Channel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Java's `ClientChannelInfo`: who is on a connection, from its heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientChannelInfo {
    pub connection_id: ConnectionId,
    /// The client's `clientID` (`ip@instance`, e.g. `10.0.0.5@12345`).
    pub client_id: String,
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal from the frame header.
    pub version: i32,
    /// `ip:port` of the peer, for listings and logs.
    pub remote_addr: String,
    /// Last heartbeat (ms since the epoch).
    pub last_update_timestamp: i64,
}

impl ClientChannelInfo {
    pub fn new(
        connection_id: ConnectionId,
        client_id: impl Into<String>,
        language: LanguageCode,
        version: i32,
        remote_addr: impl Into<String>,
        now: i64,
    ) -> Self {
        ClientChannelInfo {
            connection_id,
            client_id: client_id.into(),
            language,
            version,
            remote_addr: remote_addr.into(),
            last_update_timestamp: now,
        }
    }

    /// Silent for more than [`CHANNEL_EXPIRED_TIMEOUT_MS`] at `now`.
    pub fn is_expired(&self, now: i64) -> bool {
        now - self.last_update_timestamp > CHANNEL_EXPIRED_TIMEOUT_MS
    }
}

/// A client dropped by an expiry scan or a closed connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemovedChannel {
    pub group: String,
    pub info: ClientChannelInfo,
}

#[cfg(test)]
pub(crate) fn test_info(conn: u64, client_id: &str, now: i64) -> ClientChannelInfo {
    ClientChannelInfo::new(
        ConnectionId(conn),
        client_id,
        LanguageCode::Java,
        413,
        format!("127.0.0.1:{}", 40000 + conn),
        now,
    )
}
