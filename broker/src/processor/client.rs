//! Client management, Java's `ClientManageProcessor` and `ConsumerManageProcessor`'s member list:
//! HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38),
//! CHECK_CLIENT_CONFIG (46); plus what a membership change sends back, NOTIFY_CONSUMER_IDS_CHANGED
//! (40, Java's `Broker2Client.notifyConsumerIdsChanged`), (the close/expiry handling of
//! `ClientHousekeepingService` is the controller's). HEART_BEAT also takes 5.x's v2 heartbeat
//! (fingerprint, `withoutSub`; see [`heart_beat`]).
//!
//! The handlers are synchronous and never touch sockets: a handler that changes a group's
//! membership returns the [`ConsumerIdsChanged`] notices to send, and its route sends them
//! through [`crate::broker2client`] before the handler's response (the Java broker
//! writes the notice from inside the heartbeat handler, so in the recorded traffic the NOTIFY
//! precedes the HEART_BEAT response on the same connection).

use remoting::Connection;
use remoting_codec::code::{request as req, response as resp};
use remoting_codec::fastjson;
use remoting_codec::protocol::client::{
    CheckClientRequestBody, ConsumeFromWhere, ConsumeType, GetConsumerListByGroupRequestHeader,
    GetConsumerListByGroupResponseBody, HeartbeatData, MessageModel, UnregisterClientRequestHeader,
    IS_SUB_CHANGE, IS_SUPPORT_HEART_BEAT_V2,
};
use remoting_codec::protocol::perm;
use remoting_codec::RemotingCommand;

use super::body::{decode_body, empty_header_response};
use super::{Refusal, Reply, RequestContext, Route};
use crate::client::{ClientChannelInfo, ConnectionId, ConsumerManager, ProducerManager};
use crate::config::BrokerConfig;
use crate::consumer_filter::{self, ConsumerFilterManager};
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
    pub filters: &'a ConsumerFilterManager,
}

/// A NOTIFY_CONSUMER_IDS_CHANGED to send to each of `connections`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerIdsChanged {
    pub group: String,
    pub connections: Vec<ConnectionId>,
}

/// A response plus the notices the change behind it calls for.
pub type Handled = (RemotingCommand, Vec<ConsumerIdsChanged>);

