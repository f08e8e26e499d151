//! Replay of the s16-acl recording (4.9.8 broker with `aclEnable=true`) against our namesrv and
//! broker, with `rocketmqHome/conf/plain_acl.yml` = the recorded before-file. Every
//! client→broker request is sent as recorded — header and body unchanged, so every recorded
//! `Signature` is the one the client computed (the bornTimestamps are not shifted, unlike the
//! other replays: that would break the signatures) — and every answer compared with Java's
//! (`harness::compare`): the signed sends and consumes, the refusals (denied topic, wrong
//! secret, no credentials, unknown and deleted access keys, a non-admin's UPDATE_AND_CREATE_TOPIC,
//! and the UNREGISTER_CLIENTs of the refused identities) with Java's SYSTEM_ERROR remark, and
//! the ACL admin codes 50, 51, 52, 53.
//!
//! GET_BROKER_CLUSTER_ACL_INFO 52 is compared with three substitutions: the ACL file's path
//! (`/opt/rocketmq` in the recording), the broker's port, and the versions' timestamps, which
//! must be the time of the change they count (within our request's send and answer times) or,
//! for counter 0, the load at start. Java applies a change to the deprecated `version` when its
//! file watch reloads the file (every 5 s); before each 52 the replay waits until ours has
//! (the recorded 52s came 10 s after their change).
//!
//! Afterwards: nothing was stored for any refused send (AclTopic holds the 10 + 1 accepted
//! messages; DeniedTopic was never created), and plain_acl.yml is the recorded final file.

mod harness;

use std::collections::BTreeMap;

use broker::acl::signature::sign;
use harness::compare::compare;
use harness::replay::{check_broker_requests, finish_parked};
use harness::{
    captures_dir, read_capture, recorded_response, start_broker, start_namesrv, Client, Frame,
    RecordedClock, TempDir,
};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;

const SCENARIO: &str = "s16-acl/s16-acl";

fn fixture(name: &str) -> std::path::PathBuf {
    captures_dir().join(format!("{SCENARIO}.{name}"))
}

/// Our own requests, signed by the admin account (it lists no permission: all are allowed).
async fn admin_call(control: &Client, mut request: RemotingCommand) -> RemotingCommand {
    sign(&mut request, "RocketMQAdmin", "12345678");
    control.invoke(request).await.unwrap()
}

async fn max_offset(control: &Client, topic: &str, queue_id: i32) -> RemotingCommand {
    let request = RemotingCommand::request_without_header(req::GET_MAX_OFFSET)
        .with_ext_field("topic", topic)
        .with_ext_field("queueId", queue_id.to_string());
    admin_call(control, request).await
}

