//! Admin requests the broker answers by calling its consumers (mqadmin `resetOffsetByTime`,
//! `consumerStatus`, `queryMsgById -g -d`; `DefaultMQAdminExt.getConsumeStatus`; the
//! dashboard's consumer detail and "resend message"): INVOKE_BROKER_TO_RESET_OFFSET (222 →
//! 220 to every member), INVOKE_BROKER_TO_GET_CONSUMER_STATUS (223 → 221 to every member),
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309), relayed to one client.
//! Java 4.9.8: `AdminBrokerProcessor.resetOffset/getConsumerStatus/getConsumerRunningInfo/
//! consumeMessageDirectly/callConsumer` and `Broker2Client.resetOffset/getConsumeStatus`; the
//! requests themselves go out through [`crate::broker2client`].
//!
//! Java's answers (recordings s14-broker-callbacks, s12 m16, m25, m37):
//! - 222: for each of the topic's `writeQueueNums` queues, the group's committed offset (none
//!   on any queue: SYSTEM_ERROR `THe consumer group <g> not exist`) and the store's offset for
//!   the timestamp (`getOffsetInQueueByTime`; −1 = the max offset; a negative result counts as
//!   0); the new offset is the store's only when it is lower or `isForce` ([`reset_queue_offset`]).
//!   Then RESET_CONSUMER_CLIENT_OFFSET (oneway) with the table goes to every member (header
//!   `topic, group, timestamp, isForce=false`: Java builds a new header and never copies
//!   `isForce`; body `ResetOffsetBody`, or `ResetOffsetBodyForC` when the admin is a CPP
//!   client). A member older than V3_0_7_SNAPSHOT stops the loop with SYSTEM_ERROR `the client
//!   does not support this feature. version=<name>`; no member: CONSUMER_NOT_ONLINE `Consumer not
//!   online, so can not reset offset, Group: <g> Topic: <t> Timestamp: <ts>`; unknown topic:
//!   SYSTEM_ERROR `[reset-offset] reset offset failed, no topic in this broker. topic=<t>`.
//!   Success: code 0 with remark `not set any response code` (Java's `createResponseCommand(null)`
//!   default, never cleared) and the table as body. The 4.9.8 broker does not write the new
//!   offsets itself: the clients commit them (s14 frames 181–187 after the reset).
//! - 223: GET_CONSUMER_STATUS_FROM_CLIENT (two-way, 5 s) to each member (or only to the one
//!   whose client id is `clientAddr`, when not blank); a member's `messageQueueTable` goes into
//!   `consumerTable[clientId]` when it answers SUCCESS with a body; failures and other codes are
//!   only logged. Answer: code 0, remark `not set any response code`, the `GetConsumerStatusBody`.
//!   An unknown group is a NullPointerException in Java (`getConsumerGroupInfo(group)` is null):
//!   SYSTEM_ERROR with its JDK 17 text and frame (Broker2Client.java:243).
//! - 307, 309 (`callConsumer`): the member with that client id (`The Consumer <g> <c> not
//!   online` otherwise), at least V3_1_8_SNAPSHOT (`The Consumer <c> Version <v> too low to
//!   finish, please upgrade it to V3_1_8_SNAPSHOT`), gets a new request with the admin's
//!   extFields and body; its answer goes back to the admin as it came (code 0 with the client's
//!   remark `not set any response code` in the recordings). No answer in 10 s:
//!   CONSUME_MSG_TIMEOUT `consumer <g> <c> Timeout: <exception>`; a failed send: SYSTEM_ERROR
//!   `invoke consumer <g> <c> Exception: <exception>` ([`CallError::java_desc`]).
//! - 309 first adds `brokerName` to the extFields and puts the stored record named by the
//!   msgId's commitlog offset in the body (m37, s14). A record not found is Java's
//!   NullPointerException at AdminBrokerProcessor.java:1240. An msgId Java cannot decode at all
//!   (missing, empty, too short for its form) fails inside the JDK (`ByteBuffer.wrap`, `get`):
//!   we answer SYSTEM_ERROR with the same exception text but without the JDK-internal stack
//!   frame, whose line number neither the recordings nor the RocketMQ source give.

