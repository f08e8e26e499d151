//! Topic administration (mqadmin `updateTopic`, `deleteTopic`, the dashboard): the topic half of
//! Java's `AdminBrokerProcessor` for UPDATE_AND_CREATE_TOPIC (17), DELETE_TOPIC_IN_BROKER (215),
//! GET_ALL_TOPIC_CONFIG (21) and GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305) as 4.9.8 answers them,
//! and the 5.x codes GET_TOPIC_CONFIG (351) and UPDATE_AND_CREATE_TOPIC_LIST (18) as the 5.3.3
//! broker answers them (a 4.9.8 broker answers " request type 351 not supported", recorded in
//! s13 `mqadmin5-topicStatus`; the 5.3.3 mqadmin and dashboard send 351).
//!
//! - 305: a `TopicList` of `TopicValidator.getSystemTopicSet()`: Java's nine fixed names plus
//!   the ones `TopicConfigManager` adds at start (cluster name, broker name,
//!   `<cluster>_REPLY_TOPIC`, the trace topic when enabled), in `HashSet` order.
//! - 351: header `topic` (required; the 5.x `lo` flag asks for static-topic mapping, which this
//!   broker has none of, so `mappingDetail` is never written). A missing topic is
//!   TOPIC_NOT_EXIST "No topic in this broker. topic: <t>"; otherwise SUCCESS with the
//!   `TopicConfigAndQueueMapping` JSON (`attributes` always present).
//! - 18: body `CreateTopicListRequestBody`. Each topic is checked in list order: a bad name or
//!   a system topic is INVALID_PARAMETER with `validateTopic`'s remark or "The topic[<t>] is
//!   conflict with system topic."; a `+message.type=MIXED` attribute is INVALID_PARAMETER
//!   "MIXED message type is not supported.". 5.3.3 quirk kept: a topic whose config equals the
//!   stored one answers SUCCESS at once and the topics after it are not created. Otherwise all
//!   are stored (persisted, registered) and the answer is SUCCESS. No slave check (5.3.3 has
//!   none).
//!
//! Creating or updating a topic persists topics.json and raises the topic manager's register
//! request, which the controller answers with a REGISTER_BROKER to every namesrv (Java's
//! `registerIncrementBrokerData`), so clients see the new route at once.

use std::collections::HashSet;

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::route::TopicList;
use remoting_codec::protocol::topic_admin::{
    CreateTopicListRequestBody, CreateTopicRequestHeader, DeleteTopicRequestHeader,
    GetTopicConfigRequestHeader, TopicConfigAndQueueMapping,
};
use remoting_codec::protocol::TopicConfig;
use remoting_codec::RemotingCommand;
use store::MessageStore;

use super::body::{decode_body, empty_header_response, json_response};
use super::{Refusal, Route};
use crate::topic::validator::{validate_topic, TopicError};
use crate::topic::TopicConfigManager;

/// Java's `validateSlave` answer to a change on a slave.
pub const SLAVE_REMARK: &str =
    "Can't modify topic or subscription group from slave broker, please execute it from master broker.";

/// The remark of Java's `createResponseCommand(null)`, which UPDATE_AND_CREATE_TOPIC never
/// clears: Java answers SUCCESS with this remark (the s12 capture shows it).
pub const NOT_SET_REMARK: &str = "not set any response code";

pub(crate) fn slave_refusal(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, resp::SYSTEM_ERROR).with_remark(SLAVE_REMARK)
}

/// `validateTopic` then `isSystemTopic`, with Java's codes and remarks.
fn check_admin_topic(topics: &TopicConfigManager, topic: &str) -> Result<(), TopicError> {
    validate_topic(topic)?;
    if topics.is_system_topic(topic) {
        return Err(TopicError::SystemTopic(topic.to_owned()));
    }
    Ok(())
}

fn refusal(request: &RemotingCommand, e: &TopicError) -> RemotingCommand {
    RemotingCommand::response_to(request, e.response_code()).with_remark(e.to_string())
}

