//! The broker's gRPC endpoint (`enableGrpcServer`, 5.x `MessagingService`) with the official
//! 5.x clients from the registries: PyPI `rocketmq-python-client` (`clients/python/grpc_client.py`
//! in its own venv `.venv-grpc`) and npm `rocketmq-client-nodejs`
//! (`clients/node/grpc_client.js`). What they send is consumed over remoting by crates.io
//! `rocketmq-client-rust` (a push consumer), so each scenario is also the mixed test: gRPC
//! producer → remoting consumer, same store and topics.
//!
//! Topics are typed as 5.x wants (`+message.type=FIFO|DELAY|TRANSACTION`, NORMAL by default):
//! the clients check the route's accepted types and the broker checks the message's type.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use remoting_codec::code::{request, response};
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::protocol::{perm, TopicConfig};
use remoting_codec::RemotingCommand;

use crate::check::{assert_exactly_once, bodies, deliveries, Delivery};
use crate::client::{keep_real_clock, ClientProcess, Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;
use crate::{crate_dir, free_port, require};

/// The two official gRPC clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrpcClient {
    Python,
    Node,
}

impl GrpcClient {
    /// Runs `command` of the client's driver against `endpoints`.
    pub fn spawn(
        self,
        name: &str,
        endpoints: &str,
        command: &str,
        args: &[(&str, String)],
    ) -> ClientProcess {
        let dir = crate_dir().join("clients");
        let mut cmd = match self {
            GrpcClient::Python => {
                let py = dir.join("python");
                let python = py.join(".venv-grpc/bin/python");
                require(
                    &python,
                    "create compat-tests/clients/python/.venv-grpc and pip install -r grpc-requirements.txt in it",
                );
                let mut cmd = std::process::Command::new(python);
                cmd.arg("-u").arg(py.join("grpc_client.py")).current_dir(py);
                keep_real_clock(&mut cmd);
                cmd
            }
            GrpcClient::Node => {
                let node = dir.join("node");
                require(
                    &node.join("node_modules/rocketmq-client-nodejs"),
                    "run `npm ci` in compat-tests/clients/node",
                );
                let mut cmd = std::process::Command::new("node");
                cmd.arg(node.join("grpc_client.js")).current_dir(node);
                cmd
            }
        };
        cmd.arg(command).arg("--endpoints").arg(endpoints);
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        ClientProcess::spawn(name, cmd)
    }
}

/// A name server and a broker serving gRPC on a free port (checks of half messages every
/// second, after one second); returns the endpoints to give the gRPC clients.
pub fn start(name: &str) -> (Cluster, String) {
    let port = free_port();
    let cluster = Cluster::start_with(name, |s| {
        s.set("enableGrpcServer", "true")
            .set("grpcServerPort", &port.to_string())
            .set("transactionCheckInterval", "1000")
            .set("transactionTimeOut", "1000")
    });
    (cluster, format!("127.0.0.1:{port}"))
}

/// UPDATE_AND_CREATE_TOPIC with `+message.type=<kind>` (as `mqadmin updateTopic -a`), then
/// waits for its route.
pub fn create_typed_topic(cluster: &Cluster, topic: &str, queues: i32, kind: &str) {
    let mut config = TopicConfig::new(topic);
    config.read_queue_nums = queues;
    config.write_queue_nums = queues;
    config.perm = perm::READ | perm::WRITE;
    let mut header = CreateTopicRequestHeader::from_topic_config(&config);
    header.attributes = Some(format!("+message.type={kind}"));
    let answer = cluster.admin(RemotingCommand::request(
        request::UPDATE_AND_CREATE_TOPIC,
        &header,
    ));
    assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
    cluster.wait_route(topic, |r| {
        r.queue_datas.iter().any(|q| q.write_queue_nums == queues)
    });
}

/// A remoting push consumer (rocketmq-client-rust) of `topic`, ready.
pub fn remoting_consumer(cluster: &Cluster, name: &str, topic: &str) -> ClientProcess {
    let args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", topic.to_owned()),
        ("group", format!("{name}Group")),
        ("instance", name.to_owned()),
        ("from", "first".to_owned()),
    ];
    let mut c = Clients::RocketmqRust.spawn(name, &cluster.client_home(name), "push", &args);
    c.wait_ready();
    c
}

