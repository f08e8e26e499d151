//! Third-party clients resolve a route from our name server: `ali-ons` (npm, pure JavaScript)
//! and `rocketmq` 0.4.4 (PyPI, the Apache RocketMQ C++ client). A test broker registers the
//! topic with REGISTER_BROKER frames; each client runs as a child process and prints what it
//! parsed from the route. Install the clients with `npm ci` in `clients/node` and a venv in
//! `clients/python/.venv` (see `.ci/run`).

use std::process::{Command, Output};

use compat_tests::client::keep_real_clock;
use compat_tests::{crate_dir, require, TestBroker, TestNamesrv};
use serde_json::Value;

const TOPIC: &str = "RsCompatRouteTopic";
const BROKER_NAME: &str = "rs-broker-a";

fn run(cmd: &mut Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run client");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "client failed: {status}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

/// The JSON after `prefix` on the client's output line that starts with it.
fn tagged_json(stdout: &str, prefix: &str) -> Value {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in client output:\n{stdout}"));
    serde_json::from_str(line).expect("client printed JSON")
}

/// A name server with the test broker registered; the broker's connection must stay open.
fn start_with_broker(
    name: &str,
    broker_port: u16,
) -> (
    TestNamesrv,
    tokio::runtime::Runtime,
    remoting::RemotingClient,
) {
    let ns = TestNamesrv::start(name);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker_addr = format!("127.0.0.1:{broker_port}");
    let link = rt.block_on(
        TestBroker {
            cluster: "RsCluster",
            broker_name: BROKER_NAME,
            broker_addr: &broker_addr,
            topic: TOPIC,
            queues: 3,
        }
        .register(ns.addr),
    );
    (ns, rt, link)
}

#[test]
fn ali_ons_reads_a_route() {
    let dir = crate_dir().join("clients/node");
    require(
        &dir.join("node_modules/ali-ons"),
        "run `npm ci` in compat-tests/clients/node",
    );
    let broker_port = compat_tests::free_port();
    let (ns, _rt, _link) = start_with_broker("ali-ons", broker_port);

    let out = run(Command::new("node")
        .arg("route.js")
        .arg(ns.addr.to_string())
        .arg(TOPIC)
        .current_dir(&dir));
    let route = tagged_json(&out, "ROUTE ");
    let broker = &route["brokerDatas"][0];
    assert_eq!(broker["brokerName"], BROKER_NAME);
    assert_eq!(broker["cluster"], "RsCluster");
    assert_eq!(
        broker["brokerAddrs"]["0"],
        format!("127.0.0.1:{broker_port}")
    );
    let queues = &route["queueDatas"][0];
    assert_eq!(queues["brokerName"], BROKER_NAME);
    assert_eq!(queues["readQueueNums"], 3);
    assert_eq!(queues["writeQueueNums"], 3);
    assert_eq!(queues["perm"], 6);

    // An unknown topic: ali-ons surfaces our TOPIC_NOT_EXIST answer as an error.
    let out = run(Command::new("node")
        .arg("route.js")
        .arg(ns.addr.to_string())
        .arg("NoSuchTopicHere")
        .current_dir(&dir));
    assert!(
        out.starts_with("ERROR") && out.contains("NoSuchTopicHere"),
        "{out}"
    );
}

#[test]
fn rocketmq_cpp_client_reads_a_route() {
    let dir = crate_dir().join("clients/python");
    let python = dir.join(".venv/bin/python");
    require(
        &python,
        "create compat-tests/clients/python/.venv and pip install -r requirements.txt in it",
    );
    let broker_port = compat_tests::free_port();
    let (ns, _rt, _link) = start_with_broker("rocketmq-cpp", broker_port);
    // The C++ client writes its logs under $HOME/logs.
    let home = ns.home.join("client-home");
    std::fs::create_dir_all(&home).unwrap();

    let mut cmd = Command::new(&python);
    cmd.arg("route.py")
        .arg(ns.addr.to_string())
        .arg(TOPIC)
        .env("HOME", &home)
        .current_dir(&dir);
    keep_real_clock(&mut cmd);
    let out = run(&mut cmd);
    let queues = tagged_json(&out, "QUEUES ");
    let mut ids: Vec<i64> = queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            assert_eq!(q["topic"], TOPIC);
            assert_eq!(q["brokerName"], BROKER_NAME);
            q["queueId"].as_i64().unwrap()
        })
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [0, 1, 2],
        "the client derived one queue per read queue of the route"
    );
}
