//! `RebalanceLockManager`: which client of a group owns each queue, for orderly consumers
//! (LOCK_BATCH_MQ / UNLOCK_BATCH_MQ).
//!
//! An orderly consumer consumes a queue only while it holds the broker's lock on it; it renews
//! its locks every 20 s, and a lock not renewed for 60 s (`rocketmq.broker.rebalance.
//! lockMaxLiveTime`) can be taken by another client of the group. This is what keeps two
//! consumers from processing one queue out of order during a rebalance, so the rules below are
//! Java's exactly: re-locking your own lock renews it; an expired lock goes to whoever asks;
//! unlocking needs the same client id, expired or not.

use std::collections::HashMap;
use std::sync::Mutex;

use remoting_codec::protocol::MessageQueue;

/// Java's default of `rocketmq.broker.rebalance.lockMaxLiveTime` (ms).
pub const DEFAULT_LOCK_MAX_LIVE_TIME_MS: i64 = 60_000;

#[derive(Clone, Debug)]
struct LockEntry {
    client_id: String,
    last_update_timestamp: i64,
}

impl LockEntry {
    fn is_expired(&self, now: i64, max_live: i64) -> bool {
        now - self.last_update_timestamp > max_live
    }

    fn is_locked_by(&self, client_id: &str, now: i64, max_live: i64) -> bool {
        self.client_id == client_id && !self.is_expired(now, max_live)
    }
}

pub struct RebalanceLockManager {
    max_live_time_ms: i64,
    /// group → queue → owner. One lock, as Java's: a batch is decided atomically.
    table: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl Default for RebalanceLockManager {
    fn default() -> Self {
        Self::new(DEFAULT_LOCK_MAX_LIVE_TIME_MS)
    }
}

impl RebalanceLockManager {
    pub fn new(max_live_time_ms: i64) -> Self {
        RebalanceLockManager {
            max_live_time_ms,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// `tryLock` of one queue.
    pub fn try_lock(&self, group: &str, mq: &MessageQueue, client_id: &str, now: i64) -> bool {
        !self
            .try_lock_batch(group, std::slice::from_ref(mq), client_id, now)
            .is_empty()
    }

    /// `tryLockBatch`: the queues (of `mqs`, without duplicates) the client holds after the call.
    /// A queue is granted if it is unlocked, already the client's (renewed), or its owner's lock
    /// expired (taken over); queues held by another live client are left out.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &[MessageQueue],
        client_id: &str,
        now: i64,
    ) -> Vec<MessageQueue> {
        let max_live = self.max_live_time_ms;
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let locks = table.entry(group.to_owned()).or_default();
        let mut granted: Vec<MessageQueue> = Vec::with_capacity(mqs.len());
        for mq in mqs {
            if granted.contains(mq) {
                continue;
            }
            let entry = locks.entry(mq.clone()).or_insert_with(|| {
                tracing::info!("tryLockBatch, message queue not locked, I got it. Group: {group} NewClientId: {client_id} {mq}");
                LockEntry {
                    client_id: client_id.to_owned(),
                    last_update_timestamp: now,
                }
            });
            if entry.is_locked_by(client_id, now, max_live) {
                entry.last_update_timestamp = now;
            } else if entry.is_expired(now, max_live) {
                tracing::warn!(
                    "tryLockBatch, message queue lock expired, I got it. Group: {group} OldClientId: {} NewClientId: {client_id} {mq}",
                    entry.client_id
                );
                entry.client_id = client_id.to_owned();
                entry.last_update_timestamp = now;
            } else {
                tracing::warn!(
                    "tryLockBatch, message queue locked by other client. Group: {group} OtherClientId: {} NewClientId: {client_id} {mq}",
                    entry.client_id
                );
                continue;
            }
            granted.push(mq.clone());
        }
        granted
    }

    /// `unlockBatch`: releases the queues the client owns (expired or not); others' locks stay.
    pub fn unlock_batch(&self, group: &str, mqs: &[MessageQueue], client_id: &str) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let Some(locks) = table.get_mut(group) else {
            tracing::warn!("unlockBatch, group not exist, Group: {group} {client_id}");
            return;
        };
        for mq in mqs {
            match locks.get(mq) {
                Some(entry) if entry.client_id == client_id => {
                    locks.remove(mq);
                    tracing::info!("unlockBatch, Group: {group} {mq} {client_id}");
                }
                Some(entry) => tracing::warn!(
                    "unlockBatch, but mq locked by other client: {}, Group: {group} {mq} {client_id}",
                    entry.client_id
                ),
                None => tracing::warn!("unlockBatch, but mq not locked, Group: {group} {mq} {client_id}"),
            }
        }
    }

    /// The live owner of a queue, if any (for admin listings and tests).
    pub fn owner(&self, group: &str, mq: &MessageQueue, now: i64) -> Option<String> {
        let table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let entry = table.get(group)?.get(mq)?;
        (!entry.is_expired(now, self.max_live_time_ms)).then(|| entry.client_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("t", "broker-a", q)
    }

    #[test]
    fn batch_lock_renew_takeover_and_refusal() {
        let m = RebalanceLockManager::default();
        let all = [mq(0), mq(1), mq(2), mq(0)];
        assert_eq!(m.try_lock_batch("g", &all, "A", 0), [mq(0), mq(1), mq(2)]);
        // B is refused while A's locks live (60 s inclusive).
        assert!(m.try_lock_batch("g", &all, "B", 60_000).is_empty());
        // A renews queue 0 only.
        assert_eq!(m.try_lock_batch("g", &[mq(0)], "A", 30_000), [mq(0)]);
        // At 60.001 s queues 1 and 2 expired: B takes them; 0 is still A's.
        assert_eq!(m.try_lock_batch("g", &all, "B", 60_001), [mq(1), mq(2)]);
        assert_eq!(m.owner("g", &mq(0), 60_001).as_deref(), Some("A"));
        assert_eq!(m.owner("g", &mq(1), 60_001).as_deref(), Some("B"));
        // Another group is independent.
        assert!(m.try_lock("other", &mq(0), "B", 60_001));
    }

    #[test]
    fn unlock_needs_the_owner() {
        let m = RebalanceLockManager::new(1000);
        m.try_lock_batch("g", &[mq(0), mq(1)], "A", 0);
        m.unlock_batch("g", &[mq(0), mq(1)], "B");
        assert_eq!(m.owner("g", &mq(0), 10).as_deref(), Some("A"));
        m.unlock_batch("g", &[mq(0)], "A");
        assert_eq!(m.owner("g", &mq(0), 10), None);
        assert!(m.try_lock("g", &mq(0), "B", 10));
        // The owner may unlock an expired lock; nobody holds it afterwards.
        m.unlock_batch("g", &[mq(1)], "A");
        assert!(m.try_lock("g", &mq(1), "C", 5000));
        m.unlock_batch("missing", &[mq(1)], "A");
        // The configured live time applies.
        assert!(!m.try_lock("g", &mq(1), "D", 6000));
        assert!(m.try_lock("g", &mq(1), "D", 6001));
    }
}
