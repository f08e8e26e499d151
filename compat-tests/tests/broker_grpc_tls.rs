//! TLS on the broker's gRPC port with the official 5.x clients (PyPI `rocketmq-python-client`,
//! npm `rocketmq-client-nodejs`), see `compat_tests::grpc::tls_send`. Its own test binary: the
//! TLS settings reach the broker through the environment.

use compat_tests::grpc::{self, GrpcClient};

#[test]
fn official_grpc_clients_send_over_tls() {
    grpc::tls_send(GrpcClient::Python, "py-grpc-tls");
    grpc::tls_send(GrpcClient::Node, "node-grpc-tls");
}
