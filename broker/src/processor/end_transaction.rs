//! END_TRANSACTION (37): a producer's commit or rollback of a half message, sent oneway after
//! its local transaction or as the answer to a CHECK_TRANSACTION_STATE (Java 4.9.8
//! `EndTransactionProcessor`). See [`crate::transaction`] for the whole trip.
//!
//! - A slave answers SLAVE_NOT_AVAILABLE (no remark).
//! - `commitOrRollback` 0 (unknown) or any value other than 8 / 12: nothing is done and nothing
//!   answered. `fromTransactionCheck` changes only what Java logs.
//! - Commit (8) / rollback (12): the half is read at `commitLogOffset` (SYSTEM_ERROR "Find
//!   prepared transaction message failed"), then checked against the header in Java's order:
//!   PGROUP ("The producer group wrong"), its queue offset against `tranStateTableOffset`
//!   ("The transaction state table offset wrong"), its commitlog offset ("The commit log offset
//!   wrong"), all SYSTEM_ERROR.
//! - Commit stores the real message ([`end_message_transaction`]) and, once stored, the op
//!   message; a failed put is answered with Java's `sendFinalMessage` code and remark and no
//!   op message is written (the half stays open and will be checked). Rollback writes the op
//!   message only.
//! - SYNC_MASTER: Java's blocking `putMessage` of the final message waits for the slave when
//!   the message's WAIT is true (the half's properties, so the client's WAIT; Java's
//!   `setWaitStoreMsgOK(false)` is overwritten by the half's map). FLUSH_SLAVE_TIMEOUT and
//!   SLAVE_NOT_AVAILABLE are answered SUCCESS by `sendFinalMessage` (the message is stored),
//!   and the op message is written only after the wait, as Java's `deletePrepareMessage`
//!   follows `sendFinalMessage`. The wait is the store's replica ticket awaited by the
//!   request's task (no thread per commit); the op message is then put on a blocking thread.
//!
//! The request is oneway from Java clients, so the answer is only seen by a client that asks
//! for one.

use remoting_codec::code::{request, response};
use remoting_codec::message::message_const::PROPERTY_PRODUCER_GROUP;
use remoting_codec::message::sysflag::message_sys_flag::{
    reset_transaction_value, TRANSACTION_COMMIT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::transaction::EndTransactionRequestHeader;
use remoting_codec::RemotingCommand;
use store::{PutMessageResult, PutMessageStatus, ReplicaTicket, ReplicaWait};

use super::{Refusal, Reply, Route};
use crate::transaction::TransactionalMessageBridge;

/// `None`: no answer at all; else success (with the slave wait still to finish, on a
/// SYNC_MASTER) or Java's refusal.
pub(crate) type Answer = Option<Result<Option<AwaitSlave>, Refusal>>;

/// A commit whose final message waits for the slave: the op message is written once the
/// ticket resolves (whatever its outcome: `sendFinalMessage` answers SUCCESS for both).
pub(crate) struct AwaitSlave {
    pub ticket: ReplicaTicket,
    pub half: StoredMessage,
}

/// The lookup reads the mapped commitlog at random and the puts take the store's lock (and may
/// wait for a sync flush): a blocking thread.
pub(super) const ROUTES: &[Route] = &[Route::blocking(request::END_TRANSACTION, |cx, req| {
    let header: EndTransactionRequestHeader = req.decode_header()?;
    let c = &cx.ctrl;
    let answer = EndTransaction {
        bridge: c.transaction_bridge(),
        is_slave: !c.is_master(),
        max_message_size: c.store.config().max_message_size,
    }
    .end_transaction(&header, crate::now_millis());
    let ok = RemotingCommand::response_to(&req, response::SUCCESS);
    match answer {
        None => Ok(Reply::None),
        Some(Err(refusal)) => Err(refusal),
        Some(Ok(None)) => Ok(ok.into()),
        Some(Ok(Some(AwaitSlave { ticket, half }))) => {
            let ctrl = c.clone();
            Ok(Reply::later(async move {
                let status = ticket.await;
                tracing::debug!("end transaction: final message replicated: {status:?}");
                tokio::task::spawn_blocking(move || {
                    ctrl.transaction_bridge()
                        .put_op_message(&half, crate::now_millis())
                })
                .await
                .map_err(|e| Refusal::system_error(e.to_string()))?;
                Ok(Some(ok))
            }))
        }
    }
})];

pub(crate) struct EndTransaction<'a> {
    pub bridge: TransactionalMessageBridge<'a>,
    pub is_slave: bool,
    pub max_message_size: usize,
}

