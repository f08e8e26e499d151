//! `RemotingCommand`: the one message type of the RocketMQ remoting protocol. Requests, responses
//! and oneway requests are all this struct; `flag` tells them apart and `opaque` pairs a response
//! with its request.

use bytes::Bytes;

use crate::ext_fields::{CommandHeader, ExtFields, HeaderError};

/// Flag bit 0: the command is a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit 1: the request is oneway; the receiver must not answer.
pub const FLAG_ONEWAY: i32 = 2;

/// The `version` our servers put in their commands: 4.9.8's `MQVersion` ordinal (`V4_9_8`), the
/// value the recorded Java servers send.
pub const CURRENT_VERSION: i32 = 409;

/// How a header is serialized (the top byte of the frame's second int).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SerializeType {
    /// fastjson text, the default of every Java process.
    #[default]
    Json,
    /// Java's `RocketMQSerializable` binary layout (`-Drocketmq.serialize.type=ROCKETMQ`).
    RocketMq,
}

impl SerializeType {
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

macro_rules! language_codes {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// The sender's client language (`LanguageCode`): its name in JSON headers, a byte in binary ones.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub enum LanguageCode {
            #[default]
            $($variant,)*
        }

        impl LanguageCode {
            pub fn code(self) -> u8 {
                match self { $(LanguageCode::$variant => $code,)* }
            }

            /// The byte of a binary header; an unknown byte reads as `OTHER`.
            pub fn from_code(code: u8) -> Self {
                match code { $($code => LanguageCode::$variant,)* _ => LanguageCode::Other }
            }

            pub fn name(self) -> &'static str {
                match self { $(LanguageCode::$variant => $name,)* }
            }

            /// The name of a JSON header; an unknown name reads as `OTHER`.
            pub fn from_name(name: &str) -> Self {
                match name { $($name => LanguageCode::$variant,)* _ => LanguageCode::Other }
            }
        }
    };
}

language_codes! {
    Java = 0, "JAVA";
    Cpp = 1, "CPP";
    DotNet = 2, "DOTNET";
    Python = 3, "PYTHON";
    Delphi = 4, "DELPHI";
    Erlang = 5, "ERLANG";
    Ruby = 6, "RUBY";
    Other = 7, "OTHER";
    Http = 8, "HTTP";
    Go = 9, "GO";
    Php = 10, "PHP";
    Oms = 11, "OMS";
    Rust = 12, "RUST";
    NodeJs = 13, "NODE_JS";
}

/// One remoting frame, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct RemotingCommand {
    /// Request code, or response code when [`is_response`](Self::is_response).
    pub code: i32,
    pub language: LanguageCode,
    /// The sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id, echoed by the response.
    pub opaque: i32,
    /// Bit 0 response, bit 1 oneway.
    pub flag: i32,
    pub remark: Option<String>,
    /// `None` when the header had no `extFields` at all (Java omits a null map).
    pub ext_fields: Option<ExtFields>,
    /// The serialization the header arrived in; a response is written in its request's.
    pub serialize_type: SerializeType,
    /// Empty when the frame had no body.
    pub body: Bytes,
}

impl Default for RemotingCommand {
    fn default() -> Self {
        Self {
            code: 0,
            language: LanguageCode::Java,
            version: CURRENT_VERSION,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: None,
            serialize_type: SerializeType::Json,
            body: Bytes::new(),
        }
    }
}

impl RemotingCommand {
    /// A new request with a typed header. `opaque` is left 0 for the caller to assign.
    pub fn request<H: CommandHeader>(code: i32, header: &H) -> Self {
        let mut ext = ExtFields::new();
        header.to_ext_fields(&mut ext);
        Self {
            code,
            ext_fields: Some(ext),
            ..Self::default()
        }
    }

    /// A new request without header fields.
    pub fn request_without_header(code: i32) -> Self {
        Self {
            code,
            ..Self::default()
        }
    }

    /// A response to `request`: same opaque, same header serialization, response flag set.
    pub fn response_to(request: &RemotingCommand, code: i32) -> Self {
        Self {
            code,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            serialize_type: request.serialize_type,
            ..Self::default()
        }
    }

    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Adds the fields of a typed header to `extFields`.
    pub fn with_header<H: CommandHeader>(mut self, header: &H) -> Self {
        header.to_ext_fields(self.ext_fields_mut());
        self
    }

    pub fn with_ext_field(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        self.ext_fields_mut().insert(key, value);
        self
    }

    pub fn marked_oneway(mut self) -> Self {
        self.flag |= FLAG_ONEWAY;
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// One `extFields` entry.
    pub fn ext_field(&self, key: &str) -> Option<&str> {
        self.ext_fields.as_ref().and_then(|ext| ext.get(key))
    }

    /// The fields, created on first use with room for a typical header (a send response's
    /// eight fields) so that filling them does not grow the buffers field by field.
    pub fn ext_fields_mut(&mut self) -> &mut ExtFields {
        self.ext_fields
            .get_or_insert_with(|| ExtFields::with_capacity(8))
    }

    /// Reads the typed header of this command (absent `extFields` read as empty, as in Java).
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, HeaderError> {
        static EMPTY: ExtFields = ExtFields::new_const();
        H::from_ext_fields(self.ext_fields.as_ref().unwrap_or(&EMPTY))
    }
}

impl ExtFields {
    pub(crate) const fn new_const() -> Self {
        ExtFields::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_names_and_codes_agree() {
        for code in 0..=13u8 {
            let lang = LanguageCode::from_code(code);
            assert_eq!(lang.code(), code);
            assert_eq!(LanguageCode::from_name(lang.name()), lang);
        }
        assert_eq!(LanguageCode::from_name("COBOL"), LanguageCode::Other);
    }

    #[test]
    fn response_follows_request() {
        let mut req = RemotingCommand::request_without_header(105);
        req.opaque = 7;
        req.serialize_type = SerializeType::RocketMq;
        let resp = RemotingCommand::response_to(&req, 17).with_remark("no route");
        assert!(resp.is_response() && !resp.is_oneway());
        assert_eq!(
            (resp.opaque, resp.serialize_type),
            (7, SerializeType::RocketMq)
        );
    }
}
