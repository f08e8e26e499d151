//! The comparison of the admin-plane replay (`replay_mqadmin.rs`): one of our answers (or one
//! request our broker sent a client) against the recorded Java one, with the exceptions of
//! [`EXCEPTIONS`], each narrow (one code, one field) and each checked for shape.

use std::collections::BTreeMap;

use remoting_codec::code::{request as req, response as resp};
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
    /// The wall clock (ms) just before our servers started: a time our broker reports (a
    /// store time, its config's DataVersion) lies between it and the answer.
    pub started_ms: i64,
    /// The live clients' broker connections: (ours, Java's) `127.0.0.1:<port>`, for the file
    /// being replayed. Ours are read as Java's in bodies (connection lists).
    pub client_addrs: Vec<(String, String)>,
    /// The settings our broker runs with unlike Java's broker.conf (ports, paths, the
    /// namesrv address, the test's own settings): in GET_BROKER_CONFIG, ours must list each
    /// with this value, and it is then read as Java's.
    pub our_conf: Vec<(String, String)>,
    /// The queue data of each topic in the routes Java's namesrv answered in the file being
    /// replayed (`queueDatas[0]`).
    pub recorded_routes: BTreeMap<String, Value>,
}

/// Where an exception applies: a header field, or a path into a JSON body (`*` = any key).
#[derive(Clone, Copy)]
pub enum Field {
    Ext(&'static str),
    Json(&'static str),
}

/// What is checked of an excepted field instead of its value.
#[derive(Clone, Copy)]
pub enum Shape {
    /// Ours and Java's both pass it (and ours is a string / number where Java's is one).
    Text(fn(&str) -> bool),
    /// A wall-clock time in ms: Java's one of its run (a 2020s epoch time), ours one of this
    /// run (between [`Context::started_ms`] and now).
    TimeOfRun,
}

/// One exception: the field is not compared by value, only by [`Exception::shape`]. A value
/// equal to Java's always passes (a 0 where Java has 0, for instance).
pub struct Exception {
    pub code: i32,
    pub field: Field,
    pub shape: Shape,
    pub why: &'static str,
}

use Shape::{Text, TimeOfRun};

const RUNTIME_INFO: i32 = req::GET_BROKER_RUNTIME_INFO;
const NAMESRV_CONFIG: i32 = req::GET_NAMESRV_CONFIG;
const BROKER_CONFIG: i32 = req::GET_BROKER_CONFIG;

/// Every exception of the admin replay.
pub const EXCEPTIONS: &[Exception] = &[
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("listenPort"),
        shape: Text(integer),
        why: "our namesrv listens on a free port",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("rocketmqHome"),
        shape: Text(absolute_path),
        why: "the test's ROCKETMQ_HOME (Java's was /opt/rocketmq)",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("kvConfigPath"),
        shape: Text(absolute_path),
        why: "under the test's home directory",
    },
    Exception {
        code: NAMESRV_CONFIG,
        field: Field::Json("configStorePath"),
        shape: Text(absolute_path),
        why: "under the test's home directory",
    },
    Exception {
        code: req::SEND_MESSAGE_V2,
        field: Field::Ext("msgId"),
        shape: Text(offset_msg_id),
        why: "the offsetMsgId encodes the store host's port (a free port here); its IP and \
              commitlog offset parts are compared exactly",
    },
    Exception {
        code: req::QUERY_MESSAGE,
        field: Field::Ext("indexLastUpdateTimestamp"),
        shape: Text(integer),
        why: "the store time of the last indexed message: our store's clock",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.bootTimestamp"),
        shape: Text(integer),
        why: "the broker's start time",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.runtime"),
        shape: Text(runtime_text),
        why: "how long the broker has run",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDiskRatio"),
        shape: Text(decimal),
        why: "this machine's disk use",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDiskRatio_*"),
        shape: Text(decimal),
        why: "this machine's disk use; the key names the store path, ours must name ours",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.consumeQueueDiskRatio"),
        shape: Text(decimal),
        why: "this machine's disk use",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.commitLogDirCapacity"),
        shape: Text(capacity_text),
        why: "this machine's disk size and free space",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.remainHowManyDataToFlush"),
        shape: Text(size_text),
        why: "how much the asynchronous flush has not written yet: flush timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putTps"),
        shape: Text(tps_text),
        why: "rates over the last 10 s / 60 s / 600 s of samples: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getFoundTps"),
        shape: Text(tps_text),
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getMissTps"),
        shape: Text(tps_text),
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getTransferedTps"),
        shape: Text(tps_text),
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getTotalTps"),
        shape: Text(tps_text),
        why: "rates over sampling windows: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putMessageDistributeTime"),
        shape: Text(latency_histogram),
        why: "put latencies by bucket (\"null\" before the first minute's rotation): timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putLatency99"),
        shape: Text(decimal),
        why: "put latency percentile: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putLatency999"),
        shape: Text(decimal),
        why: "put latency percentile: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.putMessageEntireTimeMax"),
        shape: Text(integer),
        why: "the slowest put in ms: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.getMessageEntireTimeMax"),
        shape: Text(integer),
        why: "the slowest get in ms: timing",
    },
    Exception {
        code: RUNTIME_INFO,
        field: Field::Json("table.pageCacheLockTimeMills"),
        shape: Text(integer),
        why: "how long the put lock is held right now: timing",
    },
    Exception {
        code: BROKER_CONFIG,
        field: Field::Json("brokerIP2"),
        shape: Text(ipv4),
        why: "defaults to the machine's address (Java's ran in a namespace with only lo)",
    },
    Exception {
        code: BROKER_CONFIG,
        field: Field::Ext("version"),
        shape: TimeOfRun,
        why: "the DataVersion of the broker's Configuration: its `timestamp` is the broker's \
              start (Java's `new DataVersion()`); its `counter` is compared exactly",
    },
    Exception {
        code: req::GET_TOPIC_STATS_INFO,
        field: Field::Json("offsetTable.*.lastUpdateTimestamp"),
        shape: TimeOfRun,
        why: "the store time of the queue's last message: our store's clock",
    },
    Exception {
        code: req::GET_CONSUME_STATS,
        field: Field::Json("offsetTable.*.lastTimestamp"),
        shape: TimeOfRun,
        why: "the store time of the last message the group consumed: our store's clock",
    },
    Exception {
        code: req::GET_CONSUME_STATS,
        field: Field::Json("consumeTps"),
        shape: Text(decimal),
        why: "the group's pulls per second over the last minute's 10 s samples: the replay \
              runs in seconds what Java ran in minutes",
    },
    Exception {
        code: req::GET_BROKER_CONSUME_STATS,
        field: Field::Json("consumeStatsList.[].*.[].offsetTable.*.lastTimestamp"),
        shape: TimeOfRun,
        why: "as GET_CONSUME_STATS lastTimestamp, for each group: our store's clock",
    },
    Exception {
        code: req::GET_BROKER_CONSUME_STATS,
        field: Field::Json("consumeStatsList.[].*.[].consumeTps"),
        shape: Text(decimal),
        why: "as GET_CONSUME_STATS consumeTps, for each group: timing",
    },
    Exception {
        code: req::VIEW_BROKER_STATS_DATA,
        field: Field::Json("statsMinute.sum"),
        shape: Text(integer),
        why: "the count over the last minute's 10 s samples: Java's puts and pulls were \
              minutes earlier than the command, ours seconds",
    },
    Exception {
        code: req::VIEW_BROKER_STATS_DATA,
        field: Field::Json("statsMinute.tps"),
        shape: Text(decimal),
        why: "the rate over the last minute's 10 s samples: timing, as statsMinute.sum",
    },
    Exception {
        code: req::VIEW_BROKER_STATS_DATA,
        field: Field::Json("statsMinute.avgpt"),
        shape: Text(decimal),
        why: "the mean per call over the last minute's samples: timing, as statsMinute.sum",
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
    if request.code() == req::GET_TOPIC_CONFIG && theirs.code() == resp::REQUEST_CODE_NOT_SUPPORTED
    {
        return served_as_5x_broker(request, ours, cx);
    }
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
    compare_ext(request.code(), &theirs.to_command(), ours, cx, |_, _| None)?;
    // Answers carrying stored records; CONSUME_MESSAGE_DIRECTLY's answer is the client's
    // JSON result (its request to the client carries the record).
    let records = matches!(
        request.code(),
        req::PULL_MESSAGE | req::QUERY_MESSAGE | req::VIEW_MESSAGE_BY_ID
    );
    compare_body(
        request.code(),
        records,
        request.to_command().version,
        &theirs.body,
        &ours.body,
        cx,
    )
}

