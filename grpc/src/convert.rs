//! Pure conversions between `apache.rocketmq.v2` messages and the broker's message model, with
//! the 5.x proxy's checks and status codes (5.3.3 `SendMessageActivity.buildMessage`,
//! `GrpcValidator`, `ResponseBuilder`, `GrpcConverter.buildMessage`).
//!
//! What a 5.x send becomes (the proxy's `buildMessageProperty`): user properties as given (at
//! most `userPropertyMaxNum` = 128, none of the reserved names, no control characters, with
//! tag and keys at most `maxUserPropertySize` = 16 KiB in all), `TAGS`, `KEYS` (joined by a
//! space), `UNIQ_KEY` = the client's message id (required: ILLEGAL_MESSAGE_ID), `TRAN_MSG=true`
//! and `CHECK_IMMUNITY_TIME_IN_SECONDS` for a transactional message (at most
//! `maxTransactionRecoverySecond` = 3600: BAD_REQUEST), `TIMER_DELIVER_MS` for a delivery
//! timestamp (at most `maxDelayTimeMills` = 1 day ahead: ILLEGAL_DELIVERY_TIME),
//! `RECONSUME_TIME`, `PGROUP` = the topic (the producer group of gRPC transactions),
//! `__SHARDINGKEY` = the message group (under `maxMessageGroupSize` = 64 bytes),
//! `TRACE_CONTEXT`, `__BORNHOST` (the client's or the peer's address) and `BORN_TIMESTAMP`.
//! The body must not be empty (MESSAGE_BODY_EMPTY) nor exceed `maxMessageSize`
//! (MESSAGE_BODY_TOO_LARGE). GZIP encoding sets the compressed sysflag, TRANSACTION the
//! prepared one.
//!
//! The way back, a stored message as a 5.x client receives it, is [`crate::deliver`] (re-exported
//! here). Nothing here panics on any input: the fuzz target `grpc_convert` checks that.

use std::collections::BTreeMap;

use bytes::Bytes;
use remoting_codec::message::message_const::*;
use remoting_codec::message::sysflag::message_sys_flag::{
    COMPRESSED_FLAG, TRANSACTION_PREPARED_TYPE,
};
use remoting_codec::message::MessageProperties;

pub use crate::deliver::{message_type_of, to_proto_message};
use crate::v2::{self, Code, Encoding, MessageType};

/// A request the proxy refuses: its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: Code,
    pub message: String,
}

impl Invalid {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> v2::Status {
        status(self.code, &self.message)
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str_name(), self.message)
    }
}

/// `ResponseBuilder.buildStatus(code, message)`.
pub fn status(code: Code, message: &str) -> v2::Status {
    v2::Status {
        code: code as i32,
        message: message.to_owned(),
    }
}

/// OK with the code's name as its message, as the proxy answers.
pub fn ok() -> v2::Status {
    status(Code::Ok, Code::Ok.as_str_name())
}

/// `ResponseBuilder.buildCode`: the few remoting codes the proxy maps; any other is
/// INTERNAL_SERVER_ERROR.
pub fn code_of_remoting(response_code: i32) -> Code {
    match response_code {
        0 => Code::Ok,                     // SUCCESS
        2 => Code::TooManyRequests,        // SYSTEM_BUSY
        3 => Code::NotImplemented,         // REQUEST_CODE_NOT_SUPPORTED
        26 => Code::ConsumerGroupNotFound, // SUBSCRIPTION_GROUP_NOT_EXIST
        10_002 => Code::ProxyTimeout,      // ClientErrorCode.ACCESS_BROKER_TIMEOUT
        _ => Code::InternalServerError,
    }
}

/// `ResponseBuilder.buildStatus(int, remark)`: the remark, or the number when there is none.
pub fn status_of_remoting(response_code: i32, remark: Option<&str>) -> v2::Status {
    let message = remark
        .map(str::to_owned)
        .unwrap_or_else(|| response_code.to_string());
    v2::Status {
        code: code_of_remoting(response_code) as i32,
        message,
    }
}

/// The proxy's limits on a send (`ProxyConfig` keys and defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// `maxMessageSize`: largest body; ≤ 0 means no limit.
    pub max_message_size: i64,
    /// `enableMessageBodyEmptyCheck`.
    pub body_empty_check: bool,
    /// `userPropertyMaxNum`.
    pub user_property_max_num: usize,
    /// `maxUserPropertySize` (bytes of user property keys and values, tag and keys).
    pub max_user_property_size: usize,
    /// `maxMessageGroupSize`: a group must be shorter (bytes); ≤ 0 means no limit.
    pub max_message_group_size: i64,
    /// `maxDelayTimeMills`: how far ahead a delivery timestamp may be; ≤ 0 means no limit.
    pub max_delay_time_ms: i64,
    /// `maxTransactionRecoverySecond`; ≤ 0 means no limit.
    pub max_transaction_recovery_second: i64,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            max_message_size: 4 * 1024 * 1024,
            body_empty_check: true,
            user_property_max_num: 128,
            max_user_property_size: 16 * 1024,
            max_message_group_size: 64,
            max_delay_time_ms: 24 * 3600 * 1000,
            max_transaction_recovery_second: 3600,
        }
    }
}

