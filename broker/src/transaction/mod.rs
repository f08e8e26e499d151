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

use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::broker2client::Broker2Client;
use crate::client::{ChannelState, ConnectionId, ProducerManager};
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

    /// Starts the thread (once): `pass` every `interval`, the first one interval from now.
    /// `pass` gets the service back to see whether it was stopped meanwhile.
    pub fn start(
        self: &std::sync::Arc<Self>,
        interval: Duration,
        mut pass: impl FnMut() + Send + 'static,
    ) -> std::io::Result<()> {
        let mut thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        if thread.is_some() {
            return Ok(());
        }
        let service = self.clone();
        *thread = Some(
            std::thread::Builder::new()
                .name("TransactionalMessageCheckService".into())
                .spawn(move || {
                    while service.stop.sleep(interval) {
                        pass();
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

/// Java's `onWaitEnd`: one pass, checks sent as they are found through `clients` on `runtime`
/// (the server's: the pass runs on the service's own thread).
pub fn check_once(
    bridge: &TransactionalMessageBridge<'_>,
    config: CheckConfig,
    producers: &ProducerManager,
    clients: &std::sync::Arc<Broker2Client>,
    runtime: &tokio::runtime::Handle,
) {
    let begin = crate::now_millis();
    bridge.check(config, &crate::now_millis, &mut |request| {
        send_check_message(producers, clients, runtime, request)
    });
    tracing::debug!("check prepare messages: {} ms", crate::now_millis() - begin);
}

/// `sendCheckMessage`: CHECK_TRANSACTION_STATE to a live connection of the group; none →
/// logged, as Java.
fn send_check_message(
    producers: &ProducerManager,
    clients: &std::sync::Arc<Broker2Client>,
    runtime: &tokio::runtime::Handle,
    request: CheckRequest,
) {
    let group = request.group.unwrap_or_default();
    let channel = producers.get_available_channel(&group, |id: ConnectionId| {
        let active = clients.connection(id).is_some();
        ChannelState {
            active,
            writable: active,
        }
    });
    let Some(id) = channel else {
        tracing::warn!("Check transaction failed, channel is null. groupId={group}");
        return;
    };
    let clients = clients.clone();
    runtime.spawn(async move {
        clients
            .check_producer_transaction_state(&group, id, &request.header, request.body)
            .await
    });
}
