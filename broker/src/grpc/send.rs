//! SendMessage (the proxy's `SendMessageActivity` and `ProducerProcessor.sendMessage`).
//!
//! Checks in the proxy's order: no message is MESSAGE_CORRUPTED "no message to send"; the
//! first message's topic (ILLEGAL_TOPIC), every message on that topic (MESSAGE_CORRUPTED
//! "topic in message is not same"); each message's conversion (`grpc::convert`); with
//! `enableTopicMessageTypeCheck` the message's type against the topic's `message.type`
//! (`DefaultTopicMessageTypeValidator`: MESSAGE_PROPERTY_CONFLICT_WITH_TYPE unless equal or the
//! topic is MIXED; an unknown topic counts as UNSPECIFIED and is refused the same way; retry and
//! DLQ topics are not checked). The queue: a single message with a message group goes to
//! `Hashing.consistentHash(group.hashCode(), writeQueues)` (Guava's), so a group keeps one queue
//! and its order; otherwise the writable queues in turn.
//!
//! Each message then is the SEND_MESSAGE_V2 a remoting producer would send (producer group =
//! the topic, default topic TBW102), run through the broker's processor. The answer per message
//! follows `convertToSendMessageResponse`: SUCCESS → OK with the client's message id, the queue
//! offset and, for a half message, the transaction id EndTransaction will name;
//! FLUSH_DISK_TIMEOUT → MASTER_PERSISTENCE_TIMEOUT, FLUSH_SLAVE_TIMEOUT →
//! SLAVE_PERSISTENCE_TIMEOUT, SLAVE_NOT_AVAILABLE → HA_NOT_AVAILABLE. A refusal fails the call as
//! the proxy's broker exception does (`ResponseBuilder.buildCode`). The response status is the
//! entries' one code, or MULTIPLE_RESULTS.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use grpc::convert::{self, status, Invalid};
use grpc::v2::{Code, MessageType, SendMessageRequest, SendMessageResponse, SendResultEntry};
use remoting_codec::code::{request, response};
use remoting_codec::message::{java_string_hash_code, OffsetMessageId};
use remoting_codec::protocol::perm;
use remoting_codec::protocol::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use remoting_codec::RemotingCommand;

use super::route::{topic_message_type, validate_topic};
use super::transaction::TxRecord;
use super::{Caller, GrpcContext};
use crate::topic::validator::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};

static ROUND_ROBIN: AtomicU32 = AtomicU32::new(0);

/// Guava's `Hashing.consistentHash(long, int)` (Lamping and Veach's jump hash with Guava's
/// linear congruential generator).
pub fn consistent_hash(input: i64, buckets: i32) -> i32 {
    let mut state = input as u64;
    let mut candidate: i32 = 0;
    loop {
        state = state
            .wrapping_mul(2_862_933_555_777_941_757)
            .wrapping_add(1);
        let next_double = f64::from(((state >> 33) as i32).wrapping_add(1)) / f64::from(1u32 << 31);
        let next = ((f64::from(candidate) + 1.0) / next_double) as i64;
        if next >= 0 && next < i64::from(buckets) {
            candidate = next as i32;
        } else {
            return candidate;
        }
    }
}

fn refused(s: grpc::v2::Status) -> SendMessageResponse {
    SendMessageResponse {
        status: Some(s),
        entries: vec![],
    }
}

