//! The bloom filter of the bitmap pre-filter: Java's `filter.util.BloomFilter`,
//! `BloomFilterData` and `BitsArray` (4.9.8), bit for bit.
//!
//! # What Java does with it
//!
//! The broker keeps one [`BloomFilter`] made by `createByFn(maxErrorRateOfBloomFilter,
//! expectConsumerNumUseFilter)` (BrokerConfig, defaults 20 and 32 → k = 3, m = 112) and writes
//! its `m` into the store's `bitMapLengthConsumeQueueExt`. For every SQL92 (non-TAG)
//! subscription, `ConsumerFilterManager.register` gives the consumer the
//! [`BloomFilterData`] of the string **`consumerGroup + "#" + topic`** (e.g.
//! `"GID_sql#TopicTest"`); it is persisted in `consumerFilter.json` as
//! `"bloomFilterData":{"bitNum":112,"bitPos":[33,81,17]}`.
//!
//! At dispatch (`CommitLogDispatcherCalcBitMap`, when `enableCalcFilterBitMap`), for each
//! message a fresh `BitsArray` of `m` bits is made; for every registered filter data of the
//! message's topic whose compiled expression evaluates to `true` on the message's properties,
//! its positions are set ([`BloomFilter::hash_to_data`]); the bytes go into the message's
//! consume-queue extension unit (and to long polling). At pull
//! (`ExpressionMessageFilter.isMatchedByConsumeQueue`), a message stored after the consumer's
//! filter was born, whose unit has a bitmap of exactly `bitNum / 8` bytes, is skipped unless
//! [`BloomFilter::is_hit_data`] says all the consumer's bits are set; otherwise (no unit, no
//! bitmap, older message, other length) it passes to the full evaluation.
//!
//! # API, for the broker
//!
//! ```
//! use filter::bloom::{BitsArray, BloomFilter};
//!
//! let bloom = BloomFilter::create_by_fn(20, 32).unwrap(); // maxErrorRate %, expected consumers
//! assert_eq!((bloom.k(), bloom.m()), (3, 112));
//! // registration: the consumer's positions (persist `bit_pos` / `bit_num`)
//! let data = bloom.generate("GID_sql#TopicTest");
//! assert_eq!(data.bit_pos, vec![33, 81, 17]);
//! // dispatch: one bitmap per message, the bits of every filter that matched it
//! let mut bits = bloom.new_bits();
//! bloom.hash_to_data(&data, &mut bits).unwrap();
//! let stored: Vec<u8> = bits.into_bytes(); // 14 bytes, the ext unit's filterBitMap
//! // pull: read the stored bitmap back and test the consumer's positions
//! let bits = BitsArray::from_bytes(&stored).unwrap();
//! assert!(bloom.is_hit_data(&data, &bits).unwrap());
//! ```
//!
//! Where Java throws `IllegalArgumentException` (bitmap of the wrong length, filter data of
//! another filter, position out of range) these return a [`BloomError`].
//!
//! # The Java facts matched
//!
//! - `k = ⌈ln(f/100) / ln(0.5)⌉`, `m = ⌈n · log2(100/f) · log2(e)⌉` rounded up to a multiple
//!   of 8, with Java's `logMN(a, b) = ln b / ln a` in doubles; `f` in 1..=99, `n` ≥ 1.
//! - Positions (Kirsch–Mitzenmacher double hashing): `h = Guava murmur3_128 (seed 0) of the
//!   string's UTF-8 bytes, asLong()` — the first 64-bit half `h1` of MurmurHash3_x64_128;
//!   `hash1 = (int) h`, `hash2 = (int) (h >>> 32)`; for `i` in 1..=k: `c = hash1 + i·hash2`
//!   (32-bit wrapping), `c = ~c` if negative, position `c % m`.
//! - `BitsArray`: bit `i` is `1 << (i % 8)` of byte `i / 8`.
//!
//! The expected values in the tests come from `filter/oracle/BloomOracle.java`, which restates
//! the formulas and hashes with the real Guava (`javac -cp guava.jar`, run with
//! `java -cp guava.jar:. BloomOracle`; Guava 31.1 here, 4.9.8 ships 32.0.1 — `murmur3_128` is
//! the same in both), and the murmur3 tests use Guava's own known values.

