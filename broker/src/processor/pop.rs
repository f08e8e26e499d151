//! POP_MESSAGE (200050), 5.3.3's `PopMessageProcessor` over [`crate::pop::PopService`].
//!
//! Checks in Java's order, each with its code and remark: `now − bornTime − pollTime > 500`
//! → POLLING_TIMEOUT (`the broker[ip] pop message is timeout too much`; a bornTime of 0 is
//! now); broker not readable → NO_PERMISSION; maxMsgNums > 32 → INVALID_PARAMETER;
//! `timerWheelEnable=false` → SYSTEM_ERROR; no topic → TOPIC_NOT_EXIST; topic not readable →
//! NO_PERMISSION (`peeking` in Java's text); queueId ≥ readQueueNums → INVALID_PARAMETER;
//! no group → SUBSCRIPTION_GROUP_NOT_EXIST; consume disabled → NO_PERMISSION; an `exp` that
//! does not parse → SUBSCRIPTION_PARSE_FAILED.
//!
//! Found: SUCCESS, remark FOUND, the records as body and the response header (`popTime`,
//! `invisibleTime`, `reviveQid`, `restNum`, `startOffsetInfo`, `msgOffsetInfo`, and
//! `orderCountInfo` for an orderly pop). Nothing: with `pollTime` > 0 the request is parked
//! (`PopLongPollingService`, [`crate::pop::PopPolling`]) until a message reaches the topic or
//! its pop retry topic, the connection closes, or `bornTime + pollTime`; each wake runs the
//! pop again. The final empty answer is POLLING_TIMEOUT (POLLING_FULL when
//! `maxPopPollingSize` requests are parked), remark NO_MESSAGE_IN_QUEUE, with the header.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use remoting_codec::code::{request, response};
use remoting_codec::protocol::pop::{PopMessageRequestHeader, PopMessageResponseHeader};
use remoting_codec::RemotingCommand;

