//! Typed headers and JSON bodies, one module per request family (the split the broker's and the
//! name server's handlers follow).
//!
//! Header structs are declared with [`crate::remoting_header!`] using Java's field names; body
//! structs derive serde with Java's property names and are read and written through
//! [`crate::fastjson`].

pub mod auth;
pub mod broker_admin;
pub mod callback;
pub mod client;
pub mod common;
pub mod config_files;
pub mod consumer_admin;
pub mod group_admin;
pub mod lock;
pub mod namesrv;
pub mod offset;
pub mod pop;
pub mod properties_text;
pub mod pull;
pub mod query;
pub mod register_broker;
pub mod route;
pub mod send;
pub mod topic_admin;
pub mod transaction;

pub use common::{
    DataVersion, KvTable, MessageQueue, SubscriptionData, TopicConfig, TopicConfigSerializeWrapper,
    TopicFilterType,
};

/// Permission bits of topics and brokers (`PermName`).
pub mod perm {
    pub const PRIORITY: i32 = 0x8;
    pub const READ: i32 = 0x4;
    pub const WRITE: i32 = 0x2;
    pub const INHERIT: i32 = 0x1;

    pub fn is_readable(perm: i32) -> bool {
        perm & READ == READ
    }

    pub fn is_writeable(perm: i32) -> bool {
        perm & WRITE == WRITE
    }

    pub fn is_inherited(perm: i32) -> bool {
        perm & INHERIT == INHERIT
    }

    /// Java's `PermName.perm2String`: e.g. `RW-`, `R--`.
    pub fn to_string(perm: i32) -> String {
        let mut s = String::with_capacity(3);
        s.push(if is_readable(perm) { 'R' } else { '-' });
        s.push(if is_writeable(perm) { 'W' } else { '-' });
        s.push(if is_inherited(perm) { 'X' } else { '-' });
        s
    }
}
