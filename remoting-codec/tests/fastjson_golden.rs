//! The fastjson layer against what Java wrote: every JSON body of the recorded captures and the
//! broker's config files.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use remoting_codec::fastjson;
use remoting_codec::protocol::MessageQueue;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON tree whose map keys keep fastjson's kinds: Java wrote `0:` for an Integer key and
/// `{...}:` for a bean key. Built from the lenient reader's [`Value`] by taking back integer-like
/// keys as integers and object-like keys as objects (no recorded string key looks like either).
enum Node {
    Leaf(Value),
    Array(Vec<Node>),
    Object(Vec<(Key, Node)>),
}

enum Key {
    Str(String),
    Int(i64),
    Object(Node),
}

impl Node {
    fn from_value(v: &Value) -> Node {
        match v {
            Value::Array(items) => Node::Array(items.iter().map(Node::from_value).collect()),
            Value::Object(map) => Node::Object(
                map.iter()
                    .map(|(k, v)| (Key::from_text(k), Node::from_value(v)))
                    .collect(),
            ),
            leaf => Node::Leaf(leaf.clone()),
        }
    }
}

impl Key {
    fn from_text(k: &str) -> Key {
        if let Ok(i) = k.parse::<i64>() {
            return Key::Int(i);
        }
        if k.starts_with('{') {
            if let Ok(v) = serde_json::from_str::<Value>(k) {
                return Key::Object(Node::from_value(&v));
            }
        }
        Key::Str(k.to_owned())
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Leaf(v) => v.serialize(s),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    match k {
                        Key::Str(k) => map.serialize_key(k)?,
                        Key::Int(i) => map.serialize_key(i)?,
                        Key::Object(node) => map.serialize_key(node)?,
                    }
                    map.serialize_value(v)?;
                }
                map.end()
            }
        }
    }
}

fn config_dir() -> PathBuf {
    support::fixtures_dir().join("store-config")
}

/// Every Java-written config file (`<store>/<name>.json[.bak]`) with its text.
fn config_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for store in std::fs::read_dir(config_dir()).unwrap() {
        for file in std::fs::read_dir(store.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            files.push((path, text));
        }
    }
    files.sort();
    assert!(files.len() >= 16, "only {} config files", files.len());
    files
}

fn golden_config(store: &str, name: &str) -> String {
    std::fs::read_to_string(config_dir().join(store).join(name)).unwrap()
}

