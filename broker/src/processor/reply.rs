//! Request-reply: SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325), Java's
//! `ReplyMessageProcessor` (the same in 4.9.8 and 5.3.3). A consumer that got a request message
//! (`DefaultMQProducer.request`) sends its reply (`MessageUtil.createReplyMessage`: topic
//! `<cluster>_REPLY_TOPIC`, `REPLY_TO_CLIENT` = the requester's client id) with one of these
//! codes; the broker pushes it to the requester, which waits for it on its producer connection.
//!
//! As Java, in this order: the response carries `MSG_REGION` and `TRACE_ON`; before
//! `startAcceptSendRequestTimeStamp` SYSTEM_ERROR "broker unable to service, until <t>"; the
//! send's `msgCheck` ([`super::send`]: names, permissions, the reply topic auto-created); a
//! negative queue id picks a queue. Then PUSH_REPLY_MESSAGE_TO_CLIENT (326, a
//! `ReplyMessageRequestHeader`: the send header, born and store host, store time; the
//! properties with `PUSH_REPLY_TIME` added; the body) to the connection of the producer whose
//! client id is `REPLY_TO_CLIENT` (`ProducerManager.findChannel`), within `callClient`'s 10 s.
//! Its answer decides the response: SUCCESS with msgId `0`, the queue and queue offset 0; or
//! SYSTEM_ERROR "reply message properties[REPLY_TO_CLIENT] is null", "push reply message fail,
//! channel of <id> not found." or "push reply message to <id>fail." (Java's spacing).
//! With `storeReplyMessageEnable` (the default) the reply is then stored as it was sent
//! (properties string as in the header: no `CLUSTER`, `WAIT` kept), whatever the push did; a
//! stored put replaces msgId / queue offset in the header and counts in the statistics, a
//! failed one changes nothing (Java only logs it).

use remoting_codec::code::{request, response};
use remoting_codec::message::message_const::{
    PROPERTY_MESSAGE_REPLY_TO_CLIENT, PROPERTY_PUSH_REPLY_TIME,
};
use remoting_codec::message::{MessageProperties, StoredMessage};
use remoting_codec::protocol::send::{
    add_send_response_ext_fields, parse_send_header, ReplyMessageRequestHeader,
    SendMessageRequestHeader, SendMessageResponseHeader,
};
use remoting_codec::RemotingCommand;
use store::{PutMessageStatus, PutOutcome};

