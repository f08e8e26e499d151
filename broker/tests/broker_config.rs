//! GET_BROKER_CONFIG / UPDATE_BROKER_CONFIG and the maintenance and 5.x topic codes through a
//! broker process started on the s12 recording's broker.conf, next to our namesrv:
//!
//! - GET_BROKER_CONFIG lists every key of Java's recorded answer (s12 m19), in Java's order,
//!   with Java's values;
//! - UPDATE_BROKER_CONFIG with m20's body answers as Java did and rewrites the `-c` file to
//!   what Java wrote (`broker.conf.after-updateBrokerConfig`), key by key;
//! - the update takes effect: GET shows it with version counter 1, and `brokerPermission=4`
//!   reaches the namesrv's route before the answer (Java registers before answering).
//!
//! Values that differ by nature, and why: `storePathRootDir`, `storePathCommitLog` (the test's
//! directory), `listenPort`, `haListenPort` (= listenPort + 1), `namesrvAddr` (free ports),
//! `diskMaxUsedSpaceRatio` (95: test brokers tolerate a nearly full disk), and the thread
//! counts Java derives from the core count (checked against Java's formula instead).

mod harness;

use std::collections::BTreeMap;

use harness::{start_broker, start_namesrv, Client, TempDir};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::protocol::properties_text;
use remoting_codec::RemotingCommand;
use test_support::capture::{captures_dir, read_capture, recorded_response};

const DIFFER_BY_NATURE: &[&str] = &[
    "storePathRootDir",
    "storePathCommitLog",
    "listenPort",
    "haListenPort",
    "namesrvAddr",
    "diskMaxUsedSpaceRatio",
];

fn cpus() -> i64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as i64)
}

fn cpu_formula(key: &str) -> Option<fn(i64) -> i64> {
    Some(match key {
        "sendMessageThreadPoolNums" | "putMessageFutureThreadPoolNums" => |c: i64| c.min(4),
        "pullMessageThreadPoolNums" | "processReplyMessageThreadPoolNums" => |c| 16 + 2 * c,
        "queryMessageThreadPoolNums" => |c| 8 + c,
        "heartbeatThreadPoolNums" => |c| c.min(32),
        "endTransactionThreadPoolNums" => |c| (8 + 2 * c).max(c.min(4) * 4),
        "clientCallbackExecutorThreads" => |c| c,
        _ => return None,
    })
}

/// Key by key, in order, with the exceptions above.
fn assert_same_as_java(ours: &str, java: &str, what: &str) {
    let (ours, java) = (
        properties_text::parse(ours).unwrap(),
        properties_text::parse(java).unwrap(),
    );
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&java), "{what}: keys and their order");
    assert_eq!(ours.len(), 178);
    for ((key, o), (_, j)) in ours.iter().zip(&java) {
        if let Some(f) = cpu_formula(key) {
            assert_eq!(
                (o.parse::<i64>().unwrap(), j.parse::<i64>().unwrap()),
                (f(cpus()), f(2)),
                "{what}: {key}"
            );
        } else if !DIFFER_BY_NATURE.contains(&key.as_str()) {
            assert_eq!(o, j, "{what}: {key}");
        }
    }
}

/// Java's recorded answer (as a command) to the `code` request of capture `file`.
fn java_answer(file: &str, code: i32) -> RemotingCommand {
    let frames = read_capture(file);
    let request = frames
        .iter()
        .find(|f| f.code() == code && !f.is_response() && f.to_broker())
        .unwrap();
    recorded_response(&frames, request).unwrap().to_command()
}

async fn get_config(c: &Client) -> (String, String) {
    let r = c
        .invoke(RemotingCommand::request_without_header(
            req::GET_BROKER_CONFIG,
        ))
        .await
        .unwrap();
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    let version = r.ext_field("version").unwrap().to_owned();
    (String::from_utf8(r.body.to_vec()).unwrap(), version)
}

async fn update_config(c: &Client, body: &str) -> RemotingCommand {
    c.invoke(
        RemotingCommand::request_without_header(req::UPDATE_BROKER_CONFIG)
            .with_body(body.as_bytes().to_vec()),
    )
    .await
    .unwrap()
}

/// The perm of the broker's queue data in the namesrv's route of `topic`.
async fn route_perm(namesrv: &Client, topic: &str) -> i64 {
    let r = namesrv
        .invoke(
            RemotingCommand::request_without_header(req::GET_ROUTEINFO_BY_TOPIC)
                .with_ext_field("topic", topic),
        )
        .await
        .unwrap();
    assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
    let v = fastjson::from_slice_value(&r.body).unwrap();
    v["queueDatas"][0]["perm"].as_i64().unwrap()
}

