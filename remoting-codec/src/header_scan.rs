//! The fast path of the JSON header: a single pass over the header as Java's fastjson (and
//! every client we know) writes it — an object with the fields `code`, `extFields`, `flag`,
//! `language`, `opaque`, `remark`, `serializeTypeCurrentRPC` and `version`, integers as plain
//! decimals, `extFields` an object of string values.
//!
//! It accepts only what it is sure to read exactly as the general path (serde_json into
//! `JsonHeader`) reads it, and answers `None` for anything else — another key, a duplicate
//! field, a `null`, a number with a fraction or exponent or out of `i32`, a non-string
//! `extFields` value, a lone surrogate escape, trailing bytes — which then goes through the
//! general path (which also produces the errors). The property test in `tests/frame_props.rs`
//! and the unit tests below hold both paths to the same answers.

use crate::command::LanguageCode;
use crate::ext_fields::ExtFields;
use crate::header::HeaderParts;

struct Scan<'a> {
    /// The whole header, checked as UTF-8 once: serde refuses invalid UTF-8 anywhere in a
    /// header (inside a string as such, outside as a syntax error), so one check up front
    /// accepts exactly what checking every string would, and a string's text is then a slice
    /// of `s` between ASCII delimiters, a character boundary each.
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next non-blank byte, consumed if it is `c`.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A string literal, unescaped, as an owned string.
    fn string(&mut self) -> Option<String> {
        let mut scratch = String::new();
        self.str_in(&mut scratch).map(str::to_owned)
    }

    /// A string literal, unescaped: a slice of the header itself when it has no escape, else
    /// unescaped into `scratch` (cleared first), so that reading a header's fields allocates
    /// nothing per field.
    ///
    /// Runs of plain bytes are found 16 bytes at a time ([`plain_run`]): Java's properties
    /// string, the longest field of a send, is short runs between `\u0001` / `\u0002` escapes.
    /// A run ends at an ASCII byte, so every run is a slice of the checked header text.
    fn str_in<'s>(&mut self, scratch: &'s mut String) -> Option<&'s str>
    where
        'a: 's,
    {
        if !self.eat(b'"') {
            return None;
        }
        let (b, text): (&'a [u8], &'a str) = (self.b, self.s);
        scratch.clear();
        let mut escaped = false;
        loop {
            let run_start = self.i;
            self.i += plain_run(&b[self.i..]);
            let run = text.get(run_start..self.i)?;
            match *b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    if !escaped {
                        return Some(run);
                    }
                    scratch.push_str(run);
                    return Some(scratch);
                }
                b'\\' => {
                    escaped = true;
                    scratch.push_str(run);
                    self.i += 1;
                    scratch.push(self.escape()?);
                }
                _ => return None, // a control byte
            }
        }
    }

    /// A key of one plain ASCII character written as fastjson writes it (`"a"`, no blank
    /// before it), taken without the general string machinery: every key of the V2 send
    /// header is one letter. Anything else (`None`, nothing consumed) goes to
    /// [`str_in`](Self::str_in).
    fn one_byte_key(&mut self) -> Option<&'a str> {
        match self.b.get(self.i..self.i + 3)? {
            &[b'"', c, b'"'] if (0x20..0x80).contains(&c) && c != b'"' && c != b'\\' => {
                self.i += 3;
                // One ASCII byte between ASCII delimiters: a whole character of the text.
                self.s.get(self.i - 2..self.i - 1)
            }
            _ => None,
        }
    }

    /// A string without escapes at the current byte (a `"`, no blank before it), as a slice
    /// of the header: most values of a header. `None`, nothing consumed, for anything else
    /// (an escape, a control byte, the end), which [`str_in`](Self::str_in) then reads.
    fn plain_string(&mut self) -> Option<&'a str> {
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let end = start + plain_run(&self.b[start..]);
        if self.b.get(end) != Some(&b'"') {
            return None;
        }
        self.i = end + 1;
        // Between two ASCII delimiters: character boundaries of the checked text.
        self.s.get(start..end)
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Option<char> {
        let e = *self.b.get(self.i)?;
        self.i += 1;
        Some(match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                // Exactly four hex digits.
                let hex = self.b.get(self.i..self.i + 4)?;
                let mut code = 0u32;
                for &h in hex {
                    code = code * 16 + (h as char).to_digit(16)?;
                }
                self.i += 4;
                // Surrogates (pairs or lone) are left to the general path.
                char::from_u32(code)?
            }
            _ => return None,
        })
    }

    /// A plain decimal integer that fits an `i32`.
    fn int(&mut self) -> Option<i32> {
        self.ws();
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while let Some(b'0'..=b'9') = self.b.get(self.i) {
            self.i += 1;
        }
        let n = self.i - digits;
        // JSON has no leading zeros; a fraction or exponent is not an i32 for serde, and
        // neither is `-0` (serde_json reads it as the float -0.0 to keep its sign).
        if n == 0
            || (n > 1 && self.b[digits] == b'0')
            || (digits > start && n == 1 && self.b[digits] == b'0')
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        // At most 10 digits fit an i32; more are refused without parsing (serde reads them
        // as a wider integer or a float, not an i32).
        if n > 10 {
            return None;
        }
        let mut v = 0i64;
        for &d in &self.b[digits..self.i] {
            v = v * 10 + (d - b'0') as i64;
        }
        if digits > start {
            v = -v;
        }
        i32::try_from(v).ok()
    }

    fn ext_fields(&mut self) -> Option<ExtFields> {
        if !self.eat(b'{') {
            return None;
        }
        // The fields' text is shorter than the header's.
        let mut ext = ExtFields::with_text_capacity(16, self.b.len() - self.i);
        if self.eat(b'}') {
            return Some(ext);
        }
        let (mut key_scratch, mut value_scratch) = (String::new(), String::with_capacity(256));
        // One bit per class of the keys seen so far: a key whose class is new cannot be a
        // duplicate and is added without searching the map (a header's keys are all
        // different; Java's map keeps the last of a duplicate, which `insert` does for a key
        // whose class was seen). A one-byte key (every key of the V2 send header) is its own
        // class in `seen_short`, other keys a (length, first byte, last byte) class in `seen`.
        let (mut seen, mut seen_short) = (0u64, 0u128);
        loop {
            let key = match self.one_byte_key() {
                Some(key) => key,
                None => self.str_in(&mut key_scratch)?,
            };
            if !self.eat(b':') {
                return None;
            }
            if self.peek()? != b'"' {
                return None;
            }
            let value = match self.plain_string() {
                Some(value) => value,
                None => self.str_in(&mut value_scratch)?,
            };
            let new_class = match key.as_bytes() {
                // ASCII: a one-byte string is one ASCII character.
                &[c] => {
                    let bit = 1u128 << (c & 127);
                    let new = seen_short & bit == 0;
                    seen_short |= bit;
                    new
                }
                _ => {
                    let bit = key_class_bit(key);
                    let new = seen & bit == 0;
                    seen |= bit;
                    new
                }
            };
            if new_class {
                ext.push_new(key, value);
            } else {
                ext.insert(key, value);
            }
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(ext);
        }
    }
}

