//! The code tables against what Java put on the wire and against each other.

mod support;

use std::collections::BTreeMap;

use remoting_codec::code::{request, response, version};
use serde_json::Value;

fn seen() -> Value {
    let text = std::fs::read_to_string(support::fixtures_dir().join("request-codes-seen.json"))
        .expect("request-codes-seen.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn check_seen(list: &Value, name_of: fn(i32) -> Option<&'static str>) -> usize {
    let list = list.as_array().expect("array");
    for entry in list {
        let code = entry["code"].as_i64().unwrap() as i32;
        let recorded = entry["name"].as_str().unwrap();
        assert_eq!(name_of(code), Some(recorded), "code {code}");
    }
    list.len()
}

#[test]
fn every_recorded_code_has_its_java_name() {
    let seen = seen();
    assert!(check_seen(&seen["requests"], request::name) == 54);
    assert!(check_seen(&seen["responses"], response::name) == 7);
}

/// Values shared by two constants of one module, as `code -> sorted names`.
fn shared_values(all: &[(&str, i32)]) -> BTreeMap<i32, Vec<&'static str>> {
    let mut by_value: BTreeMap<i32, Vec<&str>> = BTreeMap::new();
    for (name, code) in all {
        by_value.entry(*code).or_default().push(name);
    }
    by_value
        .into_iter()
        .filter(|(_, names)| names.len() > 1)
        .map(|(code, mut names)| {
            names.sort_unstable();
            let names = names.into_iter().map(|n| leak(n)).collect();
            (code, names)
        })
        .collect()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

#[test]
fn request_codes_are_unique() {
    assert_eq!(request::ALL.len(), 162, "4.9.8 ∪ 5.3.3 RequestCode");
    assert!(shared_values(request::ALL).is_empty());
    let mut names: Vec<_> = request::ALL.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), request::ALL.len());
    for (name, code) in request::ALL {
        assert_eq!(request::name(*code), Some(*name));
    }
    assert_eq!(
        request::name(request::GET_ROUTEINFO_BY_TOPIC),
        Some("GET_ROUTEINFO_BY_TOPIC")
    );
    assert_eq!(request::POP_MESSAGE, 200050);
    assert_eq!(request::BROKER_CLOSE_CHANNEL_REQUEST, 1014);
    assert_eq!(request::name(99_999), None);
}

#[test]
fn response_codes_clash_only_where_documented() {
    assert_eq!(response::ALL.len(), 69, "Sys + 4.9.8 ∪ 5.3.3 ResponseCode");
    let shared = shared_values(response::ALL);
    let expected: BTreeMap<i32, Vec<&str>> = [
        (
            209,
            vec!["POLLING_FULL", "UPDATE_AND_CREATE_ACL_CONFIG_FAILED"],
        ),
        (210, vec!["DELETE_ACL_CONFIG_FAILED", "POLLING_TIMEOUT"]),
        (
            211,
            vec![
                "BROKER_NOT_EXIST",
                "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED",
            ],
        ),
    ]
    .into_iter()
    .collect();
    assert_eq!(shared, expected);
    assert_eq!(response::CLASHES.len(), expected.len());
    for (code, both) in response::CLASHES {
        let mut parts: Vec<&str> = both.split('|').collect();
        parts.sort_unstable();
        assert_eq!(parts, expected[code]);
        assert_eq!(response::name(*code), Some(*both));
    }
    for (name, code) in response::ALL {
        if !expected.contains_key(code) {
            assert_eq!(response::name(*code), Some(*name));
        }
    }
    assert_eq!(response::name(response::RPC_TIME_OUT), Some("RPC_TIME_OUT"));
    assert_eq!(response::name(5), None);
}

#[test]
fn recorded_frames_carry_known_versions() {
    let mut versions: BTreeMap<i64, usize> = BTreeMap::new();
    for f in support::golden_frames() {
        *versions
            .entry(f.record["version"].as_i64().unwrap())
            .or_default() += 1;
    }
    assert!(versions
        .keys()
        .all(|v| [version::V4_9_8 as i64, version::V5_3_3 as i64].contains(v)));
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(
        version::version_name(version::V4_9_8).as_deref(),
        Some("V4_9_8")
    );
}