use std::collections::BTreeMap;

use remoting_codec::code::version::{version_name, V3_0_7_SNAPSHOT, V3_1_8_SNAPSHOT};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::callback::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    GetConsumerStatusBody, GetConsumerStatusRequestHeader, ResetOffsetBody, ResetOffsetBodyForC,
    ResetOffsetRequestHeader,
};
use remoting_codec::protocol::MessageQueue;
use remoting_codec::{fastjson, LanguageCode, RemotingCommand};

use super::{Refusal, Reply, RequestContext, Route};
use crate::broker2client::CallError;
use crate::client::{ClientChannelInfo, ConsumerGroupInfo, ConsumerManager};
use crate::offset::ConsumerOffsetManager;

/// The remark Java's `RemotingCommand.createResponseCommand(null)` starts with, left on the
/// successful answers of 222 and 223.
pub const NOT_SET_REMARK: &str = "not set any response code";

/// `MQVersion.getVersionDesc`.
fn version_desc(version: i32) -> String {
    version_name(version).unwrap_or_else(|| version.to_string())
}

/// One queue of `resetOffset`: the store's offset for the timestamp (negative → 0) when it is
/// below the committed one or the reset is forced, else the committed offset.
pub fn reset_queue_offset(consumer_offset: i64, timestamp_offset: i64, is_force: bool) -> i64 {
    let target = timestamp_offset.max(0);
    if is_force || target < consumer_offset {
        target
    } else {
        consumer_offset
    }
}

/// The new offset of each of the topic's `write_queue_nums` queues (`None`: the topic is not
/// on this broker). `searched(queue_id)` is the store's offset for the request's timestamp.
#[allow(clippy::too_many_arguments)]
pub fn compute_reset_offsets(
    offsets: &ConsumerOffsetManager,
    broker_name: &str,
    topic: &str,
    group: &str,
    write_queue_nums: Option<i32>,
    is_force: bool,
    searched: impl Fn(i32) -> i64,
) -> Result<BTreeMap<MessageQueue, i64>, Refusal> {
    let Some(queues) = write_queue_nums else {
        return Err(Refusal::system_error(format!(
            "[reset-offset] reset offset failed, no topic in this broker. topic={topic}"
        )));
    };
    let mut table = BTreeMap::new();
    for queue_id in 0..queues {
        let consumer_offset = offsets.query_offset(group, topic, queue_id);
        if consumer_offset == -1 {
            return Err(Refusal::system_error(format!(
                "THe consumer group <{group}> not exist"
            )));
        }
        let new = reset_queue_offset(consumer_offset, searched(queue_id), is_force);
        table.insert(MessageQueue::new(topic, broker_name, queue_id), new);
    }
    Ok(table)
}

/// The RESET_CONSUMER_CLIENT_OFFSET request sent to every member.
pub fn reset_request(
    topic: &str,
    group: &str,
    timestamp: i64,
    table: &BTreeMap<MessageQueue, i64>,
    for_cpp: bool,
) -> Result<RemotingCommand, Refusal> {
    let header = ResetOffsetRequestHeader {
        topic: topic.to_owned(),
        group: group.to_owned(),
        queue_id: None,
        offset: None,
        timestamp,
        is_force: false,
    };
    let body = ResetOffsetBody {
        offset_table: table.clone(),
    };
    let bytes = if for_cpp {
        fastjson::to_vec(&ResetOffsetBodyForC::from(&body))?
    } else {
        fastjson::to_vec(&body)?
    };
    Ok(RemotingCommand::request(req::RESET_CONSUMER_CLIENT_OFFSET, &header).with_body(bytes))
}

/// The members a reset goes to, in order, or Java's refusal (no member; a member too old —
/// Java has by then sent the request to the members before it, and so do we).
pub fn reset_targets(
    group_info: Option<ConsumerGroupInfo>,
    header: &ResetOffsetRequestHeader,
) -> Result<Vec<ClientChannelInfo>, Refusal> {
    match group_info {
        Some(g) if !g.channel_info_table.is_empty() => {
            Ok(g.channel_info_table.into_values().collect())
        }
        _ => Err(Refusal::new(
            resp::CONSUMER_NOT_ONLINE,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                header.group, header.topic, header.timestamp
            ),
        )),
    }
}