/// GET_TOPIC_CONFIG (351), a 5.x code the 5.3.3 mqadmin sends (`topicStatus`): a 4.9.8 broker
/// answers REQUEST_CODE_NOT_SUPPORTED, ours serves it as a 5.3.3 broker does (a deliberate
/// choice, commit 23c2cda "5.x 351/18/225"; `processor/topic_admin.rs`). The answer must be
/// SUCCESS with the asked topic's config as a `TopicConfigAndQueueMapping`, its queues and
/// permission those of Java's route for the topic in the same file. It is the recorded file's last request, so nothing
/// compared depends on which answer it got.
fn served_as_5x_broker(
    request: &Frame,
    ours: &RemotingCommand,
    cx: &Context,
) -> Result<(), String> {
    let body: Value = fastjson::from_slice_value(&ours.body).map_err(|e| e.to_string())?;
    let topic = request.ext_field("topic").unwrap_or_default();
    // Its queues and permission as Java's namesrv routed the topic.
    let as_routed = cx.recorded_routes.get(topic).is_some_and(|queues| {
        ["perm", "readQueueNums", "writeQueueNums", "topicSysFlag"]
            .iter()
            .all(|k| body[k] == queues[k])
    });
    if ours.code != resp::SUCCESS || body["topicName"].as_str() != Some(topic) || !as_routed {
        return Err(format!(
            "5.x GET_TOPIC_CONFIG: code {} remark {:?} body {body}",
            ours.code, ours.remark
        ));
    }
    Ok(())
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
    compare_ext(
        theirs.code(),
        &theirs.to_command(),
        ours,
        cx,
        |key, value| {
            // RESET_CONSUMER_CLIENT_OFFSET carries the admin's timestamp, which we sent shifted.
            (theirs.code() == req::RESET_CONSUMER_CLIENT_OFFSET && key == "timestamp").then(|| {
                value
                    .parse::<i64>()
                    .map(|v| (v - shift).to_string())
                    .unwrap_or_else(|_| value.to_owned())
            })
        },
    )?;
    let records = theirs.code() == req::CONSUME_MESSAGE_DIRECTLY;
    compare_body(theirs.code(), records, 0, &theirs.body, &ours.body, cx)
}

