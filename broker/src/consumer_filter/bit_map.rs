//! [`CalcBitMap`]: Java's `CommitLogDispatcherCalcBitMap`, the store's
//! [`store::FilterBitMapCalculator`]. With `enableCalcFilterBitMap`, every message dispatched
//! to a consume queue gets a bitmap of the bloom filter's `m` bits in which each registered
//! filter of its topic (dead ones included, as Java's `get(topic)` lists them) whose expression
//! is true on the message's properties has set its positions. The store keeps it in the
//! message's consume-queue extension unit (`enableConsumeQueueExt`) and hands it to long
//! polling; pulls test it before reading the record
//! ([`SubscriptionFilter`](super::SubscriptionFilter)).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use remoting_codec::message::MessageProperties;

use super::ConsumerFilterManager;

/// The dispatch-time bitmap calculation.
pub struct CalcBitMap {
    manager: Arc<ConsumerFilterManager>,
    /// `enableCalcFilterBitMap`, read at every dispatch as Java reads its getter.
    enabled: AtomicBool,
}

impl CalcBitMap {
    pub fn new(manager: Arc<ConsumerFilterManager>, enabled: bool) -> Self {
        CalcBitMap {
            manager,
            enabled: AtomicBool::new(enabled),
        }
    }

    /// `enableCalcFilterBitMap` changed (UPDATE_BROKER_CONFIG).
    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Relaxed);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The bitmap of a message of `topic` with `properties` (`None`: no filter on the topic).
    pub fn calc(&self, topic: &str, properties: &MessageProperties) -> Option<Vec<u8>> {
        let filters = self.manager.filters_of_topic(topic);
        if filters.is_empty() {
            return None;
        }
        let bloom = self.manager.bloom_filter();
        let mut bits = bloom.new_bits();
        for data in &filters {
            let Some(expression) = data.compiled.as_deref() else {
                tracing::error!(
                    "[BUG] Consumer in filter manager has no compiled expression! {data:?}"
                );
                continue;
            };
            let Some(bloom_data) = data.bloom_filter_data.as_ref() else {
                tracing::error!("[BUG] Consumer in filter manager has no bloom data! {data:?}");
                continue;
            };
            if expression.matches(&|name| properties.get(name)) {
                if let Err(e) = bloom.hash_to_data(bloom_data, &mut bits) {
                    // Java's hashTo throws out of the loop: no bitmap for this message.
                    tracing::error!("Calc bit map error! topic={topic}, {e}");
                    return None;
                }
            }
        }
        Some(bits.into_bytes())
    }
}

impl store::FilterBitMapCalculator for CalcBitMap {
    fn calc_filter_bit_map(&self, topic: &str, properties: &MessageProperties) -> Option<Vec<u8>> {
        if !self.enabled() {
            return None;
        }
        self.calc(topic, properties)
    }
}