impl EndTransaction<'_> {
    pub(crate) fn end_transaction(&self, header: &EndTransactionRequestHeader, now: i64) -> Answer {
        if self.is_slave {
            tracing::warn!("Message store is slave mode, so end transaction is forbidden.");
            return Some(Err(Refusal::code_only(response::SLAVE_NOT_AVAILABLE)));
        }
        let kind = header.commit_or_rollback;
        if kind != TRANSACTION_COMMIT_TYPE && kind != TRANSACTION_ROLLBACK_TYPE {
            tracing::debug!(
                "producer group {} left transaction {} pending (check: {})",
                header.producer_group,
                header.msg_id,
                header.from_transaction_check
            );
            return None;
        }
        let half = match self.find_half(header) {
            Ok(half) => half,
            Err(refusal) => return Some(Err(refusal)),
        };
        if kind == TRANSACTION_ROLLBACK_TYPE {
            self.bridge.put_op_message(&half, now);
            return Some(Ok(None));
        }
        let inner = match end_message_transaction(&half, header.commit_log_offset) {
            Ok(inner) => inner,
            Err(why) => return Some(Err(Refusal::system_error(why))),
        };
        let wait = inner.properties.wait_store_msg_ok();
        let mut result = self.bridge.put_message_return_result(inner);
        // Java's `putMessage` includes the SYNC_MASTER wait (`submitReplicaRequest`).
        match self.bridge.store.submit_replica_request(&result, wait) {
            ReplicaWait::Pending(ticket) => return Some(Ok(Some(AwaitSlave { ticket, half }))),
            ReplicaWait::Done(status) => result.status = status,
        }
        let answer = self.send_final_message(result);
        if answer.is_ok() {
            self.bridge.put_op_message(&half, now);
        }
        Some(answer.map(|()| None))
    }

    /// `commitMessage`/`rollbackMessage` (the lookup) and `checkPrepareMessage`.
    fn find_half(&self, header: &EndTransactionRequestHeader) -> Result<StoredMessage, Refusal> {
        let refuse = Refusal::system_error;
        let half = self
            .bridge
            .look_message_by_offset(header.commit_log_offset)
            .ok_or_else(|| refuse("Find prepared transaction message failed"))?;
        // Java throws a NullPointerException on a half without PGROUP; no group matches it.
        if half.properties.get(PROPERTY_PRODUCER_GROUP) != Some(header.producer_group.as_str()) {
            return Err(refuse("The producer group wrong"));
        }
        if half.queue_offset != header.tran_state_table_offset {
            return Err(refuse("The transaction state table offset wrong"));
        }
        if half.commit_log_offset != header.commit_log_offset {
            return Err(refuse("The commit log offset wrong"));
        }
        Ok(half)
    }

    /// `sendFinalMessage`: the put outcome as Java answers it.
    fn send_final_message(&self, result: PutMessageResult) -> Result<(), Refusal> {
        let (code, remark) = match result.status {
            PutMessageStatus::PutOk
            | PutMessageStatus::FlushDiskTimeout
            | PutMessageStatus::FlushSlaveTimeout
            | PutMessageStatus::SlaveNotAvailable => return Ok(()),
            PutMessageStatus::CreateMappedFileFailed => {
                (response::SYSTEM_ERROR, "Create mapped file failed.".to_owned())
            }
            PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => (
                response::MESSAGE_ILLEGAL,
                format!(
                    "The message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
                    self.max_message_size
                ),
            ),
            PutMessageStatus::ServiceNotAvailable => (
                response::SERVICE_NOT_AVAILABLE,
                "Service not available now.".to_owned(),
            ),
            PutMessageStatus::OsPageCacheBusy => (
                response::SYSTEM_ERROR,
                "OS page cache busy, please try another machine".to_owned(),
            ),
            PutMessageStatus::UnknownError => (response::SYSTEM_ERROR, "UNKNOWN_ERROR".to_owned()),
            timer @ (PutMessageStatus::WheelTimerFlowControl
            | PutMessageStatus::WheelTimerMsgIllegal
            | PutMessageStatus::WheelTimerNotEnable) => {
                return Err(Refusal::timer(timer, self.bridge.store.config()).expect("a timer status"))
            }
        };
        Err(Refusal::new(code, remark))
    }
}

/// `endMessageTransaction` plus the commit's settings: the half message as its real topic and
/// queue (REAL_TOPIC / REAL_QID) with body, flag, born time and host, store host, reconsume
/// times, sysFlag with the transaction bits set to COMMIT, and the prepared-transaction offset
/// = the half's commitlog offset. Java writes the properties string from the half's map
/// *before* it clears REAL_TOPIC, REAL_QID and TRAN_MSG from the map, so the record carries
/// the half's properties unchanged (the s07 capture's delivered records show TRAN_MSG,
/// REAL_TOPIC, REAL_QID, PGROUP and WAIT=true).
pub(crate) fn end_message_transaction(
    half: &StoredMessage,
    commit_log_offset: i64,
) -> Result<StoredMessage, String> {
    let topic = half
        .properties
        .real_topic()
        .ok_or("the half message has no REAL_TOPIC")?
        .to_owned();
    let queue_id = half
        .properties
        .real_queue_id()
        .ok_or("the half message has no usable REAL_QID")?;
    let mut properties = half.properties.clone();
    properties.sort_in_java_hash_map_order();
    Ok(StoredMessage {
        topic,
        queue_id,
        flag: half.flag,
        sys_flag: reset_transaction_value(half.sys_flag, TRANSACTION_COMMIT_TYPE),
        born_timestamp: half.born_timestamp,
        born_host: half.born_host,
        store_host: half.store_host,
        reconsume_times: half.reconsume_times,
        prepared_transaction_offset: commit_log_offset,
        body: half.body.clone(),
        properties,
        ..StoredMessage::default()
    })
}

#[cfg(test)]
#[path = "end_transaction_tests.rs"]
mod tests;
