use std::sync::Arc;

use bytes::Bytes;
use remoting_codec::message::{java_string_hash_code, MessageProperties, StoredMessage};
use remoting_codec::protocol::SubscriptionData;
use store::MessageFilter;

use super::*;
use crate::test_util::TempDir;

const DAY: i64 = 24 * 3600 * 1000;

fn sql(topic: &str, expression: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some(expression.into()),
        expression_type: Some(SQL92.into()),
        sub_version: version,
        ..SubscriptionData::default()
    }
}

fn manager(dir: &TempDir) -> ConsumerFilterManager {
    ConsumerFilterManager::new(dir.path(), DAY)
}

#[test]
fn register_follows_javas_version_rules() {
    let dir = TempDir::new("filter-register");
    let m = manager(&dir);
    let reg = |expr: &str, kind: Option<&str>, version: i64, now: i64| {
        m.register("T", "g", expr, kind, version, now)
    };
    assert!(
        !reg("a = 1", Some(TAG), 1, 1),
        "tag subscriptions are not filters"
    );
    assert!(!reg("a = 1", None, 1, 1));
    assert!(
        !reg("", Some(SQL92), 1, 1),
        "an empty expression is not registered"
    );
    assert!(
        !reg("a = ", Some(SQL92), 1, 1),
        "an expression that does not compile"
    );
    assert!(m.get("T", "g").is_none());

    assert!(reg("a = 1", Some(SQL92), 10, 100));
    let first = m.get("T", "g").unwrap();
    assert_eq!(
        (first.born_time, first.dead_time, first.client_version),
        (100, 0, 10)
    );
    assert!(first.compiled.is_some() && !first.is_dead());
    // An older or equal version changes nothing, even with another expression.
    assert!(!reg("a = 2", Some(SQL92), 9, 110));
    assert!(!reg("a = 2", Some(SQL92), 10, 110));
    assert_eq!(m.get("T", "g").unwrap().expression, "a = 1");
    // A newer version of the same expression: only the version moves.
    assert!(reg("a = 1", Some(SQL92), 11, 120));
    let same = m.get("T", "g").unwrap();
    assert_eq!((same.client_version, same.born_time), (11, 100));
    // Dead, then the same version again: alive again.
    m.unregister("g", 130);
    assert_eq!(m.get("T", "g").unwrap().dead_time, 130);
    assert!(reg("a = 1", Some(SQL92), 11, 140));
    assert!(!m.get("T", "g").unwrap().is_dead());
    // A newer version with another expression: new data, born now.
    assert!(reg("a = 2", Some(SQL92), 12, 150));
    let changed = m.get("T", "g").unwrap();
    assert_eq!(
        (
            changed.expression.as_str(),
            changed.born_time,
            changed.client_version
        ),
        ("a = 2", 150, 12)
    );
    // A newer version that does not compile: the old data goes.
    assert!(!reg("a = = 2", Some(SQL92), 13, 160));
    assert!(m.get("T", "g").is_none());
}

#[test]
fn heartbeat_registration_kills_filters_of_dropped_topics() {
    let dir = TempDir::new("filter-heartbeat");
    let m = manager(&dir);
    m.register_subscriptions("g", &[sql("T", "a = 1", 1), sql("U", "b = 'x'", 1)], 10);
    assert_eq!(m.filters_of_group("g").len(), 2);
    assert_eq!(m.filters_of_topic("U").len(), 1);
    m.register_subscriptions("g", &[sql("T", "a = 1", 1)], 20);
    assert!(!m.get("T", "g").unwrap().is_dead());
    assert_eq!(m.get("U", "g").unwrap().dead_time, 20);
    // Expiry: dead for filterDataCleanTimeSpan or longer.
    m.clean(20 + DAY - 1);
    assert!(m.get("U", "g").is_some());
    m.clean(20 + DAY);
    assert!(m.get("U", "g").is_none());
    assert!(m.filters_of_topic("U").is_empty());
    assert!(m.get("T", "g").is_some(), "a living filter never expires");
}

