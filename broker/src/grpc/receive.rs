//! ReceiveMessage: the proxy's `ReceiveMessageActivity`, `ConsumerProcessor.popMessage`,
//! `PopMessageResultFilterImpl` and `ReceiveMessageResponseStreamWriter`, over the broker's
//! POP_MESSAGE as the proxy's local mode (`LocalMessageService.popMessage`) sends it.
//!
//! Before the pop, in the proxy's order:
//! - the long-polling time: the request's `long_polling_timeout`, else the call's remaining
//!   deadline minus half the client's request timeout, held within
//!   `grpcClientConsumerMinLongPollingTimeoutMillis` (5 s) … `…MaxLongPollingTimeoutMillis`
//!   (20 s); when that exceeds the deadline left (`grpc-timeout`), the deadline if it is at
//!   least the minimum, else ILLEGAL_POLLING_TIME (BAD_REQUEST for clients before 5.0.3)
//!   "The deadline time remaining is not enough for polling, please check network condition";
//! - topic and group names (ILLEGAL_TOPIC, ILLEGAL_CONSUMER_GROUP), the topic known
//!   (TOPIC_NOT_FOUND) and readable (FORBIDDEN "no readable queue");
//! - the invisible time: with `auto_renew` (push consumers) the proxy's
//!   `defaultInvisibleTimeMills` (60 s); this broker does not renew it afterwards (the proxy's
//!   receipt-handle renewal is not served); else the request's, within
//!   `minInvisibleTimeMillsForRecv` (10 s) … `maxInvisibleTimeMills` (12 h)
//!   (ILLEGAL_INVISIBLE_TIME);
//! - the filter (`FilterAPI.build`): TAG (`*` or blank: everything, else `a || b` tags) or SQL92;
//!   an empty SQL expression is ILLEGAL_FILTER_EXPRESSION.
//!
//! The pop: POP_MESSAGE on every queue of the topic (queue −1, the proxy's broker-acting
//! queue), at most 32 messages (`MAX_MSG_NUMS_FOR_POP_REQUEST`; a negative batch is refused
//! as the broker's `new ArrayList(n)` throws), `initMode` MAX, orderly when the group consumes
//! orderly (`consumeMessageOrderly`: FIFO), the request's attempt id, held by the broker up to
//! the polling time (ended early when the client cancels the call).
//!
//! Each popped message gets its receipt handle (`POP_CK` rebuilt from the response's offset
//! infos as `LocalMessageService` does, plus the commitlog offset); an orderly pop's
//! `orderCountInfo` is its reconsume count. Then `PopMessageResultFilterImpl`: a retried
//! message whose tag the TAG filter does not take is acked and dropped; one whose reconsume
//! count reached the group's max attempts (`retryMaxTimes` + 1, what Telemetry reports) is sent
//! to `%DLQ%<group>` and acked ([`super::consume::forward_to_dlq`]) and dropped — that is how a
//! SimpleConsumer's message reaches the DLQ.
//!
//! The stream: a status — OK, MESSAGE_NOT_FOUND "no match message" (all dropped),
//! MESSAGE_NOT_FOUND "no new message" (POLLING_TIMEOUT), TOO_MANY_REQUESTS "polling full", or
//! the broker's refusal mapped by `ResponseBuilder.buildCode` — then each message
//! (`GrpcConverter.buildMessage`: delivery attempt = reconsume count + 1, the receipt handle,
//! the message group, born and store times…), then the delivery timestamp (now). A message
//! the client is no longer there to take gets 1 s invisible time, as the proxy's
//! `processThrowableWhenWriteMessage` does.

use std::sync::Arc;

