//! AckMessage, ChangeInvisibleDuration and ForwardMessageToDeadLetterQueue (the proxy's
//! `AckMessageActivity`, `ChangeInvisibleDurationActivity`, `ForwardMessageToDLQActivity`
//! over `ConsumerProcessor` / `ProducerProcessor` and, in its local mode, the broker's own
//! processors), and the receipt handle they read ([`ReceiptHandle`]).
//!
//! A receipt handle is the message's `POP_CK` extraInfo (`startOffset popTime invisibleTime
//! reviveQid retry brokerName queueId offset`) plus its commitlog offset, space-separated
//! (`ConsumerProcessor.createHandle`). Java's `ReceiptHandle.decode` wants 8 fields or more,
//! numbers where numbers go; what it cannot read is an exception the proxy answers with
//! INTERNAL_SERVER_ERROR (`ResponseBuilder.buildStatus(Throwable)`: message, exception class).
//! A handle whose `popTime + invisibleTime` has passed is INVALID_RECEIPT_HANDLE "receipt
//! handle is expired" (`AbstractProcessor.validateReceiptHandle`, before any broker call).
//!
//! - **AckMessage** (`enableBatchAck=false`, the default: one ACK_MESSAGE per entry; with
//!   `true`, [`super::batch_ack`]): each entry gets its
//!   own status: OK, the handle's refusal above, or INTERNAL_SERVER_ERROR "ack failed: status
//!   is abnormal" when the broker did not answer SUCCESS. The response's status is the one
//!   code all entries share, MULTIPLE_RESULTS when they differ.
//! - **ChangeInvisibleDuration**: the duration must be 0 … `maxInvisibleTimeMills` (12 h)
//!   (ILLEGAL_INVISIBLE_TIME); CHANGE_MESSAGE_INVISIBLETIME with the handle; the answer is
//!   the new handle built from the broker's `popTime`, `invisibleTime` and `reviveQid` with
//!   the old handle's other fields. Java's local mode appends the commitlog offset after a `0`
//!   it encoded in its place, so its new handle names commitlog offset 0 to a later
//!   ForwardMessageToDeadLetterQueue; ours keeps the message's offset in that field.
//! - **ForwardMessageToDeadLetterQueue**: CONSUMER_SEND_MSG_BACK with the handle's commitlog
//!   offset, delay level −1 (straight to `%DLQ%<group>`), `maxReconsumeTimes` 0 and the real
//!   topic (the pop retry topic for a retried message), then, on SUCCESS, an ack of the
//!   handle. The answer is the send-back's code mapped by `ResponseBuilder.buildCode` with its
//!   remark (the number when there is none). No commitlog offset → INVALID_RECEIPT_HANDLE.
//!
//! Topic and group names are checked first, as everywhere (ILLEGAL_TOPIC,
//! ILLEGAL_CONSUMER_GROUP).

use std::sync::Arc;

use grpc::convert::{duration_millis, ok, status, status_of_remoting, Invalid};
use grpc::v2::{
    AckMessageEntry, AckMessageRequest, AckMessageResponse, AckMessageResultEntry,
    ChangeInvisibleDurationRequest, ChangeInvisibleDurationResponse, Code,
    ForwardMessageToDeadLetterQueueRequest, ForwardMessageToDeadLetterQueueResponse, Status,
};
use remoting_codec::code::{request, response};
use remoting_codec::protocol::pop::{
    pop_retry_topic_v1, pop_retry_topic_v2, AckMessageRequestHeader,
    ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use remoting_codec::protocol::transaction::ConsumerSendMsgBackRequestHeader;
use remoting_codec::RemotingCommand;

use super::route::{validate_group, validate_topic};
use super::{Caller, GrpcContext};

/// A decoded receipt handle (Java's `ReceiptHandle`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptHandle {
    pub start_offset: i64,
    pub retrieve_time: i64,
    pub invisible_time: i64,
    pub revive_qid: i32,
    /// `0` normal, `1` pop retry topic V1, `2` V2.
    pub topic_type: String,
    pub broker_name: String,
    pub queue_id: i32,
    pub offset: i64,
    /// −1 when the handle has no ninth field.
    pub commit_log_offset: i64,
    /// The handle as the client sent it (the broker's extraInfo).
    pub text: String,
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("For input string: \"{s}\". NumberFormatException"))
}

