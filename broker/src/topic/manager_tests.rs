use super::*;
use crate::config::LoadedConfig;
use crate::test_util::{golden, install_golden_config, TempDir};

fn golden_config() -> BrokerConfig {
    LoadedConfig::load_file(&golden("stores/clean.broker.conf"))
        .unwrap()
        .broker
}

#[test]
fn start_topics_are_java_4_9_8s() {
    let dir = TempDir::new("topics-start");
    let m = TopicConfigManager::new(&golden_config(), dir.path());
    let expect = [
        ("SELF_TEST_TOPIC", 1, 6),
        ("TBW102", 8, 7),
        ("BenchmarkTest", 1024, 6),
        ("DefaultCluster", 16, 7),
        ("broker-a", 1, 7),
        ("OFFSET_MOVED_EVENT", 1, 6),
        ("SCHEDULE_TOPIC_XXXX", 18, 6),
        ("DefaultCluster_REPLY_TOPIC", 1, 6),
    ];
    assert_eq!(m.topic_names().len(), expect.len());
    for (name, queues, perm) in expect {
        let t = m.select_topic_config(name).unwrap();
        assert_eq!(
            (t.read_queue_nums, t.write_queue_nums, t.perm),
            (queues, queues, perm),
            "{name}"
        );
        assert!(m.is_system_topic(name), "{name}");
    }
    assert!(m.is_system_topic("rmq_sys_anything") && m.is_system_topic("RMQ_SYS_TRACE_TOPIC"));
    assert!(!m.is_system_topic("TopicTest"));
    assert_eq!(m.data_version().counter, 0);

    let mut c = golden_config();
    c.auto_create_topic_enable = false;
    c.cluster_topic_enable = false;
    c.broker_topic_enable = false;
    c.trace_topic_enable = true;
    c.default_topic_queue_nums = 4;
    let m = TopicConfigManager::new(&c, dir.path());
    assert!(m.select_topic_config("TBW102").is_none());
    assert_eq!(m.select_topic_config("DefaultCluster").unwrap().perm, 1);
    assert_eq!(m.select_topic_config("broker-a").unwrap().perm, 1);
    assert_eq!(
        m.select_topic_config("RMQ_SYS_TRACE_TOPIC")
            .unwrap()
            .read_queue_nums,
        1
    );
}

/// A 4.9.8 broker started fresh, then one topic auto-created: the crashed store's topics.json,
/// byte for byte once the timestamp is the same.
#[test]
fn fresh_table_plus_one_topic_is_javas_file() {
    let dir = TempDir::new("topics-fresh");
    let java = std::fs::read_to_string(golden("store-config/crashed/topics.json")).unwrap();
    let m = TopicConfigManager::open(&golden_config(), dir.path()).unwrap();
    // A Java producer's first send auto-creates it from TBW102 with its 4 default queues.
    let out = m
        .create_topic_in_send_message_method("CrashTopic", "TBW102", "127.0.0.1:1", 4, 0)
        .unwrap();
    assert!(out.created);
    assert!(m.take_register_request());
    assert!(!m.take_register_request());
    let ours = std::fs::read_to_string(m.path()).unwrap();
    let ts = m.data_version().timestamp.to_string();
    assert_eq!(ours.replace(&ts, "1795243893473"), java);
}

/// Read Java's file and write it back unchanged: identical bytes (same order, same shape).
#[test]
fn golden_topics_json_round_trips_byte_for_byte() {
    for case in ["clean", "s05-delay", "crashed"] {
        let dir = TempDir::new("topics-golden");
        install_golden_config(
            dir.path(),
            &format!("store-config/{case}/topics.json"),
            "topics.json",
        );
        let java = std::fs::read_to_string(m_path(dir.path())).unwrap();
        let m = TopicConfigManager::open(&golden_config(), dir.path()).unwrap();
        assert_eq!(m.encode_pretty(), java, "{case}");
        m.persist().unwrap();
        assert_eq!(std::fs::read_to_string(m.path()).unwrap(), java);
        // The previous content is kept as the backup.
        assert_eq!(
            std::fs::read_to_string(format!("{}.bak", m.path().display())).unwrap(),
            java
        );
    }
    let dir = TempDir::new("topics-golden");
    install_golden_config(dir.path(), "store-config/clean/topics.json", "topics.json");
    let m = TopicConfigManager::open(&golden_config(), dir.path()).unwrap();
    assert_eq!(m.data_version().counter, 10);
    assert_eq!(m.data_version().timestamp, 1795243875874);
    assert_eq!(
        m.select_topic_config("StoreTopicA")
            .unwrap()
            .write_queue_nums,
        4
    );
    assert_eq!(m.topic_names().len(), 18);
}

fn m_path(root: &Path) -> std::path::PathBuf {
    crate::paths::topic_config_path(root)
}

