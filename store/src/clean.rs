//! File expiry and the disk-full guard: Java's `CleanCommitLogService`,
//! `CleanConsumeQueueService` and the disk check of `DefaultMessageStore` (4.9.8).
//!
//! One thread ([`CleanService`]) does what Java schedules on two executors:
//!
//! - every 10 s (first after 1 s) the **disk check** (`isSpaceFull`): when the commitlog's
//!   filesystem is more than `diskSpaceWarningLevelRatio` (90 %) used, the `DISK_FULL` running
//!   flag is set and puts answer SERVICE_NOT_AVAILABLE; below it the flag is cleared. Reads
//!   never look at the flag.
//! - every `cleanResourceInterval` (10 s, first after 60 s) a **clean pass** ([`Cleaner::run_pass`]):
//!   1. commitlog: if the local hour is one of `deleteWhen` (`"04"`, `;`-separated), or the disk
//!      is more than `diskMaxUsedSpaceRatio` (75 %) used (or its use is unknown), or a manual
//!      request has rounds left, the files older than `fileReservedTime` hours (by mtime) are
//!      deleted oldest first — at most 10, `deleteCommitLogFilesInterval` apart, never the
//!      current (last) file, stopping at the first young one. Above
//!      `diskSpaceCleanForciblyRatio` (85 %) with `cleanFileForciblyEnable`, age no longer
//!      matters ("clean at once"). The same use checks (commitlog path, then consume-queue
//!      path) also set or clear `DISK_FULL`, as Java's `isSpaceToDelete`.
//!   2. if the commitlog min offset moved: every consume queue drops its files whose last entry
//!      points below it and moves its min logical offset (`correctMinOffset`), then the index
//!      drops files whose endPhyOffset is below it.
//!
//! The manual trigger (`executeDeleteFilesManually`, request DELETE_EXPIRED_COMMITLOG 329)
//! gives 20 passes that ignore the hour; as in Java it does not make young files deletable
//! (only the disk ratios do). Ours also wakes the thread so the first of them runs at once.
//!
//! Java's `destroyMapedFileIntervalForcibly` / `redeleteHangedFile` are not needed: a removed
//! file is unlinked at once and readers' slices keep its mapping alive (see `mapped_file`).

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::commit_log::CommitLog;
use crate::config::{LiveConfig, MessageStoreConfig};
use crate::dispatch::ConsumeQueueTable;
use crate::flush::{spawn, Service};
use crate::index::IndexService;
use crate::running_flags::RunningFlags;

/// Java's `MAX_MANUAL_DELETE_FILE_TIMES`.
pub const MAX_MANUAL_DELETE_FILE_TIMES: i32 = 20;

/// How full a filesystem is. The store uses [`StatvfsProbe`]; tests substitute a simulated disk.
pub trait DiskUsageProbe: Send + Sync {
    /// Used fraction (0.0–1.0) of the filesystem holding `path`, or -1.0 when it cannot be
    /// measured (Java's `UtilAll.getDiskPartitionSpaceUsedPercent`).
    fn used_ratio(&self, path: &Path) -> f64;
}

/// `statvfs(3)` of the path.
#[derive(Debug, Default, Clone, Copy)]
pub struct StatvfsProbe;

impl DiskUsageProbe for StatvfsProbe {
    fn used_ratio(&self, path: &Path) -> f64 {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return -1.0;
        };
        // SAFETY: statvfs only writes into the struct we pass; the path is NUL-terminated.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
            return -1.0;
        }
        let unit = st.f_frsize as u64;
        used_ratio(
            st.f_blocks as u64 * unit,
            st.f_bfree as u64 * unit,
            st.f_bavail as u64 * unit,
        )
    }
}

/// A filesystem whose use never changes. For tests and tools whose subject is not the host's
/// disk: with the real probe, a store opened on a machine whose disk is over 90 % used refuses
/// every put from the first disk check on (1 s after opening), and over 85 % a clean pass
/// deletes files whatever their age.
#[derive(Clone, Copy, Debug)]
pub struct FixedDiskUsage(pub f64);

impl DiskUsageProbe for FixedDiskUsage {
    fn used_ratio(&self, _path: &Path) -> f64 {
        self.0
    }
}

/// Java's arithmetic: used = total − free, measured against used + available to the user (so
/// the root-reserved blocks count as full), rounded up to the percent; -1 for an empty total.
pub fn used_ratio(total: u64, free: u64, available: u64) -> f64 {
    if total == 0 {
        return -1.0;
    }
    let used = total.saturating_sub(free) as u128;
    let entire = used + available as u128;
    if entire == 0 {
        return -1.0;
    }
    let round_up = u128::from(!(used * 100).is_multiple_of(entire));
    (used * 100 / entire + round_up) as f64 / 100.0
}

