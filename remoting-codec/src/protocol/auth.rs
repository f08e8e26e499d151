//! ACL 2.0 administration (5.x only, codes 3001–3010): the dashboard's ACL page and 5.x mqadmin
//! `createUser` … `listAcl`. A 4.x broker answers these with REQUEST_CODE_NOT_SUPPORTED.
//!
//! Every header field is nullable in Java (no `@CFNotNull`); the broker validates them itself.
//! Create/update requests carry a [`UserInfo`] or [`AclInfo`] body; get answers one, list answers
//! a JSON array of them.

use serde::{Deserialize, Serialize};

crate::remoting_header! {
    /// AUTH_CREATE_USER (3001); body: [`UserInfo`].
    pub struct CreateUserRequestHeader {
        optional username: String = "username",
    }
}

crate::remoting_header! {
    /// AUTH_UPDATE_USER (3002); body: [`UserInfo`].
    pub struct UpdateUserRequestHeader {
        optional username: String = "username",
    }
}

crate::remoting_header! {
    /// AUTH_DELETE_USER (3003).
    pub struct DeleteUserRequestHeader {
        optional username: String = "username",
    }
}

crate::remoting_header! {
    /// AUTH_GET_USER (3004); answer: [`UserInfo`].
    pub struct GetUserRequestHeader {
        optional username: String = "username",
    }
}

crate::remoting_header! {
    /// AUTH_LIST_USER (3005); answer: a list of [`UserInfo`] whose names contain `filter`.
    pub struct ListUsersRequestHeader {
        optional filter: String = "filter",
    }
}

crate::remoting_header! {
    /// AUTH_CREATE_ACL (3006); body: [`AclInfo`].
    pub struct CreateAclRequestHeader {
        optional subject: String = "subject",
    }
}

crate::remoting_header! {
    /// AUTH_UPDATE_ACL (3007); body: [`AclInfo`].
    pub struct UpdateAclRequestHeader {
        optional subject: String = "subject",
    }
}

crate::remoting_header! {
    /// AUTH_DELETE_ACL (3008): a subject's whole ACL, or one policy type / resource of it.
    pub struct DeleteAclRequestHeader {
        optional subject: String = "subject",
        optional policy_type: String = "policyType",
        optional resource: String = "resource",
    }
}

crate::remoting_header! {
    /// AUTH_GET_ACL (3009); answer: [`AclInfo`].
    pub struct GetAclRequestHeader {
        optional subject: String = "subject",
    }
}

crate::remoting_header! {
    /// AUTH_LIST_ACL (3010); answer: a list of [`AclInfo`].
    pub struct ListAclsRequestHeader {
        optional subject_filter: String = "subjectFilter",
        optional resource_filter: String = "resourceFilter",
    }
}

/// `UserInfo`: `userType` is `Super` or `Normal`, `userStatus` `enable` or `disable` (Java's
/// enum names, kept as text so an unknown value still reads).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// `AclInfo`: a subject (`User:alice`) and its policies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AclInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<PolicyInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// `AclInfo.PolicyInfo`: `policyType` is `Custom` or `Default`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<PolicyEntryInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
}

/// `AclInfo.PolicyEntryInfo`: e.g. resource `Topic:orders`, actions `["Pub","Sub"]`,
/// decision `Allow`/`Deny`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEntryInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ips: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fastjson;
    use crate::{CommandHeader, ExtFields};

    #[test]
    fn acl_bodies_round_trip_in_java_shape() {
        let text = r#"{"policies":[{"entries":[{"actions":["Pub","Sub"],"decision":"Allow","resource":"Topic:orders","sourceIps":["10.0.0.0/8"]}],"policyType":"Custom"}],"subject":"User:alice"}"#;
        let acl: AclInfo = fastjson::from_str(text).unwrap();
        assert_eq!(acl.subject.as_deref(), Some("User:alice"));
        assert_eq!(fastjson::to_string(&acl).unwrap(), text);
        let users: Vec<UserInfo> = fastjson::from_str(
            r#"[{"password":"p","userStatus":"enable","userType":"Super","username":"root"}]"#,
        )
        .unwrap();
        assert_eq!(users[0].username.as_deref(), Some("root"));
    }

    #[test]
    fn delete_acl_header_round_trips() {
        let ext: ExtFields = [("subject", "User:a"), ("resource", "Topic:t")]
            .into_iter()
            .collect();
        let h = DeleteAclRequestHeader::from_ext_fields(&ext).unwrap();
        assert_eq!(h.policy_type, None);
        let mut out = ExtFields::new();
        h.to_ext_fields(&mut out);
        assert_eq!(out, ext);
    }
}
