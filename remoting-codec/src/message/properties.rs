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
///
/// Names and values live in one text buffer (a parse keeps the parsed string itself and points
/// into it), so a parse costs two allocations whatever the number of pairs, where a `String`
/// per name and per value cost two per pair on the send path. A replaced or removed pair leaves
/// its bytes behind in the buffer; only [`Entry`]'s ranges say what the map holds.
#[derive(Clone, Default)]
pub struct MessageProperties {
    text: String,
    entries: Vec<Entry>,
    trailing_separator: bool,
}

/// One pair: the name is `text[start..mid]`, the value `text[mid + 1..end]` (a parsed pair has
/// its `\u{1}` at `mid`; a pair added later is written the same way). `bucket` is scratch
/// for [`MessageProperties::sort_in_java_hash_map_order`].
#[derive(Clone, Copy)]
struct Entry {
    start: usize,
    mid: usize,
    end: usize,
    bucket: u32,
}

/// A parsed segment `start..end` with its first `\u{1}` at `mid`: Java drops it without a
/// separator, with an empty name or with an empty value.
fn push_parsed(entries: &mut Vec<Entry>, start: usize, mid: Option<usize>, end: usize) {
    if let Some(mid) = mid {
        if mid > start && mid + 1 < end {
            entries.push(Entry {
                start,
                mid,
                end,
                bucket: 0,
            });
        }
    }
}

/// Equal when the pairs (in order, duplicates included) and the write form are.
impl PartialEq for MessageProperties {
    fn eq(&self, other: &Self) -> bool {
        self.trailing_separator == other.trailing_separator && self.iter().eq(other.iter())
    }
}

impl Eq for MessageProperties {}

impl MessageProperties {
    /// An empty map written in the 4.9.8 form (no `\u{2}` after the last pair).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a properties string with Java's rules.
    pub fn parse(s: &str) -> Self {
        // One pass over the bytes: both separators are ASCII, so they never occur inside a
        // multi-byte character, and byte positions are char boundaries.
        let mut entries = Vec::with_capacity(8);
        let (mut start, mut mid) = (0, None);
        for (i, &b) in s.as_bytes().iter().enumerate() {
            if b == NAME_VALUE_SEPARATOR as u8 {
                mid.get_or_insert(i);
            } else if b == PROPERTY_SEPARATOR as u8 {
                push_parsed(&mut entries, start, mid, i);
                (start, mid) = (i + 1, None);
            }
        }
        push_parsed(&mut entries, start, mid, s.len());
        // Room for the pair or two a broker adds (WAIT, CLUSTER, REAL_TOPIC...) without growing.
        let mut text = String::with_capacity(s.len() + 64);
        text.push_str(s);
        Self {
            text,
            entries,
            trailing_separator: s.ends_with(PROPERTY_SEPARATOR),
        }
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
        for (i, (name, value)) in self.iter().enumerate() {
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
        // Each pair is its name, `\u{1}`, its value (`end - start`) and a `\u{2}`.
        let pairs: usize = self.entries.iter().map(|e| e.end - e.start + 1).sum();
        if pairs > 0 && !self.trailing_separator {
            pairs - 1
        } else {
            pairs
        }
    }

    fn name(&self, e: &Entry) -> &str {
        &self.text[e.start..e.mid]
    }

    /// Whether `e` is named `name`: lengths first, then bytes (no char-boundary checks).
    fn is_named(text: &str, e: &Entry, name: &str) -> bool {
        e.mid - e.start == name.len() && &text.as_bytes()[e.start..e.mid] == name.as_bytes()
    }

    fn value(&self, e: &Entry) -> &str {
        &self.text[e.mid + 1..e.end]
    }

    /// Writes a pair at the end of the buffer and returns its entry (not yet in the map).
    fn push_pair(&mut self, name: &str, value: &str) -> Entry {
        let start = self.text.len();
        self.text.push_str(name);
        let mid = self.text.len();
        self.text.push(NAME_VALUE_SEPARATOR);
        self.text.push_str(value);
        Entry {
            start,
            mid,
            end: self.text.len(),
            bucket: 0,
        }
    }

    /// The value of `name`; with duplicates, the last one (as Java's map would hold).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| Self::is_named(&self.text, e, name))
            .map(|e| self.value(e))
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.entries
            .iter()
            .any(|e| Self::is_named(&self.text, e, name))
    }

