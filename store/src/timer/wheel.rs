//! `timerwheel`: 5.x's `TimerWheel` file, byte for byte.
//!
//! The file holds `slotsTotal × 2` slots of 32 bytes (`Slot.SIZE`), big-endian:
//! `slot number i64` (delivery time / `timerPrecisionMs`), `firstPos i64`, `lastPos i64`
//! (positions in `timerlog/` of the first and last unit of the slot's chain), `num i32`
//! (messages in the slot), `magic i32` (unused, 0). `slotsTotal` is fixed at 7 days of
//! seconds (`TIMER_WHEEL_TTL_DAY × DAY_SECS` = 604 800) whatever the precision, so the file is
//! always 38 707 200 bytes; a file of another non-zero length is refused as Java does
//! ("Timer wheel length:%d != expected:%s"). A slot is found at index
//! `time / precision mod (slotsTotal × 2)`; it belongs to `time` only if its stored slot
//! number equals `time / precision` (else Java reports the empty slot `(-1, -1, -1)`).
//!
//! Like Java (a heap copy written to the mapping on flush), the slots live in a private copy and
//! the changed ones are written back by [`TimerWheel::flush`]; recovery rebuilds the tail from
//! `timerlog/` ([`super::TimerMessageStore::open`]). The copy is a copy-on-write mapping of the
//! file (`MAP_PRIVATE`) rather than a 37 MB heap buffer: a slot read comes from the page cache,
//! only the pages of written slots become the process's own memory, and nothing reaches the file
//! before `flush`, exactly as with a heap copy.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;

use crate::StoreError;

pub const SLOT_SIZE: usize = 32;
/// `TimerWheel.IGNORE`: leave that position of the slot as it is.
pub const IGNORE: i64 = -2;

/// One slot of the wheel (Java's `Slot`); `time_ms` is the slot number × precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub time_ms: i64,
    pub first_pos: i64,
    pub last_pos: i64,
    pub num: i32,
    pub magic: i32,
}

impl Slot {
    pub const EMPTY: Slot = Slot {
        time_ms: -1,
        first_pos: -1,
        last_pos: -1,
        num: 0,
        magic: 0,
    };
}

struct Slots {
    /// The private copy (`MAP_PRIVATE`): writes never reach the file by themselves.
    bytes: memmap2::MmapMut,
    dirty: BTreeSet<usize>,
}

pub struct TimerWheel {
    file: File,
    slots_total: i64,
    precision_ms: i64,
    inner: Mutex<Slots>,
}

impl TimerWheel {
    /// The file's length for `slots_total` (Java's `wheelLength`).
    pub fn wheel_length(slots_total: i64) -> usize {
        slots_total as usize * 2 * SLOT_SIZE
    }

    pub fn open(path: &Path, slots_total: i64, precision_ms: i64) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let length = Self::wheel_length(slots_total);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let current = file.metadata()?.len();
        if current != 0 && current != length as u64 {
            return Err(StoreError::Corrupt(format!(
                "Timer wheel length:{current} != expected:{length}"
            )));
        }
        file.set_len(length as u64)?;
        // SAFETY: a private mapping of a file only this store writes (the store lock is held),
        // through `flush`'s positioned writes, whose bytes equal the copy's at those offsets.
        let bytes = unsafe { memmap2::MmapOptions::new().len(length).map_copy(&file)? };
        Ok(Self {
            file,
            slots_total,
            precision_ms,
            inner: Mutex::new(Slots {
                bytes,
                dirty: BTreeSet::new(),
            }),
        })
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn slot_index(&self, time_ms: i64) -> usize {
        (time_ms / self.precision_ms).rem_euclid(self.slots_total * 2) as usize
    }

    /// Java's `getRawSlot`: whatever the slot at `time_ms`'s index holds.
    pub fn raw_slot(&self, time_ms: i64) -> Slot {
        let at = self.slot_index(time_ms) * SLOT_SIZE;
        decode_slot(&self.slots().bytes[at..at + SLOT_SIZE], self.precision_ms)
    }

    /// Java's `getSlot`: the slot of `time_ms`, or [`Slot::EMPTY`] when the index holds another
    /// round's slot.
    pub fn slot(&self, time_ms: i64) -> Slot {
        let slot = self.raw_slot(time_ms);
        if slot.time_ms != time_ms / self.precision_ms * self.precision_ms {
            return Slot::EMPTY;
        }
        slot
    }

