//! The 5.x metrics of our broker read as Prometheus reads them: `GET /metrics` on the
//! exporter of `metricsExporterType=PROM`, the text parsed into series, values looked up by
//! name and labels. [`metrics_follow_a_produce_and_consume_run`] is the proof of issue 17's
//! exporter: counts equal what a real client sent and consumed, and lag goes to 0.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::client::{Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::scenarios::{self, TOPIC};

/// One scrape: `name{labels}` → value.
#[derive(Debug, Default)]
pub struct Scrape {
    pub series: Vec<(String, BTreeMap<String, String>, f64)>,
    pub text: String,
}

impl Scrape {
    /// Parses Prometheus / OpenMetrics text (comments skipped, label values unescaped for the
    /// characters our labels can hold).
    pub fn parse(text: &str) -> Scrape {
        let mut series = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let Some((head, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => {
                    let body = rest.trim_end_matches('}');
                    let mut labels = BTreeMap::new();
                    for pair in split_labels(body) {
                        if let Some((k, v)) = pair.split_once('=') {
                            labels.insert(k.to_owned(), v.trim_matches('"').to_owned());
                        }
                    }
                    (name.to_owned(), labels)
                }
                None => (head.to_owned(), BTreeMap::new()),
            };
            series.push((name, labels, value));
        }
        Scrape {
            series,
            text: text.to_owned(),
        }
    }

    /// The sum of the series of `name` carrying every pair of `labels`; `None` when none does.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .series
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// The label sets of `name`.
    pub fn labels_of(&self, name: &str) -> Vec<&BTreeMap<String, String>> {
        self.series
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, _)| l)
            .collect()
    }
}

fn split_labels(body: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < body.len() {
        out.push(&body[start..]);
    }
    out
}

/// `GET /metrics` on `addr`: the status line and the body.
pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<(String, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    Ok((
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    ))
}

pub fn scrape(addr: SocketAddr) -> Scrape {
    let (status, body) = get(addr, "/metrics").expect("scrape /metrics");
    assert!(status.contains("200"), "scrape answered {status}");
    Scrape::parse(&body)
}

