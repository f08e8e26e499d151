//! Every message inside the recorded Java traffic decodes, re-encodes byte for byte, and agrees
//! with what the Java broker said about it (offsetMsgIds, body CRCs, compressed sizes).

mod support;

use std::collections::HashMap;

use bytes::Bytes;
use remoting_codec::message::{
    decode_batch, decode_records, ClientMessageId, MessageProperties, OffsetMessageId,
    StoredMessage,
};
use support::GoldenFrame;

const PULL_MESSAGE: i32 = 11;
const QUERY_MESSAGE: i32 = 12;
const VIEW_MESSAGE_BY_ID: i32 = 33;
const CHECK_TRANSACTION_STATE: i32 = 39;
const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
const SEND_MESSAGE: i32 = 10;
const SEND_MESSAGE_V2: i32 = 310;
const SEND_BATCH_MESSAGE: i32 = 320;

/// A message found in a frame, with where it came from.
struct Found {
    file: String,
    at: String,
    msg: StoredMessage,
    raw: Bytes,
}

/// Decodes every message record carried by the captures: bodies of successful PULL, QUERY and
/// VIEW responses, and of CHECK_TRANSACTION_STATE / CONSUME_MESSAGE_DIRECTLY requests.
fn recorded_messages(frames: &[GoldenFrame]) -> (Vec<Found>, HashMap<i32, usize>) {
    let mut found = Vec::new();
    let mut per_code = HashMap::new();
    for f in frames {
        let Some(code) = f.request_code_of_exchange() else {
            continue;
        };
        let carries_records = match code {
            PULL_MESSAGE | QUERY_MESSAGE | VIEW_MESSAGE_BY_ID => f.is_response() && f.code() == 0,
            CHECK_TRANSACTION_STATE | CONSUME_MESSAGE_DIRECTLY => !f.is_response(),
            _ => false,
        };
        if !carries_records || f.body.is_empty() {
            continue;
        }
        let mut pos = 0;
        for msg in decode_records(&f.body) {
            let msg = msg.unwrap_or_else(|e| panic!("{}: {e}", f.describe()));
            let len = msg.store_size as usize;
            found.push(Found {
                file: f.file.clone(),
                at: format!("{}@{pos}", f.describe()),
                raw: f.body.slice(pos..pos + len),
                msg,
            });
            pos += len;
            *per_code.entry(code).or_insert(0) += 1;
        }
        assert_eq!(pos, f.body.len(), "{}", f.describe());
    }
    (found, per_code)
}

#[test]
fn every_recorded_message_decodes_and_re_encodes() {
    let frames = support::golden_frames();
    let (found, per_code) = recorded_messages(&frames);
    eprintln!("messages per code: {per_code:?}");
    assert!(per_code[&PULL_MESSAGE] >= 190, "{per_code:?}");
    assert!(per_code[&QUERY_MESSAGE] >= 11, "{per_code:?}");
    assert!(per_code[&VIEW_MESSAGE_BY_ID] >= 2, "{per_code:?}");
    assert!(per_code[&CHECK_TRANSACTION_STATE] >= 3, "{per_code:?}");
    assert!(per_code[&CONSUME_MESSAGE_DIRECTLY] >= 2, "{per_code:?}");
    for m in &found {
        assert_eq!(
            m.msg.encode().unwrap(),
            m.raw,
            "{}: re-encode differs",
            m.at
        );
        assert_eq!(
            m.msg.compute_body_crc(),
            m.msg.body_crc,
            "{}: body CRC",
            m.at
        );
        assert_eq!(m.msg.encoded_len(), m.raw.len(), "{}", m.at);
        // The body is a view of the frame, not a copy.
        if !m.msg.body.is_empty() {
            let inside = m.raw.as_ptr() as usize..m.raw.as_ptr() as usize + m.raw.len();
            assert!(inside.contains(&(m.msg.body.as_ptr() as usize)), "{}", m.at);
        }
        let reparsed: OffsetMessageId = m.msg.offset_msg_id().parse().unwrap();
        assert_eq!(reparsed.address, m.msg.store_host);
        assert_eq!(reparsed.offset, m.msg.commit_log_offset);
    }
}

/// UNIQ_KEY -> the offsetMsgId the broker answered in the SEND response, per capture file.
fn sent_offset_msg_ids(frames: &[GoldenFrame]) -> (HashMap<(String, String), String>, usize) {
    let mut requests: HashMap<(String, i64, i64), Vec<String>> = HashMap::new();
    let mut ids = HashMap::new();
    let mut batches = 0;
    for f in frames {
        let key = (
            f.file.clone(),
            f.record["conn"].as_i64().unwrap(),
            f.record["opaque"].as_i64().unwrap(),
        );
        if !f.is_response() {
            let uniq_keys = match f.code() {
                SEND_MESSAGE | SEND_MESSAGE_V2 => {
                    let ext = f.ext_fields().unwrap();
                    let props = ext
                        .get("i")
                        .or_else(|| ext.get("properties"))
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    MessageProperties::parse(props)
                        .uniq_key()
                        .map(str::to_owned)
                        .into_iter()
                        .collect()
                }
                SEND_BATCH_MESSAGE => decode_batch(&f.body)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.describe()))
                    .iter()
                    .map(|e| e.properties.uniq_key().unwrap().to_owned())
                    .collect(),
                _ => continue,
            };
            requests.insert(key, uniq_keys);
        } else if f.code() == 0 {
            let Some(uniq_keys) = requests.get(&key) else {
                continue;
            };
            if !matches!(
                f.request_code,
                Some(SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE)
            ) {
                continue;
            }
            let msg_ids: Vec<&str> = f.ext_fields().unwrap()["msgId"]
                .as_str()
                .unwrap()
                .split(',')
                .collect();
            assert_eq!(msg_ids.len(), uniq_keys.len(), "{}", f.describe());
            if f.request_code == Some(SEND_BATCH_MESSAGE) {
                batches += 1;
            }
            for (u, id) in uniq_keys.iter().zip(msg_ids) {
                ids.insert((f.file.clone(), u.clone()), id.to_owned());
            }
        }
    }
    (ids, batches)
}

