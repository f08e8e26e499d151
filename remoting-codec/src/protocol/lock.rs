//! Orderly consumption: LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42). An orderly consumer locks
//! its queues on the broker (every 20 s; a lock lives 60 s) so that no other client of the group
//! consumes them at the same time. Both carry only a body.

use serde::{Deserialize, Serialize};

use super::common::MessageQueue;

/// `LockBatchRequestBody` (LOCK_BATCH_MQ 41). `onlyThisBroker` is 5.x only (a 5.x broker
/// otherwise forwards the lock to the other replicas of the broker group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LockBatchRequestBody {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub consumer_group: String,
    #[serde(default)]
    pub mq_set: Vec<MessageQueue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_this_broker: Option<bool>,
}

/// `LockBatchResponseBody` (LOCK_BATCH_MQ 41): the queues now locked by the requester.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockBatchResponseBody {
    #[serde(rename = "lockOKMQSet", default)]
    pub lock_ok_mq_set: Vec<MessageQueue>,
}

/// `UnlockBatchRequestBody` (UNLOCK_BATCH_MQ 42): same shape as [`LockBatchRequestBody`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockBatchRequestBody {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub consumer_group: String,
    #[serde(default)]
    pub mq_set: Vec<MessageQueue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_this_broker: Option<bool>,
}
