//! The broker's gRPC consumption with npm `rocketmq-client-nodejs`'s PushConsumer (see
//! `compat_tests::grpc_push`).

use compat_tests::grpc::GrpcClient::Node;
use compat_tests::grpc_push;

#[test]
fn node_push_consumer_receives_2000_messages_exactly_once_and_a_failed_one_again() {
    grpc_push::push_exactly_once_with_redelivery(Node, "node-grpc-push", 2_000);
}
