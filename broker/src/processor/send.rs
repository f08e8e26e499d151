//! The send family (Java's `SendMessageProcessor` + `AbstractSendMessageProcessor.msgCheck`):
//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//!
//! Order of checks, as Java: every response (failures too) carries `MSG_REGION` and `TRACE_ON`;
//! then `msgCheck` — a broker without write permission refuses order topics (NO_PERMISSION),
//! the topic name rules (SYSTEM_ERROR), the topics no client may write (NO_PERMISSION), a missing
//! topic is created from the header's default topic (TBW102) or, for `%RETRY%` topics, as a
//! retry topic, else TOPIC_NOT_EXIST; a queue id ≥ max(read, write queues) is SYSTEM_ERROR with
//! Java's remark. 4.9.8 does not check the topic's own write permission on a send (producers
//! check the route's perm); neither do we. A negative queue id picks a queue.
//!
//! What is stored: the header's properties plus `CLUSTER` (the broker's cluster name), without
//! `WAIT` (4.9.8 takes it out of the stored string on single sends; the store still reads it
//! to decide whether a SYNC_FLUSH put waits — see the note on `put`). A batch entry keeps its
//! own properties followed by the header's (batch-level) properties and `CLUSTER`.
//!
//! `%RETRY%group` sends whose reconsume count reached the group's (or the header's) maximum go
//! to `%DLQ%group` queue 0 (`handleRetryAndDLQ`; a DELAY property the client sent is kept, as
//! Java keeps it). Consumers' send-backs (code 36) are [`super::send_back`]. Delayed messages
//! are redirected by the store itself.
//! A transactional half message (TRAN_MSG=true) is refused with NO_PERMISSION when
//! `rejectTransactionMessage` is set, else stored in RMQ_SYS_TRANS_HALF_TOPIC
//! ([`crate::transaction`]).
//!
//! A single message the store parks as a 5.x timer message gets the 5.x `recallHandle` in its
//! answer ([`super::recall`]).
//!
//! A stored send is counted as Java's `handlePutMessageResult` counts it (TOPIC_PUT_NUMS/SIZE
//! under the topic as stored, BROKER_PUT_NUMS; [`crate::stats::manager`]).

use std::net::SocketAddr;
use std::sync::Arc;

use remoting::Connection;
use remoting_codec::code::{request, response, version};
use remoting_codec::message::message_const::{
    PROPERTY_CLUSTER, PROPERTY_TRANSACTION_PREPARED, PROPERTY_WAIT_STORE_MSG_OK,
};
use remoting_codec::message::sysflag::message_sys_flag::MULTI_TAGS_FLAG;
use remoting_codec::message::{decode_batch, MessageProperties, StoredMessage};
use remoting_codec::protocol::send::{
    add_send_response_ext_fields, parse_send_header, SendMessageRequestHeader,
    SendMessageResponseHeader,
};
use remoting_codec::protocol::{perm, TopicConfig, TopicFilterType};
use remoting_codec::RemotingCommand;
use store::{
    MessageStore, PutMessageResult, PutMessageStatus, PutOutcome, ReplicaTicket, ReplicaWait,
};