/// Scrapes until `check` passes (it returns what is still wrong), or panics with the last
/// complaint and the text after [`PHASE_TIMEOUT`].
pub fn wait_for(
    addr: SocketAddr,
    what: &str,
    check: impl Fn(&Scrape) -> Result<(), String>,
) -> Scrape {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        let s = scrape(addr);
        match check(&s) {
            Ok(()) => return s,
            Err(e) if Instant::now() > deadline => {
                panic!("{what}: {e} after {PHASE_TIMEOUT:?}\n{}", s.text)
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn expect(
    s: &Scrape,
    name: &str,
    labels: &[(&str, &str)],
    want: impl Fn(f64) -> bool,
    what: &str,
) -> Result<(), String> {
    match s.value(name, labels) {
        Some(v) if want(v) => Ok(()),
        Some(v) => Err(format!("{name}{labels:?} = {v}, expected {what}")),
        None => Err(format!("{name}{labels:?} missing")),
    }
}

/// A broker with the Prometheus exporter on a free port; a push consumer and a producer of
/// `client` move `count` messages; the scrapes show: every required series with Java's labels,
/// messages in = sent, messages out = consumed, message size counted once per send, rpc
/// latency counted for the sends, connections while the clients are up, and lag, ready and
/// in-flight messages back to 0 once the consumer committed.
pub fn metrics_follow_a_produce_and_consume_run(client: Clients, name: &str, count: u64) {
    let _serial = scenarios::serial();
    let port = crate::free_port();
    let cluster = Cluster::start_with(name, |s| {
        s.set("metricsExporterType", "PROM")
            .set("metricsPromExporterHost", "127.0.0.1")
            .set("metricsPromExporterPort", &port.to_string())
            .set("metricsLabel", "dc:test")
    });
    cluster.create_topic(TOPIC, scenarios::QUEUES);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let group = "RsMetricsGroup";

    let before = scrape(addr);
    for name in REQUIRED_ALWAYS {
        assert!(
            before.labels_of(name).iter().len() > 0,
            "{name} missing at start:\n{}",
            before.text
        );
    }
    for l in before.labels_of("rocketmq_topic_number") {
        assert_eq!(
            l.get("cluster").map(String::as_str),
            Some("RsCompatCluster")
        );
        assert_eq!(l.get("node_type").map(String::as_str), Some("broker"));
        assert_eq!(
            l.get("node_id").map(String::as_str),
            Some("rs-compat-broker")
        );
        assert_eq!(l.get("dc").map(String::as_str), Some("test"));
    }
    assert!(get(addr, "/nothing").unwrap().0.contains("404"));
    // The topic made above by UPDATE_AND_CREATE_TOPIC, timed as 5.x times it.
    assert_eq!(
        before.value(
            "rocketmq_topic_create_execution_time_count",
            &[("invocation_status", "success"), ("is_system", "false")]
        ),
        Some(1.0),
        "{}",
        before.text
    );

    let mut consumer = scenarios::push_consumer(&cluster, client, "consumer", group, &[]);
    cluster.wait_consumers(group, 1);
    wait_for(addr, "consumer connections", |s| {
        expect(
            s,
            "rocketmq_consumer_connections",
            &[("consumer_group", group), ("consume_mode", "push")],
            |v| v == 1.0,
            "1",
        )
    });
    scenarios::produce(&cluster, client, 0, count, 0);
    consumer.wait_messages(count as usize, PHASE_TIMEOUT);
    let n = count as f64;
    let topic = [("topic", TOPIC)];
    let s = wait_for(addr, "counts and lag", |s| {
        expect(
            s,
            "rocketmq_messages_in_total",
            &[
                ("topic", TOPIC),
                ("message_type", "normal"),
                ("is_system", "false"),
            ],
            |v| v == n,
            "the sent count",
        )?;
        expect(
            s,
            "rocketmq_message_size_count",
            &topic,
            |v| v == n,
            "one per send",
        )?;
        expect(
            s,
            "rocketmq_throughput_in_total",
            &topic,
            |v| v >= n * 100.0,
            "at least the bodies",
        )?;
        expect(
            s,
            "rocketmq_messages_out_total",
            &[("topic", TOPIC), ("consumer_group", group)],
            |v| v == n,
            "the consumed count",
        )?;
        expect(
            s,
            "rocketmq_throughput_out_total",
            &[("topic", TOPIC), ("consumer_group", group)],
            |v| v >= n * 100.0,
            "at least the bodies",
        )?;
        let lag = [
            ("topic", TOPIC),
            ("consumer_group", group),
            ("is_retry", "false"),
        ];
        expect(
            s,
            "rocketmq_consumer_lag_messages",
            &lag,
            |v| v == 0.0,
            "0 once committed",
        )?;
        expect(
            s,
            "rocketmq_consumer_lag_latency",
            &lag,
            |v| v == 0.0,
            "0 once committed",
        )?;
        expect(
            s,
            "rocketmq_consumer_ready_messages",
            &lag,
            |v| v == 0.0,
            "0 once pulled",
        )?;
        expect(
            s,
            "rocketmq_consumer_inflight_messages",
            &lag,
            |v| v == 0.0,
            "0 once committed",
        )?;
        expect(
            s,
            "rocketmq_consumer_queueing_latency",
            &lag,
            |v| v >= 0.0,
            "present",
        )?;
        Ok(())
    });
    // The sends went through the rpc metric; its buckets are Java's.
    let sends: f64 = ["send_message", "send_message_v2", "send_batch_message"]
        .iter()
        .filter_map(|code| {
            s.value(
                "rocketmq_rpc_latency_count",
                &[("request_code", code), ("response_code", "success")],
            )
        })
        .sum();
    assert!(sends >= n, "rpc sends counted {sends} < {n}\n{}", s.text);
    for le in [
        "1.0", "3.0", "5.0", "7.0", "10.0", "100.0", "1000.0", "2000.0", "3000.0", "+Inf",
    ] {
        assert!(
            s.value("rocketmq_rpc_latency_bucket", &[("le", le)])
                .is_some(),
            "bucket {le}"
        );
    }
    for le in [
        "1024.0",
        "4096.0",
        "524288.0",
        "1048576.0",
        "2097152.0",
        "4194304.0",
    ] {
        assert!(
            s.value("rocketmq_message_size_bucket", &[("le", le)])
                .is_some(),
            "size bucket {le}"
        );
    }
    let pulls = s
        .value(
            "rocketmq_rpc_latency_count",
            &[("request_code", "pull_message")],
        )
        .unwrap_or(0.0);
    assert!(pulls >= 1.0, "pulls counted\n{}", s.text);
    assert!(s.value("rocketmq_topic_number", &[]).unwrap() >= 1.0);
    assert!(s.value("rocketmq_consumer_group_number", &[]).unwrap() >= 1.0);
    assert!(
        s.value(
            "rocketmq_storage_size",
            &[("storage_type", "local"), ("storage_medium", "disk")]
        )
        .unwrap()
            > 0.0
    );
    assert!(
        s.value("rocketmq_storage_dispatch_behind_bytes", &[])
            .unwrap()
            >= 0.0
    );
    assert!(s.value("rocketmq_storage_flush_behind_bytes", &[]).unwrap() >= 0.0);
    // Nothing was sent back: no DLQ series.
    assert_eq!(s.value("rocketmq_send_to_dlq_messages_total", &topic), None);
    consumer.finish_ok(Duration::from_secs(60));
    wait_for(addr, "consumer gone", |s| {
        match s.value(
            "rocketmq_consumer_connections",
            &[("consumer_group", group)],
        ) {
            None => Ok(()),
            Some(v) => Err(format!("{v} consumer connections left")),
        }
    });
}

/// Series present from the first scrape on.
pub const REQUIRED_ALWAYS: &[&str] = &[
    "rocketmq_topic_number",
    "rocketmq_consumer_group_number",
    "rocketmq_broker_permission",
    "rocketmq_processor_watermark",
    "rocketmq_storage_size",
    "rocketmq_storage_flush_behind_bytes",
    "rocketmq_storage_dispatch_behind_bytes",
];
