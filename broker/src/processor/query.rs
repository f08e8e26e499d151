//! The message query plane: QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33) from Java 4.9.8's
//! `QueryMessageProcessor`, QUERY_CONSUME_TIME_SPAN (303) and QUERY_CONSUME_QUEUE (321) from
//! `AdminBrokerProcessor`. The clients: `queryMessage`/`viewMessage` of the Java client,
//! mqadmin `queryMsgByKey`, `queryMsgByUniqueKey`, `queryMsgById`, `queryMsgTraceById`,
//! `queryCq`, and the dashboard's message and trace pages.
//!
//! QUERY_MESSAGE (`DefaultMessageStore.queryMessage`, `IndexService.queryOffset`): the records
//! indexed under `topic#key` stored in [`beginTimestamp`, `endTimestamp`], at most `maxNum`
//! (capped at the store's `maxMsgsNumBatch`, 64), ascending by commitlog offset; the body is
//! the records concatenated as stored. With the extField `_UNIQUE_KEY_QUERY=true` (a client's
//! lookup by UNIQ_KEY) `maxNum` is replaced by `defaultQueryMaxNum` (32). The header carries
//! `indexLastUpdateTimestamp` / `indexLastUpdatePhyoffset` (the newest index file's last
//! entry), both 0 when the index found nothing. Nothing found: QUERY_NOT_FOUND (22) with
//! "can not find message, maybe time range not correct". Keys are matched by their hash only
//! (the client drops records whose KEYS/UNIQ_KEY differ), and so is the trace topic:
//! `queryMsgTraceById` is QUERY_MESSAGE on `RMQ_SYS_TRACE_TOPIC` (created at start when
//! `traceTopicEnable=true`) with the traced message's id as key, which a trace record carries
//! in its KEYS. A negative `maxNum` makes Java's `new ArrayList(maxNum)` throw: SYSTEM_ERROR
//! with the exception's text (Java appends the top stack frame, a JDK line number, omitted
//! here).
//!
//! VIEW_MESSAGE_BY_ID (`selectOneMessageByOffset`): the one record at commitlog `offset`
//! (its first four bytes read as its size), no header; else SYSTEM_ERROR "can not find
//! message by the offset, <offset>".
//!
//! Evidence: `s11-query` (QUERY_MESSAGE by key QK-3 and QALL, by uniq key, VIEW by an
//! offsetMsgId's offset; `broker/tests/replay_query.rs` replays it), `s12-mqadmin` m21–m23.
//!
//! QUERY_CONSUME_TIME_SPAN (`queryConsumeTimeSpan`): for each of the topic's write queues, the
//! store time of its first message, of its last (max − 1), of the group's last consumed one
//! (committed offset − 1, else the first's), and `delayTime` = now − the store time of the
//! group's next message when the group is behind (a queue without offset counts as offset −1,
//! whose store time is −1). Unknown topic: TOPIC_NOT_EXIST "topic[<t>] not exist". Java's
//! fastjson also writes the `…TimeStampStr` getters: `yyyy-MM-dd#HH:mm:ss:SSS` in local time.
//!
//! QUERY_CONSUME_QUEUE (`queryConsumeQueue`): the consume queue must exist (Java's
//! `getConsumeQueue` creates none): else SYSTEM_ERROR "<qid>@<topic> is not exist!". The body
//! has the queue's min/max index and up to `count` entries from `index` to the end of that
//! consume-queue file (`physicOffset`, `physicSize`, `tagsCode` as stored). With
//! `enableConsumeQueueExt` the `tagsCode` is the extension address and the entry also has the
//! unit: `extendDataJson` (fastjson of Java's `CqExtUnit`: `filterBitMap` in base64,
//! `msgStoreTime`, `size`, `tagsCode`), `bitMap` (`BitsArray.toString`) and, for a group, `eval`
//! (the group's filter on the unit: tags code, or the bloom pre-filter); a missing unit is
//! `msg` "Cq extend not exist!addr: <address>". With a `consumerGroup`: its subscription to the
//! topic and `filterData` — "<group>@<topic> is not online!" when it has none, else the pretty
//! JSON of its SQL filter data, `null` for a tag subscription. An `index` with no entry:
//! SUCCESS, remark "Index <i> of <qid>@<topic> is not exist!", no body.

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::common::MessageQueue;
use remoting_codec::protocol::consumer_admin::{
    ConsumeQueueData, QueryConsumeQueueRequestHeader, QueryConsumeQueueResponseBody,
    QueryConsumeTimeSpanBody, QueryConsumeTimeSpanRequestHeader, QueueTimeSpan,
};
use remoting_codec::protocol::query::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use remoting_codec::{fastjson, RemotingCommand};
use std::sync::Arc;

