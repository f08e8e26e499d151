//! The gRPC endpoint's broker.conf keys: the 5.x proxy's `ProxyConfig` names where one
//! applies, with its defaults, plus our switch.
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `enableGrpcServer` | false | serve `apache.rocketmq.v2.MessagingService` (ours: Java needs a separate proxy) |
//! | `grpcServerPort` | 8081 | the port (proxy) |
//! | `grpcShutdownTimeSeconds` | 30 | how long a stop waits for open calls (proxy) |
//! | `grpcMaxInboundMessageSize` | 130 MiB | largest request (proxy) |
//! | `enableMessageBodyEmptyCheck` | true | MESSAGE_BODY_EMPTY (proxy) |
//! | `maxUserPropertySize` / `userPropertyMaxNum` | 16 KiB / 128 | MESSAGE_PROPERTIES_TOO_LARGE (proxy) |
//! | `maxMessageGroupSize` | 64 | ILLEGAL_MESSAGE_GROUP (proxy) |
//! | `maxDelayTimeMills` | 1 day | ILLEGAL_DELIVERY_TIME (proxy) |
//! | `maxTransactionRecoverySecond` | 3600 | BAD_REQUEST (proxy) |
//! | `minInvisibleTimeMillsForRecv` / `maxInvisibleTimeMills` | 10 s / 12 h | ILLEGAL_INVISIBLE_TIME of ReceiveMessage, ChangeInvisibleDuration (proxy) |
//! | `defaultInvisibleTimeMills` | 60 s | the invisible time of an `auto_renew` receive (proxy; not renewed here) |
//! | `grpcClientConsumerMinLongPollingTimeoutMillis` / `…Max…` | 5 s / 20 s | ReceiveMessage's long polling (proxy) |
//! | `enableBatchAck` | false | AckMessage as one BATCH_ACK_MESSAGE (proxy) |
//! | `enableTopicMessageTypeCheck` | true | MESSAGE_PROPERTY_CONFLICT_WITH_TYPE against the topic's `message.type` (proxy) |
//! | `grpcProxyRelayRequestTimeoutInSeconds` | 5 | how long an admin request relayed over a client's Telemetry stream waits for its answer (proxy, see [`super::relay`]) |
//!
//! The largest body is the store's `maxMessageSize` (the proxy's key of the same name has the
//! same 4 MiB default).

/// The gRPC keys of a broker.conf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcConfig {
    pub enable: bool,
    pub port: u16,
    pub shutdown_time_seconds: u64,
    pub max_inbound_message_size: usize,
    pub body_empty_check: bool,
    pub max_user_property_size: usize,
    pub user_property_max_num: usize,
    pub max_message_group_size: i64,
    pub max_delay_time_ms: i64,
    pub max_transaction_recovery_second: i64,
    pub topic_message_type_check: bool,
    pub min_invisible_time_for_recv_ms: i64,
    pub max_invisible_time_ms: i64,
    pub default_invisible_time_ms: i64,
    pub min_long_polling_ms: i64,
    pub max_long_polling_ms: i64,
    pub enable_batch_ack: bool,
    pub relay_request_timeout_seconds: u64,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        GrpcConfig {
            enable: false,
            port: 8081,
            shutdown_time_seconds: 30,
            max_inbound_message_size: 130 * 1024 * 1024,
            body_empty_check: true,
            max_user_property_size: 16 * 1024,
            user_property_max_num: 128,
            max_message_group_size: 64,
            max_delay_time_ms: 24 * 3600 * 1000,
            max_transaction_recovery_second: 3600,
            topic_message_type_check: true,
            min_invisible_time_for_recv_ms: 10_000,
            max_invisible_time_ms: 12 * 3600 * 1000,
            default_invisible_time_ms: 60_000,
            min_long_polling_ms: 5000,
            max_long_polling_ms: 20_000,
            enable_batch_ack: false,
            relay_request_timeout_seconds: 5,
        }
    }
}

fn parse<T: std::str::FromStr>(key: &str, v: &str) -> Result<T, String> {
    v.parse().map_err(|_| format!("{key}: cannot parse {v:?}"))
}

impl GrpcConfig {
    /// Applies one broker.conf pair: `Ok(false)` for a key that is not a gRPC key, `Err` with
    /// the reason for a value that does not parse (the default is kept).
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, String> {
        let v = value.trim();
        match key {
            "enableGrpcServer" => self.enable = parse(key, v)?,
            "grpcServerPort" => self.port = parse(key, v)?,
            "grpcShutdownTimeSeconds" => self.shutdown_time_seconds = parse(key, v)?,
            "grpcMaxInboundMessageSize" => self.max_inbound_message_size = parse(key, v)?,
            "enableMessageBodyEmptyCheck" => self.body_empty_check = parse(key, v)?,
            "maxUserPropertySize" => self.max_user_property_size = parse(key, v)?,
            "userPropertyMaxNum" => self.user_property_max_num = parse(key, v)?,
            "maxMessageGroupSize" => self.max_message_group_size = parse(key, v)?,
            "maxDelayTimeMills" => self.max_delay_time_ms = parse(key, v)?,
            "maxTransactionRecoverySecond" => self.max_transaction_recovery_second = parse(key, v)?,
            "enableTopicMessageTypeCheck" => self.topic_message_type_check = parse(key, v)?,
            "minInvisibleTimeMillsForRecv" => self.min_invisible_time_for_recv_ms = parse(key, v)?,
            "maxInvisibleTimeMills" => self.max_invisible_time_ms = parse(key, v)?,
            "defaultInvisibleTimeMills" => self.default_invisible_time_ms = parse(key, v)?,
            "grpcClientConsumerMinLongPollingTimeoutMillis" => {
                self.min_long_polling_ms = parse(key, v)?
            }
            "grpcClientConsumerMaxLongPollingTimeoutMillis" => {
                self.max_long_polling_ms = parse(key, v)?
            }
            "enableBatchAck" => self.enable_batch_ack = parse(key, v)?,
            "grpcProxyRelayRequestTimeoutInSeconds" => {
                self.relay_request_timeout_seconds = parse(key, v)?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The send limits of [`grpc::convert`], with the store's `maxMessageSize`.
    pub fn send_limits(&self, max_message_size: i64) -> grpc::convert::SendLimits {
        grpc::convert::SendLimits {
            max_message_size,
            body_empty_check: self.body_empty_check,
            user_property_max_num: self.user_property_max_num,
            max_user_property_size: self.max_user_property_size,
            max_message_group_size: self.max_message_group_size,
            max_delay_time_ms: self.max_delay_time_ms,
            max_transaction_recovery_second: self.max_transaction_recovery_second,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_unknown_keys_pass() {
        let mut c = GrpcConfig::default();
        assert_eq!(c.set("grpcServerPort", "9081"), Ok(true));
        assert_eq!(c.set("enableGrpcServer", "true"), Ok(true));
        assert_eq!(c.set("listenPort", "1"), Ok(false));
        assert!(c.set("grpcServerPort", "x").is_err());
        assert_eq!((c.port, c.enable), (9081, true));
    }
}
