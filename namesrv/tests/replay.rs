//! Replay of every recorded client→namesrv request against our namesrv (a real process),
//! comparing each answer with the recorded Java 4.9.8 answer.
//!
//! One namesrv per scenario (the captures of `s12-mqadmin/` and `s13-client5/` each came
//! from one long-running Java namesrv, so their files are replayed in order against one
//! process). Within a file, frames are replayed in capture order: REGISTER_BROKER and
//! UNREGISTER_BROKER go over one long-lived "broker" connection (closing it would drop the
//! broker), every other request over a connection per recorded connection.
//!
//! Seeding: the Java namesrv had state the capture does not show (the broker registered before
//! the capture started). Every scenario but s01 first gets the first REGISTER_BROKER of s01 (a
//! fresh broker's system topics). `s12-mqadmin` also gets the first two-way REGISTER_BROKER of
//! the scenario (`m05-topicStatus`) first: its live producer and consumer had created
//! `AdminTopic` and `%RETRY%live_consumer_group` before `m01` was captured.
//!
//! Compared for every answer: the code, the remark (exactly), whether `extFields` is present
//! (JSON headers), the `extFields` names and values, and the body: JSON bodies as values
//! (every key, every value; topic lists as sets, since their order is Java's HashMap order);
//! the properties body of GET_NAMESRV_CONFIG by key names. Exceptions, all listed here:
//! - GET_NAMESRV_CONFIG values (paths of the recording machine): keys only;
//! - routes for 5.x clients (version ≥ V5_0_0) carry `enableActingMaster:false` in every
//!   broker entry, as a 5.x name server writes it; the 4.9.8 recording lacks it, so it is
//!   removed from our body before comparing (and its presence asserted);
//! - the s15 captures (master/slave; the master killed with -9 mid-way) replay their
//!   registrations over one connection per recorded broker connection, closed when the
//!   recording shows it ended, so the namesrv drops the dead master as Java's did (the replay
//!   waits until the cluster info no longer lists it: the close is seen asynchronously);
//! - route bodies of GET_ROUTEINFO_BY_TOPIC are additionally checked to parse with strict
//!   serde_json whenever standard JSON was requested (version ≥ 401 or
//!   `acceptStandardJsonOnly`), and with the lenient fastjson reader always.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use common::{
    base_registration, read_capture, recorded_response, start_namesrv, temp_home, Frame, Process,
};
use remoting::RemotingClient;
use remoting_codec::fastjson;
use remoting_codec::protocol::namesrv::RegisterBrokerRequestHeader;
use remoting_codec::protocol::properties_text;
use remoting_codec::protocol::register_broker::RegisterBrokerBody;
use remoting_codec::protocol::route::{TopicList, TopicRouteData};
use remoting_codec::{RemotingCommand, SerializeType};
use serde_json::Value;
use test_support::capture::sort_arrays_as_sets;

const TIMEOUT: Duration = Duration::from_secs(10);

fn scenarios() -> Vec<(String, Vec<String>)> {
    let dir = common::captures_dir();
    let mut out = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if path.is_dir() {
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".jsonl") && !f.ends_with(".conns.jsonl"))
                .map(|f| format!("{name}/{f}"))
                .collect();
            files.sort();
            out.push((name, files));
        } else if name.ends_with(".jsonl") && !name.ends_with(".conns.jsonl") {
            out.push((name.clone(), vec![name]));
        }
    }
    out
}

