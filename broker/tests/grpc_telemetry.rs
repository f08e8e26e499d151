//! Admin requests relayed to gRPC clients over their Telemetry streams, and ACL on QueryRoute /
//! QueryAssignment, through a broker process with our generated tonic client.
//!
//! An admin's GET_CONSUMER_RUNNING_INFO (with jstack) and CONSUME_MESSAGE_DIRECTLY for a gRPC
//! consumer reach it as PrintThreadStackTraceCommand / VerifyMessageCommand with a nonce; the
//! client's answer with that nonce becomes the admin's answer (the 5.3.3 proxy's); a client
//! that never answers, or answers with another nonce, gives SYSTEM_BUSY "call remote timeout"
//! after `grpcProxyRelayRequestTimeoutInSeconds`; running info without jstack is never answered
//! (the proxy writes nothing) and the broker answers CONSUME_MSG_TIMEOUT after its 10 s.

mod common;

use std::time::Duration;

use common::grpc::{code, connect, resource, start_grpc_broker};
use common::{send_v2, temp_dir};
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::*;
use hmac::{KeyInit, Mac};
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::callback::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use remoting_codec::protocol::send::SendMessageResponseHeader;
use remoting_codec::{fastjson, RemotingCommand};
use tokio::sync::mpsc;
use tonic::transport::Channel;

const TOPICS: &str = r#"{"dataVersion":{"counter":1,"timestamp":1},"topicConfigTable":{
"GNormal":{"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"GNormal","topicSysFlag":0,"writeQueueNums":2},
"PubOnly":{"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"PubOnly","topicSysFlag":0,"writeQueueNums":2},
"Denied":{"order":false,"perm":6,"readQueueNums":2,"topicFilterType":"SINGLE_TAG","topicName":"Denied","topicSysFlag":0,"writeQueueNums":2}
}}"#;

const GROUP: &str = "GTelGroup";

fn ok_status() -> Option<Status> {
    Some(Status {
        code: Code::Ok as i32,
        message: "OK".into(),
    })
}

/// How a test client answers what the server sends on its Telemetry stream.
type Answer = fn(&TelemetryCommand) -> Option<TelemetryCommand>;

/// A simple consumer of [`GROUP`] with a Telemetry stream, registered once this returns; every
/// command the server sends after the settings goes to the returned receiver, and `answer`'s
/// reply (if any) back on the stream.
async fn consumer(
    c: &MessagingServiceClient<Channel>,
    client_id: &str,
    answer: Answer,
) -> mpsc::UnboundedReceiver<TelemetryCommand> {
    let settings = TelemetryCommand {
        status: None,
        command: Some(telemetry_command::Command::Settings(Settings {
            client_type: Some(ClientType::SimpleConsumer as i32),
            pub_sub: Some(settings::PubSub::Subscription(Subscription {
                group: resource(GROUP),
                subscriptions: vec![SubscriptionEntry {
                    topic: resource("GNormal"),
                    expression: Some(FilterExpression {
                        r#type: FilterType::Tag as i32,
                        expression: "*".into(),
                    }),
                }],
                ..Default::default()
            })),
            ..Default::default()
        })),
    };
    let (tx, rx) = mpsc::channel(16);
    tx.send(settings).await.unwrap();
    let mut request = tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    request
        .metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    let mut stream = c.clone().telemetry(request).await.unwrap().into_inner();
    let reply = stream
        .message()
        .await
        .unwrap()
        .expect("the settings answer");
    assert_eq!(code(&reply.status), Code::Ok, "{reply:?}");
    let (seen_tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(cmd)) = stream.message().await {
            if let Some(reply) = answer(&cmd) {
                if tx.send(reply).await.is_err() {
                    break;
                }
            }
            let _ = seen_tx.send(cmd);
        }
    });
    seen
}

fn nonce_of(cmd: &TelemetryCommand) -> String {
    match cmd.command.as_ref().unwrap() {
        telemetry_command::Command::PrintThreadStackTraceCommand(c) => c.nonce.clone(),
        telemetry_command::Command::VerifyMessageCommand(c) => c.nonce.clone(),
        other => panic!("not a relayed command: {other:?}"),
    }
}

/// Answers both commands with their nonce and status OK.
fn answers(cmd: &TelemetryCommand) -> Option<TelemetryCommand> {
    let nonce = nonce_of(cmd);
    let command = match cmd.command.as_ref().unwrap() {
        telemetry_command::Command::PrintThreadStackTraceCommand(_) => {
            telemetry_command::Command::ThreadStackTrace(ThreadStackTrace {
                nonce,
                thread_stack_trace: Some("\"main\" RUNNABLE".into()),
            })
        }
        _ => telemetry_command::Command::VerifyMessageResult(VerifyMessageResult { nonce }),
    };
    Some(TelemetryCommand {
        status: ok_status(),
        command: Some(command),
    })
}

