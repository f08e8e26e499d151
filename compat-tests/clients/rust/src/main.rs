//! The crates.io `rocketmq-client-rust` side of the broker compat tests: one binary, one
//! subcommand per feature.
//!
//! Usage: compat-client-rust <command> --key value ...
//!   produce --namesrv A --topic T --group G --count N [--start S] [--tags TagA,TagB]
//!           [--order-keys K]   message i: tag tags[i % len], key key-<i>, body msg-<i>; with K,
//!                              key order-<i % K>, sent with a selector to queue (i % K) % queues
//!           [--props-file F]   F: a JSON array of objects; message i gets the user properties
//!                              of entry i - S
//!           [--timer L]        5.x timer messages: L is a comma list of `sec:N`
//!                              (set_delay_time_sec), `ms:N` (set_delay_time_ms) or `at:N`
//!                              (set_deliver_time_ms(now + N)); message i gets entry
//!                              (i - S) % len; its `sent` event has `deliverMs`, the time
//!                              asked for by the client's clock at the send, and the answer's
//!                              `recallHandle`
//!           [--recall R]       after the sends, `recall_message(T, handle)` for the first R
//!                              messages that got a recall handle: one `recalled` event each
//!                              (`body`, `msgId` or `error`)
//!   push    --namesrv A --topic T --group G [--model clustering|broadcasting]
//!           [--from first|last] [--orderly true] [--tags '*'] [--delay-ms D]
//!           [--fail true] [--max-reconsume R] [--sql EXPR]
//!           runs until stdin closes; sleeps D ms after each message; with --fail every
//!           message is answered RECONSUME_LATER (the client sends it back to the broker), R
//!           is the consumer's maxReconsumeTimes; with --sql the subscription is
//!           MessageSelector::by_sql(EXPR) instead of the tag expression
//!   send-loop --namesrv A --topic T --group G [--timeout-ms M]
//!           sync sends (body and key loop-<i>, tag loop) one after another until stdin
//!           closes; one `ack` event per SEND_OK (`msgId`, `queueId`, `queueOffset`, `body`),
//!           one `error` event per failed send (the broker may be down: the next send goes on
//!           after 50 ms); ends with a `summary` (acked, failed)
//!   tx-produce --namesrv A --topic T --group G --count N
//!           transactional sends with TransactionMQProducer, body tx-<i>, key tx-<i>: the local
//!           transaction of i answers by i % 4: 0 COMMIT, 1 ROLLBACK, 2 and 3 UNKNOWN; the
//!           broker's check of 2 answers COMMIT, of 3 ROLLBACK (each check printed as a `check`
//!           event). Runs until stdin closes, so that checks can come.
//!   pull    --namesrv A --topic T --group G --queue Q [--commit false]
//!           reads queue Q from offset 0 with DefaultMQPullConsumer until NO_NEW_MSG, then
//!           (unless --commit false) stores the next offset on the broker through the offset
//!           store of a DefaultLitePullConsumer of the group (see `store_offset`)
//!   lite-pull --namesrv A --topic T --group G --count N
//!           DefaultLitePullConsumer (auto commit off): assign every queue of T, seek each to
//!           its beginning, poll until N messages came (60 s at most); its pulls are
//!           LITE_PULL_MESSAGE (361, the sysFlag's lite flag). One `msg` event per message,
//!           then a `summary` (received)
//!   query   --namesrv A --topic T --group G --count N --key K
//!           sends N messages (key key-<i>, body msg-<i>), then with the producer's query
//!           calls: query_message(T, K, 32, 0, now + 60 s) (QUERY_MESSAGE), view_message(T,
//!           offsetMsgId of message 0) (VIEW_MESSAGE_BY_ID) and view_message(T, msgId of message
//!           0) (its offsetMsgId decoding fails, so QUERY_MESSAGE with _UNIQUE_KEY_QUERY);
//!           prints `sent`, `query`, `view` and `view-uniq` events
//!   admin   --namesrv A --topic T --group G --broker ADDR --broker-name B --queues N
//!           DefaultMQAdminExt calls: max_offset / min_offset / search_offset(0) of every queue,
//!           examine_topic_stats, examine_consume_stats(G, T), query_topic_consume_by_who(T),
//!           examine_consumer_connection_info(G), get_broker_config, update_broker_config
//!           (flushIntervalCommitLog=777) then get_broker_config again,
//!           view_broker_stats_data(TOPIC_PUT_NUMS, T); one `admin` event, errors as strings
//!
//! `produce` and `push` also take `--access-key K --secret-key S`: the client signs every
//! request with the crate's `AclClientRPCHook` (ACL 1.0).
//!
//! Prints one JSON line per event (see compat-tests/src/client.rs).

