//! Admin requests relayed to a gRPC client over its Telemetry stream (5.3.3 proxy, local mode:
//! `ProxyChannel.writeAndFlush`, `GrpcClientChannel.processGetConsumerRunningInfo` /
//! `processConsumeMessageDirectly`, `GrpcChannelManager`'s nonces,
//! `ClientActivity.reportThreadStackTrace` / `reportVerifyMessageResult`,
//! `LocalProxyRelayService`).
//!
//! When mqadmin or the dashboard sends GET_CONSUMER_RUNNING_INFO (307) or
//! CONSUME_MESSAGE_DIRECTLY (309) for a consumer that is a gRPC client, the broker's admin
//! processor calls the client as it calls any consumer ([`crate::broker2client`], 10 s) on the
//! client's in-memory connection ([`super::session`]). The request is read at the connection's
//! far end and handed here:
//!
//! - 309 → `VerifyMessageCommand { nonce, message }` (the stored record the broker put in the
//!   body, as the client sees a message). The client's `VerifyMessageResult` with that nonce is
//!   answered SUCCESS, remark `""`, body a `ConsumeMessageDirectlyResult` whose `consumeResult`
//!   comes from the command's status (OK → CR_SUCCESS, FAILED_TO_CONSUME_MESSAGE → CR_LATER,
//!   MESSAGE_CORRUPTED → CR_RETURN_NULL, any other code → none), remark `from gRPC client`.
//! - 307 with `jstackEnable=true` → `PrintThreadStackTraceCommand { nonce }`; the client's
//!   `ThreadStackTrace` is answered SUCCESS, remark `""`, body a `ConsumerRunningInfo` holding
//!   only `jstack` when its status is OK; VERIFY_FIFO_MESSAGE_UNSUPPORTED is NO_PERMISSION
//!   `forbidden to verify message`, any other status SYSTEM_ERROR `verify message failed`.
//! - 307 without `jstackEnable`: the proxy writes nothing and never answers
//!   (`processGetConsumerRunningInfo` returns at once), so the admin gets the broker's own
//!   CONSUME_MSG_TIMEOUT after 10 s. We do the same.
//!
//! Nonces are the decimal values of one counter from 0, shared by all clients (the proxy's
//! `GrpcChannelManager.nextNonce`); an answer is matched by nonce alone. An answer with an
//! unknown nonce is ignored. No answer within `grpcProxyRelayRequestTimeoutInSeconds` (5 s,
//! before the broker's 10 s) is SYSTEM_BUSY `call remote timeout`; a client without a Telemetry
//! stream gets nothing written and ends the same way (the proxy only logs the missing stream).
//! The proxy checks its table every second; we wait on each request's own timer. An answer of
//! the other kind for a nonce (a stack trace for a verification) fails in the proxy with a
//! ClassCastException after the nonce was taken, leaving the request unanswered: the same here.
//!
//! Which official clients answer (checked in their installed sources): npm
//! `rocketmq-client-nodejs` 1.0.8 answers a print-thread-stack command with `ThreadStackTrace`
//! `mock stack` and status OK, and a verify command with a `VerifyMessageCommand` (not a
//! result) of status NOT_IMPLEMENTED, which the proxy ignores; PyPI `rocketmq-python-client`
//! 5.1.2 reads only settings and transaction check-backs, so both time out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use grpc::v2::{
    telemetry_command, Code, PrintThreadStackTraceCommand, Status, TelemetryCommand,
    ThreadStackTrace, VerifyMessageCommand, VerifyMessageResult,
};
use remoting_codec::code::{request, response};
use remoting_codec::message::StoredMessage;
use remoting_codec::protocol::callback::{
    CMResult, ConsumeMessageDirectlyResult, ConsumeMessageDirectlyResultRequestHeader,
    ConsumerRunningInfo, GetConsumerRunningInfoRequestHeader,
};
use remoting_codec::{fastjson, RemotingCommand};
use tokio::sync::{mpsc, oneshot};

use super::session::Session;
use super::GrpcContext;

/// What a relayed request waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A `ThreadStackTrace` (307 with jstack).
    ThreadStack,
    /// A `VerifyMessageResult` (309).
    Verify,
}

/// The answer to relay back: code, remark, body (`ProxyRelayResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub code: i32,
    pub remark: String,
    pub body: Option<Vec<u8>>,
}

/// The requests waiting for a client's answer, by nonce (`GrpcChannelManager`'s table).
#[derive(Default)]
pub struct Relays {
    next: AtomicU64,
    pending: DashMap<String, (Kind, oneshot::Sender<Outcome>)>,
}

impl Relays {
    /// A fresh nonce waiting for an answer of `kind`.
    pub fn add(&self, kind: Kind) -> (String, oneshot::Receiver<Outcome>) {
        let nonce = self.next.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        self.pending.insert(nonce.clone(), (kind, tx));
        (nonce, rx)
    }

