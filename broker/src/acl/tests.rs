//! The ACL against the s16-acl recording: every recorded signature verifies, every recorded
//! refusal is reproduced from plain_acl.yml.before, and the admin changes rewrite the file
//! byte for byte as the recorded after-files (times substituted).

use std::path::{Path, PathBuf};

use remoting_codec::RemotingCommand;
use test_support::capture::{captures_dir, read_capture, Frame};
use test_support::dirs::TempDir;

use super::signature::{cal_signature, combine_request_content};
use super::*;

const DIR: &str = "s16-acl";

fn fixture(name: &str) -> PathBuf {
    captures_dir().join(DIR).join(format!("s16-acl.{name}"))
}

fn frames() -> Vec<Frame> {
    read_capture("s16-acl/s16-acl.jsonl")
}

fn broker_requests(frames: &[Frame]) -> impl Iterator<Item = &Frame> {
    frames.iter().filter(|f| f.to_broker() && f.is_c2s())
}

/// A home whose conf/plain_acl.yml is the recorded before-file.
fn home() -> TempDir {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = TempDir::new(&format!("acl-home-{n}"));
    std::fs::create_dir_all(dir.path().join("conf")).unwrap();
    std::fs::copy(fixture("plain_acl.yml.before"), plain(dir.path())).unwrap();
    dir
}

fn plain(home: &Path) -> PathBuf {
    home.join("conf/plain_acl.yml")
}

fn validator(home: &Path) -> PlainAccessValidator {
    PlainAccessValidator::start(Some(home), "conf/plain_acl.yml", 1_000).unwrap()
}

#[test]
fn recorded_signatures_verify() {
    let frames = frames();
    let mut checked = 0;
    for f in frames.iter().filter(|f| f.is_c2s()) {
        let Some(signature) = f.ext_field("Signature") else {
            continue;
        };
        let secret = match (f.ext_field("AccessKey").unwrap(), f.conn(), f.to_broker()) {
            // D: the wrong-secret producer (broker conn 8) signs with "wrongsecret".
            ("rocketmq2", 8, true) => "wrongsecret",
            ("newuser01", _, _) => "87654321",
            _ => "12345678",
        };
        let cmd = f.to_command();
        let mine = cal_signature(&combine_request_content(&cmd), secret);
        if f.to_broker() || mine == signature {
            assert_eq!(mine, signature, "{}", f.at());
            checked += 1;
        }
    }
    assert!(checked >= 90, "only {checked} signatures checked");
}

/// Each broker request of the recording up to the first ACL change, checked against the
/// before-file: the refused ones get Java's remark, the others pass.
#[test]
fn recorded_refusals_before_any_change() {
    let home = home();
    let v = validator(home.path());
    let frames = frames();
    let peer = "127.0.0.1:40000".parse().unwrap();
    let mut refused = 0;
    for f in broker_requests(&frames) {
        if f.code() == remoting_codec::code::request::UPDATE_AND_CREATE_ACL_CONFIG {
            break;
        }
        let Some(answer) = test_support::capture::recorded_response(&frames, f) else {
            continue;
        };
        let ours = v.check(&f.to_command(), peer);
        let acl_refusal = answer
            .remark()
            .filter(|r| r.starts_with("org.apache.rocketmq.acl.common.AclException"));
        match (ours, acl_refusal) {
            (Ok(()), None) => {}
            (Err(e), Some(theirs)) => {
                assert_eq!(e.remark(), theirs, "{}", f.at());
                refused += 1;
            }
            (ours, theirs) => panic!("{}: ours {ours:?}, Java {theirs:?}", f.at()),
        }
    }
    // C 3+0, D 3+2, E 3+2, F 3+2, updateTopic 1.
    assert_eq!(refused, 19);
}

#[test]
fn white_addresses_skip_the_signature() {
    let home = home();
    let text = std::fs::read_to_string(plain(home.path()))
        .unwrap()
        .replace(
            "globalWhiteRemoteAddresses: []",
            "globalWhiteRemoteAddresses: [10.10.103.*]",
        );
    std::fs::write(plain(home.path()), text).unwrap();
    let v = validator(home.path());
    let unsigned = RemotingCommand::request_without_header(310)
        .with_ext_field("a", "g")
        .with_ext_field("b", "AnyTopic");
    assert!(v.check(&unsigned, "10.10.103.9:1".parse().unwrap()).is_ok());
    let e = v
        .check(&unsigned, "10.10.104.9:1".parse().unwrap())
        .unwrap_err();
    assert_eq!(e.message, "No accessKey is configured");
}