/// One message of a SendMessageRequest, ready for the broker's send path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub topic: String,
    pub body: Bytes,
    pub properties: MessageProperties,
    pub sys_flag: i32,
    /// The born timestamp the client gave (ms), else `now_ms`.
    pub born_timestamp: i64,
    pub message_group: Option<String>,
}

/// Java's `CharMatcher.javaIsoControl()` over UTF-16 units: U+0000–U+001F and U+007F–U+009F.
pub fn contains_control_character(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c as u32, 0x00..=0x1f | 0x7f..=0x9f))
}

/// Java's `StringUtils.isBlank` for a non-empty string: only whitespace.
fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// `GrpcValidator.validateTag`.
pub fn validate_tag(tag: &str) -> Result<(), Invalid> {
    if tag.is_empty() {
        return Ok(());
    }
    if is_blank(tag) {
        return Err(Invalid::new(
            Code::IllegalMessageTag,
            "tag cannot be the char sequence of whitespace",
        ));
    }
    if tag.contains('|') {
        return Err(Invalid::new(
            Code::IllegalMessageTag,
            "tag cannot contain '|'",
        ));
    }
    if contains_control_character(tag) {
        return Err(Invalid::new(
            Code::IllegalMessageTag,
            "tag cannot contain control character",
        ));
    }
    Ok(())
}

fn validate_key(key: &str) -> Result<(), Invalid> {
    if key.is_empty() {
        return Ok(());
    }
    if is_blank(key) {
        return Err(Invalid::new(
            Code::IllegalMessageKey,
            "key cannot be the char sequence of whitespace",
        ));
    }
    if contains_control_character(key) {
        return Err(Invalid::new(
            Code::IllegalMessageKey,
            "key cannot contain control character",
        ));
    }
    Ok(())
}

fn validate_message_group(group: &str, limits: &SendLimits) -> Result<(), Invalid> {
    if is_blank(group) {
        return Err(Invalid::new(
            Code::IllegalMessageGroup,
            "message group cannot be the char sequence of whitespace",
        ));
    }
    if limits.max_message_group_size > 0 {
        if group.len() as i64 >= limits.max_message_group_size {
            return Err(Invalid::new(
                Code::IllegalMessageGroup,
                format!(
                    "message group exceed the max size {}",
                    limits.max_message_group_size
                ),
            ));
        }
        if contains_control_character(group) {
            return Err(Invalid::new(
                Code::IllegalMessageGroup,
                "message group cannot contain control character",
            ));
        }
    }
    Ok(())
}

/// `Timestamps.toMillis`, saturating; `None` for a timestamp protobuf calls invalid.
pub fn timestamp_millis(ts: &prost_types::Timestamp) -> Option<i64> {
    // Timestamps.isValid: seconds within 0001-01-01 .. 9999-12-31, nanos within a second.
    const MIN: i64 = -62_135_596_800;
    const MAX: i64 = 253_402_300_799;
    if !(MIN..=MAX).contains(&ts.seconds) || !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    Some(ts.seconds * 1000 + i64::from(ts.nanos) / 1_000_000)
}

/// A protobuf timestamp of `ms` since the epoch.
pub fn timestamp_of_millis(ms: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// `Durations.toMillis`, saturating.
pub fn duration_millis(d: &prost_types::Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos) / 1_000_000)
}

