//! Test support of the replay, bad-input and handler tests: our namesrv and broker binaries as
//! child processes on free ports (the broker on a recorded broker.conf), a client connection
//! that records what the broker sends it unasked, and the recorded frames of
//! `compat-tests/fixtures/golden/captures/` (the shared parts come from `test-support`).
//! (`common` holds the send/pull tests' helpers.)
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

pub mod admin;
pub mod admin_compare;
pub mod clock;
pub mod compare;
pub mod replay;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use remoting::{Connection, RemotingError};
use remoting_codec::RemotingCommand;
use test_support::ports::free_port_pair;
use test_support::process::{workspace_binary, BrokerConf};

pub use clock::RecordedClock;
pub use test_support::capture::{
    captures_dir, read_capture, recorded_broker_response as recorded_response, Frame,
};
pub use test_support::dirs::TempDir;
pub use test_support::process::{BrokerProcess, Process};

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Our namesrv binary (built next to the broker's by `cargo test --workspace`, built here when
/// only the broker's tests run) with `home` as its home.
pub fn start_namesrv(home: &Path) -> Process {
    test_support::process::start_namesrv(&workspace_binary("namesrv"), home, &[])
}

/// Writes `<dir>/broker.conf` from `base` (a recorded broker.conf's text, or "") with the
/// store under `<dir>/store`, a free port, the given namesrv and the `extra` lines, and starts
/// the broker binary on it.
pub fn start_broker(
    dir: &Path,
    base: &str,
    namesrv: Option<SocketAddr>,
    extra: &[&str],
) -> BrokerProcess {
    let store = dir.join("store");
    let mut conf = BrokerConf::from_text(base)
        .without(&[
            "storePathRootDir",
            "storePathCommitLog",
            "listenPort",
            "namesrvAddr",
        ])
        .set("storePathRootDir", store.display())
        .set("storePathCommitLog", store.join("commitlog").display())
        .set("listenPort", free_port_pair())
        .disk_tolerant();
    if let Some(ns) = namesrv {
        conf = conf.set("namesrvAddr", ns);
    }
    conf = conf.set("brokerIP1", "127.0.0.1").lines(&extra.join("\n"));
    BrokerProcess::start(Path::new(env!("CARGO_BIN_EXE_broker")), dir, &conf)
}

/// A client connection that keeps every request the broker sends on it (NOTIFY_CONSUMER_IDS_
/// CHANGED and other callbacks).
pub struct Client {
    pub conn: Arc<Connection>,
    pub received: Arc<Mutex<Vec<RemotingCommand>>>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let received: Arc<Mutex<Vec<RemotingCommand>>> = Arc::default();
        let sink = received.clone();
        let conn = Connection::spawn(
            stream,
            remoting_codec::DEFAULT_MAX_FRAME_LENGTH,
            move |_, request| sink.lock().unwrap().push(request),
        );
        Client { conn, received }
    }

    pub async fn invoke(&self, request: RemotingCommand) -> Result<RemotingCommand, RemotingError> {
        self.conn.invoke(request, TIMEOUT).await
    }

    pub fn received_codes(&self) -> Vec<(i32, Option<String>)> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| (r.code, r.ext_field("consumerGroup").map(str::to_owned)))
            .collect()
    }
}
