//! The broker's request processor: one module per request family, and the dispatch by code.
//!
//! Both listening ports share the controller; the VIP port (`listenPort - 2`) serves every
//! family except pull, as Java registers the pull processor on the main port only.
//!
//! A handler reads its typed header (a missing or unparsable field becomes SYSTEM_ERROR with
//! Java's remark, through [`ProcessError`]), calls the store or a manager, and returns the
//! response Java builds. ACL fields some clients always send (`AccessKey`, `Signature`, …) are
//! extra extFields no header reads, so they are ignored while ACL is off.
//!
//! | module | codes |
//! |---|---|
//! | [`send`] | SEND_MESSAGE 10, SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320 |
//! | [`send_back`] | CONSUMER_SEND_MSG_BACK 36 (retry and DLQ) |
//! | [`end_transaction`] | END_TRANSACTION 37 (commit / rollback of a half message) |
//! | [`pull`] | PULL_MESSAGE 11 (with long polling, [`crate::long_polling`]) |
//! | [`client`] | HEART_BEAT 34, UNREGISTER_CLIENT 35, GET_CONSUMER_LIST_BY_GROUP 38, CHECK_CLIENT_CONFIG 46 |
//! | [`offset`] | QUERY_CONSUMER_OFFSET 14, UPDATE_CONSUMER_OFFSET 15, SEARCH_OFFSET_BY_TIMESTAMP 29, GET_MAX_OFFSET 30, GET_MIN_OFFSET 31, GET_EARLIEST_MSG_STORETIME 32 |
//! | [`lock`] | LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42 |
//! | [`topic_admin`] | UPDATE_AND_CREATE_TOPIC 17, GET_ALL_TOPIC_CONFIG 21, DELETE_TOPIC_IN_BROKER 215 |
//! | [`broker_admin`] | GET_BROKER_RUNTIME_INFO 28, GET_ALL_DELAY_OFFSET 45 |
//! | [`group_admin`] | UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201, DELETE_SUBSCRIPTIONGROUP 207 |

mod broker_admin;
mod client;
mod end_transaction;
mod group_admin;
mod lock;
mod offset;
mod pull;
mod send;
mod send_back;
mod topic_admin;

use std::sync::Arc;

use remoting::{Connection, ProcessError, RequestProcessor};
use remoting_codec::code::request;
use remoting_codec::protocol::callback::NotifyConsumerIdsChangedRequestHeader;
use remoting_codec::RemotingCommand;

use crate::client::ConnectionId;
use crate::controller::BrokerController;

/// What every handler returns: the response, `None` for no answer, or an error the server
/// turns into Java's SYSTEM_ERROR / REQUEST_CODE_NOT_SUPPORTED.
pub(crate) type HandlerResult = Result<Option<RemotingCommand>, ProcessError>;

/// The processor of one listening port.
pub struct BrokerProcessor {
    controller: Arc<BrokerController>,
    /// The VIP port: no pull.
    vip: bool,
}

impl BrokerProcessor {
    pub fn new(controller: Arc<BrokerController>, vip: bool) -> Self {
        Self { controller, vip }
    }
}

impl RequestProcessor for BrokerProcessor {
    async fn process(&self, conn: &Arc<Connection>, req: RemotingCommand) -> HandlerResult {
        let ctrl = &*self.controller;
        ctrl.connection_opened(conn);
        tracing::trace!("request {} from {:?}", req.code, conn);
        match req.code {
            request::SEND_MESSAGE | request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE => {
                send::process(ctrl, conn, req).await
            }
            request::CONSUMER_SEND_MSG_BACK => {
                send_back::process(self.controller.clone(), req).await
            }
            request::END_TRANSACTION => {
                end_transaction::process(self.controller.clone(), req).await
            }
            request::PULL_MESSAGE if !self.vip => pull::process(ctrl, conn, req).await,
            request::HEART_BEAT
            | request::UNREGISTER_CLIENT
            | request::GET_CONSUMER_LIST_BY_GROUP
            | request::CHECK_CLIENT_CONFIG => client::process(ctrl, conn, req).await,
            request::QUERY_CONSUMER_OFFSET
            | request::UPDATE_CONSUMER_OFFSET
            | request::SEARCH_OFFSET_BY_TIMESTAMP
            | request::GET_MAX_OFFSET
            | request::GET_MIN_OFFSET
            | request::GET_EARLIEST_MSG_STORETIME => offset::process(ctrl, conn, req).await,
            request::LOCK_BATCH_MQ | request::UNLOCK_BATCH_MQ => {
                lock::process(ctrl, conn, req).await
            }
            request::UPDATE_AND_CREATE_TOPIC
            | request::GET_ALL_TOPIC_CONFIG
            | request::DELETE_TOPIC_IN_BROKER => topic_admin::process(ctrl, conn, req).await,
            request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
            | request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG
            | request::DELETE_SUBSCRIPTIONGROUP => group_admin::process(ctrl, conn, req).await,
            request::GET_BROKER_RUNTIME_INFO | request::GET_ALL_DELAY_OFFSET => {
                broker_admin::process(ctrl, conn, req).await
            }
            _ => Err(ProcessError::NotSupported),
        }
    }

    fn on_connection_closed(&self, conn: &Arc<Connection>) {
        self.controller.connection_closed(conn);
    }
}

/// NOTIFY_CONSUMER_IDS_CHANGED (40), oneway, to each given connection of `group`
/// (Java's `Broker2Client.notifyConsumerIdsChanged`).
pub(crate) fn notify_consumer_ids_changed(
    ctrl: &BrokerController,
    group: &str,
    connections: &[ConnectionId],
) {
    for id in connections {
        let Some(conn) = ctrl.connection(*id) else {
            continue;
        };
        let request = RemotingCommand::request(
            request::NOTIFY_CONSUMER_IDS_CHANGED,
            &NotifyConsumerIdsChangedRequestHeader {
                consumer_group: group.to_owned(),
            },
        );
        tokio::spawn(async move {
            if let Err(e) = conn.invoke_oneway(request).await {
                tracing::debug!("notifyConsumerIdsChanged to {:?} failed: {e}", conn);
            }
        });
    }
}

/// Java's `FAQUrl.suggestTodo(...)`: every FAQ constant of 4.9.8 is the same page.
pub(crate) fn faq_suggest_todo() -> &'static str {
    "\nSee http://rocketmq.apache.org/docs/faq/ for further details."
}
