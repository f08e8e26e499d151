//! `rmq-bench`, a load generator that talks to a RocketMQ broker as the Java client does.
//!
//! - [`client`]: the requests (route lookup and topic creation through the name server,
//!   HEART_BEAT, SEND_MESSAGE_V2 with UNIQ_KEY/TAGS/KEYS/WAIT, offsets, PULL_MESSAGE).
//! - [`send`]: sync and pipelined (async) senders; [`consume`]: a backlog pulled in parallel.
//! - [`histogram`]: latency quantiles; [`proc_stats`]: the broker's RSS and CPU time from /proc.
//! - [`report`]: result rows as a table and as JSON lines (broker CPU µs per message,
//!   RssAnon); [`compare`]: two broker builds' rows side by side with B/A ratios; [`cli`] and [`runner`]: the command
//!   line and what each command runs.
//! - [`timer`]: 5.x timer messages, enqueue TPS and delivery lateness (`rmq-bench timer`).

pub mod cli;
pub mod client;
pub mod compare;
pub mod consume;
pub mod histogram;
pub mod proc_stats;
pub mod report;
pub mod runner;
pub mod send;
pub mod timer;
