//! Who consumes and produces, and group offsets copied (mqadmin `consumerConnection`,
//! `producerConnection`, `producer`, `topicList -c`, `cloneGroupOffset`; the dashboard's consumer
//! and producer pages): GET_CONSUMER_CONNECTION_LIST (203), GET_PRODUCER_CONNECTION_LIST (204),
//! GET_ALL_PRODUCER_INFO (328), CLONE_GROUP_OFFSET (314) and QUERY_TOPIC_CONSUME_BY_WHO (300) of
//! Java 4.9.8's `AdminBrokerProcessor`.
//!
//! Java's answers, as recorded (s12-mqadmin) and in the source:
//! - 203: SUCCESS without header or remark, a `ConsumerConnection` (one `Connection` per channel
//!   of the group: `clientAddr` is the peer's `ip:port`, the client's id, language and version;
//!   the group's consume type, model, from-where and subscriptions), m14 and m16. A group with
//!   no live member: CONSUMER_NOT_ONLINE `the consumer group[<g>] not online`.
//! - 204: SUCCESS with a `ProducerConnection` (m15); a group the producer table never had:
//!   SYSTEM_ERROR `the producer group[<g>] not exist`. A group whose producers all left without
//!   unregistering stays in Java's table, so it is listed empty.
//! - 328: SUCCESS with `ProducerTableInfo` (group → its producers). `remoteIP` is Java's
//!   `channel.remoteAddress().toString()`, an `InetSocketAddress` without host name:
//!   `/ip:port`.
//! - 314: SUCCESS. For each topic (the header's, or every topic the source group has offsets
//!   on) that exists on this broker and, unless `offline`, that the source group subscribes when
//!   it subscribes anything, Java calls `cloneOffset(src, dest, header.topic)` — with the
//!   header's topic, not the loop's: without a topic nothing is copied (the key is
//!   `null@<src>`), a quirk we keep. mqadmin 4.9.8 `cloneGroupOffset` does not use this code
//!   (m26 shows GET_CONSUME_STATS and UPDATE_CONSUMER_OFFSET instead).
//! - 300: SUCCESS with a `GroupList`: the groups subscribing the topic now and those with an
//!   offset on it (m03, m21: `{"groupList":["live_consumer_group"]}`).

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::consumer_admin::ProducerConnection;
use remoting_codec::protocol::consumer_admin::{
    CloneGroupOffsetRequestHeader, Connection as ConnectionInfo, ConsumerConnection,
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader, ProducerInfo,
    ProducerTableInfo,
};
use remoting_codec::protocol::topic_admin::{GroupList, QueryTopicConsumeByWhoRequestHeader};
use remoting_codec::RemotingCommand;

use super::body::json_response;
use super::{Refusal, Route};
use crate::client::{ClientChannelInfo, ConsumerManager, ProducerManager};
use crate::offset::ConsumerOffsetManager;
use crate::topic::TopicConfigManager;

fn connection_info(info: &ClientChannelInfo) -> ConnectionInfo {
    ConnectionInfo {
        client_addr: info.remote_addr.clone(),
        client_id: info.client_id.clone(),
        language: info.language,
        version: info.version,
    }
}

/// GET_CONSUMER_CONNECTION_LIST (203).
pub fn get_consumer_connection_list(
    consumers: &ConsumerManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetConsumerConnectionListRequestHeader = request.decode_header()?;
    let Some(group) = consumers.get_consumer_group_info(&h.consumer_group) else {
        return Err(Refusal::new(
            resp::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        ));
    };
    let body = ConsumerConnection {
        connection_set: group
            .channel_info_table
            .values()
            .map(connection_info)
            .collect(),
        consume_from_where: Some(group.consume_from_where),
        consume_type: Some(group.consume_type),
        message_model: Some(group.message_model),
        subscription_table: group.subscription_table.into_iter().collect(),
    };
    json_response(request, &body)
}

