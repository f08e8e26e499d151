//! The broker proof, written once and run with each client (`tests/broker_<client>.rs` pick
//! the scenarios their client supports). Each scenario starts its own name server and broker,
//! drives client programs, and checks what they printed; every process is killed when the
//! scenario ends, also when it panics.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::check::{self, bodies, deliveries, Delivery};
use crate::client::{ClientProcess, Clients, PHASE_TIMEOUT};
use crate::cluster::Cluster;

/// Queues of every test topic.
pub const QUEUES: i32 = 8;
/// Messages of the main produce/consume run.
pub const MESSAGES: u64 = 10_000;
pub const TAGS: [&str; 3] = ["TagA", "TagB", "TagC"];
pub const TOPIC: &str = "RsCompatTopic";

fn all_queues() -> BTreeSet<i64> {
    (0..QUEUES as i64).collect()
}

/// Runs the producer for messages `start..start + count` (with `order_keys`, keys
/// `order-<i mod k>` sent in order) and waits for it to finish; panics on any failed send.
pub fn produce(cluster: &Cluster, client: Clients, start: u64, count: u64, order_keys: u64) {
    let mut args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatProducer".to_owned()),
        ("count", count.to_string()),
        ("start", start.to_string()),
        ("tags", TAGS.join(",")),
    ];
    if order_keys > 0 {
        args.push(("order-keys", order_keys.to_string()));
    }
    let home = cluster.client_home("producer");
    let mut producer = client.spawn("producer", &home, "produce", &args);
    producer.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    producer.finish_ok(Duration::from_secs(60));
    let summary = &producer.events("summary")[0];
    assert_eq!(
        summary["failed"],
        0,
        "sends failed: {summary}\n{}",
        producer.diagnostics()
    );
    assert_eq!(producer.count("sent"), count as usize, "sent events");
    let queues: BTreeSet<i64> = check::queues(&deliveries(&producer.events("sent")));
    // The PyPI client's send result has no queue id (-1). Round robin is per thread in the
    // crates.io client (Java's ThreadLocalIndex, and its sends hop between runtime threads), so
    // a handful of sends (the broadcast warm-up's 8) may miss a queue; a batch of hundreds
    // never does.
    if order_keys == 0 && !queues.contains(&-1) && count >= 100 * QUEUES as u64 {
        assert_eq!(queues, all_queues(), "the producer spread over all queues");
    }
}

pub(crate) fn push_consumer(
    cluster: &Cluster,
    client: Clients,
    name: &str,
    group: &str,
    extra: &[(&str, &str)],
) -> ClientProcess {
    let mut args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", group.to_owned()),
        ("instance", name.to_owned()),
    ];
    args.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let mut consumer = client.spawn(name, &cluster.client_home(name), "push", &args);
    consumer.wait_ready();
    consumer
}

pub(crate) fn received(consumer: &ClientProcess) -> Vec<Delivery> {
    deliveries(&consumer.events("msg"))
}

