//! `ConsumerManager` and `ConsumerGroupInfo`: the live members of each consumer group, their
//! subscriptions and how they consume.
//!
//! Clients depend on it for rebalancing: GET_CONSUMER_LIST_BY_GROUP answers the group's client
//! ids, and a membership change must be followed by NOTIFY_CONSUMER_IDS_CHANGED to every member
//! so they rebalance at once instead of at their next 20 s timer. A pull needs the group's
//! subscription of the topic (else SUBSCRIPTION_NOT_EXIST / "consumer's group info not exist").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use dashmap::DashMap;
use remoting_codec::protocol::client::{ConsumeFromWhere, ConsumeType, MessageModel};
use remoting_codec::protocol::SubscriptionData;

use super::{ClientChannelInfo, ConnectionId, RemovedChannel};

/// A group whose membership changed outside a heartbeat (unregister, closed connection).
///
/// Java sends NOTIFY_CONSUMER_IDS_CHANGED to `remaining` when the broker's
/// `notifyConsumerIdsChangedEnable` is on; for an UNREGISTER_CLIENT it also requires the group's
/// own flag, for a closed connection it does not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupChange {
    pub group: String,
    /// The members left, to be notified.
    pub remaining: Vec<ConnectionId>,
    /// The last member left: the group is gone from the table.
    pub group_removed: bool,
}

/// One consumer group's members and subscriptions.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerGroupInfo {
    pub group_name: String,
    /// topic → subscription.
    pub subscription_table: HashMap<String, SubscriptionData>,
    pub channel_info_table: BTreeMap<ConnectionId, ClientChannelInfo>,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub last_update_timestamp: i64,
}

fn sub_topic(sub: &SubscriptionData) -> &str {
    sub.topic.as_deref().unwrap_or("")
}

impl ConsumerGroupInfo {
    pub fn new(
        group_name: impl Into<String>,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        now: i64,
    ) -> Self {
        ConsumerGroupInfo {
            group_name: group_name.into(),
            subscription_table: HashMap::new(),
            channel_info_table: BTreeMap::new(),
            consume_type,
            message_model,
            consume_from_where,
            last_update_timestamp: now,
        }
    }

    pub fn find_channel(&self, client_id: &str) -> Option<&ClientChannelInfo> {
        self.channel_info_table
            .values()
            .find(|c| c.client_id == client_id)
    }

    pub fn all_connections(&self) -> Vec<ConnectionId> {
        self.channel_info_table.keys().copied().collect()
    }

    /// GET_CONSUMER_LIST_BY_GROUP's answer.
    pub fn all_client_ids(&self) -> Vec<String> {
        self.channel_info_table
            .values()
            .map(|c| c.client_id.clone())
            .collect()
    }

    pub fn find_subscription_data(&self, topic: &str) -> Option<&SubscriptionData> {
        self.subscription_table.get(topic)
    }

    /// `updateChannel`: the group takes the heartbeat's consume type, model and from-where; a
    /// connection not yet in the group joins it (the only case that counts as a change); a known
    /// one has its timestamp refreshed (and, if its client id changed, which Java logs as a bug,
    /// its info replaced).
    pub fn update_channel(
        &mut self,
        info: ClientChannelInfo,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        now: i64,
    ) -> bool {
        self.consume_type = consume_type;
        self.message_model = message_model;
        self.consume_from_where = consume_from_where;
        self.last_update_timestamp = now;
        let connection = info.connection_id;
        let joined = match self.channel_info_table.get_mut(&info.connection_id) {
            None => {
                tracing::info!(
                    "new consumer connected, group: {} {info:?}",
                    self.group_name
                );
                self.channel_info_table.insert(info.connection_id, info);
                true
            }
            Some(old) => {
                if old.client_id != info.client_id {
                    tracing::error!(
                        "[BUG] consumer channel exist in broker, but clientId not equal. GROUP: {} OLD: {old:?} NEW: {info:?}",
                        self.group_name
                    );
                    *old = info;
                }
                false
            }
        };
        if let Some(current) = self.channel_info_table.get_mut(&connection) {
            current.last_update_timestamp = now;
        }
        joined
    }