#[test]
fn replay_every_recorded_namesrv_request() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut compared = 0;
    let mut failures = Vec::new();
    for (scenario, files) in scenarios() {
        let home = temp_home(&format!("replay-{}", scenario.replace('/', "_")));
        let ns = start_namesrv(&home, &[]);
        compared += rt.block_on(replay_scenario(&ns, &scenario, &files, &mut failures));
        drop(ns);
        std::fs::remove_dir_all(&home).unwrap();
    }
    // Every two-way client→namesrv request of the captures: 295 route reads (285 JSON, 10
    // binary headers), 18 two-way registrations, 14 cluster infos, 5 topic lists, 3 topic
    // deletes, 1 each of 100, 102, 104, 205, 319 and 327; s16-acl (signed, some with a wrong
    // secret or an unknown key, all answered: a 4.9.8 namesrv checks no ACL): 28 route reads,
    // 7 cluster infos, 4 registrations, 1 unregistration; and of the master/slave captures
    // s15-ha and s15-ha-sync 76 route reads, 30 registrations of master and slave (the
    // slave's answered with the master's address and HA address, or nothing while the
    // master is gone), 7 cluster infos and 5 unregistrations.
    println!("compared {compared} responses");
    assert_eq!(
        compared,
        341 + 40 + 118,
        "not every recorded request was compared"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn replay_scenario(
    ns: &Process,
    scenario: &str,
    files: &[String],
    failures: &mut Vec<String>,
) -> usize {
    let broker = RemotingClient::connect(ns.addr).await.unwrap();
    if scenario != "s01-broker-register.jsonl" {
        send(&broker, &base_registration()).await;
    }
    if scenario == "s12-mqadmin" {
        let first = files
            .iter()
            .flat_map(|f| read_capture(f))
            .find(|f| f.code() == 103 && f.is_c2s() && !f.is_oneway())
            .unwrap();
        send(&broker, &first).await;
    }
    let mut compared = 0;
    for file in files {
        let frames = read_capture(file);
        let mut clients: HashMap<i64, RemotingClient> = HashMap::new();
        let closes = broker_connection_ends(file);
        let mut brokers: HashMap<i64, RemotingClient> = HashMap::new();
        // The broker addresses registered over each of `brokers`' connections.
        let mut registered_over: HashMap<i64, BTreeSet<String>> = HashMap::new();
        for f in &frames {
            if !(f.to_namesrv() && f.is_c2s() && !f.is_response()) {
                continue;
            }
            if let Some(closes) = &closes {
                // The recorded broker connections that had closed by now (a killed broker):
                // the namesrv drops what was registered over them, as Java's did.
                let now = f.record["ts"].as_f64().unwrap_or(0.0);
                let mut closed = Vec::new();
                brokers.retain(|conn, c| {
                    let open = closes.get(conn).is_none_or(|end| *end >= now);
                    if !open {
                        c.close();
                        closed.push(*conn);
                    }
                    open
                });
                // The namesrv sees a close asynchronously: the next request must not overtake
                // it, as it did not in the recording.
                for conn in closed {
                    let still_registered: BTreeSet<String> = brokers
                        .keys()
                        .flat_map(|c| registered_over.get(c).into_iter().flatten())
                        .cloned()
                        .collect();
                    let gone: Vec<String> = registered_over
                        .remove(&conn)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|addr| !still_registered.contains(addr))
                        .collect();
                    wait_until_dropped(&broker, &gone, f).await;
                }
            }
            let conn = if matches!(f.code(), 103 | 104) && closes.is_some() {
                if f.code() == 103 {
                    if let Some(addr) = f.ext_field("brokerAddr") {
                        registered_over
                            .entry(f.conn())
                            .or_default()
                            .insert(addr.to_owned());
                    }
                }
                match brokers.get(&f.conn()) {
                    Some(c) => c.clone(),
                    None => {
                        let c = RemotingClient::connect(ns.addr).await.unwrap();
                        brokers.insert(f.conn(), c.clone());
                        c
                    }
                }
            } else if matches!(f.code(), 103 | 104) {
                broker.clone()
            } else {
                match clients.get(&f.conn()) {
                    Some(c) => c.clone(),
                    None => {
                        let c = RemotingClient::connect(ns.addr).await.unwrap();
                        clients.insert(f.conn(), c.clone());
                        c
                    }
                }
            };
            let Some(ours) = send(&conn, f).await else {
                continue;
            };
            let Some(theirs) = recorded_response(&frames, f) else {
                continue;
            };
            compared += 1;
            if let Err(e) = compare(f, theirs, &ours) {
                failures.push(format!("{}:{} (code {}): {e}", f.file, f.line, f.code()));
            }
        }
        for c in clients.values().chain(brokers.values()) {
            c.close();
        }
    }
    broker.close();
    compared
}

