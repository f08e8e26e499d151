//! The network runtime of the name server and the broker, on top of [`remoting_codec`].
//!
//! - [`Connection`]: one socket as a reader task (frames in) and a writer task (frames out
//!   from a channel, batched), with requests of our own matched to their responses by
//!   `opaque`.
//! - [`RemotingServer`] + [`RequestProcessor`]: accept connections, run each request on its
//!   connection's reader task (moved to a task of its own only when it has to wait), send back what the processor returns, or Java's answer for an unknown code
//!   (REQUEST_CODE_NOT_SUPPORTED) or a failed handler (SYSTEM_ERROR); tell the processor when
//!   a connection closes.
//! - [`RemotingClient`]: connect, invoke (wait for the answer) or invoke oneway.
//!
//! - [`tls`]: TLS on the ports (`tls.server.mode` disabled / permissive / enforcing) and on
//!   our own connections (`tls.enable`), as Java's `TlsSystemConfig`.
//! - [`write_budget`]: the bytes queued for a peer; a server's connection stops reading
//!   above Netty's high water mark (Java 5.x's back-pressure on a peer that does not read).
//!
//! A frame that cannot be decoded closes only its own connection.

mod client;
mod connection;
mod frame_reader;
mod processor;
mod server;
pub mod tls;
pub mod write_budget;

pub use client::RemotingClient;
pub use connection::{Connection, PeerLimits, RemotingError};
pub use processor::{ProcessError, RequestProcessor};
pub use server::{respond, RemotingServer};
