//! RocketMQ 5.x's gRPC protocol, `apache.rocketmq.v2`: the messages and the `MessagingService`
//! server/client code generated at build time (tonic + prost, parsed by protox) from our own
//! .proto files in `proto/`, plus [`convert`], the pure conversions between those messages and
//! the broker's message model (properties, sysflag, ids) with the proxy's validation codes.
//!
//! The broker serves the service (`broker/src/grpc/`); this crate does no I/O, so the fuzz target
//! `grpc_convert` drives [`convert`] directly.

#[allow(clippy::all, missing_docs)]
pub mod v2 {
    include!(concat!(env!("OUT_DIR"), "/apache.rocketmq.v2.rs"));
}

pub mod convert;
pub mod deliver;
