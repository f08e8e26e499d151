//! Our namesrv + broker driven by ali-ons (npm, pure JavaScript; it sends headers without
//! `serializeTypeCurrentRPC`). ali-ons has a producer (tags, keys, `shardingKey` for ordered
//! sends), a push consumer (clustering or broadcasting, no orderly mode) and, below its public
//! API, the raw PULL_MESSAGE / UPDATE_CONSUMER_OFFSET calls its push consumer is built on,
//! which `clients/node/client.js pull` uses as a pull consumer.

use compat_tests::admin_calls;
use compat_tests::consumer_calls::{self, Answers};
use compat_tests::scenarios;
use compat_tests::Clients::AliOns;
use remoting_codec::LanguageCode;

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

/// ali-ons answers no request of the broker (its `handleServerRequest` is commented out:
/// GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY and RESET_CONSUMER_CLIENT_OFFSET reach
/// the socket and are dropped), so the two relayed calls end in the broker's
/// CONSUME_MSG_TIMEOUT after 10 s, as with a Java broker; the reset is computed and answered.
#[test]
fn ali_ons_leaves_the_broker_s_consumer_calls_unanswered() {
    let answers = Answers {
        running_info: false,
        consume_directly: false,
        reset_offset: false,
    };
    consumer_calls::broker_calls_the_consumer(AliOns, "ons-calls", answers, LanguageCode::Java);
}

/// The query and admin calls of ali-ons' `MQClientAPI` (what it offers besides sending,
/// pulling and offsets it uses itself): getMaxOffset, searchOffset, queryConsumerOffset,
/// getConsumerIdListByGroup, createTopic against our broker, getKVConfigByValue against our
/// name server (see `admin_calls::client_admin_calls`).
#[test]
fn ali_ons_admin_calls_answer_what_was_produced_and_consumed() {
    admin_calls::client_admin_calls(AliOns, "ons-admin");
}
