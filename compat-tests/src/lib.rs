//! Compatibility tests that drive the servers with real third-party clients and recorded Java traffic.
//!
//! This library holds what those tests share:
//! - [`namesrv`]: our name server in-process on a free port, a fake broker registration and route
//!   lookups;
//! - [`broker`]: our `broker` binary as a child process on a free port pair with a temporary
//!   store, restartable on the same store;
//! - [`cluster`]: a name server and a broker together, with the admin requests tests need
//!   (create a topic, read a committed offset, list a group's consumers);
//! - [`client`]: the third-party client programs under `clients/` as child processes printing
//!   one JSON line per event;
//! - [`scenarios`]: the broker proof, written once and run with each client;
//! - [`acl`]: ACL 1.0 (signed, refused, reloaded) with a client's credentials;
//! - [`timer`]: 5.x timer messages with a registry client;
//! - [`admin_calls`]: a client's own query and admin calls;
//! - [`grpc`]: the broker's gRPC endpoint with the official 5.x Python and Node.js clients;
//! - [`grpc_push`]: their PushConsumer (assignments, receive per queue, ack, a failed delivery
//!   back with attempt 2);
//! - [`consumer_calls`]: admin requests the broker relays to a client's live consumer;
//! - [`check`]: the assertions over what the clients printed (no loss, no duplicates, per-key
//!   order, queue ownership).

use std::path::{Path, PathBuf};

pub mod acl;
pub mod admin_calls;
pub mod broker;
pub mod check;
pub mod client;
pub mod cluster;
pub mod consumer_calls;
pub mod grpc;
pub mod grpc_consume;
pub mod grpc_push;
pub mod grpc_relay;
pub mod namesrv;
pub mod pop;
pub mod prometheus;
pub mod scenarios;
pub mod timer;

pub use broker::{BrokerProcess, BrokerSettings};
pub use client::{ClientProcess, Clients};
pub use cluster::Cluster;
pub use namesrv::{TestBroker, TestNamesrv};

pub use test_support::ports::free_port;

/// The repository's `compat-tests/` directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `path` exists, with a hint on how to install what is missing.
pub fn require(path: &Path, how: &str) {
    assert!(
        path.exists(),
        "{} is missing: {how} (the CI script .ci/run does it)",
        path.display()
    );
}
