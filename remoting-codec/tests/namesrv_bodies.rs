//! Bodies of the name server family against recorded Java traffic, plus hand-made round trips
//! for the bodies no capture holds.

mod support;

use remoting_codec::code::{request, response, version};
use remoting_codec::fastjson;
use remoting_codec::protocol::common::{DataVersion, TopicConfig};
use remoting_codec::protocol::namesrv::RegisterBrokerRequestHeader;
use remoting_codec::protocol::register_broker::{
    body_crc32, body_crc32_matches, RegisterBrokerBody, RegisterBrokerBodyError,
};
use remoting_codec::protocol::route::*;
use remoting_codec::ExtFields;
use serde::de::DeserializeOwned;
use serde::Serialize;
use support::GoldenFrame;

/// Parses `body` as `T`, writes it back in fastjson's default form and checks that both read
/// to the same JSON value (so the type keeps every key Java sent).
fn json_round_trip<T: Serialize + DeserializeOwned>(body: &[u8], what: &str) -> T {
    let typed: T = fastjson::from_slice(body).unwrap_or_else(|e| panic!("{what}: {e}"));
    let again = fastjson::to_vec(&typed).unwrap();
    assert_eq!(
        fastjson::from_slice_value(&again).unwrap(),
        fastjson::from_slice_value(body).unwrap(),
        "{what}: {}",
        String::from_utf8_lossy(&again)
    );
    typed
}

fn success_responses(code: i32) -> Vec<GoldenFrame> {
    support::frames_for(code)
        .into_iter()
        .filter(|f| f.is_response() && f.code() == response::SUCCESS)
        .collect()
}

fn requests(code: i32) -> Vec<GoldenFrame> {
    support::frames_for(code)
        .into_iter()
        .filter(|f| !f.is_response())
        .collect()
}

fn header_of(f: &GoldenFrame) -> RegisterBrokerRequestHeader {
    let ext: ExtFields = f
        .ext_fields()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    ext.decode().unwrap()
}

#[test]
fn recorded_register_broker_bodies() {
    let frames = requests(request::REGISTER_BROKER);
    assert!(frames.len() >= 50, "{}", frames.len());
    let mut full = 0;
    for f in &frames {
        let what = f.describe();
        let header = header_of(f);
        let version = f.record["version"].as_i64().unwrap() as i32;
        // The CRC in the header is over the body exactly as sent.
        assert_eq!(body_crc32(&f.body), header.body_crc32, "{what}");
        assert!(body_crc32_matches(header.body_crc32, &f.body));
        let body: RegisterBrokerBody = json_round_trip(&f.body, &what);
        assert_eq!(
            RegisterBrokerBody::decode(&f.body, header.compressed, version).unwrap(),
            body
        );
        // Full registrations hold every topic; the one after a topic update holds only that
        // topic (`registerIncrementBrokerData`).
        let table = &body.topic_config_serialize_wrapper.topic_config_table;
        full += usize::from(table.contains_key("TBW102"));
        assert!(!table.is_empty(), "{what}");
        assert!(body.filter_server_list.is_empty());
    }
    assert!(full >= 50, "{full}");
}

/// What the compressed form carries of a body: no `order`, no `topicSysFlag`; 4.x no attributes.
fn carried(body: &RegisterBrokerBody, broker_version: i32) -> RegisterBrokerBody {
    let mut expected = body.clone();
    let wrapper = &mut expected.topic_config_serialize_wrapper;
    for config in wrapper.topic_config_table.values_mut() {
        config.order = false;
        config.topic_sys_flag = 0;
        if broker_version < version::V5_0_0 {
            config.attributes = None;
        }
    }
    wrapper.mapping_data_version = None;
    wrapper.topic_queue_mapping_detail_map = None;
    if broker_version < version::V5_0_0 {
        wrapper.topic_queue_mapping_info_map = None;
    } else if wrapper.topic_queue_mapping_info_map.is_none() {
        wrapper.topic_queue_mapping_info_map = Some(serde_json::json!({}));
    }
    expected
}

fn compressed_round_trip(body: &RegisterBrokerBody, broker_version: i32) {
    let bytes = body.encode(true, broker_version).unwrap();
    let back = RegisterBrokerBody::decode(&bytes, true, broker_version).unwrap();
    assert_eq!(back, carried(body, broker_version));
}

#[test]
fn compressed_register_broker_round_trips_every_recorded_body() {
    let frames = requests(request::REGISTER_BROKER);
    let mut topics = 0;
    for f in &frames {
        let body: RegisterBrokerBody = fastjson::from_slice(&f.body).unwrap();
        topics += body.topic_config_serialize_wrapper.topic_config_table.len();
        compressed_round_trip(&body, version::V4_9_8);
        compressed_round_trip(&body, version::V5_3_3);
    }
    assert!(topics > 400, "{topics}");
}

