use super::*;
use crate::stats::item::MINUTE_PERIOD_MS;

const T0: i64 = 1_795_242_000_000;

fn snapshot(m: &BrokerStatsManager, stats: &str, key: &str) -> (i64, i64) {
    let item = m
        .stats_item(stats, key)
        .unwrap_or_else(|| panic!("{stats} {key}"));
    (item.value(), item.times())
}

#[test]
fn puts_count_under_javas_keys() {
    let m = BrokerStatsManager::new("DefaultCluster", true);
    m.on_message_put("AdminTopic", 2, 1, 180);
    m.on_message_put("AdminTopic", 3, 4, 700);
    assert_eq!(snapshot(&m, name::TOPIC_PUT_NUMS, "AdminTopic"), (5, 2));
    assert_eq!(snapshot(&m, name::TOPIC_PUT_SIZE, "AdminTopic"), (880, 2));
    // BROKER_PUT_NUMS: the cluster name, value only.
    assert_eq!(
        snapshot(&m, name::BROKER_PUT_NUMS, "DefaultCluster"),
        (5, 0)
    );
    // Queue counters only for SCHEDULE_TOPIC_XXXX.
    assert!(m.stats_item(name::QUEUE_PUT_NUMS, "AdminTopic@2").is_none());
    m.on_message_put("SCHEDULE_TOPIC_XXXX", 2, 1, 200);
    assert_eq!(
        snapshot(&m, name::QUEUE_PUT_NUMS, "SCHEDULE_TOPIC_XXXX@2"),
        (1, 1)
    );
    assert_eq!(
        snapshot(&m, name::QUEUE_PUT_SIZE, "SCHEDULE_TOPIC_XXXX@2"),
        (200, 1)
    );
}

#[test]
fn pulls_count_under_javas_keys() {
    let m = BrokerStatsManager::new("DefaultCluster", true);
    m.on_pull_found("g", "T", 3, 2, 400, 7, 0);
    m.on_pull_found("g", "T", 1, 2, 300, 1, 0);
    assert_eq!(snapshot(&m, name::GROUP_GET_NUMS, "T@g"), (4, 2));
    assert_eq!(snapshot(&m, name::GROUP_GET_SIZE, "T@g"), (700, 2));
    assert_eq!(
        snapshot(&m, name::BROKER_GET_NUMS, "DefaultCluster"),
        (4, 0)
    );
    assert_eq!(snapshot(&m, name::GROUP_GET_LATENCY, "3@T@g"), (7, 1));
    assert_eq!(snapshot(&m, name::GROUP_GET_LATENCY, "1@T@g"), (1, 1));

    // Without enableDetailStat: no queue sets, latency by topic@group.
    let m = BrokerStatsManager::new("DefaultCluster", false);
    m.on_pull_found("g", "T", 3, 2, 400, 7, 0);
    assert_eq!(snapshot(&m, name::GROUP_GET_LATENCY, "T@g"), (7, 1));
    m.inc_queue_get("g", "T", 3, 1, 1);
    assert!(m.stats_item(name::QUEUE_GET_NUMS, "T@3@g").is_none());
}

#[test]
fn send_backs_and_deliveries_count_under_javas_keys() {
    let m = BrokerStatsManager::new("c", true);
    m.inc_send_back_nums("g", "T");
    assert_eq!(snapshot(&m, name::SNDBCK_PUT_NUMS, "T@g"), (1, 1));
    m.inc_queue_get("SCHEDULE_CONSUMER", "SCHEDULE_TOPIC_XXXX", 2, 1, 90);
    assert_eq!(
        snapshot(
            &m,
            name::QUEUE_GET_NUMS,
            "SCHEDULE_TOPIC_XXXX@2@SCHEDULE_CONSUMER"
        ),
        (1, 1)
    );
}

#[test]
fn unknown_statistics_and_the_never_counted_ones_have_no_items() {
    let m = BrokerStatsManager::new("c", true);
    m.on_pull_found("g", "T", 0, 1, 1, 1, 0);
    assert!(m.stats_item("NO_SUCH_STATS", "T@g").is_none());
    assert!(m
        .stats_item(name::GROUP_GET_FROM_DISK_NUMS, "T@g")
        .is_none());
    assert!(m.stats_item(name::TOPIC_PUT_NUMS, "T").is_none());
}

