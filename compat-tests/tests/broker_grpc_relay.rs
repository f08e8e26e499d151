//! Admin requests (running info with thread stacks, consume-message-directly) relayed by the
//! broker to the official gRPC clients over their Telemetry streams (see
//! `compat_tests::grpc_relay`).

use compat_tests::grpc::GrpcClient;
use compat_tests::grpc_relay::admin_requests_relayed;

#[test]
fn node_grpc_consumer_answers_thread_stacks_and_not_verification() {
    admin_requests_relayed(GrpcClient::Node, "node-grpc-relay");
}

#[test]
fn python_grpc_consumer_answers_neither_and_the_relay_times_out() {
    admin_requests_relayed(GrpcClient::Python, "py-grpc-relay");
}
