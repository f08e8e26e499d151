//! 5.x authentication on the broker's gRPC port with `aclEnable`, driven by PyPI
//! `rocketmq-python-client` with its credentials (see `compat_tests::grpc::acl`).

use compat_tests::grpc::{self, GrpcClient};

#[test]
fn python_grpc_client_signed_sends_are_checked_against_the_acl_accounts() {
    grpc::acl(GrpcClient::Python, "py-grpc-acl");
}
