//! KV config: PUT_KV_CONFIG (100), GET_KV_CONFIG (101), DELETE_KV_CONFIG (102),
//! GET_KVLIST_BY_NAMESPACE (219).

use remoting::ProcessError;
use remoting_codec::code::response;
use remoting_codec::protocol::namesrv::{
    DeleteKVConfigRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
    GetKVListByNamespaceRequestHeader, PutKVConfigRequestHeader,
};
use remoting_codec::RemotingCommand;

use super::{failure, success};
use crate::NamesrvController;

/// Java logs a failed write of kvConfig.json and still answers SUCCESS (the value is in
/// memory); we answer SYSTEM_ERROR instead, so that the operator learns the change is not
/// durable.
fn persisted(r: std::io::Result<()>) -> Result<(), ProcessError> {
    r.map_err(|e| ProcessError::Failed(format!("persist kvConfig failed: {e}")))
}

pub(super) fn put_kv_config(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: PutKVConfigRequestHeader = req.decode_header()?;
    persisted(ns.kv_config.put(&h.namespace, &h.key, &h.value))?;
    Ok(success(req))
}

pub(super) fn get_kv_config(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: GetKVConfigRequestHeader = req.decode_header()?;
    Ok(match ns.kv_config.get(&h.namespace, &h.key) {
        Some(value) => success(req).with_header(&GetKVConfigResponseHeader { value: Some(value) }),
        None => failure(
            req,
            response::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {} Key: {}", h.namespace, h.key),
        )
        // Java creates this response with its header class: empty extFields.
        .with_header(&GetKVConfigResponseHeader { value: None }),
    })
}

pub(super) fn delete_kv_config(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: DeleteKVConfigRequestHeader = req.decode_header()?;
    persisted(ns.kv_config.delete(&h.namespace, &h.key))?;
    Ok(success(req))
}

pub(super) fn get_kv_list_by_namespace(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let h: GetKVListByNamespaceRequestHeader = req.decode_header()?;
    Ok(match ns.kv_config.list_by_namespace(&h.namespace) {
        Some(body) => success(req).with_body(body),
        None => failure(
            req,
            response::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {}", h.namespace),
        ),
    })
}
