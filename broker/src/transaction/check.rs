//! One check pass (Java's `TransactionalMessageServiceImpl.check`): which half messages are
//! still open and old enough to ask their producer about.
//!
//! Per queue of RMQ_SYS_TRANS_HALF_TOPIC (queue 0 in practice), from the CID_RMQ_SYS_TRANS
//! offsets of the half queue and of its op queue (same id in RMQ_SYS_TRANS_OP_HALF_TOPIC):
//! 1. op messages are read 32 at a time; each names a half queue offset that is done (`d`):
//!    offsets below the half queue's progress are finished bookkeeping ("done" op offsets),
//!    the others go into the remove map (half offset → op offset);
//! 2. half messages are walked in order: a removed one is passed over; one checked
//!    `transactionCheckMax` times, or older than `fileReservedTime`, is discarded to
//!    TRANS_CHECK_MAX_TIME_TOPIC; one stored after the pass began, or younger than its
//!    immunity (`transactionTimeOut`, or CHECK_IMMUNITY_TIME_IN_SECONDS), ends the walk;
//!    otherwise, when no op message could still be coming for it, it is put back at the end of
//!    the half queue with TRANSACTION_CHECK_TIMES + 1 and its producer group is asked
//!    (CHECK_TRANSACTION_STATE) about the new copy; else more op messages are read;
//! 3. the half offset moves past what was walked and the op offset past the contiguous run of
//!    done op messages.
//!
//! A message with an immunity property that is still immune is put back (once, with
//! TRAN_PREPARED_QUEUE_OFFSET naming its first offset) unless an op message already names that
//! offset. A walk stops after 60 s, and after a second unreadable half offset.

use std::collections::HashMap;

use bytes::Bytes;
use remoting_codec::message::message_const::{
    PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, PROPERTY_PRODUCER_GROUP,
    PROPERTY_TRANSACTION_CHECK_TIMES, PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET,
};
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::transaction::CheckTransactionStateRequestHeader;

use super::bridge::{
    renew_half_message_inner, renew_immunity_half_message_inner, Pull, PullStatus,
    TransactionalMessageBridge, REMOVE_TAG,
};
use crate::topic::validator::{RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC};

/// Java's `MAX_PROCESS_TIME_LIMIT`: one queue's walk ends after this long (ms).
const MAX_PROCESS_TIME_LIMIT: i64 = 60_000;
/// Java's `MAX_RETRY_COUNT_WHEN_HALF_NULL`.
const MAX_RETRY_COUNT_WHEN_HALF_NULL: i32 = 1;
/// Op messages read per pull.
const OP_PULL_NUMS: usize = 32;

/// The settings of a pass (broker.conf `transactionTimeOut`, `transactionCheckMax`, store
/// `fileReservedTime`).
#[derive(Clone, Copy, Debug)]
pub struct CheckConfig {
    pub transaction_timeout_ms: i64,
    pub transaction_check_max: i32,
    pub file_reserved_hours: i64,
}

/// A CHECK_TRANSACTION_STATE to send to a connection of `group` (Java's
/// `AbstractTransactionalMessageCheckListener.sendCheckMessage`).
#[derive(Clone, Debug)]
pub struct CheckRequest {
    /// PGROUP of the half message (`None`: Java finds no channel and only logs).
    pub group: Option<String>,
    pub header: CheckTransactionStateRequestHeader,
    /// The message as Java's `MessageDecoder.encode` writes it.
    pub body: Bytes,
}

