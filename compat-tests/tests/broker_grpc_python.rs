//! The broker's gRPC endpoint with PyPI `rocketmq-python-client` (the official 5.x client):
//! its producer's normal, FIFO, delay and transactional sends (with the checker answering the
//! broker's check-backs), consumed over remoting by `rocketmq-client-rust` (see
//! `compat_tests::grpc`).

use compat_tests::grpc::{self, GrpcClient::Python};

#[test]
fn python_grpc_producer_10000_messages_exactly_once_to_a_remoting_consumer() {
    grpc::normal_exactly_once(Python, "py-grpc-normal", 10_000);
}

#[test]
fn python_grpc_producer_fifo_groups_keep_their_queue_and_order_and_delays_wait() {
    grpc::fifo_and_delay(Python, "py-grpc-fifo-delay");
}

#[test]
fn python_grpc_transactions_commit_rollback_and_check_back() {
    grpc::transactions(Python, "py-grpc-tx");
}