/// The local hour of day (0–23), as Java's `Calendar.HOUR_OF_DAY` in the default time zone.
pub fn local_hour() -> u32 {
    local_time().map_or(((crate::now_millis() / 3_600_000) % 24) as u32, |tm| {
        tm.tm_hour as u32
    })
}

/// The local calendar day as (year, day of year): it changes at local midnight, when Java's
/// daily jobs (`BrokerStats.record`) run.
pub fn local_day() -> (i32, i32) {
    local_time().map_or((0, (crate::now_millis() / 86_400_000) as i32), |tm| {
        (tm.tm_year, tm.tm_yday)
    })
}

fn local_time() -> Option<libc::tm> {
    let t = (crate::now_millis() / 1000) as libc::time_t;
    // SAFETY: localtime_r fills the struct we own; time_t comes from the wall clock.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(tm)
}

/// Java's `UtilAll.isItTimeToDo`: whether `hour` is one of the `;`-separated hours of `when`.
/// Items are read in order and an unparsable one is an error (in Java an exception that skips
/// the whole commitlog pass), unless an earlier item already matched.
pub fn is_it_time_to_do(when: &str, hour: u32) -> Result<bool, std::num::ParseIntError> {
    for item in when.split(';') {
        if item.parse::<i32>()? == hour as i32 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A wall clock in epoch milliseconds (Java's `System.currentTimeMillis`).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Process-level hooks and timings of the store that are not broker.conf keys.
#[derive(Clone)]
pub struct StoreOptions {
    /// The store's wall clock: the store time of every put, the "now" a file's age (its mtime)
    /// is measured against for `fileReservedTime`, the put-lock time and the statistics'
    /// samples. [`crate::now_millis`] by default; tests pin it.
    pub clock: Clock,
    pub disk_probe: Arc<dyn DiskUsageProbe>,
    /// The local hour, for `deleteWhen`.
    pub local_hour: Arc<dyn Fn() -> u32 + Send + Sync>,
    /// Period of the disk-full check (Java: 10 s, fixed).
    pub disk_check_interval: Duration,
    /// Delay before the first disk check (Java: 1 s).
    pub disk_check_initial_delay: Duration,
    /// Delay before the first clean pass (Java: 60 s).
    pub clean_initial_delay: Duration,
    /// The broker's filter-bitmap calculation (Java's `CommitLogDispatcherCalcBitMap`), set
    /// before open so that recovery's re-dispatch computes bitmaps too (Java adds it to the
    /// dispatcher list before `load`). Also settable later
    /// ([`crate::MessageStore::set_filter_bit_map_calculator`]).
    pub filter_bit_map: Option<Arc<dyn crate::dispatch::FilterBitMapCalculator>>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(crate::now_millis),
            disk_probe: Arc::new(StatvfsProbe),
            local_hour: Arc::new(local_hour),
            disk_check_interval: Duration::from_secs(10),
            disk_check_initial_delay: Duration::from_secs(1),
            clean_initial_delay: Duration::from_secs(60),
            filter_bit_map: None,
        }
    }
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("disk_check_interval", &self.disk_check_interval)
            .field("disk_check_initial_delay", &self.disk_check_initial_delay)
            .field("clean_initial_delay", &self.clean_initial_delay)
            .finish_non_exhaustive()
    }
}

/// What one clean pass saw and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CleanReport {
    /// The hour was in `deleteWhen`.
    pub timeup: bool,
    /// Disk use above `diskMaxUsedSpaceRatio` (or unknown).
    pub spacefull: bool,
    /// A manual round was used.
    pub manual: bool,
    /// Age was ignored (disk above the forced-clean ratio).
    pub clean_at_once: bool,
    pub commit_log_files: usize,
    pub consume_queue_files: usize,
    pub index_files: usize,
}

/// The clean logic; [`CleanService`] runs it on its thread, [`crate::MessageStore`] on demand.
pub(crate) struct Cleaner {
    /// Read at the start of every pass and check: the clean settings change at run time.
    config: LiveConfig,
    commit_log: Arc<CommitLog>,
    queues: Arc<ConsumeQueueTable>,
    index: Option<Arc<IndexService>>,
    flags: Arc<RunningFlags>,
    options: StoreOptions,
    manual_times: AtomicI32,
    clean_immediately: AtomicBool,
    last_physical_min_offset: AtomicI64,
    /// One pass at a time (thread and on-demand callers).
    pass: Mutex<()>,
}

impl Cleaner {
    pub(crate) fn new(
        config: LiveConfig,
        commit_log: Arc<CommitLog>,
        queues: Arc<ConsumeQueueTable>,
        index: Option<Arc<IndexService>>,
        flags: Arc<RunningFlags>,
        options: StoreOptions,
    ) -> Self {
        Self {
            config,
            commit_log,
            queues,
            index,
            flags,
            options,
            manual_times: AtomicI32::new(0),
            clean_immediately: AtomicBool::new(false),
            last_physical_min_offset: AtomicI64::new(0),
            pass: Mutex::new(()),
        }
    }

