//! RocketMQ's message filters, as Java's `rocketmq-filter` module (4.9.8, with 5.x's additions):
//!
//! | module | Java | what |
//! |---|---|---|
//! | [`sql92`] | `filter.expression`, `filter.parser` (`SelectorParser`) | the SQL92 property language: parse once, evaluate per message |
//! | [`bloom`] | `filter.util.BloomFilter`, `BloomFilterData`, `BitsArray` | the bloom filter behind `consumerFilter.json` and the consume-queue extension bitmaps |
//!
//! Pure: no I/O, no clock. The broker registers and applies filters; the store keeps bitmaps.

pub mod bloom;
pub mod sql92;