/// The bit of `key`'s class in the scan's 64-bit set of seen key classes.
fn key_class_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, last) = (
        b.first().copied().unwrap_or(0),
        b.last().copied().unwrap_or(0),
    );
    let class = (b.len() as u32)
        .wrapping_mul(31)
        .wrapping_add(first as u32 * 7)
        .wrapping_add(last as u32);
    1u64 << (class % 64)
}

/// The bytes that end a plain run of a string: `"`, `\\` and the control bytes.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = c < 0x20 || c == b'"' as usize || c == b'\\' as usize;
        c += 1;
    }
    t
};

/// The length of the plain run that starts `b`: the index of its first `"`, `\\` or control
/// byte (< 0x20), or `b.len()`. Sixteen bytes per step with SSE2 (every x86-64 has it) while
/// 16 remain, then byte by byte: a header's runs are a few bytes long, so one step usually
/// finds the end, where a byte loop took a compare and a branch per byte.
pub(crate) fn plain_run(b: &[u8]) -> usize {
    let mut n = 0;
    #[cfg(target_arch = "x86_64")]
    while let Some(block) = b.get(n..n + 16) {
        let block: &[u8; 16] = block.try_into().expect("a 16-byte slice");
        let stops = stops_in(block);
        if stops != 0 {
            return n + stops.trailing_zeros() as usize;
        }
        n += 16;
    }
    while n < b.len() && !STOP[b[n] as usize] {
        n += 1;
    }
    n
}