    pub(crate) fn execute_delete_files_manually(&self) {
        self.manual_times
            .store(MAX_MANUAL_DELETE_FILE_TIMES, Ordering::Release);
        tracing::info!("executeDeleteFilesManually was invoked");
    }

    pub(crate) fn manual_times_left(&self) -> i32 {
        self.manual_times.load(Ordering::Acquire)
    }

    /// One pass: commitlog, then consume queues and index (Java's `cleanFilesPeriodically`).
    pub(crate) fn run_pass(&self) -> CleanReport {
        let _pass = self.pass.lock().expect("clean pass");
        let mut report = CleanReport::default();
        self.clean_commit_log(&mut report);
        self.clean_consume_queues(&mut report);
        report
    }

    fn clean_commit_log(&self, report: &mut CleanReport) {
        let config = self.config.snapshot();
        let timeup = match is_it_time_to_do(&config.delete_when, (self.options.local_hour)()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(delete_when = %config.delete_when, error = %e,
                    "bad deleteWhen; commitlog clean pass skipped");
                return;
            }
        };
        let spacefull = self.is_space_to_delete(&config);
        let manual = self.manual_times.load(Ordering::Acquire) > 0;
        report.timeup = timeup;
        report.spacefull = spacefull;
        if !(timeup || spacefull || manual) {
            return;
        }
        if manual {
            self.manual_times.fetch_sub(1, Ordering::AcqRel);
            report.manual = true;
        }
        let clean_at_once =
            config.clean_file_forcibly_enable && self.clean_immediately.load(Ordering::Acquire);
        report.clean_at_once = clean_at_once;
        tracing::info!(
            hours = config.file_reserved_time,
            timeup,
            spacefull,
            manual,
            clean_at_once,
            "deleting expired commitlog files"
        );
        let expired_ms = i64::from(config.file_reserved_time) * 60 * 60 * 1000;
        let interval = Duration::from_millis(config.delete_commit_log_files_interval);
        report.commit_log_files = self.commit_log.delete_expired_file(
            expired_ms,
            interval,
            clean_at_once,
            &*self.options.clock,
        );
        if report.commit_log_files == 0 && spacefull {
            tracing::warn!("disk space will be full soon, but no file could be deleted");
        }
    }

    /// Java's `isSpaceToDelete`: measures the commitlog path, then the consume-queue path;
    /// sets `clean_immediately` and the disk-full flag on the way.
    fn is_space_to_delete(&self, config: &MessageStoreConfig) -> bool {
        let ratio = f64::from(config.disk_max_used_space_ratio) / 100.0;
        self.clean_immediately.store(false, Ordering::Release);
        let paths = [config.commit_log_dir(), config.consume_queue_dir()];
        for (what, path) in ["commitlog", "consumequeue"].iter().zip(&paths) {
            let used = self.options.disk_probe.used_ratio(path);
            if used > self.warning_ratio() {
                if self.flags.get_and_make_disk_full() {
                    tracing::error!(what, used, path = %path.display(), "disk may be full soon; marking disk full");
                }
                self.clean_immediately.store(true, Ordering::Release);
            } else if used > self.forcibly_ratio() {
                self.clean_immediately.store(true, Ordering::Release);
            } else if !self.flags.get_and_make_disk_ok() {
                tracing::info!(what, used, path = %path.display(), "disk space OK; marking disk ok");
            }
            if used < 0.0 || used > ratio {
                tracing::info!(what, used, path = %path.display(), "disk may be full soon; reclaiming space");
                return true;
            }
        }
        false
    }

    /// Java's `isSpaceFull` (the 10 s disk check): marks the disk full above the warning ratio
    /// and OK below it; returns whether it is full.
    pub(crate) fn is_space_full(&self) -> bool {
        let path = self.config.with(|c| c.commit_log_dir());
        let used = self.options.disk_probe.used_ratio(&path);
        if used > self.warning_ratio() {
            if self.flags.get_and_make_disk_full() {
                tracing::error!(used, path = %path.display(), "commitlog disk may be full soon; marking disk full");
            }
            true
        } else {
            if !self.flags.get_and_make_disk_ok() {
                tracing::info!(used, path = %path.display(), "commitlog disk space OK; marking disk ok");
            }
            false
        }
    }

    /// Java's `SendMessageProcessor.diskUtil` figures: the used ratio (0..1, -1 when it cannot
    /// be measured) of the disks holding the commitlog, the consume queues and the index.
    pub(crate) fn disk_used_ratios(&self) -> [f64; 3] {
        let dirs = self
            .config
            .with(|c| [c.commit_log_dir(), c.consume_queue_dir(), c.index_dir()]);
        dirs.map(|d| {
            if d.exists() {
                self.options.disk_probe.used_ratio(&d)
            } else {
                -1.0
            }
        })
    }

    fn warning_ratio(&self) -> f64 {
        f64::from(self.config.with(|c| c.disk_space_warning_level_ratio)) / 100.0
    }

    fn forcibly_ratio(&self) -> f64 {
        f64::from(self.config.with(|c| c.disk_space_clean_forcibly_ratio)) / 100.0
    }

    /// Java's `CleanConsumeQueueService`: when the commitlog min offset moved, consume queues
    /// and index follow it.
    fn clean_consume_queues(&self, report: &mut CleanReport) {
        let min = self.commit_log.min_offset();
        if min <= self.last_physical_min_offset.load(Ordering::Acquire) {
            return;
        }
        self.last_physical_min_offset.store(min, Ordering::Release);
        let interval =
            Duration::from_millis(self.config.with(|c| c.delete_consume_queue_files_interval));
        for cq in self.queues.all() {
            let deleted = cq.delete_expired_file(min);
            report.consume_queue_files += deleted;
            if deleted > 0 && !interval.is_zero() {
                std::thread::sleep(interval);
            }
        }
        if let Some(index) = &self.index {
            match index.delete_expired_files(min) {
                Ok(n) => report.index_files = n,
                Err(e) => tracing::error!(error = %e, "deleting expired index files failed"),
            }
        }
    }
}

