//! The connecting side: a connection to one server with synchronous and oneway invocation.
//! The broker uses it to register with name servers; tests use it to talk to our servers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use remoting_codec::{RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio::net::TcpStream;

use crate::connection::{Connection, PeerLimits, RemotingError};

/// A client connection. Requests the server sends on it are logged and dropped (neither the
/// name server nor the broker calls back into a broker-to-namesrv link).
#[derive(Clone, Debug)]
pub struct RemotingClient {
    conn: Arc<Connection>,
}

impl RemotingClient {
    pub async fn connect(addr: SocketAddr) -> Result<Self, RemotingError> {
        let stream = TcpStream::connect(addr).await?;
        let conn = Connection::spawn(stream, DEFAULT_MAX_FRAME_LENGTH, |conn, request| {
            tracing::debug!("{:?}: unexpected request {} ignored", conn, request.code);
        });
        Ok(Self { conn })
    }

    /// A TLS connection (`tls.enable`): the handshake with `connector`, then frames over it.
    pub async fn connect_tls(
        addr: SocketAddr,
        connector: &tokio_rustls::TlsConnector,
    ) -> Result<Self, RemotingError> {
        let stream = TcpStream::connect(addr).await?;
        let _ = stream.set_nodelay(true);
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let tls = connector.connect(name, stream).await?;
        let conn = Connection::spawn_io(
            tls,
            addr,
            DEFAULT_MAX_FRAME_LENGTH,
            PeerLimits::default(),
            |conn, request| {
                tracing::debug!("{:?}: unexpected request {} ignored", conn, request.code);
            },
        );
        Ok(Self { conn })
    }

    /// Sends `request` and waits for its response.
    pub async fn invoke(
        &self,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        self.conn.invoke(request, timeout).await
    }

    /// Sends `request` flagged oneway.
    pub async fn invoke_oneway(&self, request: RemotingCommand) -> Result<(), RemotingError> {
        self.conn.invoke_oneway(request).await
    }

    pub fn connection(&self) -> &Arc<Connection> {
        &self.conn
    }

    pub fn close(&self) {
        self.conn.close();
    }
}
