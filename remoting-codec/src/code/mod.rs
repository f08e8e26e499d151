//! Request and response codes of RocketMQ 4.9.x and 5.x, with Java's names.
//!
//! [`request`] holds `RequestCode`; [`response`] holds `ResponseCode` together with
//! `RemotingSysResponseCode` (0–4, which `ResponseCode` extends in Java). Both are the union of
//! 4.9.8 and 5.3.3; codes present in only one of them say so. [`version`] holds the `MQVersion`
//! ordinals that travel in every frame's `version` field.
//!
//! Each module also has `name(code)` for logs and `ALL`, every `(name, code)` pair.

/// Declares `pub const NAME: i32 = N;` for each entry and `ALL`, the table of every pair.
macro_rules! code_table {
    ($( $(#[$doc:meta])* $name:ident = $value:expr, )*) => {
        $( $(#[$doc])* pub const $name: i32 = $value; )*

        /// Every constant of this module as `(Java name, code)`, in code order.
        pub const ALL: &[(&str, i32)] = &[ $( (stringify!($name), $value), )* ];

        fn single_name(code: i32) -> Option<&'static str> {
            ALL.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
        }
    };
}

pub mod request;
pub mod response;
pub mod version;