use store::MessageStore;

use super::body::json_response;
use super::{Refusal, Route};
use crate::client::ConsumerManager;
use crate::consumer_filter::{ConsumerFilterManager, SubscriptionFilter};
use crate::offset::ConsumerOffsetManager;
use crate::topic::TopicConfigManager;

/// QUERY_MESSAGE's remark when the index yields no readable record.
pub const QUERY_NOT_FOUND_REMARK: &str = "can not find message, maybe time range not correct";

/// QUERY_MESSAGE.
pub fn query_message(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryMessageRequestHeader = request.decode_header()?;
    let max_num = if request.ext_field(UNIQUE_KEY_QUERY) == Some("true") {
        store.config().default_query_max_num
    } else {
        usize::try_from(h.max_num).map_err(|_| {
            Refusal::system_error(format!(
                "java.lang.IllegalArgumentException: Illegal Capacity: {}",
                h.max_num
            ))
        })?
    };
    let found = store.query_message(
        &h.topic,
        &h.key,
        max_num,
        h.begin_timestamp,
        h.end_timestamp,
    );
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: found.index_last_update_timestamp,
        index_last_update_phyoffset: found.index_last_update_phyoffset,
    };
    if found.messages.is_empty() {
        return Ok(RemotingCommand::response_to(request, resp::QUERY_NOT_FOUND)
            .with_header(&header)
            .with_remark(QUERY_NOT_FOUND_REMARK));
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_header(&header)
        .with_body(found.messages.concat()))
}

/// VIEW_MESSAGE_BY_ID.
pub fn view_message_by_id(
    store: &MessageStore,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ViewMessageRequestHeader = request.decode_header()?;
    match store.select_one_message_by_offset(h.offset) {
        Some(record) => Ok(RemotingCommand::response_to(request, resp::SUCCESS).with_body(record)),
        None => Err(Refusal::system_error(format!(
            "can not find message by the offset, {}",
            h.offset
        ))),
    }
}

/// QUERY_CONSUME_TIME_SPAN at `now`.
pub fn query_consume_time_span(
    topics: &TopicConfigManager,
    offsets: &ConsumerOffsetManager,
    store: &MessageStore,
    broker_name: &str,
    now: i64,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumeTimeSpanRequestHeader = request.decode_header()?;
    let topic = h.topic.as_str();
    let Some(config) = topics.select_topic_config(topic) else {
        return Err(Refusal::new(
            resp::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist"),
        ));
    };
    let spans = (0..config.write_queue_nums.max(0))
        .map(|queue_id| {
            let min = store.earliest_message_time_in_queue(topic, queue_id);
            let max_offset = store.max_offset_in_queue(topic, queue_id);
            let max = store.message_store_timestamp(topic, queue_id, max_offset - 1);
            let consumer_offset = offsets.query_offset(&h.group, topic, queue_id);
            let consume = if consumer_offset > 0 {
                store.message_store_timestamp(topic, queue_id, consumer_offset - 1)
            } else {
                min
            };
            let delay = if consumer_offset < max_offset {
                now - store.message_store_timestamp(topic, queue_id, consumer_offset)
            } else {
                0
            };
            QueueTimeSpan {
                consume_time_stamp: consume,
                consume_time_stamp_str: Some(java_date_string(consume)),
                delay_time: delay,
                max_time_stamp: max,
                max_time_stamp_str: Some(java_date_string(max)),
                message_queue: Some(MessageQueue::new(topic, broker_name, queue_id)),
                min_time_stamp: min,
                min_time_stamp_str: Some(java_date_string(min)),
            }
        })
        .collect();
    json_response(
        request,
        &QueryConsumeTimeSpanBody {
            consume_time_span_set: spans,
        },
    )
}

/// Java's `JSON.toJSONString(cqExtUnit)`: the getters `filterBitMap` (a `byte[]`, base64,
/// absent when the unit has none), `msgStoreTime`, `size`, `tagsCode`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct CqExtUnitJson<'a> {
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "java_byte_array"
    )]
    filter_bit_map: Option<&'a [u8]>,
    msg_store_time: i64,
    size: i16,
    tags_code: i64,
}

fn java_byte_array<S: serde::Serializer>(
    bytes: &Option<&[u8]>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => serializer.serialize_bytes(b),
        None => serializer.serialize_none(),
    }
}

