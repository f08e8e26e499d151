//! Master and slave broker processes under our namesrv: ASYNC_MASTER and SYNC_MASTER.
//!
//! - the slave registers with brokerId 1 and learns its master's HA address from the
//!   registration answer; its commitlog becomes byte-identical to the master's and its
//!   consume queues agree;
//! - `kill -9` of the master: every message is pulled from the slave; the restarted master
//!   (abort recovery) and the slave go on with no gap and no duplicate byte;
//! - the slave copies the master's topics and consumer offsets (SlaveSynchronize);
//! - SYNC_MASTER: sends answer SUCCESS once replicated; a frozen slave (SIGSTOP) gets
//!   FLUSH_SLAVE_TIMEOUT (12) after slaveTimeout, no slave SLAVE_NOT_AVAILABLE (11), both
//!   stored messages (later replicated), as the s15-ha-sync recording answers;
//! - a slave refuses sends as Java.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::ha::{conf, start, wait_for};
use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;
use test_support::process::BrokerConf;

const BODY: &[u8] = b"ha message body, long enough to look like a message (about 100 bytes) .....";

fn commitlog(dir: &Path) -> Vec<(String, Vec<u8>)> {
    tree(&dir.join("store/commitlog"))
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// Waits until the slave's commitlog and consume queues are the master's, byte for byte.
async fn wait_identical(master: &Path, slave: &Path) {
    wait_for("a byte-identical slave commitlog", async || {
        commitlog(master) == commitlog(slave)
    })
    .await;
    wait_for("identical consume queues", async || {
        tree(&master.join("store/consumequeue")) == tree(&slave.join("store/consumequeue"))
    })
    .await;
}

async fn send(c: &RemotingClient, i: usize) -> RemotingCommand {
    c.invoke(send_v2("HaTopic", (i % 4) as i32, "TagA", BODY), TIMEOUT)
        .await
        .unwrap()
}

async fn max_offset(c: &RemotingClient, queue: i32) -> i64 {
    let r = c
        .invoke(
            RemotingCommand::request_without_header(req::GET_MAX_OFFSET)
                .with_ext_field("topic", "HaTopic")
                .with_ext_field("queueId", queue.to_string()),
            TIMEOUT,
        )
        .await
        .unwrap();
    r.ext_field("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

#[test]
fn async_master_slave_replicate_survive_a_master_crash_and_sync_metadata() {
    let dir = temp_dir("ha-async");
    let (mdir, sdir) = (dir.path().join("master"), dir.path().join("slave"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns = start_namesrv(dir.path()).await;
        let (mport, sport) = (free_port_pair(), free_port_pair());
        let mconf = conf(&mdir, mport, ns.addr, "ASYNC_MASTER", 0);
        let mut master = start(&mdir, &mconf);
        let slave = start(&sdir, &conf(&sdir, sport, ns.addr, "SLAVE", 1));
        let m = master.client().await;
        let s = slave.client().await;

        // A slave refuses sends (the store is read-only on a slave).
        let r = send(&s, 0).await;
        assert_eq!(r.code, resp::SERVICE_NOT_AVAILABLE, "{:?}", r.remark);

        for i in 0..2000 {
            let r = send(&m, i).await;
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        }
        wait_identical(&mdir, &sdir).await;
        for q in 0..4 {
            assert_eq!(max_offset(&s, q).await, 500);
        }

        // The slave copies the master's topics and consumer offsets.
        m.invoke_oneway(
            RemotingCommand::request_without_header(req::UPDATE_CONSUMER_OFFSET)
                .with_ext_field("consumerGroup", "ha_group")
                .with_ext_field("topic", "HaTopic")
                .with_ext_field("queueId", "2")
                .with_ext_field("commitOffset", "321"),
        )
        .await
        .unwrap();
        wait_for("the slave's copy of topics and offsets", async || {
            let topics = s
                .invoke(
                    RemotingCommand::request_without_header(req::GET_ALL_TOPIC_CONFIG),
                    TIMEOUT,
                )
                .await
                .unwrap();
            let offset = s
                .invoke(
                    RemotingCommand::request_without_header(req::QUERY_CONSUMER_OFFSET)
                        .with_ext_field("consumerGroup", "ha_group")
                        .with_ext_field("topic", "HaTopic")
                        .with_ext_field("queueId", "2"),
                    TIMEOUT,
                )
                .await
                .unwrap();
            String::from_utf8_lossy(&topics.body).contains("\"HaTopic\"")
                && offset.ext_field("offset") == Some("321")
        })
        .await;

        // A pull parked on the slave at the end of queue 0 wakes when a message sent to the
        // master has been replicated (Java's 5 s hold check; the slave's store does not notify).
        let parked = {
            use remoting_codec::message::sysflag::pull_sys_flag::{
                FLAG_SUBSCRIPTION, FLAG_SUSPEND,
            };
            let h = pull_header("HaTopic", 0, 500, FLAG_SUBSCRIPTION | FLAG_SUSPEND);
            let s = s.clone();
            tokio::spawn(async move { s.invoke(pull(&h), TIMEOUT).await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent_at = Instant::now();
        assert_eq!(send(&m, 2000).await.code, resp::SUCCESS);
        let woken = parked.await.unwrap();
        // Woken by the check (every 5 s), not by the end of its 20 s suspension.
        assert!(
            sent_at.elapsed() < Duration::from_secs(15),
            "{:?}",
            sent_at.elapsed()
        );
        assert_eq!(woken.code, resp::SUCCESS, "{:?}", woken.remark);
        assert_eq!(records(&woken).len(), 1);

        // kill -9 the master: everything can be read from the slave.
        master.kill();
        {
            // As the recording: the slave answers FOUND (SUCCESS) and suggests the master.
            use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
            let h = pull_header("HaTopic", 0, 0, FLAG_SUBSCRIPTION);
            let r = s.invoke(pull(&h), TIMEOUT).await.unwrap();
            assert_eq!(
                (r.code, r.remark.as_deref()),
                (resp::SUCCESS, Some("FOUND"))
            );
            assert_eq!(r.ext_field("suggestWhichBrokerId"), Some("0"));
        }
        let mut total = 0;
        for q in 0..4 {
            let n = if q == 0 { 501 } else { 500 };
            let got = pull_n(&s, "HaTopic", q, n).await;
            assert_eq!(got.len(), n);
            assert!(got.iter().all(|m| &m.body[..] == BODY));
            total += got.len();
        }
        assert_eq!(total, 2001);

        // The master comes back (abort recovery); replication resumes with no gap.
        let master = restart_broker(&master.conf);
        let m = master.client().await;
        for i in 2001..2101 {
            let r = send(&m, i).await;
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        }
        wait_identical(&mdir, &sdir).await;
        for q in 0..4 {
            assert_eq!(max_offset(&s, q).await, if q == 0 { 526 } else { 525 });
        }
        drop(ns);
    });
}

#[test]
fn sync_master_answers_as_java_with_a_frozen_or_missing_slave() {
    let dir = temp_dir("ha-sync");
    let (mdir, sdir) = (dir.path().join("master"), dir.path().join("slave"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns = start_namesrv(dir.path()).await;
        let (mport, sport) = (free_port_pair(), free_port_pair());
        let master = start(&mdir, &conf(&mdir, mport, ns.addr, "SYNC_MASTER", 0));
        let sconf = conf(&sdir, sport, ns.addr, "SLAVE", 1);
        let mut slave = start(&sdir, &sconf);
        let m = master.client().await;
        // Until the slave's first report the master answers SLAVE_NOT_AVAILABLE (stored).
        let mut sent = 0;
        wait_for("the slave to be in sync", async || {
            let r = send(&m, sent).await;
            sent += 1;
            assert!(
                r.code == resp::SUCCESS || r.code == resp::SLAVE_NOT_AVAILABLE,
                "{} {:?}",
                r.code,
                r.remark
            );
            r.code == resp::SUCCESS
        })
        .await;
        for _ in 0..200 {
            let r = send(&m, sent).await;
            sent += 1;
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        }

        // A frozen slave: FLUSH_SLAVE_TIMEOUT after slaveTimeout (3 s), a full send header,
        // no remark.
        slave.signal(libc::SIGSTOP);
        let begin = Instant::now();
        let r = send(&m, sent).await;
        sent += 1;
        assert_eq!(r.code, resp::FLUSH_SLAVE_TIMEOUT);
        assert!(
            begin.elapsed() >= Duration::from_millis(2900),
            "{:?}",
            begin.elapsed()
        );
        assert_eq!(r.remark, None);
        assert!(r.ext_field("msgId").is_some() && r.ext_field("queueOffset").is_some());
        slave.signal(libc::SIGCONT);

        // No slave: SLAVE_NOT_AVAILABLE (the message is stored all the same).
        slave.terminate();
        wait_for("SLAVE_NOT_AVAILABLE", async || {
            let r = send(&m, sent).await;
            sent += 1;
            assert!(r.code == resp::SLAVE_NOT_AVAILABLE || r.code == resp::FLUSH_SLAVE_TIMEOUT);
            assert!(r.ext_field("msgId").is_some());
            r.code == resp::SLAVE_NOT_AVAILABLE
        })
        .await;

        // The slave comes back and gets everything, the unacknowledged messages included.
        let slave = restart_broker(&sconf_path(&slave));
        wait_identical(&mdir, &sdir).await;
        let s = slave.client().await;
        let total: i64 = {
            let mut t = 0;
            for q in 0..4 {
                t += max_offset(&s, q).await;
            }
            t
        };
        assert_eq!(total, sent as i64);
        drop(ns);
    });
}

fn sconf_path(p: &BrokerProcess) -> std::path::PathBuf {
    p.conf.clone()
}

/// A fake master that answers the slave's sync requests with Java's recorded answers and keeps
/// what it was asked, and on which port.
struct RecordedMaster {
    port: &'static str,
    answers: std::collections::HashMap<i32, RemotingCommand>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(&'static str, RemotingCommand)>>>,
}

impl remoting::RequestProcessor for RecordedMaster {
    async fn process(
        &self,
        _conn: &std::sync::Arc<remoting::Connection>,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, remoting::ProcessError> {
        self.seen.lock().unwrap().push((self.port, request.clone()));
        let recorded = self
            .answers
            .get(&request.code)
            .ok_or(remoting::ProcessError::NotSupported)?;
        let mut answer = RemotingCommand::response_to(&request, recorded.code);
        answer.ext_fields = recorded.ext_fields.clone();
        answer.remark = recorded.remark.clone();
        Ok(Some(answer.with_body(recorded.body.clone())))
    }
}

/// The slave's SlaveSynchronize against Java's recorded master answers (s15-ha, the last
/// round before the master was killed): the requests are Java's (code, version 409, no header
/// fields, no body; GET_ALL_TOPIC_CONFIG on the master's VIP port, the rest on its port), and
/// the slave ends with the master's topics (and data version), offsets, delay offsets and
/// groups. The slave learns the master from the namesrv's answer to its registration, the
/// master being Java's recorded registration (its address moved to the fake master's port).
#[test]
fn slave_sync_requests_and_applied_answers_are_javas() {
    use test_support::capture::{read_capture, recorded_response};
    let frames = read_capture("s15-ha.jsonl");
    let sync_codes = [
        req::GET_ALL_TOPIC_CONFIG,
        req::GET_ALL_CONSUMER_OFFSET,
        req::GET_ALL_DELAY_OFFSET,
        req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG,
    ];
    // The last recorded request of each code before the kill (t = 61.7) and its answer.
    let mut recorded_requests = std::collections::HashMap::new();
    let mut answers = std::collections::HashMap::new();
    for f in &frames {
        let t = f.record["ts"].as_f64().unwrap();
        if f.is_c2s() && !f.is_response() && sync_codes.contains(&f.code()) && t < 61.0 {
            let r = recorded_response(&frames, f).expect("recorded answer");
            recorded_requests.insert(f.code(), f.clone());
            answers.insert(f.code(), r.to_command());
        }
    }
    assert_eq!(answers.len(), 4);
    let master_register = frames
        .iter()
        .find(|f| f.code() == req::REGISTER_BROKER && f.ext_field("brokerId") == Some("0"))
        .unwrap();

    let dir = temp_dir("ha-sync-replay");
    let sdir = dir.path().join("slave");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns = start_namesrv(dir.path()).await;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mport = free_port_pair();
        for (port, tag) in [(mport, "main"), (mport - 2, "vip")] {
            let server =
                remoting::RemotingServer::bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
                    .await
                    .unwrap();
            let processor = std::sync::Arc::new(RecordedMaster {
                port: tag,
                answers: answers.clone(),
                seen: seen.clone(),
            });
            tokio::spawn(server.run(processor, std::future::pending::<()>()));
        }
        let mut register = master_register.to_command();
        let ext = register.ext_fields_mut();
        ext.insert("brokerAddr", format!("127.0.0.1:{mport}"));
        ext.insert("haServerAddr", format!("127.0.0.1:{}", mport + 1));
        let ns_client = RemotingClient::connect(ns.addr).await.unwrap();
        let r = ns_client.invoke(register, TIMEOUT).await.unwrap();
        assert_eq!(r.code, resp::SUCCESS);

        let sconf = BrokerConf::small_store(&sdir, free_port_pair(), Some(ns.addr))
            .set("brokerClusterName", "DefaultCluster")
            .set("brokerName", "broker-a")
            .set("brokerId", 1)
            .set("brokerRole", "SLAVE");
        let slave = start(&sdir, &sconf);
        wait_for("a whole sync round", async || {
            seen.lock().unwrap().len() >= 4
        })
        .await;
        let round: Vec<(&str, RemotingCommand)> = seen.lock().unwrap()[..4].to_vec();
        let codes: Vec<i32> = round.iter().map(|(_, r)| r.code).collect();
        assert_eq!(codes, sync_codes, "Java's order");
        for (port, ours) in &round {
            let java = recorded_requests[&ours.code].to_command();
            let expected_port = if ours.code == req::GET_ALL_TOPIC_CONFIG {
                "vip"
            } else {
                "main"
            };
            assert_eq!(*port, expected_port, "code {}", ours.code);
            assert_eq!(
                (ours.version, ours.flag, ours.language, ours.serialize_type),
                (java.version, java.flag, java.language, java.serialize_type),
                "code {}",
                ours.code
            );
            assert!(ours.ext_fields.as_ref().is_none_or(|e| e.is_empty()));
            assert!(java.ext_fields.as_ref().is_none_or(|e| e.is_empty()));
            assert!(ours.body.is_empty() && java.body.is_empty());
        }

        // What the slave made of Java's answers.
        let s = slave.client().await;
        let topics = s
            .invoke(
                RemotingCommand::request_without_header(req::GET_ALL_TOPIC_CONFIG),
                TIMEOUT,
            )
            .await
            .unwrap();
        let ours: serde_json::Value =
            remoting_codec::fastjson::from_slice_value(&topics.body).unwrap();
        let java: serde_json::Value =
            remoting_codec::fastjson::from_slice_value(&answers[&req::GET_ALL_TOPIC_CONFIG].body)
                .unwrap();
        assert_eq!(ours["dataVersion"], java["dataVersion"]);
        assert_eq!(ours["topicConfigTable"], java["topicConfigTable"]);
        let groups = s
            .invoke(
                RemotingCommand::request_without_header(req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
                TIMEOUT,
            )
            .await
            .unwrap();
        let ours: serde_json::Value =
            remoting_codec::fastjson::from_slice_value(&groups.body).unwrap();
        let java: serde_json::Value = remoting_codec::fastjson::from_slice_value(
            &answers[&req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG].body,
        )
        .unwrap();
        assert_eq!(ours["dataVersion"], java["dataVersion"]);
        assert_eq!(
            ours["subscriptionGroupTable"]
                .as_object()
                .map(|m| m.keys().collect::<Vec<_>>()),
            java["subscriptionGroupTable"]
                .as_object()
                .map(|m| m.keys().collect::<Vec<_>>())
        );
        let offsets = s
            .invoke(
                RemotingCommand::request_without_header(req::GET_ALL_CONSUMER_OFFSET),
                TIMEOUT,
            )
            .await
            .unwrap();
        let ours: serde_json::Value =
            remoting_codec::fastjson::from_slice_value(&offsets.body).unwrap();
        let java: serde_json::Value = remoting_codec::fastjson::from_slice_value(
            &answers[&req::GET_ALL_CONSUMER_OFFSET].body,
        )
        .unwrap();
        assert_eq!(ours["offsetTable"], java["offsetTable"]);
        let delay = std::fs::read(sdir.join("store/config/delayOffset.json")).unwrap();
        assert_eq!(delay, answers[&req::GET_ALL_DELAY_OFFSET].body.to_vec());
        drop(ns);
    });
}

/// SYNC_FLUSH and SYNC_MASTER together (Java: the flush wait, then the slave wait): every send
/// is answered SUCCESS once the slave is in sync, and the slave ends byte-identical.
#[test]
fn sync_flush_sync_master_sends_wait_for_disk_and_slave() {
    let dir = temp_dir("ha-sync-flush");
    let (mdir, sdir) = (dir.path().join("master"), dir.path().join("slave"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns = start_namesrv(dir.path()).await;
        let (mport, sport) = (free_port_pair(), free_port_pair());
        let master = start(
            &mdir,
            &conf(&mdir, mport, ns.addr, "SYNC_MASTER", 0).set("flushDiskType", "SYNC_FLUSH"),
        );
        let _slave = start(&sdir, &conf(&sdir, sport, ns.addr, "SLAVE", 1));
        let m = master.client().await;
        let mut sent = 0;
        wait_for("the slave to be in sync", async || {
            let r = send(&m, sent).await;
            sent += 1;
            assert!(r.code == resp::SUCCESS || r.code == resp::SLAVE_NOT_AVAILABLE);
            r.code == resp::SUCCESS
        })
        .await;
        for _ in 0..100 {
            let r = send(&m, sent).await;
            sent += 1;
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        }
        wait_identical(&mdir, &sdir).await;
        drop(ns);
    });
}
