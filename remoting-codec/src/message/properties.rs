//! The message properties string: `name \u{1} value \u{2} name \u{1} value ...`.
//!
//! Parsing follows Java's `string2messageProperties`: split on `\u{2}`, then on the first `\u{1}`
//! of each segment; a segment without a separator, with an empty name or an empty value is
//! dropped, and a later duplicate name overwrites an earlier one. The separators are ASCII, so
//! working on UTF-8 bytes gives the same result as Java's UTF-16 `indexOf`.
//!
//! Writing differs between versions, and both are on the wire: 4.9.8's `messageProperties2String`
//! drops the `\u{2}` after the last pair (every record the 4.9.8 broker stores, every 4.9.8
//! client send), 5.x keeps it after every pair. [`MessageProperties`] remembers which form it was
//! parsed from so that a decode followed by an encode reproduces the bytes.
//!
//! Duplicate names do occur in stored records: the 4.9.8 broker appends the batch-level
//! properties (`CLUSTER`, `WAIT`) to each message of a batch, which already has `WAIT`. So the
//! map keeps every parsed pair in order and lookups return the last one (Java's "later wins").

use std::fmt;

use super::message_const::*;

/// Between a name and its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// After each pair (4.9.8: between pairs).
pub const PROPERTY_SEPARATOR: char = '\u{2}';
/// The properties length is a Java `short` in every layout.
pub const MAX_PROPERTIES_LENGTH: usize = i16::MAX as usize;

/// An insertion-ordered property map that keeps duplicate names as parsed. Lookups are linear:
/// a message has a handful of properties, and the order must survive a round trip anyway.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MessageProperties {
    entries: Vec<(String, String)>,
    trailing_separator: bool,
}

impl MessageProperties {
    /// An empty map written in the 4.9.8 form (no `\u{2}` after the last pair).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a properties string with Java's rules.
    pub fn parse(s: &str) -> Self {
        let mut props = Self {
            entries: Vec::new(),
            trailing_separator: s.ends_with(PROPERTY_SEPARATOR),
        };
        for segment in s.split(PROPERTY_SEPARATOR) {
            if let Some((name, value)) = segment.split_once(NAME_VALUE_SEPARATOR) {
                if !name.is_empty() && !value.is_empty() {
                    props.entries.push((name.to_owned(), value.to_owned()));
                }
            }
        }
        props
    }

    /// Parses properties bytes; they must be UTF-8 (Java writes them with `getBytes(UTF_8)`).
    pub fn parse_bytes(bytes: &[u8]) -> Option<Self> {
        std::str::from_utf8(bytes).ok().map(Self::parse)
    }

    /// Whether a `\u{2}` follows the last pair when written (5.x form) or not (4.9.8 form).
    pub fn trailing_separator(&self) -> bool {
        self.trailing_separator
    }

    pub fn set_trailing_separator(&mut self, trailing: bool) {
        self.trailing_separator = trailing;
    }

    pub fn with_trailing_separator(mut self, trailing: bool) -> Self {
        self.trailing_separator = trailing;
        self
    }