    /// Java's `putSlot` with num and magic.
    pub fn put_slot(&self, time_ms: i64, first_pos: i64, last_pos: i64, num: i32, magic: i32) {
        let index = self.slot_index(time_ms);
        let mut slots = self.slots();
        let at = index * SLOT_SIZE;
        let unit = encode_slot(time_ms / self.precision_ms, first_pos, last_pos, num, magic);
        slots.bytes[at..at + SLOT_SIZE].copy_from_slice(&unit);
        slots.dirty.insert(index);
    }

    /// Java's `reviseSlot` (recovery): a slot of this round gets `first_pos` / `last_pos`
    /// (unless [`IGNORE`]); another round's slot is replaced (num 0) when `force`.
    pub fn revise_slot(&self, time_ms: i64, first_pos: i64, last_pos: i64, force: bool) {
        let raw = self.raw_slot(time_ms);
        if raw.time_ms / self.precision_ms != time_ms / self.precision_ms {
            if force {
                let first = if first_pos != IGNORE {
                    first_pos
                } else {
                    last_pos
                };
                // Java's three-argument putSlot leaves num and magic as they were.
                self.put_slot(time_ms, first, last_pos, raw.num, raw.magic);
            }
        } else {
            let first = if first_pos != IGNORE {
                first_pos
            } else {
                raw.first_pos
            };
            let last = if last_pos != IGNORE {
                last_pos
            } else {
                raw.last_pos
            };
            self.put_slot(time_ms, first, last, raw.num, raw.magic);
        }
    }

    /// Java's `checkPhyPos`: the smallest firstPos among this round's slots from `start_ms`
    /// whose lastPos is beyond `max_offset` (i64::MAX if none).
    pub fn check_phy_pos(&self, start_ms: i64, max_offset: i64) -> i64 {
        let mut min_first = i64::MAX;
        for i in 0..self.slots_total * 2 {
            let t = start_ms + i * self.precision_ms;
            let slot = self.raw_slot(t);
            if slot.time_ms / self.precision_ms != t / self.precision_ms {
                continue;
            }
            if slot.last_pos > max_offset && slot.first_pos < min_first {
                min_first = slot.first_pos;
            }
        }
        min_first
    }

    /// Java's `getAllNum`: the messages in every slot of this round from `start_ms`.
    pub fn all_num(&self, start_ms: i64) -> i64 {
        let mut all = 0i64;
        for i in 0..self.slots_total * 2 {
            let t = start_ms + i * self.precision_ms;
            let slot = self.raw_slot(t);
            if slot.time_ms / self.precision_ms == t / self.precision_ms {
                all += slot.num as i64;
            }
        }
        all
    }

    /// Writes the changed slots to the file and syncs it.
    pub fn flush(&self) -> Result<(), StoreError> {
        let (dirty, bytes): (Vec<usize>, Vec<[u8; SLOT_SIZE]>) = {
            let mut slots = self.slots();
            let dirty: Vec<usize> = std::mem::take(&mut slots.dirty).into_iter().collect();
            let bytes = dirty
                .iter()
                .map(|&i| {
                    let mut unit = [0u8; SLOT_SIZE];
                    unit.copy_from_slice(&slots.bytes[i * SLOT_SIZE..(i + 1) * SLOT_SIZE]);
                    unit
                })
                .collect();
            (dirty, bytes)
        };
        if dirty.is_empty() {
            return Ok(());
        }
        for (index, unit) in dirty.iter().zip(&bytes) {
            self.file.write_all_at(unit, (index * SLOT_SIZE) as u64)?;
        }
        self.file.sync_data()?;
        Ok(())
    }
}

pub fn encode_slot(number: i64, first: i64, last: i64, num: i32, magic: i32) -> [u8; SLOT_SIZE] {
    let mut unit = [0u8; SLOT_SIZE];
    unit[0..8].copy_from_slice(&number.to_be_bytes());
    unit[8..16].copy_from_slice(&first.to_be_bytes());
    unit[16..24].copy_from_slice(&last.to_be_bytes());
    unit[24..28].copy_from_slice(&num.to_be_bytes());
    unit[28..32].copy_from_slice(&magic.to_be_bytes());
    unit
}

fn decode_slot(b: &[u8], precision_ms: i64) -> Slot {
    let long = |at: usize| i64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let int = |at: usize| i32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    Slot {
        time_ms: long(0).wrapping_mul(precision_ms),
        first_pos: long(8),
        last_pos: long(16),
        num: int(24),
        magic: int(28),
    }
}
