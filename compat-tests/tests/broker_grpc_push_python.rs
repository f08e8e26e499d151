//! The broker's gRPC consumption with PyPI `rocketmq-python-client`'s PushConsumer (see
//! `compat_tests::grpc_push`).

use compat_tests::grpc::GrpcClient::Python;
use compat_tests::grpc_push;

#[test]
fn python_push_consumer_receives_2000_messages_exactly_once_and_a_failed_one_again() {
    grpc_push::push_exactly_once_with_redelivery(Python, "py-grpc-push", 2_000);
}
