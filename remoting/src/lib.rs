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
//! A frame that cannot be decoded closes only its own connection.

mod client;
mod connection;
mod processor;
mod server;

pub use client::RemotingClient;
pub use connection::{Connection, RemotingError};
pub use processor::{ProcessError, RequestProcessor};
pub use server::{respond, RemotingServer};
