//! [`BitsArray`]: Java's `filter.util.BitsArray`, a bit vector over a byte array.

use std::fmt;

use super::BloomError;

/// A bit vector of `bit_length` bits stored in `⌈bit_length / 8⌉` bytes. Bit `i` is bit
/// `i % 8` (value `1 << (i % 8)`, least significant first) of byte `i / 8`: the bytes are
/// exactly the consume-queue extension's `filterBitMap` of a Java broker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BitsArray {
    bytes: Vec<u8>,
    bit_length: usize,
}

impl BitsArray {
    /// All bits clear (Java's `create(bitLength)`).
    pub fn new(bit_length: usize) -> Self {
        Self {
            bytes: vec![0; bit_length.div_ceil(8)],
            bit_length,
        }
    }

    /// Over a copy of `bytes`, `8 × len` bits (Java's `create(byte[])`, as the broker reads a
    /// stored bitmap). Java refuses an empty array.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BloomError> {
        if bytes.is_empty() {
            return Err(BloomError::EmptyBytes);
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            bit_length: bytes.len() * 8,
        })
    }

    /// Over a copy of `bytes` with an explicit bit length (Java's `create(byte[], bitLength)`:
    /// the length may not be below `8 × len` — Java's check, kept as it is).
    pub fn from_bytes_with_len(bytes: &[u8], bit_length: usize) -> Result<Self, BloomError> {
        if bytes.is_empty() {
            return Err(BloomError::EmptyBytes);
        }
        if bit_length < 1 || bit_length < bytes.len() * 8 {
            return Err(BloomError::BitLength {
                bit_length,
                bytes: bytes.len(),
            });
        }
        Ok(Self {
            bytes: bytes.to_vec(),
            bit_length,
        })
    }

    pub fn bit_length(&self) -> usize {
        self.bit_length
    }

    pub fn byte_length(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes, as stored in a consume-queue extension unit.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    fn check(&self, bit_pos: usize) -> Result<(), BloomError> {
        // Java lets `bitPos == bitLength` through (then fails on the array or reads a bit past
        // the length); we refuse it.
        if bit_pos >= self.bit_length || bit_pos / 8 >= self.bytes.len() {
            return Err(BloomError::BitPosition {
                bit_pos: bit_pos as i64,
                bit_length: self.bit_length,
            });
        }
        Ok(())
    }

    pub fn get_bit(&self, bit_pos: usize) -> Result<bool, BloomError> {
        self.check(bit_pos)?;
        Ok(self.bytes[bit_pos / 8] & (1 << (bit_pos % 8)) != 0)
    }

    pub fn set_bit(&mut self, bit_pos: usize, value: bool) -> Result<(), BloomError> {
        self.check(bit_pos)?;
        let mask = 1u8 << (bit_pos % 8);
        if value {
            self.bytes[bit_pos / 8] |= mask;
        } else {
            self.bytes[bit_pos / 8] &= !mask;
        }
        Ok(())
    }

    /// Java's `or(BitsArray)`: byte-wise over the shorter length.
    pub fn or(&mut self, other: &BitsArray) {
        self.bytes
            .iter_mut()
            .zip(&other.bytes)
            .for_each(|(a, b)| *a |= b);
    }

    /// Java's `and(BitsArray)`: byte-wise over the shorter length.
    pub fn and(&mut self, other: &BitsArray) {
        self.bytes
            .iter_mut()
            .zip(&other.bytes)
            .for_each(|(a, b)| *a &= b);
    }

    /// Java's `xor(BitsArray)`: byte-wise over the shorter length.
    pub fn xor(&mut self, other: &BitsArray) {
        self.bytes
            .iter_mut()
            .zip(&other.bytes)
            .for_each(|(a, b)| *a ^= b);
    }
}

/// Java's `BitsArray.toString` (QUERY_CONSUME_QUEUE's `bitMap` field): the bytes from last to
/// first, each from its bit 7 to bit 0, a line break after every byte whose index is a multiple
/// of 8. Java's quirk is kept: when the bit length is not a multiple of 8, the last byte starts
/// at bit `bitLength % 8` (one bit more than the length holds).
impl fmt::Display for BitsArray {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let last = self.bytes.len().wrapping_sub(1);
        for (i, byte) in self.bytes.iter().enumerate().rev() {
            let top = if i == last && !self.bit_length.is_multiple_of(8) {
                self.bit_length % 8
            } else {
                7
            };
            for j in (0..=top).rev() {
                f.write_str(if byte & (1 << j) != 0 { "1" } else { "0" })?;
            }
            if i % 8 == 0 {
                f.write_str("\n")?;
            }
        }
        Ok(())
    }
}
