//! The statistics and consume-progress codes through a broker process, against the Java
//! answers recorded by mqadmin in `captures/s12-mqadmin/`: m05 topicStatus (202), m12 and
//! m13 consumerProgress (208 without topic), m27 statsAll (315 and 208 with topic), m28
//! brokerConsumeStats (317).
//!
//! The broker runs on s12's broker.conf and is brought into the state the recordings show:
//! AdminTopic with 4 queues, 8 messages sent round-robin from queue 1 (2 per queue), the push
//! consumer `live_consumer_group` subscribed to AdminTopic and its retry topic, all 8 pulled in
//! 4 pulls of 2 and committed (offset 2 per queue, 0 on the retry queue). The recorded requests
//! are then sent as recorded and every answer is compared with Java's: code, remark, no
//! extFields, and the body byte for byte — after the values that depend on *when* things ran
//! are put in Java's place:
//!
//! - store times (`lastUpdateTimestamp`, `lastTimestamp`): ours are checked to lie within the
//!   test's run, to be the same message's time wherever Java's are (202's last message is 208's
//!   last consumed one), and to follow the order of Java's across queues (the same send order).
//! - rates (`consumeTps`, 315's `statsMinute`): the broker samples every 10 s from its start,
//!   so the figures depend on where the pulls fell between samplings. The test waits for the
//!   sampling that sees the 8 pulled messages and checks sum 8 and avgpt 2.0 exactly (8 messages
//!   in 4 pulls, as Java's) and a tps between 8/60 and 8/10 per second (a minute window spans
//!   10 to 60 s); `consumeTps` is checked against the same bounds. The hour and day windows are
//!   zeros as Java's (their items were created after the start-up sampling).
//! - `brokerAddr` names our port.

mod harness;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::{read_capture, start_broker, Client, Frame, TempDir};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
use remoting_codec::protocol::broker_admin::{BrokerStatsData, ConsumeStatsList};
use remoting_codec::protocol::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel,
};
use remoting_codec::protocol::common::MessageQueue;
use remoting_codec::protocol::consumer_admin::ConsumeStats;
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::protocol::topic_admin::TopicStatsTable;
use remoting_codec::protocol::SubscriptionData;
use remoting_codec::RemotingCommand;

const GROUP: &str = "live_consumer_group";
const RETRY: &str = "%RETRY%live_consumer_group";
/// The recorded send order (Java's last store times rise from queue 1 to 3, then 0).
const SEND_ORDER: [i32; 4] = [1, 2, 3, 0];

/// The recorded requests of `code` sent to the broker, each with Java's answer.
fn recorded(file: &str, code: i32) -> Vec<(Frame, Frame)> {
    let frames = read_capture(&format!("s12-mqadmin/{file}.jsonl"));
    (0..frames.len())
        .filter(|&i| {
            let f = &frames[i];
            f.to_broker() && f.is_c2s() && !f.is_response() && f.code() == code
        })
        .map(|i| {
            let j = harness::recorded_response(&frames, i).expect("recorded answer");
            (frames[i].clone(), frames[j].clone())
        })
        .collect()
}

fn heartbeat() -> RemotingCommand {
    let sub = |topic: &str| SubscriptionData {
        topic: Some(topic.into()),
        sub_string: Some("*".into()),
        expression_type: Some("TAG".into()),
        ..Default::default()
    };
    let data = HeartbeatData {
        client_id: "127.0.0.1@live-consumer".into(),
        consumer_data_set: vec![ConsumerData {
            group_name: GROUP.into(),
            consume_type: Some(ConsumeType::ConsumePassively),
            message_model: Some(MessageModel::Clustering),
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromLastOffset),
            subscription_data_set: vec![sub("AdminTopic"), sub(RETRY)],
            unit_mode: false,
        }],
        ..Default::default()
    };
    RemotingCommand::request_without_header(req::HEART_BEAT)
        .with_body(fastjson::to_vec(&data).unwrap())
}

