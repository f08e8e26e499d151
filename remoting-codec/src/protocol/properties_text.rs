//! `java.util.Properties` text: the bodies of UPDATE_/GET_BROKER_CONFIG (25/26) and
//! UPDATE_/GET_NAMESRV_CONFIG (318/319), and the broker.conf / namesrv.conf files.
//!
//! Java writes these with `MixAll.properties2String`: one `key=value\n` per entry, in hash-table
//! order, with no escaping at all (a value holding a newline or a backslash does not survive
//! Java's own round trip). It reads them with `MixAll.string2Properties`, which is
//! `Properties.load`; [`parse`] follows the JDK 17 rules of `load`:
//!
//! - lines end at `\n`, `\r` or `\r\n`; leading blanks (space, tab, form feed) are skipped and
//!   blank lines ignored;
//! - a line whose first non-blank character is `#` or `!` is a comment;
//! - a line ending in an odd number of backslashes continues on the next line, whose leading
//!   blanks are dropped;
//! - the key ends at the first unescaped `=`, `:` or blank; blanks around one `=`/`:` separator
//!   are skipped; the value is the rest of the line (trailing blanks kept);
//! - in keys and values `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes, and a backslash before
//!   any other character stands for that character.
//!
//! Entries are kept in file order, duplicates included; in Java the last one of a key wins.

use std::collections::BTreeMap;

/// Why a properties text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesError {
    /// `\u` not followed by four hex digits (Java's `IllegalArgumentException`, after which
    /// `string2Properties` returns null and the config update is refused).
    #[error("Malformed \\uxxxx encoding. (line {line})")]
    MalformedUnicodeEscape { line: usize },
}

/// Reads properties text into its entries, in order.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, PropertiesError> {
    logical_lines(text)
        .into_iter()
        .map(|(line, raw)| split_entry(&raw, line))
        .collect()
}

/// Reads a body or file. Java's `Properties.load(InputStream)` decodes bytes as ISO-8859-1,
/// but the text was produced as UTF-8 by `properties2String`; UTF-8 is tried first so non-ASCII
/// values come out as written, and anything else is read byte-per-char as Java would.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<(String, String)>, PropertiesError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text),
        Err(_) => parse(&bytes.iter().map(|&b| char::from(b)).collect::<String>()),
    }
}

/// Writes entries as `MixAll.properties2String` does: `key=value\n` each, unescaped.
pub fn write<K, V, I>(entries: I) -> String
where
    K: AsRef<str>,
    V: AsRef<str>,
    I: IntoIterator<Item = (K, V)>,
{
    let mut out = String::new();
    for (k, v) in entries {
        out.push_str(k.as_ref());
        out.push('=');
        out.push_str(v.as_ref());
        out.push('\n');
    }
    out
}

/// The entries as Java's `Properties` holds them: the last value of each key.
pub fn to_map(entries: &[(String, String)]) -> BTreeMap<String, String> {
    entries.iter().cloned().collect()
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{c}')
}

/// Splits the text into logical lines (continuations joined, comments and blank lines gone),
/// each with the 1-based number of the physical line it starts on. Escapes stay raw.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut buf = String::new();
    let mut physical = 1;
    let mut start = 1;
    let mut skip_blank = true;
    let mut in_comment = false;
    let mut continued = false;
    let mut odd_backslashes = false;
    let mut skip_lf = false;
    let mut prev = '\0';
    for c in text.chars() {
        let eol = c == '\n' || c == '\r';
        if c == '\r' || (c == '\n' && prev != '\r') {
            physical += 1;
        }
        prev = c;
        if skip_lf {
            skip_lf = false;
            if c == '\n' {
                continue;
            }
        }
        if in_comment {
            if eol {
                in_comment = false;
                skip_blank = true;
            }
            continue;
        }
        if skip_blank {
            if is_blank(c) || (!continued && eol) {
                continue;
            }
            skip_blank = false;
            continued = false;
        }
        if buf.is_empty() && !eol && (c == '#' || c == '!') {
            in_comment = true;
            continue;
        }
        if !eol {
            if buf.is_empty() {
                start = physical;
            }
            buf.push(c);
            odd_backslashes = c == '\\' && !odd_backslashes;
        } else if buf.is_empty() {
            skip_blank = true;
        } else if odd_backslashes {
            buf.pop();
            skip_blank = true;
            continued = true;
            odd_backslashes = false;
            skip_lf = c == '\r';
        } else {
            lines.push((start, std::mem::take(&mut buf)));
            skip_blank = true;
        }
    }
    if !buf.is_empty() && !in_comment {
        if odd_backslashes {
            buf.pop();
        }
        lines.push((start, buf));
    }
    lines
}

