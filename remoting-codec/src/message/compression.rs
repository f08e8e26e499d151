//! Body compression as selected by sysFlag.
//!
//! Clients compress bodies of 4096 bytes or more (zlib level 5 by default) and set
//! [`COMPRESSED_FLAG`] plus the type bits; the body then travels and is stored compressed, and
//! only the consumer inflates it. The broker inflates only where it must read a body (e.g.
//! filtering or the admin tools' views). Only zlib is implemented here; an LZ4 or ZSTD body (5.x
//! clients configured for it) is reported as [`MessageError::UnsupportedCompression`].
//!
//! Inflating takes a size limit, so a small hostile body cannot make us allocate without bound.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::sysflag::message_sys_flag::{self, COMPRESSED_FLAG};
use super::MessageError;

/// The default inflate limit. Java producers check `maxMessageSize` (4 MiB by default) on the body
/// before compressing it, so a genuine body inflates to at most that; 16 MiB leaves room for
/// producers configured higher.
pub const DEFAULT_MAX_INFLATE_SIZE: usize = 16 * 1024 * 1024;

/// The compression level Java's clients use (`compressLevel`, default 5).
pub const DEFAULT_COMPRESS_LEVEL: u32 = 5;

/// Java's `CompressionType`; the number is the value of sysFlag bits 8–10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionType {
    Lz4,
    Zstd,
    Zlib,
}

impl CompressionType {
    /// The value in bits 8–10 (1, 2, 3).
    pub fn value(self) -> i32 {
        match self {
            CompressionType::Lz4 => 1,
            CompressionType::Zstd => 2,
            CompressionType::Zlib => 3,
        }
    }

    /// Java's `findByValue`: 0 (clients older than the type bits) and 3 are zlib.
    pub fn find_by_value(value: i32) -> Result<Self, MessageError> {
        match value {
            0 | 3 => Ok(CompressionType::Zlib),
            1 => Ok(CompressionType::Lz4),
            2 => Ok(CompressionType::Zstd),
            v => Err(MessageError::UnknownCompressionType(v)),
        }
    }

    /// The sysFlag bits of this type (without the compressed flag itself).
    pub fn compression_flag(self) -> i32 {
        self.value() << 8
    }

    /// Java's `CompressionType.of`: the name, trimmed, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "LZ4" => Some(CompressionType::Lz4),
            "ZSTD" => Some(CompressionType::Zstd),
            "ZLIB" => Some(CompressionType::Zlib),
            _ => None,
        }
    }
}

/// The body as the application sees it: inflated when sysFlag has the compressed flag, shared
/// unchanged otherwise.
pub fn decompress_body(
    body: &Bytes,
    sys_flag: i32,
    max_size: usize,
) -> Result<Bytes, MessageError> {
    if sys_flag & COMPRESSED_FLAG == 0 {
        return Ok(body.clone());
    }
    match message_sys_flag::get_compression_type(sys_flag)? {
        CompressionType::Zlib => inflate_zlib(body, max_size).map(Bytes::from),
        other => Err(MessageError::UnsupportedCompression(other)),
    }
}

/// Inflates a zlib stream, refusing output larger than `max_size`.
pub fn inflate_zlib(data: &[u8], max_size: usize) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(max_size));
    let limit = u64::try_from(max_size)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    ZlibDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| MessageError::Decompress(e.to_string()))?;
    if out.len() > max_size {
        return Err(MessageError::DecompressedTooLarge(max_size));
    }
    Ok(out)
}

/// Deflates `data` as a zlib stream at `level` (0–9), as Java's `Deflater` does.
pub fn compress_zlib(data: &[u8], level: u32) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2 + 64),
        Compression::new(level.min(9)),
    );
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Compresses with `kind`; only zlib is available.
pub fn compress(data: &[u8], kind: CompressionType, level: u32) -> Result<Vec<u8>, MessageError> {
    match kind {
        CompressionType::Zlib => Ok(compress_zlib(data, level)),
        other => Err(MessageError::UnsupportedCompression(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_flags() {
        let text = b"hello hello hello hello".repeat(100);
        let z = Bytes::from(compress_zlib(&text, 5));
        assert_eq!(&decompress_body(&z, 769, 1 << 20).unwrap()[..], &text[..]);
        assert_eq!(&decompress_body(&z, 0x300, 1 << 20).unwrap()[..], &z[..]);
        assert_eq!(
            decompress_body(&z, 0x201, 1 << 20),
            Err(MessageError::UnsupportedCompression(CompressionType::Zstd))
        );
        assert!(matches!(
            decompress_body(&Bytes::from_static(b"junk"), 1, 100),
            Err(MessageError::Decompress(_))
        ));
    }

    #[test]
    fn bomb_is_bounded() {
        let zeros = vec![0u8; 10 << 20];
        let z = compress_zlib(&zeros, 9);
        assert!(z.len() < 20_000);
        assert_eq!(
            inflate_zlib(&z, 1 << 20),
            Err(MessageError::DecompressedTooLarge(1 << 20))
        );
        assert_eq!(inflate_zlib(&z, 10 << 20).unwrap().len(), 10 << 20);
    }
}
