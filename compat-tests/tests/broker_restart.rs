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
fn rust_client_consumer_resumes_after_broker_restart() {
    scenarios::restart_resume(Clients::RocketmqRust, "rs-restart");
}
