//! `MappedFileQueue`: the ordered files of one log (the commitlog, or one consume queue).
//!
//! Absolute offset = file start offset + position in the file. The file list is behind a
//! `RwLock` taken only to clone an `Arc` or to add/remove a file, so readers never wait for an
//! append. `flushed_where` is the absolute offset up to which data is known to be on disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::mapped_file::MappedFile;
use crate::StoreError;

/// Java's `DELETE_FILES_BATCH_MAX`: files deleted by one expiry pass at most.
pub const DELETE_FILES_BATCH_MAX: usize = 10;

pub struct MappedFileQueue {
    dir: PathBuf,
    file_size: u64,
    files: RwLock<Vec<Arc<MappedFile>>>,
    flushed_where: AtomicU64,
    /// Store timestamp of the last message covered by a flush (for the checkpoint).
    store_timestamp: AtomicI64,
    /// How many msyncs ran (group-commit accounting).
    msync_count: AtomicU64,
    /// Which mappings get `MADV_RANDOM` ([`Self::random_access`],
    /// [`Self::random_access_while_writing`]).
    read_ahead: ReadAhead,
    /// The files take their appends with `pwrite` ([`Self::pwrite_appends`]).
    pwrite_appends: bool,
}

/// The kernel's read-ahead on page faults in the files' mappings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ReadAhead {
    /// The default everywhere.
    On,
    /// Off (`MADV_RANDOM`) on every file.
    Off,
    /// Off on the file being appended to (the last), on for the full files before it.
    OffWhileWriting,
}

impl MappedFileQueue {
    pub fn new(dir: impl Into<PathBuf>, file_size: u64) -> Self {
        Self {
            dir: dir.into(),
            file_size,
            files: RwLock::new(Vec::new()),
            flushed_where: AtomicU64::new(0),
            store_timestamp: AtomicI64::new(0),
            msync_count: AtomicU64::new(0),
            read_ahead: ReadAhead::On,
            pwrite_appends: false,
        }
    }

    /// Maps every file with `MADV_RANDOM`: a page fault reads that page only, not the
    /// kernel's read-ahead window. Consume-queue files are sparse and written 20 bytes at a
    /// time in one page; with thousands of queues, read-ahead on a fault read megabytes of
    /// holes per queue into the page cache and stalled the reput thread (the dispatch of one
    /// message per queue to 10,000 queues, measured by `scripts/bench-scale`).
    pub fn random_access(mut self) -> Self {
        self.read_ahead = ReadAhead::Off;
        self
    }

    /// `MADV_RANDOM` on the file being appended to only; a file gets the default read-ahead
    /// back once it is full, for readers catching up from disk. For a commitlog synced per
    /// append (SYNC_FLUSH): where the kernel's page cache holds large folios for ext4 (Linux
    /// 6.x), the append's write fault on a new page of the sparse file reads around it into
    /// folios of up to 2 MiB, `page_mkwrite` marks the whole folio dirty, and every msync
    /// writes all of it back. Measured with 16 SYNC_FLUSH senders of 128 B here: 16 GiB
    /// written to the disk in 3 s for about 15 MiB of messages, and a TLB shootdown per msync
    /// to split the folio's huge mapping; without read-ahead the fault brings in one 4 KiB
    /// page, and the same load wrote 217 MiB in 5 s for about 33 MiB of messages (a synced
    /// page is written again by each msync until it is full). With ASYNC_FLUSH the flush interval lets
    /// the folios fill before they are written, and the larger folios save page faults (CPU
    /// per 4 KiB message was 14–26 % higher without read-ahead), so there it stays on.
    pub fn random_access_while_writing(mut self) -> Self {
        self.read_ahead = ReadAhead::OffWhileWriting;
        self
    }

    /// Appends to every file go through its descriptor (`pwrite`), not its mapping: for a
    /// commitlog synced per group commit (SYNC_FLUSH), see the module doc of
    /// [`mapped_file`](crate::mapped_file).
    pub fn pwrite_appends(mut self) -> Self {
        self.pwrite_appends = true;
        self
    }

