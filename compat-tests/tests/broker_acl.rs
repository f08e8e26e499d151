//! ACL 1.0 (`aclEnable`) with each registry client's own credential support: the crates.io
//! client's `AclClientRPCHook`, ali-ons' accessKey/secretKey, the PyPI C++ client's session
//! credentials (see `compat_tests::acl`).

use compat_tests::acl::acl_allows_and_refuses;
use compat_tests::Clients;

#[test]
fn rocketmq_rust_signs_and_is_refused_as_java() {
    acl_allows_and_refuses(Clients::RocketmqRust, "acl-rust");
}

#[test]
fn ali_ons_signs_and_is_refused_as_java() {
    acl_allows_and_refuses(Clients::AliOns, "acl-ons");
}

#[test]
fn rocketmq_cpp_signs_and_is_refused_as_java() {
    acl_allows_and_refuses(Clients::RocketmqCpp, "acl-cpp");
}
