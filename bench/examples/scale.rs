//! The scale measurements of issue 16 (run by `scripts/bench-scale`): many topics, many
//! connections, many parked pulls, restart times. Starts its own namesrv and broker binaries
//! (paths as arguments) in a work directory and prints one table.
//!
//! Usage: scale <namesrv-bin> <broker-bin> <work-dir> [topics] [connections] [pulls] [fill-mib]
//!
//! 1. A store is prepared with `topics` topics of 8 queues (topics.json written before the
//!    first start, as an operator's store would hold them). The broker starts on it: time to
//!    its boot line, its RssAnon, the consume-queue files that exist (created lazily: none
//!    before a message).
//! 2. Its namesrv link goes through a proxy here that measures the REGISTER_BROKER frames
//!    (size) and the namesrv's answer time, with `compressedRegister` false and true.
//! 3. Route lookups at 1,000/s for 5 s on random topics: p50 / p99 / max.
//! 4. Topic create and delete timings (UPDATE_AND_CREATE_TOPIC / DELETE_TOPIC_IN_BROKER, 200
//!    each, one at a time).
//! 5. `connections` client connections, each sending a heartbeat: RssAnon per connection.
//! 6. A first message to queue 0 of `pulls` topics (their consume-queue files are created at
//!    dispatch): time until all are dispatched. Then `pulls` long-poll pulls parked at offset 1
//!    (one per topic, over 100 connections): RssAnon per parked pull; then a second message to
//!    each queue: the time from the send's answer to the parked pull's answer.
//! 7. `fill-mib` MiB of 1 MiB messages, then restart after kill -9 and after a clean stop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
use remoting_codec::protocol::namesrv::GetRouteInfoRequestHeader;
use remoting_codec::protocol::offset::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::topic_admin::{CreateTopicRequestHeader, DeleteTopicRequestHeader};
use remoting_codec::protocol::TopicConfig;
use remoting_codec::RemotingCommand;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TIMEOUT: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A broker port P with P-2 (VIP) and P+1 free.
fn free_broker_port() -> u16 {
    loop {
        let p = free_port();
        if p > 2000
            && std::net::TcpListener::bind(("127.0.0.1", p - 2)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", p + 1)).is_ok()
        {
            return p;
        }
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Spawns `cmd` and waits for "boot success" on its stdout; returns the child and the time.
fn boot(mut cmd: Command, log: &Path) -> (Child, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.contains("boot success") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(300))
        .unwrap_or_else(|_| panic!("no boot line; see {}", log.display()));
    (child, started.elapsed())
}

/// Sizes of the REGISTER_BROKER frames the broker sent and the namesrv's answer times.
#[derive(Default)]
struct Registrations {
    frames: Vec<(usize, Duration)>,
}

/// Forwards broker → namesrv traffic, noting each REGISTER_BROKER (103) frame's size and the
/// time until the next frame back.
async fn proxy(listen: TcpListener, namesrv: SocketAddr, seen: Arc<Mutex<Registrations>>) {
    loop {
        let Ok((client, _)) = listen.accept().await else {
            return;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(namesrv).await else {
                return;
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let sent_at: Arc<Mutex<Option<(Instant, usize)>>> = Arc::default();
            let mark = sent_at.clone();
            let up = tokio::spawn(async move {
                loop {
                    let mut len = [0u8; 4];
                    if cr.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let n = u32::from_be_bytes(len) as usize;
                    let mut frame = vec![0u8; n];
                    if cr.read_exact(&mut frame).await.is_err() {
                        return;
                    }
                    let header_len =
                        (u32::from_be_bytes(frame[..4].try_into().unwrap()) & 0xFF_FFFF) as usize;
                    let header = String::from_utf8_lossy(&frame[4..4 + header_len.min(n - 4)]);
                    if std::env::var_os("SCALE_DEBUG").is_some() {
                        eprintln!(
                            "proxy up: {n} bytes, header {}",
                            &header[..header.len().min(120)]
                        );
                    }
                    if header.contains("\"code\":103") {
                        *mark.lock().unwrap() = Some((Instant::now(), n + 4));
                    }
                    if sw.write_all(&len).await.is_err() || sw.write_all(&frame).await.is_err() {
                        return;
                    }
                }
            });
            loop {
                let mut len = [0u8; 4];
                if sr.read_exact(&mut len).await.is_err() {
                    break;
                }
                let n = u32::from_be_bytes(len) as usize;
                let mut frame = vec![0u8; n];
                if sr.read_exact(&mut frame).await.is_err() {
                    break;
                }
                if let Some((at, size)) = sent_at.lock().unwrap().take() {
                    seen.lock().unwrap().frames.push((size, at.elapsed()));
                }
                if cw.write_all(&len).await.is_err() || cw.write_all(&frame).await.is_err() {
                    break;
                }
            }
            up.abort();
        });
    }
}

fn write_topics_json(store: &Path, topics: usize) {
    let dir = store.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let mut table = serde_json::Map::new();
    for i in 0..topics {
        let name = format!("ScaleTopic{i}");
        table.insert(
            name.clone(),
            serde_json::json!({"order":false,"perm":6,"readQueueNums":8,
                "topicFilterType":"SINGLE_TAG","topicName":name,"topicSysFlag":0,
                "writeQueueNums":8}),
        );
    }
    let doc = serde_json::json!({
        "dataVersion": {"counter": 1, "timestamp": 1},
        "topicConfigTable": table,
    });
    std::fs::write(dir.join("topics.json"), doc.to_string()).unwrap();
}

fn count_files(dir: &Path) -> usize {
    walk(dir).filter(|p| p.is_file()).count()
}

fn walk(dir: &Path) -> Box<dyn Iterator<Item = PathBuf>> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Box::new(std::iter::empty());
    };
    Box::new(rd.flatten().flat_map(|e| {
        let p = e.path();
        if p.is_dir() {
            Box::new(std::iter::once(p.clone()).chain(walk(&p))) as Box<dyn Iterator<Item = _>>
        } else {
            Box::new(std::iter::once(p))
        }
    }))
}

