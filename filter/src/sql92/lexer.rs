//! The token manager: Java's `SelectorParserTokenManager` over `SimpleCharStream`, on UTF-16
//! units as Java reads the selector. Longest match, ties to the token declared first (keywords
//! before `<ID>`); keywords and the `E`/`L` of numbers are ASCII case-insensitive; whitespace
//! (` \t\n\r\f`) and comments (`-- …` ended by a line break, `/* … */`) are skipped. Line and
//! column numbers follow `SimpleCharStream` (tabs to the next multiple of 8).

use super::java::add_escapes;

/// Token kinds, numbered as in Java's `SelectorParserConstants` (5.3.3).
pub(crate) mod kind {
    pub const EOF: u8 = 0;
    pub const LINE_COMMENT: u8 = 6;
    pub const BLOCK_COMMENT: u8 = 7;
    pub const NOT: u8 = 8;
    pub const AND: u8 = 9;
    pub const OR: u8 = 10;
    pub const BETWEEN: u8 = 11;
    pub const IN: u8 = 12;
    pub const TRUE: u8 = 13;
    pub const FALSE: u8 = 14;
    pub const NULL: u8 = 15;
    pub const IS: u8 = 16;
    pub const CONTAINS: u8 = 17;
    pub const STARTSWITH: u8 = 18;
    pub const ENDSWITH: u8 = 19;
    pub const DECIMAL_LITERAL: u8 = 20;
    pub const FLOATING_POINT_LITERAL: u8 = 21;
    pub const STRING_LITERAL: u8 = 23;
    pub const ID: u8 = 24;
    pub const EQ: u8 = 25;
    pub const NE: u8 = 26;
    pub const GT: u8 = 27;
    pub const GE: u8 = 28;
    pub const LT: u8 = 29;
    pub const LE: u8 = 30;
    pub const LPAREN: u8 = 31;
    pub const COMMA: u8 = 32;
    pub const RPAREN: u8 = 33;
    pub const PLUS: u8 = 34;
    pub const MINUS: u8 = 35;
}

/// Java's `tokenImage` table, indexed by kind.
pub(crate) const TOKEN_IMAGE: [&str; 36] = [
    "<EOF>",
    "\" \"",
    "\"\\t\"",
    "\"\\n\"",
    "\"\\r\"",
    "\"\\f\"",
    "<LINE_COMMENT>",
    "<BLOCK_COMMENT>",
    "\"NOT\"",
    "\"AND\"",
    "\"OR\"",
    "\"BETWEEN\"",
    "\"IN\"",
    "\"TRUE\"",
    "\"FALSE\"",
    "\"NULL\"",
    "\"IS\"",
    "\"CONTAINS\"",
    "\"STARTSWITH\"",
    "\"ENDSWITH\"",
    "<DECIMAL_LITERAL>",
    "<FLOATING_POINT_LITERAL>",
    "<EXPONENT>",
    "<STRING_LITERAL>",
    "<ID>",
    "\"=\"",
    "\"<>\"",
    "\">\"",
    "\">=\"",
    "\"<\"",
    "\"<=\"",
    "\"(\"",
    "\",\"",
    "\")\"",
    "\"+\"",
    "\"-\"",
];

/// The keywords with their kinds, in declaration order.
const KEYWORDS: [(&str, u8); 12] = [
    ("NOT", kind::NOT),
    ("AND", kind::AND),
    ("OR", kind::OR),
    ("BETWEEN", kind::BETWEEN),
    ("IN", kind::IN),
    ("TRUE", kind::TRUE),
    ("FALSE", kind::FALSE),
    ("NULL", kind::NULL),
    ("IS", kind::IS),
    ("CONTAINS", kind::CONTAINS),
    ("STARTSWITH", kind::STARTSWITH),
    ("ENDSWITH", kind::ENDSWITH),
];

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub kind: u8,
    /// The matched text (UTF-16), as `Token.image`.
    pub image: Vec<u16>,
    pub line: i32,
    pub column: i32,
}

/// A `TokenMgrError` message (without the class name).
#[derive(Clone, Debug)]
pub(crate) struct LexError(pub String);

pub(crate) struct Lexer {
    input: Vec<u16>,
    /// `(line, column)` of every unit, as `SimpleCharStream.UpdateLineColumn` numbers them.
    positions: Vec<(i32, i32)>,
    pos: usize,
}

const fn is_digit(u: u16) -> bool {
    u >= b'0' as u16 && u <= b'9' as u16
}

fn is_id_start(u: u16) -> bool {
    u < 128 && (u8::try_from(u).is_ok_and(|b| b.is_ascii_alphabetic()) || u == 0x5f || u == 0x24)
}

fn is_id_part(u: u16) -> bool {
    is_id_start(u) || is_digit(u)
}