/// Java's consumerFilter.json for one SQL92 filter (fastjson pretty form: tabs, a line per
/// field, bean fields in name order, `dead` from `isDead()`, the `int[]` of positions on one
/// line), as a 4.9.8 broker with the default bloom filter (112 bits, the 3 positions of
/// `group#topic`) writes it.
fn java_file(topic: &str, group: &str, expr: &str, born: i64, version: i64, dead: i64) -> String {
    let pos = default_bloom_filter()
        .generate(&format!("{group}#{topic}"))
        .bit_pos;
    let pos = pos.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    format!(
        "{{\n\t\"filterDataByTopic\":{{\n\t\t\"{topic}\":{{\n\t\t\t\"groupFilterData\":{{\n\t\t\t\t\"{group}\":{{\n\t\t\t\t\t\"bloomFilterData\":{{\n\t\t\t\t\t\t\"bitNum\":112,\n\t\t\t\t\t\t\"bitPos\":[{pos}]\n\t\t\t\t\t}},\n\t\t\t\t\t\"bornTime\":{born},\n\t\t\t\t\t\"clientVersion\":{version},\n\t\t\t\t\t\"consumerGroup\":\"{group}\",\n\t\t\t\t\t\"dead\":{},\n\t\t\t\t\t\"deadTime\":{dead},\n\t\t\t\t\t\"expression\":\"{expr}\",\n\t\t\t\t\t\"expressionType\":\"SQL92\",\n\t\t\t\t\t\"topic\":\"{topic}\"\n\t\t\t\t}}\n\t\t\t}},\n\t\t\t\"topic\":\"{topic}\"\n\t\t}}\n\t}}\n}}",
        dead >= born
    )
}

#[test]
fn consumer_filter_json_is_javas_file() {
    let dir = TempDir::new("filter-file");
    let m = manager(&dir);
    assert_eq!(m.encode(0, true), "{\n\t\"filterDataByTopic\":{}\n}");
    let empty = std::fs::read_to_string(
        test_support::capture::captures_dir().join("../stores/clean/config/consumerFilter.json"),
    );
    if let Ok(golden) = empty {
        assert_eq!(m.encode(0, true), golden, "the golden store's empty file");
    }
    m.register(
        "FilterTopic",
        "sql_filter_group",
        "a between 0 and 3",
        Some(SQL92),
        7,
        100,
    );
    assert_eq!(
        m.encode(200, true),
        java_file(
            "FilterTopic",
            "sql_filter_group",
            "a between 0 and 3",
            100,
            7,
            0
        )
    );
    m.unregister("sql_filter_group", 300);
    assert_eq!(
        m.encode(400, true),
        java_file(
            "FilterTopic",
            "sql_filter_group",
            "a between 0 and 3",
            100,
            7,
            300
        )
    );
    m.persist(400).unwrap();
    assert_eq!(
        std::fs::read_to_string(m.path()).unwrap(),
        java_file(
            "FilterTopic",
            "sql_filter_group",
            "a between 0 and 3",
            100,
            7,
            300
        )
    );
    // Dead for a day: gone from the next file.
    assert_eq!(
        m.encode(300 + DAY, true),
        "{\n\t\"filterDataByTopic\":{}\n}"
    );
}

#[test]
fn several_topics_and_groups_in_javas_map_order() {
    let dir = TempDir::new("filter-order");
    let m = manager(&dir);
    let topics = ["TopicA", "FilterTopic", "zz", "T1", "T2"];
    let groups = ["g1", "sql_filter_group", "Group-X"];
    for t in topics {
        for g in groups {
            assert!(m.register(t, g, "a = 1", Some(SQL92), 1, 1));
        }
    }
    let text = m.encode(1, false);
    let mut topic_order: Vec<&str> = topics.to_vec();
    crate::java_order::sort_keys(&mut topic_order, TOPIC_TABLE);
    let mut group_order: Vec<&str> = groups.to_vec();
    crate::java_order::sort_keys(&mut group_order, GROUP_TABLE);
    let positions = |keys: &[&str], from: usize| -> Vec<usize> {
        keys.iter()
            .map(|k| from + text[from..].find(&format!("\"{k}\":{{")).unwrap())
            .collect()
    };
    let t = positions(&topic_order, 0);
    assert!(t.windows(2).all(|w| w[0] < w[1]), "topics in bucket order");
    let g = positions(&group_order, t[0]);
    assert!(g.windows(2).all(|w| w[0] < w[1]), "groups in bucket order");
}

