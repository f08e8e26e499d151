//! The send workload: `concurrency` senders, each either sending synchronously (one request in
//! flight, like a thread calling `producer.send(msg)`) or pipelining up to `window` requests
//! (like `producer.send(msg, callback)`, whose in-flight count Java bounds with a semaphore).
//! All senders share `connections` connections per broker (a Java client instance keeps one).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use remoting::RemotingClient;

use crate::client::{self, BenchError, CycleProperty, MessageFactory, QueueTarget};
use crate::histogram::LatencyHistogram;
use crate::proc_stats::{self, ProcUsage};
use crate::timer::TimerSchedule;

/// Sync or pipelined sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendMode {
    Sync,
    Async { window: usize },
}

impl SendMode {
    /// The client threads a measured run of this mode uses unless told (0 = one per core).
    ///
    /// Sync senders on one thread: a response wakes its sender and the sender's next request
    /// goes out without a futex wake between runtime workers. At 16 sync senders against a
    /// SYNC_FLUSH broker that halves the client's CPU per message (16.4 → 9.5 µs) and the freed
    /// core goes to the broker (29.5 k → 34–36 k msg/s). The async pipeline spends its CPU
    /// building and encoding requests instead, and 4 senders × 32 in flight run 14 % slower on
    /// one thread (137 k against 161 k msg/s), so it keeps one thread per core.
    pub fn client_threads(self) -> usize {
        match self {
            SendMode::Sync => 1,
            SendMode::Async { .. } => 0,
        }
    }
}

/// When a run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Measure for this long after the warm-up.
    Duration { warmup: Duration, measure: Duration },
    /// Send exactly this many messages in total (no warm-up).
    Messages(u64),
}

#[derive(Clone, Debug)]
pub struct SendSpec {
    pub producer_group: String,
    pub topic: String,
    pub body_size: usize,
    pub concurrency: usize,
    pub mode: SendMode,
    pub stop: Stop,
    pub connections: usize,
    pub timeout: Duration,
    /// The broker process, sampled when the measured window opens and after the last answer.
    pub broker_pid: Option<u32>,
    /// A user property cycling with the send's ticket (the run-wide number of the message).
    pub property: Option<CycleProperty>,
    /// Timer messages: message `ticket` is due at `timer.due(ticket)`.
    pub timer: Option<TimerSchedule>,
}

/// What a run measured. Only sends started inside the measured window count.
#[derive(Debug, Default)]
pub struct SendOutcome {
    pub ok: u64,
    /// Failed sends by response code, or -1 for no answer (timeout, closed connection).
    pub errors: BTreeMap<i32, u64>,
    pub body_bytes: u64,
    pub elapsed: Duration,
    pub latency: LatencyHistogram,
    /// The broker's RSS and CPU time over the measured window (when its pid was given).
    pub broker: Option<ProcUsage>,
}

impl SendOutcome {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Error key of a send that got no response.
pub const NO_RESPONSE: i32 = -1;

/// Opens `connections` connections to every broker of `queues`.
pub async fn connect_all(
    queues: &[QueueTarget],
    connections: usize,
) -> Result<HashMap<SocketAddr, Vec<RemotingClient>>, BenchError> {
    let mut out: HashMap<SocketAddr, Vec<RemotingClient>> = HashMap::new();
    for q in queues {
        if out.contains_key(&q.broker_addr) {
            continue;
        }
        let mut conns = Vec::new();
        for _ in 0..connections.max(1) {
            conns.push(RemotingClient::connect(q.broker_addr).await?);
        }
        out.insert(q.broker_addr, conns);
    }
    Ok(out)
}

/// [`run_send`] on a runtime of its own with `threads` threads (1: a current-thread runtime),
/// or on the caller's with 0. The connections are made inside, so they belong to that runtime.
pub async fn run_send_on(
    threads: usize,
    queues: Vec<QueueTarget>,
    spec: SendSpec,
) -> Result<SendOutcome, BenchError> {
    if threads == 0 {
        return run_send(&queues, &spec).await;
    }
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    }
    .enable_all()
    .build()
    .map_err(|e| BenchError::Client(format!("cannot start the client runtime: {e}")))?;
    let (done, outcome) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("rmq-bench-send".into())
        .spawn(move || {
            let _ = done.send(runtime.block_on(run_send(&queues, &spec)));
        })
        .map_err(|e| BenchError::Client(format!("cannot start the client thread: {e}")))?;
    outcome
        .await
        .map_err(|_| BenchError::Client("the client thread ended without an outcome".into()))?
}

