//! The order in which a Java broker writes the maps of its config files.
//!
//! topics.json, subscriptionGroup.json and consumerOffset.json are fastjson dumps of Java
//! `ConcurrentHashMap`s, whose iteration order is the order of their hash buckets: bucket =
//! `spread(key.hashCode()) & (tableSize - 1)` with `spread(h) = (h ^ (h >>> 16)) & 0x7fffffff`.
//! The table size follows from the map's initial capacity (`new ConcurrentHashMap(1024)` has 2048
//! buckets, `(512)` has 1024) until it grows past 3/4 full. Writing our files in the same order
//! makes them byte-identical to Java's for the same content, so an operator diffing the two
//! brokers' files sees only real differences. Within one bucket Java keeps insertion order, which
//! we do not know after a reload; keys that share a bucket are written in name order.
//!
//! Integer keys (queue ids) hash to themselves, so small ones come out ascending, which a
//! `BTreeMap` already gives.

use std::collections::HashMap;

use remoting_codec::message::java_string_hash_code;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Buckets of `new ConcurrentHashMap(1024)` (topics, subscription groups).
pub const TABLE_1024: usize = 2048;
/// Buckets of `new ConcurrentHashMap(512)` (consumer offsets).
pub const TABLE_512: usize = 1024;

/// The bucket table size of a Java `ConcurrentHashMap` created with `initial_buckets` buckets
/// once it holds `len` entries: it doubles whenever the count exceeds 3/4 of the table.
pub fn table_size(initial_buckets: usize, len: usize) -> usize {
    let mut n = initial_buckets.max(16);
    while len > n - n / 4 {
        n *= 2;
    }
    n
}

/// The bucket of `key` in a table of `table` buckets (`spread(hashCode) & (table - 1)`).
pub fn bucket(key: &str, table: usize) -> usize {
    let h = java_string_hash_code(key) as u32;
    (((h ^ (h >> 16)) & 0x7fff_ffff) as usize) & (table - 1)
}

/// Sorts string keys into Java `ConcurrentHashMap` iteration order.
pub fn sort_keys<K: AsRef<str>>(keys: &mut [K], initial_buckets: usize) {
    let table = table_size(initial_buckets, keys.len());
    keys.sort_by(|a, b| {
        let (a, b) = (a.as_ref(), b.as_ref());
        (bucket(a, table), a).cmp(&(bucket(b, table), b))
    });
}

/// A string-keyed map serialized in Java `ConcurrentHashMap` order.
pub struct JavaMap<'a, V> {
    entries: Vec<(&'a str, &'a V)>,
}

impl<'a, V> JavaMap<'a, V> {
    pub fn new<I>(entries: I, initial_buckets: usize) -> Self
    where
        I: IntoIterator<Item = (&'a String, &'a V)>,
    {
        let mut entries: Vec<(&str, &V)> =
            entries.into_iter().map(|(k, v)| (k.as_str(), v)).collect();
        let table = table_size(initial_buckets, entries.len());
        entries.sort_by(|a, b| (bucket(a.0, table), a.0).cmp(&(bucket(b.0, table), b.0)));
        JavaMap { entries }
    }

    pub fn from_hash_map(map: &'a HashMap<String, V>, initial_buckets: usize) -> Self {
        Self::new(map.iter(), initial_buckets)
    }
}

impl<V: Serialize> Serialize for JavaMap<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One bucket: `(spread hash, key)` in list order.
type Bin = Vec<(u32, String)>;

/// The iteration order of a Java `ConcurrentHashMap` (JDK 8–17) built by inserting keys one
/// by one, simulated exactly: the table starts at `tableSizeFor(1.5 × capacity + 1)` buckets,
/// doubles when the count reaches 3/4 of it, and each resize moves a bucket's list as
/// `transfer` does (the tail run that stays together keeps its order, the nodes before it are
/// prepended, so their order flips). Within a bucket a new key goes to the end. Buckets that
/// would be turned into trees (8 keys in one bucket of a table of 64 or more) are not
/// modelled. `java.util.Properties` (JDK 9+) is a `ConcurrentHashMap(8)` inside.
#[derive(Clone, Debug)]
pub struct ChmOrder {
    table: Vec<Bin>,
    count: usize,
}

