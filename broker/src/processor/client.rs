//! Client management, Java's `ClientManageProcessor` and `ConsumerManageProcessor`'s member list:
//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46); plus what a membership change sends back, NOTIFY_CONSUMER_IDS_CHANGED
//! (40, Java's `Broker2Client.notifyConsumerIdsChanged`), (the close/expiry handling of
//! `ClientHousekeepingService` is the controller's).
//!
//! The handlers are synchronous and never touch sockets: a handler that changes a group's
//! membership returns the [`ConsumerIdsChanged`] notices to send, and the server sends them with
//! `send_notices` before it sends the handler's response (the Java broker
//! writes the notice from inside the heartbeat handler, so in the recorded traffic the NOTIFY
//! precedes the HEART_BEAT response on the same connection).

use std::sync::Arc;

use remoting::{Connection, ProcessError};
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::protocol::callback::NotifyConsumerIdsChangedRequestHeader;
use remoting_codec::protocol::client::{
    CheckClientRequestBody, ConsumeFromWhere, ConsumeType, GetConsumerListByGroupRequestHeader,
    GetConsumerListByGroupResponseBody, HeartbeatData, MessageModel, UnregisterClientRequestHeader,
};
use remoting_codec::protocol::perm;
use remoting_codec::{ExtFields, RemotingCommand};

use super::HandlerResult;
use crate::client::{ClientChannelInfo, ConnectionId, ConsumerManager, ProducerManager};
use crate::config::BrokerConfig;
use crate::controller::BrokerController;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::validator::retry_topic;
use crate::topic::TopicConfigManager;

/// `TopicSysFlag.buildSysFlag(false, true)`: the retry topic of a unit-mode group.
const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 0x2;

/// The connection a request came on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    pub id: ConnectionId,
    /// `ip:port` of the client.
    pub addr: String,
}

impl Peer {
    pub fn of(conn: &Connection) -> Self {
        Peer {
            id: ConnectionId(conn.id()),
            addr: conn.peer_addr().to_string(),
        }
    }
}

/// The managers the client handlers work on.
#[derive(Clone, Copy)]
pub struct ClientManagers<'a> {
    pub config: &'a BrokerConfig,
    pub topics: &'a TopicConfigManager,
    pub groups: &'a SubscriptionGroupManager,
    pub consumers: &'a ConsumerManager,
    pub producers: &'a ProducerManager,
}

/// A NOTIFY_CONSUMER_IDS_CHANGED to send to each of `connections`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerIdsChanged {
    pub group: String,
    pub connections: Vec<ConnectionId>,
}

/// A response plus the notices the change behind it calls for.
pub type Handled = (RemotingCommand, Vec<ConsumerIdsChanged>);

/// A response whose Java header class has no fields: `extFields` is `{}`, not absent.
pub(crate) fn empty_header_response(request: &RemotingCommand, code: i32) -> RemotingCommand {
    let mut response = RemotingCommand::response_to(request, code);
    response.ext_fields = Some(ExtFields::new());
    response
}

/// Java decodes a body with fastjson and fails the request (SYSTEM_ERROR with the exception
/// text) when it is missing or unreadable.
pub(crate) fn decode_body<T: serde::de::DeserializeOwned>(
    request: &RemotingCommand,
    what: &str,
) -> Result<T, ProcessError> {
    if request.body.is_empty() {
        return Err(ProcessError::Failed(format!(
            "the request body ({what}) is missing"
        )));
    }
    fastjson::from_slice(&request.body)
        .map_err(|e| ProcessError::Failed(format!("the request body is not a valid {what}: {e}")))
}

