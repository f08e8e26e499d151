//! The consume workload: read a topic's backlog from its first offset to the offset it had
//! when the run started, every queue in parallel, 32 messages per pull, as a push consumer
//! that has just joined a new group (heartbeat first, then pulls that piggy-back the offset).

use std::sync::Arc;
use std::time::{Duration, Instant};

use remoting::RemotingClient;
use remoting_codec::code::response;
use remoting_codec::message::decode_records;
use tokio::sync::Semaphore;

use crate::client::{self, BenchError, QueueTarget};
use crate::histogram::LatencyHistogram;
use crate::send;

#[derive(Clone, Debug)]
pub struct ConsumeSpec {
    pub consumer_group: String,
    pub topic: String,
    /// Messages per pull (Java's `pullBatchSize` is 32).
    pub batch: i32,
    /// Queues pulled at the same time.
    pub parallel: usize,
    /// Stop each queue after this many messages (`None`: the whole backlog).
    pub max_per_queue: Option<i64>,
    pub timeout: Duration,
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
    /// Messages the queues held at the start that were not received.
    pub missing: u64,
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
    let conns = send::connect_all(queues, 1).await?;
    let client_id = client::client_id();
    let sub_version = client::now_millis();
    for c in conns.values().flatten() {
        client::heartbeat_consumer(
            c,
            &client_id,
            &spec.consumer_group,
            &spec.topic,
            sub_version,
            spec.timeout,
        )
        .await?;
    }
    let mut ranges = Vec::new();
    for q in queues {
        let conn = conns[&q.broker_addr][0].clone();
        let (min, max) =
            client::queue_offsets(&conn, &spec.topic, q.queue_id, spec.timeout).await?;
        let end = match spec.max_per_queue {
            Some(cap) => max.min(min + cap),
            None => max,
        };
        ranges.push((conn, q.queue_id, min, end));
    }
    let permits = Arc::new(Semaphore::new(spec.parallel.max(1)));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (conn, queue_id, from, to) in ranges {
        let spec = spec.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            // The semaphore is never closed.
            let _permit = permits.acquire_owned().await;
            pull_queue(&conn, &spec, queue_id, from, to, sub_version).await
        }));
    }
    let mut total = ConsumeOutcome::default();
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(q)) => {
                total.messages += q.messages;
                total.record_bytes += q.record_bytes;
                total.body_bytes += q.body_bytes;
                total.pulls += q.pulls;
                total.missing += q.missing;
                total.latency.merge(&q.latency);
            }
            Ok(Err(e)) => first_error = first_error.or(Some(e)),
            Err(e) => first_error = first_error.or(Some(BenchError::Broker(e.to_string()))),
        }
    }
    total.elapsed = start.elapsed();
    for c in conns.values().flatten() {
        client::unregister(
            c,
            &client_id,
            None,
            Some(&spec.consumer_group),
            spec.timeout,
        )
        .await;
        c.close();
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// How many times in a row a queue may answer "nothing here" below its known end before the
/// run gives up on it (the backlog was measured as dispatched, so this means lost messages).
const MAX_EMPTY_PULLS: u32 = 50;

async fn pull_queue(
    conn: &RemotingClient,
    spec: &ConsumeSpec,
    queue_id: i32,
    from: i64,
    to: i64,
    sub_version: i64,
) -> Result<ConsumeOutcome, BenchError> {
    let mut out = ConsumeOutcome::default();
    let mut offset = from;
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
            sub_version,
            spec.timeout,
        )
        .await?;
        out.latency.record(started.elapsed());
        out.pulls += 1;
        match answer.code {
            response::SUCCESS => {
                let mut got = 0;
                for record in decode_records(&answer.body) {
                    let msg = record.map_err(|e| {
                        BenchError::Broker(format!(
                            "queue {queue_id} offset {offset}: bad record: {e}"
                        ))
                    })?;
                    if msg.queue_offset >= to {
                        break;
                    }
                    got += 1;
                    out.record_bytes += msg.store_size as u64;
                    out.body_bytes += msg.body.len() as u64;
                }
                out.messages += got;
                empty = if got == 0 { empty + 1 } else { 0 };
            }
            // PULL_NOT_FOUND below the end, or RETRY_IMMEDIATELY: ask again, from where the
            // broker says.
            _ => empty += 1,
        }
        if empty > MAX_EMPTY_PULLS {
            break;
        }
        offset = answer.header.next_begin_offset.max(offset);
        if answer.code != response::SUCCESS && empty > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    out.missing = ((to - from) as u64).saturating_sub(out.messages);
    Ok(out)
}
