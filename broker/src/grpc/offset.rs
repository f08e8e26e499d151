//! PullMessage, UpdateOffset, GetOffset and QueryOffset: the RPCs of the 5.x clients' pull
//! and lite consumers, which read queues by offset and keep their own positions.
//!
//! The 5.3.3 proxy does not implement them (its service answers UNIMPLEMENTED); this broker
//! serves them on its remoting paths, so the semantics are those of the remoting calls they
//! become, with the proxy's code mapping where one applies:
//!
//! | RPC | remoting request | answer |
//! |---|---|---|
//! | UpdateOffset | UPDATE_CONSUMER_OFFSET 15 | OK, or the mapped refusal |
//! | GetOffset | QUERY_CONSUMER_OFFSET 14 | the committed offset; QUERY_NOT_FOUND → OFFSET_NOT_FOUND |
//! | QueryOffset | GET_MIN_OFFSET 31 (BEGINNING), GET_MAX_OFFSET 30 (END), SEARCH_OFFSET_BY_TIMESTAMP 29 (TIMESTAMP) | the offset |
//! | PullMessage | PULL_MESSAGE 11 with the filter as subscription, suspended up to the long-polling timeout | a status, the messages, the next offset |
//!
//! A pull's status is OK when messages came, MESSAGE_NOT_FOUND when the queue has none past the
//! offset (PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY), ILLEGAL_OFFSET when the offset is outside the
//! queue (PULL_OFFSET_MOVED); the next offset follows in every case. Group and topic names are
//! checked as everywhere (ILLEGAL_CONSUMER_GROUP, ILLEGAL_TOPIC); a negative queue id or offset
//! is BAD_REQUEST / ILLEGAL_OFFSET.

use std::sync::Arc;

use grpc::convert::{duration_millis, ok, status, status_of_remoting, timestamp_millis, Invalid};
use grpc::v2::{
    pull_message_response, Code, FilterType, GetOffsetRequest, GetOffsetResponse, MessageQueue,
    PullMessageRequest, PullMessageResponse, QueryOffsetPolicy, QueryOffsetRequest,
    QueryOffsetResponse, UpdateOffsetRequest, UpdateOffsetResponse,
};
use remoting_codec::code::{request, response};
use remoting_codec::message::decode_records;
use remoting_codec::message::sysflag::pull_sys_flag::{FLAG_SUBSCRIPTION, FLAG_SUSPEND};
use remoting_codec::protocol::offset::{
    GetMaxOffsetRequestHeader, GetMinOffsetRequestHeader, QueryConsumerOffsetRequestHeader,
    SearchOffsetRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use remoting_codec::protocol::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use remoting_codec::RemotingCommand;

use super::route::{validate_group, validate_topic};
use super::{Caller, GrpcContext};

/// The largest pull batch (the remoting pull's own cap is the store's).
const MAX_BATCH: i32 = 1024;

/// The topic and queue of a request, checked.
fn queue_of(mq: Option<&MessageQueue>) -> Result<(String, i32), Invalid> {
    let topic = super::name_of(mq.and_then(|q| q.topic.as_ref())).to_owned();
    validate_topic(&topic)?;
    let id = mq.map_or(-1, |q| q.id);
    if id < 0 {
        return Err(Invalid::new(
            Code::BadRequest,
            format!("illegal queue id {id}"),
        ));
    }
    Ok((topic, id))
}

/// Runs `cmd` on the caller's session; the response, or the status of its failure.
async fn call(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    cmd: RemotingCommand,
) -> Result<RemotingCommand, grpc::v2::Status> {
    let session = cx.sessions.get_or_open(cx, &caller.client_id, caller.peer);
    cx.dispatch(caller, &session.conn, cmd)
        .await?
        .ok_or_else(|| status(Code::InternalServerError, "no response"))
}

/// The `offset` header field of a response.
fn offset_of(resp: &RemotingCommand) -> Result<i64, grpc::v2::Status> {
    resp.ext_field("offset")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| status(Code::InternalServerError, "response without its offset"))
}