/// QUERY_CONSUME_QUEUE.
pub fn query_consume_queue(
    store: &MessageStore,
    consumers: &ConsumerManager,
    filters: &Arc<ConsumerFilterManager>,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryConsumeQueueRequestHeader = request.decode_header()?;
    // Java looks the topic up in a ConcurrentHashMap, which throws on a null key.
    let Some(topic) = h.topic.as_deref() else {
        return Err(Refusal::system_error("java.lang.NullPointerException"));
    };
    let Some(cq) = store.consume_queue(topic, h.queue_id) else {
        return Err(Refusal::system_error(format!(
            "{}@{topic} is not exist!",
            h.queue_id
        )));
    };
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: cq.max_offset(),
        min_queue_index: cq.min_offset(),
        ..Default::default()
    };
    let mut message_filter = None;
    if let Some(group) = &h.consumer_group {
        body.subscription_data = consumers.find_subscription_data(group, topic);
        body.filter_data = Some(match &body.subscription_data {
            None => format!("{group}@{topic} is not online!"),
            Some(sub) => {
                // Java's `JSON.toJSONString(filterData, true)`: `null` for a tag subscription.
                let data = filters.get(topic, group);
                let text = match &data {
                    Some(d) => fastjson::to_string_pretty(&d.to_json())?,
                    None => "null".to_owned(),
                };
                message_filter = Some(SubscriptionFilter::new(sub, data, filters, false));
                text
            }
        });
    }
    // As stored: an extension address stays in `tagsCode`, its unit is shown beside it.
    let Some(entries) = cq.entries_from_raw(h.index) else {
        return Ok(
            RemotingCommand::response_to(request, resp::SUCCESS).with_remark(format!(
                "Index {} of {}@{topic} is not exist!",
                h.index, h.queue_id
            )),
        );
    };
    let count = usize::try_from(h.count).unwrap_or(0);
    let mut queue_data = Vec::new();
    for (_, e) in entries.take(count) {
        let mut one = ConsumeQueueData {
            physic_offset: e.offset,
            physic_size: e.size,
            tags_code: e.tags_code,
            ..Default::default()
        };
        if store::is_ext_addr(e.tags_code) {
            match cq.ext_unit(e.tags_code) {
                Some(unit) => {
                    let bit_map = unit.filter_bit_map.as_deref();
                    one.extend_data_json = Some(fastjson::to_string(&CqExtUnitJson {
                        filter_bit_map: bit_map,
                        msg_store_time: unit.msg_store_time,
                        size: unit.size() as i16,
                        tags_code: unit.tags_code,
                    })?);
                    if let Some(bits) = bit_map {
                        one.bit_map = filter::bloom::BitsArray::from_bytes(bits)
                            .ok()
                            .map(|b| b.to_string());
                    }
                    if let Some(f) = &message_filter {
                        one.eval = f.matches_unit(
                            Some(unit.tags_code),
                            Some((unit.msg_store_time, bit_map)),
                        );
                    }
                }
                None => one.msg = Some(format!("Cq extend not exist!addr: {}", e.tags_code)),
            }
        }
        queue_data.push(one);
    }
    body.queue_data = Some(queue_data);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS).with_body(fastjson::to_vec(&body)?))
}

/// Java's `UtilAll.formatDate(new Date(ms), "yyyy-MM-dd#HH:mm:ss:SSS")` in the process's local
/// time zone.
pub fn java_date_string(ms: i64) -> String {
    let secs = ms.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is a plain C struct (all-zero is valid); both pointers are to live locals.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() }
        || unsafe { !libc::gmtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return ms.to_string();
    }
    format!(
        "{:04}-{:02}-{:02}#{:02}:{:02}:{:02}:{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms.rem_euclid(1000)
    )
}

// All four read the index or consume-queue files and commitlog records at random: blocking.
pub(super) const ROUTES: &[Route] = &[
    Route::blocking(req::QUERY_MESSAGE, |cx, r| {
        Ok(query_message(&cx.ctrl.store, &r)?.into())
    }),
    Route::blocking(req::VIEW_MESSAGE_BY_ID, |cx, r| {
        Ok(view_message_by_id(&cx.ctrl.store, &r)?.into())
    }),
    Route::blocking(req::QUERY_CONSUME_TIME_SPAN, |cx, r| {
        let c = &cx.ctrl;
        Ok(query_consume_time_span(
            &c.topic_config_manager,
            &c.consumer_offset_manager,
            &c.store,
            &c.broker_config.broker_name,
            crate::now_millis(),
            &r,
        )?
        .into())
    }),
    Route::blocking(req::QUERY_CONSUME_QUEUE, |cx, r| {
        let c = &cx.ctrl;
        Ok(query_consume_queue(
            &c.store,
            &c.consumer_manager,
            &c.consumer_filter_manager,
            &r,
        )?
        .into())
    }),
];

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;
