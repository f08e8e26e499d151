//! Java's `TopicValidator`: the names a broker accepts for topics and groups, and the system
//! topics.
//!
//! The answers matter to clients: a send or UPDATE_AND_CREATE_TOPIC with a bad name gets
//! SYSTEM_ERROR (1) with Java's remark, a send to a topic clients may not write gets
//! NO_PERMISSION (16). The set of system topics grows at start with names that depend on the
//! configuration (the cluster and broker names, the trace and reply topics); that part lives in
//! [`super::TopicConfigManager::is_system_topic`].

use remoting_codec::code::response;

pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
pub const RMQ_SYS_SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
pub const RMQ_SYS_BENCHMARK_TOPIC: &str = "BenchmarkTest";
pub const RMQ_SYS_TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
pub const RMQ_SYS_TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
pub const RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
pub const RMQ_SYS_SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
pub const RMQ_SYS_OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";
/// `MixAll.REPLY_TOPIC_POSTFIX`: the reply topic is `<cluster>_REPLY_TOPIC`.
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
pub const TOPIC_MAX_LENGTH: usize = 127;

/// The fixed part of Java's system topic set.
pub const SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_BENCHMARK_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRACE_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// Topics no client may send to (the broker writes them itself).
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// A rejected topic name, with Java's response code and remark.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("The specified topic is blank.")]
    Blank,
    #[error("The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$")]
    IllegalCharacters,
    #[error("The specified topic is longer than topic max length.")]
    TooLong,
    #[error("The topic[{0}] is conflict with system topic.")]
    SystemTopic(String),
    #[error("Sending message to topic[{0}] is forbidden.")]
    NotAllowedSend(String),
}

impl TopicError {
    /// The response code Java answers with.
    pub fn response_code(&self) -> i32 {
        match self {
            TopicError::NotAllowedSend(_) => response::NO_PERMISSION,
            _ => response::SYSTEM_ERROR,
        }
    }
}

/// `isTopicOrGroupIllegal`: a character outside `[%|a-zA-Z0-9_-]`.
pub fn is_topic_or_group_illegal(name: &str) -> bool {
    !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'))
}

/// `validateTopic`, checks in Java's order: blank (whitespace only counts as blank), characters,
/// then length.
pub fn validate_topic(topic: &str) -> Result<(), TopicError> {
    if topic.trim().is_empty() {
        return Err(TopicError::Blank);
    }
    if is_topic_or_group_illegal(topic) {
        return Err(TopicError::IllegalCharacters);
    }
    if topic.len() > TOPIC_MAX_LENGTH {
        return Err(TopicError::TooLong);
    }
    Ok(())
}

/// `isNotAllowedSendTopic` with its NO_PERMISSION answer.
pub fn check_send_allowed(topic: &str) -> Result<(), TopicError> {
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(TopicError::NotAllowedSend(topic.to_owned()));
    }
    Ok(())
}

/// `MixAll.getRetryTopic`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// `MixAll.getDLQTopic`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// 5.x `TopicValidator.isSystemTopic`: one of [`SYSTEM_TOPICS`] or under `rmq_sys_`.
pub fn is_system_topic_name(topic: &str) -> bool {
    SYSTEM_TOPICS.contains(&topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
}

/// `MixAll.isSysConsumerGroup`: the `CID_RMQ_SYS_` prefix.
pub fn is_system_group_name(group: &str) -> bool {
    group.starts_with("CID_RMQ_SYS_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_java_rules_and_order() {
        assert_eq!(validate_topic("  "), Err(TopicError::Blank));
        assert_eq!(validate_topic(""), Err(TopicError::Blank));
        assert_eq!(validate_topic("a b"), Err(TopicError::IllegalCharacters));
        assert_eq!(validate_topic("tópico"), Err(TopicError::IllegalCharacters));
        assert_eq!(validate_topic("a@b"), Err(TopicError::IllegalCharacters));
        assert!(validate_topic("%RETRY%g|x_y-Z09").is_ok());
        assert!(validate_topic(&"t".repeat(127)).is_ok());
        assert_eq!(validate_topic(&"t".repeat(128)), Err(TopicError::TooLong));
        // Characters are checked before length.
        assert_eq!(
            validate_topic(&"é".repeat(200)),
            Err(TopicError::IllegalCharacters)
        );
        assert_eq!(
            TopicError::IllegalCharacters.to_string(),
            "The specified topic contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        );
        assert_eq!(TopicError::TooLong.response_code(), 1);
    }

    #[test]
    fn send_forbidden_topics() {
        for t in NOT_ALLOWED_SEND_TOPICS {
            let e = check_send_allowed(t).unwrap_err();
            assert_eq!(e.response_code(), 16);
            assert_eq!(
                e.to_string(),
                format!("Sending message to topic[{t}] is forbidden.")
            );
        }
        assert!(check_send_allowed(AUTO_CREATE_TOPIC_KEY_TOPIC).is_ok());
        assert!(check_send_allowed(RMQ_SYS_TRANS_HALF_TOPIC).is_err());
        assert_eq!(retry_topic("g"), "%RETRY%g");
        assert_eq!(dlq_topic("g"), "%DLQ%g");
    }
}