#[test]
fn auto_create_from_tbw102() {
    let dir = TempDir::new("topics-auto");
    let m = TopicConfigManager::new(&golden_config(), dir.path());
    // A Java client asks for min(4, 8) queues.
    let out = m
        .create_topic_in_send_message_method("TopicTest", "TBW102", "1.2.3.4:5", 4, 0)
        .unwrap();
    assert!(out.created);
    let t = out.config;
    assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
    assert_eq!(m.data_version().counter, 1);
    assert!(m.take_register_request());
    // Second call: existing, nothing changes.
    let again = m
        .create_topic_in_send_message_method("TopicTest", "TBW102", "x", 16, 0)
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.config.write_queue_nums, 4);
    assert_eq!(m.data_version().counter, 1);
    assert!(!m.take_register_request());
    // More than TBW102 has: capped at 8; a negative request gives 0 queues.
    let big = m
        .create_topic_in_send_message_method("Big", "TBW102", "x", 64, 0)
        .unwrap();
    assert_eq!(big.config.write_queue_nums, 8);
    let neg = m
        .create_topic_in_send_message_method("Neg", "TBW102", "x", -1, 0)
        .unwrap();
    assert_eq!(neg.config.read_queue_nums, 0);
    // Not from a default topic without INHERIT, nor from a missing one.
    assert!(m
        .create_topic_in_send_message_method("T2", "SELF_TEST_TOPIC", "x", 4, 0)
        .is_none());
    assert!(m
        .create_topic_in_send_message_method("T3", "Missing", "x", 4, 0)
        .is_none());
    // The file has every created topic.
    let file: TopicConfigSerializeWrapper =
        fastjson::from_str(&std::fs::read_to_string(m.path()).unwrap()).unwrap();
    assert_eq!(file.data_version.counter, 3);
    assert!(file.topic_config_table.contains_key("Neg"));
}

#[test]
fn auto_create_off_strips_inherit_from_a_loaded_tbw102() {
    let dir = TempDir::new("topics-off");
    install_golden_config(dir.path(), "store-config/clean/topics.json", "topics.json");
    let mut c = golden_config();
    c.auto_create_topic_enable = false;
    let m = TopicConfigManager::open(&c, dir.path()).unwrap();
    assert_eq!(
        m.select_topic_config("TBW102").unwrap().perm,
        7,
        "loaded from the file"
    );
    assert!(m
        .create_topic_in_send_message_method("New", "TBW102", "x", 4, 0)
        .is_none());
    assert_eq!(m.select_topic_config("TBW102").unwrap().perm, 6);
    assert!(!m.contains("New"));
}

#[test]
fn retry_and_tran_topics_update_delete_order() {
    let dir = TempDir::new("topics-misc");
    let m = TopicConfigManager::new(&golden_config(), dir.path());
    let out = m.create_topic_in_send_message_back_method("%RETRY%g", 1, 6, 0);
    assert!(out.created && out.config.perm == 6 && out.config.write_queue_nums == 1);
    assert!(
        !m.create_topic_in_send_message_back_method("%RETRY%g", 3, 2, 0)
            .created
    );
    let tran = m.create_topic_of_tran_check_max_time(1, 4);
    assert_eq!(tran.config.topic_name, "TRANS_CHECK_MAX_TIME_TOPIC");
    assert_eq!(tran.config.perm, 4);
    assert_eq!(m.data_version().counter, 2);

    let old = m.update_topic_config(TopicConfig::new("%RETRY%g"));
    assert_eq!(old.unwrap().write_queue_nums, 1);
    assert_eq!(
        m.select_topic_config("%RETRY%g").unwrap().write_queue_nums,
        16
    );
    assert_eq!(m.data_version().counter, 3);

    assert!(m.delete_topic_config("%RETRY%g").is_some());
    assert!(m.delete_topic_config("%RETRY%g").is_none());
    assert_eq!(m.data_version().counter, 4);

    let mut kv = KvTable::default();
    kv.table
        .insert("SELF_TEST_TOPIC".into(), "broker-a:4".into());
    m.update_order_topic_config(&kv);
    assert!(m.is_order_topic("SELF_TEST_TOPIC") && !m.is_order_topic("TBW102"));
    assert_eq!(m.data_version().counter, 5);
    m.update_order_topic_config(&kv);
    assert_eq!(m.data_version().counter, 5, "no change, no new version");

    let wrapper = m.serialize_wrapper();
    assert_eq!(wrapper.data_version, m.data_version());
    assert_eq!(wrapper.topic_config_table.len(), m.topic_names().len());
}

#[test]
fn concurrent_auto_create_creates_once() {
    let dir = TempDir::new("topics-race");
    let m = std::sync::Arc::new(TopicConfigManager::new(&golden_config(), dir.path()));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                m.create_topic_in_send_message_method("Race", "TBW102", "x", 4, 0)
                    .unwrap()
                    .created
            })
        })
        .collect();
    let created = handles
        .into_iter()
        .filter(|_| true)
        .map(|h| h.join().unwrap())
        .filter(|c| *c)
        .count();
    assert_eq!(created, 1);
    assert_eq!(m.data_version().counter, 1);
}
