//! Replay of recorded scenarios whose answers arrive out of request order: long polls that the
//! Java broker held until a delayed message was delivered (s05-delay). The rules of
//! `replay.rs` apply (same comparison, `harness::compare`), with one difference in pacing:
//! requests go out in capture order, each on its recorded connection, but a request is not
//! awaited before the next one is sent. Instead, before sending request `i`, the replay waits
//! for every answer that Java gave before `i` was sent. So a pull that Java parked across the
//! delayed sends is parked here across them too, and must be answered with the delivered
//! message, as Java's was.
//!
//! Waiting rules: a send or a HEART_BEAT is answered before the next request goes out (in
//! s05 the client sent pulls right behind a heartbeat, before its answer; the Java broker had
//! registered the new subscription when it ran them, while here every request runs in a task
//! of its own and a pull could overtake the heartbeat). After an answered, non-delayed send
//! the replay waits until the message is in its consume queue (as `replay.rs`); a delayed send
//! is not waited for (its copy reaches the real topic only when due, which is what the parked
//! pulls observe).
//!
//! Exceptions (as `replay.rs`): send `msgId`; pulled messages' store time and hosts;
//! properties compared as a map. A request Java never answered (a long poll still parked when
//! the client shut down) may get a pull status from us before the end, or SUBSCRIPTION_NOT_EXIST
//! when it ran after its client's unregister (see `parked_may_get`), never another error.

mod harness;

use std::collections::BTreeMap;

use harness::compare::compare;
use harness::replay::{
    check_broker_requests, finish_parked, max_offset, Answer, ReplayCluster, PULL_STATUSES,
};
use harness::{read_capture, recorded_response, Client, RecordedClock};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;
use remoting_codec::RemotingCommand as Cmd;

const SCENARIOS: &[(&str, usize)] = &[
    // 4 sends, 5 heartbeats, 4 consumer lists, 5 offset queries, 4 pulls answered FOUND
    // (one at once, three when their delayed message came), 4 unregisters.
    ("s05-delay", 26),
];

/// What a parked long poll Java never answered may get from us. Besides the pull statuses:
/// SUBSCRIPTION_NOT_EXIST, because the replay sends the client's UNREGISTER_CLIENT right behind
/// its last pull, and a pull that runs (or is woken) after its group left is answered so by Java
/// too (pulls and client management run on different executors there, as in separate tasks here).
fn parked_may_get() -> Vec<i32> {
    [PULL_STATUSES, &[resp::SUBSCRIPTION_NOT_EXIST]].concat()
}

#[test]
fn replay_scenarios_with_delayed_answers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    for (scenario, expected) in SCENARIOS {
        let cluster = ReplayCluster::start(scenario);
        let compared = rt.block_on(replay(cluster.broker.addr(), scenario, &mut failures));
        println!("{scenario}: compared {compared} responses");
        assert_eq!(
            compared,
            *expected,
            "{scenario}: answers compared; failures so far:\n{}",
            failures.join("\n")
        );
        cluster.stop(scenario);
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Waits until a non-delayed send's message is in its consume queue.
async fn dispatched(control: &Client, request: &Cmd, answer: &Cmd) {
    let delayed = request
        .ext_field("i")
        .or(request.ext_field("properties"))
        .is_some_and(|p| p.contains("DELAY\u{1}"));
    let (Some(topic), Some(queue_id), Some(offset)) = (
        request.ext_field("b").or(request.ext_field("topic")),
        answer.ext_field("queueId"),
        answer.ext_field("queueOffset"),
    ) else {
        return;
    };
    if delayed {
        return;
    }
    let offset: i64 = offset.parse().unwrap();
    for _ in 0..3000 {
        if max_offset(control, topic, queue_id).await > offset {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the message sent to {topic} was never dispatched");
}

async fn replay(addr: std::net::SocketAddr, scenario: &str, failures: &mut Vec<String>) -> usize {
    let frames = read_capture(&format!("{scenario}.jsonl"));
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    let control = Client::connect(addr).await;
    // (index of the recorded answer, index of the request, our answer to come)
    let mut in_flight: Vec<(usize, usize, Answer)> = Vec::new();
    let mut parked: Vec<(String, Answer)> = Vec::new();
    let first_request = frames
        .iter()
        .position(|f| f.to_broker() && f.is_c2s() && !f.is_response());
    let clock = RecordedClock::starting_now(&frames, first_request.unwrap());
    let mut compared = 0;
    let mut check = |i: usize, j: usize, ours: Result<RemotingCommand, _>| match ours {
        Ok(ours) => {
            if let Err(e) = compare(&frames[i], &frames[j], &ours, None, clock) {
                failures.push(format!("{}: {e}", frames[i].at()));
            }
            compared += 1;
        }
        Err(e) => failures.push(format!("{}: no answer: {e}", frames[i].at())),
    };
    for (i, f) in frames.iter().enumerate() {
        if !(f.to_broker() && f.is_c2s() && !f.is_response()) {
            continue;
        }
        // Every answer Java gave before this request was sent.
        let (due, later): (Vec<_>, Vec<_>) = in_flight.into_iter().partition(|(j, _, _)| *j < i);
        in_flight = later;
        for (j, k, task) in due {
            check(k, j, task.await.unwrap());
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let conn = clients[&f.conn()].conn.clone();
        let command = clock.command(f);
        if f.is_oneway() {
            conn.invoke_oneway(command).await.unwrap();
            continue;
        }
        let Some(j) = recorded_response(&frames, i) else {
            parked.push((
                f.at(),
                tokio::spawn(async move { conn.invoke(command, harness::TIMEOUT).await }),
            ));
            continue;
        };
        if matches!(
            f.code(),
            req::SEND_MESSAGE | req::SEND_MESSAGE_V2 | req::HEART_BEAT
        ) {
            let ours = conn.invoke(command.clone(), harness::TIMEOUT).await;
            if let Ok(answer) = &ours {
                if answer.code == resp::SUCCESS {
                    dispatched(&control, &command, answer).await;
                }
            }
            check(i, j, ours);
            continue;
        }
        in_flight.push((
            j,
            i,
            tokio::spawn(async move { conn.invoke(command, harness::TIMEOUT).await }),
        ));
    }
    for (j, k, task) in in_flight {
        check(k, j, task.await.unwrap());
    }
    check_broker_requests(scenario, &frames, &clients, failures);
    finish_parked(parked, &parked_may_get(), failures).await;
    for client in clients.values() {
        client.conn.close();
    }
    compared
}