/// Polls until every body of `expected` was received by one of `consumers`.
pub(crate) fn wait_all_received(consumers: &mut [&mut ClientProcess], expected: &BTreeSet<String>) {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        let seen: BTreeSet<String> = consumers
            .iter()
            .flat_map(|c| received(c))
            .map(|d| d.body)
            .collect();
        let missing = expected.iter().filter(|b| !seen.contains(*b)).count();
        if missing == 0 {
            return;
        }
        for c in consumers.iter_mut() {
            c.assert_alive();
        }
        if Instant::now() > deadline {
            let diag: Vec<String> = consumers.iter().map(|c| c.diagnostics()).collect();
            panic!(
                "{missing} of {} messages not received after {PHASE_TIMEOUT:?}\n{}",
                expected.len(),
                diag.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Scenarios of one test binary run one at a time: each drives a broker and several clients,
/// which is all a 2-core machine can run without starving the long polls.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn start(name: &str) -> Cluster {
    let cluster = Cluster::start(name);
    cluster.create_topic(TOPIC, QUEUES);
    cluster
}

/// 10,000 messages with tags and keys over 8 queues, one push consumer: each delivered
/// exactly once with its tag and key, and the consumer's offsets committed on shutdown.
pub fn produce_and_push_consume(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let group = "RsCompatPushGroup";
    let mut consumer = push_consumer(&cluster, client, "consumer", group, &[]);
    produce(&cluster, client, 0, MESSAGES, 0);
    consumer.wait_messages(MESSAGES as usize, PHASE_TIMEOUT);
    consumer.finish_ok(Duration::from_secs(60));
    let got = received(&consumer);
    check::assert_exactly_once("push consumer", &got, &bodies(0, MESSAGES));
    check::assert_properties("push consumer", &got, &TAGS);
    assert_eq!(check::queues(&got), all_queues(), "queues consumed");
    // Each queue's committed offset is where its messages end.
    for q in 0..QUEUES {
        let end = got.iter().filter(|d| d.queue_id == q as i64).count() as i64;
        assert_eq!(
            cluster.consumer_offset(group, TOPIC, q),
            Some(end),
            "committed offset of queue {q} after a clean consumer shutdown"
        );
    }
}

/// Two consumers of one group: a first batch is received without loss while the group forms;
/// once probe rounds show the group settled ([`settle`]), a second batch is split between them
/// queue by queue, four queues each, exactly once; then one leaves
/// cleanly and the other takes over all eight queues for a third batch, without redelivering
/// what the leaver had committed.
pub fn split_and_take_over(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let group = "RsCompatSplitGroup";
    let mut a = push_consumer(&cluster, client, "consumer-a", group, &[]);
    let mut b = push_consumer(&cluster, client, "consumer-b", group, &[]);
    cluster.wait_consumers(group, 2);

    produce(&cluster, client, 0, 2_000, 0);
    wait_all_received(&mut [&mut a, &mut b], &bodies(0, 2_000));
    let all: Vec<Delivery> = received(&a).into_iter().chain(received(&b)).collect();
    check::assert_no_loss("group of two, first batch", &all, &bodies(0, 2_000));

    // Steady state: once both consumers apply the same allocation, which happens at their next
    // rebalance (a clock, 2 s to 20 s depending on the client, not an event we can see).
    settle(&cluster, client, &mut a, &mut b);
    let (a0, b0) = (a.count("msg"), b.count("msg"));
    produce(&cluster, client, 2_000, 1_000, 0);
    wait_all_received(&mut [&mut a, &mut b], &bodies(2_000, 3_000));
    let not_probe = |d: &Delivery| d.seq() < SETTLE;
    let a2: Vec<Delivery> = received(&a)
        .split_off(a0)
        .into_iter()
        .filter(not_probe)
        .collect();
    let b2: Vec<Delivery> = received(&b)
        .split_off(b0)
        .into_iter()
        .filter(not_probe)
        .collect();
    let both: Vec<Delivery> = a2.iter().chain(&b2).cloned().collect();
    check::assert_exactly_once("group of two, second batch", &both, &bodies(2_000, 3_000));
    let (qa, qb) = (check::queues(&a2), check::queues(&b2));
    assert!(
        qa.is_disjoint(&qb) && qa.len() == 4 && qb.len() == 4,
        "the two consumers split the 8 queues 4/4: a consumed {qa:?}, b consumed {qb:?}"
    );

    // B leaves cleanly; A takes over.
    b.finish_ok(Duration::from_secs(60));
    cluster.wait_consumers(group, 1);
    let a3_start = a.count("msg");
    produce(&cluster, client, 3_000, 1_000, 0);
    wait_all_received(&mut [&mut a], &bodies(3_000, 4_000));
    a.finish_ok(Duration::from_secs(60));
    let a3 = received(&a).split_off(a3_start);
    check::assert_exactly_once(
        "the remaining consumer after the other left (a redelivery means the leaver's \
         committed offsets were not used)",
        &a3,
        &bodies(3_000, 4_000),
    );
    assert_eq!(check::queues(&a3), all_queues(), "queues taken over");
}

/// Bodies from `msg-<SETTLE>` on are probes of [`settle`].
const SETTLE: u64 = 2_000_000;

/// Sends probe rounds of 80 messages until one round is received exactly once, over all eight
/// queues, four by `a` and four others by `b`: both consumers then own their final half of the
/// queues (a consumer that has not yet rebalanced still pulls all eight, or a queue moving
/// between them is read by both), so the group is in steady state.
fn settle(cluster: &Cluster, client: Clients, a: &mut ClientProcess, b: &mut ClientProcess) {
    let round = 10 * QUEUES as u64;
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let mut last = String::new();
    for k in 0.. {
        assert!(
            Instant::now() < deadline,
            "the group of two did not settle on a 4/4 split after {PHASE_TIMEOUT:?}: {last}"
        );
        let (a0, b0) = (a.count("msg"), b.count("msg"));
        let start = SETTLE + k * round;
        produce(cluster, client, start, round, 0);
        let expected = bodies(start, start + round);
        wait_all_received(&mut [&mut *a, &mut *b], &expected);
        let in_round = |c: &ClientProcess, from: usize| -> Vec<Delivery> {
            let got = received(c).split_off(from);
            got.into_iter()
                .filter(|d| expected.contains(&d.body))
                .collect()
        };
        let (ra, rb) = (in_round(a, a0), in_round(b, b0));
        let (qa, qb) = (check::queues(&ra), check::queues(&rb));
        let once = ra.len() + rb.len() == expected.len();
        if once && qa.is_disjoint(&qb) && qa.len() == 4 && qb.len() == 4 {
            return;
        }
        last = format!(
            "round {k}: {} deliveries of {}, a read queues {qa:?}, b read {qb:?}",
            ra.len() + rb.len(),
            expected.len()
        );
    }
}

/// Broadcasting: two consumers of one group each receive every message once. A warm-up
/// message is sent first (and repeated) until both consumers receive it, since a broadcasting
/// consumer may start at the queue ends.
pub fn broadcast(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let group = "RsCompatBroadcastGroup";
    let model = [("model", "broadcasting")];
    let mut a = push_consumer(&cluster, client, "consumer-a", group, &model);
    let mut b = push_consumer(&cluster, client, "consumer-b", group, &model);
    warm_up(&cluster, client, &mut [&mut a, &mut b]);
    let n = 2_000;
    produce(&cluster, client, 0, n, 0);
    for c in [&mut a, &mut b] {
        let expected = bodies(0, n);
        wait_all_received(&mut [&mut *c], &expected);
        c.finish_ok(Duration::from_secs(60));
        let got: Vec<Delivery> = received(c)
            .into_iter()
            .filter(|d| d.seq() < WARM_UP)
            .collect();
        check::assert_exactly_once(&format!("broadcast {}", c.name), &got, &expected);
        check::assert_properties(&c.name, &got, &TAGS);
    }
}

/// The transaction scenario's `transactionTimeOut`: a half is checked once it is this old. Well
/// above the time a producer takes to commit or roll back its local transactions on a loaded
/// machine, so that only the UNKNOWN ones are ever checked.
const TX_TIMEOUT_MS: u64 = 10_000;

/// The transaction scenario's `transactionCheckInterval`. A half whose check is not answered
/// by the next pass is checked again (as in Java), and a second commit of it would deliver it
/// twice: the interval leaves a loaded machine's producer seconds to answer.
const TX_CHECK_INTERVAL_MS: u64 = 5_000;

/// Where a broker keeps half messages, and the group under which its check service records how
/// far it has walked them (Java's `RMQ_SYS_TRANS_HALF_TOPIC` and `CID_RMQ_SYS_TRANS`).
const TX_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
const TX_CHECK_GROUP: &str = "CID_RMQ_SYS_TRANS";

/// Bodies from `msg-<WARM_UP>` on are warm-up messages.
const WARM_UP: u64 = 1_000_000;

fn warm_up(cluster: &Cluster, client: Clients, consumers: &mut [&mut ClientProcess]) {
    let deadline = Instant::now() + PHASE_TIMEOUT;
    for k in 0.. {
        produce(
            cluster,
            client,
            WARM_UP + k * QUEUES as u64,
            QUEUES as u64,
            0,
        );
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if consumers.iter().all(|c| c.count("msg") > 0) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(
            Instant::now() < deadline,
            "consumers received no warm-up message"
        );
    }
}

/// Messages sent in order by key (16 keys, each key to one queue) are received in order per
/// key, each exactly once. With `orderly_consumer` the consumer is the client's orderly push
/// consumer (queue locks, one queue at a time); without, its ordinary push consumer (for a
/// client without an orderly one, which still processes a queue in order).
pub fn orderly(client: Clients, name: &str, orderly_consumer: bool) {
    let _serial = serial();
    let cluster = start(name);
    let group = "RsCompatOrderlyGroup";
    let extra: &[(&str, &str)] = if orderly_consumer {
        &[("orderly", "true")]
    } else {
        &[]
    };
    let mut consumer = push_consumer(&cluster, client, "consumer", group, extra);
    let n = 4_000;
    produce(&cluster, client, 0, n, 16);
    consumer.wait_messages(n as usize, PHASE_TIMEOUT);
    consumer.finish_ok(Duration::from_secs(60));
    let got = received(&consumer);
    check::assert_exactly_once("orderly consumer", &got, &bodies(0, n));
    check::assert_per_key_order("orderly consumer", &got);
    let mut queue_of_key: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for d in &got {
        queue_of_key.entry(&d.keys).or_default().insert(d.queue_id);
    }
    assert_eq!(queue_of_key.len(), 16, "keys");
    for (key, queues) in &queue_of_key {
        assert_eq!(
            queues.len(),
            1,
            "key {key} was sent to one queue, got {queues:?}"
        );
    }
}

/// A pull consumer reads queue 3 from offset 0 to its end: the queue's messages in offset
/// order, nothing missing. With `stores_offset`, the client then stored its next offset and
/// the broker answers it to QUERY_CONSUMER_OFFSET.
pub fn pull_from_zero(client: Clients, name: &str, stores_offset: bool) {
    let _serial = serial();
    let cluster = start(name);
    produce(&cluster, client, 0, 800, 0);
    let queue = 3;
    let end = cluster.max_offset(TOPIC, queue);
    assert!(end > 0, "queue {queue} has messages");
    let group = "RsCompatPullGroup";
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", group.to_owned()),
        ("queue", queue.to_string()),
    ];
    let mut puller = client.spawn("pull", &cluster.client_home("pull"), "pull", &args);
    puller.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    puller.finish_ok(Duration::from_secs(60));
    assert_eq!(puller.count("error"), 0, "{}", puller.diagnostics());
    let got = received(&puller);
    let offsets: Vec<i64> = got.iter().map(|d| d.queue_offset).collect();
    assert_eq!(
        offsets,
        (0..end).collect::<Vec<_>>(),
        "offsets pulled from queue {queue}"
    );
    assert!(got.iter().all(|d| d.queue_id == queue as i64));
    check::assert_properties("pull consumer", &got, &TAGS);
    let summary = &puller.events("summary")[0];
    assert_eq!(summary["nextOffset"], end, "next offset: {summary}");
    if stores_offset {
        assert_eq!(
            cluster.consumer_offset(group, TOPIC, queue),
            Some(end),
            "offset stored by the pull consumer"
        );
    }
}

/// The 5.x lite pull consumer (`DefaultLitePullConsumer`, assign + poll), whose pulls are
/// LITE_PULL_MESSAGE (361): every message of the topic, each once.
pub fn lite_pull(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = start(name);
    let count = 800;
    produce(&cluster, client, 0, count, 0);
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatLitePullGroup".to_owned()),
        ("count", count.to_string()),
    ];
    let mut puller = client.spawn(
        "lite-pull",
        &cluster.client_home("lite-pull"),
        "lite-pull",
        &args,
    );
    puller.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    puller.finish_ok(Duration::from_secs(60));
    assert_eq!(puller.count("error"), 0, "{}", puller.diagnostics());
    let got = received(&puller);
    let mut seen: Vec<String> = got.iter().map(|d| d.body.clone()).collect();
    seen.sort();
    let mut expected: Vec<String> = (0..count).map(|i| format!("msg-{i}")).collect();
    expected.sort();
    assert_eq!(
        seen,
        expected,
        "every message once\n{}",
        puller.diagnostics()
    );
    assert_eq!(check::queues(&got), all_queues(), "from every queue");
}

