//! The REGISTER_BROKER requests our master and our slave send, compared with the ones Java's
//! master and slave sent in the s15-ha recording (the first of each brokerId), on a recording
//! namesrv stand-in that answers SUCCESS: header (version, flag, language, serialize type,
//! the ext field names; brokerId, brokerName, clusterName, compressed as recorded; brokerAddr
//! `brokerIP1:listenPort`, haServerAddr `brokerIP1:listenPort+1` as Java's relation;
//! bodyCrc32 the masked CRC32 of the body, as in Java's frames) and body (the JSON keys at
//! every level, the dataVersion's keys, the topic table's names and each topic config as
//! recorded). Ports and times are normalised by comparing relations, not values.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::register_broker::body_crc32;
use remoting_codec::RemotingCommand;
use serde_json::Value;
use test_support::capture::read_capture;
use test_support::process::BrokerConf;

/// The stand-in namesrv: keeps every REGISTER_BROKER, answers SUCCESS with no master.
struct RecordingNamesrv {
    seen: Arc<Mutex<Vec<RemotingCommand>>>,
}

impl remoting::RequestProcessor for RecordingNamesrv {
    async fn process(
        &self,
        _conn: &Arc<remoting::Connection>,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, remoting::ProcessError> {
        if request.code != req::REGISTER_BROKER {
            return Err(remoting::ProcessError::NotSupported);
        }
        self.seen.lock().unwrap().push(request.clone());
        Ok(Some(RemotingCommand::response_to(&request, resp::SUCCESS)))
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

fn port_of(addr: &str) -> u32 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Checks one of our registrations against Java's.
fn compare(ours: &RemotingCommand, java: &RemotingCommand, listen_port: u16) {
    let id = java.ext_field("brokerId").unwrap();
    assert_eq!(
        (ours.version, ours.flag, ours.language, ours.serialize_type),
        (java.version, java.flag, java.language, java.serialize_type),
        "brokerId {id}"
    );
    let names = |c: &RemotingCommand| -> BTreeSet<String> {
        c.ext_fields
            .as_ref()
            .unwrap()
            .iter()
            .map(|(k, _)| k.to_owned())
            .collect()
    };
    assert_eq!(names(ours), names(java), "brokerId {id}");
    for key in ["brokerId", "brokerName", "clusterName", "compressed"] {
        assert_eq!(ours.ext_field(key), java.ext_field(key), "{key} of {id}");
    }
    for c in [ours, java] {
        let addr = c.ext_field("brokerAddr").unwrap();
        let ha = c.ext_field("haServerAddr").unwrap();
        assert!(addr.starts_with("127.0.0.1:") && ha.starts_with("127.0.0.1:"));
        assert_eq!(port_of(ha), port_of(addr) + 1, "brokerId {id}");
        let crc: i32 = c.ext_field("bodyCrc32").unwrap().parse().unwrap();
        assert_eq!(crc, body_crc32(&c.body), "brokerId {id}");
    }
    assert_eq!(
        ours.ext_field("brokerAddr"),
        Some(format!("127.0.0.1:{listen_port}").as_str())
    );

    let (o, j): (Value, Value) = (
        serde_json::from_slice(&ours.body).unwrap(),
        serde_json::from_slice(&java.body).unwrap(),
    );
    assert_eq!(keys(&o), keys(&j), "body of {id}");
    assert_eq!(o["filterServerList"], j["filterServerList"]);
    let (ow, jw) = (
        &o["topicConfigSerializeWrapper"],
        &j["topicConfigSerializeWrapper"],
    );
    assert_eq!(keys(ow), keys(jw), "wrapper of {id}");
    assert_eq!(keys(&ow["dataVersion"]), keys(&jw["dataVersion"]));
    assert_eq!(ow["dataVersion"]["counter"], jw["dataVersion"]["counter"]);
    assert!(ow["dataVersion"]["timestamp"].is_i64());
    let (ot, jt) = (&ow["topicConfigTable"], &jw["topicConfigTable"]);
    assert_eq!(keys(ot), keys(jt), "topics of {id}");
    assert_eq!(keys(jt).len(), 8, "the recorded default topics");
    for topic in keys(jt) {
        assert_eq!(ot[&topic], jt[&topic], "topic {topic} of {id}");
    }
}

#[test]
fn master_and_slave_registrations_are_javas() {
    let frames = read_capture("s15-ha.jsonl");
    let recorded = |id: &str| {
        frames
            .iter()
            .find(|f| {
                f.is_c2s()
                    && !f.is_response()
                    && f.code() == req::REGISTER_BROKER
                    && f.ext_field("brokerId") == Some(id)
            })
            .unwrap()
            .to_command()
    };
    let dir = temp_dir("ha-registration");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ns_port = free_port_pair();
        let ns_addr = std::net::SocketAddr::from(([127, 0, 0, 1], ns_port));
        let server = remoting::RemotingServer::bind(ns_addr).await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let processor = Arc::new(RecordingNamesrv { seen: seen.clone() });
        tokio::spawn(server.run(processor, std::future::pending::<()>()));

        let mut brokers = Vec::new();
        for (id, role) in [("0", "ASYNC_MASTER"), ("1", "SLAVE")] {
            let bdir = dir.path().join(id);
            std::fs::create_dir_all(&bdir).unwrap();
            let port = free_port_pair();
            // The recorded conf's settings (s15-ha.{master,slave}.broker.conf).
            let conf = BrokerConf::small_store(&bdir, port, Some(ns_addr))
                .set("brokerClusterName", "DefaultCluster")
                .set("brokerName", "broker-a")
                .set("brokerId", id)
                .set("brokerRole", role)
                .set("autoCreateTopicEnable", true)
                .set("autoCreateSubscriptionGroup", true)
                .set("enablePropertyFilter", true);
            let b = BrokerProcess::start(Path::new(env!("CARGO_BIN_EXE_broker")), &bdir, &conf);
            brokers.push((id, port, b));
        }
        let end = Instant::now() + Duration::from_secs(90);
        for (id, port, _) in &brokers {
            let ours = loop {
                let found = seen
                    .lock()
                    .unwrap()
                    .iter()
                    .find(|r| r.ext_field("brokerId") == Some(id))
                    .cloned();
                if let Some(r) = found {
                    break r;
                }
                assert!(Instant::now() < end, "no registration of brokerId {id}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            compare(&ours, &recorded(id), *port);
        }
        drop(brokers);
    });
}
