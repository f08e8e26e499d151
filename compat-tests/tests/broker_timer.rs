//! 5.x timer messages with crates.io `rocketmq-client-rust` (its `set_delay_time_sec`,
//! `set_delay_time_ms` and `set_deliver_time_ms`): 1 s to 60 s, on time, across kill -9 and a
//! clean restart of the broker (see `compat_tests::timer`).

use compat_tests::timer;
use compat_tests::Clients::RocketmqRust;

#[test]
fn rust_client_timer_messages_arrive_on_time_across_restarts() {
    timer::timer_messages_on_time_across_restarts(RocketmqRust, "rs-timer");
}

/// `DefaultMQProducer::recall_message` with the send result's recall handle
/// (RECALL_MESSAGE 370, `recallMessageEnable=true`): recalled timer messages never arrive.
#[test]
fn rust_client_recalls_timer_messages() {
    timer::recall_timer_messages(RocketmqRust, "rs-recall");
}
