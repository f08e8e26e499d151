//! The comparison of the admin-plane replay (`replay_mqadmin.rs`): one of our answers (or one
//! request our broker sent a client) against the recorded Java one, with the exceptions of
//! [`EXCEPTIONS`], each narrow (one code, one field) and each checked for shape.

use std::collections::BTreeMap;

use remoting_codec::code::request as req;
use remoting_codec::fastjson;
use remoting_codec::{RemotingCommand, SerializeType};
use serde_json::Value;
use test_support::capture::sort_arrays_as_sets;

use super::compare::compare_messages;
use super::{Frame, RecordedClock};

/// What differs between Java's run and ours for reasons that are not behaviour.
pub struct Context {
    /// Our broker's `127.0.0.1:<free port>`; Java's was `127.0.0.1:10911`.
    pub broker_addr: String,
    /// Our `storePathCommitLog`.
    pub commitlog_path: String,
    /// How much later our broker stored the scenario's first message than Java did: recorded
    /// store times in requests (`resetOffsetByTime -s`) are sent shifted by it.
    pub store_shift_ms: i64,
}

/// Where an exception applies: a header field, or a path into a JSON body (`*` = any key).
#[derive(Clone, Copy)]
pub enum Field {
    Ext(&'static str),
    Json(&'static str),
}

/// One exception: the field is not compared by value, only by [`Exception::shape`] (ours
/// must pass it, and be a string / number where Java's is one).
pub struct Exception {
    pub code: i32,
    pub field: Field,
    pub shape: fn(&str) -> bool,
    pub why: &'static str,
}

const RUNTIME_INFO: i32 = req::GET_BROKER_RUNTIME_INFO;
const NAMESRV_CONFIG: i32 = req::GET_NAMESRV_CONFIG;

/// Every exception of the admin replay.
pub const EXCEPTIONS: &[Exception] = &[
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("listenPort"),
        shape: integer,
        why: "our namesrv listens on a free port",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("rocketmqHome"),
        shape: absolute_path,
        why: "the test's ROCKETMQ_HOME (Java's was /opt/rocketmq)",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("kvConfigPath"),
        shape: absolute_path,
        why: "under the test's home directory",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("configStorePath"),
        shape: absolute_path,
        why: "under the test's home directory",
    },
    Exception {
        code: req::SEND_MESSAGE_V2,
        field: Field::Ext("msgId"),
        shape: offset_msg_id,
        why: "the offsetMsgId encodes the store host's port (a free port here); its IP and \
              commitlog offset parts are compared exactly",
    },
    Exception {
        code: req::QUERY_MESSAGE,
        field: Field::Ext("indexLastUpdateTimestamp"),
        shape: integer,
        why: "the store time of the last indexed message: our store's clock",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.bootTimestamp"),
        shape: integer,
        why: "the broker's start time",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.runtime"),
        shape: runtime_text,
        why: "how long the broker has run",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDiskRatio"),
        shape: decimal,
        why: "this machine's disk use",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDiskRatio_*"),
        shape: decimal,
        why: "this machine's disk use; the key names the store path, ours must name ours",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.consumeQueueDiskRatio"),
        shape: decimal,
        why: "this machine's disk use",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDirCapacity"),
        shape: capacity_text,
        why: "this machine's disk size and free space",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.remainHowManyDataToFlush"),
        shape: size_text,
        why: "how much the asynchronous flush has not written yet: flush timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putTps"),
        shape: tps_text,
        why: "rates over the last 10 s / 60 s / 600 s of samples: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getFoundTps"),
        shape: tps_text,
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getMissTps"),
        shape: tps_text,
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getTransferedTps"),
        shape: tps_text,
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getTotalTps"),
        shape: tps_text,
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putMessageDistributeTime"),
        shape: latency_histogram,
        why: "put latencies by bucket (\"null\" before the first minute's rotation): timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putLatency99"),
        shape: decimal,
        why: "put latency percentile: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putLatency999"),
        shape: decimal,
        why: "put latency percentile: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putMessageEntireTimeMax"),
        shape: integer,
        why: "the slowest put in ms: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getMessageEntireTimeMax"),
        shape: integer,
        why: "the slowest get in ms: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.pageCacheLockTimeMills"),
        shape: integer,
        why: "how long the put lock is held right now: timing",
    },
];

