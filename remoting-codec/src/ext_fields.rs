//! `extFields`: the string map every RemotingCommand carries, and the typed headers built on it.
//!
//! Java turns a "custom header" object into `extFields` by writing every non-null field as
//! `name -> toString()` and reads it back by field name (`RemotingCommand.decodeCommandCustomHeader`).
//! [`CommandHeader`] is that conversion for our typed headers; the [`remoting_header!`] macro
//! writes it for a struct from a list of `(rust field, Java field name)` pairs.
//!
//! Java's rules, which the macro follows:
//! - numbers are decimal text, booleans `true`/`false`, enums their `name()`;
//! - a `@CFNotNull` boxed field (`Integer`, `Long`, `String`) that is missing is a failure of the
//!   request (the Java broker answers it with an error); here it is [`HeaderError::MissingField`];
//! - a primitive field (`int`, `long`, `boolean`) is always written and, when missing or
//!   unparsable, keeps its default (`0`, `false`), whatever its annotation;
//! - a nullable field that is missing or unparsable is `null` (`None`);
//! - `Boolean.parseBoolean` is true only for `true` in any case; everything else is false;
//! - unknown keys (5.x `bname`, `ns`, `nsd`, `oway`, `lo`; ACL `AccessKey`, `Signature`, …) are ignored.

use std::fmt;

/// An ordered string map. Order is kept so that a decoded frame re-encodes byte for byte; lookups
/// are linear, which beats hashing for the dozen entries a header has.
///
/// Every key and value lives in one `text` buffer, back to back, and an entry is two ranges of
/// it: a decoded header is two allocations, not two per field (the send path's largest cost
/// after the copy of the message itself). A replaced value is appended and the old bytes stay
/// unused until the map is dropped.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    entries: Vec<Entry>,
}

/// Byte ranges of `ExtFields::text`: `[key_start, value_start)` is the key, `[value_start,
/// value_end)` the value (a key is always followed by its first value).
#[derive(Clone, Copy)]
struct Entry {
    key: (u32, u32),
    value: (u32, u32),
}

