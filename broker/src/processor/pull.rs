//! PULL_MESSAGE (11) and 5.x LITE_PULL_MESSAGE (361), Java's `PullMessageProcessor`, with long
//! polling.
//!
//! LITE_PULL_MESSAGE is what a 5.x `DefaultLitePullConsumer` sends (the pull sysFlag has
//! `FLAG_LITE_PULL_MESSAGE`, 0x10, and the client's `pullMessage` picks the code from it; the
//! crates.io `rocketmq-client-rust` does the same). 5.3.3 registers the same processor for both
//! codes on the main port only, with `brokerAllowSuspend` true for both: the one difference is
//! the thread pool (`litePullMessageExecutor`), which has no counterpart here (a pull runs on
//! its connection's task), and the `litePullMessageEnable` switch (5.x key, default true;
//! [`crate::config::five`]): when off, a lite pull of a readable broker is NO_PERMISSION "the
//! broker[<brokerIP1>] for lite pull consumer is forbidden" with `forbiddenType` 1
//! (`BROKER_FORBIDDEN`). Otherwise a lite pull is checked, read, parked and answered exactly as
//! a PULL_MESSAGE.
//!
//! The 5.x header fields (`PullMessageRequestHeader` 5.3.3 as the 5.3.3 client's
//! `PullAPIWrapper` sends them: `maxMsgBytes`, `bname`; from a proxy also `requestSource`,
//! `proxyFrowardClientId`; `lo`, `ns`, `nsd`, `oway` of `TopicQueueRequestHeader` /
//! `RpcRequestHeader`) are read or passed over without effect, as 5.3.3's broker does:
//! `maxMsgBytes` is parsed (a malformed number reads as absent, the codec's rule for every
//! optional field, where Java's `Integer.parseInt` fails the request) but 5.3.3's processor
//! never passes it to the store (`getMessageAsync(group, topic, queueId, offset,
//! maxMsgNums, filter)`), so the byte limit of a pull stays the store's
//! `maxTransferBytesOnMessageInMemory` / `InDisk`. `requestSource` only matters for a proxy's
//! broadcast or stream pulls (no proxy here); `lo` only for static topics.
//!
//! Checks in Java's order: broker readable (NO_PERMISSION), the subscription group (auto-created
//! when allowed, else SUBSCRIPTION_GROUP_NOT_EXIST; consume disabled → NO_PERMISSION), the topic
//! (TOPIC_NOT_EXIST, not readable → NO_PERMISSION), the queue id against the read queues
//! (SYSTEM_ERROR), then the subscription: from the header when sysFlag has
//! `FLAG_SUBSCRIPTION` (0x4) (`FilterAPI.build`: a tag list, or a non-tag expression with its
//! filter data built on the spot; an empty non-tag expression or a tag list of separators only
//! → SUBSCRIPTION_PARSE_FAILED; an expression that does not compile filters nothing, as in
//! Java), else from the group's heartbeat (no group → SUBSCRIPTION_NOT_EXIST, broadcast not
//! allowed → NO_PERMISSION, no subscription of the topic → SUBSCRIPTION_NOT_EXIST, an older
//! subVersion → SUBSCRIPTION_NOT_LATEST; for a non-tag expression the group's registered
//! filter data: none → FILTER_DATA_NOT_EXIST, an older client version → FILTER_DATA_NOT_LATEST).
//! Non-tag expressions then need `enablePropertyFilter` (SYSTEM_ERROR otherwise).
//!
//! The store is read with the request's [`SubscriptionFilter`] (tag codes from the consume
//! queue, SQL92 on each record's properties, `%RETRY%` records by their original topic's
//! expression with `filterSupportRetry`); a parked request waits on the same filter.
//!
//! The store's `GetMessageStatus` maps to the response code as in Java (the remark is the
//! status name): FOUND → SUCCESS with the records as body; NO_MATCHED_MESSAGE and
//! MESSAGE_WAS_REMOVING → PULL_RETRY_IMMEDIATELY; OFFSET_FOUND_NULL and OFFSET_OVERFLOW_ONE →
//! PULL_NOT_FOUND; NO_MESSAGE_IN_QUEUE / NO_MATCHED_LOGIC_QUEUE → PULL_OFFSET_MOVED unless the
//! request was for offset 0 (then PULL_NOT_FOUND); OFFSET_TOO_SMALL and OFFSET_OVERFLOW_BADLY
//! → PULL_OFFSET_MOVED (on a slave without `offsetCheckInSlave`: PULL_RETRY_IMMEDIATELY).
//! Java also writes an OFFSET_MOVED_EVENT message for the moved case; that event is not
//! written here.
//!
//! PULL_NOT_FOUND with the suspend flag (0x2) parks the request: up to the client's
//! `suspendTimeoutMillis` with `longPollingEnable` (woken by the store's arriving listener,
//! see [`crate::long_polling`]), else `shortPollingTimeMills`; then it runs once more without
//! suspending and that answer is sent. The commit offset piggy-backed with `FLAG_COMMIT_OFFSET`
//! (0x1) is stored on the first run only, and only on a master.
//!
//! A SUCCESS answer is counted in the statistics as Java's: GROUP_GET_NUMS/SIZE
//! (`topic@group`), BROKER_GET_NUMS and GROUP_GET_LATENCY ([`crate::stats::manager`]).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use remoting::Connection;
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::pull_sys_flag::{
    has_commit_offset_flag, has_suspend_flag, FLAG_SUBSCRIPTION,
};
use remoting_codec::protocol::client::MessageModel;
use remoting_codec::protocol::perm;
use remoting_codec::protocol::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use remoting_codec::RemotingCommand;
use store::{GetMessageResult, GetMessageStatus};