#![recursion_limit = "512"]
// DefaultMQPullConsumer (Java's classic pull consumer) is deprecated in this crate in favour of
// the lite pull consumer; the tests want the classic one, as Java's DefaultMQPullConsumer.
#![allow(deprecated)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cheetah_string::CheetahString;
use rocketmq_client_rust::{
    ClientError, ClientResult, ClientRuntime, ClientRuntimeConfig, ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus, ConsumeOrderlyContext, ConsumeOrderlyStatus,
    DefaultLitePullConsumer, DefaultMQProducer, DefaultMQPullConsumer, DefaultMQPushConsumer,
    LocalTransactionState, MQPushConsumer, MessageListenerConcurrently, MessageListenerOrderly,
    PullStatus, TransactionListener, TransactionMQProducer,
};
use rocketmq_model::common::consumer::consume_from_where::ConsumeFromWhere;
use rocketmq_model::common::message::message_ext::MessageExt;
use rocketmq_model::common::message::message_queue::MessageQueue;
use rocketmq_model::common::message::message_single::Message;
use rocketmq_model::common::message::MessageTrait;
use rocketmq_protocol::protocol::heartbeat::message_model::MessageModel;
use rocketmq_runtime::{RuntimeConfig, RuntimeOwner};
use serde_json::{json, Value};

type Args = HashMap<String, String>;

fn emit(event: &str, mut fields: Value) {
    fields["event"] = json!(event);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{fields}");
    let _ = out.flush();
}

fn arg<'a>(args: &'a Args, key: &str) -> &'a str {
    args.get(key)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("--{key} is required"))
}

/// The ACL hook of `--access-key` / `--secret-key`, when given.
fn acl_hook(a: &Args) -> Option<Arc<rocketmq_client_rust::AclClientRPCHook>> {
    let (key, secret) = (a.get("access-key")?, a.get("secret-key")?);
    let credentials =
        rocketmq_client_rust::SessionCredentials::with_keys(key.as_str(), secret.as_str());
    Some(Arc::new(rocketmq_client_rust::AclClientRPCHook::new(
        credentials,
    )))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `--timer` entry `kind:N` applied to `message`; the delivery time asked for.
fn set_timer(message: &mut Message, entry: &str) -> u64 {
    let (kind, n) = entry.split_once(':').expect("--timer: kind:N");
    let n: u64 = n.parse().expect("--timer: a number");
    let now = now_ms();
    match kind {
        "sec" => {
            message.set_delay_time_sec(n);
            now + n * 1000
        }
        "ms" => {
            message.set_delay_time_ms(n);
            now + n
        }
        "at" => {
            message.set_deliver_time_ms(now + n);
            now + n
        }
        other => panic!("--timer: unknown kind {other}"),
    }
}

fn describe(msg: &MessageExt) -> Value {
    let body = msg.body().map(|b| String::from_utf8_lossy(&b).into_owned());
    json!({
        "msgId": msg.msg_id().to_string(),
        "queueId": msg.queue_id(),
        "queueOffset": msg.queue_offset(),
        "keys": msg.properties().get("KEYS").map(|k| k.to_string()).unwrap_or_default(),
        "tags": msg.get_tags().map(|t| t.to_string()).unwrap_or_default(),
        "body": body.unwrap_or_default(),
        "topic": msg.topic().to_string(),
        "reconsumeTimes": msg.reconsume_times(),
        "receivedAt": now_ms(),
        "properties": msg
            .properties()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(v.to_string())))
            .collect::<serde_json::Map<String, Value>>(),
    })
}

/// The runtime the client needs (as its examples set it up).
struct Runtime {
    owner: RuntimeOwner,
    client: Arc<ClientRuntime>,
    telemetry: rocketmq_observability::TelemetryRuntimeGuard,
}

