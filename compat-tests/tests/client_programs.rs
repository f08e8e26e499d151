//! The client programs the broker tests drive (`clients/{node,python,rust}`) run and resolve a
//! route from our name server, without a broker: a fake registration routes an 8-queue topic
//! to a port nobody listens on. Each program's pull command must find queue 5 in that route
//! (its `ready` event), then fail to reach the broker and say so, not hang.

use std::time::Duration;

use compat_tests::{free_port, ClientProcess, Clients, TestBroker, TestNamesrv};

const TOPIC: &str = "RsCompatProgramTopic";

fn pull_without_broker(client: Clients, name: &str) -> ClientProcess {
    let ns = TestNamesrv::start(name);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let broker_addr = format!("127.0.0.1:{}", free_port());
    let _link = rt.block_on(
        TestBroker {
            cluster: "RsCluster",
            broker_name: "rs-broker-a",
            broker_addr: &broker_addr,
            topic: TOPIC,
            queues: 8,
        }
        .register(ns.addr),
    );
    let args = [
        ("namesrv", ns.addr.to_string()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatProgramGroup".to_owned()),
        ("queue", "5".to_owned()),
    ];
    let mut pull = client.spawn(name, &ns.home.join("client-home"), "pull", &args);
    pull.wait_ready();
    let ready = pull.events("ready");
    if client == Clients::AliOns {
        assert_eq!(ready[0]["brokerAddr"], broker_addr.as_str());
    }
    // No broker: the program reports the failure and ends.
    let status = pull.finish(Duration::from_secs(120));
    assert!(
        status.is_some(),
        "{name}: still running 120 s without a broker\n{}",
        pull.diagnostics()
    );
    assert!(
        pull.count("error") > 0 || !status.unwrap().success(),
        "{name}: pulled from a broker that does not exist\n{}",
        pull.diagnostics()
    );
    assert_eq!(pull.count("msg"), 0);
    pull
}

#[test]
fn node_program_resolves_the_route() {
    pull_without_broker(Clients::AliOns, "program-node");
}

#[test]
fn python_program_resolves_the_route() {
    pull_without_broker(Clients::RocketmqCpp, "program-python");
}

#[test]
fn rust_program_resolves_the_route() {
    pull_without_broker(Clients::RocketmqRust, "program-rust");
}