/// UPDATE_AND_CREATE_TOPIC: creates or replaces the topic (no "already exists" answer: 4.9.8
/// overwrites). The header's `order` flag is not stored: the namesrv's ORDER_TOPIC_CONFIG
/// decides it, as in Java.
pub fn update_and_create_topic(
    topics: &TopicConfigManager,
    is_slave: bool,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if is_slave {
        return Ok(slave_refusal(request));
    }
    let h: CreateTopicRequestHeader = request.decode_header()?;
    if let Err(e) = check_admin_topic(topics, &h.topic) {
        return Ok(refusal(request, &e));
    }
    let Some(mut config) = h.to_topic_config() else {
        // Java's TopicFilterType.valueOf throws; the exception becomes a SYSTEM_ERROR.
        return Err(Refusal::system_error(format!(
            "java.lang.IllegalArgumentException: No enum constant org.apache.rocketmq.common.TopicFilterType.{}",
            h.topic_filter_type
        )));
    };
    config.order = false;
    config.attributes = alter_attributes(
        topics
            .select_topic_config(&h.topic)
            .and_then(|old| old.attributes),
        h.attributes.as_deref(),
    );
    tracing::info!("updateAndCreateTopic {config:?}");
    topics.update_topic_config(config);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS).with_remark(NOT_SET_REMARK))
}

/// 5.x `AttributeParser.parseToMap` + `AttributeUtil.alterCurrentAttributes` on the header's
/// `attributes` text (`+key=value,-key`): `+` sets a key (stored without the sign), `-` removes
/// it; no text keeps the topic's current attributes (e.g. `message.type=FIFO`, which the gRPC
/// endpoint checks sends against).
fn alter_attributes(
    current: Option<std::collections::BTreeMap<String, String>>,
    text: Option<&str>,
) -> Option<std::collections::BTreeMap<String, String>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return current;
    };
    let mut map = current.unwrap_or_default();
    for item in text.split(',').map(str::trim) {
        if let Some(kv) = item.strip_prefix('+') {
            if let Some((k, v)) = kv.split_once('=') {
                map.insert(k.to_owned(), v.to_owned());
            }
        } else if let Some(k) = item.strip_prefix('-') {
            map.remove(k);
        }
    }
    Some(map)
}

