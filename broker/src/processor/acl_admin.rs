//! The ACL admin codes of 4.9.8's `AdminBrokerProcessor` (mqadmin `updateAclConfig`,
//! `deleteAclConfig`, `updateGlobalWhiteAddr`, `clusterAclConfigVersion`); the changes go
//! through [`crate::acl::PlainAccessValidator`], which rewrites plain_acl.yml as Java does.
//!
//! - UPDATE_AND_CREATE_ACL_CONFIG 50: extFields `accessKey`, `secretKey`,
//!   `whiteRemoteAddress`, `admin` (`"true"` or not), `defaultTopicPerm`, `defaultGroupPerm`,
//!   `topicPerms` and `groupPerms` (comma-joined `Res=Perm`). SUCCESS with no extFields and no
//!   remark; a refusal is UPDATE_AND_CREATE_ACL_CONFIG_FAILED (209) with the exception's message.
//! - DELETE_ACL_CONFIG 51 (`accessKey`): SUCCESS, or DELETE_ACL_CONFIG_FAILED (210) with
//!   "The accesskey[k] corresponding to accessConfig has been deleted failed." for an unknown key.
//! - UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53 (`globalWhiteAddrs`, optional `aclFileFullPath`):
//!   SUCCESS, or UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED (211). The file is written now; the
//!   file watch applies it (Java: the same).
//! - GET_BROKER_CLUSTER_ACL_INFO 52 (what `clusterAclConfigVersion` asks): extFields `version`
//!   (the default file's DataVersion as of its last load), `allAclFileVersion` (path → version
//!   of every file, changed at once by 50/51/53), `brokerName`, `brokerAddr`, `clusterName`.
//!
//! None of them is admin-only (see [`crate::acl::permission`]). With ACL off Java's validator
//! is null: 50/51/53 answer their failure code with JDK 17's NullPointerException message,
//! and 52 answers nothing.

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;

use super::{HandlerResult, Reply, RequestContext, Route};
use crate::acl::plain_acl_file::PlainAccessConfig;

pub(super) const ROUTES: &[Route] = &[
    Route::blocking(
        req::UPDATE_AND_CREATE_ACL_CONFIG,
        update_and_create_acl_config,
    ),
    Route::blocking(req::DELETE_ACL_CONFIG, delete_acl_config),
    Route::inline(
        req::GET_BROKER_CLUSTER_ACL_INFO,
        get_broker_cluster_acl_info,
    ),
    Route::blocking(
        req::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
        update_global_white_addrs_config,
    ),
];

/// `UtilAll.split(s, ",")`: Java's `String.split` (trailing empty pieces dropped).
fn java_split(s: Option<&str>) -> Option<Vec<String>> {
    let s = s?;
    let mut parts: Vec<String> = s.split(',').map(str::to_owned).collect();
    while parts.len() > 1 && parts.last().is_some_and(String::is_empty) {
        parts.pop();
    }
    if parts.len() == 1 && parts[0].is_empty() && !s.is_empty() {
        parts.clear();
    }
    Some(parts)
}

fn npe(method: &str) -> String {
    format!("Cannot invoke \"org.apache.rocketmq.acl.AccessValidator.{method}\" because \"accessValidator\" is null")
}

fn answer(
    request: &RemotingCommand,
    result: Result<bool, String>,
    code: i32,
    failed: String,
) -> Reply {
    let r = match result {
        Ok(true) => RemotingCommand::response_to(request, resp::SUCCESS),
        Ok(false) => RemotingCommand::response_to(request, code).with_remark(failed),
        Err(message) => RemotingCommand::response_to(request, code).with_remark(message),
    };
    Reply::Now(r)
}

fn update_and_create_acl_config(cx: &RequestContext, request: RemotingCommand) -> HandlerResult {
    let get = |k: &str| request.ext_field(k).map(str::to_owned);
    let config = PlainAccessConfig {
        access_key: get("accessKey"),
        secret_key: get("secretKey"),
        white_remote_address: get("whiteRemoteAddress"),
        admin: request
            .ext_field("admin")
            .is_some_and(|a| a.eq_ignore_ascii_case("true")),
        default_topic_perm: get("defaultTopicPerm"),
        default_group_perm: get("defaultGroupPerm"),
        topic_perms: java_split(request.ext_field("topicPerms")),
        group_perms: java_split(request.ext_field("groupPerms")),
    };
    let result = match &cx.ctrl.access_validator {
        Some(v) => v.update_access_config(&config, crate::now_millis()),
        None => Err(npe(
            "updateAccessConfig(org.apache.rocketmq.common.PlainAccessConfig)",
        )),
    };
    let failed = format!(
        "The accesskey[{}] corresponding to accessConfig has been updated failed.",
        config.access_key.as_deref().unwrap_or("null")
    );
    Ok(answer(
        &request,
        result,
        resp::UPDATE_AND_CREATE_ACL_CONFIG_FAILED,
        failed,
    ))
}

fn delete_acl_config(cx: &RequestContext, request: RemotingCommand) -> HandlerResult {
    let key = request.ext_field("accessKey");
    tracing::info!("DeleteAccessConfig called by {}", cx.conn.peer_addr());
    let result = match &cx.ctrl.access_validator {
        Some(v) => v.delete_access_config(key, crate::now_millis()),
        None => Err(npe("deleteAccessConfig(String)")),
    };
    let failed = format!(
        "The accesskey[{}] corresponding to accessConfig has been deleted failed.",
        key.unwrap_or("null")
    );
    Ok(answer(
        &request,
        result,
        resp::DELETE_ACL_CONFIG_FAILED,
        failed,
    ))
}

fn update_global_white_addrs_config(
    cx: &RequestContext,
    request: RemotingCommand,
) -> HandlerResult {
    let addrs = request.ext_field("globalWhiteAddrs");
    let result = match &cx.ctrl.access_validator {
        Some(v) => v.update_global_white_addrs(
            java_split(addrs),
            request.ext_field("aclFileFullPath"),
            crate::now_millis(),
        ),
        None => Err(npe("updateGlobalWhiteAddrsConfig(java.util.List, String)")),
    };
    let failed = format!(
        "The globalWhiteAddresses[{}] has been updated failed.",
        addrs.unwrap_or("null")
    );
    Ok(answer(
        &request,
        result,
        resp::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED,
        failed,
    ))
}

fn get_broker_cluster_acl_info(cx: &RequestContext, request: RemotingCommand) -> HandlerResult {
    let Some(v) = &cx.ctrl.access_validator else {
        return Ok(Reply::None);
    };
    let config = &cx.ctrl.broker_config;
    let response = RemotingCommand::response_to(&request, resp::SUCCESS)
        .with_ext_field("version", v.version_json())
        .with_ext_field("allAclFileVersion", v.all_versions_json())
        .with_ext_field("brokerName", config.broker_name.clone())
        .with_ext_field("brokerAddr", cx.ctrl.broker_addr())
        .with_ext_field("clusterName", config.broker_cluster_name.clone());
    Ok(Reply::Now(response))
}

#[cfg(test)]
mod tests {
    use super::java_split;

    #[test]
    fn split_as_java_string_split() {
        assert_eq!(java_split(None), None);
        assert_eq!(java_split(Some("a,b")).unwrap(), vec!["a", "b"]);
        assert_eq!(java_split(Some("a,,b,,")).unwrap(), vec!["a", "", "b"]);
        assert_eq!(java_split(Some("")).unwrap(), vec![""]);
        assert_eq!(java_split(Some(",")).unwrap(), Vec::<String>::new());
    }
}
