//! The consume workload: read a topic's backlog from its first offset to the offset it had
//! when the run started, every queue in parallel, 32 messages per pull, as a push consumer
//! that has just joined a new group (heartbeat first, then pulls that piggy-back the offset).
//!
//! The group's subscription is every tag, or a SQL92 selector the broker filters with; a
//! [`ConsumerSession`] keeps the heartbeat's connections so the group (and its filter) can be
//! registered before the backlog is loaded and pulled after. With [`ConsumeSpec::check`] every
//! delivered message is checked against the selector on this side too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use filter::sql92::Expression;
use remoting::RemotingClient;
use remoting_codec::code::response;
use remoting_codec::message::decode_records;
use tokio::sync::Semaphore;

use crate::client::{self, BenchError, QueueTarget, Subscription};
use crate::histogram::LatencyHistogram;
use crate::send;
use crate::timer::{Lateness, DUE_PROPERTY};

#[derive(Clone, Debug)]
pub struct ConsumeSpec {
    pub consumer_group: String,
    pub topic: String,
    /// What the group subscribes to (the heartbeat's subscription, the pulls' expression type).
    pub subscription: Subscription,
    /// Messages per pull (Java's `pullBatchSize` is 32).
    pub batch: i32,
    /// Queues pulled at the same time.
    pub parallel: usize,
    /// Stop each queue after this many messages (`None`: the whole backlog).
    pub max_per_queue: Option<i64>,
    pub timeout: Duration,
    /// Every delivered message must match this selector (evaluated here on its properties);
    /// those that do not are counted in [`ConsumeOutcome::unexpected`].
    pub check: Option<Expression>,
    /// Record each message's timer lateness ([`crate::timer`]) in [`ConsumeOutcome::lateness`].
    pub lateness: bool,
}

/// What a consume run measured. The latency is per pull request.
#[derive(Debug, Default)]
pub struct ConsumeOutcome {
    pub messages: u64,
    /// Stored record bytes received (what the broker reads and sends: bodies plus headers).
    pub record_bytes: u64,
    pub body_bytes: u64,
    pub pulls: u64,
    pub elapsed: Duration,
    pub latency: LatencyHistogram,
    /// Queue offsets the pulls went past (delivered or filtered out by the broker).
    pub scanned: u64,
    /// With every tag subscribed: messages the queues held at the start that were not
    /// received. With a SQL92 subscription: offsets of the range not scanned.
    pub missing: u64,
    /// Delivered messages that fail [`ConsumeSpec::check`], lie outside the queue's range or
    /// do not come in increasing queue-offset order (a repeat).
    pub unexpected: u64,
    /// With [`ConsumeSpec::lateness`]: each message's store time against its due time.
    pub lateness: Lateness,
}

impl ConsumeOutcome {
    fn add(&mut self, q: ConsumeOutcome) {
        self.messages += q.messages;
        self.record_bytes += q.record_bytes;
        self.body_bytes += q.body_bytes;
        self.pulls += q.pulls;
        self.scanned += q.scanned;
        self.missing += q.missing;
        self.unexpected += q.unexpected;
        self.latency.merge(&q.latency);
        self.lateness.merge(q.lateness);
    }
}

/// The offsets `from..to` of one queue to read.
#[derive(Clone, Debug)]
pub struct QueueRange {
    pub target: QueueTarget,
    pub from: i64,
    pub to: i64,
}

/// `(min, max)` offsets of every queue.
pub async fn backlog(
    queues: &[QueueTarget],
    topic: &str,
    timeout: Duration,
) -> Result<Vec<(i64, i64)>, BenchError> {
    let conns = send::connect_all(queues, 1).await?;
    let mut out = Vec::new();
    for q in queues {
        out.push(
            client::queue_offsets(&conns[&q.broker_addr][0], topic, q.queue_id, timeout).await?,
        );
    }
    for c in conns.values().flatten() {
        c.close();
    }
    Ok(out)
}