fn offset_of(r: &RemotingCommand) -> i64 {
    r.ext_field("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(-1)
}

/// Waits until a stored send is in its consume queue (the recorded consumer started seconds
/// after the producer).
async fn dispatched(control: &Client, topic: &str, answer: &RemotingCommand) {
    let queue: i32 = answer.ext_field("queueId").unwrap().parse().unwrap();
    let offset: i64 = answer.ext_field("queueOffset").unwrap().parse().unwrap();
    wait_for(|| async { offset_of(&max_offset(control, topic, queue).await) > offset }).await;
}

async fn wait_for<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !condition().await {
        assert!(std::time::Instant::now() < deadline, "condition never met");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn version_of(json: &str) -> (i64, i64) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    (
        v["counter"].as_i64().unwrap(),
        v["timestamp"].as_i64().unwrap(),
    )
}

/// Our 52 answer with the path, port and timestamps written as Java's (when they are right).
fn normalize_acl_info(
    ours: &mut RemotingCommand,
    theirs: &Frame,
    home: &str,
    windows: &[(i64, i64)],
) -> Result<(), String> {
    let (their_counter, their_ts) = version_of(theirs.ext_field("version").unwrap());
    let (counter, ts) = version_of(ours.ext_field("version").unwrap());
    if counter != their_counter {
        return Err(format!("version counter {counter}, Java {their_counter}"));
    }
    let (from, to) = windows[counter as usize];
    if ts < from || ts > to {
        return Err(format!("version timestamp {ts} not within [{from}, {to}]"));
    }
    let ext = ours.ext_fields_mut();
    let all = ext.get("allAclFileVersion").unwrap().to_owned();
    ext.insert(
        "allAclFileVersion",
        all.replace(home, "/opt/rocketmq")
            .replace(&ts.to_string(), &their_ts.to_string()),
    );
    let version = ext
        .get("version")
        .unwrap()
        .replace(&ts.to_string(), &their_ts.to_string());
    ext.insert("version", version);
    ext.insert("brokerAddr", theirs.ext_field("brokerAddr").unwrap());
    Ok(())
}

#[test]
fn replay_s16_acl() {
    let dir = TempDir::new("replay-s16-acl");
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("conf")).unwrap();
    let plain = home.join("conf/plain_acl.yml");
    std::fs::copy(fixture("plain_acl.yml.before"), &plain).unwrap();
    let ns_home = dir.path().join("ns");
    std::fs::create_dir_all(&ns_home).unwrap();
    let namesrv = start_namesrv(&ns_home);
    let conf = std::fs::read_to_string(fixture("broker.conf")).unwrap();
    let home_line = format!("rocketmqHome={}", home.display());
    let started_ms = broker::now_millis();
    let mut broker = start_broker(dir.path(), &conf, Some(namesrv.addr), &[&home_line]);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    let started = started_ms;
    let compared = rt.block_on(replay(
        broker.addr(),
        &home.display().to_string(),
        started,
        &mut failures,
    ));
    // Nothing left of the refused sends: the accepted 10 + 1 on AclTopic, no DeniedTopic.
    rt.block_on(async {
        let control = Client::connect(broker.addr()).await;
        let mut total = 0;
        for q in 0..4 {
            total += offset_of(&max_offset(&control, "AclTopic", q).await);
        }
        assert_eq!(total, 11, "messages stored on AclTopic");
        for q in 0..4 {
            let denied = offset_of(&max_offset(&control, "DeniedTopic", q).await);
            assert_eq!(denied, 0, "DeniedTopic queue {q}");
        }
    });
    assert!(broker.terminate().success());
    let final_file = std::fs::read_to_string(&plain).unwrap();
    let recorded = std::fs::read_to_string(fixture("plain_acl.yml.after-deleteAclConfig")).unwrap();
    let strip_time = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("timestamp"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_time(&final_file), strip_time(&recorded));
    println!("compared {compared} responses");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 26 sends (10 + 12 refused + 1 + 3 refused), 22 unregisters (8 refused), 3 heartbeats,
    // 2 member lists, 4 offset queries, 4 pulls, 1 refused topic creation, 3 × 52, 50, 53, 51.
    assert_eq!(compared, 26 + 22 + 3 + 2 + 4 + 4 + 1 + 3 + 3);
}

async fn replay(
    addr: std::net::SocketAddr,
    home: &str,
    started_ms: i64,
    failures: &mut Vec<String>,
) -> usize {
    let frames = read_capture(&format!("{SCENARIO}.jsonl"));
    let clock = RecordedClock::default();
    let control = Client::connect(addr).await;
    let mut clients: BTreeMap<i64, Client> = BTreeMap::new();
    let mut parked = Vec::new();
    // When each ACL version was made: (from, to), in ms; counter N is windows[N], counter 0
    // the load at start.
    let mut windows = vec![(started_ms, broker::now_millis())];
    let mut compared = 0;
    for (i, f) in frames.iter().enumerate() {
        if !(f.to_broker() && f.is_c2s() && !f.is_response()) {
            continue;
        }
        if let std::collections::btree_map::Entry::Vacant(slot) = clients.entry(f.conn()) {
            slot.insert(Client::connect(addr).await);
        }
        let client = &clients[&f.conn()];
        if f.is_oneway() {
            client.conn.invoke_oneway(f.to_command()).await.unwrap();
            continue;
        }
        let Some(j) = recorded_response(&frames, i) else {
            let conn = client.conn.clone();
            let (cmd, at) = (f.to_command(), f.at());
            parked.push((
                at,
                tokio::spawn(async move { conn.invoke(cmd, harness::TIMEOUT).await }),
            ));
            continue;
        };
        let theirs = &frames[j];
        if f.code() == req::GET_BROKER_CLUSTER_ACL_INFO {
            // Java's file watch had reloaded the file by then: wait for ours to.
            let counter = version_of(theirs.ext_field("version").unwrap()).0;
            wait_for(|| async {
                let info = admin_call(&control, RemotingCommand::request_without_header(52)).await;
                version_of(info.ext_field("version").unwrap()).0 == counter
            })
            .await;
        }
        let sent = broker::now_millis();
        let mut ours = match client.invoke(f.to_command()).await {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: no answer: {e}", f.at()));
                continue;
            }
        };
        if matches!(f.code(), 50 | 51 | 53) && ours.code == resp::SUCCESS {
            windows.push((sent, broker::now_millis()));
        }
        if ours.code == resp::SUCCESS && f.code() == req::SEND_MESSAGE_V2 {
            dispatched(&control, f.ext_field("b").unwrap(), &ours).await;
        }
        if f.code() == req::GET_BROKER_CLUSTER_ACL_INFO && ours.code == resp::SUCCESS {
            if let Err(e) = normalize_acl_info(&mut ours, theirs, home, &windows) {
                failures.push(format!("{}: {e}", f.at()));
            }
        }
        if let Err(e) = compare(f, theirs, &ours, None, clock) {
            failures.push(format!("{}: {e}", f.at()));
        }
        compared += 1;
    }
    check_broker_requests(SCENARIO, &frames, &clients, failures);
    // The consumer's last pulls (Java still held them when it shut down).
    let allowed = [
        resp::SUCCESS,
        resp::PULL_NOT_FOUND,
        resp::PULL_RETRY_IMMEDIATELY,
        resp::PULL_OFFSET_MOVED,
        resp::SUBSCRIPTION_NOT_EXIST,
        resp::SUBSCRIPTION_NOT_LATEST,
    ];
    finish_parked(parked, &allowed, failures).await;
    for client in clients.values() {
        client.conn.close();
    }
    compared
}