fn eq_ignore_case(u: u16, ascii: u8) -> bool {
    u < 128 && (u as u8).eq_ignore_ascii_case(&ascii)
}

impl Lexer {
    pub fn new(text: &str) -> Lexer {
        let input: Vec<u16> = text.encode_utf16().collect();
        let mut positions = Vec::with_capacity(input.len());
        let (mut line, mut column) = (1i32, 0i32);
        let (mut prev_lf, mut prev_cr) = (false, false);
        for &unit in &input {
            column = column.wrapping_add(1);
            if prev_lf {
                prev_lf = false;
                column = 1;
                line = line.wrapping_add(1);
            } else if prev_cr {
                prev_cr = false;
                if unit == 0x0a {
                    prev_lf = true;
                } else {
                    column = 1;
                    line = line.wrapping_add(1);
                }
            }
            match unit {
                0x0d => prev_cr = true,
                0x0a => prev_lf = true,
                0x09 => {
                    column -= 1;
                    column += 8 - column.rem_euclid(8);
                }
                _ => {}
            }
            positions.push((line, column));
        }
        Lexer {
            input,
            positions,
            pos: 0,
        }
    }

    /// `getNextToken()`: the next token, or the lexical error Java's token manager throws.
    pub fn next_token(&mut self) -> Result<Token, LexError> {
        loop {
            if self.pos >= self.input.len() {
                // Java's EOF token sits on the last unit read (line 0, column 0 for no input).
                let (line, column) = self.positions.last().copied().unwrap_or((0, 0));
                return Ok(Token {
                    kind: kind::EOF,
                    image: Vec::new(),
                    line,
                    column,
                });
            }
            let start = self.pos;
            match self.longest_match(start) {
                Some((k, len)) => {
                    self.pos = start + len;
                    if (1..=7).contains(&k) {
                        continue;
                    }
                    let (line, column) = self.positions[start];
                    return Ok(Token {
                        kind: k,
                        image: self.input[start..start + len].to_vec(),
                        line,
                        column,
                    });
                }
                None => return Err(self.lexical_error(start)),
            }
        }
    }

    /// The longest token at `p` (ties to the lower kind) as `(kind, length)`.
    fn longest_match(&self, p: usize) -> Option<(u8, usize)> {
        let s = &self.input[p..];
        let mut best: Option<(u8, usize)> = None;
        let mut offer = |k: u8, len: usize| {
            if len > 0 && !matches!(best, Some((bk, bl)) if len < bl || (len == bl && k >= bk)) {
                best = Some((k, len));
            }
        };
        let first = s[0];
        match first {
            0x20 => offer(1, 1),
            0x09 => offer(2, 1),
            0x0a => offer(3, 1),
            0x0d => offer(4, 1),
            0x0c => offer(5, 1),
            _ => {}
        }
        let at = |i: usize| s.get(i).copied();
        match first {
            0x3d => offer(kind::EQ, 1),
            0x3c => {
                offer(kind::LT, 1);
                match at(1) {
                    Some(0x3e) => offer(kind::NE, 2),
                    Some(0x3d) => offer(kind::LE, 2),
                    _ => {}
                }
            }
            0x3e => {
                offer(kind::GT, 1);
                if at(1) == Some(0x3d) {
                    offer(kind::GE, 2);
                }
            }
            0x28 => offer(kind::LPAREN, 1),
            0x2c => offer(kind::COMMA, 1),
            0x29 => offer(kind::RPAREN, 1),
            0x2b => offer(kind::PLUS, 1),
            0x2d => {
                offer(kind::MINUS, 1);
                if let Some(len) = line_comment(s) {
                    offer(kind::LINE_COMMENT, len);
                }
            }
            0x2f => {
                if let Some(len) = block_comment(s).0 {
                    offer(kind::BLOCK_COMMENT, len);
                }
            }
            0x27 => {
                if let Some(len) = string_literal(s).0 {
                    offer(kind::STRING_LITERAL, len);
                }
            }
            _ => {}
        }
        for (word, k) in KEYWORDS {
            if word.len() <= s.len() && word.bytes().zip(s).all(|(b, &u)| eq_ignore_case(u, b)) {
                offer(k, word.len());
            }
        }
        if is_id_start(first) {
            offer(kind::ID, s.iter().take_while(|&&u| is_id_part(u)).count());
        }
        if let Some(len) = decimal_literal(s) {
            offer(kind::DECIMAL_LITERAL, len);
        }
        if let Some(len) = floating_literal(s) {
            offer(kind::FLOATING_POINT_LITERAL, len);
        }
        best
    }

