//! The broker's gRPC POP consumption with PyPI `rocketmq-python-client`'s SimpleConsumer (see
//! `compat_tests::grpc_consume`).

use compat_tests::grpc::GrpcClient::Python;
use compat_tests::grpc_consume;

#[test]
fn python_simple_consumer_ack_change_redelivery_dlq_and_handle_codes() {
    grpc_consume::simple_consumer_lifecycle(Python, "py-grpc-simple");
}

#[test]
fn python_simple_consumer_receives_10000_messages_exactly_once() {
    grpc_consume::batch_exactly_once(Python, "py-grpc-pop-batch", 10_000);
}

#[test]
fn remoting_producer_to_python_simple_consumer() {
    grpc_consume::remoting_to_simple_consumer(Python, "py-grpc-mixed");
}