impl Runtime {
    fn new() -> ClientResult<Runtime> {
        let mut config = RuntimeConfig {
            thread_name: "compat-client".to_owned(),
            ..Default::default()
        };
        // The push consumer runs each listener call on the `metadata_io` blocking lane. Its
        // default size follows the CPU count (2 cores: 4 running, 16 queued, 5 s queue
        // timeout) and a full lane fails the call ("runtime.capacity.exhausted"), which the
        // client treats as a failed consume: a burst of 8 queues × 32 pulled messages
        // overflows it at once. Size it as Java's consumer pool: consumeThreadMax 20 threads,
        // an unbounded queue, consumeTimeout 15 min.
        let consume = &mut config.blocking_lane_policies.metadata_io;
        consume.max_concurrency = 20;
        consume.max_queue_depth = 1_000_000;
        consume.queue_timeout = std::time::Duration::from_secs(15 * 60);
        consume.task_timeout = std::time::Duration::from_secs(15 * 60);
        config.max_blocking_threads = config.max_blocking_threads.max(32);
        let owner = RuntimeOwner::plan(config)
            .map_err(|e| ClientError::internal("plan client runtime", e))?
            .build()
            .map_err(|e| ClientError::internal("create client runtime", e))?;
        let telemetry = rocketmq_observability::install_global(
            &rocketmq_observability::TelemetryBootstrapConfig::default(),
        )
        .map_err(|e| ClientError::internal("initialize telemetry", e))?;
        let client = ClientRuntime::try_new(
            owner.root_context().component("client"),
            ClientRuntimeConfig::default(),
            telemetry.handle(),
        )?;
        Ok(Runtime {
            owner,
            client,
            telemetry,
        })
    }

    async fn shutdown(self) {
        let _ = self.client.shutdown().await;
        let _ = self.owner.shutdown_tasks().await;
        let _ = self.owner.shutdown_background();
        let _ = self.telemetry.shutdown();
    }
}

async fn produce(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let mut builder = DefaultMQProducer::builder(rt.client.clone())
        .producer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned());
    if let Some(hook) = acl_hook(a) {
        builder = builder.rpc_hook(hook);
    }
    let mut producer = builder.build();
    producer.start().await?;
    emit("ready", json!({}));
    let tags: Vec<String> = a
        .get("tags")
        .map_or("TagA,TagB,TagC", String::as_str)
        .split(',')
        .map(str::to_owned)
        .collect();
    let start: u64 = a.get("start").map_or(0, |s| s.parse().expect("--start"));
    let count: u64 = arg(a, "count").parse().expect("--count");
    let order_keys: u64 = a
        .get("order-keys")
        .map_or(0, |s| s.parse().expect("--order-keys"));
    let topic = arg(a, "topic").to_owned();
    let props: Vec<serde_json::Map<String, Value>> =
        a.get("props-file").map_or_else(Vec::new, |f| {
            let text = std::fs::read_to_string(f).expect("--props-file");
            serde_json::from_str(&text).expect("--props-file: a JSON array of objects")
        });
    let timers: Vec<String> = a
        .get("timer")
        .map_or_else(Vec::new, |l| l.split(',').map(str::to_owned).collect());
    let mut failed = 0u64;
    let mut to_recall: usize = a.get("recall").map_or(0, |r| r.parse().expect("--recall"));
    let mut handles: Vec<(String, String)> = Vec::new();
    for i in start..start + count {
        let tag = &tags[(i % tags.len() as u64) as usize];
        let key = if order_keys > 0 {
            format!("order-{}", i % order_keys)
        } else {
            format!("key-{i}")
        };
        let body = format!("msg-{i}");
        let mut message = Message::builder()
            .topic(topic.as_str())
            .tags(tag.as_str())
            .key(key.clone())
            .body_slice(body.as_bytes())
            .build_unchecked();
        for (name, value) in props.get((i - start) as usize).into_iter().flatten() {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            message
                .put_user_property(
                    CheetahString::from(name.clone()),
                    CheetahString::from(value),
                )
                .expect("user property");
        }
        let deliver_ms = (!timers.is_empty())
            .then(|| set_timer(&mut message, &timers[((i - start) as usize) % timers.len()]));
        let sent = if order_keys > 0 {
            producer
                .send_with_selector(
                    message,
                    |mqs, _msg, arg: &u64| Some(mqs[(*arg as usize) % mqs.len()].clone()),
                    i % order_keys,
                )
                .await
        } else {
            producer.send_with_timeout(message, 5000).await
        };
        match sent {
            Ok(Some(r)) => {
                if let (true, Some(handle)) = (to_recall > 0, r.recall_handle.clone()) {
                    to_recall -= 1;
                    handles.push((body.clone(), handle));
                }
                emit(
                    "sent",
                    json!({
                        "msgId": r.msg_id.map(|m| m.to_string()).unwrap_or_default(),
                        "queueId": r.message_queue.as_ref().map_or(-1, |q| q.queue_id()),
                        "queueOffset": r.queue_offset,
                        "keys": key, "tags": tag, "body": body,
                        "status": format!("{:?}", r.send_status),
                        "deliverMs": deliver_ms,
                        "recallHandle": r.recall_handle,
                    }),
                )
            }
            Ok(None) => {
                failed += 1;
                emit("error", json!({"message": "no send result", "body": body}));
            }
            Err(e) => {
                failed += 1;
                emit("error", json!({"message": e.to_string(), "body": body}));
            }
        }
    }
    for (body, handle) in handles {
        match producer.recall_message(topic.as_str(), handle).await {
            Ok(id) => emit("recalled", json!({"body": body, "msgId": id})),
            Err(e) => emit("recalled", json!({"body": body, "error": e.to_string()})),
        }
    }
    producer.shutdown().await;
    emit("summary", json!({"sent": count - failed, "failed": failed}));
    Ok(())
}

