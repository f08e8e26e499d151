//! The query plane through a broker process: message trace as a 4.9.8 client and mqadmin
//! `queryMsgTraceById` use it, and Java's answers to bad query requests on the wire.
//!
//! A 4.9.8 client with trace enabled (`AsyncTraceDispatcher`) sends each trace record to
//! `RMQ_SYS_TRACE_TOPIC` with KEYS = the traced messages' ids (and their keys), body = the
//! `TraceDataEncoder` text; the broker creates that topic at start when `traceTopicEnable=true`
//! (Java's `TopicConfigManager`: 1 read and 1 write queue, named by `msgTraceTopicName`).
//! `queryMsgTraceById -i <msgId>` is `queryMessage(traceTopic, msgId, 64, 0, now)`.

mod harness;

use harness::{start_broker, Client, TempDir};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::message::record::decode_records;
use remoting_codec::protocol::query::{QueryMessageRequestHeader, ViewMessageRequestHeader};
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::TopicConfigSerializeWrapper;
use remoting_codec::{fastjson, RemotingCommand};

const TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

fn send(group: &str, topic: &str, queue_id: i32, properties: &str, body: &[u8]) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: group.into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: broker::now_millis(),
        flag: 0,
        properties: Some(properties.into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    RemotingCommand::request(req::SEND_MESSAGE_V2, &header).with_body(body.to_vec())
}

fn query(topic: &str, key: &str, max_num: i32, end: i64) -> RemotingCommand {
    RemotingCommand::request(
        req::QUERY_MESSAGE,
        &QueryMessageRequestHeader {
            topic: topic.into(),
            key: key.into(),
            max_num,
            begin_timestamp: 0,
            end_timestamp: end,
        },
    )
}

/// QUERY_MESSAGE until it finds something (the index is written by the dispatch, after the
/// send's answer).
async fn query_until_found(
    client: &Client,
    request: impl Fn() -> RemotingCommand,
) -> RemotingCommand {
    let deadline = std::time::Instant::now() + harness::TIMEOUT;
    loop {
        let r = client.invoke(request()).await.unwrap();
        if r.code == resp::SUCCESS || std::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[test]
fn trace_records_are_found_by_the_traced_message_id() {
    let dir = TempDir::new("query-trace");
    let mut broker = start_broker(dir.path(), "", None, &["traceTopicEnable=true"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;

        // The trace topic exists from the start: 1 read and 1 write queue, perm 6.
        let r = client
            .invoke(RemotingCommand::request_without_header(req::GET_ALL_TOPIC_CONFIG))
            .await
            .unwrap();
        let topics: TopicConfigSerializeWrapper = fastjson::from_slice(&r.body).unwrap();
        let trace = &topics.topic_config_table[TRACE_TOPIC];
        assert_eq!(
            (trace.read_queue_nums, trace.write_queue_nums, trace.perm),
            (1, 1, 6)
        );

        // The traced message, then its Pub trace record as AsyncTraceDispatcher sends it.
        let msg_id = "7F00000103C25FFD2B27685F49850003";
        let r = client
            .invoke(send(
                "biz_group",
                "TraceBizTopic",
                0,
                &format!("KEYS\u{1}order-17\u{2}UNIQ_KEY\u{1}{msg_id}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}t"),
                b"business body",
            ))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        let offset_msg_id = r.ext_field("msgId").unwrap().to_owned();
        let trace_body = format!(
            "Pub\u{1}{}\u{1}DefaultRegion\u{1}biz_group\u{1}TraceBizTopic\u{1}{msg_id}\u{1}t\u{1}order-17\u{1}127.0.0.1:10911\u{1}13\u{1}2\u{1}0\u{1}{offset_msg_id}\u{1}true\u{2}",
            broker::now_millis()
        );
        let r = client
            .invoke(send(
                "_INNER_TRACE_PRODUCER-DEFAULT",
                TRACE_TOPIC,
                0,
                &format!("KEYS\u{1}order-17 {msg_id}\u{2}UNIQ_KEY\u{1}7F000001000000000000000000000001\u{2}WAIT\u{1}true"),
                trace_body.as_bytes(),
            ))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);

        // queryMsgTraceById: QUERY_MESSAGE(traceTopic, msgId, 64, 0, now).
        let r = query_until_found(&client, || {
            query(TRACE_TOPIC, msg_id, 64, broker::now_millis() + 1000)
        })
        .await;
        assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
        let found: Vec<_> = decode_records(&r.body).map(|m| m.unwrap()).collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].topic, TRACE_TOPIC);
        assert_eq!(found[0].body.as_ref(), trace_body.as_bytes());
        assert_eq!(
            r.ext_field("indexLastUpdatePhyoffset"),
            Some(found[0].commit_log_offset.to_string().as_str())
        );
        // The business message is found under its own topic, not the trace topic's record.
        let r = query_until_found(&client, || {
            query("TraceBizTopic", msg_id, 64, broker::now_millis() + 1000)
        })
        .await;
        let found: Vec<_> = decode_records(&r.body).map(|m| m.unwrap()).collect();
        assert_eq!(
            (found.len(), found[0].topic.as_str()),
            (1, "TraceBizTopic")
        );
        // A message never traced: QUERY_NOT_FOUND with Java's remark.
        let r = client
            .invoke(query(TRACE_TOPIC, "7F0000010000000000000000000000FF", 64, broker::now_millis()))
            .await
            .unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::QUERY_NOT_FOUND,
                Some("can not find message, maybe time range not correct")
            )
        );
        client.conn.close();
    });
    assert!(broker.terminate().success());
}