use super::{faq_suggest_todo, HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::controller::BrokerController;
use crate::topic::validator::{self, dlq_topic, RETRY_GROUP_TOPIC_PREFIX};
use crate::topic::{random_queue_id, DLQ_NUMS_PER_GROUP};
use crate::transaction::bridge::parse_half_message_inner;

pub(super) const ROUTES: &[Route] = &[
    Route::inline(request::SEND_MESSAGE, send_message),
    Route::inline(request::SEND_MESSAGE_V2, send_message),
    Route::inline(request::SEND_BATCH_MESSAGE, send_message),
];

/// The send runs on the connection's task: a put only copies into the mapped commitlog. With
/// SYNC_FLUSH a message that waits for its store (`WAIT` not `false`) is answered later, once
/// the group commit covering it has synced (or `syncFlushTimeout` has passed: FLUSH_DISK_TIMEOUT),
/// so no thread blocks per waiting sender and the senders share their syncs.
///
/// On a SYNC_MASTER a stored send then waits for a slave as well ([`after_replica`]).
fn send_message(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let ctrl = &cx.ctrl;
    let empty = Default::default();
    let header = parse_send_header(req.code, req.ext_fields.as_ref().unwrap_or(&empty))?
        .ok_or_else(|| Refusal::not_supported(req.code))?;
    let mut resp = RemotingCommand::response_to(&req, response::SUCCESS);
    ctrl.configuration
        .broker(|b| add_send_response_ext_fields(resp.ext_fields_mut(), &b.region_id, b.trace_on));
    let put = match send(ctrl, &cx.conn, &req, &header) {
        Ok(put) => put,
        Err(refusal) => return Ok(refused(resp, refusal).into()),
    };
    match put.outcome {
        PutOutcome::Done(result) => {
            let (resp, replica) = answer(
                ctrl,
                resp,
                result,
                put.queue_id,
                put.stored,
                put.wait,
                put.recall_handle,
            );
            Ok(match replica {
                None => resp.into(),
                Some(ticket) => Reply::later(after_replica(resp, ticket)),
            })
        }
        PutOutcome::Flushing(pending) => {
            let ctrl = ctrl.clone();
            Ok(Reply::later(async move {
                let timeout = pending.timeout();
                let result = pending.wait_until(tokio::time::sleep(timeout)).await;
                let (resp, replica) = answer(
                    &ctrl,
                    resp,
                    result,
                    put.queue_id,
                    put.stored,
                    put.wait,
                    put.recall_handle,
                );
                match replica {
                    None => Ok(Some(resp)),
                    Some(ticket) => after_replica(resp, ticket).await,
                }
            }))
        }
    }
}

/// SYNC_MASTER (Java's `submitReplicaRequest` future): the stored send's response goes out when
/// a slave has reported past the message, or after `slaveTimeout` as FLUSH_SLAVE_TIMEOUT (code
/// 12, same header, no remark: the message stays stored and is replicated later). The wait is
/// a ticket in the store's group-transfer list, awaited by this request's task. With SYNC_FLUSH
/// the slave is asked once the group commit has answered (Java submits both at once; the
/// answer is the same, only later by the sync's time).
async fn after_replica(
    mut resp: RemotingCommand,
    ticket: ReplicaTicket,
) -> Result<Option<RemotingCommand>, Refusal> {
    if ticket.await != PutMessageStatus::PutOk {
        resp.code = response::FLUSH_SLAVE_TIMEOUT;
    }
    Ok(Some(resp))
}

/// The response to a stored (or refused) put: its header, or Java's code and remark, on the
/// response that already carries the ext fields of every send response.
fn answer(
    ctrl: &BrokerController,
    resp: RemotingCommand,
    result: PutMessageResult,
    queue_id: i32,
    stored: (String, i32),
    wait_store_msg_ok: bool,
    recall_handle: Option<String>,
) -> (RemotingCommand, Option<ReplicaTicket>) {
    match put_result_to_response(ctrl, result, queue_id, stored, wait_store_msg_ok) {
        Ok((code, mut header, replica)) => {
            header.recall_handle = recall_handle;
            let mut r = resp.with_header(&header);
            r.code = code;
            (r, replica)
        }
        Err(refusal) => (refused(resp, refusal), None),
    }
}

fn refused(mut resp: RemotingCommand, refusal: Refusal) -> RemotingCommand {
    resp.code = refusal.code;
    resp.remark = refusal.remark;
    resp
}

/// A put made: its outcome, the queue the answer names, and where the store wrote it (for the
/// statistics).
struct Put {
    outcome: PutOutcome,
    queue_id: i32,
    stored: (String, i32),
    /// Java's `isWaitStoreMsgOK`: the SYNC_MASTER wait applies only then.
    wait: bool,
    /// A timer message's 5.x `recallHandle` ([`super::recall`]), for a stored answer.
    recall_handle: Option<String>,
}

fn send(
    ctrl: &BrokerController,
    conn: &Arc<Connection>,
    req: &RemotingCommand,
    header: &SendMessageRequestHeader,
) -> Result<Put, Refusal> {
    let start = ctrl
        .configuration
        .broker(|b| b.start_accept_send_request_time_stamp);
    // 0 (the default) accepts at once, without reading the clock.
    if start > 0 && crate::now_millis() < start {
        return Err(Refusal::new(
            response::SYSTEM_ERROR,
            format!("broker unable to service, until {start}"),
        ));
    }
    let topic_config = msg_check(ctrl, conn.peer_addr(), header)?;
    let queue_id = if header.queue_id < 0 {
        random_queue_id(topic_config.write_queue_nums)
    } else {
        header.queue_id
    };
    let mut sys_flag = header.sys_flag;
    if topic_config.topic_filter_type == TopicFilterType::MultiTag {
        sys_flag |= MULTI_TAGS_FLAG;
    }
    let cluster = &ctrl.broker_config.broker_cluster_name;
    let header_props = MessageProperties::parse(header.properties.as_deref().unwrap_or(""))
        .with_trailing_separator(false);
    let template = StoredMessage {
        topic: header.topic.clone(),
        queue_id,
        sys_flag,
        born_timestamp: header.born_timestamp,
        born_host: conn.peer_addr(),
        store_host: ctrl.store_host,
        reconsume_times: header.reconsume_times.unwrap_or(0),
        ..StoredMessage::default()
    };

    let (outcome, queue_id, stored, wait) = if req.code == request::SEND_BATCH_MESSAGE {
        if header.topic.len() > i8::MAX as usize {
            return Err(Refusal::new(
                response::MESSAGE_ILLEGAL,
                format!("message topic length too long {}", header.topic.len()),
            ));
        }
        let entries = decode_batch(&req.body).map_err(|e| {
            Refusal::new(
                response::MESSAGE_ILLEGAL,
                format!("the batch body cannot be decoded: {e}"),
            )
        })?;
        let mut batch_props = header_props;
        batch_props.insert(PROPERTY_CLUSTER, cluster.as_str());
        // Java writes the batch-level map as a HashMap and appends that string to each entry's.
        batch_props.sort_in_java_hash_map_order();
        let msgs: Vec<StoredMessage> = entries
            .into_iter()
            .map(|entry| {
                let mut properties = entry.properties;
                properties.append(&batch_props);
                StoredMessage {
                    flag: entry.flag,
                    body: entry.body,
                    properties,
                    ..template.clone()
                }
            })
            .collect();
        let stored = (header.topic.clone(), queue_id);
        let wait = msgs
            .first()
            .is_some_and(|m| m.properties.wait_store_msg_ok());
        (
            put_now(&ctrl.store, PutRequest::Batch(msgs)),
            queue_id,
            stored,
            wait,
        )
    } else {
        let mut msg = StoredMessage {
            flag: header.flag,
            body: req.body.clone(),
            properties: header_props,
            ..template
        };
        retry_and_dlq(ctrl, req, header, &mut msg)?;
        msg.properties.insert(PROPERTY_CLUSTER, cluster.as_str());
        // 4.9.8 leaves WAIT out of the stored properties of a single message.
        let wait = msg.properties.remove(PROPERTY_WAIT_STORE_MSG_OK);
        if msg
            .properties
            .get(PROPERTY_TRANSACTION_PREPARED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            if ctrl.configuration.broker(|b| b.reject_transaction_message) {
                return Err(Refusal::new(
                    response::NO_PERMISSION,
                    format!(
                        "the broker[{}] sending transaction message is forbidden",
                        ctrl.broker_config.broker_ip1
                    ),
                ));
            }
            // The answer names the client's queue and the half queue's offset, as Java's.
            let queue_id = msg.queue_id;
            // 4.9.8 puts WAIT back into the map before `parseHalfMessageInner` rewrites the
            // stored string from it: a half message's record carries WAIT as sent.
            if let Some(wait) = wait {
                msg.properties.insert(PROPERTY_WAIT_STORE_MSG_OK, wait);
            }
            parse_half_message_inner(&mut msg);
            let stored = stored_at(&ctrl.store, &msg);
            let wait = msg.properties.wait_store_msg_ok();
            return Ok(Put {
                outcome: put_now(&ctrl.store, PutRequest::One(Box::new(msg), None)),
                queue_id,
                stored,
                wait,
                recall_handle: None,
            });
        }
        let queue_id = msg.queue_id;
        let stored = stored_at(&ctrl.store, &msg);
        // Java's `isWaitStoreMsgOK`: absent means wait.
        let wait_ok = wait
            .as_deref()
            .is_none_or(|v| v.eq_ignore_ascii_case("true"));
        // 5.x: a timer message's answer carries its recall handle (`attachRecallHandle`).
        let mut recall_handle = None;
        let broker_name = &ctrl.broker_config.broker_name;
        let outcome =
            ctrl.store
                .put_message_deferred_inspect(prepare_one(Box::new(msg), wait), |appended| {
                    recall_handle = super::recall::recall_handle_of(appended, broker_name);
                });
        return Ok(Put {
            outcome,
            queue_id,
            stored,
            wait: wait_ok,
            recall_handle,
        });
    };
    Ok(Put {
        outcome,
        queue_id,
        stored,
        wait,
        recall_handle: None,
    })
}

/// The topic and queue the store writes `msg` to: its own, or the `SCHEDULE_TOPIC_XXXX` queue
/// of its delay level. Java counts a send's statistics under the message's topic after the put,
/// which the store has changed for a parked delayed message.
fn stored_at(store: &MessageStore, msg: &StoredMessage) -> (String, i32) {
    match store.schedule_redirect_level(msg) {
        Some(level) => (store::SCHEDULE_TOPIC.to_owned(), level - 1),
        None => (msg.topic.clone(), msg.queue_id),
    }
}

/// `msgCheck`: the checks before anything is stored; returns the topic's config (also the
/// reply family's, [`super::reply`]).
pub(super) fn msg_check(
    ctrl: &BrokerController,
    peer: SocketAddr,
    header: &SendMessageRequestHeader,
) -> Result<TopicConfig, Refusal> {
    let topics = &ctrl.topic_config_manager;
    if !perm::is_writeable(ctrl.configuration.broker(|b| b.broker_permission))
        && topics.is_order_topic(&header.topic)
    {
        return Err(Refusal::new(
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                ctrl.broker_config.broker_ip1
            ),
        ));
    }
    validator::validate_topic(&header.topic)
        .and_then(|()| validator::check_send_allowed(&header.topic))
        .map_err(|e| Refusal::new(e.response_code(), e.to_string()))?;
    let config = match topics.select_topic_config(&header.topic) {
        Some(config) => config,
        None => {
            let is_retry = header.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
            // TopicSysFlag: unit 0x1, unit-sub 0x2.
            let topic_sys_flag = match (header.unit_mode, is_retry) {
                (false, _) => 0,
                (true, true) => 0x2,
                (true, false) => 0x1,
            };
            let created = topics
                .create_topic_in_send_message_method(
                    &header.topic,
                    &header.default_topic,
                    &peer.to_string(),
                    header.default_topic_queue_nums,
                    topic_sys_flag,
                )
                .map(|o| o.config)
                .or_else(|| {
                    is_retry.then(|| {
                        topics
                            .create_topic_in_send_message_back_method(
                                &header.topic,
                                1,
                                perm::WRITE | perm::READ,
                                topic_sys_flag,
                            )
                            .config
                    })
                });
            created.ok_or_else(|| {
                Refusal::new(
                    response::TOPIC_NOT_EXIST,
                    format!(
                        "topic[{}] not exist, apply first please!{}",
                        header.topic,
                        faq_suggest_todo()
                    ),
                )
            })?
        }
    };
    let valid = config.write_queue_nums.max(config.read_queue_nums);
    if header.queue_id >= valid {
        return Err(Refusal::new(
            response::SYSTEM_ERROR,
            format!(
                "request queueId[{}] is illegal, {} Producer: {}",
                header.queue_id,
                topic_config_to_string(&config),
                peer
            ),
        ));
    }
    Ok(config)
}

