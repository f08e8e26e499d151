//! The client data-path families (send, pull, query, client registration, offsets, locks,
//! transactions, broker → client callbacks) against the recorded Java traffic: every recorded
//! header of these codes reads into its typed header and writes back to the same pairs, required
//! fields are enforced, and every recorded JSON body survives a typed round trip.

mod support;

use std::collections::BTreeMap;

use remoting_codec::protocol::callback::*;
use remoting_codec::protocol::client::*;
use remoting_codec::protocol::offset::*;
use remoting_codec::protocol::pull::*;
use remoting_codec::protocol::query::*;
use remoting_codec::protocol::send::*;
use remoting_codec::protocol::transaction::*;
use remoting_codec::{CommandHeader, EmptyHeader, ExtFields, HeaderError, RemotingCommand};

/// Keys outside the header classes that recorded frames carry and the typed headers do not
/// model: 5.x RPC keys, ACL signing, the stream-request marker, and the extra keys of query and
/// send commands.
const IGNORED_KEYS: &[&str] = &[
    "bname",
    "ns",
    "nsd",
    "oway",
    "lo",
    "AccessKey",
    "Signature",
    "SecurityToken",
    "ReqT",
    UNIQUE_KEY_QUERY,
    MSG_REGION,
    TRACE_ON,
    IS_SUPPORT_HEART_BEAT_V2,
    IS_SUB_CHANGE,
];

type RoundTrip = fn(&ExtFields) -> Result<ExtFields, HeaderError>;

fn round_trip<H: CommandHeader>(ext: &ExtFields) -> Result<ExtFields, HeaderError> {
    let header: H = ext.decode()?;
    let mut out = ExtFields::new();
    out.encode(&header);
    Ok(out)
}

/// The request header and (for answers that carry one) the response header of each code.
fn headers_of(code: i32) -> Option<(RoundTrip, RoundTrip)> {
    let empty: RoundTrip = round_trip::<EmptyHeader>;
    let send: RoundTrip = round_trip::<SendMessageResponseHeader>;
    Some(match code {
        10 | 324 => (round_trip::<SendMessageRequestHeader>, send),
        310 | 320 | 325 => (round_trip::<SendMessageRequestHeaderV2>, send),
        326 => (round_trip::<ReplyMessageRequestHeader>, empty),
        11 | 361 => (
            round_trip::<PullMessageRequestHeader>,
            round_trip::<PullMessageResponseHeader>,
        ),
        12 => (
            round_trip::<QueryMessageRequestHeader>,
            round_trip::<QueryMessageResponseHeader>,
        ),
        33 => (round_trip::<ViewMessageRequestHeader>, empty),
        34 | 41 | 42 | 46 => (empty, empty),
        35 => (round_trip::<UnregisterClientRequestHeader>, empty),
        38 => (round_trip::<GetConsumerListByGroupRequestHeader>, empty),
        14 => (
            round_trip::<QueryConsumerOffsetRequestHeader>,
            round_trip::<QueryConsumerOffsetResponseHeader>,
        ),
        15 => (round_trip::<UpdateConsumerOffsetRequestHeader>, empty),
        29 => (
            round_trip::<SearchOffsetRequestHeader>,
            round_trip::<SearchOffsetResponseHeader>,
        ),
        30 => (
            round_trip::<GetMaxOffsetRequestHeader>,
            round_trip::<GetMaxOffsetResponseHeader>,
        ),
        31 => (
            round_trip::<GetMinOffsetRequestHeader>,
            round_trip::<GetMinOffsetResponseHeader>,
        ),
        32 => (
            round_trip::<GetEarliestMsgStoretimeRequestHeader>,
            round_trip::<GetEarliestMsgStoretimeResponseHeader>,
        ),
        36 => (round_trip::<ConsumerSendMsgBackRequestHeader>, empty),
        37 => (round_trip::<EndTransactionRequestHeader>, empty),
        39 => (round_trip::<CheckTransactionStateRequestHeader>, empty),
        40 => (round_trip::<NotifyConsumerIdsChangedRequestHeader>, empty),
        220 => (round_trip::<ResetOffsetRequestHeader>, empty),
        221 => (round_trip::<GetConsumerStatusRequestHeader>, empty),
        307 => (round_trip::<GetConsumerRunningInfoRequestHeader>, empty),
        309 => (
            round_trip::<ConsumeMessageDirectlyResultRequestHeader>,
            empty,
        ),
        _ => return None,
    })
}

