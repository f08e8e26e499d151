//! CHANGE_MESSAGE_INVISIBLETIME (200053), 5.3.3's `ChangeInvisibleTimeProcessor` over
//! [`crate::pop::PopService::change_invisible_time`].
//!
//! No topic → TOPIC_NOT_EXIST; queueId outside the read queues → MESSAGE_ILLEGAL; an offset
//! outside `min..max` (the max excluded, unlike ACK) → NO_MESSAGE without remark; an
//! unreadable extraInfo → SYSTEM_ERROR (Java throws). Otherwise a one-message checkpoint from
//! now with the new invisible time is written, then the old handle is acked; the answer is
//! SUCCESS with `popTime` (now), `invisibleTime` and `reviveQid`, which the client turns into
//! the new receipt handle. A checkpoint that cannot be stored → SYSTEM_ERROR without remark.
//! An orderly handle sets the offset's next visible time; the answer keeps the handle's
//! popTime, with `invisibleTime` = now + new time − popTime.

use remoting_codec::code::{request, response};
use remoting_codec::protocol::pop::ChangeInvisibleTimeRequestHeader;
use remoting_codec::RemotingCommand;

use super::Route;
use crate::pop::{AckRequest, ChangeRequest};

pub(super) const ROUTES: &[Route] = &[Route::blocking(
    request::CHANGE_MESSAGE_INVISIBLETIME,
    |cx, req| {
        let h: ChangeInvisibleTimeRequestHeader = req.decode_header()?;
        let change = ChangeRequest {
            ack: AckRequest {
                group: h.consumer_group,
                topic: h.topic,
                queue_id: h.queue_id,
                extra_info: h.extra_info,
                offset: h.offset,
                peer: cx.conn.peer_addr().to_string(),
            },
            invisible_time: h.invisible_time,
        };
        let header = cx
            .ctrl
            .pop
            .change_invisible_time(&cx.ctrl, &change, crate::now_millis())?;
        Ok(RemotingCommand::response_to(&req, response::SUCCESS)
            .with_header(&header)
            .into())
    },
)];
