use super::*;
use crate::test_util::{golden, TempDir};

/// The properties text of the Java broker's GET_BROKER_CONFIG answer in the s12 recording
/// (`mqadmin getBrokerConfig`, m19).
pub(crate) fn java_m19_body() -> String {
    use base64::Engine;
    let capture = golden("captures/s12-mqadmin/m19-getBrokerConfig.jsonl");
    let text = std::fs::read_to_string(capture).unwrap();
    let frame = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|f| {
            f["is_response"] == true
                && f["server_port"] == 10911
                && f["extFields"]["version"].is_string()
        })
        .expect("the GET_BROKER_CONFIG answer");
    let body = base64::engine::general_purpose::STANDARD
        .decode(frame["body_b64"].as_str().unwrap())
        .unwrap();
    String::from_utf8(body).unwrap()
}

/// The broker.conf of the s12 recording, with Java's `ROCKETMQ_HOME` of that run.
pub(crate) fn s12_loaded() -> LoadedConfig {
    let conf = std::fs::read_to_string(golden("captures/s12-mqadmin/broker.conf")).unwrap();
    let mut loaded = LoadedConfig::from_text(&conf).unwrap();
    loaded.set("rocketmqHome", "/opt/rocketmq");
    loaded
}

fn cpus() -> i64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as i64)
}

/// Keys whose default depends on the machine: Java's value on the 2-core recording machine
/// and ours here must both follow the same formula of the core count.
pub(crate) fn cpu_formula(key: &str) -> Option<fn(i64) -> i64> {
    Some(match key {
        "sendMessageThreadPoolNums" | "putMessageFutureThreadPoolNums" => |c: i64| c.min(4),
        "pullMessageThreadPoolNums" | "processReplyMessageThreadPoolNums" => |c| 16 + 2 * c,
        "queryMessageThreadPoolNums" => |c| 8 + c,
        "heartbeatThreadPoolNums" => |c| c.min(32),
        "endTransactionThreadPoolNums" => |c| (8 + 2 * c).max(c.min(4) * 4),
        "clientCallbackExecutorThreads" => |c| c,
        _ => return None,
    })
}

/// Compares our properties text with Java's, key by key and in order. Values that differ by
/// nature: the core-count defaults (checked against their formula) and `brokerIP2`, the
/// machine's address (the recording ran in a namespace with only 127.0.0.1).
pub(crate) fn assert_same_as_java(ours: &str, java: &str) {
    let parse = |t: &str| properties_text::parse(t).unwrap();
    let (ours, java) = (parse(ours), parse(java));
    let keys = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&java), "same keys in the same order");
    for ((key, o), (_, j)) in ours.iter().zip(&java) {
        if let Some(f) = cpu_formula(key) {
            assert_eq!(j.parse::<i64>().unwrap(), f(2), "{key}: Java's 2 cores");
            assert_eq!(o.parse::<i64>().unwrap(), f(cpus()), "{key}: our cores");
        } else if key != "brokerIP2" {
            assert_eq!(o, j, "{key}");
        }
    }
}

#[test]
fn text_has_javas_keys_values_and_order() {
    let dir = TempDir::new("configuration-m19");
    let config = Configuration::new(&s12_loaded(), dir.path().join("broker.conf"), 1000);
    let java = java_m19_body();
    assert_eq!(properties_text::parse(&java).unwrap().len(), 178);
    assert_same_as_java(&config.text(), &java);
    assert_eq!(
        config.data_version_json(),
        r#"{"counter":0,"timestamp":1000}"#
    );
}

