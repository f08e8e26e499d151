//! 5.x timer messages end to end: the broker binary on free ports, driven over the wire by our
//! remoting client with the properties the 5.3.3 Java client sets (`Message.setDeliverTimeMs`
//! → `TIMER_DELIVER_MS`, `setDelayTimeSec` → `TIMER_DELAY_SEC`, `setDelayTimeMs` →
//! `TIMER_DELAY_MS`; a cancel is a message with `TIMER_DEL_UNIQKEY` = `<topic>+<uniq key>` at
//! the same time), sent with SEND_MESSAGE_V2 as that client does.
//!
//! - each kind is held in `rmq_sys_wheel_timer` and stored in its topic no earlier than its
//!   time and within the precision plus a load allowance; the store has 5.x's files;
//! - a cancelled message never arrives;
//! - refusals with Java's codes and remarks (not a number, beyond `timerMaxDelaySec`, a cancel
//!   in the past, `timerWheelEnable=false`);
//! - kill -9 with pending timers: after a restart every one arrives, none early;
//! - GET_TIMER_METRICS / GET_TIMER_CHECK_POINT show the pending count and the progress.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::StoredMessage;
use remoting_codec::RemotingCommand;

/// Delivery may be late by one precision (1 s) plus this on a loaded 2-core machine.
const LOAD_ALLOWANCE_MS: i64 = 8000;
const PRECISION_MS: i64 = 1000;

fn send_timer(topic: &str, key: &str, timer: &str) -> RemotingCommand {
    let props = format!(
        "KEYS\u{1}{key}\u{2}UNIQ_KEY\u{1}U{key}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}t\u{2}{timer}"
    );
    RemotingCommand::request(request::SEND_MESSAGE_V2, &send_v2_header(topic, 0, &props))
        .with_body(Bytes::from(format!("body of {key}")))
}

fn prop(name: &str, value: impl std::fmt::Display) -> String {
    format!("{name}\u{1}{value}")
}

async fn send(client: &RemotingClient, req: RemotingCommand) -> RemotingCommand {
    client.invoke(req, TIMEOUT).await.unwrap()
}

async fn send_ok(client: &RemotingClient, req: RemotingCommand) {
    let resp = send(client, req).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
}

fn key(m: &StoredMessage) -> String {
    m.properties.keys().unwrap().to_owned()
}

/// Stored no earlier than `due` and at most a precision plus the allowance after it.
fn assert_on_time(m: &StoredMessage, due: i64) {
    let lateness = m.store_timestamp - due;
    println!("{} delivered {lateness} ms after its time", key(m));
    assert!(lateness >= 0, "{} stored {} ms early", key(m), -lateness);
    assert!(
        lateness < PRECISION_MS + LOAD_ALLOWANCE_MS,
        "{} delivered {lateness} ms late",
        key(m)
    );
}

async fn max_offset(client: &RemotingClient, topic: &str, queue_id: i32) -> i64 {
    let req = RemotingCommand::request_without_header(request::GET_MAX_OFFSET)
        .with_ext_field("topic", topic)
        .with_ext_field("queueId", queue_id.to_string());
    let resp = client.invoke(req, TIMEOUT).await.unwrap();
    resp.ext_field("offset").unwrap().parse().unwrap()
}

