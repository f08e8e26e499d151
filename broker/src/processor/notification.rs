//! The POP side requests that take nothing: PEEK_MESSAGE (200052, `PeekMessageProcessor`),
//! NOTIFICATION (200054, `NotificationProcessor`) and POLLING_INFO (200055,
//! `PollingInfoProcessor`) of 5.3.3.
//!
//! All three check, as Java: broker readable (NO_PERMISSION `the broker[ip] peeking message is
//! forbidden`), the topic (TOPIC_NOT_EXIST), topic readable (NO_PERMISSION), queueId <
//! readQueueNums (INVALID_PARAMETER), the group (SUBSCRIPTION_GROUP_NOT_EXIST) and its
//! consumeEnable (NO_PERMISSION). The group's position in a queue is its consumer offset, or
//! the queue's min offset when it has none.
//!
//! - PEEK: up to maxMsgNums records from that position (the pop retry topic first for one
//!   request in five, else after the topic), no checkpoint, nothing moves. SUCCESS `FOUND`
//!   with the records, or PULL_NOT_FOUND `NO_MESSAGE_IN_QUEUE`; the POP response header with
//!   only `restNum` set (the others 0).
//! - NOTIFICATION: `hasMsg` — some queue (of the topic, or its pop retry topic) has messages
//!   past the position (an orderly request skips blocked queues). Without, the request is
//!   parked like a pop (`pollTime`, woken by an arrival) and answers again when woken or at
//!   `bornTime + pollTime`; `pollingFull` when it could not be parked. Always SUCCESS.
//! - POLLING_INFO: `pollingNum`, the requests parked on `topic@group@queueId`.

use std::time::Duration;

use bytes::BytesMut;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::pop::{
    NotificationRequestHeader, NotificationResponseHeader, PeekMessageRequestHeader,
    PollingInfoRequestHeader, PollingInfoResponseHeader, PopMessageResponseHeader,
};
use remoting_codec::RemotingCommand;

use super::{HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::controller::BrokerController;
use crate::pop::PopPolling;

pub(super) const ROUTES: &[Route] = &[
    Route::blocking(request::PEEK_MESSAGE, peek),
    Route::inline(request::NOTIFICATION, notification),
    Route::inline(request::POLLING_INFO, |cx, req| {
        let h: PollingInfoRequestHeader = req.decode_header()?;
        check(cx, &h.consumer_group, &h.topic, h.queue_id)?;
        let n = cx.ctrl.pop.polling.polling_num(&PopPolling::key(
            &h.topic,
            &h.consumer_group,
            h.queue_id,
        ));
        Ok(RemotingCommand::response_to(&req, response::SUCCESS)
            .with_header(&PollingInfoResponseHeader {
                polling_num: n as i32,
            })
            .into())
    }),
];

/// The shared checks: the broker's (`peeking` text), then
/// [`crate::pop::PopService::check_topic_and_group`].
fn check(cx: &RequestContext, group: &str, topic: &str, queue_id: i32) -> Result<(), Refusal> {
    let ctrl = &cx.ctrl;
    if !remoting_codec::protocol::perm::is_readable(
        ctrl.configuration.broker(|b| b.broker_permission),
    ) {
        return Err(Refusal::new(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] peeking message is forbidden",
                ctrl.broker_config.broker_ip1
            ),
        ));
    }
    let peer = cx.conn.peer_addr().to_string();
    ctrl.pop
        .check_topic_and_group(ctrl, group, topic, queue_id, &peer)
        .map(drop)
}

/// The group's position: its consumer offset, or the queue's min offset.
fn position(ctrl: &BrokerController, group: &str, topic: &str, queue_id: i32) -> i64 {
    let offset = ctrl
        .consumer_offset_manager
        .query_offset(group, topic, queue_id);
    if offset < 0 {
        ctrl.store.min_offset_in_queue(topic, queue_id).max(0)
    } else {
        offset
    }
}

/// The queues to look at, retry topic first or last as Java's `randomQ % 5 == 0`.
fn queues(
    ctrl: &BrokerController,
    topic: &str,
    group: &str,
    queue_id: i32,
    random_q: i32,
) -> Vec<(String, i32)> {
    let in_topic = |t: &str| -> Vec<(String, i32)> {
        let n = ctrl
            .topic_config_manager
            .select_topic_config(t)
            .map_or(0, |c| c.read_queue_nums);
        (0..n).map(|i| (t.to_owned(), (random_q + i) % n)).collect()
    };
    let retry = in_topic(&ctrl.pop.config.retry_topic(topic, group));
    let own = if queue_id < 0 {
        in_topic(topic)
    } else {
        vec![(topic.to_owned(), queue_id)]
    };
    if random_q % 5 == 0 {
        retry.into_iter().chain(own).collect()
    } else {
        own.into_iter().chain(retry).collect()
    }
}

