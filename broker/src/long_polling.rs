//! Java's `PullRequestHoldService`: a pull that finds nothing new is parked until a message
//! for its queue is dispatched or its time is up, then run again.
//!
//! Java parks the request object and a thread re-runs it; here the pull handler's own task
//! waits on a [`HeldPull`] (see `processor::pull`). The store's reput thread calls
//! [`MessageArrivingListener::arriving`] for every dispatched message; a parked pull wakes when
//! the queue's new max offset is beyond the offset it asked for and the message passes the
//! pull's [`SubscriptionFilter`] — the same filter the pull reads the store with: its tag code,
//! then its properties (SQL92, `%RETRY%` records by their original topic), as Java's
//! `notifyMessageArriving` asks `isMatchedByConsumeQueue` then `isMatchedByCommitLog` — so a
//! consumer filtering on tag A, or on `a > 5`, keeps waiting while other messages arrive.
//!
//! Java's hold thread also re-checks every parked pull each 5 s with no message in hand, which
//! wakes one whose queue has grown even by non-matching messages (its re-run then answers
//! NO_MATCHED_MESSAGE with the next offset). Here such a pull waits for a matching message or
//! its own timeout; the answer after the timeout is the same.
//!
//! No wake-up is lost: the handler registers first and then re-reads the queue's max offset
//! (see [`PullRequestHoldService::hold`]). Dropping a [`HeldPull`] (timeout, connection gone)
//! removes it from the table, so idle queues do not accumulate entries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use remoting_codec::message::MessageProperties;
use store::MessageArrivingListener;
use tokio::sync::oneshot;

use crate::consumer_filter::SubscriptionFilter;

struct Waiter {
    id: u64,
    pull_from_offset: i64,
    filter: Arc<SubscriptionFilter>,
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
        filter: Arc<SubscriptionFilter>,
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
                filter,
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

    /// Java's periodic `checkHoldRequest` without a message in hand (a SLAVE runs it every
    /// 5 s: its replicated messages are dispatched without telling the hold service): every
    /// parked pull whose queue grew beyond its offset is woken and runs again.
    pub fn check_hold_requests(&self, max_offset: impl Fn(&str, i32) -> i64) {
        let mut woken = Vec::new();
        {
            let mut table = self.lock();
            for (k, list) in table.iter_mut() {
                let Some((topic, queue)) = k.rsplit_once('@') else {
                    continue;
                };
                let Ok(queue) = queue.parse::<i32>() else {
                    continue;
                };
                let max = max_offset(topic, queue);
                let (grown, rest): (Vec<Waiter>, Vec<Waiter>) =
                    list.drain(..).partition(|w| max > w.pull_from_offset);
                *list = rest;
                woken.extend(grown);
            }
            table.retain(|_, l| !l.is_empty());
        }
        for w in woken {
            let _ = w.wake.send(());
        }
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
        store_timestamp: i64,
        properties: &MessageProperties,
    ) {
        self.arriving_with_bit_map(
            topic,
            queue_id,
            logic_offset,
            tags_code,
            store_timestamp,
            None,
            properties,
        );
    }