    /// A file of this queue, with its append path.
    fn build(&self, file: MappedFile) -> Arc<MappedFile> {
        Arc::new(if self.pwrite_appends {
            file.with_pwrite_appends()
        } else {
            file
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// Maps every file of the directory, sorted by name; a file of the wrong length is an
    /// error (Java refuses to start). Files are loaded as full; recovery sets the positions.
    pub fn load(&self) -> Result<(), StoreError> {
        let mut paths = Vec::new();
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    if entry.file_type()?.is_file() {
                        paths.push(entry.path());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for path in paths {
            // A zero-length file is one whose creation (open, then set_len) was cut short by
            // a crash: it never held data. Java would refuse to start; we remove it.
            if std::fs::metadata(&path)?.len() == 0 {
                tracing::warn!(path = %path.display(), "removing empty file left by a crash");
                std::fs::remove_file(&path)?;
                continue;
            }
            let file = self.build(MappedFile::open(&path, self.file_size)?);
            if self.read_ahead == ReadAhead::Off {
                file.advise_random();
            }
            file.set_positions(self.file_size as usize);
            files.push(file);
        }
        if self.read_ahead == ReadAhead::OffWhileWriting {
            if let Some(last) = files.last() {
                last.advise_random();
            }
        }
        *self.files.write().expect("file list lock") = files;
        Ok(())
    }

    pub fn files(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().expect("file list lock").clone()
    }

    pub fn is_empty(&self) -> bool {
        self.files.read().expect("file list lock").is_empty()
    }

    pub fn first_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().expect("file list lock").first().cloned()
    }

    pub fn last_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().expect("file list lock").last().cloned()
    }

    /// The last file, or a new one when there is none or the last is full. `start_offset`
    /// places the first file (rounded down to a file boundary).
    pub fn last_file_or_create(&self, start_offset: u64) -> Result<Arc<MappedFile>, StoreError> {
        let last = self.last_file();
        let create_offset = match &last {
            Some(f) if !f.is_full() => return Ok(f.clone()),
            Some(f) => f.file_from_offset() + self.file_size,
            None => start_offset - start_offset % self.file_size,
        };
        let first = last.is_none();
        let file = self.build(MappedFile::create(
            &self.dir,
            create_offset,
            self.file_size,
            first,
        )?);
        if self.read_ahead != ReadAhead::On {
            file.advise_random();
        }
        if self.read_ahead == ReadAhead::OffWhileWriting {
            if let Some(full) = &last {
                full.advise_normal();
            }
        }
        self.files
            .write()
            .expect("file list lock")
            .push(file.clone());
        Ok(file)
    }

    /// The file holding `offset`; with `first_if_not_found`, the first file when `offset` is
    /// below the first file's start.
    pub fn find_by_offset(&self, offset: u64, first_if_not_found: bool) -> Option<Arc<MappedFile>> {
        let files = self.files.read().expect("file list lock");
        let first = files.first()?;
        if offset < first.file_from_offset() {
            return first_if_not_found.then(|| first.clone());
        }
        let index = ((offset - first.file_from_offset()) / self.file_size) as usize;
        let file = files.get(index)?;
        (offset < file.file_from_offset() + self.file_size).then(|| file.clone())
    }

    pub fn min_offset(&self) -> u64 {
        self.first_file().map_or(0, |f| f.file_from_offset())
    }

    /// End of the written data.
    pub fn max_offset(&self) -> u64 {
        self.last_file()
            .map_or(0, |f| f.file_from_offset() + f.wrote_position() as u64)
    }

    pub fn flushed_where(&self) -> u64 {
        self.flushed_where.load(Ordering::Acquire)
    }

    pub fn set_flushed_where(&self, offset: u64) {
        self.flushed_where.store(offset, Ordering::Release);
    }

    pub fn store_timestamp(&self) -> i64 {
        self.store_timestamp.load(Ordering::Acquire)
    }

    pub fn msync_count(&self) -> u64 {
        self.msync_count.load(Ordering::Relaxed)
    }

    /// Java's `MappedFileQueue.flush`: flushes the file holding `flushed_where` (one file per
    /// call, so a file boundary takes two calls). Returns true when nothing new was flushed.
    pub fn flush(&self, least_pages: usize) -> Result<bool, StoreError> {
        // Expiry may have removed the file the position was in: start at the first file.
        let from = self.flushed_where().max(self.min_offset());
        let Some(file) = self.find_by_offset(from, from == 0) else {
            return Ok(true);
        };
        let ts = file.store_timestamp();
        if file.flush(least_pages)? {
            self.msync_count.fetch_add(1, Ordering::Relaxed);
        }
        let to = file.file_from_offset() + file.flushed_position() as u64;
        let nothing = to == from;
        self.flushed_where.store(to, Ordering::Release);
        // As Java: the checkpoint's physic timestamp follows full flushes only.
        if least_pages == 0 {
            self.store_timestamp.store(ts, Ordering::Release);
        }
        Ok(nothing)
    }

    /// Flushes until everything written is on disk.
    pub fn flush_all(&self) -> Result<(), StoreError> {
        for _ in 0..self.files.read().expect("file list lock").len() + 1 {
            if self.flush(0)? && self.flushed_where() >= self.max_offset() {
                break;
            }
        }
        Ok(())
    }

    /// Java's `truncateDirtyFiles`: files wholly beyond `offset` are deleted, the file holding
    /// it is cut there (and its stale tail zeroed, see `MappedFile::zero_stale_tail`).
    pub fn truncate_dirty_files(&self, offset: u64) -> Result<(), StoreError> {
        let mut files = self.files.write().expect("file list lock");
        let mut keep = Vec::with_capacity(files.len());
        for file in files.drain(..) {
            let tail = file.file_from_offset() + self.file_size;
            if tail <= offset {
                keep.push(file);
            } else if offset >= file.file_from_offset() {
                let pos = (offset - file.file_from_offset()) as usize;
                file.set_positions(pos);
                file.zero_stale_tail(pos);
                keep.push(file);
            } else {
                tracing::info!(path = %file.path().display(), "deleting dirty file");
                file.destroy()?;
            }
        }
        if self.read_ahead == ReadAhead::OffWhileWriting {
            // Appends resume in the new last file.
            if let Some(last) = keep.last() {
                last.advise_random();
            }
        }
        *files = keep;
        Ok(())
    }

    /// Removes the last file (consume-queue truncation).
    pub fn delete_last_file(&self) -> Result<(), StoreError> {
        if let Some(file) = self.files.write().expect("file list lock").pop() {
            file.destroy()?;
        }
        Ok(())
    }

    /// Java's `deleteExpiredFileByTime`: deletes, oldest first, the files last modified more
    /// than `expired_ms` before `now_ms` (any file with `clean_immediately`), stopping at the
    /// first one that is not expired, after `DELETE_FILES_BATCH_MAX` files, and always before
    /// the last (current) file; sleeps `interval` between deletions. Returns how many went.
    pub fn delete_expired_file_by_time(
        &self,
        expired_ms: i64,
        interval: Duration,
        clean_immediately: bool,
        now_ms: impl Fn() -> i64,
    ) -> usize {
        let files = self.files();
        let candidates = files.len().saturating_sub(1);
        let mut deleted = 0;
        for (i, file) in files.iter().take(candidates).enumerate() {
            let live_until = file.last_modified_millis().saturating_add(expired_ms);
            if !(now_ms() >= live_until || clean_immediately) {
                break; // never leave a hole in the middle of the log
            }
            if !self.delete_first_file(file) {
                break;
            }
            deleted += 1;
            if deleted >= DELETE_FILES_BATCH_MAX {
                break;
            }
            if !interval.is_zero() && i + 1 < candidates {
                std::thread::sleep(interval);
            }
        }
        deleted
    }

    /// Java's `deleteExpiredFileByOffset` (consume queues): deletes, oldest first, the full
    /// files whose last `unit_size` entry starts with an offset below `offset`, never the last
    /// file. Returns how many went.
    pub fn delete_expired_file_by_offset(&self, offset: i64, unit_size: usize) -> usize {
        let files = self.files();
        let mut deleted = 0;
        for file in files.iter().take(files.len().saturating_sub(1)) {
            let last_entry = self.file_size as usize - unit_size;
            let Some(head) = file.select(last_entry, 8) else {
                break; // not full: a file in use
            };
            let max_offset_in_file = i64::from_be_bytes(head[..8].try_into().expect("8 bytes"));
            if max_offset_in_file >= offset {
                break;
            }
            tracing::info!(path = %file.path().display(), offset, max_offset_in_file,
                "deleting expired consume queue file");
            if !self.delete_first_file(file) {
                break;
            }
            deleted += 1;
        }
        deleted
    }

    /// Java's `ConsumeQueueExt.truncateByMinAddress` loop: deletes, oldest first, the files
    /// that end before `offset` (never the last file). Returns how many went.
    pub fn delete_files_ending_before(&self, offset: u64) -> usize {
        let mut deleted = 0;
        for file in self.files() {
            if file.file_from_offset() + self.file_size >= offset || !self.delete_first_file(&file)
            {
                break;
            }
            deleted += 1;
        }
        deleted
    }

    /// Removes `file` if it is still the first one, then unlinks it. Readers holding slices
    /// keep the mapping (see `mapped_file`), so nothing waits for them; a flush position left
    /// inside the removed file moves to the new first file (its data are gone anyway).
    fn delete_first_file(&self, file: &Arc<MappedFile>) -> bool {
        {
            let mut files = self.files.write().expect("file list lock");
            if !files.first().is_some_and(|f| Arc::ptr_eq(f, file)) || files.len() < 2 {
                return false;
            }
            files.remove(0);
            let new_min = files[0].file_from_offset();
            if self.flushed_where() < new_min {
                self.set_flushed_where(new_min);
            }
        }
        match file.destroy() {
            Ok(()) => {
                tracing::info!(path = %file.path().display(), "deleted expired file");
                true
            }
            Err(e) => {
                tracing::error!(path = %file.path().display(), error = %e, "delete failed");
                false
            }
        }
    }

    /// Deletes every file (a consume queue whose commitlog is gone).
    pub fn destroy(&self) -> Result<(), StoreError> {
        for file in self.files.write().expect("file list lock").drain(..) {
            file.destroy()?;
        }
        self.set_flushed_where(0);
        Ok(())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The value of `key` in the /proc/self/smaps entry of the mapping of `path`.
    fn smaps_value(path: &Path, key: &str) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let path = path.to_str().unwrap();
        let mut in_mapping = false;
        for line in smaps.lines() {
            if line.contains('-') && line.split_whitespace().nth(1).is_some_and(|p| p.len() == 4)
            {
                in_mapping = line.ends_with(path);
            } else if in_mapping {
                if let Some(value) = line.strip_prefix(key).and_then(|l| l.strip_prefix(':')) {
                    return value.trim().to_string();
                }
            }
        }
        panic!("no {key} for a mapping of {path}");
    }

    /// Whether the kernel holds `MADV_RANDOM` (`rr` in the VmFlags) for the mapping of `path`.
    fn read_ahead_off(path: &Path) -> bool {
        smaps_value(path, "VmFlags")
            .split_whitespace()
            .any(|f| f == "rr")
    }

    /// The resident kB of the mapping of `path`: the pages mapped into this process.
    fn resident_kb(path: &Path) -> u64 {
        let rss = smaps_value(path, "Rss");
        rss.trim_end_matches("kB").trim().parse().unwrap()
    }

    /// With `pwrite_appends`, an append maps no page of the file into the process (so an
    /// msync has no page table entry to write-protect), and readers of the mapping, the
    /// flush and a reopened queue still see the bytes. Through the mapping, the same append
    /// maps the page in: that is what the test tells apart.
    #[test]
    fn pwrite_appends_leave_the_mapping_alone() {
        let tmp = tempfile::tempdir().unwrap();
        for pwrite in [false, true] {
            let dir = tmp.path().join(if pwrite { "pwrite" } else { "mapped" });
            let mut queue = MappedFileQueue::new(&dir, 64 * 1024);
            if pwrite {
                queue = queue.pwrite_appends();
            }
            let file = queue.last_file_or_create(0).unwrap();
            assert!(file.append(b"hello").unwrap());
            assert_eq!(resident_kb(file.path()) == 0, pwrite, "pwrite: {pwrite}");
            assert_eq!(&file.select(0, 5).unwrap()[..], b"hello");
            assert!(!file.append(&[0; 64 * 1024]).unwrap(), "does not fit");
            assert_eq!(file.wrote_position(), 5);
            queue.flush(0).unwrap();
            assert_eq!(queue.flushed_where(), 5);
            assert_eq!(&std::fs::read(file.path()).unwrap()[..5], b"hello");
            drop((file, queue));

            let mut queue = MappedFileQueue::new(&dir, 64 * 1024);
            if pwrite {
                queue = queue.pwrite_appends();
            }
            queue.load().unwrap();
            queue.truncate_dirty_files(5).unwrap();
            let file = queue.last_file_or_create(0).unwrap();
            assert!(file.append(b" again").unwrap());
            assert_eq!(&file.select(0, 11).unwrap()[..], b"hello again");
        }
    }

    #[test]
    fn only_the_file_being_written_has_read_ahead_off() {
        let tmp = tempfile::tempdir().unwrap();
        let queue = MappedFileQueue::new(tmp.path(), 4096).random_access_while_writing();
        let first = queue.last_file_or_create(0).unwrap();
        assert!(read_ahead_off(first.path()));
        assert!(first.append(&[1; 4096]).unwrap());
        let second = queue.last_file_or_create(0).unwrap();
        assert!(!read_ahead_off(first.path()), "a full file reads ahead again");
        assert!(read_ahead_off(second.path()));
        drop((first, second, queue));

        // Reopened: the last file is where appends go on.
        let queue = MappedFileQueue::new(tmp.path(), 4096).random_access_while_writing();
        queue.load().unwrap();
        let files = queue.files();
        assert!(!read_ahead_off(files[0].path()));
        assert!(read_ahead_off(files[1].path()));
        // Truncated back into the first file: appends continue there.
        queue.truncate_dirty_files(100).unwrap();
        assert!(read_ahead_off(queue.files()[0].path()));

        // The default keeps read-ahead everywhere; random_access turns it off everywhere.
        let plain = MappedFileQueue::new(tmp.path().join("plain"), 4096);
        assert!(!read_ahead_off(plain.last_file_or_create(0).unwrap().path()));
        let random = MappedFileQueue::new(tmp.path().join("random"), 4096).random_access();
        let file = random.last_file_or_create(0).unwrap();
        assert!(file.append(&[1; 4096]).unwrap());
        random.last_file_or_create(0).unwrap();
        assert!(random.files().iter().all(|f| read_ahead_off(f.path())));
    }
}
