//! The gRPC port's connections: TLS as on the remoting ports (`tls.server.mode`, the same
//! `tls.*` settings, Java's first-byte handshake detection: a TLS ClientHello gets a TLS session,
//! anything else stays plain unless the mode is `enforcing`), with ALPN `h2` offered, as gRPC
//! clients require. Handshakes run on their own tasks, so a slow client delays nobody.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use remoting::tls::{Accepted, TlsServer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// A client connection, plain or TLS.
pub enum GrpcIo {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Connected for GrpcIo {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            GrpcIo::Plain(s) => s.connect_info(),
            GrpcIo::Tls(s) => s.get_ref().0.connect_info(),
        }
    }
}

impl AsyncRead for GrpcIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for GrpcIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_flush(cx),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            GrpcIo::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            GrpcIo::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            GrpcIo::Plain(s) => s.is_write_vectored(),
            GrpcIo::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// Accepts connections until the receiver is dropped; each handshake on its own task.
pub fn incoming(listener: TcpListener, tls: TlsServer) -> mpsc::Receiver<std::io::Result<GrpcIo>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (stream, peer): (TcpStream, SocketAddr) = tokio::select! {
                _ = tx.closed() => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("gRPC accept failed: {e}");
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let (tx, tls) = (tx.clone(), tls.clone());
            tokio::spawn(async move {
                match tls.accept(stream, peer).await {
                    Ok(Accepted::Plain(s)) => {
                        let _ = tx.send(Ok(GrpcIo::Plain(s))).await;
                    }
                    Ok(Accepted::Tls(s)) => {
                        let _ = tx.send(Ok(GrpcIo::Tls(s))).await;
                    }
                    Err(e) => tracing::warn!("gRPC connection refused: {e}"),
                }
            });
        }
    });
    rx
}