#[test]
fn permission_order_and_defaults() {
    let home = home();
    let v = validator(home.path());
    let peer = "127.0.0.1:1".parse().unwrap();
    let signed = |fields: &[(&str, &str)], code: i32, key: &str| {
        let mut c = fields.iter().fold(
            RemotingCommand::request_without_header(code),
            |c, (k, val)| c.with_ext_field(*k, *val),
        );
        signature::sign(&mut c, key, "12345678");
        c
    };
    // rocketmq2: default topic DENY, group default SUB.
    let pull = signed(
        &[("topic", "Other"), ("consumerGroup", "g")],
        11,
        "rocketmq2",
    );
    assert_eq!(
        v.check(&pull, peer).unwrap_err().message,
        "No default permission for topic:Other"
    );
    let pull = signed(
        &[("topic", "AclTopic"), ("consumerGroup", "any")],
        11,
        "rocketmq2",
    );
    assert!(v.check(&pull, peer).is_ok());
    // The admin account lists no perms: everything, admin codes included.
    let create = signed(&[("topic", "X")], 17, "RocketMQAdmin");
    assert!(v.check(&create, peer).is_ok());
    // Message trace sends pass whatever the topic perms.
    let trace = signed(
        &[("a", "g"), ("b", "RMQ_SYS_TRACE_TOPIC")],
        310,
        "rocketmq2",
    );
    assert!(v.check(&trace, peer).is_ok());
    // A key without a signature, or a tampered field.
    let mut unsigned = signed(&[("a", "g"), ("b", "AclTopic")], 310, "rocketmq2");
    unsigned.ext_fields_mut().remove("Signature");
    assert_eq!(
        v.check(&unsigned, peer).unwrap_err().message,
        "Check signature failed for accessKey=rocketmq2"
    );
    let mut tampered = signed(&[("a", "g"), ("b", "AclTopic")], 310, "rocketmq2");
    tampered.ext_fields_mut().insert("b", "DeniedTopic");
    assert!(v
        .check(&tampered, peer)
        .unwrap_err()
        .message
        .starts_with("Check signature failed"));
    // An explicit DENY says "default" too, at line 611.
    let denied = signed(&[("a", "g"), ("b", "DeniedTopic")], 310, "rocketmq2");
    assert!(v
        .check(&denied, peer)
        .unwrap_err()
        .remark()
        .ends_with("java:611)"));
}

fn with_time(text: &str, from: i64) -> String {
    text.replace(&from.to_string(), "TIME")
}

/// The recorded admin steps in order: 50, 53, 51; each after-file compared.
#[test]
fn admin_changes_rewrite_the_file_as_java() {
    let home = home();
    let v = validator(home.path());
    let frames = frames();
    let step = |code: i32| {
        broker_requests(&frames)
            .find(|f| f.code() == code)
            .unwrap()
            .to_command()
    };
    let update = step(50);
    let get = |k: &str| update.ext_field(k).map(str::to_owned);
    let config = PlainAccessConfig {
        access_key: get("accessKey"),
        secret_key: get("secretKey"),
        white_remote_address: None,
        admin: false,
        default_topic_perm: get("defaultTopicPerm"),
        default_group_perm: get("defaultGroupPerm"),
        topic_perms: Some(vec![get("topicPerms").unwrap()]),
        group_perms: Some(vec![get("groupPerms").unwrap()]),
    };
    let file = plain(home.path());
    let expect = |name: &str, time: i64, recorded_time: &str| {
        let ours = with_time(&std::fs::read_to_string(&file).unwrap(), time);
        let theirs = std::fs::read_to_string(fixture(name))
            .unwrap()
            .replace(recorded_time, "TIME");
        assert_eq!(ours, theirs, "{name}");
    };
    assert_eq!(v.update_access_config(&config, 5_000), Ok(true));
    expect(
        "plain_acl.yml.after-updateAclConfig",
        5_000,
        "1796317636546",
    );
    assert!(v
        .all_versions_json()
        .ends_with("plain_acl.yml\":{\"counter\":1,\"timestamp\":5000}}"));
    // The new account works at once.
    let mut send = RemotingCommand::request_without_header(310)
        .with_ext_field("a", "g")
        .with_ext_field("b", "AclTopic");
    signature::sign(&mut send, "newuser01", "87654321");
    assert!(v.check(&send, "127.0.0.1:1".parse().unwrap()).is_ok());

    let white = step(53);
    let list = white
        .ext_field("globalWhiteAddrs")
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(
        v.update_global_white_addrs(Some(list), None, 6_000),
        Ok(true)
    );
    expect(
        "plain_acl.yml.after-updateGlobalWhiteAddr",
        6_000,
        "1796317652409",
    );

    assert_eq!(v.delete_access_config(Some("newuser01"), 7_000), Ok(true));
    expect(
        "plain_acl.yml.after-deleteAclConfig",
        7_000,
        "1796317657321",
    );
    let e = v.check(&send, "127.0.0.1:1".parse().unwrap()).unwrap_err();
    assert_eq!(e.message, "No acl config for newuser01");
    assert_eq!(v.delete_access_config(Some("newuser01"), 8_000), Ok(false));
    // The deprecated version follows the file once it is reloaded.
    assert_eq!(v.version_json(), "{\"counter\":0,\"timestamp\":1000}");
    v.poll_files(9_000);
    assert_eq!(v.version_json(), "{\"counter\":3,\"timestamp\":7000}");
}

