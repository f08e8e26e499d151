//! What fastjson accepts when it reads a field of a Java type, beyond that type's own JSON form.
//! Non-Java clients rely on it: the Apache C++ client (`rocketmq-client-cpp`, inside the PyPI
//! `rocketmq` package) writes a heartbeat as
//! `{"consumeFromWhere":0,"consumeType":1,"messageModel":1,...,"subVersion":"1795252623131"}`:
//! enums as their ordinal and a `long` as a string. Use these with
//! `#[serde(deserialize_with = ...)]` on fields that such clients send.

use serde::de::{DeserializeOwned, Error};
use serde::{Deserialize, Deserializer};

/// A Java enum modelled as a Rust enum whose variants are declared in Java's order.
pub trait JavaEnum: DeserializeOwned + Copy + 'static {
    /// Every value, in Java's declaration order (`values()`): index = `ordinal()`.
    const VALUES: &'static [Self];
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NameOrOrdinal<T> {
    Name(T),
    Ordinal(i64),
}

/// An optional enum field as fastjson reads it: `null`, the constant's name, or its ordinal.
/// An ordinal out of range is an error (fastjson throws "parse enum … error").
pub fn enum_name_or_ordinal<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: JavaEnum,
{
    match Option::<NameOrOrdinal<T>>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NameOrOrdinal::Name(value)) => Ok(Some(value)),
        Some(NameOrOrdinal::Ordinal(n)) => usize::try_from(n)
            .ok()
            .and_then(|i| T::VALUES.get(i))
            .map(|v| Some(*v))
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "enum ordinal {n} out of range 0..{}",
                    T::VALUES.len()
                ))
            }),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(i64),
    Text(String),
}

/// A `long` field as fastjson reads it: a number, or a string holding one (`"123"`); `null`
/// is 0 (the primitive's default).
pub fn long_or_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(0),
        Some(NumberOrText::Number(n)) => Ok(n),
        Some(NumberOrText::Text(s)) => s
            .trim()
            .parse()
            .map_err(|_| D::Error::custom(format!("{s:?} is not a long"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    enum Model {
        Broadcasting,
        Clustering,
    }

    impl JavaEnum for Model {
        const VALUES: &'static [Self] = &[Model::Broadcasting, Model::Clustering];
    }

    #[derive(Debug, Deserialize)]
    struct Bean {
        #[serde(default, deserialize_with = "enum_name_or_ordinal")]
        model: Option<Model>,
        #[serde(default, deserialize_with = "long_or_text")]
        version: i64,
    }

    fn read(text: &str) -> Result<Bean, crate::fastjson::JsonError> {
        crate::fastjson::from_str(text)
    }

    #[test]
    fn enums_by_name_ordinal_or_null() {
        assert_eq!(
            read(r#"{"model":"CLUSTERING"}"#).unwrap().model,
            Some(Model::Clustering)
        );
        assert_eq!(
            read(r#"{"model":0}"#).unwrap().model,
            Some(Model::Broadcasting)
        );
        assert_eq!(read(r#"{"model":null}"#).unwrap().model, None);
        assert_eq!(read("{}").unwrap().model, None);
        assert!(read(r#"{"model":2}"#).is_err());
        assert!(read(r#"{"model":-1}"#).is_err());
        assert!(read(r#"{"model":"NOPE"}"#).is_err());
    }

    #[test]
    fn longs_as_numbers_or_text() {
        assert_eq!(read(r#"{"version":17}"#).unwrap().version, 17);
        assert_eq!(
            read(r#"{"version":"1795252623131"}"#).unwrap().version,
            1_795_252_623_131
        );
        assert_eq!(read(r#"{"version":null}"#).unwrap().version, 0);
        assert!(read(r#"{"version":"x"}"#).is_err());
    }
}