pub async fn update_offset(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: UpdateOffsetRequest,
) -> UpdateOffsetResponse {
    let answer = |s| UpdateOffsetResponse { status: Some(s) };
    let group = super::name_of(req.group.as_ref()).to_owned();
    let (topic, queue_id) =
        match validate_group(&group).and_then(|()| queue_of(req.message_queue.as_ref())) {
            Ok(q) => q,
            Err(i) => return answer(i.status()),
        };
    if req.offset < 0 {
        return answer(status(
            Code::IllegalOffset,
            &format!("illegal offset {}", req.offset),
        ));
    }
    let header = UpdateConsumerOffsetRequestHeader {
        consumer_group: group,
        topic,
        queue_id,
        commit_offset: req.offset,
    };
    match call(
        cx,
        caller,
        RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET, &header),
    )
    .await
    {
        Ok(r) if r.code == response::SUCCESS => answer(ok()),
        Ok(r) => answer(status_of_remoting(r.code, r.remark.as_deref())),
        Err(s) => answer(s),
    }
}

pub async fn get_offset(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: GetOffsetRequest,
) -> GetOffsetResponse {
    let answer = |s, offset| GetOffsetResponse {
        status: Some(s),
        offset,
    };
    let group = super::name_of(req.group.as_ref()).to_owned();
    let (topic, queue_id) =
        match validate_group(&group).and_then(|()| queue_of(req.message_queue.as_ref())) {
            Ok(q) => q,
            Err(i) => return answer(i.status(), 0),
        };
    let header = QueryConsumerOffsetRequestHeader {
        consumer_group: group,
        topic,
        queue_id,
        // The remoting rule for a group without a commit (0 while the queue's first message
        // is in memory), not 5.x's `setZeroIfNotFound=false`: a new group starts at the
        // beginning, as a remoting consumer does.
        set_zero_if_not_found: None,
    };
    match call(
        cx,
        caller,
        RemotingCommand::request(request::QUERY_CONSUMER_OFFSET, &header),
    )
    .await
    {
        Ok(r) if r.code == response::SUCCESS => match offset_of(&r) {
            Ok(o) => answer(ok(), o),
            Err(s) => answer(s, 0),
        },
        Ok(r) if r.code == response::QUERY_NOT_FOUND => answer(
            status(
                Code::OffsetNotFound,
                r.remark.as_deref().unwrap_or("offset not found"),
            ),
            0,
        ),
        Ok(r) => answer(status_of_remoting(r.code, r.remark.as_deref()), 0),
        Err(s) => answer(s, 0),
    }
}

pub async fn query_offset(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: QueryOffsetRequest,
) -> QueryOffsetResponse {
    let answer = |s, offset| QueryOffsetResponse {
        status: Some(s),
        offset,
    };
    let (topic, queue_id) = match queue_of(req.message_queue.as_ref()) {
        Ok(q) => q,
        Err(i) => return answer(i.status(), 0),
    };
    let cmd = match QueryOffsetPolicy::try_from(req.query_offset_policy) {
        Ok(QueryOffsetPolicy::Beginning) => RemotingCommand::request(
            request::GET_MIN_OFFSET,
            &GetMinOffsetRequestHeader { topic, queue_id },
        ),
        Ok(QueryOffsetPolicy::End) => RemotingCommand::request(
            request::GET_MAX_OFFSET,
            &GetMaxOffsetRequestHeader {
                topic,
                queue_id,
                committed: None,
            },
        ),
        Ok(QueryOffsetPolicy::Timestamp) => {
            let Some(ts) = req.timestamp.as_ref().and_then(timestamp_millis) else {
                return answer(
                    status(
                        Code::BadRequest,
                        "a TIMESTAMP query needs a valid timestamp",
                    ),
                    0,
                );
            };
            RemotingCommand::request(
                request::SEARCH_OFFSET_BY_TIMESTAMP,
                &SearchOffsetRequestHeader {
                    topic,
                    queue_id,
                    timestamp: ts,
                    boundary_type: None,
                },
            )
        }
        Err(_) => return answer(status(Code::BadRequest, "unknown query offset policy"), 0),
    };
    match call(cx, caller, cmd).await {
        Ok(r) if r.code == response::SUCCESS => match offset_of(&r) {
            Ok(o) => answer(ok(), o),
            Err(s) => answer(s, 0),
        },
        Ok(r) => answer(status_of_remoting(r.code, r.remark.as_deref()), 0),
        Err(s) => answer(s, 0),
    }
}