    /// Sets `name`: an existing entry keeps its position and takes the new value (duplicates of
    /// it are dropped); a new name goes last.
    pub fn insert(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let (name, value) = (name.as_ref(), value.as_ref());
        let pair = self.push_pair(name, value);
        let text = &self.text;
        match self
            .entries
            .iter()
            .position(|e| Self::is_named(text, e, name))
        {
            Some(first) => {
                self.entries[first] = pair;
                let mut i = 0;
                self.entries.retain(|e| {
                    i += 1;
                    i - 1 <= first || !Self::is_named(text, e, name)
                });
            }
            None => self.entries.push(pair),
        }
    }

    /// Removes every entry of `name`, returning the value [`get`](Self::get) would have given.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let last = self.get(name).map(str::to_owned);
        if last.is_some() {
            let text = &self.text;
            self.entries.retain(|e| !Self::is_named(text, e, name));
        }
        last
    }

    /// Appends `other`'s pairs after ours, keeping duplicates: what the 4.9.8 broker does to
    /// each message of a batch with the batch-level properties (it writes our string, a `\u{2}`
    /// unless ours already ends with one, then `other`'s string).
    pub fn append(&mut self, other: &MessageProperties) {
        if other.entries.is_empty() {
            return;
        }
        for (name, value) in other.iter() {
            let pair = self.push_pair(name, value);
            self.entries.push(pair);
        }
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
        // Each name is hashed once, not once per comparison.
        for i in 0..self.entries.len() {
            let e = self.entries[i];
            let h = crate::message::hash::java_string_hash_code(self.name(&e)) as u32;
            self.entries[i].bucket = ((h ^ (h >> 16)) as usize & (table - 1)) as u32;
        }
        // `sort_by_key` is stable, which keeps insertion order inside a bucket.
        self.entries.sort_by_key(|e| e.bucket);
    }

    /// The pairs in written order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|e| (self.name(e), self.value(e)))
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

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for MessageProperties {
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

    /// The map behaves as a list of owned pairs (the representation before the shared buffer)
    /// under any mix of parse, insert, remove, append and sort.
    mod against_a_list_of_pairs {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Insert(String, String),
            Remove(String),
            Append(Vec<(String, String)>),
            Sort,
        }

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("KEYS".to_owned()),
                Just("TAGS".to_owned()),
                "[a-cé]{1,3}"
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (name(), "[x-zü]{1,4}").prop_map(|(k, v)| Op::Insert(k, v)),
                name().prop_map(Op::Remove),
                proptest::collection::vec((name(), "[0-9]{1,3}"), 0..3).prop_map(Op::Append),
                Just(Op::Sort),
            ]
        }

        fn model_insert(list: &mut Vec<(String, String)>, k: &str, v: &str) {
            match list.iter().position(|(n, _)| n == k) {
                Some(first) => {
                    list[first].1 = v.to_owned();
                    let mut i = 0;
                    list.retain(|(n, _)| {
                        i += 1;
                        i - 1 <= first || n != k
                    });
                }
                None => list.push((k.to_owned(), v.to_owned())),
            }
        }

        fn model_sort(list: &mut [(String, String)]) {
            let mut table = 16usize;
            while list.len() > table - table / 4 {
                table *= 2;
            }
            list.sort_by_key(|(n, _)| {
                let h = crate::message::hash::java_string_hash_code(n) as u32;
                ((h ^ (h >> 16)) as usize) & (table - 1)
            });
        }

        proptest! {
            #[test]
            fn same_pairs_and_bytes(start in "[a-c\u{1}\u{2}é]{0,24}", ops in proptest::collection::vec(op(), 0..12)) {
                let mut props = MessageProperties::parse(&start);
                let mut list: Vec<(String, String)> =
                    props.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                for op in ops {
                    match op {
                        Op::Insert(k, v) => {
                            props.insert(&k, &v);
                            model_insert(&mut list, &k, &v);
                        }
                        Op::Remove(k) => {
                            let want = list.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
                            prop_assert_eq!(props.remove(&k), want);
                            list.retain(|(n, _)| *n != k);
                        }
                        Op::Append(pairs) => {
                            let other: MessageProperties = pairs.iter().cloned().collect();
                            let expected: Vec<_> = other.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                            props.append(&other);
                            list.extend(expected);
                        }
                        Op::Sort => {
                            props.sort_in_java_hash_map_order();
                            model_sort(&mut list);
                        }
                    }
                    let got: Vec<_> = props.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                    prop_assert_eq!(&got, &list);
                    let encoded = props.encode();
                    prop_assert_eq!(encoded.len(), props.encoded_len());
                    // (An empty map writes "" in either form, so only the pairs are compared.)
                    prop_assert!(MessageProperties::parse(&encoded).iter().eq(props.iter()));
                }
            }
        }
    }
}
