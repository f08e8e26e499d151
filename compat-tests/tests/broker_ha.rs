//! Master/slave replication with crates.io `rocketmq-client-rust`, in ASYNC_MASTER and
//! SYNC_MASTER: the client produces 10,000 messages to the master; the slave's commitlog files
//! become byte-identical to the master's and its consume queues agree; after `kill -9` of the
//! master a pull consumer reads all 10,000 from the slave (the route then names only the
//! slave); the restarted master replicates what comes next with no gap and no duplicate byte.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use compat_tests::{BrokerProcess, BrokerSettings, Clients, TestNamesrv};
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::protocol::{perm, TopicConfig};
use remoting_codec::RemotingCommand;
use test_support::dirs::TempDir;

const MESSAGES: usize = 10_000;
const QUEUES: i32 = 4;
const TOPIC: &str = "HaTopic";
const WAIT: Duration = Duration::from_secs(180);

fn settings(ns: &TestNamesrv, dir: &TempDir, role: &str, id: &str) -> BrokerSettings {
    let mut s = BrokerSettings::new(ns.addr, dir.join("store"));
    s.broker_name = "ha-broker".to_owned();
    s.set("brokerId", id)
        .set("brokerRole", role)
        .set("haSendHeartbeatInterval", "1000")
        // 1 MiB files: 10,000 messages span several, so file ends replicate too.
        .set("mappedFileSizeCommitLog", "1048576")
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p.strip_prefix(dir).unwrap().to_owned(), bytes));
            }
        }
    }
    out.sort();
    out
}