/// A protobuf duration of `ms`.
pub fn duration_of_millis(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// `SendMessageActivity.buildMessage` for one message whose topic the caller validated:
/// `remote_addr` is the peer (`host:port`) and `now_ms` the clock.
pub fn build_message(
    message: &v2::Message,
    limits: &SendLimits,
    remote_addr: &str,
    now_ms: i64,
) -> Result<OutgoingMessage, Invalid> {
    let topic = message
        .topic
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let body = &message.body;
    if limits.body_empty_check && body.is_empty() {
        return Err(Invalid::new(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if limits.max_message_size > 0 && body.len() as i64 > limits.max_message_size {
        return Err(Invalid::new(
            Code::MessageBodyTooLarge,
            format!(
                "message body cannot exceed the max {}",
                limits.max_message_size
            ),
        ));
    }
    let sys = message.system_properties.clone().unwrap_or_default();
    let mut props = MessageProperties::new();
    // User properties, in key order (the map is unordered on the wire).
    if message.user_properties.len() > limits.user_property_max_num {
        return Err(Invalid::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "too many user properties, max is {}",
                limits.user_property_max_num
            ),
        ));
    }
    let user: BTreeMap<&String, &String> = message.user_properties.iter().collect();
    let mut user_size = 0usize;
    for (k, v) in user {
        if RESERVED_KEYS.contains(&k.as_str()) {
            return Err(Invalid::new(
                Code::IllegalMessagePropertyKey,
                format!("property is used by system: {k}"),
            ));
        }
        if contains_control_character(k) {
            return Err(Invalid::new(
                Code::IllegalMessagePropertyKey,
                "the key of property cannot contain control character",
            ));
        }
        if contains_control_character(v) {
            return Err(Invalid::new(
                Code::IllegalMessagePropertyKey,
                "the value of property cannot contain control character",
            ));
        }
        // The stored property string cannot carry its own separators, nor an empty name
        // (the 5.x clients refuse blank names themselves).
        if k.is_empty() || k.contains(['\u{1}', '\u{2}']) || v.contains(['\u{1}', '\u{2}']) {
            return Err(Invalid::new(
                Code::IllegalMessagePropertyKey,
                "the key of property cannot contain control character",
            ));
        }
        user_size += k.len() + v.len();
        // An empty value does not survive the stored property string (Java's
        // `string2messageProperties` skips it): leave it out here already.
        if !v.is_empty() {
            props.insert(k.as_str(), v.as_str());
        }
    }
    let tag = sys.tag.clone().unwrap_or_default();
    validate_tag(&tag)?;
    user_size += tag.len();
    if !tag.is_empty() {
        props.insert(PROPERTY_TAGS, tag);
    }
    for key in &sys.keys {
        validate_key(key)?;
        user_size += key.len();
    }
    let keys = sys.keys.join(KEY_SEPARATOR);
    if !keys.is_empty() {
        props.insert(PROPERTY_KEYS, keys);
    }
    if user_size > limits.max_user_property_size {
        return Err(Invalid::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "the total size of user property is too large, max is {}",
                limits.max_user_property_size
            ),
        ));
    }
    if is_blank(&sys.message_id) {
        return Err(Invalid::new(
            Code::IllegalMessageId,
            "message id cannot be empty",
        ));
    }
    if contains_control_character(&sys.message_id) {
        return Err(Invalid::new(
            Code::IllegalMessageId,
            "message id cannot contain control character",
        ));
    }
    props.insert(
        PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        sys.message_id.as_str(),
    );
    let message_type = MessageType::try_from(sys.message_type).unwrap_or_default();
    let mut sys_flag = 0;
    if sys.body_encoding == Encoding::Gzip as i32 {
        sys_flag |= COMPRESSED_FLAG;
    }
    if message_type == MessageType::Transaction {
        sys_flag |= TRANSACTION_PREPARED_TYPE;
        props.insert(PROPERTY_TRANSACTION_PREPARED, "true");
        if let Some(d) = &sys.orphaned_transaction_recovery_duration {
            let seconds = d.seconds;
            if limits.max_transaction_recovery_second > 0
                && seconds > limits.max_transaction_recovery_second
            {
                return Err(Invalid::new(
                    Code::BadRequest,
                    format!(
                        "the max transaction recovery time of message is too large, max is {}",
                        limits.max_transaction_recovery_second
                    ),
                ));
            }
            props.insert(PROPERTY_CHECK_IMMUNITY_TIME_IN_SECONDS, seconds.to_string());
        }
    }
    if let Some(ts) = &sys.delivery_timestamp {
        let deliver_ms = timestamp_millis(ts).ok_or_else(|| {
            Invalid::new(
                Code::IllegalDeliveryTime,
                "the delivery timestamp is invalid",
            )
        })?;
        if limits.max_delay_time_ms > 0
            && deliver_ms.saturating_sub(now_ms) > limits.max_delay_time_ms
        {
            return Err(Invalid::new(
                Code::IllegalDeliveryTime,
                format!(
                    "the max delay time of message is too large, max is {}",
                    limits.max_delay_time_ms
                ),
            ));
        }
        props.insert(PROPERTY_TIMER_DELIVER_MS, deliver_ms.to_string());
    }
    props.insert(
        PROPERTY_RECONSUME_TIME,
        sys.delivery_attempt.unwrap_or(0).to_string(),
    );
    props.insert(PROPERTY_PRODUCER_GROUP, topic.as_str());
    let message_group = sys.message_group.clone().filter(|g| !g.is_empty());
    if let Some(group) = &message_group {
        validate_message_group(group, limits)?;
        props.insert(PROPERTY_SHARDING_KEY, group.as_str());
    }
    if let Some(trace) = sys.trace_context.as_deref().filter(|t| !t.is_empty()) {
        if !contains_control_character(trace) {
            props.insert(PROPERTY_TRACE_CONTEXT, trace);
        }
    }
    let born_host = if is_blank(&sys.born_host) || contains_control_character(&sys.born_host) {
        remote_addr
    } else {
        sys.born_host.as_str()
    };
    if !born_host.is_empty() {
        props.insert(PROPERTY_BORN_HOST, born_host);
    }
    let born_timestamp = sys
        .born_timestamp
        .as_ref()
        .and_then(timestamp_millis)
        .unwrap_or(now_ms);
    if sys
        .born_timestamp
        .as_ref()
        .and_then(timestamp_millis)
        .is_some()
    {
        props.insert(PROPERTY_BORN_TIMESTAMP, born_timestamp.to_string());
    }
    Ok(OutgoingMessage {
        topic,
        body: body.clone(),
        properties: props,
        sys_flag,
        born_timestamp,
        message_group,
    })
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
