//! A put that answers once its SYNC_FLUSH group commit is done, without a thread waiting.
//!
//! [`MessageStore::put_message_deferred`](super::MessageStore::put_message_deferred) appends
//! (and dispatches) at once and, when the broker is SYNC_FLUSH and the message waits for its
//! store (`WAIT` not `false`), hands back a [`PendingFlush`] instead of blocking: the caller
//! awaits it bounded by `syncFlushTimeout` ([`PendingFlush::wait_until`]). Many senders then
//! wait on one group commit without a blocked thread each. The guarantee is the one of
//! [`crate::flush`]: the result is PUT_OK only once an msync covering the record has returned;
//! a failed sync or a wait past the deadline is FLUSH_DISK_TIMEOUT, as Java's
//! `handleDiskFlush` answers.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::flush::FlushTicket;
use crate::results::{PutMessageResult, PutMessageStatus};
use crate::stats::StoreStats;

/// What a deferred put returns.
pub enum PutOutcome {
    /// The put's answer (refused, or stored without a flush to wait for).
    Done(PutMessageResult),
    /// Stored; the answer waits for the group commit.
    Flushing(PendingFlush),
}

/// A stored put whose answer waits for the group commit covering it.
pub struct PendingFlush {
    pub(super) result: PutMessageResult,
    pub(super) ticket: FlushTicket,
    pub(super) timeout: Duration,
    /// The put's latency is counted when its wait ends (Java times the whole put).
    pub(super) stats: Arc<StoreStats>,
    pub(super) begin: Instant,
}

impl PendingFlush {
    /// `syncFlushTimeout` as it was when the put was made.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The put's result once the flush covering it is done (PUT_OK), or once `deadline`
    /// resolves first or the sync failed (FLUSH_DISK_TIMEOUT; the message is stored either way,
    /// as with Java).
    pub async fn wait_until(self, deadline: impl Future<Output = ()>) -> PutMessageResult {
        let PendingFlush {
            mut result,
            mut ticket,
            stats,
            begin,
            ..
        } = self;
        let mut deadline = pin!(deadline);
        let flushed = std::future::poll_fn(|cx| {
            if let Poll::Ready(ok) = Pin::new(&mut ticket).poll(cx) {
                return Poll::Ready(ok);
            }
            deadline.as_mut().poll(cx).map(|()| false)
        })
        .await;
        if !flushed {
            result.status = PutMessageStatus::FlushDiskTimeout;
        }
        stats.record_put(true, begin.elapsed().as_millis() as i64);
        result
    }

    /// The same on the calling thread, bounded by [`timeout`](Self::timeout).
    pub fn wait_blocking(self) -> PutMessageResult {
        let PendingFlush {
            mut result,
            ticket,
            timeout,
            stats,
            begin,
        } = self;
        if ticket.0.wait(timeout) != Some(true) {
            result.status = PutMessageStatus::FlushDiskTimeout;
        }
        stats.record_put(true, begin.elapsed().as_millis() as i64);
        result
    }
}
