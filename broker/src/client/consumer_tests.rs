use super::*;
use crate::client::test_info;

fn sub(topic: &str, expr: &str, version: i64) -> SubscriptionData {
    SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some(expr.into()),
        sub_version: version,
        ..Default::default()
    }
}

const PUSH: ConsumeType = ConsumeType::ConsumePassively;
const CLUSTERING: MessageModel = MessageModel::Clustering;
const LAST: ConsumeFromWhere = ConsumeFromWhere::ConsumeFromLastOffset;

fn register(
    m: &ConsumerManager,
    conn: u64,
    client: &str,
    subs: &[SubscriptionData],
    now: i64,
) -> bool {
    m.register_consumer(
        "g",
        test_info(conn, client, now),
        PUSH,
        CLUSTERING,
        LAST,
        subs,
        now,
    )
}

#[test]
fn heartbeats_change_membership_only_when_java_says_so() {
    let m = ConsumerManager::new();
    let subs = [sub("t", "*", 1), sub("%RETRY%g", "*", 1)];
    assert!(register(&m, 1, "c1", &subs, 1000), "first member");
    assert!(!register(&m, 1, "c1", &subs, 2000), "same heartbeat again");
    assert!(register(&m, 2, "c2", &subs, 2000), "second member");
    assert_eq!(m.consumer_id_list("g").unwrap(), ["c1", "c2"]);
    assert_eq!(m.group_connections("g"), [ConnectionId(1), ConnectionId(2)]);

    // A newer tag expression replaces the old one but is not a membership change.
    let newer = [sub("t", "TagA", 2), sub("%RETRY%g", "*", 1)];
    assert!(!register(&m, 1, "c1", &newer, 3000));
    assert_eq!(
        m.find_subscription_data("g", "t")
            .unwrap()
            .sub_string
            .unwrap(),
        "TagA"
    );
    // An older version is ignored.
    assert!(!register(
        &m,
        2,
        "c2",
        &[sub("t", "Old", 1), sub("%RETRY%g", "*", 1)],
        3000
    ));
    assert_eq!(
        m.find_subscription_data("g", "t")
            .unwrap()
            .sub_string
            .unwrap(),
        "TagA"
    );
    // Dropping a topic is a change.
    assert!(register(&m, 1, "c1", &[sub("%RETRY%g", "*", 1)], 4000));
    assert!(m.find_subscription_data("g", "t").is_none());
    assert_eq!(m.find_subscription_data_count("g"), 1);
    assert_eq!(
        m.query_topic_consume_by_who("%RETRY%g"),
        ["g".to_string()].into()
    );

    let info = m.get_consumer_group_info("g").unwrap();
    assert_eq!(
        info.channel_info_table[&ConnectionId(1)].last_update_timestamp,
        4000
    );
    assert_eq!(
        info.channel_info_table[&ConnectionId(2)].last_update_timestamp,
        3000
    );
    assert_eq!(
        m.find_channel("g", "c2").unwrap().connection_id,
        ConnectionId(2)
    );
}

#[test]
fn heartbeat_takes_the_latest_consume_settings() {
    let m = ConsumerManager::new();
    register(&m, 1, "c1", &[], 0);
    m.register_consumer(
        "g",
        test_info(1, "c1", 5),
        ConsumeType::ConsumeActively,
        MessageModel::Broadcasting,
        ConsumeFromWhere::ConsumeFromFirstOffset,
        &[],
        5,
    );
    let info = m.get_consumer_group_info("g").unwrap();
    assert_eq!(info.consume_type, ConsumeType::ConsumeActively);
    assert_eq!(info.message_model, MessageModel::Broadcasting);
    assert_eq!(
        info.consume_from_where,
        ConsumeFromWhere::ConsumeFromFirstOffset
    );
}

#[test]
fn unregister_and_close_report_the_remaining_members() {
    let m = ConsumerManager::new();
    register(&m, 1, "c1", &[], 0);
    register(&m, 2, "c2", &[], 0);
    m.register_consumer(
        "other",
        test_info(1, "c1", 0),
        PUSH,
        CLUSTERING,
        LAST,
        &[],
        0,
    );

    let change = m.unregister_consumer("g", ConnectionId(2)).unwrap();
    assert_eq!(change.remaining, [ConnectionId(1)]);
    assert!(!change.group_removed);
    assert!(m.unregister_consumer("missing", ConnectionId(1)).is_none());

    let mut changes = m.connection_closed(ConnectionId(1));
    changes.sort_by(|a, b| a.group.cmp(&b.group));
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| c.remaining.is_empty() && c.group_removed));
    assert!(m.group_names().is_empty());
    assert!(m.connection_closed(ConnectionId(1)).is_empty());
}

#[test]
fn scan_drops_silent_members_after_120_s() {
    let m = ConsumerManager::new();
    register(&m, 1, "c1", &[], 0);
    register(&m, 2, "c2", &[], 100_000);
    assert!(
        m.scan_not_active_channel(120_000).is_empty(),
        "exactly 120 s is not expired"
    );
    let removed = m.scan_not_active_channel(120_001);
    assert_eq!(removed.len(), 1);
    assert_eq!(
        (removed[0].group.as_str(), removed[0].info.connection_id),
        ("g", ConnectionId(1))
    );
    assert_eq!(m.consumer_id_list("g").unwrap(), ["c2"]);
    let removed = m.scan_not_active_channel(300_000);
    assert_eq!(removed.len(), 1);
    assert!(
        m.get_consumer_group_info("g").is_none(),
        "empty group removed"
    );
}
