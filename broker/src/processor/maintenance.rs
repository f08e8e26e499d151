//! Store maintenance on demand (mqadmin `cleanExpiredCQ`, `deleteExpiredCommitLog`,
//! `cleanUnusedTopic`): CLEAN_EXPIRED_CONSUMEQUEUE (306), DELETE_EXPIRED_COMMITLOG (329) and
//! CLEAN_UNUSED_TOPIC (316) of Java 4.9.8's `AdminBrokerProcessor`. None has a header or a
//! body; each answers SUCCESS without remark or extFields (`createResponseCommand(null)`),
//! once the store call returns.
//!
//! - 306, `DefaultMessageStore.cleanExpiredConsumerQueue`: every consume queue whose last entry
//!   ends below the commitlog's minimum offset (all its messages expired) is destroyed, except
//!   SCHEDULE_TOPIC_XXXX's ([`store::MessageStore::clean_expired_consumer_queue`]).
//! - 329, `executeDeleteFilesManually`: the next 20 clean passes delete expired commitlog files
//!   whatever the `deleteWhen` hour; the first runs at once on the clean thread
//!   ([`store::MessageStore::execute_delete_files_manually`]).
//! - 316, `cleanUnusedTopic`: the consume queues of every topic not in topics.json go (except
//!   SCHEDULE_TOPIC_XXXX and RMQ_SYS_TRANS_OP_HALF_TOPIC).

use std::collections::HashSet;

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;
use store::MessageStore;

use super::Route;
use crate::topic::TopicConfigManager;

/// CLEAN_EXPIRED_CONSUMEQUEUE.
pub fn clean_expired_consume_queue(
    store: &MessageStore,
    request: &RemotingCommand,
) -> RemotingCommand {
    tracing::warn!("invoke cleanExpiredConsumeQueue start.");
    let removed = store.clean_expired_consumer_queue();
    tracing::warn!("invoke cleanExpiredConsumeQueue end: {removed:?}");
    RemotingCommand::response_to(request, resp::SUCCESS)
}

/// DELETE_EXPIRED_COMMITLOG.
pub fn delete_expired_commit_log(
    store: &MessageStore,
    request: &RemotingCommand,
) -> RemotingCommand {
    tracing::warn!("invoke deleteExpiredCommitLog start.");
    store.execute_delete_files_manually();
    tracing::warn!("invoke deleteExpiredCommitLog end.");
    RemotingCommand::response_to(request, resp::SUCCESS)
}

/// CLEAN_UNUSED_TOPIC.
pub fn clean_unused_topic(
    topics: &TopicConfigManager,
    store: &MessageStore,
    request: &RemotingCommand,
) -> RemotingCommand {
    tracing::warn!("invoke cleanUnusedTopic start.");
    let keep: HashSet<String> = topics.topic_names().into_iter().collect();
    let removed = store.clean_unused_topic(&keep);
    tracing::warn!("invoke cleanUnusedTopic end: {removed:?}");
    RemotingCommand::response_to(request, resp::SUCCESS)
}

pub(super) const ROUTES: &[Route] = &[
    // These delete files.
    Route::blocking(req::CLEAN_EXPIRED_CONSUMEQUEUE, |cx, r| {
        Ok(clean_expired_consume_queue(&cx.ctrl.store, &r).into())
    }),
    Route::inline(req::DELETE_EXPIRED_COMMITLOG, |cx, r| {
        Ok(delete_expired_commit_log(&cx.ctrl.store, &r).into())
    }),
    Route::blocking(req::CLEAN_UNUSED_TOPIC, |cx, r| {
        let c = &cx.ctrl;
        Ok(clean_unused_topic(&c.topic_config_manager, &c.store, &r).into())
    }),
];

#[cfg(test)]
#[path = "maintenance_tests.rs"]
mod tests;
