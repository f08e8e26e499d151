//! The bloom filter of the bitmap pre-filter (Java's `BloomFilter`, `BloomFilterData`, `BitsArray`).
