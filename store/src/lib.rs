//! The message store (commitlog, consumequeue, index, checkpoint, config files). Filled by the store issue.

pub mod checkpoint;
pub mod config_file;
pub mod index;
pub mod lock;