/// Waits until the queues hold at least `messages` messages in total (the broker dispatches to
/// consume queues shortly after a send returns), up to `wait`.
pub async fn wait_for_backlog(
    queues: &[QueueTarget],
    topic: &str,
    messages: u64,
    wait: Duration,
    timeout: Duration,
) -> Result<u64, BenchError> {
    let deadline = Instant::now() + wait;
    loop {
        let total: i64 = backlog(queues, topic, timeout)
            .await?
            .iter()
            .map(|(min, max)| max - min)
            .sum();
        if total as u64 >= messages || Instant::now() >= deadline {
            return Ok(total as u64);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Pulls every queue's backlog as it stands now.
pub async fn run_consume(
    queues: &[QueueTarget],
    spec: &ConsumeSpec,
) -> Result<ConsumeOutcome, BenchError> {
    let session = ConsumerSession::open(queues, spec).await?;
    let result = match session.ranges(queues, spec).await {
        Ok(ranges) => session.pull(ranges, spec).await,
        Err(e) => Err(e),
    };
    session.close(spec).await;
    result
}

/// A consumer group's member: one connection per broker, on which it has sent its heartbeat
/// and pulls.
pub struct ConsumerSession {
    conns: HashMap<SocketAddr, Vec<RemotingClient>>,
    client_id: String,
    sub_version: i64,
}

impl ConsumerSession {
    /// Connects to the brokers of `queues` and sends the group's heartbeat on each.
    pub async fn open(
        queues: &[QueueTarget],
        spec: &ConsumeSpec,
    ) -> Result<ConsumerSession, BenchError> {
        let session = ConsumerSession {
            conns: send::connect_all(queues, 1).await?,
            client_id: client::client_id(),
            sub_version: client::now_millis(),
        };
        if let Err(e) = session.heartbeat(spec).await {
            session.close(spec).await;
            return Err(e);
        }
        Ok(session)
    }

    /// The heartbeat again (same subscription and version), as a client does every 30 s: a
    /// broker forgets a member after 120 s without one.
    pub async fn heartbeat(&self, spec: &ConsumeSpec) -> Result<(), BenchError> {
        for c in self.conns.values().flatten() {
            client::heartbeat_consumer(
                c,
                &self.client_id,
                &spec.consumer_group,
                &spec.topic,
                &spec.subscription,
                self.sub_version,
                spec.timeout,
            )
            .await?;
        }
        Ok(())
    }

    fn conn(&self, target: &QueueTarget) -> &RemotingClient {
        &self.conns[&target.broker_addr][0]
    }

    /// Every queue from its first offset to its current end (capped by `max_per_queue`).
    pub async fn ranges(
        &self,
        queues: &[QueueTarget],
        spec: &ConsumeSpec,
    ) -> Result<Vec<QueueRange>, BenchError> {
        let mut ranges = Vec::new();
        for q in queues {
            let (min, max) =
                client::queue_offsets(self.conn(q), &spec.topic, q.queue_id, spec.timeout).await?;
            let to = match spec.max_per_queue {
                Some(cap) => max.min(min + cap),
                None => max,
            };
            ranges.push(QueueRange {
                target: q.clone(),
                from: min,
                to,
            });
        }
        Ok(ranges)
    }

    /// Pulls the ranges, `spec.parallel` queues at a time.
    pub async fn pull(
        &self,
        ranges: Vec<QueueRange>,
        spec: &ConsumeSpec,
    ) -> Result<ConsumeOutcome, BenchError> {
        let permits = Arc::new(Semaphore::new(spec.parallel.max(1)));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for range in ranges {
            let conn = self.conn(&range.target).clone();
            let spec = spec.clone();
            let permits = permits.clone();
            let sub_version = self.sub_version;
            tasks.push(tokio::spawn(async move {
                // The semaphore is never closed.
                let _permit = permits.acquire_owned().await;
                pull_queue(&conn, &spec, &range, sub_version).await
            }));
        }
        let mut total = ConsumeOutcome::default();
        let mut first_error = None;
        for task in tasks {
            match task.await {
                Ok(Ok(q)) => total.add(q),
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => first_error = first_error.or(Some(BenchError::Broker(e.to_string()))),
            }
        }
        total.elapsed = start.elapsed();
        match first_error {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }

    /// UNREGISTER_CLIENT for the group on every broker, then the connections are closed.
    pub async fn close(self, spec: &ConsumeSpec) {
        for c in self.conns.values().flatten() {
            client::unregister(
                c,
                &self.client_id,
                None,
                Some(&spec.consumer_group),
                spec.timeout,
            )
            .await;
            c.close();
        }
    }
}

/// How many times in a row a queue may answer without moving its offset forward below its
/// known end before the run gives up on it (the backlog was measured as dispatched, so this
/// means lost messages). A filtered answer that skips offsets is progress.
const MAX_EMPTY_PULLS: u32 = 50;

async fn pull_queue(
    conn: &RemotingClient,
    spec: &ConsumeSpec,
    range: &QueueRange,
    sub_version: i64,
) -> Result<ConsumeOutcome, BenchError> {
    let (queue_id, from, to) = (range.target.queue_id, range.from, range.to);
    let mut out = ConsumeOutcome::default();
    let mut offset = from;
    // The next queue offset a delivered message may have.
    let mut next_expected = from;
    let mut empty = 0;
    while offset < to {
        let batch = spec.batch.min((to - offset).min(i32::MAX as i64) as i32);
        let started = Instant::now();
        let answer = client::pull(
            conn,
            &spec.consumer_group,
            &spec.topic,
            queue_id,
            offset,
            batch,
            &spec.subscription.expression_type,
            sub_version,
            spec.timeout,
        )
        .await?;
        out.latency.record(started.elapsed());
        out.pulls += 1;
        if answer.code == response::SUCCESS {
            for record in decode_records(&answer.body) {
                let msg = record.map_err(|e| {
                    BenchError::Broker(format!("queue {queue_id} offset {offset}: bad record: {e}"))
                })?;
                if msg.queue_offset >= to {
                    break;
                }
                let in_order = msg.queue_offset >= next_expected;
                next_expected = next_expected.max(msg.queue_offset + 1);
                let matches = spec
                    .check
                    .as_ref()
                    .is_none_or(|e| e.matches(&|name| msg.properties.get(name)));
                if !in_order || !matches {
                    out.unexpected += 1;
                }
                if spec.lateness {
                    out.lateness.record(
                        msg.properties.get(DUE_PROPERTY),
                        msg.store_timestamp,
                        msg.born_timestamp,
                    );
                }
                out.messages += 1;
                out.record_bytes += msg.store_size as u64;
                out.body_bytes += msg.body.len() as u64;
            }
        }
        // PULL_NOT_FOUND below the end, RETRY_IMMEDIATELY (nothing matched in the part the
        // broker scanned) or an empty FOUND: ask again, from where the broker says.
        let next = answer.header.next_begin_offset.max(offset);
        empty = if next > offset { 0 } else { empty + 1 };
        if empty > MAX_EMPTY_PULLS {
            break;
        }
        offset = next;
        if empty > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    out.scanned = (offset.min(to) - from).max(0) as u64;
    out.missing = if spec.subscription == Subscription::all_tags() {
        ((to - from) as u64).saturating_sub(out.messages)
    } else {
        (to - offset).max(0) as u64
    };
    Ok(out)
}
