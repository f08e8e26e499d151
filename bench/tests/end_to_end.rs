//! The load generator against our name server and an in-process fake broker
//! (`support/fake_broker.rs`): route lookup, topic creation, sync/async/timed sends, preload
//! and consume, the results file and the table, checked against what the broker received.

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bench::cli::FilterArgs;
use bench::client;
use bench::consume::ConsumeSpec;
use bench::report;
use bench::runner::{self, Context};
use bench::send::{SendMode, SendSpec, Stop};
use namesrv::config::NamesrvConfig;
use remoting::RemotingClient;
use remoting_codec::code::response;
use support::fake_broker::FakeBroker;

/// Request timeouts and waits of the tests: only a hang reaches them (a loaded machine answers
/// slowly, and a timed-out request would count as an error).
const LONG: Duration = Duration::from_secs(30);

struct Setup {
    namesrv: SocketAddr,
    broker: FakeBroker,
    dir: PathBuf,
    _stop_namesrv: tokio::sync::oneshot::Sender<()>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn setup(name: &str) -> Setup {
    let dir = std::env::temp_dir().join(format!("rmq-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = NamesrvConfig::with_defaults(&dir, None);
    config.set("bindAddress", "127.0.0.1");
    config.set("listenPort", "0");
    let bound = namesrv::bind(config, namesrv::Timing::default())
        .await
        .unwrap();
    let namesrv = bound.local_addr().unwrap();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async {
        let _ = stop_rx.await;
    }));
    let broker = FakeBroker::start(
        "127.0.0.1:0".parse().unwrap(),
        namesrv,
        "BenchCluster",
        "fake-broker",
    )
    .await;
    Setup {
        namesrv,
        broker,
        dir,
        _stop_namesrv: stop,
    }
}

fn context(s: &Setup, topic: &str) -> Context {
    Context {
        namesrv: s.namesrv,
        topic: topic.to_owned(),
        queues: 8,
        broker_pid: None,
        timeout: LONG,
        wait_broker: LONG,
        results: Some(s.dir.join("results.jsonl")),
        label: "FAKE".to_owned(),
        client_threads: None,
    }
}

fn spec(topic: &str, size: usize, concurrency: usize, mode: SendMode, stop: Stop) -> SendSpec {
    SendSpec {
        producer_group: "pg".to_owned(),
        topic: topic.to_owned(),
        body_size: size,
        concurrency,
        mode,
        stop,
        connections: 1,
        timeout: LONG,
        broker_pid: None,
        property: None,
        timer: None,
    }
}

/// Every message has the Java producer's properties, the body asked for, and its own UNIQ_KEY.
fn check_messages(s: &Setup, topic: &str, expected: usize, size: usize) {
    let messages = s.broker.messages(topic);
    assert_eq!(messages.len(), expected);
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    for m in &messages {
        assert_eq!(m.body.len(), size);
        assert_eq!(m.properties.tags(), Some("TagA"));
        assert!(m.properties.wait_store_msg_ok());
        keys.insert(m.properties.keys().expect("KEYS").to_owned());
        ids.insert(m.properties.uniq_key().expect("UNIQ_KEY").to_owned());
    }
    assert_eq!(ids.len(), expected, "UNIQ_KEYs repeat");
    assert_eq!(keys.len(), expected, "KEYS repeat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_send_creates_the_topic_and_spreads_over_queues() {
    let s = setup("sync").await;
    let ctx = context(&s, "BenchSync");
    let row = runner::send_row(
        &ctx,
        &spec("BenchSync", 128, 4, SendMode::Sync, Stop::Messages(400)),
    )
    .await
    .unwrap();
    assert_eq!(
        (row.messages, row.errors, row.mode.as_str()),
        (400, 0, "sync")
    );
    assert!(row.tps > 0.0 && row.p50_us > 0 && row.p50_us <= row.p999_us);
    check_messages(&s, "BenchSync", 400, 128);
    let state = s.broker.state.lock().unwrap();
    let config = &state.topics["BenchSync"];
    assert_eq!((config.read_queue_nums, config.write_queue_nums), (8, 8));
    // Each sender goes round the 8 queues from its own start, and the 400 tickets are shared
    // among the 4 senders, so every queue gets 50 give or take one per sender.
    let queues = &state.queues["BenchSync"];
    let lens: Vec<usize> = queues.values().map(Vec::len).collect();
    assert_eq!(lens.len(), 8);
    assert!(lens.iter().all(|&n| n.abs_diff(50) <= 4), "{lens:?}");
    assert!(state.producer_groups.iter().any(|g| g == "pg"));
}

/// Each `--client-threads` choice runs the whole count: 0 on the caller's runtime, 1 on a
/// current-thread runtime of its own (the sync default), 2 on a multi-thread one of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_runtime_sends_the_whole_count() {
    let s = setup("threads").await;
    for threads in [0, 1, 2] {
        let topic = format!("BenchThreads{threads}");
        let mut ctx = context(&s, &topic);
        ctx.client_threads = Some(threads);
        let spec = spec(
            &topic,
            256,
            3,
            SendMode::Async { window: 4 },
            Stop::Messages(300),
        );
        let row = runner::send_row(&ctx, &spec).await.unwrap();
        assert_eq!((row.messages, row.errors), (300, 0), "{threads} threads");
        check_messages(&s, &topic, 300, 256);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_send_pipelines_exactly_the_count() {
    let s = setup("async").await;
    let ctx = context(&s, "BenchAsync");
    let row = runner::send_row(
        &ctx,
        &spec(
            "BenchAsync",
            1024,
            3,
            SendMode::Async { window: 16 },
            Stop::Messages(3000),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        (row.messages, row.errors, row.mode.as_str()),
        (3000, 0, "async")
    );
    check_messages(&s, "BenchAsync", 3000, 1024);
    assert!((row.mib_per_sec - row.tps * 1024.0 / (1024.0 * 1024.0)).abs() < 1e-6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_send_measures_after_the_warmup_only() {
    let s = setup("timed").await;
    let ctx = context(&s, "BenchTimed");
    let mut spec = spec(
        "BenchTimed",
        128,
        2,
        SendMode::Async { window: 4 },
        Stop::Duration {
            warmup: Duration::from_millis(300),
            measure: Duration::from_millis(700),
        },
    );
    // The fake broker runs in this process.
    spec.broker_pid = Some(std::process::id());
    let row = runner::send_row(&ctx, &spec).await.unwrap();
    let stored = s.broker.messages("BenchTimed").len() as u64;
    assert!(row.messages > 0 && row.errors == 0);
    // Warm-up messages are stored but not counted.
    assert!(
        stored > row.messages,
        "stored {stored}, counted {}",
        row.messages
    );
    assert!(row.seconds >= 0.7);
    assert!(row.broker_rss_kib.unwrap() > 0 && row.broker_cpu_secs.unwrap() >= 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_reads_the_whole_backlog_after_a_heartbeat() {
    let s = setup("consume").await;
    let ctx = context(&s, "BenchBacklog");
    runner::preload(&ctx, "BenchBacklog", 1000, 1024)
        .await
        .unwrap();
    check_messages(&s, "BenchBacklog", 1000, 1024);

    // The fake broker refuses a pull without the subscription flag before a heartbeat, as Java
    // does, so the consume below passing proves the generator heartbeats first.
    let queues = client::ensure_topic(s.namesrv, "BenchBacklog", 8, LONG, LONG)
        .await
        .unwrap();
    let conn = RemotingClient::connect(queues[0].broker_addr)
        .await
        .unwrap();
    let err = client::pull(&conn, "nobody", "BenchBacklog", 0, 0, 32, "TAG", 1, LONG)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("code {}", response::SUBSCRIPTION_NOT_EXIST)),
        "{err}"
    );
    assert_eq!(s.broker.state.lock().unwrap().pulls_before_heartbeat, 1);

    let spec = ConsumeSpec {
        consumer_group: "cg".to_owned(),
        topic: "BenchBacklog".to_owned(),
        subscription: client::Subscription::all_tags(),
        batch: 32,
        parallel: 8,
        max_per_queue: None,
        timeout: LONG,
        check: None,
        lateness: false,
    };
    let row = runner::consume_row(&ctx, &queues, &spec, 1024)
        .await
        .unwrap();
    assert_eq!(
        (row.messages, row.errors, row.mode.as_str()),
        (1000, 0, "consume")
    );
    assert!(row.p50_us > 0);
    let state = s.broker.state.lock().unwrap();
    assert_eq!(state.pulls_before_heartbeat, 1);
    assert!(state.subscriptions["cg"].contains_key("BenchBacklog"));
    // 125 per queue pulled 32 at a time: the last pull of each queue piggy-backs offset 96.
    for q in 0..8 {
        assert_eq!(
            state.commit_offsets[&("cg".to_owned(), "BenchBacklog".to_owned(), q)],
            96
        );
    }
    drop(state);

    // The results file holds both rows (preload prints none) and makes the same table.
    let rows = report::read_json(&ctx.results.clone().unwrap()).unwrap();
    assert_eq!(rows, vec![row]);
    let table = report::format_table(&rows);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("FAKE         consume    1KiB     8       1000"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consume_with_a_cap_reads_part_of_the_backlog() {
    let s = setup("cap").await;
    let ctx = context(&s, "BenchCap");
    runner::preload(&ctx, "BenchCap", 800, 128).await.unwrap();
    let queues = client::ensure_topic(s.namesrv, "BenchCap", 8, LONG, LONG)
        .await
        .unwrap();
    let spec = ConsumeSpec {
        consumer_group: "cg2".to_owned(),
        topic: "BenchCap".to_owned(),
        subscription: client::Subscription::all_tags(),
        batch: 32,
        parallel: 2,
        max_per_queue: Some(40),
        timeout: LONG,
        check: None,
        lateness: false,
    };
    let row = runner::consume_row(&ctx, &queues, &spec, 128)
        .await
        .unwrap();
    assert_eq!((row.messages, row.errors, row.concurrency), (320, 0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_broker_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("rmq-bench-nobroker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = NamesrvConfig::with_defaults(&dir, None);
    config.set("bindAddress", "127.0.0.1");
    config.set("listenPort", "0");
    let bound = namesrv::bind(config, namesrv::Timing::default())
        .await
        .unwrap();
    let addr = bound.local_addr().unwrap();
    let (_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async {
        let _ = stop_rx.await;
    }));
    let err = client::ensure_topic(addr, "T", 8, Duration::from_millis(300), LONG)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no broker registered"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn filter_args(messages: u64, sql: Option<&str>) -> FilterArgs {
    FilterArgs {
        messages,
        size: 128,
        sql: sql.map(str::to_owned),
        property: "p".to_owned(),
        modulus: 10,
        batch: 32,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_run_delivers_exactly_the_selected_messages() {
    let s = setup("filter").await;
    let ctx = context(&s, "BenchF");
    let row = runner::filter_run(&ctx, &filter_args(1000, Some("p = 3")))
        .await
        .unwrap();
    let f = row.filter.clone().unwrap();
    assert_eq!(
        (row.messages, row.errors, row.mode.as_str()),
        (100, 0, "filter")
    );
    assert_eq!((f.backlog, f.expected, f.scanned), (1000, 100, 1000));
    assert_eq!(f.expression.as_deref(), Some("p = 3"));
    assert!(f.scanned_per_sec > row.tps && row.tps > 0.0);
    // The backlog went to BenchF_filter, each value of p 100 times.
    let mut counts = HashMap::new();
    for m in s.broker.messages("BenchF_filter") {
        *counts
            .entry(m.properties.get("p").unwrap().to_owned())
            .or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 10);
    assert!(counts.values().all(|&n| n == 100), "{counts:?}");

    // Every tag: the next 1000 (a new backlog after the first) all delivered.
    let ctx = Context {
        label: "none".to_owned(),
        client_threads: None,
        ..ctx
    };
    let row = runner::filter_run(&ctx, &filter_args(1000, None))
        .await
        .unwrap();
    let f = row.filter.clone().unwrap();
    assert_eq!(
        (row.messages, row.errors, f.expected, f.scanned),
        (1000, 0, 1000, 1000)
    );
    assert_eq!(f.expression, None);
    let rows = report::read_json(&ctx.results.clone().unwrap()).unwrap();
    assert_eq!(rows.len(), 2);
    let table = report::format_table(&rows);
    assert!(table.starts_with("label           selector"), "{table}");
    assert!(
        table
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("none            -"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_does_not_filter_fails_the_run() {
    let s = setup("nofilter").await;
    s.broker.state.lock().unwrap().ignore_filters = true;
    let ctx = context(&s, "BenchNF");
    let err = runner::filter_run(&ctx, &filter_args(500, Some("p = 3")))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("500 delivered, 50 expected"),
        "{err}"
    );
    // The row is kept, with its errors: 450 too many, each of them not matching.
    let rows = report::read_json(&ctx.results.clone().unwrap()).unwrap();
    assert_eq!((rows[0].messages, rows[0].errors), (500, 900));
    // A selector that does not compile fails before anything is sent.
    let err = runner::filter_run(&ctx, &filter_args(500, Some("p between")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not compile"), "{err}");
}
