//! Our namesrv + broker driven by crates.io `rocketmq-client-rust` 1.0.0, a separate Cargo
//! project in `clients/rust` that `.ci/run` builds (it takes minutes to compile, so the
//! workspace never compiles it; these tests run its binary). It has a producer (tags, keys,
//! selector sends), a push consumer (clustering or broadcasting, concurrent or orderly), Java's
//! classic pull consumer (`DefaultMQPullConsumer`), which reads the queue here, and the lite pull
//! consumer, which stores the offset on the broker (the classic one of this crate only keeps it
//! locally: see `store_offset` in `clients/rust/src/main.rs`).

use compat_tests::admin_calls;
use compat_tests::consumer_calls::{self, Answers};
use compat_tests::scenarios;
use compat_tests::Clients::RocketmqRust;
use remoting_codec::LanguageCode;

#[test]
fn rust_client_produces_10000_and_push_consumes_each_once() {
    scenarios::produce_and_push_consume(RocketmqRust, "rs-push");
}

#[test]
fn rust_client_group_of_two_splits_queues_and_takes_over() {
    scenarios::split_and_take_over(RocketmqRust, "rs-split");
}

#[test]
fn rust_client_broadcast_reaches_both_consumers() {
    scenarios::broadcast(RocketmqRust, "rs-broadcast");
}

#[test]
fn rust_client_orderly_consumer_keeps_key_order() {
    scenarios::orderly(RocketmqRust, "rs-orderly", true);
}

#[test]
fn rust_client_pulls_a_queue_from_zero_and_stores_its_offset() {
    scenarios::pull_from_zero(RocketmqRust, "rs-pull", true);
}

/// 5.x `DefaultLitePullConsumer` (assign, seek to the beginning, poll): its pulls are
/// LITE_PULL_MESSAGE 361, which the broker serves as PULL_MESSAGE (5.3.3's `PullMessageProcessor`).
#[test]
fn rust_client_lite_pull_consumer_reads_every_message_once() {
    scenarios::lite_pull(RocketmqRust, "rs-lite-pull");
}

/// A push consumer answering RECONSUME_LATER for every message (maxReconsumeTimes 2): the
/// crate sends each back (CONSUMER_SEND_MSG_BACK), it returns with reconsumeTimes 1 and 2, then
/// ends in `%DLQ%<group>`, read back with the classic pull consumer.
#[test]
fn rust_client_failed_messages_retry_then_reach_the_dlq() {
    scenarios::retry_to_dlq(RocketmqRust, "rs-retry");
}

/// TransactionMQProducer: commit, rollback, and UNKNOWN answered on the broker's check; only
/// the committed messages reach the consumer.
#[test]
fn rust_client_transactions_deliver_only_committed_messages() {
    scenarios::transactions(RocketmqRust, "rs-tx");
}

/// `DefaultMQProducer::query_message(topic, "key-3", 32, 0, now + 60 s)`: QUERY_MESSAGE through
/// the index; exactly the one message with that key comes back.
#[test]
fn rust_client_query_message_by_key() {
    let run = scenarios::query_and_view(RocketmqRust, "rs-query-key");
    let query = &run.events["query"];
    let found = query["found"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}"));
    assert_eq!(found.len(), 1, "{query}");
    // A decoded record's msgId is its offsetMsgId; the producer's id is its UNIQ_KEY.
    assert_eq!(
        (
            &found[0]["keys"],
            &found[0]["body"],
            &found[0]["msgId"],
            &found[0]["properties"]["UNIQ_KEY"]
        ),
        (
            &"key-3".into(),
            &"msg-3".into(),
            &run.sent[3]["offsetMsgId"],
            &run.sent[3]["msgId"]
        ),
        "{query}"
    );
}

/// `view_message(topic, offsetMsgId)`: VIEW_MESSAGE_BY_ID at the commitlog offset the id
/// encodes, sent to the store host it encodes (our broker's address).
#[test]
fn rust_client_view_message_by_offset_msg_id() {
    let run = scenarios::query_and_view(RocketmqRust, "rs-view-offset");
    let view = &run.events["view"];
    assert_eq!(view["id"], run.sent[0]["offsetMsgId"], "{view}");
    assert_eq!(
        (
            &view["found"]["body"],
            &view["found"]["msgId"],
            &view["found"]["properties"]["UNIQ_KEY"]
        ),
        (
            &"msg-0".into(),
            &run.sent[0]["offsetMsgId"],
            &run.sent[0]["msgId"]
        ),
        "{view}"
    );
}

/// `view_message(topic, msgId)` with the client's UNIQ_KEY id: not an offsetMsgId of a
/// reachable broker, so the crate asks QUERY_MESSAGE with `_UNIQUE_KEY_QUERY=true`.
#[test]
fn rust_client_view_message_by_unique_key() {
    let run = scenarios::query_and_view(RocketmqRust, "rs-view-uniq");
    let view = &run.events["view-uniq"];
    assert_eq!(view["id"], run.sent[0]["msgId"], "{view}");
    assert_eq!(
        (
            &view["found"]["body"],
            &view["found"]["keys"],
            &view["found"]["properties"]["UNIQ_KEY"]
        ),
        (&"msg-0".into(), &"key-0".into(), &run.sent[0]["msgId"]),
        "{view}"
    );
}

/// The crate's client processor answers all three calls the broker relays: its running info
/// comes back, CONSUME_MESSAGE_DIRECTLY runs the listener on the stored message (CR_SUCCESS),
/// and RESET_CONSUMER_CLIENT_OFFSET makes the consumer read every message again.
#[test]
fn rust_client_answers_the_broker_s_consumer_calls() {
    let answers = Answers {
        running_info: true,
        consume_directly: true,
        reset_offset: true,
    };
    consumer_calls::broker_calls_the_consumer(
        RocketmqRust,
        "rs-calls",
        answers,
        LanguageCode::Java,
    );
}

/// `DefaultMQAdminExt`'s offset, stats, consumer and broker-config calls (see
/// `admin_calls::admin_ext_calls`).
#[test]
fn rust_client_admin_ext_calls_answer_what_was_produced_and_consumed() {
    admin_calls::admin_ext_calls(RocketmqRust, "rs-admin");
}

/// SQL92 selectors (`MessageSelector::by_sql`): the 72/24 case, numeric, string,
/// BETWEEN, IN, NULL and NOT selectors, and a consumer that changes its expression; bitmap off.
#[test]
fn rust_client_sql92_selectors() {
    scenarios::sql92_selectors(RocketmqRust, "rs-sql", false);
}

/// The same with the bitmap pre-filter (`enableCalcFilterBitMap` + `enableConsumeQueueExt`).
#[test]
fn rust_client_sql92_selectors_with_the_bitmap() {
    scenarios::sql92_selectors(RocketmqRust, "rs-sql-bitmap", true);
}

/// POP with server-side rebalance (`compat_tests::pop`): three consumers of a POP group on a
/// 2-queue topic consume each message once, acked ones never again; a failing consumer's
/// messages come back through the revive service no earlier than the time its
/// CHANGE_MESSAGE_INVISIBLETIME asked for.
#[test]
fn rust_client_pop_group_with_server_side_rebalance() {
    compat_tests::pop::pop_group_with_server_side_rebalance(RocketmqRust, "rs-pop");
}