/// `handleRetryAndDLQ` for a `%RETRY%group` send.
fn retry_and_dlq(
    ctrl: &BrokerController,
    req: &RemotingCommand,
    header: &SendMessageRequestHeader,
    msg: &mut StoredMessage,
) -> Result<(), Refusal> {
    let Some(group) = header.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
        return Ok(());
    };
    let Some(group_config) = ctrl
        .subscription_group_manager
        .find_subscription_group_config(group)
    else {
        return Err(Refusal::new(
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!(
                "subscription group not exist, {group} {}",
                faq_suggest_todo()
            ),
        ));
    };
    let mut max_reconsume_times = group_config.retry_max_times;
    if req.version >= version::V3_4_9 {
        if let Some(max) = header.max_reconsume_times {
            max_reconsume_times = max;
        }
    }
    if header.reconsume_times.unwrap_or(0) >= max_reconsume_times {
        let dlq = dlq_topic(group);
        ctrl.topic_config_manager
            .create_topic_in_send_message_back_method(
                &dlq,
                DLQ_NUMS_PER_GROUP,
                perm::WRITE | perm::READ,
                0,
            );
        msg.topic = dlq;
        msg.queue_id = 0;
        // Java quirk kept: 4.9.8 clears the delay level on the message before replacing its
        // properties with the request's, so a DELAY the client sent survives. The Java client's
        // own fallback for a failed send-back sends DELAY = 3 + reconsumeTimes: at the limit
        // the message waits in SCHEDULE_TOPIC_XXXX and is then delivered to the DLQ.
        // (5.x sets DELAY=-1, stores at once, and goes to the DLQ only above the maximum.)
    }
    Ok(())
}

