//! Runs the commands of the command line: each run becomes a [`Row`], printed at once (and
//! appended to the results file), with the broker's RSS and CPU time around it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, Command, ConsumeArgs, SendArgs, SuitePlan};
use crate::client::{self, BenchError, QueueTarget};
use crate::consume::{self, ConsumeSpec};
use crate::proc_stats::{self, ProcUsage};
use crate::report::{self, Row};
use crate::send::{self, SendMode, SendSpec, Stop};

/// What every run shares.
#[derive(Clone, Debug)]
pub struct Context {
    pub namesrv: SocketAddr,
    pub topic: String,
    pub queues: i32,
    pub broker_pid: Option<u32>,
    pub timeout: Duration,
    pub wait_broker: Duration,
    pub results: Option<PathBuf>,
    pub label: String,
}

impl Context {
    pub fn from_cli(cli: &Cli) -> Context {
        Context {
            namesrv: cli.namesrv,
            topic: cli.topic.clone(),
            queues: cli.queues,
            broker_pid: cli.broker_pid,
            timeout: Duration::from_millis(cli.timeout_ms),
            wait_broker: cli.wait_broker,
            results: cli.results.clone(),
            label: cli.label.clone(),
        }
    }

    async fn queues_of(&self, topic: &str) -> Result<Vec<QueueTarget>, BenchError> {
        client::ensure_topic(
            self.namesrv,
            topic,
            self.queues,
            self.wait_broker,
            self.timeout,
        )
        .await
    }

    /// Prints the row and appends it to the results file.
    fn emit(&self, row: &Row) -> Result<(), BenchError> {
        println!("{}", report::format_row(row));
        if let Some(path) = &self.results {
            report::append_json(path, row)
                .map_err(|e| BenchError::Broker(format!("{}: {e}", path.display())))?;
        }
        Ok(())
    }

    /// Runs `f` between two samples of the broker process (a send run samples its measured
    /// window itself, after the warm-up).
    async fn measured<T, F>(&self, f: F) -> Result<(T, Option<ProcUsage>), BenchError>
    where
        F: std::future::Future<Output = Result<T, BenchError>>,
    {
        let before = self.sample_broker()?;
        let value = f.await?;
        let usage = match (before, self.sample_broker()?) {
            (Some(b), Some(a)) => Some(proc_stats::usage(&b, &a)),
            _ => None,
        };
        Ok((value, usage))
    }

    fn sample_broker(&self) -> Result<Option<proc_stats::ProcSample>, BenchError> {
        match self.broker_pid {
            None => Ok(None),
            Some(pid) => proc_stats::sample(pid)
                .map(Some)
                .map_err(|e| BenchError::Broker(format!("broker pid {pid}: {e}"))),
        }
    }
}

/// Runs one command line.
pub async fn run(cli: Cli) -> Result<(), BenchError> {
    let ctx = Context::from_cli(&cli);
    match &cli.command {
        Command::Report { files } => {
            let mut rows = Vec::new();
            for f in files {
                rows.extend(
                    report::read_json(f)
                        .map_err(|e| BenchError::Broker(format!("{}: {e}", f.display())))?,
                );
            }
            print!("{}", report::format_table(&rows));
            Ok(())
        }
        Command::Send(args) => {
            println!("{}", report::header());
            send_row(&ctx, &send_spec(&ctx, args)).await.map(drop)
        }
        Command::Consume(args) => {
            println!("{}", report::header());
            consume_command(&ctx, args).await.map(drop)
        }
        Command::Suite(args) => {
            let plan = args.plan();
            println!("{}", report::header());
            suite(&ctx, &plan).await.map(drop)
        }
    }
}

fn send_spec(ctx: &Context, args: &SendArgs) -> SendSpec {
    SendSpec {
        producer_group: "rmq_bench_producer".to_owned(),
        topic: ctx.topic.clone(),
        body_size: args.size,
        concurrency: args.concurrency,
        mode: if args.async_mode {
            SendMode::Async {
                window: args.window,
            }
        } else {
            SendMode::Sync
        },
        stop: match args.messages {
            Some(n) => Stop::Messages(n),
            None => Stop::Duration {
                warmup: args.warmup,
                measure: args.duration,
            },
        },
        connections: args.connections,
        timeout: ctx.timeout,
        broker_pid: ctx.broker_pid,
    }
}

/// One send run, as a row.
pub async fn send_row(ctx: &Context, spec: &SendSpec) -> Result<Row, BenchError> {
    let queues = ctx.queues_of(&spec.topic).await?;
    let outcome = send::run_send(&queues, spec).await?;
    if !outcome.errors.is_empty() {
        eprintln!(
            "rmq-bench: {} failed sends by response code (-1: no response): {:?}",
            outcome.error_count(),
            outcome.errors
        );
    }
    let mode = match spec.mode {
        SendMode::Sync => "sync",
        SendMode::Async { .. } => "async",
    };
    let row = Row::new(
        &ctx.label,
        mode,
        spec.body_size,
        spec.concurrency,
        outcome.ok,
        outcome.error_count(),
        outcome.body_bytes,
        outcome.elapsed,
        &outcome.latency,
        outcome.broker,
    );
    ctx.emit(&row)?;
    Ok(row)
}

