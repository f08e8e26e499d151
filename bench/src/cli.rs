//! Command line of `rmq-bench`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rmq-bench",
    about = "Load generator for a RocketMQ broker: send TPS and latency, consume TPS, broker RSS and CPU"
)]
pub struct Cli {
    /// Name server address; the broker and the topic's queues are found through it.
    #[arg(short = 'n', long, default_value = "127.0.0.1:9876", global = true)]
    pub namesrv: SocketAddr,
    /// Topic to send to (created on every master with --queues queues if the name server
    /// does not know it).
    #[arg(long, default_value = "rmq_bench", global = true)]
    pub topic: String,
    /// Read/write queues of a topic the benchmark creates.
    #[arg(long, default_value_t = 8, global = true)]
    pub queues: i32,
    /// The broker's pid: its RSS (VmRSS) and CPU time (utime + stime) go into each row.
    #[arg(long, global = true)]
    pub broker_pid: Option<u32>,
    /// Request timeout in milliseconds (Java's sendMsgTimeout is 3000).
    #[arg(long, default_value_t = 3000, global = true)]
    pub timeout_ms: u64,
    /// How long to wait for a broker to register with the name server, in seconds.
    #[arg(long, default_value = "30", value_parser = parse_seconds, global = true)]
    pub wait_broker: Duration,
    /// Append every row as a JSON line to this file.
    #[arg(long, global = true)]
    pub results: Option<PathBuf>,
    /// First column of each row (e.g. the broker's flush mode).
    #[arg(long, default_value = "-", global = true)]
    pub label: String,
    /// Threads the measured sends run on: 1 = one thread, 0 = one per core. Default: 1 for
    /// sync senders (a response wakes its sender on the same thread: the lightest client, so
    /// the broker is the bottleneck), one per core with --async (building and encoding
    /// 150 k messages a second takes more than one core).
    #[arg(long, global = true)]
    pub client_threads: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Send messages: sync (one in flight per sender) or --async (a window per sender).
    Send(SendArgs),
    /// Pull a topic's backlog (optionally pre-loaded first) with every queue in parallel.
    Consume(ConsumeArgs),
    /// Sync and async sends for each size and concurrency, then a consume of a backlog.
    Suite(SuiteArgs),
    /// Server-side filtering: a consumer group (SQL92 selector, or every tag) registers, a
    /// backlog whose messages carry a cycling user property is loaded into `<topic>_filter`,
    /// then the group pulls it all; delivered and scanned messages per second, checked
    /// against the count the selector must deliver (a wrong count fails the run).
    Filter(FilterArgs),
    /// 5.x timer messages: --messages timers due evenly over --window seconds (the first
    /// --lead seconds after the start) are sent as fast as the broker takes them (enqueue TPS);
    /// once all are delivered to `<topic>_timer_<start>` they are pulled back and each one's
    /// lateness (store time in the real topic minus the time it asked for) goes into p50/p99.
    Timer(TimerArgs),
    /// Print the table of one or more --results files.
    Report {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Compare two broker builds from --results files whose rows are labelled `A:<pass>` and
    /// `B:<pass>` (what `scripts/bench --compare` writes): each side's median TPS, p99 and
    /// broker CPU µs per message over its rounds, and B/A.
    Compare {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct SendArgs {
    /// Body size: bytes, or with a k/KiB or m/MiB suffix.
    #[arg(long, default_value = "128", value_parser = parse_size)]
    pub size: usize,
    /// Concurrent senders.
    #[arg(short = 'c', long, default_value_t = 1)]
    pub concurrency: usize,
    /// Pipeline sends: up to --window requests in flight per sender.
    #[arg(long = "async")]
    pub async_mode: bool,
    /// In-flight requests per sender with --async.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Seconds measured (after --warmup).
    #[arg(long, default_value = "5", value_parser = parse_seconds, conflicts_with = "messages")]
    pub duration: Duration,
    /// Seconds sent before measuring.
    #[arg(long, default_value = "1", value_parser = parse_seconds, conflicts_with = "messages")]
    pub warmup: Duration,
    /// Send exactly this many messages instead of running for --duration.
    #[arg(long)]
    pub messages: Option<u64>,
    /// Connections per broker shared by the senders (a Java client instance has one).
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    /// Send this many messages (async, 4 senders) before consuming; 0 uses what is there.
    #[arg(long, default_value_t = 0)]
    pub preload: u64,
    /// Body size of pre-loaded messages.
    #[arg(long, default_value = "1KiB", value_parser = parse_size)]
    pub size: usize,
    /// Consumer group (default: a new one, so the backlog is read from the first offset).
    #[arg(long)]
    pub group: Option<String>,
    /// Messages per pull.
    #[arg(long, default_value_t = 32)]
    pub batch: i32,
    /// Queues pulled at the same time (default: all).
    #[arg(long)]
    pub parallel: Option<usize>,
    /// Read at most this many messages in total (spread evenly over the queues).
    #[arg(long)]
    pub max_messages: Option<u64>,
}

#[derive(Args, Debug)]
pub struct FilterArgs {
    /// Messages in the backlog (sent by 4 async senders once the group is registered, so a
    /// broker computing filter bitmaps computes them for this group).
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Body size of the backlog's messages.
    #[arg(long, default_value = "1KiB", value_parser = parse_size)]
    pub size: usize,
    /// The group's SQL92 selector (e.g. `p = 3`: 10 % of the backlog); without it the group
    /// subscribes to every tag and the broker filters nothing.
    #[arg(long)]
    pub sql: Option<String>,
    /// The user property of the backlog: message i carries <PROPERTY> = i % <MODULUS>.
    #[arg(long, default_value = "p")]
    pub property: String,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub modulus: u64,
    /// Messages per pull (delivered ones: the broker scans past the others).
    #[arg(long, default_value_t = 32)]
    pub batch: i32,
}

#[derive(Args, Debug)]
pub struct TimerArgs {
    /// Timer messages sent.
    #[arg(long, default_value_t = 1_000_000)]
    pub messages: u64,
    /// Seconds the due times span.
    #[arg(long, default_value = "60", value_parser = parse_seconds)]
    pub window: Duration,
    /// Seconds from the start to the first due time.
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub lead: Duration,
    /// Body size.
    #[arg(long, default_value = "128", value_parser = parse_size)]
    pub size: usize,
    /// Async senders.
    #[arg(short = 'c', long, default_value_t = 4)]
    pub concurrency: usize,
    /// In-flight sends per sender.
    #[arg(long = "inflight", default_value_t = 64)]
    pub inflight: usize,
    /// How long after the last due time the delivered messages may take to all be there.
    #[arg(long, default_value = "120", value_parser = parse_seconds)]
    pub drain: Duration,
}

#[derive(Args, Debug)]
pub struct SuiteArgs {
    /// Body sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "128,1KiB", value_parser = parse_size)]
    pub sizes: Vec<usize>,
    /// Sender counts, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub concurrency: Vec<usize>,
    /// In-flight requests per sender in the async runs.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Send modes run, comma-separated: `sync`, `async` or both.
    #[arg(long, value_delimiter = ',', default_value = "sync,async", value_parser = ["sync", "async"])]
    pub modes: Vec<String>,
    /// Seconds measured per send run [default: 4, --long: 30].
    #[arg(long, value_parser = parse_seconds)]
    pub duration: Option<Duration>,
    /// Warm-up seconds per send run [default: 1, --long: 5].
    #[arg(long, value_parser = parse_seconds)]
    pub warmup: Option<Duration>,
    /// Messages (1 KiB) pre-loaded into `<topic>_backlog` and consumed [default: 100000,
    /// --long: 1000000].
    #[arg(long)]
    pub consume_messages: Option<u64>,
    /// Longer runs (defaults above).
    #[arg(long)]
    pub long: bool,
}

/// The suite's durations and sizes once `--long` is applied to what was not given.
#[derive(Clone, Debug, PartialEq)]
pub struct SuitePlan {
    pub sizes: Vec<usize>,
    pub concurrency: Vec<usize>,
    pub window: usize,
    /// Whether the sync and the async runs are made.
    pub sync: bool,
    pub async_: bool,
    pub duration: Duration,
    pub warmup: Duration,
    pub consume_messages: u64,
}

impl SuiteArgs {
    pub fn plan(&self) -> SuitePlan {
        let (duration, warmup, consume) = if self.long {
            (30, 5, 1_000_000)
        } else {
            (4, 1, 100_000)
        };
        SuitePlan {
            sizes: self.sizes.clone(),
            concurrency: self.concurrency.clone(),
            window: self.window,
            sync: self.modes.iter().any(|m| m == "sync"),
            async_: self.modes.iter().any(|m| m == "async"),
            duration: self.duration.unwrap_or(Duration::from_secs(duration)),
            warmup: self.warmup.unwrap_or(Duration::from_secs(warmup)),
            consume_messages: self.consume_messages.unwrap_or(consume),
        }
    }
}

/// A non-negative number of seconds, fractions allowed (`4`, `0.5`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

/// `128`, `1k`, `1KiB`, `4m`, `4MiB` (powers of 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let (digits, unit) = match lower.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => lower.split_at(i),
        None => (lower.as_str(), ""),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 128, 1KiB, 4m)"))?;
    let factor = match unit {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (B, KiB or MiB)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("rmq-bench").chain(args.iter().copied()))
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128"), Ok(128));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("4MiB"), Ok(4 << 20));
        assert_eq!(parse_size("12B"), Ok(12));
        assert!(parse_size("1GiB").is_err());
        assert!(parse_size("KiB").is_err());
        assert!(parse_size("-1").is_err());
    }