use super::{faq_suggest_todo, HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::consumer_filter::{self, is_tag_type, FilterData, SubscriptionFilter};
use crate::controller::BrokerController;
/// `MixAll.MASTER_ID`.
const MASTER_ID: i64 = 0;

/// Java registers the pull processor on the main port only. A pull reads what was just
/// written (in the page cache), so it runs inline.
pub(super) const ROUTES: &[Route] = &[
    Route::inline(request::PULL_MESSAGE, pull_message).main_port_only(),
    Route::inline(request::LITE_PULL_MESSAGE, pull_message).main_port_only(),
];

fn pull_message(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let header: PullMessageRequestHeader = req.decode_header()?;
    let first = run(&cx.ctrl, &cx.conn, &req, &header, true)?;
    let Outcome::Suspend { filter } = first else {
        return Ok(first.into_response().into());
    };
    let cx = cx.clone();
    Ok(Reply::later(async move {
        let (ctrl, conn) = (&cx.ctrl, &cx.conn);
        let (long_polling, short_polling_ms) = ctrl
            .configuration
            .broker(|b| (b.long_polling_enable, b.short_polling_time_mills));
        let timeout = if long_polling {
            Duration::from_millis(header.suspend_timeout_millis.max(0) as u64)
        } else {
            Duration::from_millis(short_polling_ms.max(0) as u64)
        };
        if long_polling {
            let mut held = ctrl.pull_request_hold_service.hold(
                &header.topic,
                header.queue_id,
                header.queue_offset,
                filter,
            );
            // A message dispatched between the first run and the registration did not see us.
            let max = ctrl
                .store
                .max_offset_in_queue(&header.topic, header.queue_id);
            if max <= header.queue_offset {
                tokio::select! {
                    _ = held.woken() => {}
                    _ = tokio::time::sleep(timeout) => {}
                    _ = conn.closed() => return Ok(None),
                }
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(timeout) => {}
                _ = conn.closed() => return Ok(None),
            }
        }
        Ok(Some(run(ctrl, conn, &req, &header, false)?.into_response()))
    }))
}

enum Outcome {
    Answer(RemotingCommand),
    /// PULL_NOT_FOUND and the request may be parked.
    Suspend {
        filter: Arc<SubscriptionFilter>,
    },
}

impl Outcome {
    fn into_response(self) -> RemotingCommand {
        match self {
            Outcome::Answer(r) => r,
            // `run` with `allow_suspend = false` never suspends.
            Outcome::Suspend { .. } => unreachable!("suspend outcome on a final run"),
        }
    }
}

/// A refusal. Java creates the response with its (empty) PullMessageResponseHeader before any
/// check, so every refusal carries an empty `extFields` (`"extFields":{}` in JSON).
fn fail(req: &RemotingCommand, code: i32, remark: impl Into<String>) -> Outcome {
    let mut resp = RemotingCommand::response_to(req, code).with_remark(remark);
    resp.ext_fields = Some(Default::default());
    Outcome::Answer(resp)
}

fn run(
    ctrl: &BrokerController,
    conn: &Arc<Connection>,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
    allow_suspend: bool,
) -> Result<Outcome, Refusal> {
    // Java's `beginTimeMills`: each run of the request (a woken pull runs again) is timed.
    let begin = std::time::Instant::now();
    let config = &ctrl.broker_config;
    if !perm::is_readable(ctrl.configuration.broker(|b| b.broker_permission)) {
        return Ok(fail(
            req,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                config.broker_ip1
            ),
        ));
    }
    if req.code == request::LITE_PULL_MESSAGE && !ctrl.loaded_config.five.lite_pull_message_enable {
        let resp = RemotingCommand::response_to(req, response::NO_PERMISSION)
            .with_remark(format!(
                "the broker[{}] for lite pull consumer is forbidden",
                config.broker_ip1
            ))
            .with_ext_field("forbiddenType", "1");
        return Ok(Outcome::Answer(resp));
    }
    let group = &header.consumer_group;
    let Some(group_config) = ctrl
        .subscription_group_manager
        .find_subscription_group_config(group)
    else {
        return Ok(fail(
            req,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group [{group}] does not exist, {}",
                faq_suggest_todo()
            ),
        ));
    };
    if !group_config.consume_enable {
        return Ok(fail(
            req,
            response::NO_PERMISSION,
            format!("subscription group no permission, {group}"),
        ));
    }
    let Some(topic_config) = ctrl.topic_config_manager.select_topic_config(&header.topic) else {
        return Ok(fail(
            req,
            response::TOPIC_NOT_EXIST,
            format!(
                "topic[{}] not exist, apply first please! {}",
                header.topic,
                faq_suggest_todo()
            ),
        ));
    };
    if !perm::is_readable(topic_config.perm) {
        return Ok(fail(
            req,
            response::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", header.topic),
        ));
    }
    if header.queue_id < 0 || header.queue_id >= topic_config.read_queue_nums {
        return Ok(fail(
            req,
            response::SYSTEM_ERROR,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[/{}]",
                header.queue_id,
                header.topic,
                topic_config.read_queue_nums,
                conn.peer_addr()
            ),
        ));
    }

    let now = crate::now_millis();
    let mut filter_data: Option<Arc<FilterData>> = None;
    let subscription = if header.sys_flag & FLAG_SUBSCRIPTION != 0 {
        let Ok(sub) = consumer_filter::build(
            &header.topic,
            header.subscription.as_deref(),
            header.expression_type.as_deref(),
        ) else {
            tracing::warn!(
                "Parse the consumer's subscription[{:?}] failed, group: {group}",
                header.subscription
            );
            return Ok(fail(
                req,
                response::SUBSCRIPTION_PARSE_FAILED,
                "parse the consumer's subscription failed",
            ));
        };
        if !is_tag_type(sub.expression_type.as_deref()) {
            filter_data = FilterData::build(
                &header.topic,
                group,
                header.subscription.as_deref().unwrap_or(""),
                header.expression_type.as_deref().unwrap_or(""),
                header.sub_version,
                now,
            )
            .map(Arc::new);
        }
        sub
    } else {
        let Some(group_info) = ctrl.consumer_manager.get_consumer_group_info(group) else {
            return Ok(fail(
                req,
                response::SUBSCRIPTION_NOT_EXIST,
                format!("the consumer's group info not exist{}", faq_suggest_todo()),
            ));
        };
        if !group_config.consume_broadcast_enable
            && group_info.message_model == MessageModel::Broadcasting
        {
            return Ok(fail(
                req,
                response::NO_PERMISSION,
                format!("the consumer group[{group}] can not consume by broadcast way"),
            ));
        }
        let Some(sub) = group_info.find_subscription_data(&header.topic).cloned() else {
            return Ok(fail(
                req,
                response::SUBSCRIPTION_NOT_EXIST,
                format!(
                    "the consumer's subscription not exist{}",
                    faq_suggest_todo()
                ),
            ));
        };
        if sub.sub_version < header.sub_version {
            return Ok(fail(
                req,
                response::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest",
            ));
        }
        if !is_tag_type(sub.expression_type.as_deref()) {
            let Some(data) = ctrl.consumer_filter_manager.get(&header.topic, group) else {
                return Ok(fail(
                    req,
                    response::FILTER_DATA_NOT_EXIST,
                    "The broker's consumer filter data is not exist!Your expression may be wrong!",
                ));
            };
            if data.client_version < header.sub_version {
                tracing::warn!(
                    "The broker's consumer filter data is not latest, group: {group}, topic: {}, serverV: {}, clientV: {}",
                    header.topic, data.client_version, header.sub_version
                );
                return Ok(fail(
                    req,
                    response::FILTER_DATA_NOT_LATEST,
                    "the consumer's consumer filter data not latest",
                ));
            }
            filter_data = Some(data);
        }
        sub
    };
    if !is_tag_type(subscription.expression_type.as_deref())
        && !ctrl.configuration.broker(|b| b.enable_property_filter)
    {
        let kind = subscription.expression_type.as_deref().unwrap_or("");
        return Ok(fail(
            req,
            response::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {kind}"),
        ));
    }

    let filter = Arc::new(SubscriptionFilter::new(
        &subscription,
        filter_data,
        &ctrl.consumer_filter_manager,
        ctrl.configuration.broker(|b| b.filter_support_retry),
    ));
    let result = ctrl.store.get_message(
        &header.topic,
        header.queue_id,
        header.queue_offset,
        header.max_msg_nums.max(0) as usize,
        Some(filter.as_ref()),
    );

    let store_config = ctrl.store.config();
    let is_slave = !ctrl.is_master();
    let mut suggest = MASTER_ID;
    // Java sets PULL_RETRY_IMMEDIATELY for a slave without `slaveReadEnable` and then
    // overwrites the code from the result's status in every case, so a slave serves pulls like
    // a master (the s15-ha recording: FOUND from the slave, suggestWhichBrokerId 0).
    let mut code = status_code(&result, header.queue_offset);
    if config.slave_read_enable {
        suggest = if result.suggest_pulling_from_slave {
            group_config.which_broker_when_consume_slowly
        } else {
            group_config.broker_id
        };
    }
    if code == response::PULL_OFFSET_MOVED && is_slave && !store_config.offset_check_in_slave {
        suggest = group_config.broker_id;
        code = response::PULL_RETRY_IMMEDIATELY;
    }
    if code == response::PULL_OFFSET_MOVED {
        tracing::info!(
            "PULL_OFFSET_MOVED: topic={}, group={}, requestOffset={}, newOffset={}",
            header.topic,
            group,
            header.queue_offset,
            result.next_begin_offset
        );
    }

    // The piggy-backed commit happens on the first run, whatever the answer.
    if allow_suspend && has_commit_offset_flag(header.sys_flag) && !is_slave {
        ctrl.consumer_offset_manager.commit_offset(
            &conn.peer_addr().to_string(),
            group,
            &header.topic,
            header.queue_id,
            header.commit_offset,
        );
    }

    if code == response::PULL_NOT_FOUND && allow_suspend && has_suspend_flag(header.sys_flag) {
        return Ok(Outcome::Suspend { filter });
    }

    let mut resp = RemotingCommand::response_to(req, code)
        .with_remark(status_name(result.status))
        .with_header(&PullMessageResponseHeader {
            suggest_which_broker_id: suggest,
            next_begin_offset: result.next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            offset_delta: None,
            topic_sys_flag: None,
            group_sys_flag: None,
            forbidden_type: None,
        });
    if code == response::SUCCESS {
        resp.body = concat(&result.messages, result.buffer_total_size);
        ctrl.broker_stats_manager.on_pull_found(
            group,
            &header.topic,
            header.queue_id,
            result.messages.len() as i64,
            result.buffer_total_size as i64,
            begin.elapsed().as_millis() as i64,
            result.next_begin_offset,
        );
    }
    Ok(Outcome::Answer(resp))
}

