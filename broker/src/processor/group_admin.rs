//! Subscription group administration (mqadmin `updateSubGroup`, `deleteSubGroup`; the
//! dashboard's group list): UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), DELETE_SUBSCRIPTIONGROUP
//! (207) and GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201) of Java's `AdminBrokerProcessor`, and the
//! 5.x UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (225, mqadmin 5 `updateSubGroupList`) as the
//! 5.3.3 broker answers it: body `SubscriptionGroupList`, every group stored as by 200 (no name
//! check, no slave check, as 5.3.3), SUCCESS; a missing or unreadable body is SYSTEM_ERROR.
//! And 5.x GET_SUBSCRIPTIONGROUP_CONFIG (352, the 5.3.3 client's `getSubscriptionGroupConfig`,
//! used by mqadmin 5 and the rust client's admin): header `group`; the group is looked up as
//! everywhere (`findSubscriptionGroupConfig`, so auto-created with
//! `autoCreateSubscriptionGroup`), SUCCESS with its `SubscriptionGroupConfig` JSON (the 5.x
//! fields a group has never been given are absent, as 4.9.8-made configs have none), else
//! SUBSCRIPTION_GROUP_NOT_EXIST "No group in this broker".

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::protocol::group_admin::{
    DeleteSubscriptionGroupRequestHeader, GetSubscriptionGroupConfigRequestHeader,
    SubscriptionGroupConfig, SubscriptionGroupList,
};
use remoting_codec::RemotingCommand;