/// A bit per byte of `block`, set where the byte ends a plain run.
#[cfg(target_arch = "x86_64")]
fn stops_in(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of x86-64, and the load reads exactly the 16 bytes of `block`
    // (an unaligned load, which `_mm_loadu_si128` allows).
    unsafe {
        let x = _mm_loadu_si128(block.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8));
        // x < 0x20 unsigned ⇔ min(x, 0x1f) == x (SSE2 compares bytes only as signed).
        let control = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// The header's fields if the bytes are a header this path reads exactly; `None` sends them
/// to the general path.
pub(crate) fn scan_json_header(header: &[u8]) -> Option<HeaderParts> {
    let text = std::str::from_utf8(header).ok()?;
    let mut s = Scan {
        s: text,
        b: header,
        i: 0,
    };
    if !s.eat(b'{') {
        return None;
    }
    let mut parts = HeaderParts {
        code: 0,
        language: LanguageCode::default(),
        version: 0,
        opaque: 0,
        flag: 0,
        remark: None,
        ext_fields: None,
    };
    // Bits of the fields seen: a repeated field is an error for serde, so it is left to it.
    let mut seen = 0u8;
    let mut once = |bit: u8| {
        let first = seen & bit == 0;
        seen |= bit;
        first.then_some(())
    };
    let (mut key_scratch, mut value_scratch) = (String::new(), String::new());
    if !s.eat(b'}') {
        loop {
            s.ws();
            let key = match s.plain_string() {
                Some(key) => key,
                None => s.str_in(&mut key_scratch)?,
            };
            if !s.eat(b':') {
                return None;
            }
            match key {
                "code" => {
                    once(1)?;
                    parts.code = s.int()?;
                }
                "flag" => {
                    once(2)?;
                    parts.flag = s.int()?;
                }
                "opaque" => {
                    once(4)?;
                    parts.opaque = s.int()?;
                }
                "version" => {
                    once(8)?;
                    parts.version = s.int()?;
                }
                "language" => {
                    once(16)?;
                    parts.language = LanguageCode::from_name(s.str_in(&mut value_scratch)?);
                }
                "remark" => {
                    once(32)?;
                    parts.remark = Some(s.string()?);
                }
                "extFields" => {
                    once(64)?;
                    parts.ext_fields = Some(s.ext_fields()?);
                }
                // Read by serde only to be ignored: a string of any value.
                "serializeTypeCurrentRPC" => {
                    once(128)?;
                    s.str_in(&mut value_scratch)?;
                }
                _ => return None,
            }
            if s.eat(b',') {
                continue;
            }
            if s.eat(b'}') {
                break;
            }
            return None;
        }
    }
    s.ws();
    (s.i == header.len()).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::read_json_general;

    fn same(header: &str) -> bool {
        let fast = scan_json_header(header.as_bytes());
        let general = read_json_general(header.as_bytes()).ok();
        match (&fast, &general) {
            (Some(f), Some(g)) => {
                assert_eq!(
                    (f.code, f.language, f.version, f.opaque, f.flag),
                    (g.code, g.language, g.version, g.opaque, g.flag),
                    "{header}"
                );
                assert_eq!(f.remark, g.remark, "{header}");
                assert_eq!(f.ext_fields, g.ext_fields, "{header}");
                true
            }
            (None, _) => false,
            (Some(_), None) => panic!("fast path read what the general path refuses: {header}"),
        }
    }

    /// Every stop byte at every position of a 40-byte run of plain bytes (ASCII and bytes
    /// ≥ 0x80, which a signed compare would take for control bytes) is found exactly.
    #[test]
    fn plain_run_finds_each_stop_at_each_position() {
        for stop in [b'"', b'\\', 0x00, 0x01, 0x1f] {
            for at in 0..40 {
                let mut bytes: Vec<u8> = (0..40).map(|i| [b'a', 0x80, 0xff, 0x20][i % 4]).collect();
                assert_eq!(plain_run(&bytes), 40);
                bytes[at] = stop;
                assert_eq!(plain_run(&bytes), at, "stop {stop:#x} at {at}");
            }
        }
    }
    #[test]
    fn java_headers_take_the_fast_path_with_the_same_answer() {
        assert!(same(
            r#"{"code":310,"extFields":{"a":"grp","b":"Topic","e":"-1","i":"TAGS\u0001TagA\u0002WAIT\u0001true\u0002","m":"false"},"flag":0,"language":"JAVA","opaque":42,"serializeTypeCurrentRPC":"JSON","version":399}"#
        ));
        assert!(same(
            r#"{"code":0,"flag":1,"language":"CPP","opaque":-7,"remark":"a \"quoted\" \\ é \/ \t","version":0}"#
        ));
        assert!(same(r#" { "code" : 1 , "extFields" : { } } "#));
        assert!(same("{}"));
        assert!(same(r#"{"extFields":{"k":"1","k":"2"}}"#));
        // Duplicates among keys of one class and of different classes, keys sharing a class.
        assert!(same(
            r#"{"extFields":{"ab":"1","a":"x","ab":"2","k":"3","bb":"4","k":"5","ba":"6","ab":"7"}}"#
        ));
        assert!(same(r#"{"code":-2147483648,"opaque":2147483647}"#));
        // Keys and values beside the one-byte and plain-string shortcuts: blanks around them,
        // an escaped key equal to a plain one (the later wins), escapes of the delimiters.
        assert!(same(
            r#"{ "code" :1, "extFields" : { "a" : "1" , "b":"x\"y"}}"#
        ));
        assert!(same(
            r#"{"extFields":{"a":"x","\u0061":"y","\"":"q","\\":"b","\/":"s"}}"#
        ));
        assert!(same(
            r#"{"extFields":{"~":"","\u007f":"del","ab":"\u0001"}}"#
        ));
    }

    #[test]
    fn anything_unusual_is_left_to_the_general_path() {
        for header in [
            r#"{"code":1,"code":2}"#,
            r#"{"code":1.0}"#,
            r#"{"code":1e3}"#,
            r#"{"code":01}"#,
            r#"{"flag":-0}"#,
            r#"{"code":2147483648}"#,
            r#"{"remark":null}"#,
            r#"{"extFields":{"k":1}}"#,
            r#"{"extFields":{"k":null}}"#,
            r#"{"extFields":{"k":true}}"#,
            r#"{"unknown":"x"}"#,
            r#"{"remark":"\ud83d\ude00"}"#,
            r#"{"remark":"\ud83d"}"#,
            r#"{"code":1}x"#,
            r#"{"code":1"#,
            r#"{"remark":"a"#,
            "{\"remark\":\"a\u{1}\"}",
            r#"{"remark":"\x"}"#,
            r#"{"remark":"\u+002"}"#,
            "",
            "[]",
        ] {
            assert!(!same(header), "{header}");
        }
    }

    #[test]
    fn invalid_utf8_anywhere_is_left_to_the_general_path() {
        for header in [
            &b"{\"remark\":\"a\xff\"}"[..],
            b"{\"extFields\":{\"k\xc3\":\"v\"}}",
            b"{\"code\":1 \xe9}",
        ] {
            assert!(scan_json_header(header).is_none());
            assert!(read_json_general(header).is_err());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The word-at-a-time skip agrees with a byte loop: it covers exactly the whole words
        /// before the first `"`, `\\` or control byte (bytes drawn so that each is likely).
        #[test]
        fn plain_run_is_the_first_byte_that_ends_a_run(
            bytes in proptest::collection::vec(
                proptest::prop_oneof![
                    // Mostly plain, so that runs also reach past one or two 16-byte steps.
                    30 => 0x20u8..=0xff,
                    1 => proptest::prelude::Just(b'"'),
                    1 => proptest::prelude::Just(b'\\'),
                    1 => 0u8..0x20,
                ],
                0..80,
            ),
        ) {
            let stop = bytes
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(bytes.len());
            proptest::prop_assert_eq!(plain_run(&bytes), stop);
        }

        /// Any edit of a Java header (a byte replaced, inserted or removed, or the header cut)
        /// is read by the fast path exactly as by the general one, or left to it.
        #[test]
        fn edited_headers_never_read_differently(
            pos in 0usize..400,
            byte in proptest::prelude::any::<u8>(),
            edit in 0u8..4,
        ) {
            let java = br#"{"code":310,"extFields":{"a":"grp","b":"Topic","e":"-1","i":"TAGS\u0001TagA\u0002WAIT\u0001true\u0002","m":"false"},"flag":0,"language":"JAVA","opaque":42,"remark":"r\"\n","serializeTypeCurrentRPC":"JSON","version":399}"#;
            let mut h = java.to_vec();
            let pos = pos % h.len();
            match edit {
                0 => h[pos] = byte,
                1 => h.insert(pos, byte),
                2 => { h.remove(pos); }
                _ => h.truncate(pos),
            }
            let fast = scan_json_header(&h);
            let general = read_json_general(&h).ok();
            match (fast, general) {
                (Some(f), Some(g)) => {
                    proptest::prop_assert_eq!(
                        (f.code, f.language, f.version, f.opaque, f.flag, f.remark, f.ext_fields),
                        (g.code, g.language, g.version, g.opaque, g.flag, g.remark, g.ext_fields)
                    );
                }
                (Some(_), None) => proptest::prop_assert!(false, "fast read what general refuses: {:?}", String::from_utf8_lossy(&h)),
                _ => {}
            }
        }
    }
}
