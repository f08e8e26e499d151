//! Route and cluster reads: GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO (106),
//! GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206), GET_TOPICS_BY_CLUSTER (224),
//! GET_SYSTEM_TOPIC_LIST_FROM_NS (304) and the unit topic lists (311–313).

use remoting::ProcessError;
use remoting_codec::code::{request, response, version};
use remoting_codec::fastjson;
use remoting_codec::protocol::namesrv::{
    GetRouteInfoRequestHeader, GetTopicsByClusterRequestHeader,
};
use remoting_codec::protocol::route::TopicRouteData;
use remoting_codec::RemotingCommand;

use super::{failure, json_body, success};
use crate::kv_config::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::NamesrvController;

/// `FAQUrl.suggestTodo(FAQUrl.APPLY_TOPIC_URL)` of 4.9.8, appended to TOPIC_NOT_EXIST.
const APPLY_TOPIC_SUGGESTION: &str =
    "\nSee http://rocketmq.apache.org/docs/faq/ for further details.";

pub(super) fn get_route_info_by_topic(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: GetRouteInfoRequestHeader = req.decode_header()?;
    let Some(mut route) = ns.route_info.pickup_topic_route_data(&h.topic) else {
        return Ok(failure(
            req,
            response::TOPIC_NOT_EXIST,
            format!(
                "No topic route info in name server for the topic: {}{}",
                h.topic, APPLY_TOPIC_SUGGESTION
            ),
        ));
    };
    if ns.config().order_message_enable() {
        route.order_topic_conf = ns.kv_config.get(NAMESPACE_ORDER_TOPIC_CONFIG, &h.topic);
    }
    if req.version >= version::V5_0_0 {
        // A 5.x name server always writes the primitive `enableActingMaster`, and 5.x-protocol
        // clients rely on it (rocketmq-client-rust 1.0 declares it as a required bool); 4.9.8
        // never writes it, so 4.x clients keep getting exactly what they got.
        for broker in &mut route.broker_datas {
            broker.enable_acting_master.get_or_insert(false);
        }
    }
    let body = if TopicRouteData::wants_standard_json(req.version, h.accept_standard_json_only) {
        fastjson::to_vec_standard(&route)
    } else {
        fastjson::to_vec(&route)
    }
    .map_err(|e| ProcessError::Failed(e.to_string()))?;
    Ok(success(req).with_body(body))
}

pub(super) fn get_broker_cluster_info(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    Ok(success(req).with_body(json_body(&ns.route_info.cluster_info())?))
}

pub(super) fn get_all_topic_list(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    Ok(success(req).with_body(json_body(&ns.route_info.all_topics())?))
}

pub(super) fn get_topics_by_cluster(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: GetTopicsByClusterRequestHeader = req.decode_header()?;
    Ok(success(req).with_body(json_body(&ns.route_info.topics_by_cluster(&h.cluster))?))
}

pub(super) fn get_system_topic_list(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    Ok(success(req).with_body(json_body(&ns.route_info.system_topics())?))
}

pub(super) fn get_unit_topic_list(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let list = match req.code {
        request::GET_UNIT_TOPIC_LIST => ns.route_info.unit_topics(),
        request::GET_HAS_UNIT_SUB_TOPIC_LIST => ns.route_info.has_unit_sub_topics(),
        _ => ns.route_info.has_unit_sub_ununit_topics(),
    };
    Ok(success(req).with_body(json_body(&list)?))
}