/// GET_PRODUCER_CONNECTION_LIST (204).
pub fn get_producer_connection_list(
    producers: &ProducerManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetProducerConnectionListRequestHeader = request.decode_header()?;
    let Some(channels) = producers.group_channels(&h.producer_group) else {
        return Err(Refusal::system_error(format!(
            "the producer group[{}] not exist",
            h.producer_group
        )));
    };
    let body = ProducerConnection {
        connection_set: channels.iter().map(connection_info).collect(),
    };
    json_response(request, &body)
}

/// GET_ALL_PRODUCER_INFO (328).
pub fn get_all_producer_info(
    producers: &ProducerManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let data = producers
        .producer_table()
        .into_iter()
        .map(|(group, channels)| {
            let infos = channels
                .iter()
                .map(|c| ProducerInfo {
                    client_id: c.client_id.clone(),
                    language: c.language,
                    last_update_timestamp: c.last_update_timestamp,
                    remote_ip: format!("/{}", c.remote_addr),
                    version: c.version,
                })
                .collect();
            (group, infos)
        })
        .collect();
    json_response(request, &ProducerTableInfo { data })
}

/// CLONE_GROUP_OFFSET (314).
pub fn clone_group_offset(
    topics: &TopicConfigManager,
    consumers: &ConsumerManager,
    offsets: &ConsumerOffsetManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: CloneGroupOffsetRequestHeader = request.decode_header()?;
    let candidates: Vec<String> = match h.topic.as_deref() {
        Some(t) if !t.trim().is_empty() => vec![t.to_owned()],
        _ => offsets
            .which_topic_by_consumer(&h.src_group)
            .into_iter()
            .collect(),
    };
    // Java passes the header's topic (null when absent) to cloneOffset, whatever the loop's.
    let clone_key_topic = h.topic.as_deref().unwrap_or("null");
    for topic in &candidates {
        if topics.select_topic_config(topic).is_none() {
            tracing::warn!("[cloneGroupOffset], topic config not exist, {topic}");
            continue;
        }
        if !h.offline
            && consumers.find_subscription_data_count(&h.src_group) > 0
            && consumers
                .find_subscription_data(&h.src_group, topic)
                .is_none()
        {
            tracing::warn!(
                "[cloneGroupOffset], the consumer group[{}], topic[{topic}] not exist",
                h.src_group
            );
            continue;
        }
        offsets.clone_offset(&h.src_group, &h.dest_group, clone_key_topic);
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// QUERY_TOPIC_CONSUME_BY_WHO (300).
pub fn query_topic_consume_by_who(
    consumers: &ConsumerManager,
    offsets: &ConsumerOffsetManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: QueryTopicConsumeByWhoRequestHeader = request.decode_header()?;
    let mut groups = consumers.query_topic_consume_by_who(&h.topic);
    groups.extend(offsets.which_group_by_topic(&h.topic));
    let body = GroupList {
        group_list: groups.into_iter().collect(),
    };
    json_response(request, &body)
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_CONSUMER_CONNECTION_LIST, |cx, r| {
        Ok(get_consumer_connection_list(&cx.ctrl.consumer_manager, &r)?.into())
    }),
    Route::inline(req::GET_PRODUCER_CONNECTION_LIST, |cx, r| {
        Ok(get_producer_connection_list(&cx.ctrl.producer_manager, &r)?.into())
    }),
    Route::inline(req::GET_ALL_PRODUCER_INFO, |cx, r| {
        Ok(get_all_producer_info(&cx.ctrl.producer_manager, &r)?.into())
    }),
    Route::inline(req::CLONE_GROUP_OFFSET, |cx, r| {
        let c = &cx.ctrl;
        let (topics, consumers) = (&c.topic_config_manager, &c.consumer_manager);
        Ok(clone_group_offset(topics, consumers, &c.consumer_offset_manager, &r)?.into())
    }),
    Route::inline(req::QUERY_TOPIC_CONSUME_BY_WHO, |cx, r| {
        let c = &cx.ctrl;
        Ok(query_topic_consume_by_who(&c.consumer_manager, &c.consumer_offset_manager, &r)?.into())
    }),
];

#[cfg(test)]
#[path = "consumer_admin_tests.rs"]
mod tests;
