//! Java's `AclUtils.combineRequestContent` and `AclSigner.calSignature`: what a client signs
//! and how.
//!
//! The content is the **values** of the request's extFields, sorted by key in Java `String`
//! order (UTF-16 code units: `AccessKey` sorts before lowercase keys), without `Signature` and
//! `_UNIQUE_KEY_QUERY`, concatenated and UTF-8 encoded, followed by the raw body. The signature
//! is Base64(HmacSHA1(secretKey as UTF-8, content)). The s16 recording's 104 signed frames all
//! verify this way (`tests::recorded_signatures`).

use base64::Engine;
use hmac::{KeyInit, Mac};
use remoting_codec::RemotingCommand;

pub const ACCESS_KEY: &str = "AccessKey";
pub const SIGNATURE: &str = "Signature";
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`: left out of the content by the validator.
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// The bytes a client signs.
pub fn combine_request_content(request: &RemotingCommand) -> Vec<u8> {
    let mut fields: Vec<(&str, &str)> = request
        .ext_fields
        .as_ref()
        .map(|e| {
            e.iter()
                .filter(|(k, _)| *k != SIGNATURE && *k != UNIQUE_MSG_QUERY_FLAG)
                .collect()
        })
        .unwrap_or_default();
    // A TreeMap: Java String order, one value per key (the last put wins).
    fields.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    fields.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            earlier.1 = later.1;
            true
        } else {
            false
        }
    });
    let mut content = Vec::with_capacity(request.body.len() + 64);
    for (_, v) in fields {
        content.extend_from_slice(v.as_bytes());
    }
    content.extend_from_slice(&request.body);
    content
}

/// `AclSigner.calSignature(data, secretKey)`.
pub fn cal_signature(content: &[u8], secret_key: &str) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(content);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Signs `request` as Java's `AclClientRPCHook` does (tests and our own clients).
pub fn sign(request: &mut RemotingCommand, access_key: &str, secret_key: &str) {
    request.ext_fields_mut().insert(ACCESS_KEY, access_key);
    let signature = cal_signature(&combine_request_content(request), secret_key);
    request.ext_fields_mut().insert(SIGNATURE, signature);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_values_then_body() {
        let r = RemotingCommand::request_without_header(35)
            .with_ext_field("producerGroup", "g")
            .with_ext_field("clientID", "c")
            .with_ext_field("AccessKey", "ak")
            .with_ext_field("Signature", "x")
            .with_ext_field("_UNIQUE_KEY_QUERY", "false")
            .with_body(&b"BODY"[..]);
        assert_eq!(combine_request_content(&r), b"akcgBODY");
    }

    #[test]
    fn hmac_sha1_base64() {
        // RFC 2202 test case 2.
        assert_eq!(
            cal_signature(b"what do ya want for nothing?", "Jefe"),
            base64::engine::general_purpose::STANDARD
                .encode(hex("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