fn status_code(result: &GetMessageResult, request_offset: i64) -> i32 {
    match result.status {
        GetMessageStatus::Found => response::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            response::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if request_offset != 0 {
                response::PULL_OFFSET_MOVED
            } else {
                response::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            response::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            response::PULL_OFFSET_MOVED
        }
    }
}

/// Java's `GetMessageStatus.name()`, the remark of every pull answer.
fn status_name(status: GetMessageStatus) -> &'static str {
    match status {
        GetMessageStatus::Found => "FOUND",
        GetMessageStatus::NoMatchedMessage => "NO_MATCHED_MESSAGE",
        GetMessageStatus::MessageWasRemoving => "MESSAGE_WAS_REMOVING",
        GetMessageStatus::OffsetFoundNull => "OFFSET_FOUND_NULL",
        GetMessageStatus::OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
        GetMessageStatus::OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
        GetMessageStatus::OffsetTooSmall => "OFFSET_TOO_SMALL",
        GetMessageStatus::NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
        GetMessageStatus::NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
    }
}

/// The records back to back (Java's `readGetMessageResult`). One record is passed on as the
/// shared slice of the mapped file; several are copied once into one buffer.
fn concat(records: &[Bytes], total: usize) -> Bytes {
    if let [one] = records {
        return one.clone();
    }
    let mut body = BytesMut::with_capacity(total);
    for r in records {
        body.extend_from_slice(r);
    }
    body.freeze()
}