/// Runs a producer command to its end; its `sent` events.
fn produce(
    client: GrpcClient,
    name: &str,
    endpoints: &str,
    args: &[(&str, String)],
) -> Vec<serde_json::Value> {
    let mut p = client.spawn(name, endpoints, "produce", args);
    p.wait_until("done", PHASE_TIMEOUT, |p| {
        p.count("done") > 0 || p.count("error") > 0
    });
    assert_eq!(p.count("error"), 0, "{}", p.diagnostics());
    p.finish_ok(Duration::from_secs(60));
    p.events("sent")
}

/// Waits until `consumer` received `n` messages; its deliveries.
fn received(consumer: &mut ClientProcess, n: usize) -> Vec<Delivery> {
    consumer.wait_messages(n, PHASE_TIMEOUT);
    deliveries(&consumer.events("msg"))
}

/// 10,000 NORMAL messages over gRPC, each consumed exactly once over remoting with its tag and
/// key, and the message id the gRPC client was given.
pub fn normal_exactly_once(client: GrpcClient, name: &str, count: u64) {
    let (cluster, endpoints) = start(name);
    let topic = "GrpcNormalTopic";
    create_typed_topic(&cluster, topic, 8, "NORMAL");
    let mut consumer = remoting_consumer(&cluster, "normal", topic);
    let args = vec![("topic", topic.to_owned()), ("count", count.to_string())];
    let sent = produce(client, "producer", &endpoints, &args);
    assert_eq!(sent.len() as u64, count);
    let got = received(&mut consumer, count as usize);
    assert_exactly_once("remoting consumer", &got, &bodies(0, count));
    let ids: BTreeMap<&str, &str> = sent
        .iter()
        .map(|e| (e["body"].as_str().unwrap(), e["msgId"].as_str().unwrap()))
        .collect();
    for d in &got {
        assert_eq!(d.tags, "TagA", "{d:?}");
        assert_eq!(d.keys, format!("key-{}", d.seq()), "{d:?}");
    }
    // The message id the gRPC client was given is the stored UNIQ_KEY.
    for e in consumer.events("msg") {
        let body = e["body"].as_str().unwrap();
        let uniq = e["properties"]["UNIQ_KEY"].as_str();
        assert_eq!(ids.get(body).copied(), uniq, "{e}");
    }
    let queues: BTreeSet<i64> = got.iter().map(|d| d.queue_id).collect();
    assert!(queues.len() > 1, "sends spread over the queues: {queues:?}");
}

/// FIFO: messages of one message group all land in one queue, in send order; DELAY: none is
/// delivered before its delivery timestamp.
pub fn fifo_and_delay(client: GrpcClient, name: &str) {
    let (cluster, endpoints) = start(name);
    create_typed_topic(&cluster, "GrpcFifoTopic", 8, "FIFO");
    create_typed_topic(&cluster, "GrpcDelayTopic", 4, "DELAY");
    let mut fifo = remoting_consumer(&cluster, "fifo", "GrpcFifoTopic");
    let mut delay = remoting_consumer(&cluster, "delay", "GrpcDelayTopic");

    let groups = 5u64;
    let n = 200u64;
    let args = vec![
        ("topic", "GrpcFifoTopic".to_owned()),
        ("count", n.to_string()),
        ("kind", "fifo".to_owned()),
        ("groups", groups.to_string()),
    ];
    produce(client, "fifo-producer", &endpoints, &args);
    let got = received(&mut fifo, n as usize);
    assert_exactly_once("fifo consumer", &got, &bodies(0, n));
    for g in 0..groups {
        let mut of_group: Vec<&Delivery> = got.iter().filter(|d| d.seq() % groups == g).collect();
        let queues: BTreeSet<i64> = of_group.iter().map(|d| d.queue_id).collect();
        assert_eq!(
            queues.len(),
            1,
            "message group {g} spread over queues {queues:?}"
        );
        of_group.sort_by_key(|d| d.queue_offset);
        let seqs: Vec<u64> = of_group.iter().map(|d| d.seq()).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "group {g} stored out of order: {seqs:?}"
        );
    }

    let delay_ms = 3000i64;
    let args = vec![
        ("topic", "GrpcDelayTopic".to_owned()),
        ("count", "20".to_owned()),
        ("kind", "delay".to_owned()),
        ("delay-ms", delay_ms.to_string()),
    ];
    let sent = produce(client, "delay-producer", &endpoints, &args);
    let sent_at: BTreeMap<String, i64> = sent
        .iter()
        .map(|e| {
            (
                e["body"].as_str().unwrap().to_owned(),
                e["sentAtMs"].as_i64().unwrap(),
            )
        })
        .collect();
    delay.wait_messages(20, PHASE_TIMEOUT);
    let events = delay.events("msg");
    assert_exactly_once("delay consumer", &deliveries(&events), &bodies(0, 20));
    for e in &events {
        let body = e["body"].as_str().unwrap();
        let received_at = e["receivedAt"].as_i64().expect("receivedAt");
        // Sent at most `sentAtMs` (read after the answer) and asked for send time + delay;
        // the timer's precision (1 s) may round down.
        assert!(
            received_at >= sent_at[body] + delay_ms - 1000 - 100,
            "{body} delivered {} ms after its send, asked for {delay_ms}",
            received_at - sent_at[body]
        );
    }
}