/// The broker is stopped (SIGTERM) while a slow consumer is half-way through 10,000 messages;
/// the consumer is killed while the broker is down. The broker restarts on the same store: it
/// still has every message and the group's committed offsets, and a new consumer of the group
/// resumes each queue exactly at its committed offset and receives the rest.
pub fn restart_resume(client: Clients, name: &str) {
    let _serial = serial();
    let mut cluster = start(name);
    let group = "RsCompatRestartGroup";
    produce(&cluster, client, 0, MESSAGES, 0);
    let mut first = push_consumer(&cluster, client, "consumer-1", group, &[("delay-ms", "5")]);
    first.wait_messages(3_000, PHASE_TIMEOUT);
    let before: Vec<Option<i64>> = (0..QUEUES)
        .map(|q| cluster.consumer_offset(group, TOPIC, q))
        .collect();
    assert!(
        cluster.broker.stop(),
        "the broker did not exit cleanly on SIGTERM:\n{}",
        cluster.broker.stderr_tail(4000)
    );
    first.kill();
    let seen_first = received(&first);
    cluster.broker.restart();

    let mut committed = BTreeMap::new();
    for q in 0..QUEUES {
        let c = cluster.consumer_offset(group, TOPIC, q);
        let Some(c) = c else {
            panic!("no committed offset for queue {q} after the restart (before: {before:?})")
        };
        if let Some(b) = before[q as usize] {
            assert!(
                c >= b,
                "queue {q}: committed offset went back from {b} to {c}"
            );
        }
        let seen = seen_first.iter().filter(|d| d.queue_id == q as i64);
        let next = seen.map(|d| d.queue_offset + 1).max().unwrap_or(0);
        assert!(
            c <= next,
            "queue {q}: committed {c} beyond what was consumed ({next})"
        );
        committed.insert(q as i64, c);
    }
    assert!(
        committed.values().sum::<i64>() > 0,
        "offsets were committed"
    );
    for q in 0..QUEUES {
        assert!(
            cluster.max_offset(TOPIC, q) > 0,
            "queue {q} lost its messages"
        );
    }

    let mut second = push_consumer(&cluster, client, "consumer-2", group, &[]);
    let rest: BTreeSet<String> = bodies(0, MESSAGES)
        .into_iter()
        .filter(|b| !seen_first.iter().any(|d| &d.body == b))
        .collect();
    wait_all_received(&mut [&mut second], &rest);
    second.finish_ok(Duration::from_secs(60));
    let got = received(&second);
    for (q, c) in &committed {
        let first_offset = got
            .iter()
            .filter(|d| d.queue_id == *q)
            .map(|d| d.queue_offset)
            .min();
        let end = cluster.max_offset(TOPIC, *q as i32);
        if *c < end {
            assert_eq!(
                first_offset,
                Some(*c),
                "queue {q}: the new consumer resumed at {first_offset:?}, committed offset {c}"
            );
        }
    }
    let expected: usize = committed
        .iter()
        .map(|(q, c)| (cluster.max_offset(TOPIC, *q as i32) - c) as usize)
        .sum();
    assert_eq!(got.len(), expected, "deliveries after the restart");
    let all: Vec<Delivery> = seen_first.into_iter().chain(got).collect();
    check::assert_no_loss("before and after the restart", &all, &bodies(0, MESSAGES));
}

