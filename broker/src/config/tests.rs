use super::*;
use crate::test_util::golden;

const GOLDEN_CONFS: &[&str] = &[
    "captures/s01-broker-register.broker.conf",
    "captures/s02-quickstart.broker.conf",
    "captures/s02b-quickstart-rocketmq-serialize.broker.conf",
    "captures/s03-send-modes.broker.conf",
    "captures/s04-orderly.broker.conf",
    "captures/s05-delay.broker.conf",
    "captures/s06-retry-dlq.broker.conf",
    "captures/s07-transaction.broker.conf",
    "captures/s08-broadcast.broker.conf",
    "captures/s09-filters.broker.conf",
    "captures/s10-pull-consumers.broker.conf",
    "captures/s11-query.broker.conf",
    "captures/s12-mqadmin/broker.conf",
    "captures/s12-mqadmin/broker.conf.after-updateBrokerConfig",
    "captures/s13-client5/broker.conf",
    "captures/s14-broker-callbacks.broker.conf",
    "stores/clean.broker.conf",
    "stores/crashed.broker.conf",
];

#[test]
fn every_golden_broker_conf_loads_with_no_unknown_key() {
    for rel in GOLDEN_CONFS {
        let path = golden(rel);
        let c = LoadedConfig::load_file(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert!(c.unknown_keys.is_empty(), "{rel}: {:?}", c.unknown_keys);
        assert!(c.invalid.is_empty(), "{rel}: {:?}", c.invalid);
        assert_eq!(c.broker.broker_cluster_name, "DefaultCluster", "{rel}");
        assert_eq!(c.broker.broker_name, "broker-a", "{rel}");
        assert_eq!(c.broker.broker_ip1, "127.0.0.1", "{rel}");
        assert_eq!(c.broker.namesrv_addrs(), ["127.0.0.1:9876"], "{rel}");
        assert_eq!(c.netty_server.listen_port, 10911, "{rel}");
        assert_eq!(c.netty_server.vip_port(), 10909, "{rel}");
        assert!(c.broker.auto_create_topic_enable && c.broker.auto_create_subscription_group);
        assert!(c.broker.enable_property_filter, "{rel}");
        assert!(c.store_path_root_dir.starts_with("/data/rmq"), "{rel}");
        assert_eq!(c.store_value("flushDiskType"), Some("ASYNC_FLUSH"), "{rel}");
        assert_eq!(c.store_value("mappedFileSizeCommitLog"), Some("1048576"));
    }
}

#[test]
fn quickstart_conf_values() {
    let c = LoadedConfig::load_file(&golden("captures/s02-quickstart.broker.conf")).unwrap();
    assert_eq!(
        c.store_path_root_dir,
        PathBuf::from("/data/rmq/s02-quickstart/store")
    );
    assert_eq!(c.broker.broker_id, 0);
    // Keys the file does not set keep Java's defaults.
    assert_eq!(c.broker.default_topic_queue_nums, 8);
    assert!(!c.broker.trace_topic_enable);
    assert_eq!(c.broker.msg_trace_topic_name, "RMQ_SYS_TRACE_TOPIC");
    assert_eq!(c.broker.flush_consumer_offset_interval, 5000);
    assert_eq!(c.broker.register_name_server_period, 30_000);
    assert_eq!(c.store_value("maxIndexNum"), Some("4000"));
    let s13 = LoadedConfig::load_file(&golden("captures/s13-client5/broker.conf")).unwrap();
    assert_eq!(s13.broker.transaction_check_interval, 3000);
    assert_eq!(s13.broker.transaction_time_out, 2000);
}

/// The Java broker's own listing of its effective settings (written back by
/// UPDATE_BROKER_CONFIG) holds every key of the four classes: our defaults match it for every
/// broker and server key that neither depends on the machine nor was set in its broker.conf.
#[test]
fn defaults_match_the_java_dump() {
    let dump_text = std::fs::read_to_string(golden(
        "captures/s12-mqadmin/broker.conf.after-updateBrokerConfig",
    ))
    .unwrap();
    let dump = properties_text::to_map(&properties_text::parse(&dump_text).unwrap());
    let set_in_file = properties_text::to_map(
        &properties_text::parse(
            &std::fs::read_to_string(golden("captures/s12-mqadmin/broker.conf")).unwrap(),
        )
        .unwrap(),
    );
    let machine_dependent = [
        "rocketmqHome",
        "namesrvAddr",
        "brokerIP1",
        "brokerIP2",
        "brokerName",
        "sendMessageThreadPoolNums",
        "putMessageFutureThreadPoolNums",
        "pullMessageThreadPoolNums",
        "processReplyMessageThreadPoolNums",
        "queryMessageThreadPoolNums",
        "heartbeatThreadPoolNums",
        "endTransactionThreadPoolNums",
    ];
    let ours = LoadedConfig::default();
    let mut compared = 0;
    for (key, value) in ours
        .broker
        .entries()
        .into_iter()
        .chain(ours.netty_server.entries())
    {
        assert!(dump.contains_key(key), "{key} is not a Java key");
        if machine_dependent.contains(&key) || set_in_file.contains_key(key) {
            continue;
        }
        assert_eq!(&value, &dump[key], "default of {key}");
        compared += 1;
    }
    assert_eq!(compared, 77);
    // Every key of the dump is known to us (broker, server, client or store).
    let c = LoadedConfig::from_text(&dump_text).unwrap();
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    // ...and the other way round, except Java fields whose value is null (a `Properties` cannot
    // hold null, so Java's listing drops them) and the setter-only spellings.
    let not_listed: Vec<&str> = STORE_KEYS
        .iter()
        .chain(NETTY_CLIENT_KEYS)
        .copied()
        .filter(|k| !dump.contains_key(*k))
        .collect();
    assert_eq!(
        not_listed,
        [
            "storePathDLedgerCommitLog",
            "readOnlyCommitLogStorePaths",
            "haMasterAddress",
            "dLegerGroup",
            "dLegerPeers",
            "dLegerSelfId",
            "preferredLeaderId",
            "enableBatchPush",
            "diskSpaceWarningLevelRatio",
            "diskSpaceCleanForciblyRatio"
        ]
    );
}

#[test]
fn unknown_keys_are_kept_once_and_bad_values_keep_defaults() {
    let c = LoadedConfig::from_text(
        "brokerName=b\nnoSuchKey=1\nnoSuchKey=2\nlistenPort=ten\ndefaultTopicQueueNums= 4 \n\
         autoCreateTopicEnable=TRUE\nclusterTopicEnable=yes\n",
    )
    .unwrap();
    assert_eq!(c.unknown_keys, ["noSuchKey"]);
    assert_eq!(c.invalid.len(), 1);
    assert_eq!(c.invalid[0].key, "listenPort");
    assert_eq!(c.netty_server.listen_port, 10911);
    assert_eq!(c.broker.default_topic_queue_nums, 4);
    assert!(c.broker.auto_create_topic_enable);
    // Boolean.parseBoolean: anything but "true" is false.
    assert!(!c.broker.cluster_topic_enable);
    // Strings keep trailing blanks, as Java's.
    let c = LoadedConfig::from_text("brokerName=b \n").unwrap();
    assert_eq!(c.broker.broker_name, "b ");
}

#[test]
fn startup_rules() {
    let c = LoadedConfig::from_text("brokerId=3\n").unwrap();
    assert_eq!(c.broker.broker_id, 0, "a master's id is forced to 0");
    let c = LoadedConfig::from_text("brokerId=3\nbrokerRole=SLAVE\n").unwrap();
    assert_eq!(c.broker.broker_id, 3);
    assert!(matches!(
        LoadedConfig::from_text("brokerRole=SLAVE\n"),
        Err(ConfigError::SlaveBrokerId)
    ));
    let err = LoadedConfig::from_text("namesrvAddr=127.0.0.1:9876;nohost\n").unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:9876;nohost"), "{err}");
    let mut c = LoadedConfig::from_text("namesrvAddr=a:1; b:2;\n").unwrap();
    assert_eq!(c.broker.namesrv_addrs(), ["a:1", "b:2"]);
    c.set("namesrvAddr", "n:9");
    assert_eq!(c.broker.namesrv_addrs(), ["n:9"]);
    assert_eq!(
        c.broker.broker_addr(&c.netty_server),
        format!("{}:10911", c.broker.broker_ip1)
    );
}

#[test]
fn print_effective_lists_every_key() {
    let c =
        LoadedConfig::from_text("brokerName=b\nstorePathRootDir=/s\nflushDiskType=SYNC_FLUSH\n")
            .unwrap();
    let text = c.print_effective();
    let entries = properties_text::parse(&text).unwrap();
    assert_eq!(
        entries.len(),
        BrokerConfig::KEYS.len() + NettyServerConfig::KEYS.len() + 2
    );
    let map = properties_text::to_map(&entries);
    assert_eq!(map["brokerName"], "b");
    assert_eq!(
        map["namesrvAddr"],
        c.broker.namesrv_addr.clone().unwrap_or("null".into())
    );
    assert_eq!(map["listenPort"], "10911");
    assert_eq!(map["storePathRootDir"], "/s");
    assert_eq!(map["flushDiskType"], "SYNC_FLUSH");
    assert_eq!(entries[0].0, "rocketmqHome");
}

/// A 5.x broker.conf sets the disk-full thresholds (4.9.8 system properties) as store keys: they
/// reach the store's config instead of being dropped as unknown.
#[test]
fn disk_space_ratios_of_a_5x_conf_reach_the_store() {
    let c =
        LoadedConfig::from_text("diskSpaceWarningLevelRatio=99\ndiskSpaceCleanForciblyRatio=98\n")
            .unwrap();
    assert!(c.unknown_keys.is_empty(), "{:?}", c.unknown_keys);
    let mut store = store::MessageStoreConfig::default();
    store.apply(&c.store_entries).unwrap();
    assert_eq!(store.disk_space_warning_level_ratio, 99);
    assert_eq!(store.disk_space_clean_forcibly_ratio, 98);
}

/// `-m` prints Java's `@ImportantField`s only; Java's conf/dledger examples are refused with
/// a message naming the key, the others start.
#[test]
fn important_fields_and_the_dledger_refusal() {
    let loaded = LoadedConfig::from_text(
        "brokerClusterName = DefaultCluster\nbrokerName = broker-a\nbrokerId = 0\n\
         deleteWhen = 04\nfileReservedTime = 48\nbrokerRole = ASYNC_MASTER\n\
         flushDiskType = ASYNC_FLUSH\n",
    )
    .unwrap();
    let important = loaded.print_important();
    assert!(important.contains("brokerName=broker-a\n"));
    assert!(important.contains("brokerRole=ASYNC_MASTER\n"));
    assert!(important.contains("deleteWhen=04\n"));
    assert!(!important.contains("listenPort="), "{important}");
    assert!(!important.contains("sendMessageThreadPoolNums="));
    assert!(loaded.print_effective().contains("listenPort="));
    assert_eq!(loaded.refuse_unsupported(), Ok(()));
    let dledger = LoadedConfig::from_text(
        "brokerClusterName = RaftCluster\nbrokerName=RaftNode00\nlistenPort=30911\n\
         enableDLegerCommitLog=true\ndLegerGroup=RaftNode00\ndLegerSelfId=n0\n",
    )
    .unwrap();
    let refusal = dledger.refuse_unsupported().unwrap_err();
    assert!(refusal.contains("enableDLegerCommitLog=true"), "{refusal}");
    assert!(refusal.contains("not supported"), "{refusal}");
}
