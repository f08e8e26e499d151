//! QueryRoute and QueryAssignment (the proxy's `RouteActivity`), and the name checks every
//! RPC makes (`GrpcValidator`).
//!
//! A route is this broker's queues of the topic: broker id 0, its name, and the endpoints the
//! client reached us on with the port replaced by `grpcServerPort` (the proxy's
//! `convertToAddressList` with `useEndpointPortFromRequest=false`), or `brokerIP1` when the
//! request names none. Queues follow `genMessageQueueFromQueueData`: read-only ids first, then
//! write-only, then read-write, then (no permission) one NONE queue; each accepts the topic's
//! `message.type` (NORMAL when unset, all four for MIXED). An unknown topic is TOPIC_NOT_FOUND.
//! An assignment is one queue id -1 per readable broker (every queue, for a group that consumes
//! orderly); none is FORBIDDEN "no readable queue". With `aclEnable` both are checked first
//! ([`super::auth::authorize_route`], [`super::auth::authorize_assignment`]).

use std::sync::Arc;

use grpc::convert::{ok, status, Invalid};
use grpc::v2::{
    Address, AddressScheme, Assignment, Broker, Code, Endpoints, MessageQueue, MessageType,
    Permission, QueryAssignmentRequest, QueryAssignmentResponse, QueryRouteRequest,
    QueryRouteResponse, Resource,
};
use remoting_codec::protocol::{perm, TopicConfig};

use super::{Caller, GrpcContext};
use crate::topic::validator;

/// The topic attribute of a 5.x topic's message type.
pub const MESSAGE_TYPE_ATTRIBUTE: &str = "message.type";

/// `GrpcValidator.validateTopic`: the client's topic rules, then no system topic.
pub fn validate_topic(topic: &str) -> Result<(), Invalid> {
    check_name(topic, "topic", 127).map_err(|m| Invalid::new(Code::IllegalTopic, m))?;
    if validator::is_system_topic_name(topic) {
        return Err(Invalid::new(
            Code::IllegalTopic,
            "cannot access system topic",
        ));
    }
    Ok(())
}

/// `GrpcValidator.validateConsumerGroup`: the client's group rules, then no system group.
pub fn validate_group(group: &str) -> Result<(), Invalid> {
    check_name(group, "group", 255).map_err(|m| Invalid::new(Code::IllegalConsumerGroup, m))?;
    if validator::is_system_group_name(group) {
        return Err(Invalid::new(
            Code::IllegalConsumerGroup,
            "cannot use system consumer group",
        ));
    }
    Ok(())
}

