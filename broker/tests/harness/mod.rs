//! Test support of the replay, bad-input and handler tests: our namesrv and broker binaries as
//! child processes on free ports (the broker on a recorded broker.conf), a client connection
//! that records what the broker sends it unasked, and the recorded frames of
//! `compat-tests/fixtures/golden/captures/`. (`common` holds the send/pull tests' helpers.)
#![allow(dead_code)]

pub mod compare;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use remoting::{Connection, RemotingError};
use remoting_codec::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use serde_json::Value;

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two free ports `p - 2` and `p` (the broker listens on both).
pub fn free_broker_port() -> u16 {
    loop {
        let p = free_port();
        if p > 1026 && TcpListener::bind(("127.0.0.1", p - 2)).is_ok() {
            return p;
        }
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("broker-it-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (if still running) on drop.
pub struct Process {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// SIGTERM, then wait for the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }
}

/// Starts `command`, waits for its "boot success" line on stdout, then keeps draining stdout.
fn boot(mut command: Command, what: &str, addr: SocketAddr) -> Process {
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("boot success") => break,
            Some(Ok(_)) => continue,
            _ => {
                let _ = child.kill();
                panic!("{what} exited before booting");
            }
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Process { child, addr }
}

/// Our namesrv binary: built next to the broker binary by `cargo test --workspace`; built here
/// when only the broker's tests are run.
fn namesrv_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_broker")).with_file_name("namesrv");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "namesrv", "--bin", "namesrv"])
            .status()
            .unwrap();
        assert!(status.success(), "building the namesrv binary failed");
    }
    path
}

pub fn start_namesrv(home: &Path) -> Process {
    let port = free_port();
    let mut command = Command::new(namesrv_binary());
    command
        .args([
            "--listenPort",
            &port.to_string(),
            "--bindAddress",
            "127.0.0.1",
        ])
        .arg("--userHome")
        .arg(home)
        .env("ROCKETMQ_HOME", home);
    boot(command, "namesrv", SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Writes `<dir>/broker.conf` from `base` (a recorded broker.conf's text, or "") with the
/// store under `<dir>/store`, a free port, the given namesrv and the `extra` lines, and starts
/// the broker binary on it.
pub fn start_broker(
    dir: &Path,
    base: &str,
    namesrv: Option<SocketAddr>,
    extra: &[&str],
) -> Process {
    let port = free_broker_port();
    let store = dir.join("store");
    let mut lines: Vec<String> = base
        .lines()
        .filter(|l| {
            ![
                "storePathRootDir",
                "storePathCommitLog",
                "listenPort",
                "namesrvAddr",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .map(str::to_owned)
        .collect();
    lines.push(format!("storePathRootDir={}", store.display()));
    lines.push(format!(
        "storePathCommitLog={}",
        store.join("commitlog").display()
    ));
    lines.push(format!("listenPort={port}"));
    // A nearly full CI disk must not make the store refuse puts (Java's 90 % threshold); these
    // tests are not about disk space.
    lines.push("diskMaxUsedSpaceRatio=95".into());
    lines.push("diskSpaceWarningLevelRatio=99".into());
    lines.push("diskSpaceCleanForciblyRatio=98".into());
    if let Some(ns) = namesrv {
        lines.push(format!("namesrvAddr={ns}"));
    }
    lines.push("brokerIP1=127.0.0.1".into());
    lines.extend(extra.iter().map(|l| l.to_string()));
    let conf = dir.join("broker.conf");
    std::fs::write(&conf, lines.join("\n") + "\n").unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_broker"));
    command.arg("-c").arg(&conf);
    boot(command, "broker", SocketAddr::from(([127, 0, 0, 1], port)))
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

/// The captures directory inside the repository.
pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compat-tests/fixtures/golden/captures")
}

/// One recorded frame.
#[derive(Clone, Debug)]
pub struct Frame {
    pub file: String,
    pub line: usize,
    pub record: Value,
    pub body: Bytes,
}

impl Frame {
    pub fn code(&self) -> i32 {
        self.record["code"].as_i64().unwrap() as i32
    }
    pub fn conn(&self) -> i64 {
        self.record["conn"].as_i64().unwrap()
    }
    pub fn opaque(&self) -> i32 {
        self.record["opaque"].as_i64().unwrap() as i32
    }
    pub fn is_response(&self) -> bool {
        self.record["is_response"].as_bool().unwrap()
    }
    pub fn is_oneway(&self) -> bool {
        self.record["is_oneway"].as_bool().unwrap()
    }
    pub fn is_c2s(&self) -> bool {
        self.record["dir"] == "c2s"
    }
    pub fn to_broker(&self) -> bool {
        self.record["server_port"] == 10911
    }
    pub fn is_binary(&self) -> bool {
        self.record["serialize"] == "ROCKETMQ"
    }
    pub fn ext_fields(&self) -> Option<&serde_json::Map<String, Value>> {
        self.record.get("extFields").and_then(Value::as_object)
    }
    pub fn ext_field(&self, key: &str) -> Option<&str> {
        self.ext_fields()?.get(key)?.as_str()
    }
    pub fn remark(&self) -> Option<&str> {
        self.record.get("remark").and_then(Value::as_str)
    }
    pub fn at(&self) -> String {
        format!("{}:{} (code {})", self.file, self.line, self.code())
    }

    /// The command this frame describes (the connection gives it a fresh opaque).
    pub fn to_command(&self) -> RemotingCommand {
        let ext = self.ext_fields().map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()))
                .collect::<ExtFields>()
        });
        RemotingCommand {
            code: self.code(),
            language: LanguageCode::from_name(self.record["language"].as_str().unwrap_or("JAVA")),
            version: self.record["version"].as_i64().unwrap_or(0) as i32,
            opaque: self.opaque(),
            flag: self.record["flag"].as_i64().unwrap_or(0) as i32,
            remark: self.remark().map(str::to_owned),
            ext_fields: ext,
            serialize_type: if self.is_binary() {
                SerializeType::RocketMq
            } else {
                SerializeType::Json
            },
            body: self.body.clone(),
        }
    }
}

/// Every frame of one capture file, in capture order.
pub fn read_capture(relative: &str) -> Vec<Frame> {
    let text = std::fs::read_to_string(captures_dir().join(relative)).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let record: Value = serde_json::from_str(line).unwrap();
            let body = record
                .get("body_b64")
                .and_then(Value::as_str)
                .map(|b| base64::engine::general_purpose::STANDARD.decode(b).unwrap())
                .unwrap_or_default();
            Frame {
                file: relative.to_owned(),
                line: i + 1,
                record,
                body: Bytes::from(body),
            }
        })
        .collect()
}

/// The index of the recorded response to the request at `i`: same connection, other
/// direction, same opaque, flagged as a response.
pub fn recorded_response(frames: &[Frame], i: usize) -> Option<usize> {
    let request = &frames[i];
    frames.iter().enumerate().skip(i + 1).find_map(|(j, f)| {
        (f.conn() == request.conn()
            && f.to_broker()
            && f.is_response()
            && !f.is_c2s()
            && f.opaque() == request.opaque())
        .then_some(j)
    })
}
