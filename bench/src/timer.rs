//! `rmq-bench timer`: 5.x timer messages (issue 18's benchmark). N messages, each asking to be
//! delivered at a time spread evenly over a window (`TIMER_DELIVER_MS`, message `i` due at
//! `start + lead + i × window / N`), are sent by async senders as fast as the broker takes them
//! (the enqueue: the broker parks each in `rmq_sys_wheel_timer` and its timer log); the timer
//! store then puts each into the real topic when due. Once the window is over and the topic
//! holds N messages, they are pulled back and each one's lateness is its store time in the real
//! topic (the delivery, on the broker's clock) minus the time it asked for (our clock: the same
//! machine). Java rounds a delivery time down to `timerPrecisionMs` (1 s by default), so a
//! message may come up to that much early: lateness is signed, and the early ones are counted.
//!
//! A message is due only after it was sent when enqueueing keeps ahead of the window (the
//! enqueue rate above N / window and a lead longer than the ramp-up); those that were sent
//! after their due time (their born time, from the delivered record) are counted as
//! `sent_after_due`: they are delivered at once and their lateness is the enqueue's, not the
//! timer's.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::cli::TimerArgs;
use crate::client::{self, BenchError, Subscription};
use crate::consume::{self, ConsumeSpec};
use crate::report::Row;
use crate::runner::Context;
use crate::send::{self, SendMode, SendSpec, Stop};

/// The user property each message carries with its due time, read back from the delivered
/// record (the timer store rewrites the `TIMER_*` ones).
pub const DUE_PROPERTY: &str = "benchDue";

/// When message `ticket` of a run is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimerSchedule {
    /// The run's start, ms since the epoch.
    pub start_ms: i64,
    /// Time before the first message is due.
    pub lead_ms: i64,
    /// The due times span this long.
    pub window_ms: i64,
    pub count: u64,
}

impl TimerSchedule {
    /// `start + lead + ticket × window / count`.
    pub fn due(&self, ticket: u64) -> i64 {
        let offset = ticket as i128 * self.window_ms as i128 / self.count.max(1) as i128;
        self.start_ms + self.lead_ms + offset as i64
    }

    /// When the last message is due.
    pub fn last_due(&self) -> i64 {
        self.start_ms + self.lead_ms + self.window_ms
    }
}

/// The lateness of delivered messages, in ms (signed: a delivery before the asked time is
/// negative).
#[derive(Debug, Default)]
pub struct Lateness {
    samples: Vec<i64>,
    /// Messages whose born time was already past their due time.
    pub sent_after_due: u64,
    /// Delivered records without the due property (not ours).
    pub foreign: u64,
}

impl Lateness {
    /// One delivered record: its due property, its store time and born time.
    pub fn record(&mut self, due: Option<&str>, store_ms: i64, born_ms: i64) {
        let Some(due) = due.and_then(|d| d.parse::<i64>().ok()) else {
            self.foreign += 1;
            return;
        };
        if born_ms > due {
            self.sent_after_due += 1;
        }
        self.samples.push(store_ms - due);
    }

    pub fn merge(&mut self, other: Lateness) {
        self.samples.extend(other.samples);
        self.sent_after_due += other.sent_after_due;
        self.foreign += other.foreign;
    }

    pub fn count(&self) -> u64 {
        self.samples.len() as u64
    }

