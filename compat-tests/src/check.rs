//! Assertions over what client programs printed.
//!
//! Producers give message `i` the key `key-<i>` (or `order-<i mod k>` when sending in order),
//! the tag `tags[i mod len]` and the body `msg-<i>`; the checks identify a message by its
//! body and read its sequence number from it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One `msg` (or `sent`) event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub msg_id: String,
    pub queue_id: i64,
    pub queue_offset: i64,
    pub keys: String,
    pub tags: String,
    pub body: String,
}

impl Delivery {
    pub fn from_event(e: &Value) -> Delivery {
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        let n = |k: &str| {
            e[k].as_i64()
                .unwrap_or_else(|| panic!("event without integer {k}: {e}"))
        };
        Delivery {
            msg_id: s("msgId"),
            queue_id: n("queueId"),
            queue_offset: n("queueOffset"),
            keys: s("keys"),
            tags: s("tags"),
            body: s("body"),
        }
    }

    /// `i` of the body `msg-<i>`.
    pub fn seq(&self) -> u64 {
        self.body
            .strip_prefix("msg-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("body {:?} is not msg-<i>", self.body))
    }
}

pub fn deliveries(events: &[Value]) -> Vec<Delivery> {
    events.iter().map(Delivery::from_event).collect()
}

/// The bodies of messages `from..to` (`msg-<i>`).
pub fn bodies(from: u64, to: u64) -> BTreeSet<String> {
    (from..to).map(|i| format!("msg-{i}")).collect()
}

/// Each body of `expected` delivered exactly once and nothing else: panics listing the
/// missing, duplicated and unexpected bodies (first 10 of each) otherwise.
pub fn assert_exactly_once(who: &str, got: &[Delivery], expected: &BTreeSet<String>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for d in got {
        *seen.entry(d.body.as_str()).or_default() += 1;
    }
    let missing: Vec<&String> = expected
        .iter()
        .filter(|b| !seen.contains_key(b.as_str()))
        .collect();
    let dups: Vec<(&str, usize)> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(b, n)| (*b, *n))
        .collect();
    let unexpected: Vec<&str> = seen
        .keys()
        .filter(|b| !expected.contains(**b))
        .copied()
        .collect();
    assert!(
        missing.is_empty() && dups.is_empty() && unexpected.is_empty(),
        "{who}: {} deliveries of {} expected messages: {} missing {:?}, {} duplicated {:?}, {} unexpected {:?}",
        got.len(),
        expected.len(),
        missing.len(),
        first(&missing),
        dups.len(),
        first(&dups),
        unexpected.len(),
        first(&unexpected),
    );
}

/// Each body of `expected` delivered at least once (redelivery allowed): no loss.
pub fn assert_no_loss(who: &str, got: &[Delivery], expected: &BTreeSet<String>) {
    let seen: BTreeSet<&str> = got.iter().map(|d| d.body.as_str()).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|b| !seen.contains(b.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{who}: {} of {} messages never delivered, e.g. {:?}",
        missing.len(),
        expected.len(),
        first(&missing)
    );
}

/// The tag and key each message carries, as the producer set them (`tags[i mod len]`,
/// `key-<i>`), and consistent queue positions: a (queueId, queueOffset) pair names one message.
pub fn assert_properties(who: &str, got: &[Delivery], tags: &[&str]) {
    let mut positions: BTreeMap<(i64, i64), &str> = BTreeMap::new();
    for d in got {
        let i = d.seq();
        let tag = tags[(i % tags.len() as u64) as usize];
        assert_eq!(d.tags, tag, "{who}: tag of {d:?}");
        assert_eq!(d.keys, format!("key-{i}"), "{who}: keys of {d:?}");
        assert!(d.queue_offset >= 0, "{who}: queue offset of {d:?}");
        if let Some(other) = positions.insert((d.queue_id, d.queue_offset), &d.body) {
            assert_eq!(
                other, d.body,
                "{who}: queue {} offset {} delivered two different messages",
                d.queue_id, d.queue_offset
            );
        }
    }
}

/// Per key, the sequence numbers arrive in increasing order (orderly consumption): panics
/// with the first inversion.
pub fn assert_per_key_order(who: &str, got: &[Delivery]) {
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for d in got {
        let seq = d.seq();
        if let Some(prev) = last.insert(&d.keys, seq) {
            assert!(
                prev < seq,
                "{who}: key {} delivered msg-{seq} after msg-{prev}",
                d.keys
            );
        }
    }
}

/// The queues a consumer received messages from.
pub fn queues(got: &[Delivery]) -> BTreeSet<i64> {
    got.iter().map(|d| d.queue_id).collect()
}

fn first<T: std::fmt::Debug>(items: &[T]) -> Vec<&T> {
    items.iter().take(10).collect()
}