/// Answers with a nonce the server never gave.
fn answers_another_nonce(cmd: &TelemetryCommand) -> Option<TelemetryCommand> {
    let mut reply = answers(cmd)?;
    match reply.command.as_mut().unwrap() {
        telemetry_command::Command::ThreadStackTrace(t) => t.nonce.push_str("-not-mine"),
        telemetry_command::Command::VerifyMessageResult(v) => v.nonce.push_str("-not-mine"),
        _ => unreachable!(),
    }
    Some(reply)
}

/// Refuses the stack trace as a FIFO consumer refuses to verify.
fn refuses(cmd: &TelemetryCommand) -> Option<TelemetryCommand> {
    let mut reply = answers(cmd)?;
    reply.status = Some(Status {
        code: Code::VerifyFifoMessageUnsupported as i32,
        message: "fifo".into(),
    });
    Some(reply)
}

fn never(_: &TelemetryCommand) -> Option<TelemetryCommand> {
    None
}

fn running_info(client_id: &str, jstack: bool) -> RemotingCommand {
    RemotingCommand::request(
        request::GET_CONSUMER_RUNNING_INFO,
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: GROUP.into(),
            client_id: client_id.into(),
            jstack_enable: jstack,
        },
    )
}

fn consume_directly(client_id: &str, msg_id: &str) -> RemotingCommand {
    RemotingCommand::request(
        request::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: GROUP.into(),
            client_id: Some(client_id.into()),
            msg_id: Some(msg_id.into()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    )
}

async fn admin(remoting: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
    remoting.invoke(req, Duration::from_secs(30)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requests_reach_grpc_clients_over_telemetry() {
    let dir = temp_dir("grpc-telemetry");
    let broker = start_grpc_broker(
        &dir,
        &[("topics.json", TOPICS)],
        "grpcProxyRelayRequestTimeoutInSeconds=1\n",
    );
    let (port, grpc_port) = (broker.port, broker.grpc_port);
    let remoting = RemotingClient::connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap();
    let sent = admin(&remoting, send_v2("GNormal", 0, "TagA", b"verify me")).await;
    assert_eq!(sent.code, response::SUCCESS, "{:?}", sent.remark);
    let msg_id = sent
        .decode_header::<SendMessageResponseHeader>()
        .unwrap()
        .msg_id;
    let c = connect(grpc_port).await;

    // A client that answers.
    let mut seen = consumer(&c, "c-answers", answers).await;
    let r = admin(&remoting, running_info("c-answers", true)).await;
    assert_eq!((r.code, r.remark.as_deref()), (response::SUCCESS, Some("")));
    let info = fastjson::from_slice_value(&r.body).unwrap();
    assert_eq!(info["jstack"], "\"main\" RUNNABLE", "{info}");
    let r = admin(&remoting, consume_directly("c-answers", &msg_id)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let result = fastjson::from_slice_value(&r.body).unwrap();
    assert_eq!(result["consumeResult"], "CR_SUCCESS", "{result}");
    assert_eq!(result["remark"], "from gRPC client", "{result}");
    // What the client was sent: a stack-trace command, then the stored message to verify.
    let first = seen.recv().await.unwrap();
    let second = seen.recv().await.unwrap();
    let (a, b) = (nonce_of(&first), nonce_of(&second));
    assert_ne!(a, b, "each relayed request has its own nonce");
    let Some(telemetry_command::Command::VerifyMessageCommand(v)) = second.command else {
        panic!("{second:?}")
    };
    let m = v.message.unwrap();
    assert_eq!(m.body.as_ref(), b"verify me");
    assert_eq!(m.topic.unwrap().name, "GNormal");
    assert_eq!(m.system_properties.unwrap().tag.as_deref(), Some("TagA"));

    // A refusal status: the proxy's NO_PERMISSION.
    let _refuses = consumer(&c, "c-refuses", refuses).await;
    let r = admin(&remoting, running_info("c-refuses", true)).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response::NO_PERMISSION, Some("forbidden to verify message"))
    );

    // Silent clients and a wrong nonce: the relay's timeout (1 s here), both requests at once.
    let mut silent = consumer(&c, "c-silent", never).await;
    let _wrong = consumer(&c, "c-wrong-nonce", answers_another_nonce).await;
    let (r1, r2, r3, r4) = tokio::join!(
        admin(&remoting, running_info("c-silent", true)),
        admin(&remoting, consume_directly("c-silent", &msg_id)),
        admin(&remoting, running_info("c-wrong-nonce", true)),
        admin(&remoting, consume_directly("c-wrong-nonce", &msg_id)),
    );
    for r in [r1, r2, r3, r4] {
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (response::SYSTEM_BUSY, Some("call remote timeout"))
        );
        assert!(r.body.is_empty());
    }
    assert!(silent.recv().await.is_some(), "the silent client was asked");

    // Running info without jstack: nothing is written to the client and nothing answered, so
    // the broker's own 10 s wait ends it.
    let r = admin(&remoting, running_info("c-answers", false)).await;
    assert_eq!(r.code, response::CONSUME_MSG_TIMEOUT, "{:?}", r.remark);
    assert!(
        r.remark
            .as_deref()
            .unwrap()
            .starts_with(&format!("consumer <{GROUP}> <c-answers> Timeout: ")),
        "{:?}",
        r.remark
    );
    assert!(seen.try_recv().is_err(), "nothing sent to the client");
}

const ACL_YML: &str = "globalWhiteRemoteAddresses:
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
      - GNormal=PUB|SUB
      - PubOnly=PUB
      - Denied=DENY
    groupPerms:
      - deniedGroup=DENY
";

/// `request` signed as a 5.x client signs it (`authorization`, `x-mq-date-time`).
fn signed<T>(msg: T, access_key: &str, secret: &str) -> tonic::Request<T> {
    let date_time = "20261204T120000Z";
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(date_time.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut r = tonic::Request::new(msg);
    let m = r.metadata_mut();
    m.insert("x-mq-client-id", "acl-client".parse().unwrap());
    m.insert("x-mq-date-time", date_time.parse().unwrap());
    m.insert(
        "authorization",
        format!(
            "MQv2-HMAC-SHA1 Credential={access_key}, SignedHeaders=x-mq-date-time, Signature={hex}"
        )
        .parse()
        .unwrap(),
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_route_and_assignment_apply_the_acl_accounts() {
    let dir = temp_dir("grpc-route-acl");
    std::fs::create_dir_all(dir.join("conf")).unwrap();
    std::fs::write(dir.join("conf/plain_acl.yml"), ACL_YML).unwrap();
    let home = format!("aclEnable=true\nrocketmqHome={}\n", dir.display());
    let broker = start_grpc_broker(&dir, &[("topics.json", TOPICS)], &home);
    let mut c = connect(broker.grpc_port).await;
    let route = |topic: &str| QueryRouteRequest {
        topic: resource(topic),
        endpoints: None,
    };
    let assignment = |topic: &str, group: &str| QueryAssignmentRequest {
        topic: resource(topic),
        group: resource(group),
        endpoints: None,
    };
    // (topic, account, secret, expected, text of the refusal)
    let routes = [
        ("GNormal", "rocketmq2", "12345678", Code::Ok, ""),
        // PUB alone is enough for a route (Permission.ANY).
        ("PubOnly", "rocketmq2", "12345678", Code::Ok, ""),
        (
            "Denied",
            "rocketmq2",
            "12345678",
            Code::Unauthorized,
            "Denied",
        ),
        (
            "GNormal",
            "rocketmq2",
            "wrong",
            Code::Unauthorized,
            "Check signature failed for accessKey=rocketmq2",
        ),
        (
            "GNormal",
            "nobody",
            "12345678",
            Code::Unauthorized,
            "No acl config for nobody",
        ),
        ("Denied", "RocketMQAdmin", "12345678", Code::Ok, ""),
    ];
    for (topic, key, secret, expected, text) in routes {
        let r = c
            .query_route(signed(route(topic), key, secret))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&r.status), expected, "route {topic} as {key}: {r:?}");
        assert!(r.status.as_ref().unwrap().message.contains(text), "{r:?}");
        assert_eq!(r.message_queues.is_empty(), expected != Code::Ok);
    }
    let r = c.query_route(route("GNormal")).await.unwrap().into_inner();
    assert_eq!(code(&r.status), Code::Unauthorized, "unsigned: {r:?}");
    assert_eq!(r.status.unwrap().message, "No accessKey is configured");

    let assignments = [
        ("GNormal", "g1", Code::Ok, ""),
        // SUB on the topic is needed.
        ("PubOnly", "g1", Code::Unauthorized, "PubOnly"),
        ("Denied", "g1", Code::Unauthorized, "Denied"),
        // And SUB on the group.
        ("GNormal", "deniedGroup", Code::Unauthorized, "deniedGroup"),
    ];
    for (topic, group, expected, text) in assignments {
        let r = c
            .query_assignment(signed(assignment(topic, group), "rocketmq2", "12345678"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            code(&r.status),
            expected,
            "assignment {topic} {group}: {r:?}"
        );
        assert!(r.status.as_ref().unwrap().message.contains(text), "{r:?}");
        assert_eq!(r.assignments.is_empty(), expected != Code::Ok);
    }
    let r = c
        .query_assignment(signed(assignment("GNormal", "g1"), "rocketmq2", "wrong"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&r.status), Code::Unauthorized);
}
