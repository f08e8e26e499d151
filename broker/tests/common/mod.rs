//! Test support: our namesrv in-process on a free port, the `broker` binary as a child process
//! on free ports (listenPort and the VIP port listenPort - 2) with a small store, and request
//! builders (the shared parts come from `test-support`).
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

pub mod grpc;
pub mod ha;
pub mod pop;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use remoting::RemotingClient;
use remoting_codec::code::request;
use remoting_codec::message::{decode_records, StoredMessage};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::RemotingCommand;
use test_support::process::BrokerConf;

pub use test_support::dirs::TempDir;
pub use test_support::ports::free_port_pair;
pub use test_support::process::BrokerProcess;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh, empty scratch directory (store, confs), removed when the test ends.
pub fn temp_dir(name: &str) -> TempDir {
    TempDir::new(&format!("broker-test-{name}"))
}

/// Our namesrv, in this process, on a free port. Dropping the guard stops it.
pub struct Namesrv {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Namesrv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start_namesrv(home: &Path) -> Namesrv {
    let mut config = namesrv::config::NamesrvConfig::with_defaults(home, None);
    config.set("listenPort", "0");
    config.set("bindAddress", "127.0.0.1");
    let bound = namesrv::bind(config, namesrv::Timing::default())
        .await
        .unwrap();
    let addr = bound.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(bound.serve(async move {
        let _ = rx.await;
    }));
    Namesrv {
        addr,
        stop: Some(tx),
    }
}

/// Writes `dir/broker.conf` (small store under `dir/store`, 127.0.0.1, the given port,
/// `extra` lines) and starts this crate's broker binary on it.
pub fn start_broker(
    dir: &Path,
    port: u16,
    namesrv: Option<SocketAddr>,
    extra: &str,
) -> BrokerProcess {
    let conf = BrokerConf::small_store(dir, port, namesrv).lines(extra);
    BrokerProcess::start(Path::new(env!("CARGO_BIN_EXE_broker")), dir, &conf)
}

/// Starts the broker binary again on the conf file of one that was stopped or killed.
pub fn restart_broker(conf: &Path) -> BrokerProcess {
    BrokerProcess::start_with(Path::new(env!("CARGO_BIN_EXE_broker")), conf)
}

/// `request` with these extFields, in the order given (what Java's header fields are).
pub fn java_request(code: i32, fields: &[(&str, String)]) -> RemotingCommand {
    let mut req = RemotingCommand::request_without_header(code);
    for (k, v) in fields {
        req = req.with_ext_field(*k, v.clone());
    }
    req
}

/// The extFields of a SEND_MESSAGE_V2 (or SEND_REPLY_MESSAGE_V2) exactly as the 5.3.3 Java
/// client writes them (the s13-client5 recording): one-letter keys in its order, queue 0,
/// `n` the broker name.
pub fn java533_send_fields(
    group: &str,
    topic: &str,
    properties: String,
    broker_name: &str,
) -> [(&'static str, String); 13] {
    [
        ("a", group.to_owned()),
        ("b", topic.to_owned()),
        ("c", "TBW102".to_owned()),
        ("d", "4".to_owned()),
        ("e", "0".to_owned()),
        ("f", "0".to_owned()),
        ("g", "1795242654262".to_owned()),
        ("h", "0".to_owned()),
        ("i", properties),
        ("j", "0".to_owned()),
        ("k", "false".to_owned()),
        ("m", "false".to_owned()),
        ("n", broker_name.to_owned()),
    ]
}

pub fn send_v2_header(topic: &str, queue_id: i32, properties: &str) -> SendMessageRequestHeaderV2 {
    SendMessageRequestHeaderV2 {
        producer_group: "PG".into(),
        topic: topic.into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some(properties.into()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    }
}

/// SEND_MESSAGE_V2 with tags (and a UNIQ_KEY as Java producers send).
pub fn send_v2(topic: &str, queue_id: i32, tags: &str, body: &'static [u8]) -> RemotingCommand {
    let props = format!(
        "UNIQ_KEY\u{1}K{}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}{tags}",
        body.len()
    );
    RemotingCommand::request(
        request::SEND_MESSAGE_V2,
        &send_v2_header(topic, queue_id, &props),
    )
    .with_body(Bytes::from_static(body))
}

pub fn pull_header(
    topic: &str,
    queue_id: i32,
    offset: i64,
    sys_flag: i32,
) -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: topic.into(),
        queue_id,
        queue_offset: offset,
        max_msg_nums: 32,
        sys_flag,
        commit_offset: 0,
        suspend_timeout_millis: 20_000,
        subscription: Some("*".into()),
        sub_version: 0,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    }
}

pub fn pull(header: &PullMessageRequestHeader) -> RemotingCommand {
    RemotingCommand::request(request::PULL_MESSAGE, header)
}

pub fn records(resp: &RemotingCommand) -> Vec<StoredMessage> {
    decode_records(&resp.body).map(|r| r.unwrap()).collect()
}

/// Pulls `topic`/`queue_id` from offset 0 until `n` records arrived. The store dispatches
/// asynchronously (as Java's reput thread), so a pull right after a send may not see it yet;
/// the suspend flag parks such a pull until the dispatch.
pub async fn pull_n(
    client: &RemotingClient,
    topic: &str,
    queue_id: i32,
    n: usize,
) -> Vec<StoredMessage> {
    use remoting_codec::code::response;
    use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
    let mut out = Vec::new();
    let mut offset = 0;
    let deadline = std::time::Instant::now() + TIMEOUT;
    while out.len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} records",
            out.len()
        );
        let h = pull_header(topic, queue_id, offset, FLAG_SUBSCRIPTION | FLAG_SUSPEND);
        let resp = client.invoke(pull(&h), TIMEOUT).await.unwrap();
        let next: i64 = resp.ext_field("nextBeginOffset").unwrap().parse().unwrap();
        if resp.code == response::SUCCESS {
            out.extend(records(&resp));
        }
        offset = next;
    }
    out
}