/// DELETE_TOPIC_IN_BROKER: removes the topic from topics.json and destroys its consume queues
/// (Java's `cleanUnusedTopic`, which sweeps every queue whose topic is no longer in the table).
/// Committed offsets stay, as in 4.9.8 (5.x also drops them). mqadmin removes the route from the
/// namesrv itself, so no re-registration is asked for.
pub fn delete_topic(
    topics: &TopicConfigManager,
    store: &MessageStore,
    is_slave: bool,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if is_slave {
        return Ok(slave_refusal(request));
    }
    let h: DeleteTopicRequestHeader = request.decode_header()?;
    if let Err(e) = check_admin_topic(topics, &h.topic) {
        return Ok(refusal(request, &e));
    }
    topics.delete_topic_config(&h.topic);
    let remaining: HashSet<String> = topics.topic_names().into_iter().collect();
    store.clean_unused_topic(&remaining);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// GET_ALL_TOPIC_CONFIG: the table and its data version (topics.json on one line).
pub fn get_all_topic_config(
    topics: &TopicConfigManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    Ok(empty_header_response(request, resp::SUCCESS).with_body(topics.encode().into_bytes()))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_BROKER.
pub fn get_system_topic_list(
    topics: &TopicConfigManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    json_response(
        request,
        &TopicList {
            broker_addr: None,
            topic_list: topics.system_topic_list(),
        },
    )
}

/// GET_TOPIC_CONFIG (5.x).
pub fn get_topic_config(
    topics: &TopicConfigManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetTopicConfigRequestHeader = request.decode_header()?;
    let Some(config) = topics.select_topic_config(&h.topic) else {
        return Err(Refusal::new(
            resp::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        ));
    };
    json_response(request, &TopicConfigAndQueueMapping::new(config))
}

/// Java's `TopicConfig.equals` (a missing attribute map is Java's empty one).
fn same_config(a: &TopicConfig, b: &TopicConfig) -> bool {
    let attrs = |c: &TopicConfig| c.attributes.clone().unwrap_or_default();
    TopicConfig {
        attributes: None,
        ..a.clone()
    } == TopicConfig {
        attributes: None,
        ..b.clone()
    } && attrs(a) == attrs(b)
}

/// UPDATE_AND_CREATE_TOPIC_LIST (5.x).
pub fn update_and_create_topic_list(
    topics: &TopicConfigManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body: CreateTopicListRequestBody = decode_body(request, "CreateTopicListRequestBody")?;
    let names: String = body
        .topic_config_list
        .iter()
        .map(|c| format!("{};", c.topic_name))
        .collect();
    tracing::info!("updateAndCreateTopicList: topicNames: {names}");
    for config in &body.topic_config_list {
        let topic = &config.topic_name;
        validate_topic(topic).map_err(|e| Refusal::new(resp::INVALID_PARAMETER, e.to_string()))?;
        if topics.is_system_topic(topic) {
            return Err(Refusal::new(
                resp::INVALID_PARAMETER,
                format!("The topic[{topic}] is conflict with system topic."),
            ));
        }
        let mixed = config
            .attributes
            .as_ref()
            .and_then(|a| a.get("+message.type"))
            .is_some_and(|t| t == "MIXED");
        if mixed {
            return Err(Refusal::new(
                resp::INVALID_PARAMETER,
                "MIXED message type is not supported.",
            ));
        }
        if topics
            .select_topic_config(topic)
            .is_some_and(|old| same_config(&old, config))
        {
            tracing::info!("updateAndCreateTopicList: {topic} has no changes, so idempotent");
            return Ok(RemotingCommand::response_to(request, resp::SUCCESS));
        }
    }
    for config in body.topic_config_list {
        topics.update_topic_config(config);
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_SYSTEM_TOPIC_LIST_FROM_BROKER, |cx, r| {
        Ok(get_system_topic_list(&cx.ctrl.topic_config_manager, &r)?.into())
    }),
    Route::inline(req::GET_TOPIC_CONFIG, |cx, r| {
        Ok(get_topic_config(&cx.ctrl.topic_config_manager, &r)?.into())
    }),
    // Persists topics.json.
    Route::blocking(req::UPDATE_AND_CREATE_TOPIC_LIST, |cx, r| {
        tracing::info!("updateAndCreateTopicList called by {:?}", cx.conn);
        Ok(update_and_create_topic_list(&cx.ctrl.topic_config_manager, &r)?.into())
    }),
    Route::inline(req::UPDATE_AND_CREATE_TOPIC, |cx, r| {
        tracing::info!("updateAndCreateTopic called by {:?}", cx.conn);
        let c = &cx.ctrl;
        Ok(update_and_create_topic(&c.topic_config_manager, !c.is_master(), &r)?.into())
    }),
    // Deleting a topic removes its consume-queue files.
    Route::blocking(req::DELETE_TOPIC_IN_BROKER, |cx, r| {
        tracing::info!("deleteTopic called by {:?}", cx.conn);
        let c = &cx.ctrl;
        let response = delete_topic(&c.topic_config_manager, &c.store, !c.is_master(), &r)?;
        // Java: with `autoDeleteUnusedStats`, the topic's statistics go too.
        if response.code == resp::SUCCESS && c.broker_config.auto_delete_unused_stats {
            let h: DeleteTopicRequestHeader = r.decode_header()?;
            c.broker_stats_manager.on_topic_deleted(&h.topic);
        }
        Ok(response.into())
    }),
    Route::inline(req::GET_ALL_TOPIC_CONFIG, |cx, r| {
        Ok(get_all_topic_config(&cx.ctrl.topic_config_manager, &r)?.into())
    }),
];

#[cfg(test)]
#[path = "topic_admin_tests.rs"]
mod tests;
