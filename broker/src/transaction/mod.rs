//! Transactional messages, as Java 4.9.8's `broker.transaction` package.
//!
//! A producer sends a half message (TRAN_MSG=true, sysFlag PREPARED): the send handler stores
//! it in RMQ_SYS_TRANS_HALF_TOPIC queue 0 ([`bridge::parse_half_message_inner`]), where no
//! consumer subscribes. The producer then runs its local transaction and sends END_TRANSACTION
//! ([`crate::processor`]'s `end_transaction`): commit stores the real message and an op message,
//! rollback only the op message. An op message (RMQ_SYS_TRANS_OP_HALF_TOPIC, tag `d`, body =
//! the half's queue offset) marks the half done.
//!
//! Halves without an op message are checked ([`check`]): every `transactionCheckInterval`
//! (60 s) a thread walks the half queue from its CID_RMQ_SYS_TRANS offset, puts each open half
//! older than `transactionTimeOut` (6 s) back at the end of the queue with
//! TRANSACTION_CHECK_TIMES + 1, and sends CHECK_TRANSACTION_STATE (39, oneway) about the copy to
//! a live connection of its producer group, which answers with END_TRANSACTION
//! (`fromTransactionCheck=true`). After `transactionCheckMax` (15) checks a half goes to
//! TRANS_CHECK_MAX_TIME_TOPIC. Progress is the CID_RMQ_SYS_TRANS offsets of the half and op
//! queues in consumerOffset.json, so pending halves survive a restart and, after a crash,
//! halves checked since the last offset flush are checked again (Java does the same).
//!
//! The check thread runs only on a master (Java's `startProcessorByHa`), first one interval
//! after start.
//!
//! 5.x differences a client can see: 5.x puts `topic` and `brokerName` into the
//! CHECK_TRANSACTION_STATE header, writes op messages with several offsets per body
//! (`1,2,3`, Java 5's batched op service), and answers ILLEGAL_OPERATION to END_TRANSACTION
//! for a half whose commit/rollback already happened; 4.9.8 (and this broker) does none of it.

pub mod bridge;
pub mod check;
#[cfg(test)]
pub(crate) mod tests;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use remoting_codec::code::request;
use remoting_codec::RemotingCommand;

use crate::client::{ChannelState, ConnectionId};
use crate::controller::BrokerController;
use crate::stop_signal::StopSignal;
pub use bridge::TransactionalMessageBridge;
pub use check::{CheckConfig, CheckRequest};

/// Java's `TransactionalMessageCheckService`: one thread running a check pass every
/// `transactionCheckInterval`.
#[derive(Default)]
pub struct TransactionalMessageCheckService {
    /// Wakes the sleeping thread at shutdown.
    stop: StopSignal,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl TransactionalMessageCheckService {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts the thread (once). Checks go out through `runtime`, the server's.
    pub fn start(ctrl: &Arc<BrokerController>) -> std::io::Result<()> {
        let service = &ctrl.transactional_message_check_service;
        let mut thread = service.thread.lock().unwrap_or_else(|e| e.into_inner());
        if thread.is_some() {
            return Ok(());
        }
        let interval =
            Duration::from_millis(ctrl.broker_config.transaction_check_interval.max(1) as u64);
        let runtime = tokio::runtime::Handle::current();
        let c = ctrl.clone();
        *thread = Some(
            std::thread::Builder::new()
                .name("TransactionalMessageCheckService".into())
                .spawn(move || {
                    while c.transactional_message_check_service.stop.sleep(interval) {
                        check_once(&c, &runtime);
                    }
                })?,
        );
        Ok(())
    }

    /// Stops the thread; a pass in progress finishes first.
    pub fn shutdown(&self) {
        self.stop.stop();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Java's `onWaitEnd`: one pass with the broker's settings, checks sent as they are found.
fn check_once(ctrl: &BrokerController, runtime: &tokio::runtime::Handle) {
    let config = CheckConfig {
        transaction_timeout_ms: ctrl.broker_config.transaction_time_out,
        transaction_check_max: ctrl.broker_config.transaction_check_max,
        file_reserved_hours: ctrl.store.config().file_reserved_time as i64,
    };
    let begin = crate::now_millis();
    ctrl.transaction_bridge()
        .check(config, &crate::now_millis, &mut |request| {
            send_check_message(ctrl, runtime, request)
        });
    tracing::debug!("check prepare messages: {} ms", crate::now_millis() - begin);
}

/// `sendCheckMessage` + `Broker2Client.checkProducerTransactionState`: CHECK_TRANSACTION_STATE
/// (oneway) to a live connection of the group; none → logged, as Java.
fn send_check_message(
    ctrl: &BrokerController,
    runtime: &tokio::runtime::Handle,
    request: CheckRequest,
) {
    let group = request.group.unwrap_or_default();
    let channel = ctrl
        .producer_manager
        .get_available_channel(&group, |id: ConnectionId| {
            let active = ctrl.connection(id).is_some_and(|c| !c.is_closed());
            ChannelState {
                active,
                writable: active,
            }
        })
        .and_then(|id| ctrl.connection(id));
    let Some(conn) = channel else {
        tracing::warn!("Check transaction failed, channel is null. groupId={group}");
        return;
    };
    let command = RemotingCommand::request(request::CHECK_TRANSACTION_STATE, &request.header)
        .with_body(request.body);
    runtime.spawn(async move {
        if let Err(e) = conn.invoke_oneway(command).await {
            tracing::error!("Check transaction failed because invoke producer exception. group={group}, error={e}");
        }
    });
}
