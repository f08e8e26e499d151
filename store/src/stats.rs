//! `StoreStatsService`: the put/get counters behind GET_BROKER_RUNTIME_INFO's statistics keys
//! (`putTps`, `getTotalTps`, `putMessageTimesTotal`, `putLatency99`, …), which mqadmin
//! `clusterList`/`brokerStatus` and the dashboard read.
//!
//! Java 4.9.8's shapes, kept because its readers parse them:
//! - Counters only grow. A sampling thread records (time, total) once a second and keeps the
//!   last 601 samples; a TPS over `n` seconds is the rate between the newest sample and the one
//!   `n` samples before it, printed with Java's `Double.toString`. Until `n + 1` samples exist
//!   the put/found/miss/transferred TPS is the empty string (so a young broker reports
//!   `putTps = "  "`), while `getTotalTps` is `found + miss` with 0 for missing parts ("0.0").
//! - Every 60 s the put-latency histograms are rotated: `putMessageDistributeTime` prints the
//!   previous minute's 13 buckets (`"null"` during the first minute) and `putLatency99/999`
//!   interpolate in the previous minute's fine buckets ("0.00" during the first minute).
//! - `putMessageTimesTotal` reports 1 when nothing was put (Java avoids a division by zero in
//!   the average that way and prints the substitute).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::flush::{spawn, Service};

/// Java's `FREQUENCY_OF_SAMPLING`.
const SAMPLING_INTERVAL: Duration = Duration::from_secs(1);
/// Samples kept per counter: 10 minutes at one per second, plus one.
const MAX_SAMPLES: usize = 600 + 1;
/// Java's `printTPSInterval`: the histograms rotate once a minute.
const ROTATE_INTERVAL_MS: i64 = 60_000;

const DISTRIBUTE_DESC: [&str; 13] = [
    "[<=0ms]",
    "[0~10ms]",
    "[10~50ms]",
    "[50~100ms]",
    "[100~200ms]",
    "[200~500ms]",
    "[500ms~1s]",
    "[1~2s]",
    "[2~3s]",
    "[3~4s]",
    "[4~5s]",
    "[5~10s]",
    "[10s~]",
];

/// Upper bounds (ms) of the fine latency buckets: steps of 1 ms ×20, 2 ×15, 5 ×10, 10 ×10,
/// 50 ×6, 100 ×5, 1000 ×9, then everything above.
fn latency_bounds() -> Vec<i64> {
    let mut bounds = Vec::new();
    let mut at = 0;
    for (step, times) in [
        (1, 20),
        (2, 15),
        (5, 10),
        (10, 10),
        (50, 6),
        (100, 5),
        (1000, 9),
    ] {
        for _ in 0..times {
            at += step;
            bounds.push(at);
        }
    }
    bounds.push(i64::MAX);
    bounds
}

fn distribute_index(elapsed_ms: i64) -> usize {
    const UPPER: [i64; 12] = [
        1, 10, 50, 100, 200, 500, 1000, 2000, 3000, 4000, 5000, 10_000,
    ];
    if elapsed_ms <= 0 {
        return 0;
    }
    UPPER
        .iter()
        .position(|&u| elapsed_ms < u)
        .unwrap_or(DISTRIBUTE_DESC.len() - 1)
}

#[derive(Default)]
struct Samples {
    put: VecDeque<(i64, u64)>,
    found: VecDeque<(i64, u64)>,
    miss: VecDeque<(i64, u64)>,
    transferred: VecDeque<(i64, u64)>,
}

/// Java's `CallSnapshot.getTPS`: calls per second between two samples.
fn tps(samples: &VecDeque<(i64, u64)>, seconds: usize) -> Option<f64> {
    if samples.len() <= seconds {
        return None;
    }
    let (end_ts, end) = *samples.back()?;
    let (begin_ts, begin) = samples[samples.len() - (seconds + 1)];
    Some((end - begin) as f64 / (end_ts - begin_ts) as f64 * 1000.0)
}

fn push(list: &mut VecDeque<(i64, u64)>, sample: (i64, u64)) {
    list.push_back(sample);
    if list.len() > MAX_SAMPLES {
        list.pop_front();
    }
}

/// Java's `Double.toString` for the values printed here (rates and averages far below 10^7).
pub fn java_double(v: f64) -> String {
    format!("{v:?}")
}

pub struct StoreStats {
    put_times_total: AtomicU64,
    put_size_total: AtomicU64,
    put_failed_times: AtomicU64,
    put_entire_time_max: AtomicI64,
    get_found: AtomicU64,
    get_miss: AtomicU64,
    get_transferred: AtomicU64,
    get_entire_time_max: AtomicI64,
    distribute: [AtomicU64; 13],
    latency: Vec<AtomicU64>,
    bounds: Vec<i64>,
    /// The previous minute's histograms; `None` before the first rotation.
    last_minute: Mutex<Option<LastMinute>>,
    samples: Mutex<Samples>,
    last_rotation: AtomicI64,
}

struct LastMinute {
    distribute: [u64; 13],
    latency: Vec<u64>,
}

