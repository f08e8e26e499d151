use super::*;

#[test]
fn the_5x_switches_parse_as_java() {
    let mut c = MetricsConfig::default();
    assert_eq!(c.exporter_type, ExporterType::Disable);
    assert_eq!(c.prom_port, 5557);
    assert_eq!(c.prom_addr(), "0.0.0.0:5557");
    assert_eq!(c.set("metricsExporterType", "PROM"), Ok(true));
    assert_eq!(c.exporter_type, ExporterType::Prom);
    assert_eq!(c.set("metricsExporterType", "1"), Ok(true));
    assert_eq!(c.exporter_type, ExporterType::OtlpGrpc);
    assert!(c.set("metricsExporterType", "GRAPHITE").is_err());
    assert_eq!(c.set("metricsPromExporterHost", "127.0.0.1"), Ok(true));
    assert_eq!(c.set("metricsPromExporterPort", "9100"), Ok(true));
    assert_eq!(c.prom_addr(), "127.0.0.1:9100");
    assert!(c.set("metricsPromExporterPort", "70000").is_err());
    assert_eq!(c.set("metricsLabel", "dc:hz, env:prod,bad"), Ok(true));
    assert_eq!(
        c.labels,
        vec![("dc".into(), "hz".into()), ("env".into(), "prod".into())]
    );
    assert_eq!(c.set("brokerName", "x"), Ok(false));
}

#[test]
fn labels_follow_java() {
    assert_eq!(
        code_name(remoting_codec::code::request::name(310), 310),
        "send_message_v2"
    );
    assert_eq!(
        code_name(remoting_codec::code::response::name(0), 0),
        "success"
    );
    assert_eq!(code_name(None, 9999), "9999");
    assert_eq!(PROCESSORS[processor_of(310)], "send");
    assert_eq!(PROCESSORS[processor_of(11)], "pull");
    assert_eq!(PROCESSORS[processor_of(34)], "heartbeat");
    assert_eq!(PROCESSORS[processor_of(17)], "admin");
    assert_eq!(message_type_of("RMQ_SYS_TRANS_HALF_TOPIC"), "transaction");
    assert_eq!(message_type_of("SCHEDULE_TOPIC_XXXX"), "delay");
    assert_eq!(message_type_of("T"), "normal");
    assert!(is_system_group("cid_rmq_sys_TRANS"));
    assert!(!is_system_group("CID"));
    assert!(is_retry_or_dlq("%DLQ%g") && is_retry_or_dlq("%RETRY%g") && !is_retry_or_dlq("T"));
}

#[test]
fn nothing_is_counted_when_off_and_pull_offsets_are_kept_when_on() {
    let off = Arc::new(BrokerMetrics::new(false, Vec::new()));
    assert!(off.enter(310).is_none());
    off.record_rpc(310, Some(0), false, Duration::from_millis(2));
    off.on_pull("g", "T", 0, 5);
    assert!(off.rpc_cache.is_empty());
    assert_eq!(off.pull_offset("g", "T", 0), -1);

    let on = Arc::new(BrokerMetrics::new(true, vec!["BenchmarkTest".to_owned()]));
    {
        let _g = on.enter(310).unwrap();
        assert_eq!(on.in_progress[0].load(Ordering::Relaxed), 1);
    }
    assert_eq!(on.in_progress[0].load(Ordering::Relaxed), 0);
    on.record_rpc(310, Some(0), false, Duration::from_millis(2));
    on.record_rpc(310, Some(0), false, Duration::from_millis(50));
    on.record_rpc(11, Some(19), true, Duration::from_millis(1500));
    on.on_pull("g", "T", 0, 5);
    on.on_pull("g", "T", 0, 9);
    assert_eq!(on.pull_offset("g", "T", 0), 9);
    assert_eq!(on.pull_offset("g", "T", 1), -1);
    assert!(on.is_system_topic("BenchmarkTest") && on.is_system_topic("rmq_sys_x"));
    let mut reg = prometheus_client::registry::Registry::default();
    reg.register("rocketmq_rpc_latency", "Rpc latency", on.rpc.clone());
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
    assert!(text.contains(r#"rocketmq_rpc_latency_count{protocol_type="remoting",request_code="send_message_v2",response_code="success",is_long_polling="false",result="success"} 2"#), "{text}");
    assert!(text.contains(r#"rocketmq_rpc_latency_bucket{le="3.0",protocol_type="remoting",request_code="send_message_v2",response_code="success",is_long_polling="false",result="success"} 1"#), "{text}");
    assert!(
        text.contains(
            r#"request_code="pull_message",response_code="pull_not_found",is_long_polling="true""#
        ),
        "{text}"
    );
}

#[test]
fn creations_are_timed_with_their_invocation_status() {
    let on = BrokerMetrics::new(true, vec!["SELF_TEST_TOPIC".to_owned()]);
    let ms = Duration::from_millis;
    on.record_create(17, Some("T"), Some(0), ms(4));
    on.record_create(17, Some("SELF_TEST_TOPIC"), Some(0), ms(40));
    on.record_create(17, Some("T"), Some(1), ms(2));
    on.record_create(200, None, Some(0), ms(200));
    on.record_create(225, None, None, ms(1));
    on.record_create(310, Some("T"), Some(0), ms(1));
    let text = on.live_text();
    for line in [
        r#"rocketmq_topic_create_execution_time_count{invocation_status="success",is_system="false"} 1"#,
        r#"rocketmq_topic_create_execution_time_count{invocation_status="success",is_system="true"} 1"#,
        r#"rocketmq_topic_create_execution_time_count{invocation_status="failure",is_system="false"} 1"#,
        r#"rocketmq_topic_create_execution_time_bucket{le="10.0",invocation_status="success",is_system="false"} 1"#,
        r#"rocketmq_consumer_group_create_execution_time_count{invocation_status="success"} 1"#,
        r#"rocketmq_consumer_group_create_execution_time_bucket{le="100.0",invocation_status="success"} 0"#,
        r#"rocketmq_consumer_group_create_execution_time_count{invocation_status="failure"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let off = BrokerMetrics::new(false, Vec::new());
    off.record_create(17, Some("T"), Some(0), ms(4));
    assert!(!off.live_text().contains("invocation_status"));
}