/// The crash-loop test's producer: an ack log line per acknowledged sync send, sending until
/// stdin closes whatever the broker does meanwhile.
async fn send_loop(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let mut producer = DefaultMQProducer::builder(rt.client.clone())
        .producer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .build();
    producer.start().await?;
    emit("ready", json!({}));
    let topic = arg(a, "topic").to_owned();
    let timeout: u64 = a
        .get("timeout-ms")
        .map_or(3000, |s| s.parse().expect("--timeout-ms"));
    let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = closed.clone();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        flag.store(true, Ordering::Release);
    });
    let (mut acked, mut failed) = (0u64, 0u64);
    let mut i = 0u64;
    while !closed.load(Ordering::Acquire) {
        let body = format!("loop-{i}");
        i += 1;
        let message = Message::builder()
            .topic(topic.as_str())
            .tags("loop")
            .key(body.clone())
            .body_slice(body.as_bytes())
            .build_unchecked();
        let problem = match producer.send_with_timeout(message, timeout).await {
            Ok(Some(r)) if r.send_status == rocketmq_model::result::SendStatus::SendOk => {
                acked += 1;
                emit(
                    "ack",
                    json!({
                        "msgId": r.msg_id.map(|m| m.to_string()).unwrap_or_default(),
                        "queueId": r.message_queue.as_ref().map_or(-1, |q| q.queue_id()),
                        "queueOffset": r.queue_offset,
                        "body": body,
                    }),
                );
                continue;
            }
            Ok(Some(r)) => format!("status {:?}", r.send_status),
            Ok(None) => "no send result".to_owned(),
            Err(e) => e.to_string(),
        };
        failed += 1;
        emit("error", json!({"message": problem, "body": body}));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    producer.shutdown().await;
    emit("summary", json!({"acked": acked, "failed": failed}));
    Ok(())
}

async fn query(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let mut producer = DefaultMQProducer::builder(rt.client.clone())
        .producer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .build();
    producer.start().await?;
    let topic = arg(a, "topic").to_owned();
    let count: u64 = arg(a, "count").parse().expect("--count");
    let mut first = None;
    for i in 0..count {
        let (key, body) = (format!("key-{i}"), format!("msg-{i}"));
        let message = Message::builder()
            .topic(topic.as_str())
            .tags("q")
            .key(key.clone())
            .body_slice(body.as_bytes())
            .build_unchecked();
        let r = producer.send_with_timeout(message, 5000).await?;
        let Some(r) = r else {
            emit("error", json!({"message": "no send result", "body": body}));
            continue;
        };
        let ids = (
            r.msg_id.map(|m| m.to_string()).unwrap_or_default(),
            r.offset_msg_id.unwrap_or_default(),
        );
        emit(
            "sent",
            json!({"msgId": ids.0, "offsetMsgId": ids.1, "keys": key, "body": body}),
        );
        first.get_or_insert(ids);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    // The index is built by the broker's dispatch after the send is answered: on a loaded
    // machine the first query may come before it. A query that finds nothing is asked again
    // (up to 30 s) as a user would; a broker that never finds the key still fails the test.
    let mut query = producer
        .query_message(&topic, arg(a, "key"), 32, 0, now + 60_000)
        .await;
    for _ in 0..60 {
        if query.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        query = producer
            .query_message(&topic, arg(a, "key"), 32, 0, now + 60_000)
            .await;
    }
    match query {
        Ok(r) => emit(
            "query",
            json!({"found": r.message_list().iter().map(describe).collect::<Vec<_>>()}),
        ),
        Err(e) => emit("query", json!({"error": e.to_string()})),
    }
    let (msg_id, offset_msg_id) = first.unwrap_or_default();
    for (event, id) in [("view", offset_msg_id), ("view-uniq", msg_id)] {
        // A uniq-key view is a QUERY_MESSAGE too: asked again while the index lags, as above.
        let mut view = producer.view_message(&topic, &id).await;
        for _ in 0..60 {
            if view.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            view = producer.view_message(&topic, &id).await;
        }
        match view {
            Ok(m) => emit(event, json!({"id": id, "found": describe(&m)})),
            Err(e) => emit(event, json!({"id": id, "error": e.to_string()})),
        }
    }
    producer.shutdown().await;
    Ok(())
}

fn outcome<T>(r: ClientResult<T>, ok: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(v) => ok(v),
        Err(e) => json!({"error": e.to_string()}),
    }
}