/// HEART_BEAT: registers the client's producer groups and consumer groups. For each consumer
/// group the subscription group is found or auto-created, its `%RETRY%` topic created (the
/// group's `retryQueueNums`, perm RW), and the membership recorded; a member that joined or a
/// topic added/removed notifies every member of the group, when both the group's and the
/// broker's `notifyConsumerIdsChangedEnable` are on (so the first consumer of a group is
/// notified too, as the s02 capture shows).
pub fn heart_beat(
    m: ClientManagers<'_>,
    peer: &Peer,
    request: &RemotingCommand,
    now: i64,
) -> Result<Handled, ProcessError> {
    let heartbeat: HeartbeatData = decode_body(request, "HeartbeatData")?;
    let info = ClientChannelInfo::new(
        peer.id,
        heartbeat.client_id.clone(),
        request.language,
        request.version,
        peer.addr.clone(),
        now,
    );
    let mut notices = Vec::new();
    for data in &heartbeat.consumer_data_set {
        let group = &data.group_name;
        let mut notify_enable = true;
        if let Some(config) = m.groups.find_subscription_group_config(group) {
            notify_enable = config.notify_consumer_ids_changed_enable;
            let sys_flag = if data.unit_mode {
                TOPIC_SYS_FLAG_UNIT_SUB
            } else {
                0
            };
            m.topics.create_topic_in_send_message_back_method(
                &retry_topic(group),
                config.retry_queue_nums,
                perm::WRITE | perm::READ,
                sys_flag,
            );
        }
        // Java keeps a null enum as null; every Java client sends all three.
        let changed = m.consumers.register_consumer(
            group,
            info.clone(),
            data.consume_type.unwrap_or(ConsumeType::ConsumePassively),
            data.message_model.unwrap_or(MessageModel::Clustering),
            data.consume_from_where
                .unwrap_or(ConsumeFromWhere::ConsumeFromLastOffset),
            &data.subscription_data_set,
            now,
        );
        if changed {
            tracing::info!("registerConsumer info changed {data:?} {}", peer.addr);
            if notify_enable && m.config.notify_consumer_ids_changed_enable {
                notices.push(ConsumerIdsChanged {
                    group: group.clone(),
                    connections: m.consumers.group_connections(group),
                });
            }
        }
    }
    for data in &heartbeat.producer_data_set {
        m.producers
            .register_producer(&data.group_name, info.clone(), now);
    }
    Ok((
        RemotingCommand::response_to(request, resp::SUCCESS),
        notices,
    ))
}