use grpc::convert::{duration_millis, ok, status, status_of_remoting, timestamp_of_millis};
use grpc::v2::{
    receive_message_response::Content, Code, FilterType, ReceiveMessageRequest,
    ReceiveMessageResponse, Status,
};
use remoting_codec::code::{request, response};
use remoting_codec::message::message_const::PROPERTY_POP_CK;
use remoting_codec::message::{decode_records, StoredMessage};
use remoting_codec::protocol::perm;
use remoting_codec::protocol::pop::{
    offset_info_key, parse_order_count_info, parse_start_offset_info, ExtraInfo,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use remoting_codec::RemotingCommand;
use tokio::sync::mpsc;

use super::consume::{self, ReceiptHandle};
use super::route::{topic_config, validate_group, validate_topic};
use super::{Caller, GrpcContext};

/// `ProxyUtils.MAX_MSG_NUMS_FOR_POP_REQUEST`.
pub const MAX_BATCH: i32 = 32;
/// `ReceiveMessageResponseStreamWriter.NACK_INVISIBLE_TIME`.
const NACK_INVISIBLE_MS: i64 = 1000;
/// `ReceiveMessageActivity.ILLEGAL_POLLING_TIME_INTRODUCED_CLIENT_VERSION`.
const ILLEGAL_POLLING_TIME_VERSION: &str = "5.0.3";

type Tx = mpsc::Sender<Result<ReceiveMessageResponse, tonic::Status>>;

/// What the call's metadata adds to the request.
#[derive(Clone, Debug, Default)]
pub struct CallInfo {
    /// The deadline left (`grpc-timeout`), None without one.
    pub remaining_ms: Option<i64>,
    /// `x-mq-client-version`.
    pub client_version: Option<String>,
}

impl CallInfo {
    pub fn of<T>(request: &tonic::Request<T>) -> CallInfo {
        let text = |k: &str| {
            request
                .metadata()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        CallInfo {
            remaining_ms: text("grpc-timeout").and_then(|t| grpc_timeout_ms(&t)),
            client_version: text("x-mq-client-version"),
        }
    }
}

/// A `grpc-timeout` value (digits and a unit: H M S m u n) in milliseconds.
pub fn grpc_timeout_ms(value: &str) -> Option<i64> {
    let unit = value.chars().last()?;
    let n: i64 = value.get(..value.len() - unit.len_utf8())?.parse().ok()?;
    let ms = match unit {
        'H' => n.checked_mul(3_600_000)?,
        'M' => n.checked_mul(60_000)?,
        'S' => n.checked_mul(1000)?,
        'm' => n,
        'u' => n / 1000,
        'n' => n / 1_000_000,
        _ => return None,
    };
    Some(ms)
}

fn item(content: Content) -> ReceiveMessageResponse {
    ReceiveMessageResponse {
        content: Some(content),
    }
}

/// Writes the status, then the delivery timestamp, and ends (`writeAndComplete`).
async fn refuse(tx: &Tx, s: Status) {
    let _ = tx.send(Ok(item(Content::Status(s)))).await;
    complete(tx).await;
}

async fn complete(tx: &Tx) {
    let now = timestamp_of_millis(crate::now_millis());
    let _ = tx.send(Ok(item(Content::DeliveryTimestamp(now)))).await;
}

/// The pop, checked as [the module doc](self) says; `Err` is the stream's only status.
fn pop_header(
    cx: &GrpcContext,
    info: &CallInfo,
    req: &ReceiveMessageRequest,
    request_timeout_ms: i64,
    fifo: bool,
) -> Result<PopMessageRequestHeader, Status> {
    let config = &cx.ctrl.grpc_config;
    let (min, max) = (config.min_long_polling_ms, config.max_long_polling_ms);
    let mut polling = match (&req.long_polling_timeout, info.remaining_ms) {
        (Some(d), _) => duration_millis(d),
        (None, Some(left)) => left.saturating_sub(request_timeout_ms / 2),
        (None, None) => max,
    };
    polling = polling.max(min).min(max);
    if let Some(left) = info.remaining_ms.filter(|left| polling > *left) {
        if left >= min {
            polling = left;
        } else {
            let old = info
                .client_version
                .as_deref()
                .is_none_or(|v| ILLEGAL_POLLING_TIME_VERSION > v);
            let code = if old {
                Code::BadRequest
            } else {
                Code::IllegalPollingTime
            };
            return Err(status(
                code,
                "The deadline time remaining is not enough for polling, please check network condition",
            ));
        }
    }
    let topic = super::name_of(req.message_queue.as_ref().and_then(|q| q.topic.as_ref()));
    let group = super::name_of(req.group.as_ref());
    validate_topic(topic).map_err(|i| i.status())?;
    validate_group(group).map_err(|i| i.status())?;
    let topic_config = topic_config(cx, topic).map_err(|i| i.status())?;
    let p = topic_config.perm & cx.ctrl.configuration.broker(|b| b.broker_permission);
    if !perm::is_readable(p) || topic_config.read_queue_nums <= 0 {
        return Err(status(Code::Forbidden, "no readable queue"));
    }
    let invisible = if req.auto_renew {
        config.default_invisible_time_ms
    } else {
        let ms = req.invisible_duration.as_ref().map_or(0, duration_millis);
        consume::validate_invisible_time(cx, ms, config.min_invisible_time_for_recv_ms)
            .map_err(|i| i.status())?;
        ms
    };
    let (exp_type, exp) = match &req.filter_expression {
        Some(f) if f.r#type == FilterType::Sql as i32 => {
            if f.expression.is_empty() {
                return Err(status(
                    Code::IllegalFilterExpression,
                    "Expression can't be null! SQL92",
                ));
            }
            ("SQL92", f.expression.clone())
        }
        Some(f) if !f.expression.trim().is_empty() && f.expression.trim() != "*" => {
            ("TAG", f.expression.trim().to_owned())
        }
        _ => ("TAG", "*".to_owned()),
    };
    if req.batch_size < 0 {
        return Err(status(
            Code::InternalServerError,
            &format!("Illegal Capacity: {}", req.batch_size),
        ));
    }
    Ok(PopMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id: -1,
        max_msg_nums: req.batch_size.min(MAX_BATCH),
        invisible_time: invisible,
        poll_time: polling,
        born_time: crate::now_millis(),
        init_mode: 1,
        exp_type: Some(exp_type.to_owned()),
        exp: Some(exp),
        order: Some(fifo),
        attempt_id: req.attempt_id.clone(),
    })
}