    /// Writes the properties string.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    pub fn encode_into(&self, out: &mut String) {
        for (i, (name, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(PROPERTY_SEPARATOR);
            }
            out.push_str(name);
            out.push(NAME_VALUE_SEPARATOR);
            out.push_str(value);
        }
        if self.trailing_separator && !self.entries.is_empty() {
            out.push(PROPERTY_SEPARATOR);
        }
    }

    /// Length in bytes of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let pairs: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        if pairs > 0 && !self.trailing_separator {
            pairs - 1
        } else {
            pairs
        }
    }

    /// The value of `name`; with duplicates, the last one (as Java's map would hold).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == name)
    }

    /// Sets `name`: an existing entry keeps its position and takes the new value (duplicates of
    /// it are dropped); a new name goes last.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.entries.iter().position(|(k, _)| *k == name) {
            Some(first) => {
                self.entries[first].1 = value;
                let mut i = 0;
                self.entries.retain(|(k, _)| {
                    i += 1;
                    i - 1 <= first || *k != name
                });
            }
            None => self.entries.push((name, value)),
        }
    }

    /// Removes every entry of `name`, returning the value [`get`](Self::get) would have given.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let mut last = None;
        self.entries.retain_mut(|(k, v)| {
            if k == name {
                last = Some(std::mem::take(v));
                false
            } else {
                true
            }
        });
        last
    }

    /// Appends `other`'s pairs after ours, keeping duplicates: what the 4.9.8 broker does to
    /// each message of a batch with the batch-level properties (it writes our string, a `\u{2}`
    /// unless ours already ends with one, then `other`'s string).
    pub fn append(&mut self, other: &MessageProperties) {
        if other.entries.is_empty() {
            return;
        }
        self.entries.extend(other.entries.iter().cloned());
        self.trailing_separator = other.trailing_separator;
    }

    /// Reorders the pairs as a Java `HashMap<String, String>` filled in the current order would
    /// iterate them. A Java broker stores a message's properties by writing such a map
    /// (`messageProperties2String(msg.getProperties())`), so this makes our stored records
    /// byte-identical to Java's: iteration goes bucket by bucket, bucket =
    /// `(h ^ (h >>> 16)) & (table - 1)` with `h = String.hashCode()`, a table of 16 doubling
    /// whenever the size passes 3/4 of it, and insertion order within a bucket (a resize keeps
    /// the relative order of the entries it splits). Duplicate names are kept where they are
    /// in insertion order: callers sort maps, not the appended strings of batches.
    pub fn sort_in_java_hash_map_order(&mut self) {
        let mut table = 16usize;
        while self.entries.len() > table - table / 4 {
            table *= 2;
        }
        let bucket = |name: &str| {
            let h = crate::message::hash::java_string_hash_code(name) as u32;
            ((h ^ (h >> 16)) as usize) & (table - 1)
        };
        // `sort_by_key` is stable, which keeps insertion order inside a bucket.
        self.entries.sort_by_key(|(name, _)| bucket(name));
    }

    /// The pairs in written order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The number of pairs written, duplicates included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn tags(&self) -> Option<&str> {
        self.get(PROPERTY_TAGS)
    }

    /// The raw `KEYS` value (several keys separated by a space).
    pub fn keys(&self) -> Option<&str> {
        self.get(PROPERTY_KEYS)
    }

    /// The individual keys, as the broker indexes them (split on space, empty parts skipped).
    pub fn key_list(&self) -> impl Iterator<Item = &str> {
        self.keys()
            .into_iter()
            .flat_map(|k| k.split(KEY_SEPARATOR))
            .filter(|k| !k.is_empty())
    }

    /// The client msgId.
    pub fn uniq_key(&self) -> Option<&str> {
        self.get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
    }

    /// `DELAY` as an integer; `None` when absent or not a number (Java throws on the latter).
    pub fn delay_time_level(&self) -> Option<i32> {
        self.get_i32(PROPERTY_DELAY_TIME_LEVEL)
    }

    /// `WAIT`: true unless present and not `true` (Java's `isWaitStoreMsgOK`).
    pub fn wait_store_msg_ok(&self) -> bool {
        self.get(PROPERTY_WAIT_STORE_MSG_OK)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `TRAN_MSG` parsed like Java's `Boolean.parseBoolean`.
    pub fn transaction_prepared(&self) -> bool {
        self.get(PROPERTY_TRANSACTION_PREPARED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn real_topic(&self) -> Option<&str> {
        self.get(PROPERTY_REAL_TOPIC)
    }

    pub fn real_queue_id(&self) -> Option<i32> {
        self.get_i32(PROPERTY_REAL_QUEUE_ID)
    }

    pub fn retry_topic(&self) -> Option<&str> {
        self.get(PROPERTY_RETRY_TOPIC)
    }

    pub fn producer_group(&self) -> Option<&str> {
        self.get(PROPERTY_PRODUCER_GROUP)
    }

    pub fn cluster(&self) -> Option<&str> {
        self.get(PROPERTY_CLUSTER)
    }

    pub fn origin_message_id(&self) -> Option<&str> {
        self.get(PROPERTY_ORIGIN_MESSAGE_ID)
    }

    pub fn reconsume_time(&self) -> Option<i32> {
        self.get_i32(PROPERTY_RECONSUME_TIME)
    }

    pub fn max_reconsume_times(&self) -> Option<i32> {
        self.get_i32(PROPERTY_MAX_RECONSUME_TIMES)
    }

    pub fn transaction_check_times(&self) -> Option<i32> {
        self.get_i32(PROPERTY_TRANSACTION_CHECK_TIMES)
    }

    pub fn tran_prepared_queue_offset(&self) -> Option<i64> {
        self.get(PROPERTY_TRANSACTION_PREPARED_QUEUE_OFFSET)
            .and_then(|v| v.parse().ok())
    }

    /// A property parsed as a Java `int` (`Integer.parseInt` accepts a leading `+` or `-`).
    pub fn get_i32(&self, name: &str) -> Option<i32> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

impl fmt::Debug for MessageProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for MessageProperties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut props = Self::new();
        for (k, v) in iter {
            props.insert(k, v);
        }
        props
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_parse_rules() {
        let p = MessageProperties::parse(
            "a\u{1}1\u{2}\u{2}b\u{1}\u{2}\u{1}x\u{2}c\u{1}3\u{1}4\u{2}a\u{1}9",
        );
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [("a", "1"), ("c", "3\u{1}4"), ("a", "9")]
        );
        assert_eq!(p.get("a"), Some("9"));
        let mut q = p.clone();
        q.insert("a", "2");
        assert_eq!(q.iter().collect::<Vec<_>>(), [("a", "2"), ("c", "3\u{1}4")]);
        assert_eq!(p.clone().remove("a").as_deref(), Some("9"));
        assert!(!p.trailing_separator());
        assert!(MessageProperties::parse("ab").is_empty());
    }

    #[test]
    fn both_write_forms_round_trip() {
        for s in [
            "KEYS\u{1}K-1 K-2\u{2}TAGS\u{1}TagA",
            "UNIQ_KEY\u{1}X\u{2}WAIT\u{1}true\u{2}",
            "",
        ] {
            let p = MessageProperties::parse(s);
            assert_eq!(p.encode(), s);
            assert_eq!(p.encoded_len(), s.len());
        }
    }

    #[test]
    fn batch_append_keeps_duplicates() {
        let mut entry = MessageProperties::parse("bidx\u{1}0\u{2}WAIT\u{1}true");
        entry.append(&MessageProperties::parse("CLUSTER\u{1}C\u{2}WAIT\u{1}true"));
        assert_eq!(
            entry.encode(),
            "bidx\u{1}0\u{2}WAIT\u{1}true\u{2}CLUSTER\u{1}C\u{2}WAIT\u{1}true"
        );
        let mut v5 = MessageProperties::parse("a\u{1}1\u{2}");
        v5.append(&MessageProperties::parse("CLUSTER\u{1}C"));
        assert_eq!(v5.encode(), "a\u{1}1\u{2}CLUSTER\u{1}C");
    }

    #[test]
    fn accessors() {
        let p = MessageProperties::parse("KEYS\u{1} K-1  K-2\u{2}DELAY\u{1}3\u{2}WAIT\u{1}false");
        assert_eq!(p.key_list().collect::<Vec<_>>(), ["K-1", "K-2"]);
        assert_eq!(p.delay_time_level(), Some(3));
        assert!(!p.wait_store_msg_ok());
        assert!(MessageProperties::new().wait_store_msg_ok());
    }
}
