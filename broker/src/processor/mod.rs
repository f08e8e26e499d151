//! The broker's request processor: one module per request family, one table from request code
//! to handler, one handler signature.
//!
//! Every family module exports `ROUTES`, its rows of the table: the code, the handler, the
//! ports it is served on and whether it may block a thread. [`routes`] concatenates them, and
//! [`BrokerProcessor`] looks each request up there. A new family (filtering, replication, ACL,
//! 5.x codes) adds a module and one line to [`FAMILIES`], nothing else.
//!
//! A handler is a plain function `fn(&RequestContext, RemotingCommand) -> HandlerResult`. It
//! reads its typed header, calls the store or a manager, and returns [`Reply::Now`] with the
//! response Java builds, [`Reply::None`] where Java answers nothing, or [`Reply::Later`] when
//! the answer waits for something (a parked pull, a SYNC_FLUSH put, a call to a client). Java's
//! refusals (a code and a remark) are a [`Refusal`]; a missing or unparsable header field is
//! SYSTEM_ERROR with Java's remark. A handler marked [`Run::Blocking`] (it reads mapped files
//! at random or takes the store's put lock) runs on a blocking thread.
//!
//! Around the table, once per request, [`BrokerProcessor`] records the 5.x metrics
//! `rocketmq_rpc_latency` (code, response code, long polling) and the processor watermark
//! ([`crate::metrics`]); with the exporter off that is a flag test.
//!
//! The VIP port (`listenPort - 2`) serves every code except the pulls (11, 361), as Java registers the pull
//! processor on the main port only. ACL fields some clients always send (`AccessKey`,
//! `Signature`, …) are extra extFields no header reads, so they are ignored while ACL is off;
//! with `aclEnable` the [`access`] hook checks every request once before the table.
//!
//! Which codes 5.x clients send and which of them this table lacks (the Java 5.3.3 client and
//! crates.io `rocketmq-client-rust` 1.0.0, code by code): `docs/client-codes-audit.md`.
//!
//! | module | codes |
//! |---|---|
//! | [`send`] | SEND_MESSAGE 10, SEND_MESSAGE_V2 310, SEND_BATCH_MESSAGE 320 |
//! | [`reply`] | SEND_REPLY_MESSAGE 324, SEND_REPLY_MESSAGE_V2 325 (request-reply: pushed to the requester with PUSH_REPLY_MESSAGE_TO_CLIENT 326, then stored) |
//! | [`recall`] | RECALL_MESSAGE 370 (5.3.x recall of a timer message; `recallMessageEnable`) |
//! | [`send_back`] | CONSUMER_SEND_MSG_BACK 36 (retry and DLQ) |
//! | [`end_transaction`] | END_TRANSACTION 37 (commit / rollback of a half message) |
//! | [`pull`] | PULL_MESSAGE 11 (with long polling, [`crate::long_polling`]), LITE_PULL_MESSAGE 361 (5.x lite pull consumer, same processor) |
//! | [`client`] | HEART_BEAT 34, UNREGISTER_CLIENT 35, GET_CONSUMER_LIST_BY_GROUP 38, CHECK_CLIENT_CONFIG 46 |
//! | [`offset`] | QUERY_CONSUMER_OFFSET 14, UPDATE_CONSUMER_OFFSET 15, SEARCH_OFFSET_BY_TIMESTAMP 29, GET_MAX_OFFSET 30, GET_MIN_OFFSET 31, GET_EARLIEST_MSG_STORETIME 32 |
//! | [`lock`] | LOCK_BATCH_MQ 41, UNLOCK_BATCH_MQ 42 |
//! | [`topic_admin`] | UPDATE_AND_CREATE_TOPIC 17, UPDATE_AND_CREATE_TOPIC_LIST 18, GET_ALL_TOPIC_CONFIG 21, DELETE_TOPIC_IN_BROKER 215, GET_SYSTEM_TOPIC_LIST_FROM_BROKER 305, GET_TOPIC_CONFIG 351 |
//! | [`broker_admin`] | GET_BROKER_RUNTIME_INFO 28, GET_ALL_DELAY_OFFSET 45 |
//! | [`consumer_admin`] | GET_CONSUMER_CONNECTION_LIST 203, GET_PRODUCER_CONNECTION_LIST 204, QUERY_TOPIC_CONSUME_BY_WHO 300, CLONE_GROUP_OFFSET 314, GET_ALL_PRODUCER_INFO 328 |
//! | [`consumer_calls`] | INVOKE_BROKER_TO_RESET_OFFSET 222, INVOKE_BROKER_TO_GET_CONSUMER_STATUS 223, GET_CONSUMER_RUNNING_INFO 307, CONSUME_MESSAGE_DIRECTLY 309 (answered by calling the consumers) |
//! | [`broker_config`] | UPDATE_BROKER_CONFIG 25, GET_BROKER_CONFIG 26 |
//! | [`maintenance`] | CLEAN_EXPIRED_CONSUMEQUEUE 306, CLEAN_UNUSED_TOPIC 316, DELETE_EXPIRED_COMMITLOG 329 |
//! | [`group_admin`] | UPDATE_AND_CREATE_SUBSCRIPTIONGROUP 200, GET_ALL_SUBSCRIPTIONGROUP_CONFIG 201, DELETE_SUBSCRIPTIONGROUP 207, UPDATE_AND_CREATE_SUBSCRIPTIONGROUP_LIST 225, GET_SUBSCRIPTIONGROUP_CONFIG 352 |
//! | [`stats_admin`] | GET_ALL_CONSUMER_OFFSET 43, GET_TOPIC_STATS_INFO 202, GET_CONSUME_STATS 208, VIEW_BROKER_STATS_DATA 315, GET_BROKER_CONSUME_STATS 317 |
//! | [`timer_admin`] | GET_TIMER_CHECK_POINT 60, GET_TIMER_METRICS 61 (5.x timer store state) |
//! | [`query`] | QUERY_MESSAGE 12, VIEW_MESSAGE_BY_ID 33, QUERY_CONSUME_TIME_SPAN 303, QUERY_CONSUME_QUEUE 321 |
//! | [`acl_admin`] | UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51, GET_BROKER_CLUSTER_ACL_INFO 52, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53 |
//! | [`pop`] | POP_MESSAGE 200050 (5.x POP, with long polling; [`crate::pop`]) |
//! | [`ack`] | ACK_MESSAGE 200051, BATCH_ACK_MESSAGE 200151 |
//! | [`change_invisible`] | CHANGE_MESSAGE_INVISIBLETIME 200053 |
//! | [`notification`] | PEEK_MESSAGE 200052, NOTIFICATION 200054, POLLING_INFO 200055 |
//! | [`assignment`] | QUERY_ASSIGNMENT 400, SET_MESSAGE_REQUEST_MODE 401 (server-side rebalance) |