impl StoreStats {
    pub fn new(now: i64) -> Self {
        let bounds = latency_bounds();
        Self {
            put_times_total: AtomicU64::new(0),
            put_size_total: AtomicU64::new(0),
            put_failed_times: AtomicU64::new(0),
            put_entire_time_max: AtomicI64::new(0),
            get_found: AtomicU64::new(0),
            get_miss: AtomicU64::new(0),
            get_transferred: AtomicU64::new(0),
            get_entire_time_max: AtomicI64::new(0),
            distribute: Default::default(),
            latency: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            bounds,
            last_minute: Mutex::new(None),
            samples: Mutex::new(Samples::default()),
            last_rotation: AtomicI64::new(now),
        }
    }

    /// A stored put of `msg_num` records and `bytes` bytes (Java counts these in `CommitLog`).
    pub fn record_stored(&self, msg_num: usize, bytes: usize) {
        self.put_times_total
            .fetch_add(msg_num as u64, Ordering::Relaxed);
        self.put_size_total
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Every put's outcome and time (`DefaultMessageStore.putMessage`).
    pub fn record_put(&self, ok: bool, elapsed_ms: i64) {
        if !ok {
            self.put_failed_times.fetch_add(1, Ordering::Relaxed);
        }
        let fine = self.bounds.partition_point(|&b| b < elapsed_ms);
        self.latency[fine.min(self.latency.len() - 1)].fetch_add(1, Ordering::Relaxed);
        self.distribute[distribute_index(elapsed_ms)].fetch_add(1, Ordering::Relaxed);
        self.put_entire_time_max
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    /// A read of a queue (`DefaultMessageStore.getMessage`): found or not, records returned.
    pub fn record_get(&self, found: bool, messages: usize, elapsed_ms: i64) {
        let counter = if found {
            &self.get_found
        } else {
            &self.get_miss
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.get_transferred
            .fetch_add(messages as u64, Ordering::Relaxed);
        self.get_entire_time_max
            .fetch_max(elapsed_ms, Ordering::Relaxed);
    }

    pub fn put_times_total(&self) -> u64 {
        self.put_times_total.load(Ordering::Relaxed)
    }

    pub fn get_transferred_total(&self) -> u64 {
        self.get_transferred.load(Ordering::Relaxed)
    }

    /// The sampling thread's once-a-second step: a sample of every counter, and the minute's
    /// histogram rotation when due.
    pub fn tick(&self, now: i64) {
        {
            let mut s = self.samples.lock().expect("stats samples");
            push(&mut s.put, (now, self.put_times_total()));
            push(&mut s.found, (now, self.get_found.load(Ordering::Relaxed)));
            push(&mut s.miss, (now, self.get_miss.load(Ordering::Relaxed)));
            push(&mut s.transferred, (now, self.get_transferred_total()));
        }
        if now > self.last_rotation.load(Ordering::Relaxed) + ROTATE_INTERVAL_MS {
            self.last_rotation.store(now, Ordering::Relaxed);
            let take = |c: &AtomicU64| c.swap(0, Ordering::Relaxed);
            let minute = LastMinute {
                distribute: std::array::from_fn(|i| take(&self.distribute[i])),
                latency: self.latency.iter().map(take).collect(),
            };
            *self.last_minute.lock().expect("stats histograms") = Some(minute);
        }
    }

    /// Java's `findPutMessageEntireTimePX`: the `px` quantile of the previous minute's put
    /// times, interpolated inside its bucket.
    fn put_latency_quantile(&self, px: f64) -> f64 {
        let last = self.last_minute.lock().expect("stats histograms");
        let Some(minute) = last.as_ref() else {
            return 0.0;
        };
        let total: u64 = minute.latency.iter().sum();
        let px_index = (total as f64 * px) as u64;
        let mut passed = 0;
        for (i, &count) in minute.latency.iter().enumerate() {
            if px_index <= passed + count {
                let relative = (px_index - passed) as f64;
                let upper = self.bounds[i] as f64;
                let lower = if i == 0 {
                    0.0
                } else {
                    self.bounds[i - 1] as f64
                };
                return if count == 0 {
                    lower
                } else {
                    lower + (upper - lower) * relative / count as f64
                };
            }
            passed += count;
        }
        0.0
    }

    /// `StoreStatsService.getRuntimeInfo` without boot time and runtime (the broker reports
    /// those), plus `dispatchMaxBuffer` (never raised in 4.9.8's default store: 0).
    pub fn runtime_info(&self) -> Vec<(&'static str, String)> {
        let total = self.put_times_total().max(1);
        let size = self.put_size_total.load(Ordering::Relaxed);
        let (put, found, miss, total_tps, transferred) = {
            let s = self.samples.lock().expect("stats samples");
            let three = |list: &VecDeque<(i64, u64)>| {
                [10, 60, 600]
                    .map(|n| tps(list, n).map(java_double).unwrap_or_default())
                    .join(" ")
            };
            let total_tps = [10, 60, 600]
                .map(|n| {
                    java_double(tps(&s.found, n).unwrap_or(0.0) + tps(&s.miss, n).unwrap_or(0.0))
                })
                .join(" ");
            (
                three(&s.put),
                three(&s.found),
                three(&s.miss),
                total_tps,
                three(&s.transferred),
            )
        };
        let distribute = match self.last_minute.lock().expect("stats histograms").as_ref() {
            None => "null".to_owned(),
            Some(m) => DISTRIBUTE_DESC
                .iter()
                .zip(m.distribute)
                .map(|(desc, n)| format!("{desc}:{n} "))
                .collect(),
        };
        vec![
            (
                "putMessageEntireTimeMax",
                self.put_entire_time_max.load(Ordering::Relaxed).to_string(),
            ),
            ("putMessageTimesTotal", total.to_string()),
            (
                "putMessageFailedTimes",
                self.put_failed_times.load(Ordering::Relaxed).to_string(),
            ),
            ("putMessageSizeTotal", size.to_string()),
            ("putMessageDistributeTime", distribute),
            (
                "putMessageAverageSize",
                java_double(size as f64 / total as f64),
            ),
            ("dispatchMaxBuffer", "0".to_owned()),
            (
                "getMessageEntireTimeMax",
                self.get_entire_time_max.load(Ordering::Relaxed).to_string(),
            ),
            ("putTps", put),
            ("getFoundTps", found),
            ("getMissTps", miss),
            ("getTotalTps", total_tps),
            ("getTransferedTps", transferred),
            (
                "putLatency99",
                format!("{:.2}", self.put_latency_quantile(0.99)),
            ),
            (
                "putLatency999",
                format!("{:.2}", self.put_latency_quantile(0.999)),
            ),
        ]
    }
}

/// The sampling thread (`StoreStatsService.run`): one [`StoreStats::tick`] a second.
pub(crate) struct StatsService {
    service: Arc<Service>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl StatsService {
    pub(crate) fn start(
        stats: Arc<StoreStats>,
        clock: crate::clean::Clock,
    ) -> std::io::Result<Self> {
        let service = Service::new();
        let s = service.clone();
        let thread = spawn("StoreStatsService", move || {
            while !s.stopped() {
                s.wait(SAMPLING_INTERVAL, false);
                stats.tick(clock());
            }
        })?;
        Ok(Self {
            service,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn shutdown(&self) {
        self.service.stop();
        if let Some(t) = self.thread.lock().expect("stats thread").take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(stats: &StoreStats) -> std::collections::HashMap<&'static str, String> {
        stats.runtime_info().into_iter().collect()
    }

    #[test]
    fn a_young_store_reports_what_java_reports() {
        let stats = StoreStats::new(0);
        stats.tick(1000);
        let t = info(&stats);
        // The golden clusterList capture (7 s after start): empty TPS strings, total as 0.0.
        assert_eq!(t["putTps"], "  ");
        assert_eq!(t["getFoundTps"], "  ");
        assert_eq!(t["getTotalTps"], "0.0 0.0 0.0");
        assert_eq!(t["putMessageDistributeTime"], "null");
        assert_eq!(t["putLatency99"], "0.00");
        assert_eq!(t["putMessageTimesTotal"], "1", "Java's substitute for none");
        assert_eq!(t["putMessageAverageSize"], "0.0");
    }

    #[test]
    fn rates_are_taken_between_samples_n_seconds_apart() {
        let stats = StoreStats::new(0);
        for s in 0..=10 {
            stats.record_stored(100, 100 * 196);
            stats.tick(s * 1000);
        }
        let t = info(&stats);
        // 11 samples: 10 s of 100 puts a second; 60 and 600 s not yet measurable.
        assert_eq!(t["putTps"], "100.0  ");
        assert_eq!(t["putMessageTimesTotal"], "1100");
        assert_eq!(t["putMessageAverageSize"], "196.0");
        stats.record_get(true, 32, 3);
        stats.record_get(false, 0, 1);
        stats.tick(11_000);
        let t = info(&stats);
        assert_eq!(t["getTotalTps"], "0.2 0.0 0.0");
        assert_eq!(t["getTransferedTps"], "3.2  ");
        assert_eq!(t["getMessageEntireTimeMax"], "3");
    }

    #[test]
    fn latency_histograms_rotate_each_minute() {
        let stats = StoreStats::new(0);
        for i in 0..1000 {
            stats.record_put(true, if i < 990 { 1 } else { 30 });
        }
        stats.record_put(false, 700);
        stats.tick(60_001);
        let t = info(&stats);
        assert_eq!(
            t["putMessageDistributeTime"],
            "[<=0ms]:0 [0~10ms]:990 [10~50ms]:10 [50~100ms]:0 [100~200ms]:0 [200~500ms]:0 \
             [500ms~1s]:1 [1~2s]:0 [2~3s]:0 [3~4s]:0 [4~5s]:0 [5~10s]:0 [10s~]:0 "
        );
        assert_eq!(t["putMessageFailedTimes"], "1");
        assert_eq!(t["putMessageEntireTimeMax"], "700");
        // 1001 puts: the 990th (p99) is inside the 1 ms bucket, the 999th in (28, 30].
        assert_eq!(t["putLatency99"], "1.00");
        assert_eq!(t["putLatency999"], "29.80");
    }
}