fn pulled(content: pull_message_response::Content) -> PullMessageResponse {
    PullMessageResponse {
        content: Some(content),
    }
}

/// The pull's answer as the stream's items.
pub async fn pull_message(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: PullMessageRequest,
) -> Vec<PullMessageResponse> {
    let refused = |s| vec![pulled(pull_message_response::Content::Status(s))];
    let group = super::name_of(req.group.as_ref()).to_owned();
    let (topic, queue_id) =
        match validate_group(&group).and_then(|()| queue_of(req.message_queue.as_ref())) {
            Ok(q) => q,
            Err(i) => return refused(i.status()),
        };
    if req.offset < 0 {
        return refused(status(
            Code::IllegalOffset,
            &format!("illegal offset {}", req.offset),
        ));
    }
    let (expression_type, expression) = match &req.filter_expression {
        Some(f) if f.r#type == FilterType::Sql as i32 => ("SQL92", f.expression.clone()),
        Some(f) if !f.expression.trim().is_empty() => ("TAG", f.expression.clone()),
        _ => ("TAG", "*".to_owned()),
    };
    let suspend_ms = req
        .long_polling_timeout
        .as_ref()
        .map_or(0, duration_millis)
        .max(0);
    let mut sys_flag = FLAG_SUBSCRIPTION;
    if suspend_ms > 0 {
        sys_flag |= FLAG_SUSPEND;
    }
    let header = PullMessageRequestHeader {
        consumer_group: group,
        topic: topic.clone(),
        queue_id,
        queue_offset: req.offset,
        max_msg_nums: req.batch_size.clamp(1, MAX_BATCH),
        sys_flag,
        commit_offset: 0,
        suspend_timeout_millis: suspend_ms,
        subscription: Some(expression),
        sub_version: crate::now_millis(),
        expression_type: Some(expression_type.to_owned()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    let resp = match call(
        cx,
        caller,
        RemotingCommand::request(request::PULL_MESSAGE, &header),
    )
    .await
    {
        Ok(r) => r,
        Err(s) => return refused(s),
    };
    let next = resp
        .decode_header::<PullMessageResponseHeader>()
        .map(|h| h.next_begin_offset)
        .unwrap_or(req.offset);
    let (first, messages) = match resp.code {
        response::SUCCESS => {
            let messages: Vec<PullMessageResponse> = decode_records(&resp.body)
                .flatten()
                .map(|m| {
                    let topic_name = m.properties.retry_topic().unwrap_or(&topic).to_owned();
                    pulled(pull_message_response::Content::Message(
                        grpc::convert::to_proto_message(&m, &topic_name, None),
                    ))
                })
                .collect();
            (ok(), messages)
        }
        response::PULL_NOT_FOUND | response::PULL_RETRY_IMMEDIATELY => {
            (status(Code::MessageNotFound, "no new message"), vec![])
        }
        response::PULL_OFFSET_MOVED => (
            status(Code::IllegalOffset, "the offset is outside the queue"),
            vec![],
        ),
        code => return refused(status_of_remoting(code, resp.remark.as_deref())),
    };
    let mut out = vec![pulled(pull_message_response::Content::Status(first))];
    out.extend(messages);
    out.push(pulled(pull_message_response::Content::NextOffset(next)));
    out
}