fn send(queue_id: i32, i: usize) -> RemotingCommand {
    let header = SendMessageRequestHeaderV2 {
        producer_group: "live_producer_group".into(),
        topic: "AdminTopic".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id,
        sys_flag: 0,
        born_timestamp: broker::now_millis(),
        flag: 0,
        properties: Some(format!(
            "KEYS\u{1}AK-{i}\u{2}UNIQ_KEY\u{1}7F000001000000000000000000{i:06}\u{2}WAIT\u{1}true"
        )),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    RemotingCommand::request(req::SEND_MESSAGE_V2, &header)
        .with_body(format!("admin message {i}").into_bytes())
}

fn pull(queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(
        req::PULL_MESSAGE,
        &PullMessageRequestHeader {
            consumer_group: GROUP.into(),
            topic: "AdminTopic".into(),
            queue_id,
            queue_offset: 0,
            max_msg_nums: 32,
            sys_flag: FLAG_SUBSCRIPTION | FLAG_SUSPEND,
            commit_offset: 0,
            suspend_timeout_millis: 15_000,
            subscription: Some("*".into()),
            sub_version: 0,
            expression_type: Some("TAG".into()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
        },
    )
}

fn commit(topic: &str, queue_id: i32, offset: i64) -> RemotingCommand {
    RemotingCommand::request_without_header(req::UPDATE_CONSUMER_OFFSET)
        .with_ext_field("consumerGroup", GROUP)
        .with_ext_field("topic", topic)
        .with_ext_field("queueId", queue_id.to_string())
        .with_ext_field("commitOffset", offset.to_string())
}

/// Code, remark and the absence of extFields as in Java's answer.
fn same_envelope(ours: &RemotingCommand, java: &Frame) {
    assert_eq!(
        (ours.code, ours.remark.as_deref()),
        (java.code(), java.remark()),
        "{}",
        java.at()
    );
    assert_eq!(
        ours.ext_fields.is_some(),
        java.ext_fields().is_some(),
        "{}",
        java.at()
    );
}

/// `ours` is exactly what our types write (so substituting values in the typed form and
/// re-encoding compares our bytes), and with `fix` applied it is Java's body byte for byte.
fn same_body_after<T>(ours: &[u8], java: &Frame, fix: impl FnOnce(&mut T))
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut typed: T = fastjson::from_slice(ours).unwrap();
    assert_eq!(fastjson::to_vec(&typed).unwrap(), ours, "{}", java.at());
    fix(&mut typed);
    assert_eq!(
        String::from_utf8(fastjson::to_vec(&typed).unwrap()).unwrap(),
        String::from_utf8_lossy(&java.body),
        "{}",
        java.at()
    );
}

struct Run {
    started: i64,
    finished: i64,
}

impl Run {
    fn within(&self, t: i64) -> bool {
        (self.started..=self.finished).contains(&t)
    }
}

/// The store times per queue in ours and Java's answers: ours within the run and ordered as
/// Java's.
fn check_times(run: &Run, ours: &BTreeMap<i32, i64>, java: &BTreeMap<i32, i64>, at: &str) {
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        java.keys().collect::<Vec<_>>(),
        "{at}"
    );
    for (q, t) in ours {
        if java[q] == 0 {
            assert_eq!(*t, 0, "{at}: queue {q}");
            continue;
        }
        assert!(run.within(*t), "{at}: queue {q} time {t} outside the run");
        for (r, u) in ours {
            if java[q] < java[r] && java[r] != 0 {
                assert!(t <= u, "{at}: queues {q} and {r} out of Java's order");
            }
        }
    }
}

fn times(table: &BTreeMap<MessageQueue, i64>, topic: &str) -> BTreeMap<i32, i64> {
    table
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
        .map(|(mq, t)| (mq.queue_id, *t))
        .collect()
}