fn too_old_for_feature(version: i32) -> Refusal {
    Refusal::system_error(format!(
        "the client does not support this feature. version={}",
        version_desc(version)
    ))
}

/// A successful 222/223 answer: code 0, Java's leftover remark, `body`.
fn success_with_default_remark(request: &RemotingCommand, body: Vec<u8>) -> RemotingCommand {
    RemotingCommand::response_to(request, resp::SUCCESS)
        .with_remark(NOT_SET_REMARK)
        .with_body(body)
}

/// INVOKE_BROKER_TO_RESET_OFFSET: the table (on a blocking thread: the timestamp search reads
/// the consume queue), then the calls.
fn invoke_broker_to_reset_offset(
    cx: &RequestContext,
    request: RemotingCommand,
) -> super::HandlerResult {
    let h: ResetOffsetRequestHeader = request.decode_header()?;
    tracing::info!(
        "[reset-offset] reset offset started by {:?}. topic={}, group={}, timestamp={}, isForce={}",
        cx.conn,
        h.topic,
        h.group,
        h.timestamp,
        h.is_force
    );
    let c = &cx.ctrl;
    let queues = c
        .topic_config_manager
        .select_topic_config(&h.topic)
        .map(|t| t.write_queue_nums);
    let store = &c.store;
    let table = compute_reset_offsets(
        &c.consumer_offset_manager,
        &c.broker_config.broker_name,
        &h.topic,
        &h.group,
        queues,
        h.is_force,
        |queue_id| match h.timestamp {
            -1 => store.max_offset_in_queue(&h.topic, queue_id),
            ts => store.offset_in_queue_by_time(&h.topic, queue_id, ts),
        },
    )?;
    let for_cpp = request.language == LanguageCode::Cpp;
    let call = reset_request(&h.topic, &h.group, h.timestamp, &table, for_cpp)?;
    let members = reset_targets(c.consumer_manager.get_consumer_group_info(&h.group), &h)?;
    let answer_body = fastjson::to_vec(&ResetOffsetBody {
        offset_table: table,
    })?;
    let clients = c.broker2client.clone();
    Ok(Reply::later(async move {
        for member in &members {
            if member.version < V3_0_7_SNAPSHOT {
                tracing::warn!(
                    "[reset-offset] the client does not support this feature. {member:?}"
                );
                return Err(too_old_for_feature(member.version));
            }
            clients
                .reset_consumer_client_offset(member, call.clone())
                .await;
        }
        Ok(Some(success_with_default_remark(&request, answer_body)))
    }))
}

/// The members a status request goes to (`origin_client_id` blank: all), or Java's refusal.
pub fn status_targets(
    group_info: Option<ConsumerGroupInfo>,
    group: &str,
    origin_client_id: Option<&str>,
) -> Result<Vec<ClientChannelInfo>, Refusal> {
    let Some(g) = group_info else {
        return Err(Refusal::system_error(
            "java.lang.NullPointerException: Cannot invoke \"org.apache.rocketmq.broker.client.ConsumerGroupInfo.getChannelInfoTable()\" because the return value of \"org.apache.rocketmq.broker.client.ConsumerManager.getConsumerGroupInfo(String)\" is null, org.apache.rocketmq.broker.client.net.Broker2Client.getConsumeStatus(Broker2Client.java:243)",
        ));
    };
    if g.channel_info_table.is_empty() {
        return Err(Refusal::system_error(format!(
            "No Any Consumer online in the consumer group: [{group}]"
        )));
    }
    let origin = origin_client_id.filter(|c| !c.trim().is_empty());
    let mut targets = Vec::new();
    for member in g.channel_info_table.into_values() {
        if member.version < V3_0_7_SNAPSHOT {
            return Err(too_old_for_feature(member.version));
        }
        match origin {
            None => targets.push(member),
            Some(id) if id == member.client_id => {
                targets.push(member);
                break;
            }
            Some(_) => {}
        }
    }
    Ok(targets)
}

