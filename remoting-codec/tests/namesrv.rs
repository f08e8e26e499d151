//! The name server family against recorded Java traffic: headers (this file) and bodies
//! (`namesrv_bodies.rs`).

mod support;

use std::collections::BTreeMap;

use remoting_codec::protocol::namesrv::*;
use remoting_codec::{CommandHeader, EmptyHeader, ExtFields, HeaderError};
use support::GoldenFrame;

/// Keys Java puts in extFields that no namesrv header models: ACL signing, the client's
/// request timestamp (`MixAll.REQ_T`) and 5.x RPC routing fields.
const IGNORED_KEYS: &[&str] = &[
    "AccessKey",
    "Signature",
    "SecurityToken",
    "ReqT",
    "ns",
    "nsd",
    "bname",
    "oway",
    "lo",
];

fn ext_of(f: &GoldenFrame) -> ExtFields {
    f.ext_fields()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn modelled(ext: &ExtFields) -> BTreeMap<String, String> {
    ext.iter()
        .filter(|(k, _)| !IGNORED_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Decodes `f`'s extFields as `H` and checks that writing it back gives the same pairs.
fn round_trip<H: CommandHeader + std::fmt::Debug>(f: &GoldenFrame) -> H {
    let ext = ext_of(f);
    let header: H = ext
        .decode()
        .unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
    let mut again = ExtFields::new();
    again.encode(&header);
    let written: BTreeMap<String, String> = again
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(written, modelled(&ext), "{}: {header:?}", f.describe());
    header
}

/// Checks every recorded frame of `code`; returns (requests, responses) checked.
fn check_code<Req, Rsp>(code: i32) -> (usize, usize)
where
    Req: CommandHeader + std::fmt::Debug,
    Rsp: CommandHeader + std::fmt::Debug,
{
    let (mut requests, mut responses) = (0, 0);
    for f in support::frames_for(code) {
        if f.is_response() {
            // Error responses carry no header of the success type.
            if f.code() == 0 {
                round_trip::<Rsp>(&f);
                responses += 1;
            } else {
                assert!(modelled(&ext_of(&f)).is_empty(), "{}", f.describe());
            }
        } else {
            round_trip::<Req>(&f);
            requests += 1;
        }
    }
    (requests, responses)
}

#[test]
fn recorded_namesrv_headers_round_trip() {
    assert_eq!(
        check_code::<PutKVConfigRequestHeader, EmptyHeader>(100),
        (1, 1)
    );
    assert_eq!(
        check_code::<DeleteKVConfigRequestHeader, EmptyHeader>(102),
        (1, 1)
    );
    let (req, rsp) = check_code::<RegisterBrokerRequestHeader, RegisterBrokerResponseHeader>(103);
    assert!(req >= 50 && rsp >= 18, "{req} {rsp}");
    // One more in s16-acl, 5 in the s15 master/slave captures.
    assert_eq!(
        check_code::<UnRegisterBrokerRequestHeader, EmptyHeader>(104),
        (7, 7)
    );
    let (req, rsp) = check_code::<GetRouteInfoRequestHeader, EmptyHeader>(105);
    assert!(req >= 290 && rsp >= 240, "{req} {rsp}");
    // 7 of them (signed) in s16-acl, 7 in the s15 master/slave captures.
    assert_eq!(check_code::<EmptyHeader, EmptyHeader>(106), (28, 28));
    assert_eq!(
        check_code::<WipeWritePermOfBrokerRequestHeader, WipeWritePermOfBrokerResponseHeader>(205),
        (1, 1)
    );
    assert_eq!(check_code::<EmptyHeader, EmptyHeader>(206), (5, 5));
    assert_eq!(
        check_code::<DeleteTopicFromNamesrvRequestHeader, EmptyHeader>(216),
        (3, 3)
    );
    assert_eq!(check_code::<EmptyHeader, EmptyHeader>(319), (1, 1));
    assert_eq!(
        check_code::<AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader>(327),
        (1, 1)
    );
}

#[test]
fn recorded_register_broker_headers_are_4x() {
    let frames: Vec<_> = support::frames_for(103)
        .into_iter()
        .filter(|f| !f.is_response())
        .collect();
    assert!(frames.len() >= 50);
    for f in &frames {
        let h: RegisterBrokerRequestHeader = ext_of(f).decode().unwrap();
        // Only the s15 captures have a slave (brokerId 1) registering.
        let slave_capture = f.describe().contains("s15-");
        assert!(
            h.broker_id == 0 || (slave_capture && h.broker_id == 1),
            "{}",
            f.describe()
        );
        assert!(!h.compressed);
        assert_ne!(h.body_crc32, 0);
        assert_eq!(h.heartbeat_timeout_millis, None);
        assert_eq!(h.enable_acting_master, None);
    }
}

fn ext(pairs: &[(&str, &str)]) -> ExtFields {
    pairs.iter().copied().collect()
}

fn missing<H: CommandHeader + std::fmt::Debug>(pairs: &[(&str, &str)], field: &str) {
    match ext(pairs).decode::<H>() {
        Err(HeaderError::MissingField { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected {field} missing, got {other:?}"),
    }
}

#[test]
fn missing_required_fields_are_named() {
    missing::<PutKVConfigRequestHeader>(&[("namespace", "n"), ("key", "k")], "value");
    missing::<GetKVConfigRequestHeader>(&[("namespace", "n")], "key");
    missing::<DeleteKVConfigRequestHeader>(&[("key", "k")], "namespace");
    missing::<RegisterBrokerRequestHeader>(
        &[
            ("brokerName", "b"),
            ("brokerAddr", "a"),
            ("clusterName", "c"),
            ("haServerAddr", "h"),
        ],
        "brokerId",
    );
    missing::<UnRegisterBrokerRequestHeader>(&[("brokerName", "b")], "brokerAddr");
    missing::<GetRouteInfoRequestHeader>(&[("acceptStandardJsonOnly", "true")], "topic");
    missing::<WipeWritePermOfBrokerRequestHeader>(&[], "brokerName");
    missing::<WipeWritePermOfBrokerResponseHeader>(&[], "wipeTopicCount");
    missing::<DeleteTopicFromNamesrvRequestHeader>(&[("clusterName", "c")], "topic");
    missing::<RegisterTopicRequestHeader>(&[], "topic");
    missing::<GetKVListByNamespaceRequestHeader>(&[], "namespace");
    missing::<GetTopicsByClusterRequestHeader>(&[], "cluster");
    missing::<QueryDataVersionRequestHeader>(
        &[("brokerName", "b"), ("brokerAddr", "a"), ("brokerId", "0")],
        "clusterName",
    );
    missing::<QueryDataVersionResponseHeader>(&[], "changed");
    missing::<AddWritePermOfBrokerRequestHeader>(&[], "brokerName");
    missing::<AddWritePermOfBrokerResponseHeader>(&[], "addTopicCount");
    missing::<GetBrokerMemberGroupRequestHeader>(&[("clusterName", "c")], "brokerName");
    missing::<BrokerHeartbeatRequestHeader>(
        &[("clusterName", "c"), ("brokerAddr", "a")],
        "brokerName",
    );
}

fn hand_round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(pairs: &[(&str, &str)]) -> H {
    let h: H = ext(pairs).decode().unwrap();
    let mut out = ExtFields::new();
    out.encode(&h);
    let mut got: Vec<_> = out
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut want: Vec<_> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(out.decode::<H>().unwrap(), h);
    h
}

/// Codes of sets a–d (and the 5.x broker ones) that no capture holds.
#[test]
fn unrecorded_headers_round_trip() {
    let h = hand_round_trip::<GetKVConfigRequestHeader>(&[
        ("namespace", "ORDER_TOPIC_CONFIG"),
        ("key", "T"),
    ]);
    assert_eq!(h.key, "T");
    let h = hand_round_trip::<GetKVConfigResponseHeader>(&[("value", "broker-a:4")]);
    assert_eq!(h.value.as_deref(), Some("broker-a:4"));
    assert_eq!(
        hand_round_trip::<GetKVConfigResponseHeader>(&[]).value,
        None
    );
    let h = hand_round_trip::<RegisterBrokerRequestHeader>(&[
        ("brokerName", "broker-a"),
        ("brokerAddr", "127.0.0.1:10911"),
        ("clusterName", "DefaultCluster"),
        ("haServerAddr", "127.0.0.1:10912"),
        ("brokerId", "1"),
        ("heartbeatTimeoutMillis", "120000"),
        ("enableActingMaster", "false"),
        ("compressed", "true"),
        ("bodyCrc32", "12345"),
    ]);
    assert_eq!(h.heartbeat_timeout_millis, Some(120_000));
    assert!(h.compressed);
    let h = hand_round_trip::<RegisterBrokerResponseHeader>(&[
        ("haServerAddr", "127.0.0.1:10912"),
        ("masterAddr", "127.0.0.1:10911"),
    ]);
    assert_eq!(h.master_addr.as_deref(), Some("127.0.0.1:10911"));
    let h = hand_round_trip::<GetRouteInfoRequestHeader>(&[
        ("topic", "TBW102"),
        ("acceptStandardJsonOnly", "true"),
    ]);
    assert_eq!(h.accept_standard_json_only, Some(true));
    hand_round_trip::<RegisterTopicRequestHeader>(&[("topic", "T")]);
    hand_round_trip::<GetKVListByNamespaceRequestHeader>(&[("namespace", "ORDER_TOPIC_CONFIG")]);
    hand_round_trip::<GetTopicsByClusterRequestHeader>(&[("cluster", "DefaultCluster")]);
    hand_round_trip::<QueryDataVersionRequestHeader>(&[
        ("brokerName", "broker-a"),
        ("brokerAddr", "127.0.0.1:10911"),
        ("clusterName", "DefaultCluster"),
        ("brokerId", "0"),
    ]);
    let h = hand_round_trip::<QueryDataVersionResponseHeader>(&[("changed", "true")]);
    assert!(h.changed);
    hand_round_trip::<GetBrokerMemberGroupRequestHeader>(&[
        ("clusterName", "DefaultCluster"),
        ("brokerName", "broker-a"),
    ]);
    let h = hand_round_trip::<BrokerHeartbeatRequestHeader>(&[
        ("clusterName", "DefaultCluster"),
        ("brokerAddr", "127.0.0.1:10911"),
        ("brokerName", "broker-a"),
        ("brokerId", "0"),
        ("epoch", "2"),
        ("maxOffset", "1024"),
        ("confirmOffset", "1000"),
        ("heartbeatTimeoutMills", "30000"),
        ("electionPriority", "1"),
    ]);
    assert_eq!(h.epoch, Some(2));
}

#[test]
fn register_broker_defaults_match_java() {
    let h: RegisterBrokerRequestHeader = ext(&[
        ("brokerName", "b"),
        ("brokerAddr", "a"),
        ("clusterName", "c"),
        ("haServerAddr", "h"),
        ("brokerId", "0"),
    ])
    .decode()
    .unwrap();
    assert!(!h.compressed);
    assert_eq!(h.body_crc32, 0);
    let mut out = ExtFields::new();
    out.encode(&h);
    // Java always writes the primitive `compressed` and the initialised `bodyCrc32`.
    assert_eq!(out.get("compressed"), Some("false"));
    assert_eq!(out.get("bodyCrc32"), Some("0"));
    assert_eq!(out.len(), 7);
}