use super::body::{decode_body, json_response};
use super::topic_admin::slave_refusal;
use super::{Refusal, Route};
use crate::offset::ConsumerOffsetManager;
use crate::subscription::SubscriptionGroupManager;

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: the body is the whole group config; it replaces or
/// adds the group and is persisted.
pub fn update_and_create_subscription_group(
    groups: &SubscriptionGroupManager,
    is_slave: bool,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if is_slave {
        return Ok(slave_refusal(request));
    }
    let config: SubscriptionGroupConfig = decode_body(request, "SubscriptionGroupConfig")?;
    tracing::info!("updateAndCreateSubscriptionGroup {config:?}");
    groups.update_subscription_group_config(config);
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST (5.x): each group of the list replaces or adds its
/// config, persisted.
pub fn update_and_create_subscription_group_list(
    groups: &SubscriptionGroupManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let list: SubscriptionGroupList = decode_body(request, "SubscriptionGroupList")?;
    let names: String = list
        .group_config_list
        .iter()
        .map(|g| format!("{};", g.group_name))
        .collect();
    tracing::info!("updateAndCreateSubscriptionGroupList: groupNames: {names}");
    for config in list.group_config_list {
        groups.update_subscription_group_config(config);
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// DELETE_SUBSCRIPTIONGROUP: removes the group, and its committed offsets when asked
/// (`removeOffset`, or 5.x mqadmin's `cleanOffset`).
pub fn delete_subscription_group(
    groups: &SubscriptionGroupManager,
    offsets: &ConsumerOffsetManager,
    is_slave: bool,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    if is_slave {
        return Ok(slave_refusal(request));
    }
    let h: DeleteSubscriptionGroupRequestHeader = request.decode_header()?;
    groups.delete_subscription_group_config(&h.group_name);
    if h.clean_offset() {
        offsets.remove_offset(&h.group_name);
    }
    Ok(RemotingCommand::response_to(request, resp::SUCCESS))
}

/// GET_ALL_SUBSCRIPTIONGROUP_CONFIG: the table and its data version (subscriptionGroup.json on
/// one line).
pub fn get_all_subscription_group(
    groups: &SubscriptionGroupManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    Ok(
        RemotingCommand::response_to(request, resp::SUCCESS)
            .with_body(groups.encode().into_bytes()),
    )
}

/// GET_SUBSCRIPTIONGROUP_CONFIG (5.x): one group's config.
pub fn get_subscription_group_config(
    groups: &SubscriptionGroupManager,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: GetSubscriptionGroupConfigRequestHeader = request.decode_header()?;
    let Some(config) = groups.find_subscription_group_config(&h.group) else {
        tracing::error!("No group in this broker, group: {}", h.group);
        return Err(Refusal::new(
            resp::SUBSCRIPTION_GROUP_NOT_EXIST,
            "No group in this broker",
        ));
    };
    json_response(request, &config)
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_SUBSCRIPTIONGROUP_CONFIG, |cx, r| {
        let groups = &cx.ctrl.subscription_group_manager;
        Ok(get_subscription_group_config(groups, &r)?.into())
    }),
    // Persists subscriptionGroup.json once per group.
    Route::blocking(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST, |cx, r| {
        tracing::info!(
            "updateAndCreateSubscriptionGroupList called by {:?}",
            cx.conn
        );
        let groups = &cx.ctrl.subscription_group_manager;
        Ok(update_and_create_subscription_group_list(groups, &r)?.into())
    }),
    Route::inline(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, |cx, r| {
        tracing::info!("updateAndCreateSubscriptionGroup called by {:?}", cx.conn);
        let c = &cx.ctrl;
        let groups = &c.subscription_group_manager;
        Ok(update_and_create_subscription_group(groups, !c.is_master(), &r)?.into())
    }),
    Route::inline(req::DELETE_SUBSCRIPTIONGROUP, |cx, r| {
        tracing::info!("deleteSubscriptionGroup called by {:?}", cx.conn);
        let c = &cx.ctrl;
        let (groups, offsets) = (&c.subscription_group_manager, &c.consumer_offset_manager);
        let response = delete_subscription_group(groups, offsets, !c.is_master(), &r)?;
        // Java: with `autoDeleteUnusedStats`, the group's statistics go too.
        if response.code == resp::SUCCESS && c.broker_config.auto_delete_unused_stats {
            let h: DeleteSubscriptionGroupRequestHeader = r.decode_header()?;
            c.broker_stats_manager.on_group_deleted(&h.group_name);
        }
        Ok(response.into())
    }),
    Route::inline(req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG, |cx, r| {
        Ok(get_all_subscription_group(&cx.ctrl.subscription_group_manager, &r)?.into())
    }),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use remoting_codec::fastjson;
    use remoting_codec::protocol::group_admin::SubscriptionGroupWrapper;

    #[test]
    fn create_list_delete_with_offsets() {
        let dir = TempDir::new("group-admin");
        let groups = SubscriptionGroupManager::new(false, dir.path());
        let offsets = ConsumerOffsetManager::new(dir.path());
        let mut config = SubscriptionGroupConfig::new("g1");
        config.retry_max_times = 3;
        let create =
            RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
                .with_body(fastjson::to_vec(&config).unwrap());
        let r = update_and_create_subscription_group(&groups, false, &create).unwrap();
        assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
        assert_eq!(groups.get("g1").unwrap().retry_max_times, 3);
        // Persisted.
        let again = SubscriptionGroupManager::open(false, dir.path()).unwrap();
        assert_eq!(again.get("g1").unwrap().retry_max_times, 3);

        let all = RemotingCommand::request_without_header(req::GET_ALL_SUBSCRIPTIONGROUP_CONFIG);
        let r = get_all_subscription_group(&groups, &all).unwrap();
        let body: SubscriptionGroupWrapper = fastjson::from_slice(&r.body).unwrap();
        assert!(body.subscription_group_table.contains_key("g1"));
        assert_eq!(body.data_version, groups.data_version());
        assert!(!r.body.contains(&b'\n'), "one line, as Java's encode()");

        offsets.commit_offset("h", "g1", "T", 0, 5);
        offsets.commit_offset("h", "g2", "T", 0, 6);
        let delete = |remove_offset: bool| {
            RemotingCommand::request(
                req::DELETE_SUBSCRIPTIONGROUP,
                &DeleteSubscriptionGroupRequestHeader {
                    group_name: "g1".into(),
                    remove_offset,
                    clean_offset: None,
                },
            )
        };
        delete_subscription_group(&groups, &offsets, false, &delete(false)).unwrap();
        assert!(!groups.contains("g1"));
        assert_eq!(
            offsets.query_offset("g1", "T", 0),
            5,
            "kept without removeOffset"
        );
        delete_subscription_group(&groups, &offsets, false, &delete(true)).unwrap();
        assert_eq!(offsets.query_offset("g1", "T", 0), -1);
        assert_eq!(offsets.query_offset("g2", "T", 0), 6);
    }

    #[test]
    fn group_list_stores_every_group_as_5x() {
        let dir = TempDir::new("group-list");
        let groups = SubscriptionGroupManager::new(false, dir.path());
        let mut g2 = SubscriptionGroupConfig::new("gl2");
        g2.retry_queue_nums = 3;
        let body = SubscriptionGroupList {
            group_config_list: vec![SubscriptionGroupConfig::new("gl1"), g2],
        };
        let list =
            RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST)
                .with_body(fastjson::to_vec(&body).unwrap());
        let r = update_and_create_subscription_group_list(&groups, &list).unwrap();
        assert_eq!((r.code, r.remark.as_deref()), (resp::SUCCESS, None));
        let again = SubscriptionGroupManager::open(false, dir.path()).unwrap();
        assert!(again.contains("gl1"));
        assert_eq!(again.get("gl2").unwrap().retry_queue_nums, 3);
        // Missing and unreadable bodies fail the request.
        for body in [&b""[..], b"{not json"] {
            let bad = RemotingCommand::request_without_header(
                req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST,
            )
            .with_body(body.to_vec());
            assert!(update_and_create_subscription_group_list(&groups, &bad)
                .is_err_and(|e| e.code == resp::SYSTEM_ERROR));
        }
    }

    #[test]
    fn slave_missing_header_and_bad_body() {
        let dir = TempDir::new("group-admin-bad");
        let groups = SubscriptionGroupManager::new(true, dir.path());
        let offsets = ConsumerOffsetManager::new(dir.path());
        let create =
            RemotingCommand::request_without_header(req::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP);
        let r = update_and_create_subscription_group(&groups, true, &create).unwrap();
        assert_eq!(
            (r.code, r.remark.as_deref()),
            (
                resp::SYSTEM_ERROR,
                Some(super::super::topic_admin::SLAVE_REMARK)
            )
        );
        assert!(update_and_create_subscription_group(&groups, false, &create).is_err());
        let delete = RemotingCommand::request_without_header(req::DELETE_SUBSCRIPTIONGROUP);
        assert_eq!(
            delete_subscription_group(&groups, &offsets, false, &delete),
            Err(Refusal::system_error(
                "the custom field <groupName> is null"
            ))
        );
    }
}
