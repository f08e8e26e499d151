//! 5.x POP requests with bad input (Java's codes and remarks) and the server-side rebalance
//! (SET_MESSAGE_REQUEST_MODE persisted in `config/messageRequestMode.json`, QUERY_ASSIGNMENT),
//! over the wire to the broker binary.

mod common;

use std::time::Instant;

use common::pop::*;
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;

async fn refused(client: &RemotingClient, req: RemotingCommand, code: i32, remark: Option<&str>) {
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    assert_eq!(resp.code, code, "{:?}", resp.remark);
    match remark {
        Some(r) => assert!(
            resp.remark.as_deref().is_some_and(|x| x.starts_with(r)),
            "remark {:?}, want {r}",
            resp.remark
        ),
        None => assert_eq!(resp.remark, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_javas_codes_and_remarks() {
    let dir = temp_dir("pop-bad");
    let broker = start_broker(
        &dir,
        free_port_pair(),
        None,
        "autoCreateSubscriptionGroup=false",
    );
    let client = broker.client().await;
    send_all(&client, "BadT", 2, "b").await;
    let known = "GKnown";
    let create =
        RemotingCommand::request_without_header(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(format!(r#"{{"groupName":"{known}","consumeEnable":true}}"#));
    assert_eq!(client.invoke(create, TIMEOUT).await.unwrap().code, 0);

    refused(
        &client,
        pop_request("GNone", "BadT", -1, 1, 1000, 0, false),
        response::SUBSCRIPTION_GROUP_NOT_EXIST,
        Some("subscription group [GNone] does not exist, "),
    )
    .await;
    refused(
        &client,
        pop_request(known, "NoSuchT", -1, 1, 1000, 0, false),
        response::TOPIC_NOT_EXIST,
        Some("topic[NoSuchT] not exist, apply first please!"),
    )
    .await;
    refused(
        &client,
        pop_request(known, "BadT", -1, 33, 1000, 0, false),
        response::INVALID_PARAMETER,
        Some("the broker[127.0.0.1] pop message's num is greater than 32"),
    )
    .await;
    refused(
        &client,
        pop_request(known, "BadT", 9, 1, 1000, 0, false),
        response::INVALID_PARAMETER,
        Some("queueId[9] is illegal, topic:[BadT] topicConfig.readQueueNums:[4] consumer:["),
    )
    .await;
    let mut stale = pop_request(known, "BadT", -1, 1, 1000, 0, false);
    stale
        .ext_fields
        .as_mut()
        .unwrap()
        .insert("bornTime", "1000");
    refused(
        &client,
        stale,
        response::POLLING_TIMEOUT,
        Some("the broker[127.0.0.1] pop message is timeout too much"),
    )
    .await;
    // invisibleTime 0 is not checked by Java: a normal pop.
    let mut got = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while got.is_empty() && Instant::now() < deadline {
        let resp = client
            .invoke(pop_request(known, "BadT", -1, 1, 0, 1000, false), TIMEOUT)
            .await
            .unwrap();
        assert!(resp.code == response::SUCCESS || resp.code == response::POLLING_TIMEOUT);
        got = popped(&resp, "BadT", "broker-t");
    }
    let p = got.pop().expect("popped with invisibleTime 0");

    // ACK: bad handle, offset beyond the queue, queue beyond the topic.
    let mut bad = p.clone();
    bad.extra_info = "1 2 x".into();
    let mut req = ack_request(known, "BadT", &p);
    req.ext_fields
        .as_mut()
        .unwrap()
        .insert("extraInfo", "1 2 x");
    refused(&client, req, response::SYSTEM_ERROR, Some("java.lang.")).await;
    let mut req = ack_request(known, "BadT", &p);
    req.ext_fields.as_mut().unwrap().insert("offset", "99");
    refused(
        &client,
        req,
        response::NO_MESSAGE,
        Some(&format!(
            "offset is illegal, key:BadT@{}, commit:99, store:0~1",
            p.msg.queue_id
        )),
    )
    .await;
    let mut req = ack_request(known, "BadT", &p);
    req.ext_fields.as_mut().unwrap().insert("queueId", "7");
    refused(
        &client,
        req,
        response::MESSAGE_ILLEGAL,
        Some("queueId[7] is illegal, topic:[BadT]"),
    )
    .await;
    let mut req = ack_request(known, "NoSuchT", &p);
    req.ext_fields.as_mut().unwrap().insert("topic", "NoSuchT");
    refused(
        &client,
        req,
        response::TOPIC_NOT_EXIST,
        Some("topic[NoSuchT] not exist"),
    )
    .await;
    // CHANGE_INVISIBLE_TIME at the max offset: NO_MESSAGE without remark.
    let mut req = change_request(known, "BadT", &p, 1000);
    req.ext_fields.as_mut().unwrap().insert("offset", "1");
    refused(&client, req, response::NO_MESSAGE, None).await;
    // BATCH_ACK without a body.
    let req = RemotingCommand::request_without_header(request::BATCH_ACK_MESSAGE);
    refused(&client, req, response::NO_MESSAGE, None).await;
    // SET_MESSAGE_REQUEST_MODE of a retry topic, an unknown topic, an unknown group.
    for (body, code, remark) in [
        (
            r#"{"consumerGroup":"GKnown","mode":"POP","topic":"%RETRY%GKnown"}"#,
            response::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        ),
        (
            r#"{"consumerGroup":"GKnown","mode":"POP","topic":"NoSuchT"}"#,
            response::TOPIC_NOT_EXIST,
            "topic[NoSuchT] not exist",
        ),
        (
            r#"{"consumerGroup":"GNone","mode":"POP","topic":"BadT"}"#,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            "subscription group does not exist",
        ),
    ] {
        let req = RemotingCommand::request_without_header(request::SET_MESSAGE_REQUEST_MODE)
            .with_body(body);
        refused(&client, req, code, Some(remark)).await;
    }
}

fn heartbeat(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    let body = format!(
        r#"{{"clientID":"{client_id}","consumerDataSet":[{{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"{group}","messageModel":"CLUSTERING","subscriptionDataSet":[{{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"{topic}"}}],"unitMode":false}}],"producerDataSet":[]}}"#
    );
    RemotingCommand::request_without_header(request::HEART_BEAT).with_body(body)
}

fn query_assignment(client_id: &str, group: &str, topic: &str) -> RemotingCommand {
    RemotingCommand::request_without_header(request::QUERY_ASSIGNMENT).with_body(format!(
        r#"{{"clientId":"{client_id}","consumerGroup":"{group}","messageModel":"CLUSTERING","strategyName":"AVG","topic":"{topic}"}}"#
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_rebalance_assigns_pop_queues_and_the_mode_persists() {
    let dir = temp_dir("pop-assign");
    let mut broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    send_all(&client, "AsgT", 2, "a").await;
    let mut clients = Vec::new();
    for i in 0..3 {
        let c = broker.client().await;
        let resp = c
            .invoke(heartbeat(&format!("cid{i}"), "GAsg", "AsgT"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, 0);
        clients.push(c);
    }
    // PULL by default: the 4 queues shared out averagely.
    let resp = client
        .invoke(query_assignment("cid0", "GAsg", "AsgT"), TIMEOUT)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    assert_eq!(resp.code, 0);
    assert!(
        text.contains(r#""queueId":0"#) && text.contains(r#""queueId":1"#),
        "{text}"
    );
    assert!(text.contains(r#""mode":"PULL""#), "{text}");
    let set = RemotingCommand::request_without_header(request::SET_MESSAGE_REQUEST_MODE)
        .with_body(r#"{"consumerGroup":"GAsg","mode":"POP","popShareQueueNum":0,"topic":"AsgT"}"#);
    assert_eq!(client.invoke(set, TIMEOUT).await.unwrap().code, 0);
    drop(client);
    drop(clients);
    let conf = broker.conf.clone();
    broker.terminate();
    drop(broker);
    let saved = std::fs::read_to_string(dir.join("store/config/messageRequestMode.json")).unwrap();
    assert!(saved.contains(r#""mode":"POP""#), "{saved}");

    let broker = restart_broker(&conf);
    let mut clients = Vec::new();
    for i in 0..3 {
        let c = broker.client().await;
        let resp = c
            .invoke(heartbeat(&format!("cid{i}"), "GAsg", "AsgT"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, 0);
        clients.push(c);
    }
    for (i, c) in clients.iter().enumerate() {
        let resp = c
            .invoke(
                query_assignment(&format!("cid{i}"), "GAsg", "AsgT"),
                TIMEOUT,
            )
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        assert_eq!(
            text,
            r#"{"messageQueueAssignments":[{"messageQueue":{"brokerName":"broker-t","queueId":-1,"topic":"AsgT"},"mode":"POP"}]}"#
        );
    }
}
