//! Java's `PullRequestHoldService`: a pull that finds nothing new is parked until a message
//! for its queue is dispatched or its time is up, then run again.
//!
//! Java parks the request object and a thread re-runs it; here the pull handler's own task
//! waits on a [`HeldPull`] (see `processor::pull`). The store's reput thread calls
//! [`MessageArrivingListener::arriving`] for every dispatched message; a parked pull wakes when
//! the queue's new max offset is beyond the offset it asked for and the message's tag code
//! passes its subscription (Java's `notifyMessageArriving`), so a consumer filtering on tag A
//! keeps waiting while tag B arrives.
//!
//! No wake-up is lost: the handler registers first and then re-reads the queue's max offset
//! (see [`PullRequestHoldService::hold`]). Dropping a [`HeldPull`] (timeout, connection gone)
//! removes it from the table, so idle queues do not accumulate entries.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use remoting_codec::message::MessageProperties;
use store::MessageArrivingListener;
use tokio::sync::oneshot;

/// Which tag codes wake a parked pull: `None` = every message (`*`, or a non-tag expression).
/// Java compares `tagsCode.intValue()` with the subscription's `codeSet`.
pub type TagCodes = Option<Arc<HashSet<i32>>>;

struct Waiter {
    id: u64,
    pull_from_offset: i64,
    tag_codes: TagCodes,
    wake: oneshot::Sender<()>,
}

#[derive(Default)]
pub struct PullRequestHoldService {
    /// `topic@queueId` → parked pulls.
    table: Mutex<HashMap<String, Vec<Waiter>>>,
    next_id: AtomicU64,
    shutdown: AtomicBool,
}

fn key(topic: &str, queue_id: i32) -> String {
    format!("{topic}@{queue_id}")
}

/// A parked pull. Await [`woken`](Self::woken); dropping it unparks it.
pub struct HeldPull {
    service: Arc<PullRequestHoldService>,
    key: String,
    id: u64,
    rx: Option<oneshot::Receiver<()>>,
}

impl HeldPull {
    /// Resolves when a matching message arrived (or the broker shuts down). Call once.
    pub async fn woken(&mut self) {
        if let Some(rx) = self.rx.take() {
            let _ = rx.await;
        }
    }
}

impl Drop for HeldPull {
    fn drop(&mut self) {
        let mut table = self.service.lock();
        if let Some(list) = table.get_mut(&self.key) {
            list.retain(|w| w.id != self.id);
            if list.is_empty() {
                table.remove(&self.key);
            }
        }
    }
}

impl PullRequestHoldService {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Waiter>>> {
        // Only pushes and retains happen under the lock; a poisoned table is still consistent.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Parks a pull of `topic`/`queue_id` from `pull_from_offset`. The caller must re-check
    /// the queue's max offset after this call (a message dispatched between its read and this
    /// registration would otherwise not wake it).
    pub fn hold(
        self: &Arc<Self>,
        topic: &str,
        queue_id: i32,
        pull_from_offset: i64,
        tag_codes: TagCodes,
    ) -> HeldPull {
        let (tx, rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let key = key(topic, queue_id);
        if self.shutdown.load(Ordering::Acquire) {
            drop(tx);
        } else {
            self.lock().entry(key.clone()).or_default().push(Waiter {
                id,
                pull_from_offset,
                tag_codes,
                wake: tx,
            });
        }
        HeldPull {
            service: self.clone(),
            key,
            id,
            rx: Some(rx),
        }
    }

    /// Number of parked pulls (for tests and logs).
    pub fn held_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    /// Wakes every parked pull (shutdown: each answers with what the store has now).
    pub fn wake_all(&self) {
        self.shutdown.store(true, Ordering::Release);
        let drained: Vec<Waiter> = self.lock().drain().flat_map(|(_, v)| v).collect();
        for w in drained {
            let _ = w.wake.send(());
        }
    }
}

impl MessageArrivingListener for PullRequestHoldService {
    fn arriving(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        _store_timestamp: i64,
        _properties: &MessageProperties,
    ) {
        let mut table = self.lock();
        let Some(list) = table.get_mut(&key(topic, queue_id)) else {
            return;
        };
        let mut i = 0;
        while i < list.len() {
            let w = &list[i];
            let matches = w
                .tag_codes
                .as_ref()
                .is_none_or(|codes| codes.contains(&(tags_code as i32)));
            if logic_offset > w.pull_from_offset && matches {
                let w = list.swap_remove(i);
                let _ = w.wake.send(());
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrive(s: &PullRequestHoldService, queue: i32, offset: i64, tag: i64) {
        s.arriving("T", queue, offset, tag, 0, &MessageProperties::new());
    }

    #[tokio::test]
    async fn wakes_on_newer_offset_and_matching_tag_only() {
        let s = Arc::new(PullRequestHoldService::new());
        let tags: TagCodes = Some(Arc::new([7].into_iter().collect()));
        let mut a = s.hold("T", 0, 5, tags);
        let mut b = s.hold("T", 0, 5, None);
        assert_eq!(s.held_count(), 2);
        arrive(&s, 1, 9, 7); // other queue
        arrive(&s, 0, 5, 7); // not beyond offset 5
        assert_eq!(s.held_count(), 2);
        arrive(&s, 0, 6, 8); // wakes b only (tag 8 is not 7)
        assert_eq!(s.held_count(), 1);
        b.woken().await;
        arrive(&s, 0, 7, 7);
        assert_eq!(s.held_count(), 0);
        a.woken().await;
    }

    #[tokio::test]
    async fn dropping_unparks_and_shutdown_wakes() {
        let s = Arc::new(PullRequestHoldService::new());
        drop(s.hold("T", 0, 0, None));
        assert_eq!(s.held_count(), 0);
        let mut c = s.hold("T", 0, 0, None);
        s.wake_all();
        c.woken().await;
        // After shutdown a new hold returns at once.
        let mut d = s.hold("T", 0, 0, None);
        d.woken().await;
    }
}