#[test]
fn short_keys_and_bad_perms_are_refused_with_java_texts() {
    let home = home();
    let v = validator(home.path());
    let mut c = PlainAccessConfig {
        access_key: Some("short".into()),
        secret_key: Some("12345678".into()),
        ..Default::default()
    };
    assert_eq!(
        v.update_access_config(&c, 1).unwrap_err(),
        "The accessKey=short and secretKey=12345678 cannot be null and length should longer than 6"
    );
    c.access_key = Some("longenough".into());
    c.topic_perms = Some(vec!["T=READ".into()]);
    assert!(v
        .update_access_config(&c, 1)
        .unwrap_err()
        .starts_with("Parse resource permission error for T=READ."));
}

/// The file watch: an edit by hand takes effect at the next round, without a restart.
#[test]
fn edited_file_is_reloaded() {
    let home = home();
    let v = validator(home.path());
    let peer = "127.0.0.1:1".parse().unwrap();
    let mut send = RemotingCommand::request_without_header(310)
        .with_ext_field("a", "g")
        .with_ext_field("b", "DeniedTopic");
    signature::sign(&mut send, "rocketmq2", "12345678");
    assert!(v.check(&send, peer).is_err());
    let file = plain(home.path());
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("DeniedTopic=DENY", "DeniedTopic=PUB");
    // A different modification time than the one the watch saw.
    std::fs::write(&file, text).unwrap();
    let f = std::fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    v.poll_files(2_000);
    assert!(v.check(&send, peer).is_ok());
    // A file that no longer parses keeps the last good state.
    std::fs::write(&file, "accounts: [").unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(10))
        .unwrap();
    v.poll_files(3_000);
    assert!(v.check(&send, peer).is_ok());
}

#[test]
fn remark_shape() {
    let e = AclError::new("No accessKey is configured", Site::Validate(664));
    assert_eq!(
        e.remark(),
        "org.apache.rocketmq.acl.common.AclException: No accessKey is configured, org.apache.rocketmq.acl.plain.PlainPermissionManager.validate(PlainPermissionManager.java:664)"
    );
}

/// No `rocketmqHome`: nothing is loaded or watched, every identity is unknown (Java: the home
/// is null and the manager loads nothing).
#[test]
fn no_home_no_accounts() {
    let v = PlainAccessValidator::start(None, "conf/plain_acl.yml", 0).unwrap();
    let mut send = RemotingCommand::request_without_header(310)
        .with_ext_field("a", "g")
        .with_ext_field("b", "T");
    signature::sign(&mut send, "rocketmq2", "12345678");
    v.poll_files(1);
    let e = v.check(&send, "127.0.0.1:1".parse().unwrap()).unwrap_err();
    assert_eq!(e.message, "No acl config for rocketmq2");
    assert_eq!(v.all_versions_json(), "{}");
}