impl ChmOrder {
    /// `new ConcurrentHashMap(initial_capacity)`.
    pub fn new(initial_capacity: usize) -> Self {
        let n = (initial_capacity + (initial_capacity >> 1) + 1)
            .next_power_of_two()
            .max(1);
        ChmOrder {
            table: vec![Vec::new(); n],
            count: 0,
        }
    }

    fn spread(key: &str) -> u32 {
        let h = java_string_hash_code(key) as u32;
        (h ^ (h >> 16)) & 0x7fff_ffff
    }

    /// `put(key, …)`: a new key is appended to its bucket; an existing one stays where it is.
    pub fn insert(&mut self, key: &str) {
        let h = Self::spread(key);
        let n = self.table.len();
        let bin = &mut self.table[h as usize & (n - 1)];
        if bin.iter().any(|(_, k)| k == key) {
            return;
        }
        bin.push((h, key.to_owned()));
        self.count += 1;
        while self.count >= n - (n >> 2) && self.table.len() == n {
            self.transfer();
        }
    }

    fn transfer(&mut self) {
        let n = self.table.len();
        let mut next: Vec<Bin> = vec![Vec::new(); 2 * n];
        for i in (0..n).rev() {
            let bin = std::mem::take(&mut self.table[i]);
            if bin.is_empty() {
                continue;
            }
            let bit = |h: u32| h as usize & n;
            // lastRun: the start of the tail whose nodes all go the same way.
            let mut last_run = 0;
            for j in 1..bin.len() {
                if bit(bin[j].0) != bit(bin[j - 1].0) {
                    last_run = j;
                }
            }
            let run_bit = bit(bin[last_run].0);
            let (mut lo, mut hi): (Bin, Bin) = (Vec::new(), Vec::new());
            if run_bit == 0 {
                lo.extend(bin[last_run..].iter().cloned());
            } else {
                hi.extend(bin[last_run..].iter().cloned());
            }
            for node in &bin[..last_run] {
                // new Node(p, ln): prepended.
                if bit(node.0) == 0 {
                    lo.insert(0, node.clone());
                } else {
                    hi.insert(0, node.clone());
                }
            }
            next[i] = lo;
            next[i + n] = hi;
        }
        self.table = next;
    }

    /// The keys in iteration order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.table.iter().flatten().map(|(_, k)| k.as_str())
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_grows_past_three_quarters() {
        assert_eq!(table_size(TABLE_1024, 10), 2048);
        assert_eq!(table_size(TABLE_1024, 1536), 2048);
        assert_eq!(table_size(TABLE_1024, 1537), 4096);
        assert_eq!(table_size(16, 13), 32);
    }

    /// The key order of every Java-written golden file is the bucket order computed here.
    #[test]
    fn golden_files_are_in_bucket_order() {
        let cases = [
            ("store-config/clean/topics.json", TABLE_1024, 18),
            ("store-config/s05-delay/topics.json", TABLE_1024, 11),
            ("store-config/crashed/topics.json", TABLE_1024, 9),
            ("store-config/clean/subscriptionGroup.json", TABLE_1024, 10),
            (
                "store-config/s05-delay/subscriptionGroup.json",
                TABLE_1024,
                8,
            ),
            ("store-config/clean/consumerOffset.json", TABLE_512, 5),
            ("store-config/s05-delay/consumerOffset.json", TABLE_512, 2),
        ];
        for (file, buckets, count) in cases {
            let text = std::fs::read_to_string(crate::test_util::golden(file)).unwrap();
            // Second-level keys: lines "\t\t\"name\":{".
            let keys: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("\t\t\""))
                .filter_map(|l| l.split_once("\":{").map(|(k, _)| k))
                .collect();
            assert_eq!(keys.len(), count, "{file}");
            let mut sorted = keys.clone();
            sort_keys(&mut sorted, buckets);
            assert_eq!(keys, sorted, "{file}");
        }
    }
}
