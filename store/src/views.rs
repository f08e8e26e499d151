//! Read-only views the broker gets of the store's internals (the internal modules are private):
//! a consume queue's bounds and entries ([`ConsumeQueueView`]), as the admin requests
//! (QUERY_CONSUME_QUEUE) and the schedule service (SCHEDULE_TOPIC_XXXX) read them.
//!
//! With `enableConsumeQueueExt`, an entry's tagsCode slot holds an extension address;
//! [`ConsumeQueueView::entry`] and [`ConsumeQueueView::entries_from`] give the real tagsCode
//! (the schedule service reads it as the delivery time), the `raw` forms give the slot as stored
//! (QUERY_CONSUME_QUEUE reports it, with the unit from [`ConsumeQueueView::ext_unit`]).

use std::sync::Arc;

use bytes::Bytes;

use crate::consume_queue::{ConsumeQueue, CqEntry, CQ_STORE_UNIT_SIZE};
use crate::consume_queue_ext::CqExtUnit;

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
    /// past its written end. Each entry carries its real tagsCode: an extension address is
    /// replaced by its unit's tagsCode (and left as it is when the unit cannot be read — check
    /// with [`crate::is_ext_addr`]).
    pub fn entries_from(&self, start_index: i64) -> Option<CqEntries> {
        self.entries(start_index, true)
    }

    /// [`entries_from`](Self::entries_from) with the tagsCode slots as stored.
    pub fn entries_from_raw(&self, start_index: i64) -> Option<CqEntries> {
        self.entries(start_index, false)
    }

    fn entries(&self, start_index: i64, resolve: bool) -> Option<CqEntries> {
        self.cq.get_index_buffer(start_index).map(|buf| CqEntries {
            start_index,
            buf,
            pos: 0,
            resolve: resolve.then(|| self.cq.clone()),
        })
    }

    /// Entry `index`, if written and kept, with its real tagsCode (as in
    /// [`entries_from`](Self::entries_from)).
    pub fn entry(&self, index: i64) -> Option<CqEntry> {
        self.cq.entry(index).map(|e| resolve(&self.cq, e))
    }

    /// Entry `index` as stored.
    pub fn entry_raw(&self, index: i64) -> Option<CqEntry> {
        self.cq.entry(index)
    }

    /// Java's `getExt`: the extension unit at a stored tagsCode slot (`None` when it is no
    /// extension address, the store runs without `enableConsumeQueueExt`, or the unit is
    /// missing).
    pub fn ext_unit(&self, tags_code_slot: i64) -> Option<CqExtUnit> {
        self.cq.get_ext(tags_code_slot)
    }
}

fn resolve(cq: &ConsumeQueue, mut e: CqEntry) -> CqEntry {
    if let Ok((tags_code, _)) = cq.resolve(e.tags_code) {
        e.tags_code = tags_code;
    }
    e
}

/// The entries of one [`ConsumeQueueView::entries_from`] read, in queue order, each with its
/// queue index.
pub struct CqEntries {
    start_index: i64,
    buf: Bytes,
    pos: usize,
    /// The queue whose extension resolves tagsCode slots (`None`: as stored).
    resolve: Option<Arc<ConsumeQueue>>,
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
        let entry = CqEntry::decode(bytes);
        let entry = match &self.resolve {
            Some(cq) => resolve(cq, entry),
            None => entry,
        };
        Some((index, entry))
    }
}
