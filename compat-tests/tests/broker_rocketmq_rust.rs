//! Our namesrv + broker driven by crates.io `rocketmq-client-rust` 1.0.0, a separate Cargo
//! project in `clients/rust` that `.ci/run` builds (it takes minutes to compile, so the
//! workspace never compiles it; these tests run its binary). It has a producer (tags, keys,
//! selector sends), a push consumer (clustering or broadcasting, concurrent or orderly), Java's
//! classic pull consumer (`DefaultMQPullConsumer`), which reads the queue here, and the lite pull
//! consumer, which stores the offset on the broker (the classic one of this crate only keeps it
//! locally: see `store_offset` in `clients/rust/src/main.rs`).

use compat_tests::scenarios;
use compat_tests::Clients::RocketmqRust;

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
