//! The 5.x client's protocol details, end to end: the broker binary on free ports, driven by our
//! remoting client with exactly the extFields and bodies the 5.3.3 Java client writes (read
//! from `client/.../MQClientAPIImpl.java` and the headers' `RpcRequestHeader` /
//! `TopicQueueRequestHeader` fields of 5.3.3, checked against the s13-client5 recording, where
//! the 5.3.3 client adds `bname` to every queue request and `maxMsgBytes` to pulls). Each test
//! names the Java method whose request it sends.
//!
//! - LITE_PULL_MESSAGE 361 (`MQClientAPIImpl.pullMessage` when the sysFlag carries
//!   `FLAG_LITE_PULL_MESSAGE`, i.e. `DefaultLitePullConsumerImpl.pull`): served as a pull, long
//!   polling included, main port only;
//! - PULL_MESSAGE with 5.3.3's `maxMsgBytes`, `bname` and the proxy's `requestSource` /
//!   `proxyFrowardClientId`: accepted; `maxMsgBytes` does not cut the answer (5.3.3's broker
//!   never reads it);
//! - the v2 heartbeat (`MQClientAPIImpl.sendHeartbeatV2`, `MQClientInstance.sendHeartbeatToBrokerV2`):
//!   v2 fields in the answer, the consumer kept registered with its subscription when later
//!   heartbeats carry only the fingerprint;
//! - QUERY_CONSUMER_OFFSET (`queryConsumerOffset`, and `setZeroIfNotFound=false`),
//!   UPDATE_CONSUMER_OFFSET oneway (`updateConsumerOffsetOneway`), GET_MAX_OFFSET with the
//!   always-sent `committed=true` (`getMaxOffset`), GET_CONSUMER_LIST_BY_GROUP
//!   (`getConsumerIdListByGroup`), GET_SUBSCRIPTIONGROUP_CONFIG 352
//!   (`getSubscriptionGroupConfig`), SEND_MESSAGE_V2 with `n` (brokerName) as the capture shows.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::sysflag::pull_sys_flag::{
    FLAG_LITE_PULL_MESSAGE, FLAG_SUBSCRIPTION, FLAG_SUSPEND,
};
use remoting_codec::protocol::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, GetConsumerListByGroupResponseBody, HeartbeatData,
    MessageModel, ProducerData,
};
use remoting_codec::protocol::group_admin::SubscriptionGroupConfig;
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::RemotingCommand;

const BROKER_NAME: &str = "broker-a";

/// `PullAPIWrapper.pullKernelImpl` → `MQClientAPIImpl.pullMessage` of 5.3.3: every field the
/// `PullMessageRequestHeader` has set, `bname` from the queue, `maxMsgBytes` from the
/// consumer's `pullBatchSizeInBytes` (256 KiB by default, as recorded). The code is
/// LITE_PULL_MESSAGE when the sysFlag has the lite flag.
fn java_pull(topic: &str, offset: i64, sys_flag: i32, max_msg_bytes: i32) -> RemotingCommand {
    let code = if sys_flag & FLAG_LITE_PULL_MESSAGE != 0 {
        request::LITE_PULL_MESSAGE
    } else {
        request::PULL_MESSAGE
    };
    let mut fields = vec![
        ("consumerGroup", "CG5".to_owned()),
        ("topic", topic.to_owned()),
        ("queueId", "0".to_owned()),
        ("queueOffset", offset.to_string()),
        ("maxMsgNums", "32".to_owned()),
        ("sysFlag", sys_flag.to_string()),
        ("commitOffset", "0".to_owned()),
        ("suspendTimeoutMillis", "20000".to_owned()),
        ("subVersion", "0".to_owned()),
        ("maxMsgBytes", max_msg_bytes.to_string()),
        ("expressionType", "TAG".to_owned()),
        ("bname", BROKER_NAME.to_owned()),
    ];
    if sys_flag & FLAG_SUBSCRIPTION != 0 {
        fields.push(("subscription", "*".to_owned()));
    }
    java_request(code, &fields)
}

