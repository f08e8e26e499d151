//! What every broker replay test (`replay*.rs`) does around its own pacing: a namesrv and a
//! broker started on a scenario's recorded broker.conf, the check that the broker sent each
//! connection the requests Java sent it, and the end of the long polls Java never answered.

use std::collections::BTreeMap;

use remoting::RemotingError;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::offset::{GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader};
use remoting_codec::RemotingCommand;
use tokio::task::JoinHandle;

use super::{captures_dir, start_broker, start_namesrv, BrokerProcess, Client, Frame, Process};
use super::{TempDir, TIMEOUT};

/// An answer still to come.
pub type Answer = JoinHandle<Result<RemotingCommand, RemotingError>>;

/// What a long poll Java still held at the end may get from us before the replay ends.
pub const PULL_STATUSES: &[i32] = &[
    resp::SUCCESS,
    resp::PULL_NOT_FOUND,
    resp::PULL_RETRY_IMMEDIATELY,
    resp::PULL_OFFSET_MOVED,
];

/// A namesrv and a broker on `<scenario>.broker.conf` (store, port and namesrv replaced).
pub struct ReplayCluster {
    pub broker: BrokerProcess,
    _namesrv: Process,
    _dir: TempDir,
}

impl ReplayCluster {
    pub fn start(scenario: &str) -> ReplayCluster {
        let dir = TempDir::new(&format!("replay-{scenario}"));
        let ns_home = dir.path().join("ns");
        std::fs::create_dir_all(&ns_home).unwrap();
        let namesrv = start_namesrv(&ns_home);
        let conf = std::fs::read_to_string(captures_dir().join(format!("{scenario}.broker.conf")))
            .unwrap();
        let broker = start_broker(dir.path(), &conf, Some(namesrv.addr), &[]);
        ReplayCluster {
            broker,
            _namesrv: namesrv,
            _dir: dir,
        }
    }

    /// Stops the broker (SIGTERM) and asserts it stopped cleanly; then the namesrv.
    pub fn stop(mut self, scenario: &str) {
        assert!(self.broker.terminate().success(), "{scenario}: broker stop");
    }
}

/// The broker's own requests to each connection (code and consumer group), as Java sent them.
pub fn check_broker_requests(
    scenario: &str,
    frames: &[Frame],
    clients: &BTreeMap<i64, Client>,
    failures: &mut Vec<String>,
) {
    for (conn, client) in clients {
        let theirs: Vec<(i32, Option<String>)> = frames
            .iter()
            .filter(|f| f.to_broker() && f.conn() == *conn && !f.is_c2s() && !f.is_response())
            .map(|f| (f.code(), f.ext_field("consumerGroup").map(str::to_owned)))
            .collect();
        let ours = client.received_codes();
        if ours != theirs {
            failures.push(format!(
                "{scenario} conn {conn}: broker requests {ours:?}, Java {theirs:?}"
            ));
        }
    }
}

/// Ends the long polls Java never answered (`(where recorded, our answer)`): one we already
/// answered must have a status in `allowed`; the others are dropped.
pub async fn finish_parked(
    parked: Vec<(String, Answer)>,
    allowed: &[i32],
    failures: &mut Vec<String>,
) {
    for (at, task) in parked {
        if !task.is_finished() {
            task.abort();
            continue;
        }
        if let Ok(r) = task.await.unwrap() {
            if !allowed.contains(&r.code) {
                failures.push(format!(
                    "{at}: parked long poll answered {} {:?}",
                    r.code, r.remark
                ));
            }
        }
    }
}

/// GET_MAX_OFFSET of a queue.
pub async fn max_offset(control: &Client, topic: &str, queue_id: &str) -> i64 {
    let request =
        RemotingCommand::request_without_header(remoting_codec::code::request::GET_MAX_OFFSET)
            .with_ext_field("topic", topic)
            .with_ext_field("queueId", queue_id);
    let r = control.conn.invoke(request, TIMEOUT).await.unwrap();
    r.ext_field("offset").unwrap().parse().unwrap()
}

/// The next offset of the op queue (RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0): an op message is
/// the last record a commit or rollback appends.
pub async fn op_queue_max_offset(admin: &Client) -> i64 {
    let header = GetMaxOffsetRequestHeader {
        topic: "RMQ_SYS_TRANS_OP_HALF_TOPIC".into(),
        queue_id: 0,
        committed: None,
    };
    let answer = admin
        .invoke(RemotingCommand::request(req::GET_MAX_OFFSET, &header))
        .await
        .unwrap();
    answer
        .decode_header::<GetMaxOffsetResponseHeader>()
        .unwrap()
        .offset
}

/// Waits until the op queue grew past `before` (a oneway commit or rollback was applied).
pub async fn wait_for_op_message(admin: &Client, before: i64) {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while op_queue_max_offset(admin).await <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "END_TRANSACTION not applied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