impl ReceiptHandle {
    /// `ReceiptHandle.decode`; `Err` is the proxy's INTERNAL_SERVER_ERROR message.
    pub fn decode(text: &str) -> Result<ReceiptHandle, String> {
        // Java's String.split drops trailing empty fields.
        let mut f: Vec<&str> = text.split(' ').collect();
        while f.last() == Some(&"") {
            f.pop();
        }
        if f.len() < 8 {
            return Err(format!(
                "Parse failed, dataList size {}. IllegalArgumentException",
                f.len()
            ));
        }
        Ok(ReceiptHandle {
            start_offset: number(f[0])?,
            retrieve_time: number(f[1])?,
            invisible_time: number(f[2])?,
            revive_qid: number(f[3])?,
            topic_type: f[4].to_owned(),
            broker_name: f[5].to_owned(),
            queue_id: number(f[6])?,
            offset: number(f[7])?,
            commit_log_offset: match f.get(8) {
                Some(v) => number(v)?,
                None => -1,
            },
            text: text.to_owned(),
        })
    }

    /// `encode`: the nine fields.
    pub fn encode(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {}",
            self.start_offset,
            self.retrieve_time,
            self.invisible_time,
            self.revive_qid,
            self.topic_type,
            self.broker_name,
            self.queue_id,
            self.offset,
            self.commit_log_offset
        )
    }

    /// `isExpired`: the next visible time has come.
    pub fn is_expired(&self, now: i64) -> bool {
        self.retrieve_time.saturating_add(self.invisible_time) <= now
    }

    /// `getRealTopic`: the pop retry topic the message came from, or the topic.
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        match self.topic_type.as_str() {
            "1" => pop_retry_topic_v1(topic, group),
            "2" => pop_retry_topic_v2(topic, group),
            _ => topic.to_owned(),
        }
    }

    /// Decodes and checks expiry, as the proxy does before a broker call.
    pub fn valid(text: &str, now: i64) -> Result<ReceiptHandle, Status> {
        let handle =
            ReceiptHandle::decode(text).map_err(|m| status(Code::InternalServerError, &m))?;
        if handle.is_expired(now) {
            return Err(expired());
        }
        Ok(handle)
    }
}

fn expired() -> Status {
    status(Code::InvalidReceiptHandle, "receipt handle is expired")
}

/// The checked topic and group names of a request.
fn names<'a>(
    topic: Option<&'a grpc::v2::Resource>,
    group: Option<&'a grpc::v2::Resource>,
) -> Result<(&'a str, &'a str), Invalid> {
    let (topic, group) = (super::name_of(topic), super::name_of(group));
    validate_topic(topic)?;
    validate_group(group)?;
    Ok((topic, group))
}

/// Runs `cmd` on the caller's session.
async fn call(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    cmd: RemotingCommand,
) -> Result<RemotingCommand, Status> {
    let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
    cx.dispatch(caller, &session.conn, cmd)
        .await?
        .ok_or_else(|| status(Code::InternalServerError, "no response"))
}

/// ACK_MESSAGE of one handle: Ok when the broker answered SUCCESS.
pub async fn ack_handle(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    group: &str,
    topic: &str,
    handle: &ReceiptHandle,
) -> Result<(), Status> {
    let header = AckMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: handle.real_topic(topic, group),
        queue_id: handle.queue_id,
        extra_info: handle.text.clone(),
        offset: handle.offset,
    };
    let r = call(
        cx,
        caller,
        RemotingCommand::request(request::ACK_MESSAGE, &header),
    )
    .await?;
    if r.code == response::SUCCESS {
        Ok(())
    } else {
        Err(status(
            Code::InternalServerError,
            "ack failed: status is abnormal",
        ))
    }
}

