//! ACL 1.0 with each client: a broker with `aclEnable=true` and a plain_acl.yml of an admin
//! (`RocketMQAdmin`), a user `rocketmq2` (topics: AclTopic PUB|SUB, DeniedTopic DENY, others
//! DENY by default; groups: `denied_group` DENY, others SUB by default) and a global white list
//! that does not hold 127.0.0.1 (`10.10.103.*`).
//!
//! With the client's own credential support, it proves:
//! - allowed: signed sends to AclTopic are stored, a signed push consumer (`acl_group`) gets
//!   them all;
//! - refused (the client's send fails; the broker's denial log names Java's reason, the text of
//!   its SYSTEM_ERROR remark, which the replay of s16-acl compares with Java's):
//!   a send to DeniedTopic ("No default permission for topic:DeniedTopic"), a wrong secret
//!   ("Check signature failed for accessKey=rocketmq2"), no credentials from an address outside
//!   the white list ("No accessKey is configured"; the C++ client sends an empty AccessKey
//!   then: "No acl config for "); a consumer of `denied_group`, whose
//!   heartbeat or member list is refused ("No default permission for group:denied_group", seen
//!   in the broker's denial log) and gets nothing;
//! - nothing stored for any refused send (DeniedTopic and the refused AclTopic sends);
//! - reload: while the `acl_group` consumer runs, plain_acl.yml is edited to take SUB on
//!   AclTopic away — its pulls are refused (broker log) and 3 new messages do not reach it —
//!   then edited back, and the consumer gets the 3 messages, without a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use test_support::dirs::TempDir;