mod bits;
mod murmur3;
#[cfg(test)]
mod tests;

use std::fmt;

pub use bits::BitsArray;

/// Where Java's bloom classes throw.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BloomError {
    #[error("f must be greater or equal than 1 and less than 100")]
    ErrorRate,
    #[error("n must be greater than 0")]
    ExpectedNum,
    #[error("Length({actual}) of bits in BitsArray is not equal to {expected}!")]
    BitsLength { actual: usize, expected: usize },
    #[error("Bloom filter data may not belong to this filter! {data}, {filter}")]
    ForeignData { data: String, filter: String },
    #[error("bit position {bit_pos} outside 0..{bit_length}")]
    BitPosition { bit_pos: i64, bit_length: usize },
    #[error("no bit positions")]
    NoPositions,
    #[error("Bytes is empty!")]
    EmptyBytes,
    #[error("bit length {bit_length} is less than {bytes} bytes")]
    BitLength { bit_length: usize, bytes: usize },
}

/// Java's `BloomFilterData`: the positions given to one consumer (`bitPos`) and the bit count
/// of the filter that gave them (`bitNum`), as `consumerFilter.json` stores them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BloomFilterData {
    pub bit_pos: Vec<i32>,
    pub bit_num: i32,
}

impl BloomFilterData {
    pub fn new(bit_pos: Vec<i32>, bit_num: i32) -> Self {
        Self { bit_pos, bit_num }
    }
}

/// Java's `toString`: `BloomFilterData{bitPos=[33, 81, 17], bitNum=112}`.
impl fmt::Display for BloomFilterData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BloomFilterData{{bitPos=[")?;
        for (i, p) in self.bit_pos.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{p}")?;
        }
        write!(f, "], bitNum={}}}", self.bit_num)
    }
}

/// Java's `BloomFilter`: `k` hash functions over `m` bits, sized for an error rate of `f` %
/// and `n` expected members.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BloomFilter {
    f: i32,
    n: i32,
    k: usize,
    m: usize,
}

fn log_mn(m: f64, n: f64) -> f64 {
    n.ln() / m.ln()
}

impl BloomFilter {
    /// Java's `createByFn(f, n)`: `f` the error rate in percent (1..=99), `n` the expected
    /// number of members (≥ 1).
    pub fn create_by_fn(f: i32, n: i32) -> Result<Self, BloomError> {
        if !(1..100).contains(&f) {
            return Err(BloomError::ErrorRate);
        }
        if n < 1 {
            return Err(BloomError::ExpectedNum);
        }
        let error_rate = f64::from(f) / 100.0;
        // As Java, in doubles: p = 0.5 per bit → k = log_0.5(errorRate).
        let k = log_mn(0.5, error_rate).ceil() as i32;
        let m = (f64::from(n) * log_mn(2.0, 1.0 / error_rate) * log_mn(2.0, std::f64::consts::E))
            .ceil() as i32;
        let m = (8.0 * (f64::from(m) / 8.0).ceil()) as i32;
        if k < 1 {
            // Unreachable for f in 1..=99; Java checks it anyway.
            return Err(BloomError::ErrorRate);
        }
        Ok(Self {
            f,
            n,
            k: k as usize,
            m: m as usize,
        })
    }

    /// The error rate in percent.
    pub fn f(&self) -> i32 {
        self.f
    }

    /// The expected number of members.
    pub fn n(&self) -> i32 {
        self.n
    }

    /// The number of hash functions (positions per member).
    pub fn k(&self) -> usize {
        self.k
    }

    /// The number of bits (a multiple of 8): a bitmap is `m / 8` bytes.
    pub fn m(&self) -> usize {
        self.m
    }

    /// A clear bitmap of `m` bits.
    pub fn new_bits(&self) -> BitsArray {
        BitsArray::new(self.m)
    }

    /// Java's `calcBitPositions`: the `k` positions of `s`.
    pub fn calc_bit_positions(&self, s: &str) -> Vec<i32> {
        let (h, _) = murmur3::murmur3_x64_128(s.as_bytes(), 0);
        let hash1 = h as i32;
        let hash2 = (h >> 32) as i32;
        (1..=self.k as i32)
            .map(|i| {
                let mut combined = hash1.wrapping_add(i.wrapping_mul(hash2));
                if combined < 0 {
                    combined = !combined;
                }
                combined % self.m as i32
            })
            .collect()
    }

