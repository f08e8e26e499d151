//! The recorded clock moved to today's.
//!
//! A producer stamps each send with its `bornTimestamp` (header field `g` of SEND_MESSAGE_V2
//! and SEND_BATCH_MESSAGE, `bornTimestamp` of SEND_MESSAGE), and the broker compares that stamp
//! with its own clock: the transaction check waits `transactionTimeOut` after it and discards
//! a half message older than `fileReservedTime` (72 h). Sent as recorded, the stamps age with
//! the capture, and a replay that passed the day it was recorded fails three days later. So
//! the replays send every stamp shifted by one constant, which puts the first send at the
//! moment it is replayed: the ages the broker sees are the ones Java saw, whatever the date.
//! Our answers carry the shifted stamps back (the records of a pull, the body of
//! CHECK_TRANSACTION_STATE); the comparison takes the shift off before comparing with Java's.

use remoting_codec::code::request as req;
use remoting_codec::RemotingCommand;

use super::Frame;

/// How much later than recorded each replayed `bornTimestamp` is.
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordedClock {
    shift_ms: i64,
}

impl RecordedClock {
    /// The shift for a replay of `frames` that starts now and sends each request
    /// `ts - ts(first_request)` seconds after it (`first_request` the index of the frame the
    /// replay's pacing starts from).
    pub fn starting_now(frames: &[Frame], first_request: usize) -> RecordedClock {
        let now = broker::now_millis();
        let ts = |f: &Frame| f.record["ts"].as_f64().unwrap();
        let t0 = ts(&frames[first_request]);
        let Some((send, born)) = frames.iter().find_map(|f| born_field(f).map(|b| (f, b))) else {
            return RecordedClock::default();
        };
        let born: i64 = send.ext_field(born).unwrap().parse().unwrap();
        let sent_at = now + ((ts(send) - t0) * 1000.0).round() as i64;
        RecordedClock {
            shift_ms: sent_at - born,
        }
    }

    pub fn shift_ms(&self) -> i64 {
        self.shift_ms
    }

    /// The recorded request as the replay sends it: its `bornTimestamp` shifted.
    pub fn command(&self, f: &Frame) -> RemotingCommand {
        let command = f.to_command();
        match born_field(f) {
            Some(key) => {
                let born: i64 = f.ext_field(key).unwrap().parse().unwrap();
                command.with_ext_field(key, (born + self.shift_ms).to_string())
            }
            None => command,
        }
    }
}

/// The header field of a recorded client send that holds its `bornTimestamp`.
fn born_field(f: &Frame) -> Option<&'static str> {
    if !f.is_c2s() || f.is_response() {
        return None;
    }
    if !matches!(
        f.code(),
        req::SEND_MESSAGE | req::SEND_MESSAGE_V2 | req::SEND_BATCH_MESSAGE
    ) {
        return None;
    }
    // The V1 header names the field; the V2 header (`a`…`n`) calls it `g`.
    ["bornTimestamp", "g"]
        .into_iter()
        .find(|key| f.ext_field(key).is_some())
}