/// A push consumer whose listener fails every message, with maxReconsumeTimes = 2, under a
/// delay table of 1 s levels: each message is delivered three times (reconsumeTimes 0, 1, 2,
/// the retries through `%RETRY%<group>` after the client's CONSUMER_SEND_MSG_BACK), then the
/// third send-back puts it into `%DLQ%<group>`, where a pull reads it back.
pub fn retry_to_dlq(client: Clients, name: &str) {
    retry_to_dlq_with(client, name, false)
}

/// [`retry_to_dlq`] for the C++ client. Its C API cannot set maxReconsumeTimes, so the group is
/// created first with `retryMaxTimes` 2, which the broker applies when the send-back header
/// carries no maximum (as an operator sets it with `mqadmin updateSubGroup`). And it consumes
/// retries in batches whose first failure fails the rest unseen, so not every retry reaches the
/// listener: the check is that retries came back (reconsumeTimes ≥ 1) and that every message
/// ends in the DLQ after its third send-back.
pub fn retry_to_dlq_by_group_config(client: Clients, name: &str) {
    retry_to_dlq_with(client, name, true)
}

fn retry_to_dlq_with(client: Clients, name: &str, cpp_client: bool) {
    let set_group_max = cpp_client;
    let _serial = serial();
    let cluster = Cluster::start_with(name, |s| s.set("messageDelayLevel", &["1s"; 18].join(" ")));
    cluster.create_topic(TOPIC, QUEUES);
    let group = "RsCompatRetryGroup";
    if set_group_max {
        cluster.update_subscription_group(group, 2);
    }
    let count = 4;
    let extra = [("fail", "true"), ("max-reconsume", "2")];
    let mut consumer = push_consumer(&cluster, client, "failing", group, &extra);
    produce(&cluster, client, 0, count, 0);
    if !cpp_client {
        consumer.wait_messages(3 * count as usize, PHASE_TIMEOUT);
    }

    // The third send-back of each message lands in the DLQ (queue 0).
    let dlq = format!("%DLQ%{group}");
    let deadline = Instant::now() + PHASE_TIMEOUT;
    while cluster.max_offset(&dlq, 0) < count as i64 {
        consumer.assert_alive();
        assert!(
            Instant::now() < deadline,
            "{dlq} has {} of {count} messages\n{}",
            cluster.max_offset(&dlq, 0),
            consumer.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    consumer.finish_ok(Duration::from_secs(60));
    // The broker registered the DLQ topic when it created it; a reader finds it by its route.
    cluster.wait_route(&dlq, |r| !r.queue_datas.is_empty());

    let mut times: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in consumer.events("msg") {
        let d = Delivery::from_event(&e);
        assert_eq!(e["topic"], TOPIC, "a retry is delivered as its topic: {e}");
        times
            .entry(d.body)
            .or_default()
            .push(e["reconsumeTimes"].as_i64().unwrap());
    }
    if cpp_client {
        let seen: BTreeSet<String> = times.keys().cloned().collect();
        assert_eq!(seen, bodies(0, count), "bodies delivered");
        let retried = times.values().flatten().filter(|t| **t >= 1).count();
        assert!(retried > 0, "no retry came back: {times:?}");
        assert!(
            times.values().flatten().all(|t| (0..=2).contains(t)),
            "{times:?}"
        );
    } else {
        let expected: BTreeMap<String, Vec<i64>> = bodies(0, count)
            .into_iter()
            .map(|b| (b, vec![0, 1, 2]))
            .collect();
        assert_eq!(times, expected, "reconsumeTimes of each delivery, by body");
    }

    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", dlq.clone()),
        ("group", "RsCompatDlqReader".to_owned()),
        ("queue", "0".to_owned()),
        ("commit", "false".to_owned()),
    ];
    let mut puller = client.spawn("pull-dlq", &cluster.client_home("pull-dlq"), "pull", &args);
    puller.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    puller.finish_ok(Duration::from_secs(60));
    assert_eq!(puller.count("error"), 0, "{}", puller.diagnostics());
    let dead = puller.events("msg");
    let dead_bodies: BTreeSet<String> = deliveries(&dead).into_iter().map(|d| d.body).collect();
    assert_eq!(dead_bodies, bodies(0, count), "bodies read back from {dlq}");
    for e in &dead {
        assert_eq!(e["topic"], dlq.as_str(), "{e}");
        assert_eq!(e["reconsumeTimes"], 3, "{e}");
        assert!(e["keys"].as_str().unwrap().starts_with("key-"), "{e}");
        // Written by the broker's send-back (WAIT=false, DELAY=0, the original's topic and
        // offsetMsgId), not by a client's fallback send to the retry topic (which would carry
        // MAX_RECONSUME_TIMES and RECONSUME_TIME).
        let p = &e["properties"];
        assert_eq!(
            (&p["WAIT"], &p["DELAY"]),
            (&"false".into(), &"0".into()),
            "{e}"
        );
        assert_eq!(p["RETRY_TOPIC"], TOPIC, "{e}");
        assert_eq!(
            p["ORIGIN_MESSAGE_ID"].as_str().map(str::len),
            Some(32),
            "{e}"
        );
        assert!(p.get("MAX_RECONSUME_TIMES").is_none(), "{e}");
    }
}

/// A transaction producer sends 8 half messages; its local transactions commit `tx-0`/`tx-4`,
/// roll back `tx-1`/`tx-5` and answer UNKNOWN for the rest, whose check by the broker (every
/// [`TX_CHECK_INTERVAL_MS`] here, once a half is [`TX_TIMEOUT_MS`] old) then commits
/// `tx-2`/`tx-6` and rolls back `tx-3`/`tx-7`. A push consumer receives exactly the four
/// committed ones, once each, and nothing before its commit.
pub fn transactions(client: Clients, name: &str) {
    let _serial = serial();
    let cluster = Cluster::start_with(name, |s| {
        s.set(
            "transactionCheckInterval",
            &TX_CHECK_INTERVAL_MS.to_string(),
        )
        .set("transactionTimeOut", &TX_TIMEOUT_MS.to_string())
    });
    cluster.create_topic(TOPIC, QUEUES);
    let mut consumer = push_consumer(&cluster, client, "consumer", "RsCompatTxConsumer", &[]);
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatTxProducer".to_owned()),
        ("count", "8".to_owned()),
    ];
    let home = cluster.client_home("tx-producer");
    let mut producer = client.spawn("tx-producer", &home, "tx-produce", &args);
    producer.wait_until("8 sends", PHASE_TIMEOUT, |p| p.count("sent") >= 8);
    assert_eq!(producer.count("error"), 0, "{}", producer.diagnostics());
    for e in producer.events("sent") {
        assert_eq!(e["status"], "SendOk", "a half message is acknowledged: {e}");
    }
    let committed: BTreeSet<String> = ["tx-0", "tx-2", "tx-4", "tx-6"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    // The commits of the local transactions arrive first; the checked ones after a check.
    wait_all_received(&mut [&mut consumer], &committed);
    let checked = |p: &ClientProcess| -> BTreeSet<String> {
        p.events("check")
            .iter()
            .map(|e| e["keys"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    producer.wait_until("checks of tx-2, tx-3, tx-6, tx-7", PHASE_TIMEOUT, |p| {
        checked(p).len() >= 4
    });
    // Every half decided: the check service walked the whole half queue (a half still open
    // is put back at its end and checked again), so no check can come any more, and the topic
    // holds the four commits and nothing else.
    let deadline = Instant::now() + PHASE_TIMEOUT;
    loop {
        let walked = cluster.consumer_offset(TX_CHECK_GROUP, TX_HALF_TOPIC, 0);
        let end = cluster.max_offset(TX_HALF_TOPIC, 0);
        if walked == Some(end) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the half queue was walked to {walked:?} of {end} after {PHASE_TIMEOUT:?}\n{}",
            producer.diagnostics()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stored: i64 = (0..QUEUES).map(|q| cluster.max_offset(TOPIC, q)).sum();
    assert_eq!(stored, committed.len() as i64, "messages stored in {TOPIC}");
    producer.finish_ok(Duration::from_secs(60));
    consumer.finish_ok(Duration::from_secs(60));

    let expected_checks: BTreeSet<String> = ["tx-2", "tx-3", "tx-6", "tx-7"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        checked(&producer),
        expected_checks,
        "messages the broker checked"
    );
    let got = received(&consumer);
    check::assert_exactly_once("transaction consumer", &got, &committed);
    for e in consumer.events("msg") {
        let p = &e["properties"];
        assert_eq!(
            p["TRAN_MSG"], "true",
            "a committed transactional message: {e}"
        );
        assert_eq!(p["REAL_TOPIC"], TOPIC, "{e}");
    }
}

/// What the client's query calls printed (the `query` command of a client program): its
/// `sent` events and one event per call (`query`, `view`, `view-uniq`).
pub struct QueryRun {
    pub sent: Vec<serde_json::Value>,
    pub events: BTreeMap<&'static str, serde_json::Value>,
}

/// 10 messages with keys `key-<i>` and bodies `msg-<i>`, then the client's query calls on them:
/// QUERY_MESSAGE for `key-3`, VIEW_MESSAGE_BY_ID for message 0's offsetMsgId, and a view by
/// message 0's msgId (QUERY_MESSAGE with `_UNIQUE_KEY_QUERY`).
pub fn query_and_view(client: Clients, name: &str) -> QueryRun {
    let _serial = serial();
    let cluster = start(name);
    let args = [
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatQueryProducer".to_owned()),
        ("count", "10".to_owned()),
        ("key", "key-3".to_owned()),
    ];
    let mut querier = client.spawn("query", &cluster.client_home("query"), "query", &args);
    querier.wait_until("view-uniq", PHASE_TIMEOUT, |p| p.count("view-uniq") > 0);
    querier.finish_ok(Duration::from_secs(60));
    assert_eq!(querier.count("error"), 0, "{}", querier.diagnostics());
    let sent = querier.events("sent");
    assert_eq!(sent.len(), 10, "{}", querier.diagnostics());
    let events = ["query", "view", "view-uniq"]
        .into_iter()
        .map(|kind| (kind, querier.events(kind).remove(0)))
        .collect();
    QueryRun { sent, events }
}

/// The properties of message `i` of the SQL92 scenario (every value a string, as clients send
/// them): `a` = i % 6 except in every fourth block of three (18 messages without `a`, 6 of
/// them with `b = 'x'`), `b` = x / y alternating, `n` = 37·i mod 100, `f` one of five decimals,
/// `s` red / green / blue except every seventh (no `s`).
pub fn sql_props(i: u64) -> BTreeMap<&'static str, String> {
    let mut p = BTreeMap::new();
    if (i / 3) % 4 != 3 {
        p.insert("a", (i % 6).to_string());
    }
    p.insert("b", if i.is_multiple_of(2) { "x" } else { "y" }.to_owned());
    p.insert("n", (i * 37 % 100).to_string());
    p.insert(
        "f",
        ["0", "0.75", "1.5", "2.25", "3"][(i % 5) as usize].to_owned(),
    );
    if !i.is_multiple_of(7) {
        p.insert("s", ["red", "green", "blue"][(i % 3) as usize].to_owned());
    }
    p
}

type Props = BTreeMap<&'static str, String>;
/// A selector case: group, expression, the expected result on a message's properties.
pub type SqlCase = (&'static str, &'static str, fn(&Props) -> bool);

/// Each selector of the SQL92 scenario with its expected result under Java's rules, written
/// out by hand (a missing property makes a comparison unknown, NOT of unknown is unknown,
/// only TRUE selects).
pub fn sql_cases() -> Vec<SqlCase> {
    fn n(p: &Props, k: &str) -> Option<f64> {
        p.get(k).map(|v| v.parse::<f64>().unwrap())
    }
    vec![
        ("RsSql72", "a between 0 and 3 AND b = 'x'", |p| {
            n(p, "a").is_some_and(|a| (0.0..=3.0).contains(&a)) && p["b"] == "x"
        }),
        ("RsSqlNum", "n > 50 AND f <= 1.5", |p| {
            n(p, "n").unwrap() > 50.0 && n(p, "f").unwrap() <= 1.5
        }),
        (
            "RsSqlStr",
            "s IN ('red', 'green') AND s <> 'green' OR s = 'blue'",
            |p| p.get("s").is_some_and(|s| s == "red" || s == "blue"),
        ),
        ("RsSqlNull", "a IS NULL AND NOT (b = 'x')", |p| {
            !p.contains_key("a") && p["b"] != "x"
        }),
        (
            "RsSqlNot",
            "n NOT BETWEEN 10 AND 90 AND s NOT IN ('red')",
            |p| {
                let n = n(p, "n").unwrap();
                (!(10.0..=90.0).contains(&n)) && p.get("s").is_some_and(|s| s != "red")
            },
        ),
    ]
}

fn sql_cluster(name: &str, bit_map: bool) -> Cluster {
    let cluster = Cluster::start_with(name, |s| {
        let s = s.set("enablePropertyFilter", "true");
        if bit_map {
            s.set("enableCalcFilterBitMap", "true")
                .set("enableConsumeQueueExt", "true")
        } else {
            s
        }
    });
    cluster.create_topic(TOPIC, QUEUES);
    cluster
}

/// Produces messages `start..start + count` with [`sql_props`].
fn produce_sql(cluster: &Cluster, client: Clients, start: u64, count: u64) {
    let file = cluster
        .client_home("producer")
        .join(format!("props-{start}.json"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let props: Vec<serde_json::Value> = (start..start + count)
        .map(|i| serde_json::to_value(sql_props(i)).unwrap())
        .collect();
    std::fs::write(&file, serde_json::to_vec(&props).unwrap()).unwrap();
    let args = vec![
        ("namesrv", cluster.namesrv_addr()),
        ("topic", TOPIC.to_owned()),
        ("group", "RsCompatProducer".to_owned()),
        ("count", count.to_string()),
        ("start", start.to_string()),
        ("props-file", file.display().to_string()),
    ];
    let home = cluster.client_home("producer");
    let mut producer = client.spawn("producer", &home, "produce", &args);
    producer.wait_until("summary", PHASE_TIMEOUT, |p| p.count("summary") > 0);
    producer.finish_ok(Duration::from_secs(60));
    assert_eq!(
        producer.events("summary")[0]["failed"],
        0,
        "{}",
        producer.diagnostics()
    );
}

/// Waits for `expected`, stops the consumer cleanly and checks it received exactly those and
/// that its group's committed offsets reached the end of every queue (the broker examined
/// every message: nothing more could come).
fn finish_exact(
    cluster: &Cluster,
    consumer: &mut ClientProcess,
    group: &str,
    expected: &BTreeSet<String>,
) {
    wait_all_received(&mut [&mut *consumer], expected);
    let deadline = Instant::now() + PHASE_TIMEOUT;
    let behind = |q: i32| {
        let max = cluster.max_offset(TOPIC, q);
        max > 0 && cluster.consumer_offset(group, TOPIC, q) != Some(max)
    };
    while (0..QUEUES).any(behind) {
        consumer.assert_alive();
        assert!(
            Instant::now() < deadline,
            "{group}: offsets never reached the queue ends"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    consumer.finish_ok(Duration::from_secs(60));
    check::assert_exactly_once(group, &received(consumer), expected);
}

/// SQL92 selectors through a real client (the proof): 72 messages with properties,
/// one push consumer group per selector ([`sql_cases`]), each receives exactly the messages
/// its selector matches under Java's rules (24 for `a between 0 and 3 AND b = 'x'`); then a
/// consumer that comes back with another expression gets only the new messages that match it.
pub fn sql92_selectors(client: Clients, name: &str, bit_map: bool) {
    let _serial = serial();
    let cluster = sql_cluster(name, bit_map);
    let cases = sql_cases();
    let mut consumers: Vec<ClientProcess> = cases
        .iter()
        .map(|(group, sql, _)| push_consumer(&cluster, client, group, group, &[("sql", sql)]))
        .collect();
    for (group, _, _) in &cases {
        cluster.wait_consumers(group, 1);
    }
    produce_sql(&cluster, client, 0, 72);
    for ((group, sql, expect), consumer) in cases.iter().zip(consumers.iter_mut()) {
        let expected: BTreeSet<String> = (0..72u64)
            .filter(|i| expect(&sql_props(*i)))
            .map(|i| format!("msg-{i}"))
            .collect();
        assert!(
            !expected.is_empty() && expected.len() < 72,
            "{sql} selects some"
        );
        if *group == "RsSql72" {
            assert_eq!(expected.len(), 24, "the issue's case");
        }
        finish_exact(&cluster, consumer, group, &expected);
    }

    // A consumer changes its expression: `s = 'red'` (a new group, from the first offset: the
    // red ones of both batches), then, restarted in the same group, `s = 'blue'`: only the blue
    // ones of the third batch, none of the earlier blue ones.
    let group = "RsSqlChange";
    let mut first = push_consumer(&cluster, client, "change-1", group, &[("sql", "s = 'red'")]);
    cluster.wait_consumers(group, 1);
    produce_sql(&cluster, client, 72, 72);
    let red: BTreeSet<String> = (0..144u64)
        .filter(|i| sql_props(*i).get("s").is_some_and(|s| s == "red"))
        .map(|i| format!("msg-{i}"))
        .collect();
    finish_exact(&cluster, &mut first, group, &red);
    cluster.wait_consumers(group, 0);
    let mut second = push_consumer(
        &cluster,
        client,
        "change-2",
        group,
        &[("sql", "s = 'blue'")],
    );
    cluster.wait_consumers(group, 1);
    produce_sql(&cluster, client, 144, 72);
    let blue: BTreeSet<String> = (144..216u64)
        .filter(|i| sql_props(*i).get("s").is_some_and(|s| s == "blue"))
        .map(|i| format!("msg-{i}"))
        .collect();
    finish_exact(&cluster, &mut second, group, &blue);
}