/// The exceptions of one request code (its answer, or the request the broker sent).
fn exceptions(code: i32) -> impl Iterator<Item = &'static Exception> {
    EXCEPTIONS.iter().filter(move |e| e.code == code)
}

/// Our answer to `request` against Java's answer `theirs`: code, remark, header serialization,
/// `extFields` (names and values), body (stored records message by message, JSON as values
/// with arrays as sets), each modulo [`EXCEPTIONS`].
pub fn compare_answer(
    request: &Frame,
    theirs: &Frame,
    ours: &RemotingCommand,
    cx: &Context,
) -> Result<(), String> {
    if ours.code != theirs.code() || ours.remark.as_deref() != theirs.remark() {
        return Err(format!(
            "code {} remark {:?}, Java {} remark {:?}",
            ours.code,
            ours.remark,
            theirs.code(),
            theirs.remark()
        ));
    }
    if ours.serialize_type != request.to_command().serialize_type {
        return Err("answered in another header serialization".into());
    }
    if ours.serialize_type == SerializeType::Json
        && ours.ext_fields.is_some() != theirs.ext_fields().is_some()
    {
        return Err(format!(
            "extFields present: {}, Java: {}",
            ours.ext_fields.is_some(),
            theirs.ext_fields().is_some()
        ));
    }
    compare_ext(request.code(), &theirs.to_command(), ours, |_, _| None)?;
    compare_body(
        request.code(),
        request.to_command().version,
        &theirs.body,
        &ours.body,
        cx,
    )
}

/// A request our broker sent a client (RESET_CONSUMER_CLIENT_OFFSET, GET_CONSUMER_RUNNING_INFO,
/// CONSUME_MESSAGE_DIRECTLY) against the one Java's sent.
pub fn compare_broker_request(
    theirs: &Frame,
    ours: &RemotingCommand,
    cx: &Context,
) -> Result<(), String> {
    if ours.code != theirs.code() || ours.is_oneway() != theirs.is_oneway() {
        return Err(format!(
            "code {} oneway {}, Java {} oneway {}",
            ours.code,
            ours.is_oneway(),
            theirs.code(),
            theirs.is_oneway()
        ));
    }
    let shift = cx.store_shift_ms;
    compare_ext(theirs.code(), &theirs.to_command(), ours, |key, value| {
        // RESET_CONSUMER_CLIENT_OFFSET carries the admin's timestamp, which we sent shifted.
        (theirs.code() == req::RESET_CONSUMER_CLIENT_OFFSET && key == "timestamp").then(|| {
            value
                .parse::<i64>()
                .map(|v| (v - shift).to_string())
                .unwrap_or_else(|_| value.to_owned())
        })
    })?;
    compare_body(theirs.code(), 0, &theirs.body, &ours.body, cx)
}

