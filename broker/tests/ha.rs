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

use common::*;
use remoting::RemotingClient;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;
use test_support::process::BrokerConf;

const DEADLINE: Duration = Duration::from_secs(90);
const BODY: &[u8] = b"ha message body, long enough to look like a message (about 100 bytes) .....";

fn conf(dir: &Path, port: u16, ns: std::net::SocketAddr, role: &str, id: u32) -> BrokerConf {
    BrokerConf::small_store(dir, port, Some(ns))
        .set("brokerName", "broker-a")
        .set("brokerId", id)
        .set("brokerRole", role)
        .set("haSendHeartbeatInterval", 1000)
}

fn start(dir: &Path, conf: &BrokerConf) -> BrokerProcess {
    std::fs::create_dir_all(dir).unwrap();
    BrokerProcess::start(Path::new(env!("CARGO_BIN_EXE_broker")), dir, conf)
}

async fn wait_for(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !f().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
            let got = pull_n(&s, "HaTopic", q, 500).await;
            assert_eq!(got.len(), 500);
            assert!(got.iter().all(|m| &m.body[..] == BODY));
            total += got.len();
        }
        assert_eq!(total, 2000);

        // The master comes back (abort recovery); replication resumes with no gap.
        let master = restart_broker(&master.conf);
        let m = master.client().await;
        for i in 2000..2100 {
            let r = send(&m, i).await;
            assert_eq!(r.code, resp::SUCCESS, "{:?}", r.remark);
        }
        wait_identical(&mdir, &sdir).await;
        for q in 0..4 {
            assert_eq!(max_offset(&s, q).await, 525);
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