/// Runs the send workload against `queues` (round robin from a different start per sender,
/// as Java's per-thread `sendWhichQueue`).
pub async fn run_send(queues: &[QueueTarget], spec: &SendSpec) -> Result<SendOutcome, BenchError> {
    if queues.is_empty() {
        return Err(BenchError::Broker("the topic has no writable queue".into()));
    }
    let conns = Arc::new(connect_all(queues, spec.connections).await?);
    let client_id = client::client_id();
    for c in conns.values().flatten() {
        client::heartbeat_producer(c, &client_id, &spec.producer_group, spec.timeout).await?;
    }
    let body = Bytes::from(make_body(spec.body_size));
    let start = Instant::now();
    let (measure_start, deadline) = match spec.stop {
        Stop::Duration { warmup, measure } => (start + warmup, Some(start + warmup + measure)),
        Stop::Messages(_) => (start, None),
    };
    let limit = match spec.stop {
        Stop::Messages(n) => Some(n),
        Stop::Duration { .. } => None,
    };
    // Sample the broker when the measured window opens (after the warm-up).
    let first_sample = spec.broker_pid.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_start.into()).await;
            proc_stats::sample(pid)
        })
    });
    let tickets = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for sender in 0..spec.concurrency.max(1) {
        let ctx = SenderCtx {
            queues: queues.to_vec(),
            conns: conns.clone(),
            factory: MessageFactory::new(
                &spec.producer_group,
                &spec.topic,
                body.clone(),
                sender as u32,
            )
            .with_cycle_property(spec.property.clone())
            .with_timer(spec.timer.clone()),
            sender,
            tickets: tickets.clone(),
            limit,
            measure_start,
            deadline,
            timeout: spec.timeout,
        };
        tasks.push(tokio::spawn(match spec.mode {
            SendMode::Sync => ctx.run(1),
            SendMode::Async { window } => ctx.run(window.max(1)),
        }));
    }
    let mut total = SendOutcome::default();
    let mut last_done = measure_start;
    for task in tasks {
        let (outcome, done) = task
            .await
            .map_err(|e| BenchError::Broker(format!("sender task failed: {e}")))?;
        total.ok += outcome.ok;
        total.body_bytes += outcome.body_bytes;
        for (code, n) in outcome.errors {
            *total.errors.entry(code).or_default() += n;
        }
        total.latency.merge(&outcome.latency);
        last_done = last_done.max(done);
    }
    // The window closes at the deadline, or later if the sends started before it were still
    // being answered (so TPS is never overstated).
    total.elapsed = match deadline {
        Some(deadline) => last_done.max(deadline) - measure_start,
        None => last_done - measure_start,
    };
    if let (Some(pid), Some(first)) = (spec.broker_pid, first_sample) {
        let broker_error = |e: String| BenchError::Broker(format!("broker pid {pid}: {e}"));
        let before = first
            .await
            .map_err(|e| broker_error(e.to_string()))?
            .map_err(|e| broker_error(e.to_string()))?;
        let after = proc_stats::sample(pid).map_err(|e| broker_error(e.to_string()))?;
        total.broker = Some(proc_stats::usage(&before, &after));
    }
    for c in conns.values().flatten() {
        client::unregister(
            c,
            &client_id,
            Some(&spec.producer_group),
            None,
            spec.timeout,
        )
        .await;
        c.close();
    }
    Ok(total)
}

/// The message body: printable bytes (a compressing transport would learn nothing from it that
/// it would not from real payloads of this size).
pub fn make_body(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

struct SenderCtx {
    queues: Vec<QueueTarget>,
    conns: Arc<HashMap<SocketAddr, Vec<RemotingClient>>>,
    factory: MessageFactory,
    sender: usize,
    tickets: Arc<AtomicU64>,
    limit: Option<u64>,
    measure_start: Instant,
    deadline: Option<Instant>,
    timeout: Duration,
}

impl SenderCtx {
    /// The ticket (run-wide number, from 0) of another message if one may be started now.
    /// With a message count, tickets `0..count` are each handed out exactly once.
    fn take_ticket(&self) -> Option<u64> {
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                return None;
            }
        }
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        match self.limit {
            Some(limit) if ticket >= limit => None,
            _ => Some(ticket),
        }
    }

    /// Sends with up to `window` requests in flight; returns what was measured and when the
    /// last measured answer arrived.
    async fn run(mut self, window: usize) -> (SendOutcome, Instant) {
        let mut out = SendOutcome::default();
        let mut last_done = self.measure_start;
        let mut next_queue = self.sender;
        let mut in_flight = FuturesUnordered::new();
        let body_len = self.factory.body_len() as u64;
        // A closed connection (the broker went away) ends the sender instead of spinning
        // through instant failures until the deadline.
        let mut broken = false;
        loop {
            while in_flight.len() < window && !broken {
                let Some(ticket) = self.take_ticket() else {
                    break;
                };
                let target = &self.queues[next_queue % self.queues.len()];
                next_queue += 1;
                let conns = &self.conns[&target.broker_addr];
                let conn = conns[self.sender % conns.len()].clone();
                let request = self.factory.next(target.queue_id, ticket);
                let timeout = self.timeout;
                in_flight.push(async move {
                    let started = Instant::now();
                    let result = conn.invoke(request, timeout).await;
                    (started, Instant::now(), result)
                });
            }
            let Some((started, done, result)) = in_flight.next().await else {
                break;
            };
            if result.is_err()
                && self
                    .conns
                    .values()
                    .flatten()
                    .any(|c| c.connection().is_closed())
            {
                broken = true;
            }
            if started < self.measure_start {
                continue;
            }
            last_done = last_done.max(done);
            match result {
                Ok(resp) => match client::check_send_response(&resp) {
                    Ok(_) => {
                        out.ok += 1;
                        out.body_bytes += body_len;
                        out.latency.record(done - started);
                    }
                    Err(code) => *out.errors.entry(code).or_default() += 1,
                },
                Err(_) => *out.errors.entry(NO_RESPONSE).or_default() += 1,
            }
        }
        (out, last_done)
    }
}
