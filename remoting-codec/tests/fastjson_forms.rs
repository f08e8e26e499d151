//! The three output forms and the lenient reader on hand-made values: each rule of the module
//! docs of `remoting_codec::fastjson`, and the reader's errors.

use std::collections::BTreeMap;

use remoting_codec::fastjson::{self, JsonError};
use remoting_codec::protocol::MessageQueue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
struct Bean {
    a_list: Vec<Option<i64>>,
    maybe: Option<String>,
    name: String,
    ratio: f64,
}

#[test]
fn default_form_omits_nulls_and_writes_bare_keys() {
    let bean = Bean {
        a_list: vec![Some(1), None],
        maybe: None,
        name: "x".into(),
        ratio: 0.0,
    };
    assert_eq!(
        fastjson::to_string(&bean).unwrap(),
        r#"{"aList":[1,null],"name":"x","ratio":0.0}"#
    );

    let addrs: BTreeMap<i64, &str> = BTreeMap::from([(-1, "b"), (0, "127.0.0.1:10911")]);
    assert_eq!(
        fastjson::to_string(&json_like("brokerAddrs", &addrs)).unwrap(),
        r#"{"brokerAddrs":{-1:"b",0:"127.0.0.1:10911"}}"#
    );
    let longs = BTreeMap::from([(i64::MIN, 1), (i64::MAX, 2)]);
    assert_eq!(
        fastjson::to_string(&longs).unwrap(),
        "{-9223372036854775808:1,9223372036854775807:2}"
    );

    let by_queue = BTreeMap::from([
        (MessageQueue::new("t", "b", 0), 5i64),
        (MessageQueue::new("t", "b", 1), 6),
    ]);
    assert_eq!(
        fastjson::to_string(&by_queue).unwrap(),
        r#"{{"brokerName":"b","queueId":0,"topic":"t"}:5,{"brokerName":"b","queueId":1,"topic":"t"}:6}"#
    );

    let with_null_values: BTreeMap<&str, Option<i32>> =
        BTreeMap::from([("a", None), ("b", Some(1)), ("c", None)]);
    assert_eq!(
        fastjson::to_string(&with_null_values).unwrap(),
        r#"{"b":1}"#
    );
    assert_eq!(
        fastjson::to_string(&vec![None, Some("é/\u{1}")]).unwrap(),
        "[null,\"é/\\u0001\"]"
    );
    assert_eq!(
        fastjson::to_string(&serde_bytes_like(b"\x00\xff")).unwrap(),
        r#""AP8=""#
    );
}

fn json_like<'a, T: Serialize>(key: &'a str, value: &'a T) -> BTreeMap<&'a str, &'a T> {
    BTreeMap::from([(key, value)])
}

struct Bytes<'a>(&'a [u8]);
impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}
fn serde_bytes_like(b: &[u8]) -> Bytes<'_> {
    Bytes(b)
}

#[test]
fn standard_form_quotes_every_key_and_is_ascii() {
    let by_queue = BTreeMap::from([(MessageQueue::new("t", "b", 0), 5i64)]);
    let text = String::from_utf8(fastjson::to_vec_standard(&by_queue).unwrap()).unwrap();
    assert_eq!(
        text,
        r#"{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}":5}"#
    );
    let back: BTreeMap<MessageQueue, i64> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, by_queue);

    let addrs = BTreeMap::from([(0, "a/é😀")]);
    let route = json_like("brokerAddrs", &addrs);
    let text = String::from_utf8(fastjson::to_vec_standard(&route).unwrap()).unwrap();
    assert_eq!(text, r#"{"brokerAddrs":{"0":"a\/\u00E9\uD83D\uDE00"}}"#);
    let strict: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(strict, json!({"brokerAddrs": {"0": "a/é😀"}}));
    assert_eq!(
        strict,
        fastjson::from_slice_value(&fastjson::to_vec(&route).unwrap()).unwrap()
    );
}

