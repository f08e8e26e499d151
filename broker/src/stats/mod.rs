//! The broker's statistics.
//!
//! - [`manager`]: Java's `BrokerStatsManager` — per topic / group / queue counters with minute,
//!   hour and day windows ([`item`]: `StatsItem`, `StatsItemSet`), read by
//!   VIEW_BROKER_STATS_DATA and by the consume-stats answers' `consumeTps`.
//! - [`day`]: Java's `BrokerStats` — the day's put/get totals of GET_BROKER_RUNTIME_INFO.
//!
//! Neither keeps a clock or a thread: the broker's periodic tasks ([`crate::startup`]) call
//! [`BrokerStatsManager::on_tick`] every 10 s and [`BrokerStats::on_tick`] with the local day.

pub mod day;
pub mod item;
pub mod manager;

pub use day::BrokerStats;
pub use item::{StatsItem, StatsItemSet, StatsSnapshot};
pub use manager::BrokerStatsManager;
