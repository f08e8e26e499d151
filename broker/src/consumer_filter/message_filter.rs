//! [`SubscriptionFilter`]: the one filter of a pull, Java's `ExpressionMessageFilter` and (with
//! `filterSupportRetry`) `ExpressionForRetryMessageFilter`. The store's read asks it per
//! consume-queue entry and then per record; a parked pull asks it per dispatched message (tag
//! code, then the properties the dispatcher already parsed). Tags and SQL92 are one type, so the
//! pull path and long polling cannot disagree.

use std::collections::HashSet;
use std::sync::Arc;

use filter::bloom::{BitsArray, BloomFilter};

use crate::topic::validator::RETRY_GROUP_TOPIC_PREFIX;
use remoting_codec::message::message_const::PROPERTY_RETRY_TOPIC;
use remoting_codec::protocol::SubscriptionData;

use super::properties::{property, record_properties};
use super::{is_tag_type, ConsumerFilterManager, FilterData};

/// `SubscriptionData.SUB_ALL`.
const SUB_ALL: &str = "*";

/// What the subscription selects.
#[derive(Debug, Clone)]
enum Selector {
    /// Class filter mode, or the tag expression `*`: everything.
    All,
    /// A tag expression: the hash codes of its tags.
    Tags(HashSet<i32>),
    /// A property expression (SQL92) and its registered (or, with the subscription flag,
    /// built) filter data; `None` or uncompiled: everything.
    Expression(Option<Arc<FilterData>>),
}

/// `%RETRY%` records are matched with the expression their original topic has for the group.
#[derive(Clone)]
struct RetryLookup {
    group: String,
    manager: Arc<ConsumerFilterManager>,
}

/// The filter of one pull request.
#[derive(Clone)]
pub struct SubscriptionFilter {
    selector: Selector,
    /// `Some` with `filterSupportRetry` on a `%RETRY%` topic.
    retry: Option<RetryLookup>,
    /// The broker's bloom filter when the expression's bloom data was made by it (Java's
    /// `bloomDataValid`): only then is a message's bitmap consulted.
    bloom: Option<BloomFilter>,
}

impl std::fmt::Debug for SubscriptionFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubscriptionFilter")
            .field("selector", &self.selector)
            .field("retry", &self.retry.as_ref().map(|r| &r.group))
            .finish()
    }
}

impl SubscriptionFilter {
    /// Everything passes.
    pub fn all() -> Self {
        SubscriptionFilter {
            selector: Selector::All,
            retry: None,
            bloom: None,
        }
    }

    /// The filter of `subscription` with its filter data (for a non-tag expression).
    /// `support_retry` (`filterSupportRetry`) makes a `%RETRY%` subscription match each record
    /// with the expression the group registered for the record's original topic.
    pub fn new(
        subscription: &SubscriptionData,
        filter_data: Option<Arc<FilterData>>,
        manager: &Arc<ConsumerFilterManager>,
        support_retry: bool,
    ) -> Self {
        let bloom = filter_data
            .as_ref()
            .and_then(|d| d.bloom_filter_data.as_ref())
            .filter(|b| manager.bloom_filter().is_valid(b))
            .map(|_| *manager.bloom_filter());
        let selector = if subscription.class_filter_mode {
            Selector::All
        } else if is_tag_type(subscription.expression_type.as_deref()) {
            if subscription.sub_string.as_deref() == Some(SUB_ALL) {
                Selector::All
            } else {
                Selector::Tags(subscription.code_set.iter().copied().collect())
            }
        } else {
            Selector::Expression(filter_data)
        };
        let retry = subscription
            .topic
            .as_deref()
            .and_then(|t| t.strip_prefix(RETRY_GROUP_TOPIC_PREFIX))
            .filter(|_| support_retry && !subscription.class_filter_mode)
            .map(|group| RetryLookup {
                group: group.to_owned(),
                manager: manager.clone(),
            });
        SubscriptionFilter {
            selector,
            retry,
            bloom,
        }
    }

