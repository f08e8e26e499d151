//! Java properties text: recorded config bodies and the broker.conf files of every run.

mod support;

use std::path::PathBuf;

use remoting_codec::protocol::properties_text::{parse, parse_bytes, to_map, write};

/// The one body of the given exchange (request or response side).
fn body_of(code: i32, response: bool) -> Vec<u8> {
    let frames: Vec<_> = support::frames_for(code)
        .into_iter()
        .filter(|f| f.is_response() == response && !f.body.is_empty())
        .collect();
    assert_eq!(frames.len(), 1, "code {code}");
    frames[0].body.to_vec()
}

/// Parses, checks that writing the entries back gives the same bytes, returns the entries.
fn round_trip(bytes: &[u8], what: &str) -> Vec<(String, String)> {
    let entries = parse_bytes(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        write(entries.iter().map(|(k, v)| (k, v))).as_bytes(),
        bytes,
        "{what}"
    );
    entries
}

#[test]
fn recorded_config_bodies_round_trip() {
    let broker = round_trip(&body_of(26, true), "GET_BROKER_CONFIG");
    assert!(broker.len() > 170, "{}", broker.len());
    let map = to_map(&broker);
    assert_eq!(map["brokerName"], "broker-a");
    assert_eq!(
        map["messageDelayLevel"],
        "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
    );

    let update = round_trip(&body_of(25, false), "UPDATE_BROKER_CONFIG");
    assert_eq!(
        update,
        vec![("fileReservedTime".to_owned(), "72".to_owned())]
    );

    let namesrv = round_trip(&body_of(319, true), "GET_NAMESRV_CONFIG");
    let map = to_map(&namesrv);
    assert_eq!(map["listenPort"], "9876");
    assert_eq!(
        map["configBlackList"],
        "configBlackList;configStorePath;kvConfigPath"
    );
    assert_eq!(namesrv.len(), 21);
}

fn conf_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![support::captures_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if name.ends_with("broker.conf") || name.contains("broker.conf.") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn broker_conf_files_parse_and_round_trip() {
    let files = conf_files();
    assert!(files.len() >= 16, "{files:?}");
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let entries = round_trip(&bytes, &path.display().to_string());
        let map = to_map(&entries);
        assert_eq!(map["brokerName"], "broker-a", "{}", path.display());
        // The recorded slaves (s15-*.slave.broker.conf) listen on 11911.
        let slave = path.display().to_string().ends_with("slave.broker.conf");
        let port = if slave { "11911" } else { "10911" };
        assert_eq!(map["listenPort"], port, "{}", path.display());
    }
}

#[test]
fn broker_rewrites_its_conf_with_every_property() {
    let dir = support::captures_dir().join("s12-mqadmin");
    let before = to_map(&parse_bytes(&std::fs::read(dir.join("broker.conf")).unwrap()).unwrap());
    let after = std::fs::read_to_string(dir.join("broker.conf.after-updateBrokerConfig")).unwrap();
    let after = to_map(&parse(&after).unwrap());
    assert_eq!(after.len(), 178);
    assert_eq!(before["fileReservedTime"], "48");
    assert_eq!(after["fileReservedTime"], "72");
    // Every other property of the original file survives the rewrite.
    for (k, v) in &before {
        if k != "fileReservedTime" {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
    // The rewrite holds what GET_BROKER_CONFIG reported, plus the update.
    let reported = to_map(&parse_bytes(&body_of(26, true)).unwrap());
    for (k, v) in &reported {
        if k != "fileReservedTime" {
            assert_eq!(after.get(k), Some(v), "{k}");
        }
    }
}