async fn admin(rt: &Runtime, a: &Args) -> ClientResult<()> {
    use rocketmq_client_rust::{
        BrokerAdmin, ConsumerAdmin, DefaultMQAdminExt, OffsetAdmin, TopicAdmin,
    };
    let mut admin = DefaultMQAdminExt::new(rt.client.clone());
    admin.set_namesrv_addr(arg(a, "namesrv").to_owned());
    admin.start().await?;
    emit("ready", json!({}));
    let topic = CheetahString::from(arg(a, "topic").to_owned());
    let group = CheetahString::from(arg(a, "group").to_owned());
    let broker = CheetahString::from(arg(a, "broker").to_owned());
    let broker_name = arg(a, "broker-name").to_owned();
    let queues: i32 = arg(a, "queues").parse().expect("--queues");
    let (mut max, mut min, mut search) = (vec![], vec![], vec![]);
    for q in 0..queues {
        let mq = MessageQueue::from_parts(topic.clone(), broker_name.clone(), q);
        max.push(outcome(
            admin.max_offset(broker.clone(), mq.clone(), 5000).await,
            |v| json!(v),
        ));
        min.push(outcome(
            admin.min_offset(broker.clone(), mq, 5000).await,
            |v| json!(v),
        ));
        let found = admin
            .search_offset(broker.clone(), topic.clone(), q, 0, 5000)
            .await;
        search.push(outcome(found, |v| json!(v)));
    }
    let topic_stats = outcome(
        admin
            .examine_topic_stats(topic.clone(), Some(broker.clone()))
            .await,
        |t| {
            let mut by_queue: Vec<(i32, i64, i64)> = t
                .get_offset_table()
                .iter()
                .map(|(mq, o)| (mq.queue_id(), o.get_min_offset(), o.get_max_offset()))
                .collect();
            by_queue.sort();
            json!({"queues": by_queue})
        },
    );
    let consume_stats = outcome(
        admin
            .examine_consume_stats(
                group.clone(),
                Some(topic.clone()),
                None,
                Some(broker.clone()),
                None,
            )
            .await,
        |c| json!({"queues": c.get_offset_table().len(), "totalDiff": c.compute_total_diff()}),
    );
    let by_who = outcome(admin.query_topic_consume_by_who(topic.clone()).await, |g| {
        json!(g
            .get_group_list()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>())
    });
    let connections = outcome(
        admin
            .examine_consumer_connection_info(group.clone(), Some(broker.clone()))
            .await,
        |c| {
            json!(c
                .get_connection_set()
                .iter()
                .map(|c| c.get_client_id().to_string())
                .collect::<Vec<_>>())
        },
    );
    let config_value = |m: HashMap<CheetahString, CheetahString>, key: &str| {
        json!(m
            .get(&CheetahString::from(key.to_owned()))
            .map(|v| v.to_string()))
    };
    let config = outcome(admin.get_broker_config(broker.clone()).await, |m| {
        json!({"brokerName": config_value(m.clone(), "brokerName"),
               "flushIntervalCommitLog": config_value(m, "flushIntervalCommitLog")})
    });
    let mut update = HashMap::new();
    update.insert(
        CheetahString::from("flushIntervalCommitLog".to_owned()),
        CheetahString::from("777".to_owned()),
    );
    let updated = outcome(
        admin.update_broker_config(broker.clone(), update).await,
        |_| json!("ok"),
    );
    let config_after = outcome(admin.get_broker_config(broker.clone()).await, |m| {
        config_value(m, "flushIntervalCommitLog")
    });
    let stats = outcome(
        admin
            .view_broker_stats_data(
                broker.clone(),
                "TOPIC_PUT_NUMS".to_owned().into(),
                topic.clone(),
            )
            .await,
        |s| json!(format!("{s:?}")),
    );
    admin.shutdown().await;
    emit(
        "admin",
        json!({
            "maxOffsets": max, "minOffsets": min, "search0": search, "topicStats": topic_stats,
            "consumeStats": consume_stats, "consumeByWho": by_who, "connections": connections,
            "config": config, "updated": updated, "configAfter": config_after, "stats": stats,
        }),
    );
    Ok(())
}

