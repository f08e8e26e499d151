//! The lenient reader: rewrites fastjson text into standard JSON, which serde_json then reads.
//!
//! Rewritten: unquoted keys (`0`, `-1`, `9223372036854775807`, `1.5`, `true`, `null`, bare
//! identifiers) become quoted keys; an object or array used as a key becomes a string key holding
//! its compact standard JSON (what [`crate::protocol::MessageQueue`]'s `Deserialize` reads);
//! whitespace (space, `\t`, `\n`, `\r`, `\f`, `\b`) is dropped; raw control characters inside
//! strings become `\u00XX`; the non-standard escapes fastjson's parser accepts (`\v`, `\'`,
//! `\xHH`) become standard ones; a trailing comma before `}` or `]` is dropped. Everything else
//! (numbers, literals, strings, escapes) must already be standard JSON.
//!
//! Nesting is capped at [`MAX_DEPTH`]: serde_json refuses deeper input anyway, and no RocketMQ
//! body comes close (route and consumer-running-info bodies nest about six levels), so the cap
//! keeps the recursion of this reader bounded without ever rejecting a real body.

use super::JsonError;

/// The deepest nesting of objects and arrays accepted (serde_json's own limit).
pub const MAX_DEPTH: usize = 127;

pub(crate) fn rewrite(input: &[u8]) -> Result<String, JsonError> {
    let text = std::str::from_utf8(input)
        .map_err(|e| JsonError::syntax("invalid UTF-8", input, e.valid_up_to()))?;
    let mut r = Reader {
        input: text.as_bytes(),
        pos: 0,
        out: Vec::with_capacity(input.len() + 16),
    };
    r.skip_ws();
    r.value(0)?;
    r.skip_ws();
    if r.pos < r.input.len() {
        return Err(r.error("trailing characters after the JSON value"));
    }
    // Only whole UTF-8 sequences of valid input and ASCII are ever copied.
    String::from_utf8(r.out).map_err(|e| JsonError::custom_msg(e.to_string()))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    out: Vec<u8>,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> JsonError {
        JsonError::syntax(what, self.input, self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0C | 0x08) = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string(),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't' | b'f' | b'n') => self.literal(),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input, expected a value")),
        }
    }

    fn enter(&self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("objects and arrays nested too deeply"));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.pos += 1;
        self.out.push(b'{');
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.out.push(b'}');
            return Ok(());
        }
        loop {
            self.key(depth)?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after an object key"));
            }
            self.pos += 1;
            self.out.push(b':');
            self.skip_ws();
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        self.out.push(b'}');
                        return Ok(());
                    }
                    self.out.push(b',');
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.out.push(b'}');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), JsonError> {
        self.enter(depth)?;
        self.pos += 1;
        self.out.push(b'[');
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.out.push(b']');
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        self.out.push(b']');
                        return Ok(());
                    }
                    self.out.push(b',');
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.out.push(b']');
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or ']' in an array")),
            }
        }
    }

    /// A key, always written as a quoted string.
    fn key(&mut self, depth: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => {
                let start = self.out.len();
                self.value(depth)?;
                let compact = String::from_utf8(self.out.split_off(start))
                    .map_err(|e| JsonError::custom_msg(e.to_string()))?;
                let quoted = serde_json::to_string(&compact).map_err(JsonError::custom_msg)?;
                self.out.extend_from_slice(quoted.as_bytes());
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                self.out.push(b'"');
                self.number()?;
                self.out.push(b'"');
                Ok(())
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'$') {
                        break;
                    }
                    self.pos += 1;
                }
                self.out.push(b'"');
                self.out.extend_from_slice(&self.input[start..self.pos]);
                self.out.push(b'"');
                Ok(())
            }
            Some(_) => Err(self.error("expected an object key")),
            None => Err(self.error("unexpected end of input, expected an object key")),
        }
    }

    fn string(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        self.pos += 1;
        self.out.push(b'"');
        loop {
            let Some(c) = self.peek() else {
                self.pos = start;
                return Err(self.error("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => {
                    self.out.push(b'"');
                    return Ok(());
                }
                b'\\' => self.escape()?,
                0x00..=0x1F => self.push_u_escape(u32::from(c)),
                _ => self.out.push(c),
            }
        }
    }

    fn push_u_escape(&mut self, unit: u32) {
        self.out
            .extend_from_slice(format!("\\u{unit:04X}").as_bytes());
    }

    fn escape(&mut self) -> Result<(), JsonError> {
        let Some(c) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.pos += 1;
        match c {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.out.extend_from_slice(&[b'\\', c]);
            }
            b'u' => {
                let hex = self.hex_digits(4)?;
                self.out.extend_from_slice(b"\\u");
                self.out.extend_from_slice(hex);
            }
            b'x' => {
                let hex = self.hex_digits(2)?;
                self.out.extend_from_slice(b"\\u00");
                self.out.extend_from_slice(hex);
            }
            b'v' => self.push_u_escape(0x0B),
            b'\'' => self.out.push(b'\''),
            _ => {
                self.pos -= 2;
                return Err(self.error("invalid escape in a string"));
            }
        }
        Ok(())
    }

    fn hex_digits(&mut self, n: usize) -> Result<&'a [u8], JsonError> {
        let end = self.pos + n;
        let input: &'a [u8] = self.input;
        match input.get(self.pos..end) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {
                self.pos = end;
                Ok(hex)
            }
            _ => Err(self.error("invalid hex digits in an escape")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// A number in JSON's grammar, copied as it is.
    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_digits = self.digits();
        if int_digits == 0 || (int_digits > 1 && self.input[int_start] == b'0') {
            self.pos = start;
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number: no digits after '.'"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number: no digits in the exponent"));
            }
        }
        self.out.extend_from_slice(&self.input[start..self.pos]);
        Ok(())
    }

    fn literal(&mut self) -> Result<(), JsonError> {
        for word in [&b"true"[..], b"false", b"null"] {
            if self.input[self.pos..].starts_with(word) {
                self.pos += word.len();
                self.out.extend_from_slice(word);
                return Ok(());
            }
        }
        Err(self.error("expected true, false or null"))
    }
}