#[test]
fn reads_javas_file_as_java_does() {
    // A 4.9.8 broker's file (bloom bits included), one filter alive, one dead, one that no
    // longer compiles.
    let dir = TempDir::new("filter-load");
    let java = "{\n\t\"filterDataByTopic\":{\n\t\t\"T\":{\n\t\t\t\"groupFilterData\":{\n\t\t\t\t\"alive\":{\n\t\t\t\t\t\"bloomFilterData\":{\n\t\t\t\t\t\t\"bitNum\":112,\n\t\t\t\t\t\t\"bitPos\":[14,59,39]\n\t\t\t\t\t},\n\t\t\t\t\t\"bornTime\":1000,\n\t\t\t\t\t\"clientVersion\":1500,\n\t\t\t\t\t\"consumerGroup\":\"alive\",\n\t\t\t\t\t\"dead\":false,\n\t\t\t\t\t\"deadTime\":0,\n\t\t\t\t\t\"expression\":\"(a = 1)\",\n\t\t\t\t\t\"expressionType\":\"SQL92\",\n\t\t\t\t\t\"topic\":\"T\"\n\t\t\t\t},\n\t\t\t\t\"dead\":{\n\t\t\t\t\t\"bloomFilterData\":{\n\t\t\t\t\t\t\"bitNum\":112,\n\t\t\t\t\t\t\"bitPos\":[14,59,39]\n\t\t\t\t\t},\n\t\t\t\t\t\"bornTime\":1000,\n\t\t\t\t\t\"clientVersion\":1500,\n\t\t\t\t\t\"consumerGroup\":\"dead\",\n\t\t\t\t\t\"dead\":true,\n\t\t\t\t\t\"deadTime\":2000,\n\t\t\t\t\t\"expression\":\"a = 1\",\n\t\t\t\t\t\"expressionType\":\"SQL92\",\n\t\t\t\t\t\"topic\":\"T\"\n\t\t\t\t},\n\t\t\t\t\"broken\":{\n\t\t\t\t\t\"bloomFilterData\":{\n\t\t\t\t\t\t\"bitNum\":112,\n\t\t\t\t\t\t\"bitPos\":[14,59,39]\n\t\t\t\t\t},\n\t\t\t\t\t\"bornTime\":1000,\n\t\t\t\t\t\"clientVersion\":1500,\n\t\t\t\t\t\"consumerGroup\":\"broken\",\n\t\t\t\t\t\"dead\":false,\n\t\t\t\t\t\"deadTime\":0,\n\t\t\t\t\t\"expression\":\"a = = 1\",\n\t\t\t\t\t\"expressionType\":\"SQL92\",\n\t\t\t\t\t\"topic\":\"T\"\n\t\t\t\t}\n\t\t\t},\n\t\t\t\"topic\":\"T\"\n\t\t}\n\t}\n}";
    let path = crate::paths::consumer_filter_path(dir.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, java).unwrap();
    let now = 100_000;
    let m = ConsumerFilterManager::open(dir.path(), DAY, default_bloom_filter(), now).unwrap();
    let alive = m.get("T", "alive").unwrap();
    assert_eq!(alive.dead_time, now - 30_000, "taken for dead 30 s ago");
    assert!(alive.is_dead() && alive.compiled.is_some());
    assert_eq!(alive.bloom_filter_data.as_ref().unwrap().bit_num, 112);
    assert_eq!(m.get("T", "dead").unwrap().dead_time, 2000);
    let broken = m.get("T", "broken").unwrap();
    assert!(broken.compiled.is_none(), "kept without compiled form");
    // Born within the last 30 s: dead since its birth.
    let m = ConsumerFilterManager::open(dir.path(), DAY, default_bloom_filter(), 20_000).unwrap();
    assert_eq!(m.get("T", "alive").unwrap().dead_time, 1000);
    // A heartbeat of the same version revives it.
    assert!(m.register("T", "alive", "(a = 1)", Some(SQL92), 1500, 30_000));
    assert!(!m.get("T", "alive").unwrap().is_dead());
}

