//! Runs the commands of the command line: each run becomes a [`Row`], printed at once (and
//! appended to the results file), with the broker's RSS and CPU time around it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use filter::sql92::Expression;

use crate::cli::{Cli, Command, ConsumeArgs, FilterArgs, SendArgs, SuitePlan};
use crate::client::{self, BenchError, CycleProperty, QueueTarget, Subscription};
use crate::consume::{self, ConsumeSpec, ConsumerSession, QueueRange};
use crate::proc_stats::{self, ProcUsage};
use crate::report::{self, FilterFigures, Row};
use crate::send::{self, SendMode, SendOutcome, SendSpec, Stop};

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
    /// `--client-threads`: `None` picks by send mode ([`SendMode::client_threads`]).
    pub client_threads: Option<usize>,
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
            client_threads: cli.client_threads,
        }
    }

    pub(crate) async fn queues_of(&self, topic: &str) -> Result<Vec<QueueTarget>, BenchError> {
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
    pub(crate) fn emit(&self, row: &Row) -> Result<(), BenchError> {
        println!("{}", report::format_any_row(row));
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
        Command::Compare { files } => {
            let mut rows = Vec::new();
            for f in files {
                rows.extend(
                    report::read_json(f)
                        .map_err(|e| BenchError::Broker(format!("{}: {e}", f.display())))?,
                );
            }
            print!(
                "{}",
                crate::compare::format_pairs(&crate::compare::pair_rows(&rows))
            );
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
        Command::Filter(args) => {
            println!("{}", report::filter_header());
            filter_run(&ctx, args).await.map(drop)
        }
        Command::Timer(args) => {
            println!("{}", crate::timer::header());
            crate::timer::run(&ctx, args).await.map(drop)
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
        property: None,
        timer: None,
    }
}

/// One send run, as a row.
pub async fn send_row(ctx: &Context, spec: &SendSpec) -> Result<Row, BenchError> {
    let queues = ctx.queues_of(&spec.topic).await?;
    let threads = ctx
        .client_threads
        .unwrap_or_else(|| spec.mode.client_threads());
    let outcome = send::run_send_on(threads, queues, spec.clone()).await?;
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
    load(ctx, topic, messages, size, None).await.map(drop)
}

/// [`preload`], the messages carrying `property` if given; returns what the sends did.
pub async fn load(
    ctx: &Context,
    topic: &str,
    messages: u64,
    size: usize,
    property: Option<CycleProperty>,
) -> Result<SendOutcome, BenchError> {
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
        property,
        timer: None,
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
    Ok(outcome)
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
        subscription: Subscription::all_tags(),
        batch: args.batch,
        parallel: args.parallel.unwrap_or(queues.len()),
        max_per_queue: args
            .max_messages
            .map(|m| m.div_ceil(queues.len().max(1) as u64) as i64),
        timeout: ctx.timeout,
        check: None,
        lateness: false,
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
    let modes = [
        (plan.sync, SendMode::Sync),
        (
            plan.async_,
            SendMode::Async {
                window: plan.window,
            },
        ),
    ];
    for mode in modes.into_iter().filter(|m| m.0).map(|m| m.1) {
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
                    property: None,
                    timer: None,
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
            subscription: Subscription::all_tags(),
            batch: 32,
            parallel: queues.len(),
            max_per_queue: None,
            timeout: ctx.timeout,
            check: None,
            lateness: false,
        };
        rows.push(consume_row(ctx, &queues, &spec, 1024).await?);
    }
    Ok(rows)
}

/// How many of messages `0..messages` (message `i` carrying `cycle.name = i % cycle.modulus`)
/// `selector` matches, the cycle property being the only one it sees; all of them without one.
pub fn expected_matches(
    selector: Option<&Expression>,
    cycle: &CycleProperty,
    messages: u64,
) -> u64 {
    let Some(selector) = selector else {
        return messages;
    };
    let modulus = cycle.modulus.max(1);
    (0..modulus.min(messages))
        .filter(|value| {
            let text = value.to_string();
            selector.matches(&|name| (name == cycle.name).then_some(text.as_str()))
        })
        // Messages value, value + modulus, … below `messages`.
        .map(|value| (messages - value - 1) / modulus + 1)
        .sum()
}

/// The `filter` command: the group registers (its filter too) before the backlog is loaded,
/// the backlog is pulled whole, and the row is checked: exactly the expected messages, each
/// matching the selector, once, and the whole backlog scanned; anything else fails the run
/// after its row is printed.
pub async fn filter_run(ctx: &Context, args: &FilterArgs) -> Result<Row, BenchError> {
    let selector = match &args.sql {
        Some(text) => Some(
            Expression::parse(text)
                .map_err(|e| BenchError::Broker(format!("--sql {text:?} does not compile: {e}")))?,
        ),
        None => None,
    };
    let cycle = CycleProperty {
        name: args.property.clone(),
        modulus: args.modulus,
    };
    let topic = format!("{}_filter", ctx.topic);
    let queues = ctx.queues_of(&topic).await?;
    let spec = ConsumeSpec {
        consumer_group: format!("rmq_bench_filter_{}", client::now_millis()),
        topic: topic.clone(),
        subscription: match &args.sql {
            Some(text) => Subscription::sql92(text),
            None => Subscription::all_tags(),
        },
        batch: args.batch,
        parallel: queues.len(),
        max_per_queue: None,
        timeout: ctx.timeout,
        check: selector.clone(),
        lateness: false,
    };
    let session = ConsumerSession::open(&queues, &spec).await?;
    let result = filter_session(ctx, args, &queues, &spec, &session, &cycle).await;
    session.close(&spec).await;
    let row = result?;
    let figures = row.filter.as_ref().expect("a filter row");
    if row.errors > 0 {
        return Err(BenchError::Broker(format!(
            "{}: {} delivered, {} expected, {} unexpected, {} of {} scanned: the figures do not count",
            row.label, row.messages, figures.expected, row.errors, figures.scanned, figures.backlog
        )));
    }
    Ok(row)
}

async fn filter_session(
    ctx: &Context,
    args: &FilterArgs,
    queues: &[QueueTarget],
    spec: &ConsumeSpec,
    session: &ConsumerSession,
    cycle: &CycleProperty,
) -> Result<Row, BenchError> {
    let before = consume::backlog(queues, &spec.topic, ctx.timeout).await?;
    let (sent, load_usage) = ctx
        .measured(load(
            ctx,
            &spec.topic,
            args.messages,
            args.size,
            Some(cycle.clone()),
        ))
        .await?;
    if sent.ok != args.messages {
        return Err(BenchError::Broker(format!(
            "{} of {} sends failed ({:?}): which messages are in the backlog is not known",
            args.messages - sent.ok.min(args.messages),
            args.messages,
            sent.errors
        )));
    }
    let after = consume::backlog(queues, &spec.topic, ctx.timeout).await?;
    let ranges: Vec<QueueRange> = queues
        .iter()
        .zip(before.iter().zip(&after))
        .map(|(q, ((_, from), (_, to)))| QueueRange {
            target: q.clone(),
            from: *from,
            to: *to,
        })
        .collect();
    let backlog: u64 = ranges.iter().map(|r| (r.to - r.from) as u64).sum();
    if backlog != args.messages {
        return Err(BenchError::Broker(format!(
            "the queues grew by {backlog} messages, not the {} sent (another producer?)",
            args.messages
        )));
    }
    let expected = expected_matches(spec.check.as_ref(), cycle, args.messages);
    // Loading may have taken a while: the group stays a live member.
    session.heartbeat(spec).await?;
    let (outcome, usage) = ctx.measured(session.pull(ranges, spec)).await?;
    eprintln!(
        "rmq-bench: {}: {} of {backlog} messages delivered ({expected} expected, {} unexpected) in {} pulls, {:.2} s",
        ctx.label,
        outcome.messages,
        outcome.unexpected,
        outcome.pulls,
        outcome.elapsed.as_secs_f64()
    );
    let errors = outcome.messages.abs_diff(expected)
        + outcome.unexpected
        + (backlog - outcome.scanned.min(backlog));
    let mut row = Row::new(
        &ctx.label,
        "filter",
        args.size,
        spec.parallel,
        outcome.messages,
        errors,
        outcome.record_bytes,
        outcome.elapsed,
        &outcome.latency,
        usage,
    );
    let seconds = outcome.elapsed.as_secs_f64();
    row.filter = Some(FilterFigures {
        expression: args.sql.clone(),
        backlog,
        expected,
        scanned: outcome.scanned,
        scanned_per_sec: if seconds > 0.0 {
            outcome.scanned as f64 / seconds
        } else {
            0.0
        },
        load_cpu_secs: load_usage.map(|u| u.cpu_secs),
    });
    ctx.emit(&row)?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_matches_counts_the_cycle() {
        let cycle = CycleProperty {
            name: "p".to_owned(),
            modulus: 10,
        };
        let count =
            |sql: &str, n| expected_matches(Some(&Expression::parse(sql).unwrap()), &cycle, n);
        assert_eq!(expected_matches(None, &cycle, 1234), 1234);
        assert_eq!(count("p = 3", 100_000), 10_000);
        // 0..1005: values 0..=4 once more.
        assert_eq!(count("p = 3", 1005), 101);
        assert_eq!(count("p = 7", 1005), 100);
        assert_eq!(count("p < 2 OR p = 9", 1000), 300);
        assert_eq!(count("p = 3", 3), 0);
        assert_eq!(count("p = 3", 0), 0);
        // Other properties are absent: unknown, so no match.
        assert_eq!(count("q = 3", 1000), 0);
        assert_eq!(count("q IS NULL", 1000), 1000);
    }
}
