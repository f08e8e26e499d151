use super::*;
use crate::config::configuration::tests::{assert_same_as_java, java_m19_body, s12_loaded};
use crate::processor::offset::tests::open_store;
use crate::test_util::{golden, TempDir};

fn configuration(dir: &TempDir) -> Configuration {
    let path = dir.path().join("broker.conf");
    std::fs::write(&path, "brokerName=broker-a\n").unwrap();
    Configuration::new(&s12_loaded(), path, 1000)
}

fn update(body: &[u8]) -> RemotingCommand {
    RemotingCommand::request_without_header(req::UPDATE_BROKER_CONFIG).with_body(body.to_vec())
}

#[test]
fn get_answers_the_table_and_its_version() {
    let dir = TempDir::new("get-broker-config");
    let config = configuration(&dir);
    let r = get_broker_config(
        &config,
        &RemotingCommand::request_without_header(req::GET_BROKER_CONFIG),
    );
    assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
    let h: GetBrokerConfigResponseHeader = r.decode_header().unwrap();
    assert_eq!(h.version, r#"{"counter":0,"timestamp":1000}"#);
    assert_same_as_java(std::str::from_utf8(&r.body).unwrap(), &java_m19_body());
}

#[test]
fn update_applies_persists_and_reaches_the_store() {
    let dir = TempDir::new("update-broker-config");
    let config = configuration(&dir);
    let store = open_store(&dir);
    // m20's request body.
    let done = update_broker_config(&config, &store, &update(b"fileReservedTime=72\n"), 2000);
    assert_eq!(done, Ok(Some(Updated::default())));
    assert_eq!(
        config.data_version_json(),
        r#"{"counter":1,"timestamp":2000}"#
    );
    assert_eq!(store.current_config().file_reserved_time, 72);
    let file = std::fs::read_to_string(config.path()).unwrap();
    let java = std::fs::read_to_string(golden(
        "captures/s12-mqadmin/broker.conf.after-updateBrokerConfig",
    ))
    .unwrap();
    assert_same_as_java(&file, &java);

    let done = update_broker_config(&config, &store, &update(b"brokerPermission=4\n"), 3000);
    assert_eq!(
        done,
        Ok(Some(Updated {
            broker_permission: true
        }))
    );
    assert_eq!(config.broker(|b| b.broker_permission), 4);
    let _ = store.shutdown();
}

#[test]
fn refusals_as_java() {
    let dir = TempDir::new("update-broker-config-bad");
    let config = configuration(&dir);
    let store = open_store(&dir);
    let file_before = std::fs::read_to_string(config.path()).unwrap();
    let store_reserve = store.current_config().file_reserved_time;

    // No body: SUCCESS, nothing done.
    let none = RemotingCommand::request_without_header(req::UPDATE_BROKER_CONFIG);
    assert_eq!(update_broker_config(&config, &store, &none, 2000), Ok(None));
    // Black-listed keys.
    for body in [
        "rocketmqHome=/tmp\n",
        "configBlackList=\n",
        "brokerConfigPath=/etc/passwd\n",
        "fileReservedTime=1\nbrokerConfigPath=/x\n",
    ] {
        assert_eq!(
            update_broker_config(&config, &store, &update(body.as_bytes()), 2000),
            Err(Refusal::new(
                resp::NO_PERMISSION,
                "Can not update config in black list."
            )),
            "{body}"
        );
    }
    // A body Properties.load rejects.
    assert_eq!(
        update_broker_config(&config, &store, &update(b"deleteWhen=\\u00zz\n"), 2000),
        Err(Refusal::system_error("string2Properties error"))
    );
    assert_eq!(config.data_version().counter, 0, "nothing was applied");
    assert_eq!(store.current_config().file_reserved_time, store_reserve);
    assert_eq!(std::fs::read_to_string(config.path()).unwrap(), file_before);

    // Unknown keys and unparsable values: SUCCESS, ignored (the version still moves).
    let done = update_broker_config(
        &config,
        &store,
        &update(b"fileReservedTime=lots\nnoSuchKey=1\n"),
        3000,
    );
    assert_eq!(done, Ok(Some(Updated::default())));
    assert_eq!(config.objects().store.file_reserved_time, 48);
    assert_eq!(store.current_config().file_reserved_time, store_reserve);
    assert!(!config.text().contains("noSuchKey"));
    assert_eq!(config.data_version().counter, 1);
    let _ = store.shutdown();
}