pub async fn ack_message(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: AckMessageRequest,
) -> AckMessageResponse {
    let (topic, group) = match names(req.topic.as_ref(), req.group.as_ref()) {
        Ok(n) => n,
        Err(i) => {
            return AckMessageResponse {
                status: Some(i.status()),
                entries: vec![],
            }
        }
    };
    if cx.ctrl.grpc_config.enable_batch_ack {
        return super::batch_ack::ack_in_batch(cx, caller, group, topic, &req.entries).await;
    }
    let mut entries = Vec::with_capacity(req.entries.len());
    for entry in &req.entries {
        let outcome = match ReceiptHandle::valid(&entry.receipt_handle, crate::now_millis()) {
            Ok(handle) => ack_handle(cx, caller, group, topic, &handle).await,
            Err(s) => Err(s),
        };
        entries.push(result_entry(entry, outcome.map_or_else(|s| s, |()| ok())));
    }
    let status = overall(&entries);
    AckMessageResponse {
        status: Some(status),
        entries,
    }
}

fn result_entry(entry: &AckMessageEntry, status: Status) -> AckMessageResultEntry {
    AckMessageResultEntry {
        message_id: entry.message_id.clone(),
        receipt_handle: entry.receipt_handle.clone(),
        status: Some(status),
    }
}

/// `setAckResponseStatus`.
pub(crate) fn overall(entries: &[AckMessageResultEntry]) -> Status {
    let mut codes: Vec<i32> = entries
        .iter()
        .map(|e| e.status.as_ref().map_or(0, |s| s.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [] => status(Code::InternalServerError, "ack message result is empty"),
        [one] => {
            let code = Code::try_from(*one).unwrap_or(Code::InternalServerError);
            status(code, code.as_str_name())
        }
        _ => status(Code::MultipleResults, Code::MultipleResults.as_str_name()),
    }
}

pub async fn change_invisible_duration(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: ChangeInvisibleDurationRequest,
) -> ChangeInvisibleDurationResponse {
    let answer = |s, handle: String| ChangeInvisibleDurationResponse {
        status: Some(s),
        receipt_handle: handle,
    };
    let (topic, group) = match names(req.topic.as_ref(), req.group.as_ref()) {
        Ok(n) => n,
        Err(i) => return answer(i.status(), String::new()),
    };
    let invisible = req.invisible_duration.as_ref().map_or(0, duration_millis);
    if let Err(i) = validate_invisible_time(cx, invisible, 0) {
        return answer(i.status(), String::new());
    }
    let handle = match ReceiptHandle::valid(&req.receipt_handle, crate::now_millis()) {
        Ok(h) => h,
        Err(s) => return answer(s, String::new()),
    };
    let header = ChangeInvisibleTimeRequestHeader {
        consumer_group: group.to_owned(),
        topic: handle.real_topic(topic, group),
        queue_id: handle.queue_id,
        extra_info: handle.text.clone(),
        offset: handle.offset,
        invisible_time: invisible,
    };
    let cmd = RemotingCommand::request(request::CHANGE_MESSAGE_INVISIBLETIME, &header);
    let r = match call(cx, caller, cmd).await {
        Ok(r) => r,
        Err(s) => return answer(s, String::new()),
    };
    let changed = (r.code == response::SUCCESS)
        .then(|| r.decode_header::<ChangeInvisibleTimeResponseHeader>().ok())
        .flatten();
    let Some(h) = changed else {
        return answer(
            status(
                Code::InternalServerError,
                "changeInvisibleDuration failed: status is abnormal",
            ),
            String::new(),
        );
    };
    let new = ReceiptHandle {
        retrieve_time: h.pop_time,
        invisible_time: h.invisible_time,
        revive_qid: h.revive_qid,
        ..handle
    };
    answer(ok(), new.encode())
}

/// `GrpcValidator.validateInvisibleTime`: `min` … `maxInvisibleTimeMills`.
pub fn validate_invisible_time(cx: &GrpcContext, invisible: i64, min: i64) -> Result<(), Invalid> {
    if invisible < min {
        return Err(Invalid::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too small. min is {min}"),
        ));
    }
    let max = cx.ctrl.grpc_config.max_invisible_time_ms;
    if max > 0 && invisible > max {
        return Err(Invalid::new(
            Code::IllegalInvisibleTime,
            format!("the invisibleTime is too large. max is {max}"),
        ));
    }
    Ok(())
}

