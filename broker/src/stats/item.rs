//! Java's `StatsItem`, `StatsItemSet` and `StatsSnapshot` (`org.apache.rocketmq.common.stats`,
//! 4.9.8), with the clock given as `now` and the sampling called from outside.
//!
//! An item counts a `value` (messages, bytes, milliseconds) and `times` (calls). Three lists
//! of snapshots `(timestamp, times, value)` make its windows:
//!
//! | window | sampled every | list keeps | so it spans |
//! |---|---|---|---|
//! | minute | 10 s | 7 snapshots | 60 s |
//! | hour | 10 min | 7 snapshots | 60 min |
//! | day | 1 h | 25 snapshots | 24 h |
//!
//! The first sampling of an empty list first adds a zero snapshot dated one period earlier,
//! so a new item has a window at its first sampling. A window's answer compares its first and
//! last snapshots: `sum` = value difference, `tps` = `sum * 1000.0 / (time difference in ms)`,
//! `avgpt` = `sum / times difference` when calls were made (else 0). An item not yet sampled
//! answers all zeros — which is why the recorded `statsAll` (s12 m27) shows a live group's
//! `statsMinute` with `sum` 8 while its `statsHour` and `statsDay` are still 0.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;

/// Sampling period and list length of the minute window.
pub const MINUTE_PERIOD_MS: i64 = 10 * 1000;
pub const MINUTE_SNAPSHOTS: usize = 7;
/// Of the hour window.
pub const HOUR_PERIOD_MS: i64 = 10 * 60 * 1000;
pub const HOUR_SNAPSHOTS: usize = 7;
/// Of the day window.
pub const DAY_PERIOD_MS: i64 = 60 * 60 * 1000;
pub const DAY_SNAPSHOTS: usize = 25;

/// Java's `CallSnapshot`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CallSnapshot {
    timestamp: i64,
    times: i64,
    value: i64,
}

/// Java's `StatsSnapshot`: one window's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    pub sum: i64,
    pub tps: f64,
    pub avgpt: f64,
    pub times: i64,
}

/// One window: its snapshots, oldest first.
#[derive(Default)]
struct Window(Mutex<VecDeque<CallSnapshot>>);

impl Window {
    fn sample(&self, now: i64, period_ms: i64, keep: usize, times: i64, value: i64) {
        let mut list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if list.is_empty() {
            list.push_back(CallSnapshot {
                timestamp: now - period_ms,
                times: 0,
                value: 0,
            });
        }
        list.push_back(CallSnapshot {
            timestamp: now,
            times,
            value,
        });
        if list.len() > keep {
            list.pop_front();
        }
    }

    /// Java's `computeStatsData`.
    fn compute(&self) -> StatsSnapshot {
        let list = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (Some(first), Some(last)) = (list.front(), list.back()) else {
            return StatsSnapshot::default();
        };
        let sum = last.value - first.value;
        // Java divides a double by the long difference: with equal timestamps this is NaN or
        // infinite there too (not reachable: snapshots of one list are a period apart).
        let tps = (sum as f64 * 1000.0) / (last.timestamp - first.timestamp) as f64;
        let times = last.times - first.times;
        let avgpt = if times > 0 {
            sum as f64 / times as f64
        } else {
            0.0
        };
        StatsSnapshot {
            sum,
            tps,
            avgpt,
            times,
        }
    }
}

/// Java's `StatsItem` (and `RTStatsItem`, which differs only in its log line).
#[derive(Default)]
pub struct StatsItem {
    value: AtomicI64,
    times: AtomicI64,
    minute: Window,
    hour: Window,
    day: Window,
}

impl StatsItem {
    pub fn add(&self, value: i64, times: i64) {
        self.value.fetch_add(value, Ordering::Relaxed);
        self.times.fetch_add(times, Ordering::Relaxed);
    }

    pub fn value(&self) -> i64 {
        self.value.load(Ordering::Relaxed)
    }

    pub fn times(&self) -> i64 {
        self.times.load(Ordering::Relaxed)
    }

    fn current(&self) -> (i64, i64) {
        (self.times(), self.value())
    }

    /// `samplingInSeconds` (every 10 s).
    pub fn sampling_in_seconds(&self, now: i64) {
        let (times, value) = self.current();
        self.minute
            .sample(now, MINUTE_PERIOD_MS, MINUTE_SNAPSHOTS, times, value);
    }