/// SEND_MESSAGE_V2 as the s13-client5 capture shows it (a..n, `n` the broker name).
fn java_send(topic: &str, key: &str) -> RemotingCommand {
    let props =
        format!("KEYS\u{1}{key}\u{2}UNIQ_KEY\u{1}U{key}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA\u{2}");
    let fields = java533_send_fields("PG5", topic, props, BROKER_NAME);
    java_request(request::SEND_MESSAGE_V2, &fields).with_body(Bytes::from(format!("body {key}")))
}

async fn send_n(client: &RemotingClient, topic: &str, n: usize) {
    for i in 0..n {
        let resp = client
            .invoke(java_send(topic, &format!("k{i}")), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
}

/// Pulls (with `java_pull`'s headers) from `offset` until `n` records came.
async fn pull_all(client: &RemotingClient, topic: &str, sys_flag: i32, n: usize) -> usize {
    let deadline = Instant::now() + TIMEOUT;
    let (mut got, mut offset) = (0, 0);
    while got < n {
        assert!(Instant::now() < deadline, "only {got} of {n}");
        let resp = client
            .invoke(java_pull(topic, offset, sys_flag, 262_144), TIMEOUT)
            .await
            .unwrap();
        if resp.code == response::SUCCESS {
            got += records(&resp).len();
        }
        offset = resp.ext_field("nextBeginOffset").unwrap().parse().unwrap();
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_pull_is_served_as_a_pull_with_long_polling_on_the_main_port_only() {
    let dir = temp_dir("lite-pull");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_n(&client, "TL", 3).await;
    // DefaultLitePullConsumerImpl.pull: buildSysFlag(false, block, true, false, true).
    let lite = FLAG_SUBSCRIPTION | FLAG_LITE_PULL_MESSAGE;
    assert_eq!(pull_all(&client, "TL", lite | FLAG_SUSPEND, 3).await, 3);

    // At the end with the suspend flag: parked, then woken by a send.
    let started = Instant::now();
    let poller = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .invoke(java_pull("TL", 3, lite | FLAG_SUSPEND, 262_144), TIMEOUT)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poller.is_finished(), "the lite pull is parked");
    send_n(&client, "TL", 1).await;
    let resp = poller.await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(records(&resp).len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "woken by the send"
    );

    // Without the suspend flag (a non-blocking poll): PULL_NOT_FOUND at once.
    let resp = client
        .invoke(java_pull("TL", 4, lite, 262_144), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);

    // The VIP port does not serve it, as Java registers pulls on remotingServer only.
    let vip = RemotingClient::connect(broker.vip_addr()).await.unwrap();
    let resp = vip
        .invoke(java_pull("TL", 0, lite, 262_144), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(
        resp.remark.as_deref(),
        Some(" request type 361 not supported")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_takes_the_5x_fields_and_max_msg_bytes_does_not_cut_the_answer() {
    let dir = temp_dir("pull-5x");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_n(&client, "TP", 4).await;
    pull_all(&client, "TP", FLAG_SUBSCRIPTION, 4).await;
    // maxMsgBytes of 1 byte: 5.3.3's broker still answers every message (its store limits by
    // maxTransferBytesOnMessageInMemory only).
    let resp = client
        .invoke(java_pull("TP", 0, FLAG_SUBSCRIPTION, 1), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(records(&resp).len(), 4);
    // The proxy's fields (requestSource -1 = SDK, a forwarded client id) and the RPC ones.
    let req = java_pull("TP", 2, FLAG_SUBSCRIPTION, 262_144)
        .with_ext_field("requestSource", "-1")
        .with_ext_field("proxyFrowardClientId", "127.0.0.1@1#2")
        .with_ext_field("lo", "false")
        .with_ext_field("ns", "")
        .with_ext_field("nsd", "false")
        .with_ext_field("oway", "false");
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(records(&resp).len(), 2);
}

fn subscription(topic: &str) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some("*".into()),
        expression_type: Some("TAG".into()),
        sub_version: 1,
        ..Default::default()
    }
}

/// `MQClientInstance.prepareHeartbeatData(isWithoutSub)` plus the fingerprint
/// `sendHeartbeatToAllBrokerV2` sets on both forms.
fn heartbeat_v2(
    client_id: &str,
    topic: &str,
    fingerprint: i32,
    without_sub: bool,
) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: "CG5".into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromLastOffset),
            subscription_data_set: if without_sub {
                vec![]
            } else {
                vec![subscription(topic), subscription("%RETRY%CG5")]
            },
            unit_mode: false,
        }],
        producer_data_set: vec![ProducerData {
            group_name: "CLIENT_INNER_PRODUCER".into(),
        }],
        heartbeat_fingerprint: Some(fingerprint),
        without_sub: Some(without_sub),
    };
    // `new HeartbeatRequestHeader()`: its RpcRequestHeader fields are all null, nothing sent.
    RemotingCommand::request_without_header(request::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_heartbeat_keeps_the_consumer_registered_without_its_subscriptions() {
    let dir = temp_dir("heartbeat-v2");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_n(&client, "TH", 2).await;
    // The first v2 heartbeat carries the subscriptions; the broker says it supports v2.
    let resp = client
        .invoke(heartbeat_v2("127.0.0.1@5#1", "TH", 4242, false), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    assert_eq!(resp.ext_field("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    assert_eq!(resp.ext_field("IS_SUB_CHANGE"), Some("false"));
    // Then, the fingerprint unchanged, only the fingerprint (withoutSub): no change.
    for _ in 0..2 {
        let resp = client
            .invoke(heartbeat_v2("127.0.0.1@5#1", "TH", 4242, true), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(resp.ext_field("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
        assert_eq!(resp.ext_field("IS_SUB_CHANGE"), Some("false"));
    }
    // Still a member (getConsumerIdListByGroup: consumerGroup only) ...
    let resp = client
        .invoke(
            java_request(
                request::GET_CONSUMER_LIST_BY_GROUP,
                &[("consumerGroup", "CG5".to_owned())],
            ),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let ids: GetConsumerListByGroupResponseBody = fastjson::from_slice(&resp.body).unwrap();
    assert_eq!(ids.consumer_id_list, ["127.0.0.1@5#1"]);
    // ... with its subscription: a push consumer's pull without the subscription flag (the
    // broker's copy from the heartbeat is used) finds the messages.
    let resp = client
        .invoke(java_pull("TH", 0, 0, 262_144), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(records(&resp).len(), 2);
    // Another fingerprint (the subscriptions changed): IS_SUB_CHANGE, so the client resends all.
    let resp = client
        .invoke(heartbeat_v2("127.0.0.1@5#1", "TH", 4343, true), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.ext_field("IS_SUB_CHANGE"), Some("true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_and_group_config_as_the_5x_client_asks_for_them() {
    let dir = temp_dir("offsets-5x");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_n(&client, "TO", 3).await;
    pull_all(&client, "TO", FLAG_SUBSCRIPTION, 3).await;
    let queue = |group: &str| {
        vec![
            ("consumerGroup", group.to_owned()),
            ("topic", "TO".to_owned()),
            ("queueId", "0".to_owned()),
            ("bname", BROKER_NAME.to_owned()),
        ]
    };
    // queryConsumerOffset (consumerGroup, topic, queueId, bname): a new group on a queue that
    // starts at 0 in memory gets 0 ...
    let resp = client
        .invoke(
            java_request(request::QUERY_CONSUMER_OFFSET, &queue("G1")),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_field("offset"), Some("0"));
    // ... unless it says setZeroIfNotFound=false (5.3.3's QUERY_NOT_FOUND and remark).
    let mut fields = queue("G1");
    fields.push(("setZeroIfNotFound", "false".to_owned()));
    let resp = client
        .invoke(
            java_request(request::QUERY_CONSUMER_OFFSET, &fields),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::QUERY_NOT_FOUND);
    assert_eq!(
        resp.remark.as_deref(),
        Some("Not found, do not set to zero, maybe this group boot first")
    );
    // updateConsumerOffsetOneway (commitOffset, bname), then the committed offset is answered
    // whatever setZeroIfNotFound says.
    let mut fields = queue("G1");
    fields.push(("commitOffset", "2".to_owned()));
    client
        .invoke_oneway(java_request(request::UPDATE_CONSUMER_OFFSET, &fields))
        .await
        .unwrap();
    let mut fields = queue("G1");
    fields.push(("setZeroIfNotFound", "false".to_owned()));
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let resp = client
            .invoke(
                java_request(request::QUERY_CONSUMER_OFFSET, &fields),
                TIMEOUT,
            )
            .await
            .unwrap();
        if resp.code == response::SUCCESS {
            assert_eq!(resp.ext_field("offset"), Some("2"));
            break;
        }
        assert!(Instant::now() < deadline, "the oneway commit never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // getMaxOffset: topic, queueId, bname and the primitive committed=true always written.
    for committed in ["true", "false"] {
        let fields = [
            ("topic", "TO".to_owned()),
            ("queueId", "0".to_owned()),
            ("committed", committed.to_owned()),
            ("bname", BROKER_NAME.to_owned()),
        ];
        let resp = client
            .invoke(java_request(request::GET_MAX_OFFSET, &fields), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        assert_eq!(resp.ext_field("offset"), Some("3"));
    }
    // getSubscriptionGroupConfig (group), on the VIP channel as the client uses it.
    let vip = RemotingClient::connect(broker.vip_addr()).await.unwrap();
    let resp = vip
        .invoke(
            java_request(
                request::GET_SUBSCRIPTIONGROUP_CONFIG,
                &[("group", "CG5".to_owned())],
            ),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let config: SubscriptionGroupConfig = fastjson::from_slice(&resp.body).unwrap();
    assert_eq!(config.group_name, "CG5");
    assert!(config.consume_enable);
    // A missing header field is Java's header error.
    let resp = vip
        .invoke(
            java_request(request::GET_SUBSCRIPTIONGROUP_CONFIG, &[]),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_config_of_a_group_that_cannot_be_created_is_not_found() {
    let dir = temp_dir("group-config-missing");
    let broker = start_broker(
        &dir,
        free_port_pair(),
        None,
        "autoCreateSubscriptionGroup=false\n",
    );
    let client = broker.client().await;
    let resp = client
        .invoke(
            java_request(
                request::GET_SUBSCRIPTIONGROUP_CONFIG,
                &[("group", "nobody".to_owned())],
            ),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert_eq!(resp.remark.as_deref(), Some("No group in this broker"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lite_pull_is_refused_when_the_broker_forbids_it() {
    let dir = temp_dir("lite-pull-off");
    let broker = start_broker(
        &dir,
        free_port_pair(),
        None,
        "litePullMessageEnable=false\n",
    );
    let client = broker.client().await;
    send_n(&client, "TL", 1).await;
    let lite = FLAG_SUBSCRIPTION | FLAG_LITE_PULL_MESSAGE;
    let resp = client
        .invoke(java_pull("TL", 0, lite, 262_144), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::NO_PERMISSION);
    assert_eq!(
        resp.remark.as_deref(),
        Some("the broker[127.0.0.1] for lite pull consumer is forbidden")
    );
    assert_eq!(resp.ext_field("forbiddenType"), Some("1"));
    // PULL_MESSAGE is not concerned.
    assert_eq!(pull_all(&client, "TL", FLAG_SUBSCRIPTION, 1).await, 1);
}
