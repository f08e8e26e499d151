//! EndTransaction (the proxy's `EndTransactionActivity`, `TransactionProcessor`,
//! `TransactionService`).
//!
//! A 5.x client ends a transaction by its transaction id alone; the broker's END_TRANSACTION
//! needs the half message's commitlog and consume-queue offsets. The proxy records them under the
//! transaction id when a half message is stored (the send answer) and when the broker checks a
//! transaction back with the producer, and looks them up here: no record is
//! INVALID_TRANSACTION_ID "cannot found transaction data". The transaction id is the half
//! message's offsetMsgId (store host + commitlog offset), unique per stored copy.
//!
//! The proxy sends END_TRANSACTION oneway and answers OK once it is sent; so does this (the
//! broker's refusal, if any, is logged). COMMIT and ROLLBACK map to the commit and rollback
//! types, anything else to "not a transaction" (the broker then does nothing), and
//! `SOURCE_SERVER_CHECK` sets `fromTransactionCheck`. The producer group is the topic, as the
//! proxy's sends set it (`PGROUP`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use grpc::convert::{ok, status};
use grpc::v2::{
    Code, EndTransactionRequest, EndTransactionResponse, TransactionResolution, TransactionSource,
};
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::message_sys_flag::{
    TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE,
};
use remoting_codec::message::OffsetMessageId;
use remoting_codec::protocol::transaction::EndTransactionRequestHeader;
use remoting_codec::RemotingCommand;

use super::{route, Caller, GrpcContext};

/// How long a recorded transaction is kept without its EndTransaction (a check-back records it
/// again).
const EXPIRE_MS: i64 = 3600 * 1000;

/// What END_TRANSACTION needs of a half message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    pub producer_group: String,
    pub tran_state_table_offset: i64,
    pub commit_log_offset: i64,
    pub msg_id: String,
}

/// The recorded transactions by id.
#[derive(Default)]
pub struct TransactionData {
    by_id: DashMap<String, (TxRecord, i64)>,
    inserts: AtomicU64,
}

impl TransactionData {
    /// Records a half message; returns its transaction id.
    pub fn record_at(&self, store_host: std::net::SocketAddr, tx: TxRecord) -> String {
        let id = OffsetMessageId::new(store_host, tx.commit_log_offset).to_string();
        let now = crate::now_millis();
        if self.inserts.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.by_id.retain(|_, (_, at)| now - *at < EXPIRE_MS);
        }
        self.by_id.insert(id.clone(), (tx, now));
        id
    }

    pub fn take(&self, id: &str) -> Option<TxRecord> {
        self.by_id.remove(id).map(|(_, (tx, _))| tx)
    }
}

impl GrpcContext {
    /// [`TransactionData::record_at`] with this broker's store host.
    pub fn record_transaction(&self, tx: TxRecord) -> String {
        self.transactions.record_at(self.ctrl.store_host, tx)
    }
}

pub async fn end_transaction(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: EndTransactionRequest,
) -> EndTransactionResponse {
    let answer = |s| EndTransactionResponse { status: Some(s) };
    let topic = super::name_of(req.topic.as_ref());
    if let Err(invalid) = route::validate_topic(topic) {
        return answer(invalid.status());
    }
    if req.transaction_id.trim().is_empty() {
        return answer(status(
            Code::InvalidTransactionId,
            "transaction id cannot be empty",
        ));
    }
    let Some(tx) = cx.transactions.take(&req.transaction_id) else {
        return answer(status(
            Code::InvalidTransactionId,
            "cannot found transaction data",
        ));
    };
    let commit_or_rollback = match TransactionResolution::try_from(req.resolution) {
        Ok(TransactionResolution::Commit) => TRANSACTION_COMMIT_TYPE,
        Ok(TransactionResolution::Rollback) => TRANSACTION_ROLLBACK_TYPE,
        _ => TRANSACTION_NOT_TYPE,
    };
    let header = EndTransactionRequestHeader {
        topic: Some(topic.to_owned()),
        producer_group: tx.producer_group,
        tran_state_table_offset: tx.tran_state_table_offset,
        commit_log_offset: tx.commit_log_offset,
        commit_or_rollback,
        from_transaction_check: req.source == TransactionSource::SourceServerCheck as i32,
        msg_id: if req.message_id.is_empty() {
            tx.msg_id
        } else {
            req.message_id.clone()
        },
        transaction_id: Some(req.transaction_id.clone()),
    };
    let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
    let cmd = RemotingCommand::request(request::END_TRANSACTION, &header).marked_oneway();
    match cx.dispatch(caller, &session.conn, cmd).await {
        Ok(Some(resp)) if resp.code != response::SUCCESS => tracing::warn!(
            "gRPC EndTransaction {}: broker answered {} {:?}",
            req.transaction_id,
            resp.code,
            resp.remark
        ),
        Err(e) => tracing::warn!("gRPC EndTransaction {}: {e:?}", req.transaction_id),
        _ => {}
    }
    answer(ok())
}
