//! Topic administration: DELETE_TOPIC_IN_NAMESRV (216), WIPE_WRITE_PERM_OF_BROKER (205),
//! ADD_WRITE_PERM_OF_BROKER (327).

use remoting::ProcessError;
use remoting_codec::protocol::namesrv::{
    AddWritePermOfBrokerRequestHeader, AddWritePermOfBrokerResponseHeader,
    DeleteTopicFromNamesrvRequestHeader, WipeWritePermOfBrokerRequestHeader,
    WipeWritePermOfBrokerResponseHeader,
};
use remoting_codec::RemotingCommand;

use super::success;
use crate::NamesrvController;

pub(super) fn delete_topic_in_namesrv(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: DeleteTopicFromNamesrvRequestHeader = req.decode_header()?;
    match h.cluster_name.as_deref().filter(|c| !c.is_empty()) {
        Some(cluster) => ns.route_info.delete_topic_in_cluster(&h.topic, cluster),
        None => ns.route_info.delete_topic(&h.topic),
    }
    Ok(success(req))
}

pub(super) fn wipe_write_perm_of_broker(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: WipeWritePermOfBrokerRequestHeader = req.decode_header()?;
    let count = ns.route_info.wipe_write_perm(&h.broker_name);
    tracing::info!("wipe write perm of broker[{}], {}", h.broker_name, count);
    Ok(
        success(req).with_header(&WipeWritePermOfBrokerResponseHeader {
            wipe_topic_count: count,
        }),
    )
}

pub(super) fn add_write_perm_of_broker(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: AddWritePermOfBrokerRequestHeader = req.decode_header()?;
    let count = ns.route_info.add_write_perm(&h.broker_name);
    tracing::info!("add write perm of broker[{}], {}", h.broker_name, count);
    Ok(
        success(req).with_header(&AddWritePermOfBrokerResponseHeader {
            add_topic_count: count,
        }),
    )
}
