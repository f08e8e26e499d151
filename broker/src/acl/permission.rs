//! Java's `acl.common.Permission`: the permission bits, their text form in plain_acl.yml, the
//! check of a needed permission against an owned one, and the admin-only request codes.
//!
//! Facts (4.9.8): DENY = 1, ANY = 2, PUB = 4, SUB = 8. A text that is not `PUB`, `SUB`,
//! `PUB|SUB`, `SUB|PUB` or `DENY` (after trimming), or no text at all, is DENY. An owned DENY
//! bit refuses everything. The admin-only codes are UPDATE_AND_CREATE_TOPIC 17,
//! UPDATE_BROKER_CONFIG 25, DELETE_TOPIC_IN_BROKER 215, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200
//! and DELETE_SUBSCRIPTIONGROUP 207 — every other code, the ACL admin codes 50–53 included, is
//! open to any valid account (the s16 recording: rocketmq2's GET_BROKER_CLUSTER_ACL_INFO 52
//! succeeded).

use remoting_codec::code::request as req;

pub const DENY: u8 = 1;
pub const ANY: u8 = 1 << 1;
pub const PUB: u8 = 1 << 2;
pub const SUB: u8 = 1 << 3;

/// `Permission.checkPermission(neededPerm, ownedPerm)`.
pub fn check_permission(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// `Permission.parsePermFromString`: `None` and unknown texts are DENY.
pub fn parse_perm(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some("PUB") => PUB,
        Some("SUB") => SUB,
        Some("PUB|SUB") | Some("SUB|PUB") => PUB | SUB,
        _ => DENY,
    }
}

/// `Permission.needAdminPerm`.
pub fn need_admin_perm(code: i32) -> bool {
    matches!(
        code,
        req::UPDATE_AND_CREATE_TOPIC
            | req::UPDATE_BROKER_CONFIG
            | req::DELETE_TOPIC_IN_BROKER
            | req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | req::DELETE_SUBSCRIPTIONGROUP
    )
}

/// Commons-lang `StringUtils.split(s, sep)` with a one-character separator: the pieces between
/// separators, empty pieces dropped.
pub fn split_drop_empty(s: &str, sep: char) -> Vec<&str> {
    s.split(sep).filter(|p| !p.is_empty()).collect()
}

/// `Permission.parseResourcePerms` of one `Res=Perm` entry: `(resource, perm)`, or Java's
/// error text. Groups become their `%RETRY%` topic.
pub fn parse_resource_perm(entry: &str, is_topic: bool) -> Result<(String, u8), String> {
    let items = split_drop_empty(entry, '=');
    if items.len() != 2 {
        return Err(format!(
            "Parse resource permission failed for {}:{entry}",
            if is_topic { "topic" } else { "group" }
        ));
    }
    let name = items[0].trim();
    let resource = if is_topic {
        name.to_owned()
    } else {
        retry_topic(name)
    };
    Ok((resource, parse_perm(Some(items[1].trim()))))
}

/// `Permission.checkResourcePerms` (UPDATE_AND_CREATE_ACL_CONFIG's topic and group lists).
pub fn check_resource_perms(entries: &[String]) -> Result<(), String> {
    for entry in entries {
        let items = split_drop_empty(entry, '=');
        if items.len() != 2 {
            return Err(format!(
                "Parse Resource format error for {entry}.\nThe expected resource format is 'Res=Perm'. For example: topicA=SUB"
            ));
        }
        let perm = items[1].trim();
        if perm != "DENY" && parse_perm(Some(perm)) == DENY {
            return Err(format!(
                "Parse resource permission error for {entry}.\nThe expected permissions are 'SUB' or 'PUB' or 'SUB|PUB' or 'PUB|SUB'."
            ));
        }
    }
    Ok(())
}

/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// `MixAll.getRetryTopic(group)`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// `PlainAccessResource.isRetryTopic`.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_PREFIX)
}

/// `PlainAccessResource.printStr`: `group:<g>` for a retry topic, else `topic:<t>`.
pub fn print_resource(resource: &str) -> String {
    match resource.strip_prefix(RETRY_PREFIX) {
        Some(group) => format!("group:{group}"),
        None => format!("topic:{resource}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_checks_follow_java() {
        assert_eq!(parse_perm(Some(" PUB|SUB ")), PUB | SUB);
        assert_eq!(parse_perm(Some("SUB|PUB")), PUB | SUB);
        assert_eq!(parse_perm(Some("pub")), DENY);
        assert_eq!(parse_perm(None), DENY);
        assert!(check_permission(PUB, PUB | SUB));
        assert!(!check_permission(SUB, PUB));
        assert!(!check_permission(PUB, DENY | PUB));
        assert!(check_permission(ANY, SUB));
        assert!(!check_permission(ANY, DENY));
        assert!(need_admin_perm(17) && need_admin_perm(207) && !need_admin_perm(50));
    }

    #[test]
    fn resource_entries() {
        assert_eq!(
            parse_resource_perm("acl_group=SUB", false).unwrap(),
            ("%RETRY%acl_group".to_owned(), SUB)
        );
        assert_eq!(
            parse_resource_perm(" T = PUB ", true).unwrap(),
            ("T".to_owned(), PUB)
        );
        assert_eq!(
            parse_resource_perm("T", true).unwrap_err(),
            "Parse resource permission failed for topic:T"
        );
        assert!(check_resource_perms(&["a=DENY".into(), "b=SUB|PUB".into()]).is_ok());
        assert!(check_resource_perms(&["a=READ".into()])
            .unwrap_err()
            .starts_with("Parse resource permission error for a=READ."));
        assert_eq!(print_resource("%RETRY%g"), "group:g");
        assert_eq!(print_resource("T"), "topic:T");
    }
}