    /// Java's `TokenMgrError` when nothing matches at `p`: the automaton reads on while some
    /// token is still possible (an open string or block comment, a `.` before its digit), and
    /// the error names the unit that stopped it, or `<EOF>`.
    fn lexical_error(&self, p: usize) -> LexError {
        let s = &self.input[p..];
        let alive = match s[0] {
            0x27 => string_literal(s).1,
            0x2f => block_comment(s).1,
            0x2e => 1,
            _ => 0,
        };
        let len = self.input.len();
        let (last_read, cur_pos) = if p + alive < len {
            (p + alive, alive + 1)
        } else {
            (p + alive - 1, alive)
        };
        let (mut line, mut column) = self.positions[last_read];
        let cur_char = self.input[last_read];
        let eof_seen = last_read == len - 1;
        let message = if eof_seen {
            let after = if cur_pos <= 1 {
                String::new()
            } else {
                add_escapes(&self.input[p..=last_read])
            };
            if cur_char == 0x0a || cur_char == 0x0d {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
            format!(
                "Lexical error at line {line}, column {column}.  Encountered: <EOF> after : \"{after}\""
            )
        } else {
            let after = if cur_pos <= 1 {
                String::new()
            } else {
                add_escapes(&self.input[p..last_read])
            };
            format!(
                "Lexical error at line {line}, column {column}.  Encountered: \"{}\" ({cur_char}), after : \"{after}\"",
                add_escapes(&[cur_char])
            )
        };
        LexError(message)
    }
}

/// `"--" (~["\n","\r"])* ("\n" | "\r" | "\r\n")`.
fn line_comment(s: &[u16]) -> Option<usize> {
    if s.get(1) != Some(&0x2d) {
        return None;
    }
    let end = 2 + s[2..]
        .iter()
        .take_while(|&&u| u != 0x0a && u != 0x0d)
        .count();
    match s.get(end) {
        Some(0x0a) => Some(end + 1),
        Some(0x0d) if s.get(end + 1) == Some(&0x0a) => Some(end + 2),
        Some(0x0d) => Some(end + 1),
        _ => None,
    }
}

/// `/* … */`: `(matched length, units the automaton stays alive for)`.
fn block_comment(s: &[u16]) -> (Option<usize>, usize) {
    if s.get(1) != Some(&0x2a) {
        return (None, 1);
    }
    let mut i = 2;
    while i < s.len() {
        if s[i] == 0x2a && s.get(i + 1) == Some(&0x2f) && i >= 2 {
            return (Some(i + 2), i + 2);
        }
        i += 1;
    }
    (None, s.len())
}

/// `"'" ( "''" | ~["'"] )* "'"` with longest match: `(matched length, units alive for)`.
fn string_literal(s: &[u16]) -> (Option<usize>, usize) {
    let mut accepted = None;
    let mut i = 1;
    while i < s.len() {
        if s[i] == 0x27 {
            accepted = Some(i + 1);
            if s.get(i + 1) == Some(&0x27) {
                i += 2;
                continue;
            }
            return (accepted, i + 1);
        }
        i += 1;
    }
    (accepted, s.len())
}

/// `"0" | ["1"-"9"] (["0"-"9"])* (["l","L"])?`.
fn decimal_literal(s: &[u16]) -> Option<usize> {
    match s[0] {
        0x30 => Some(1),
        0x31..=0x39 => {
            let digits = s.iter().take_while(|&&u| is_digit(u)).count();
            Some(if s.get(digits).is_some_and(|&u| eq_ignore_case(u, b'L')) {
                digits + 1
            } else {
                digits
            })
        }
        _ => None,
    }
}

/// Length of `"E" (["+","-"])? (["0"-"9"])+` at `s`, if there.
fn exponent(s: &[u16]) -> Option<usize> {
    if !s.first().is_some_and(|&u| eq_ignore_case(u, b'E')) {
        return None;
    }
    let sign = usize::from(matches!(s.get(1), Some(0x2b | 0x2d)));
    let digits = s[1 + sign..].iter().take_while(|&&u| is_digit(u)).count();
    (digits > 0).then_some(1 + sign + digits)
}

/// `[0-9]+ "." [0-9]* EXP? | "." [0-9]+ EXP? | [0-9]+ EXP`.
fn floating_literal(s: &[u16]) -> Option<usize> {
    let int_digits = s.iter().take_while(|&&u| is_digit(u)).count();
    if s.get(int_digits) == Some(&0x2e) {
        let frac = s[int_digits + 1..]
            .iter()
            .take_while(|&&u| is_digit(u))
            .count();
        if int_digits == 0 && frac == 0 {
            return None;
        }
        let end = int_digits + 1 + frac;
        return Some(end + exponent(&s[end..]).unwrap_or(0));
    }
    if int_digits > 0 {
        return exponent(&s[int_digits..]).map(|e| int_digits + e);
    }
    None
}