/// For the captures in which a broker died mid-way (`s15-*`: a master killed with -9), when
/// each recorded broker→namesrv connection ended (`<capture>.conns.jsonl`); their
/// registrations are replayed one connection per recorded connection, each closed when the
/// recording shows it gone. Other captures register over the one long-lived connection.
fn broker_connection_ends(file: &str) -> Option<HashMap<i64, f64>> {
    if !file.starts_with("s15-") {
        return None;
    }
    let conns = file.replace(".jsonl", ".conns.jsonl");
    let text = std::fs::read_to_string(common::captures_dir().join(conns)).ok()?;
    Some(
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                !v["fin_by"].as_array().is_none_or(|a| a.is_empty())
                    || !v["rst_by"].as_array().is_none_or(|a| a.is_empty())
            })
            .filter_map(|v| Some((v["conn"].as_i64()?, v["last_ts"].as_f64()?)))
            .collect(),
    )
}

/// Sends a recorded request; returns our response unless it is oneway.
async fn send(client: &RemotingClient, f: &Frame) -> Option<RemotingCommand> {
    let cmd = f.to_command();
    if f.is_oneway() {
        client.invoke_oneway(cmd).await.unwrap();
        // Only a master's topics become routes (Java's `registerBroker`, brokerId 0).
        if f.code() == 103 && f.ext_field("brokerId") == Some("0") {
            wait_for_topics(client, f).await;
        }
        None
    } else {
        Some(client.invoke(cmd, TIMEOUT).await.unwrap())
    }
}

/// A oneway request is handled in its own task, so a request sent next on another connection
/// could overtake it; Java's capture shows the registration finished first. Wait (by reading
/// the topic list) until the registered topics are in.
async fn wait_for_topics(client: &RemotingClient, f: &Frame) {
    let header: RegisterBrokerRequestHeader = f.to_command().decode_header().unwrap();
    let body = RegisterBrokerBody::decode(&f.body, header.compressed, 409).unwrap();
    let wanted: BTreeSet<String> = body
        .topic_config_serialize_wrapper
        .topic_config_table
        .into_keys()
        .collect();
    let what = "registered topics not there";
    poll_until(client, 206, f, what, |body| {
        let have: TopicList = fastjson::from_slice(body).unwrap();
        wanted.iter().all(|t| have.topic_list.contains(t))
    })
    .await;
}

/// Waits (reading the cluster info) until the namesrv has dropped every address of `addrs`
/// after their broker connection closed.
async fn wait_until_dropped(client: &RemotingClient, addrs: &[String], f: &Frame) {
    if addrs.is_empty() {
        return;
    }
    let what = format!("{addrs:?} still registered after their connection closed");
    poll_until(client, 106, f, &what, |body| {
        let info: Value = fastjson::from_slice(body).unwrap();
        let listed: BTreeSet<&str> = info["brokerAddrTable"]
            .as_object()
            .into_iter()
            .flat_map(|brokers| brokers.values())
            .filter_map(|b| b["brokerAddrs"].as_object())
            .flat_map(|by_id| by_id.values())
            .filter_map(Value::as_str)
            .collect();
        addrs.iter().all(|a| !listed.contains(a.as_str()))
    })
    .await;
}