/// CONSUMER_SEND_MSG_BACK to `%DLQ%<group>`, then (on SUCCESS) an ack of the handle; the
/// send-back's answer.
pub async fn forward_to_dlq(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    group: &str,
    topic: &str,
    message_id: &str,
    handle: &ReceiptHandle,
) -> Result<RemotingCommand, Status> {
    if handle.commit_log_offset < 0 {
        return Err(status(
            Code::InvalidReceiptHandle,
            "commit log offset is empty",
        ));
    }
    let header = ConsumerSendMsgBackRequestHeader {
        offset: handle.commit_log_offset,
        group: group.to_owned(),
        delay_level: -1,
        origin_msg_id: Some(message_id.to_owned()),
        origin_topic: Some(handle.real_topic(topic, group)),
        unit_mode: false,
        max_reconsume_times: Some(0),
    };
    let mut cmd = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK, &header);
    // The header's maxReconsumeTimes is read from clients of V3_4_9 on.
    cmd.version = remoting_codec::code::version::V5_3_3;
    let r = call(cx, caller, cmd).await?;
    if r.code == response::SUCCESS && !handle.is_expired(crate::now_millis()) {
        // The proxy acks with the handle's own expiry check; its outcome is not reported.
        let _ = ack_handle(cx, caller, group, topic, handle).await;
    }
    Ok(r)
}

pub async fn forward_message_to_dead_letter_queue(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: ForwardMessageToDeadLetterQueueRequest,
) -> ForwardMessageToDeadLetterQueueResponse {
    let answer = |s| ForwardMessageToDeadLetterQueueResponse { status: Some(s) };
    let (topic, group) = match names(req.topic.as_ref(), req.group.as_ref()) {
        Ok(n) => n,
        Err(i) => return answer(i.status()),
    };
    let handle = match ReceiptHandle::decode(&req.receipt_handle) {
        Ok(h) => h,
        Err(m) => return answer(status(Code::InternalServerError, &m)),
    };
    match forward_to_dlq(cx, caller, group, topic, &req.message_id, &handle).await {
        Ok(r) => answer(status_of_remoting(r.code, r.remark.as_deref())),
        Err(s) => answer(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_decode_as_java_does() {
        let h = ReceiptHandle::decode("3 1700000000000 30000 2 1 broker-a 1 5 8844").unwrap();
        assert_eq!(
            (h.start_offset, h.offset, h.commit_log_offset),
            (3, 5, 8844)
        );
        assert_eq!(h.real_topic("T", "G"), "%RETRY%G_T");
        assert_eq!(h.encode(), h.text);
        assert!(h.is_expired(1_700_000_030_000));
        assert!(!h.is_expired(1_700_000_029_999));
        let h = ReceiptHandle::decode("3 1 2 3 0 b 1 5").unwrap();
        assert_eq!(h.commit_log_offset, -1);
        assert_eq!(h.real_topic("T", "G"), "T");
        for bad in [
            "",
            "garbage",
            "1 2 3 4 5 6 7",
            "x 1 2 3 0 b 1 5",
            "1 2 3 4 0 b q 5",
        ] {
            assert!(ReceiptHandle::decode(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            ReceiptHandle::decode("a b").unwrap_err(),
            "Parse failed, dataList size 2. IllegalArgumentException"
        );
    }

    #[test]
    fn the_ack_status_is_the_shared_code_or_multiple_results() {
        let e = |code: Code| AckMessageResultEntry {
            message_id: String::new(),
            receipt_handle: String::new(),
            status: Some(status(code, "")),
        };
        assert_eq!(overall(&[]).code, Code::InternalServerError as i32);
        assert_eq!(overall(&[e(Code::Ok), e(Code::Ok)]).message, "OK");
        assert_eq!(
            overall(&[e(Code::Ok), e(Code::InvalidReceiptHandle)]).code,
            Code::MultipleResults as i32
        );
    }
}
