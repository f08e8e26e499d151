//! 5.x's timer admin requests (`AdminBrokerProcessor.getTimerCheckPoint` / `getTimerMetrics`):
//! the timer store's state as a 5.x broker answers it (`store::timer`).
//!
//! - GET_TIMER_CHECK_POINT 60: body = `TimerCheckpoint.encode` (7 big-endian longs: last read
//!   time, timerlog flush position, timer queue offset, master timer queue offset, data
//!   version's state version, timestamp, counter), the checkpoint as last prepared;
//! - GET_TIMER_METRICS 61: body = `TimerMetrics.encode()`, fastjson's default form of
//!   `{"dataVersion":…,"timingCount":{"<topic>":{"count":n,"timeStamp":ms}}}` (pending timer
//!   messages per real topic).
//!
//! With `timerWheelEnable=false` Java has no checkpoint and no timer store: SYSTEM_ERROR "The
//! checkpoint is null" / "The timer message store is null".

use remoting_codec::code::{request as req, response as resp};
use remoting_codec::RemotingCommand;

use super::refusal::Refusal;
use super::Route;
use crate::controller::BrokerController;

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_TIMER_CHECK_POINT, |cx, r| {
        Ok(get_timer_check_point(&cx.ctrl, &r)?.into())
    }),
    Route::inline(req::GET_TIMER_METRICS, |cx, r| {
        Ok(get_timer_metrics(&cx.ctrl, &r)?.into())
    }),
];

fn get_timer_check_point(
    ctrl: &BrokerController,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let timer = ctrl
        .store
        .timer()
        .ok_or_else(|| Refusal::system_error("The checkpoint is null"))?;
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_body(timer.checkpoint().encode().to_vec()))
}

fn get_timer_metrics(
    ctrl: &BrokerController,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let timer = ctrl
        .store
        .timer()
        .ok_or_else(|| Refusal::system_error("The timer message store is null"))?;
    Ok(RemotingCommand::response_to(request, resp::SUCCESS)
        .with_body(timer.metrics().encode_default().into_bytes()))
}
