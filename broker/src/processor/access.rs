//! The ACL hook around the routing table: with `aclEnable`, every request (every code, both
//! ports) is checked once before it is looked up, as Java's server RPC hook runs before any
//! processor. A refusal is SYSTEM_ERROR with Java's remark ([`crate::acl`]); it is logged
//! through [`crate::acl::audit`], once per client, key, code and reason per window.

use remoting::Connection;
use remoting_codec::code::response;
use remoting_codec::RemotingCommand;

use super::Refusal;
use crate::controller::BrokerController;

/// `Err` with the answer when the ACL refuses the request.
pub(super) fn check(
    ctrl: &BrokerController,
    conn: &Connection,
    req: &RemotingCommand,
) -> Result<(), Refusal> {
    let Some(validator) = &ctrl.access_validator else {
        return Ok(());
    };
    let peer = conn.peer_addr();
    validator.check(req, peer).map_err(|e| {
        let key = req.ext_field(crate::acl::signature::ACCESS_KEY);
        let client = peer.ip().to_string();
        let now = crate::now_millis();
        if validator
            .audit
            .should_log(&client, key, req.code, &e.message, now)
        {
            tracing::warn!(
                target: "acl",
                "denied request code {} from {client} (accessKey {}): {}",
                req.code,
                key.unwrap_or("-"),
                e.message
            );
        }
        Refusal::new(response::SYSTEM_ERROR, e.remark())
    })
}
