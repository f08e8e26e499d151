use super::*;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rocketmq-rs-logging-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn targets_go_to_javas_files() {
    let b = Service::Broker;
    let info = Level::INFO;
    assert_eq!(
        file_for(b, "broker::processor::send", &info),
        ("broker.log", None)
    );
    assert_eq!(file_for(b, "broker", &info), ("broker.log", None));
    assert_eq!(file_for(b, "store::commit_log", &info), ("store.log", None));
    assert_eq!(
        file_for(b, "store::flush", &Level::ERROR),
        ("store.log", Some("storeerror.log"))
    );
    assert_eq!(
        file_for(b, "remoting::server", &info),
        ("remoting.log", None)
    );
    assert_eq!(
        file_for(b, "broker::transaction::check", &info),
        ("transaction.log", None)
    );
    assert_eq!(
        file_for(b, "broker::stats::manager", &info),
        ("stats.log", None)
    );
    assert_eq!(file_for(b, "broker::lock", &info), ("lock.log", None));
    assert_eq!(
        file_for(b, "broker::consumer_filter", &info),
        ("filter.log", None)
    );
    assert_eq!(
        file_for(b, "RocketmqWaterMark", &info),
        ("watermark.log", None)
    );
    assert_eq!(file_for(b, "RocketmqStats", &info), ("stats.log", None));
    // A prefix must end at a path separator: `storekeeper` is not the store.
    assert_eq!(
        file_for(b, "storekeeper", &info),
        ("broker_default.log", None)
    );
    assert_eq!(
        file_for(b, "tokio::runtime", &info),
        ("broker_default.log", None)
    );
    let n = Service::Namesrv;
    assert_eq!(
        file_for(n, "namesrv::route_info", &info),
        ("namesrv.log", None)
    );
    assert_eq!(
        file_for(n, "remoting::connection", &info),
        ("namesrv.log", None)
    );
    assert_eq!(
        file_for(n, "mio::poll", &info),
        ("namesrv_default.log", None)
    );
}

#[test]
fn settings_from_variables() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    let s = LogSettings::from_vars(vars(&[])).unwrap();
    assert_eq!(s.root, None);
    assert_eq!(s.level, "info");
    let s = LogSettings::from_vars(vars(&[("ROCKETMQ_LOG_ROOT", "-")])).unwrap();
    assert_eq!(s.root, None);
    let s = LogSettings::from_vars(vars(&[
        ("ROCKETMQ_LOG_ROOT", "/var/log/rmq"),
        ("ROCKETMQ_LOG_LEVEL", "debug"),
        ("ROCKETMQ_LOG_MAX_FILE_SIZE", "64KB"),
        ("ROCKETMQ_LOG_MAX_INDEX", "3"),
    ]))
    .unwrap();
    assert_eq!(s.root, Some(PathBuf::from("/var/log/rmq")));
    assert_eq!(s.level, "debug");
    assert_eq!(s.max_file_size, Some(64 * 1024));
    assert_eq!(s.max_index, Some(3));
    let s = LogSettings::from_vars(vars(&[
        ("ROCKETMQ_LOG_LEVEL", "debug"),
        ("RUST_LOG", "warn"),
    ]))
    .unwrap();
    assert_eq!(s.level, "debug");
    let s = LogSettings::from_vars(vars(&[("RUST_LOG", "warn")])).unwrap();
    assert_eq!(s.level, "warn");
    assert!(LogSettings::from_vars(vars(&[("ROCKETMQ_LOG_MAX_FILE_SIZE", "lots")])).is_err());
    assert!(LogSettings::from_vars(vars(&[("ROCKETMQ_LOG_MAX_INDEX", "x")])).is_err());
    assert_eq!(parse_size("100MB").unwrap(), 100 * MB);
    assert_eq!(parse_size("1gb").unwrap(), 1024 * MB);
    assert_eq!(parse_size("4096").unwrap(), 4096);
}

/// Every file of logback_broker.xml appears; events are split by target; a file past its size
/// limit is rolled into `.1`, `.2`, … and no more than `max_index` old files are kept, so the
/// directory stays under its cap.
#[test]
fn files_are_split_and_rolled_by_size_with_a_cap() {
    let root = dir("roll");
    let settings = LogSettings {
        root: Some(root.clone()),
        level: "info".into(),
        max_file_size: Some(2048),
        max_index: Some(3),
    };
    let (writers, guards) = open_files(Service::Broker, &root, &settings).unwrap();
    for f in BROKER_FILES {
        assert!(root.join(f.name).exists(), "{} missing", f.name);
    }
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(writers)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..400 {
            tracing::info!(target: "store::commit_log", "store line {i} {}", "x".repeat(40));
        }
        tracing::info!(target: "broker::processor::send", "a broker line");
        tracing::error!(target: "store::flush", "a store error");
        tracing::info!(target: "RocketmqStats", "a stats line");
    });
    drop(guards); // flushes the workers
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap_or_default();
    assert!(read("broker.log").contains("a broker line"));
    assert!(!read("broker.log").contains("store line"));
    assert!(read("stats.log").contains("a stats line"));
    assert!(read("storeerror.log").contains("a store error"));
    assert!(read("store.log").contains("a store error"));
    // Rolled by size: .1 .. .3 exist, .4 never does, each at most the limit plus one line.
    for i in 1..=3 {
        let p = root.join(format!("store.log.{i}"));
        let len = std::fs::metadata(&p)
            .unwrap_or_else(|_| panic!("{p:?}"))
            .len();
        assert!((2048..2048 + 200).contains(&len), "{p:?} is {len} bytes");
    }
    assert!(!root.join("store.log.4").exists());
    let total: u64 = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .filter(|_| true)
        .sum();
    // 12 files of at most (3 + 1) × (2048 + a line).
    assert!(total <= 12 * 4 * (2048 + 200), "total {total}");
    let last = read("store.log.1") + &read("store.log");
    assert!(last.contains("store line 399"));
    std::fs::remove_dir_all(&root).unwrap();
}
