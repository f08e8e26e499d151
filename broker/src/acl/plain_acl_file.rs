//! plain_acl.yml as Java's `AclUtils` reads and writes it (SnakeYAML there, `serde_norway`
//! here — the maintained fork of the archived `serde_yaml`; its emitter writes the block style
//! SnakeYAML's `dumpAsMap` writes, compared with the recorded after-files in the tests).
//!
//! Reading: a file that does not exist, or holds nothing, is "no data". The accounts' fields
//! are read the way fastjson converts SnakeYAML's values: a number or boolean where a string is
//! expected becomes its text (`secretKey: 12345678`).
//!
//! Writing (the ACL admin codes): the whole document is read as a map, changed and written
//! back in place (`FileWriter`, no temporary file), keeping the keys' order and the scalars'
//! types, so an untouched `secretKey: 12345678` stays a number and a new `'87654321'` is a
//! quoted string; every write puts `dataVersion: [{counter, timestamp}]` with the counter
//! + 1 and the time of the change.

use std::path::Path;

use remoting_codec::protocol::common::DataVersion;
use serde_norway::{Mapping, Value};

/// One `accounts` entry (`PlainAccessConfig`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlainAccessConfig {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub white_remote_address: Option<String>,
    pub admin: bool,
    pub default_topic_perm: Option<String>,
    pub default_group_perm: Option<String>,
    pub topic_perms: Option<Vec<String>>,
    pub group_perms: Option<Vec<String>>,
}

/// One file's contents.
#[derive(Debug, Default)]
pub struct AclFileData {
    pub global_white_remote_addresses: Vec<String>,
    pub accounts: Vec<PlainAccessConfig>,
    pub data_version: Option<DataVersion>,
}

/// Reads the document: `Ok(None)` for a missing or empty file (Java's "No data").
pub fn read_document(path: &Path) -> Result<Option<Mapping>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let value: Value = serde_norway::from_str(&text).map_err(|e| e.to_string())?;
    match value {
        Value::Null => Ok(None),
        Value::Mapping(m) if m.is_empty() => Ok(None),
        Value::Mapping(m) => Ok(Some(m)),
        _ => Err(format!("{}: not a map", path.display())),
    }
}

/// Writes the document (`AclUtils.writeDataObject`).
pub fn write_document(path: &Path, doc: &Mapping) -> Result<(), String> {
    let text = serde_norway::to_string(doc).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| e.to_string())
}

/// The text of a scalar as fastjson turns it into a `String` field.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Sequence(items) => Some(items.iter().filter_map(scalar_text).collect()),
        Value::Null => None,
        other => scalar_text(other).map(|s| vec![s]),
    }
}

/// The parts of a document the permission manager uses.
pub fn parse_document(doc: &Mapping) -> AclFileData {
    let get = |k: &str| doc.get(k);
    let accounts = match get("accounts") {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|a| a.as_mapping())
            .map(parse_account)
            .collect(),
        _ => Vec::new(),
    };
    let data_version = match get("dataVersion") {
        Some(Value::Sequence(items)) => items.first().and_then(|v| {
            Some(DataVersion {
                counter: v.get("counter").and_then(Value::as_i64).unwrap_or(0),
                state_version: None,
                timestamp: v.get("timestamp")?.as_i64()?,
            })
        }),
        _ => None,
    };
    AclFileData {
        global_white_remote_addresses: text_list(get("globalWhiteRemoteAddresses"))
            .unwrap_or_default(),
        accounts,
        data_version,
    }
}

fn parse_account(m: &Mapping) -> PlainAccessConfig {
    let text = |k: &str| m.get(k).and_then(scalar_text);
    PlainAccessConfig {
        access_key: text("accessKey"),
        secret_key: text("secretKey"),
        white_remote_address: text("whiteRemoteAddress"),
        admin: match m.get("admin") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            _ => false,
        },
        default_topic_perm: text("defaultTopicPerm"),
        default_group_perm: text("defaultGroupPerm"),
        topic_perms: text_list(m.get("topicPerms")),
        group_perms: text_list(m.get("groupPerms")),
    }
}

/// `updateAclConfigFileVersion`: the document's version + 1 at `now`, written back into it.
pub fn next_version(doc: &mut Mapping, now_ms: i64) -> DataVersion {
    let old = parse_document(doc).data_version;
    let version = DataVersion {
        counter: old.map_or(0, |v| v.counter) + 1,
        state_version: None,
        timestamp: now_ms,
    };
    let mut entry = Mapping::new();
    entry.insert("counter".into(), Value::from(version.counter));
    entry.insert("timestamp".into(), Value::from(version.timestamp));
    doc.insert(
        "dataVersion".into(),
        Value::Sequence(vec![Value::Mapping(entry)]),
    );
    version
}

/// `createAclAccessConfigMap`: the fields an update sets, into `existing` (kept in place)
/// or a new map. Java's texts for a short key or secret.
pub fn account_map(existing: Option<Mapping>, c: &PlainAccessConfig) -> Result<Mapping, String> {
    let mut m = existing.unwrap_or_default();
    let key = c.access_key.clone().unwrap_or_default();
    if key.chars().count() <= 6 {
        return Err(format!(
            "The accessKey={} cannot be null and length should longer than 6",
            c.access_key.as_deref().unwrap_or("null")
        ));
    }
    m.insert("accessKey".into(), key.into());
    if let Some(secret) = c.secret_key.as_deref().filter(|s| !s.is_empty()) {
        if secret.chars().count() <= 6 {
            return Err(format!(
                "The secretKey={secret} value length should longer than 6"
            ));
        }
        m.insert("secretKey".into(), secret.into());
    }
    if let Some(w) = &c.white_remote_address {
        m.insert("whiteRemoteAddress".into(), w.as_str().into());
    }
    m.insert("admin".into(), c.admin.into());
    if let Some(p) = c.default_topic_perm.as_deref().filter(|s| !s.is_empty()) {
        m.insert("defaultTopicPerm".into(), p.into());
    }
    if let Some(p) = c.default_group_perm.as_deref().filter(|s| !s.is_empty()) {
        m.insert("defaultGroupPerm".into(), p.into());
    }
    let list = |v: &Vec<String>| Value::Sequence(v.iter().map(|s| s.as_str().into()).collect());
    if let Some(t) = &c.topic_perms {
        m.insert("topicPerms".into(), list(t));
    }
    if let Some(g) = &c.group_perms {
        m.insert("groupPerms".into(), list(g));
    }
    Ok(m)
}

/// Whether an `accounts` entry is `access_key`'s (its `accessKey` as text).
pub fn is_account_of(entry: &Value, access_key: &str) -> bool {
    entry
        .get("accessKey")
        .and_then(scalar_text)
        .is_some_and(|k| k == access_key)
}