pub(super) enum PutRequest {
    /// The message and the WAIT value taken out of its properties.
    One(Box<StoredMessage>, Option<String>),
    Batch(Vec<StoredMessage>),
    /// A reply, stored with its properties as sent ([`super::reply`]).
    AsSent(Box<StoredMessage>),
}

/// The put itself.
///
/// The store decides whether a SYNC_FLUSH put waits from the message's own `WAIT` property;
/// Java reads it from the message's map, which still holds it while its stored string does not.
/// Our record is encoded from the same properties, so a message that asked not to wait
/// (`WAIT=false`) keeps the pair in its record; the default (wait) is stored without it.
pub(super) fn put_now(store: &MessageStore, request: PutRequest) -> PutOutcome {
    match request {
        PutRequest::One(msg, wait) => store.put_message_deferred(prepare_one(msg, wait)),
        PutRequest::Batch(msgs) => store.put_messages_deferred(&msgs),
        PutRequest::AsSent(msg) => store.put_message_deferred(*msg),
    }
}

/// A single message as the store gets it: WAIT put back where Java's record keeps it, the
/// properties in Java's HashMap order.
fn prepare_one(mut msg: Box<StoredMessage>, wait: Option<String>) -> StoredMessage {
    // A message the store parks in SCHEDULE_TOPIC_XXXX keeps WAIT as sent: 4.9.8's
    // CommitLog rebuilds that record's string from the map, which still holds it (the
    // golden stores' parked and delivered delayed records carry `WAIT=true`).
    let parked = msg.properties.delay_time_level().is_some_and(|l| l > 0);
    if wait.as_deref() == Some("false") || (parked && wait.is_some()) {
        msg.properties.insert(
            PROPERTY_WAIT_STORE_MSG_OK,
            wait.unwrap_or_else(|| "false".into()),
        );
    }
    // Java stores `messageProperties2String` of the message's HashMap: same bytes.
    msg.properties.sort_in_java_hash_map_order();
    *msg
}

