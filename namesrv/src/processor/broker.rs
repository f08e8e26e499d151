//! Broker registration: REGISTER_BROKER (103), UNREGISTER_BROKER (104), QUERY_DATA_VERSION
//! (322).

use std::sync::Arc;
use std::time::Duration;

use remoting::{Connection, ProcessError};
use remoting_codec::code::{response, version};
use remoting_codec::fastjson;
use remoting_codec::protocol::common::TopicConfigSerializeWrapper;
use remoting_codec::protocol::namesrv::{
    QueryDataVersionRequestHeader, QueryDataVersionResponseHeader, RegisterBrokerRequestHeader,
    RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use remoting_codec::protocol::register_broker::{body_crc32_matches, RegisterBrokerBody};
use remoting_codec::protocol::DataVersion;
use remoting_codec::RemotingCommand;

use super::{failure, success};
use crate::kv_config::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::route_info::Registration;
use crate::NamesrvController;

pub(super) fn register_broker(
    ns: &NamesrvController,
    conn: &Arc<Connection>,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let header: RegisterBrokerRequestHeader = req.decode_header()?;
    if !body_crc32_matches(header.body_crc32, &req.body) {
        tracing::warn!(
            "receive registerBroker request,crc32 not match,from {:?}",
            conn
        );
        return Ok(failure(
            req,
            response::SYSTEM_ERROR,
            "crc32 not match".into(),
        ));
    }
    // Brokers before 3.0.11 send the bare topic wrapper and no filter server list.
    let with_filter_servers = req.version >= version::V3_0_11;
    let (topics, filter_servers) = if req.body.is_empty() {
        // Java: no body means data version {counter 0, timestamp 0} and no topics.
        (TopicConfigSerializeWrapper::default(), Vec::new())
    } else if with_filter_servers {
        let body =
            RegisterBrokerBody::decode(&req.body, header.compressed, req.version).map_err(|e| {
                ProcessError::Failed(format!("Failed to decode RegisterBrokerBody: {e}"))
            })?;
        (body.topic_config_serialize_wrapper, body.filter_server_list)
    } else {
        let wrapper = fastjson::from_slice(&req.body).map_err(|e| {
            ProcessError::Failed(format!("Failed to decode TopicConfigSerializeWrapper: {e}"))
        })?;
        (wrapper, Vec::new())
    };
    let result = ns.route_info.register_broker(Registration {
        cluster_name: &header.cluster_name,
        broker_addr: &header.broker_addr,
        broker_name: &header.broker_name,
        broker_id: header.broker_id,
        ha_server_addr: &header.ha_server_addr,
        timeout: header
            .heartbeat_timeout_millis
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(ms as u64)),
        topics: &topics,
        filter_servers: with_filter_servers.then_some(filter_servers.as_slice()),
        channel: Some(conn.clone()),
    });
    let mut response = success(req).with_header(&RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    });
    if let Some(body) = ns.kv_config.list_by_namespace(NAMESPACE_ORDER_TOPIC_CONFIG) {
        response = response.with_body(body);
    }
    Ok(response)
}

pub(super) fn unregister_broker(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: UnRegisterBrokerRequestHeader = req.decode_header()?;
    ns.route_info
        .unregister_broker(&h.cluster_name, &h.broker_addr, &h.broker_name, h.broker_id);
    Ok(success(req))
}

pub(super) fn query_data_version(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: QueryDataVersionRequestHeader = req.decode_header()?;
    let theirs: DataVersion = fastjson::from_slice(&req.body)
        .map_err(|e| ProcessError::Failed(format!("Failed to decode DataVersion: {e}")))?;
    let (changed, ours) = ns.route_info.query_data_version(&h.broker_addr, &theirs);
    let mut response = success(req).with_header(&QueryDataVersionResponseHeader { changed });
    if let Some(ours) = ours {
        response = response.with_body(super::json_body(&ours)?);
    }
    Ok(response)
}
