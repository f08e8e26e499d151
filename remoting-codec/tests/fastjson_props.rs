//! Property tests: every form written by the fastjson layer reads back to the same data, and no
//! input makes the lenient reader panic.

mod support;

use std::collections::BTreeMap;

use proptest::prelude::*;
use remoting_codec::fastjson;
use remoting_codec::protocol::MessageQueue;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// A value tree with the map key kinds fastjson writes differently.
#[derive(Clone, Debug)]
enum Tree {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Tree>),
    ByStr(BTreeMap<String, Tree>),
    ByInt(BTreeMap<i64, Tree>),
    ByQueue(BTreeMap<MessageQueue, Tree>),
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        fn map<S: Serializer, K: Serialize>(
            s: S,
            entries: &BTreeMap<K, Tree>,
        ) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(entries.len()))?;
            for (k, v) in entries {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
        match self {
            Tree::Null => s.serialize_none(),
            Tree::Bool(b) => s.serialize_bool(*b),
            Tree::Int(i) => s.serialize_i64(*i),
            Tree::Float(f) => s.serialize_f64(*f),
            Tree::Str(t) => s.serialize_str(t),
            Tree::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Tree::ByStr(m) => map(s, m),
            Tree::ByInt(m) => map(s, m),
            Tree::ByQueue(m) => map(s, m),
        }
    }
}

impl Tree {
    /// What the lenient reader must give: keys as their text (a queue key as its compact
    /// default-form JSON), null map values dropped (fastjson omits them).
    fn expected(&self) -> Value {
        fn map<'a>(entries: impl Iterator<Item = (String, &'a Tree)>) -> Value {
            let mut m = Map::new();
            for (k, v) in entries {
                if !matches!(v, Tree::Null) {
                    m.insert(k, v.expected());
                }
            }
            Value::Object(m)
        }
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Int(i) => Value::from(*i),
            Tree::Float(f) => Value::from(*f),
            Tree::Str(t) => Value::String(t.clone()),
            Tree::List(items) => Value::Array(items.iter().map(Tree::expected).collect()),
            Tree::ByStr(m) => map(m.iter().map(|(k, v)| (k.clone(), v))),
            Tree::ByInt(m) => map(m.iter().map(|(k, v)| (k.to_string(), v))),
            Tree::ByQueue(m) => map(m.iter().map(|(k, v)| (fastjson::to_string(k).unwrap(), v))),
        }
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9%@_-]{0,12}",
        any::<String>(),
        "[\\x00-\\x20\"\\\\/\\x7f-\\u{a0}\\u{2028}\\u{2029}é😀]{0,8}",
    ]
}

fn queue() -> impl Strategy<Value = MessageQueue> {
    (text(), text(), any::<i32>()).prop_map(|(t, b, q)| MessageQueue::new(t, b, q))
}

/// Finite doubles: arbitrary bit patterns and the short decimals Java bodies carry.
fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (any::<i32>(), 0..4i32).prop_map(|(m, d)| f64::from(m) / 10f64.powi(d)),
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(f64::MAX),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        Just(Tree::Null),
        any::<bool>().prop_map(Tree::Bool),
        prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), Just(0)].prop_map(Tree::Int),
        double().prop_map(Tree::Float),
        text().prop_map(Tree::Str),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Tree::List),
            prop::collection::btree_map(text(), inner.clone(), 0..6).prop_map(Tree::ByStr),
            prop::collection::btree_map(
                prop_oneof![any::<i64>(), Just(i64::MIN), Just(-1)],
                inner.clone(),
                0..6
            )
            .prop_map(Tree::ByInt),
            prop::collection::btree_map(queue(), inner, 0..4).prop_map(Tree::ByQueue),
        ]
    })
}

