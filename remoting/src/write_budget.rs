//! The bytes a connection has queued for its peer but not yet handed to the kernel, and the
//! back-pressure they put on reading (Java 5.x's `channelWritabilityChanged`).
//!
//! Java's remoting server sets Netty's `WRITE_BUFFER_WATER_MARK` from `writeBufferLowWaterMark`
//! / `writeBufferHighWaterMark` when both are positive; by default (0, 0) Netty's own marks
//! apply: 32 KiB low, 64 KiB high. When the bytes waiting in a channel's outbound buffer pass
//! the high mark the channel turns unwritable, and the 5.3.3 server then switches `autoRead`
//! off: it reads no further request from that peer until the buffer drains below the low mark.
//! (4.9.8 sets the marks but does not act on writability, so its outbound buffer has no bound.)
//! A peer that sends requests but never reads its responses thus stops being served once
//! about the high mark is queued for it; its requests wait in the kernel's buffers and finally
//! in its own, and nothing grows in the server. Other connections are not affected.
//!
//! [`WriteBudget`] is that mark for one connection: `queued` when a frame enters the outbound
//! queue, `written` once the writer has flushed it, and the reader awaits
//! [`WriteBudget::readable`] before it decodes the next request.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use remoting_codec::RemotingCommand;
use tokio::sync::Notify;

/// Netty's default `WriteBufferWaterMark` (what Java uses with `writeBufferLowWaterMark` /
/// `writeBufferHighWaterMark` left at 0).
pub const DEFAULT_LOW_WATER_MARK: usize = 32 * 1024;
pub const DEFAULT_HIGH_WATER_MARK: usize = 64 * 1024;

#[derive(Debug)]
pub struct WriteBudget {
    pending: AtomicUsize,
    /// Netty's unwritable state: set when the high mark is passed, cleared at the low mark.
    paused: AtomicBool,
    low: usize,
    high: usize,
    drained: Notify,
}

impl Default for WriteBudget {
    fn default() -> Self {
        Self::new(DEFAULT_LOW_WATER_MARK, DEFAULT_HIGH_WATER_MARK)
    }
}

impl WriteBudget {
    pub fn new(low: usize, high: usize) -> Self {
        Self {
            pending: AtomicUsize::new(0),
            paused: AtomicBool::new(false),
            low: low.min(high),
            high,
            drained: Notify::new(),
        }
    }

    /// The bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }

    /// Netty's `isWritable`: the high mark was not passed since the queue was last at the
    /// low mark.
    pub fn is_writable(&self) -> bool {
        !self.paused.load(Ordering::Acquire)
    }

    /// A frame of about `bytes` entered the outbound queue.
    pub fn queued(&self, bytes: usize) {
        if self.pending.fetch_add(bytes, Ordering::AcqRel) + bytes > self.high {
            self.paused.store(true, Ordering::Release);
        }
    }

    /// Frames of about `bytes` in all were written out.
    pub fn written(&self, bytes: usize) {
        let before = self
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(bytes))
            })
            .unwrap_or(0);
        if before.saturating_sub(bytes) <= self.low && self.paused.swap(false, Ordering::AcqRel) {
            self.drained.notify_waiters();
        }
    }

    /// Returns at once while writable; once the high mark was passed, waits until the queue is
    /// back at the low mark (Netty's hysteresis). Cancel-safe.
    pub async fn readable(&self) {
        if self.is_writable() {
            return;
        }
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.is_writable() {
                return;
            }
            drained.await;
        }
    }

    /// About how many bytes `cmd` takes on the wire: the body, the remark and the header
    /// fields, plus a fixed allowance for the rest of the header.
    pub fn frame_size(cmd: &RemotingCommand) -> usize {
        let fields = cmd
            .ext_fields
            .as_ref()
            .map_or(0, |f| f.iter().map(|(k, v)| k.len() + v.len() + 6).sum());
        128 + cmd.body.len() + cmd.remark.as_ref().map_or(0, String::len) + fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn reading_stops_above_the_high_mark_until_the_low_mark() {
        let budget = Arc::new(WriteBudget::new(100, 200));
        budget.queued(150);
        tokio::time::timeout(Duration::from_secs(1), budget.readable())
            .await
            .expect("writable below the high mark");
        budget.queued(100);
        assert!(!budget.is_writable());
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.readable().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        budget.written(100); // 150 left: above the low mark, still paused
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        budget.written(60); // 90 left
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("reading resumes at the low mark")
            .unwrap();
        budget.written(1_000);
        assert_eq!(budget.pending(), 0);
    }
}
