//! (in progress)

use std::sync::Arc;

use remoting::{Connection, ProcessError};
use remoting_codec::RemotingCommand;

use super::HandlerResult;
use crate::controller::BrokerController;

pub(super) async fn process(
    _ctrl: &BrokerController,
    _conn: &Arc<Connection>,
    _req: RemotingCommand,
) -> HandlerResult {
    Err(ProcessError::NotSupported)
}