    /// p50, p99, min and max (ms), and how many came early.
    pub fn summary(&mut self) -> LatenessSummary {
        self.samples.sort_unstable();
        let at = |q: f64| -> i64 {
            if self.samples.is_empty() {
                return 0;
            }
            let i = ((self.samples.len() as f64 * q).ceil() as usize).clamp(1, self.samples.len());
            self.samples[i - 1]
        };
        LatenessSummary {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            min_ms: self.samples.first().copied().unwrap_or(0),
            max_ms: self.samples.last().copied().unwrap_or(0),
            early: self.samples.iter().filter(|&&l| l < 0).count() as u64,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatenessSummary {
    pub p50_ms: i64,
    pub p99_ms: i64,
    pub min_ms: i64,
    pub max_ms: i64,
    pub early: u64,
}

/// What a `timer` run adds to its row (`messages`/`tps`/`seconds` are the enqueue's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimerFigures {
    /// Seconds the due times span.
    pub window_secs: f64,
    /// Seconds from the start to the first due time.
    pub lead_secs: f64,
    /// Messages found in the real topic.
    pub delivered: u64,
    pub lateness_p50_ms: i64,
    pub lateness_p99_ms: i64,
    pub lateness_min_ms: i64,
    pub lateness_max_ms: i64,
    /// Delivered before the time they asked for (the precision's rounding down).
    pub early: u64,
    /// Sent after their due time (the enqueue fell behind the window).
    pub sent_after_due: u64,
}

impl TimerFigures {
    pub fn new(schedule: &TimerSchedule, lateness: &mut Lateness) -> Self {
        let s = lateness.summary();
        TimerFigures {
            window_secs: schedule.window_ms as f64 / 1000.0,
            lead_secs: schedule.lead_ms as f64 / 1000.0,
            delivered: lateness.count(),
            lateness_p50_ms: s.p50_ms,
            lateness_p99_ms: s.p99_ms,
            lateness_min_ms: s.min_ms,
            lateness_max_ms: s.max_ms,
            early: s.early,
            sent_after_due: lateness.sent_after_due,
        }
    }
}

/// The title line of `timer` rows.
pub fn header() -> String {
    format!(
        "{:<11} {:>6} {:>9} {:>5} {:>8} {:>9} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>8}",
        "label",
        "size",
        "timers",
        "err",
        "window s",
        "enq TPS",
        "enq s",
        "delivered",
        "p50 ms",
        "p99 ms",
        "min ms",
        "max ms",
        "early",
        "sent late",
        "RSS MiB"
    )
}

/// A `timer` row as one line.
pub fn format_row(row: &crate::report::Row, t: &TimerFigures) -> String {
    format!(
        "{:<11} {:>6} {:>9} {:>5} {:>8.0} {:>9.0} {:>8.1} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>8}",
        row.label,
        crate::report::format_size(row.size),
        row.messages,
        row.errors,
        t.window_secs,
        row.tps,
        row.seconds,
        t.delivered,
        t.lateness_p50_ms,
        t.lateness_p99_ms,
        t.lateness_min_ms,
        t.lateness_max_ms,
        t.early,
        t.sent_after_due,
        row.broker_rss_kib
            .map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
    )
}

/// One `timer` run as a row: the enqueue (async sends of timer messages), the wait for every
/// delivery, the pull of the real topic. A run where not every sent message was delivered, or
/// a send failed, prints its row and fails.
pub async fn run(ctx: &Context, args: &TimerArgs) -> Result<Row, BenchError> {
    let start_ms = client::now_millis();
    let topic = format!("{}_timer_{}", ctx.topic, start_ms / 1000);
    let queues = ctx.queues_of(&topic).await?;
    let schedule = TimerSchedule {
        // The due times count from when the topic is there, not from the lookup.
        start_ms: client::now_millis(),
        lead_ms: args.lead.as_millis() as i64,
        window_ms: args.window.as_millis() as i64,
        count: args.messages,
    };
    let spec = SendSpec {
        producer_group: "rmq_bench_timer_producer".to_owned(),
        topic: topic.clone(),
        body_size: args.size,
        concurrency: args.concurrency,
        mode: SendMode::Async {
            window: args.inflight,
        },
        stop: Stop::Messages(args.messages),
        connections: 1,
        timeout: ctx.timeout,
        broker_pid: ctx.broker_pid,
        property: None,
        timer: Some(schedule.clone()),
    };
    let sent = send::run_send(&queues, &spec).await?;
    eprintln!(
        "rmq-bench: enqueued {} timer messages in {:.1} s ({} failed); the last is due {:.1} s after the start",
        sent.ok,
        sent.elapsed.as_secs_f64(),
        sent.error_count(),
        (schedule.last_due() - schedule.start_ms) as f64 / 1000.0
    );
    sleep_until_ms(schedule.last_due()).await;
    let there =
        consume::wait_for_backlog(&queues, &topic, sent.ok, args.drain, ctx.timeout).await?;
    let pull = ConsumeSpec {
        consumer_group: format!("rmq_bench_timer_consumer_{start_ms}"),
        topic: topic.clone(),
        subscription: Subscription::all_tags(),
        batch: 32,
        parallel: queues.len(),
        max_per_queue: None,
        timeout: ctx.timeout,
        check: None,
        lateness: true,
    };
    let mut pulled = consume::run_consume(&queues, &pull).await?;
    let mut row = Row::new(
        &ctx.label,
        "timer",
        args.size,
        args.concurrency,
        sent.ok,
        sent.error_count(),
        sent.body_bytes,
        sent.elapsed,
        &sent.latency,
        sent.broker,
    );
    let figures = TimerFigures::new(&schedule, &mut pulled.lateness);
    let complete = figures.delivered == sent.ok && there == sent.ok && pulled.lateness.foreign == 0;
    row.timer = Some(figures);
    ctx.emit(&row)?;
    if !complete || sent.error_count() > 0 {
        return Err(BenchError::Broker(format!(
            "timer run incomplete: {} sent, {} failed, {there} in the topic, {} pulled with a due time, {} without",
            sent.ok,
            sent.error_count(),
            pulled.lateness.count(),
            pulled.lateness.foreign
        )));
    }
    Ok(row)
}

/// Waits until `until` (ms since the epoch, our clock) has passed.
pub async fn sleep_until_ms(until: i64) {
    let now = crate::client::now_millis();
    if until > now {
        tokio::time::sleep_until(
            (Instant::now() + Duration::from_millis((until - now) as u64)).into(),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_spread_over_the_window() {
        let s = TimerSchedule {
            start_ms: 1000,
            lead_ms: 500,
            window_ms: 60_000,
            count: 1_000_000,
        };
        assert_eq!(s.due(0), 1500);
        assert_eq!(s.due(500_000), 31_500);
        assert_eq!(s.due(999_999), 61_499);
        assert_eq!(s.last_due(), 61_500);
    }

    #[test]
    fn lateness_is_signed_and_counts_late_sends() {
        let mut l = Lateness::default();
        for (due, store, born) in [(100, 90, 10), (100, 150, 20), (100, 400, 200)] {
            l.record(Some(&due.to_string()), store, born);
        }
        l.record(None, 0, 0);
        let s = l.summary();
        assert_eq!(
            (s.p50_ms, s.p99_ms, s.min_ms, s.max_ms),
            (50, 300, -10, 300)
        );
        assert_eq!((s.early, l.sent_after_due, l.foreign), (1, 1, 1));
    }
}