impl TransactionalMessageBridge<'_> {
    /// A whole pass over every half queue. `now` is the clock; `resolve_half` gets each check.
    pub fn check(
        &self,
        config: CheckConfig,
        now: &dyn Fn() -> i64,
        resolve_half: &mut dyn FnMut(CheckRequest),
    ) {
        let queues = self.fetch_message_queues(RMQ_SYS_TRANS_HALF_TOPIC);
        if queues.is_empty() {
            tracing::warn!("The queue of topic is empty :{RMQ_SYS_TRANS_HALF_TOPIC}");
        }
        for queue_id in queues {
            self.check_queue(queue_id, config, now, resolve_half);
        }
    }

    fn check_queue(
        &self,
        queue_id: i32,
        config: CheckConfig,
        now: &dyn Fn() -> i64,
        resolve_half: &mut dyn FnMut(CheckRequest),
    ) {
        let start_time = now();
        let half_offset = self.fetch_consume_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id);
        let op_offset = self.fetch_consume_offset(RMQ_SYS_TRANS_OP_HALF_TOPIC, queue_id);
        if half_offset < 0 || op_offset < 0 {
            tracing::error!("half queue {queue_id}: illegal offset read: {half_offset}, op offset: {op_offset}, skip this queue");
            return;
        }
        let mut done_op_offsets: Vec<i64> = Vec::new();
        let mut remove_map: HashMap<i64, i64> = HashMap::new();
        let mut op_pull = self.fill_op_remove_map(
            &mut remove_map,
            queue_id,
            op_offset,
            half_offset,
            &mut done_op_offsets,
        );
        let mut get_message_null_count = 1;
        let mut new_offset = half_offset;
        let mut i = half_offset;
        loop {
            if now() - start_time > MAX_PROCESS_TIME_LIMIT {
                tracing::info!(
                    "half queue {queue_id}: process time reach max={MAX_PROCESS_TIME_LIMIT}"
                );
                break;
            }
            if let Some(op) = remove_map.remove(&i) {
                done_op_offsets.push(op);
            } else {
                let half = self.get_half_message(queue_id, i, 1);
                let Some(mut msg) = half.found.and_then(|f| f.into_iter().next()) else {
                    get_message_null_count += 1;
                    if get_message_null_count - 1 > MAX_RETRY_COUNT_WHEN_HALF_NULL
                        || half.status == PullStatus::NoNewMsg
                    {
                        break;
                    }
                    tracing::info!(
                        "half queue {queue_id}: illegal offset {i}, continue at {}",
                        half.next_begin_offset
                    );
                    i = half.next_begin_offset;
                    new_offset = i;
                    continue;
                };
                if need_discard(&mut msg, config.transaction_check_max)
                    || need_skip(&msg, config.file_reserved_hours, now())
                {
                    self.resolve_discard_msg(&msg);
                    new_offset = i + 1;
                    i += 1;
                    continue;
                }
                if msg.store_timestamp >= start_time {
                    break; // fresh: stored after this pass began, checked next time
                }
                let age = now() - msg.born_timestamp;
                let mut immunity = config.transaction_timeout_ms;
                match msg.properties.get(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS) {
                    Some(value) => {
                        immunity = immunity_time(value, config.transaction_timeout_ms);
                        if age < immunity
                            && self.check_prepare_queue_offset(
                                &mut remove_map,
                                &mut done_op_offsets,
                                &mut msg,
                            )
                        {
                            new_offset = i + 1;
                            i += 1;
                            continue;
                        }
                    }
                    None => {
                        if (0..immunity).contains(&age) {
                            break; // too young: checked later
                        }
                    }
                }
                let need_check = match op_pull.found.as_ref().and_then(|f| f.last()) {
                    None => age > immunity,
                    Some(last_op) => {
                        last_op.born_timestamp - start_time > config.transaction_timeout_ms
                    }
                } || age <= -1;
                if !need_check {
                    op_pull = self.fill_op_remove_map(
                        &mut remove_map,
                        queue_id,
                        op_pull.next_begin_offset,
                        half_offset,
                        &mut done_op_offsets,
                    );
                    continue;
                }
                match self.put_back_half_msg_queue(&mut msg) {
                    Some(request) => resolve_half(request),
                    // Java retries the same offset (until the time limit).
                    None => continue,
                }
            }
            new_offset = i + 1;
            i += 1;
        }
        if new_offset != half_offset {
            self.update_consume_offset(RMQ_SYS_TRANS_HALF_TOPIC, queue_id, new_offset);
        }
        let new_op_offset = calculate_op_offset(&mut done_op_offsets, op_offset);
        if new_op_offset != op_offset {
            self.update_consume_offset(RMQ_SYS_TRANS_OP_HALF_TOPIC, queue_id, new_op_offset);
        }
    }

    /// `fillOpRemoveMap`: reads up to 32 op messages from `op_offset`.
    fn fill_op_remove_map(
        &self,
        remove_map: &mut HashMap<i64, i64>,
        queue_id: i32,
        op_offset: i64,
        mini_offset: i64,
        done_op_offsets: &mut Vec<i64>,
    ) -> Pull {
        let pull = self.get_op_message(queue_id, op_offset, OP_PULL_NUMS);
        match pull.status {
            PullStatus::OffsetIllegal | PullStatus::NoMatchedMsg => {
                tracing::warn!(
                    "op queue {queue_id}: offset {op_offset} is illegal ({:?})",
                    pull.status
                );
                self.update_consume_offset(
                    RMQ_SYS_TRANS_OP_HALF_TOPIC,
                    queue_id,
                    pull.next_begin_offset,
                );
                return pull;
            }
            PullStatus::NoNewMsg => return pull,
            PullStatus::Found => {}
        }
        for op in pull.found.iter().flatten() {
            let half_offset = java_parse_long(&String::from_utf8_lossy(&op.body));
            if op.tags() == Some(REMOVE_TAG) {
                if half_offset < mini_offset {
                    done_op_offsets.push(op.queue_offset);
                } else {
                    remove_map.insert(half_offset, op.queue_offset);
                }
            } else {
                tracing::error!("found an illegal tag in op message {:?}", op.tags());
            }
        }
        pull
    }

    /// `checkPrepareQueueOffset`: true when the immune message can be passed over — an op
    /// message names its first offset, or its copy was put back.
    fn check_prepare_queue_offset(
        &self,
        remove_map: &mut HashMap<i64, i64>,
        done_op_offsets: &mut Vec<i64>,
        msg: &mut StoredMessage,
    ) -> bool {
        match msg
            .properties
            .get(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET)
            .map(java_parse_long)
        {
            None => self.put_immunity_msg_back(msg),
            Some(-1) => false,
            Some(prepared) => match remove_map.remove(&prepared) {
                Some(op) => {
                    done_op_offsets.push(op);
                    true
                }
                None => self.put_immunity_msg_back(msg),
            },
        }
    }

    /// `putImmunityMsgBackToHalfQueue`; the walk meets this copy too.
    fn put_immunity_msg_back(&self, msg: &mut StoredMessage) -> bool {
        let ok = self.put_message(renew_immunity_half_message_inner(msg));
        if ok {
            self.copy_dispatched();
        }
        ok
    }

    /// `putBackHalfMsgQueue` and the request `sendCheckMessage` builds from the new copy.
    fn put_back_half_msg_queue(&self, msg: &mut StoredMessage) -> Option<CheckRequest> {
        let inner = renew_half_message_inner(msg);
        let result = self.put_message_return_result(inner);
        let append = match (result.is_ok(), result.append) {
            (true, Some(append)) => append,
            _ => {
                tracing::error!(
                    "put back to half queue failed ({:?}), msgId: {}",
                    result.status,
                    msg.msg_id()
                );
                return None;
            }
        };
        msg.queue_offset = append.logics_offset;
        msg.commit_log_offset = append.wrote_offset;
        self.copy_dispatched();
        Some(check_request(msg, append.msg_id))
    }

    /// Waits until a copy just put back is in the half queue, where the walk will read it next
    /// (and stop there: stored after the pass began). Java reads on at once and races its
    /// dispatcher thread (1 ms rhythm); in the recorded runs its read found the copy, and the
    /// broker's gets count that read (s13's mqadmin5 `msgGetTotalTodayNow`). Waiting makes
    /// ours find it every time instead of when our dispatcher happens to be first.
    fn copy_dispatched(&self) {
        if let Err(e) = self.store.wait_dispatched() {
            tracing::error!("dispatch of a half message copy failed: {e}");
        }
    }
}