fn rel(path: &Path) -> String {
    path.strip_prefix(config_dir())
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn every_captured_json_body_reads_and_round_trips() {
    let frames = support::golden_frames();
    let (mut bodies, mut int_keys, mut object_keys, mut non_standard) = (0, 0, 0, 0);
    for f in &frames {
        if !matches!(f.body.first(), Some(b'{' | b'[')) {
            continue;
        }
        bodies += 1;
        let value =
            fastjson::from_slice_value(&f.body).unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
        let text = String::from_utf8_lossy(&f.body);
        if text.contains("{0:") || text.contains(",1:") {
            int_keys += 1;
        }
        if text.contains("{{\"brokerName\"") {
            object_keys += 1;
        }
        if serde_json::from_slice::<Value>(&f.body).is_err() {
            non_standard += 1;
        }

        let default = fastjson::to_vec(&value).unwrap();
        let again = fastjson::from_slice_value(&default).unwrap();
        assert_eq!(again, value, "{}: default form round trip", f.describe());

        let standard = fastjson::to_vec_standard(&value).unwrap();
        let strict: Value = serde_json::from_slice(&standard)
            .unwrap_or_else(|e| panic!("{}: standard form is not JSON: {e}", f.describe()));
        assert_eq!(strict, value, "{}: standard form", f.describe());

        let pretty = fastjson::to_string_pretty(&value).unwrap();
        let again = fastjson::from_str::<Value>(&pretty).unwrap();
        assert_eq!(again, value, "{}: pretty form round trip", f.describe());
    }
    assert!(bodies > 500, "only {bodies} JSON bodies");
    assert!(int_keys >= 10, "only {int_keys} bodies with integer keys");
    assert!(
        object_keys >= 10,
        "only {object_keys} bodies with object keys"
    );
    assert!(
        non_standard >= 30,
        "only {non_standard} non-standard bodies"
    );
}

/// Bodies whose map keys are MessageQueue objects read into typed maps.
#[test]
fn message_queue_keys_read_into_typed_maps() {
    let mut found = 0;
    for f in support::golden_frames() {
        let text = String::from_utf8_lossy(&f.body);
        if !text.starts_with("{\"mqTable\":{{") {
            continue;
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RunningInfo {
            mq_table: BTreeMap<MessageQueue, Value>,
        }
        let info: RunningInfo =
            fastjson::from_slice(&f.body).unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
        assert!(!info.mq_table.is_empty(), "{}", f.describe());
        for mq in info.mq_table.keys() {
            assert!(!mq.topic.is_empty() && !mq.broker_name.is_empty());
        }
        found += 1;
    }
    assert!(found > 0);
}

/// Bodies without integer or object keys are standard JSON, and our default form of what they
/// hold is Java's text byte for byte (key order, escapes, doubles).
#[test]
fn standard_looking_bodies_are_reproduced_byte_for_byte() {
    let mut checked = 0;
    let mut mismatched = Vec::new();
    for f in support::golden_frames() {
        if !matches!(f.body.first(), Some(b'{' | b'[')) {
            continue;
        }
        let Ok(value) = serde_json::from_slice::<Value>(&f.body) else {
            continue;
        };
        checked += 1;
        let ours = fastjson::to_vec(&value).unwrap();
        if ours[..] != f.body[..] {
            let std = fastjson::to_vec_standard(&value).unwrap();
            if std[..] != f.body[..] {
                mismatched.push(format!(
                    "{}\n java: {}\n ours: {}",
                    f.describe(),
                    String::from_utf8_lossy(&f.body),
                    String::from_utf8_lossy(&ours)
                ));
            }
        }
    }
    assert!(checked > 400, "only {checked}");
    assert!(mismatched.is_empty(), "{}", mismatched.join("\n"));
}

/// Bodies with integer or object keys, written back with those key kinds, are Java's text byte
/// for byte.
#[test]
fn fastjson_only_bodies_are_reproduced_byte_for_byte() {
    let mut checked = 0;
    for f in support::golden_frames() {
        if !matches!(f.body.first(), Some(b'{' | b'['))
            || serde_json::from_slice::<Value>(&f.body).is_ok()
        {
            continue;
        }
        let value = fastjson::from_slice_value(&f.body).unwrap();
        let ours = fastjson::to_vec(&Node::from_value(&value)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&f.body),
            "{}",
            f.describe()
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked}");
}

/// Every config file reads; its pretty form, written from what was read (document order, key
/// kinds restored), is the Java file byte for byte, and the default and standard forms read back
/// to the same data.
#[test]
fn every_config_file_is_reproduced_by_the_pretty_writer() {
    for (path, text) in config_files() {
        let value =
            fastjson::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{}: {e}", rel(&path)));
        let node = Node::from_value(&value);
        assert_eq!(
            fastjson::to_string_pretty(&node).unwrap(),
            text,
            "{}",
            rel(&path)
        );
        let default = fastjson::to_vec(&node).unwrap();
        assert_eq!(fastjson::from_slice_value(&default).unwrap(), value);
        let standard = fastjson::to_vec_standard(&node).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&standard).unwrap(), value);
        assert_eq!(
            fastjson::from_str::<Value>(&fastjson::to_string_pretty(&value).unwrap()).unwrap(),
            value
        );
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct OffsetTable<K: Ord> {
    offset_table: BTreeMap<K, BTreeMap<i32, i64>>,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct DelayOffset {
    offset_table: BTreeMap<i32, i64>,
}

#[test]
fn typed_delay_offset_is_java_byte_for_byte() {
    for store in ["clean", "s05-delay"] {
        let golden = golden_config(store, "delayOffset.json");
        let typed: DelayOffset = fastjson::from_str(&golden).unwrap();
        assert_eq!(typed.offset_table.len(), 3);
        assert_eq!(
            fastjson::to_string_pretty(&typed).unwrap(),
            golden,
            "{store}"
        );
    }
    let typed = DelayOffset {
        offset_table: BTreeMap::from([(1, 1), (2, 1), (3, 2)]),
    };
    assert_eq!(
        fastjson::to_string_pretty(&typed).unwrap(),
        "{\n\t\"offsetTable\":{1:1,2:1,3:2\n\t}\n}"
    );
    assert_eq!(
        fastjson::to_string(&typed).unwrap(),
        "{\"offsetTable\":{1:1,2:1,3:2}}"
    );
}

#[test]
fn typed_consumer_offset_is_java_byte_for_byte() {
    // Two entries whose sorted order is the order Java's HashMap gave.
    let golden = golden_config("s05-delay", "consumerOffset.json");
    let typed: OffsetTable<String> = fastjson::from_str(&golden).unwrap();
    assert_eq!(
        typed.offset_table["DelayTopic@delay_consumer_group"],
        BTreeMap::from([(0, 1), (1, 1), (2, 1)])
    );
    assert_eq!(fastjson::to_string_pretty(&typed).unwrap(), golden);

    // A single entry, cut out of the clean store's file.
    let golden = golden_config("clean", "consumerOffset.json");
    let first_entry_end = golden.find("\n\t\t},").unwrap() + "\n\t\t}".len();
    let expected = format!("{}\n\t}}\n}}", &golden[..first_entry_end]);
    let typed = OffsetTable {
        offset_table: BTreeMap::from([(
            "%RETRY%store_group_1@store_group_1".to_owned(),
            BTreeMap::from([(0, 0)]),
        )]),
    };
    assert_eq!(fastjson::to_string_pretty(&typed).unwrap(), expected);

    let all: OffsetTable<String> = fastjson::from_str(&golden).unwrap();
    assert_eq!(
        all.offset_table["StoreTopicA@store_group_1"],
        BTreeMap::from([(0, 375), (1, 375), (2, 380), (3, 376)])
    );
}

/// The first entry of a `"<table>":{...}` map of beans kept, the others cut, from a golden file.
fn golden_with_first_entry(golden: &str) -> String {
    let first_entry_end = golden.find("\n\t\t},").unwrap() + "\n\t\t}".len();
    format!("{}\n\t}}\n}}", &golden[..first_entry_end])
}

#[test]
fn typed_topics_json_with_one_topic_is_java_byte_for_byte() {
    use remoting_codec::protocol::common::TopicConfigSerializeWrapper;
    for store in ["clean", "crashed", "s05-delay"] {
        let golden = golden_config(store, "topics.json");
        let mut all: TopicConfigSerializeWrapper = fastjson::from_str(&golden).unwrap();
        assert!(all.topic_config_table.len() > 5, "{store}");
        let schedule = &all.topic_config_table["SCHEDULE_TOPIC_XXXX"];
        assert_eq!((schedule.read_queue_nums, schedule.perm), (18, 6));
        // The topic Java's HashMap happened to write first.
        let first = fastjson::from_str::<Value>(&golden).unwrap()["topicConfigTable"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let topic = all.topic_config_table.remove(&first).unwrap();
        let one = TopicConfigSerializeWrapper {
            data_version: all.data_version.clone(),
            topic_config_table: BTreeMap::from([(first, topic)]),
            ..Default::default()
        };
        assert_eq!(
            fastjson::to_string_pretty(&one).unwrap(),
            golden_with_first_entry(&golden),
            "{store}"
        );
    }
}

/// `SubscriptionGroupConfig` of 4.9.8, as the broker writes it (getter names, sorted).
#[derive(serde::Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct SubscriptionGroupConfig {
    broker_id: i64,
    consume_broadcast_enable: bool,
    consume_enable: bool,
    consume_from_min_enable: bool,
    group_name: String,
    notify_consumer_ids_changed_enable: bool,
    retry_max_times: i32,
    retry_queue_nums: i32,
    which_broker_when_consume_slowly: i64,
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct SubscriptionGroupWrapper {
    data_version: remoting_codec::protocol::DataVersion,
    subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

#[test]
fn typed_subscription_group_with_one_group_is_java_byte_for_byte() {
    for store in ["clean", "s05-delay"] {
        for name in ["subscriptionGroup.json", "subscriptionGroup.json.bak"] {
            let Ok(golden) = std::fs::read_to_string(config_dir().join(store).join(name)) else {
                continue;
            };
            let all: SubscriptionGroupWrapper = fastjson::from_str(&golden).unwrap();
            let first = &all.subscription_group_table["SELF_TEST_C_GROUP"];
            let one = SubscriptionGroupWrapper {
                data_version: all.data_version.clone(),
                subscription_group_table: BTreeMap::from([(
                    first.group_name.clone(),
                    first.clone(),
                )]),
            };
            assert_eq!(
                fastjson::to_string_pretty(&one).unwrap(),
                golden_with_first_entry(&golden),
                "{store}/{name}"
            );
        }
    }
}

#[test]
fn typed_consumer_filter_is_java_byte_for_byte() {
    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ConsumerFilterManager {
        filter_data_by_topic: BTreeMap<String, Value>,
    }
    for store in ["clean", "s05-delay"] {
        let golden = golden_config(store, "consumerFilter.json");
        let typed: ConsumerFilterManager = fastjson::from_str(&golden).unwrap();
        assert!(typed.filter_data_by_topic.is_empty());
        assert_eq!(fastjson::to_string_pretty(&typed).unwrap(), golden);
        assert_eq!(golden, "{\n\t\"filterDataByTopic\":{}\n}");
    }
}
