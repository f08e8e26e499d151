//! The declaration of a Java config class: a struct with Java's key names and defaults, a
//! setter by key with `MixAll.properties2Object`'s parsing, and the `key=value` listing of
//! `MixAll.printObjectProperties`.

/// A value type of a Java config field: how `properties2Object` parses it and how
/// `printObjectProperties` prints it.
pub trait ConfigValue: Sized {
    fn parse_value(text: &str) -> Option<Self>;
    fn render(&self) -> String;
    /// A null Java field: `MixAll.object2Properties` leaves it out of the properties.
    fn is_null(&self) -> bool {
        false
    }
}

impl ConfigValue for String {
    /// Strings are taken as written, trailing blanks included (Java does not trim).
    fn parse_value(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl ConfigValue for Option<String> {
    fn parse_value(text: &str) -> Option<Self> {
        Some(Some(text.to_owned()))
    }
    /// A null field prints as `null`, as Java's string concatenation does.
    fn render(&self) -> String {
        self.clone().unwrap_or_else(|| "null".to_owned())
    }
    fn is_null(&self) -> bool {
        self.is_none()
    }
}

/// Java enum fields set by name (`setBrokerRole(String)` is `BrokerRole.valueOf`): an unknown
/// name throws, which `properties2Object` swallows, so the field keeps its value.
macro_rules! enum_value {
    ($t:ty { $($name:literal => $variant:expr),* $(,)? }) => {
        impl ConfigValue for $t {
            fn parse_value(text: &str) -> Option<Self> {
                match text {
                    $( $name => Some($variant), )*
                    _ => None,
                }
            }
            fn render(&self) -> String {
                $( if *self == $variant { return $name.to_owned(); } )*
                unreachable!("every variant is listed")
            }
        }
    };
}
enum_value!(store::BrokerRole {
    "ASYNC_MASTER" => store::BrokerRole::AsyncMaster,
    "SYNC_MASTER" => store::BrokerRole::SyncMaster,
    "SLAVE" => store::BrokerRole::Slave,
});
enum_value!(store::FlushDiskType {
    "ASYNC_FLUSH" => store::FlushDiskType::AsyncFlush,
    "SYNC_FLUSH" => store::FlushDiskType::SyncFlush,
});

/// `Boolean.parseBoolean`: `true` in any case is true, anything else false (so a typo silently
/// disables a flag in Java; we do the same so that a broker.conf means the same to both).
/// Surrounding blanks are trimmed first, unlike Java, where `true ` would read as false.
impl ConfigValue for bool {
    fn parse_value(text: &str) -> Option<Self> {
        Some(text.trim().eq_ignore_ascii_case("true"))
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        /// `Integer.parseInt` / `Long.parseLong` (an optional sign, decimal digits), after trimming
        /// blanks. Java silently keeps the default for a value that does not parse; the caller
        /// reports it instead.
        impl ConfigValue for $t {
            fn parse_value(text: &str) -> Option<Self> {
                text.trim().parse().ok()
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
integer_value!(i32, i64);

/// Declares a config struct. Each field: `field: Type = "javaKey", default;` in the Java
/// class's declaration order (the order `-p` prints).
macro_rules! java_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $key:literal, $default:expr; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl $name {
            /// Java's key names, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// Sets the field named `key` (Java's name) from its text. `Ok(false)`: not a key of
            /// this class. `Err`: the value does not parse for the field's type; the field keeps
            /// its value.
            pub fn set(&mut self, key: &str, value: &str) -> Result<bool, $crate::config::InvalidValue> {
                use $crate::config::fields::ConfigValue;
                match key {
                    $( $key => {
                        self.$field = ConfigValue::parse_value(value).ok_or_else(|| {
                            $crate::config::InvalidValue {
                                key: key.to_owned(),
                                value: value.to_owned(),
                                expected: stringify!($ty),
                            }
                        })?;
                    } )*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            /// Every `(key, value)` as `printObjectProperties` lists them.
            pub fn entries(&self) -> Vec<(&'static str, String)> {
                use $crate::config::fields::ConfigValue;
                vec![$( ($key, self.$field.render()) ),*]
            }

            /// `MixAll.object2Properties`: the non-null fields, in declaration order.
            pub fn properties(&self) -> Vec<(&'static str, String)> {
                use $crate::config::fields::ConfigValue;
                let mut out = Vec::new();
                $( if !self.$field.is_null() { out.push(($key, self.$field.render())); } )*
                out
            }
        }
    };
}

pub(crate) use java_config;
