//! The gRPC endpoint (`enableGrpcServer`) through a broker process, with our generated tonic
//! client: the status codes the 5.x proxy answers for bad names, unknown topics, bodies over
//! `maxMessageSize`, a message type the topic does not accept, unknown transaction ids, a
//! client without settings, and settings without publishing or subscription; a route pointing
//! at the gRPC port; a send stored where a remoting pull finds it; offsets and pulls by offset;
//! POP consumption in `grpc_consumer.rs`.

mod common;

use std::collections::HashMap;

use bytes::Bytes;
use common::grpc::{code, connect, resource, start_grpc_broker, with_client_id};
use common::temp_dir;
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::*;
use remoting::RemotingClient;
use tonic::transport::Channel;

const TOPICS: &str = r#"{"dataVersion":{"counter":1,"timestamp":1},"topicConfigTable":{
"GNormal":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"GNormal","topicSysFlag":0,"writeQueueNums":4},
"GFifo":{"attributes":{"message.type":"FIFO"},"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"GFifo","topicSysFlag":0,"writeQueueNums":2}
}}"#;

fn message(topic: &str, id: &str, body: &'static [u8]) -> Message {
    Message {
        topic: resource(topic),
        user_properties: HashMap::from([("color".to_owned(), "blue".to_owned())]),
        system_properties: Some(SystemProperties {
            tag: Some("TagA".into()),
            message_id: id.into(),
            message_type: MessageType::Normal as i32,
            ..Default::default()
        }),
        body: Bytes::from_static(body),
    }
}