impl ExtFields {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) const fn empty() -> Self {
        Self {
            text: String::new(),
            entries: Vec::new(),
        }
    }

    /// Room for `n` fields of a typical header's length.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            text: String::with_capacity(n * 24),
            entries: Vec::with_capacity(n),
        }
    }

    /// Room for `n` fields holding `text` bytes in all.
    pub(crate) fn with_text_capacity(n: usize, text: usize) -> Self {
        Self {
            text: String::with_capacity(text),
            entries: Vec::with_capacity(n),
        }
    }

    fn slice(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    fn append(&mut self, s: &str) -> (u32, u32) {
        let start = self.text.len();
        self.text.push_str(s);
        let end = self.text.len();
        assert!(end <= u32::MAX as usize, "extFields text over 4 GiB");
        (start as u32, end as u32)
    }

    /// Lookups compare lengths first, on the ranges: most keys differ there, and no text is
    /// touched for them.
    fn position(&self, key: &str) -> Option<usize> {
        let (text, key) = (self.text.as_bytes(), key.as_bytes());
        self.entries.iter().position(|e| {
            let (start, end) = (e.key.0 as usize, e.key.1 as usize);
            end - start == key.len() && &text[start..end] == key
        })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key)
            .map(|i| self.slice(self.entries[i].value))
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key`, replacing an earlier value in place (a later duplicate key wins, as in a Java map).
    pub fn insert(&mut self, key: impl AsRef<str>, value: impl AsRef<str>) {
        let (key, value) = (key.as_ref(), value.as_ref());
        match self.position(key) {
            Some(i) => self.entries[i].value = self.append(value),
            None => {
                let key = self.append(key);
                let value = self.append(value);
                self.entries.push(Entry { key, value });
            }
        }
    }

    /// Adds `key`, which the caller knows is not in the map yet, without searching for it.
    pub(crate) fn push_new(&mut self, key: &str, value: &str) {
        debug_assert!(self.position(key).is_none(), "push_new of a present key");
        let key = self.append(key);
        let value = self.append(value);
        self.entries.push(Entry { key, value });
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key)?;
        let entry = self.entries.remove(i);
        Some(self.slice(entry.value).to_owned())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|e| (self.slice(e.key), self.slice(e.value)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reads a typed header from these fields.
    pub fn decode<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        H::from_ext_fields(self)
    }

    /// Adds every field of a typed header.
    pub fn encode<H: CommandHeader>(&mut self, header: &H) {
        header.to_ext_fields(self)
    }
}

/// Equal when the same entries are in the same order (the representation may differ).
impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = ExtFields::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

/// A request or response header that converts to and from `extFields`.
pub trait CommandHeader: Sized {
    /// Reads the header; fails only when a required (`@CFNotNull` boxed) field is missing or unparsable.
    fn from_ext_fields(ext: &ExtFields) -> Result<Self, HeaderError>;
    /// Writes every present field, as Java's `makeCustomHeaderToNet` does.
    fn to_ext_fields(&self, ext: &mut ExtFields);
}

/// A header without fields (Java's empty header classes, or codes that have none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmptyHeader;

impl CommandHeader for EmptyHeader {
    fn from_ext_fields(_: &ExtFields) -> Result<Self, HeaderError> {
        Ok(EmptyHeader)
    }
    fn to_ext_fields(&self, _: &mut ExtFields) {}
}

/// Why a typed header could not be read. The display text is the remark the Java broker puts in
/// its error response for the same fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the custom field <{field}> is null")]
    MissingField {
        header: &'static str,
        field: &'static str,
    },
    #[error("the custom field <{field}> has an invalid value <{value}>")]
    InvalidField {
        header: &'static str,
        field: &'static str,
        value: String,
    },
}

/// A type that can be a header field: parsed from and written to its `extFields` text as Java does.
pub trait FieldValue: Sized {
    fn parse_field(text: &str) -> Option<Self>;
    fn write_field(&self) -> String;
    /// Sets `key` to [`write_field`](Self::write_field)'s text; numbers write theirs without
    /// building a `String` (every response header has some).
    fn insert_into(&self, ext: &mut ExtFields, key: &str) {
        ext.insert(key, self.write_field());
    }
}

impl FieldValue for String {
    fn parse_field(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn write_field(&self) -> String {
        self.clone()
    }
    fn insert_into(&self, ext: &mut ExtFields, key: &str) {
        ext.insert(key, self);
    }
}

macro_rules! number_field {
    ($($t:ty),*) => {$(
        impl FieldValue for $t {
            fn parse_field(text: &str) -> Option<Self> {
                text.parse().ok()
            }
            fn write_field(&self) -> String {
                self.to_string()
            }
            fn insert_into(&self, ext: &mut ExtFields, key: &str) {
                let mut buf = crate::header::DecimalBuf::new();
                ext.insert(key, buf.format(*self as i128));
            }
        }
    )*};
}
number_field!(i8, i16, i32, i64, u8, u16, u32, u64);

impl FieldValue for bool {
    /// `Boolean.parseBoolean`: `true` ignoring case, anything else is false.
    fn parse_field(text: &str) -> Option<Self> {
        Some(text.eq_ignore_ascii_case("true"))
    }
    fn write_field(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

impl FieldValue for f64 {
    fn parse_field(text: &str) -> Option<Self> {
        text.parse().ok()
    }
    /// Java's `Double.toString` for the values headers carry (always a fraction part).
    fn write_field(&self) -> String {
        format!("{:?}", self)
    }
}

/// Field kinds of [`remoting_header!`]; an implementation detail of the macro.
#[doc(hidden)]
pub mod field {
    use super::{ExtFields, FieldValue, HeaderError};

    pub fn required<T: FieldValue>(
        ext: &ExtFields,
        header: &'static str,
        field: &'static str,
    ) -> Result<T, HeaderError> {
        required_value(ext.get(field), header, field)
    }

    /// [`required`] for a value already looked up.
    pub fn required_value<T: FieldValue>(
        text: Option<&str>,
        header: &'static str,
        field: &'static str,
    ) -> Result<T, HeaderError> {
        let text = text.ok_or(HeaderError::MissingField { header, field })?;
        T::parse_field(text).ok_or_else(|| HeaderError::InvalidField {
            header,
            field,
            value: text.to_owned(),
        })
    }

    pub fn optional<T: FieldValue>(ext: &ExtFields, field: &'static str) -> Option<T> {
        ext.get(field).and_then(T::parse_field)
    }

    pub fn default<T: FieldValue + Default>(ext: &ExtFields, field: &'static str) -> T {
        optional(ext, field).unwrap_or_default()
    }
}

/// Declares a typed header struct and its [`CommandHeader`] implementation.
///
/// Each field is `KIND name: Type = "javaName"` where KIND is
/// - `required`: a `@CFNotNull` boxed Java field; missing or unparsable → [`HeaderError`];
/// - `optional`: a nullable Java field; the Rust type becomes `Option<Type>`;
/// - `default`: a primitive Java field (`int`, `long`, `boolean`): missing → `Type::default()`,
///   or the value after `= "javaName" or EXPR` when Java initialises it to something else.
///
/// ```
/// remoting_codec::remoting_header! {
///     /// Header of GET_MAX_OFFSET.
///     pub struct Example {
///         required topic: String = "topic",
///         required queue_id: i32 = "queueId",
///         optional committed: bool = "committed",
///         default unit_mode: bool = "unitMode",
///     }
/// }
/// ```
#[macro_export]
macro_rules! remoting_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $kind:ident $field:ident : $ty:ty = $key:literal $(or $dflt:expr)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $crate::remoting_header!(@type $kind $ty), )*
        }

        impl $crate::CommandHeader for $name {
            #[allow(unused_variables)]
            fn from_ext_fields(ext: &$crate::ExtFields) -> ::std::result::Result<Self, $crate::HeaderError> {
                Ok(Self {
                    $( $field: $crate::remoting_header!(@read $kind ext, $name, $key, $ty $(, $dflt)?), )*
                })
            }

            #[allow(unused_variables)]
            fn to_ext_fields(&self, ext: &mut $crate::ExtFields) {
                $( $crate::remoting_header!(@write $kind ext, self.$field, $key); )*
            }
        }
    };

    (@type required $ty:ty) => { $ty };
    (@type optional $ty:ty) => { ::std::option::Option<$ty> };
    (@type default $ty:ty) => { $ty };

    (@read required $ext:ident, $name:ident, $key:literal, $ty:ty) => {
        $crate::ext_fields::field::required::<$ty>($ext, stringify!($name), $key)?
    };
    (@read optional $ext:ident, $name:ident, $key:literal, $ty:ty) => {
        $crate::ext_fields::field::optional::<$ty>($ext, $key)
    };
    (@read default $ext:ident, $name:ident, $key:literal, $ty:ty) => {
        $crate::ext_fields::field::default::<$ty>($ext, $key)
    };
    (@read default $ext:ident, $name:ident, $key:literal, $ty:ty, $dflt:expr) => {
        $crate::ext_fields::field::optional::<$ty>($ext, $key).unwrap_or($dflt)
    };

    (@write required $ext:ident, $value:expr, $key:literal) => {
        $crate::FieldValue::insert_into(&$value, $ext, $key)
    };
    (@write default $ext:ident, $value:expr, $key:literal) => {
        $crate::FieldValue::insert_into(&$value, $ext, $key)
    };
    (@write optional $ext:ident, $value:expr, $key:literal) => {
        if let Some(v) = &$value {
            $crate::FieldValue::insert_into(v, $ext, $key)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_keeps_order_replaces_in_place_and_compares_by_entries() {
        let mut a = ExtFields::new();
        a.insert("topic", "T");
        a.insert("queueId", "1");
        a.insert("topic", "Longer topic");
        assert_eq!(a.get("topic"), Some("Longer topic"));
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            [("topic", "Longer topic"), ("queueId", "1")]
        );
        assert_eq!(a.remove("queueId").as_deref(), Some("1"));
        assert_eq!((a.get("queueId"), a.len()), (None, 1));

        // The same entries written another way (no replaced bytes left behind) are equal;
        // the same entries in another order are not.
        let b: ExtFields = [("topic", "Longer topic")].into_iter().collect();
        assert_eq!(a, b);
        let c: ExtFields = [("x", "1"), ("y", "2")].into_iter().collect();
        let d: ExtFields = [("y", "2"), ("x", "1")].into_iter().collect();
        assert_ne!(c, d);
        // Keys and values are not confused by where one ends and the next begins.
        let e: ExtFields = [("ab", "c")].into_iter().collect();
        let f: ExtFields = [("a", "bc")].into_iter().collect();
        assert_ne!(e, f);
    }

    remoting_header! {
        /// A header exercising every field kind.
        pub struct Sample {
            required topic: String = "topic",
            required queue_id: i32 = "queueId",
            optional sub: String = "subscription",
            default unit: bool = "unitMode",
            default nums: i32 = "nums" or 4,
        }
    }

    #[test]
    fn reads_and_writes_java_field_names() {
        let ext: ExtFields = [
            ("topic", "T"),
            ("queueId", "3"),
            ("unitMode", "TRUE"),
            ("bname", "x"),
        ]
        .into_iter()
        .collect();
        let h: Sample = ext.decode().unwrap();
        assert_eq!(
            h,
            Sample {
                topic: "T".into(),
                queue_id: 3,
                sub: None,
                unit: true,
                nums: 4
            }
        );
        let mut out = ExtFields::new();
        out.encode(&h);
        assert_eq!(out.get("queueId"), Some("3"));
        assert_eq!(out.get("unitMode"), Some("true"));
        assert_eq!(out.get("subscription"), None);
        assert_eq!(out.get("nums"), Some("4"));
    }

    #[test]
    fn missing_and_bad_required_fields_are_errors() {
        let ext: ExtFields = [("topic", "T")].into_iter().collect();
        let err = ext.decode::<Sample>().unwrap_err();
        assert_eq!(err.to_string(), "the custom field <queueId> is null");
        let ext: ExtFields = [("topic", "T"), ("queueId", "x")].into_iter().collect();
        assert!(matches!(
            ext.decode::<Sample>(),
            Err(HeaderError::InvalidField { .. })
        ));
    }
}