fn peek(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let h: PeekMessageRequestHeader = req.decode_header()?;
    check(cx, &h.consumer_group, &h.topic, h.queue_id)?;
    let ctrl = &cx.ctrl;
    let random_q = (crate::now_millis() % 100) as i32;
    let (mut rest, mut body, mut found) = (0i64, BytesMut::new(), 0i32);
    for (topic, q) in queues(ctrl, &h.topic, &h.consumer_group, h.queue_id, random_q) {
        let mut offset = position(ctrl, &h.consumer_group, &topic, q);
        rest += ctrl.store.max_offset_in_queue(&topic, q) - offset;
        if found >= h.max_msg_nums {
            continue;
        }
        let want = (h.max_msg_nums - found) as usize;
        let mut r = ctrl.store.get_message(&topic, q, offset, want, None);
        if matches!(
            r.status,
            store::GetMessageStatus::OffsetTooSmall | store::GetMessageStatus::OffsetOverflowBadly
        ) {
            offset = r.next_begin_offset;
            r = ctrl.store.get_message(&topic, q, offset, want, None);
        }
        for m in &r.messages {
            body.extend_from_slice(m);
            found += 1;
        }
    }
    let (code, remark) = if found > 0 {
        (response::SUCCESS, "FOUND")
    } else {
        (response::PULL_NOT_FOUND, "NO_MESSAGE_IN_QUEUE")
    };
    let mut resp = RemotingCommand::response_to(&req, code)
        .with_remark(remark)
        .with_header(&PopMessageResponseHeader {
            pop_time: 0,
            invisible_time: 0,
            revive_qid: 0,
            rest_num: rest,
            start_offset_info: None,
            msg_offset_info: None,
            order_count_info: None,
        });
    if found > 0 {
        resp = resp.with_body(body.freeze());
    }
    Ok(resp.into())
}

fn has_msg(ctrl: &BrokerController, h: &NotificationRequestHeader) -> bool {
    let random_q = (crate::now_millis() % 100) as i32;
    queues(ctrl, &h.topic, &h.consumer_group, h.queue_id, random_q)
        .into_iter()
        .any(|(topic, q)| {
            if h.order == Some(true)
                && ctrl.pop.order_info.check_block(
                    h.attempt_id.as_deref(),
                    &h.topic,
                    &h.consumer_group,
                    q,
                    0,
                    crate::now_millis(),
                )
            {
                return false;
            }
            ctrl.store.max_offset_in_queue(&topic, q) > position(ctrl, &h.consumer_group, &topic, q)
        })
}

fn answer(req: &RemotingCommand, has_msg: bool, polling_full: bool) -> RemotingCommand {
    RemotingCommand::response_to(req, response::SUCCESS).with_header(&NotificationResponseHeader {
        has_msg,
        polling_full,
    })
}

fn notification(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let h: NotificationRequestHeader = req.decode_header()?;
    check(cx, &h.consumer_group, &h.topic, h.queue_id)?;
    if has_msg(&cx.ctrl, &h) {
        return Ok(answer(&req, true, false).into());
    }
    let now = crate::now_millis();
    let born = if h.born_time == 0 { now } else { h.born_time };
    let expired = born + h.poll_time;
    if h.poll_time <= 0 || now >= expired {
        return Ok(answer(&req, false, false).into());
    }
    let cx = cx.clone();
    Ok(Reply::later(async move {
        let ctrl = &cx.ctrl;
        let topics = [
            h.topic.clone(),
            ctrl.pop.config.retry_topic(&h.topic, &h.consumer_group),
        ];
        let key = PopPolling::key(&h.topic, &h.consumer_group, h.queue_id);
        let Some(parked) = ctrl.pop.polling.park(key, &topics, &ctrl.pop.config) else {
            return Ok(Some(answer(&req, false, true)));
        };
        loop {
            let on_topic = parked.notifies[0].notified();
            let on_retry = parked.notifies[1].notified();
            tokio::pin!(on_topic, on_retry);
            on_topic.as_mut().enable();
            on_retry.as_mut().enable();
            if has_msg(ctrl, &h) {
                return Ok(Some(answer(&req, true, false)));
            }
            let left = expired - crate::now_millis();
            if left <= 0 {
                return Ok(Some(answer(&req, false, false)));
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