    /// `updateSubscription`: topics added or removed count as a change; a subscription of a known
    /// topic with a higher `subVersion` replaces the old one without counting as a change (Java
    /// does not notify members when only a tag expression changed).
    pub fn update_subscription(&mut self, subs: &[SubscriptionData], now: i64) -> bool {
        let mut updated = false;
        for sub in subs {
            let topic = sub_topic(sub);
            match self.subscription_table.get(topic) {
                None => {
                    tracing::info!(
                        "subscription changed, add new topic, group: {} {sub:?}",
                        self.group_name
                    );
                    self.subscription_table
                        .insert(topic.to_owned(), sub.clone());
                    updated = true;
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    self.subscription_table
                        .insert(topic.to_owned(), sub.clone());
                }
                Some(_) => {}
            }
        }
        let before = self.subscription_table.len();
        let group = &self.group_name;
        self.subscription_table.retain(|topic, old| {
            let keep = subs.iter().any(|s| sub_topic(s) == topic);
            if !keep {
                tracing::warn!("subscription changed, group: {group} remove topic {topic} {old:?}");
            }
            keep
        });
        updated |= self.subscription_table.len() != before;
        self.last_update_timestamp = now;
        updated
    }
}

/// `ConsumerManager`: group name → [`ConsumerGroupInfo`].
#[derive(Default)]
pub struct ConsumerManager {
    table: DashMap<String, ConsumerGroupInfo>,
    /// 5.x `ClientManageProcessor.consumerGroupHeartbeatTable`: group → the heartbeat
    /// fingerprint last seen for it from any client (0 after a classic heartbeat). Java keeps it
    /// for the broker's life; a group's entry outlives its members, as there.
    heartbeat_fingerprints: DashMap<String, i32>,
}

impl ConsumerManager {
    pub fn new() -> Self {
        Self::default()
    }

    /// `registerConsumer`, from a heartbeat's ConsumerData: creates the group if needed, then
    /// [`update_channel`](ConsumerGroupInfo::update_channel) and
    /// [`update_subscription`](ConsumerGroupInfo::update_subscription). `true`: a member joined
    /// or a topic was added/removed; Java then notifies the group's members (when the group's
    /// and the broker's `notifyConsumerIdsChangedEnable` are on), see [`Self::group_connections`].
    #[allow(clippy::too_many_arguments)]
    pub fn register_consumer(
        &self,
        group: &str,
        info: ClientChannelInfo,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        subs: &[SubscriptionData],
        now: i64,
    ) -> bool {
        let mut entry = self.table.entry(group.to_owned()).or_insert_with(|| {
            ConsumerGroupInfo::new(group, consume_type, message_model, consume_from_where, now)
        });
        let joined =
            entry.update_channel(info, consume_type, message_model, consume_from_where, now);
        let resubscribed = entry.update_subscription(subs, now);
        joined || resubscribed
    }

    /// 5.x `registerConsumerWithoutSub`, from a v2 heartbeat sent `withoutSub` (the client's
    /// subscriptions did not change since the full heartbeat the broker acknowledged): the
    /// group is created if needed and the member refreshed or added
    /// ([`update_channel`](ConsumerGroupInfo::update_channel)); the group's subscriptions stay
    /// as they are. `true`: a member joined.
    pub fn register_consumer_without_sub(
        &self,
        group: &str,
        info: ClientChannelInfo,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
        now: i64,
    ) -> bool {
        let mut entry = self.table.entry(group.to_owned()).or_insert_with(|| {
            ConsumerGroupInfo::new(group, consume_type, message_model, consume_from_where, now)
        });
        entry.update_channel(info, consume_type, message_model, consume_from_where, now)
    }

    /// Records `fingerprint` as the group's last heartbeat fingerprint and returns the one it
    /// replaces (`None`: the group never heartbeated here). 5.x answers a v2 heartbeat
    /// `IS_SUB_CHANGE=true` when the previous one differs.
    pub fn swap_heartbeat_fingerprint(&self, group: &str, fingerprint: i32) -> Option<i32> {
        self.heartbeat_fingerprints
            .insert(group.to_owned(), fingerprint)
    }

