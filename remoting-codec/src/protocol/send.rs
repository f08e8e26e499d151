//! The send family: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320),
//! SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325), and the broker's push of a reply
//! to the requesting client, PUSH_REPLY_MESSAGE_TO_CLIENT (326).
//!
//! Java producers send the V2 header (one-letter keys, to keep the header short) unless
//! `sendSmartMsg=false`; the broker converts it to the V1 header before doing anything else.
//! [`parse_send_header`] is that step. All five send codes are answered with
//! [`SendMessageResponseHeader`] plus two keys outside the header class, see
//! [`add_send_response_ext_fields`].

use crate::code::request::{
    SEND_BATCH_MESSAGE, SEND_MESSAGE, SEND_MESSAGE_V2, SEND_REPLY_MESSAGE, SEND_REPLY_MESSAGE_V2,
};
use crate::ext_fields::{field, ExtFields, FieldValue, HeaderError};
use crate::remoting_header;

/// `extFields` key of a send response: the broker's `regionId` (`DefaultRegion` unless set). The
/// Java client reads it without a null check, so every send response must carry it.
pub const MSG_REGION: &str = "MSG_REGION";
/// `extFields` key of a send response: the broker's `traceOn` flag as `true`/`false`. Read by the
/// Java client like [`MSG_REGION`].
pub const TRACE_ON: &str = "TRACE_ON";
/// The broker's default `regionId`.
pub const DEFAULT_REGION_ID: &str = "DefaultRegion";

remoting_header! {
    /// `SendMessageRequestHeader` (SEND_MESSAGE 10, SEND_REPLY_MESSAGE 324, and the form every V2
    /// header is converted to). `broker_name` is Java's inherited `bname` field, where the V2
    /// key `n` lands; `unitMode` and `batch` are primitives in 4.9.8 and therefore always sent.
    pub struct SendMessageRequestHeader {
        required producer_group: String = "producerGroup",
        required topic: String = "topic",
        required default_topic: String = "defaultTopic",
        required default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        required queue_id: i32 = "queueId",
        required sys_flag: i32 = "sysFlag",
        required born_timestamp: i64 = "bornTimestamp",
        required flag: i32 = "flag",
        optional properties: String = "properties",
        optional reconsume_times: i32 = "reconsumeTimes",
        default unit_mode: bool = "unitMode",
        default batch: bool = "batch",
        optional max_reconsume_times: i32 = "maxReconsumeTimes",
        optional broker_name: String = "bname",
    }
}

remoting_header! {
    /// `SendMessageRequestHeaderV2` (SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320,
    /// SEND_REPLY_MESSAGE_V2 325): the V1 fields under one-letter keys `a`…`n`, in V1 order
    /// (`l` is maxReconsumeTimes, `n` the target broker name). `k` and `m` are primitives in
    /// 4.9.8 and always sent.
    pub struct SendMessageRequestHeaderV2 {
        required producer_group: String = "a",
        required topic: String = "b",
        required default_topic: String = "c",
        required default_topic_queue_nums: i32 = "d",
        required queue_id: i32 = "e",
        required sys_flag: i32 = "f",
        required born_timestamp: i64 = "g",
        required flag: i32 = "h",
        optional properties: String = "i",
        optional reconsume_times: i32 = "j",
        default unit_mode: bool = "k",
        optional max_reconsume_times: i32 = "l",
        default batch: bool = "m",
        optional broker_name: String = "n",
    }
}

/// Java's `createSendMessageRequestHeaderV1`: a field-for-field copy.
impl From<SendMessageRequestHeaderV2> for SendMessageRequestHeader {
    fn from(v2: SendMessageRequestHeaderV2) -> Self {
        Self {
            producer_group: v2.producer_group,
            topic: v2.topic,
            default_topic: v2.default_topic,
            default_topic_queue_nums: v2.default_topic_queue_nums,
            queue_id: v2.queue_id,
            sys_flag: v2.sys_flag,
            born_timestamp: v2.born_timestamp,
            flag: v2.flag,
            properties: v2.properties,
            reconsume_times: v2.reconsume_times,
            unit_mode: v2.unit_mode,
            batch: v2.batch,
            max_reconsume_times: v2.max_reconsume_times,
            broker_name: v2.broker_name,
        }
    }
}

