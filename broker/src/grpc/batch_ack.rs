//! AckMessage with the proxy's `enableBatchAck=true` (`AckMessageActivity.ackMessageInBatch`,
//! `ConsumerProcessor.batchAckMessage`, `LocalMessageService.batchAckMessage`): one
//! BATCH_ACK_MESSAGE for the request instead of one ACK_MESSAGE per entry.
//!
//! Every handle is decoded first; one Java cannot decode fails the whole request
//! (INTERNAL_SERVER_ERROR, no entries), as the exception escapes the activity. An expired
//! handle is its entry's INVALID_RECEIPT_HANDLE "receipt handle is expired" and is not sent.
//! The others are merged by `retry@queueId@ckQueueOffset@popTime` into `BatchAck`s (short
//! JSON names `c t r so q rq pt it b`, `b` the acked offsets − ckQueueOffset as
//! `BitSet.toByteArray` in base64) under this broker's name; the broker's answer is every sent
//! entry's status: OK, or INTERNAL_SERVER_ERROR "ack failed: status is abnormal". Java's
//! `BitSet.set` throws for a negative index, and a handle's offset far past its checkpoint's
//! start would make Java allocate that many bits: both fail the request here (an offset more
//! than 65,536 past the start is not one a pop of at most 32 messages hands out).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use grpc::convert::{ok, status};
use grpc::v2::{AckMessageEntry, AckMessageResponse, AckMessageResultEntry, Code, Status};
use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;
use serde_json::json;

use super::consume::ReceiptHandle;
use super::{Caller, GrpcContext};

/// `retry@queueId@ckQueueOffset@popTime`: the handles of one `BatchAck`.
type MergeKey = (String, i32, i64, i64);

/// The largest bit index a batch ack accepts.
const MAX_BIT: i64 = 65_536;

/// `BitSet.toByteArray` of these bits.
fn bitset_bytes(bits: &[usize]) -> Vec<u8> {
    let Some(&max) = bits.iter().max() else {
        return vec![];
    };
    let mut bytes = vec![0u8; max / 8 + 1];
    for &b in bits {
        bytes[b / 8] |= 1 << (b % 8);
    }
    bytes
}

/// The BATCH_ACK_MESSAGE body of `handles`; Err for an offset the bit set cannot hold.
pub fn batch_body(
    group: &str,
    topic: &str,
    broker_name: &str,
    handles: &[&ReceiptHandle],
) -> Result<serde_json::Value, String> {
    let mut merged: BTreeMap<MergeKey, (&ReceiptHandle, Vec<usize>)> = BTreeMap::new();
    for h in handles {
        let bit = h.offset.saturating_sub(h.start_offset);
        if !(0..=MAX_BIT).contains(&bit) {
            return Err(format!("bitIndex out of range: {bit}"));
        }
        let key = (
            h.topic_type.clone(),
            h.queue_id,
            h.start_offset,
            h.retrieve_time,
        );
        merged
            .entry(key)
            .or_insert((h, vec![]))
            .1
            .push(bit as usize);
    }
    let acks: Vec<serde_json::Value> = merged
        .values()
        .map(|(h, bits)| {
            json!({
                "c": group,
                "t": topic,
                "r": h.topic_type,
                "so": h.start_offset,
                "q": h.queue_id,
                "rq": h.revive_qid,
                "pt": h.retrieve_time,
                "it": h.invisible_time,
                "b": base64::engine::general_purpose::STANDARD.encode(bitset_bytes(bits)),
            })
        })
        .collect();
    Ok(json!({ "acks": acks, "brokerName": broker_name }))
}

/// `ackMessageInBatch`: the response (the caller checked the names).
pub async fn ack_in_batch(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    group: &str,
    topic: &str,
    entries: &[AckMessageEntry],
) -> AckMessageResponse {
    let refused = |s: Status| AckMessageResponse {
        status: Some(s),
        entries: vec![],
    };
    let mut handles = Vec::with_capacity(entries.len());
    for e in entries {
        match ReceiptHandle::decode(&e.receipt_handle) {
            Ok(h) => handles.push(h),
            Err(m) => return refused(status(Code::InternalServerError, &m)),
        }
    }
    let now = crate::now_millis();
    let live: Vec<&ReceiptHandle> = handles.iter().filter(|h| !h.is_expired(now)).collect();
    let mut sent_status = ok();
    if !live.is_empty() {
        let body = match batch_body(group, topic, &cx.ctrl.broker_config.broker_name, &live) {
            Ok(b) => b,
            Err(m) => return refused(status(Code::InternalServerError, &m)),
        };
        let cmd = RemotingCommand::request_without_header(request::BATCH_ACK_MESSAGE)
            .with_body(body.to_string().into_bytes());
        let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
        sent_status = match cx.dispatch(caller, &session.conn, cmd).await {
            Ok(Some(r)) if r.code == response::SUCCESS => ok(),
            Ok(_) => status(Code::InternalServerError, "ack failed: status is abnormal"),
            Err(s) => status(Code::InternalServerError, &s.message),
        };
    }
    let results: Vec<AckMessageResultEntry> = entries
        .iter()
        .zip(&handles)
        .map(|(e, h)| AckMessageResultEntry {
            message_id: e.message_id.clone(),
            receipt_handle: e.receipt_handle.clone(),
            status: Some(if h.is_expired(now) {
                status(Code::InvalidReceiptHandle, "receipt handle is expired")
            } else {
                sent_status.clone()
            }),
        })
        .collect();
    AckMessageResponse {
        status: Some(super::consume::overall(&results)),
        entries: results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_merge_into_javas_batch_acks() {
        let a = ReceiptHandle::decode("10 1000 60000 3 0 b 1 10 500").unwrap();
        let b = ReceiptHandle::decode("10 1000 60000 3 0 b 1 12 600").unwrap();
        let c = ReceiptHandle::decode("4 1000 60000 3 1 b 0 19 700").unwrap();
        let body = batch_body("G", "T", "b", &[&a, &b, &c]).unwrap();
        let acks = body["acks"].as_array().unwrap();
        assert_eq!(acks.len(), 2);
        let normal = acks.iter().find(|x| x["r"] == "0").unwrap();
        // Bits {0, 2} → [5] → "BQ==".
        assert_eq!(normal["b"], "BQ==");
        assert_eq!(
            (normal["so"].as_i64(), normal["q"].as_i64()),
            (Some(10), Some(1))
        );
        let retry = acks.iter().find(|x| x["r"] == "1").unwrap();
        // Bit 15 → [0, 128].
        assert_eq!(retry["b"], "AIA=");
        assert_eq!(body["brokerName"], "b");
        let bad = ReceiptHandle::decode("10 1000 60000 3 0 b 1 9 500").unwrap();
        assert!(batch_body("G", "T", "b", &[&bad]).is_err());
        assert_eq!(bitset_bytes(&[0, 2, 9]), vec![5, 2]);
    }
}