#[test]
fn a_file_with_foreign_bloom_data_is_ignored_as_java_does() {
    let dir = TempDir::new("filter-bloom-changed");
    let m = manager(&dir);
    m.register("T", "g", "a = 1", Some(SQL92), 1, 1);
    m.register("U", "h", "a = 2", Some(SQL92), 1, 1);
    let data = m.get("T", "g").unwrap();
    assert_eq!(
        data.bloom_filter_data.as_ref().unwrap(),
        &default_bloom_filter().generate("g#T"),
        "the positions of group#topic"
    );
    m.persist(2).unwrap();
    let reopened =
        ConsumerFilterManager::open(dir.path(), DAY, default_bloom_filter(), 10).unwrap();
    assert!(reopened.get("T", "g").is_some() && reopened.get("U", "h").is_some());
    // Another expectConsumerNumUseFilter: another m, every filter of the file dropped.
    let other = filter::bloom::BloomFilter::create_by_fn(20, 64).unwrap();
    let reopened = ConsumerFilterManager::open(dir.path(), DAY, other, 10).unwrap();
    assert!(reopened.filters_of_topic("T").is_empty() && reopened.filters_of_topic("U").is_empty());
    // One filter without bloom data (isValid(null) is false): the whole file is dropped.
    let text = std::fs::read_to_string(m.path()).unwrap();
    let start = text.find("\"bloomFilterData\"").unwrap();
    let end = start + text[start..].find("},").unwrap() + 2;
    std::fs::write(m.path(), format!("{}{}", &text[..start], &text[end..])).unwrap();
    let reopened =
        ConsumerFilterManager::open(dir.path(), DAY, default_bloom_filter(), 10).unwrap();
    assert!(reopened.filters_of_topic("T").is_empty() && reopened.filters_of_topic("U").is_empty());
}