/// `extFields` names and values; `unshift` may map one of ours back to the recorded clock.
fn compare_ext(
    code: i32,
    theirs: &RemotingCommand,
    ours: &RemotingCommand,
    cx: &Context,
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
            if key == "version" {
                // A DataVersion `{"counter":N,"timestamp":T}`: the counter is compared.
                compare_data_version(ov, tv, cx)?;
            } else if !e.shape.passes(ov, tv, cx) {
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

/// A DataVersion in an `extFields` value: every field as Java's but `timestamp`, a time of the
/// run.
fn compare_data_version(ours: &str, theirs: &str, cx: &Context) -> Result<(), String> {
    let parse = |s: &str| {
        serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object)
    };
    let (Some(mut o), Some(mut t)) = (parse(ours), parse(theirs)) else {
        return Err(format!(
            "version {ours:?} is not a DataVersion as Java's {theirs:?}"
        ));
    };
    let (ot, tt) = (o["timestamp"].take(), t["timestamp"].take());
    if o != t || !TimeOfRun.passes(&ot.to_string(), &tt.to_string(), cx) {
        return Err(format!(
            "version {ours:?}, Java {theirs:?} (timestamp apart)"
        ));
    }
    Ok(())
}

impl Shape {
    /// Whether ours passes where Java's is `theirs` (both as text).
    fn passes(&self, ours: &str, theirs: &str, cx: &Context) -> bool {
        if ours == theirs {
            return true;
        }
        match self {
            Text(shape) => shape(ours) && shape(theirs) == shape(ours),
            TimeOfRun => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as i64;
                let (Ok(o), Ok(t)) = (ours.parse::<i64>(), theirs.parse::<i64>()) else {
                    return false;
                };
                // 2020-01-01 .. 2100-01-01: Java's is a time, not a 0 or a count.
                (1_577_836_800_000..4_102_444_800_000).contains(&t)
                    && (cx.started_ms..=now).contains(&o)
            }
        }
    }
}

