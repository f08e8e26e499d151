//! The two header serializations of a frame: fastjson text (type 0) and Java's
//! `RocketMQSerializable` binary layout (type 1).
//!
//! Binary layout (big-endian): code i16 | language u8 | version i16 | opaque i32 | flag i32 |
//! remark length i32 + UTF-8 | extFields length i32 + entries (key length i16 + key, value
//! length i32 + value). A zero remark length means "no remark"; codes above 32767 do not fit and
//! are truncated to 16 bits, exactly as Java does.

use bytes::{BufMut, BytesMut};
use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;

use crate::codec::CodecError;
use crate::command::{LanguageCode, RemotingCommand};
use crate::ext_fields::ExtFields;

/// The header fields of a command, without its body and serialize type.
pub(crate) struct HeaderParts {
    pub code: i32,
    pub language: LanguageCode,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: Option<ExtFields>,
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Writes the header as fastjson does: keys sorted, nulls omitted, no whitespace.
pub(crate) fn write_json(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_slice(b"{\"code\":");
    write_int(out, cmd.code as i64);
    if let Some(ext) = &cmd.ext_fields {
        out.put_slice(b",\"extFields\":{");
        for (i, (k, v)) in ext.iter().enumerate() {
            if !write_plain_field(out, i > 0, k, v) {
                if i > 0 {
                    out.put_u8(b',');
                }
                write_json_string(out, k);
                out.put_u8(b':');
                write_json_string(out, v);
            }
        }
        out.put_u8(b'}');
    }
    out.put_slice(b",\"flag\":");
    write_int(out, cmd.flag as i64);
    out.put_slice(b",\"language\":\"");
    out.put_slice(cmd.language.name().as_bytes());
    out.put_slice(b"\",\"opaque\":");
    write_int(out, cmd.opaque as i64);
    if let Some(remark) = &cmd.remark {
        out.put_slice(b",\"remark\":");
        write_json_string(out, remark);
    }
    out.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
    write_int(out, cmd.version as i64);
    out.put_u8(b'}');
}

fn write_int(out: &mut BytesMut, v: i64) {
    out.put_slice(itoa_buf(v).as_bytes());
}

/// Decimal text of an integer without allocating.
fn itoa_buf(v: i64) -> ItoaBuf {
    let mut buf = ItoaBuf {
        bytes: [0; 20],
        start: 20,
    };
    let negative = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        buf.start -= 1;
        buf.bytes[buf.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        buf.start -= 1;
        buf.bytes[buf.start] = b'-';
    }
    buf
}

struct ItoaBuf {
    bytes: [u8; 20],
    start: usize,
}

/// Decimal text of any integer header field (`i8` … `u64`, as `i128`) without allocating:
/// what `to_string` gives.
pub(crate) struct DecimalBuf {
    bytes: [u8; 40],
}

impl DecimalBuf {
    pub(crate) fn new() -> Self {
        Self { bytes: [0; 40] }
    }