/// A member's answer to GET_CONSUMER_STATUS_FROM_CLIENT, if it counts (SUCCESS with a body).
pub fn status_of_member(answer: &RemotingCommand) -> Option<BTreeMap<MessageQueue, i64>> {
    if answer.code != resp::SUCCESS || answer.body.is_empty() {
        return None;
    }
    match fastjson::from_slice::<GetConsumerStatusBody>(&answer.body) {
        Ok(body) => Some(body.message_queue_table),
        Err(e) => {
            tracing::error!("[get-consumer-status] get consumer status exception. error={e}");
            None
        }
    }
}

fn invoke_broker_to_get_consumer_status(
    cx: &RequestContext,
    request: RemotingCommand,
) -> super::HandlerResult {
    let h: GetConsumerStatusRequestHeader = request.decode_header()?;
    tracing::info!(
        "[get-consumer-status] get consumer status by {:?}. topic={}, group={}",
        cx.conn,
        h.topic,
        h.group
    );
    let c = &cx.ctrl;
    let group_info = c.consumer_manager.get_consumer_group_info(&h.group);
    let members = status_targets(group_info, &h.group, h.client_addr.as_deref())?;
    let call = RemotingCommand::request(
        req::GET_CONSUMER_STATUS_FROM_CLIENT,
        &GetConsumerStatusRequestHeader {
            topic: h.topic.clone(),
            group: h.group.clone(),
            client_addr: None,
        },
    );
    let clients = c.broker2client.clone();
    Ok(Reply::later(async move {
        let mut body = GetConsumerStatusBody::default();
        for member in &members {
            match clients
                .get_consumer_status_from_client(member, call.clone())
                .await
            {
                Ok(answer) => {
                    if let Some(table) = status_of_member(&answer) {
                        body.consumer_table.insert(member.client_id.clone(), table);
                    }
                }
                Err(e) => tracing::error!(
                    "[get-consumer-status] get consumer status exception. topic={}, group={}, error={}",
                    h.topic,
                    h.group,
                    e.java_desc()
                ),
            }
        }
        Ok(Some(success_with_default_remark(
            &request,
            fastjson::to_vec(&body)?,
        )))
    }))
}

/// `callConsumer`'s checks: the member with `client_id` (Java prints a missing one as `null`).
pub fn relay_target(
    consumers: &ConsumerManager,
    group: &str,
    client_id: Option<&str>,
) -> Result<ClientChannelInfo, Refusal> {
    let shown = client_id.unwrap_or("null");
    let found = client_id.and_then(|id| consumers.find_channel(group, id));
    let Some(member) = found else {
        return Err(Refusal::system_error(format!(
            "The Consumer <{group}> <{shown}> not online"
        )));
    };
    if member.version < V3_1_8_SNAPSHOT {
        return Err(Refusal::system_error(format!(
            "The Consumer <{shown}> Version <{}> too low to finish, please upgrade it to V3_1_8_SNAPSHOT",
            version_desc(member.version)
        )));
    }
    Ok(member)
}

/// `callConsumer`'s answer when the client did not answer.
pub fn relay_failure(error: &CallError, group: &str, client_id: &str) -> Refusal {
    match error {
        CallError::Timeout { .. } => Refusal::new(
            resp::CONSUME_MSG_TIMEOUT,
            format!(
                "consumer <{group}> <{client_id}> Timeout: {}",
                error.java_desc()
            ),
        ),
        CallError::SendFailed { .. } => Refusal::system_error(format!(
            "invoke consumer <{group}> <{client_id}> Exception: {}",
            error.java_desc()
        )),
    }
}

/// The request relayed to the client: a new request of `code` with the admin's extFields and
/// body (`createRequestCommand(code, null)` + `setExtFields` + `setBody`).
pub fn relayed_request(code: i32, request: &RemotingCommand) -> RemotingCommand {
    let mut relayed = RemotingCommand::request_without_header(code);
    relayed.ext_fields = request.ext_fields.clone();
    relayed.body = request.body.clone();
    relayed
}