async fn send(
    c: &mut MessagingServiceClient<Channel>,
    messages: Vec<Message>,
) -> SendMessageResponse {
    c.send_message(with_client_id("c1", SendMessageRequest { messages }))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grpc_endpoint_answers_the_proxys_codes() {
    let dir = temp_dir("grpc");
    let broker = start_grpc_broker(&dir, &[("topics.json", TOPICS)], "maxMessageSize=1024\n");
    let (port, grpc_port) = (broker.port, broker.grpc_port);
    let mut c = connect(grpc_port).await;

    // Routes.
    let route = |topic: &str| QueryRouteRequest {
        topic: resource(topic),
        endpoints: Some(Endpoints {
            scheme: AddressScheme::IPv4 as i32,
            addresses: vec![Address {
                host: "127.0.0.1".into(),
                port: 1,
            }],
        }),
    };
    let r = c.query_route(route("GNormal")).await.unwrap().into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    assert_eq!(r.message_queues.len(), 4);
    for (i, q) in r.message_queues.iter().enumerate() {
        assert_eq!(q.id, i as i32);
        assert_eq!(q.permission, Permission::ReadWrite as i32);
        assert_eq!(q.accept_message_types, vec![MessageType::Normal as i32]);
        let addr = &q
            .broker
            .as_ref()
            .unwrap()
            .endpoints
            .as_ref()
            .unwrap()
            .addresses[0];
        assert_eq!(
            (addr.host.as_str(), addr.port),
            ("127.0.0.1", i32::from(grpc_port))
        );
    }
    let r = c.query_route(route("GFifo")).await.unwrap().into_inner();
    assert_eq!(
        r.message_queues[0].accept_message_types,
        vec![MessageType::Fifo as i32]
    );
    for (topic, expected) in [
        ("NoSuchTopic", Code::TopicNotFound),
        ("bad topic", Code::IllegalTopic),
        ("", Code::IllegalTopic),
        ("TBW102", Code::IllegalTopic),
        ("rmq_sys_x", Code::IllegalTopic),
    ] {
        let r = c.query_route(route(topic)).await.unwrap().into_inner();
        assert_eq!(code(&r.status), expected, "{topic:?}");
    }

    // Assignments.
    let assignment = |group: &str| QueryAssignmentRequest {
        topic: resource("GNormal"),
        group: resource(group),
        endpoints: None,
    };
    let r = c
        .query_assignment(assignment("g1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    assert_eq!(r.assignments.len(), 1);
    assert_eq!(r.assignments[0].message_queue.as_ref().unwrap().id, -1);
    for group in ["bad group", "CID_RMQ_SYS_X"] {
        let r = c
            .query_assignment(assignment(group))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::IllegalConsumerGroup, "{group}");
    }

    // Sends.
    let r = send(&mut c, vec![message("GNormal", "ID0", b"hello")]).await;
    assert_eq!(code(&r.status), Code::Ok, "{r:?}");
    assert_eq!(r.entries.len(), 1);
    assert_eq!(r.entries[0].message_id, "ID0");
    assert_eq!(
        code(&send(&mut c, vec![]).await.status),
        Code::MessageCorrupted
    );
    let two_topics = vec![
        message("GNormal", "ID1", b"a"),
        message("GFifo", "ID2", b"b"),
    ];
    assert_eq!(
        code(&send(&mut c, two_topics).await.status),
        Code::MessageCorrupted
    );
    let big: &'static [u8] = Box::leak(vec![7u8; 1025].into_boxed_slice());
    let cases = [
        (message("GNormal", "ID3", big), Code::MessageBodyTooLarge),
        (message("GNormal", "ID4", b""), Code::MessageBodyEmpty),
        (message("GNormal", "", b"x"), Code::IllegalMessageId),
        (
            message("GFifo", "ID5", b"x"),
            Code::MessagePropertyConflictWithType,
        ),
        (
            message("NoSuchTopic", "ID6", b"x"),
            Code::MessagePropertyConflictWithType,
        ),
        (message("bad topic", "ID7", b"x"), Code::IllegalTopic),
    ];
    for (m, expected) in cases {
        let r = send(&mut c, vec![m]).await;
        assert_eq!(code(&r.status), expected, "{r:?}");
        assert!(r.entries.is_empty());
    }
    let mut fifo = message("GFifo", "ID8", b"fifo");
    let sys = fifo.system_properties.as_mut().unwrap();
    sys.message_type = MessageType::Fifo as i32;
    sys.message_group = Some("order-1".into());
    assert_eq!(code(&send(&mut c, vec![fifo]).await.status), Code::Ok);

    // The gRPC send is where a remoting pull reads it, with the proxy's properties: a message
    // group picks its queue by Guava's consistent hash of the group's Java hash code.
    let remoting = RemotingClient::connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let queue = broker::grpc::send::consistent_hash(
        i64::from(remoting_codec::message::java_string_hash_code("order-1")),
        2,
    );
    let stored = common::pull_n(&remoting, "GFifo", queue, 1).await;
    let m = &stored[0];
    assert_eq!(m.body.as_ref(), b"fifo");
    assert_eq!(m.properties.uniq_key(), Some("ID8"));
    assert_eq!(m.properties.tags(), Some("TagA"));
    assert_eq!(m.properties.get("color"), Some("blue"));
    assert_eq!(m.properties.get("__SHARDINGKEY"), Some("order-1"));
    assert_eq!(m.properties.producer_group(), Some("GFifo"));

    // Offsets and pulls by offset (the 5.x pull consumers' RPCs).
    let mq = Some(MessageQueue {
        topic: resource("GFifo"),
        id: queue,
        permission: Permission::ReadWrite as i32,
        broker: None,
        accept_message_types: vec![],
    });
    for (policy, expected) in [
        (QueryOffsetPolicy::Beginning, 0),
        (QueryOffsetPolicy::End, 1),
    ] {
        let r = c
            .query_offset(with_client_id(
                "c1",
                QueryOffsetRequest {
                    message_queue: mq.clone(),
                    query_offset_policy: policy as i32,
                    timestamp: None,
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (code(&r.status), r.offset),
            (Code::Ok, expected),
            "{policy:?}"
        );
    }
    let pull_at = |offset: i64, wait_ms: i64| PullMessageRequest {
        group: resource("pg"),
        message_queue: mq.clone(),
        offset,
        batch_size: 32,
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "TagA".into(),
        }),
        long_polling_timeout: Some(prost_types::Duration {
            seconds: wait_ms / 1000,
            nanos: ((wait_ms % 1000) * 1_000_000) as i32,
        }),
    };
    let pulled = |c: &mut MessagingServiceClient<Channel>, r: PullMessageRequest| {
        let mut c = c.clone();
        async move {
            let mut s = c
                .pull_message(with_client_id("c1", r))
                .await
                .unwrap()
                .into_inner();
            let mut items = Vec::new();
            while let Some(item) = s.message().await.unwrap() {
                items.push(item.content.unwrap());
            }
            items
        }
    };
    let items = pulled(&mut c, pull_at(0, 0)).await;
    assert!(
        matches!(&items[0], pull_message_response::Content::Status(s) if s.code == Code::Ok as i32),
        "{items:?}"
    );
    assert!(
        matches!(&items[1], pull_message_response::Content::Message(m) if m.body.as_ref() == b"fifo")
    );
    assert!(
        matches!(items[2], pull_message_response::Content::NextOffset(1)),
        "{items:?}"
    );
    let items = pulled(&mut c, pull_at(1, 200)).await;
    assert!(
        matches!(&items[0], pull_message_response::Content::Status(s) if s.code == Code::MessageNotFound as i32),
        "{items:?}"
    );
    assert!(
        matches!(items[1], pull_message_response::Content::NextOffset(1)),
        "{items:?}"
    );
    let get = |group: &str| GetOffsetRequest {
        group: resource(group),
        message_queue: mq.clone(),
    };
    // No commit yet: QUERY_CONSUMER_OFFSET's rule for a queue whose first message is still in
    // memory answers 0 (Java's), so a new group starts at the beginning.
    let r = c
        .get_offset(with_client_id("c1", get("pg")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((code(&r.status), r.offset), (Code::Ok, 0));
    let r = c
        .update_offset(with_client_id(
            "c1",
            UpdateOffsetRequest {
                group: resource("pg"),
                message_queue: mq.clone(),
                offset: 1,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    let r = c
        .get_offset(with_client_id("c1", get("pg")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((code(&r.status), r.offset), (Code::Ok, 1));
    let r = c
        .get_offset(with_client_id("c1", get("bad group")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::IllegalConsumerGroup);

    // Transactions, clients without settings, telemetry without publishing or subscription.
    for id in ["", "7F00000100002A9F0000000000000000"] {
        let r = c
            .end_transaction(with_client_id(
                "c1",
                EndTransactionRequest {
                    topic: resource("GNormal"),
                    message_id: "ID0".into(),
                    transaction_id: id.into(),
                    resolution: TransactionResolution::Commit as i32,
                    source: TransactionSource::SourceClient as i32,
                    trace_context: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), Code::InvalidTransactionId, "{id:?}");
    }
    let r = c
        .heartbeat(with_client_id(
            "nobody",
            HeartbeatRequest {
                group: None,
                client_type: ClientType::Producer as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::UnrecognizedClientType);
    let settings = |pub_sub| TelemetryCommand {
        status: None,
        command: Some(telemetry_command::Command::Settings(Settings {
            client_type: Some(ClientType::Producer as i32),
            pub_sub,
            ..Default::default()
        })),
    };
    let mut stream = c
        .telemetry(with_client_id(
            "c2",
            futures::stream::iter(vec![settings(None)]),
        ))
        .await
        .unwrap()
        .into_inner();
    let err = stream.message().await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let publishing = settings::PubSub::Publishing(Publishing {
        topics: vec![Resource {
            resource_namespace: String::new(),
            name: "GNormal".into(),
        }],
        max_body_size: 0,
        validate_message_type: false,
    });
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(settings(Some(publishing))).await.unwrap();
    let mut stream = c
        .telemetry(with_client_id(
            "c3",
            tokio_stream::wrappers::ReceiverStream::new(rx),
        ))
        .await
        .unwrap()
        .into_inner();
    let reply = stream
        .message()
        .await
        .unwrap()
        .expect("the settings answer");
    assert_eq!(code(&reply.status), Code::Ok);
    let Some(telemetry_command::Command::Settings(s)) = reply.command else {
        panic!("{reply:?}")
    };
    let Some(settings::PubSub::Publishing(p)) = s.pub_sub else {
        panic!("{s:?}")
    };
    assert_eq!(p.max_body_size, 1024);
    assert!(p.validate_message_type);
    assert_eq!(s.backoff_policy.unwrap().max_attempts, 3);
    // Now registered: its heartbeat is answered, and termination closes it.
    let r = c
        .heartbeat(with_client_id(
            "c3",
            HeartbeatRequest {
                group: None,
                client_type: ClientType::Producer as i32,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    let r = c
        .notify_client_termination(with_client_id(
            "c3",
            NotifyClientTerminationRequest { group: None },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Ok);
    // The session closed: the server ends the Telemetry stream.
    assert!(stream.message().await.map(|m| m.is_none()).unwrap_or(true));
    drop(tx);
}