mod access;
mod ack;
mod acl_admin;
mod assignment;
mod body;
mod broker_admin;
mod broker_config;
mod change_invisible;
mod client;
mod consumer_admin;
mod consumer_calls;
mod end_transaction;
mod group_admin;
mod lock;
mod maintenance;
mod notification;
mod offset;
mod pop;
mod pull;
mod query;
mod recall;
mod refusal;
mod reply;
mod send;
mod send_back;
mod stats_admin;
mod timer_admin;
mod topic_admin;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use remoting::{Connection, ProcessError, RequestProcessor};
use remoting_codec::RemotingCommand;

pub use refusal::Refusal;

use crate::controller::BrokerController;

/// What a handler is given besides the request: the broker's state and the connection the
/// request came on. Cheap to clone (two `Arc`s), so a [`Reply::Later`] can own one.
#[derive(Clone)]
pub struct RequestContext {
    pub ctrl: Arc<BrokerController>,
    pub conn: Arc<Connection>,
}

/// The answer of a handler.
pub enum Reply {
    /// This response (nothing is sent for a oneway request).
    Now(RemotingCommand),
    /// No response, as where Java's processor returns `null`.
    None,
    /// The response once this resolves: the handler returned, the wait goes on in the
    /// request's task (Java's `AsyncNettyRequestProcessor` and `PullRequestHoldService`).
    Later(Pin<Box<dyn Future<Output = Result<Option<RemotingCommand>, Refusal>> + Send>>),
}

impl Reply {
    /// [`Reply::Later`] from any future.
    pub fn later(
        f: impl Future<Output = Result<Option<RemotingCommand>, Refusal>> + Send + 'static,
    ) -> Self {
        Reply::Later(Box::pin(f))
    }
}

impl From<RemotingCommand> for Reply {
    fn from(response: RemotingCommand) -> Self {
        Reply::Now(response)
    }
}

/// What every handler returns.
pub type HandlerResult = Result<Reply, Refusal>;

/// The one handler signature.
pub type Handler = fn(&RequestContext, RemotingCommand) -> HandlerResult;

/// The listening ports a code is served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ports {
    /// `listenPort` and the VIP port `listenPort - 2`.
    Both,
    /// `listenPort` only (PULL_MESSAGE and LITE_PULL_MESSAGE, as Java registers them).
    MainOnly,
}

/// Where a handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// In the request's task: in-memory managers, or sequential reads of what was just written.
    Inline,
    /// On a blocking thread: random reads of mapped files (page faults), the store's put lock
    /// with a possible flush wait, index file scans.
    Blocking,
}

/// One row of the table.
#[derive(Clone, Copy)]
pub struct Route {
    pub code: i32,
    pub handler: Handler,
    pub ports: Ports,
    pub run: Run,
}

impl Route {
    /// Both ports, inline.
    pub const fn inline(code: i32, handler: Handler) -> Self {
        Route {
            code,
            handler,
            ports: Ports::Both,
            run: Run::Inline,
        }
    }

    /// Both ports, on a blocking thread.
    pub const fn blocking(code: i32, handler: Handler) -> Self {
        Route {
            code,
            handler,
            ports: Ports::Both,
            run: Run::Blocking,
        }
    }

    pub const fn main_port_only(self) -> Self {
        Route {
            ports: Ports::MainOnly,
            ..self
        }
    }
}

