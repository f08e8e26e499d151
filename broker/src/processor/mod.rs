//! Request handlers, one module per family of request codes.

pub mod client;
pub mod group_admin;
pub mod lock;
pub mod offset;
pub mod topic_admin;