/// A typed body with the shapes the protocol uses.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
#[serde(rename_all = "camelCase")]
struct Sample {
    by_int: BTreeMap<i32, String>,
    by_long: BTreeMap<i64, Vec<String>>,
    by_name: BTreeMap<String, BTreeMap<i32, i64>>,
    by_queue: BTreeMap<MessageQueue, f64>,
    double: f64,
    list: Vec<Option<i64>>,
    long: i64,
    maybe: Option<String>,
    text: String,
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        prop::collection::btree_map(any::<i32>(), text(), 0..4),
        prop::collection::btree_map(any::<i64>(), prop::collection::vec(text(), 0..3), 0..4),
        prop::collection::btree_map(
            text(),
            prop::collection::btree_map(any::<i32>(), any::<i64>(), 0..4),
            0..4,
        ),
        prop::collection::btree_map(queue(), double(), 0..4),
        double(),
        prop::collection::vec(prop::option::of(any::<i64>()), 0..5),
        any::<i64>(),
        prop::option::of(text()),
        text(),
    )
        .prop_map(
            |(by_int, by_long, by_name, by_queue, double, list, long, maybe, text)| Sample {
                by_int,
                by_long,
                by_name,
                by_queue,
                double,
                list,
                long,
                maybe,
                text,
            },
        )
}

fn all_forms<T: Serialize>(value: &T) -> [(&'static str, Vec<u8>); 3] {
    [
        ("default", fastjson::to_vec(value).unwrap()),
        ("standard", fastjson::to_vec_standard(value).unwrap()),
        (
            "pretty",
            fastjson::to_string_pretty(value).unwrap().into_bytes(),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn trees_read_back_from_every_form(t in tree()) {
        let expected = t.expected();
        for (form, bytes) in all_forms(&t) {
            let back = fastjson::from_slice_value(&bytes);
            prop_assert_eq!(
                back.as_ref().ok(),
                Some(&expected),
                "{} form: {}",
                form,
                String::from_utf8_lossy(&bytes)
            );
        }
        let standard = fastjson::to_vec_standard(&t).unwrap();
        prop_assert!(standard.is_ascii());
        prop_assert_eq!(serde_json::from_slice::<Value>(&standard).ok(), Some(expected));
    }

    #[test]
    fn typed_bodies_read_back_from_every_form(s in sample()) {
        for (form, bytes) in all_forms(&s) {
            let back: Sample = fastjson::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{form}: {e}")))?;
            prop_assert_eq!(&back, &s, "{} form", form);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = fastjson::from_slice_value(&bytes);
    }

    #[test]
    fn json_like_bytes_never_panic(
        bytes in prop::collection::vec(
            prop::sample::select(&b"{}[]:,\"\\-0123456789.eEtrufalsn \t\nu{x"[..]),
            0..96,
        )
    ) {
        let _ = fastjson::from_slice_value(&bytes);
        let _ = fastjson::from_slice::<Sample>(&bytes);
    }
}

/// Golden bodies with random damage (flipped, inserted, deleted bytes, truncation) give a value
/// or an error, never a panic. A fixed-seed generator keeps the run short and repeatable.
#[test]
fn mutated_golden_bodies_never_panic() {
    let bodies: Vec<Vec<u8>> = support::golden_frames()
        .into_iter()
        .filter(|f| matches!(f.body.first(), Some(b'{' | b'[')))
        .map(|f| f.body.to_vec())
        .collect();
    assert!(!bodies.is_empty());
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    const SPECIAL: &[u8] = b"{}[]:,\"\\-0e. \t\xff\xc3";
    let mut accepted = 0;
    for _ in 0..3000 {
        let mut body = bodies[next() as usize % bodies.len()].clone();
        for _ in 0..1 + next() % 4 {
            let at = next() as usize % (body.len() + 1);
            let byte = if next() % 2 == 0 {
                SPECIAL[next() as usize % SPECIAL.len()]
            } else {
                next() as u8
            };
            match next() % 4 {
                0 if at < body.len() => body[at] = byte,
                1 => body.insert(at, byte),
                2 if at < body.len() => {
                    body.remove(at);
                }
                _ => body.truncate(at),
            }
        }
        if fastjson::from_slice_value(&body).is_ok() {
            accepted += 1;
        }
    }
    assert!(accepted < 3000);
}
