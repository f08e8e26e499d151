//! The pieces of the Java runtime whose behaviour the selector language exposes: number parsing
//! (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf`), `Double.toString`, `String.hashCode`
//! with `HashSet` iteration order (an IN list of five or more is a `HashSet`, and its `toString`
//! appears in error texts), and JavaCC's `add_escapes`.

/// The BMP code points where a run of ten Unicode decimal digits (category Nd) starts:
/// `Character.digit(char, 10)` accepts all of them, so `Integer.valueOf` does too.
const DIGIT_ZEROS: &[u16] = &[
    0x0030, 0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
    0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80,
    0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0xFF10,
];

/// `Character.digit(ch, 10)` for a UTF-16 unit.
fn java_digit(unit: u16) -> Option<i64> {
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| unit >= zero && unit < zero + 10)
        .map(|&zero| i64::from(unit - zero))
}

/// `Long.parseLong(s, 10)` restricted to `[min, max]` (`Integer.parseInt` with i32 bounds): an
/// optional sign, then at least one decimal digit, no spaces. `None` = NumberFormatException.
fn parse_integral(s: &str, min: i64, max: i64) -> Option<i64> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let (negative, digits) = match units.first() {
        Some(&u) if u == u16::from(b'-') => (true, &units[1..]),
        Some(&u) if u == u16::from(b'+') => (false, &units[1..]),
        _ => (false, &units[..]),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively, as Java does, so the minimum value parses.
    let mut acc: i64 = 0;
    for &unit in digits {
        let digit = java_digit(unit)?;
        acc = acc.checked_mul(10)?.checked_sub(digit)?;
        if acc < min {
            return None;
        }
    }
    if negative {
        Some(acc)
    } else {
        let value = acc.checked_neg()?;
        (value <= max).then_some(value)
    }
}

/// `Integer.valueOf(String)`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_integral(s, i64::from(i32::MIN), i64::from(i32::MAX)).map(|v| v as i32)
}

/// `Long.valueOf(String)`.
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    parse_integral(s, i64::MIN, i64::MAX)
}