/// Java's `createSendMessageRequestHeaderV2`: a field-for-field copy.
impl From<SendMessageRequestHeader> for SendMessageRequestHeaderV2 {
    fn from(v1: SendMessageRequestHeader) -> Self {
        Self {
            producer_group: v1.producer_group,
            topic: v1.topic,
            default_topic: v1.default_topic,
            default_topic_queue_nums: v1.default_topic_queue_nums,
            queue_id: v1.queue_id,
            sys_flag: v1.sys_flag,
            born_timestamp: v1.born_timestamp,
            flag: v1.flag,
            properties: v1.properties,
            reconsume_times: v1.reconsume_times,
            unit_mode: v1.unit_mode,
            max_reconsume_times: v1.max_reconsume_times,
            batch: v1.batch,
            broker_name: v1.broker_name,
        }
    }
}

/// Reads the send header of a request by its code, as the Java broker's send and reply
/// processors do: the V2 form for 310, 320 and 325 (converted to V1), the V1 form for 10 and 324.
/// `Ok(None)` for any other code (Java returns null there).
pub fn parse_send_header(
    code: i32,
    ext: &ExtFields,
) -> Result<Option<SendMessageRequestHeader>, HeaderError> {
    match code {
        SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE | SEND_REPLY_MESSAGE_V2 => {
            decode_v2_as_v1(ext).map(Some)
        }
        SEND_MESSAGE | SEND_REPLY_MESSAGE => ext.decode().map(Some),
        _ => Ok(None),
    }
}

/// `ext.decode::<SendMessageRequestHeaderV2>()` converted to V1, with the same values and the
/// same first error, but reading the fields in one pass over `ext` (the V2 keys are the
/// letters `a`…`n`) instead of one search per field: the send path's header decode was
/// mostly those fourteen searches.
fn decode_v2_as_v1(ext: &ExtFields) -> Result<SendMessageRequestHeader, HeaderError> {
    const HEADER: &str = "SendMessageRequestHeaderV2";
    // As ExtFields::get, the first entry of a key counts.
    let mut slots: [Option<&str>; 14] = [None; 14];
    for (key, value) in ext.iter() {
        if let &[letter @ b'a'..=b'n'] = key.as_bytes() {
            slots[(letter - b'a') as usize].get_or_insert(value);
        }
    }
    let required = |i: usize, field| field::required_value(slots[i], HEADER, field);
    // Struct fields are evaluated in this order: a missing or bad required field fails with
    // the first of them, as the generated decoder does.
    Ok(SendMessageRequestHeader {
        producer_group: required(0, "a")?,
        topic: required(1, "b")?,
        default_topic: required(2, "c")?,
        default_topic_queue_nums: field::required_value(slots[3], HEADER, "d")?,
        queue_id: field::required_value(slots[4], HEADER, "e")?,
        sys_flag: field::required_value(slots[5], HEADER, "f")?,
        born_timestamp: field::required_value(slots[6], HEADER, "g")?,
        flag: field::required_value(slots[7], HEADER, "h")?,
        properties: slots[8].map(str::to_owned),
        reconsume_times: slots[9].and_then(i32::parse_field),
        unit_mode: slots[10].and_then(bool::parse_field).unwrap_or_default(),
        max_reconsume_times: slots[11].and_then(i32::parse_field),
        batch: slots[12].and_then(bool::parse_field).unwrap_or_default(),
        broker_name: slots[13].map(str::to_owned),
    })
}

remoting_header! {
    /// `SendMessageResponseHeader`, the answer to every send code. `msg_id` is the offsetMsgId
    /// (store host + commit-log offset; comma-joined for a batch). `batch_uniq_id` and
    /// `recall_handle` are 5.x only. A send response must also carry [`MSG_REGION`] and
    /// [`TRACE_ON`]; see [`add_send_response_ext_fields`].
    pub struct SendMessageResponseHeader {
        required msg_id: String = "msgId",
        required queue_id: i32 = "queueId",
        required queue_offset: i64 = "queueOffset",
        optional transaction_id: String = "transactionId",
        optional batch_uniq_id: String = "batchUniqId",
        optional recall_handle: String = "recallHandle",
    }
}

remoting_header! {
    /// `RecallMessageRequestHeader` (RECALL_MESSAGE 370, 5.3.x `DefaultMQProducer.recallMessage`):
    /// the topic and the `recallHandle` a timer message's send answer carried.
    pub struct RecallMessageRequestHeader {
        optional producer_group: String = "producerGroup",
        required topic: String = "topic",
        required recall_handle: String = "recallHandle",
    }
}

remoting_header! {
    /// `RecallMessageResponseHeader` (RECALL_MESSAGE 370): the recalled message's UNIQ_KEY.
    pub struct RecallMessageResponseHeader {
        required msg_id: String = "msgId",
    }
}