/// `sendCheckMessage`'s header and body: the offsets of the new copy, the message as it now is
/// (map with the new TRANSACTION_CHECK_TIMES and WAIT=false) under its real topic and queue.
fn check_request(msg: &StoredMessage, offset_msg_id: String) -> CheckRequest {
    let uniq = msg.properties.uniq_key().map(str::to_owned);
    let header = CheckTransactionStateRequestHeader {
        topic: None,
        tran_state_table_offset: msg.queue_offset,
        commit_log_offset: msg.commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(offset_msg_id),
    };
    let mut body_msg = msg.clone();
    if let Some(topic) = msg.properties.real_topic() {
        body_msg.topic = topic.to_owned();
    }
    // Java's Integer.parseInt would throw here and the check is not sent; a half message
    // without REAL_QID is not one this broker wrote.
    body_msg.queue_id = msg.properties.real_queue_id().unwrap_or(msg.queue_id);
    let body = body_msg.encode().unwrap_or_else(|e| {
        tracing::error!("encode check message: {e}");
        Bytes::new()
    });
    CheckRequest {
        group: msg
            .properties
            .get(PROPERTY_PRODUCER_GROUP)
            .map(str::to_owned),
        header,
        body,
    }
}

/// `needDiscard`: checked `check_max` times already. Otherwise the message's map gets
/// TRANSACTION_CHECK_TIMES = times + 1 (1 the first time), which its copy will carry.
pub(crate) fn need_discard(msg: &mut StoredMessage, check_max: i32) -> bool {
    let mut times = 1;
    if let Some(value) = msg.properties.get(PROPERTY_TRANSACTION_CHECK_TIMES) {
        times = java_parse_int(value);
        if times >= check_max {
            return true;
        }
        times += 1;
    }
    msg.properties
        .insert(PROPERTY_TRANSACTION_CHECK_TIMES, times.to_string());
    msg.properties.sort_in_java_hash_map_order();
    false
}

/// `needSkip`: born longer ago than the commitlog keeps files.
pub(crate) fn need_skip(msg: &StoredMessage, file_reserved_hours: i64, now: i64) -> bool {
    now - msg.born_timestamp > file_reserved_hours * 3600 * 1000
}

/// `getImmunityTime`: seconds → ms; -1 (also an unparsable value) means `transactionTimeOut`.
pub(crate) fn immunity_time(value: &str, transaction_timeout_ms: i64) -> i64 {
    match java_parse_long(value) {
        -1 => transaction_timeout_ms,
        seconds => seconds.saturating_mul(1000),
    }
}

/// `calculateOpOffset`: the op offset moves over the contiguous run of done op offsets.
pub(crate) fn calculate_op_offset(done: &mut [i64], old_offset: i64) -> i64 {
    done.sort_unstable();
    let mut new_offset = old_offset;
    for &d in done.iter() {
        if d != new_offset {
            break;
        }
        new_offset += 1;
    }
    new_offset
}

/// Java's `getLong` helper: `Long.parseLong`, -1 when it fails.
fn java_parse_long(s: &str) -> i64 {
    s.parse().unwrap_or(-1)
}

/// Java's `getInt` helper: `Integer.parseInt`, -1 when it fails.
fn java_parse_int(s: &str) -> i32 {
    s.parse().unwrap_or(-1)
}