/// The thread running the disk check and the clean passes.
pub(crate) struct CleanService {
    service: Arc<Service>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl CleanService {
    pub(crate) fn start(
        cleaner: Arc<Cleaner>,
        interval: Duration,
        options: &StoreOptions,
    ) -> std::io::Result<Self> {
        let service = Service::new();
        let s = service.clone();
        let check_every = options.disk_check_interval;
        let start = Instant::now();
        let mut next_check = start + options.disk_check_initial_delay;
        let mut next_clean = start + options.clean_initial_delay;
        let thread = spawn("CleanService", move || {
            while !s.stopped() {
                let next = next_check.min(next_clean);
                let woken = s.wait(next.saturating_duration_since(Instant::now()), true);
                if s.stopped() {
                    break;
                }
                let now = Instant::now();
                if now >= next_check {
                    cleaner.is_space_full();
                    next_check = now + check_every;
                }
                if now >= next_clean {
                    cleaner.run_pass();
                    next_clean = now + interval;
                } else if woken {
                    cleaner.run_pass(); // manual trigger: first round now
                }
            }
        })?;
        Ok(Self {
            service,
            thread: Mutex::new(Some(thread)),
        })
    }

    pub(crate) fn wakeup(&self) {
        self.service.wakeup();
    }

    /// Stops the thread (a pass under way finishes first).
    pub(crate) fn shutdown(&self) {
        self.service.stop();
        if let Some(t) = self.thread.lock().expect("clean thread").take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_when_matches_hours_as_java() {
        assert_eq!(is_it_time_to_do("04", 4), Ok(true));
        assert_eq!(is_it_time_to_do("04", 5), Ok(false));
        assert_eq!(is_it_time_to_do("01;04;23", 23), Ok(true));
        assert_eq!(is_it_time_to_do("01;04;23", 0), Ok(false));
        // Java's Integer.parseInt: no spaces, a bad item fails unless an earlier one matched.
        assert!(is_it_time_to_do(" 04", 4).is_err());
        assert!(is_it_time_to_do("", 4).is_err());
        assert_eq!(is_it_time_to_do("04;xx", 4), Ok(true));
        assert!(is_it_time_to_do("04;xx", 5).is_err());
    }

    #[test]
    fn used_ratio_rounds_up_against_user_space() {
        assert_eq!(used_ratio(0, 0, 0), -1.0);
        // 100 blocks, 50 free of which 40 available to users: 50 / (50 + 40) = 55.6 % → 0.56
        assert_eq!(used_ratio(100, 50, 40), 0.56);
        assert_eq!(used_ratio(100, 25, 25), 0.75);
        assert_eq!(used_ratio(100, 100, 100), 0.0);
        assert_eq!(used_ratio(100, 0, 0), 1.0);
    }

    #[test]
    fn statvfs_probe_measures_a_real_path() {
        let r = StatvfsProbe.used_ratio(Path::new("/"));
        assert!((0.0..=1.0).contains(&r), "{r}");
        assert_eq!(
            StatvfsProbe.used_ratio(Path::new("/no/such/path/anywhere")),
            -1.0
        );
    }

    #[test]
    fn local_hour_is_an_hour() {
        assert!(local_hour() < 24);
    }
}