    /// Java's `notifyMessageArriving`: a unit of the tags code, store time and bitmap is
    /// matched first (the bloom pre-filter), then the properties.
    fn arriving_with_bit_map(
        &self,
        topic: &str,
        queue_id: i32,
        logic_offset: i64,
        tags_code: i64,
        store_timestamp: i64,
        filter_bit_map: Option<&[u8]>,
        properties: &MessageProperties,
    ) {
        let mut table = self.lock();
        // Most messages arrive with no pull parked at all: no key to build then.
        if table.is_empty() {
            return;
        }
        let Some(list) = table.get_mut(&key(topic, queue_id)) else {
            return;
        };
        let mut i = 0;
        while i < list.len() {
            let w = &list[i];
            if logic_offset > w.pull_from_offset
                && w.filter
                    .matches_unit(Some(tags_code), Some((store_timestamp, filter_bit_map)))
                && w.filter.matches_properties(&|name| properties.get(name))
            {
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
    use crate::consumer_filter::build_subscription_data;
    use crate::consumer_filter::{ConsumerFilterManager, FilterData};
    use remoting_codec::protocol::SubscriptionData;

    fn manager() -> Arc<ConsumerFilterManager> {
        Arc::new(ConsumerFilterManager::new(
            std::path::Path::new("/nonexistent"),
            1000,
        ))
    }

    fn tag_filter(expression: &str) -> Arc<SubscriptionFilter> {
        let sub = build_subscription_data("T", Some(expression)).unwrap();
        Arc::new(SubscriptionFilter::new(&sub, None, &manager(), false))
    }

    fn sql_filter(expression: &str) -> Arc<SubscriptionFilter> {
        let sub = SubscriptionData {
            topic: Some("T".into()),
            expression_type: Some("SQL92".into()),
            sub_string: Some(expression.into()),
            ..SubscriptionData::default()
        };
        let data = FilterData::build("T", "g", expression, "SQL92", 1, 1).map(Arc::new);
        assert!(data.is_some());
        Arc::new(SubscriptionFilter::new(&sub, data, &manager(), false))
    }

    fn arrive(s: &PullRequestHoldService, queue: i32, offset: i64, tag: i64) {
        s.arriving("T", queue, offset, tag, 0, &MessageProperties::new());
    }

    fn arrive_with(s: &PullRequestHoldService, offset: i64, props: &[(&str, &str)]) {
        let mut properties = MessageProperties::new();
        for (k, v) in props {
            properties.insert(*k, *v);
        }
        s.arriving("T", 0, offset, 0, 0, &properties);
    }

    #[tokio::test]
    async fn wakes_on_newer_offset_and_matching_tag_only() {
        let s = Arc::new(PullRequestHoldService::new());
        let tag7 = remoting_codec::message::java_string_hash_code("A") as i64;
        let tag8 = remoting_codec::message::java_string_hash_code("B") as i64;
        let mut a = s.hold("T", 0, 5, tag_filter("A"));
        let mut b = s.hold("T", 0, 5, tag_filter("*"));
        assert_eq!(s.held_count(), 2);
        arrive(&s, 1, 9, tag7); // other queue
        arrive(&s, 0, 5, tag7); // not beyond offset 5
        assert_eq!(s.held_count(), 2);
        arrive(&s, 0, 6, tag8); // wakes b only (tag B is not A)
        assert_eq!(s.held_count(), 1);
        b.woken().await;
        arrive(&s, 0, 7, tag7);
        assert_eq!(s.held_count(), 0);
        a.woken().await;
    }

    #[tokio::test]
    async fn a_parked_sql_pull_wakes_only_for_a_matching_message() {
        let s = Arc::new(PullRequestHoldService::new());
        let mut held = s.hold("T", 0, 0, sql_filter("a between 0 and 3 AND b = 'x'"));
        arrive_with(&s, 1, &[("a", "1"), ("b", "y")]);
        arrive_with(&s, 2, &[("a", "5"), ("b", "x")]);
        arrive_with(&s, 3, &[("b", "x")]);
        assert_eq!(s.held_count(), 1, "non-matching messages woke the pull");
        arrive_with(&s, 4, &[("a", "2"), ("b", "x")]);
        assert_eq!(s.held_count(), 0);
        held.woken().await;
    }

    #[tokio::test]
    async fn the_periodic_check_wakes_pulls_whose_queue_grew() {
        let s = Arc::new(PullRequestHoldService::new());
        let mut grown = s.hold("T", 0, 5, tag_filter("*"));
        let _same = s.hold("T", 1, 5, tag_filter("*"));
        s.check_hold_requests(|_, q| if q == 0 { 6 } else { 5 });
        grown.woken().await;
        assert_eq!(s.held_count(), 1, "queue 1 did not grow");
    }

    #[tokio::test]
    async fn dropping_unparks_and_shutdown_wakes() {
        let s = Arc::new(PullRequestHoldService::new());
        let all = Arc::new(SubscriptionFilter::all());
        drop(s.hold("T", 0, 0, all.clone()));
        assert_eq!(s.held_count(), 0);
        let mut c = s.hold("T", 0, 0, all.clone());
        s.wake_all();
        c.woken().await;
        // After shutdown a new hold returns at once.
        let mut d = s.hold("T", 0, 0, all);
        d.woken().await;
    }
}
