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
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtFields(Vec<(String, String)>);

impl ExtFields {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) const fn from_vec(entries: Vec<(String, String)>) -> Self {
        Self(entries)
    }

    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`, replacing an earlier value in place (a later duplicate key wins, as in a Java map).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(pos).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
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

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
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
}

impl FieldValue for String {
    fn parse_field(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn write_field(&self) -> String {
        self.clone()
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
        let text = ext
            .get(field)
            .ok_or(HeaderError::MissingField { header, field })?;
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
        $ext.insert($key, $crate::FieldValue::write_field(&$value))
    };
    (@write default $ext:ident, $value:expr, $key:literal) => {
        $ext.insert($key, $crate::FieldValue::write_field(&$value))
    };
    (@write optional $ext:ident, $value:expr, $key:literal) => {
        if let Some(v) = &$value {
            $ext.insert($key, $crate::FieldValue::write_field(v))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

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