#[test]
fn compressed_register_broker_5x_sections() {
    let mut body = RegisterBrokerBody {
        filter_server_list: vec!["127.0.0.1:30000".into()],
        ..RegisterBrokerBody::default()
    };
    let wrapper = &mut body.topic_config_serialize_wrapper;
    wrapper.data_version = DataVersion {
        counter: 7,
        state_version: Some(0),
        timestamp: 1_795_242_654_328,
    };
    let mut t = TopicConfig::new("T1");
    t.attributes = Some([("+message.type".to_owned(), "FIFO".to_owned())].into());
    t.perm = 6;
    wrapper.topic_config_table.insert("T1".into(), t);
    let mut t = TopicConfig::new("T2");
    t.attributes = Some(Default::default());
    t.order = true;
    t.topic_sys_flag = 1;
    wrapper.topic_config_table.insert("T2".into(), t);
    wrapper
        .topic_config_table
        .insert("T3".into(), TopicConfig::new("T3"));
    wrapper.topic_queue_mapping_info_map = Some(serde_json::json!({
        "T1": {"bname": "broker-a", "currIdMap": {"0": 0}, "dirty": false, "epoch": 1,
               "scope": "__global__", "topic": "T1", "totalQueues": 8}
    }));
    compressed_round_trip(&body, version::V5_3_3);
    compressed_round_trip(&body, version::V4_9_8);
}

#[test]
fn compressed_register_broker_bad_input_is_a_typed_error() {
    use flate2::write::ZlibEncoder;
    use std::io::Write;
    fn zlib(raw: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }
    let v = version::V4_9_8;
    assert!(matches!(
        RegisterBrokerBody::decode(b"not zlib", true, v),
        Err(RegisterBrokerBodyError::Inflate(_))
    ));
    // A bomb: 1 MiB of zeros against a 64 KiB limit.
    let bomb = zlib(&vec![0u8; 1 << 20]);
    assert_eq!(
        RegisterBrokerBody::decode_compressed(&bomb, v, 64 * 1024),
        Err(RegisterBrokerBodyError::TooLarge { limit: 64 * 1024 })
    );
    assert!(matches!(
        RegisterBrokerBody::decode(&zlib(&[0, 0, 0]), true, v),
        Err(RegisterBrokerBodyError::Truncated { .. })
    ));
    assert!(matches!(
        RegisterBrokerBody::decode(&zlib(&(-1i32).to_be_bytes()), true, v),
        Err(RegisterBrokerBodyError::NegativeLength { len: -1, .. })
    ));
    let mut raw = Vec::new();
    let dv = br#"{"counter":1,"timestamp":2}"#;
    raw.extend_from_slice(&(dv.len() as i32).to_be_bytes());
    raw.extend_from_slice(dv);
    raw.extend_from_slice(&1i32.to_be_bytes());
    let line = b"T x 8 6 SINGLE_TAG";
    raw.extend_from_slice(&(line.len() as i32).to_be_bytes());
    raw.extend_from_slice(line);
    assert!(matches!(
        RegisterBrokerBody::decode(&zlib(&raw), true, v),
        Err(RegisterBrokerBodyError::TopicLine { .. })
    ));
    // A count far beyond the data stops at the end of the data.
    let mut raw = Vec::new();
    raw.extend_from_slice(&(dv.len() as i32).to_be_bytes());
    raw.extend_from_slice(dv);
    raw.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(
        RegisterBrokerBody::decode(&zlib(&raw), true, v),
        Err(RegisterBrokerBodyError::Truncated { .. })
    ));
    assert!(RegisterBrokerBody::decode(b"{", false, v).is_err());
}

#[test]
fn recorded_routes_round_trip_in_both_forms() {
    let frames = success_responses(request::GET_ROUTEINFO_BY_TOPIC);
    assert!(frames.len() >= 240, "{}", frames.len());
    for f in &frames {
        let what = f.describe();
        let route: TopicRouteData = json_round_trip(&f.body, &what);
        assert!(!route.broker_datas.is_empty() && !route.queue_datas.is_empty());
        // The s15 captures have routes read while the master was killed: only the slave.
        if !what.contains("s15-") || route.broker_datas[0].master_addr().is_some() {
            assert_eq!(route.broker_datas[0].master_addr(), Some("127.0.0.1:10911"));
        }
        let standard = fastjson::to_vec_standard(&route).unwrap();
        let strict: TopicRouteData = serde_json::from_slice(&standard).unwrap();
        assert_eq!(strict, route, "{what}");
        // A 4.9.8 name server answered every recorded (v409/v479) request in standard JSON.
        assert_eq!(&standard[..], &f.body[..], "{what}");
    }
    assert!(TopicRouteData::wants_standard_json(version::V4_9_8, None));
    assert!(!TopicRouteData::wants_standard_json(version::V4_0_0, None));
    assert!(TopicRouteData::wants_standard_json(
        version::V4_0_0,
        Some(true)
    ));
}

