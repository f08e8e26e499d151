//! SQL92 filtering through the broker binary (`enablePropertyFilter=true`): Java's refusals
//! of bad subscriptions, pulls filtered by the expression a heartbeat registered, and a parked
//! SQL pull that only a matching message wakes. No sleeps: every wait is for an answer.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
use remoting_codec::protocol::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel,
};
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::RemotingCommand;

fn send_props(topic: &str, a: &str, b: &str) -> RemotingCommand {
    let props = format!("a\u{1}{a}\u{2}b\u{1}{b}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA");
    RemotingCommand::request(request::SEND_MESSAGE_V2, &send_v2_header(topic, 0, &props))
        .with_body(Bytes::from(format!("a={a},b={b}")))
}

fn heartbeat(group: &str, topic: &str, expression: &str, version: i64) -> RemotingCommand {
    let data = HeartbeatData {
        client_id: "sql-client".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            subscription_data_set: vec![SubscriptionData {
                topic: Some(topic.into()),
                sub_string: Some(expression.into()),
                expression_type: Some("SQL92".into()),
                sub_version: version,
                ..Default::default()
            }],
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request_without_header(request::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

fn sql_pull(group: &str, topic: &str, offset: i64, sys_flag: i32, version: i64) -> RemotingCommand {
    let mut h = pull_header(topic, 0, offset, sys_flag);
    h.consumer_group = group.into();
    h.expression_type = Some("SQL92".into());
    h.subscription = None;
    h.sub_version = version;
    pull(&h)
}

fn bodies(resp: &RemotingCommand) -> Vec<String> {
    records(resp)
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_subscriptions_refusals_filtering_and_long_polling() {
    let dir = temp_dir("sql-filter");
    let broker = start_broker(&dir, free_port_pair(), None, "enablePropertyFilter=true");
    let client = broker.client().await;
    for (a, b) in [("1", "x"), ("5", "x"), ("2", "y")] {
        let resp = client
            .invoke(send_props("ST", a, b), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    }
    pull_n(&client, "ST", 0, 3).await;

    // A heartbeat whose expression does not compile registers no filter data.
    let resp = client
        .invoke(heartbeat("bad_group", "ST", "a between", 10), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let resp = client
        .invoke(sql_pull("bad_group", "ST", 0, 0, 10), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::FILTER_DATA_NOT_EXIST);
    assert_eq!(
        resp.remark.as_deref(),
        Some("The broker's consumer filter data is not exist!Your expression may be wrong!")
    );
    // A subscription in the header without an expression: SUBSCRIPTION_PARSE_FAILED.
    let resp = client
        .invoke(
            sql_pull("bad_group", "ST", 0, FLAG_SUBSCRIPTION, 10),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUBSCRIPTION_PARSE_FAILED);
    assert_eq!(
        resp.remark.as_deref(),
        Some("parse the consumer's subscription failed")
    );

    // A registered expression filters the pull.
    let expr = "a between 0 and 3 AND b = 'x'";
    let resp = client
        .invoke(heartbeat("sql_group", "ST", expr, 20), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let resp = client
        .invoke(sql_pull("sql_group", "ST", 0, 0, 20), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(bodies(&resp), vec!["a=1,b=x"]);
    // The same expression in the header (FLAG_SUBSCRIPTION) filters the same way.
    let mut h = pull_header("ST", 0, 0, FLAG_SUBSCRIPTION);
    h.expression_type = Some("SQL92".into());
    h.subscription = Some(expr.into());
    let resp = client.invoke(pull(&h), TIMEOUT).await.unwrap();
    assert_eq!(bodies(&resp), vec!["a=1,b=x"]);

    // Long polling: two parked pulls at the end of the queue, one for b = 'x' (sql_group), one
    // for b = 'y' (other_group). A b = 'y' message wakes the second; once it has answered, the
    // same dispatch has been offered to the first, which is still parked. A matching message
    // then wakes it, long before its 20 s suspend timeout.
    let resp = client
        .invoke(heartbeat("other_group", "ST", "b = 'y'", 30), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let started = Instant::now();
    let parked = |group: &'static str, version: i64| {
        let client = client.clone();
        let req = sql_pull(group, "ST", 3, FLAG_SUSPEND, version);
        tokio::spawn(async move { client.invoke(req, TIMEOUT).await.unwrap() })
    };
    let x_poller = parked("sql_group", 20);
    let y_poller = parked("other_group", 30);
    let resp = client
        .invoke(send_props("ST", "2", "y"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let y = y_poller.await.unwrap();
    assert_eq!(y.code, response::SUCCESS, "{:?}", y.remark);
    assert_eq!(bodies(&y), vec!["a=2,b=y"]);
    assert!(
        !x_poller.is_finished(),
        "a message not matching `{expr}` woke the parked pull"
    );
    let resp = client
        .invoke(send_props("ST", "3", "x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let x = x_poller.await.unwrap();
    assert_eq!(x.code, response::SUCCESS, "{:?}", x.remark);
    assert_eq!(bodies(&x), vec!["a=3,b=x"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "woken by the send"
    );

    // consumerFilter.json at shutdown holds the three groups' filters.
    drop(client);
    let mut broker = broker;
    assert!(broker.terminate().success());
    let file = std::fs::read_to_string(dir.join("store/config/consumerFilter.json")).unwrap();
    for needle in [
        "\"sql_group\":{",
        "\"other_group\":{",
        "\"expression\":\"b = 'y'\"",
        "\"expressionType\":\"SQL92\"",
    ] {
        assert!(file.contains(needle), "{needle} missing from {file}");
    }
    assert!(!file.contains("bad_group"), "{file}");
}
