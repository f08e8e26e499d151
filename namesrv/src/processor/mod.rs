//! Request handlers, one module per family of request codes, and the dispatch by code.
//!
//! Each handler reads its typed header (a missing required field becomes SYSTEM_ERROR with
//! Java's remark, through [`ProcessError`]), calls the route or KV manager, and builds the
//! response Java builds, down to whether `extFields` is present: Java's responses created
//! with a header class carry `extFields` even when every field is null (REGISTER_BROKER's
//! `{}`), responses created without one carry none.

mod broker;
mod config;
mod kv;
mod route;
mod topic;

use std::sync::Arc;

use remoting::{Connection, ProcessError, RequestProcessor};
use remoting_codec::code::{request, response};
use remoting_codec::RemotingCommand;

use crate::NamesrvController;

impl RequestProcessor for NamesrvController {
    async fn process(
        &self,
        conn: &Arc<Connection>,
        req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        tracing::debug!("receive request {} from {:?}", req.code, conn);
        let response = match req.code {
            request::REGISTER_BROKER => broker::register_broker(self, conn, &req)?,
            request::UNREGISTER_BROKER => broker::unregister_broker(self, &req)?,
            request::QUERY_DATA_VERSION => broker::query_data_version(self, &req)?,
            request::GET_ROUTEINFO_BY_TOPIC => route::get_route_info_by_topic(self, &req)?,
            request::GET_BROKER_CLUSTER_INFO => route::get_broker_cluster_info(self, &req)?,
            request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER => route::get_all_topic_list(self, &req)?,
            request::GET_TOPICS_BY_CLUSTER => route::get_topics_by_cluster(self, &req)?,
            request::GET_SYSTEM_TOPIC_LIST_FROM_NS => route::get_system_topic_list(self, &req)?,
            request::GET_UNIT_TOPIC_LIST
            | request::GET_HAS_UNIT_SUB_TOPIC_LIST
            | request::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => {
                route::get_unit_topic_list(self, &req)?
            }
            request::DELETE_TOPIC_IN_NAMESRV => topic::delete_topic_in_namesrv(self, &req)?,
            request::WIPE_WRITE_PERM_OF_BROKER => topic::wipe_write_perm_of_broker(self, &req)?,
            request::ADD_WRITE_PERM_OF_BROKER => topic::add_write_perm_of_broker(self, &req)?,
            request::PUT_KV_CONFIG => kv::put_kv_config(self, &req)?,
            request::GET_KV_CONFIG => kv::get_kv_config(self, &req)?,
            request::DELETE_KV_CONFIG => kv::delete_kv_config(self, &req)?,
            request::GET_KVLIST_BY_NAMESPACE => kv::get_kv_list_by_namespace(self, &req)?,
            request::UPDATE_NAMESRV_CONFIG => config::update_namesrv_config(self, &req)?,
            request::GET_NAMESRV_CONFIG => config::get_namesrv_config(self, &req)?,
            _ => return Err(ProcessError::NotSupported),
        };
        Ok(Some(response))
    }

    fn on_connection_closed(&self, conn: &Arc<Connection>) {
        self.route_info.on_channel_destroy(conn.id());
    }
}

/// A SUCCESS response without `extFields`.
fn success(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(req, response::SUCCESS)
}

/// A response with a remark and no `extFields`.
fn failure(req: &RemotingCommand, code: i32, remark: String) -> RemotingCommand {
    RemotingCommand::response_to(req, code).with_remark(remark)
}

/// A body that cannot fail to serialize (plain strings and numbers); a failure would be a
/// bug in the codec, reported as SYSTEM_ERROR rather than a panic.
fn json_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ProcessError> {
    remoting_codec::fastjson::to_vec(value).map_err(|e| ProcessError::Failed(e.to_string()))
}