#[test]
fn pretty_form_follows_fastjson_layout() {
    // kvConfig.json
    let kv = json!({"configTable": {"ORDER_TOPIC_CONFIG": {"TopicA": "broker-a:4"}}});
    assert_eq!(
        fastjson::to_string_pretty(&kv).unwrap(),
        "{\n\t\"configTable\":{\n\t\t\"ORDER_TOPIC_CONFIG\":{\n\t\t\t\"TopicA\":\"broker-a:4\"\n\t\t}\n\t}\n}"
    );
    // Lists break before every element; empty containers stay closed.
    let v = json!({"a": [{"x": 1}, {"x": 2}], "b": ["s", "t"], "c": [], "d": {}});
    assert_eq!(
        fastjson::to_string_pretty(&v).unwrap(),
        "{\n\t\"a\":[\n\t\t{\n\t\t\t\"x\":1\n\t\t},\n\t\t{\n\t\t\t\"x\":2\n\t\t}\n\t],\
         \n\t\"b\":[\n\t\t\"s\",\n\t\t\"t\"\n\t],\n\t\"c\":[],\n\t\"d\":{}\n}"
    );
    // Integer keys: no break before entries, the closing brace on its own line.
    let nested = BTreeMap::from([("t@g", BTreeMap::from([(0, 1i64), (1, 2)]))]);
    assert_eq!(
        fastjson::to_string_pretty(&json_like("offsetTable", &nested)).unwrap(),
        "{\n\t\"offsetTable\":{\n\t\t\"t@g\":{0:1,1:2\n\t\t}\n\t}\n}"
    );
    // A bean whose every property is null still breaks its lines (`getters.length > 0`);
    // a map whose every value is null still breaks before `}` (`map.size() > 0`).
    #[derive(Serialize)]
    struct AllNull {
        a: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<i32>,
    }
    let holder = json_like("v", &AllNull { a: None, b: None });
    assert_eq!(
        fastjson::to_string_pretty(&holder).unwrap(),
        "{\n\t\"v\":{\n\t\t\n\t}\n}"
    );
    let null_map: BTreeMap<i32, Option<i32>> = BTreeMap::from([(1, None)]);
    assert_eq!(
        fastjson::to_string_pretty(&json_like("m", &null_map)).unwrap(),
        "{\n\t\"m\":{\n\t}\n}"
    );
    assert_eq!(
        fastjson::to_string(&AllNull { a: None, b: None }).unwrap(),
        "{}"
    );
    // Java sets and primitive arrays stay inline.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct BloomFilterData {
        bit_num: i32,
        #[serde(serialize_with = "fastjson::inline_seq")]
        bit_pos: Vec<i32>,
    }
    let bloom = BloomFilterData {
        bit_num: 64,
        bit_pos: vec![1, 7],
    };
    assert_eq!(
        fastjson::to_string_pretty(&bloom).unwrap(),
        "{\n\t\"bitNum\":64,\n\t\"bitPos\":[1,7]\n}"
    );
    assert_eq!(
        fastjson::to_string(&bloom).unwrap(),
        r#"{"bitNum":64,"bitPos":[1,7]}"#
    );
    // Bean keys are written as pretty beans, without a break before them.
    let by_queue = BTreeMap::from([(MessageQueue::new("t", "b", 0), 5i64)]);
    assert_eq!(
        fastjson::to_string_pretty(&by_queue).unwrap(),
        "{{\n\t\t\"brokerName\":\"b\",\n\t\t\"queueId\":0,\n\t\t\"topic\":\"t\"\n\t}:5\n}"
    );
    let back: BTreeMap<MessageQueue, i64> =
        fastjson::from_str(&fastjson::to_string_pretty(&by_queue).unwrap()).unwrap();
    assert_eq!(back, by_queue);
}

#[test]
fn doubles_and_enums_are_written_like_java() {
    #[derive(Serialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Kind {
        SingleTag,
    }
    let values = vec![0.0, 12.5, 1.0e7, 1.0e-4, f64::NAN, -1.5];
    assert_eq!(
        fastjson::to_string(&values).unwrap(),
        "[0.0,12.5,1.0E7,1.0E-4,null,-1.5]"
    );
    assert_eq!(
        fastjson::to_string(&Kind::SingleTag).unwrap(),
        "\"SINGLE_TAG\""
    );
    // NaN is not null in Java: the property is written.
    let nan = json_like("tps", &f64::NAN);
    assert_eq!(fastjson::to_string(&nan).unwrap(), r#"{"tps":null}"#);
}

