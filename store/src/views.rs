//! Read-only views the broker gets of the store's internals (the internal modules are private):
//! a consume queue's bounds and entries ([`ConsumeQueueView`]), as the admin requests
//! (QUERY_CONSUME_QUEUE) and the schedule service (SCHEDULE_TOPIC_XXXX) read them.

use std::sync::Arc;

use bytes::Bytes;

use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_STORE_UNIT_SIZE};

/// One consume queue, read only. Cheap to clone; it keeps the queue's files mapped while held.
#[derive(Clone)]
pub struct ConsumeQueueView {
    cq: Arc<ConsumeQueue>,
}

impl ConsumeQueueView {
    pub(crate) fn new(cq: Arc<ConsumeQueue>) -> Self {
        Self { cq }
    }

    pub fn topic(&self) -> &str {
        self.cq.topic()
    }

    pub fn queue_id(&self) -> i32 {
        self.cq.queue_id()
    }

    /// Java's `getMinOffsetInQueue`: the first entry still kept.
    pub fn min_offset(&self) -> i64 {
        self.cq.min_offset_in_queue()
    }

    /// Java's `getMaxOffsetInQueue`: the next entry's index.
    pub fn max_offset(&self) -> i64 {
        self.cq.max_offset_in_queue()
    }

    /// Java's `getIndexBuffer`: the entries from `start_index` to the end of the written part
    /// of the file holding it (never into the next file); `None` below the queue's minimum or
    /// past its written end.
    pub fn entries_from(&self, start_index: i64) -> Option<CqEntries> {
        self.cq.get_index_buffer(start_index).map(|buf| CqEntries {
            start_index,
            buf,
            pos: 0,
        })
    }

    /// Entry `index`, if written and kept.
    pub fn entry(&self, index: i64) -> Option<CqEntry> {
        self.cq.entry(index)
    }
}

/// The entries of one [`ConsumeQueueView::entries_from`] read, in queue order, each with its
/// queue index.
pub struct CqEntries {
    start_index: i64,
    buf: Bytes,
    pos: usize,
}

impl CqEntries {
    /// How many entries the read holds.
    pub fn len(&self) -> usize {
        self.buf.len() / CQ_STORE_UNIT_SIZE
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queue index of the first entry.
    pub fn start_index(&self) -> i64 {
        self.start_index
    }
}

impl Iterator for CqEntries {
    type Item = (i64, CqEntry);

    fn next(&mut self) -> Option<Self::Item> {
        let end = self.pos + CQ_STORE_UNIT_SIZE;
        let bytes = self.buf.get(self.pos..end)?;
        let index = self.start_index + (self.pos / CQ_STORE_UNIT_SIZE) as i64;
        self.pos = end;
        Some((index, CqEntry::decode(bytes)))
    }
}
