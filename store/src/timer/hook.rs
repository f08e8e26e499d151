//! The put hook of timer messages: 5.x's `HookUtils.checkIfTimerMessage` and
//! `transformTimerMessage` (a put-message hook the 5.x broker registers on its store, so it runs
//! inside every single put, as here in `MessageStore::put_message`).
//!
//! A NOT/COMMIT message that is not already in `rmq_sys_wheel_timer` and has no `TIMER_OUT_MS`:
//! - with a DELAY level > 0, its `TIMER_DELIVER_MS` / `TIMER_DELAY_SEC` / `TIMER_DELAY_MS` are
//!   dropped and the delay level wins;
//! - with one of them, it is a timer message: refused `WHEEL_TIMER_NOT_ENABLE` when
//!   `timerWheelEnable` is false; its delivery time is `now + TIMER_DELAY_SEC × 1000`, else
//!   `now + TIMER_DELAY_MS`, else `TIMER_DELIVER_MS` (not a number: `WHEEL_TIMER_MSG_ILLEGAL`).
//!   A time in the future more than `timerMaxDelaySec` away is `WHEEL_TIMER_MSG_ILLEGAL`; else it
//!   is rounded down to the precision (an exact multiple goes one slot earlier), refused
//!   `WHEEL_TIMER_FLOW_CONTROL` when its slot is congested (`isReject`), and the message is
//!   parked in `rmq_sys_wheel_timer` queue 0 with `TIMER_OUT_MS`, `REAL_TOPIC`, `REAL_QID` added
//!   (properties rewritten in Java's HashMap order). A time not in the future is sent as it is,
//!   unless it carries `TIMER_DEL_UNIQKEY` (`WHEEL_TIMER_MSG_ILLEGAL`).

use remoting_codec::message::message_const::PROPERTY_DELAY_TIME_LEVEL;
use remoting_codec::message::StoredMessage;

use super::{TimerMessageStore, TIMER_TOPIC};
use crate::config::MessageStoreConfig;
use crate::results::PutMessageStatus;

pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";

/// Java's `checkIfTimerMessage` (which also drops the timer properties of a DELAY message).
///
/// The five properties it looks at are found in one pass over the message's properties (it
/// runs for every put, and most messages have none of them); as `get`, the last of a repeated
/// key counts.
pub fn check_if_timer_message(msg: &mut StoredMessage) -> bool {
    let (mut delay_level, mut timed_out, mut asks_timer) = (None, false, false);
    for (key, value) in msg.properties.iter() {
        match key {
            PROPERTY_DELAY_TIME_LEVEL => delay_level = value.parse::<i32>().ok(),
            TIMER_OUT_MS => timed_out = true,
            TIMER_DELIVER_MS | TIMER_DELAY_SEC | TIMER_DELAY_MS => asks_timer = true,
            _ => {}
        }
    }
    if delay_level.unwrap_or(0) > 0 {
        if asks_timer {
            for key in [TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS] {
                msg.properties.remove(key);
            }
        }
        return false;
    }
    msg.topic != TIMER_TOPIC && !timed_out && asks_timer
}

/// The hook for a NOT/COMMIT single put (the caller checked the transaction type).
/// `now` is read only for a timer message: the clock is not free, and most puts are not.
pub fn handle_timer_message(
    config: &MessageStoreConfig,
    now: impl FnOnce() -> i64,
    timer: Option<&TimerMessageStore>,
    msg: &mut StoredMessage,
) -> Result<(), PutMessageStatus> {
    if msg.topic == TIMER_TOPIC || !check_if_timer_message(msg) {
        return Ok(());
    }
    let now = now();
    if !config.timer_wheel_enable {
        return Err(PutMessageStatus::WheelTimerNotEnable);
    }
    let parse = |k: &str| msg.properties.get(k).map(|v| v.parse::<i64>());
    let deliver_ms = if let Some(sec) = parse(TIMER_DELAY_SEC) {
        sec.ok()
            .and_then(|s| s.checked_mul(1000))
            .map(|d| now.wrapping_add(d))
    } else if let Some(ms) = parse(TIMER_DELAY_MS) {
        ms.ok().map(|d| now.wrapping_add(d))
    } else {
        parse(TIMER_DELIVER_MS).and_then(Result::ok)
    };
    let Some(mut deliver_ms) = deliver_ms else {
        return Err(PutMessageStatus::WheelTimerMsgIllegal);
    };
    if deliver_ms > now {
        if deliver_ms - now > config.timer_max_delay_sec * 1000 {
            return Err(PutMessageStatus::WheelTimerMsgIllegal);
        }
        let precision = config.timer_precision_ms;
        if deliver_ms % precision == 0 {
            deliver_ms -= precision;
        } else {
            deliver_ms = deliver_ms / precision * precision;
        }
        if timer.is_some_and(|t| t.is_reject(deliver_ms, config.timer_congest_num_each_slot)) {
            return Err(PutMessageStatus::WheelTimerFlowControl);
        }
        msg.properties.insert(TIMER_OUT_MS, deliver_ms.to_string());
        msg.properties.insert(
            remoting_codec::message::message_const::PROPERTY_REAL_TOPIC,
            msg.topic.clone(),
        );
        msg.properties.insert(
            remoting_codec::message::message_const::PROPERTY_REAL_QUEUE_ID,
            msg.queue_id.to_string(),
        );
        msg.properties.sort_in_java_hash_map_order();
        msg.topic = TIMER_TOPIC.to_owned();
        msg.queue_id = 0;
    } else if msg.properties.contains_key(TIMER_DEL_UNIQKEY) {
        return Err(PutMessageStatus::WheelTimerMsgIllegal);
    }
    Ok(())
}
