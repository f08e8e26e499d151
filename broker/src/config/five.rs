//! 5.x `BrokerConfig` switches of the 5.x client codes this broker serves, read from broker.conf
//! like the 4.9.8 keys but kept out of GET_BROKER_CONFIG's listing (4.9.8 has none of them, and
//! the listing is 4.9.8's), as the metrics keys are:
//!
//! - `litePullMessageEnable` (5.3.3 default true): LITE_PULL_MESSAGE is refused NO_PERMISSION
//!   when false ([`crate::processor`]'s pull family);
//! - `recallMessageEnable` (default false) and `allowRecallWhenBrokerNotWriteable` (default
//!   true): RECALL_MESSAGE (370).
//!
//! Read once at start (5.3.3 reads them live; UPDATE_BROKER_CONFIG does not list them here).

/// The keys [`FiveConfig::set`] knows.
pub const FIVE_KEYS: &[&str] = &[
    "litePullMessageEnable",
    "recallMessageEnable",
    "allowRecallWhenBrokerNotWriteable",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiveConfig {
    pub lite_pull_message_enable: bool,
    pub recall_message_enable: bool,
    pub allow_recall_when_broker_not_writeable: bool,
}

impl Default for FiveConfig {
    fn default() -> Self {
        FiveConfig {
            lite_pull_message_enable: true,
            recall_message_enable: false,
            allow_recall_when_broker_not_writeable: true,
        }
    }
}

impl FiveConfig {
    /// Applies one broker.conf pair: `Ok(false)` for another key; a boolean is read as Java's
    /// `Boolean.parseBoolean` (anything but `true`, in any case, is false).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let on = value.trim().eq_ignore_ascii_case("true");
        match key {
            "litePullMessageEnable" => self.lite_pull_message_enable = on,
            "recallMessageEnable" => self.recall_message_enable = on,
            "allowRecallWhenBrokerNotWriteable" => self.allow_recall_when_broker_not_writeable = on,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_keys_as_5_3_3() {
        let mut c = FiveConfig::default();
        assert!(c.lite_pull_message_enable && !c.recall_message_enable);
        assert_eq!(c.set("recallMessageEnable", " TRUE "), Ok(true));
        assert_eq!(c.set("litePullMessageEnable", "no"), Ok(true));
        assert_eq!(c.set("listenPort", "1"), Ok(false));
        assert!(c.recall_message_enable && !c.lite_pull_message_enable);
        for key in FIVE_KEYS {
            assert_eq!(FiveConfig::default().set(key, "true"), Ok(true));
        }
    }
}