    /// `isMatchedByConsumeQueue` by the entry's tags code (`None`: no usable code).
    pub fn matches_tags_code(&self, tags_code: Option<i64>) -> bool {
        match (&self.selector, tags_code) {
            (Selector::Tags(codes), Some(code)) => codes.contains(&(code as i32)),
            // The bitmap pre-check of an expression needs the consume-queue extension.
            _ => true,
        }
    }

    /// `isMatchedByConsumeQueue(tagsCode, cqExtUnit)`: the tags code for a tag subscription;
    /// for an expression, the message's bloom bitmap (`unit`: its store time and bitmap), so a
    /// message is dropped before its record is read when the consumer's bits are not all set.
    /// Java's rules: no filter data, no compiled expression or no bloom data, no unit, a
    /// message stored before the filter was born (its bitmap was computed without it), no
    /// bitmap, bloom data of another filter, or a bitmap of another length — the message
    /// passes to the full evaluation.
    pub fn matches_unit(&self, tags_code: Option<i64>, unit: Option<(i64, Option<&[u8]>)>) -> bool {
        let Selector::Expression(data) = &self.selector else {
            return self.matches_tags_code(tags_code);
        };
        let Some(data) = data.as_deref() else {
            return true;
        };
        let Some(bloom_data) = data.bloom_filter_data.as_ref() else {
            return true;
        };
        if data.compiled.is_none() {
            return true;
        }
        let Some((msg_store_time, bit_map)) = unit else {
            return true;
        };
        if !data.is_msg_in_live(msg_store_time) {
            return true;
        }
        let (Some(bit_map), Some(bloom)) = (bit_map, self.bloom.as_ref()) else {
            return true;
        };
        if bit_map.len() * 8 != bloom_data.bit_num as usize {
            return true;
        }
        match BitsArray::from_bytes(bit_map).and_then(|bits| bloom.is_hit_data(bloom_data, &bits)) {
            Ok(hit) => hit,
            Err(e) => {
                tracing::error!("bloom filter error, filter={data:?}: {e}");
                true
            }
        }
    }

    /// `isMatchedByCommitLog` on a property lookup.
    pub fn matches_properties<'p>(&self, props: &dyn Fn(&str) -> Option<&'p str>) -> bool {
        let retry_data;
        let data = match &self.retry {
            Some(retry) => {
                let Some(real_topic) = props(PROPERTY_RETRY_TOPIC) else {
                    // Java looks up a null topic and fails; a retry record always has one.
                    return true;
                };
                retry_data = retry.manager.get(real_topic, &retry.group);
                retry_data.as_deref()
            }
            None => match &self.selector {
                Selector::Expression(data) => data.as_deref(),
                Selector::All | Selector::Tags(_) => return true,
            },
        };
        match data.and_then(|d| d.compiled.as_deref()) {
            Some(expression) => expression.matches(props),
            None => true,
        }
    }

    /// Whether the record's properties need reading at all.
    fn reads_properties(&self) -> bool {
        self.retry.is_some() || matches!(self.selector, Selector::Expression(Some(_)))
    }

    /// `isMatchedByCommitLog` on a stored record: its properties are read in place, once.
    pub fn matches_record(&self, record: &[u8]) -> bool {
        if !self.reads_properties() {
            return true;
        }
        let Some(props) = record_properties(record) else {
            return true;
        };
        self.matches_properties(&|name| property(props, name))
    }
}

impl store::MessageFilter for SubscriptionFilter {
    fn is_matched_by_consume_queue(&self, tags_code: Option<i64>) -> bool {
        self.matches_tags_code(tags_code)
    }

    fn is_matched_by_consume_queue_with_ext(
        &self,
        tags_code: Option<i64>,
        ext: Option<&store::CqExtUnit>,
    ) -> bool {
        self.matches_unit(
            tags_code,
            ext.map(|u| (u.msg_store_time, u.filter_bit_map.as_deref())),
        )
    }

    fn is_matched_by_commit_log(&self, record: &[u8]) -> bool {
        self.matches_record(record)
    }
}