fn quantiles(h: &Histogram<u64>) -> String {
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        h.value_at_quantile(0.5) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    )
}

fn send_request(topic: &str, queue_id: i32, body: Bytes) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: "ScaleProducer".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: store_now(),
        flag: 0,
        properties: Some("UNIQ_KEY\u{1}scale".into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body)
}

fn store_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn pull_request(topic: &str, offset: i64, timeout_ms: i64) -> RemotingCommand {
    let header = PullMessageRequestHeader {
        consumer_group: "ScaleConsumer".into(),
        topic: topic.into(),
        queue_id: 0,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag: FLAG_SUBSCRIPTION | FLAG_SUSPEND,
        commit_offset: 0,
        suspend_timeout_millis: timeout_ms,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    RemotingCommand::request(request::PULL_MESSAGE, &header)
}

struct Broker {
    child: Child,
    conf: PathBuf,
    addr: SocketAddr,
    log: PathBuf,
}

impl Broker {
    fn start(bin: &Path, conf: &Path, port: u16, log: &Path) -> (Broker, Duration) {
        let mut cmd = Command::new(bin);
        cmd.arg("-c").arg(conf);
        let (child, took) = boot(cmd, log);
        let broker = Broker {
            child,
            conf: conf.into(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            log: log.into(),
        };
        (broker, took)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn stop(&mut self) {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }

    fn restart(&mut self, bin: &Path) -> Duration {
        let (b, took) = Broker::start(bin, &self.conf, self.addr.port(), &self.log);
        *self = b;
        took
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let namesrv_bin = PathBuf::from(&args[1]);
    let broker_bin = PathBuf::from(&args[2]);
    let work = PathBuf::from(&args[3]);
    let arg = |i: usize, d: usize| args.get(i).map_or(d, |s| s.parse().unwrap());
    let (topics, connections, pulls, fill_mib) =
        (arg(4, 10_000), arg(5, 5_000), arg(6, 10_000), arg(7, 1_024));
    std::fs::create_dir_all(&work).unwrap();
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| {
        println!("  {k:<48} {v}");
        rows.push((k.into(), v));
    };

    let ns_port = free_port();
    let mut ns_cmd = Command::new(&namesrv_bin);
    ns_cmd
        .args([
            "--listenPort",
            &ns_port.to_string(),
            "--bindAddress",
            "127.0.0.1",
        ])
        .arg("--userHome")
        .arg(&work)
        .env("ROCKETMQ_HOME", &work);
    let (mut namesrv, _) = boot(ns_cmd, &work.join("namesrv.log"));
    let ns_addr = SocketAddr::from(([127, 0, 0, 1], ns_port));
    let registrations: Arc<Mutex<Registrations>> = Arc::default();
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy_listener.local_addr().unwrap();
    tokio::spawn(proxy(proxy_listener, ns_addr, registrations.clone()));

    // 1. The store with `topics` topics.
    let store = work.join("store");
    let _ = std::fs::remove_dir_all(&store);
    write_topics_json(&store, topics);
    let port = free_broker_port();
    let conf_for = |compressed: bool| {
        format!(
            "brokerClusterName=ScaleCluster\nbrokerName=scale-broker\nbrokerId=0\n\
             namesrvAddr={proxy_addr}\nbrokerIP1=127.0.0.1\nlistenPort={port}\n\
             storePathRootDir={}\nflushDiskType=ASYNC_FLUSH\nautoCreateTopicEnable=true\n\
             autoCreateSubscriptionGroup=true\ndiskSpaceWarningLevelRatio=99\n\
             diskMaxUsedSpaceRatio=95\ndeleteWhen=99\ncompressedRegister={compressed}\n",
            store.display()
        )
    };
    let conf = work.join("broker.conf");
    std::fs::write(&conf, conf_for(false)).unwrap();
    println!("scale run: {topics} topics x 8 queues, {connections} connections, {pulls} parked pulls, {fill_mib} MiB fill");
    let (mut broker, took) = Broker::start(&broker_bin, &conf, port, &work.join("broker.log"));
    row(
        &format!("start with {topics} topics x 8 queues"),
        format!("{took:.2?}"),
    );
    let lookup = RemotingClient::connect(ns_addr).await.unwrap();
    let last_topic = format!("ScaleTopic{}", topics - 1);
    let started = Instant::now();
    loop {
        let r = lookup
            .invoke(
                RemotingCommand::request(
                    request::GET_ROUTEINFO_BY_TOPIC,
                    &GetRouteInfoRequestHeader {
                        topic: last_topic.clone(),
                        accept_standard_json_only: None,
                    },
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        if r.code == response::SUCCESS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    row(
        "routes of every topic on the namesrv after boot",
        format!("{:.2?}", started.elapsed()),
    );
    let rss = status_kib(broker.pid(), "RssAnon:");
    row(
        "broker RssAnon with the topics",
        format!("{} MiB", rss / 1024),
    );
    row(
        "consume-queue files before any message",
        count_files(&store.join("consumequeue")).to_string(),
    );
    let show_registrations = |label: &str, row: &mut dyn FnMut(&str, String)| {
        let regs = registrations.lock().unwrap();
        if let Some((size, took)) = regs.frames.iter().max_by_key(|(s, _)| *s) {
            row(
                &format!("REGISTER_BROKER, {label}"),
                format!(
                    "{:.1} KiB, namesrv answered in {took:.2?}",
                    *size as f64 / 1024.0
                ),
            );
        }
    };
    show_registrations("compressedRegister=false", &mut row);

    // 2. compressedRegister=true: a clean restart registers the whole table compressed.
    broker.stop();
    registrations.lock().unwrap().frames.clear();
    std::fs::write(&conf, conf_for(true)).unwrap();
    let took = broker.restart(&broker_bin);
    row(
        "clean restart (compressedRegister=true)",
        format!("{took:.2?}"),
    );
    let deadline = Instant::now() + TIMEOUT;
    while registrations.lock().unwrap().frames.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    show_registrations("compressedRegister=true", &mut row);

    // 3. Route lookups at 1,000/s for 5 s.
    let mut h = Histogram::<u64>::new(3).unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let clients: Vec<Arc<RemotingClient>> = futures::future::join_all(
        (0..8).map(|_| async { Arc::new(RemotingClient::connect(ns_addr).await.unwrap()) }),
    )
    .await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut seed = 88172645463325252u64;
    for i in 0..5_000usize {
        tick.tick().await;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let topic = format!("ScaleTopic{}", seed as usize % topics);
        let c = clients[i % clients.len()].clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let at = Instant::now();
            let r = c
                .invoke(
                    RemotingCommand::request(
                        request::GET_ROUTEINFO_BY_TOPIC,
                        &GetRouteInfoRequestHeader {
                            topic,
                            accept_standard_json_only: None,
                        },
                    ),
                    TIMEOUT,
                )
                .await
                .unwrap();
            assert_eq!(r.code, response::SUCCESS);
            let _ = tx.send(at.elapsed());
        });
    }
    drop(tx);
    while let Some(d) = rx.recv().await {
        h.record(d.as_micros() as u64).unwrap();
    }
    row("namesrv route lookups at 1,000/s (5 s)", quantiles(&h));

    // 4. Topic create / delete, one at a time.
    let admin = RemotingClient::connect(broker.addr).await.unwrap();
    let (mut create, mut delete) = (
        Histogram::<u64>::new(3).unwrap(),
        Histogram::<u64>::new(3).unwrap(),
    );
    for i in 0..200 {
        let mut config = TopicConfig::new(format!("ScaleExtra{i}"));
        config.read_queue_nums = 8;
        config.write_queue_nums = 8;
        config.perm = 6;
        let at = Instant::now();
        let r = admin
            .invoke(
                RemotingCommand::request(
                    request::UPDATE_AND_CREATE_TOPIC,
                    &CreateTopicRequestHeader::from_topic_config(&config),
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        create.record(at.elapsed().as_micros() as u64).unwrap();
    }
    for i in 0..200 {
        let at = Instant::now();
        let r = admin
            .invoke(
                RemotingCommand::request(
                    request::DELETE_TOPIC_IN_BROKER,
                    &DeleteTopicRequestHeader {
                        topic: format!("ScaleExtra{i}"),
                    },
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        delete.record(at.elapsed().as_micros() as u64).unwrap();
    }
    row("topic create (200, one at a time)", quantiles(&create));
    row("topic delete (200, one at a time)", quantiles(&delete));

    // 5. Connections with a heartbeat each.
    let before = status_kib(broker.pid(), "RssAnon:");
    let mut conns = Vec::with_capacity(connections);
    let at = Instant::now();
    for i in 0..connections {
        let c = RemotingClient::connect(broker.addr).await.unwrap();
        let body = format!(
            "{{\"clientID\":\"scale-{i}\",\"consumerDataSet\":[],\
             \"producerDataSet\":[{{\"groupName\":\"ScaleProducer\"}}]}}"
        );
        let r = c
            .invoke(
                RemotingCommand::request_without_header(request::HEART_BEAT)
                    .with_body(Bytes::from(body)),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS);
        conns.push(c);
    }
    let after = status_kib(broker.pid(), "RssAnon:");
    row(
        &format!("{connections} connections + heartbeat"),
        format!(
            "{:.1?} to open; RssAnon +{} MiB = {:.1} KiB per connection",
            at.elapsed(),
            after.saturating_sub(before) / 1024,
            after.saturating_sub(before) as f64 / connections as f64
        ),
    );
    drop(conns);

    // 6. A first message to queue 0 of every topic: their consume-queue files are created (at
    //    dispatch) — timed until the last one is dispatched. Then parked pulls from offset 1,
    //    and a second message per queue.
    let producer = RemotingClient::connect(broker.addr).await.unwrap();
    let warm = pulls.min(topics);
    let at = Instant::now();
    for i in 0..warm {
        let r = producer
            .invoke(
                send_request(&format!("ScaleTopic{i}"), 0, Bytes::from_static(b"first")),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    let sent = at.elapsed();
    let last = format!("ScaleTopic{}", warm - 1);
    loop {
        let r = admin
            .invoke(
                RemotingCommand::request(
                    request::GET_MAX_OFFSET,
                    &GetMaxOffsetRequestHeader {
                        topic: last.clone(),
                        queue_id: 0,
                        committed: None,
                    },
                ),
                TIMEOUT,
            )
            .await
            .unwrap();
        if r.decode_header::<GetMaxOffsetResponseHeader>()
            .is_ok_and(|h| h.offset >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    row(
        &format!("first message to {warm} fresh queues"),
        format!(
            "sent in {sent:.2?}, all dispatched after {:.2?}; {} consume-queue files",
            at.elapsed(),
            count_files(&store.join("consumequeue"))
        ),
    );
    let pull_conns: Vec<Arc<RemotingClient>> = futures::future::join_all(
        (0..100).map(|_| async { Arc::new(RemotingClient::connect(broker.addr).await.unwrap()) }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = status_kib(broker.pid(), "RssAnon:");
    let answered: Arc<Mutex<HashMap<usize, Instant>>> = Arc::default();
    let mut parked = Vec::with_capacity(pulls);
    for i in 0..pulls {
        let c = pull_conns[i % pull_conns.len()].clone();
        let answered = answered.clone();
        let topic = format!("ScaleTopic{}", i % topics);
        parked.push(tokio::spawn(async move {
            let r = c
                .invoke(pull_request(&topic, 1, 120_000), TIMEOUT * 3)
                .await
                .unwrap();
            answered.lock().unwrap().insert(i, Instant::now());
            r.code
        }));
    }
    // Parked: every pull reached the broker (nothing answered yet).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = status_kib(broker.pid(), "RssAnon:");
    let early = answered.lock().unwrap().len();
    row(
        &format!("{pulls} parked long-poll pulls"),
        format!(
            "RssAnon +{} MiB = {:.2} KiB per parked pull ({early} answered early)",
            after.saturating_sub(before) / 1024,
            after.saturating_sub(before) as f64 / pulls as f64
        ),
    );
    let mut acked_at = HashMap::with_capacity(pulls);
    for i in 0..pulls.min(topics) {
        let r = producer
            .invoke(
                send_request(&format!("ScaleTopic{i}"), 0, Bytes::from_static(b"wake")),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        acked_at.insert(i, Instant::now());
    }
    let mut wake = Histogram::<u64>::new(3).unwrap();
    let mut late = 0;
    for (i, t) in parked.into_iter().enumerate().take(topics) {
        let code = t.await.unwrap();
        assert_eq!(code, response::SUCCESS, "pull {i} answered {code}");
        let got = answered.lock().unwrap()[&i];
        let sent = acked_at[&i];
        let d = got.saturating_duration_since(sent);
        if d > Duration::from_millis(10) {
            late += 1;
        }
        wake.record(d.as_micros() as u64).unwrap();
    }
    row(
        "parked pull answered after its send's answer",
        format!("{} ({late} over 10 ms)", quantiles(&wake)),
    );

    // 7. Fill, then restarts.
    let body = Bytes::from(vec![7u8; 1024 * 1024]);
    for _ in 0..fill_mib {
        let r = producer
            .invoke(send_request("ScaleFill", 0, body.clone()), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }
    let commitlog_mib = walk(&store.join("commitlog"))
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>()
        / (1024 * 1024);
    // Past the first thorough consume-queue flush (the checkpoint).
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.kill();
    let took = broker.restart(&broker_bin);
    row(
        &format!(
            "restart after kill -9 ({fill_mib} MiB written, {commitlog_mib} MiB of commitlog files)"
        ),
        format!("{took:.2?}"),
    );
    broker.stop();
    let took = broker.restart(&broker_bin);
    row("restart after a clean stop", format!("{took:.2?}"));
    broker.stop();
    let _ = namesrv.kill();
    let _ = namesrv.wait();
    println!();
    println!("| measurement | result |");
    println!("|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
}
