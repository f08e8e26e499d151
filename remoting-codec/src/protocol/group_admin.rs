//! Subscription group administration (mqadmin `updateSubGroup`, `deleteSubGroup`,
//! `getConsumerConfig`; the dashboard consumer page, which builds its group list from 201).
//!
//! Codes: 200 UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (body [`SubscriptionGroupConfig`]), 225
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (5.x, [`SubscriptionGroupList`]), 201
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG ([`SubscriptionGroupWrapper`], also `subscriptionGroup.json`),
//! 352 GET_SUBSCRIPTIONGROUP_CONFIG (5.x), 207 DELETE_SUBSCRIPTIONGROUP, 353
//! UPDATE_AND_GET_GROUP_FORBIDDEN (5.x).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::DataVersion;

crate::remoting_header! {
    /// Request of 352 GET_SUBSCRIPTIONGROUP_CONFIG (5.x); the answer is a
    /// [`SubscriptionGroupConfig`], or 26 SUBSCRIPTION_GROUP_NOT_EXIST.
    pub struct GetSubscriptionGroupConfigRequestHeader {
        required group: String = "group",
    }
}

crate::remoting_header! {
    /// Request of 207 DELETE_SUBSCRIPTIONGROUP. 4.x sends the primitive `removeOffset` (always);
    /// 5.x renamed it `cleanOffset` and no longer sends `removeOffset`. Use
    /// [`clean_offset`](Self::clean_offset) to read either.
    pub struct DeleteSubscriptionGroupRequestHeader {
        required group_name: String = "groupName",
        default remove_offset: bool = "removeOffset",
        optional clean_offset: bool = "cleanOffset",
    }
}

impl DeleteSubscriptionGroupRequestHeader {
    /// Whether the group's consumer offsets are to be deleted too, whichever version asked.
    pub fn clean_offset(&self) -> bool {
        self.remove_offset || self.clean_offset.unwrap_or(false)
    }
}

crate::remoting_header! {
    /// Request of 353 UPDATE_AND_GET_GROUP_FORBIDDEN (5.x): without `readable` it only reads the
    /// state; the answer is a [`GroupForbidden`].
    pub struct UpdateGroupForbiddenRequestHeader {
        required group: String = "group",
        required topic: String = "topic",
        optional readable: bool = "readable",
    }
}

/// `SubscriptionGroupConfig`: a consumer group's settings on one broker (body of 200 and 352, a
/// value of `subscriptionGroup.json`). The fields after `consumeBroadcastEnable` marked 5.x are
/// written by 5.x peers only (a 5.x Java object always has them); a missing field takes Java's
/// initial value when read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupConfig {
    /// 5.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub broker_id: i64,
    #[serde(default = "yes")]
    pub consume_broadcast_enable: bool,
    #[serde(default = "yes")]
    pub consume_enable: bool,
    #[serde(default = "yes")]
    pub consume_from_min_enable: bool,
    /// 5.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_message_orderly: Option<bool>,
    /// 5.x; Java's initial value is 15.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consume_timeout_minute: Option<i32>,
    #[serde(default)]
    pub group_name: String,
    /// 5.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_retry_policy: Option<GroupRetryPolicy>,
    /// 5.x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_sys_flag: Option<i32>,
    #[serde(default = "yes")]
    pub notify_consumer_ids_changed_enable: bool,
    #[serde(default = "default_retry_max_times")]
    pub retry_max_times: i32,
    #[serde(default = "default_retry_queue_nums")]
    pub retry_queue_nums: i32,
    /// 5.x; null (absent) unless set. A Java `Set`: no line breaks in the pretty form.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::config_files::inline_opt_seq"
    )]
    pub subscription_data_set: Option<Vec<SimpleSubscriptionData>>,
    #[serde(default = "default_which_broker_when_consume_slowly")]
    pub which_broker_when_consume_slowly: i64,
}

fn yes() -> bool {
    true
}

fn default_retry_max_times() -> i32 {
    16
}

fn default_retry_queue_nums() -> i32 {
    1
}