/// `String.trim()`: drops every char `<= ' '` at both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// `Double.valueOf(String)` (`FloatingDecimal.readJavaFormatString`): trimmed; optional sign;
/// `NaN`, `Infinity`, a hexadecimal `0x…p…` form, or decimal digits with an optional point and
/// exponent; an optional `f`/`F`/`d`/`D` suffix. `None` = NumberFormatException.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = java_trim(s);
    let (negative, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = if body == "NaN" {
        return Some(f64::NAN);
    } else if body == "Infinity" {
        f64::INFINITY
    } else if body.len() > 1 && (body.starts_with("0x") || body.starts_with("0X")) {
        parse_hex_double(&body[2..])?
    } else {
        parse_decimal_double(body)?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn strip_type_suffix(s: &str) -> &str {
    match s.as_bytes().last() {
        Some(b'f' | b'F' | b'd' | b'D') => &s[..s.len() - 1],
        _ => s,
    }
}

fn parse_decimal_double(body: &str) -> Option<f64> {
    let body = strip_type_suffix(body);
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    // Rust's parser rounds correctly, as Java's does; huge exponents give infinity or zero.
    body.parse::<f64>().ok()
}

/// `0x` hex digits, an optional point and more, then the mandatory binary exponent `p[+-]n`.
fn parse_hex_double(s: &str) -> Option<f64> {
    let s = strip_type_suffix(s);
    let p = s.find(['p', 'P'])?;
    let (mantissa, exponent) = (&s[..p], &s[p + 1..]);
    let exp_digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let exp_negative = exponent.starts_with('-');
    let exp_value: i64 = exp_digits
        .trim_start_matches('0')
        .parse::<i64>()
        .unwrap_or(if exp_digits.trim_start_matches('0').is_empty() {
            0
        } else {
            i64::MAX / 4
        })
        .min(i64::MAX / 4);
    let mut binary_exponent = if exp_negative { -exp_value } else { exp_value };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    // Significant bits: the first 62 kept exactly, the rest folded into a sticky bit.
    let mut bits: u64 = 0;
    let mut kept = 0u32;
    let mut sticky = false;
    let mut seen_one = false;
    for (index, c) in int_part.chars().chain(frac_part.chars()).enumerate() {
        let nibble = c.to_digit(16)? as u64;
        let fractional = index >= int_part.len();
        if fractional {
            binary_exponent -= 4;
        }
        if !seen_one && nibble == 0 {
            continue;
        }
        seen_one = true;
        if kept + 4 <= 60 {
            bits = (bits << 4) | nibble;
            kept += 4;
        } else {
            sticky |= nibble != 0;
            binary_exponent += 4;
        }
    }
    if bits == 0 {
        return Some(0.0);
    }
    Some(scale_binary(bits, sticky, binary_exponent))
}

/// The double nearest to `bits * 2^exponent` (ties to even), `sticky` meaning nonzero bits were
/// dropped below `bits`.
fn scale_binary(bits: u64, sticky: bool, exponent: i64) -> f64 {
    let width = 64 - i64::from(bits.leading_zeros());
    // The value is in [2^(width-1+exponent), 2^(width+exponent)).
    let top = width - 1 + exponent;
    if top > 1023 {
        return f64::INFINITY;
    }
    // Number of significand bits available: 53 for normals, fewer for subnormals.
    let precision = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if precision <= 0 {
        // Below half the smallest subnormal, or exactly at it (ties to even → 0 unless more).
        if precision == 0 && (bits != 1 << (width - 1) || sticky) {
            return f64::from_bits(1);
        }
        return 0.0;
    }
    let shift = width - precision;
    let (mut mantissa, mut exp) = if shift > 0 {
        let shift = shift as u32;
        let kept = bits >> shift;
        let rest = bits & ((1u64 << shift) - 1);
        let half = 1u64 << (shift - 1);
        let round_up = rest > half || (rest == half && (sticky || kept & 1 == 1));
        (kept + u64::from(round_up), exponent + i64::from(shift))
    } else {
        (bits << (-shift) as u32, exponent + shift)
    };
    if mantissa >> precision != 0 {
        mantissa >>= 1;
        exp += 1;
    }
    // mantissa * 2^exp, exact in f64 now (mantissa < 2^53).
    let mut value = mantissa as f64;
    while exp > 0 {
        let step = exp.min(1000);
        value *= 2f64.powi(step as i32);
        exp -= step;
    }
    while exp < 0 {
        let step = (-exp).min(1000);
        value /= 2f64.powi(step as i32);
        exp += step;
    }
    value
}

/// `Double.toString(double)` (JDK 19+: the shortest decimal that reads back, two digits when
/// that is closer; between 10^-3 and 10^7 as `ddd.ddd`, else as `d.dddE±n`). Older JDKs print
/// a few rare values with more digits.
pub(crate) fn double_to_string(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    let sign = if value < 0.0 { "-" } else { "" };
    let mut sci = format!("{:e}", value.abs());
    // Java picks among decimals of length 1 or 2 the closest when the shortest has one digit
    // (4.9E-324, not 5.0E-324).
    if !sci.contains('.') {
        let two = format!("{:.1e}", value.abs());
        if two.parse::<f64>() == Ok(value.abs()) {
            sci = two;
        }
    }
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let abs = value.abs();
    if (1e-3..1e7).contains(&abs) {
        let point = exponent + 1; // digits before the decimal point
        if point <= 0 {
            let zeros = "0".repeat((-point) as usize);
            format!("{sign}0.{zeros}{digits}")
        } else {
            let point = point as usize;
            let (int_part, frac_part) = if digits.len() > point {
                (digits[..point].to_string(), digits[point..].to_string())
            } else {
                (
                    format!("{digits}{}", "0".repeat(point - digits.len())),
                    String::new(),
                )
            };
            let frac_part = if frac_part.is_empty() {
                "0".to_string()
            } else {
                frac_part
            };
            format!("{sign}{int_part}.{frac_part}")
        }
    } else {
        let frac = if digits.len() > 1 { &digits[1..] } else { "0" };
        format!("{sign}{}.{frac}E{exponent}", &digits[..1])
    }
}

/// `String.hashCode()` over UTF-16 units.
pub(crate) fn string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The iteration order of `new HashSet<>(list)`: duplicates dropped, entries by bucket
/// (`(h ^ h >>> 16) & (capacity - 1)`), insertion order within a bucket. A bin reaching nine
/// entries doubles a table smaller than 64 (Java's `treeifyBin`); the tree order of a larger
/// table's overfull bin is not modelled (its entries stay in insertion order).
pub(crate) fn hash_set_order(list: &[String]) -> Vec<&str> {
    let requested = ((list.len() as f32 / 0.75) as usize + 1).max(16);
    let mut capacity = requested.next_power_of_two();
    let spread = |s: &str| {
        let h = string_hash(s) as u32;
        h ^ (h >> 16)
    };
    let mut entries: Vec<&str> = Vec::new();
    let mut buckets: Vec<Vec<&str>> = vec![Vec::new(); capacity];
    for item in list {
        if entries.contains(&item.as_str()) {
            continue;
        }
        entries.push(item);
        let index = spread(item) as usize & (capacity - 1);
        buckets[index].push(item);
        if buckets[index].len() >= 9 && capacity < 64 {
            capacity *= 2;
            let mut grown: Vec<Vec<&str>> = vec![Vec::new(); capacity];
            for old in &buckets {
                for &entry in old {
                    grown[spread(entry) as usize & (capacity - 1)].push(entry);
                }
            }
            buckets = grown;
        }
    }
    buckets.into_iter().flatten().collect()
}

/// JavaCC's `add_escapes` (ParseException and TokenMgrError texts).
pub(crate) fn add_escapes(units: &[u16]) -> String {
    let mut out = String::new();
    for &unit in units {
        match unit {
            0 => {}
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            0x22 => out.push_str("\\\""),
            0x27 => out.push_str("\\'"),
            0x5c => out.push_str("\\\\"),
            u if !(0x20..=0x7e).contains(&u) => out.push_str(&format!("\\u{u:04x}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_as_java_reads_them() {
        assert_eq!(parse_int("5"), Some(5));
        assert_eq!(parse_int("+5"), Some(5));
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int(" 5"), None);
        assert_eq!(parse_int("5.0"), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("\u{0663}"), Some(3)); // Arabic-Indic three
        assert_eq!(parse_int("\u{FF17}"), Some(7)); // fullwidth seven
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("9223372036854775808"), None);
    }

    #[test]
    fn doubles_as_java_reads_them() {
        assert_eq!(parse_double(" 1.5 "), Some(1.5));
        assert_eq!(parse_double("1."), Some(1.0));
        assert_eq!(parse_double(".5"), Some(0.5));
        assert_eq!(parse_double("5f"), Some(5.0));
        assert_eq!(parse_double("-1e3d"), Some(-1000.0));
        assert!(parse_double("NaN").unwrap().is_nan());
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_double("0x1p3"), Some(8.0));
        assert_eq!(parse_double("0x1.8p1"), Some(3.0));
        assert_eq!(parse_double("0x.8p0"), Some(0.5));
        assert_eq!(parse_double("0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(parse_double("0x1p1024"), Some(f64::INFINITY));
        assert_eq!(parse_double("0x1"), None);
        assert_eq!(parse_double("1e"), None);
        assert_eq!(parse_double("."), None);
        assert_eq!(parse_double("abc"), None);
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double(""), None);
    }

    #[test]
    fn double_to_string_as_java() {
        assert_eq!(double_to_string(1.5), "1.5");
        assert_eq!(double_to_string(1.0), "1.0");
        assert_eq!(double_to_string(3.1e10), "3.1E10");
        assert_eq!(double_to_string(1e7), "1.0E7");
        assert_eq!(double_to_string(9999999.0), "9999999.0");
        assert_eq!(double_to_string(0.001), "0.001");
        assert_eq!(double_to_string(0.0001), "1.0E-4");
        assert_eq!(double_to_string(f64::MAX), "1.7976931348623157E308");
        assert_eq!(double_to_string(f64::from_bits(1)), "4.9E-324");
        assert_eq!(double_to_string(-123.25), "-123.25");
        assert_eq!(double_to_string(0.5), "0.5");
        assert_eq!(double_to_string(100.0), "100.0");
        assert_eq!(double_to_string(3e10), "3.0E10");
    }

    #[test]
    fn hash_set_order_is_bucket_order() {
        // Single letters hash to their code: buckets 'a' = 97 & 15 = 1, 'b' = 2, …, 'p' = 0.
        let list: Vec<String> = ["c", "b", "a", "p", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(hash_set_order(&list), vec!["p", "a", "b", "c"]);
        assert_eq!(string_hash("hello"), 99162322);
    }
}
