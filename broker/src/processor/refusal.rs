//! [`Refusal`]: the one shape of "no normal answer" every handler returns — Java's response
//! code and remark.
//!
//! Java's processors build such answers in place (`response.setCode(...)`,
//! `response.setRemark(...)`), or throw, which `NettyRemotingAbstract` answers with
//! SYSTEM_ERROR and the exception text. Both become a `Refusal` here, and the dispatcher turns
//! it into the response (`opaque`, flag and serialization of the request). A handler whose
//! refusals carry header fields (a send's `MSG_REGION`, a pull's empty `extFields`) builds that
//! response itself.

use remoting_codec::code::response;
use remoting_codec::{HeaderError, RemotingCommand};

use crate::topic::validator::TopicError;

/// Java's response code and remark for a request the broker does not serve normally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    /// `None`: Java sets no remark (the frame has no `remark` key).
    pub remark: Option<String>,
}

impl Refusal {
    pub fn new(code: i32, remark: impl Into<String>) -> Self {
        Self {
            code,
            remark: Some(remark.into()),
        }
    }

    /// A code without remark (e.g. a slave's SLAVE_NOT_AVAILABLE).
    pub fn code_only(code: i32) -> Self {
        Self { code, remark: None }
    }

    /// SYSTEM_ERROR with `remark`: what Java answers for an exception in a processor.
    pub fn system_error(remark: impl Into<String>) -> Self {
        Self::new(response::SYSTEM_ERROR, remark)
    }

    /// REQUEST_CODE_NOT_SUPPORTED, remark `" request type N not supported"` (leading space
    /// included, as Java's `NettyRemotingAbstract` writes it).
    /// The answer to a put refused for a 5.x timer message (`handlePutMessageResult` of the
    /// send and end-transaction processors, same texts); None for other statuses.
    pub fn timer(
        status: store::PutMessageStatus,
        config: &store::MessageStoreConfig,
    ) -> Option<Self> {
        use store::PutMessageStatus as S;
        let congest = config.timer_congest_num_each_slot;
        Some(match status {
            S::WheelTimerMsgIllegal => Self::new(
                response::MESSAGE_ILLEGAL,
                format!(
                    "timer message illegal, the delay time should not be bigger than the max delay {}ms; or if set del msg, the delay time should be bigger than the current time",
                    config.timer_max_delay_sec * 1000
                ),
            ),
            S::WheelTimerFlowControl => Self::new(
                response::SYSTEM_ERROR,
                format!(
                    "timer message is under flow control, max num limit is {} or the current value is greater than {} and less than {}, trigger random flow control",
                    congest * 2,
                    congest,
                    congest * 2
                ),
            ),
            S::WheelTimerNotEnable => Self::new(
                response::SYSTEM_ERROR,
                format!(
                    "accurate timer message is not enabled, timerWheelEnable is {}",
                    config.timer_wheel_enable
                ),
            ),
            _ => return None,
        })
    }

    pub fn not_supported(request_code: i32) -> Self {
        Self::new(
            response::REQUEST_CODE_NOT_SUPPORTED,
            format!(" request type {request_code} not supported"),
        )
    }

    /// The response to `request` that carries this refusal.
    pub fn response_to(&self, request: &RemotingCommand) -> RemotingCommand {
        let mut r = RemotingCommand::response_to(request, self.code);
        r.remark = self.remark.clone();
        r
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "code {}", self.code)?;
        if let Some(remark) = &self.remark {
            write!(f, ": {remark}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

/// A header field missing or unparsable: Java's `decodeCommandCustomHeader` throws
/// `RemotingCommandException`, answered SYSTEM_ERROR with its text.
impl From<HeaderError> for Refusal {
    fn from(e: HeaderError) -> Self {
        Refusal::system_error(e.to_string())
    }
}

/// A rejected topic name.
impl From<TopicError> for Refusal {
    fn from(e: TopicError) -> Self {
        Refusal::new(e.response_code(), e.to_string())
    }
}

/// A body that could not be encoded (never expected: our own types).
impl From<remoting_codec::fastjson::JsonError> for Refusal {
    fn from(e: remoting_codec::fastjson::JsonError) -> Self {
        Refusal::system_error(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts of 5.3.3's `SendMessageProcessor.handlePutMessageResult` for the timer
    /// statuses, with the store's settings in them.
    #[test]
    fn timer_refusals_are_javas() {
        let config = store::MessageStoreConfig {
            timer_congest_num_each_slot: 100,
            timer_max_delay_sec: 60,
            ..store::MessageStoreConfig::default()
        };
        let r = Refusal::timer(store::PutMessageStatus::WheelTimerFlowControl, &config).unwrap();
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert_eq!(
            r.remark.as_deref(),
            Some("timer message is under flow control, max num limit is 200 or the current value is greater than 100 and less than 200, trigger random flow control")
        );
        let r = Refusal::timer(store::PutMessageStatus::WheelTimerMsgIllegal, &config).unwrap();
        assert_eq!(r.code, response::MESSAGE_ILLEGAL);
        assert!(r.remark.unwrap().contains("the max delay 60000ms;"));
        assert!(Refusal::timer(store::PutMessageStatus::PutOk, &config).is_none());
    }
}