/// Adds the two keys a Java broker puts on every send response (success or not) besides the
/// header: [`MSG_REGION`] = `region_id` and [`TRACE_ON`] = `trace_on`. The Java client
/// dereferences both unconditionally, so a response without them fails on the client.
pub fn add_send_response_ext_fields(ext: &mut ExtFields, region_id: &str, trace_on: bool) {
    ext.insert(MSG_REGION, region_id);
    ext.insert(TRACE_ON, if trace_on { "true" } else { "false" });
}

remoting_header! {
    /// `ReplyMessageRequestHeader` (PUSH_REPLY_MESSAGE_TO_CLIENT 326, broker → requesting
    /// client): the reply's send header plus where and when the broker stored it. `bornHost` and
    /// `storeHost` are `ip:port`; `storeTimestamp` is a primitive `long` in Java.
    pub struct ReplyMessageRequestHeader {
        required producer_group: String = "producerGroup",
        required topic: String = "topic",
        required default_topic: String = "defaultTopic",
        required default_topic_queue_nums: i32 = "defaultTopicQueueNums",
        required queue_id: i32 = "queueId",
        required sys_flag: i32 = "sysFlag",
        required born_timestamp: i64 = "bornTimestamp",
        required flag: i32 = "flag",
        optional properties: String = "properties",
        optional reconsume_times: i32 = "reconsumeTimes",
        default unit_mode: bool = "unitMode",
        required born_host: String = "bornHost",
        required store_host: String = "storeHost",
        default store_timestamp: i64 = "storeTimestamp",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2_fields() -> ExtFields {
        [
            ("a", "pg"),
            ("b", "T"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "3"),
            ("f", "0"),
            ("g", "1795241991318"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA"),
            ("j", "0"),
            ("k", "false"),
            ("m", "true"),
            ("n", "broker-a"),
        ]
        .into_iter()
        .collect()
    }

    /// The one-pass V2 decoder gives what the generated one gives: every field present,
    /// each one missing, each number or flag unparsable, and foreign keys among them.
    #[test]
    fn one_pass_v2_decode_matches_the_generated_decoder() {
        let generated = |ext: &ExtFields| {
            ext.decode::<SendMessageRequestHeaderV2>()
                .map(SendMessageRequestHeader::from)
        };
        let mut cases = vec![v2_fields()];
        let keys = [
            "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n",
        ];
        for key in keys {
            let mut missing = v2_fields();
            missing.remove(key);
            cases.push(missing);
            for bad in ["x", "", "TRUE", "99999999999999999999", "-1"] {
                let mut invalid = v2_fields();
                invalid.insert(key, bad);
                cases.push(invalid);
            }
        }
        let mut foreign = ExtFields::new();
        foreign.insert("bname", "x");
        foreign.insert("aa", "y");
        for (k, v) in v2_fields().iter() {
            foreign.insert(k, v);
        }
        foreign.insert("l", "16");
        foreign.insert("A", "z");
        cases.push(foreign);
        cases.push(ExtFields::new());
        for ext in &cases {
            assert_eq!(decode_v2_as_v1(ext), generated(ext), "{ext:?}");
        }
    }

    #[test]
    fn v2_converts_to_v1_and_back() {
        let v2: SendMessageRequestHeaderV2 = v2_fields().decode().unwrap();
        let v1 = parse_send_header(SEND_MESSAGE_V2, &v2_fields())
            .unwrap()
            .unwrap();
        assert_eq!(v1.producer_group, "pg");
        assert_eq!(v1.broker_name.as_deref(), Some("broker-a"));
        assert!(v1.batch && !v1.unit_mode);
        assert_eq!(v1.max_reconsume_times, None);
        assert_eq!(SendMessageRequestHeaderV2::from(v1.clone()), v2);
        let mut ext = ExtFields::new();
        ext.encode(&v1);
        assert_eq!(ext.get("bname"), Some("broker-a"));
        assert_eq!(parse_send_header(SEND_MESSAGE, &ext).unwrap(), Some(v1));
        assert_eq!(parse_send_header(11, &ext).unwrap(), None);
    }

    #[test]
    fn v2_missing_key_names_the_letter() {
        let mut ext = v2_fields();
        ext.remove("g");
        assert_eq!(
            parse_send_header(SEND_BATCH_MESSAGE, &ext).unwrap_err(),
            HeaderError::MissingField {
                header: "SendMessageRequestHeaderV2",
                field: "g"
            }
        );
    }

    #[test]
    fn response_ext_fields() {
        let mut ext = ExtFields::new();
        ext.encode(&SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: 3,
            queue_offset: 0,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        });
        add_send_response_ext_fields(&mut ext, DEFAULT_REGION_ID, true);
        assert_eq!(ext.get(MSG_REGION), Some("DefaultRegion"));
        assert_eq!(ext.get(TRACE_ON), Some("true"));
        assert_eq!(ext.len(), 5);
    }
}
