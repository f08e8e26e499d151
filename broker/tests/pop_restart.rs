//! 5.x POP across a restart and kill -9 (the broker binary, our remoting client with the
//! Java client's headers, `common::pop`): un-acked messages come back after the restart no
//! earlier than their invisible time, acked ones and the popped originals never; an orderly
//! batch still blocks its queue (`config/consumerOrderInfo.json`).

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::pop::*;
use common::*;
use remoting_codec::code::response;

/// Pops 6, acks 3, waits until consumerOffset.json has the offsets, then stops the broker
/// (`kill`: SIGKILL, else SIGTERM) and checks the redeliveries after the restart.
async fn survive_restart(name: &str, kill: bool) {
    let dir = temp_dir(name);
    let mut broker = start_broker(
        &dir,
        free_port_pair(),
        None,
        "flushConsumerOffsetInterval=200",
    );
    let client = broker.client().await;
    let topic = "DurT";
    send_all(&client, topic, 6, "d").await;
    let popped = pop_n(&client, topic, 6, 6000).await;
    let pop_time = broker::now_millis();
    assert_eq!(popped.len(), 6);
    let mut unacked = BTreeSet::new();
    for (i, p) in popped.iter().enumerate() {
        if i % 2 == 0 {
            ack(&client, GROUP, topic, p).await;
        } else {
            unacked.insert(p.body());
        }
    }
    let offsets = dir.join("store/config/consumerOffset.json");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let text = std::fs::read_to_string(&offsets).unwrap_or_default();
        if text.contains(&format!("{topic}@{GROUP}"))
            && text.contains("0:3")
            && text.contains("1:3")
        {
            break;
        }
        assert!(Instant::now() < deadline, "offsets not persisted: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(client);
    let conf = broker.conf.clone();
    if kill {
        broker.kill();
        assert!(dir.join("store/abort").exists(), "killed, not stopped");
    } else {
        broker.terminate();
    }
    drop(broker);
    let broker = restart_broker(&conf);
    let client = broker.client().await;
    let seen = redeliveries(&client, topic, &unacked).await;
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(got, unacked, "the un-acked ones and only them");
    for (body, times) in &seen {
        assert!(times[0] >= pop_time + 6000 - 1000, "{body} back early");
        println!(
            "{body}: back {} ms after its time, {} copies",
            times[0] - pop_time - 6000,
            times.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn un_acked_pops_survive_a_restart() {
    survive_restart("pop-restart", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn un_acked_pops_survive_kill_9() {
    survive_restart("pop-kill9", true).await;
}

/// An orderly batch popped before a restart still blocks its queue after it
/// (`config/consumerOrderInfo.json`), and its acks still unblock it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderly_block_survives_a_restart() {
    let dir = temp_dir("pop-order-restart");
    let mut broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    for i in 0..4 {
        let resp = client
            .invoke(send("OrdR", 0, format!("r{i}")), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
    }
    let order_pop = || pop_request(GROUP, "OrdR", 0, 2, 60_000, 0, true);
    let deadline = Instant::now() + TIMEOUT;
    let mut first = Vec::new();
    while first.is_empty() {
        assert!(Instant::now() < deadline);
        let resp = client.invoke(order_pop(), TIMEOUT).await.unwrap();
        first = popped(&resp, "OrdR", "broker-t");
    }
    drop(client);
    let conf = broker.conf.clone();
    broker.terminate();
    drop(broker);
    let saved = std::fs::read_to_string(dir.join("store/config/consumerOrderInfo.json")).unwrap();
    assert!(saved.contains(&format!("OrdR@{GROUP}")), "{saved}");

    let broker = restart_broker(&conf);
    let client = broker.client().await;
    let resp = client.invoke(order_pop(), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::POLLING_TIMEOUT, "still blocked");
    for p in &first {
        ack(&client, GROUP, "OrdR", p).await;
    }
    let resp = client.invoke(order_pop(), TIMEOUT).await.unwrap();
    let next = popped(&resp, "OrdR", "broker-t");
    assert_eq!(
        next.iter().map(Popped::body).collect::<Vec<_>>(),
        ["r2", "r3"]
    );
}