/// Relays `relayed` to `member` and answers the client's response.
fn relay(
    cx: &RequestContext,
    member: ClientChannelInfo,
    group: String,
    relayed: RemotingCommand,
) -> super::HandlerResult {
    let clients = cx.ctrl.broker2client.clone();
    Ok(Reply::later(async move {
        match clients.call_client(&member, relayed).await {
            Ok(answer) => Ok(Some(answer)),
            Err(e) => Err(relay_failure(&e, &group, &member.client_id)),
        }
    }))
}

fn get_consumer_running_info(
    cx: &RequestContext,
    request: RemotingCommand,
) -> super::HandlerResult {
    let h: GetConsumerRunningInfoRequestHeader = request.decode_header()?;
    let member = relay_target(
        &cx.ctrl.consumer_manager,
        &h.consumer_group,
        Some(&h.client_id),
    )?;
    let relayed = relayed_request(req::GET_CONSUMER_RUNNING_INFO, &request);
    relay(cx, member, h.consumer_group, relayed)
}

/// Java's `MessageDecoder.decodeMessageId(msgId).getOffset()`: the hex text to bytes as
/// `UtilAll.string2bytes` does (a non-hex digit counts as −1, an odd last digit is dropped),
/// then 4 (32-character id) or 16 address bytes, 4 port bytes, 8 offset bytes.
pub fn message_id_offset(msg_id: Option<&str>) -> Result<i64, Refusal> {
    let Some(id) = msg_id.filter(|s| !s.is_empty()) else {
        return Err(Refusal::system_error(
            "java.lang.NullPointerException: Cannot read the array length because \"<parameter1>\" is null",
        ));
    };
    let digit = |c: char| -> i32 {
        "0123456789ABCDEF"
            .find(c.to_ascii_uppercase())
            .map_or(-1, |i| i as i32)
    };
    let chars: Vec<char> = id.chars().collect();
    let bytes: Vec<u8> = chars
        .chunks_exact(2)
        .map(|p| ((digit(p[0]) << 4) | digit(p[1])) as u8)
        .collect();
    let ip_len = if chars.len() == 32 { 4 } else { 16 };
    let Some(offset) = bytes.get(ip_len + 4..ip_len + 12) else {
        return Err(Refusal::system_error("java.nio.BufferUnderflowException"));
    };
    Ok(i64::from_be_bytes(offset.try_into().expect("8 bytes")))
}

/// The NullPointerException of a record not found.
pub fn message_not_found() -> Refusal {
    Refusal::system_error(
        "java.lang.NullPointerException: Cannot invoke \"org.apache.rocketmq.store.SelectMappedBufferResult.getSize()\" because \"selectMappedBufferResult\" is null, org.apache.rocketmq.broker.processor.AdminBrokerProcessor.consumeMessageDirectly(AdminBrokerProcessor.java:1240)",
    )
}

fn consume_message_directly(cx: &RequestContext, request: RemotingCommand) -> super::HandlerResult {
    let h: ConsumeMessageDirectlyResultRequestHeader = request.decode_header()?;
    let c = &cx.ctrl;
    let offset = message_id_offset(h.msg_id.as_deref())?;
    let record = c
        .store
        .select_one_message_by_offset(offset)
        .ok_or_else(message_not_found)?;
    let member = relay_target(
        &c.consumer_manager,
        &h.consumer_group,
        h.client_id.as_deref(),
    )?;
    let mut relayed = relayed_request(req::CONSUME_MESSAGE_DIRECTLY, &request);
    relayed
        .ext_fields_mut()
        .insert("brokerName", c.broker_config.broker_name.clone());
    relayed.body = record;
    relay(cx, member, h.consumer_group, relayed)
}

pub(super) const ROUTES: &[Route] = &[
    Route::blocking(
        req::INVOKE_BROKER_TO_RESET_OFFSET,
        invoke_broker_to_reset_offset,
    ),
    Route::inline(
        req::INVOKE_BROKER_TO_GET_CONSUMER_STATUS,
        invoke_broker_to_get_consumer_status,
    ),
    Route::inline(req::GET_CONSUMER_RUNNING_INFO, get_consumer_running_info),
    Route::blocking(req::CONSUME_MESSAGE_DIRECTLY, consume_message_directly),
];

#[cfg(test)]
#[path = "consumer_calls_tests.rs"]
mod tests;
