//! JSON as Alibaba fastjson 1.2.x (RocketMQ's `RemotingSerializable`) writes and reads it.
//!
//! Every body and config file goes through here. Java peers parse what we send with fastjson, and
//! fastjson's default output is not standard JSON, so the writer is a serde `Serializer` of its
//! own (serde_json's cannot write bare integer or object map keys) and the reader accepts both.
//!
//! # Default form ([`to_vec`], [`to_string`]): bodies on the wire
//! `JSON.toJSONString(obj)`:
//! - Compact, no whitespace. Struct fields in declaration order (declare them in alphabetical
//!   JSON-name order, as fastjson sorts bean properties).
//! - A struct field or map entry whose value is null (`None`, `()`) is **omitted**, whether or
//!   not the field has `skip_serializing_if`. In a sequence, `None` is written as `null`.
//! - Map keys: strings quoted; integers, floats and bools bare (`{0:"127.0.0.1:10911"}`,
//!   `{-1:2}`); structs, maps and sequences as raw JSON
//!   (`{{"brokerName":"b","queueId":0,"topic":"t"}:5}`); unit enum variants as their quoted
//!   name; a `None` key as bare `null`.
//! - Strings: `"` `\` and `\b \t \n \f \r` get short escapes; other characters below `U+0020`,
//!   `U+007F..=U+009F`, `U+2028` and `U+2029` become `\uXXXX` (upper-case hex, so `U+000B` is
//!   `\u000B`, never `\v`); `/` is not escaped; everything else is raw UTF-8.
//! - Integers in decimal. `f64`/`f32` as Java's `Double.toString` over the shortest round-trip
//!   digits (fastjson's Ryu): `0.0`, `-0.0`, `12.5`, `1234567.0`, `0.001`, then scientific
//!   outside `[1e-3, 1e7)`: `1.0E7`, `1.0E-4`, `1.7976931348623157E308`; NaN and infinities as
//!   `null` (written, not omitted: Java's value is not null).
//! - Bytes (`serialize_bytes`) as a base64 string with padding. Unit enum variants by name;
//!   variants with content as a one-entry object (`{"Variant":...}`); unit structs as `{}`.
//!
//! # Standard form ([`to_vec_standard`]): `BrowserCompatible`
//! The route answer for clients that ask for standard JSON (remoting-protocol.md §9). As the
//! default form, except: every key is quoted; a non-string key is written as a string holding
//! its default-form text (`{"0":...}`, `{"{\"brokerName\":\"b\",...}":...}`); strings also escape
//! `/` as `\/` and every character from `U+007F` up as `\uXXXX` UTF-16 units (surrogate pairs
//! beyond the BMP), so the output is ASCII. `MapSortField` needs nothing: maps are written in
//! their iteration order, and body structs use `BTreeMap`. One deliberate difference: fastjson's
//! `BrowserCompatible` quotes longs beyond ±(2^53−1); we write them bare, which every JSON
//! parser (and fastjson) still reads into a `long`, and which keeps typed round trips intact.
//!
//! # Pretty form ([`to_string_pretty`]): `PrettyFormat`, the config files
//! As the default form, with fastjson's line breaks; a "break" is `\n` followed by one tab per
//! indent level, and there is no newline at the end of the text:
//! - **Struct** (bean): `{`, then, if the struct has any field at all (even if every one turns out
//!   null), indent + 1 and a break; fields separated by `,` + break; at the end indent − 1, a
//!   break, `}`. A struct without fields is `{}`.
//! - **Map**: `{`, indent + 1; each entry is preceded by `,` (not for the first) and, **only for a
//!   string key**, a break; integer (and other non-string) keys get no break. At the end
//!   indent − 1 and, if the map had any entry (null-valued entries count), a break; then `}`.
//!   So `{1:1,2:1,3:2\n\t}` inside a bean field, `{\n\t\t"a":1\n\t}` for a string key, `{}` empty.
//! - **Sequence** (`Vec`, a Java `List`): `[]` when empty; otherwise `[`, indent + 1, each
//!   element preceded by `,` (not for the first) and a break, then indent − 1, a break, `]`.
//! - **Tuple** (and whatever uses [`inline_seq`]): fastjson writes Java `Set`s and primitive
//!   arrays (`int[]`) without breaks, `[1,2,3]`, even in pretty form; mark such fields with
//!   `#[serde(serialize_with = "crate::fastjson::inline_seq")]`.
//! - Struct keys of maps are written as pretty beans at the map's indent.
//!
//! # Reading ([`from_slice`], [`from_str`], [`from_slice_value`], [`to_standard_json`])
//! A small tokenizer ([`to_standard_json`]) rewrites fastjson text into compact standard JSON,
//! and serde_json reads that. This keeps all of serde_json's typed decoding (numbers as map keys,
//! `Option`, enums, `#[serde(default)]`) and costs one copy of a body, which is small; a
//! Deserializer of our own would duplicate hundreds of lines of serde_json for no gain. The
//! accepted input and the rewrite rules are listed in `reader.rs`: unquoted number keys become
//! quoted, object keys become string keys holding their compact JSON. Nesting is limited to
//! [`MAX_DEPTH`]; malformed input is a [`JsonError`] with its line, column and byte offset,
//! never a panic. Doubles read back exactly: the workspace enables serde_json's
//! `float_roundtrip` (its default parser can be a few units in the last place off).
//!
//! # Evidence
//! `tests/fastjson_golden.rs`: every JSON body of the recorded Java traffic is reproduced byte for
//! byte by the default (or, for route answers, the standard) writer from what the reader made of
//! it, and every Java-written config file (`compat-tests/fixtures/golden/store-config/`) by the
//! pretty writer, both from `Value`s and from typed structs.