fn wait_identical(master: &BrokerProcess, slave: &BrokerProcess) {
    let (m, s) = (master.dir.join("store"), slave.dir.join("store"));
    let deadline = Instant::now() + WAIT;
    loop {
        let same_log = tree(&m.join("commitlog")) == tree(&s.join("commitlog"));
        if same_log && tree(&m.join("consumequeue")) == tree(&s.join("consumequeue")) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the slave's store never became the master's; slave stderr:\n{}",
            slave.stderr_tail(4000)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Sends `count` messages; every send is stored. A SYNC_MASTER answers SLAVE_NOT_AVAILABLE
/// until its slave (re)connected and reported (after a start or restart), then only SEND_OK;
/// with `connected` the slave is known to be connected, so every answer is SEND_OK.
/// Waits until the slave copied the master's topic table (SlaveSynchronize, every 10 s): a
/// slave answers TOPIC_NOT_EXIST for a topic it has not copied yet, as Java's does.
fn wait_topic_synced(slave: &BrokerProcess) {
    let file = slave.dir.join("store/config/topics.json");
    let deadline = Instant::now() + WAIT;
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains(&format!("\"{TOPIC}\""))) {
        assert!(Instant::now() < deadline, "the slave never copied {TOPIC}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// UPDATE_AND_CREATE_TOPIC for [`TOPIC`] ([`QUEUES`] queues, read and write) on `master`.
fn create_topic_on(master: &BrokerProcess) {
    let mut config = TopicConfig::new(TOPIC);
    config.read_queue_nums = QUEUES;
    config.write_queue_nums = QUEUES;
    config.perm = perm::READ | perm::WRITE;
    let header = CreateTopicRequestHeader::from_topic_config(&config);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let answer = rt.block_on(async {
        let client = RemotingClient::connect(master.addr())
            .await
            .expect("connect to the master");
        client
            .invoke(
                RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header),
                Duration::from_secs(30),
            )
            .await
            .expect("UPDATE_AND_CREATE_TOPIC answered")
    });
    assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
}

fn produce(ns: &TestNamesrv, home: &Path, start: usize, count: usize, sync: bool, connected: bool) {
    let mut p = Clients::RocketmqRust.spawn(
        "producer",
        home,
        "produce",
        &[
            ("namesrv", ns.addr.to_string()),
            ("topic", TOPIC.to_owned()),
            ("group", "ha_producer".to_owned()),
            ("count", count.to_string()),
            ("start", start.to_string()),
        ],
    );
    p.finish_ok(WAIT);
    assert_eq!(p.count("error"), 0, "{}", p.diagnostics());
    let statuses: Vec<String> = p
        .events("sent")
        .iter()
        .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(statuses.len(), count);
    let first_ok = statuses.iter().position(|s| s == "SendOk").unwrap_or(count);
    let (before, after) = statuses.split_at(first_ok);
    assert!(
        before
            .iter()
            .all(|s| sync && !connected && s == "SlaveNotAvailable"),
        "{before:?}"
    );
    assert!(after.iter().all(|s| s == "SendOk"), "{}", p.diagnostics());
}

fn replicate_and_read_from_the_slave(role: &str, name: &str) {
    let ns = TestNamesrv::start(name);
    let mdir = TempDir::kept_by(&format!("compat-{name}-master"), "COMPAT_KEEP");
    let sdir = TempDir::kept_by(&format!("compat-{name}-slave"), "COMPAT_KEEP");
    let home = sdir.join("clients");
    let mut master = BrokerProcess::start(settings(&ns, &mdir, role, "0"), mdir);
    let slave = BrokerProcess::start(settings(&ns, &sdir, "SLAVE", "1"), sdir);

    let sync = role == "SYNC_MASTER";
    produce(&ns, &home, 0, MESSAGES, sync, false);
    wait_identical(&master, &slave);
    wait_topic_synced(&slave);

    // kill -9 the master: a consumer reads everything from the slave.
    master.kill();
    let mut bodies = Vec::new();
    for q in 0..QUEUES {
        let mut c = Clients::RocketmqRust.spawn(
            &format!("pull-{q}"),
            &home,
            "pull",
            &[
                ("namesrv", ns.addr.to_string()),
                ("topic", TOPIC.to_owned()),
                ("group", "ha_reader".to_owned()),
                ("queue", q.to_string()),
                ("commit", "false".to_owned()),
            ],
        );
        c.finish_ok(WAIT);
        assert_eq!(c.count("error"), 0, "{}", c.diagnostics());
        bodies.extend(
            c.events("msg")
                .iter()
                .map(|m| m["body"].as_str().unwrap_or_default().to_owned()),
        );
    }
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), MESSAGES, "every message once, from the slave");

    // The master comes back; what it stores next reaches the slave with no gap.
    master.restart();
    produce(&ns, &home, MESSAGES, 200, sync, false);
    wait_identical(&master, &slave);
    // Caught up, so connected: every send is acknowledged now.
    produce(&ns, &home, MESSAGES + 200, 100, sync, true);
    wait_identical(&master, &slave);
}

#[test]
fn async_master_replicates_10000_messages_to_the_slave() {
    replicate_and_read_from_the_slave("ASYNC_MASTER", "ha-async");
}

#[test]
fn sync_master_replicates_10000_messages_to_the_slave() {
    replicate_and_read_from_the_slave("SYNC_MASTER", "ha-sync");
}

/// Two broker groups (broker-a and broker-b, each a master and a slave) under one name
/// server; the topic spans both. The producer keeps sending (to broker-b) after broker-a's
/// master is killed; a push consumer then reads every message, broker-a's from its slave.
#[test]
fn two_groups_producer_survives_a_dead_master_and_consumers_read_everything() {
    let ns = TestNamesrv::start("ha-2m2s");
    let dirs: Vec<TempDir> = ["a-m", "a-s", "b-m", "b-s"]
        .iter()
        .map(|n| TempDir::kept_by(&format!("compat-ha-2m2s-{n}"), "COMPAT_KEEP"))
        .collect();
    let home = dirs[1].join("clients");
    let group = |dir: &TempDir, name: &str, role: &str, id: &str| {
        let mut s = settings(&ns, dir, role, id);
        s.broker_name = name.to_owned();
        s
    };
    let mut dirs = dirs.into_iter();
    let mut a_master = BrokerProcess::start(
        group(&dirs.as_slice()[0], "broker-a", "ASYNC_MASTER", "0"),
        dirs.next().unwrap(),
    );
    let a_slave = BrokerProcess::start(
        group(&dirs.as_slice()[0], "broker-a", "SLAVE", "1"),
        dirs.next().unwrap(),
    );
    let b_master = BrokerProcess::start(
        group(&dirs.as_slice()[0], "broker-b", "ASYNC_MASTER", "0"),
        dirs.next().unwrap(),
    );
    let b_slave = BrokerProcess::start(
        group(&dirs.as_slice()[0], "broker-b", "SLAVE", "1"),
        dirs.next().unwrap(),
    );

    // The topic on both masters first, as an operator creates it (`mqadmin updateTopic -c`):
    // auto-created from TBW102 it can stay on whichever master took the first send, once the
    // client's next route poll names only that one, and broker-a's slave would never see it.
    create_topic_on(&a_master);
    create_topic_on(&b_master);
    produce(&ns, &home, 0, 1000, false, false);
    wait_identical(&a_master, &a_slave);
    wait_identical(&b_master, &b_slave);
    wait_topic_synced(&a_slave);
    a_master.kill();
    // The namesrv drops broker-a's master with its connection: the route then names only
    // broker-a's slave, its queue data unchanged (the s15-ha recording's master-gone route),
    // so producers send to broker-b.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let route = rt
            .block_on(compat_tests::namesrv::route(ns.addr, TOPIC))
            .unwrap();
        let a = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == "broker-a");
        // (Each master registers the auto-created topic shortly after its first send.)
        if a.is_some_and(|a| a.broker_addrs.keys().eq([&1])) && route.queue_datas.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{route:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    produce(&ns, &home, 1000, 1000, false, false);

    let mut consumer = Clients::RocketmqRust.spawn(
        "consumer",
        &home,
        "push",
        &[
            ("namesrv", ns.addr.to_string()),
            ("topic", TOPIC.to_owned()),
            ("group", "ha_all".to_owned()),
            ("from", "first".to_owned()),
        ],
    );
    consumer.wait_ready();
    consumer.wait_until("all 2,000 messages", WAIT, |c| {
        let mut bodies: Vec<String> = c
            .events("msg")
            .iter()
            .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
            .collect();
        bodies.sort();
        bodies.dedup();
        bodies.len() == 2000
    });
    consumer.finish(WAIT);
    drop(b_slave);
    drop(b_master);
}