    /// Forgets a nonce (its request timed out).
    pub fn remove(&self, nonce: &str) {
        self.pending.remove(nonce);
    }

    /// Completes the request waiting on `nonce` with what `outcome` makes of an answer of
    /// `kind`. An unknown nonce is ignored; a nonce of the other kind is taken and dropped.
    fn complete(&self, nonce: &str, kind: Kind, outcome: impl FnOnce() -> Outcome) {
        let Some((_, (waiting, tx))) = self.pending.remove(nonce) else {
            tracing::debug!("gRPC relay: answer for unknown nonce {nonce:?} ignored");
            return;
        };
        if waiting != kind {
            tracing::warn!("gRPC relay: nonce {nonce} waited for {waiting:?}, got {kind:?}");
            return;
        }
        let _ = tx.send(outcome());
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// Whether a request the broker sends to a gRPC client is relayed here.
pub fn is_relayed(code: i32) -> bool {
    code == request::GET_CONSUMER_RUNNING_INFO || code == request::CONSUME_MESSAGE_DIRECTLY
}

fn code_of(status: Option<&Status>) -> i32 {
    status.map_or(Code::Unspecified as i32, |s| s.code)
}

/// `reportThreadStackTrace`.
pub fn thread_stack_outcome(status: Option<&Status>, trace: &ThreadStackTrace) -> Outcome {
    let code = code_of(status);
    if code == Code::Ok as i32 {
        let info = ConsumerRunningInfo {
            jstack: Some(trace.thread_stack_trace.clone().unwrap_or_default()),
            mq_pop_table: Some(Default::default()),
            user_consumer_info: Some(Default::default()),
            ..Default::default()
        };
        Outcome {
            code: response::SUCCESS,
            remark: String::new(),
            body: Some(fastjson::to_vec(&info).unwrap_or_default()),
        }
    } else if code == Code::VerifyFifoMessageUnsupported as i32 {
        Outcome {
            code: response::NO_PERMISSION,
            remark: "forbidden to verify message".into(),
            body: None,
        }
    } else {
        Outcome {
            code: response::SYSTEM_ERROR,
            remark: "verify message failed".into(),
            body: None,
        }
    }
}

/// `reportVerifyMessageResult` / `buildConsumeMessageDirectlyResult`.
pub fn verify_outcome(status: Option<&Status>) -> Outcome {
    let code = code_of(status);
    let consume_result = match Code::try_from(code) {
        Ok(Code::Ok) => Some(CMResult::CrSuccess),
        Ok(Code::FailedToConsumeMessage) => Some(CMResult::CrLater),
        Ok(Code::MessageCorrupted) => Some(CMResult::CrReturnNull),
        _ => None,
    };
    let result = ConsumeMessageDirectlyResult {
        consume_result,
        remark: Some("from gRPC client".into()),
        ..Default::default()
    };
    Outcome {
        code: response::SUCCESS,
        remark: String::new(),
        body: Some(fastjson::to_vec(&result).unwrap_or_default()),
    }
}

/// A client's Telemetry answer: a thread stack trace or a verification result.
pub fn report(cx: &GrpcContext, status: Option<&Status>, command: &telemetry_command::Command) {
    match command {
        telemetry_command::Command::ThreadStackTrace(t) => {
            cx.relays.complete(&t.nonce, Kind::ThreadStack, || {
                thread_stack_outcome(status, t)
            })
        }
        telemetry_command::Command::VerifyMessageResult(VerifyMessageResult { nonce }) => cx
            .relays
            .complete(nonce, Kind::Verify, || verify_outcome(status)),
        _ => {}
    }
}

/// The Telemetry command for a relayed request and the kind of answer it waits for; `None`
/// when nothing is written (307 without jstack, or a request the proxy cannot read).
fn command_for(cmd: &RemotingCommand) -> Option<(Kind, Option<grpc::v2::Message>)> {
    if cmd.code == request::GET_CONSUMER_RUNNING_INFO {
        let h: GetConsumerRunningInfoRequestHeader = cmd.decode_header().ok()?;
        return h.jstack_enable.then_some((Kind::ThreadStack, None));
    }
    cmd.decode_header::<ConsumeMessageDirectlyResultRequestHeader>()
        .ok()?;
    let msg = StoredMessage::decode(&cmd.body).ok()?;
    let message = grpc::convert::to_proto_message(&msg, &msg.topic, None);
    Some((Kind::Verify, Some(message)))
}

/// Relays `cmd` (a request the broker sent to `session`'s client) over the client's Telemetry
/// stream; the answer, when there is one, is sent on `reply`.
pub fn relay(
    cx: &Arc<GrpcContext>,
    session: &Session,
    cmd: RemotingCommand,
    reply: mpsc::UnboundedSender<RemotingCommand>,
) {
    let Some((kind, message)) = command_for(&cmd) else {
        tracing::debug!(
            "gRPC client {}: request {} not relayed (the proxy answers nothing)",
            session.client_id,
            cmd.code
        );
        return;
    };
    let (nonce, answer) = cx.relays.add(kind);
    let command = match kind {
        Kind::ThreadStack => {
            telemetry_command::Command::PrintThreadStackTraceCommand(PrintThreadStackTraceCommand {
                nonce: nonce.clone(),
            })
        }
        Kind::Verify => telemetry_command::Command::VerifyMessageCommand(VerifyMessageCommand {
            nonce: nonce.clone(),
            message,
        }),
    };
    let telemetry = session.telemetry_sender();
    let client_id = session.client_id.clone();
    let timeout = Duration::from_secs(cx.ctrl.grpc_config.relay_request_timeout_seconds);
    let cx = cx.clone();
    tokio::spawn(async move {
        let command = TelemetryCommand {
            status: None,
            command: Some(command),
        };
        match telemetry {
            Some(tx) => {
                if tx.send(Ok(command)).await.is_err() {
                    tracing::warn!("gRPC client {client_id}: telemetry stream closed");
                }
            }
            None => tracing::warn!(
                "gRPC client {client_id}: no telemetry stream for request {}",
                cmd.code
            ),
        }
        let outcome = match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            // Taken by an answer of the other kind: nothing is answered.
            Ok(Err(_)) => return,
            Err(_) => {
                cx.relays.remove(&nonce);
                Outcome {
                    code: response::SYSTEM_BUSY,
                    remark: "call remote timeout".into(),
                    body: None,
                }
            }
        };
        let mut resp = RemotingCommand::response_to(&cmd, outcome.code).with_remark(outcome.remark);
        if let Some(body) = outcome.body {
            resp = resp.with_body(body);
        }
        let _ = reply.send(resp);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code) -> Status {
        grpc::convert::status(code, "x")
    }

    #[test]
    fn verification_results_become_javas_consume_results() {
        let body = |s: Option<&Status>| {
            let o = verify_outcome(s);
            assert_eq!((o.code, o.remark.as_str()), (response::SUCCESS, ""));
            String::from_utf8(o.body.unwrap()).unwrap()
        };
        assert_eq!(
            body(Some(&status(Code::Ok))),
            r#"{"autoCommit":true,"consumeResult":"CR_SUCCESS","order":false,"remark":"from gRPC client","spentTimeMills":0}"#
        );
        assert!(body(Some(&status(Code::FailedToConsumeMessage))).contains("CR_LATER"));
        assert!(body(Some(&status(Code::MessageCorrupted))).contains("CR_RETURN_NULL"));
        assert_eq!(
            body(None),
            r#"{"autoCommit":true,"order":false,"remark":"from gRPC client","spentTimeMills":0}"#
        );
    }

    #[test]
    fn stack_traces_become_running_info_or_javas_refusals() {
        let trace = ThreadStackTrace {
            nonce: "0".into(),
            thread_stack_trace: Some("main\n".into()),
        };
        let o = thread_stack_outcome(Some(&status(Code::Ok)), &trace);
        assert_eq!(o.code, response::SUCCESS);
        let info: ConsumerRunningInfo = fastjson::from_slice(&o.body.unwrap()).unwrap();
        assert_eq!(info.jstack.as_deref(), Some("main\n"));
        let o = thread_stack_outcome(Some(&status(Code::VerifyFifoMessageUnsupported)), &trace);
        assert_eq!(
            (o.code, o.remark.as_str(), o.body),
            (response::NO_PERMISSION, "forbidden to verify message", None)
        );
        let o = thread_stack_outcome(None, &trace);
        assert_eq!(
            (o.code, o.remark.as_str()),
            (response::SYSTEM_ERROR, "verify message failed")
        );
    }

    #[test]
    fn nonces_count_from_zero_and_match_only_their_kind() {
        let relays = Relays::default();
        let (a, mut ra) = relays.add(Kind::Verify);
        let (b, mut rb) = relays.add(Kind::ThreadStack);
        assert_eq!((a.as_str(), b.as_str()), ("0", "1"));
        relays.complete("7", Kind::Verify, || unreachable!("unknown nonce"));
        assert_eq!(relays.len(), 2);
        // A stack trace for the verification's nonce: taken, nothing answered.
        relays.complete(&a, Kind::ThreadStack, || unreachable!("wrong kind"));
        assert!(matches!(
            ra.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        relays.complete(&b, Kind::ThreadStack, || verify_outcome(None));
        assert_eq!(rb.try_recv().unwrap().code, response::SUCCESS);
        assert!(relays.is_empty());
    }
}
