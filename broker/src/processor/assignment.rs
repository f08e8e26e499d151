//! QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401): 5.3.3's
//! `QueryAssignmentProcessor`, the server-side rebalance a 5.x client asks for (see
//! [`crate::pop::request_mode`] for the allocation and the stored modes).
//!
//! QUERY_ASSIGNMENT: body `{"clientId","consumerGroup","messageModel","strategyName",
//! "topic"}`; answer SUCCESS with `{"messageQueueAssignments":[{"messageQueue":{"brokerName",
//! "queueId","topic"},"mode":"PULL"|"POP"}]}` — the key is absent when Java's set is null
//! (unknown topic, group without clients, unknown strategy).
//!
//! SET_MESSAGE_REQUEST_MODE: body `{"consumerGroup","mode","popShareQueueNum","topic"}`; a
//! `%RETRY%` topic → NO_PERMISSION `retry topic is not allowed to set mode`; no topic →
//! TOPIC_NOT_EXIST `topic[T] not exist`; no group → SUBSCRIPTION_GROUP_NOT_EXIST
//! `subscription group does not exist`; else stored, persisted, SUCCESS.

use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;
use serde::{Deserialize, Serialize};

use super::{Refusal, Route};
use crate::controller::BrokerController;
use crate::pop::request_mode::{allocate_for_pop, strategy, SetMessageRequestModeRequestBody};

pub(super) const ROUTES: &[Route] = &[
    Route::inline(request::QUERY_ASSIGNMENT, |cx, req| {
        let body: QueryAssignmentRequestBody = decode(&req)?;
        let assignments = query_assignment(&cx.ctrl, &body);
        let answer = QueryAssignmentResponseBody {
            message_queue_assignments: assignments,
        };
        let bytes = remoting_codec::fastjson::to_vec(&answer)
            .map_err(|e| Refusal::system_error(e.to_string()))?;
        Ok(RemotingCommand::response_to(&req, response::SUCCESS)
            .with_body(bytes)
            .into())
    }),
    Route::blocking(request::SET_MESSAGE_REQUEST_MODE, |cx, req| {
        let body: SetMessageRequestModeRequestBody = decode(&req)?;
        let topic = body.topic.clone().unwrap_or_default();
        if topic.starts_with("%RETRY%") {
            return Err(Refusal::new(
                response::NO_PERMISSION,
                "retry topic is not allowed to set mode",
            ));
        }
        let c = &cx.ctrl;
        if c.topic_config_manager.select_topic_config(&topic).is_none() {
            return Err(Refusal::new(
                response::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist"),
            ));
        }
        let group = body.consumer_group.clone().unwrap_or_default();
        if c.subscription_group_manager
            .find_subscription_group_config(&group)
            .is_none()
        {
            return Err(Refusal::new(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                "subscription group does not exist",
            ));
        }
        c.message_request_mode_manager
            .set(&topic, &group, body)
            .map_err(|e| Refusal::system_error(e.to_string()))?;
        Ok(RemotingCommand::response_to(&req, response::SUCCESS).into())
    }),
];

/// A body Java's `decode` cannot read makes it throw: SYSTEM_ERROR.
fn decode<T: serde::de::DeserializeOwned>(req: &RemotingCommand) -> Result<T, Refusal> {
    remoting_codec::fastjson::from_slice(&req.body)
        .map_err(|e| Refusal::system_error(format!("bad request body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryAssignmentRequestBody {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    consumer_group: String,
    #[serde(default)]
    message_model: Option<String>,
    #[serde(default)]
    strategy_name: String,
    #[serde(default)]
    topic: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryAssignmentResponseBody {
    message_queue_assignments: Option<Vec<MessageQueueAssignment>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageQueueAssignment {
    message_queue: MessageQueue,
    mode: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageQueue {
    broker_name: String,
    queue_id: i32,
    topic: String,
}

fn query_assignment(
    ctrl: &BrokerController,
    body: &QueryAssignmentRequestBody,
) -> Option<Vec<MessageQueueAssignment>> {
    let topic = &body.topic;
    let mode = ctrl
        .message_request_mode_manager
        .get(topic, &body.consumer_group)
        .unwrap_or_else(|| SetMessageRequestModeRequestBody {
            consumer_group: Some(body.consumer_group.clone()),
            // defaultMessageRequestMode PULL; defaultPopShareQueueNum −1 is only set for POP.
            mode: "PULL".to_owned(),
            pop_share_queue_num: 0,
            topic: Some(topic.clone()),
        });
    let config = ctrl.topic_config_manager.select_topic_config(topic)?;
    let mq_all: Vec<i32> = (0..config.read_queue_nums).collect();
    let queues = if body.message_model.as_deref() == Some("BROADCASTING") {
        mq_all
    } else {
        let mut cids = ctrl
            .consumer_manager
            .get_consumer_group_info(&body.consumer_group)?
            .all_client_ids();
        cids.sort();
        let alloc = strategy::<i32>(&body.strategy_name)?;
        if mode.mode == "POP" {
            allocate_for_pop(
                alloc,
                &mq_all,
                &cids,
                &body.client_id,
                mode.pop_share_queue_num,
            )
        } else {
            alloc(&mq_all, &cids, &body.client_id)
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    Some(
        queues
            .into_iter()
            .filter(|q| seen.insert(*q))
            .map(|queue_id| MessageQueueAssignment {
                message_queue: MessageQueue {
                    broker_name: ctrl.broker_config.broker_name.clone(),
                    queue_id,
                    topic: topic.clone(),
                },
                mode: mode.mode.clone(),
            })
            .collect(),
    )
}