mod key;
pub mod lenient;
mod reader;
mod text;
mod writer;

use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};

pub use reader::MAX_DEPTH;
use writer::{Form, Writer};

/// A JSON body or file that could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fastjson: {message}{}", describe_position(.position))]
pub struct JsonError {
    message: String,
    position: Option<Position>,
}

/// Where in the input a syntax error was found (line and column are 1-based, column in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
}

fn describe_position(position: &Option<Position>) -> String {
    match position {
        Some(p) => format!(
            " at line {} column {} (byte {})",
            p.line, p.column, p.offset
        ),
        None => String::new(),
    }
}

impl JsonError {
    pub(crate) fn syntax(what: &str, input: &[u8], offset: usize) -> Self {
        let offset = offset.min(input.len());
        let before = &input[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        JsonError {
            message: what.to_owned(),
            position: Some(Position {
                line,
                column: offset - line_start + 1,
                offset,
            }),
        }
    }

    pub(crate) fn custom_msg(message: impl std::fmt::Display) -> Self {
        JsonError {
            message: message.to_string(),
            position: None,
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where a syntax error was found; `None` for errors about the data's shape.
    pub fn position(&self) -> Option<Position> {
        self.position
    }
}

impl serde::ser::Error for JsonError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        JsonError::custom_msg(msg)
    }
}

fn write<T: Serialize + ?Sized>(value: &T, form: Form) -> Result<Vec<u8>, JsonError> {
    let mut w = Writer::new(form, 0);
    value.serialize(&mut w)?;
    Ok(w.out)
}

fn into_string(bytes: Vec<u8>) -> Result<String, JsonError> {
    String::from_utf8(bytes).map_err(|e| JsonError::custom_msg(e.to_string()))
}

/// fastjson's default form: what Java puts in bodies.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JsonError> {
    write(value, Form::Default)
}

/// [`to_vec`] as text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    into_string(to_vec(value)?)
}

/// Standard JSON as fastjson's `BrowserCompatible` writes it (quoted keys, ASCII only).
pub fn to_vec_standard<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, JsonError> {
    write(value, Form::Standard)
}

/// fastjson's `PrettyFormat`: the layout of the broker's and name server's config files.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    into_string(write(value, Form::Pretty)?)
}

/// Reads fastjson or standard JSON into `T`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let standard = to_standard_json(bytes)?;
    serde_json::from_str(&standard).map_err(|e| {
        JsonError::custom_msg(format_args!(
            "{e} (of the input rewritten as standard JSON)"
        ))
    })
}

/// [`from_slice`] for text.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    from_slice(text.as_bytes())
}

/// Reads fastjson or standard JSON into a [`serde_json::Value`]; object keys become strings
/// holding their compact JSON, number keys become their text.
pub fn from_slice_value(bytes: &[u8]) -> Result<serde_json::Value, JsonError> {
    from_slice(bytes)
}

/// Rewrites fastjson text into compact standard JSON (see the module docs).
pub fn to_standard_json(bytes: &[u8]) -> Result<String, JsonError> {
    reader::rewrite(bytes)
}

/// Writes a collection as fastjson writes a Java `Set` or primitive array: like a list, but
/// without line breaks in the pretty form. Use with `#[serde(serialize_with = ...)]`.
pub fn inline_seq<C, T, S>(items: &C, serializer: S) -> Result<S::Ok, S::Error>
where
    for<'a> &'a C: IntoIterator<Item = &'a T>,
    T: Serialize,
    S: Serializer,
{
    use serde::ser::SerializeTuple;
    let items: Vec<&T> = items.into_iter().collect();
    let mut tuple = serializer.serialize_tuple(items.len())?;
    for item in items {
        tuple.serialize_element(item)?;
    }
    tuple.end()
}