/// Every family's rows.
const FAMILIES: &[&[Route]] = &[
    send::ROUTES,
    reply::ROUTES,
    recall::ROUTES,
    send_back::ROUTES,
    end_transaction::ROUTES,
    pull::ROUTES,
    client::ROUTES,
    offset::ROUTES,
    lock::ROUTES,
    topic_admin::ROUTES,
    group_admin::ROUTES,
    broker_admin::ROUTES,
    consumer_admin::ROUTES,
    consumer_calls::ROUTES,
    broker_config::ROUTES,
    maintenance::ROUTES,
    stats_admin::ROUTES,
    query::ROUTES,
    acl_admin::ROUTES,
    timer_admin::ROUTES,
    pop::ROUTES,
    ack::ROUTES,
    change_invisible::ROUTES,
    notification::ROUTES,
    assignment::ROUTES,
];

/// The table, by code. A code listed twice is a programming error, caught by the table test.
pub fn routes() -> &'static HashMap<i32, Route> {
    static TABLE: OnceLock<HashMap<i32, Route>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FAMILIES
            .iter()
            .flat_map(|family| family.iter())
            .map(|route| (route.code, *route))
            .collect()
    })
}

/// Every row in declaration order (duplicates kept), for the table test.
pub fn all_routes() -> impl Iterator<Item = &'static Route> {
    FAMILIES.iter().flat_map(|family| family.iter())
}

/// The processor of one listening port.
pub struct BrokerProcessor {
    controller: Arc<BrokerController>,
    /// The VIP port: [`Ports::MainOnly`] codes are not served.
    vip: bool,
}

impl BrokerProcessor {
    pub fn new(controller: Arc<BrokerController>, vip: bool) -> Self {
        Self { controller, vip }
    }

    fn route(&self, code: i32) -> Option<Route> {
        let route = routes().get(&code)?;
        (!self.vip || route.ports == Ports::Both).then_some(*route)
    }
}

impl RequestProcessor for BrokerProcessor {
    async fn process(
        &self,
        conn: &Arc<Connection>,
        req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        self.controller.broker2client.connection_opened(conn);
        tracing::trace!("request {} from {:?}", req.code, conn);
        // ACL (aclEnable): once per request, before the table, as Java's RPC hook.
        if let Err(refusal) = access::check(&self.controller, conn, &req) {
            return Ok(Some(refusal.response_to(&req)));
        }
        let Some(route) = self.route(req.code) else {
            return Err(ProcessError::NotSupported);
        };
        let template = RemotingCommand::response_to(&req, 0);
        let (code, oneway) = (req.code, req.is_oneway());
        // The topic of an UPDATE_AND_CREATE_TOPIC, for its creation-time metric.
        let created_topic = (code == remoting_codec::code::request::UPDATE_AND_CREATE_TOPIC
            && self.controller.metrics.enabled())
        .then(|| req.ext_field("topic").map(str::to_owned))
        .flatten();
        // Only the 5.x metrics use the request's duration: no clock reads without them.
        let begin = self
            .controller
            .metrics
            .enabled()
            .then(std::time::Instant::now);
        let _in_progress = self.controller.metrics.enter(code);
        let cx = RequestContext {
            ctrl: self.controller.clone(),
            conn: conn.clone(),
        };
        let result = match route.run {
            Run::Inline => (route.handler)(&cx, req),
            Run::Blocking => tokio::task::spawn_blocking(move || (route.handler)(&cx, req))
                .await
                .unwrap_or_else(|e| Err(Refusal::system_error(e.to_string()))),
        };
        let mut waited = false;
        let answer = match result {
            Ok(Reply::Now(response)) => Ok(Some(response)),
            Ok(Reply::None) => Ok(None),
            Ok(Reply::Later(answer)) => {
                waited = true;
                answer.await
            }
            Err(refusal) => Err(refusal),
        };
        let response = answer.unwrap_or_else(|refusal| {
            tracing::debug!("{:?}: request {} refused: {refusal}", conn, route.code);
            Some(refusal.response_to(&template))
        });
        // The 5.x rpc metric, once for every routed request (nothing is sent for oneway).
        let sent = response.as_ref().filter(|_| !oneway).map(|r| r.code);
        let long_polling = waited
            && matches!(
                code,
                remoting_codec::code::request::PULL_MESSAGE
                    | remoting_codec::code::request::LITE_PULL_MESSAGE
            );
        if let Some(begin) = begin {
            let elapsed = begin.elapsed();
            let metrics = &self.controller.metrics;
            metrics.record_rpc(code, sent, long_polling, elapsed);
            let response_code = response.as_ref().map(|r| r.code);
            metrics.record_create(code, created_topic.as_deref(), response_code, elapsed);
        }
        Ok(response)
    }

    fn on_connection_closed(&self, conn: &Arc<Connection>) {
        self.controller.connection_closed(conn);
    }
}

/// Java's `FAQUrl.suggestTodo(...)`: every FAQ constant of 4.9.8 is the same page.
pub(crate) fn faq_suggest_todo() -> &'static str {
    "\nSee http://rocketmq.apache.org/docs/faq/ for further details."
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod table_tests;
