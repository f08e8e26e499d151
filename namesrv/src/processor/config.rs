//! Name server settings at run time: UPDATE_NAMESRV_CONFIG (318), GET_NAMESRV_CONFIG (319).

use remoting::ProcessError;
use remoting_codec::code::response;
use remoting_codec::protocol::properties_text;
use remoting_codec::RemotingCommand;

use super::{failure, success};
use crate::kv_config::write_file_like_java;
use crate::NamesrvController;

pub(super) fn update_namesrv_config(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    if req.body.is_empty() {
        return Ok(success(req));
    }
    let Ok(update) = properties_text::parse_bytes(&req.body) else {
        return Ok(failure(
            req,
            response::SYSTEM_ERROR,
            "string2Properties error".into(),
        ));
    };
    let mut config = ns.config_mut();
    if config.touches_black_list(&update) {
        return Ok(failure(
            req,
            response::NO_PERMISSION,
            "Can not update config in black list.".into(),
        ));
    }
    config.merge_existing(&update);
    tracing::info!("updateConfig: {:?}", update);
    // Java's Configuration.persist: the whole table to configStorePath; a failure is logged.
    let path = config.config_store_path();
    if let Err(e) = write_file_like_java(&path, config.to_properties_text().as_bytes()) {
        tracing::error!("persist string2File error, {}: {}", path.display(), e);
    }
    Ok(success(req))
}

pub(super) fn get_namesrv_config(
    ns: &NamesrvController,
    req: &RemotingCommand,
) -> Result<RemotingCommand, ProcessError> {
    let text = ns.config().to_properties_text();
    Ok(success(req).with_body(text.into_bytes()))
}