#[test]
fn update_sets_bumps_and_rewrites_the_file_as_java() {
    let dir = TempDir::new("configuration-update");
    let path = dir.path().join("broker.conf");
    let original = std::fs::read_to_string(golden("captures/s12-mqadmin/broker.conf")).unwrap();
    std::fs::write(&path, &original).unwrap();
    let config = Configuration::new(&s12_loaded(), path.clone(), 1000);

    // m20: `mqadmin updateBrokerConfig -k fileReservedTime -v 72`.
    let pairs = properties_text::parse("fileReservedTime=72\n").unwrap();
    let (invalid, written) = config.update(&pairs, 2000);
    assert!(invalid.is_empty());
    written.unwrap();
    assert_eq!(config.objects().store.file_reserved_time, 72);
    assert_eq!(
        config.data_version_json(),
        r#"{"counter":1,"timestamp":2000}"#
    );
    let after = std::fs::read_to_string(&path).unwrap();
    let java_after = std::fs::read_to_string(golden(
        "captures/s12-mqadmin/broker.conf.after-updateBrokerConfig",
    ))
    .unwrap();
    assert_same_as_java(&after, &java_after);
    assert_eq!(after, config.text());
    // string2File: the previous content is kept as .bak, no .tmp is left.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("broker.conf.bak")).unwrap(),
        original
    );
    assert!(!dir.path().join("broker.conf.tmp").exists());
    // The rewritten file starts the same broker again.
    let reloaded = LoadedConfig::load_file(&path).unwrap();
    assert_eq!(reloaded.store.file_reserved_time, 72);
    assert!(
        reloaded.unknown_keys.is_empty(),
        "{:?}",
        reloaded.unknown_keys
    );
}

#[test]
fn bad_values_unknown_keys_and_null_fields_as_java() {
    let dir = TempDir::new("configuration-bad");
    let config = Configuration::new(&s12_loaded(), dir.path().join("b.conf"), 1000);
    let before = config.text();
    let pairs = properties_text::parse(
        "fileReservedTime=seventy\nnoSuchKey=1\nbrokerPermission=4\nflushDiskType=SOMETIMES\n",
    )
    .unwrap();
    let (invalid, _) = config.update(&pairs, 2000);
    let bad: Vec<&str> = invalid.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(bad, ["fileReservedTime", "flushDiskType"]);
    let objects = config.objects();
    // Unparsable values keep the field; the good one is set; the unknown key is not listed.
    assert_eq!(objects.store.file_reserved_time, 48);
    assert_eq!(
        objects.store.flush_disk_type,
        store::FlushDiskType::AsyncFlush
    );
    assert_eq!(objects.broker.broker_permission, 4);
    assert_eq!(config.broker(|b| b.broker_permission), 4);
    let text = config.text();
    assert!(!text.contains("noSuchKey"));
    assert_eq!(text.lines().count(), before.lines().count());
    // Java bumps the version whatever the pairs did.
    assert_eq!(config.data_version().counter, 1);

    // A null field set by an update joins the table (and so the file).
    assert!(!text.contains("haMasterAddress"));
    let (_, written) = config.update(&[("haMasterAddress".into(), "10.0.0.1:10912".into())], 3000);
    written.unwrap();
    assert!(config.text().contains("\nhaMasterAddress=10.0.0.1:10912\n"));
    // Java's setter key enableBatchPush sets the field listed as isEnableBatchPush.
    let (_, written) = config.update(&[("enableBatchPush".into(), "true".into())], 4000);
    written.unwrap();
    assert!(config.text().contains("\nisEnableBatchPush=true\n"));
}

#[test]
fn black_list_has_javas_fixed_keys_and_the_configured_ones() {
    let mut loaded = s12_loaded();
    loaded.set(
        "configBlackList",
        "configBlackList;brokerConfigPath;listenPort",
    );
    let config = Configuration::new(&loaded, PathBuf::from("/nonexistent/b.conf"), 0);
    let kv = |k: &str| vec![(k.to_owned(), "x".to_owned())];
    for key in [
        "rocketmqHome",
        "configBlackList",
        "brokerConfigPath",
        "listenPort",
    ] {
        assert!(config.touches_black_list(&kv(key)), "{key}");
    }
    assert!(!config.touches_black_list(&kv("fileReservedTime")));
}

#[test]
fn bloom_filter_bits_as_java() {
    assert_eq!(bloom_filter_bits(20, 32), Some(112));
    assert_eq!(bloom_filter_bits(0, 32), None);
    assert_eq!(bloom_filter_bits(20, 0), None);
}