#[test]
fn broker_config_is_javas_and_updates_take_effect() {
    let dir = TempDir::new("broker-config-e2e");
    let s12 = captures_dir().join("s12-mqadmin");
    let base = std::fs::read_to_string(s12.join("broker.conf")).unwrap();
    let mut namesrv = start_namesrv(dir.path());
    let mut broker = start_broker(
        dir.path(),
        &base,
        Some(namesrv.addr),
        // Java's ROCKETMQ_HOME of that run; the recording's only address.
        &["rocketmqHome=/opt/rocketmq", "brokerIP2=127.0.0.1"],
    );
    let java_get = String::from_utf8(
        java_answer(
            "s12-mqadmin/m19-getBrokerConfig.jsonl",
            req::GET_BROKER_CONFIG,
        )
        .body
        .to_vec(),
    )
    .unwrap();
    let java_file =
        std::fs::read_to_string(s12.join("broker.conf.after-updateBrokerConfig")).unwrap();
    let java_update = java_answer(
        "s12-mqadmin/m20-updateBrokerConfig.jsonl",
        req::UPDATE_BROKER_CONFIG,
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = Client::connect(broker.addr()).await;
        let ns = Client::connect(namesrv.addr).await;

        let (text, version) = get_config(&c).await;
        assert_same_as_java(&text, &java_get, "GET_BROKER_CONFIG");
        let v = fastjson::from_slice_value(version.as_bytes()).unwrap();
        assert_eq!(v["counter"], 0);

        // m20: the same body, Java's answer (code, no remark, no extFields).
        let r = update_config(&c, "fileReservedTime=72\n").await;
        assert_eq!(
            (r.code, r.remark.as_deref(), r.ext_fields.is_some()),
            (
                java_update.code,
                java_update.remark.as_deref(),
                java_update.ext_fields.is_some()
            )
        );
        let file = std::fs::read_to_string(&broker.conf).unwrap();
        assert_same_as_java(&file, &java_file, "the rewritten -c file");
        let (text, version) = get_config(&c).await;
        assert_eq!(text, file);
        let props: BTreeMap<String, String> =
            properties_text::to_map(&properties_text::parse(&text).unwrap());
        assert_eq!(props["fileReservedTime"], "72");
        let v2 = fastjson::from_slice_value(version.as_bytes()).unwrap();
        assert_eq!(v2["counter"], 1);
        assert!(v2["timestamp"].as_i64() >= v["timestamp"].as_i64());

        // A run-time effect: brokerPermission reaches the route before the answer.
        let create = RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC)
            .with_ext_field("topic", "CfgTopic")
            .with_ext_field("defaultTopic", "TBW102")
            .with_ext_field("readQueueNums", "2")
            .with_ext_field("writeQueueNums", "2")
            .with_ext_field("perm", "6")
            .with_ext_field("topicFilterType", "SINGLE_TAG")
            .with_ext_field("order", "false");
        assert_eq!(c.invoke(create).await.unwrap().code, resp::SUCCESS);
        let r = update_config(&c, "brokerPermission=4\n").await;
        assert_eq!(r.code, resp::SUCCESS);
        assert_eq!(route_perm(&ns, "CfgTopic").await, 4);
        let r = update_config(&c, "brokerPermission=6\n").await;
        assert_eq!(r.code, resp::SUCCESS);
        assert_eq!(route_perm(&ns, "CfgTopic").await, 6);

        // Refusals: a black-listed key, an unreadable body.
        let r = update_config(&c, "rocketmqHome=/tmp\n").await;
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::NO_PERMISSION,
                Some("Can not update config in black list.")
            )
        );
        let r = update_config(&c, "deleteWhen=\\uzzzz\n").await;
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (resp::SYSTEM_ERROR, Some("string2Properties error"))
        );

        // 5.x GET_TOPIC_CONFIG, 305 and the maintenance codes.
        let get = |t: &str| {
            RemotingCommand::request_without_header(req::GET_TOPIC_CONFIG)
                .with_ext_field("topic", t)
                .with_ext_field("lo", "true")
        };
        let r = c.invoke(get("CfgTopic")).await.unwrap();
        assert_eq!(r.code, resp::SUCCESS);
        let v = fastjson::from_slice_value(&r.body).unwrap();
        assert_eq!(
            (v["topicName"].as_str(), v["writeQueueNums"].as_i64()),
            (Some("CfgTopic"), Some(2))
        );
        let r = c.invoke(get("NoSuchTopic")).await.unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::TOPIC_NOT_EXIST,
                Some("No topic in this broker. topic: NoSuchTopic")
            )
        );
        let r = c
            .invoke(RemotingCommand::request_without_header(
                req::GET_SYSTEM_TOPIC_LIST_FROM_BROKER,
            ))
            .await
            .unwrap();
        let v = fastjson::from_slice_value(&r.body).unwrap();
        let list: Vec<&str> = v["topicList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(
            list.contains(&"broker-a") && list.contains(&"DefaultCluster_REPLY_TOPIC"),
            "{list:?}"
        );
        for code in [
            req::CLEAN_EXPIRED_CONSUMEQUEUE,
            req::CLEAN_UNUSED_TOPIC,
            req::DELETE_EXPIRED_COMMITLOG,
        ] {
            let r = c
                .invoke(RemotingCommand::request_without_header(code))
                .await
                .unwrap();
            assert_eq!(
                (r.code, r.remark.as_deref()),
                (resp::SUCCESS, None),
                "{code}"
            );
        }
    });
    assert!(broker.terminate().success());
    // The rewritten file starts the broker again, with the updated value.
    let mut again = harness::BrokerProcess::start_with(
        std::path::Path::new(env!("CARGO_BIN_EXE_broker")),
        &broker.conf,
    );
    rt.block_on(async {
        let c = Client::connect(again.addr()).await;
        let (text, _) = get_config(&c).await;
        assert!(
            text.contains("\nfileReservedTime=72\n") || text.starts_with("fileReservedTime=72\n")
        );
        assert!(text.contains("\nbrokerPermission=6\n"));
    });
    assert!(again.terminate().success());
    namesrv.terminate();
}
