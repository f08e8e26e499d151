//! The admin-plane replay (`replay_mqadmin.rs`): our namesrv and broker as processes, brought
//! to the state the Java servers were in when mqadmin ran, and the replay of one recorded
//! capture file against them.
//!
//! Who is who in a capture file (`<file>.conns.jsonl`, `syn_seen`): a connection opened during
//! the capture is a client of the recorded run (mqadmin, or in s13 the 5.x clients) and gets a
//! connection of its own here; a connection that existed before belongs to the live clients of
//! s12 (their broker connections are ours, [`Live`], kept for the whole run, so that the broker
//! calls the live consumer back on it) or is the broker's registration link or a live client's
//! route lookups on the namesrv (not replayed: our broker registers itself).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use remoting::Connection;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::command::FLAG_RESPONSE;
use remoting_codec::message::record::decode_records;
use remoting_codec::RemotingCommand;
use serde_json::Value;
use tokio::task::JoinHandle;

use super::admin_compare::{compare_answer, compare_broker_request, Context};
use super::replay::max_offset;
use super::{captures_dir, read_capture, start_broker, start_namesrv, Client, Frame};
use super::{BrokerProcess, Process, RecordedClock, TempDir, TIMEOUT};

/// The two recorded worlds: `s12-mqadmin` (4.9.8 mqadmin, live producer and consumer) and
/// `s13-client5` (5.3.3 mqadmin after the 5.3.3 quickstart and transaction clients).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum World {
    S12,
    S13,
}

impl World {
    pub fn of(file: &str) -> World {
        if file.starts_with("s13-client5/") {
            World::S13
        } else {
            World::S12
        }
    }
}

/// One difference between our run and Java's.
#[derive(Debug)]
pub struct Mismatch {
    pub at: String,
    /// The code of the request (or of the broker's request to a client).
    pub code: i32,
    pub text: String,
}

/// What one file's replay found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub compared: usize,
    pub mismatches: Vec<Mismatch>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    /// Opened during the capture: a client of the recorded run.
    Client,
    LiveConsumer,
    LiveProducer,
    /// Not replayed.
    Skip,
}

/// A live client's broker connection, answering the broker's requests (RESET_CONSUMER_CLIENT_
/// OFFSET, GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY) with the recorded answers of
/// the file being replayed.
struct Live {
    conn: Arc<Connection>,
    /// Our end of the connection, as the broker lists it (`clientAddr`).
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

#[derive(Default)]
struct Script {
    /// The recorded broker requests of this file on this role's connections, with the
    /// client's recorded answer; `bool` = used.
    recorded: Vec<(Frame, Option<Frame>, bool)>,
    received: Vec<RemotingCommand>,
}

impl Live {
    async fn connect(addr: SocketAddr) -> Live {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let local = stream.local_addr().unwrap();
        let script: Arc<Mutex<Script>> = Arc::default();
        let s = script.clone();
        let conn = Connection::spawn(
            stream,
            remoting_codec::DEFAULT_MAX_FRAME_LENGTH,
            move |conn, request| {
                let mut script = s.lock().unwrap();
                let answer = (!request.is_oneway())
                    .then(|| {
                        let slot = script
                            .recorded
                            .iter_mut()
                            .find(|(r, _, used)| !used && r.code() == request.code)?;
                        slot.2 = true;
                        slot.1.clone()
                    })
                    .flatten()
                    .map(|recorded| {
                        let mut answer = recorded.to_command();
                        answer.opaque = request.opaque;
                        answer.flag = FLAG_RESPONSE;
                        answer.serialize_type = request.serialize_type;
                        answer
                    });
                script.received.push(request);
                if let Some(answer) = answer {
                    tokio::spawn(async move { conn.send(answer).await });
                }
            },
        );
        Live {
            conn,
            addr: local,
            script,
        }
    }
}

/// Our namesrv and broker, with the live clients of s12.
pub struct AdminCluster {
    pub world: World,
    namesrv: Process,
    pub broker: BrokerProcess,
    pub cx: Context,
    consumer: Option<Live>,
    producer: Option<Live>,
    control: Client,
    /// When our broker reported "boot success": its transaction check thread, started just
    /// before, runs a pass every `check_interval` from then.
    booted: Instant,
    check_interval: Duration,
    _dir: TempDir,
}

fn capture_dir(world: World) -> &'static str {
    match world {
        World::S12 => "s12-mqadmin",
        World::S13 => "s13-client5",
    }
}

