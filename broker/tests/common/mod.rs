//! Test support: our namesrv in-process on a free port, the `broker` binary as a child process
//! on free ports (listenPort and the VIP port listenPort - 2) with a small store, and request
//! builders.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use remoting::RemotingClient;
use remoting_codec::code::request;
use remoting_codec::message::{decode_records, StoredMessage};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::RemotingCommand;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!("broker-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TestDir(dir)
}

/// A test's scratch directory (store, confs), removed when the test ends.
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port `p` such that `p` and `p - 2` (the VIP port) are both free now.
pub fn free_port_pair() -> u16 {
    loop {
        let l = TcpListener::bind("0.0.0.0:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p > 1026 && TcpListener::bind(("0.0.0.0", p - 2)).is_ok() {
            return p;
        }
    }
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

/// A running `broker` process; killed (SIGKILL) on drop unless stopped.
pub struct BrokerProcess {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub conf: PathBuf,
}

impl BrokerProcess {
    /// Writes `dir/broker.conf` (small store under `dir/store`, 127.0.0.1, the given port,
    /// `extra` lines) and starts the broker.
    pub fn start(dir: &Path, port: u16, namesrv: Option<SocketAddr>, extra: &str) -> Self {
        let conf = dir.join("broker.conf");
        let mut text = format!(
            "brokerClusterName=TestCluster\nbrokerName=broker-t\nbrokerId=0\n\
             brokerIP1=127.0.0.1\nbrokerIP2=127.0.0.1\nlistenPort={port}\n\
             storePathRootDir={}\nmappedFileSizeCommitLog=1048576\n\
             mappedFileSizeConsumeQueue=6000\nmaxHashSlotNum=1000\nmaxIndexNum=4000\n\
             flushDiskType=ASYNC_FLUSH\n\
             diskMaxUsedSpaceRatio=95\ndiskSpaceWarningLevelRatio=99\ndiskSpaceCleanForciblyRatio=98\n",
            dir.join("store").display()
        );
        if let Some(ns) = namesrv {
            text.push_str(&format!("namesrvAddr={ns}\n"));
        }
        text.push_str(extra);
        std::fs::write(&conf, text).unwrap();
        Self::start_with(dir, port, &conf)
    }

    pub fn start_with(dir: &Path, port: u16, conf: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_broker"))
            .arg("-c")
            .arg(conf)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("boot success") {
                    let _ = tx.send(());
                }
            }
        });
        if rx.recv_timeout(TIMEOUT).is_err() {
            let _ = child.kill();
            panic!("broker did not boot");
        }
        BrokerProcess {
            child: Some(child),
            port,
            dir: dir.to_path_buf(),
            conf: conf.to_path_buf(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn vip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port - 2))
    }

    pub async fn client(&self) -> RemotingClient {
        RemotingClient::connect(self.addr()).await.unwrap()
    }

    /// SIGTERM and wait for the exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let status = child.wait().unwrap();
        status.success()
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
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