    /// Java's `generate`: the positions of `s` with this filter's `m`.
    pub fn generate(&self, s: &str) -> BloomFilterData {
        BloomFilterData::new(self.calc_bit_positions(s), self.m as i32)
    }

    fn check(&self, bits: &BitsArray) -> Result<(), BloomError> {
        if bits.bit_length() != self.m {
            return Err(BloomError::BitsLength {
                actual: bits.bit_length(),
                expected: self.m,
            });
        }
        Ok(())
    }

    fn check_data(&self, data: &BloomFilterData) -> Result<(), BloomError> {
        if !self.is_valid(data) {
            return Err(BloomError::ForeignData {
                data: data.to_string(),
                filter: self.to_string(),
            });
        }
        Ok(())
    }

    /// Java's `hashTo(String, BitsArray)`: sets the positions of `s`.
    pub fn hash_to(&self, s: &str, bits: &mut BitsArray) -> Result<(), BloomError> {
        self.hash_to_positions(&self.calc_bit_positions(s), bits)
    }

    /// Java's `hashTo(int[], BitsArray)`: sets `positions` (the bitmap must have `m` bits).
    pub fn hash_to_positions(
        &self,
        positions: &[i32],
        bits: &mut BitsArray,
    ) -> Result<(), BloomError> {
        self.check(bits)?;
        for &p in positions {
            bits.set_bit(position(p, bits)?, true)?;
        }
        Ok(())
    }

    /// Java's `hashTo(BloomFilterData, BitsArray)`: [`is_valid`](Self::is_valid) first.
    pub fn hash_to_data(
        &self,
        data: &BloomFilterData,
        bits: &mut BitsArray,
    ) -> Result<(), BloomError> {
        self.check_data(data)?;
        self.hash_to_positions(&data.bit_pos, bits)
    }

    /// Java's `isHit(String, BitsArray)`.
    pub fn is_hit(&self, s: &str, bits: &BitsArray) -> Result<bool, BloomError> {
        self.is_hit_positions(&self.calc_bit_positions(s), bits)
    }

    /// Java's `isHit(int[], BitsArray)`: every position set (the bitmap must have `m` bits).
    pub fn is_hit_positions(
        &self,
        positions: &[i32],
        bits: &BitsArray,
    ) -> Result<bool, BloomError> {
        self.check(bits)?;
        if positions.is_empty() {
            return Err(BloomError::NoPositions);
        }
        let mut hit = true;
        for &p in positions {
            hit &= bits.get_bit(position(p, bits)?)?;
        }
        Ok(hit)
    }

    /// Java's `isHit(BloomFilterData, BitsArray)`: [`is_valid`](Self::is_valid) first.
    pub fn is_hit_data(
        &self,
        data: &BloomFilterData,
        bits: &BitsArray,
    ) -> Result<bool, BloomError> {
        self.check_data(data)?;
        self.is_hit_positions(&data.bit_pos, bits)
    }

    /// Java's `checkFalseHit`: whether every position is already set (no length check).
    pub fn check_false_hit(&self, positions: &[i32], bits: &BitsArray) -> Result<bool, BloomError> {
        for &p in positions {
            if !bits.get_bit(position(p, bits)?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Java's `isValid`: the data was made by a filter of this `m` and `k`.
    pub fn is_valid(&self, data: &BloomFilterData) -> bool {
        data.bit_num as i64 == self.m as i64 && data.bit_pos.len() == self.k
    }
}

fn position(p: i32, bits: &BitsArray) -> Result<usize, BloomError> {
    usize::try_from(p).map_err(|_| BloomError::BitPosition {
        bit_pos: i64::from(p),
        bit_length: bits.bit_length(),
    })
}

/// Java's `toString`: `f: 20, n: 32, k: 3, m: 112`.
impl fmt::Display for BloomFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "f: {}, n: {}, k: {}, m: {}",
            self.f, self.n, self.k, self.m
        )
    }
}
