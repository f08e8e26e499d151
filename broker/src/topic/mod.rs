//! Topics: the table (`TopicConfigManager`) and the name rules (`TopicValidator`).
mod manager;
pub mod validator;

pub use manager::{CreateOutcome, TopicConfigManager};

/// `MixAll.DLQ_NUMS_PER_GROUP`: a `%DLQ%` topic has one queue.
pub const DLQ_NUMS_PER_GROUP: i32 = 1;

/// `randomQueueId`: any queue of the topic (Java draws a random number; the clock's
/// nanoseconds serve here).
pub fn random_queue_id(write_queue_nums: i32) -> i32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (nanos % write_queue_nums.max(1) as u32) as i32
}
