//! Consumer offsets and queue offsets: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15)
//! from Java's `ConsumerManageProcessor`; SEARCH_OFFSET_BY_TIMESTAMP (29), GET_MAX_OFFSET (30),
//! GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32) from `AdminBrokerProcessor`.
//!
//! All answer SUCCESS with a one-field header; 4.9.8 checks neither that the topic exists nor
//! that the queue id is in range here (an unknown queue reads as empty).

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::offset::{
    GetEarliestMsgStoretimeRequestHeader, GetEarliestMsgStoretimeResponseHeader,
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use remoting_codec::RemotingCommand;
use store::MessageStore;

use super::body::empty_header_response;
use super::{Refusal, Route};
use crate::offset::{ConsumerOffsetManager, QueryOffsetAnswer};

/// QUERY_CONSUMER_OFFSET's remark when a group has no offset and the client must decide.
pub const QUERY_NOT_FOUND_REMARK: &str =
    "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first";

/// QUERY_CONSUMER_OFFSET's remark when a group has no offset and the request said
/// `setZeroIfNotFound=false` (5.3.3).
pub const QUERY_NOT_FOUND_NO_ZERO_REMARK: &str =
    "Not found, do not set to zero, maybe this group boot first";

/// QUERY_CONSUMER_OFFSET: the committed offset; else 0 if the queue still starts at 0 and its
/// first message is in memory (see [`ConsumerOffsetManager::query_for_client`]); else
/// QUERY_NOT_FOUND (with `{}` as header, the offset being null). 5.x's `setZeroIfNotFound`:
/// `false` turns off the answer 0 (QUERY_NOT_FOUND with its own remark, as 5.3.3's
/// `ConsumerManageProcessor`); absent or `true` is the rule above. `bname` and the other
/// `RpcRequestHeader` fields a 5.x client adds are ignored, as there.
pub fn query_consumer_offset(
    offsets: &ConsumerOffsetManager,
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumerOffsetRequestHeader = request.decode_header()?;
    if h.set_zero_if_not_found == Some(false)
        && offsets.query_offset(&h.consumer_group, &h.topic, h.queue_id) < 0
    {
        return Ok(empty_header_response(request, resp::QUERY_NOT_FOUND)
            .with_remark(QUERY_NOT_FOUND_NO_ZERO_REMARK));
    }
    let answer = offsets.query_for_client(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        store.min_offset_in_queue(&h.topic, h.queue_id),
        || store.check_in_disk_by_consume_offset(&h.topic, h.queue_id, 0),
    );
    Ok(match answer {
        QueryOffsetAnswer::Offset(offset) => RemotingCommand::response_to(request, resp::SUCCESS)
            .with_header(&QueryConsumerOffsetResponseHeader { offset }),
        QueryOffsetAnswer::NotFound => empty_header_response(request, resp::QUERY_NOT_FOUND)
            .with_remark(QUERY_NOT_FOUND_REMARK),
    })
}

/// UPDATE_CONSUMER_OFFSET (clients send it oneway; the server then drops the answer).
pub fn update_consumer_offset(
    offsets: &ConsumerOffsetManager,
    client_host: &str,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: UpdateConsumerOffsetRequestHeader = request.decode_header()?;
    offsets.commit_offset(
        client_host,
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        h.commit_offset,
    );
    Ok(empty_header_response(request, resp::SUCCESS))
}

/// SEARCH_OFFSET_BY_TIMESTAMP: 4.9.8 ignores the 5.x `boundaryType`.
pub fn search_offset_by_timestamp(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: SearchOffsetRequestHeader = request.decode_header()?;
    let offset = store.offset_in_queue_by_time(&h.topic, h.queue_id, h.timestamp);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_header(&SearchOffsetResponseHeader { offset }))
}

/// GET_MAX_OFFSET: the queue's next offset (0 for an unknown queue). 5.x's `committed` is
/// read but changes nothing, as in 5.3.3's `AdminBrokerProcessor.getMaxOffset` (which never
/// reads it): a put is dispatched before its answer, so the two maxima agree here anyway.
pub fn get_max_offset(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetMaxOffsetRequestHeader = request.decode_header()?;
    let offset = store.max_offset_in_queue(&h.topic, h.queue_id);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_header(&GetMaxOffsetResponseHeader { offset }))
}

/// GET_MIN_OFFSET. Java's `findConsumeQueue` creates a missing queue (whose minimum is 0)
/// rather than answering -1, so an unknown queue answers 0 here too.
pub fn get_min_offset(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetMinOffsetRequestHeader = request.decode_header()?;
    let offset = store.min_offset_in_queue(&h.topic, h.queue_id).max(0);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_header(&GetMinOffsetResponseHeader { offset }))
}

/// GET_EARLIEST_MSG_STORETIME: the store time of the queue's first message, -1 if none.
pub fn get_earliest_msg_storetime(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetEarliestMsgStoretimeRequestHeader = request.decode_header()?;
    let timestamp = store.earliest_message_time_in_queue(&h.topic, h.queue_id);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_header(&GetEarliestMsgStoretimeResponseHeader { timestamp }))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::QUERY_CONSUMER_OFFSET, |cx, r| {
        let c = &cx.ctrl;
        Ok(query_consumer_offset(&c.consumer_offset_manager, &c.store, &r)?.into())
    }),
    Route::inline(req::UPDATE_CONSUMER_OFFSET, |cx, r| {
        let peer = cx.conn.peer_addr().to_string();
        Ok(update_consumer_offset(&cx.ctrl.consumer_offset_manager, &peer, &r)?.into())
    }),
    // These walk consume queues and read commitlog records at random: blocking threads.
    Route::blocking(req::SEARCH_OFFSET_BY_TIMESTAMP, |cx, r| {
        Ok(search_offset_by_timestamp(&cx.ctrl.store, &r)?.into())
    }),
    Route::inline(req::GET_MAX_OFFSET, |cx, r| {
        Ok(get_max_offset(&cx.ctrl.store, &r)?.into())
    }),
    Route::inline(req::GET_MIN_OFFSET, |cx, r| {
        Ok(get_min_offset(&cx.ctrl.store, &r)?.into())
    }),
    Route::blocking(req::GET_EARLIEST_MSG_STORETIME, |cx, r| {
        Ok(get_earliest_msg_storetime(&cx.ctrl.store, &r)?.into())
    }),
];

#[cfg(test)]
#[path = "offset_tests.rs"]
pub(crate) mod tests;