    /// `unregisterConsumer` (UNREGISTER_CLIENT). `None`: no such group. The group is removed when
    /// its last member leaves.
    pub fn unregister_consumer(
        &self,
        group: &str,
        connection: ConnectionId,
    ) -> Option<GroupChange> {
        let remaining = {
            let mut info = self.table.get_mut(group)?;
            if let Some(old) = info.channel_info_table.remove(&connection) {
                tracing::info!("unregister a consumer[{group}] from consumerGroupInfo {old:?}");
            }
            info.all_connections()
        };
        let group_removed = remaining.is_empty()
            && self
                .table
                .remove_if(group, |_, info| info.channel_info_table.is_empty())
                .is_some();
        Some(GroupChange {
            group: group.to_owned(),
            remaining,
            group_removed,
        })
    }

    /// `doChannelCloseEvent`: the connection leaves every group it was in.
    pub fn connection_closed(&self, connection: ConnectionId) -> Vec<GroupChange> {
        let mut changes = Vec::new();
        for mut entry in self.table.iter_mut() {
            if let Some(info) = entry.channel_info_table.remove(&connection) {
                tracing::warn!(
                    "remove not active channel {info:?} from consumer group {}",
                    entry.key()
                );
                changes.push(GroupChange {
                    group: entry.key().clone(),
                    remaining: entry.all_connections(),
                    group_removed: false,
                });
            }
        }
        for change in &mut changes {
            if change.remaining.is_empty() {
                change.group_removed = self
                    .table
                    .remove_if(&change.group, |_, info| info.channel_info_table.is_empty())
                    .is_some();
            }
        }
        changes
    }

    /// `scanNotActiveChannel`: drops members silent for more than 120 s and the groups left
    /// empty. Java closes those connections and notifies nobody (the close event then finds
    /// nothing to remove); the caller closes the returned connections.
    pub fn scan_not_active_channel(&self, now: i64) -> Vec<RemovedChannel> {
        let mut removed = Vec::new();
        self.table.retain(|group, info| {
            info.channel_info_table.retain(|_, channel| {
                let expired = channel.is_expired(now);
                if expired {
                    tracing::warn!(
                        "SCAN: remove expired channel {channel:?} from consumer group {group}"
                    );
                    removed.push(RemovedChannel {
                        group: group.clone(),
                        info: channel.clone(),
                    });
                }
                !expired
            });
            !info.channel_info_table.is_empty()
        });
        removed
    }

    /// A copy of one group's state.
    pub fn get_consumer_group_info(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.table.get(group).map(|g| g.clone())
    }

    /// The members to notify after [`register_consumer`](Self::register_consumer) returned true.
    pub fn group_connections(&self, group: &str) -> Vec<ConnectionId> {
        self.table
            .get(group)
            .map(|g| g.all_connections())
            .unwrap_or_default()
    }

    /// GET_CONSUMER_LIST_BY_GROUP.
    pub fn consumer_id_list(&self, group: &str) -> Option<Vec<String>> {
        self.table.get(group).map(|g| g.all_client_ids())
    }

    pub fn find_channel(&self, group: &str, client_id: &str) -> Option<ClientChannelInfo> {
        self.table.get(group)?.find_channel(client_id).cloned()
    }

    pub fn find_subscription_data(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.table
            .get(group)?
            .find_subscription_data(topic)
            .cloned()
    }

    pub fn find_subscription_data_count(&self, group: &str) -> usize {
        self.table
            .get(group)
            .map_or(0, |g| g.subscription_table.len())
    }

    /// `queryTopicConsumeByWho`: the groups subscribing a topic.
    pub fn query_topic_consume_by_who(&self, topic: &str) -> BTreeSet<String> {
        self.table
            .iter()
            .filter(|g| g.subscription_table.contains_key(topic))
            .map(|g| g.key().clone())
            .collect()
    }

    pub fn group_names(&self) -> Vec<String> {
        self.table.iter().map(|g| g.key().clone()).collect()
    }
}

#[cfg(test)]
#[path = "consumer_tests.rs"]
mod tests;
