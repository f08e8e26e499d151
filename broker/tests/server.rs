//! The broker binary on free ports, driven with `remoting::RemotingClient`: send (V1, V2,
//! batch, compressed), pull (found, not found, offset moved, tag filter, long and short
//! polling), registration with our namesrv, restart on the same store, SIGTERM.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
use remoting_codec::message::{compress_zlib, encode_batch, BatchEntry, MessageProperties};
use remoting_codec::protocol::namesrv::GetRouteInfoRequestHeader;
use remoting_codec::protocol::pull::PullMessageResponseHeader;
use remoting_codec::protocol::route::TopicRouteData;
use remoting_codec::protocol::send::{SendMessageRequestHeader, SendMessageResponseHeader};
use remoting_codec::RemotingCommand;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_all_forms_then_pull_them_back() {
    let dir = temp_dir("send");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;

    // SEND_MESSAGE_V2 to a new topic: auto-created from TBW102.
    let resp = client
        .invoke(send_v2("T1", 0, "TagA", b"hello v2"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!((h.queue_id, h.queue_offset), (0, 0));
    assert_eq!(
        h.msg_id.len(),
        32,
        "offsetMsgId: ip(4) port(4) offset(8) in hex"
    );
    assert_eq!(resp.ext_field("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(resp.ext_field("TRACE_ON"), Some("true"));

    // SEND_MESSAGE (V1 header).
    let v1: SendMessageRequestHeader = send_v2_header("T1", 0, "TAGS\u{1}TagB").into();
    let resp = client
        .invoke(
            RemotingCommand::request(request::SEND_MESSAGE, &v1)
                .with_body(Bytes::from_static(b"hello v1")),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.ext_field("queueOffset"), Some("1"));

    // A compressed body (sysFlag bit 0): stored as sent, decompressed by the consumer.
    let plain = vec![b'z'; 5000];
    let mut header = send_v2_header("T1", 0, "TAGS\u{1}TagC");
    header.sys_flag = 1;
    let resp = client
        .invoke(
            RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
                .with_body(compress_zlib(&plain, 5)),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);

    // SEND_BATCH_MESSAGE: three entries, batch-level properties in the header.
    let entries: Vec<BatchEntry> = (0..3)
        .map(|i| {
            BatchEntry::new(
                0,
                format!("batch {i}").into_bytes(),
                MessageProperties::parse(&format!("UNIQ_KEY\u{1}B{i}\u{2}TAGS\u{1}TagD")),
            )
        })
        .collect();
    let mut header = send_v2_header("T1", 0, "WAIT\u{1}true");
    header.batch = true;
    let resp = client
        .invoke(
            RemotingCommand::request(request::SEND_BATCH_MESSAGE, &header)
                .with_body(encode_batch(&entries).unwrap()),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let h: SendMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(h.queue_offset, 3);
    assert_eq!(h.msg_id.split(',').count(), 3);

    // Pull everything back (once all six are dispatched).
    pull_n(&client, "T1", 0, 6).await;
    let resp = client
        .invoke(pull(&pull_header("T1", 0, 0, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(resp.remark.as_deref(), Some("FOUND"));
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(
        (ph.next_begin_offset, ph.min_offset, ph.max_offset),
        (6, 0, 6)
    );
    assert_eq!(ph.suggest_which_broker_id, 0);
    let msgs = records(&resp);
    assert_eq!(msgs.len(), 6);
    assert_eq!(&msgs[0].body[..], b"hello v2");
    assert_eq!(msgs[0].properties.get("CLUSTER"), Some("TestCluster"));
    assert_eq!(
        msgs[0].properties.get("WAIT"),
        None,
        "WAIT is not stored for single sends"
    );
    assert_eq!(msgs[0].born_timestamp, 1_700_000_000_000);
    assert_eq!(
        msgs[0].store_host.to_string(),
        format!("127.0.0.1:{}", broker.port)
    );
    assert_eq!(&msgs[1].body[..], b"hello v1");
    assert_eq!(msgs[2].uncompressed_body(1 << 20).unwrap(), plain);
    for (i, m) in msgs[3..].iter().enumerate() {
        assert_eq!(m.body, format!("batch {i}").into_bytes());
        assert_eq!(m.queue_offset, 3 + i as i64);
        let pairs: Vec<_> = m.properties.iter().collect();
        assert_eq!(
            pairs,
            vec![
                ("UNIQ_KEY", format!("B{i}").as_str()),
                ("TAGS", "TagD"),
                // The batch-level map {WAIT, CLUSTER} in Java HashMap order, as the recorded
                // 4.9.8 batch (s03) stores it.
                ("CLUSTER", "TestCluster"),
                ("WAIT", "true"),
            ],
            "entry properties, then the batch-level ones"
        );
    }

    // The VIP port serves sends but not pulls (Java registers no pull processor there).
    let vip = remoting::RemotingClient::connect(broker.vip_addr())
        .await
        .unwrap();
    let resp = vip
        .invoke(send_v2("T1", 1, "TagA", b"via vip"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let resp = vip
        .invoke(pull(&pull_header("T1", 1, 0, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::REQUEST_CODE_NOT_SUPPORTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_refusals_use_java_codes() {
    let dir = temp_dir("refuse");
    let broker = start_broker(&dir, free_port_pair(), None, "maxMessageSize=1024\n");
    let client = broker.client().await;
    client
        .invoke(send_v2("T2", 0, "a", b"x"), TIMEOUT)
        .await
        .unwrap();

    // Queue id beyond the topic's queues (auto-created with 4).
    let resp = client
        .invoke(send_v2("T2", 4, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    let remark = resp.remark.unwrap();
    assert!(
        remark.starts_with("request queueId[4] is illegal, TopicConfig [topicName=T2, readQueueNums=4, writeQueueNums=4, perm=RW-"),
        "{remark}"
    );
    // Bad topic name.
    let resp = client
        .invoke(send_v2("bad topic", 0, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    assert!(resp.remark.unwrap().contains("illegal characters"));
    // A topic only the broker may write.
    let resp = client
        .invoke(send_v2("SCHEDULE_TOPIC_XXXX", 0, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::NO_PERMISSION);
    // Too large for maxMessageSize.
    let big: &'static [u8] = Box::leak(vec![7u8; 4096].into_boxed_slice());
    let resp = client
        .invoke(send_v2("T2", 0, "a", big), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::MESSAGE_ILLEGAL, "{:?}", resp.remark);
    assert_eq!(resp.ext_field("MSG_REGION"), Some("DefaultRegion"));
    // A header without its required fields.
    let resp = client
        .invoke(
            RemotingCommand::request_without_header(request::SEND_MESSAGE_V2),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    // A retry send at the reconsume limit goes to the DLQ.
    let mut h = send_v2_header("%RETRY%CG", 0, "TAGS\u{1}a");
    h.reconsume_times = Some(16);
    h.max_reconsume_times = Some(16);
    let resp = client
        .invoke(
            RemotingCommand::request(request::SEND_MESSAGE_V2, &h)
                .with_body(Bytes::from_static(b"dead")),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    assert_eq!(&pull_n(&client, "%DLQ%CG", 0, 1).await[0].body[..], b"dead");
    // The broker still serves.
    let resp = client
        .invoke(send_v2("T2", 1, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_statuses_and_tag_filter() {
    let dir = temp_dir("pull");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    for (tag, body) in [("TagA", &b"a1"[..]), ("TagB", b"b1"), ("TagA", b"a2")] {
        let body: &'static [u8] = Box::leak(body.to_vec().into_boxed_slice());
        let resp = client
            .invoke(send_v2("T3", 0, tag, body), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
    }
    pull_n(&client, "T3", 0, 3).await;
    // Tag filter by hash code.
    let mut h = pull_header("T3", 0, 0, FLAG_SUBSCRIPTION);
    h.subscription = Some("TagB".into());
    let resp = client.invoke(pull(&h), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let msgs = records(&resp);
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"b1");
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(ph.next_begin_offset, 3);
    // Nothing matching at all: PULL_RETRY_IMMEDIATELY (NO_MATCHED_MESSAGE), next offset moves on.
    h.subscription = Some("TagZ".into());
    let resp = client.invoke(pull(&h), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::PULL_RETRY_IMMEDIATELY);
    assert_eq!(resp.remark.as_deref(), Some("NO_MATCHED_MESSAGE"));
    // At the end, without suspend: PULL_NOT_FOUND at once.
    let resp = client
        .invoke(pull(&pull_header("T3", 0, 3, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);
    assert_eq!(resp.remark.as_deref(), Some("OFFSET_OVERFLOW_ONE"));
    // Beyond the end: PULL_OFFSET_MOVED with the corrected offset.
    let resp = client
        .invoke(pull(&pull_header("T3", 0, 50, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::PULL_OFFSET_MOVED);
    let ph: PullMessageResponseHeader = resp.decode_header().unwrap();
    assert_eq!(ph.next_begin_offset, 3);
    // An empty queue at offset 0: PULL_NOT_FOUND; at another offset: moved.
    let resp = client
        .invoke(pull(&pull_header("T3", 2, 0, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);
    let resp = client
        .invoke(pull(&pull_header("T3", 2, 7, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::PULL_OFFSET_MOVED);
    // Without a subscription in the header and without a heartbeat: SUBSCRIPTION_NOT_EXIST.
    let resp = client
        .invoke(pull(&pull_header("T3", 0, 0, 0)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUBSCRIPTION_NOT_EXIST);
    // Unknown topic, bad queue id.
    let resp = client
        .invoke(
            pull(&pull_header("NoSuchTopic", 0, 0, FLAG_SUBSCRIPTION)),
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
    let resp = client
        .invoke(pull(&pull_header("T3", 9, 0, FLAG_SUBSCRIPTION)), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    // The piggy-backed commit offset (sysFlag 0x1) is stored: consumerOffset.json at shutdown.
    let mut h = pull_header("T3", 0, 3, FLAG_SUBSCRIPTION | 0x1);
    h.commit_offset = 2;
    let resp = client.invoke(pull(&h), TIMEOUT).await.unwrap();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);
    drop(client);
    let mut broker = broker;
    assert!(broker.terminate().success());
    let offsets = std::fs::read_to_string(dir.join("store/config/consumerOffset.json")).unwrap();
    assert!(offsets.contains("\"T3@CG\":{0:2"), "{offsets}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_is_woken_by_a_send() {
    let dir = temp_dir("longpoll");
    let broker = start_broker(&dir, free_port_pair(), None, "");
    let client = broker.client().await;
    let resp = client
        .invoke(send_v2("T4", 0, "TagA", b"first"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    pull_n(&client, "T4", 0, 1).await;

    // A pull at the end with the suspend flag and a 20 s suspend timeout, filtering TagB.
    let mut h = pull_header("T4", 0, 1, FLAG_SUBSCRIPTION | FLAG_SUSPEND);
    h.subscription = Some("TagB".into());
    let started = Instant::now();
    let poller = {
        let client = client.clone();
        tokio::spawn(async move { client.invoke(pull(&h), TIMEOUT).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!poller.is_finished(), "the pull is parked");
    // A TagA message does not wake it; a TagB one does.
    let resp = client
        .invoke(send_v2("T4", 0, "TagA", b"other"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !poller.is_finished(),
        "a message of another tag does not wake the pull"
    );
    let resp = client
        .invoke(send_v2("T4", 0, "TagB", b"wanted"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let resp = poller.await.unwrap();
    let waited = started.elapsed();
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let msgs = records(&resp);
    assert_eq!(msgs.len(), 1);
    assert_eq!(&msgs[0].body[..], b"wanted");
    // Woken by the send, not by the 20 s suspend timeout.
    assert!(waited < Duration::from_secs(15), "waited {waited:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_polling_holds_for_short_polling_time() {
    let dir = temp_dir("shortpoll");
    let broker = start_broker(
        &dir,
        free_port_pair(),
        None,
        "longPollingEnable=false\nshortPollingTimeMills=700\n",
    );
    let client = broker.client().await;
    client
        .invoke(send_v2("T5", 0, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    pull_n(&client, "T5", 0, 1).await;
    let started = Instant::now();
    let resp = client
        .invoke(
            pull(&pull_header("T5", 0, 1, FLAG_SUBSCRIPTION | FLAG_SUSPEND)),
            TIMEOUT,
        )
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(resp.code, response::PULL_NOT_FOUND);
    assert!(waited >= Duration::from_millis(650), "held {waited:?}");
    assert!(
        waited < Duration::from_secs(15),
        "not the 20 s suspend timeout: {waited:?}"
    );
}

async fn route(ns: std::net::SocketAddr, topic: &str) -> RemotingCommand {
    let client = remoting::RemotingClient::connect(ns).await.unwrap();
    let req = RemotingCommand::request(
        request::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: topic.into(),
            accept_standard_json_only: None,
        },
    );
    client.invoke(req, TIMEOUT).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_auto_created_topics_and_unregisters_on_sigterm() {
    let dir = temp_dir("register");
    let ns = start_namesrv(&dir).await;
    let mut broker = start_broker(&dir, free_port_pair(), Some(ns.addr), "");
    // Registered at start: the TBW102 template topic has a route.
    let resp = route(ns.addr, "TBW102").await;
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    let data: TopicRouteData = fastjson::from_slice(&resp.body).unwrap();
    assert_eq!(data.broker_datas[0].broker_name, "broker-t");
    assert_eq!(
        data.broker_datas[0]
            .broker_addrs
            .get(&0)
            .map(String::as_str),
        Some(format!("127.0.0.1:{}", broker.port).as_str())
    );

    // A send auto-creates a topic; the broker registers it (oneway) without waiting 30 s.
    let client = broker.client().await;
    let resp = client
        .invoke(send_v2("AutoT", 0, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SUCCESS);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let resp = route(ns.addr, "AutoT").await;
        if resp.code == response::SUCCESS {
            let data: TopicRouteData = fastjson::from_slice(&resp.body).unwrap();
            assert_eq!(data.queue_datas[0].write_queue_nums, 4);
            break;
        }
        assert!(Instant::now() < deadline, "AutoT never registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM: clean exit, no abort file, unregistered.
    drop(client);
    assert!(broker.terminate().success(), "clean exit");
    assert!(!dir.join("store/abort").exists(), "abort file removed");
    let resp = route(ns.addr, "AutoT").await;
    assert_eq!(resp.code, response::TOPIC_NOT_EXIST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_store_keeps_messages() {
    let dir = temp_dir("restart");
    let port = free_port_pair();
    let mut broker = start_broker(&dir, port, None, "");
    let client = broker.client().await;
    for i in 0..20 {
        let body: &'static [u8] = Box::leak(format!("m{i}").into_bytes().into_boxed_slice());
        let resp = client
            .invoke(send_v2("T6", i % 2, "a", body), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS);
    }
    drop(client);
    assert!(broker.terminate().success());
    assert!(!dir.join("store/abort").exists());
    let conf = broker.conf.clone();
    drop(broker);

    let broker = restart_broker(&conf);
    let client = broker.client().await;
    let bodies: Vec<String> = pull_n(&client, "T6", 1, 10)
        .await
        .iter()
        .map(|m| String::from_utf8(m.body.to_vec()).unwrap())
        .collect();
    let expected: Vec<String> = (0..20)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("m{i}"))
        .collect();
    assert_eq!(bodies, expected);
    // The topic survived in topics.json: a queue id beyond its queues is still refused.
    let resp = client
        .invoke(send_v2("T6", 7, "a", b"x"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.code, response::SYSTEM_ERROR);
    // New sends continue the queue.
    let resp = client
        .invoke(send_v2("T6", 1, "a", b"after"), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(resp.ext_field("queueOffset"), Some("10"));
}