/// The local transaction of message `i` (its key `tx-<i>`): see `tx-produce` above.
struct TxListener;

fn tx_index(keys: Option<String>) -> u64 {
    keys.and_then(|k| k.strip_prefix("tx-").and_then(|i| i.parse().ok()))
        .unwrap_or(u64::MAX)
}

fn state_name(state: &LocalTransactionState) -> &'static str {
    match state {
        LocalTransactionState::CommitMessage => "COMMIT",
        LocalTransactionState::RollbackMessage => "ROLLBACK",
        _ => "UNKNOWN",
    }
}

impl TransactionListener for TxListener {
    fn execute_local_transaction(
        &self,
        msg: &dyn MessageTrait,
        _arg: Option<&(dyn std::any::Any + Send + Sync)>,
    ) -> LocalTransactionState {
        match tx_index(msg.get_keys().map(|k| k.to_string())) % 4 {
            0 => LocalTransactionState::CommitMessage,
            1 => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        }
    }

    fn check_local_transaction(&self, msg: &MessageExt) -> LocalTransactionState {
        let keys = msg.properties().get("KEYS").map(|k| k.to_string());
        let state = match tx_index(keys.clone()) % 4 {
            0 | 2 => LocalTransactionState::CommitMessage,
            1 | 3 => LocalTransactionState::RollbackMessage,
            _ => LocalTransactionState::Unknown,
        };
        emit(
            "check",
            json!({"keys": keys.unwrap_or_default(), "answer": state_name(&state),
                   "checkTimes": msg.properties().get("TRANSACTION_CHECK_TIMES")
                       .map(|t| t.to_string()).unwrap_or_default()}),
        );
        state
    }
}

async fn tx_produce(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let topic = arg(a, "topic").to_owned();
    let mut producer = TransactionMQProducer::builder(rt.client.clone())
        .producer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .topics(vec![topic.clone()])
        .transaction_listener(TxListener)
        .build();
    producer.start().await?;
    emit("ready", json!({}));
    let count: u64 = arg(a, "count").parse().expect("--count");
    for i in 0..count {
        let body = format!("tx-{i}");
        let message = Message::builder()
            .topic(topic.as_str())
            .tags("tx")
            .key(body.clone())
            .body_slice(body.as_bytes())
            .build_unchecked();
        match producer
            .send_message_in_transaction::<(), _>(message, None)
            .await
        {
            Ok(r) => emit(
                "sent",
                json!({
                    "keys": body, "body": body,
                    "local": r.local_transaction_state.as_ref().map_or("?", state_name),
                    "status": r.send_result.as_ref()
                        .map(|s| format!("{:?}", s.send_status)).unwrap_or_default(),
                }),
            ),
            Err(e) => emit("error", json!({"message": e.to_string(), "body": body})),
        }
    }
    // Until the test closes stdin: the broker's checks of the UNKNOWN ones come meanwhile.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    producer.shutdown().await;
    emit("summary", json!({"sent": count}));
    Ok(())
}

struct Printer {
    received: Arc<AtomicU64>,
    /// Sleep per message (`--delay-ms`), to make a consume last long enough to interrupt.
    delay: std::time::Duration,
    /// `--fail`: answer every consume RECONSUME_LATER.
    fail: bool,
}

impl Printer {
    fn print(&self, msg: &MessageExt) {
        self.received.fetch_add(1, Ordering::Relaxed);
        emit("msg", describe(msg));
        if !self.delay.is_zero() {
            std::thread::sleep(self.delay);
        }
    }
}

impl MessageListenerConcurrently for Printer {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        _context: &ConsumeConcurrentlyContext,
    ) -> ClientResult<ConsumeConcurrentlyStatus> {
        for msg in msgs {
            self.print(msg);
        }
        if self.fail {
            return Ok(ConsumeConcurrentlyStatus::ReconsumeLater);
        }
        Ok(ConsumeConcurrentlyStatus::ConsumeSuccess)
    }
}