/// The TAG filter's tags (`SubscriptionData.tagsSet`); empty takes every message.
fn tags_of(header: &PopMessageRequestHeader) -> Vec<String> {
    if header.exp_type.as_deref() != Some("TAG") {
        return vec![];
    }
    let exp = header.exp.as_deref().unwrap_or("*");
    if exp == "*" {
        return vec![];
    }
    exp.split("||")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The messages of a FOUND answer, each with its receipt handle (`PROPERTY_POP_CK`) and, for
/// an orderly pop, its reconsume count (`LocalMessageService.popMessage`).
fn popped(resp: &RemotingCommand, broker_name: &str, order: bool) -> Vec<StoredMessage> {
    let Ok(h) = resp.decode_header::<PopMessageResponseHeader>() else {
        return vec![];
    };
    let start = h
        .start_offset_info
        .as_deref()
        .and_then(parse_start_offset_info);
    let counts = h
        .order_count_info
        .as_deref()
        .and_then(parse_order_count_info);
    let mut out = Vec::new();
    for mut m in decode_records(&resp.body).flatten() {
        if m.properties.get(PROPERTY_POP_CK).is_none() {
            let key = offset_info_key(&m.topic, i64::from(m.queue_id));
            let ck = match start.as_ref().and_then(|s| s.get(&key)) {
                Some(&start_offset) => ExtraInfo::build(
                    start_offset,
                    h.pop_time,
                    h.invisible_time,
                    h.revive_qid,
                    &m.topic,
                    broker_name,
                    m.queue_id,
                    Some(m.queue_offset),
                ),
                None => ExtraInfo::build(
                    m.queue_offset,
                    h.pop_time,
                    h.invisible_time,
                    h.revive_qid,
                    &m.topic,
                    broker_name,
                    m.queue_id,
                    Some(m.queue_offset),
                ),
            };
            m.properties.insert(PROPERTY_POP_CK, ck);
            if order {
                if let Some(&n) = counts.as_ref().and_then(|c| c.get(&key)) {
                    if n > 0 {
                        m.reconsume_times = n;
                    }
                }
            }
        }
        out.push(m);
    }
    out
}

/// The stream's items: sent on `tx` until the call ends.
pub async fn receive_message(
    cx: Arc<GrpcContext>,
    caller: Caller,
    info: CallInfo,
    req: ReceiveMessageRequest,
    tx: Tx,
) {
    let group_name = super::name_of(req.group.as_ref()).to_owned();
    let settings = cx
        .sessions
        .get(&caller.client_id)
        .and_then(|s| s.settings());
    let request_timeout = settings
        .as_ref()
        .and_then(|s| s.request_timeout.as_ref())
        .map_or(0, duration_millis);
    // The group's settings as Telemetry reports them (`mergeSubscriptionData`).
    let group = cx
        .ctrl
        .subscription_group_manager
        .find_subscription_group_config(&group_name);
    let fifo = group
        .as_ref()
        .is_some_and(|g| g.consume_message_orderly.unwrap_or(false));
    let max_attempts = match (&group, &settings) {
        (Some(g), _) => g.retry_max_times.saturating_add(1),
        (None, Some(s)) => s.backoff_policy.as_ref().map_or(0, |b| b.max_attempts),
        (None, None) => 0,
    };
    let header = match pop_header(&cx, &info, &req, request_timeout, fifo) {
        Ok(h) => h,
        Err(s) => return refuse(&tx, s).await,
    };
    let topic = header.topic.clone();
    let tags = tags_of(&header);
    let cmd = RemotingCommand::request(request::POP_MESSAGE, &header);
    let session = cx.sessions.get_or_open(&cx, &caller.client_id, caller.peer);
    let resp = tokio::select! {
        r = cx.dispatch(&caller, &session.conn, cmd) => r,
        _ = tx.closed() => return,
    };
    let resp = match resp {
        Ok(Some(r)) => r,
        Ok(None) => return refuse(&tx, status(Code::InternalServerError, "no response")).await,
        Err(s) => return refuse(&tx, s).await,
    };
    let first = match resp.code {
        response::SUCCESS => None,
        response::POLLING_FULL => Some(status(Code::TooManyRequests, "polling full")),
        response::POLLING_TIMEOUT | response::PULL_NOT_FOUND => {
            Some(status(Code::MessageNotFound, "no new message"))
        }
        code => Some(status_of_remoting(code, resp.remark.as_deref())),
    };
    if let Some(s) = first {
        return refuse(&tx, s).await;
    }
    let broker_name = cx.ctrl.broker_config.broker_name.clone();
    let mut deliver = Vec::new();
    for m in popped(&resp, &broker_name, header.order.unwrap_or(false)) {
        let handle_text = format!(
            "{} {}",
            m.properties.get(PROPERTY_POP_CK).unwrap_or_default(),
            m.commit_log_offset
        );
        let Ok(handle) = ReceiptHandle::decode(&handle_text) else {
            deliver.push((m, handle_text));
            continue;
        };
        let tag_ok = tags.is_empty()
            || m.properties
                .tags()
                .is_some_and(|t| tags.iter().any(|x| x == t));
        if !tag_ok {
            let _ = consume::ack_handle(&cx, &caller, &group_name, &topic, &handle).await;
        } else if max_attempts > 0 && m.reconsume_times >= max_attempts {
            let id = m.msg_id();
            let _ = consume::forward_to_dlq(&cx, &caller, &group_name, &topic, &id, &handle).await;
        } else {
            deliver.push((m, handle_text));
        }
    }
    let head = if deliver.is_empty() {
        status(Code::MessageNotFound, "no match message")
    } else {
        ok()
    };
    if tx.send(Ok(item(Content::Status(head)))).await.is_err() {
        return nack(&cx, &caller, &group_name, &topic, deliver).await;
    }
    let mut left = deliver.into_iter();
    while let Some((m, handle)) = left.next() {
        let msg = grpc::convert::to_proto_message(&m, &topic, Some(handle.clone()));
        if tx.send(Ok(item(Content::Message(msg)))).await.is_err() {
            let rest: Vec<_> = std::iter::once((m, handle)).chain(left).collect();
            return nack(&cx, &caller, &group_name, &topic, rest).await;
        }
    }
    complete(&tx).await;
}

/// `processThrowableWhenWriteMessage`: messages the client did not get are visible in 1 s.
async fn nack(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    group: &str,
    topic: &str,
    undelivered: Vec<(StoredMessage, String)>,
) {
    for (_, handle) in undelivered {
        let Ok(h) = ReceiptHandle::decode(&handle) else {
            continue;
        };
        let header = remoting_codec::protocol::pop::ChangeInvisibleTimeRequestHeader {
            consumer_group: group.to_owned(),
            topic: h.real_topic(topic, group),
            queue_id: h.queue_id,
            extra_info: h.text.clone(),
            offset: h.offset,
            invisible_time: NACK_INVISIBLE_MS,
        };
        let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
        let cmd = RemotingCommand::request(request::CHANGE_MESSAGE_INVISIBLETIME, &header);
        let _ = cx.dispatch(caller, &session.conn, cmd).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_read_as_milliseconds() {
        assert_eq!(grpc_timeout_ms("30S"), Some(30_000));
        assert_eq!(grpc_timeout_ms("29999m"), Some(29_999));
        assert_eq!(grpc_timeout_ms("2M"), Some(120_000));
        assert_eq!(grpc_timeout_ms("5000000u"), Some(5000));
        assert_eq!(grpc_timeout_ms("1H"), Some(3_600_000));
        for bad in ["", "S", "12", "x5S", "99999999999999999999H"] {
            assert_eq!(grpc_timeout_ms(bad), None, "{bad:?}");
        }
    }
}
