//! Test support: the namesrv binary as a child process on a free port, and the recorded
//! frames of `compat-tests/fixtures/golden/captures/`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use bytes::Bytes;
use remoting_codec::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use serde_json::Value;

/// A running `namesrv` process, killed on drop.
pub struct NamesrvProcess {
    child: Child,
    pub addr: SocketAddr,
    pub home: PathBuf,
}

impl Drop for NamesrvProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("namesrv-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl NamesrvProcess {
    /// Starts the binary with `--userHome home` on a free port plus `extra` flags, and waits
    /// for its boot line.
    pub fn start(home: &Path, extra: &[&str]) -> NamesrvProcess {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_namesrv"))
            .args([
                "--listenPort",
                &port.to_string(),
                "--bindAddress",
                "127.0.0.1",
            ])
            .arg("--userHome")
            .arg(home)
            .args(extra)
            .env("RUST_LOG", "warn")
            .env("ROCKETMQ_HOME", home)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn namesrv");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("boot success") => break,
                Some(Ok(_)) => continue,
                _ => {
                    let _ = child.kill();
                    panic!("namesrv exited before booting");
                }
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        NamesrvProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            home: home.to_owned(),
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
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
    pub fn to_namesrv(&self) -> bool {
        self.record["server_port"] == 9876
    }
    pub fn is_binary(&self) -> bool {
        self.record["serialize"] == "ROCKETMQ"
    }
    pub fn ext_fields(&self) -> Option<&serde_json::Map<String, Value>> {
        self.record.get("extFields").and_then(Value::as_object)
    }
    pub fn remark(&self) -> Option<&str> {
        self.record.get("remark").and_then(Value::as_str)
    }

    /// The command this frame describes (opaque as recorded; the client replaces it).
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

/// The recorded response to `request`: same file and connection, other direction, same
/// opaque, flagged as a response.
pub fn recorded_response<'a>(frames: &'a [Frame], request: &Frame) -> Option<&'a Frame> {
    frames.iter().find(|f| {
        f.conn() == request.conn()
            && f.is_response()
            && !f.is_c2s()
            && f.opaque() == request.opaque()
    })
}

/// The first REGISTER_BROKER of `s01-broker-register`: a fresh 4.9.8 broker's table
/// (TBW102, SELF_TEST_TOPIC, BenchmarkTest, …).
pub fn base_registration() -> Frame {
    read_capture("s01-broker-register.jsonl")
        .into_iter()
        .find(|f| f.code() == 103 && f.is_c2s())
        .unwrap()
}