    #[test]
    fn send_defaults_and_flags() {
        let cli = parse(&["send"]).unwrap();
        assert_eq!(cli.namesrv, "127.0.0.1:9876".parse().unwrap());
        assert_eq!(
            (cli.topic.as_str(), cli.queues, cli.timeout_ms),
            ("rmq_bench", 8, 3000)
        );
        let Command::Send(s) = cli.command else {
            panic!("send")
        };
        assert_eq!(
            (s.size, s.concurrency, s.async_mode, s.messages),
            (128, 1, false, None)
        );
        let cli = parse(&[
            "send",
            "--size",
            "1KiB",
            "-c",
            "64",
            "--async",
            "--window",
            "8",
            "--messages",
            "1000",
            "-n",
            "10.0.0.1:9000",
            "--broker-pid",
            "42",
        ])
        .unwrap();
        assert_eq!(cli.broker_pid, Some(42));
        assert_eq!(cli.namesrv.port(), 9000);
        let Command::Send(s) = cli.command else {
            panic!("send")
        };
        assert_eq!(
            (s.size, s.concurrency, s.async_mode, s.window),
            (1024, 64, true, 8)
        );
        assert_eq!(s.messages, Some(1000));
    }

    #[test]
    fn messages_and_duration_conflict() {
        assert!(parse(&["send", "--messages", "10", "--duration", "3"]).is_err());
        assert!(parse(&["send", "--size", "1x"]).is_err());
        assert!(parse(&["report"]).is_err());
    }