/// Bad and odd input with ACL on, against Java's order: the hook runs before the code is
/// looked up (an unknown code is refused for its identity first), a HEART_BEAT body the
/// validator cannot read is SYSTEM_ERROR at `PlainAccessValidator.parse`, and a refused oneway
/// request gets no answer while the connection goes on. (That refused sends store nothing is
/// proven by `replay_s16_acl`, whose refused sends are two-way.)
#[test]
fn acl_bad_input() {
    let dir = TempDir::new("acl-bad-input");
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("conf")).unwrap();
    std::fs::copy(
        fixture("plain_acl.yml.before"),
        home.join("conf/plain_acl.yml"),
    )
    .unwrap();
    let home_line = format!("rocketmqHome={}", home.display());
    let conf = std::fs::read_to_string(fixture("broker.conf")).unwrap();
    let mut broker = start_broker(dir.path(), &conf, None, &[&home_line]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = Client::connect(broker.addr()).await;
        let unknown = RemotingCommand::request_without_header(9999);
        let r = c.invoke(unknown.clone()).await.unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        assert!(r.remark.unwrap().contains("No accessKey is configured"));
        let r = admin_call(&c, unknown).await;
        assert_eq!(r.code, resp::REQUEST_CODE_NOT_SUPPORTED);
        assert_eq!(r.remark.as_deref(), Some(" request type 9999 not supported"));

        let bad_heartbeat = RemotingCommand::request_without_header(req::HEART_BEAT)
            .with_ext_field("AccessKey", "rocketmq2")
            .with_body(&b"{not json"[..]);
        let r = c.invoke(bad_heartbeat).await.unwrap();
        assert_eq!(r.code, resp::SYSTEM_ERROR);
        let remark = r.remark.unwrap();
        assert!(
            remark.starts_with("org.apache.rocketmq.acl.common.AclException: ")
                && remark.ends_with(
                    "org.apache.rocketmq.acl.plain.PlainAccessValidator.parse(PlainAccessValidator.java:134)"
                ),
            "{remark}"
        );

        let before = offset_of(&max_offset(&c, "AclTopic", 0).await);
        let oneway = RemotingCommand::request_without_header(req::SEND_MESSAGE)
            .with_ext_field("producerGroup", "g")
            .with_ext_field("topic", "AclTopic")
            .with_ext_field("defaultTopic", "TBW102")
            .with_ext_field("defaultTopicQueueNums", "4")
            .with_ext_field("queueId", "0")
            .with_ext_field("sysFlag", "0")
            .with_ext_field("bornTimestamp", "0")
            .with_ext_field("flag", "0")
            .with_ext_field("reconsumeTimes", "0")
            .with_ext_field("AccessKey", "rocketmq2")
            .with_ext_field("Signature", "forged")
            .with_body(&b"refused"[..]);
        c.conn.invoke_oneway(oneway).await.unwrap();
        // The connection is still served (the oneway send has no answer to wait for).
        assert_eq!(offset_of(&max_offset(&c, "AclTopic", 0).await), before);
    });
    assert!(broker.terminate().success());
}
