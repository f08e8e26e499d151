//! RECALL_MESSAGE (370), 5.3.3's `RecallMessageProcessor`, and the `recallHandle` of a timer
//! message's send answer (`SendMessageProcessor.attachRecallHandle`): a 5.3.x producer
//! (`DefaultMQProducer.recallMessage(topic, handle)`) takes back a timer message before it is
//! due.
//!
//! The handle (`RecallMessageHandle.HandleV1`): URL-safe Base64 (with padding) of
//! `v1 <real topic> <broker name> <TIMER_OUT_MS + 1> <UNIQ_KEY>`, given on the SEND_MESSAGE(_V2)
//! answer of a single message the store parked in `rmq_sys_wheel_timer` (not a batch, not a
//! `%RETRY%` topic); `TIMER_OUT_MS` is the delivery time the timer hook rounded to the
//! precision (`+ 1` so that the recall lands in the same slot).
//!
//! RECALL_MESSAGE, checks in Java's order (every answer carries `MSG_REGION`):
//! `recallMessageEnable` off (the 5.3.3 default; [`crate::config::five`]) → NO_PERMISSION
//! "recall failed, operation is forbidden"; a slave → SLAVE_NOT_AVAILABLE, before
//! `startAcceptSendRequestTimeStamp` or a broker without write permission (unless
//! `allowRecallWhenBrokerNotWriteable`) → SERVICE_NOT_AVAILABLE, all "recall failed, broker
//! service not available"; an unknown topic → TOPIC_NOT_EXIST "recall failed, the topic[<t>]
//! not exist"; a handle that is not Base64 or not `v1` with five parts → ILLEGAL_OPERATION
//! "recall handle is invalid"; another topic → "recall failed, topic not match"; another broker
//! → "recall failed, broker service not available"; a time not in the future or beyond
//! `timerMaxDelaySec` → "recall failed, timestamp invalid" (all ILLEGAL_OPERATION). Then the
//! recall is put: topic of the handle, queue 0, body `0`, tag `_RECALL_TAG_`,
//! `TIMER_DEL_UNIQKEY` = `<topic>+<UNIQ_KEY>`, `UNIQ_KEY`, `TIMER_DELIVER_MS` = the handle's
//! time, `BORN_TIMESTAMP`, an empty `TRACE_CONTEXT` and `PGROUP`; the timer store drops the
//! message of that key from the slot ([`store::timer`]). A stored put (flush and slave timeouts
//! included) is SUCCESS with `msgId` = the UNIQ_KEY, anything else SYSTEM_ERROR "recall failed,
//! execute error".

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use remoting_codec::code::{request, response};
use remoting_codec::message::message_const::{
    PROPERTY_BORN_TIMESTAMP, PROPERTY_PRODUCER_GROUP, PROPERTY_REAL_TOPIC, PROPERTY_TAGS,
    PROPERTY_TIMER_DELIVER_MS, PROPERTY_TRACE_CONTEXT, PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
};
use remoting_codec::message::{MessageProperties, StoredMessage};
use remoting_codec::protocol::perm;
use remoting_codec::protocol::send::{
    RecallMessageRequestHeader, RecallMessageResponseHeader, MSG_REGION,
};
use remoting_codec::RemotingCommand;
use store::timer::TIMER_TOPIC;
use store::{PutMessageResult, PutMessageStatus, PutOutcome};

use super::{HandlerResult, Refusal, Reply, RequestContext, Route};
use crate::controller::BrokerController;
use crate::topic::validator::RETRY_GROUP_TOPIC_PREFIX;

const RECALL_MESSAGE_TAG: &str = "_RECALL_TAG_";
const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
const NOT_AVAILABLE: &str = "recall failed, broker service not available";

pub(super) const ROUTES: &[Route] = &[Route::inline(request::RECALL_MESSAGE, recall_message)];