/// UNREGISTER_CLIENT: a client leaving one producer and/or consumer group. The remaining members
/// of the consumer group are notified (group flag and broker flag, as Java; Java also
/// auto-creates the subscription group here when it is missing, so do we).
pub fn unregister_client(
    m: ClientManagers<'_>,
    peer: &Peer,
    request: &RemotingCommand,
) -> Result<Handled, ProcessError> {
    let header: UnregisterClientRequestHeader = request.decode_header()?;
    if let Some(group) = &header.producer_group {
        m.producers
            .unregister_producer(group, peer.id, &header.client_id);
    }
    let mut notices = Vec::new();
    if let Some(group) = &header.consumer_group {
        let notify_enable = m
            .groups
            .find_subscription_group_config(group)
            .is_none_or(|c| c.notify_consumer_ids_changed_enable);
        if let Some(change) = m.consumers.unregister_consumer(group, peer.id) {
            if notify_enable
                && m.config.notify_consumer_ids_changed_enable
                && !change.remaining.is_empty()
            {
                notices.push(ConsumerIdsChanged {
                    group: change.group,
                    connections: change.remaining,
                });
            }
        }
    }
    Ok((empty_header_response(request, resp::SUCCESS), notices))
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of a group's members; SYSTEM_ERROR
/// "no consumer for this group, <group>" when it has none.
pub fn get_consumer_list_by_group(
    consumers: &ConsumerManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let header: GetConsumerListByGroupRequestHeader = request.decode_header()?;
    let group = &header.consumer_group;
    match consumers.consumer_id_list(group) {
        Some(ids) if !ids.is_empty() => {
            let body = GetConsumerListByGroupResponseBody {
                consumer_id_list: ids,
            };
            let body = fastjson::to_vec(&body).map_err(|e| ProcessError::Failed(e.to_string()))?;
            Ok(empty_header_response(request, resp::SUCCESS).with_body(body))
        }
        _ => {
            tracing::warn!("getConsumerGroupInfo failed, {group}");
            Ok(empty_header_response(request, resp::SYSTEM_ERROR)
                .with_remark(format!("no consumer for this group, {group}")))
        }
    }
}

/// CHECK_CLIENT_CONFIG: whether the broker can evaluate a consumer's subscription expression.
/// TAG (or no type) is always fine; anything else needs `enablePropertyFilter`. Java then
/// compiles the expression: SQL92 is accepted here (its syntax is checked when the SQL filter
/// evaluates it, a later issue), an unknown type fails with SUBSCRIPTION_PARSE_FAILED and no
/// remark (Java's NullPointerException message is null).
pub fn check_client_config(
    config: &BrokerConfig,
    request: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let body: CheckClientRequestBody = decode_body(request, "CheckClientRequestBody")?;
    if let Some(sub) = &body.subscription_data {
        let kind = sub.expression_type.as_deref().unwrap_or("");
        if kind.is_empty() || kind == "TAG" {
            return Ok(RemotingCommand::response_to(request, resp::SUCCESS));
        }
        if !config.enable_property_filter {
            return Ok(
                RemotingCommand::response_to(request, resp::SYSTEM_ERROR).with_remark(format!(
                    "The broker does not support consumer to filter message by {kind}"
                )),
            );
        }
        if kind != "SQL92" {
            tracing::warn!(
                "Client {}@{} filter message, but failed to compile expression! sub={sub:?}",
                body.client_id,
                body.group
            );
            return Ok(RemotingCommand::response_to(
                request,
                resp::SUBSCRIPTION_PARSE_FAILED,
            ));
        }
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// The NOTIFY_CONSUMER_IDS_CHANGED request: header `consumerGroup`, JSON-serialized whatever
/// the client's own requests use (as the s02b capture shows).
pub fn notify_request(group: &str) -> RemotingCommand {
    RemotingCommand::request(
        req::NOTIFY_CONSUMER_IDS_CHANGED,
        &NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_owned(),
        },
    )
}

/// Queues each notice, oneway, on every listed connection that is still open. Awaited before
/// the handler's response is queued, so the notice goes first, as in Java. A failed send is
/// logged, as Java logs it.
async fn send_notices(ctrl: &BrokerController, notices: Vec<ConsumerIdsChanged>) {
    for notice in notices {
        for id in notice.connections {
            let Some(conn) = ctrl.connection(id) else {
                continue;
            };
            if let Err(e) = conn.invoke_oneway(notify_request(&notice.group)).await {
                tracing::warn!(
                    "notifyConsumerIdsChanged exception. group={}, {e}",
                    notice.group
                );
            }
        }
    }
}

pub(super) async fn process(
    ctrl: &BrokerController,
    conn: &Arc<Connection>,
    request: RemotingCommand,
) -> HandlerResult {
    let m = ClientManagers {
        config: &ctrl.broker_config,
        topics: &ctrl.topic_config_manager,
        groups: &ctrl.subscription_group_manager,
        consumers: &ctrl.consumer_manager,
        producers: &ctrl.producer_manager,
    };
    let (response, notices) = match request.code {
        req::HEART_BEAT => heart_beat(m, &Peer::of(conn), &request, crate::now_millis())?,
        req::UNREGISTER_CLIENT => unregister_client(m, &Peer::of(conn), &request)?,
        req::GET_CONSUMER_LIST_BY_GROUP => (
            get_consumer_list_by_group(m.consumers, &request)?,
            Vec::new(),
        ),
        req::CHECK_CLIENT_CONFIG => (check_client_config(m.config, &request)?, Vec::new()),
        _ => return Err(ProcessError::NotSupported),
    };
    send_notices(ctrl, notices).await;
    Ok(Some(response))
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