fn consume_times(stats: &ConsumeStats) -> BTreeMap<MessageQueue, i64> {
    stats
        .offset_table
        .iter()
        .map(|(mq, o)| (mq.clone(), o.last_timestamp))
        .collect()
}

/// Our times in a `ConsumeStats` against Java's, then Java's put in their place.
fn check_consume_stats(run: &Run, ours: &mut ConsumeStats, java: &ConsumeStats, at: &str) {
    let (o, j) = (consume_times(ours), consume_times(java));
    for topic in ["AdminTopic", RETRY] {
        check_times(run, &times(&o, topic), &times(&j, topic), at);
    }
    assert!(
        (0.0..=0.8).contains(&ours.consume_tps),
        "{at}: consumeTps {}",
        ours.consume_tps
    );
    ours.consume_tps = java.consume_tps;
    for (mq, offsets) in ours.offset_table.iter_mut() {
        offsets.last_timestamp = java.offset_table[mq].last_timestamp;
    }
}

fn rate_is_plausible(tps: f64) -> bool {
    (8.0 / 60.0..=8.0 / 10.0).contains(&tps)
}

#[test]
fn statistics_and_consume_progress_answer_as_java() {
    let dir = TempDir::new("stats-admin");
    let conf =
        std::fs::read_to_string(harness::captures_dir().join("s12-mqadmin/broker.conf")).unwrap();
    let mut broker = start_broker(dir.path(), &conf, None, &[]);
    let port = broker.addr().port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = broker::now_millis();
    rt.block_on(async {
        let admin = Client::connect(broker.addr()).await;
        let consumer = Client::connect(broker.addr()).await;
        let ok = |r: RemotingCommand| {
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
            r
        };

        // The state of the recordings.
        let create = RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_TOPIC)
            .with_ext_field("topic", "AdminTopic")
            .with_ext_field("defaultTopic", "TBW102")
            .with_ext_field("readQueueNums", "4")
            .with_ext_field("writeQueueNums", "4")
            .with_ext_field("perm", "6")
            .with_ext_field("topicFilterType", "SINGLE_TAG")
            .with_ext_field("topicSysFlag", "0")
            .with_ext_field("order", "false");
        ok(admin.invoke(create).await.unwrap());
        ok(consumer.invoke(heartbeat()).await.unwrap());
        for i in 0..8 {
            ok(admin.invoke(send(SEND_ORDER[i % 4], i)).await.unwrap());
        }
        // Every queue holds its 2 messages before the pulls, so each pull takes both.
        for q in 0..4 {
            let r = ok(consumer.invoke(pull(q)).await.unwrap());
            assert_eq!(r.ext_field("nextBeginOffset"), Some("2"), "queue {q}");
            ok(consumer.invoke(commit("AdminTopic", q, 2)).await.unwrap());
        }
        ok(consumer.invoke(commit(RETRY, 0, 0)).await.unwrap());

        // 315: wait for the sampling that sees the pulls (every 10 s).
        let stats_request = |name: &str, key: &str| {
            RemotingCommand::request_without_header(req::VIEW_BROKER_STATS_DATA)
                .with_ext_field("statsName", name)
                .with_ext_field("statsKey", key)
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = admin
                .invoke(stats_request(
                    "GROUP_GET_NUMS",
                    "AdminTopic@live_consumer_group",
                ))
                .await
                .unwrap();
            if r.code == resp::SUCCESS {
                let data: BrokerStatsData = fastjson::from_slice(&r.body).unwrap();
                if data.stats_minute.unwrap().sum == 8 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "no sampling saw the pulls");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let run = Run {
            started,
            finished: broker::now_millis(),
        };

        // 202 (m05): the topic's queues.
        let mut last_put = BTreeMap::new();
        for (request, java) in recorded("m05-topicStatus", req::GET_TOPIC_STATS_INFO) {
            let ours = admin.invoke(request.to_command()).await.unwrap();
            same_envelope(&ours, &java);
            let theirs: TopicStatsTable = fastjson::from_slice(&java.body).unwrap();
            same_body_after(&ours.body, &java, |t: &mut TopicStatsTable| {
                let pick = |t: &TopicStatsTable| {
                    t.offset_table
                        .iter()
                        .map(|(mq, o)| (mq.queue_id, o.last_update_timestamp))
                        .collect::<BTreeMap<_, _>>()
                };
                last_put = pick(t);
                check_times(&run, &last_put, &pick(&theirs), &java.at());
                for (mq, o) in t.offset_table.iter_mut() {
                    o.last_update_timestamp = theirs.offset_table[mq].last_update_timestamp;
                }
            });
        }
        assert_eq!(last_put.len(), 4);

        // 208 without topic (m12, m13) and with it (m27).
        for file in [
            "m12-consumerProgress",
            "m13-consumerProgress-g",
            "m27-statsAll",
        ] {
            let exchanges = recorded(file, req::GET_CONSUME_STATS);
            assert!(!exchanges.is_empty(), "{file}");
            for (request, java) in exchanges {
                let ours = admin.invoke(request.to_command()).await.unwrap();
                same_envelope(&ours, &java);
                let theirs: ConsumeStats = fastjson::from_slice(&java.body).unwrap();
                same_body_after(&ours.body, &java, |s: &mut ConsumeStats| {
                    // The last consumed message of each queue is its last message, in ours as
                    // in Java's (their 208 and 202 times are the same too).
                    for (mq, o) in &s.offset_table {
                        if mq.topic == "AdminTopic" {
                            assert_eq!(o.last_timestamp, last_put[&mq.queue_id], "{}", java.at());
                        }
                    }
                    check_consume_stats(&run, s, &theirs, &java.at());
                });
            }
        }

        // 315 (m27): absent items as Java's, the live group's figures, the topic's puts.
        for (request, java) in recorded("m27-statsAll", req::VIEW_BROKER_STATS_DATA) {
            let ours = admin.invoke(request.to_command()).await.unwrap();
            same_envelope(&ours, &java);
            if java.code() != resp::SUCCESS {
                assert!(ours.body.is_empty());
                continue;
            }
            let theirs: BrokerStatsData = fastjson::from_slice(&java.body).unwrap();
            let key = request.ext_field("statsKey").unwrap();
            same_body_after(&ours.body, &java, |d: &mut BrokerStatsData| {
                let minute = d.stats_minute.unwrap();
                if key == "AdminTopic@live_consumer_group" {
                    assert_eq!((minute.sum, minute.avgpt), (8, 2.0), "{}", java.at());
                    assert!(rate_is_plausible(minute.tps), "{}: {minute:?}", java.at());
                } else {
                    // TOPIC_PUT_NUMS of AdminTopic: 8 sends of one message each, seen by the
                    // same sampling (sent before the pulls) unless the minute window has
                    // already moved past them on a very slow machine.
                    assert_eq!(key, "AdminTopic");
                    assert!(
                        (minute.sum, minute.avgpt) == (8, 1.0) || minute.sum == 0,
                        "{}: {minute:?}",
                        java.at()
                    );
                }
                // Hour and day windows: exactly Java's zeros.
                assert_eq!(d.stats_hour, theirs.stats_hour, "{}", java.at());
                assert_eq!(d.stats_day, theirs.stats_day, "{}", java.at());
                d.stats_minute = theirs.stats_minute;
            });
        }

        // 317 (m28): every subscription group in Java's order, the live group's two topics.
        for (request, java) in recorded("m28-brokerConsumeStats", req::GET_BROKER_CONSUME_STATS) {
            let ours = admin.invoke(request.to_command()).await.unwrap();
            same_envelope(&ours, &java);
            let theirs: ConsumeStatsList = fastjson::from_slice(&java.body).unwrap();
            same_body_after(&ours.body, &java, |l: &mut ConsumeStatsList| {
                assert_eq!(
                    l.broker_addr.as_deref(),
                    Some(format!("127.0.0.1:{port}").as_str())
                );
                l.broker_addr = theirs.broker_addr.clone();
                for (mine, java_group) in l
                    .consume_stats_list
                    .iter_mut()
                    .zip(&theirs.consume_stats_list)
                {
                    for (group, list) in mine.iter_mut() {
                        let Some(java_list) = java_group.get(group) else {
                            continue; // the byte comparison reports the difference
                        };
                        for (s, j) in list.iter_mut().zip(java_list) {
                            check_consume_stats(&run, s, j, &java.at());
                        }
                    }
                }
            });
        }

        // 43: consumerOffset.json's content.
        let r = ok(admin
            .invoke(RemotingCommand::request_without_header(
                req::GET_ALL_CONSUMER_OFFSET,
            ))
            .await
            .unwrap());
        let text = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(text.starts_with("{\"offsetTable\":{"), "{text}");
        assert!(
            text.contains("\"AdminTopic@live_consumer_group\":{0:2,1:2,2:2,3:2}"),
            "{text}"
        );
        assert!(text.contains("\"%RETRY%live_consumer_group@live_consumer_group\":{0:0}"));

        // Bad input: Java's codes and remarks, no panic (the broker answers on).
        let r = admin
            .invoke(
                RemotingCommand::request_without_header(req::VIEW_BROKER_STATS_DATA)
                    .with_ext_field("statsName", "GROUP_GET_NUMS"),
            )
            .await
            .unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::SYSTEM_ERROR,
                Some("the custom field <statsKey> is null")
            )
        );
        let r = admin
            .invoke(stats_request("NO_SUCH_STATS", "AdminTopic"))
            .await
            .unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::SYSTEM_ERROR,
                Some("The stats <NO_SUCH_STATS> <AdminTopic> not exist")
            )
        );
        let r = admin
            .invoke(
                RemotingCommand::request_without_header(req::GET_TOPIC_STATS_INFO)
                    .with_ext_field("topic", "NoSuchTopic"),
            )
            .await
            .unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (resp::TOPIC_NOT_EXIST, Some("topic[NoSuchTopic] not exist"))
        );
        for code in [req::GET_CONSUME_STATS, req::GET_TOPIC_STATS_INFO] {
            let r = admin
                .invoke(RemotingCommand::request_without_header(code))
                .await
                .unwrap();
            assert_eq!(r.code, resp::SYSTEM_ERROR, "{code}");
            assert!(
                r.remark
                    .as_deref()
                    .unwrap_or("")
                    .starts_with("the custom field <"),
                "{code}: {:?}",
                r.remark
            );
        }
        // isOrder is read as Java's Boolean.parseBoolean (anything but "true" is false);
        // AdminTopic is not ordered, so the ordered answer lists no topic.
        let ordered = |v: &str| {
            RemotingCommand::request_without_header(req::GET_BROKER_CONSUME_STATS)
                .with_ext_field("isOrder", v)
        };
        let r = ok(admin.invoke(ordered("TRUE")).await.unwrap());
        let l: ConsumeStatsList = fastjson::from_slice(&r.body).unwrap();
        assert!(l
            .consume_stats_list
            .iter()
            .all(|m| m.values().all(Vec::is_empty)));
        let r = ok(admin.invoke(ordered("maybe")).await.unwrap());
        let l: ConsumeStatsList = fastjson::from_slice(&r.body).unwrap();
        assert!(l
            .consume_stats_list
            .iter()
            .any(|m| m.values().any(|v| !v.is_empty())));
        // Still serving.
        ok(admin
            .invoke(RemotingCommand::request_without_header(
                req::GET_ALL_CONSUMER_OFFSET,
            ))
            .await
            .unwrap());
    });
    drop(rt);
    assert!(broker.terminate().success(), "broker stop");
}