impl MessageListenerOrderly for Printer {
    fn consume_message(
        &self,
        msgs: &[&MessageExt],
        context: &mut ConsumeOrderlyContext,
    ) -> ClientResult<ConsumeOrderlyStatus> {
        context.set_auto_commit(true);
        for msg in msgs {
            self.print(msg);
        }
        Ok(ConsumeOrderlyStatus::Success)
    }
}

async fn push(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let model = match a.get("model").map(String::as_str) {
        Some("broadcasting") => MessageModel::Broadcasting,
        _ => MessageModel::Clustering,
    };
    let from = match a.get("from").map(String::as_str) {
        Some("last") => ConsumeFromWhere::ConsumeFromLastOffset,
        _ => ConsumeFromWhere::ConsumeFromFirstOffset,
    };
    let mut builder = DefaultMQPushConsumer::builder(rt.client.clone())
        .consumer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .message_model(model)
        .consume_from_where(from);
    if let Some(hook) = acl_hook(a) {
        builder = builder.rpc_hook(Some(hook));
    }
    if let Some(max) = a.get("max-reconsume") {
        builder = builder.max_reconsume_times(max.parse().expect("--max-reconsume"));
    }
    // `--pop true`: server-side rebalance (the crate asks QUERY_ASSIGNMENT and pops the queues
    // the broker assigns in POP mode), `--invisible-ms` its popInvisibleTime.
    if a.get("pop").is_some_and(|p| p == "true") {
        builder = builder.client_rebalance(false);
        if let Some(ms) = a.get("invisible-ms") {
            builder = builder.pop_invisible_time(ms.parse().expect("--invisible-ms"));
        }
    }
    let mut consumer = builder.build();
    let tags = a.get("tags").map_or("*", String::as_str);
    match a.get("sql") {
        Some(sql) => {
            let selector = rocketmq_client_rust::MessageSelector::by_sql(sql.as_str());
            consumer
                .subscribe_with_selector(arg(a, "topic"), Some(selector))
                .await?
        }
        None => consumer.subscribe(arg(a, "topic"), tags).await?,
    }
    let received = Arc::new(AtomicU64::new(0));
    let printer = Printer {
        received: received.clone(),
        delay: std::time::Duration::from_millis(
            a.get("delay-ms")
                .map_or(0, |d| d.parse().expect("--delay-ms")),
        ),
        fail: a.get("fail").is_some_and(|f| f == "true"),
    };
    if a.get("orderly").is_some_and(|o| o == "true") {
        consumer.register_message_listener_orderly(printer);
    } else {
        consumer.register_message_listener_concurrently(printer);
    }
    consumer.start().await?;
    emit("ready", json!({}));
    // Until the test closes stdin.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
    consumer.shutdown().await;
    emit(
        "summary",
        json!({"received": received.load(Ordering::Relaxed)}),
    );
    Ok(())
}

async fn pull(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let consumer = DefaultMQPullConsumer::builder(rt.client.clone())
        .consumer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .build()
        .inspect_err(|_| eprintln!("failed step: build"))?;
    consumer
        .start()
        .await
        .inspect_err(|_| eprintln!("failed step: start"))?;
    let topic = arg(a, "topic");
    let wanted: i32 = arg(a, "queue").parse().expect("--queue");
    let queues = consumer
        .fetch_subscribe_message_queues(topic)
        .await
        .inspect_err(|_| eprintln!("failed step: fetch_subscribe_message_queues"))?;
    let Some(mq) = queues.into_iter().find(|q| q.queue_id() == wanted) else {
        emit(
            "error",
            json!({"message": format!("no queue {wanted} in the route")}),
        );
        consumer.shutdown().await?;
        return Ok(());
    };
    emit("ready", json!({}));
    let mut offset: i64 = 0;
    let mut received = 0u64;
    loop {
        let result = consumer.pull(&mq, "*", offset, 32).await?;
        match result.pull_status() {
            PullStatus::Found => {
                for msg in result.msg_found_list().unwrap_or_default() {
                    received += 1;
                    emit("msg", describe(msg));
                }
                offset = result.next_begin_offset() as i64;
            }
            PullStatus::NoNewMsg => break,
            other => {
                emit(
                    "error",
                    json!({"message": format!("pull status {other:?}"), "offset": offset}),
                );
                break;
            }
        }
    }
    // Set the classic consumer's own (local) offset first: if its shutdown persists the queue
    // (a oneway UPDATE_CONSUMER_OFFSET on its own connection, which may reach the broker after
    // the lite consumer's), it then writes the same value instead of a stale one.
    let commit = a.get("commit").is_none_or(|c| c != "false");
    if commit {
        consumer.update_consume_offset(&mq, offset).await?;
    }
    consumer.shutdown().await?;
    if commit {
        store_offset(rt, a, &mq, offset).await?;
    }
    emit(
        "summary",
        json!({"received": received, "nextOffset": offset, "committed": Value::Null}),
    );
    Ok(())
}