/// HEART_BEAT: registers the client's producer groups and consumer groups. For each consumer
/// group the subscription group is found or auto-created, its `%RETRY%` topic created (the
/// group's `retryQueueNums`, perm RW), and the membership recorded; a member that joined or a
/// topic added/removed notifies every member of the group, when both the group's and the
/// broker's `notifyConsumerIdsChangedEnable` are on (so the first consumer of a group is
/// notified too, as the s02 capture shows). Every heartbeat with subscriptions then registers
/// the group's non-tag subscriptions with the [`ConsumerFilterManager`] (Java's REGISTER event).
///
/// 5.x heartbeat v2 (5.3.3 `ClientManageProcessor.heartBeatV2`): a body whose
/// `heartbeatFingerprint` is not 0 (a 5.x client with `useHeartbeatV2`) is answered with the
/// extFields `IS_SUPPORT_HEART_BEAT_V2=true` and `IS_SUB_CHANGE`, true when the fingerprint
/// the broker last saw for one of the groups (from any client, or 0 after a classic heartbeat)
/// differs from this one. The client then sends `withoutSub=true` bodies (no subscriptions)
/// while its fingerprint holds: such a heartbeat refreshes or adds the member and leaves the
/// group's subscriptions and filters as they are (`registerConsumerWithoutSub`), and notifies
/// only when a member joined. A classic heartbeat (no fingerprint, or 0) records fingerprint 0
/// for its groups, as Java, and keeps 4.9.8's answer without extFields (the recordings; the
/// 5.3.3 client reads those fields only on its v2 path).
pub fn heart_beat(
    m: ClientManagers<'_>,
    peer: &Peer,
    request: &RemotingCommand,
    now: i64,
) -> Result<Handled, Refusal> {
    let heartbeat: HeartbeatData = decode_body(request, "HeartbeatData")?;
    let info = ClientChannelInfo::new(
        peer.id,
        heartbeat.client_id.clone(),
        request.language,
        request.version,
        peer.addr.clone(),
        now,
    );
    let fingerprint = heartbeat.heartbeat_fingerprint.unwrap_or(0);
    let v2 = fingerprint != 0;
    let without_sub = v2 && heartbeat.without_sub.unwrap_or(false);
    let mut sub_change = false;
    let mut notices = Vec::new();
    for data in &heartbeat.consumer_data_set {
        let group = &data.group_name;
        let previous = m.consumers.swap_heartbeat_fingerprint(group, fingerprint);
        if v2 && previous.is_some_and(|p| p != fingerprint) {
            sub_change = true;
        }
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
        let consume_type = data.consume_type.unwrap_or(ConsumeType::ConsumePassively);
        let message_model = data.message_model.unwrap_or(MessageModel::Clustering);
        let from_where = data
            .consume_from_where
            .unwrap_or(ConsumeFromWhere::ConsumeFromLastOffset);
        let changed = if without_sub {
            m.consumers.register_consumer_without_sub(
                group,
                info.clone(),
                consume_type,
                message_model,
                from_where,
                now,
            )
        } else {
            let changed = m.consumers.register_consumer(
                group,
                info.clone(),
                consume_type,
                message_model,
                from_where,
                &data.subscription_data_set,
                now,
            );
            m.filters
                .register_subscriptions(group, &data.subscription_data_set, now);
            changed
        };
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
    let mut response = RemotingCommand::response_to(request, resp::SUCCESS);
    if v2 {
        response = response
            .with_ext_field(IS_SUPPORT_HEART_BEAT_V2, "true")
            .with_ext_field(IS_SUB_CHANGE, sub_change.to_string());
    }
    Ok((response, notices))
}

/// UNREGISTER_CLIENT: a client leaving one producer and/or consumer group. The remaining members
/// of the consumer group are notified (group flag and broker flag, as Java; Java also
/// auto-creates the subscription group here when it is missing, so do we). When the last
/// member leaves, the group's filters die (Java's UNREGISTER event).
pub fn unregister_client(
    m: ClientManagers<'_>,
    peer: &Peer,
    request: &RemotingCommand,
    now: i64,
) -> Result<Handled, Refusal> {
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
            if change.group_removed {
                m.filters.unregister(group, now);
            }
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
) -> Result<RemotingCommand, Refusal> {
    let header: GetConsumerListByGroupRequestHeader = request.decode_header()?;
    let group = &header.consumer_group;
    match consumers.consumer_id_list(group) {
        Some(ids) if !ids.is_empty() => {
            let body = GetConsumerListByGroupResponseBody {
                consumer_id_list: ids,
            };
            let body = fastjson::to_vec(&body)?;
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
/// TAG (or no type) is always fine; anything else needs `enablePropertyFilter` (SYSTEM_ERROR
/// "The broker does not support consumer to filter message by <type>"), then must compile:
/// SUBSCRIPTION_PARSE_FAILED with the language's message as remark, or without remark for a
/// type no filter is registered for (Java's NullPointerException has no message).
pub fn check_client_config(
    enable_property_filter: bool,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let body: CheckClientRequestBody = decode_body(request, "CheckClientRequestBody")?;
    if let Some(sub) = &body.subscription_data {
        if consumer_filter::is_tag_type(sub.expression_type.as_deref()) {
            return Ok(RemotingCommand::response_to(request, resp::SUCCESS));
        }
        let kind = sub.expression_type.as_deref().unwrap_or("");
        if !enable_property_filter {
            return Ok(
                RemotingCommand::response_to(request, resp::SYSTEM_ERROR).with_remark(format!(
                    "The broker does not support consumer to filter message by {kind}"
                )),
            );
        }
        if let Err(e) = consumer_filter::compile(kind, sub.sub_string.as_deref().unwrap_or("")) {
            tracing::warn!(
                "Client {}@{} filter message, but failed to compile expression! sub={sub:?}, error={:?}",
                body.client_id,
                body.group,
                e.message()
            );
            let mut response =
                RemotingCommand::response_to(request, resp::SUBSCRIPTION_PARSE_FAILED);
            response.remark = e.message().map(str::to_owned);
            return Ok(response);
        }
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::HEART_BEAT, |cx, r| {
        let handled = heart_beat(managers(cx), &Peer::of(&cx.conn), &r, crate::now_millis())?;
        Ok(with_notices(cx, handled))
    }),
    Route::inline(req::UNREGISTER_CLIENT, |cx, r| {
        let handled =
            unregister_client(managers(cx), &Peer::of(&cx.conn), &r, crate::now_millis())?;
        Ok(with_notices(cx, handled))
    }),
    Route::inline(req::GET_CONSUMER_LIST_BY_GROUP, |cx, r| {
        Ok(get_consumer_list_by_group(&cx.ctrl.consumer_manager, &r)?.into())
    }),
    Route::inline(req::CHECK_CLIENT_CONFIG, |cx, r| {
        let enabled = cx.ctrl.configuration.broker(|b| b.enable_property_filter);
        Ok(check_client_config(enabled, &r)?.into())
    }),
];

fn managers(cx: &RequestContext) -> ClientManagers<'_> {
    let c = &cx.ctrl;
    ClientManagers {
        config: &c.broker_config,
        topics: &c.topic_config_manager,
        groups: &c.subscription_group_manager,
        consumers: &c.consumer_manager,
        producers: &c.producer_manager,
        filters: &c.consumer_filter_manager,
    }
}

/// The response, after the notices are queued: Java writes the notice from inside the handler,
/// so the NOTIFY precedes the response on the same connection.
fn with_notices(cx: &RequestContext, (response, notices): Handled) -> Reply {
    if notices.is_empty() {
        return response.into();
    }
    let clients = cx.ctrl.broker2client.clone();
    Reply::later(async move {
        for notice in notices {
            clients
                .notify_consumer_ids_changed(&notice.group, &notice.connections)
                .await;
        }
        Ok(Some(response))
    })
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
