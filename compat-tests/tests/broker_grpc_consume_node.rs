//! The broker's gRPC POP consumption with npm `rocketmq-client-nodejs`'s SimpleConsumer (see
//! `compat_tests::grpc_consume`).

use compat_tests::grpc::GrpcClient::Node;
use compat_tests::grpc_consume;

#[test]
fn node_simple_consumer_ack_change_redelivery_dlq_and_handle_codes() {
    grpc_consume::simple_consumer_lifecycle(Node, "node-grpc-simple");
}

#[test]
fn node_simple_consumer_receives_10000_messages_exactly_once() {
    grpc_consume::batch_exactly_once(Node, "node-grpc-pop-batch", 10_000);
}

#[test]
fn remoting_producer_to_node_simple_consumer() {
    grpc_consume::remoting_to_simple_consumer(Node, "node-grpc-mixed");
}