/// Sends `messages` messages of `size` bytes to `topic` as fast as 4 async senders can, and
/// waits until the broker has dispatched them to its consume queues.
pub async fn preload(
    ctx: &Context,
    topic: &str,
    messages: u64,
    size: usize,
) -> Result<(), BenchError> {
    let queues = ctx.queues_of(topic).await?;
    let before: u64 = consume::backlog(&queues, topic, ctx.timeout)
        .await?
        .iter()
        .map(|(min, max)| (max - min) as u64)
        .sum();
    let spec = SendSpec {
        producer_group: "rmq_bench_producer".to_owned(),
        topic: topic.to_owned(),
        body_size: size,
        concurrency: 4,
        mode: SendMode::Async { window: 64 },
        stop: Stop::Messages(messages),
        connections: 1,
        timeout: ctx.timeout,
        broker_pid: None,
    };
    let outcome = send::run_send(&queues, &spec).await?;
    let there = consume::wait_for_backlog(
        &queues,
        topic,
        before + outcome.ok,
        Duration::from_secs(30),
        ctx.timeout,
    )
    .await?;
    eprintln!(
        "rmq-bench: pre-loaded {} messages of {} into {topic} in {:.1} s ({} failed); backlog {there}",
        outcome.ok,
        report::format_size(size),
        outcome.elapsed.as_secs_f64(),
        outcome.error_count()
    );
    Ok(())
}

async fn consume_command(ctx: &Context, args: &ConsumeArgs) -> Result<Row, BenchError> {
    if args.preload > 0 {
        preload(ctx, &ctx.topic, args.preload, args.size).await?;
    }
    let queues = ctx.queues_of(&ctx.topic).await?;
    let spec = ConsumeSpec {
        consumer_group: args
            .group
            .clone()
            .unwrap_or_else(|| format!("rmq_bench_consumer_{}", client::now_millis())),
        topic: ctx.topic.clone(),
        batch: args.batch,
        parallel: args.parallel.unwrap_or(queues.len()),
        max_per_queue: args
            .max_messages
            .map(|m| m.div_ceil(queues.len().max(1) as u64) as i64),
        timeout: ctx.timeout,
    };
    consume_row(ctx, &queues, &spec, args.size).await
}

/// One consume run, as a row. `size` is only the label of the size column.
pub async fn consume_row(
    ctx: &Context,
    queues: &[QueueTarget],
    spec: &ConsumeSpec,
    size: usize,
) -> Result<Row, BenchError> {
    let (outcome, usage) = ctx.measured(consume::run_consume(queues, spec)).await?;
    if outcome.missing > 0 {
        eprintln!(
            "rmq-bench: {} messages of the backlog were not received",
            outcome.missing
        );
    }
    eprintln!(
        "rmq-bench: consumed {} messages in {} pulls ({:.1} MiB of bodies)",
        outcome.messages,
        outcome.pulls,
        outcome.body_bytes as f64 / (1024.0 * 1024.0)
    );
    let row = Row::new(
        &ctx.label,
        "consume",
        size,
        spec.parallel,
        outcome.messages,
        outcome.missing,
        outcome.record_bytes,
        outcome.elapsed,
        &outcome.latency,
        usage,
    );
    ctx.emit(&row)?;
    Ok(row)
}

/// Sync then async sends for every size and concurrency, then the consume of a fresh
/// 1 KiB backlog in `<topic>_backlog`.
pub async fn suite(ctx: &Context, plan: &SuitePlan) -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    for mode in [
        SendMode::Sync,
        SendMode::Async {
            window: plan.window,
        },
    ] {
        for &size in &plan.sizes {
            for &concurrency in &plan.concurrency {
                let spec = SendSpec {
                    producer_group: "rmq_bench_producer".to_owned(),
                    topic: ctx.topic.clone(),
                    body_size: size,
                    concurrency,
                    mode,
                    stop: Stop::Duration {
                        warmup: plan.warmup,
                        measure: plan.duration,
                    },
                    connections: 1,
                    timeout: ctx.timeout,
                    broker_pid: ctx.broker_pid,
                };
                rows.push(send_row(ctx, &spec).await?);
            }
        }
    }
    if plan.consume_messages > 0 {
        let topic = format!("{}_backlog", ctx.topic);
        preload(ctx, &topic, plan.consume_messages, 1024).await?;
        let queues = ctx.queues_of(&topic).await?;
        let spec = ConsumeSpec {
            consumer_group: format!("rmq_bench_consumer_{}", client::now_millis()),
            topic,
            batch: 32,
            parallel: queues.len(),
            max_per_queue: None,
            timeout: ctx.timeout,
        };
        rows.push(consume_row(ctx, &queues, &spec, 1024).await?);
    }
    Ok(rows)
}