/// Pulls queue 0 of `topic` until `n` distinct keys arrived; every record (duplicates too).
async fn pull_distinct(client: &RemotingClient, topic: &str, n: usize) -> Vec<StoredMessage> {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let have = max_offset(client, topic, 0).await as usize;
        let all = pull_n(client, topic, 0, have).await;
        if all.iter().map(key).collect::<BTreeSet<_>>().len() >= n {
            return all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} distinct of {n}",
            all.iter().map(key).collect::<BTreeSet<_>>().len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn admin(client: &RemotingClient, code: i32) -> RemotingCommand {
    send(client, RemotingCommand::request_without_header(code)).await
}

/// GET_TIMER_METRICS: the pending count of `topic` (0 when absent).
async fn timer_pending(client: &RemotingClient, topic: &str) -> i64 {
    let resp = admin(client, request::GET_TIMER_METRICS).await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    assert!(json["dataVersion"]["counter"].is_i64(), "{json}");
    json["timingCount"][topic]["count"].as_i64().unwrap_or(0)
}

/// Polls GET_TIMER_CHECK_POINT until its masterTimerQueueOffset (4th long) is `offset`.
async fn wait_checkpoint_queue_offset(client: &RemotingClient, offset: i64) {
    for _ in 0..200 {
        let resp = admin(client, request::GET_TIMER_CHECK_POINT).await;
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        assert_eq!(resp.body.len(), 56);
        let long = |i: usize| i64::from_be_bytes(resp.body[i * 8..i * 8 + 8].try_into().unwrap());
        if long(3) == offset {
            assert!(long(0) > 0, "lastReadTimeMs");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the timer checkpoint never reached queue offset {offset}");
}

async fn wait_file(path: &std::path::Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{} not written", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_messages_arrive_on_time_in_5x_files_and_a_cancel_holds() {
    let dir = temp_dir("timer-on-time");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let t0 = broker::now_millis();
    let deliver_at = t0 + 2500;
    send_ok(
        &client,
        send_timer("TimerT", "AT", &prop("TIMER_DELIVER_MS", deliver_at)),
    )
    .await;
    let sent_sec = broker::now_millis();
    send_ok(
        &client,
        send_timer("TimerT", "SEC", &prop("TIMER_DELAY_SEC", 3)),
    )
    .await;
    let sent_ms = broker::now_millis();
    send_ok(
        &client,
        send_timer("TimerT", "MS", &prop("TIMER_DELAY_MS", 1500)),
    )
    .await;
    // Cancelled: same time as CANCEL's, its key is the topic and CANCEL's UNIQ_KEY.
    let cancel_at = t0 + 2000;
    send_ok(
        &client,
        send_timer("TimerT", "CANCEL", &prop("TIMER_DELIVER_MS", cancel_at)),
    )
    .await;
    let del = format!(
        "{}\u{2}{}",
        prop("TIMER_DELIVER_MS", cancel_at),
        prop("TIMER_DEL_UNIQKEY", "TimerT+UCANCEL")
    );
    send_ok(&client, send_timer("TimerT", "DEL", &del)).await;

    // All five are parked in the timer topic (queue 0).
    assert_eq!(max_offset(&client, "rmq_sys_wheel_timer", 0).await, 5);

    let got = pull_n(&client, "TimerT", 0, 3).await;
    let keys: BTreeSet<String> = got.iter().map(key).collect();
    assert_eq!(keys, ["AT", "MS", "SEC"].map(String::from).into());
    for m in &got {
        match key(m).as_str() {
            "AT" => assert_on_time(m, deliver_at),
            // The broker's time base is its receipt, after the client's reading.
            "SEC" => assert_on_time(m, sent_sec + 3000),
            _ => assert_on_time(m, sent_ms + 1500),
        }
        if key(m) == "AT" {
            // Its time rounded down to the second (one second earlier for an exact multiple).
            let slot = if deliver_at % PRECISION_MS == 0 {
                deliver_at - PRECISION_MS
            } else {
                deliver_at / PRECISION_MS * PRECISION_MS
            };
            assert_eq!(
                m.properties.get("TIMER_OUT_MS"),
                Some(slot.to_string().as_str())
            );
        }
        for p in [
            "TIMER_OUT_MS",
            "TIMER_ENQUEUE_MS",
            "TIMER_DEQUEUE_MS",
            "REAL_TOPIC",
        ] {
            assert!(m.properties.contains_key(p), "{p} in {:?}", m.properties);
        }
        assert_eq!(m.body, Bytes::from(format!("body of {}", key(m))));
    }
    // Past the cancelled slot (AT is later): CANCEL and DEL never arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = pull_n(&client, "TimerT", 0, 3).await;
    assert!(
        all.iter().all(|m| key(m) != "CANCEL" && key(m) != "DEL"),
        "{:?}",
        all.iter().map(key).collect::<Vec<_>>()
    );
    // The admin view: nothing pending (the cancel took its pair out), all five read.
    assert_eq!(timer_pending(&client, "TimerT").await, 0);
    wait_checkpoint_queue_offset(&client, 5).await;
    // 5.x's files.
    let store = dir.join("store");
    assert_eq!(
        std::fs::metadata(store.join("timerwheel")).unwrap().len(),
        38_707_200
    );
    assert!(store.join("timerlog/00000000000000000000").exists());
    wait_file(&store.join("config/timercheck")).await;
    assert_eq!(
        std::fs::metadata(store.join("config/timercheck"))
            .unwrap()
            .len(),
        4096
    );
    wait_file(&store.join("config/timermetrics")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_refusals_have_javas_codes_and_remarks() {
    let dir = temp_dir("timer-refusals");
    let broker = start_broker(&dir, free_port_pair(), None, "timerMaxDelaySec=10\n");
    let client = broker.client().await;
    let illegal = "timer message illegal, the delay time should not be bigger than the max delay 10000ms; or if set del msg, the delay time should be bigger than the current time";
    let now = broker::now_millis();
    for timer in [
        prop("TIMER_DELIVER_MS", "soon"),
        prop("TIMER_DELAY_SEC", 11),
        prop("TIMER_DELIVER_MS", now + 60_000),
        format!(
            "{}\u{2}{}",
            prop("TIMER_DELIVER_MS", now - 1000),
            prop("TIMER_DEL_UNIQKEY", "TimerR+UX")
        ),
    ] {
        let resp = send(&client, send_timer("TimerR", "X", &timer)).await;
        assert_eq!(
            (resp.code, resp.remark.as_deref()),
            (response::MESSAGE_ILLEGAL, Some(illegal)),
            "{timer:?}"
        );
    }
    // A time in the past is an ordinary message, stored at once.
    send_ok(
        &client,
        send_timer("TimerR", "PAST", &prop("TIMER_DELIVER_MS", now - 1000)),
    )
    .await;
    assert_eq!(key(&pull_n(&client, "TimerR", 0, 1).await[0]), "PAST");
    drop(client);
    drop(broker);

    let dir = temp_dir("timer-disabled");
    let broker = start_broker(&dir, free_port_pair(), None, "timerWheelEnable=false\n");
    let client = broker.client().await;
    let resp = send(
        &client,
        send_timer("TimerR", "X", &prop("TIMER_DELAY_SEC", 5)),
    )
    .await;
    assert_eq!(
        (resp.code, resp.remark.as_deref()),
        (
            response::SYSTEM_ERROR,
            Some("accurate timer message is not enabled, timerWheelEnable is false")
        )
    );
    assert!(!dir.join("store/timerwheel").exists());
    for (code, remark) in [
        (request::GET_TIMER_CHECK_POINT, "The checkpoint is null"),
        (
            request::GET_TIMER_METRICS,
            "The timer message store is null",
        ),
    ] {
        let resp = admin(&client, code).await;
        assert_eq!(
            (resp.code, resp.remark.as_deref()),
            (response::SYSTEM_ERROR, Some(remark))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_pending_timers_delivers_every_one_after_restart_never_early() {
    let dir = temp_dir("timer-kill9");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let base = broker::now_millis() + 6000;
    let mut due = std::collections::BTreeMap::new();
    for i in 0..100 {
        let at = base + (i % 4) * 700;
        let k = format!("K{i}");
        send_ok(
            &client,
            send_timer("TimerK", &k, &prop("TIMER_DELIVER_MS", at)),
        )
        .await;
        due.insert(k, at);
    }
    // The timer service took them into its log (GET_TIMER_METRICS counts them), then kill it.
    for _ in 0..100 {
        if timer_pending(&client, "TimerK").await == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(timer_pending(&client, "TimerK").await, 100);
    drop(client);
    let conf = broker.conf.clone();
    drop(broker); // SIGKILL
    assert!(dir.join("store/abort").exists(), "killed, not stopped");

    let broker = restart_broker(&conf);
    let client = broker.client().await;
    let got = pull_distinct(&client, "TimerK", 100).await;
    let keys: BTreeSet<String> = got.iter().map(key).collect();
    assert_eq!(keys.len(), 100, "every pending timer arrives");
    // Copies too: none early.
    for m in &got {
        assert_on_time(m, due[&key(m)]);
    }
    // As Java's recovery, the timer queue is read again from the last checkpoint's offset, so
    // messages taken after that checkpoint and before the kill come twice (at-least-once).
    println!("{} copies after kill -9 for 100 messages", got.len());
}
