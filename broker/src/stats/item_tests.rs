use super::*;

/// Any start: only differences of times matter.
const T0: i64 = 1_795_242_000_000;

#[test]
fn an_item_not_yet_sampled_answers_zeros() {
    let item = StatsItem::default();
    item.add(5, 1);
    for s in [
        item.stats_in_minute(),
        item.stats_in_hour(),
        item.stats_in_day(),
    ] {
        assert_eq!(s, StatsSnapshot::default());
    }
}

#[test]
fn the_first_sampling_compares_with_a_zero_one_period_earlier() {
    let item = StatsItem::default();
    item.add(6, 3);
    item.sampling_in_seconds(T0);
    let s = item.stats_in_minute();
    assert_eq!((s.sum, s.times), (6, 3));
    assert_eq!(s.tps, 6.0 * 1000.0 / 10_000.0);
    assert_eq!(s.avgpt, 2.0);

    item.sampling_in_minutes(T0);
    assert_eq!(item.stats_in_hour().tps, 6.0 * 1000.0 / 600_000.0);
    item.sampling_in_hour(T0);
    assert_eq!(item.stats_in_day().tps, 6.0 * 1000.0 / 3_600_000.0);
}

/// The recorded `statsAll` (s12 m27): GROUP_GET_NUMS of `AdminTopic@live_consumer_group` was
/// 8 messages in 4 pulls within a full minute window: sum 8, tps 0.13333333333333333, avgpt 2.0.
#[test]
fn a_full_minute_window_reproduces_the_recorded_figures() {
    let item = StatsItem::default();
    item.sampling_in_seconds(T0);
    for i in 1..=6 {
        if i == 3 {
            for _ in 0..4 {
                item.add(2, 1);
            }
        }
        item.sampling_in_seconds(T0 + i * MINUTE_PERIOD_MS);
    }
    let s = item.stats_in_minute();
    assert_eq!(s.sum, 8);
    assert_eq!(s.tps, 0.13333333333333333);
    assert_eq!(s.avgpt, 2.0);
}

#[test]
fn the_minute_window_rolls_over_after_sixty_seconds() {
    let item = StatsItem::default();
    item.add(10, 1);
    item.sampling_in_seconds(T0);
    // The list keeps 7 snapshots: after 6 more samplings the zero snapshot is gone.
    for i in 1..=5 {
        item.sampling_in_seconds(T0 + i * MINUTE_PERIOD_MS);
        assert_eq!(item.stats_in_minute().sum, 10, "sampling {i}");
    }
    item.sampling_in_seconds(T0 + 6 * MINUTE_PERIOD_MS);
    let s = item.stats_in_minute();
    assert_eq!((s.sum, s.tps, s.avgpt), (0, 0.0, 0.0));
    // New events count again, over the last 60 s.
    item.add(3, 3);
    item.sampling_in_seconds(T0 + 7 * MINUTE_PERIOD_MS);
    let s = item.stats_in_minute();
    assert_eq!((s.sum, s.times), (3, 3));
    assert_eq!(s.tps, 3.0 * 1000.0 / 60_000.0);
}

#[test]
fn hour_and_day_windows_keep_seven_and_twenty_five_snapshots() {
    let item = StatsItem::default();
    item.add(1, 1);
    item.sampling_in_minutes(T0);
    for i in 1..=5 {
        item.sampling_in_minutes(T0 + i * HOUR_PERIOD_MS);
    }
    assert_eq!(item.stats_in_hour().sum, 1);
    item.sampling_in_minutes(T0 + 6 * HOUR_PERIOD_MS);
    assert_eq!(item.stats_in_hour().sum, 0, "the hour window spans 60 min");

    let item = StatsItem::default();
    item.add(1, 1);
    item.sampling_in_hour(T0);
    for i in 1..=23 {
        item.sampling_in_hour(T0 + i * DAY_PERIOD_MS);
    }
    assert_eq!(item.stats_in_day().sum, 1);
    item.sampling_in_hour(T0 + 24 * DAY_PERIOD_MS);
    assert_eq!(item.stats_in_day().sum, 0, "the day window spans 24 h");
}

/// A counter bumped without calls (Java's `incBrokerPutNums` adds to the value only) has a
/// rate but no average.
#[test]
fn value_without_times_has_no_average() {
    let item = StatsItem::default();
    item.add(4, 0);
    item.sampling_in_seconds(T0);
    let s = item.stats_in_minute();
    assert_eq!((s.sum, s.times, s.avgpt), (4, 0, 0.0));
    assert_eq!(s.tps, 0.4);
}

#[test]
fn tps_uses_the_real_distance_between_snapshots() {
    let item = StatsItem::default();
    item.sampling_in_seconds(T0);
    item.add(30, 1);
    // A late sampling (a busy machine): 15 s after the previous one.
    item.sampling_in_seconds(T0 + 15_000);
    let s = item.stats_in_minute();
    assert_eq!(s.tps, 30.0 * 1000.0 / 25_000.0);
}

#[test]
fn sets_create_items_on_first_use_and_delete_by_key_shape() {
    let set = StatsItemSet::default();
    assert!(set.get("T@g").is_none());
    assert_eq!(set.stats_in_minute("T@g"), StatsSnapshot::default());
    for key in ["T@g", "T@h", "TT@g", "0@T@g", "1@T@h", "0@U@g", "U@g"] {
        set.add_value(key, 1, 1);
    }
    assert_eq!(set.get("T@g").unwrap().value(), 1);
    set.add_value("T@g", 2, 1);
    assert_eq!(
        (
            set.get("T@g").unwrap().value(),
            set.get("T@g").unwrap().times()
        ),
        (3, 2)
    );

    set.del_by_prefix("T", "@");
    let mut keys = set.keys();
    keys.sort();
    assert_eq!(keys, ["0@T@g", "0@U@g", "1@T@h", "TT@g", "U@g"]);
    set.del_by_infix("T", "@");
    let mut keys = set.keys();
    keys.sort();
    assert_eq!(keys, ["0@U@g", "TT@g", "U@g"]);
    set.del_by_suffix("g", "@");
    assert!(set.keys().is_empty());
    set.add_value("x", 1, 1);
    set.del_value("x");
    assert!(set.get("x").is_none());
}
