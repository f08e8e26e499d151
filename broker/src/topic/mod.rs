//! Topics: the table (`TopicConfigManager`) and the name rules (`TopicValidator`).
mod manager;
pub mod validator;

pub use manager::{CreateOutcome, TopicConfigManager};