#[test]
fn reader_accepts_fastjson_and_standard_shapes() {
    let text = "{\n\t\"offsetTable\":{1:1, -2 :1,\t9223372036854775807:2\n\t},\"q\":{{\"brokerName\" : \"b\",\"queueId\":0,\"topic\":\"t\"}:{0:\"x\"}},\"l\":[1,2,],}";
    assert_eq!(
        fastjson::to_standard_json(text.as_bytes()).unwrap(),
        r#"{"offsetTable":{"1":1,"-2":1,"9223372036854775807":2},"q":{"{\"brokerName\":\"b\",\"queueId\":0,\"topic\":\"t\"}":{"0":"x"}},"l":[1,2]}"#
    );
    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        offset_table: BTreeMap<i64, i64>,
        q: BTreeMap<MessageQueue, BTreeMap<i32, String>>,
    }
    let body: Body = fastjson::from_str(text).unwrap();
    assert_eq!(body.offset_table[&-2], 1);
    assert_eq!(body.offset_table[&i64::MAX], 2);
    assert_eq!(body.q[&MessageQueue::new("t", "b", 0)][&0], "x");

    assert_eq!(
        fastjson::from_str::<Value>("{\"a\":\"x\u{1}\\v\\x41\\'\",b:true,null:1}").unwrap(),
        json!({"a": "x\u{1}\u{b}A'", "b": true, "null": 1})
    );
}

fn syntax_error(input: &[u8]) -> JsonError {
    let err = fastjson::from_slice_value(input).unwrap_err();
    assert!(
        err.position().is_some(),
        "{:?}: no position in {err}",
        String::from_utf8_lossy(input)
    );
    err
}

#[test]
fn reader_reports_what_and_where() {
    let err = syntax_error(b"{\"a\":1,\n\"b\":tru}");
    let p = err.position().unwrap();
    assert_eq!((p.line, p.column, p.offset), (2, 5, 12));
    assert_eq!(
        err.to_string(),
        "fastjson: expected true, false or null at line 2 column 5 (byte 12)"
    );
    for bad in [
        &b""[..],
        b"{",
        b"{\"a\"",
        b"{\"a\":",
        b"{\"a\":1",
        b"[1,2",
        b"\"abc",
        b"\"a\\q\"",
        b"\"a\\u12\"",
        b"{\"a\":1}x",
        b"{#:1}",
        b"{\"a\" 1}",
        b"[01]",
        b"[1.]",
        b"[1e]",
        b"[-]",
        b"\xff",
        b"{\"a\":\"\xc3\"}",
        b"{1:2:3}",
    ] {
        syntax_error(bad);
    }
    // Data errors come from serde_json, without a position in the original input.
    let err = fastjson::from_str::<Bean>("{\"name\":1}").unwrap_err();
    assert!(err.position().is_none());
    assert!(err.to_string().contains("invalid type"), "{err}");
}

#[test]
fn nesting_is_capped() {
    let ok = format!(
        "{}{}",
        "[".repeat(fastjson::MAX_DEPTH),
        "]".repeat(fastjson::MAX_DEPTH)
    );
    fastjson::from_str::<Value>(&ok).unwrap();
    let deep = format!(
        "{}{}",
        "[".repeat(fastjson::MAX_DEPTH + 1),
        "]".repeat(fastjson::MAX_DEPTH + 1)
    );
    assert!(syntax_error(deep.as_bytes())
        .to_string()
        .contains("nested too deeply"));
    // Keys count too, and nothing overflows the stack.
    let keys = "{".repeat(100_000);
    syntax_error(keys.as_bytes());
    let arrays = "[".repeat(1_000_000);
    syntax_error(arrays.as_bytes());
}
