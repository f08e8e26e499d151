//! Java's `ClientHousekeepingService`: every 10 s the broker drops clients silent for 120 s,
//! and when a connection closes (or errors, or idles out) it removes it from every table. The
//! timer and the socket closing belong to the server; these functions say what to do.

use std::collections::BTreeSet;

use super::{ConnectionId, ConsumerManager, GroupChange, ProducerManager, RemovedChannel};

/// What an expiry scan removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiredClients {
    pub consumers: Vec<RemovedChannel>,
    pub producers: Vec<RemovedChannel>,
}

impl ExpiredClients {
    /// The connections to close (Java closes each expired channel).
    pub fn connections_to_close(&self) -> BTreeSet<ConnectionId> {
        self.consumers
            .iter()
            .chain(&self.producers)
            .map(|r| r.info.connection_id)
            .collect()
    }
}

/// `scanExceptionChannel`.
pub fn scan_expired(
    consumers: &ConsumerManager,
    producers: &ProducerManager,
    now: i64,
) -> ExpiredClients {
    ExpiredClients {
        producers: producers.scan_not_active_channel(now),
        consumers: consumers.scan_not_active_channel(now),
    }
}

/// What a closed connection changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClosedConnection {
    /// Consumer groups the connection was in: notify their remaining members (broker-level
    /// `notifyConsumerIdsChangedEnable` only, as Java).
    pub consumer_groups: Vec<GroupChange>,
    pub producers: Vec<RemovedChannel>,
}

/// `onChannelClose` / `onChannelException` / `onChannelIdle`.
pub fn connection_closed(
    consumers: &ConsumerManager,
    producers: &ProducerManager,
    connection: ConnectionId,
) -> ClosedConnection {
    ClosedConnection {
        producers: producers.connection_closed(connection),
        consumer_groups: consumers.connection_closed(connection),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_info;
    use remoting_codec::protocol::client::{ConsumeFromWhere, ConsumeType, MessageModel};

    #[test]
    fn scan_and_close_cover_both_managers() {
        let (c, p) = (ConsumerManager::new(), ProducerManager::new());
        let consume = (
            ConsumeType::ConsumePassively,
            MessageModel::Clustering,
            ConsumeFromWhere::ConsumeFromLastOffset,
        );
        c.register_consumer(
            "cg",
            test_info(1, "a", 0),
            consume.0,
            consume.1,
            consume.2,
            &[],
            0,
        );
        c.register_consumer(
            "cg",
            test_info(2, "b", 200_000),
            consume.0,
            consume.1,
            consume.2,
            &[],
            200_000,
        );
        p.register_producer("pg", test_info(1, "a", 0), 0);
        p.register_producer("pg", test_info(3, "c", 0), 0);

        let expired = scan_expired(&c, &p, 150_000);
        assert_eq!(expired.consumers.len(), 1);
        assert_eq!(expired.producers.len(), 2);
        assert_eq!(
            expired.connections_to_close(),
            [ConnectionId(1), ConnectionId(3)].into()
        );

        let closed = connection_closed(&c, &p, ConnectionId(2));
        assert_eq!(closed.consumer_groups.len(), 1);
        assert!(closed.consumer_groups[0].group_removed);
        assert!(closed.producers.is_empty());
        assert!(c.group_names().is_empty());
    }
}