/// Transactions: committed halves are delivered, rolled-back ones not, and the open ones are
/// checked back through the client's Telemetry stream and delivered as its checker decides.
pub fn transactions(client: GrpcClient, name: &str) {
    let (cluster, endpoints) = start(name);
    let topic = "GrpcTxTopic";
    create_typed_topic(&cluster, topic, 4, "TRANSACTION");
    let mut consumer = remoting_consumer(&cluster, "tx", topic);
    let n = 30u64;
    let args = vec![("topic", topic.to_owned()), ("count", n.to_string())];
    let mut producer = client.spawn("tx-producer", &endpoints, "transaction", &args);
    producer.wait_until("done", PHASE_TIMEOUT, |p| {
        p.count("done") > 0 || p.count("error") > 0
    });
    assert_eq!(producer.count("error"), 0, "{}", producer.diagnostics());
    let open = (0..n).filter(|i| i % 3 == 2).count();
    producer.wait_until("checked", PHASE_TIMEOUT, |p| p.count("checked") >= open);
    let expected: BTreeSet<String> = (0..n)
        .filter(|i| i % 3 != 1)
        .map(|i| format!("msg-{i}"))
        .collect();
    let got = received(&mut consumer, expected.len());
    assert_exactly_once("tx consumer", &got, &expected);
    let checked: BTreeSet<String> = producer
        .events("checked")
        .iter()
        .map(|e| e["body"].as_str().unwrap().to_owned())
        .collect();
    let open_bodies: BTreeSet<String> = (0..n)
        .filter(|i| i % 3 == 2)
        .map(|i| format!("msg-{i}"))
        .collect();
    assert!(
        open_bodies.is_subset(&checked),
        "every open transaction checked back: {checked:?}"
    );
    producer.finish_ok(Duration::from_secs(60));
}

