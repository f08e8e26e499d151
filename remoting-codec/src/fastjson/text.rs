//! Scalar text as fastjson's `SerializeWriter` produces it: string escaping (default and
//! `BrowserCompatible`), Java `double`/`float` text, and `byte[]` as base64.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_u_escape(out: &mut Vec<u8>, unit: u16) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((unit >> shift) & 0xF) as usize]);
    }
}

fn short_escape(c: char) -> Option<u8> {
    Some(match c {
        '"' => b'"',
        '\\' => b'\\',
        '\u{8}' => b'b',
        '\t' => b't',
        '\n' => b'n',
        '\u{c}' => b'f',
        '\r' => b'r',
        _ => return None,
    })
}

/// fastjson's default string form: `"` `\` and `\b \t \n \f \r` get short escapes, the other C0
/// controls, `U+007F..U+009F`, `U+2028` and `U+2029` become `\uXXXX` (upper-case hex), `/` and
/// all other characters are written as they are (UTF-8).
pub(crate) fn write_str_default(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let special = matches!(c, '"' | '\\' | '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
            || c == '\u{2028}'
            || c == '\u{2029}';
        if !special {
            continue;
        }
        out.extend_from_slice(&s.as_bytes()[start..i]);
        start = i + c.len_utf8();
        match short_escape(c) {
            Some(e) => out.extend_from_slice(&[b'\\', e]),
            None => push_u_escape(out, c as u16),
        }
    }
    out.extend_from_slice(&s.as_bytes()[start..]);
    out.push(b'"');
}

/// fastjson's `BrowserCompatible` string form: as the default, plus `/` is escaped as `\/` and
/// every character from `U+007F` up is written as `\uXXXX` UTF-16 units (a surrogate pair for
/// characters beyond the BMP), so the text is pure ASCII.
pub(crate) fn write_str_browser(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        if let Some(e) = short_escape(c) {
            out.extend_from_slice(&[b'\\', e]);
        } else if c == '/' {
            out.extend_from_slice(b"\\/");
        } else if (c as u32) < 0x20 || (c as u32) >= 0x7f {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                push_u_escape(out, *unit);
            }
        } else {
            out.push(c as u8);
        }
    }
    out.push(b'"');
}

/// Java's `Double.toString` layout over the shortest round-trip digits (fastjson's `RyuDouble`):
/// plain decimal with at least one fractional digit for magnitudes in `[1e-3, 1e7)` (`0.0`,
/// `12.5`, `1234567.0`, `0.001`), otherwise `d.dddE[-]x` (`1.0E7`, `1.234E-5`). NaN and the
/// infinities are written as `null`, as fastjson does.
pub(crate) fn write_java_double(out: &mut Vec<u8>, v: f64) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let sci = java_digits(format!("{:e}", v.abs()), || format!("{:.1e}", v.abs()));
    write_java_decimal(out, v.is_sign_negative(), v == 0.0, &sci);
}

/// As [`write_java_double`] for `float` (fastjson's `RyuFloat`, same layout).
pub(crate) fn write_java_float(out: &mut Vec<u8>, v: f32) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let sci = java_digits(format!("{:e}", v.abs()), || format!("{:.1e}", v.abs()));
    write_java_decimal(out, v.is_sign_negative(), v == 0.0, &sci);
}

/// Java keeps two significant digits in scientific notation; a one-digit shortest form there is
/// replaced by the value rounded to two digits (`4.9E-324` for the smallest subnormal, where the
/// shortest form would be `5E-324`).
fn java_digits(shortest: String, two_digits: impl FnOnce() -> String) -> String {
    match shortest.split_once('e') {
        Some((m, e)) if m.len() == 1 && !(-3..7).contains(&e.parse::<i32>().unwrap_or(0)) => {
            two_digits()
        }
        _ => shortest,
    }
}

/// `sci` is Rust's shortest `{:e}` text of the magnitude, e.g. `1.25e1`, `5e-324`.
fn write_java_decimal(out: &mut Vec<u8>, negative: bool, zero: bool, sci: &str) {
    if negative {
        out.push(b'-');
    }
    if zero {
        out.extend_from_slice(b"0.0");
        return;
    }
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let n = digits.len() as i32;
    if (-3..7).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exp - 1) as usize, b'0');
            out.extend_from_slice(&digits);
        } else if exp + 1 >= n {
            out.extend_from_slice(&digits);
            out.resize(out.len() + (exp + 1 - n) as usize, b'0');
            out.extend_from_slice(b".0");
        } else {
            let point = (exp + 1) as usize;
            out.extend_from_slice(&digits[..point]);
            out.push(b'.');
            out.extend_from_slice(&digits[point..]);
        }
    } else {
        out.push(digits[0]);
        out.push(b'.');
        if n == 1 {
            out.push(b'0');
        } else {
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'E');
        out.extend_from_slice(exp.to_string().as_bytes());
    }
}

/// `byte[]`: standard base64 alphabet with `=` padding, in quotes, never escaped.
pub(crate) fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.push(b'"');
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 0x3F) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dbl(v: f64) -> String {
        let mut out = Vec::new();
        write_java_double(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn doubles_are_written_like_java() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (12.5, "12.5"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1.5e-5, "1.5E-5"),
            (-3.25, "-3.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (5e-324, "4.9E-324"),
            (f64::NAN, "null"),
            (f64::INFINITY, "null"),
        ];
        for (v, text) in cases {
            assert_eq!(dbl(v), text, "{v:e}");
        }
    }

    #[test]
    fn strings_escape_like_serialize_writer() {
        let mut out = Vec::new();
        write_str_default(&mut out, "a\"b\\c/d\u{1}\u{b}\t\u{7f}\u{a0}é\u{2028}😀");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c/d\\u0001\\u000B\\t\\u007F\u{a0}é\\u2028😀\""
        );
        let mut out = Vec::new();
        write_str_browser(&mut out, "a/é\u{1}😀");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\/\\u00E9\\u0001\\uD83D\\uDE00\""
        );
    }

    #[test]
    fn bytes_are_base64() {
        for (bytes, text) in [
            (&b""[..], "\"\""),
            (b"f", "\"Zg==\""),
            (b"fo", "\"Zm8=\""),
            (b"foo", "\"Zm9v\""),
            (b"\xff\xfe\xfd\xfc", "\"//79/A==\""),
        ] {
            let mut out = Vec::new();
            write_base64(&mut out, bytes);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
    }
}
