//! `ProducerManager`: producer group → connections, from heartbeats.
//!
//! Clients depend on it for transactions: the broker sends CHECK_TRANSACTION_STATE for a half
//! message to a live connection of the message's producer group
//! ([`ProducerManager::get_available_channel`]). It also answers GET_PRODUCER_CONNECTION_LIST.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{ClientChannelInfo, ConnectionId, RemovedChannel};

/// Java tries the round-robin pick and then up to this many next connections.
const GET_AVAILABLE_CHANNEL_RETRY_COUNT: usize = 3;

/// What the server knows of a connection's socket (Netty's `isActive` / `isWritable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelState {
    pub active: bool,
    pub writable: bool,
}

#[derive(Default)]
struct Tables {
    /// group → connection → info. Java keeps a group whose connections all closed or expired
    /// (as an empty map) until an UNREGISTER_CLIENT empties it; so do we, since the producer
    /// connection listing answers an empty list for it rather than "not exist".
    groups: BTreeMap<String, BTreeMap<ConnectionId, ClientChannelInfo>>,
    /// client id → connection.
    clients: BTreeMap<String, ConnectionId>,
}

/// Java synchronises every mutation of this manager; one mutex does the same. Producer
/// heartbeats are rare (every 30 s per client), so the lock is not contended.
#[derive(Default)]
pub struct ProducerManager {
    tables: Mutex<Tables>,
    counter: AtomicUsize,
}

impl ProducerManager {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // Each mutation is a handful of inserts/removes that cannot panic midway.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `registerProducer`: a new connection joins the group; a known one has its timestamp
    /// refreshed.
    pub fn register_producer(&self, group: &str, info: ClientChannelInfo, now: i64) {
        let mut t = self.lock();
        let channels = t.groups.entry(group.to_owned()).or_default();
        match channels.get_mut(&info.connection_id) {
            Some(known) => known.last_update_timestamp = now,
            None => {
                tracing::info!("new producer connected, group: {group} channel: {info:?}");
                let (conn, client) = (info.connection_id, info.client_id.clone());
                channels.insert(conn, info);
                t.clients.insert(client, conn);
            }
        }
    }

    /// `unregisterProducer` (UNREGISTER_CLIENT); the group goes when it is left empty.
    pub fn unregister_producer(&self, group: &str, connection: ConnectionId, client_id: &str) {
        let mut t = self.lock();
        let Some(channels) = t.groups.get_mut(group) else {
            return;
        };
        if channels.is_empty() {
            return;
        }
        if let Some(old) = channels.remove(&connection) {
            tracing::info!("unregister a producer[{group}] from groupChannelTable {old:?}");
        }
        let empty = channels.is_empty();
        t.clients.remove(client_id);
        if empty {
            t.groups.remove(group);
        }
    }

    /// `doChannelCloseEvent`: the connection leaves every group.
    pub fn connection_closed(&self, connection: ConnectionId) -> Vec<RemovedChannel> {
        self.remove_where(|info| info.connection_id == connection)
    }

    /// `scanNotActiveChannel`: drops producers silent for more than 120 s; the caller closes
    /// their connections.
    pub fn scan_not_active_channel(&self, now: i64) -> Vec<RemovedChannel> {
        self.remove_where(|info| info.is_expired(now))
    }

    fn remove_where(&self, pred: impl Fn(&ClientChannelInfo) -> bool) -> Vec<RemovedChannel> {
        let mut t = self.lock();
        let mut removed = Vec::new();
        for (group, channels) in t.groups.iter_mut() {
            channels.retain(|_, info| {
                let hit = pred(info);
                if hit {
                    tracing::warn!("remove channel {info:?} from producer group {group}");
                    removed.push(RemovedChannel {
                        group: group.clone(),
                        info: info.clone(),
                    });
                }
                !hit
            });
        }
        for r in &removed {
            t.clients.remove(&r.info.client_id);
        }
        removed
    }

