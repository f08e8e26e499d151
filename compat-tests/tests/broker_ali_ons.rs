//! Our namesrv + broker driven by ali-ons (npm, pure JavaScript; it sends headers without
//! `serializeTypeCurrentRPC`). ali-ons has a producer (tags, keys, `shardingKey` for ordered
//! sends), a push consumer (clustering or broadcasting, no orderly mode) and, below its public
//! API, the raw PULL_MESSAGE / UPDATE_CONSUMER_OFFSET calls its push consumer is built on,
//! which `clients/node/client.js pull` uses as a pull consumer.

use compat_tests::scenarios;
use compat_tests::Clients::AliOns;

#[test]
fn ali_ons_produces_10000_and_push_consumes_each_once() {
    scenarios::produce_and_push_consume(AliOns, "ons-push");
}

#[test]
fn ali_ons_group_of_two_splits_queues_and_takes_over() {
    scenarios::split_and_take_over(AliOns, "ons-split");
}

#[test]
fn ali_ons_broadcast_reaches_both_consumers() {
    scenarios::broadcast(AliOns, "ons-broadcast");
}

/// No orderly consumer in ali-ons: sharding-key sends put each key in one queue, and its push
/// consumer, which processes a queue in order, sees each key's messages in order.
#[test]
fn ali_ons_sharding_key_sends_arrive_in_key_order() {
    scenarios::orderly(AliOns, "ons-orderly", false);
}

#[test]
fn ali_ons_pulls_a_queue_from_zero_and_stores_its_offset() {
    scenarios::pull_from_zero(AliOns, "ons-pull", true);
}

/// ali-ons reports a failed message with CONSUMER_SEND_MSG_BACK (delayLevel 0, its
/// maxReconsumeTimes): it comes back with reconsumeTimes 1 and 2, then ends in the DLQ.
#[test]
fn ali_ons_failed_messages_retry_then_reach_the_dlq() {
    scenarios::retry_to_dlq(AliOns, "ons-retry");
}
