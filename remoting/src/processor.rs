//! What a server asks of its request handlers.

use std::future::Future;
use std::sync::Arc;

use remoting_codec::{HeaderError, RemotingCommand};

use crate::connection::Connection;

/// Why a handler produced no normal response. The server turns it into the response Java
/// sends in that case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// No handler for this request code: REQUEST_CODE_NOT_SUPPORTED with the remark
    /// `" request type N not supported"` (leading space included, as Java writes it).
    #[error("request code not supported")]
    NotSupported,
    /// The handler failed (bad header, unreadable body, …): SYSTEM_ERROR with this text as the
    /// remark, as Java answers an exception thrown by a processor.
    #[error("{0}")]
    Failed(String),
}

impl From<HeaderError> for ProcessError {
    fn from(e: HeaderError) -> Self {
        ProcessError::Failed(e.to_string())
    }
}

/// The handlers of a server, dispatching on the request code.
///
/// `process` is first polled on the connection's reader task: what it does before its first
/// `.await` that waits delays the next frames of that connection, so anything slow (disk
/// reads at random, blocking waits) must be behind an `.await` (e.g. `spawn_blocking`); from
/// there on it runs in a task of its own and delays nobody else. It returns the response to send (its opaque and serialization are fixed up by the server,
/// and nothing is sent for a oneway request), `Ok(None)` for "no answer", or a
/// [`ProcessError`].
pub trait RequestProcessor: Send + Sync + 'static {
    fn process(
        &self,
        conn: &Arc<Connection>,
        request: RemotingCommand,
    ) -> impl Future<Output = Result<Option<RemotingCommand>, ProcessError>> + Send;

    /// Called once when a connection closes (peer gone, bad frame, or closed by us).
    fn on_connection_closed(&self, _conn: &Arc<Connection>) {}
}
