//! The recorded traffic of `compat-tests/fixtures/golden/captures/`: one JSON line per frame a
//! Java client, broker or namesrv sent (see /work/shared/golden/README.md for the fields), as
//! the replay tests send it again to our servers and compare the answers.

use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use remoting_codec::{ExtFields, LanguageCode, RemotingCommand, SerializeType};
use serde_json::Value;

/// The captures directory, found from this crate's place in the repository so that every
/// caller gets the same one.
pub fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../compat-tests/fixtures/golden/captures")
}

/// One recorded frame: its file and line (for failure messages), the JSON record and the
/// decoded body.
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
    /// The recorded TCP connection's number within its file.
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
    /// Sent by the connecting side (client → server).
    pub fn is_c2s(&self) -> bool {
        self.record["dir"] == "c2s"
    }
    /// On a connection to the recorded namesrv (port 9876).
    pub fn to_namesrv(&self) -> bool {
        self.record["server_port"] == 9876
    }
    /// On a connection to the recorded broker (port 10911).
    pub fn to_broker(&self) -> bool {
        self.record["server_port"] == 10911
    }
    /// Header in the binary `ROCKETMQ` serialization (else JSON).
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
    /// `file:line (code N)`, where a failure message points.
    pub fn at(&self) -> String {
        format!("{}:{} (code {})", self.file, self.line, self.code())
    }

    /// The command this frame describes (opaque as recorded; a connection that sends it gives
    /// it a fresh one).
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

/// Every frame of one capture file (relative to [`captures_dir`]), in capture order.
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
/// opaque, flagged as a response (anywhere in the file: the namesrv captures have one
/// exchange per opaque and connection).
pub fn recorded_response<'a>(frames: &'a [Frame], request: &Frame) -> Option<&'a Frame> {
    frames.iter().find(|f| {
        f.conn() == request.conn()
            && f.is_response()
            && !f.is_c2s()
            && f.opaque() == request.opaque()
    })
}

/// The index of the broker's recorded response to the request at `i`: the first frame after
/// it on the same connection to the broker, other direction, same opaque, flagged as a
/// response.
pub fn recorded_broker_response(frames: &[Frame], i: usize) -> Option<usize> {
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

/// Sorts every array in `v`, recursively, so that two JSON bodies compare as equal when their
/// arrays hold the same items in another order: Java writes HashSet and HashMap iterations
/// (topic lists, broker names, queue datas, client ids) in an order nobody promises.
pub fn sort_arrays_as_sets(v: &mut Value) {
    match v {
        Value::Array(items) => {
            items.iter_mut().for_each(sort_arrays_as_sets);
            items.sort_by_key(|a| a.to_string());
        }
        Value::Object(map) => map.values_mut().for_each(sort_arrays_as_sets),
        _ => {}
    }
}
