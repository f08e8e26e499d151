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

fn bucket(key: &str, table: usize) -> usize {
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