    pub(crate) fn format(&mut self, v: i128) -> &str {
        let mut start = self.bytes.len();
        // Every value given fits 64 bits of magnitude: 64-bit division, not 128.
        let mut n = v.unsigned_abs() as u64;
        loop {
            start -= 1;
            self.bytes[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            start -= 1;
            self.bytes[start] = b'-';
        }
        std::str::from_utf8(&self.bytes[start..]).expect("ASCII digits")
    }
}

impl ItoaBuf {
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

/// Writes `[,]"key":"value"` with one copy when neither needs an escape and the field is
/// short (a response header's fields: ids, offsets, regions); false, writing nothing,
/// otherwise.
fn write_plain_field(out: &mut BytesMut, comma: bool, key: &str, value: &str) -> bool {
    const ROOM: usize = 96;
    let (k, v) = (key.as_bytes(), value.as_bytes());
    let len = comma as usize + k.len() + v.len() + 5;
    if len > ROOM
        || k.iter()
            .chain(v)
            .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
    {
        return false;
    }
    let mut buf = [0u8; ROOM];
    let mut at = comma as usize;
    buf[0] = b',';
    buf[at] = b'"';
    buf[at + 1..at + 1 + k.len()].copy_from_slice(k);
    at += 1 + k.len();
    buf[at..at + 3].copy_from_slice(b"\":\"");
    at += 3;
    buf[at..at + v.len()].copy_from_slice(v);
    buf[at + v.len()] = b'"';
    out.put_slice(&buf[..len]);
    true
}

/// A JSON string literal: quotes, backslashes and control characters escaped (the property
/// separators 0x01/0x02 become `\u0001`/`\u0002`), everything else as raw UTF-8.
pub(crate) fn write_json_string(out: &mut BytesMut, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // A run without a byte to escape is skipped at once.
        i += crate::header_scan::plain_run(&bytes[i..]);
        let Some(&b) = bytes.get(i) else { break };
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.put_slice(&bytes[start..i]);
        if escape.is_empty() {
            out.put_slice(b"\\u00");
            out.put_u8(HEX[(b >> 4) as usize]);
            out.put_u8(HEX[(b & 0xf) as usize]);
        } else {
            out.put_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.put_slice(&bytes[start..]);
    out.put_u8(b'"');
}

#[derive(Deserialize)]
struct JsonHeader<'a> {
    #[serde(default)]
    code: i32,
    #[serde(default, borrow)]
    language: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<JsonExtFields>,
}

/// `extFields` as an ordered map. Values are strings from Java; other clients sometimes send
/// numbers or booleans, which are kept as their JSON text. Null values are dropped, as Java's
/// encoder skips them.
struct JsonExtFields(ExtFields);

impl<'de> Deserialize<'de> for JsonExtFields {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonExtFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut ext = ExtFields::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<String>()? {
                    match map.next_value::<serde_json::Value>()? {
                        serde_json::Value::Null => {}
                        serde_json::Value::String(s) => ext.insert(key, s),
                        other => ext.insert(key, other.to_string()),
                    }
                }
                Ok(JsonExtFields(ext))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads a JSON header: the fast single pass for the headers clients write
/// ([`crate::header_scan`]), serde_json for anything else.
pub(crate) fn read_json(header: &[u8]) -> Result<HeaderParts, CodecError> {
    match crate::header_scan::scan_json_header(header) {
        Some(parts) => Ok(parts),
        None => read_json_general(header),
    }
}

/// The general JSON header reader (and the source of the decoding errors).
pub(crate) fn read_json_general(header: &[u8]) -> Result<HeaderParts, CodecError> {
    let h: JsonHeader =
        serde_json::from_slice(header).map_err(|e| CodecError::InvalidJsonHeader(e.to_string()))?;
    Ok(HeaderParts {
        code: h.code,
        language: h
            .language
            .as_deref()
            .map(LanguageCode::from_name)
            .unwrap_or_default(),
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields: h.ext_fields.map(|e| e.0),
    })
}

// ---------------------------------------------------------------------------------------------
// ROCKETMQ binary

pub(crate) fn write_binary(cmd: &RemotingCommand, out: &mut BytesMut) {
    out.put_i16(cmd.code as i16);
    out.put_u8(cmd.language.code());
    out.put_i16(cmd.version as i16);
    out.put_i32(cmd.opaque);
    out.put_i32(cmd.flag);
    match cmd.remark.as_deref() {
        Some(remark) if !remark.is_empty() => {
            out.put_i32(remark.len() as i32);
            out.put_slice(remark.as_bytes());
        }
        _ => out.put_i32(0),
    }
    let len_at = out.len();
    out.put_i32(0);
    if let Some(ext) = &cmd.ext_fields {
        for (k, v) in ext.iter() {
            out.put_i16(k.len() as i16);
            out.put_slice(k.as_bytes());
            out.put_i32(v.len() as i32);
            out.put_slice(v.as_bytes());
        }
    }
    let ext_len = (out.len() - len_at - 4) as i32;
    out[len_at..len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
}

/// A bounds-checked reader over the binary header.
struct BinReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BinReader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        if self.buf.len() - self.pos < n {
            return Err(CodecError::TruncatedBinaryHeader(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn i16(&mut self, what: &'static str) -> Result<i16, CodecError> {
        Ok(i16::from_be_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn i32(&mut self, what: &'static str) -> Result<i32, CodecError> {
        Ok(i32::from_be_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, CodecError> {
        Ok(self.take(1, what)?[0])
    }
    fn string(&mut self, len: i64, what: &'static str) -> Result<String, CodecError> {
        if len < 0 {
            return Err(CodecError::InvalidBinaryHeader(format!(
                "negative {what} length {len}"
            )));
        }
        let bytes = self.take(len as usize, what)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

pub(crate) fn read_binary(header: &[u8]) -> Result<HeaderParts, CodecError> {
    let mut r = BinReader {
        buf: header,
        pos: 0,
    };
    let code = r.i16("code")? as i32;
    let language = LanguageCode::from_code(r.u8("language")?);
    let version = r.i16("version")? as i32;
    let opaque = r.i32("opaque")?;
    let flag = r.i32("flag")?;
    let remark_len = r.i32("remark length")?;
    let remark = match remark_len {
        0 => None,
        n => Some(r.string(n as i64, "remark")?),
    };
    let ext_len = r.i32("extFields length")?;
    let ext_fields = if ext_len > 0 {
        let end = r
            .pos
            .checked_add(ext_len as usize)
            .filter(|&e| e <= header.len());
        let end = end.ok_or(CodecError::TruncatedBinaryHeader("extFields"))?;
        let mut ext = ExtFields::new();
        while r.pos < end {
            let key_len = r.i16("extFields key length")?;
            let key = r.string(key_len as i64, "extFields key")?;
            let value_len = r.i32("extFields value length")?;
            let value = r.string(value_len as i64, "extFields value")?;
            ext.insert(key, value);
        }
        if r.pos != end {
            return Err(CodecError::InvalidBinaryHeader(
                "extFields overrun their length".into(),
            ));
        }
        Some(ext)
    } else if ext_len < 0 {
        return Err(CodecError::InvalidBinaryHeader(format!(
            "negative extFields length {ext_len}"
        )));
    } else {
        None
    };
    Ok(HeaderParts {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
    })
}

#[cfg(test)]
mod decimal_tests {
    use super::DecimalBuf;

    #[test]
    fn decimal_text_is_to_string() {
        for v in [
            0i128,
            7,
            -7,
            10,
            -10,
            i64::MAX as i128,
            i64::MIN as i128,
            u64::MAX as i128,
        ] {
            assert_eq!(DecimalBuf::new().format(v), v.to_string());
        }
    }
}

#[cfg(test)]
mod field_tests {
    use super::*;

    /// A field written in one copy is the same bytes as the quoted-string path, for plain,
    /// escaped, long, empty and non-ASCII keys and values, first or not.
    #[test]
    fn one_copy_fields_are_the_escaping_writer_bytes() {
        let long = "x".repeat(120);
        let cases = [
            ("msgId", "7F00000100002A9F0000000000000000"),
            ("queueId", "3"),
            ("", ""),
            ("k", "é😀"),
            ("q\"", "v"),
            ("k", "a\u{1}b\u{2}"),
            ("k", "back\\slash"),
            ("k", long.as_str()),
            (long.as_str(), "v"),
        ];
        for (key, value) in cases {
            for comma in [false, true] {
                let mut expected = BytesMut::new();
                if comma {
                    expected.put_u8(b',');
                }
                write_json_string(&mut expected, key);
                expected.put_u8(b':');
                write_json_string(&mut expected, value);
                let mut fast = BytesMut::new();
                if !write_plain_field(&mut fast, comma, key, value) {
                    assert!(fast.is_empty());
                    continue;
                }
                assert_eq!(fast, expected, "{key:?}: {value:?}");
            }
        }
        // The plain short ones do take the one-copy path.
        assert!(write_plain_field(
            &mut BytesMut::new(),
            true,
            "queueId",
            "3"
        ));
        assert!(!write_plain_field(&mut BytesMut::new(), true, "k", &long));
    }
}