use crate::client::{ClientProcess, Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;

pub const ACL_YML: &str = "globalWhiteRemoteAddresses:
  - 10.10.103.*

accounts:
  - accessKey: RocketMQAdmin
    secretKey: 12345678
    admin: true

  - accessKey: rocketmq2
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclTopic=PUB|SUB
      - DeniedTopic=DENY
    groupPerms:
      - denied_group=DENY
";

const TOPIC: &str = "AclTopic";
const DENIED_TOPIC: &str = "DeniedTopic";
const USER: (&str, &str) = ("rocketmq2", "12345678");

struct AclCluster {
    cluster: Cluster,
    plain: PathBuf,
    _home: TempDir,
}

fn start(name: &str) -> AclCluster {
    let home = TempDir::new(&format!("compat-{name}-home"));
    std::fs::create_dir_all(home.path().join("conf")).unwrap();
    let plain = home.path().join("conf/plain_acl.yml");
    std::fs::write(&plain, ACL_YML).unwrap();
    let home_dir = home.path().display().to_string();
    let cluster = Cluster::start_with(name, |s| {
        s.set("aclEnable", "true").set("rocketmqHome", &home_dir)
    });
    cluster.sign_as("RocketMQAdmin", "12345678");
    cluster.create_topic(TOPIC, 4);
    cluster.create_topic(DENIED_TOPIC, 4);
    AclCluster {
        cluster,
        plain,
        _home: home,
    }
}

fn credentials(creds: Option<(&str, &str)>) -> Vec<(&'static str, String)> {
    creds.map_or_else(Vec::new, |(k, s)| {
        vec![("access-key", k.to_owned()), ("secret-key", s.to_owned())]
    })
}

/// Runs a producer of `count` messages from `start`; returns it finished.
fn produce(
    c: &Cluster,
    client: Clients,
    name: &str,
    topic: &str,
    start: u64,
    count: u64,
    creds: Option<(&str, &str)>,
) -> ClientProcess {
    let mut args = vec![
        ("namesrv", c.namesrv_addr()),
        ("topic", topic.to_owned()),
        ("group", format!("acl_producer_{name}")),
        ("count", count.to_string()),
        ("start", start.to_string()),
        ("tags", "TagA".to_owned()),
    ];
    args.extend(credentials(creds));
    let mut p = client.spawn(name, &c.client_home(name), "produce", &args);
    // A refused identity's producer may fail its shutdown too (Java's UNREGISTER_CLIENTs are
    // refused the same way) and exit without a summary.
    p.finish(PHASE_TIMEOUT);
    p
}

fn push(c: &Cluster, client: Clients, name: &str, group: &str) -> ClientProcess {
    let mut p = spawn_push(c, client, name, group);
    p.wait_ready();
    p
}

fn spawn_push(c: &Cluster, client: Clients, name: &str, group: &str) -> ClientProcess {
    let mut args = vec![
        ("namesrv", c.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", group.to_owned()),
    ];
    args.extend(credentials(Some(USER)));
    client.spawn(name, &c.client_home(name), "push", &args)
}

/// Every send failed on the client's side, and the broker refused it for `reason` (its denial
/// log; ali-ons reports only "Send [4] times, still failed", not the broker's remark).
fn assert_refused(c: &Cluster, p: &ClientProcess, reason: &str) {
    assert_eq!(p.count("sent"), 0, "{}: a refused send succeeded", p.name);
    assert!(
        !p.events("error").is_empty(),
        "{}: no error\n{}",
        p.name,
        p.diagnostics()
    );
    wait_denial_logged(c, &[reason]);
}

fn stored(c: &Cluster, topic: &str) -> i64 {
    (0..4).map(|q| c.max_offset(topic, q)).sum()
}

/// Waits until the broker's denial log has a line with all of `parts`.
fn wait_denial_logged(c: &Cluster, parts: &[&str]) {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while !c
        .broker
        .stderr()
        .lines()
        .any(|l| l.contains("denied request") && parts.iter().all(|p| l.contains(p)))
    {
        assert!(
            Instant::now() < deadline,
            "no denial {parts:?} logged:\n{}",
            c.broker.stderr_tail(4000)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn edit(plain: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(plain).unwrap();
    assert!(text.contains(from));
    std::fs::write(plain, text.replace(from, to)).unwrap();
}

pub fn acl_allows_and_refuses(client: Clients, name: &str) {
    let acl = start(name);
    let c = &acl.cluster;

    let ok = produce(c, client, "allowed", TOPIC, 0, 5, Some(USER));
    assert_eq!(ok.count("sent"), 5, "allowed sends\n{}", ok.diagnostics());
    let mut consumer = push(c, client, "consumer", "acl_group");
    consumer.wait_messages(5, PHASE_TIMEOUT);

    let denied = produce(c, client, "denied-topic", DENIED_TOPIC, 100, 1, Some(USER));
    assert_refused(c, &denied, "No default permission for topic:DeniedTopic");
    let wrong = produce(
        c,
        client,
        "wrong-secret",
        TOPIC,
        200,
        1,
        Some(("rocketmq2", "wrongsecret")),
    );
    assert_refused(c, &wrong, "Check signature failed for accessKey=rocketmq2");
    // Without credentials the C++ client still sends an empty AccessKey (and a signature):
    // Java answers "No acl config for " to that.
    let unsigned = produce(c, client, "unsigned", TOPIC, 300, 1, None);
    let no_key = match client {
        Clients::RocketmqCpp => "(accessKey ): No acl config for ",
        _ => "No accessKey is configured",
    };
    assert_refused(c, &unsigned, no_key);

    // ali-ons gives up at start (its first GET_CONSUMER_LIST_BY_GROUP is refused); the others
    // go on with their heartbeats refused.
    let mut denied_group = spawn_push(c, client, "denied-group", "denied_group");
    wait_denial_logged(c, &["No default permission for group:denied_group"]);
    assert!(c.consumer_ids("denied_group").is_empty());

    // Nothing stored for a refused send.
    assert_eq!(stored(c, DENIED_TOPIC), 0, "DeniedTopic");
    assert_eq!(stored(c, TOPIC), 5, "AclTopic");

    // Reload while the consumer runs: SUB on AclTopic taken away, then given back.
    edit(&acl.plain, "AclTopic=PUB|SUB", "AclTopic=PUB");
    wait_denial_logged(c, &["code 11", "No default permission for topic:AclTopic"]);
    let more = produce(c, client, "after-reload", TOPIC, 5, 3, Some(USER));
    assert_eq!(more.count("sent"), 3, "PUB kept\n{}", more.diagnostics());
    assert_eq!(
        consumer.count("msg"),
        5,
        "a message reached a consumer without SUB"
    );
    edit(&acl.plain, "AclTopic=PUB\n", "AclTopic=PUB|SUB\n");
    consumer.wait_messages(8, PHASE_TIMEOUT);
    assert_eq!(
        denied_group.count("msg"),
        0,
        "the denied group got messages"
    );
    denied_group.kill();
    consumer.finish(Duration::from_secs(60));
}
