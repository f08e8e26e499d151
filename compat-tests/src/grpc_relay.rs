//! Admin requests the broker relays to an official gRPC client over its Telemetry stream (the
//! 5.3.3 proxy's verify-message and print-thread-stack, `broker::grpc::relay`): the client is a
//! SimpleConsumer of the driver's `listen` command, and the test sends what mqadmin sends to
//! the broker: GET_CONSUMER_RUNNING_INFO with `jstackEnable` (mqadmin `consumerStatus -s`) and
//! CONSUME_MESSAGE_DIRECTLY (mqadmin `consumeMessage`, the dashboard's "resend to consumer").
//!
//! What the clients do (their installed sources): npm `rocketmq-client-nodejs` 1.0.8 answers
//! the stack-trace command with `mock stack`, so the admin gets the running info with that
//! `jstack`; it answers a verify command with a `VerifyMessageCommand` instead of a
//! `VerifyMessageResult`, which the proxy ignores, so that request times out. PyPI
//! `rocketmq-python-client` 5.1.2 reads neither command: both time out. The relay's timeout
//! (`grpcProxyRelayRequestTimeoutInSeconds`) is 2 s here; its answer is SYSTEM_BUSY
//! `call remote timeout`, as the proxy's.

use std::time::Duration;

use remoting_codec::code::{request, response};
use remoting_codec::protocol::callback::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use remoting_codec::{fastjson, RemotingCommand};

use crate::client::PHASE_TIMEOUT;
use crate::cluster::Cluster;
use crate::free_port;
use crate::grpc::{create_typed_topic, GrpcClient};

const TOPIC: &str = "GrpcRelayTopic";
const GROUP: &str = "GrpcRelayGroup";

fn assert_timed_out(what: &str, answer: &RemotingCommand) {
    assert_eq!(
        (answer.code, answer.remark.as_deref()),
        (response::SYSTEM_BUSY, Some("call remote timeout")),
        "{what}"
    );
}

/// One message sent by `client`, then its SimpleConsumer asked for its thread stacks and to
/// verify that message, through the broker.
pub fn admin_requests_relayed(client: GrpcClient, name: &str) {
    let port = free_port();
    let cluster = Cluster::start_with(name, |s| {
        s.set("enableGrpcServer", "true")
            .set("grpcServerPort", &port.to_string())
            .set("grpcProxyRelayRequestTimeoutInSeconds", "2")
    });
    let endpoints = format!("127.0.0.1:{port}");
    create_typed_topic(&cluster, TOPIC, 4, "NORMAL");
    let args = vec![("topic", TOPIC.to_owned()), ("count", "1".to_owned())];
    let mut producer = client.spawn("producer", &endpoints, "produce", &args);
    producer.wait_until("done", PHASE_TIMEOUT, |p| {
        p.count("done") > 0 || p.count("error") > 0
    });
    assert_eq!(producer.count("error"), 0, "{}", producer.diagnostics());
    producer.finish_ok(Duration::from_secs(60));
    let stored = cluster.messages_by_key(TOPIC, "key-0");
    assert_eq!(stored.len(), 1, "messages with key-0");

    let args = vec![("topic", TOPIC.to_owned()), ("group", GROUP.to_owned())];
    let mut listener = client.spawn("listener", &endpoints, "listen", &args);
    listener.wait_ready();
    cluster.wait_consumers(GROUP, 1);
    let client_id = cluster.consumer_ids(GROUP).remove(0);

    let running_info = cluster.admin(RemotingCommand::request(
        request::GET_CONSUMER_RUNNING_INFO,
        &GetConsumerRunningInfoRequestHeader {
            consumer_group: GROUP.to_owned(),
            client_id: client_id.clone(),
            jstack_enable: true,
        },
    ));
    match client {
        GrpcClient::Node => {
            assert_eq!(
                (running_info.code, running_info.remark.as_deref()),
                (response::SUCCESS, Some("")),
                "{}",
                listener.diagnostics()
            );
            let info = fastjson::from_slice_value(&running_info.body).expect("running info");
            assert_eq!(info["jstack"], "mock stack", "{info}");
        }
        GrpcClient::Python => assert_timed_out("python: thread stacks", &running_info),
    }

    let verify = cluster.admin(RemotingCommand::request(
        request::CONSUME_MESSAGE_DIRECTLY,
        &ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: GROUP.to_owned(),
            client_id: Some(client_id),
            msg_id: Some(stored[0].offset_msg_id()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        },
    ));
    assert_timed_out("verify message", &verify);
    listener.finish_ok(Duration::from_secs(60));
}