#[test]
fn the_tick_samples_minutes_every_call_hours_every_ten_minutes_days_every_hour() {
    const TEN_MINUTES: i64 = 600_000;
    const ONE_HOUR: i64 = 3_600_000;
    assert_eq!((HOUR_PERIOD_MS, DAY_PERIOD_MS), (TEN_MINUTES, ONE_HOUR));
    let m = BrokerStatsManager::new("c", true);
    m.inc_group_get("g", "T", 6, 60);
    m.on_tick(T0);
    let item = m.stats_item(name::GROUP_GET_NUMS, "T@g").unwrap();
    // All three windows are sampled at the first tick.
    assert_eq!(item.stats_in_minute().sum, 6);
    assert_eq!(item.stats_in_hour().sum, 6);
    assert_eq!(item.stats_in_day().sum, 6);

    m.inc_group_get("g", "T", 4, 40);
    let tick_until = |from: i64, to: i64| {
        let mut t = from;
        while t < to {
            t += MINUTE_PERIOD_MS;
            m.on_tick(t);
        }
    };
    tick_until(T0, T0 + TEN_MINUTES - MINUTE_PERIOD_MS);
    assert_eq!(item.stats_in_hour().sum, 6, "no 10-minute sampling yet");
    m.on_tick(T0 + TEN_MINUTES);
    assert_eq!(item.stats_in_hour().sum, 10);
    assert_eq!(item.stats_in_day().sum, 6, "no hourly sampling yet");
    // The minute window spans the last 60 s: the 4 came before that.
    assert_eq!(item.stats_in_minute().sum, 0);

    tick_until(T0 + TEN_MINUTES, T0 + ONE_HOUR);
    assert_eq!(item.stats_in_day().sum, 10);
    // The hour window: the snapshots of T0 .. T0+60 min, the 4 are still inside.
    assert_eq!(item.stats_in_hour().sum, 4);
    tick_until(T0 + ONE_HOUR, T0 + ONE_HOUR + TEN_MINUTES);
    assert_eq!(
        item.stats_in_hour().sum,
        0,
        "the hour window moved past them"
    );
}

#[test]
fn consume_tps_is_the_minute_rate_of_group_get_nums() {
    let m = BrokerStatsManager::new("c", true);
    assert_eq!(m.tps_group_get_nums("g", "T"), 0.0);
    m.on_tick(T0);
    m.inc_group_get("g", "T", 8, 800);
    for i in 1..=6 {
        m.on_tick(T0 + i * MINUTE_PERIOD_MS);
    }
    // Created after the first tick: 6 snapshots 10 s apart plus the zero one, 60 s.
    assert_eq!(m.tps_group_get_nums("g", "T"), 8.0 * 1000.0 / 60_000.0);
}

#[test]
fn deleting_a_topic_or_a_group_drops_their_items() {
    let m = BrokerStatsManager::new("c", true);
    m.on_message_put("T", 0, 1, 1);
    m.on_pull_found("g", "T", 0, 1, 1, 1, 0);
    m.on_pull_found("h", "U", 0, 1, 1, 1, 0);
    m.inc_send_back_nums("g", "T");
    m.on_topic_deleted("T");
    assert!(m.stats_item(name::TOPIC_PUT_NUMS, "T").is_none());
    assert!(m.stats_item(name::GROUP_GET_NUMS, "T@g").is_none());
    assert!(m.stats_item(name::SNDBCK_PUT_NUMS, "T@g").is_none());
    assert!(m.stats_item(name::GROUP_GET_LATENCY, "0@T@g").is_none());
    assert!(m.stats_item(name::GROUP_GET_NUMS, "U@h").is_some());
    m.on_group_deleted("h");
    assert!(m.stats_item(name::GROUP_GET_NUMS, "U@h").is_none());
    assert!(m.stats_item(name::GROUP_GET_LATENCY, "0@U@h").is_none());
}