/// The 5.x client `Validators.checkTopic` / `checkGroup` messages.
fn check_name(name: &str, what: &str, max: usize) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("The specified {what} is blank."));
    }
    if name.len() > max {
        return Err(format!(
            "The specified {what} is longer than {what} max length {max}."
        ));
    }
    if validator::is_topic_or_group_illegal(name) {
        return Err(format!(
            "The specified {what}[{name}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    Ok(())
}

/// The topic's `message.type` attribute (`TopicConfig.getTopicMessageType`): NORMAL unless set.
pub fn topic_message_type(config: &TopicConfig) -> &str {
    config
        .attributes
        .as_ref()
        .and_then(|a| a.get(MESSAGE_TYPE_ATTRIBUTE))
        .map_or("NORMAL", String::as_str)
}

fn accepted_types(topic_type: &str) -> Vec<i32> {
    let t = match topic_type {
        "NORMAL" => MessageType::Normal,
        "FIFO" => MessageType::Fifo,
        "DELAY" => MessageType::Delay,
        "TRANSACTION" => MessageType::Transaction,
        "MIXED" => {
            return [
                MessageType::Normal,
                MessageType::Fifo,
                MessageType::Delay,
                MessageType::Transaction,
            ]
            .map(|t| t as i32)
            .to_vec()
        }
        _ => MessageType::Unspecified,
    };
    vec![t as i32]
}

fn permission(p: i32) -> Permission {
    match (perm::is_readable(p), perm::is_writeable(p)) {
        (true, true) => Permission::ReadWrite,
        (true, false) => Permission::Read,
        (false, true) => Permission::Write,
        (false, false) => Permission::None,
    }
}

/// This broker as a route entry, reached at `endpoints`' hosts on the gRPC port.
fn broker(cx: &GrpcContext, endpoints: Option<&Endpoints>) -> Broker {
    let port = i32::from(cx.ctrl.grpc_config.port);
    let endpoints = match endpoints.filter(|e| !e.addresses.is_empty()) {
        Some(e) => Endpoints {
            scheme: e.scheme,
            addresses: e
                .addresses
                .iter()
                .map(|a| Address {
                    host: a.host.clone(),
                    port,
                })
                .collect(),
        },
        None => Endpoints {
            scheme: AddressScheme::IPv4 as i32,
            addresses: vec![Address {
                host: cx.ctrl.broker_config.broker_ip1.clone(),
                port,
            }],
        },
    };
    Broker {
        name: cx.ctrl.broker_config.broker_name.clone(),
        id: 0,
        endpoints: Some(endpoints),
    }
}

/// The topic's config, or TOPIC_NOT_FOUND as the proxy's route lookup fails.
pub fn topic_config(cx: &GrpcContext, topic: &str) -> Result<TopicConfig, Invalid> {
    cx.ctrl
        .topic_config_manager
        .select_topic_config(topic)
        .ok_or_else(|| {
            Invalid::new(
                Code::TopicNotFound,
                format!("No topic route info in name server for the topic: {topic}"),
            )
        })
}

/// The broker's permission applied to the topic's, as a route registers it.
fn effective_perm(cx: &GrpcContext, config: &TopicConfig) -> i32 {
    config.perm & cx.ctrl.configuration.broker(|b| b.broker_permission)
}

pub fn query_route(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: QueryRouteRequest,
) -> QueryRouteResponse {
    let refused = |i: Invalid| QueryRouteResponse {
        status: Some(i.status()),
        message_queues: vec![],
    };
    let topic = super::name_of(req.topic.as_ref()).to_owned();
    if let Err(s) = super::auth::authorize_route(&cx.ctrl, caller, &topic) {
        return QueryRouteResponse {
            status: Some(s),
            message_queues: vec![],
        };
    }
    if let Err(i) = validate_topic(&topic) {
        return refused(i);
    }
    let config = match topic_config(cx, &topic) {
        Ok(c) => c,
        Err(i) => return refused(i),
    };
    let p = effective_perm(cx, &config);
    let (mut r, mut w, mut rw, mut n) = (0, 0, 0, 0);
    if perm::is_readable(p) && perm::is_writeable(p) {
        rw = config.write_queue_nums.min(config.read_queue_nums);
        r = config.read_queue_nums - rw;
        w = config.write_queue_nums - rw;
    } else if perm::is_writeable(p) {
        w = config.write_queue_nums;
    } else if perm::is_readable(p) {
        r = config.read_queue_nums;
    } else {
        n = 1.max(config.write_queue_nums.max(config.read_queue_nums));
    }
    let resource = Resource {
        resource_namespace: String::new(),
        name: topic,
    };
    let broker = broker(cx, req.endpoints.as_ref());
    let types = accepted_types(topic_message_type(&config));
    let mut queues = Vec::new();
    for (count, permission) in [
        (r, Permission::Read),
        (w, Permission::Write),
        (rw, Permission::ReadWrite),
        (n, Permission::None),
    ] {
        for _ in 0..count.max(0) {
            queues.push(MessageQueue {
                topic: Some(resource.clone()),
                id: queues.len() as i32,
                permission: permission as i32,
                broker: Some(broker.clone()),
                accept_message_types: types.clone(),
            });
        }
    }
    QueryRouteResponse {
        status: Some(ok()),
        message_queues: queues,
    }
}

pub fn query_assignment(
    cx: &Arc<GrpcContext>,
    caller: &Caller,
    req: QueryAssignmentRequest,
) -> QueryAssignmentResponse {
    let refused = |i: Invalid| QueryAssignmentResponse {
        status: Some(i.status()),
        assignments: vec![],
    };
    let topic = super::name_of(req.topic.as_ref());
    let group = super::name_of(req.group.as_ref());
    if let Err(s) = super::auth::authorize_assignment(&cx.ctrl, caller, topic, group) {
        return QueryAssignmentResponse {
            status: Some(s),
            assignments: vec![],
        };
    }
    if let Err(i) = validate_topic(topic).and_then(|()| validate_group(group)) {
        return refused(i);
    }
    let config = match topic_config(cx, topic) {
        Ok(c) => c,
        Err(i) => return refused(i),
    };
    let fifo = cx
        .ctrl
        .subscription_group_manager
        .find_subscription_group_config(group)
        .is_some_and(|g| g.consume_message_orderly.unwrap_or(false));
    let p = effective_perm(cx, &config);
    let mut assignments = Vec::new();
    if perm::is_readable(p) && config.read_queue_nums > 0 {
        let queue = |id| Assignment {
            message_queue: Some(MessageQueue {
                topic: req.topic.clone(),
                id,
                permission: permission(p) as i32,
                broker: Some(broker(cx, req.endpoints.as_ref())),
                accept_message_types: vec![],
            }),
        };
        if fifo {
            assignments.extend((0..config.read_queue_nums).map(queue));
        } else {
            assignments.push(queue(-1));
        }
    }
    if assignments.is_empty() {
        return QueryAssignmentResponse {
            status: Some(status(Code::Forbidden, "no readable queue")),
            assignments,
        };
    }
    QueryAssignmentResponse {
        status: Some(ok()),
        assignments,
    }
}