async fn lite_pull(rt: &Runtime, a: &Args) -> ClientResult<()> {
    let lite = DefaultLitePullConsumer::builder(rt.client.clone())
        .consumer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .auto_commit(false)
        .build()
        .inspect_err(|_| eprintln!("failed step: build"))?;
    lite.start()
        .await
        .inspect_err(|_| eprintln!("failed step: start"))?;
    let queues = lite
        .fetch_message_queues(arg(a, "topic"))
        .await
        .inspect_err(|_| eprintln!("failed step: fetch_message_queues"))?;
    lite.assign(queues.clone())
        .await
        .inspect_err(|_| eprintln!("failed step: assign"))?;
    for mq in &queues {
        lite.seek_to_begin(mq)
            .await
            .inspect_err(|_| eprintln!("failed step: seek_to_begin"))?;
    }
    emit("ready", json!({"queues": queues.len()}));
    let wanted: u64 = arg(a, "count").parse().expect("--count");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut received = 0u64;
    while received < wanted && std::time::Instant::now() < deadline {
        for msg in lite.poll_with_timeout(1000).await {
            received += 1;
            emit("msg", describe(&msg));
        }
    }
    lite.shutdown().await;
    emit("summary", json!({"received": received}));
    Ok(())
}

/// Stores `offset` of `mq` for the group on the broker. The classic pull consumer of this
/// crate cannot: its `update_consume_offset` only sets the local offset store, whose queues are
/// persisted when its lite-pull core is in subscribe or assign mode, which the classic consumer
/// never enters. So a lite pull consumer of the group (Java's `DefaultLitePullConsumer`) loads
/// the route and sends UPDATE_CONSUMER_OFFSET through its remote offset store
/// (`updateConsumeOffsetToBroker`, synchronously). It neither subscribes nor assigns, so it
/// pulls nothing and persists nothing else at shutdown.
async fn store_offset(rt: &Runtime, a: &Args, mq: &MessageQueue, offset: i64) -> ClientResult<()> {
    let lite = DefaultLitePullConsumer::builder(rt.client.clone())
        .consumer_group(arg(a, "group").to_owned())
        .name_server_addr(arg(a, "namesrv").to_owned())
        .auto_commit(false)
        .build()
        .inspect_err(|_| eprintln!("failed step: build lite pull consumer"))?;
    lite.start().await?;
    lite.fetch_message_queues(mq.topic().as_str())
        .await
        .inspect_err(|_| eprintln!("failed step: lite fetch_message_queues"))?;
    let store = lite.offset_store().await.ok_or_else(|| {
        ClientError::internal(
            "lite pull consumer",
            std::io::Error::other("no offset store"),
        )
    })?;
    let stored = store
        .update_consume_offset_to_broker(mq, offset, false)
        .await;
    lite.shutdown().await;
    stored.inspect_err(|_| eprintln!("failed step: update_consume_offset_to_broker"))
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let command = argv.next().unwrap_or_default();
    let rest: Vec<String> = argv.collect();
    let args: Args = rest
        .chunks(2)
        .map(|kv| {
            (
                kv[0].trim_start_matches('-').to_owned(),
                kv.get(1).cloned().unwrap_or_default(),
            )
        })
        .collect();
    let tokio_rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    tokio_rt.block_on(async move {
        let rt = match Runtime::new() {
            Ok(rt) => rt,
            Err(e) => {
                emit("error", json!({"message": format!("{e:?}")}));
                return ExitCode::FAILURE;
            }
        };
        let result = match command.as_str() {
            "produce" => produce(&rt, &args).await,
            "tx-produce" => tx_produce(&rt, &args).await,
            "send-loop" => send_loop(&rt, &args).await,
            "push" => push(&rt, &args).await,
            "pull" => pull(&rt, &args).await,
            "lite-pull" => lite_pull(&rt, &args).await,
            "query" => query(&rt, &args).await,
            "admin" => admin(&rt, &args).await,
            _ => {
                eprintln!("usage: compat-client-rust produce|push|pull --key value ...");
                return ExitCode::from(2);
            }
        };
        rt.shutdown().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                emit("error", json!({"message": format!("{e:?}")}));
                ExitCode::FAILURE
            }
        }
    })
}