#[test]
fn dispatch_bitmap_and_pull_pre_filter_as_java() {
    let dir = TempDir::new("filter-bitmap");
    let m = Arc::new(manager(&dir));
    let bloom = *m.bloom_filter();
    let calc = CalcBitMap::new(m.clone(), true);
    let props = |pairs: &[(&str, &str)]| {
        let mut p = MessageProperties::new();
        for (k, v) in pairs {
            p.insert(*k, *v);
        }
        p
    };
    assert_eq!(
        calc.calc("T", &props(&[("a", "1")])),
        None,
        "no filter on the topic"
    );
    m.register("T", "g1", "a = 1", Some(SQL92), 1, 100);
    m.register("T", "g2", "a = 2", Some(SQL92), 1, 100);
    let g1 = m.get("T", "g1").unwrap();
    let g2 = m.get("T", "g2").unwrap();
    let bits_of = |p: &MessageProperties| calc.calc("T", p).unwrap();
    let one = bits_of(&props(&[("a", "1")]));
    assert_eq!(one.len(), bloom.m() / 8);
    let mut expected = bloom.new_bits();
    bloom
        .hash_to_data(g1.bloom_filter_data.as_ref().unwrap(), &mut expected)
        .unwrap();
    assert_eq!(one, expected.into_bytes(), "only g1's positions");
    let none = bits_of(&props(&[("a", "3")]));
    assert!(
        none.iter().all(|b| *b == 0),
        "a bitmap of zeros, not no bitmap"
    );
    // The switch: no bitmap at all.
    calc.set_enabled(false);
    assert_eq!(
        store::FilterBitMapCalculator::calc_filter_bit_map(&calc, "T", &props(&[("a", "1")])),
        None
    );

    let f1 = SubscriptionFilter::new(&sql("T", "a = 1", 1), Some(g1.clone()), &m, false);
    let f2 = SubscriptionFilter::new(&sql("T", "a = 2", 1), Some(g2.clone()), &m, false);
    let unit = |time: i64, bits: Option<&[u8]>| store::CqExtUnit {
        tags_code: 0,
        msg_store_time: time,
        filter_bit_map: bits.map(Bytes::copy_from_slice),
    };
    // Stored after the filters were born: the bitmap decides.
    let u = unit(101, Some(&one));
    assert!(f1.is_matched_by_consume_queue_with_ext(Some(0), Some(&u)));
    assert!(!f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&u)));
    assert!(!f1.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(101, Some(&none)))));
    // Java's pass-through rules: a message stored at or before the filter's birth, no unit,
    // no bitmap, a bitmap of another length.
    assert!(f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(100, Some(&one)))));
    assert!(f2.is_matched_by_consume_queue_with_ext(Some(0), None));
    assert!(f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(101, None))));
    assert!(f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(101, Some(&one[1..])))));
    // Filter data without bloom bits (built for a subscription-flag pull): no pre-filter.
    let built = FilterData::build("T", "g2", "a = 2", SQL92, 1, 50).map(Arc::new);
    let f = SubscriptionFilter::new(&sql("T", "a = 2", 1), built, &m, false);
    assert!(f.is_matched_by_consume_queue_with_ext(Some(0), Some(&u)));
    // Bloom data of another filter (bloomDataValid false): no pre-filter.
    let mut foreign = (*g2).clone();
    foreign.bloom_filter_data = Some(filter::bloom::BloomFilterData::new(vec![1, 2, 3], 64));
    let f = SubscriptionFilter::new(&sql("T", "a = 2", 1), Some(Arc::new(foreign)), &m, false);
    assert!(f.is_matched_by_consume_queue_with_ext(Some(0), Some(&u)));
    // A filter changed after the message: born again later, the message is not in its life.
    m.register("T", "g2", "a = 1", Some(SQL92), 2, 200);
    let g2 = m.get("T", "g2").unwrap();
    let f2 = SubscriptionFilter::new(&sql("T", "a = 1", 2), Some(g2), &m, false);
    assert!(f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(150, Some(&none)))));
    assert!(!f2.is_matched_by_consume_queue_with_ext(Some(0), Some(&unit(201, Some(&none)))));
    // Tag subscriptions ignore the unit's bitmap.
    let tags = build_subscription_data("T", Some("TagA")).unwrap();
    let f = SubscriptionFilter::new(&tags, None, &m, false);
    let tag_a = java_string_hash_code("TagA") as i64;
    assert!(f.is_matched_by_consume_queue_with_ext(Some(tag_a), Some(&unit(101, Some(&none)))));
    assert!(!f.is_matched_by_consume_queue_with_ext(Some(tag_a + 1), Some(&u)));
}

#[test]
fn filter_api_build_as_java() {
    let all = build_subscription_data("T", Some("*")).unwrap();
    assert_eq!(all.sub_string.as_deref(), Some("*"));
    assert!(all.code_set.is_empty());
    let empty = build_subscription_data("T", None).unwrap();
    assert_eq!(empty.sub_string.as_deref(), Some("*"));
    let some = build_subscription_data("T", Some("TagA || TagB ||  ")).unwrap();
    assert_eq!(some.tags_set, vec!["TagA", "TagB"]);
    assert_eq!(
        some.code_set,
        vec![java_string_hash_code("TagA"), java_string_hash_code("TagB")]
    );
    assert_eq!(
        build_subscription_data("T", Some("||||")),
        Err(SubscriptionParseError)
    );
    assert!(build_subscription_data("T", Some(" || ")).is_ok());
    let sql = build("T", Some("a = 1"), Some(SQL92)).unwrap();
    assert_eq!(sql.expression_type.as_deref(), Some(SQL92));
    assert!(build("T", None, Some(SQL92)).is_err());
    assert!(build("T", Some(""), Some(SQL92)).is_err());
    assert!(
        build("T", Some(""), Some("")).is_err(),
        "only TAG or no type is a tag list"
    );
    assert!(build("T", Some("TagA"), Some(TAG)).is_ok());
}