/// `extFields` names and values; `unshift` may map one of ours back to the recorded clock.
fn compare_ext(
    code: i32,
    theirs: &RemotingCommand,
    ours: &RemotingCommand,
    unshift: impl Fn(&str, &str) -> Option<String>,
) -> Result<(), String> {
    let collect = |c: &RemotingCommand| -> BTreeMap<String, String> {
        c.ext_fields
            .iter()
            .flat_map(|e| e.iter())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let (mut o, mut t) = (collect(ours), collect(theirs));
    for (key, value) in o.iter_mut() {
        if let Some(v) = unshift(key, value) {
            *value = v;
        }
    }
    for e in exceptions(code) {
        let Field::Ext(key) = e.field else { continue };
        if let (Some(ov), Some(tv)) = (o.get(key), t.get(key)) {
            if !(e.shape)(ov) || (e.shape)(tv) != (e.shape)(ov) {
                return Err(format!("{key} {ov:?} is not shaped as Java's {tv:?}"));
            }
            if key == "msgId" {
                // The IP and the commitlog offset of an offsetMsgId are ours to match.
                let strip = |s: &str| format!("{}{}", &s[..8], &s[16..]);
                if strip(ov) != strip(tv) {
                    return Err(format!("msgId {ov}, Java {tv} (port apart)"));
                }
            }
            o.remove(key);
            t.remove(key);
        }
    }
    if o != t {
        return Err(format!("extFields {o:?}, Java {t:?}"));
    }
    Ok(())
}

/// Bodies: stored records (pull, query, view, consume directly) message by message; anything
/// else as JSON values.
fn compare_body(
    code: i32,
    request_version: i32,
    theirs: &[u8],
    ours: &[u8],
    cx: &Context,
) -> Result<(), String> {
    if matches!(
        code,
        req::PULL_MESSAGE
            | req::QUERY_MESSAGE
            | req::VIEW_MESSAGE_BY_ID
            | req::CONSUME_MESSAGE_DIRECTLY
    ) {
        return compare_messages(theirs, ours, RecordedClock::default());
    }
    if theirs.is_empty() || ours.is_empty() {
        if theirs.is_empty() != ours.is_empty() {
            return Err(format!(
                "body {:?}, Java {:?}",
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(theirs)
            ));
        }
        return Ok(());
    }
    // Addresses of our broker name a free port: written as Java's before comparing.
    let ours_text = String::from_utf8_lossy(ours).replace(&cx.broker_addr, "127.0.0.1:10911");
    let (mut o, mut t) = if code == NAMESRV_CONFIG {
        // A java.util.Properties text, one `key=value` a line, in HashMap order.
        (properties(ours_text.as_bytes()), properties(theirs))
    } else {
        (
            fastjson::from_slice_value(ours_text.as_bytes()).map_err(|e| e.to_string())?,
            fastjson::from_slice_value(theirs).map_err(|e| e.to_string())?,
        )
    };
    if code == req::GET_ROUTEINFO_BY_TOPIC && request_version >= V5_0_0 {
        drop_acting_master(&mut o)?;
    }
    if code == RUNTIME_INFO {
        rename_disk_ratio_key(&mut o, &t, &cx.commitlog_path)?;
    }
    for e in exceptions(code) {
        let Field::Json(path) = e.field else { continue };
        let path: Vec<&str> = path.split('.').collect();
        let mut pairs = Vec::new();
        collect_pairs(&mut o, &mut t, &path, &mut pairs)?;
        for (ov, tv) in pairs {
            check_shape(e, ov, tv)?;
        }
    }
    sort_arrays_as_sets(&mut o);
    sort_arrays_as_sets(&mut t);
    if o != t {
        return Err(format!("body\n  ours: {o}\n  Java: {t}"));
    }
    Ok(())
}

/// The version of a 5.0.0 client (`MQVersion.Version.V5_0_0.ordinal()`).
const V5_0_0: i32 = remoting_codec::code::version::V5_0_0;

/// Our namesrv writes `enableActingMaster: false` into every broker entry of a route for a 5.x
/// client (a deliberate choice, commit 48901cc "namesrv: routes for 5.x clients carry
/// enableActingMaster in every broker entry": 5.x-protocol clients need the field); a 4.9.8
/// namesrv never writes it. The field is taken out of ours, and only with the value `false`.
fn drop_acting_master(o: &mut Value) -> Result<(), String> {
    for broker in o["brokerDatas"].as_array_mut().into_iter().flatten() {
        if let Some(v) = broker
            .as_object_mut()
            .and_then(|b| b.remove("enableActingMaster"))
        {
            if v != Value::Bool(false) {
                return Err(format!("enableActingMaster {v} in our route"));
            }
        }
    }
    Ok(())
}

/// A java.util.Properties text as a JSON object of strings.
fn properties(text: &[u8]) -> Value {
    Value::Object(
        String::from_utf8_lossy(text)
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                (k.to_owned(), Value::String(v.to_owned()))
            })
            .collect(),
    )
}

/// `table.commitLogDiskRatio_<path>`: ours must name our commitlog path; it is then keyed as
/// Java's.
fn rename_disk_ratio_key(o: &mut Value, t: &Value, our_path: &str) -> Result<(), String> {
    const PREFIX: &str = "commitLogDiskRatio_";
    let Some(java_key) = t["table"]
        .as_object()
        .and_then(|m| m.keys().find(|k| k.starts_with(PREFIX)))
    else {
        return Ok(());
    };
    let table = o["table"].as_object_mut().ok_or("no table")?;
    let ours = format!("{PREFIX}{our_path}");
    let value = table
        .remove(&ours)
        .ok_or_else(|| format!("no {ours} in our runtime info"))?;
    table.insert(java_key.clone(), value);
    Ok(())
}

