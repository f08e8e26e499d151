//! The broker admin families (topic, group, broker, consumer admin) and the store config files,
//! checked against the recorded Java traffic and files.

mod support;

use remoting_codec::protocol::broker_admin::*;
use remoting_codec::protocol::consumer_admin::*;
use remoting_codec::protocol::group_admin::*;
use remoting_codec::protocol::topic_admin::*;
use remoting_codec::{CommandHeader, ExtFields, HeaderError, RemotingCommand};
use support::GoldenFrame;

/// Keys a recorded header may carry that no typed header models: 5.x RPC fields and the ACL hook
/// of the 4.9.8 mqadmin.
const IGNORED_KEYS: &[&str] = &[
    "AccessKey",
    "Signature",
    "SecurityToken",
    "ns",
    "nsd",
    "bname",
    "oway",
    "lo",
];

fn frames() -> &'static [GoldenFrame] {
    static FRAMES: std::sync::OnceLock<Vec<GoldenFrame>> = std::sync::OnceLock::new();
    FRAMES.get_or_init(support::golden_frames)
}

fn exchange(code: i32) -> impl Iterator<Item = &'static GoldenFrame> {
    frames()
        .iter()
        .filter(move |f| f.request_code_of_exchange() == Some(code))
}

fn command(f: &GoldenFrame) -> RemotingCommand {
    RemotingCommand::decode_frame(f.frame.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", f.describe()))
}

fn sorted_pairs(ext: Option<&ExtFields>) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ext
        .map(|e| {
            e.iter()
                .filter(|(k, _)| !IGNORED_KEYS.contains(k))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Every recorded frame of `code` on the given side parses into `H`, and `H` writes back exactly
/// the recorded pairs (less [`IGNORED_KEYS`]). Returns how many frames were checked.
fn check_header<H: CommandHeader + std::fmt::Debug>(code: i32, responses: bool) -> usize {
    let mut n = 0;
    for f in exchange(code).filter(|f| f.is_response() == responses) {
        if responses && f.code() != 0 {
            continue;
        }
        let cmd = command(f);
        let header: H = cmd
            .decode_header()
            .unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
        let mut out = ExtFields::new();
        header.to_ext_fields(&mut out);
        assert_eq!(
            sorted_pairs(Some(&out)),
            sorted_pairs(cmd.ext_fields.as_ref()),
            "{}: {header:?}",
            f.describe()
        );
        n += 1;
    }
    n
}

#[test]
fn recorded_request_headers_round_trip() {
    let counts = [
        // 17: s12 twice, s16-acl's updateTopic by a non-admin (refused by the ACL), and the
        // 2 of the s15 master/slave captures.
        (17, check_header::<CreateTopicRequestHeader>(17, false), 5),
        (
            202,
            check_header::<GetTopicStatsInfoRequestHeader>(202, false),
            2,
        ),
        (
            203,
            check_header::<GetConsumerConnectionListRequestHeader>(203, false),
            6,
        ),
        (
            204,
            check_header::<GetProducerConnectionListRequestHeader>(204, false),
            1,
        ),
        (
            207,
            check_header::<DeleteSubscriptionGroupRequestHeader>(207, false),
            1,
        ),
        (
            208,
            check_header::<GetConsumeStatsRequestHeader>(208, false),
            7,
        ),
        (215, check_header::<DeleteTopicRequestHeader>(215, false), 3),
        (222, check_header::<ResetOffsetRequestHeader>(222, false), 2),
        (
            223,
            check_header::<GetConsumerStatusRequestHeader>(223, false),
            1,
        ),
        (
            300,
            check_header::<QueryTopicConsumeByWhoRequestHeader>(300, false),
            22,
        ),
        (
            315,
            check_header::<ViewBrokerStatsDataRequestHeader>(315, false),
            12,
        ),
        (
            317,
            check_header::<GetConsumeStatsInBrokerHeader>(317, false),
            1,
        ),
        (
            351,
            check_header::<GetTopicConfigRequestHeader>(351, false),
            1,
        ),
        (
            26,
            check_header::<GetBrokerConfigResponseHeader>(26, true),
            1,
        ),
    ];
    for (code, got, want) in counts {
        assert_eq!(got, want, "code {code}: frames checked");
    }
}

/// Codes whose recorded frames carry no header fields at all (besides ACL keys): their requests
/// have no header class, and neither have the responses of the header codes above.
#[test]
fn headerless_codes_carry_no_fields() {
    let mut n = 0;
    for code in [21, 25, 26, 28, 200, 306] {
        for f in exchange(code).filter(|f| !f.is_response()) {
            assert!(
                sorted_pairs(command(f).ext_fields.as_ref()).is_empty(),
                "{}",
                f.describe()
            );
            n += 1;
        }
    }
    for code in [
        17, 28, 200, 202, 203, 204, 207, 208, 215, 222, 300, 306, 315, 317,
    ] {
        for f in exchange(code).filter(|f| f.is_response()) {
            assert!(
                sorted_pairs(command(f).ext_fields.as_ref()).is_empty(),
                "{}",
                f.describe()
            );
            n += 1;
        }
    }
    assert!(n >= 70, "only {n} frames");
}

#[test]
fn recorded_values_are_read() {
    let f = exchange(17).find(|f| !f.is_response()).unwrap();
    let h: CreateTopicRequestHeader = command(f).decode_header().unwrap();
    assert_eq!(
        (
            h.topic.as_str(),
            h.default_topic.as_str(),
            h.read_queue_nums,
            h.perm
        ),
        ("AdminNewTopic", "TBW102", 8, 6)
    );
    let tc = h.to_topic_config().unwrap();
    assert_eq!(
        (tc.write_queue_nums, tc.topic_sys_flag, tc.order),
        (8, 0, false)
    );
    assert_eq!(
        CreateTopicRequestHeader::from_topic_config(&tc),
        CreateTopicRequestHeader { perm: 6, ..h }
    );

    let f = exchange(222).find(|f| !f.is_response()).unwrap();
    let h: ResetOffsetRequestHeader = command(f).decode_header().unwrap();
    assert_eq!(
        (h.timestamp, h.is_force, h.queue_id, h.offset),
        (1795242322039, true, None, None)
    );

    let f = exchange(207).find(|f| !f.is_response()).unwrap();
    let h: DeleteSubscriptionGroupRequestHeader = command(f).decode_header().unwrap();
    assert_eq!(
        (h.group_name.as_str(), h.clean_offset()),
        ("admin_sub_group", false)
    );
}

fn ext(pairs: &[(&str, &str)]) -> ExtFields {
    pairs.iter().copied().collect()
}

fn round_trip<H: CommandHeader + PartialEq + std::fmt::Debug>(h: H) -> ExtFields {
    let mut out = ExtFields::new();
    h.to_ext_fields(&mut out);
    assert_eq!(out.decode::<H>().unwrap(), h);
    out
}

/// Codes of sets c/d (and their 5.x neighbours) that no capture holds.
#[test]
fn unrecorded_headers_round_trip() {
    let e = round_trip(CreateTopicRequestHeader {
        topic: "T".into(),
        default_topic: "TBW102".into(),
        read_queue_nums: 4,
        write_queue_nums: 4,
        perm: 6,
        topic_filter_type: "MULTI_TAG".into(),
        topic_sys_flag: None,
        order: true,
        attributes: Some("+message.type=FIFO".into()),
        force: Some(true),
    });
    assert_eq!(
        (e.get("force"), e.get("topicSysFlag")),
        (Some("true"), None)
    );
    round_trip(GetSubscriptionGroupConfigRequestHeader { group: "g".into() });
    round_trip(QueryTopicsByConsumerRequestHeader { group: "g".into() });
    round_trip(QuerySubscriptionByConsumerRequestHeader {
        group: "g".into(),
        topic: Some("t".into()),
    });
    round_trip(UpdateGroupForbiddenRequestHeader {
        group: "g".into(),
        topic: "t".into(),
        readable: Some(false),
    });
    let e = round_trip(DeleteSubscriptionGroupRequestHeader {
        group_name: "g".into(),
        remove_offset: false,
        clean_offset: Some(true),
    });
    assert!(e
        .decode::<DeleteSubscriptionGroupRequestHeader>()
        .unwrap()
        .clean_offset());
    let e = round_trip(ResetOffsetRequestHeader {
        topic: "t".into(),
        group: "g".into(),
        queue_id: Some(2),
        offset: Some(17),
        timestamp: -1,
        is_force: true,
    });
    assert_eq!(e.len(), 6);
    round_trip(QueryConsumeTimeSpanRequestHeader {
        topic: "t".into(),
        group: "g".into(),
    });
    round_trip(QueryCorrectionOffsetHeader {
        filter_groups: Some("a,b".into()),
        compare_group: "c".into(),
        topic: "t".into(),
    });
    let e = round_trip(CloneGroupOffsetRequestHeader {
        src_group: "s".into(),
        dest_group: "d".into(),
        topic: None,
        offline: false,
    });
    assert_eq!(e.get("offline"), Some("false"));
    let e = round_trip(QueryConsumeQueueRequestHeader {
        topic: Some("t".into()),
        queue_id: 1,
        index: 0,
        count: 10,
        consumer_group: None,
    });
    assert_eq!(e.len(), 4);
    round_trip(ResumeCheckHalfMessageRequestHeader {
        topic: None,
        msg_id: Some("7F00000100002A9F00000000000000C4".into()),
    });
    assert_eq!(
        ext(&[]).decode::<QueryConsumeQueueRequestHeader>().unwrap(),
        QueryConsumeQueueRequestHeader {
            topic: None,
            queue_id: 0,
            index: 0,
            count: 0,
            consumer_group: None
        }
    );
}

fn missing<H: CommandHeader + std::fmt::Debug>(pairs: &[(&str, &str)], field: &str) {
    match ext(pairs).decode::<H>() {
        Err(HeaderError::MissingField { field: f, .. }) => assert_eq!(f, field),
        other => panic!("expected {field} missing, got {other:?}"),
    }
}

#[test]
fn missing_required_fields_are_named() {
    let create = [
        ("topic", "T"),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", "8"),
        ("writeQueueNums", "8"),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
        ("order", "false"),
    ];
    for skip in 0..create.len() {
        let pairs: Vec<_> = create
            .iter()
            .copied()
            .filter(|p| p.0 != create[skip].0)
            .collect();
        missing::<CreateTopicRequestHeader>(&pairs, create[skip].0);
    }
    assert!(ext(&create).decode::<CreateTopicRequestHeader>().is_ok());
    missing::<DeleteTopicRequestHeader>(&[], "topic");
    missing::<GetTopicConfigRequestHeader>(&[("lo", "true")], "topic");
    missing::<GetTopicStatsInfoRequestHeader>(&[], "topic");
    missing::<QueryTopicConsumeByWhoRequestHeader>(&[], "topic");
    missing::<QueryTopicsByConsumerRequestHeader>(&[], "group");
    missing::<QuerySubscriptionByConsumerRequestHeader>(&[("topic", "t")], "group");
    missing::<GetSubscriptionGroupConfigRequestHeader>(&[], "group");
    missing::<DeleteSubscriptionGroupRequestHeader>(&[("removeOffset", "true")], "groupName");
    missing::<UpdateGroupForbiddenRequestHeader>(&[("group", "g")], "topic");
    missing::<GetBrokerConfigResponseHeader>(&[], "version");
    missing::<ViewBrokerStatsDataRequestHeader>(&[("statsName", "TOPIC_PUT_NUMS")], "statsKey");
    missing::<GetConsumerConnectionListRequestHeader>(&[], "consumerGroup");
    missing::<GetProducerConnectionListRequestHeader>(&[], "producerGroup");
    missing::<GetConsumeStatsRequestHeader>(&[("topic", "t")], "consumerGroup");
    missing::<ResetOffsetRequestHeader>(&[("topic", "t"), ("timestamp", "1")], "group");
    missing::<QueryConsumeTimeSpanRequestHeader>(&[("group", "g")], "topic");
    missing::<QueryCorrectionOffsetHeader>(&[("topic", "t")], "compareGroup");
    missing::<CloneGroupOffsetRequestHeader>(&[("srcGroup", "s")], "destGroup");
    // Primitive-only headers never fail.
    assert!(
        !ext(&[])
            .decode::<GetConsumeStatsInBrokerHeader>()
            .unwrap()
            .is_order
    );
    assert!(ext(&[])
        .decode::<ResumeCheckHalfMessageRequestHeader>()
        .is_ok());
}
