//! Stop the broker mid-way through a consume, restart it on the same store: the messages and
//! the group's committed offsets survive, and a consumer of the group resumes each queue at its
//! committed offset. Run with each client.

use compat_tests::scenarios;
use compat_tests::Clients;

#[test]
fn ali_ons_consumer_resumes_after_broker_restart() {
    scenarios::restart_resume(Clients::AliOns, "ons-restart");
}

#[test]
fn cpp_client_consumer_resumes_after_broker_restart() {
    scenarios::restart_resume(Clients::RocketmqCpp, "cpp-restart");
}

#[test]
#[ignore = "rocketmq-client-rust 1.0 answers failed consumes with CONSUMER_SEND_MSG_BACK (36) and then commits past them; our broker answers 36 NOT_SUPPORTED until issue 6 (retry/DLQ), so messages go missing and the run waits out its timeout (seen: 211 of 6,890 missing after a restart; split and broadcast hung). Un-ignore with issue 6."]
fn rust_client_consumer_resumes_after_broker_restart() {
    scenarios::restart_resume(Clients::RocketmqRust, "rs-restart");
}