/// Java's `Base64.getUrlEncoder()` (padded) and `getUrlDecoder()` (padding optional).
const URL_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `RecallMessageHandle.HandleV1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleV1 {
    pub topic: String,
    pub broker_name: String,
    pub timestamp: String,
    pub message_id: String,
}

impl HandleV1 {
    pub fn encode(&self) -> String {
        let raw = format!(
            "v1 {} {} {} {}",
            self.topic, self.broker_name, self.timestamp, self.message_id
        );
        URL_BASE64.encode(raw)
    }

    /// `RecallMessageHandle.decodeHandle`: `Err` is Java's message.
    pub fn decode(handle: &str) -> Result<HandleV1, &'static str> {
        const INVALID: &str = "recall handle is invalid";
        if handle.is_empty() {
            return Err(INVALID);
        }
        let raw = URL_BASE64.decode(handle).map_err(|_| INVALID)?;
        let raw = String::from_utf8_lossy(&raw);
        // Java's `split(" ")` drops trailing empty strings only.
        let items: Vec<&str> = raw.split(' ').collect();
        if items.first() != Some(&"v1") || items.len() < 5 {
            return Err(INVALID);
        }
        Ok(HandleV1 {
            topic: items[1].to_owned(),
            broker_name: items[2].to_owned(),
            timestamp: items[3].to_owned(),
            message_id: items[4].to_owned(),
        })
    }
}

/// `attachRecallHandle`: the handle of `msg` as the store appends it, when it is a timer
/// message parked for a real topic that is not a retry topic.
pub fn recall_handle_of(msg: &StoredMessage, broker_name: &str) -> Option<String> {
    if msg.topic != TIMER_TOPIC {
        return None;
    }
    let out_ms: i64 = msg.properties.get(TIMER_OUT_MS)?.parse().ok()?;
    let real_topic = msg.properties.get(PROPERTY_REAL_TOPIC)?;
    if real_topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        return None;
    }
    let uniq = msg
        .properties
        .get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .unwrap_or("null");
    Some(
        HandleV1 {
            topic: real_topic.to_owned(),
            broker_name: broker_name.to_owned(),
            timestamp: (out_ms + 1).to_string(),
            message_id: uniq.to_owned(),
        }
        .encode(),
    )
}

fn recall_message(cx: &RequestContext, req: RemotingCommand) -> HandlerResult {
    let ctrl = &cx.ctrl;
    let region = ctrl.configuration.broker(|b| b.region_id.clone());
    let resp =
        RemotingCommand::response_to(&req, response::SUCCESS).with_ext_field(MSG_REGION, region);
    let header: RecallMessageRequestHeader = req.decode_header()?;
    let msg = match check(ctrl, &header) {
        Ok(handle) => build(cx, &header, &handle),
        Err(refusal) => return Ok(refused(resp, refusal).into()),
    };
    let message_id = msg
        .properties
        .get(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX)
        .unwrap_or_default()
        .to_owned();
    match ctrl.store.put_message_deferred(msg) {
        PutOutcome::Done(result) => Ok(answer(ctrl, resp, result, message_id).into()),
        PutOutcome::Flushing(pending) => {
            let ctrl = ctrl.clone();
            Ok(Reply::later(async move {
                let timeout = pending.timeout();
                let result = pending.wait_until(tokio::time::sleep(timeout)).await;
                Ok(Some(answer(&ctrl, resp, result, message_id)))
            }))
        }
    }
}

fn refused(mut resp: RemotingCommand, refusal: Refusal) -> RemotingCommand {
    resp.code = refusal.code;
    resp.remark = refusal.remark;
    resp
}

fn check(ctrl: &BrokerController, h: &RecallMessageRequestHeader) -> Result<HandleV1, Refusal> {
    let five = &ctrl.loaded_config.five;
    if !five.recall_message_enable {
        return Err(Refusal::new(
            response::NO_PERMISSION,
            "recall failed, operation is forbidden",
        ));
    }
    if !ctrl.is_master() {
        return Err(Refusal::new(response::SLAVE_NOT_AVAILABLE, NOT_AVAILABLE));
    }
    let (start, permission) = ctrl
        .configuration
        .broker(|b| (b.start_accept_send_request_time_stamp, b.broker_permission));
    if crate::now_millis() < start
        || (!perm::is_writeable(permission) && !five.allow_recall_when_broker_not_writeable)
    {
        return Err(Refusal::new(response::SERVICE_NOT_AVAILABLE, NOT_AVAILABLE));
    }
    if ctrl
        .topic_config_manager
        .select_topic_config(&h.topic)
        .is_none()
    {
        return Err(Refusal::new(
            response::TOPIC_NOT_EXIST,
            format!("recall failed, the topic[{}] not exist", h.topic),
        ));
    }
    let illegal = |remark: &str| Refusal::new(response::ILLEGAL_OPERATION, remark);
    let handle = HandleV1::decode(&h.recall_handle).map_err(illegal)?;
    if handle.topic != h.topic {
        return Err(illegal("recall failed, topic not match"));
    }
    if handle.broker_name != ctrl.broker_config.broker_name {
        return Err(illegal(NOT_AVAILABLE));
    }
    let timestamp: i64 = handle.timestamp.parse().unwrap_or(-1);
    let time_left = timestamp - crate::now_millis();
    let max_delay_ms = ctrl.store.config().timer_max_delay_sec * 1000;
    if time_left <= 0 || time_left >= max_delay_ms {
        return Err(illegal("recall failed, timestamp invalid"));
    }
    Ok(handle)
}

/// `buildMessage`: the recall, as the timer store's delete of the handle's message.
fn build(cx: &RequestContext, h: &RecallMessageRequestHeader, handle: &HandleV1) -> StoredMessage {
    let now = crate::now_millis();
    let mut properties = MessageProperties::new();
    properties.insert(PROPERTY_TAGS, RECALL_MESSAGE_TAG);
    properties.insert(
        TIMER_DEL_UNIQKEY,
        format!("{}+{}", handle.topic, handle.message_id),
    );
    properties.insert(
        PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
        handle.message_id.as_str(),
    );
    properties.insert(PROPERTY_TIMER_DELIVER_MS, handle.timestamp.as_str());
    properties.insert(PROPERTY_BORN_TIMESTAMP, now.to_string());
    properties.insert(PROPERTY_TRACE_CONTEXT, "");
    if let Some(group) = &h.producer_group {
        properties.insert(PROPERTY_PRODUCER_GROUP, group.as_str());
    }
    // Java writes the message's HashMap as its properties string.
    properties.sort_in_java_hash_map_order();
    StoredMessage {
        topic: handle.topic.clone(),
        queue_id: 0,
        body: bytes::Bytes::from_static(b"0"),
        properties,
        born_timestamp: now,
        born_host: cx.conn.peer_addr(),
        store_host: cx.ctrl.store_host,
        ..StoredMessage::default()
    }
}

fn answer(
    ctrl: &BrokerController,
    resp: RemotingCommand,
    result: PutMessageResult,
    message_id: String,
) -> RemotingCommand {
    match result.status {
        PutMessageStatus::PutOk
        | PutMessageStatus::FlushDiskTimeout
        | PutMessageStatus::FlushSlaveTimeout
        | PutMessageStatus::SlaveNotAvailable => {
            if let (PutMessageStatus::PutOk, Some(append)) = (result.status, &result.append) {
                // Java counts it under the timer topic the store parked it in.
                ctrl.broker_stats_manager.on_message_put(
                    TIMER_TOPIC,
                    0,
                    append.msg_num as i64,
                    append.wrote_bytes as i64,
                );
            }
            resp.with_header(&RecallMessageResponseHeader { msg_id: message_id })
        }
        status => {
            tracing::warn!("recall put failed: {status:?}");
            refused(
                resp,
                Refusal::new(response::SYSTEM_ERROR, "recall failed, execute error"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_encode_and_decode_as_java() {
        let h = HandleV1 {
            topic: "T".into(),
            broker_name: "broker-a".into(),
            timestamp: "1795242655001".into(),
            message_id: "7F0000012CD55FFD2B27686512360000".into(),
        };
        let text = h.encode();
        // Java: Base64.getUrlEncoder() of the space-joined string.
        assert_eq!(
            URL_BASE64.decode(&text).unwrap(),
            b"v1 T broker-a 1795242655001 7F0000012CD55FFD2B27686512360000"
        );
        assert_eq!(HandleV1::decode(&text), Ok(h.clone()));
        assert_eq!(HandleV1::decode(text.trim_end_matches('=')), Ok(h));
        for bad in [
            "",
            "!!!",
            &URL_BASE64.encode("v2 a b c d"),
            &URL_BASE64.encode("v1 a b c"),
        ] {
            assert_eq!(
                HandleV1::decode(bad),
                Err("recall handle is invalid"),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_parked_timer_messages_of_a_real_topic_get_a_handle() {
        let mut msg = StoredMessage {
            topic: TIMER_TOPIC.into(),
            ..Default::default()
        };
        msg.properties.insert(TIMER_OUT_MS, "1000");
        msg.properties.insert(PROPERTY_REAL_TOPIC, "T");
        msg.properties
            .insert(PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, "U1");
        let handle = recall_handle_of(&msg, "b").unwrap();
        assert_eq!(
            HandleV1::decode(&handle).unwrap(),
            HandleV1 {
                topic: "T".into(),
                broker_name: "b".into(),
                timestamp: "1001".into(),
                message_id: "U1".into()
            }
        );
        msg.properties.insert(PROPERTY_REAL_TOPIC, "%RETRY%g");
        assert_eq!(recall_handle_of(&msg, "b"), None);
        msg.topic = "T".into();
        assert_eq!(recall_handle_of(&msg, "b"), None);
    }
}
