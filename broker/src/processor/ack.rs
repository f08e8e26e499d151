//! ACK_MESSAGE (200051) and BATCH_ACK_MESSAGE (200151), 5.3.3's `AckMessageProcessor` over
//! [`crate::pop::PopService`].
//!
//! ACK_MESSAGE: no topic → TOPIC_NOT_EXIST (`topic[T] not exist, apply first please! …`);
//! queueId outside the read queues → MESSAGE_ILLEGAL (`queueId[..] is illegal, …`); an offset
//! outside the queue's `min..=max` → NO_MESSAGE (`offset is illegal, key:T@q, commit:o,
//! store:min~max`); an extraInfo (receipt handle) Java's `ExtraInfoUtil` cannot read →
//! SYSTEM_ERROR (Java throws; its remark is the exception text, ours names the bad handle).
//! An orderly handle (reviveQid 999) that is not in the queue's batch → MESSAGE_ILLEGAL.
//! Otherwise an ack record goes to the revive queue of the handle and the answer is SUCCESS.
//!
//! BATCH_ACK_MESSAGE: the body `{"acks":[{"c","t","r","so","q","rq","pt","it","b"}],
//! "brokerName"}` (`b`: the acked offsets as `java.util.BitSet.toByteArray` in base64); no
//! body or no acks → NO_MESSAGE without remark; else each entry's in-range offsets are acked
//! (one `bAck` record per entry) and the answer is SUCCESS.

use base64::Engine;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::pop::AckMessageRequestHeader;
use remoting_codec::RemotingCommand;
use serde::Deserialize;

use super::{Refusal, Route};
use crate::pop::AckRequest;

/// An ack puts a record (the store's lock): a blocking thread.
pub(super) const ROUTES: &[Route] = &[
    Route::blocking(request::ACK_MESSAGE, |cx, req| {
        let h: AckMessageRequestHeader = req.decode_header()?;
        let ack = AckRequest {
            group: h.consumer_group,
            topic: h.topic,
            queue_id: h.queue_id,
            extra_info: h.extra_info,
            offset: h.offset,
            peer: cx.conn.peer_addr().to_string(),
        };
        cx.ctrl.pop.ack(&cx.ctrl, &ack, crate::now_millis())?;
        Ok(RemotingCommand::response_to(&req, response::SUCCESS).into())
    }),
    Route::blocking(request::BATCH_ACK_MESSAGE, |cx, req| {
        let body = remoting_codec::fastjson::from_slice::<BatchAckBody>(&req.body).ok();
        let Some(body) = body.filter(|b| !b.acks.is_empty()) else {
            return Err(Refusal::code_only(response::NO_MESSAGE));
        };
        let now = crate::now_millis();
        let peer = cx.conn.peer_addr().to_string();
        for a in &body.acks {
            cx.ctrl.pop.batch_ack(
                &cx.ctrl,
                a.consumer_group.as_deref().unwrap_or(""),
                a.topic.as_deref().unwrap_or(""),
                a.retry.as_deref().unwrap_or("0"),
                a.queue_id,
                a.revive_queue_id,
                a.start_offset,
                a.pop_time,
                a.invisible_time,
                &a.bits(),
                body.broker_name.as_deref(),
                &peer,
                now,
            );
        }
        Ok(RemotingCommand::response_to(&req, response::SUCCESS).into())
    }),
];

/// `BatchAckMessageRequestBody`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchAckBody {
    #[serde(default)]
    broker_name: Option<String>,
    #[serde(default)]
    acks: Vec<BatchAck>,
}

/// `BatchAck` (short names, Java's `alternateNames` accepted).
#[derive(Deserialize)]
struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup", default)]
    consumer_group: Option<String>,
    #[serde(rename = "t", alias = "topic", default)]
    topic: Option<String>,
    #[serde(rename = "r", alias = "retry", default)]
    retry: Option<String>,
    #[serde(rename = "so", alias = "startOffset", default)]
    start_offset: i64,
    #[serde(rename = "q", alias = "queueId", default)]
    queue_id: i32,
    #[serde(rename = "rq", alias = "reviveQueueId", default)]
    revive_queue_id: i32,
    #[serde(rename = "pt", alias = "popTime", default)]
    pop_time: i64,
    #[serde(rename = "it", alias = "invisibleTime", default)]
    invisible_time: i64,
    #[serde(rename = "b", alias = "bitSet", default)]
    bit_set: Option<BitSetBytes>,
}

/// fastjson reads a `byte[]` from a base64 string or an array of numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum BitSetBytes {
    Base64(String),
    Array(Vec<i16>),
}

impl BatchAck {
    /// The set bits (`BitSet.valueOf(bytes)`: bit i is bit i % 8 of byte i / 8).
    fn bits(&self) -> Vec<usize> {
        let bytes: Vec<u8> = match &self.bit_set {
            Some(BitSetBytes::Base64(s)) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default(),
            Some(BitSetBytes::Array(a)) => a.iter().map(|&b| b as u8).collect(),
            None => Vec::new(),
        };
        let mut bits = Vec::new();
        for (i, byte) in bytes.iter().enumerate() {
            for j in 0..8 {
                if byte & (1 << j) != 0 {
                    bits.push(i * 8 + j);
                }
            }
        }
        bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ack_body_as_java_writes_it() {
        // BitSet {0, 2, 9} → toByteArray [5, 2] → "BQI=".
        let json = r#"{"acks":[{"b":"BQI=","c":"G","it":60000,"pt":1,"q":1,"r":"0","rq":3,"so":10,"t":"T"}],"brokerName":"b"}"#;
        let body: BatchAckBody = remoting_codec::fastjson::from_str(json).unwrap();
        assert_eq!(body.acks[0].bits(), vec![0, 2, 9]);
        assert_eq!(body.acks[0].revive_queue_id, 3);
        assert_eq!(body.broker_name.as_deref(), Some("b"));
        let arr: BatchAckBody =
            remoting_codec::fastjson::from_str(r#"{"acks":[{"bitSet":[1]}]}"#).unwrap();
        assert_eq!(arr.acks[0].bits(), vec![0]);
    }
}