/// Whether a response with this code carries the response header: success, and for pulls also
/// the "no message / retry / offset moved" answers. Error answers carry only a remark.
fn response_has_header(request_code: i32, response_code: i32) -> bool {
    response_code == 0 || (matches!(request_code, 11 | 361) && matches!(response_code, 19..=21))
}

fn pairs(ext: &ExtFields) -> BTreeMap<String, String> {
    ext.iter()
        .filter(|(k, _)| !IGNORED_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn decode(f: &support::GoldenFrame) -> RemotingCommand {
    RemotingCommand::decode_frame(f.frame.clone())
        .unwrap_or_else(|e| panic!("{}: {e}", f.describe()))
}

const MY_CODES: &[i32] = &[
    10, 310, 320, 324, 325, 326, 11, 361, 12, 33, 34, 35, 38, 46, 14, 15, 29, 30, 31, 32, 36, 37,
    39, 40, 41, 42, 220, 221, 307, 309,
];

#[test]
fn every_recorded_header_reads_and_writes_back() {
    let mut requests: BTreeMap<i32, usize> = BTreeMap::new();
    let mut responses: BTreeMap<i32, usize> = BTreeMap::new();
    for f in support::golden_frames() {
        let Some(code) = f.request_code_of_exchange() else {
            continue;
        };
        if !MY_CODES.contains(&code) {
            continue;
        }
        let (request, response) = headers_of(code).unwrap();
        let cmd = decode(&f);
        let ext = cmd.ext_fields.clone().unwrap_or_default();
        let read = if f.is_response() {
            if !response_has_header(code, cmd.code) {
                continue;
            }
            *responses.entry(code).or_default() += 1;
            response
        } else {
            *requests.entry(code).or_default() += 1;
            request
        };
        let written = read(&ext).unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
        assert_eq!(pairs(&written), pairs(&ext), "{}", f.describe());
    }
    let expect_requests = [
        (310, 144),
        (320, 1),
        (11, 342),
        (12, 5),
        (33, 4),
        (34, 85),
        (35, 99),
        (38, 89),
        (46, 1),
        (14, 97),
        (15, 332),
        (29, 3),
        (30, 7),
        (31, 8),
        (32, 1),
        (36, 5),
        (37, 10),
        (39, 3),
        (40, 22),
        (41, 5),
        (42, 1),
        (220, 3),
        (221, 2),
        (307, 4),
        (309, 4),
    ];
    for (code, n) in expect_requests {
        assert!(
            requests.get(&code).copied().unwrap_or(0) >= n,
            "code {code}: {requests:?}"
        );
    }
    let expect_responses = [
        (310, 141),
        (320, 1),
        (11, 110),
        (12, 5),
        (14, 97),
        (29, 3),
        (30, 7),
        (31, 8),
        (32, 1),
        (307, 4),
        (309, 4),
        (221, 2),
        (38, 89),
        (34, 85),
    ];
    for (code, n) in expect_responses {
        assert!(
            responses.get(&code).copied().unwrap_or(0) >= n,
            "code {code}: {responses:?}"
        );
    }
}

/// The `@CFNotNull` boxed fields of each request header with recorded frames: removing one from
/// a recorded request is a [`HeaderError::MissingField`] naming it; removing any other field is
/// not an error.
#[test]
fn missing_required_fields_are_named() {
    let required: &[(i32, &[&str])] = &[
        (310, &["a", "b", "c", "d", "e", "f", "g", "h"]),
        (320, &["a", "b", "c", "d", "e", "f", "g", "h"]),
        (
            11,
            &[
                "consumerGroup",
                "topic",
                "queueId",
                "queueOffset",
                "maxMsgNums",
                "sysFlag",
                "commitOffset",
                "suspendTimeoutMillis",
                "subVersion",
            ],
        ),
        (
            12,
            &["topic", "key", "maxNum", "beginTimestamp", "endTimestamp"],
        ),
        (33, &["offset"]),
        (35, &["clientID"]),
        (38, &["consumerGroup"]),
        (14, &["consumerGroup", "topic", "queueId"]),
        (15, &["consumerGroup", "topic", "queueId", "commitOffset"]),
        (29, &["topic", "queueId", "timestamp"]),
        (30, &["topic", "queueId"]),
        (31, &["topic", "queueId"]),
        (32, &["topic", "queueId"]),
        (36, &["offset", "group", "delayLevel"]),
        (
            37,
            &[
                "producerGroup",
                "tranStateTableOffset",
                "commitLogOffset",
                "commitOrRollback",
                "msgId",
            ],
        ),
        (39, &["tranStateTableOffset", "commitLogOffset"]),
        (40, &["consumerGroup"]),
        (220, &["topic", "group"]),
        (221, &["topic", "group"]),
        (307, &["consumerGroup", "clientId"]),
        (309, &["consumerGroup"]),
    ];
    let frames = support::golden_frames();
    let mut checked = 0;
    for (code, fields) in required {
        let f = frames
            .iter()
            .find(|f| !f.is_response() && f.code() == *code)
            .unwrap_or_else(|| panic!("no recorded request {code}"));
        let ext = decode(f).ext_fields.unwrap_or_default();
        let (read, _) = headers_of(*code).unwrap();
        for (key, _) in ext.iter() {
            let mut cut = ext.clone();
            cut.remove(key);
            match read(&cut) {
                Err(HeaderError::MissingField { field, .. }) => {
                    assert_eq!(field, key, "{}", f.describe());
                    assert!(fields.contains(&key), "{code}: {key} is not required");
                    checked += 1;
                }
                Err(e) => panic!("{}: {e}", f.describe()),
                Ok(_) => assert!(!fields.contains(&key), "{code}: {key} is required"),
            }
        }
    }
    assert_eq!(
        checked,
        required.iter().map(|(_, f)| f.len()).sum::<usize>(),
        "a required field was not present in its recorded frame"
    );
}

/// Send requests of every recorded form read into the V1 header through `parse_send_header`,
/// which is what a broker hands to its send path.
#[test]
fn recorded_sends_parse_into_v1() {
    let mut n = 0;
    for code in [310, 320] {
        for f in support::frames_for(code) {
            if f.is_response() {
                continue;
            }
            let cmd = decode(&f);
            let ext = cmd.ext_fields.clone().unwrap();
            let v1 = parse_send_header(cmd.code, &ext).unwrap().unwrap();
            assert_eq!(Some(v1.producer_group.as_str()), ext.get("a"));
            assert_eq!(Some(v1.topic.as_str()), ext.get("b"));
            assert_eq!(v1.broker_name.as_deref(), ext.get("n"));
            assert_eq!(v1.batch, code == 320, "{}", f.describe());
            let back = SendMessageRequestHeaderV2::from(v1);
            let mut written = ExtFields::new();
            written.encode(&back);
            assert_eq!(pairs(&written), pairs(&ext), "{}", f.describe());
            n += 1;
        }
    }
    assert!(n >= 145, "{n}");
}

fn hand_made(pairs: &[(&str, &str)]) -> ExtFields {
    pairs.iter().copied().collect()
}

fn assert_round_trip(read: RoundTrip, ext: &ExtFields) {
    let written = read(ext).unwrap();
    assert_eq!(pairs(&written), pairs(ext));
}

/// Codes of sets a–d with no recorded frame: SEND_MESSAGE (10), the reply sends (324, 325) and
/// PUSH_REPLY_MESSAGE_TO_CLIENT (326); also 5.x-only fields nothing recorded carries.
#[test]
fn hand_made_round_trips() {
    let v1 = hand_made(&[
        ("producerGroup", "pg"),
        ("topic", "T"),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("queueId", "1"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1795241991318"),
        ("flag", "0"),
        ("properties", "MSG_TYPE\u{1}reply\u{2}"),
        ("reconsumeTimes", "0"),
        ("unitMode", "false"),
        ("batch", "false"),
        ("maxReconsumeTimes", "16"),
    ]);
    for code in [10, 324] {
        assert_round_trip(headers_of(code).unwrap().0, &v1);
        let parsed = parse_send_header(code, &v1).unwrap().unwrap();
        assert_eq!(parsed.max_reconsume_times, Some(16));
    }
    let mut v2 = ExtFields::new();
    v2.encode(&SendMessageRequestHeaderV2::from(
        parse_send_header(10, &v1).unwrap().unwrap(),
    ));
    assert_eq!(v2.get("l"), Some("16"));
    assert_round_trip(headers_of(325).unwrap().0, &v2);
    assert_eq!(
        parse_send_header(325, &v2).unwrap(),
        parse_send_header(324, &v1).unwrap()
    );

    let reply = hand_made(&[
        ("producerGroup", "pg"),
        ("topic", "T"),
        ("defaultTopic", "TBW102"),
        ("defaultTopicQueueNums", "4"),
        ("queueId", "0"),
        ("sysFlag", "0"),
        ("bornTimestamp", "1"),
        ("flag", "0"),
        ("unitMode", "false"),
        ("bornHost", "127.0.0.1:50000"),
        ("storeHost", "127.0.0.1:10911"),
        ("storeTimestamp", "2"),
    ]);
    assert_round_trip(headers_of(326).unwrap().0, &reply);
    let mut cut = reply.clone();
    cut.remove("storeHost");
    assert!(matches!(
        cut.decode::<ReplyMessageRequestHeader>(),
        Err(HeaderError::MissingField {
            field: "storeHost",
            ..
        })
    ));

    let send_resp_5x = hand_made(&[
        ("msgId", "7F00000100002A9F0000000000000000"),
        ("queueId", "0"),
        ("queueOffset", "3"),
        ("transactionId", "tx"),
        ("batchUniqId", "u1,u2"),
        ("recallHandle", "h"),
    ]);
    assert_round_trip(round_trip::<SendMessageResponseHeader>, &send_resp_5x);

    let lite_pull = hand_made(&[
        ("consumerGroup", "g"),
        ("topic", "T"),
        ("queueId", "0"),
        ("queueOffset", "0"),
        ("maxMsgNums", "32"),
        ("sysFlag", "16"),
        ("commitOffset", "0"),
        ("suspendTimeoutMillis", "20000"),
        ("subVersion", "0"),
        ("maxMsgBytes", "1048576"),
        ("requestSource", "-1"),
        ("proxyFrowardClientId", "c"),
    ]);
    assert_round_trip(headers_of(361).unwrap().0, &lite_pull);
    let pull_resp_5x = hand_made(&[
        ("suggestWhichBrokerId", "0"),
        ("nextBeginOffset", "5"),
        ("minOffset", "0"),
        ("maxOffset", "5"),
        ("offsetDelta", "1"),
        ("topicSysFlag", "0"),
        ("groupSysFlag", "0"),
        ("forbiddenType", "0"),
    ]);
    assert_round_trip(headers_of(361).unwrap().1, &pull_resp_5x);

    for (code, ext) in [
        (
            14,
            &[
                ("consumerGroup", "g"),
                ("topic", "T"),
                ("queueId", "0"),
                ("setZeroIfNotFound", "true"),
            ][..],
        ),
        (
            29,
            &[
                ("topic", "T"),
                ("queueId", "0"),
                ("timestamp", "1"),
                ("boundaryType", "UPPER"),
            ][..],
        ),
        (
            30,
            &[("topic", "T"), ("queueId", "0"), ("committed", "false")][..],
        ),
        (33, &[("topic", "T"), ("offset", "196")][..]),
        (
            220,
            &[
                ("group", "g"),
                ("topic", "T"),
                ("queueId", "2"),
                ("offset", "9"),
                ("timestamp", "-1"),
                ("isForce", "true"),
            ][..],
        ),
        (
            309,
            &[
                ("consumerGroup", "g"),
                ("clientId", "c"),
                ("msgId", "m"),
                ("brokerName", "b"),
                ("topic", "T"),
                ("topicSysFlag", "0"),
                ("groupSysFlag", "0"),
            ][..],
        ),
        (
            39,
            &[
                ("topic", "T"),
                ("tranStateTableOffset", "1"),
                ("commitLogOffset", "2"),
                ("msgId", "m"),
                ("transactionId", "t"),
                ("offsetMsgId", "o"),
            ][..],
        ),
    ] {
        assert_round_trip(headers_of(code).unwrap().0, &hand_made(ext));
    }
}
