//! The accepting side: binds a listener, runs a [`Connection`] per accepted socket and hands
//! each request to a [`RequestProcessor`].
//!
//! A request is first run on the connection's reader task itself ([`run_on_reader`]): its
//! future is polled once there, and only if it cannot finish at once (a handler on a blocking
//! thread, a parked pull, a SYNC_FLUSH wait, a full outbound queue) does it move to a task of
//! its own. So the frames of one read are answered in order by the task that decoded them,
//! without a task spawn and a wake-up of another worker thread per request, and their
//! responses reach the writer task together (one write for the lot). An answer that had to wait
//! goes out through [`Connection::send_woken`], so that the answers one event woke (a group
//! commit) leave together too.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Context;
use std::time::Duration;

use remoting_codec::code::response;
use remoting_codec::{RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio::net::TcpListener;

use crate::connection::{Connection, PeerLimits};
use crate::processor::{ProcessError, RequestProcessor};
use crate::tls::{Accepted, TlsServer};

/// Java's `serverChannelMaxIdleTimeSeconds` default.
pub const DEFAULT_MAX_IDLE: Duration = Duration::from_secs(120);

/// A bound, not yet running server.
pub struct RemotingServer {
    listener: TcpListener,
    max_frame_length: usize,
    tls: TlsServer,
    /// `serverChannelMaxIdleTimeSeconds`: a connection idle this long is closed.
    max_idle: Option<Duration>,
}

impl RemotingServer {
    /// Binds `addr` (e.g. `0.0.0.0:9876`; port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(addr).await?,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            tls: TlsServer::disabled(),
            max_idle: Some(DEFAULT_MAX_IDLE),
        })
    }

    /// What to do with TLS and plain connections ([`crate::tls`]); without it, plain only and
    /// a TLS handshake closes the connection (Java's `disabled` mode).
    pub fn with_tls(mut self, tls: TlsServer) -> Self {
        self.tls = tls;
        self
    }

    /// `serverChannelMaxIdleTimeSeconds` (Java's default 120 s; 0 or less: never).
    pub fn with_max_idle_seconds(mut self, seconds: i64) -> Self {
        self.max_idle = u64::try_from(seconds)
            .ok()
            .filter(|&s| s > 0)
            .map(Duration::from_secs);
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
            let limits = PeerLimits::server(self.max_idle);
            // The handshake handler waits for the first byte: in a task of its own. Reading
            // pauses while more than the high water mark waits for a peer that does not read
            // (Java 5.x's autoRead off on an unwritable channel).
            tokio::spawn(async move {
                // A peer that never sends its first byte is idle too: closed after max_idle.
                let accept = tls.accept(stream, peer);
                let accepted = match limits.max_idle {
                    Some(idle) => tokio::time::timeout(idle, accept).await.unwrap_or_else(|_| {
                        Err(format!(
                            "NETTY SERVER PIPELINE: IDLE exception [{peer}]: nothing received, closing"
                        ))
                    }),
                    None => accept.await,
                };
                let accepted = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        tracing::warn!("{e}");
                        return;
                    }
                };
                let handler = processor.clone();
                let on_request = move |conn: Arc<Connection>, request| {
                    let handler = handler.clone();
                    run_on_reader(async move { answer(&*handler, &conn, request).await });
                };
                let conn = match accepted {
                    Accepted::Plain(s) => Connection::spawn_io(s, peer, max, limits, on_request),
                    Accepted::Tls(s) => Connection::spawn_io(*s, peer, max, limits, on_request),
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

/// Polls `request` once on the calling task; if it is not done, spawns it as a task of its
/// own, which polls it again with a real waker (a future must accept being polled by another
/// waker than the one it last saw, so the no-op one used here is never relied on).
pub(crate) fn run_on_reader<F>(request: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut request: Pin<Box<F>> = Box::pin(request);
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    // A handler that panics loses its own request, as it did in a task of its own (tokio
    // catches a task's panic): the reader goes on with the next frame.
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        request.as_mut().poll(&mut cx)
    }));
    match polled {
        Ok(poll) if poll.is_pending() => {
            tokio::spawn(request);
        }
        Ok(_) => {}
        Err(_) => tracing::error!("a request handler panicked; the request is dropped"),
    }
}

/// Runs one request through the processor and sends what Java would send back.
async fn answer<P: RequestProcessor>(
    processor: &P,
    conn: &Arc<Connection>,
    request: RemotingCommand,
) {
    // Nothing is built for a peer that has not read the answers already queued for it.
    conn.until_writable().await;
    // Whether the handler had to wait (it then runs in a task of its own, woken by an event
    // that may have woken other answers too: `Connection::send_woken`).
    let mut waited = false;
    let mut responding = std::pin::pin!(respond(processor, conn, request));
    let responded = std::future::poll_fn(|cx| {
        let poll = responding.as_mut().poll(cx);
        waited |= poll.is_pending();
        poll
    })
    .await;
    let Some((code, response)) = responded else {
        return;
    };
    let sent = if waited {
        conn.send_woken(response).await
    } else {
        conn.send(response).await
    };
    if let Err(e) = sent {
        tracing::debug!("response to request {} not sent: {}", code, e);
    }
}

/// The response Java would send to `request` (with its code), `None` for no answer (oneway
/// requests, handlers that answer nothing).
pub async fn respond<P: RequestProcessor>(
    processor: &P,
    conn: &Arc<Connection>,
    request: RemotingCommand,
) -> Option<(i32, RemotingCommand)> {
    let code = request.code;
    let oneway = request.is_oneway();
    let template = RemotingCommand::response_to(&request, response::SUCCESS);
    let response = match processor.process(conn, request).await {
        Ok(Some(response)) => response,
        Ok(None) => return None,
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
        return None;
    }
    // Whatever the handler built, the answer must pair with the request.
    Some((
        code,
        RemotingCommand {
            opaque: template.opaque,
            flag: response.flag | template.flag,
            serialize_type: template.serialize_type,
            ..response
        },
    ))
}
