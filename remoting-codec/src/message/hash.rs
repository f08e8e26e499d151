//! Java hashing and hex helpers the protocol depends on.

/// Java's `String.hashCode` over the UTF-16 code units of `s` (so non-BMP characters count as
/// two surrogate units, exactly as in Java).
///
/// An ASCII byte is its own UTF-16 unit, so the hash runs over bytes up to the first non-ASCII
/// one (topics, keys and tags are usually all ASCII) and over the UTF-16 units of the rest.
pub fn java_string_hash_code(s: &str) -> i32 {
    java_string_hash_continue(0, s)
}

/// The Java hash of a string that starts with a string hashing to `h` and goes on with `s`:
/// `java_string_hash_continue(java_string_hash_code(a), b)` is the hash of `a + b`, without
/// building it (the index hashes `topic#key` per key this way).
///
/// Eight ASCII bytes are folded at once: `h·31⁸ + b₀·31⁷ + … + b₇` (wrapping, as Java's `int`),
/// the same value as eight steps of `h·31 + b` with independent multiplications instead of a
/// chain of eight (the index hashes two or three keys of 30 to 60 bytes per message).
pub fn java_string_hash_continue(h: i32, s: &str) -> i32 {
    let bytes = s.as_bytes();
    let mut h = h;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let chunk: &[u8; 8] = chunk.try_into().expect("an 8-byte slice");
        if u64::from_le_bytes(*chunk) & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        let mut sum = h.wrapping_mul(POW31[8]);
        for (k, &b) in chunk.iter().enumerate() {
            sum = sum.wrapping_add((b as i32).wrapping_mul(POW31[7 - k]));
        }
        h = sum;
        i += 8;
    }
    for (j, &b) in bytes[i..].iter().enumerate() {
        if b >= 0x80 {
            // A non-ASCII byte after ASCII ones starts a character.
            return s[i + j..]
                .encode_utf16()
                .fold(h, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32));
        }
        h = h.wrapping_mul(31).wrapping_add(b as i32);
    }
    h
}

/// `31^k` as Java's wrapping `int`, for k = 0..=8.
const POW31: [i32; 9] = {
    let mut p = [1i32; 9];
    let mut k = 1;
    while k < 9 {
        p[k] = p[k - 1].wrapping_mul(31);
        k += 1;
    }
    p
};

/// The tags code a consume-queue entry stores (`MessageExtBrokerInner.tagsString2tagsCode`):
/// 0 for no or empty tags, else the tags' `String.hashCode` widened to `long` (sign-extended).
pub fn tags_string_to_tags_code(tags: Option<&str>) -> i64 {
    match tags {
        None | Some("") => 0,
        Some(t) => java_string_hash_code(t) as i64,
    }
}

/// Java's `UtilAll.crc32`: CRC32 with the top bit cleared, so it fits a positive `int`.
pub fn crc32(data: &[u8]) -> i32 {
    (crc32fast::hash(data) & 0x7FFF_FFFF) as i32
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Java's `UtilAll.bytes2string`: uppercase hex.
/// Filled as bytes and checked once (a push per digit costs a capacity check each; the send
/// path makes an id per stored message).
pub fn bytes_to_hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 0xF) as usize];
    }
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Hex (either case) to bytes; `None` on an odd length or a non-hex character (Java's
/// `string2bytes` silently produces garbage instead).
pub fn hex_to_bytes(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.as_bytes();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_codes() {
        assert_eq!(java_string_hash_code(""), 0);
        assert_eq!(java_string_hash_code("TagA"), 2598919);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE, a known Java curiosity.
        assert_eq!(java_string_hash_code("polygenelubricants"), i32::MIN);
        // U+1F600 is two UTF-16 units: 0xD83D 0xDE00.
        assert_eq!(java_string_hash_code("\u{1F600}"), 0xD83D * 31 + 0xDE00);
        // ASCII then non-ASCII: the same as a fold over every UTF-16 unit.
        for text in [
            "topic#ké\u{1F600}x",
            "é",
            "ab\u{7FF}\u{800}cd",
            "Topic#0A1B2C",
        ] {
            let units = text
                .encode_utf16()
                .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32));
            assert_eq!(java_string_hash_code(text), units, "{text}");
        }
        // Every length around the 8-byte steps, and a non-ASCII character at every place.
        let base = "abcdefghijklmnopqrstuvwxyz0123456789#TOPIC_key";
        for len in 0..base.len() {
            for insert in [None, Some("é"), Some("\u{1F600}")] {
                for at in 0..=len {
                    let mut text = base[..len].to_owned();
                    if let Some(c) = insert {
                        text.insert_str(at, c);
                    } else if at > 0 {
                        break;
                    }
                    let units = text
                        .encode_utf16()
                        .fold(7i32, |h, u| h.wrapping_mul(31).wrapping_add(u as i32));
                    assert_eq!(java_string_hash_continue(7, &text), units, "{text}");
                }
            }
        }
        assert_eq!(
            tags_string_to_tags_code(Some("polygenelubricants")),
            i32::MIN as i64
        );
        assert_eq!(tags_string_to_tags_code(Some("")), 0);
    }

    #[test]
    fn hex_and_crc() {
        assert_eq!(bytes_to_hex(&[0x7f, 0, 0, 1]), "7F000001");
        assert_eq!(hex_to_bytes("7f000001"), Some(vec![0x7f, 0, 0, 1]));
        assert_eq!(hex_to_bytes("7G"), None);
        assert_eq!(crc32(b"123456789"), 0xCBF43926u32 as i32 & 0x7FFF_FFFF);
    }
}