fn record(topic: &str, props: &[(&str, &str)]) -> Bytes {
    let mut properties = MessageProperties::new();
    for (k, v) in props {
        properties.insert(*k, *v);
    }
    let msg = StoredMessage {
        topic: topic.into(),
        body: Bytes::from_static(b"body"),
        properties,
        ..StoredMessage::default()
    };
    msg.encode().unwrap()
}

#[test]
fn one_filter_for_tags_sql_and_retry() {
    let dir = TempDir::new("filter-unified");
    let m = Arc::new(manager(&dir));
    let tag_a = java_string_hash_code("TagA") as i64;
    let tag_b = java_string_hash_code("TagB") as i64;

    // Tags: by the consume-queue code only.
    let tags = build_subscription_data("T", Some("TagA || TagC")).unwrap();
    let f = SubscriptionFilter::new(&tags, None, &m, true);
    assert!(f.is_matched_by_consume_queue(Some(tag_a)));
    assert!(!f.is_matched_by_consume_queue(Some(tag_b)));
    assert!(f.is_matched_by_consume_queue(None));
    assert!(f.is_matched_by_commit_log(&record("T", &[("TAGS", "TagB")])));
    let star = build_subscription_data("T", Some("*")).unwrap();
    assert!(
        SubscriptionFilter::new(&star, None, &m, false).is_matched_by_consume_queue(Some(tag_b))
    );
    let mut class_mode = tags.clone();
    class_mode.class_filter_mode = true;
    assert!(SubscriptionFilter::new(&class_mode, None, &m, false)
        .is_matched_by_consume_queue(Some(tag_b)));

    // SQL92: every code passes the queue check, the record's properties decide.
    let expr = "a between 0 and 3 AND b = 'x'";
    let sub = sql("T", expr, 1);
    let data = FilterData::build("T", "g", expr, SQL92, 1, 1).map(Arc::new);
    let f = SubscriptionFilter::new(&sub, data, &m, false);
    assert!(f.is_matched_by_consume_queue(Some(tag_b)));
    assert!(f.is_matched_by_commit_log(&record("T", &[("a", "2"), ("b", "x")])));
    assert!(!f.is_matched_by_commit_log(&record("T", &[("a", "2"), ("b", "y")])));
    assert!(!f.is_matched_by_commit_log(&record("T", &[("a", "4"), ("b", "x")])));
    assert!(
        !f.is_matched_by_commit_log(&record("T", &[("b", "x")])),
        "null is not true"
    );
    let mut props = MessageProperties::new();
    props.insert("a", "0");
    props.insert("b", "x");
    assert!(f.matches_properties(&|k| props.get(k)));
    // No filter data (a subscription-flag pull whose expression did not compile): all pass.
    let f = SubscriptionFilter::new(&sub, None, &m, false);
    assert!(f.is_matched_by_commit_log(&record("T", &[("b", "y")])));

    // %RETRY%g: with filterSupportRetry each record is matched with the expression g has on the
    // record's original topic; without, everything passes.
    m.register_subscriptions("g", &[sql("T", expr, 1)], 1);
    let retry = build_subscription_data("%RETRY%g", Some("*")).unwrap();
    let retried =
        |a: &str, b: &str| record("%RETRY%g", &[("a", a), ("b", b), ("RETRY_TOPIC", "T")]);
    let f = SubscriptionFilter::new(&retry, None, &m, true);
    assert!(f.is_matched_by_commit_log(&retried("1", "x")));
    assert!(!f.is_matched_by_commit_log(&retried("1", "y")));
    let other = record("%RETRY%g", &[("a", "9"), ("RETRY_TOPIC", "Other")]);
    assert!(
        f.is_matched_by_commit_log(&other),
        "no filter on the original topic"
    );
    let f = SubscriptionFilter::new(&retry, None, &m, false);
    assert!(f.is_matched_by_commit_log(&retried("1", "y")));
}
