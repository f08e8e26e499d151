//! The broker's state: configuration and the in-memory managers its request handlers share.
//!
//! Each manager is the Rust counterpart of a Java 4.9.8 broker class and keeps its facts (file
//! shapes, defaults, quirks) while leaving sockets to the server: a client connection is an
//! opaque [`client::ConnectionId`]. Managers lock internally and keep lock scopes short, so a
//! handler holds an `Arc` of each and calls it from any task.
//!
//! | module | Java |
//! |---|---|
//! | [`config`] | `BrokerConfig`, `NettyServerConfig`, `BrokerStartup`'s broker.conf loading |
//! | [`topic`] | `TopicConfigManager`, `TopicValidator` |
//! | [`subscription`] | `SubscriptionGroupManager` |
//! | [`offset`] | `ConsumerOffsetManager` |
//! | [`client`] | `ConsumerManager`, `ConsumerGroupInfo`, `ProducerManager`, `ClientChannelInfo`, `ClientHousekeepingService` |
//! | [`lock`] | `RebalanceLockManager` |
//! | [`consumer_filter`] | `ConsumerFilterManager`, `ConsumerFilterData`, `ExpressionMessageFilter`, `ExpressionForRetryMessageFilter` (consumerFilter.json, the one pull filter) |
//! | [`paths`] | `BrokerPathConfigHelper` |
//! | [`config_file`] | `ConfigManager` (load with `.bak` fallback, whole-file writes) |
//! | [`controller`] | `BrokerController` (state and wiring) |
//! | [`broker2client`] | `Broker2Client`: every request the broker sends to a client, and the open connections |
//! | [`processor`] | the request processors, one module per family |
//! | [`long_polling`] | `PullRequestHoldService` |
//! | [`schedule`] | `ScheduleMessageService` (delayed delivery, delayOffset.json) |
//! | [`transaction`] | `TransactionalMessageServiceImpl`, `TransactionalMessageBridge`, `TransactionalMessageCheckService` |
//! | [`slave`] | `SlaveSynchronize` (a SLAVE's copies of its master's topics, offsets, delay offsets, groups) |
//! | [`namesrv_link`] | `BrokerOuterAPI` (REGISTER/UNREGISTER_BROKER) |
//! | [`grpc`] | the 5.x proxy's gRPC endpoint (`GrpcMessagingApplication` and its activities), served by the broker itself |
//! | [`startup`] | `BrokerController.start/shutdown`: ports, periodic tasks, clean stop |
//! | [`stats`] | `BrokerStatsManager`, `StatsItemSet`, `StatsItem` (per topic/group windows), `BrokerStats` (the day's put/get counts; the store keeps `StoreStatsService`) |
//! | [`stop_signal`] | the stop flag the broker's service threads sleep on (`ServiceThread.waitForRunning`) |

/// The broker's allocator (everything linking the broker library gets it: the binary, its
/// tests and examples). The send path allocates and frees a few dozen small blocks per
/// message (header strings, properties, the record buffer, the response); measured with
/// `scripts/bench-callgrind`, glibc's malloc/free were a third of the path's instructions,
/// mimalloc's thread-local free lists a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod acl;
pub mod broker2client;
pub mod client;
pub mod config;
pub mod config_file;
pub mod consumer_filter;
pub mod controller;
pub mod grpc;
pub mod java_order;
pub mod lock;
pub mod long_polling;
pub mod metrics;
pub mod namesrv_link;
pub mod offset;
pub mod paths;
pub mod pop;
pub mod processor;
pub mod schedule;
pub mod slave;
pub mod startup;
pub mod stats;
pub mod stop_signal;
pub mod subscription;
pub mod topic;
pub mod transaction;

#[cfg(test)]
pub(crate) mod test_util;

/// Milliseconds since the Unix epoch (Java's `System.currentTimeMillis()`), the unit of every
/// timestamp the managers keep and of `DataVersion.timestamp`.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Java's `DataVersion.nextVersion`: counter + 1, timestamp = now.
pub fn next_version(version: &mut remoting_codec::protocol::DataVersion) {
    version.counter += 1;
    version.timestamp = now_millis();
}

/// Java's `DataVersion.equals` (4.9.8: counter and timestamp).
pub fn same_version(
    a: &remoting_codec::protocol::DataVersion,
    b: &remoting_codec::protocol::DataVersion,
) -> bool {
    a.counter == b.counter && a.timestamp == b.timestamp
}