/// Bodies: stored `records` (pull, query, view answers; the record the broker sends with
/// CONSUME_MESSAGE_DIRECTLY) message by message; anything else as JSON values (or properties).
fn compare_body(
    code: i32,
    records: bool,
    request_version: i32,
    theirs: &[u8],
    ours: &[u8],
    cx: &Context,
) -> Result<(), String> {
    if records {
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
    let mut ours_text = String::from_utf8_lossy(ours).replace(&cx.broker_addr, "127.0.0.1:10911");
    // The live clients' connections name our ephemeral ports: written as Java's (a whole
    // JSON string, so that no longer port is touched).
    for (our_addr, java_addr) in &cx.client_addrs {
        ours_text = ours_text.replace(&format!("\"{our_addr}\""), &format!("\"{java_addr}\""));
    }
    let (mut o, mut t) = if code == NAMESRV_CONFIG || code == BROKER_CONFIG {
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
    if code == BROKER_CONFIG {
        read_our_conf_as_java(&mut o, &t, &cx.our_conf)?;
    }
    // Arrays are sets: both sides' arrays in one order, decided without the excepted fields,
    // so that `[]` in a path pairs elements by position.
    for tree in [&mut o, &mut t] {
        let mut key = tree.clone();
        for e in exceptions(code) {
            if let Field::Json(path) = e.field {
                mask(&mut key, &path.split('.').collect::<Vec<_>>());
            }
        }
        sort_as_sets_by(tree, &mut key);
    }
    for e in exceptions(code) {
        let Field::Json(path) = e.field else { continue };
        let path: Vec<&str> = path.split('.').collect();
        let mut pairs = Vec::new();
        collect_pairs(&mut o, &mut t, &path, &mut pairs)?;
        for (ov, tv) in pairs {
            check_shape(e, ov, tv, cx)?;
        }
    }
    sort_arrays_as_sets(&mut o);
    sort_arrays_as_sets(&mut t);
    if o != t {
        return Err(match (o.as_object(), t.as_object()) {
            // Objects: the keys that differ.
            (Some(om), Some(tm)) => {
                let keys: std::collections::BTreeSet<&String> =
                    om.keys().chain(tm.keys()).collect();
                keys.into_iter()
                    .filter(|k| om.get(*k) != tm.get(*k))
                    .map(|k| format!("\n  {k}: ours {:?}, Java {:?}", om.get(k), tm.get(k)))
                    .fold("body".to_owned(), |text, line| text + &line)
            }
            _ => format!("body\n  ours: {o}\n  Java: {t}"),
        });
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

/// GET_BROKER_CONFIG: each setting of [`Context::our_conf`] listed by both must have our
/// value, and is then taken as Java's.
fn read_our_conf_as_java(
    o: &mut Value,
    t: &Value,
    our_conf: &[(String, String)],
) -> Result<(), String> {
    for (key, value) in our_conf {
        let (Some(ov), Some(tv)) = (o.get_mut(key), t.get(key)) else {
            continue;
        };
        if ov.as_str() != Some(value) {
            return Err(format!("{key}: ours {ov}, our broker.conf {value:?}"));
        }
        *ov = tv.clone();
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

/// Whether a path segment names `key`: `x*` matches every key starting with `x`.
fn segment_matches(segment: &str, key: &str) -> bool {
    match segment.strip_suffix('*') {
        Some(prefix) => key.starts_with(prefix),
        None => segment == key,
    }
}

/// `v` with the values at `path` replaced by `null`.
fn mask(v: &mut Value, path: &[&str]) {
    let Some((head, rest)) = path.split_first() else {
        *v = Value::Null;
        return;
    };
    match v {
        Value::Array(items) if *head == "[]" => items.iter_mut().for_each(|e| mask(e, rest)),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(k, _)| segment_matches(head, k))
            .for_each(|(_, e)| mask(e, rest)),
        _ => {}
    }
}

/// Sorts every array of `v` (inner ones first) by the text of the same element of `key`, a
/// copy of `v` with some fields masked; `key` is sorted along.
fn sort_as_sets_by(v: &mut Value, key: &mut Value) {
    match (v, key) {
        (Value::Array(items), Value::Array(keys)) => {
            for (item, key) in items.iter_mut().zip(keys.iter_mut()) {
                sort_as_sets_by(item, key);
            }
            let mut both: Vec<(Value, Value)> = items.drain(..).zip(keys.drain(..)).collect();
            both.sort_by_key(|(_, key)| key.to_string());
            for (item, key) in both {
                items.push(item);
                keys.push(key);
            }
        }
        (Value::Object(map), Value::Object(keys)) => {
            for (k, item) in map.iter_mut() {
                if let Some(key) = keys.get_mut(k) {
                    sort_as_sets_by(item, key);
                }
            }
        }
        _ => {}
    }
}

/// The pairs (ours, Java's) at `path` (a segment `x*` matches every key starting with `x`,
/// `[]` every element of an array, paired by position: the arrays are sorted alike first),
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
    if *head == "[]" {
        let (Some(oa), Some(ta)) = (o.as_array_mut(), t.as_array_mut()) else {
            return Ok(());
        };
        if oa.len() != ta.len() {
            return Err(format!("{} elements where Java has {}", oa.len(), ta.len()));
        }
        for (ov, tv) in oa.iter_mut().zip(ta.iter_mut()) {
            collect_pairs(ov, tv, rest, out)?;
        }
        return Ok(());
    }
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

fn check_shape(e: &Exception, ours: Value, theirs: Value, cx: &Context) -> Result<(), String> {
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
        (Some(o), Some(t)) if same_kind && e.shape.passes(&o, &t, cx) => Ok(()),
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

pub fn ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
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