pub async fn send_message(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: SendMessageRequest,
) -> SendMessageResponse {
    let Some(first) = req.messages.first() else {
        return refused(status(Code::MessageCorrupted, "no message to send"));
    };
    let topic = super::name_of(first.topic.as_ref()).to_owned();
    if let Err(i) = validate_topic(&topic) {
        return refused(i.status());
    }
    let limits = cx
        .ctrl
        .grpc_config
        .send_limits(cx.ctrl.store.config().max_message_size as i64);
    let now = crate::now_millis();
    let peer = caller.peer.to_string();
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        if m.topic != first.topic {
            return refused(status(
                Code::MessageCorrupted,
                "topic in message is not same",
            ));
        }
        match convert::build_message(m, &limits, &peer, now) {
            Ok(out) => messages.push(out),
            Err(i) => return refused(i.status()),
        }
    }
    let config = cx.ctrl.topic_config_manager.select_topic_config(&topic);
    if cx.ctrl.grpc_config.topic_message_type_check
        && !topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
        && !topic.starts_with(DLQ_GROUP_TOPIC_PREFIX)
    {
        let expected = config.as_ref().map_or("UNSPECIFIED", topic_message_type);
        let actual = convert::message_type_of(&messages[0].properties);
        let actual_name = match actual {
            MessageType::Normal => "NORMAL",
            MessageType::Fifo => "FIFO",
            MessageType::Delay => "DELAY",
            MessageType::Transaction => "TRANSACTION",
            MessageType::Unspecified => "UNSPECIFIED",
        };
        if expected != actual_name && expected != "MIXED" {
            return refused(status(
                Code::MessagePropertyConflictWithType,
                &format!("TopicMessageType validate failed, the expected type is {expected}, but actual type is {actual_name}"),
            ));
        }
    }
    let Some(config) = config else {
        return refused(
            Invalid::new(
                Code::TopicNotFound,
                format!("No topic route info in name server for the topic: {topic}"),
            )
            .status(),
        );
    };
    let writable = perm::is_writeable(config.perm) && config.write_queue_nums > 0;
    if !writable {
        return refused(status(Code::Forbidden, "no writable queue"));
    }
    let group = (messages.len() == 1)
        .then(|| messages[0].message_group.clone())
        .flatten();
    let queue_id = match group {
        Some(g) => consistent_hash(
            i64::from(java_string_hash_code(&g)),
            config.write_queue_nums,
        ),
        None => {
            (ROUND_ROBIN.fetch_add(1, Ordering::Relaxed) % config.write_queue_nums as u32) as i32
        }
    };
    let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
    let mut entries = Vec::with_capacity(messages.len());
    for m in messages {
        let uniq = m.properties.uniq_key().unwrap_or_default().to_owned();
        let prepared = m.sys_flag
            & remoting_codec::message::sysflag::message_sys_flag::TRANSACTION_PREPARED_TYPE
            != 0;
        let header = SendMessageRequestHeaderV2 {
            producer_group: topic.clone(),
            topic: topic.clone(),
            default_topic: "TBW102".to_owned(),
            default_topic_queue_nums: 4,
            queue_id,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            flag: 0,
            properties: Some(m.properties.encode()),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            broker_name: None,
        };
        let cmd = RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(m.body);
        let resp = match cx.dispatch(caller, &session.conn, cmd).await {
            Ok(Some(resp)) => resp,
            Ok(None) => return refused(status(Code::InternalServerError, "send status is empty")),
            Err(s) => return refused(s),
        };
        let entry_status = match resp.code {
            response::SUCCESS => convert::ok(),
            response::FLUSH_DISK_TIMEOUT => status(
                Code::MasterPersistenceTimeout,
                "send message failed, sendStatus=FLUSH_DISK_TIMEOUT",
            ),
            response::FLUSH_SLAVE_TIMEOUT => status(
                Code::SlavePersistenceTimeout,
                "send message failed, sendStatus=FLUSH_SLAVE_TIMEOUT",
            ),
            response::SLAVE_NOT_AVAILABLE => status(
                Code::HaNotAvailable,
                "send message failed, sendStatus=SLAVE_NOT_AVAILABLE",
            ),
            code => return refused(convert::status_of_remoting(code, resp.remark.as_deref())),
        };
        let mut entry = SendResultEntry {
            status: Some(entry_status.clone()),
            ..Default::default()
        };
        if resp.code == response::SUCCESS {
            let Ok(h) = resp.decode_header::<SendMessageResponseHeader>() else {
                return refused(status(
                    Code::InternalServerError,
                    "send response without its header",
                ));
            };
            entry.message_id = uniq.clone();
            entry.offset = h.queue_offset;
            if prepared {
                let commit_log_offset = h
                    .msg_id
                    .parse::<OffsetMessageId>()
                    .map(|id| id.offset)
                    .unwrap_or(-1);
                entry.transaction_id = cx.record_transaction(TxRecord {
                    producer_group: topic.clone(),
                    tran_state_table_offset: h.queue_offset,
                    commit_log_offset,
                    msg_id: uniq,
                });
            }
        }
        entries.push(entry);
    }
    let codes: BTreeSet<i32> = entries
        .iter()
        .map(|e| e.status.as_ref().map_or(0, |s| s.code))
        .collect();
    let overall = match codes.len() {
        0 => status(Code::InternalServerError, "send status is empty"),
        1 => {
            let code = Code::try_from(*codes.first().unwrap_or(&0)).unwrap_or(Code::Ok);
            status(code, code.as_str_name())
        }
        _ => status(Code::MultipleResults, Code::MultipleResults.as_str_name()),
    };
    SendMessageResponse {
        status: Some(overall),
        entries,
    }
}

#[cfg(test)]
mod tests {
    use super::consistent_hash;

    #[test]
    fn guavas_consistent_hash() {
        // Jump consistent hash: in range, and stable but for moves to a new last bucket.
        assert_eq!(consistent_hash(0, 8), 0);
        for input in [-5i64, 1, 42, 1_000_003, i64::from(i32::MIN)] {
            let b = consistent_hash(input, 8);
            assert!((0..8).contains(&b));
            // Growing the bucket count only ever moves an input to the new bucket.
            let c = consistent_hash(input, 9);
            assert!(c == b || c == 8, "{input}: {b} then {c}");
        }
    }
}
