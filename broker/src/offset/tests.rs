use super::*;
use crate::test_util::{golden, install_golden_config, TempDir};

#[test]
fn golden_file_round_trips_byte_for_byte() {
    for case in ["clean", "s05-delay"] {
        let dir = TempDir::new("offsets-golden");
        let rel = format!("store-config/{case}/consumerOffset.json");
        install_golden_config(dir.path(), &rel, "consumerOffset.json");
        let java = std::fs::read_to_string(golden(&rel)).unwrap();
        let m = ConsumerOffsetManager::open(dir.path()).unwrap();
        assert_eq!(m.encode_pretty(), java, "{case}");
        m.persist().unwrap();
        assert_eq!(std::fs::read_to_string(m.path()).unwrap(), java);
    }
    let dir = TempDir::new("offsets-golden");
    install_golden_config(
        dir.path(),
        "store-config/clean/consumerOffset.json",
        "consumerOffset.json",
    );
    let m = ConsumerOffsetManager::open(dir.path()).unwrap();
    assert_eq!(m.query_offset("store_group_1", "StoreTopicA", 2), 380);
    assert_eq!(m.query_offset("store_group_1", "StoreTopicA", 9), -1);
    assert_eq!(m.query_offset("nobody", "StoreTopicA", 0), -1);
}

/// Offsets committed the way the s05 scenario's consumer did give Java's file.
#[test]
fn commits_write_javas_file() {
    let dir = TempDir::new("offsets-commit");
    let m = ConsumerOffsetManager::new(dir.path());
    m.commit_offset(
        "c",
        "delay_consumer_group",
        "%RETRY%delay_consumer_group",
        0,
        0,
    );
    for q in 0..3 {
        m.commit_offset("c", "delay_consumer_group", "DelayTopic", q, 1);
    }
    m.persist().unwrap();
    let java =
        std::fs::read_to_string(golden("store-config/s05-delay/consumerOffset.json")).unwrap();
    assert_eq!(std::fs::read_to_string(m.path()).unwrap(), java);
    // An empty table is Java's empty file.
    assert_eq!(
        ConsumerOffsetManager::new(dir.path()).encode_pretty(),
        "{\n\t\"offsetTable\":{}\n}"
    );
}

#[test]
fn query_for_client_return_zero_rule() {
    let dir = TempDir::new("offsets-query");
    let m = ConsumerOffsetManager::new(dir.path());
    m.commit_offset("c", "g", "t", 0, 42);
    let never = || panic!("not asked when an offset is committed");
    assert_eq!(
        m.query_for_client("g", "t", 0, 100, never),
        QueryOffsetAnswer::Offset(42)
    );
    // New group, queue starting at 0 and held in memory: start from 0.
    assert_eq!(
        m.query_for_client("g", "t", 1, 0, || false),
        QueryOffsetAnswer::Offset(0)
    );
    // First message only on disk (a large backlog), or the queue was cleaned: the client decides.
    assert_eq!(
        m.query_for_client("g", "t", 1, 0, || true),
        QueryOffsetAnswer::NotFound
    );
    assert_eq!(
        m.query_for_client("g", "t", 1, 5, || false),
        QueryOffsetAnswer::NotFound
    );
}

#[test]
fn lookups_clone_and_removal() {
    let dir = TempDir::new("offsets-misc");
    let m = ConsumerOffsetManager::new(dir.path());
    m.commit_offset("c", "g1", "a", 0, 10);
    m.commit_offset("c", "g1", "a", 1, 5);
    m.commit_offset("c", "g1", "b", 0, 1);
    m.commit_offset("c", "g2", "a", 0, 7);
    m.commit_offset("c", "g2", "a", 0, 3); // lower: accepted
    assert_eq!(m.query_offset("g2", "a", 0), 3);
    assert_eq!(
        m.which_topic_by_consumer("g1"),
        ["a", "b"].map(String::from).into()
    );
    assert_eq!(
        m.which_group_by_topic("a"),
        ["g1", "g2"].map(String::from).into()
    );

    let min = m.query_min_offset_in_all_group("a", "", |_| 0);
    assert_eq!(min, [(0, 3), (1, 5)].into());
    let min = m.query_min_offset_in_all_group("a", "g2", |_| 0);
    assert_eq!(min, [(0, 10), (1, 5)].into());
    // Offsets below the store minimum are ignored.
    let min = m.query_min_offset_in_all_group("a", "", |q| if q == 0 { 4 } else { 0 });
    assert_eq!(min, [(0, 10), (1, 5)].into());

    m.clone_offset("g1", "g3", "a");
    assert_eq!(m.query_offsets("g3", "a"), m.query_offsets("g1", "a"));
    m.remove_offset("g1");
    assert!(m.which_topic_by_consumer("g1").is_empty());
    assert_eq!(
        m.which_group_by_topic("a"),
        ["g2", "g3"].map(String::from).into()
    );
    m.remove_topic("a");
    assert!(m.wrapper().offset_table.is_empty());
}

#[test]
fn scan_unsubscribed_topic_drops_only_dead_unsubscribed_entries() {
    let dir = TempDir::new("offsets-scan");
    let m = ConsumerOffsetManager::new(dir.path());
    m.commit_offset("c", "live", "t", 0, 1);
    m.commit_offset("c", "gone", "t", 0, 1);
    m.commit_offset("c", "gone", "t2", 0, 100);
    let removed = m.scan_unsubscribed_topic(|group, _| group == "live", |_, _| 50);
    assert_eq!(removed, ["t@gone"]);
    assert_eq!(
        m.query_offset("gone", "t2", 0),
        100,
        "still ahead of the store minimum"
    );
    assert_eq!(m.query_offset("live", "t", 0), 1);
}

#[test]
fn concurrent_commits_are_all_kept() {
    let dir = TempDir::new("offsets-threads");
    let m = std::sync::Arc::new(ConsumerOffsetManager::new(dir.path()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                for q in 0..100 {
                    m.commit_offset("c", "g", "t", t * 100 + q, i64::from(q));
                }
                m.persist().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    m.persist().unwrap();
    let again = ConsumerOffsetManager::open(dir.path()).unwrap();
    assert_eq!(again.query_offsets("g", "t").unwrap().len(), 400);
    assert_eq!(again.query_offset("g", "t", 399), 99);
}
