//! The client, offset and admin handlers through a broker process: NOTIFY_CONSUMER_IDS_CHANGED
//! as members join and leave, consumer offsets surviving a restart in consumerOffset.json,
//! topics and groups created by admin requests surviving it in topics.json and
//! subscriptionGroup.json.

mod harness;

use std::time::Duration;

use harness::{start_broker, Client, TempDir};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::protocol::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel,
};
use remoting_codec::protocol::group_admin::SubscriptionGroupConfig;
use remoting_codec::protocol::{SubscriptionData, TopicConfigSerializeWrapper};
use remoting_codec::RemotingCommand;

fn heartbeat(client_id: &str, group: &str) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: client_id.into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: vec![SubscriptionData {
                topic: Some("T".into()),
                sub_string: Some("*".into()),
                expression_type: Some("TAG".into()),
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request_without_header(req::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

fn notices(client: &Client) -> usize {
    client
        .received_codes()
        .iter()
        .filter(|(code, group)| {
            *code == req::NOTIFY_CONSUMER_IDS_CHANGED && group.as_deref() == Some("cg")
        })
        .count()
}

/// Waits for a notice sent by a request on *another* connection (no ordering guarantee with
/// our own responses there).
async fn wait_notices(client: &Client, n: usize) {
    for _ in 0..2000 {
        if notices(client) >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(notices(client), n);
}

async fn members(client: &Client) -> Vec<String> {
    let r = client
        .invoke(
            RemotingCommand::request_without_header(req::GET_CONSUMER_LIST_BY_GROUP)
                .with_ext_field("consumerGroup", "cg"),
        )
        .await
        .unwrap();
    if r.code != resp::SUCCESS {
        return Vec::new();
    }
    let v = fastjson::from_slice_value(&r.body).unwrap();
    let mut ids: Vec<String> = v["consumerIdList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn members_are_notified_when_others_join_and_leave() {
    let dir = TempDir::new("handlers-notify");
    let mut broker = start_broker(dir.path(), "", None, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = Client::connect(broker.addr()).await;
        let b = Client::connect(broker.addr()).await;
        // The first member is notified of its own arrival (Java does so; see s02).
        assert_eq!(
            a.invoke(heartbeat("A", "cg")).await.unwrap().code,
            resp::SUCCESS
        );
        assert_eq!(notices(&a), 1, "the notice precedes the heartbeat answer");
        // A repeated heartbeat is no change.
        a.invoke(heartbeat("A", "cg")).await.unwrap();
        // B joins: both are told.
        b.invoke(heartbeat("B", "cg")).await.unwrap();
        assert_eq!(notices(&b), 1);
        wait_notices(&a, 2).await;
        assert_eq!(members(&a).await, ["A", "B"]);

        // B leaves by UNREGISTER_CLIENT: A is told; B is not.
        let unregister = RemotingCommand::request_without_header(req::UNREGISTER_CLIENT)
            .with_ext_field("clientID", "B")
            .with_ext_field("consumerGroup", "cg");
        assert_eq!(b.invoke(unregister).await.unwrap().code, resp::SUCCESS);
        wait_notices(&a, 3).await;
        assert_eq!(notices(&b), 1);
        assert_eq!(members(&a).await, ["A"]);

        // B rejoins, then its connection drops: A is told again.
        b.invoke(heartbeat("B", "cg")).await.unwrap();
        wait_notices(&a, 4).await;
        b.conn.close();
        wait_notices(&a, 5).await;
        assert_eq!(members(&a).await, ["A"]);
    });
    assert!(broker.terminate().success());
}

fn offset_request(code: i32, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request_without_header(code)
        .with_ext_field("consumerGroup", "og")
        .with_ext_field("topic", "OffsetTopic")
        .with_ext_field("queueId", queue_id.to_string())
}

#[test]
fn offsets_topics_and_groups_survive_a_restart() {
    let dir = TempDir::new("handlers-restart");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut broker = start_broker(dir.path(), "", None, &[]);
    rt.block_on(async {
        let c = Client::connect(broker.addr()).await;
        for (q, offset) in [(0, 7), (3, 42)] {
            let update = offset_request(req::UPDATE_CONSUMER_OFFSET, q)
                .with_ext_field("commitOffset", offset.to_string());
            c.conn.invoke_oneway(update).await.unwrap();
        }
        let create = RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC)
            .with_ext_field("topic", "AdminMadeTopic")
            .with_ext_field("defaultTopic", "TBW102")
            .with_ext_field("readQueueNums", "3")
            .with_ext_field("writeQueueNums", "3")
            .with_ext_field("perm", "6")
            .with_ext_field("topicFilterType", "SINGLE_TAG")
            .with_ext_field("order", "false");
        let r = c.invoke(create).await.unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (resp::SUCCESS, Some("not set any response code"))
        );
        let mut group = SubscriptionGroupConfig::new("admin_group");
        group.retry_max_times = 5;
        let r = c
            .invoke(
                RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                    .with_body(fastjson::to_vec(&group).unwrap()),
            )
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS);
        // The oneway updates are in once a query sees them.
        for _ in 0..2000 {
            let r = c
                .invoke(offset_request(req::QUERY_CONSUMER_OFFSET, 3))
                .await
                .unwrap();
            if r.ext_field("offset") == Some("42") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    assert!(broker.terminate().success());
    let text =
        std::fs::read_to_string(dir.path().join("store/config/consumerOffset.json")).unwrap();
    assert!(text.contains("\"OffsetTopic@og\":{0:7,3:42"), "{text}");

    let mut broker = start_broker(dir.path(), "", None, &[]);
    rt.block_on(async {
        let c = Client::connect(broker.addr()).await;
        for (q, offset) in [(0, "7"), (3, "42")] {
            let r = c
                .invoke(offset_request(req::QUERY_CONSUMER_OFFSET, q))
                .await
                .unwrap();
            assert_eq!(
                (r.code, r.ext_field("offset")),
                (resp::SUCCESS, Some(offset))
            );
        }
        // A queue never committed, empty: Java's rule answers 0.
        let r = c
            .invoke(offset_request(req::QUERY_CONSUMER_OFFSET, 1))
            .await
            .unwrap();
        assert_eq!(r.ext_field("offset"), Some("0"));

        let all = c
            .invoke(RemotingCommand::request_without_header(
                req::GET_ALL_TOPIC_CONFIG,
            ))
            .await
            .unwrap();
        let topics: TopicConfigSerializeWrapper = fastjson::from_slice(&all.body).unwrap();
        assert_eq!(
            topics.topic_config_table["AdminMadeTopic"].write_queue_nums,
            3
        );
        let groups = c
            .invoke(RemotingCommand::request_without_header(
                req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
            ))
            .await
            .unwrap();
        let groups = fastjson::from_slice_value(&groups.body).unwrap();
        assert_eq!(
            groups["subscriptionGroupTable"]["admin_group"]["retryMaxTimes"],
            5
        );

        // Deleting the topic answers SUCCESS and removes it.
        let r = c
            .invoke(
                RemotingCommand::request_without_header(req::DELETE_TOPIC_IN_BROKER)
                    .with_ext_field("topic", "AdminMadeTopic"),
            )
            .await
            .unwrap();
        assert_eq!((r.code, r.remark), (resp::SUCCESS, None));
        let all = c
            .invoke(RemotingCommand::request_without_header(
                req::GET_ALL_TOPIC_CONFIG,
            ))
            .await
            .unwrap();
        let topics: TopicConfigSerializeWrapper = fastjson::from_slice(&all.body).unwrap();
        assert!(!topics.topic_config_table.contains_key("AdminMadeTopic"));
    });
    assert!(broker.terminate().success());
}

/// The Apache C++ client (PyPI `rocketmq` 0.4.4) heartbeats with enums as ordinals and
/// `subVersion` as a string (captured body); the Java broker's fastjson reads that, so the
/// consumer must be registered, not answered SYSTEM_ERROR.
#[test]
fn cpp_client_heartbeat_registers_the_consumer() {
    let dir = TempDir::new("handlers-cpp-heartbeat");
    let mut broker = start_broker(dir.path(), "", None, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        let body = r#"{"clientID":"3977-127.0.0.1@consumer","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"cg","messageModel":1,"subscriptionDataSet":[{"subString":"*","subVersion":"1795252623131","topic":"%RETRY%cg"},{"subString":"*","subVersion":"1795252623131","topic":"T"}]}]}
"#;
        let r = client
            .invoke(
                RemotingCommand::request_without_header(req::HEART_BEAT)
                    .with_body(body.as_bytes().to_vec()),
            )
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        assert_eq!(members(&client).await, ["3977-127.0.0.1@consumer"]);
    });
    assert!(broker.terminate().success());
}
