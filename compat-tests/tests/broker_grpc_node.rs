//! The broker's gRPC endpoint with npm `rocketmq-client-nodejs` (the official 5.x client):
//! its producer's normal, FIFO, delay and transactional sends (with the checker answering the
//! broker's check-backs), consumed over remoting by `rocketmq-client-rust` (see
//! `compat_tests::grpc`).

use compat_tests::grpc::{self, GrpcClient::Node};

#[test]
fn node_grpc_producer_10000_messages_exactly_once_to_a_remoting_consumer() {
    grpc::normal_exactly_once(Node, "node-grpc-normal", 10_000);
}

#[test]
fn node_grpc_producer_fifo_groups_keep_their_queue_and_order_and_delays_wait() {
    grpc::fifo_and_delay(Node, "node-grpc-fifo-delay");
}

#[test]
fn node_grpc_transactions_commit_rollback_and_check_back() {
    grpc::transactions(Node, "node-grpc-tx");
}