/// Java's `load0` split of one logical line into key and value, then unescaping.
fn split_entry(raw: &str, line: usize) -> Result<(String, String), PropertiesError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut key_len = 0;
    let mut value_start = chars.len();
    let mut has_sep = false;
    let mut backslash = false;
    while key_len < chars.len() {
        let c = chars[key_len];
        if (c == '=' || c == ':') && !backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        } else if is_blank(c) && !backslash {
            value_start = key_len + 1;
            break;
        }
        backslash = c == '\\' && !backslash;
        key_len += 1;
    }
    while value_start < chars.len() {
        let c = chars[value_start];
        if !is_blank(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    let key = unescape(&chars[..key_len], line)?;
    let value = unescape(&chars[value_start..], line)?;
    Ok((key, value))
}

/// Java's `loadConvert`. `\uXXXX` yields UTF-16 units, so surrogate pairs written as two
/// escapes combine; a lone surrogate becomes U+FFFD.
fn unescape(chars: &[char], line: usize) -> Result<String, PropertiesError> {
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '\\' {
            let mut tmp = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut tmp));
            continue;
        }
        let Some(&e) = chars.get(i) else { break };
        i += 1;
        let unit = match e {
            'u' => {
                let hex: String = chars.get(i..i + 4).into_iter().flatten().collect();
                let value = (hex.len() == 4)
                    .then(|| u16::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .filter(|_| hex.chars().all(|h| h.is_ascii_hexdigit()))
                    .ok_or(PropertiesError::MalformedUnicodeEscape { line })?;
                i += 4;
                units.push(value);
                continue;
            }
            't' => '\t',
            'r' => '\r',
            'n' => '\n',
            'f' => '\u{c}',
            other => other,
        };
        let mut tmp = [0u16; 2];
        units.extend_from_slice(unit.encode_utf16(&mut tmp));
    }
    Ok(String::from_utf16_lossy(&units))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn separators_and_blanks() {
        assert_eq!(
            pairs("a=1\nb : 2\n  c   3\nd:=4\ne\nf=\ng = x y  \n"),
            vec![
                p("a", "1"),
                p("b", "2"),
                p("c", "3"),
                p("d", "=4"),
                p("e", ""),
                p("f", ""),
                p("g", "x y  "),
            ]
        );
    }

    #[test]
    fn comments_and_line_ends() {
        assert_eq!(
            pairs("# c\n! d\r\n\r\n   #x=1\na=1\r\nb=2\rc=3"),
            vec![p("a", "1"), p("b", "2"), p("c", "3")]
        );
        // A comment does not continue, and `#` after the start of a line is literal.
        assert_eq!(pairs("#x\\\na=#1"), vec![p("a", "#1")]);
    }

    #[test]
    fn continuations() {
        assert_eq!(
            pairs("a=1,\\\n    2,\\\r\n\t3\nb=x\\\\\nc=\\"),
            vec![p("a", "1,2,3"), p("b", "x\\"), p("c", "")]
        );
        // The continued line may start with `#`: it is not a comment.
        assert_eq!(pairs("a=\\\n#1"), vec![p("a", "#1")]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            pairs("k\\=ey\\ x=v\\tw\\n\\u00e9\\uD83D\\uDE00\\q\n"),
            vec![p("k=ey x", "v\tw\né😀q")]
        );
        assert_eq!(
            parse("a=1\nb=\\u12G4"),
            Err(PropertiesError::MalformedUnicodeEscape { line: 2 })
        );
        assert_eq!(
            parse("b=\\u12"),
            Err(PropertiesError::MalformedUnicodeEscape { line: 1 })
        );
    }

    #[test]
    fn writes_like_properties2string() {
        let entries = vec![p("a", "1"), p("messageDelayLevel", "1s 5s")];
        let text = write(entries.iter().map(|(k, v)| (k, v)));
        assert_eq!(text, "a=1\nmessageDelayLevel=1s 5s\n");
        assert_eq!(pairs(&text), entries);
        assert_eq!(to_map(&[p("a", "1"), p("a", "2")])["a"], "2");
    }

    #[test]
    fn bytes_fall_back_to_latin1() {
        assert_eq!(parse_bytes("a=é".as_bytes()).unwrap(), vec![p("a", "é")]);
        assert_eq!(parse_bytes(b"a=\xe9").unwrap(), vec![p("a", "é")]);
    }
}
