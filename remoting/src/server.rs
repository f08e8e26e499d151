//! The accepting side: binds a listener, runs a [`Connection`] per accepted socket and hands
//! each request to a [`RequestProcessor`].

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use remoting_codec::code::response;
use remoting_codec::{RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio::net::TcpListener;

use crate::connection::Connection;
use crate::processor::{ProcessError, RequestProcessor};
use crate::tls::{Accepted, TlsServer};

/// A bound, not yet running server.
pub struct RemotingServer {
    listener: TcpListener,
    max_frame_length: usize,
    tls: TlsServer,
}

impl RemotingServer {
    /// Binds `addr` (e.g. `0.0.0.0:9876`; port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            tls: TlsServer::disabled(),
        })
    }

    /// What to do with TLS and plain connections ([`crate::tls`]); without it, plain only and
    /// a TLS handshake closes the connection (Java's `disabled` mode).
    pub fn with_tls(mut self, tls: TlsServer) -> Self {
        self.tls = tls;
        self
    }

    /// Frames longer than this (length field included) close the connection.
    pub fn with_max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections until `shutdown` resolves, then closes every open connection.
    pub async fn run<P: RequestProcessor>(
        self,
        processor: Arc<P>,
        shutdown: impl Future<Output = ()>,
    ) {
        let open: Arc<Mutex<HashMap<u64, Arc<Connection>>>> = Arc::default();
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Typically EMFILE; the listener itself is still fine.
                        tracing::warn!("accept failed: {}", e);
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            tracing::debug!("connection from {}", peer);
            let _ = stream.set_nodelay(true);
            let (processor, open, tls) = (processor.clone(), open.clone(), self.tls.clone());
            let max = self.max_frame_length;
            // The handshake handler waits for the first byte: in a task of its own. Reading
            // pauses while more than the high water mark waits for a peer that does not read
            // (Java 5.x's autoRead off on an unwritable channel).
            tokio::spawn(async move {
                let accepted = match tls.accept(stream, peer).await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("{e}");
                        return;
                    }
                };
                let handler = processor.clone();
                let on_request = move |conn: Arc<Connection>, request| {
                    let handler = handler.clone();
                    tokio::spawn(async move { dispatch(&*handler, &conn, request).await });
                };
                let conn = match accepted {
                    Accepted::Plain(s) => Connection::spawn_io(s, peer, max, true, on_request),
                    Accepted::Tls(s) => Connection::spawn_io(*s, peer, max, true, on_request),
                };
                lock(&open).insert(conn.id(), conn.clone());
                conn.closed().await;
                lock(&open).remove(&conn.id());
                tracing::debug!("{:?} closed", conn);
                processor.on_connection_closed(&conn);
            });
        }
        for conn in lock(&open).values() {
            conn.close();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs one request through the processor and sends what Java would send back.
async fn dispatch<P: RequestProcessor>(
    processor: &P,
    conn: &Arc<Connection>,
    request: RemotingCommand,
) {
    // Nothing is built for a peer that has not read the answers already queued for it.
    conn.until_writable().await;
    let code = request.code;
    let oneway = request.is_oneway();
    let template = RemotingCommand::response_to(&request, response::SUCCESS);
    let response = match processor.process(conn, request).await {
        Ok(Some(response)) => response,
        Ok(None) => return,
        Err(ProcessError::NotSupported) => {
            tracing::warn!("{:?}: request type {} not supported", conn, code);
            RemotingCommand {
                code: response::REQUEST_CODE_NOT_SUPPORTED,
                remark: Some(format!(" request type {code} not supported")),
                ..template.clone()
            }
        }
        Err(ProcessError::Failed(text)) => {
            tracing::warn!("{:?}: request {} failed: {}", conn, code, text);
            RemotingCommand {
                code: response::SYSTEM_ERROR,
                remark: Some(text),
                ..template.clone()
            }
        }
    };
    if oneway {
        return;
    }
    // Whatever the handler built, the answer must pair with the request.
    let response = RemotingCommand {
        opaque: template.opaque,
        flag: response.flag | template.flag,
        serialize_type: template.serialize_type,
        ..response
    };
    if let Err(e) = conn.send(response).await {
        tracing::debug!("response to request {} not sent: {}", code, e);
    }
}