/// Java's `handlePutMessageResult`: the response code, and the header when the message was
/// stored (FLUSH_DISK_TIMEOUT and the slave codes are stored too: Java fills the header and
/// clears the remark for them as for SUCCESS, and counts them in the statistics under the
/// `stored` topic and queue).
///
/// The SYNC_MASTER hook runs here, after the put: SLAVE_NOT_AVAILABLE at once, or a ticket the
/// caller awaits (see [`after_replica`]).
fn put_result_to_response(
    ctrl: &BrokerController,
    mut result: PutMessageResult,
    queue_id: i32,
    stored: (String, i32),
    wait_store_msg_ok: bool,
) -> Result<(i32, SendMessageResponseHeader, Option<ReplicaTicket>), Refusal> {
    let replica = match ctrl
        .store
        .submit_replica_request(&result, wait_store_msg_ok)
    {
        ReplicaWait::Pending(ticket) => Some(ticket),
        ReplicaWait::Done(status) => {
            result.status = status;
            None
        }
    };
    let code = match result.status {
        PutMessageStatus::PutOk => response::SUCCESS,
        PutMessageStatus::FlushDiskTimeout => response::FLUSH_DISK_TIMEOUT,
        PutMessageStatus::FlushSlaveTimeout => response::FLUSH_SLAVE_TIMEOUT,
        PutMessageStatus::SlaveNotAvailable => response::SLAVE_NOT_AVAILABLE,
        PutMessageStatus::CreateMappedFileFailed => {
            return Err(Refusal::new(
                response::SYSTEM_ERROR,
                "create mapped file failed, server is busy or broken.",
            ))
        }
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
            return Err(Refusal::new(
                response::MESSAGE_ILLEGAL,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
                    ctrl.store.config().max_message_size
                ),
            ))
        }
        PutMessageStatus::ServiceNotAvailable => {
            // Java's `diskUtil()`: each ratio as `%5.2f`.
            let [cl, cq, index] = ctrl.store.disk_used_ratios();
            return Err(Refusal::new(
                response::SERVICE_NOT_AVAILABLE,
                format!(
                    "service not available now. It may be caused by one of the following reasons: the broker's disk is full [CL: {cl:5.2} CQ: {cq:5.2} INDEX: {index:5.2}], messages are put to the slave, message store has been shut down, etc."
                ),
            ))
        }
        PutMessageStatus::OsPageCacheBusy => {
            return Err(Refusal::new(
                response::SYSTEM_ERROR,
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while",
            ))
        }
        PutMessageStatus::UnknownError => {
            return Err(Refusal::new(response::SYSTEM_ERROR, "UNKNOWN_ERROR"))
        }
        timer @ (PutMessageStatus::WheelTimerFlowControl
        | PutMessageStatus::WheelTimerMsgIllegal
        | PutMessageStatus::WheelTimerNotEnable) => {
            return Err(Refusal::timer(timer, ctrl.store.config()).expect("a timer status"))
        }
    };
    // Every stored outcome carries the append result; its absence is a store bug.
    let append = result
        .append
        .ok_or_else(|| Refusal::new(response::SYSTEM_ERROR, "store putMessage return null"))?;
    ctrl.broker_stats_manager.on_message_put(
        &stored.0,
        stored.1,
        append.msg_num as i64,
        append.wrote_bytes as i64,
    );
    Ok((
        code,
        SendMessageResponseHeader {
            msg_id: append.msg_id,
            queue_id,
            queue_offset: append.logics_offset,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        },
        replica,
    ))
}

/// Java's `TopicConfig.toString()`, quoted in the queue id remark.
fn topic_config_to_string(c: &TopicConfig) -> String {
    let filter = match c.topic_filter_type {
        TopicFilterType::SingleTag => "SINGLE_TAG",
        TopicFilterType::MultiTag => "MULTI_TAG",
    };
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm::to_string(c.perm),
        filter,
        c.topic_sys_flag,
        c.order
    )
}
