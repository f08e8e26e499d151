//! Test support: the frames recorded between the real Java client, mqadmin and the Java
//! name server/broker (`compat-tests/fixtures/golden/captures/**/*.jsonl`), rebuilt into the
//! exact wire bytes they describe.
//!
//! Each JSONL line holds a decoded header (keys in wire order) and the body in base64. For binary
//! (`ROCKETMQ`) headers the recorded fields determine the wire bytes exactly, so they are rebuilt
//! here independently of the codec under test; JSON headers are rebuilt as compact JSON with the
//! recorded key order.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;

/// One recorded frame.
#[derive(Clone, Debug)]
pub struct GoldenFrame {
    /// Path relative to the captures directory, e.g. `s02-quickstart.jsonl`.
    pub file: String,
    /// 1-based line number in that file.
    pub line: usize,
    /// The recorded line as JSON.
    pub record: Value,
    /// The frame without its 4-byte length field, as the codec's `decode_frame` takes it.
    pub frame: Bytes,
    /// The body bytes.
    pub body: Bytes,
    /// For a response: the code of the request it answers (same connection, other direction,
    /// same opaque), when that request was captured.
    pub request_code: Option<i32>,
}

impl GoldenFrame {
    pub fn code(&self) -> i32 {
        self.record["code"].as_i64().unwrap() as i32
    }
    pub fn is_response(&self) -> bool {
        self.record["is_response"].as_bool().unwrap()
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
    /// The code that tells what this frame is about: the request code for requests, the
    /// answered request's code for responses.
    pub fn request_code_of_exchange(&self) -> Option<i32> {
        if self.is_response() {
            self.request_code
        } else {
            Some(self.code())
        }
    }
    pub fn whole_frame(&self) -> Vec<u8> {
        let mut v = ((self.frame.len()) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(&self.frame);
        v
    }
    pub fn describe(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compat-tests/fixtures/golden")
}

pub fn captures_dir() -> PathBuf {
    fixtures_dir().join("captures")
}

/// Every frame of every capture file, in file order.
pub fn golden_frames() -> Vec<GoldenFrame> {
    let mut files = Vec::new();
    collect_jsonl(&captures_dir(), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no golden captures under {}",
        captures_dir().display()
    );
    let mut frames = Vec::new();
    for path in files {
        frames.extend(frames_of_file(&path));
    }
    frames
}

fn collect_jsonl(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_jsonl(&path, out);
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            if name.ends_with(".jsonl") && !name.ends_with(".conns.jsonl") {
                out.push(path);
            }
        }
    }
}

fn frames_of_file(path: &Path) -> Vec<GoldenFrame> {
    let rel = path
        .strip_prefix(captures_dir())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read_to_string(path).unwrap();
    let mut frames = Vec::new();
    // (conn, dir of the request, opaque) -> request code
    let mut requests: HashMap<(i64, String, i64), i32> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(line).unwrap();
        let body = Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(record["body_b64"].as_str().unwrap())
                .unwrap(),
        );
        let frame = Bytes::from(rebuild_frame(&record, &body));
        let conn = record["conn"].as_i64().unwrap();
        let dir = record["dir"].as_str().unwrap().to_owned();
        let opaque = record["opaque"].as_i64().unwrap();
        let code = record["code"].as_i64().unwrap() as i32;
        let request_code = if record["is_response"].as_bool().unwrap() {
            let req_dir = if dir == "c2s" { "s2c" } else { "c2s" };
            requests.get(&(conn, req_dir.to_owned(), opaque)).copied()
        } else {
            requests.insert((conn, dir, opaque), code);
            None
        };
        frames.push(GoldenFrame {
            file: rel.clone(),
            line: i + 1,
            record,
            frame,
            body,
            request_code,
        });
    }
    frames
}

const META_KEYS: &[&str] = &[
    "conn",
    "dir",
    "server_port",
    "ts",
    "serialize",
    "is_response",
    "is_oneway",
    "body_len",
    "body_b64",
];

/// The header object exactly as recorded (wire key order), without the capture metadata.
pub fn recorded_header(record: &Value) -> serde_json::Map<String, Value> {
    record
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !META_KEYS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn rebuild_frame(record: &Value, body: &[u8]) -> Vec<u8> {
    let header = recorded_header(record);
    let (type_code, header_bytes) = if record["serialize"] == "ROCKETMQ" {
        (1u32, rebuild_binary_header(&header))
    } else {
        (0u32, serde_json::to_vec(&Value::Object(header)).unwrap())
    };
    let mut out = Vec::with_capacity(4 + header_bytes.len() + body.len());
    out.extend_from_slice(&((type_code << 24) | header_bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(body);
    out
}

const LANGUAGES: &[&str] = &[
    "JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO", "PHP",
    "OMS", "RUST", "NODE_JS",
];

/// Java's `RocketMQSerializable` layout, written from the recorded fields.
pub fn rebuild_binary_header(h: &serde_json::Map<String, Value>) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(h["code"].as_i64().unwrap() as i16).to_be_bytes());
    let lang = LANGUAGES
        .iter()
        .position(|l| *l == h["language"].as_str().unwrap())
        .unwrap();
    out.push(lang as u8);
    out.extend_from_slice(&(h["version"].as_i64().unwrap() as i16).to_be_bytes());
    out.extend_from_slice(&(h["opaque"].as_i64().unwrap() as i32).to_be_bytes());
    out.extend_from_slice(&(h["flag"].as_i64().unwrap() as i32).to_be_bytes());
    match h.get("remark").and_then(Value::as_str) {
        Some(r) if !r.is_empty() => {
            out.extend_from_slice(&(r.len() as i32).to_be_bytes());
            out.extend_from_slice(r.as_bytes());
        }
        _ => out.extend_from_slice(&0i32.to_be_bytes()),
    }
    let mut ext = Vec::new();
    if let Some(map) = h.get("extFields").and_then(Value::as_object) {
        for (k, v) in map {
            let v = v.as_str().unwrap();
            ext.extend_from_slice(&(k.len() as i16).to_be_bytes());
            ext.extend_from_slice(k.as_bytes());
            ext.extend_from_slice(&(v.len() as i32).to_be_bytes());
            ext.extend_from_slice(v.as_bytes());
        }
    }
    out.extend_from_slice(&(ext.len() as i32).to_be_bytes());
    out.extend_from_slice(&ext);
    out
}

/// Frames whose exchange is about `code` (requests with that code and responses to them).
pub fn frames_for(code: i32) -> Vec<GoldenFrame> {
    golden_frames()
        .into_iter()
        .filter(|f| f.request_code_of_exchange() == Some(code))
        .collect()
}
