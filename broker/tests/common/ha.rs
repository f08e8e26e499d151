//! A master or slave broker of group `broker-a` for the replication tests (a 1 s HA heartbeat,
//! so that reports come quickly), and a condition wait for them.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use test_support::process::{BrokerConf, BrokerProcess};

/// How long a replication condition may take on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The conf of broker `id` of `broker-a` in `role`, registering with `ns`.
pub fn conf(dir: &Path, port: u16, ns: SocketAddr, role: &str, id: u32) -> BrokerConf {
    BrokerConf::small_store(dir, port, Some(ns))
        .set("brokerName", "broker-a")
        .set("brokerId", id)
        .set("brokerRole", role)
        .set("haSendHeartbeatInterval", 1000)
}

/// Starts the broker binary on `conf` in `dir` (created if missing).
pub fn start(dir: &Path, conf: &BrokerConf) -> BrokerProcess {
    std::fs::create_dir_all(dir).unwrap();
    BrokerProcess::start(Path::new(env!("CARGO_BIN_EXE_broker")), dir, conf)
}

/// Polls `f` every 100 ms until it holds; panics naming `what` after [`DEADLINE`].
pub async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
