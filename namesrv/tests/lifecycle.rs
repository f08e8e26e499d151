//! The namesrv process: broker expiry, removal when the broker's connection closes, KV
//! persistence across a restart, malformed frames, unknown codes, `-p` and SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{base_registration, start_namesrv, temp_home, Process};
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::namesrv::{
    GetKVConfigRequestHeader, GetRouteInfoRequestHeader, PutKVConfigRequestHeader,
};
use remoting_codec::RemotingCommand;

const TIMEOUT: Duration = Duration::from_secs(10);

fn route_request() -> RemotingCommand {
    RemotingCommand::request(
        request::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: "TBW102".into(),
            accept_standard_json_only: None,
        },
    )
}

async fn register(ns: &Process) -> RemotingClient {
    let broker = RemotingClient::connect(ns.addr).await.unwrap();
    let resp = broker
        .invoke(base_registration().to_command(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    broker
}

async fn route_code(client: &RemotingClient) -> i32 {
    client.invoke(route_request(), TIMEOUT).await.unwrap().code
}

/// Polls until the route answer has `code` (the namesrv acts asynchronously to the test).
async fn wait_for_route_code(client: &RemotingClient, code: i32, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if route_code(client).await == code {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The broker expiry `broker_expires_after_the_configured_period` sets.
const EXPIRY: Duration = Duration::from_millis(300);

#[test]
fn broker_expires_after_the_configured_period() {
    let home = temp_home("expiry");
    let expiry = EXPIRY.as_millis().to_string();
    let ns = start_namesrv(
        &home,
        &[
            "--broker-expiry-millis",
            &expiry,
            "--scan-interval-millis",
            "50",
        ],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = RemotingClient::connect(ns.addr).await.unwrap();
        // Registered, the broker is routed until its 300 ms are up. A route read answered
        // within 300 ms of the registration's start was served before the expiry could have
        // come, so it must find the broker; a slower round trip (a loaded machine) proves
        // nothing and the broker registers again.
        let mut attempts = 0;
        let broker = loop {
            attempts += 1;
            let started = std::time::Instant::now();
            let broker = register(&ns).await;
            let code = route_code(&client).await;
            if started.elapsed() < EXPIRY {
                assert_eq!(code, response::SUCCESS);
                break broker;
            }
            assert!(
                attempts < 100,
                "no registration and route read within {EXPIRY:?}"
            );
            broker.close();
        };
        // The broker stays connected but stops registering: it must go, and Java closes its
        // connection too.
        assert!(
            wait_for_route_code(&client, response::TOPIC_NOT_EXIST, Duration::from_secs(20)).await
        );
        tokio::time::timeout(Duration::from_secs(10), broker.connection().closed())
            .await
            .expect("expired broker's connection closed by the namesrv");
    });
    drop(ns);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn broker_is_dropped_when_its_connection_closes() {
    let home = temp_home("close");
    // Java's 120 s expiry: only the closed connection can explain the removal.
    let ns = start_namesrv(&home, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let broker = register(&ns).await;
        let client = RemotingClient::connect(ns.addr).await.unwrap();
        assert_eq!(route_code(&client).await, response::SUCCESS);
        // A client connection closing does not touch the broker.
        let other = RemotingClient::connect(ns.addr).await.unwrap();
        other.close();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(route_code(&client).await, response::SUCCESS);
        broker.close();
        assert!(
            wait_for_route_code(&client, response::TOPIC_NOT_EXIST, Duration::from_secs(20)).await
        );
    });
    drop(ns);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn kv_config_survives_a_restart_in_javas_file_shape() {
    let home = temp_home("kv");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut ns = start_namesrv(&home, &[]);
    rt.block_on(async {
        let client = RemotingClient::connect(ns.addr).await.unwrap();
        for (k, v) in [("golden_key", "golden_value"), ("T", "broker-a:4")] {
            let put = PutKVConfigRequestHeader {
                namespace: "golden_ns".into(),
                key: k.into(),
                value: v.into(),
            };
            let resp = client
                .invoke(
                    RemotingCommand::request(request::PUT_KV_CONFIG, &put),
                    TIMEOUT,
                )
                .await
                .unwrap();
            assert_eq!(resp.code, response::SUCCESS);
        }
    });
    assert!(ns.terminate().success(), "clean exit on SIGTERM");
    let file = home.join("namesrv/kvConfig.json");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{"configTable":{"golden_ns":{"T":"broker-a:4","golden_key":"golden_value"}}}"#
    );
    assert_eq!(
        std::fs::read_to_string(home.join("namesrv/kvConfig.json.bak")).unwrap(),
        r#"{"configTable":{"golden_ns":{"golden_key":"golden_value"}}}"#
    );

    let ns = start_namesrv(&home, &[]);
    rt.block_on(async {
        let client = RemotingClient::connect(ns.addr).await.unwrap();
        let get = |key: &str| {
            RemotingCommand::request(
                request::GET_KV_CONFIG,
                &GetKVConfigRequestHeader {
                    namespace: "golden_ns".into(),
                    key: key.into(),
                },
            )
        };
        let resp = client.invoke(get("golden_key"), TIMEOUT).await.unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(resp.ext_field("value"), Some("golden_value"));
        let miss = client.invoke(get("nope"), TIMEOUT).await.unwrap();
        assert_eq!(miss.code, response::QUERY_NOT_FOUND);
        assert_eq!(
            miss.remark.as_deref(),
            Some("No config item, Namespace: golden_ns Key: nope")
        );
    });
    drop(ns);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn malformed_frame_closes_only_its_connection() {
    let home = temp_home("malformed");
    let ns = start_namesrv(&home, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let good = rt.block_on(async {
        let good = register(&ns).await;
        assert_eq!(route_code(&good).await, response::SUCCESS);
        good
    });
    for garbage in [
        // Negative length.
        vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        // Header longer than the frame.
        [8i32.to_be_bytes(), 100u32.to_be_bytes(), [0; 4]].concat(),
        // Header that is not JSON.
        [8i32.to_be_bytes(), 4u32.to_be_bytes(), *b"{zz}"].concat(),
        // Over the 16 MiB frame limit.
        (64 * 1024 * 1024i32).to_be_bytes().to_vec(),
    ] {
        let mut bad = TcpStream::connect(ns.addr).unwrap();
        bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        bad.write_all(&garbage).unwrap();
        let mut buf = [0u8; 16];
        // The server closes the connection without answering: read sees EOF (or a reset).
        let n = bad.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "no answer to garbage {garbage:?}");
    }
    rt.block_on(async {
        // The other connection (the registered broker's) is untouched, so is the broker.
        assert_eq!(route_code(&good).await, response::SUCCESS);
    });
    drop(ns);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn unknown_codes_bad_headers_and_oneway() {
    let home = temp_home("codes");
    let ns = start_namesrv(&home, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = RemotingClient::connect(ns.addr).await.unwrap();
        let resp = client
            .invoke(RemotingCommand::request_without_header(351), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(
            resp.remark.as_deref(),
            Some(" request type 351 not supported")
        );
        // A missing required header field: SYSTEM_ERROR naming the field.
        let resp = client
            .invoke(
                RemotingCommand::request_without_header(request::GET_ROUTEINFO_BY_TOPIC),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(resp.code, response::SYSTEM_ERROR);
        assert!(resp.remark.unwrap_or_default().contains("topic"));
        // A oneway request gets no answer, and the connection keeps working.
        client
            .invoke_oneway(RemotingCommand::request_without_header(351))
            .await
            .unwrap();
        let resp = client
            .invoke(
                RemotingCommand::request_without_header(request::GET_BROKER_CLUSTER_INFO),
                TIMEOUT,
            )
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(
            &resp.body[..],
            br#"{"brokerAddrTable":{},"clusterAddrTable":{}}"#
        );
    });
    drop(ns);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn print_config_items_shows_java_keys() {
    let home = temp_home("print");
    let conf = home.join("namesrv.conf");
    std::fs::write(&conf, "listenPort=19876\norderMessageEnable=true\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_namesrv"))
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg("--userHome")
        .arg(&home)
        .env("ROCKETMQ_HOME", "/opt/rocketmq")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "listenPort=19876",
        "orderMessageEnable=true",
        "rocketmqHome=/opt/rocketmq",
        "serverWorkerThreads=8",
        "productEnvName=center",
        &format!(
            "kvConfigPath={}",
            home.join("namesrv/kvConfig.json").display()
        ),
        &format!("configStorePath={}", conf.display()),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing in:\n{text}"
        );
    }
    std::fs::remove_dir_all(&home).unwrap();
}