/// The pairs (ours, Java's) at `path` (a segment `x*` matches every key starting with `x`),
/// each replaced by `null` in both trees once taken, so that the equality check that follows
/// skips them. A key Java has and we lack is a difference.
fn collect_pairs(
    o: &mut Value,
    t: &mut Value,
    path: &[&str],
    out: &mut Vec<(Value, Value)>,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        out.push((o.take(), t.take()));
        return Ok(());
    };
    let (Some(om), Some(tm)) = (o.as_object_mut(), t.as_object_mut()) else {
        return Ok(());
    };
    let keys: Vec<String> = match head.strip_suffix('*') {
        Some(prefix) => tm
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect(),
        None => vec![head.to_string()],
    };
    for key in keys {
        let Some(tv) = tm.get_mut(&key) else { continue };
        let Some(ov) = om.get_mut(&key) else {
            return Err(format!("no {key:?} in our body (Java: {tv})"));
        };
        collect_pairs(ov, tv, rest, out)?;
    }
    Ok(())
}

fn check_shape(e: &Exception, ours: Value, theirs: Value) -> Result<(), String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let same_kind = matches!(
        (&ours, &theirs),
        (Value::String(_), Value::String(_)) | (Value::Number(_), Value::Number(_))
    );
    match (text(&ours), text(&theirs)) {
        (Some(o), Some(t)) if same_kind && (e.shape)(&o) && (e.shape)(&t) => Ok(()),
        _ => Err(format!(
            "{:?}: ours {ours} is not shaped as Java's {theirs} ({})",
            match e.field {
                Field::Ext(k) | Field::Json(k) => k,
            },
            e.why
        )),
    }
}

// Shapes.

pub fn absolute_path(s: &str) -> bool {
    s.starts_with('/')
}

pub fn integer(s: &str) -> bool {
    s.parse::<i64>().is_ok()
}

pub fn decimal(s: &str) -> bool {
    s.parse::<f64>().is_ok()
}

/// 32 hex digits: IPv4 (8), port (8), commitlog offset (16).
pub fn offset_msg_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `[ 0 days, 0 hours, 0 minutes, 7 seconds ]`
pub fn runtime_text(s: &str) -> bool {
    let Some(inner) = s.strip_prefix("[ ").and_then(|s| s.strip_suffix(" ]")) else {
        return false;
    };
    let parts: Vec<&str> = inner.split(", ").collect();
    parts.len() == 4
        && parts
            .iter()
            .zip(["days", "hours", "minutes", "seconds"])
            .all(|(p, unit)| {
                p.split_once(' ')
                    .is_some_and(|(n, u)| integer(n) && u == unit)
            })
}

/// `Total : 252.0 GiB, Free : 70.2 GiB.`
pub fn capacity_text(s: &str) -> bool {
    let Some(inner) = s.strip_prefix("Total : ").and_then(|s| s.strip_suffix('.')) else {
        return false;
    };
    inner
        .split_once(", Free : ")
        .is_some_and(|(total, free)| size_text(total) && size_text(free))
}

/// `0 B`, `1.5 KiB`, `252.0 GiB`.
pub fn size_text(s: &str) -> bool {
    s.split_once(' ').is_some_and(|(n, unit)| {
        decimal(n) && ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"].contains(&unit)
    })
}

/// Space-separated rates (`0.0 0.18 `), or only spaces before enough samples.
pub fn tps_text(s: &str) -> bool {
    s.split(' ').filter(|p| !p.is_empty()).all(decimal)
}

/// `null`, or `[<=0ms]:18 [0~10ms]:9 … [10s~]:0 `.
pub fn latency_histogram(s: &str) -> bool {
    s == "null"
        || s.split(' ').filter(|p| !p.is_empty()).all(|p| {
            p.starts_with('[')
                && p.rsplit_once("]:")
                    .is_some_and(|(_, n)| n.parse::<u64>().is_ok())
        })
}