    /// `getAvailableChannel`: a round-robin pick among the group's connections that is active
    /// and writable, trying the next ones up to 3 times; failing that, the last active one seen.
    pub fn get_available_channel(
        &self,
        group: &str,
        state: impl Fn(ConnectionId) -> ChannelState,
    ) -> Option<ConnectionId> {
        let list: Vec<ConnectionId> = self.lock().groups.get(group)?.keys().copied().collect();
        if list.is_empty() {
            return None;
        }
        let mut index = (self.counter.fetch_add(1, Ordering::Relaxed).wrapping_add(1)) % list.len();
        let mut last_active = None;
        for _ in 0..=GET_AVAILABLE_CHANNEL_RETRY_COUNT {
            let s = state(list[index]);
            if s.active && s.writable {
                return Some(list[index]);
            }
            if s.active {
                last_active = Some(list[index]);
            }
            index = (index + 1) % list.len();
        }
        last_active
    }

    /// `findChannel`: the connection of a client id.
    pub fn find_channel(&self, client_id: &str) -> Option<ConnectionId> {
        self.lock().clients.get(client_id).copied()
    }

    /// The group's producers (`None`: no such group; an empty list: a group whose producers
    /// all went away without unregistering).
    pub fn group_channels(&self, group: &str) -> Option<Vec<ClientChannelInfo>> {
        self.lock()
            .groups
            .get(group)
            .map(|c| c.values().cloned().collect())
    }

    /// `getProducerTable` (5.x GET_ALL_PRODUCER_INFO).
    pub fn producer_table(&self) -> BTreeMap<String, Vec<ClientChannelInfo>> {
        self.lock()
            .groups
            .iter()
            .map(|(g, c)| (g.clone(), c.values().cloned().collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_info;

    #[test]
    fn register_refresh_unregister() {
        let m = ProducerManager::new();
        m.register_producer("pg", test_info(1, "c1", 10), 10);
        m.register_producer("pg", test_info(1, "c1", 99), 50);
        let channels = m.group_channels("pg").unwrap();
        assert_eq!(channels.len(), 1);
        assert_eq!(channels[0].last_update_timestamp, 50);
        assert_eq!(m.find_channel("c1"), Some(ConnectionId(1)));
        m.register_producer("pg", test_info(2, "c2", 60), 60);
        m.unregister_producer("pg", ConnectionId(1), "c1");
        assert_eq!(m.find_channel("c1"), None);
        m.unregister_producer("pg", ConnectionId(2), "c2");
        assert!(
            m.group_channels("pg").is_none(),
            "emptied by unregister: removed"
        );
    }

    #[test]
    fn close_and_expiry_keep_the_empty_group() {
        let m = ProducerManager::new();
        m.register_producer("pg", test_info(1, "c1", 0), 0);
        m.register_producer("pg2", test_info(1, "c1", 0), 0);
        m.register_producer("pg", test_info(2, "c2", 100_000), 100_000);
        assert!(m.scan_not_active_channel(120_000).is_empty());
        let removed = m.scan_not_active_channel(120_001);
        assert_eq!(removed.len(), 2);
        assert!(removed
            .iter()
            .all(|r| r.info.connection_id == ConnectionId(1)));
        assert_eq!(m.group_channels("pg2"), Some(vec![]));
        let closed = m.connection_closed(ConnectionId(2));
        assert_eq!(closed.len(), 1);
        assert_eq!(m.find_channel("c2"), None);
        assert_eq!(m.producer_table().len(), 2);
    }

    #[test]
    fn available_channel_prefers_writable_then_active() {
        let m = ProducerManager::new();
        assert_eq!(m.get_available_channel("pg", |_| unreachable!()), None);
        for c in 1..=3 {
            m.register_producer("pg", test_info(c, &format!("c{c}"), 0), 0);
        }
        let up = ChannelState {
            active: true,
            writable: true,
        };
        let busy = ChannelState {
            active: true,
            writable: false,
        };
        let down = ChannelState {
            active: false,
            writable: false,
        };
        // Round robin over writable connections.
        let picks: Vec<_> = (0..3)
            .map(|_| m.get_available_channel("pg", |_| up).unwrap())
            .collect();
        let mut sorted = picks.clone();
        sorted.sort();
        assert_eq!(sorted, [ConnectionId(1), ConnectionId(2), ConnectionId(3)]);
        // Only connection 3 writable: found within the retries.
        for _ in 0..3 {
            let pick =
                m.get_available_channel("pg", |c| if c == ConnectionId(3) { up } else { busy });
            assert_eq!(pick, Some(ConnectionId(3)));
        }
        // None writable: an active one; none active: nothing.
        assert!(m.get_available_channel("pg", |_| busy).is_some());
        assert_eq!(m.get_available_channel("pg", |_| down), None);
    }
}