/// TLS on the gRPC port (`tls.server.mode=permissive`, the certificate of `tls.server.certPath`):
/// the client sends over TLS, trusting the test's certificate for `localhost`
/// (`GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`, read by grpcio and grpc-js), and a remoting consumer
/// receives every message. The broker reads its TLS settings from the environment
/// (`TLS_SERVER_MODE`, `TLS_CONFIG_FILE`), so this runs in a test binary of its own.
pub fn tls_send(client: GrpcClient, name: &str) {
    let dir = std::env::temp_dir().join(format!("compat-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.key_pair.serialize_pem()).unwrap();
    let props = dir.join("tls.properties");
    std::fs::write(
        &props,
        format!(
            "tls.server.mode=permissive\ntls.test.mode.enable=false\ntls.server.certPath={}\ntls.server.keyPath={}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    std::env::set_var("TLS_CONFIG_FILE", &props);
    std::env::set_var("TLS_SERVER_MODE", "permissive");
    std::env::set_var("GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", &cert);
    let (cluster, endpoints) = start(name);
    let endpoints = endpoints.replace("127.0.0.1", "localhost");
    let topic = "GrpcTlsTopic";
    create_typed_topic(&cluster, topic, 4, "NORMAL");
    let mut consumer = remoting_consumer(&cluster, "tls", topic);
    let args = vec![
        ("topic", topic.to_owned()),
        ("count", "100".to_owned()),
        ("tls", "true".to_owned()),
    ];
    let sent = produce(client, "tls-producer", &endpoints, &args);
    assert_eq!(sent.len(), 100);
    let got = received(&mut consumer, 100);
    assert_exactly_once("tls consumer", &got, &bodies(0, 100));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 5.x authentication with `aclEnable` (the ACL 1.0 accounts of [`crate::acl::ACL_YML`]): the
/// user's signed sends to the topic it may publish are stored; a wrong secret and a topic the
/// account may not use are refused (UNAUTHORIZED) and nothing of theirs is stored. The refusal
/// now comes at the client's first call, QueryRoute (PUB or SUB on the topic needed), which
/// the Python client reports as `failed to fetch topic:<T> route.` without the server's
/// reason (it only logs it): the same topic with the right secret, and the denied topic with
/// the admin account, are served, so the refusals are the credentials'.
pub fn acl(client: GrpcClient, name: &str) {
    let home = test_support::dirs::TempDir::new(&format!("compat-{name}-home"));
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    std::fs::write(home.path().join("conf/plain_acl.yml"), crate::acl::ACL_YML).unwrap();
    let home_dir = home.path().display().to_string();
    let port = free_port();
    let cluster = Cluster::start_with(name, |s| {
        s.set("aclEnable", "true")
            .set("rocketmqHome", &home_dir)
            .set("enableGrpcServer", "true")
            .set("grpcServerPort", &port.to_string())
    });
    cluster.sign_as("RocketMQAdmin", "12345678");
    let endpoints = format!("127.0.0.1:{port}");
    create_typed_topic(&cluster, "AclTopic", 4, "NORMAL");
    create_typed_topic(&cluster, "DeniedTopic", 4, "NORMAL");
    let run_as = |pname: &str, topic: &str, key: &str, secret: &str| {
        let args = vec![
            ("topic", topic.to_owned()),
            ("count", "10".to_owned()),
            ("access-key", key.to_owned()),
            ("secret-key", secret.to_owned()),
        ];
        let mut p = client.spawn(pname, &endpoints, "produce", &args);
        p.wait_until("done", PHASE_TIMEOUT, |p| {
            p.count("done") > 0 || p.count("error") > 0
        });
        let _ = p.finish(Duration::from_secs(60));
        p
    };
    let run = |pname: &str, topic: &str, secret: &str| run_as(pname, topic, "rocketmq2", secret);
    let stored = |topic: &str| -> i64 { (0..4).map(|q| cluster.max_offset(topic, q)).sum() };
    let ok = run("allowed", "AclTopic", "12345678");
    assert_eq!(ok.count("sent"), 10, "{}", ok.diagnostics());
    assert_eq!(stored("AclTopic"), 10);
    for (pname, topic, secret, reason) in [
        (
            "wrong-secret",
            "AclTopic",
            "wrong",
            "failed to fetch topic:AclTopic route",
        ),
        (
            "denied-topic",
            "DeniedTopic",
            "12345678",
            "failed to fetch topic:DeniedTopic route",
        ),
    ] {
        let p = run(pname, topic, secret);
        assert_eq!(p.count("sent"), 0, "{pname}: a refused send succeeded");
        let errors = p.events("error");
        assert!(
            errors
                .iter()
                .any(|e| e["error"].as_str().unwrap_or("").contains(reason)),
            "{pname}: no error naming {reason:?}\n{}",
            p.diagnostics()
        );
    }
    assert_eq!(stored("AclTopic"), 10);
    assert_eq!(stored("DeniedTopic"), 0);
    let admin = run_as("admin", "DeniedTopic", "RocketMQAdmin", "12345678");
    assert_eq!(admin.count("sent"), 10, "{}", admin.diagnostics());
    assert_eq!(stored("DeniedTopic"), 10);
}