use super::send::{msg_check, put_now, PutRequest};
use super::{HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::controller::BrokerController;
use crate::topic::random_queue_id;

pub(super) const ROUTES: &[Route] = &[
    Route::inline(request::SEND_REPLY_MESSAGE, send_reply),
    Route::inline(request::SEND_REPLY_MESSAGE_V2, send_reply),
];

fn send_reply(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let ctrl = &cx.ctrl;
    // The reply codes carry the send headers: V2's one-letter fields for 325, V1's for 324.
    let as_send = if req.code == request::SEND_REPLY_MESSAGE_V2 {
        request::SEND_MESSAGE_V2
    } else {
        request::SEND_MESSAGE
    };
    let empty = Default::default();
    let header = parse_send_header(as_send, req.ext_fields.as_ref().unwrap_or(&empty))?
        .ok_or_else(|| Refusal::not_supported(req.code))?;
    let mut resp = RemotingCommand::response_to(&req, response::SUCCESS);
    ctrl.configuration
        .broker(|b| add_send_response_ext_fields(resp.ext_fields_mut(), &b.region_id, b.trace_on));
    let start = ctrl
        .configuration
        .broker(|b| b.start_accept_send_request_time_stamp);
    if crate::now_millis() < start {
        return Ok(refused(
            resp,
            Refusal::new(
                response::SYSTEM_ERROR,
                format!("broker unable to service, until {start}"),
            ),
        )
        .into());
    }
    let topic_config = match msg_check(ctrl, cx.conn.peer_addr(), &header) {
        Ok(config) => config,
        Err(refusal) => return Ok(refused(resp, refusal).into()),
    };
    let queue_id = if header.queue_id < 0 {
        random_queue_id(topic_config.write_queue_nums)
    } else {
        header.queue_id
    };
    let properties = header.properties.clone().unwrap_or_default();
    let msg = StoredMessage {
        topic: header.topic.clone(),
        queue_id,
        flag: header.flag,
        body: req.body.clone(),
        properties: MessageProperties::parse(&properties),
        born_timestamp: header.born_timestamp,
        born_host: cx.conn.peer_addr(),
        store_host: ctrl.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        ..StoredMessage::default()
    };
    let cx = cx.clone();
    Ok(Reply::later(async move {
        let ctrl = &cx.ctrl;
        let push = push_reply(ctrl, &cx, &header, &msg).await;
        let mut out = SendMessageResponseHeader {
            msg_id: String::new(),
            queue_id,
            queue_offset: 0,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        };
        let mut pushed = false;
        match push {
            Ok(()) => {
                pushed = true;
                out.msg_id = "0".to_owned();
            }
            Err(remark) => {
                resp.code = response::SYSTEM_ERROR;
                resp.remark = Some(remark);
            }
        }
        let mut stored = false;
        if ctrl.configuration.broker(|b| b.store_reply_message_enable) {
            stored = store_reply(ctrl, msg, &mut out).await;
        }
        // Java's header is written only when the push or the put filled it.
        if pushed || stored {
            resp = resp.with_header(&out);
        }
        Ok(Some(resp))
    }))
}

fn refused(mut resp: RemotingCommand, refusal: Refusal) -> RemotingCommand {
    resp.code = refusal.code;
    resp.remark = refusal.remark;
    resp
}

/// PUSH_REPLY_MESSAGE_TO_CLIENT to the requester; `Err` is the response's remark.
async fn push_reply(
    ctrl: &BrokerController,
    cx: &RequestContext,
    header: &SendMessageRequestHeader,
    msg: &StoredMessage,
) -> Result<(), String> {
    let Some(sender) = msg.properties.get(PROPERTY_MESSAGE_REPLY_TO_CLIENT) else {
        tracing::warn!("{PROPERTY_MESSAGE_REPLY_TO_CLIENT} is null, can not reply message");
        return Err(format!(
            "reply message properties[{PROPERTY_MESSAGE_REPLY_TO_CLIENT}] is null"
        ));
    };
    let connection = ctrl
        .producer_manager
        .find_channel(sender)
        .and_then(|id| ctrl.broker2client.connection(id));
    let Some(connection) = connection else {
        let remark = format!("push reply message fail, channel of <{sender}> not found.");
        tracing::warn!("{remark}");
        return Err(remark);
    };
    let mut properties = msg.properties.clone();
    properties.insert(PROPERTY_PUSH_REPLY_TIME, crate::now_millis().to_string());
    let push = ReplyMessageRequestHeader {
        producer_group: header.producer_group.clone(),
        topic: header.topic.clone(),
        default_topic: header.default_topic.clone(),
        default_topic_queue_nums: header.default_topic_queue_nums,
        queue_id: header.queue_id,
        sys_flag: header.sys_flag,
        born_timestamp: header.born_timestamp,
        flag: header.flag,
        properties: Some(properties.encode()),
        reconsume_times: header.reconsume_times,
        unit_mode: header.unit_mode,
        born_host: cx.conn.peer_addr().to_string(),
        store_host: ctrl.store_host.to_string(),
        store_timestamp: crate::now_millis(),
    };
    let request = RemotingCommand::request(request::PUSH_REPLY_MESSAGE_TO_CLIENT, &push)
        .with_body(msg.body.clone());
    let timeout = ctrl.broker2client.timeouts().call_client;
    match connection.invoke(request, timeout).await {
        Ok(answer) if answer.code == response::SUCCESS => Ok(()),
        Ok(answer) => {
            tracing::warn!(
                "push reply message to <{sender}> return fail, response remark: {:?}",
                answer.remark
            );
            Err(format!("push reply message to {sender}fail."))
        }
        Err(e) => {
            tracing::warn!("push reply message to <{sender}> fail. {connection:?} {e}");
            Err(format!("push reply message to {sender}fail."))
        }
    }
}

/// `storeReplyMessageEnable`: the reply stored as sent; `true` when it was (the header then
/// names it).
async fn store_reply(
    ctrl: &BrokerController,
    msg: StoredMessage,
    out: &mut SendMessageResponseHeader,
) -> bool {
    let (topic, queue_id) = (msg.topic.clone(), msg.queue_id);
    let result = match put_now(&ctrl.store, PutRequest::AsSent(Box::new(msg))) {
        PutOutcome::Done(result) => result,
        PutOutcome::Flushing(pending) => {
            let timeout = pending.timeout();
            pending.wait_until(tokio::time::sleep(timeout)).await
        }
    };
    let stored = matches!(
        result.status,
        PutMessageStatus::PutOk
            | PutMessageStatus::FlushDiskTimeout
            | PutMessageStatus::FlushSlaveTimeout
            | PutMessageStatus::SlaveNotAvailable
    );
    match result.append {
        Some(append) if stored => {
            ctrl.broker_stats_manager.on_message_put(
                &topic,
                queue_id,
                append.msg_num as i64,
                append.wrote_bytes as i64,
            );
            out.msg_id = append.msg_id;
            out.queue_offset = append.logics_offset;
            true
        }
        _ => {
            tracing::warn!("process reply message, put failed: {:?}", result.status);
            false
        }
    }
}