/// The settings of our broker.conf (`ours`) that Java's (`recorded`) lacks or sets otherwise,
/// with our values: ports, paths and the namesrv address (free ports, the test's directory),
/// the test's own settings (disk tolerance, the transaction check interval of the replay,
/// ROCKETMQ_HOME); and `haListenPort`, `listenPort + 1` in both.
fn conf_differences(recorded: &str, ours: &str) -> Vec<(String, String)> {
    let pairs = |text: &str| -> BTreeMap<String, String> {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    };
    let (recorded, ours) = (pairs(recorded), pairs(ours));
    let mut differences: Vec<(String, String)> = ours
        .iter()
        .filter(|(k, v)| recorded.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let port: u16 = ours["listenPort"].parse().unwrap();
    differences.push(("haListenPort".into(), (port + 1).to_string()));
    differences
}

/// `syn_seen` of every connection of a capture file.
fn opened_in_capture(file: &str) -> BTreeMap<i64, bool> {
    let path = captures_dir().join(file.replace(".jsonl", ".conns.jsonl"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["conn"].as_i64().unwrap(),
                v["syn_seen"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The heartbeat body's `clientID`.
fn heartbeat_client(f: &Frame) -> Option<String> {
    if f.code() != req::HEART_BEAT || f.is_response() {
        return None;
    }
    let v: Value = serde_json::from_slice(&f.body).ok()?;
    v["clientID"].as_str().map(str::to_owned)
}

fn roles(file: &str, frames: &[Frame]) -> BTreeMap<i64, Role> {
    opened_in_capture(file)
        .into_iter()
        .map(|(conn, opened)| {
            let on_conn = || frames.iter().filter(move |f| f.conn() == conn);
            let role = if opened {
                Role::Client
            } else if on_conn().all(|f| !f.is_c2s() || f.is_response()) {
                // Only answers to requests sent before the capture.
                Role::Skip
            } else if on_conn().any(|f| f.to_namesrv()) {
                Role::Skip
            } else if on_conn()
                .any(|f| heartbeat_client(f).as_deref() == Some("127.0.0.1@live-producer"))
            {
                Role::LiveProducer
            } else if on_conn().any(|f| {
                f.ext_field("consumerGroup") == Some("live_consumer_group")
                    || heartbeat_client(f).as_deref() == Some("127.0.0.1@live-consumer")
            }) {
                Role::LiveConsumer
            } else {
                panic!("{file}: whose is pre-existing connection {conn}?")
            };
            (conn, role)
        })
        .collect()
}

/// The frame of the recorded answer to request `i` (a client's or, for the broker's calls to
/// a client, the client's): same connection, other direction, same opaque, flagged as a
/// response.
fn recorded_answer(frames: &[Frame], i: usize) -> Option<usize> {
    let r = &frames[i];
    (i + 1..frames.len()).find(|&j| {
        let f = &frames[j];
        f.conn() == r.conn()
            && f.is_response()
            && f.is_c2s() != r.is_c2s()
            && f.opaque() == r.opaque()
    })
}

/// `client_port` of a connection of a capture file.
fn client_port(file: &str, conn: i64) -> u16 {
    let path = captures_dir().join(file.replace(".jsonl", ".conns.jsonl"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["conn"].as_i64() == Some(conn))
        .and_then(|v| v["client_port"].as_u64())
        .unwrap() as u16
}

/// Where a transactional producer's half messages are, as it learned them from Java's broker
/// (send answers, CHECK_TRANSACTION_STATE headers) → as it learned them from ours: (commitlog
/// offset, half queue offset). A producer names a half in END_TRANSACTION by what the broker
/// told it, so the replay sends ours. They differ when Java's commitlog order was not ours:
/// in c5-transaction Java's END_TRANSACTION thread wrote the commit's op message after the
/// next half (sent 12 ms later on the send thread), ours wrote it before, so every later half
/// sits 135 B away from Java's and the recorded rollback named our op message (refused:
/// "The producer group wrong"); the rolled-back half then stayed open and was checked, with
/// the unknown one, on every pass.
#[derive(Default)]
struct HalfOffsets(BTreeMap<(i64, i64), (i64, i64)>);

impl HalfOffsets {
    /// A send answer's half position: (offset in its `msgId`, `queueOffset`).
    fn of_send_answer(msg_id: Option<&str>, queue_offset: Option<&str>) -> Option<(i64, i64)> {
        let msg_id = msg_id?;
        let offset = i64::from_str_radix(msg_id.get(msg_id.len().checked_sub(16)?..)?, 16).ok()?;
        Some((offset, queue_offset?.parse().ok()?))
    }

    /// A CHECK_TRANSACTION_STATE's or END_TRANSACTION's half position.
    fn of_header(
        commit_log_offset: Option<&str>,
        tran_state_table_offset: Option<&str>,
    ) -> Option<(i64, i64)> {
        Some((
            commit_log_offset?.parse().ok()?,
            tran_state_table_offset?.parse().ok()?,
        ))
    }

    fn learn(&mut self, java: Option<(i64, i64)>, ours: Option<(i64, i64)>) {
        if let (Some(java), Some(ours)) = (java, ours) {
            self.0.insert(java, ours);
        }
    }

    /// The recorded END_TRANSACTION naming our half where Java's was.
    fn end_transaction(&self, f: &Frame, command: RemotingCommand) -> RemotingCommand {
        let java = Self::of_header(
            f.ext_field("commitLogOffset"),
            f.ext_field("tranStateTableOffset"),
        );
        match java.and_then(|java| self.0.get(&java)) {
            Some((offset, queue_offset)) => command
                .with_ext_field("commitLogOffset", offset.to_string())
                .with_ext_field("tranStateTableOffset", queue_offset.to_string()),
            None => command,
        }
    }
}

/// A request of the replay whose answer is still to come: (request index, recorded answer
/// index, our answer).
type Pending = (
    usize,
    usize,
    JoinHandle<Result<RemotingCommand, remoting::RemotingError>>,
);

impl AdminCluster {
    /// Starts namesrv and broker on the world's recorded broker.conf, in a directory named
    /// after the test (`name`).
    pub async fn start(world: World, name: &str, extra_conf: &[&str]) -> AdminCluster {
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let dir = TempDir::new(&format!("mqadmin-{name}"));
        let ns_home = dir.path().join("ns");
        std::fs::create_dir_all(&ns_home).unwrap();
        let namesrv = start_namesrv(&ns_home);
        let conf =
            std::fs::read_to_string(captures_dir().join(capture_dir(world)).join("broker.conf"))
                .unwrap();
        // Java's broker ran with ROCKETMQ_HOME set (it refuses to start without); ours gets
        // the same setting as a conf line, which sets the same property.
        let home = format!("rocketmqHome={}", dir.path().display());
        let extra: Vec<&str> = extra_conf.iter().copied().chain([home.as_str()]).collect();
        let broker = start_broker(dir.path(), &conf, Some(namesrv.addr), &extra);
        let our_conf = conf_differences(&conf, &std::fs::read_to_string(&broker.conf).unwrap());
        let booted = Instant::now();
        let check_interval = conf
            .lines()
            .chain(extra.iter().copied())
            .filter_map(|l| l.trim().strip_prefix("transactionCheckInterval="))
            .filter_map(|v| v.trim().parse().ok())
            .next_back()
            .map_or(Duration::from_secs(60), Duration::from_millis);
        let cx = Context {
            broker_addr: broker.addr().to_string(),
            commitlog_path: dir
                .path()
                .join("store")
                .join("commitlog")
                .display()
                .to_string(),
            store_shift_ms: 0,
            started_ms,
            client_addrs: Vec::new(),
            our_conf,
            recorded_routes: BTreeMap::new(),
        };
        let control = Client::connect(broker.addr()).await;
        AdminCluster {
            world,
            namesrv,
            broker,
            cx,
            consumer: None,
            producer: None,
            control,
            booted,
            check_interval,
            _dir: dir,
        }
    }

    pub fn namesrv_addr(&self) -> SocketAddr {
        self.namesrv.addr
    }

    /// Brings our servers to the state Java's held before the world's mqadmin commands.
    pub async fn seed(&mut self) {
        match self.world {
            World::S12 => self.seed_live_clients().await,
            World::S13 => {
                for file in [
                    "s13-client5/c5-quickstart.jsonl",
                    "s13-client5/c5-transaction.jsonl",
                ] {
                    let outcome = self.replay(file, false).await;
                    assert!(
                        outcome.mismatches.is_empty(),
                        "{file}: {:?}",
                        outcome.mismatches
                    );
                }
            }
        }
    }

    /// s12: the live producer's 8 sends (`live.out`, `live-ids.txt`) at Java's queues and
    /// commitlog offsets, its heartbeat; the live consumer's heartbeat, its first pulls (it
    /// consumed the 8 messages) and its first offset commit, as recorded.
    async fn seed_live_clients(&mut self) {
        let addr = self.broker.addr();
        let producer = Live::connect(addr).await;
        let consumer = Live::connect(addr).await;
        let files = s12_files();
        let all: Vec<Frame> = files.iter().flat_map(|f| read_capture(f)).collect();
        let first = |pred: &dyn Fn(&Frame) -> bool| all.iter().find(|f| pred(f)).cloned().unwrap();

        // The sends, shaped as the 4.9.8 client's SEND_MESSAGE_V2 (m36's template).
        let template = first(&|f| f.code() == req::SEND_MESSAGE_V2 && f.is_c2s());
        let live = std::fs::read_to_string(captures_dir().join("s12-mqadmin/live.out")).unwrap();
        let mut java_store_time_0 = None;
        for (n, line) in std::fs::read_to_string(captures_dir().join("s12-mqadmin/live-ids.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.contains('='))
            .enumerate()
        {
            let ids: Vec<&str> = line.split_whitespace().collect();
            let (uniq, offset_msg_id, queue_id, queue_offset) = (ids[1], ids[2], ids[3], ids[4]);
            let recv = live
                .lines()
                .find(|l| l.contains(" recv ") && l.contains(&format!("msgId={uniq} ")))
                .unwrap();
            let field = |k: &str| {
                recv.split_whitespace()
                    .find_map(|w| w.strip_prefix(&format!("{k}=")))
                    .unwrap()
                    .to_owned()
            };
            if n == 0 {
                java_store_time_0 = Some(field("store").parse::<i64>().unwrap());
            }
            let properties = format!(
                "KEYS\u{1}{}\u{2}UNIQ_KEY\u{1}{uniq}\u{2}WAIT\u{1}true\u{2}TAGS\u{1}{}",
                field("keys"),
                field("tags")
            );
            let body = recv.split_once("body=").unwrap().1;
            let body = body.split_once(" props=").unwrap().0.to_owned();
            let mut send = template.to_command();
            let ext = send.ext_fields_mut();
            ext.remove("AccessKey");
            ext.remove("Signature");
            ext.insert("a", "live_producer_group");
            ext.insert("e", queue_id);
            ext.insert("g", field("born"));
            ext.insert("i", properties);
            send.body = body.into_bytes().into();
            let answer = producer.conn.invoke(send, TIMEOUT).await.unwrap();
            assert_eq!(
                answer.code,
                resp::SUCCESS,
                "seed send {n}: {:?}",
                answer.remark
            );
            assert_eq!(
                answer.ext_field("queueOffset"),
                Some(queue_offset),
                "seed send {n}"
            );
            let ours = answer.ext_field("msgId").unwrap();
            assert_eq!(
                ours[16..],
                offset_msg_id[16..],
                "seed send {n}: Java's commitlog offset"
            );
        }
        // Every message in its consume queue before the consumer pulls (it did in Java).
        let deadline = Instant::now() + TIMEOUT;
        for queue_id in ["0", "1", "2", "3"] {
            while max_offset(&self.control, "AdminTopic", queue_id).await < 2 {
                assert!(Instant::now() < deadline, "seed sends never dispatched");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let heartbeat = |who: &'static str| {
            first(&move |f: &Frame| heartbeat_client(f).as_deref() == Some(who)).to_command()
        };
        let r = producer
            .conn
            .invoke(heartbeat("127.0.0.1@live-producer"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS);
        let r = consumer
            .conn
            .invoke(heartbeat("127.0.0.1@live-consumer"), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(r.code, resp::SUCCESS);

        // The consumer's first pulls: every message of AdminTopic, from offset 0.
        let pull = first(&|f: &Frame| {
            f.code() == req::PULL_MESSAGE
                && f.is_c2s()
                && f.ext_field("consumerGroup") == Some("live_consumer_group")
                && f.ext_field("topic") == Some("AdminTopic")
        });
        let mut our_store_time_0 = None;
        for queue_id in 0..4 {
            let mut request = pull.to_command();
            let ext = request.ext_fields_mut();
            ext.insert("queueId", queue_id.to_string());
            ext.insert("queueOffset", "0");
            ext.insert("commitOffset", "0");
            ext.insert("sysFlag", "2");
            let r = consumer.conn.invoke(request, TIMEOUT).await.unwrap();
            assert_eq!(r.code, resp::SUCCESS, "seed pull of queue {queue_id}");
            for m in decode_records(&r.body) {
                let m = m.unwrap();
                if m.commit_log_offset == 0 {
                    our_store_time_0 = Some(m.store_timestamp);
                }
            }
        }
        self.cx.store_shift_ms = our_store_time_0.unwrap() - java_store_time_0.unwrap();

        // The first offset commit (m02's).
        for f in all
            .iter()
            .filter(|f| f.code() == req::UPDATE_CONSUMER_OFFSET && f.is_c2s())
            .take(5)
        {
            consumer.conn.invoke_oneway(f.to_command()).await.unwrap();
            settle_offset(&self.control, f).await;
        }
        self.producer = Some(producer);
        self.consumer = Some(consumer);
        for topic in ["AdminTopic", "%RETRY%live_consumer_group"] {
            self.wait_for_route(topic).await;
        }
    }

    /// Waits until our broker's registration put `topic` on the namesrv.
    pub async fn wait_for_route(&self, topic: &str) {
        let ns = Client::connect(self.namesrv.addr).await;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let request = RemotingCommand::request_without_header(req::GET_ROUTEINFO_BY_TOPIC)
                .with_ext_field("topic", topic);
            if ns.invoke(request).await.unwrap().code == resp::SUCCESS {
                break;
            }
            assert!(Instant::now() < deadline, "{topic} never registered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ns.conn.close();
    }

    /// The request as we send it: a recorded store time shifted to our store's clock.
    fn command(&self, f: &Frame, clock: RecordedClock) -> RemotingCommand {
        let mut command = clock.command(f);
        if f.code() == req::INVOKE_BROKER_TO_RESET_OFFSET {
            if let Some(t) = f.ext_field("timestamp") {
                let shifted = t.parse::<i64>().unwrap() + self.cx.store_shift_ms;
                command = command.with_ext_field("timestamp", shifted.to_string());
            }
        }
        command
    }

    /// Waits until the replay of `frames` can start with our broker's check passes where
    /// Java's fell in the capture (its first CHECK_TRANSACTION_STATE went out during one; the
    /// others were one interval apart). What a pass reads counts in the broker's gets
    /// (`msgGetTotalTodayNow`, every message the store hands out), and which op and half
    /// messages a pass finds depends on when it runs against the sends, END_TRANSACTIONs and
    /// the halves' ages: in c5-transaction Java's passes came at 1.26 s (two op messages, one
    /// half too young), 4.26 s (the half, its copy), 7.26 s (the check's op message), 6 gets
    /// in all, where a pass between 2.25 s and 3 s reads 5 (mqadmin5 then shows 27 gets for
    /// Java's 28). Those passes sit a second away from every event they depend on, so knowing
    /// our timer's start from the boot line is precise enough.
    async fn align_with_check_timer(&self, frames: &[Frame], first_request: usize) {
        let ts = |i: usize| frames[i].record["ts"].as_f64().unwrap();
        let Some(check) = frames.iter().position(|f| {
            !f.is_c2s() && !f.is_response() && f.code() == req::CHECK_TRANSACTION_STATE
        }) else {
            return;
        };
        let interval = self.check_interval.as_secs_f64();
        // A pass of Java's, `java` seconds into the run; ours `ours` seconds from now.
        let java = (ts(check) - ts(first_request)).rem_euclid(interval);
        let ours = (-self.booted.elapsed().as_secs_f64()).rem_euclid(interval);
        let wait = (ours - java).rem_euclid(interval);
        tokio::time::sleep(Duration::from_secs_f64(wait)).await;
    }

    /// Replays one capture file: every client→server request of the recorded clients (and of
    /// the live clients, for the state they change) in capture order, each sent once Java had
    /// answered the requests recorded before it (ours awaited first). With `compare`, the
    /// answers to the run's own clients are compared with Java's, and the requests our broker
    /// sent the live clients with those Java's sent.
    pub async fn replay(&mut self, file: &str, compare: bool) -> Outcome {
        let frames = read_capture(file);
        let roles = roles(file, &frames);
        let mut outcome = Outcome::default();
        for (role, live) in [
            (Role::LiveConsumer, &self.consumer),
            (Role::LiveProducer, &self.producer),
        ] {
            let Some(live) = live else { continue };
            let mut script = live.script.lock().unwrap();
            script.received.clear();
            script.recorded = (0..frames.len())
                .filter(|&i| {
                    let f = &frames[i];
                    roles[&f.conn()] == role && !f.is_c2s() && !f.is_response()
                })
                .map(|i| {
                    (
                        frames[i].clone(),
                        recorded_answer(&frames, i).map(|j| frames[j].clone()),
                        false,
                    )
                })
                .collect();
        }
        // The routes Java's namesrv gave in this file (GET_TOPIC_CONFIG is checked on them).
        self.cx.recorded_routes = (0..frames.len())
            .filter(|&i| frames[i].code() == req::GET_ROUTEINFO_BY_TOPIC && frames[i].is_c2s())
            .filter_map(|i| {
                let topic = frames[i].ext_field("topic")?.to_owned();
                let answer = &frames[recorded_answer(&frames, i)?];
                let route = remoting_codec::fastjson::from_slice_value(&answer.body).ok()?;
                Some((topic, route["queueDatas"][0].clone()))
            })
            .collect();
        // The live clients' connections as Java's broker saw them (learnt from the files that
        // show them, kept for the files where they send nothing).
        for (&conn, role) in &roles {
            let live = match role {
                Role::LiveConsumer => &self.consumer,
                Role::LiveProducer => &self.producer,
                _ => continue,
            };
            let Some(live) = live else { continue };
            let ours = live.addr.to_string();
            let java = format!("127.0.0.1:{}", client_port(file, conn));
            self.cx.client_addrs.retain(|(o, _)| *o != ours);
            self.cx.client_addrs.push((ours, java));
        }
        // The live consumer persists its whole offset table every 5 s (one UPDATE_CONSUMER_
        // OFFSET per queue, back to back). Between two captures (mqadmin starts seconds
        // apart) one such persist went unrecorded; when the consumer sends nothing before its
        // first recorded persist of the file, it had nothing new to commit, so that persist
        // repeats the unrecorded one: it is applied first.
        let is_live_commit = |i: usize| {
            let f = &frames[i];
            roles[&f.conn()] == Role::LiveConsumer
                && f.is_c2s()
                && !f.is_response()
                && f.code() == req::UPDATE_CONSUMER_OFFSET
        };
        let gap_persist: Vec<usize> = (0..frames.len())
            .find(|&i| {
                let f = &frames[i];
                roles[&f.conn()] == Role::LiveConsumer && f.is_c2s() && !f.is_response()
            })
            .map(|first| {
                (first..frames.len())
                    .take_while(|&i| is_live_commit(i))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(consumer) = &self.consumer {
            for &i in &gap_persist {
                consumer
                    .conn
                    .invoke_oneway(frames[i].to_command())
                    .await
                    .unwrap();
                settle_offset(&self.control, &frames[i]).await;
            }
        }
        let first_request = frames
            .iter()
            .position(|f| f.is_c2s() && !f.is_response())
            .unwrap_or(0);
        // The transaction run is paced as recorded: the broker's check timer (3 s) must find
        // the halves as old as Java's did, so that it checks each once, as Java did.
        let paced = file.ends_with("c5-transaction.jsonl");
        if paced {
            self.align_with_check_timer(&frames, first_request).await;
        }
        let clock = match self.world {
            World::S13 => RecordedClock::starting_now(&frames, first_request),
            World::S12 => RecordedClock::default(),
        };
        let ts = |i: usize| frames[i].record["ts"].as_f64().unwrap();
        let start = Instant::now();
        let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
        let mut pending: Vec<Pending> = Vec::new();
        let mut halves = HalfOffsets::default();
        for i in 0..frames.len() {
            let f = &frames[i];
            if !f.is_c2s()
                || f.is_response()
                || roles[&f.conn()] == Role::Skip
                || gap_persist.contains(&i)
            {
                continue;
            }
            // Due: the requests Java had answered before this one was sent, and those of the
            // same run client Java answered before this one (Java handled them first: a route
            // read sent just before a WIPE_WRITE_PERM_OF_BROKER on the same connection saw the
            // route unwiped).
            let answered_first = recorded_answer(&frames, i);
            let (due, later): (Vec<Pending>, Vec<Pending>) =
                pending.into_iter().partition(|(q, r, _)| {
                    *r < i
                        || (roles[&f.conn()] == Role::Client
                            && frames[*q].conn() == f.conn()
                            && answered_first.is_some_and(|a| *r < a))
                });
            pending = later;
            for p in due {
                self.finish(&frames, &roles, p, compare, &mut outcome, &mut halves)
                    .await;
            }
            if paced {
                let due = start + Duration::from_secs_f64(ts(i) - ts(first_request));
                tokio::time::sleep_until(due.into()).await;
            }
            let role = roles[&f.conn()];
            let conn = match role {
                Role::LiveConsumer => self.consumer.as_ref().unwrap().conn.clone(),
                Role::LiveProducer => self.producer.as_ref().unwrap().conn.clone(),
                _ => {
                    if let std::collections::btree_map::Entry::Vacant(slot) =
                        clients.entry(f.conn())
                    {
                        let addr = if f.to_namesrv() {
                            self.namesrv.addr
                        } else {
                            self.broker.addr()
                        };
                        slot.insert(Client::connect(addr).await);
                    }
                    clients[&f.conn()].conn.clone()
                }
            };
            if role == Role::Client {
                // A call the broker makes on its own timer (CHECK_TRANSACTION_STATE) that the
                // client answered with this request: wait for ours.
                let expected = frames[..i]
                    .iter()
                    .filter(|b| {
                        b.conn() == f.conn()
                            && !b.is_c2s()
                            && !b.is_response()
                            && b.code() == req::CHECK_TRANSACTION_STATE
                    })
                    .count();
                let client = &clients[&f.conn()];
                let deadline = Instant::now() + TIMEOUT;
                while client
                    .received_codes()
                    .iter()
                    .filter(|(c, _)| *c == req::CHECK_TRANSACTION_STATE)
                    .count()
                    < expected
                {
                    assert!(
                        Instant::now() < deadline,
                        "{}: no check from our broker",
                        f.at()
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                if f.code() == req::END_TRANSACTION && expected > 0 {
                    let java = frames[..i].iter().rfind(|b| {
                        b.conn() == f.conn()
                            && !b.is_c2s()
                            && !b.is_response()
                            && b.code() == req::CHECK_TRANSACTION_STATE
                    });
                    let ours = client
                        .received
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|r| r.code == req::CHECK_TRANSACTION_STATE)
                        .nth(expected - 1)
                        .cloned();
                    halves.learn(
                        java.and_then(|b| {
                            HalfOffsets::of_header(
                                b.ext_field("commitLogOffset"),
                                b.ext_field("tranStateTableOffset"),
                            )
                        }),
                        ours.and_then(|r| {
                            HalfOffsets::of_header(
                                r.ext_field("commitLogOffset"),
                                r.ext_field("tranStateTableOffset"),
                            )
                        }),
                    );
                }
            }
            let mut command = self.command(f, clock);
            if f.code() == req::END_TRANSACTION {
                command = halves.end_transaction(f, command);
            }
            if f.is_oneway() {
                conn.invoke_oneway(command).await.unwrap();
                if f.code() == req::UPDATE_CONSUMER_OFFSET {
                    settle_offset(&self.control, f).await;
                }
                continue;
            }
            let answer = tokio::spawn(async move { conn.invoke(command, TIMEOUT).await });
            match recorded_answer(&frames, i) {
                Some(j) => pending.push((i, j, answer)),
                // A long poll Java still held when the capture ended: left to run.
                None => drop(answer),
            }
        }
        for p in pending {
            self.finish(&frames, &roles, p, compare, &mut outcome, &mut halves)
                .await;
        }
        if compare {
            self.compare_broker_requests(&frames, &roles, &mut outcome);
        }
        for client in clients.values() {
            client.conn.close();
        }
        outcome
    }

    /// Awaits our answer to a request and compares it (a run client's, when comparing); a
    /// stored send is waited for until it is in its consume queue, as Java's always was when
    /// the next request came.
    async fn finish(
        &self,
        frames: &[Frame],
        roles: &BTreeMap<i64, Role>,
        (i, j, answer): Pending,
        compare: bool,
        outcome: &mut Outcome,
        halves: &mut HalfOffsets,
    ) {
        let f = &frames[i];
        let ours = answer.await.unwrap();
        let compared = compare && roles[&f.conn()] == Role::Client;
        let ours = match ours {
            Ok(ours) => ours,
            Err(e) if compared => {
                outcome.mismatches.push(Mismatch {
                    at: f.at(),
                    code: f.code(),
                    text: format!("no answer: {e}"),
                });
                return;
            }
            Err(_) => return,
        };
        // A half message (sysFlag PREPARED) goes to the half topic, not to its queue.
        let prepared = f
            .ext_field("f")
            .or(f.ext_field("sysFlag"))
            .and_then(|v| v.parse::<i32>().ok())
            .is_some_and(|flag| flag & 4 != 0);
        if ours.code == resp::SUCCESS
            && matches!(f.code(), req::SEND_MESSAGE | req::SEND_MESSAGE_V2)
            && !prepared
        {
            dispatched(&self.control, f, &ours).await;
        }
        if ours.code == resp::SUCCESS && prepared {
            let theirs = &frames[j];
            halves.learn(
                HalfOffsets::of_send_answer(
                    theirs.ext_field("msgId"),
                    theirs.ext_field("queueOffset"),
                ),
                HalfOffsets::of_send_answer(ours.ext_field("msgId"), ours.ext_field("queueOffset")),
            );
        }
        if !compared {
            return;
        }
        outcome.compared += 1;
        let theirs = &frames[j];
        if let Err(text) = compare_answer(f, theirs, &ours, &self.cx) {
            outcome.mismatches.push(Mismatch {
                at: f.at(),
                code: f.code(),
                text,
            });
        }
    }

    /// The requests our broker sent each live client during the file, against Java's.
    fn compare_broker_requests(
        &self,
        frames: &[Frame],
        roles: &BTreeMap<i64, Role>,
        outcome: &mut Outcome,
    ) {
        for (role, live) in [
            (Role::LiveConsumer, &self.consumer),
            (Role::LiveProducer, &self.producer),
        ] {
            let Some(live) = live else { continue };
            let received = live.script.lock().unwrap().received.clone();
            let recorded: Vec<&Frame> = frames
                .iter()
                .filter(|f| roles[&f.conn()] == role && !f.is_c2s() && !f.is_response())
                .collect();
            for (n, theirs) in recorded.iter().enumerate() {
                outcome.compared += 1;
                let result = match received.get(n) {
                    None => Err("our broker did not send it".to_owned()),
                    Some(ours) => compare_broker_request(theirs, ours, &self.cx),
                };
                if let Err(text) = result {
                    outcome.mismatches.push(Mismatch {
                        at: format!("{} (to the {role:?})", theirs.at()),
                        code: theirs.code(),
                        text,
                    });
                }
            }
            for extra in received.iter().skip(recorded.len()) {
                outcome.mismatches.push(Mismatch {
                    at: format!("{:?}", role),
                    code: extra.code,
                    text: format!("our broker sent request {} Java did not", extra.code),
                });
            }
        }
    }
}

/// Waits until a oneway UPDATE_CONSUMER_OFFSET is applied (a query on our own connection
/// reads it back), so that no later request overtakes it.
async fn settle_offset(control: &Client, f: &Frame) {
    let request = f.to_command();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let query = RemotingCommand::request_without_header(req::QUERY_CONSUMER_OFFSET)
            .with_ext_field("topic", request.ext_field("topic").unwrap())
            .with_ext_field("consumerGroup", request.ext_field("consumerGroup").unwrap())
            .with_ext_field("queueId", request.ext_field("queueId").unwrap());
        let r = control.invoke(query).await.unwrap();
        if r.ext_field("offset") == request.ext_field("commitOffset") {
            return;
        }
        assert!(Instant::now() < deadline, "{}: never applied", f.at());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until a stored send is in its consume queue.
async fn dispatched(control: &Client, f: &Frame, answer: &RemotingCommand) {
    let (Some(queue_id), Some(offset)) =
        (answer.ext_field("queueId"), answer.ext_field("queueOffset"))
    else {
        return;
    };
    let topic = f.ext_field("b").or(f.ext_field("topic")).unwrap();
    let last: i64 = offset.parse().unwrap();
    let deadline = Instant::now() + TIMEOUT;
    while max_offset(control, topic, queue_id).await <= last {
        assert!(Instant::now() < deadline, "{}: never dispatched", f.at());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The s12 command files in the order mqadmin ran them (m01 … m38).
pub fn s12_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(captures_dir().join("s12-mqadmin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('m') && n.ends_with(".jsonl") && !n.ends_with(".conns.jsonl"))
        .map(|n| format!("s12-mqadmin/{n}"))
        .collect();
    files.sort();
    files
}