/// Sends request `code` (no header) every 10 ms until `done` holds for the answer's body:
/// milliseconds when idle; the 60 s deadline only catches a change that never lands, and the
/// panic names the frame that waited and `what` was still wrong.
async fn poll_until(
    client: &RemotingClient,
    code: i32,
    f: &Frame,
    what: &str,
    done: impl Fn(&[u8]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let answer = client
            .invoke(RemotingCommand::request_without_header(code), TIMEOUT)
            .await
            .unwrap();
        if done(&answer.body) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{}:{}: {what} after 60 s", f.file, f.line);
}

fn compare(request: &Frame, theirs: &Frame, ours: &RemotingCommand) -> Result<(), String> {
    if ours.code != theirs.code() {
        return Err(format!(
            "code {} (remark {:?}), Java {} (remark {:?})",
            ours.code,
            ours.remark,
            theirs.code(),
            theirs.remark()
        ));
    }
    if ours.remark.as_deref() != theirs.remark() {
        return Err(format!(
            "remark {:?}, Java {:?}",
            ours.remark,
            theirs.remark()
        ));
    }
    if ours.serialize_type != request.to_command().serialize_type {
        return Err("answered in another header serialization".into());
    }
    // In the binary header an absent and an empty extFields are the same bytes.
    let ours_ext: BTreeMap<&str, &str> = ours
        .ext_fields
        .as_ref()
        .map(|e| e.iter().collect())
        .unwrap_or_default();
    let theirs_ext: BTreeMap<&str, &str> = theirs
        .ext_fields()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    if ours_ext != theirs_ext {
        return Err(format!("extFields {ours_ext:?}, Java {theirs_ext:?}"));
    }
    if ours.serialize_type == SerializeType::Json
        && ours.ext_fields.is_some() != theirs.ext_fields().is_some()
    {
        return Err(format!(
            "extFields present: {}, Java: {}",
            ours.ext_fields.is_some(),
            theirs.ext_fields().is_some()
        ));
    }
    compare_body(request, &theirs.body, &ours.body)
}

fn compare_body(request: &Frame, theirs: &[u8], ours: &[u8]) -> Result<(), String> {
    if theirs.is_empty() || ours.is_empty() {
        return if theirs.is_empty() == ours.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "body {:?}, Java {:?}",
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(theirs)
            ))
        };
    }
    if request.code() == 319 {
        let keys = |b: &[u8]| -> BTreeSet<String> {
            properties_text::parse_bytes(b)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect()
        };
        // Values are exempt (paths and home directories of the recording machine).
        return if keys(ours) == keys(theirs) {
            Ok(())
        } else {
            Err(format!(
                "config keys {:?}, Java {:?}",
                keys(ours),
                keys(theirs)
            ))
        };
    }
    if request.code() == 105 {
        let cmd = request.to_command();
        let standard_asked = TopicRouteData::wants_standard_json(
            cmd.version,
            cmd.ext_field("acceptStandardJsonOnly").map(|v| v == "true"),
        );
        let strict = serde_json::from_slice::<TopicRouteData>(ours);
        if standard_asked && strict.is_err() {
            return Err(format!("route is not standard JSON: {:?}", strict.err()));
        }
        // And Java itself answered in the same form.
        if standard_asked != serde_json::from_slice::<Value>(theirs).is_ok() {
            return Err("Java's route form disagrees with the standard-JSON rule".into());
        }
        fastjson::from_slice::<TopicRouteData>(ours).map_err(|e| e.to_string())?;
    }
    let normalize = |b: &[u8]| -> Result<Value, String> {
        let mut v = fastjson::from_slice_value(b).map_err(|e| e.to_string())?;
        sort_arrays_as_sets(&mut v);
        Ok(v)
    };
    let (mut o, t) = (normalize(ours)?, normalize(theirs)?);
    if request.code() == 105
        && request.to_command().version >= remoting_codec::code::version::V5_0_0
    {
        for broker in o["brokerDatas"].as_array_mut().into_iter().flatten() {
            let flag = broker
                .as_object_mut()
                .and_then(|b| b.remove("enableActingMaster"));
            if flag != Some(Value::Bool(false)) {
                return Err(format!(
                    "5.x route without enableActingMaster:false: {broker}"
                ));
            }
        }
    }
    if o != t {
        return Err(format!("body\n  ours: {o}\n  Java: {t}"));
    }
    Ok(())
}