    /// `samplingInMinutes` (every 10 min).
    pub fn sampling_in_minutes(&self, now: i64) {
        let (times, value) = self.current();
        self.hour
            .sample(now, HOUR_PERIOD_MS, HOUR_SNAPSHOTS, times, value);
    }

    /// `samplingInHour` (every hour).
    pub fn sampling_in_hour(&self, now: i64) {
        let (times, value) = self.current();
        self.day
            .sample(now, DAY_PERIOD_MS, DAY_SNAPSHOTS, times, value);
    }

    pub fn stats_in_minute(&self) -> StatsSnapshot {
        self.minute.compute()
    }

    pub fn stats_in_hour(&self) -> StatsSnapshot {
        self.hour.compute()
    }

    pub fn stats_in_day(&self) -> StatsSnapshot {
        self.day.compute()
    }
}

/// Java's `StatsItemSet`: the items of one statistic, by key, created on first use.
#[derive(Default)]
pub struct StatsItemSet {
    /// Looked up three times per stored message (topic put nums and size, broker put nums):
    /// foldhash instead of SipHash.
    items: DashMap<String, Arc<StatsItem>, foldhash::fast::RandomState>,
}

impl StatsItemSet {
    /// `addValue` / `addRTValue`.
    pub fn add_value(&self, key: &str, value: i64, times: i64) {
        // An existing item is added to in place (no reference count round trip).
        if let Some(item) = self.items.get(key) {
            item.add(value, times);
            return;
        }
        self.get_and_create(key).add(value, times);
    }

    /// `getAndCreateStatsItem`.
    pub fn get_and_create(&self, key: &str) -> Arc<StatsItem> {
        if let Some(item) = self.items.get(key) {
            return item.clone();
        }
        self.items.entry(key.to_owned()).or_default().clone()
    }

    pub fn get(&self, key: &str) -> Option<Arc<StatsItem>> {
        self.items.get(key).map(|i| i.clone())
    }

    /// `getStatsDataInMinute(key)`: zeros for an unknown key.
    pub fn stats_in_minute(&self, key: &str) -> StatsSnapshot {
        self.get(key)
            .map(|i| i.stats_in_minute())
            .unwrap_or_default()
    }

    pub fn sampling_in_seconds(&self, now: i64) {
        self.for_each(|i| i.sampling_in_seconds(now));
    }

    pub fn sampling_in_minutes(&self, now: i64) {
        self.for_each(|i| i.sampling_in_minutes(now));
    }

    pub fn sampling_in_hour(&self, now: i64) {
        self.for_each(|i| i.sampling_in_hour(now));
    }

    /// Every key with its running total (`StatsItem.value`), for the metrics exporter.
    pub fn values(&self) -> Vec<(String, i64)> {
        self.items
            .iter()
            .map(|e| (e.key().clone(), e.value().value()))
            .collect()
    }

    fn for_each(&self, f: impl Fn(&StatsItem)) {
        let items: Vec<Arc<StatsItem>> = self.items.iter().map(|e| e.value().clone()).collect();
        for item in items {
            f(&item);
        }
    }

    /// `delValue`.
    pub fn del_value(&self, key: &str) {
        self.items.remove(key);
    }

    /// `delValueByPrefixKey(key, sep)`: keys starting with `key + sep`.
    pub fn del_by_prefix(&self, key: &str, sep: &str) {
        let prefix = format!("{key}{sep}");
        self.items.retain(|k, _| !k.starts_with(&prefix));
    }

    /// `delValueByInfixKey(key, sep)`: keys containing `sep + key + sep`.
    pub fn del_by_infix(&self, key: &str, sep: &str) {
        let infix = format!("{sep}{key}{sep}");
        self.items.retain(|k, _| !k.contains(&infix));
    }

    /// `delValueBySuffixKey(key, sep)`: keys ending with `sep + key`.
    pub fn del_by_suffix(&self, key: &str, sep: &str) {
        let suffix = format!("{sep}{key}");
        self.items.retain(|k, _| !k.ends_with(&suffix));
    }

    pub fn keys(&self) -> Vec<String> {
        self.items.iter().map(|e| e.key().clone()).collect()
    }
}

#[cfg(test)]
#[path = "item_tests.rs"]
mod tests;