use super::{HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::consumer_filter::{self, is_tag_type, FilterData, SubscriptionFilter};
use crate::controller::BrokerController;
use crate::pop::{PopRequest, Popped};

/// A pop reads mapped files and puts a checkpoint (the store's lock): a blocking thread.
pub(super) const ROUTES: &[Route] = &[Route::blocking(request::POP_MESSAGE, pop_message)];

fn pop_message(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let header: PopMessageRequestHeader = req.decode_header()?;
    let ctrl = &cx.ctrl;
    let now = crate::now_millis();
    let born = if header.born_time == 0 {
        now
    } else {
        header.born_time
    };
    if now - born - header.poll_time > 500 {
        return Err(Refusal::new(
            response::POLLING_TIMEOUT,
            format!(
                "the broker[{}] pop message is timeout too much",
                ctrl.broker_config.broker_ip1
            ),
        ));
    }
    let mut pop = PopRequest {
        group: header.consumer_group.clone(),
        topic: header.topic.clone(),
        queue_id: header.queue_id,
        max_msg_nums: header.max_msg_nums,
        invisible_time: header.invisible_time,
        init_mode: header.init_mode,
        order: header.order.unwrap_or(false),
        attempt_id: header.attempt_id.clone(),
        filter: None,
        peer: cx.conn.peer_addr().to_string(),
    };
    ctrl.pop.check(ctrl, &pop)?;
    pop.filter = filter(ctrl, &header, now)?;
    let first = ctrl.pop.pop(ctrl, &pop, now);
    if !first.messages.is_empty() {
        if first.rest_num > 0 {
            ctrl.pop.polling.wake(&pop.topic);
        }
        return Ok(found(&req, first).into());
    }
    let expired = born + header.poll_time;
    if header.poll_time <= 0 || now >= expired {
        return Ok(empty(&req, response::POLLING_TIMEOUT, &first).into());
    }
    let cx = cx.clone();
    Ok(Reply::later(async move {
        let ctrl = &cx.ctrl;
        let topics = [
            pop.topic.clone(),
            ctrl.pop.config.retry_topic(&pop.topic, &pop.group),
        ];
        let key = crate::pop::PopPolling::key(&pop.topic, &pop.group, pop.queue_id);
        let Some(parked) = ctrl.pop.polling.park(key, &topics, &ctrl.pop.config) else {
            return Ok(Some(empty(&req, response::POLLING_FULL, &first)));
        };
        let pop = Arc::new(pop);
        loop {
            let on_topic = parked.notifies[0].notified();
            let on_retry = parked.notifies[1].notified();
            tokio::pin!(on_topic, on_retry);
            on_topic.as_mut().enable();
            on_retry.as_mut().enable();
            // A message that arrived before we registered did not wake us: look again.
            let (c, p) = (cx.ctrl.clone(), pop.clone());
            let popped =
                tokio::task::spawn_blocking(move || c.pop.pop(&c, &p, crate::now_millis()))
                    .await
                    .map_err(|e| Refusal::system_error(e.to_string()))?;
            if !popped.messages.is_empty() {
                return Ok(Some(found(&req, popped)));
            }
            let left = expired - crate::now_millis();
            if left <= 0 {
                return Ok(Some(empty(&req, response::POLLING_TIMEOUT, &popped)));
            }
            tokio::select! {
                _ = &mut on_topic => {}
                _ = &mut on_retry => {}
                _ = tokio::time::sleep(Duration::from_millis(left as u64)) => {}
                _ = cx.conn.closed() => return Ok(None),
            }
        }
    }))
}

/// The request's expression filter (`exp` / `expType`), Java's `FilterAPI.build` and
/// `ConsumerFilterManager.build`; None for no expression.
fn filter(
    ctrl: &BrokerController,
    header: &PopMessageRequestHeader,
    now: i64,
) -> Result<Option<Arc<SubscriptionFilter>>, Refusal> {
    let Some(exp) = header.exp.as_deref().filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let parse_failed = || {
        Refusal::new(
            response::SUBSCRIPTION_PARSE_FAILED,
            "parse the consumer's subscription failed",
        )
    };
    let sub = consumer_filter::build(&header.topic, Some(exp), header.exp_type.as_deref())
        .map_err(|_| parse_failed())?;
    let mut data = None;
    if !is_tag_type(sub.expression_type.as_deref()) {
        data = Some(Arc::new(
            FilterData::build(
                &header.topic,
                &header.consumer_group,
                exp,
                header.exp_type.as_deref().unwrap_or(""),
                now,
                now,
            )
            .ok_or_else(parse_failed)?,
        ));
    }
    Ok(Some(Arc::new(SubscriptionFilter::new(
        &sub,
        data,
        &ctrl.consumer_filter_manager,
        ctrl.configuration.broker(|b| b.filter_support_retry),
    ))))
}

fn header(p: &Popped) -> PopMessageResponseHeader {
    PopMessageResponseHeader {
        pop_time: p.pop_time,
        invisible_time: p.invisible_time,
        revive_qid: p.revive_qid,
        rest_num: p.rest_num,
        start_offset_info: Some(p.start_offset_info.clone()),
        msg_offset_info: Some(p.msg_offset_info.clone()),
        order_count_info: p.order_count_info.clone(),
    }
}

fn found(req: &RemotingCommand, p: Popped) -> RemotingCommand {
    let total: usize = p.messages.iter().map(Bytes::len).sum();
    let mut body = BytesMut::with_capacity(total);
    for m in &p.messages {
        body.extend_from_slice(m);
    }
    RemotingCommand::response_to(req, response::SUCCESS)
        .with_remark("FOUND")
        .with_header(&header(&p))
        .with_body(body.freeze())
}

fn empty(req: &RemotingCommand, code: i32, p: &Popped) -> RemotingCommand {
    RemotingCommand::response_to(req, code)
        .with_remark("NO_MESSAGE_IN_QUEUE")
        .with_header(&header(p))
}