#[test]
fn offset_msg_ids_match_the_send_responses() {
    let frames = support::golden_frames();
    let (found, _) = recorded_messages(&frames);
    let (sent, batches) = sent_offset_msg_ids(&frames);
    assert!(batches >= 1);
    let (mut matched, mut moved) = (0, 0);
    for m in &found {
        let Some(uniq) = m.msg.properties.uniq_key() else {
            continue;
        };
        let Some(expected) = sent.get(&(m.file.clone(), uniq.to_owned())) else {
            continue;
        };
        if m.msg.offset_msg_id() == *expected {
            matched += 1;
        } else {
            // Retries, DLQ copies, delayed and re-checked half messages keep the UNIQ_KEY but
            // are stored again at a new offset.
            let p = &m.msg.properties;
            assert!(
                m.msg.reconsume_times > 0
                    || p.real_topic().is_some()
                    || p.retry_topic().is_some()
                    || m.msg.topic.starts_with('%'),
                "{}: offsetMsgId {} but the send answered {expected}",
                m.at,
                m.msg.offset_msg_id()
            );
            moved += 1;
        }
    }
    eprintln!("offsetMsgId matches: {matched}, re-stored copies: {moved}");
    assert!(matched >= 180, "{matched}");
}

#[test]
fn batch_bodies_decode_into_their_entries() {
    let frames = support::frames_for(SEND_BATCH_MESSAGE);
    let mut total = 0;
    for f in frames.iter().filter(|f| !f.is_response()) {
        let entries = decode_batch(&f.body).unwrap();
        // s03: one batch of 10 with tag `batch` in the header and `bidx` per entry.
        assert_eq!(entries.len(), 10, "{}", f.describe());
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(e.properties.get("bidx"), Some(i.to_string().as_str()));
            assert!(e.properties.uniq_key().is_some());
        }
        let again = remoting_codec::message::encode_batch(&entries).unwrap();
        assert_eq!(again, f.body, "{}", f.describe());
        total += entries.len();
    }
    assert_eq!(total, 10);
}

#[test]
fn compressed_bodies_inflate_to_the_sent_sizes() {
    let frames = support::golden_frames();
    let (found, _) = recorded_messages(&frames);
    let mut sizes: Vec<usize> = found
        .iter()
        .filter(|m| m.file.starts_with("s03") && m.msg.sys_flag == 769)
        .map(|m| m.msg.uncompressed_body(1 << 20).unwrap().len())
        .collect();
    sizes.sort();
    sizes.dedup();
    assert_eq!(sizes, [4500, 5120]);
    let text = found
        .iter()
        .find(|m| m.file.starts_with("s03") && m.msg.sys_flag == 769 && m.msg.body.len() == 44)
        .expect("the 5120-byte text travels as 44 bytes");
    assert_eq!(text.msg.uncompressed_body(1 << 20).unwrap().len(), 5120);
    // The limit is enforced.
    assert!(text.msg.uncompressed_body(5119).is_err());
}

#[test]
fn recorded_uniq_keys_parse() {
    let frames = support::golden_frames();
    let (found, _) = recorded_messages(&frames);
    let mut n = 0;
    for m in &found {
        let Some(uniq) = m.msg.properties.uniq_key() else {
            continue;
        };
        let id: ClientMessageId = uniq.parse().unwrap();
        assert_eq!(id.ip, std::net::Ipv4Addr::LOCALHOST);
        assert_eq!(id.to_string(), uniq);
        // The capture machine ran in UTC; the id's time is the producer's born time (the
        // client stamps both from one clock within a few ms).
        let t = id.nearly_time(m.msg.store_timestamp + 1, 0);
        let year_2026 = 1_767_225_600_000..1_798_761_600_000;
        assert!(year_2026.contains(&t), "{}: {t}", m.at);
        assert!(
            (t - m.msg.born_timestamp).abs() < 60_000
                || m.msg.reconsume_times > 0
                || m.msg.topic.starts_with('%')
                || m.msg.properties.real_topic().is_some(),
            "{}: id time {t}, born {}",
            m.at,
            m.msg.born_timestamp
        );
        n += 1;
    }
    assert!(n >= 200, "{n}");
}

#[test]
fn send_header_properties_re_encode_in_both_java_forms() {
    let (mut without_trailing, mut with_trailing) = (0, 0);
    for f in support::golden_frames() {
        if f.is_response()
            || !matches!(
                f.code(),
                SEND_MESSAGE | SEND_MESSAGE_V2 | SEND_BATCH_MESSAGE
            )
        {
            continue;
        }
        let ext = f.ext_fields().unwrap();
        let Some(s) = ext
            .get("i")
            .or_else(|| ext.get("properties"))
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        let p = MessageProperties::parse(s);
        assert_eq!(p.encode(), s, "{}", f.describe());
        if p.trailing_separator() {
            with_trailing += 1; // 5.3.3 clients
        } else {
            without_trailing += 1; // 4.9.8 clients
        }
    }
    eprintln!("4.9.8 form {without_trailing}, 5.x form {with_trailing}");
    assert!(without_trailing > 100 && with_trailing >= 10);
}