#[test]
fn bad_query_requests_get_javas_answers_on_the_wire() {
    let dir = TempDir::new("query-bad-wire");
    let mut broker = start_broker(dir.path(), "", None, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = Client::connect(broker.addr()).await;
        let ask = |r: RemotingCommand| client.invoke(r);
        let answer = |r: &RemotingCommand| (r.code, r.remark.clone());
        let system_error = |remark: &str| (resp::SYSTEM_ERROR, Some(remark.to_owned()));

        let r = ask(RemotingCommand::request_without_header(req::QUERY_MESSAGE))
            .await
            .unwrap();
        assert_eq!(answer(&r), system_error("the custom field <topic> is null"));
        let r = ask(query("T", "k", 32, 0).with_ext_field("endTimestamp", "soon"))
            .await
            .unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        let r = ask(query("T", "k", -5, 0)).await.unwrap();
        assert_eq!(
            answer(&r),
            system_error("java.lang.IllegalArgumentException: Illegal Capacity: -5")
        );
        let r = ask(RemotingCommand::request(
            req::VIEW_MESSAGE_BY_ID,
            &ViewMessageRequestHeader {
                topic: None,
                offset: 123_456,
            },
        ))
        .await
        .unwrap();
        assert_eq!(
            answer(&r),
            system_error("can not find message by the offset, 123456")
        );
        let r = ask(RemotingCommand::request_without_header(
            req::VIEW_MESSAGE_BY_ID,
        ))
        .await
        .unwrap();
        assert_eq!(
            answer(&r),
            system_error("the custom field <offset> is null")
        );
        let r = ask(
            RemotingCommand::request_without_header(req::QUERY_CONSUME_QUEUE)
                .with_ext_field("topic", "Nope")
                .with_ext_field("queueId", "3"),
        )
        .await
        .unwrap();
        assert_eq!(answer(&r), system_error("3@Nope is not exist!"));
        let r = ask(
            RemotingCommand::request_without_header(req::QUERY_CONSUME_TIME_SPAN)
                .with_ext_field("topic", "Nope")
                .with_ext_field("group", "g"),
        )
        .await
        .unwrap();
        assert_eq!(
            answer(&r),
            (
                resp::TOPIC_NOT_EXIST,
                Some("topic[Nope] not exist".to_owned())
            )
        );
        client.conn.close();
    });
    assert!(broker.terminate().success());
}