fn default_which_broker_when_consume_slowly() -> i64 {
    1
}

impl SubscriptionGroupConfig {
    /// A group with Java's initial values, as a 4.9.8 broker auto-creates and writes it (no 5.x
    /// fields).
    pub fn new(group_name: impl Into<String>) -> Self {
        Self {
            attributes: None,
            broker_id: 0,
            consume_broadcast_enable: true,
            consume_enable: true,
            consume_from_min_enable: true,
            consume_message_orderly: None,
            consume_timeout_minute: None,
            group_name: group_name.into(),
            group_retry_policy: None,
            group_sys_flag: None,
            notify_consumer_ids_changed_enable: true,
            retry_max_times: default_retry_max_times(),
            retry_queue_nums: default_retry_queue_nums(),
            subscription_data_set: None,
            which_broker_when_consume_slowly: default_which_broker_when_consume_slowly(),
        }
    }

    /// The same group with the 5.x fields at the values a fresh 5.x Java object has.
    pub fn with_5x_defaults(mut self) -> Self {
        self.attributes.get_or_insert_with(BTreeMap::new);
        self.consume_message_orderly.get_or_insert(false);
        self.consume_timeout_minute.get_or_insert(15);
        self.group_retry_policy
            .get_or_insert_with(GroupRetryPolicy::default);
        self.group_sys_flag.get_or_insert(0);
        self
    }
}

/// `GroupRetryPolicyType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupRetryPolicyType {
    Exponential,
    #[default]
    Customized,
}

/// `GroupRetryPolicy` (5.x): which retry back-off a group uses. A fresh Java object has only
/// `type` = CUSTOMIZED; the policy objects are null until set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRetryPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_retry_policy: Option<CustomizedRetryPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponential_retry_policy: Option<ExponentialRetryPolicy>,
    #[serde(rename = "type", default)]
    pub policy_type: GroupRetryPolicyType,
}

/// `CustomizedRetryPolicy`: the delay in ms before each retry. Java's default list is the 4.x
/// delay levels from 1 s (index = reconsumeTimes + 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomizedRetryPolicy {
    /// A Java `long[]`: no line breaks in the pretty form.
    #[serde(default, serialize_with = "crate::fastjson::inline_seq")]
    pub next: Vec<i64>,
}

impl Default for CustomizedRetryPolicy {
    fn default() -> Self {
        const S: i64 = 1000;
        const M: i64 = 60 * S;
        Self {
            next: vec![
                S,
                5 * S,
                10 * S,
                30 * S,
                M,
                2 * M,
                3 * M,
                4 * M,
                5 * M,
                6 * M,
                7 * M,
                8 * M,
                9 * M,
                10 * M,
                20 * M,
                30 * M,
                60 * M,
                120 * M,
            ],
        }
    }
}

/// `ExponentialRetryPolicy`: `initial * multiplier^n`, capped at `max` (ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExponentialRetryPolicy {
    pub initial: i64,
    pub max: i64,
    pub multiplier: i64,
}

impl Default for ExponentialRetryPolicy {
    fn default() -> Self {
        Self {
            initial: 5_000,
            max: 7_200_000,
            multiplier: 2,
        }
    }
}

/// `SimpleSubscriptionData` (5.x): a subscription a group is configured with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleSubscriptionData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default)]
    pub version: i64,
}

/// Body of 225 UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (5.x).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupList {
    #[serde(default)]
    pub group_config_list: Vec<SubscriptionGroupConfig>,
}

/// A broker's subscription groups with their data version: the response body of 201
/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG and the content of `config/subscriptionGroup.json`. Java
/// writes the broker's `SubscriptionGroupManager` itself, so a 5.x broker adds its
/// `forbiddenTable` (group → topic → forbidden bits), which the 4.x and 5.x
/// `SubscriptionGroupWrapper` class does not have.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionGroupWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_table: Option<BTreeMap<String, BTreeMap<String, i32>>>,
    #[serde(default)]
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
}

/// Response body of 353 UPDATE_AND_GET_GROUP_FORBIDDEN (5.x).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupForbidden {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}