    #[test]
    fn filter_defaults_and_flags() {
        let Command::Filter(f) = parse(&["filter"]).unwrap().command else {
            panic!("filter")
        };
        assert_eq!(
            (f.messages, f.size, f.sql.as_deref()),
            (100_000, 1024, None)
        );
        assert_eq!((f.property.as_str(), f.modulus, f.batch), ("p", 10, 32));
        let Command::Filter(f) = parse(&[
            "filter",
            "--sql",
            "p = 3",
            "--messages",
            "5000",
            "--modulus",
            "4",
        ])
        .unwrap()
        .command
        else {
            panic!("filter")
        };
        assert_eq!(
            (f.messages, f.sql.as_deref(), f.modulus),
            (5000, Some("p = 3"), 4)
        );
        assert!(parse(&["filter", "--modulus", "0"]).is_err());
    }

    #[test]
    fn suite_plan_applies_long_to_what_was_not_given() {
        let Command::Suite(s) = parse(&["suite"]).unwrap().command else {
            panic!()
        };
        let plan = s.plan();
        assert_eq!(plan.sizes, vec![128, 1024]);
        assert_eq!(plan.concurrency, vec![1, 16, 64]);
        assert_eq!(
            (plan.duration, plan.warmup),
            (Duration::from_secs(4), Duration::from_secs(1))
        );
        assert_eq!(plan.consume_messages, 100_000);
        assert!(plan.sync && plan.async_);
        let Command::Suite(s) = parse(&["suite", "--modes", "sync"]).unwrap().command else {
            panic!()
        };
        assert!(s.plan().sync && !s.plan().async_);
        assert!(parse(&["suite", "--modes", "both"]).is_err());
        let Command::Suite(s) = parse(&[
            "suite",
            "--long",
            "--warmup",
            "2",
            "--sizes",
            "64,2k",
            "--concurrency",
            "4",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        let plan = s.plan();
        assert_eq!(
            (plan.duration, plan.warmup),
            (Duration::from_secs(30), Duration::from_secs(2))
        );
        assert_eq!(plan.consume_messages, 1_000_000);
        assert_eq!((plan.sizes, plan.concurrency), (vec![64, 2048], vec![4]));
        assert!(parse(&["suite", "--duration=-1"]).is_err());
        assert!(parse(&["suite", "--warmup", "x"]).is_err());
        let Command::Suite(s) = parse(&["suite", "--duration", "0.5"]).unwrap().command else {
            panic!()
        };
        assert_eq!(s.plan().duration, Duration::from_millis(500));
    }
}
