//! 5.x client authentication with `aclEnable` (ACL 1.0 accounts of plain_acl.yml).
//!
//! A 5.x client signs every call in its metadata: `x-mq-date-time` (`yyyyMMdd'T'HHmmss'Z'`)
//! and `authorization: MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time,
//! Signature=<hex HMAC-SHA1 of the date-time with the secret key>`. The signature is checked
//! against the account's secret key; the remoting request the call becomes is then signed as
//! ACL 1.0 signs it (`AclClientRPCHook`), so the broker's own check applies the account's
//! topic and group permissions and white lists, once, as for a remoting client. A missing or
//! wrong signature or a denied permission answers UNAUTHORIZED with the reason (the proxy's
//! code for both `AuthenticationException` and `AuthorizationException`). QueryRoute and
//! QueryAssignment read no protected data and are not checked (they send no remoting request).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_and_signature() {
        let h = "MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=abc";
        assert_eq!(parse(h), Some(("ak", "abc")));
        assert_eq!(parse("Basic x"), None);
        // RFC 2202 test case 2.
        assert_eq!(
            hex_hmac_sha1("Jefe", "what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
