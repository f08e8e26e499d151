//! Our namesrv + broker driven by the PyPI `rocketmq` 0.4.4 client (the Apache RocketMQ C++
//! client under a Python wrapper). It has a producer (sync sends with tags and keys, orderly
//! sends through a queue selector), a push consumer (clustering or broadcasting, concurrent or
//! orderly) and a pull consumer whose offsets stay with the caller: the C API has no call that
//! stores them on the broker, so its pull test checks the read only.

use compat_tests::consumer_calls::{self, Answers};
use compat_tests::scenarios;
use compat_tests::Clients::RocketmqCpp;
use remoting_codec::LanguageCode;

#[test]
fn cpp_client_produces_10000_and_push_consumes_each_once() {
    scenarios::produce_and_push_consume(RocketmqCpp, "cpp-push");
}

#[test]
fn cpp_client_group_of_two_splits_queues_and_takes_over() {
    scenarios::split_and_take_over(RocketmqCpp, "cpp-split");
}

#[test]
fn cpp_client_broadcast_reaches_both_consumers() {
    scenarios::broadcast(RocketmqCpp, "cpp-broadcast");
}

#[test]
fn cpp_client_orderly_consumer_keeps_key_order() {
    scenarios::orderly(RocketmqCpp, "cpp-orderly", true);
}

#[test]
fn cpp_client_pulls_a_queue_from_zero() {
    scenarios::pull_from_zero(RocketmqCpp, "cpp-pull", false);
}

/// The C++ push consumer answers RECONSUME_LATER (through the C API: the Python wrapper turns
/// failures into successes) and sends each message back; its header carries no maximum, so the
/// group's retryMaxTimes (2, set with UPDATE_AND_CREATE_SUBSCRIPTIONGROUP) sends the third
/// send-back to `%DLQ%<group>`.
#[test]
fn cpp_client_failed_messages_retry_then_reach_the_dlq() {
    scenarios::retry_to_dlq_by_group_config(RocketmqCpp, "cpp-retry");
}

/// The C++ client registers processors for GET_CONSUMER_RUNNING_INFO (its running info comes
/// back through our broker) and RESET_CONSUMER_CLIENT_OFFSET (the C++ body form, which the
/// broker sends when the admin is a CPP client: the consumer re-reads from offset 0); its
/// CONSUME_MESSAGE_DIRECTLY processor returns nothing, so the broker answers
/// CONSUME_MSG_TIMEOUT, as Java's.
#[test]
fn cpp_client_answers_the_broker_s_running_info_and_reset_calls() {
    let answers = Answers {
        running_info: true,
        consume_directly: false,
        reset_offset: true,
    };
    consumer_calls::broker_calls_the_consumer(RocketmqCpp, "cpp-calls", answers, LanguageCode::Cpp);
}
