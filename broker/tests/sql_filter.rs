//! SQL92 filtering through the broker binary (`enablePropertyFilter=true`): Java's refusals
//! of bad subscriptions, pulls filtered by the expression a heartbeat registered, and a parked
//! SQL pull that only a matching message wakes. No sleeps: every wait is for an answer.
//! Everything runs with the bitmap pre-filter off and on (`enableCalcFilterBitMap` +
//! `enableConsumeQueueExt`); with it on, the extension units hold Java's bitmaps.

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
    sql_scenario("sql-filter", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_subscriptions_with_the_bitmap_pre_filter() {
    sql_scenario("sql-filter-bitmap", true).await;
}

const BITMAP_CONF: &str = "enableCalcFilterBitMap=true\nenableConsumeQueueExt=true";

/// The extension units of queue ST/0 as Java's `CqExtUnit.read` reads them:
/// (tagsCode, storeTime, bitmap).
fn ext_units(dir: &std::path::Path) -> Vec<(i64, i64, Vec<u8>)> {
    let file = dir.join("store/consumequeue_ext/ST/0/00000000000000000000");
    let bytes = std::fs::read(&file).unwrap_or_default();
    let mut units = Vec::new();
    let mut at = 0;
    while at + 20 <= bytes.len() {
        let size = i16::from_be_bytes([bytes[at], bytes[at + 1]]);
        if size < 1 {
            break;
        }
        let num = |from: usize| i64::from_be_bytes(bytes[from..from + 8].try_into().unwrap());
        let bits = i16::from_be_bytes([bytes[at + 18], bytes[at + 19]]).max(0) as usize;
        units.push((
            num(at + 2),
            num(at + 10),
            bytes[at + 20..at + 20 + bits].to_vec(),
        ));
        at += size as usize;
    }
    units
}

async fn sql_scenario(name: &str, bit_map: bool) {
    let dir = temp_dir(name);
    let conf = if bit_map {
        format!("enablePropertyFilter=true\n{BITMAP_CONF}")
    } else {
        "enablePropertyFilter=true".to_owned()
    };
    let broker = start_broker(&dir, free_port_pair(), None, &conf);
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
    //
    // The two pulls are sent just before the b = 'y' message, and nothing on the wire tells
    // when the broker has parked them: an x pull that reaches the broker after that message is
    // stored is answered at once, PULL_RETRY_IMMEDIATELY / NO_MATCHED_MESSAGE, as Java
    // answers it. Such an attempt proves nothing and is made again further on the queue (once
    // both messages of the last one are dispatched), giving the pulls a longer head start each
    // time (10 ms, doubling, at most 1.3 s). The head start only makes an attempt conclusive:
    // a broker that wakes the x pull on the b = 'y' message ends every attempt that way,
    // however long the pulls waited, and the test fails after `ATTEMPTS`.
    const ATTEMPTS: usize = 10;
    let resp = client
        .invoke(heartbeat("other_group", "ST", "b = 'y'", 30), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let parked = |group: &'static str, version: i64, offset: i64| {
        let client = client.clone();
        let req = sql_pull(group, "ST", offset, FLAG_SUSPEND, version);
        tokio::spawn(async move { client.invoke(req, TIMEOUT).await.unwrap() })
    };
    let too_late = |x: &RemotingCommand| {
        x.code == response::PULL_RETRY_IMMEDIATELY
            && x.remark.as_deref() == Some("NO_MATCHED_MESSAGE")
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(
            attempts <= ATTEMPTS,
            "in {ATTEMPTS} attempts the x pull was never still parked after a message not \
             matching `{expr}`"
        );
        let offset = 3 + 2 * (attempts as i64 - 1);
        let started = Instant::now();
        let x_poller = parked("sql_group", 20, offset);
        let y_poller = parked("other_group", 30, offset);
        tokio::time::sleep(Duration::from_millis(5 << attempts.min(8))).await;
        let resp = client
            .invoke(send_props("ST", "2", "y"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        let y = y_poller.await.unwrap();
        assert_eq!(y.code, response::SUCCESS, "{:?}", y.remark);
        assert_eq!(bodies(&y), vec!["a=2,b=y"]);
        let parked_after_y = !x_poller.is_finished();
        let resp = client
            .invoke(send_props("ST", "3", "x"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
        let x = x_poller.await.unwrap();
        if !parked_after_y || too_late(&x) {
            assert!(too_late(&x), "{} {:?}", x.code, x.remark);
            pull_n(&client, "ST", 0, 3 + 2 * attempts).await;
            continue;
        }
        assert_eq!(x.code, response::SUCCESS, "{:?}", x.remark);
        assert_eq!(bodies(&x), vec!["a=3,b=x"]);
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "woken by the send"
        );
        break;
    }

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
    let bloom = filter::bloom::BloomFilter::create_by_fn(20, 32).unwrap();
    for group in ["sql_group", "other_group"] {
        let pos = bloom.generate(&format!("{group}#ST")).bit_pos;
        let pos: Vec<String> = pos.iter().map(i32::to_string).collect();
        let needle = format!("\"bitPos\":[{}]", pos.join(","));
        assert!(file.contains(&needle), "{needle} missing from {file}");
    }

    // The extension: a unit per message; the three sent before any filter have no bitmap,
    // then each attempt's (2,y) has only other_group's bits and its (3,x) only sql_group's.
    let units = ext_units(&dir);
    if !bit_map {
        assert!(units.is_empty(), "no consumequeue_ext without the switch");
        return;
    }
    assert_eq!(units.len(), 3 + 2 * attempts, "{units:?}");
    assert!(units[..3].iter().all(|u| u.2.is_empty()), "{units:?}");
    let hit = |bits: &[u8], group: &str| {
        let bits = filter::bloom::BitsArray::from_bytes(bits).unwrap();
        bloom.is_hit(&format!("{group}#ST"), &bits).unwrap()
    };
    for pair in units[3..].chunks(2) {
        assert_eq!(pair[0].2.len(), 14);
        assert!(hit(&pair[0].2, "other_group") && !hit(&pair[0].2, "sql_group"));
        assert!(hit(&pair[1].2, "sql_group") && !hit(&pair[1].2, "other_group"));
    }
    assert_eq!(
        units[4].0,
        remoting_codec::message::java_string_hash_code("TagA") as i64,
        "the real tagsCode"
    );
}
