//! 5.x client authentication with `aclEnable` (ACL 1.0 accounts of plain_acl.yml).
//!
//! A 5.x client signs every call in its metadata: `x-mq-date-time` (`yyyyMMdd'T'HHmmss'Z'`)
//! and `authorization: MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time,
//! Signature=<hex HMAC-SHA1 of the date-time with the secret key>`. The signature is checked
//! against the account's secret key; the remoting request the call becomes is then signed as
//! ACL 1.0 signs it (`AclClientRPCHook`), so the broker's own check applies the account's
//! topic and group permissions and white lists, once, as for a remoting client. A missing or
//! wrong signature or a denied permission answers UNAUTHORIZED with the reason (the proxy's
//! code for both `AuthenticationException` and `AuthorizationException`).
//!
//! QueryRoute and QueryAssignment send no remoting request: they are checked as 5.x's ACL 1.0
//! checks a gRPC call (5.0–5.2 `PlainAccessResource.parse(GeneratedMessageV3, …)`, the same
//! needs as 5.3.3's `DefaultAuthorizationContextBuilder`): QueryRoute needs PUB or SUB on the
//! topic (`Permission.ANY`), QueryAssignment SUB on the group (its `%RETRY%` topic) and SUB on
//! the topic. The signed content is the `x-mq-date-time` text and the signature the header's
//! hex as Base64, so `validate` runs unchanged: global and account white lists first, then the
//! signature, then the permissions, with its messages. A refusal is UNAUTHORIZED with the
//! reason, before any name check (the proxy's pipeline runs before its activity).

use grpc::convert::status;
use grpc::v2::{Code, Status};
use hmac::{KeyInit, Mac};
use remoting_codec::RemotingCommand;

use super::Caller;
use crate::controller::BrokerController;

/// The parts of `authorization`.
fn parse(authorization: &str) -> Option<(&str, &str)> {
    let rest = authorization.trim().strip_prefix("MQv2-HMAC-SHA1")?;
    let (mut credential, mut signature) = (None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            _ => {}
        }
    }
    Some((credential?, signature?))
}

fn hex_hmac_sha1(key: &str, data: &str) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(data.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// With `aclEnable`: verifies the caller's signature, signs `req` as its account and runs the
/// broker's ACL check on it. Without: nothing.
pub fn authorize(
    ctrl: &BrokerController,
    caller: &Caller,
    req: &mut RemotingCommand,
) -> Result<(), Status> {
    let Some(validator) = &ctrl.access_validator else {
        return Ok(());
    };
    let unauthorized = |m: &str| status(Code::Unauthorized, m);
    if let (Some(authorization), Some(date_time)) = (&caller.authorization, &caller.date_time) {
        let (access_key, signature) =
            parse(authorization).ok_or_else(|| unauthorized("malformed authorization header"))?;
        let secret = validator
            .secret_key(access_key)
            .ok_or_else(|| unauthorized(&format!("No acl config for {access_key}")))?;
        if !hex_hmac_sha1(&secret, date_time).eq_ignore_ascii_case(signature) {
            return Err(unauthorized(&format!(
                "Check signature failed for accessKey={access_key}"
            )));
        }
        crate::acl::signature::sign(req, access_key, &secret);
    }
    // Unsigned callers are checked as unsigned remoting requests are (white lists only).
    validator
        .check(req, caller.peer)
        .map_err(|e| unauthorized(&e.message))
}

/// commons-codec `Hex.decodeHex`, with its messages.
fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let chars: Vec<char> = text.chars().collect();
    if !chars.len().is_multiple_of(2) {
        return Err("Odd number of characters.".into());
    }
    let digit = |i: usize| {
        chars[i]
            .to_digit(16)
            .ok_or_else(|| format!("Illegal hexadecimal character {} at index {i}", chars[i]))
    };
    (0..chars.len())
        .step_by(2)
        .map(|i| Ok((digit(i)? << 4 | digit(i + 1)?) as u8))
        .collect()
}

/// With `aclEnable`: checks a call that sends no remoting request against the account of its
/// signature, needing `resources` (resource, `acl::permission` bits). Without: nothing.
pub fn authorize_rpc(
    ctrl: &BrokerController,
    caller: &Caller,
    code: i32,
    resources: &[(String, u8)],
) -> Result<(), Status> {
    use base64::Engine;
    let Some(validator) = &ctrl.access_validator else {
        return Ok(());
    };
    let unauthorized = |m: &str| status(Code::Unauthorized, m);
    let (mut access_key, mut signature) = (None, None);
    if let Some(authorization) = &caller.authorization {
        let (key, hex) =
            parse(authorization).ok_or_else(|| unauthorized("malformed authorization header"))?;
        let raw = decode_hex(hex).map_err(|m| unauthorized(&m))?;
        access_key = Some(key.to_owned());
        signature = Some(base64::engine::general_purpose::STANDARD.encode(raw));
    }
    let content = caller.date_time.clone().unwrap_or_default().into_bytes();
    let remote = crate::acl::PlainAccessValidator::host_address(caller.peer);
    let access = crate::acl::access_resource::AccessRequest::of_rpc(
        code,
        Some(remote),
        access_key,
        signature,
        content,
        resources,
    );
    validator
        .check_access(&access)
        .map_err(|e| unauthorized(&e.message))
}

/// QueryRoute: PUB or SUB on the topic.
pub fn authorize_route(
    ctrl: &BrokerController,
    caller: &Caller,
    topic: &str,
) -> Result<(), Status> {
    use crate::acl::permission::ANY;
    use remoting_codec::code::request::GET_ROUTEINFO_BY_TOPIC;
    authorize_rpc(
        ctrl,
        caller,
        GET_ROUTEINFO_BY_TOPIC,
        &[(topic.to_owned(), ANY)],
    )
}

/// QueryAssignment: SUB on the group, SUB on the topic.
pub fn authorize_assignment(
    ctrl: &BrokerController,
    caller: &Caller,
    topic: &str,
    group: &str,
) -> Result<(), Status> {
    use crate::acl::permission::{retry_topic, SUB};
    use remoting_codec::code::request::QUERY_ASSIGNMENT;
    authorize_rpc(
        ctrl,
        caller,
        QUERY_ASSIGNMENT,
        &[(retry_topic(group), SUB), (topic.to_owned(), SUB)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_and_signature() {
        let h = "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=abc";
        assert_eq!(parse(h), Some(("ak", "abc")));
        assert_eq!(parse("Basic x"), None);
        assert_eq!(decode_hex("0aFf"), Ok(vec![10, 255]));
        assert_eq!(decode_hex("abc"), Err("Odd number of characters.".into()));
        assert_eq!(
            decode_hex("zz"),
            Err("Illegal hexadecimal character z at index 0".into())
        );
        // RFC 2202 test case 2.
        assert_eq!(
            hex_hmac_sha1("Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