#[test]
fn route_default_form_has_bare_broker_ids() {
    let mut broker = BrokerData::new("DefaultCluster", "broker-a");
    broker.broker_addrs.insert(0, "127.0.0.1:10911".into());
    broker.broker_addrs.insert(1, "127.0.0.1:10921".into());
    broker.enable_acting_master = Some(false);
    broker.zone_name = Some("z1".into());
    let route = TopicRouteData {
        broker_datas: vec![broker],
        order_topic_conf: Some("broker-a:4".into()),
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            perm: 6,
            read_queue_nums: 4,
            topic_sys_flag: 0,
            write_queue_nums: 4,
        }],
        topic_queue_mapping_by_broker: Some(serde_json::json!({"broker-a": {"topic": "T"}})),
        ..TopicRouteData::default()
    };
    let text = fastjson::to_string(&route).unwrap();
    assert!(
        text.starts_with(r#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false,"zoneName":"z1"}]"#),
        "{text}"
    );
    let back: TopicRouteData = json_round_trip(text.as_bytes(), "hand-made route");
    assert_eq!(back, route);
    // REGISTER_TOPIC_IN_NAMESRV (217) sends only the queue data.
    let only_queues: TopicRouteData =
        fastjson::from_slice(br#"{"queueDatas":[{"brokerName":"b","perm":6,"readQueueNums":1,"topicSysFlag":0,"writeQueueNums":1}]}"#).unwrap();
    assert!(only_queues.broker_datas.is_empty());
    assert_eq!(only_queues.queue_datas.len(), 1);
}

#[test]
fn recorded_cluster_info_and_topic_lists() {
    let frames = success_responses(request::GET_BROKER_CLUSTER_INFO);
    // 7 of them in s16-acl, 7 in the s15 master/slave captures.
    assert_eq!(frames.len(), 28);
    for f in &frames {
        let info: ClusterInfo = json_round_trip(&f.body, &f.describe());
        assert_eq!(info.cluster_addr_table["DefaultCluster"], vec!["broker-a"]);
        let master = info.broker_addr_table["broker-a"].master_addr();
        // s15: asked while the master was killed (only the slave is listed).
        if !f.describe().contains("s15-") || master.is_some() {
            assert_eq!(master, Some("127.0.0.1:10911"));
        }
    }
    let frames = success_responses(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
    assert_eq!(frames.len(), 5);
    for f in &frames {
        let list: TopicList = json_round_trip(&f.body, &f.describe());
        assert!(list.topic_list.iter().any(|t| t == "TBW102"));
        assert_eq!(list.broker_addr, None);
    }
}

#[test]
fn unrecorded_bodies_round_trip() {
    // GET_SYSTEM_TOPIC_LIST_FROM_NS (304) and the 224/311–313 lists.
    let list: TopicList = json_round_trip(
        br#"{"brokerAddr":"127.0.0.1:10911","topicList":["DefaultCluster","broker-a"]}"#,
        "304",
    );
    assert_eq!(list.broker_addr.as_deref(), Some("127.0.0.1:10911"));
    json_round_trip::<TopicList>(br#"{"topicList":[]}"#, "224");
    let kv: KVConfigSerializeWrapper = json_round_trip(
        br#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4"},"ns":{"k":"v"}}}"#,
        "kvConfig.json",
    );
    assert_eq!(kv.config_table["ORDER_TOPIC_CONFIG"]["T"], "broker-a:4");
    let pretty = fastjson::to_string_pretty(&kv).unwrap();
    assert_eq!(
        fastjson::from_str::<KVConfigSerializeWrapper>(&pretty).unwrap(),
        kv
    );
    let group: GetBrokerMemberGroupResponseBody = json_round_trip(
        br#"{"brokerMemberGroup":{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}}"#,
        "901",
    );
    let group = group.broker_member_group.unwrap();
    assert_eq!(group.broker_addrs[&1], "127.0.0.1:10921");
    json_round_trip::<GetBrokerMemberGroupResponseBody>(b"{}", "901 empty");
    // QUERY_DATA_VERSION (322) carries a DataVersion both ways.
    let dv: DataVersion = json_round_trip(
        br#"{"counter":3,"stateVersion":0,"timestamp":1795242654328}"#,
        "322",
    );
    assert_eq!(dv.counter, 3);
}
