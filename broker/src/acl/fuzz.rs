//! One fuzzing step over the ACL check, shared by `fuzz/fuzz_targets/acl_check.rs` and the
//! bounded run of `cargo test` (`broker/tests/acl_fuzz_bounded.rs`).
//!
//! Input: `rule \n code \n key=value lines ... \0 body`. The first line is a white-address
//! entry (any text: its parse may fail, never panic; a parsed one is matched against IPv4 and
//! IPv6 peers). The request (the code's low byte among the codes `parse` knows, the fields, the
//! body) is checked twice, unsigned as given and signed by `rocketmq2`, against a fixed
//! plain_acl.yml. Nothing may panic; the check is deterministic; a correctly signed request is
//! never refused for its signature, and the same request with one byte of its signature
//! changed always is (no white list holds the peer).

use std::net::SocketAddr;
use std::sync::OnceLock;

use remoting_codec::RemotingCommand;

use super::address::RemoteAddressStrategy;
use super::signature::{sign, SIGNATURE};
use super::PlainAccessValidator;

const CONFIG: &str = "globalWhiteRemoteAddresses: [10.10.103.*, '1050::5:600:300c:1-ff']
accounts:
  - accessKey: rocketmq2
    secretKey: 12345678
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms: [AclTopic=PUB|SUB, DeniedTopic=DENY]
    groupPerms: [denied_group=DENY]
  - accessKey: RocketMQAdmin
    secretKey: 12345678
    admin: true
    whiteRemoteAddress: 192.168.1.{1,2,3}
";

const CODES: &[i32] = &[
    10, 310, 320, 36, 11, 12, 34, 35, 38, 15, 17, 25, 200, 207, 215, 50, 52, 0,
];

fn validator() -> &'static PlainAccessValidator {
    static V: OnceLock<PlainAccessValidator> = OnceLock::new();
    V.get_or_init(|| {
        let home =
            std::env::temp_dir().join(format!("rocketmq-rs-acl-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(home.join("conf")).expect("fuzz home");
        std::fs::write(home.join("conf/plain_acl.yml"), CONFIG).expect("fuzz acl file");
        let v =
            PlainAccessValidator::start(Some(&home), "conf/plain_acl.yml", 0).expect("fuzz acl");
        let _ = std::fs::remove_dir_all(&home);
        v
    })
}

#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n');
    let rule = lines.next().unwrap_or("");
    if let Ok(strategy) = RemoteAddressStrategy::parse(Some(rule)) {
        for peer in [
            "127.0.0.1",
            "10.10.103.7",
            "0:0:0:0:0:0:0:1",
            "1050:0:0:0:5:600:300c:fe",
        ] {
            strategy.matches(Some(peer));
        }
    }
    let code = lines
        .next()
        .and_then(|c| c.bytes().next())
        .map_or(310, |b| CODES[b as usize % CODES.len()]);
    let mut request = RemotingCommand::request_without_header(code).with_body(body.to_vec());
    for line in lines {
        if let Some((k, v)) = line.split_once('=') {
            request = request.with_ext_field(k, v);
        }
    }
    let v = validator();
    let peers: [SocketAddr; 2] = ["127.0.0.1:1".parse().unwrap(), "[::1]:1".parse().unwrap()];
    for peer in peers {
        let first = v.check(&request, peer);
        assert_eq!(first, v.check(&request, peer), "not deterministic");
        let mut signed = request.clone();
        signed.ext_fields_mut().remove("AccessKey");
        sign(&mut signed, "rocketmq2", "12345678");
        if let Err(e) = v.check(&signed, peer) {
            assert!(
                !e.message.starts_with("Check signature failed"),
                "a correct signature refused: {e:?}"
            );
        }
        let mut forged = signed.clone();
        let sig = forged.ext_field(SIGNATURE).unwrap_or_default().to_owned();
        let mut bytes = sig.into_bytes();
        if let Some(b) = bytes.first_mut() {
            *b = if *b == b'A' { b'B' } else { b'A' };
        }
        forged
            .ext_fields_mut()
            .insert(SIGNATURE, String::from_utf8(bytes).unwrap_or_default());
        if let Err(e) = v.check(&forged, peer) {
            let identity =
                e.message.starts_with("Check signature failed") || e.site == super::Site::Parse;
            assert!(
                identity,
                "a forged signature got past the signature check: {e:?}"
            );
        } else {
            panic!("a forged signature was accepted");
        }
    }
}
