//! `RunningFlags`: the store's health bits, as Java's class of that name (same bit values, so
//! the number the broker reports in its runtime info means the same thing).
//!
//! Only the disk-full bit is set by this store (by the clean service, see [`crate::clean`]);
//! the others exist so that `is_writeable` reads as Java's.

use std::sync::atomic::{AtomicU32, Ordering};

pub const NOT_READABLE_BIT: u32 = 1;
pub const NOT_WRITEABLE_BIT: u32 = 1 << 1;
pub const WRITE_LOGICS_QUEUE_ERROR_BIT: u32 = 1 << 2;
pub const WRITE_INDEX_FILE_ERROR_BIT: u32 = 1 << 3;
pub const DISK_FULL_BIT: u32 = 1 << 4;

#[derive(Debug, Default)]
pub struct RunningFlags {
    bits: AtomicU32,
}

impl RunningFlags {
    pub fn flag_bits(&self) -> u32 {
        self.bits.load(Ordering::Acquire)
    }

    /// Puts are accepted (Java: none of not-writeable, logics-queue error, disk full, index
    /// error is set).
    pub fn is_writeable(&self) -> bool {
        self.flag_bits()
            & (NOT_WRITEABLE_BIT
                | WRITE_LOGICS_QUEUE_ERROR_BIT
                | DISK_FULL_BIT
                | WRITE_INDEX_FILE_ERROR_BIT)
            == 0
    }

    pub fn is_readable(&self) -> bool {
        self.flag_bits() & NOT_READABLE_BIT == 0
    }

    pub fn is_disk_full(&self) -> bool {
        self.flag_bits() & DISK_FULL_BIT != 0
    }

    /// Sets the disk-full bit; returns whether it was clear before (Java's `getAndMakeDiskFull`).
    pub fn get_and_make_disk_full(&self) -> bool {
        self.bits.fetch_or(DISK_FULL_BIT, Ordering::AcqRel) & DISK_FULL_BIT == 0
    }

    /// Clears the disk-full bit; returns whether it was clear before (Java's `getAndMakeDiskOK`).
    pub fn get_and_make_disk_ok(&self) -> bool {
        self.bits.fetch_and(!DISK_FULL_BIT, Ordering::AcqRel) & DISK_FULL_BIT == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_blocks_writes_only() {
        let f = RunningFlags::default();
        assert!(f.is_writeable() && f.is_readable() && !f.is_disk_full());
        assert!(f.get_and_make_disk_full());
        assert!(!f.get_and_make_disk_full());
        assert!(!f.is_writeable() && f.is_readable() && f.is_disk_full());
        assert_eq!(f.flag_bits(), 16);
        assert!(!f.get_and_make_disk_ok());
        assert!(f.get_and_make_disk_ok());
        assert!(f.is_writeable());
    }
}
