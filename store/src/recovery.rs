//! Recovery at open (store-format.md §8), as Java's `DefaultMessageStore.recover`.
//!
//! 1. Every consume queue is scanned from its third-last file and cut after its last valid
//!    entry.
//! 2. The commitlog is scanned record by record (CRC checked when `checkCRCOnRecover`), a BLANK
//!    record moving on to the next file, the first invalid record ending the data:
//!    - after a clean shutdown (no `abort` file) from the third-last file;
//!    - after a crash, from the newest file whose first record is older than the
//!      checkpoint's `minTimestamp` (`minTimestampIndex` with `messageIndexSafe`), else file 0,
//!      and every valid record is dispatched again (consume queues skip entries they have).
//! 3. Data beyond the end are cut: files wholly beyond are deleted (the empty pre-allocated
//!    file of a crashed Java broker goes here), the last file is cut at the end and — unlike
//!    Java — its stale tail is zeroed so a later crash cannot revive old records behind new
//!    ones. Consume-queue entries pointing beyond the end are removed.
//! 4. The topic-queue table (next queue offset per queue) is rebuilt from the consume queues,
//!    and their min offsets are corrected to the commitlog's min offset.


use crate::checkpoint::StoreCheckpoint;
use crate::commit_log::CommitLog;
use crate::config::{DelayLevels, MessageStoreConfig};
use crate::dispatch::{check_message, ConsumeQueueTable, Dispatcher, RecordCheck};
use crate::StoreError;

/// What recovery found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    pub abnormal: bool,
    /// End of valid commitlog data.
    pub commit_log_end: i64,
    /// Records dispatched again (abnormal recovery).
    pub redispatched: u64,
    /// The commitlog offset of the file the scan started from (the third-last file after a
    /// clean shutdown, the checkpoint's file after a crash); `None` without commitlog files.
    pub scan_start: Option<u64>,
}

pub fn recover(
    config: &MessageStoreConfig,
    last_exit_ok: bool,
    commit_log: &CommitLog,
    queues: &ConsumeQueueTable,
    checkpoint: &StoreCheckpoint,
    dispatcher: &Dispatcher,
) -> Result<RecoveryReport, StoreError> {
    let mut max_phy_of_cq = -1i64;
    for cq in queues.all() {
        cq.recover()?;
        max_phy_of_cq = max_phy_of_cq.max(cq.max_physic_offset());
    }
    let delay = config.delay_levels();
    let files = commit_log.queue().files();
    let mut redispatched = 0;
    let mut scan_start = None;
    let end = if files.is_empty() {
        0
    } else if last_exit_ok {
        let start = files.len().saturating_sub(3);
        scan_start = Some(files[start].file_from_offset());
        scan(commit_log, start, config, &delay, |_| Ok(()))?
    } else {
        let min_ts = if config.message_index_enable && config.message_index_safe {
            checkpoint.min_timestamp_index()
        } else {
            checkpoint.min_timestamp()
        };
        let start = files
            .iter()
            .rposition(|f| matches_recover_start(f, min_ts))
            .unwrap_or(0);
        tracing::info!(file = %files[start].path().display(), min_ts, "abnormal recovery starts here");
        scan_start = Some(files[start].file_from_offset());
        scan(commit_log, start, config, &delay, |req| {
            redispatched += 1;
            dispatcher.dispatch(&req.as_ref()).map(drop)
        })?
    };
    drop(files);
    if commit_log.queue().is_empty() {
        for cq in queues.all() {
            cq.destroy()?;
        }
    } else {
        commit_log.queue().set_flushed_where(end as u64);
        commit_log.queue().truncate_dirty_files(end as u64)?;
        if max_phy_of_cq >= end {
            tracing::warn!(
                max_phy_of_cq,
                end,
                "consume queues point beyond the commitlog; truncating"
            );
            for cq in queues.all() {
                cq.truncate_dirty_logic_files(end)?;
            }
        }
    }
    let mut table = Vec::new();
    let min = commit_log.min_offset();
    for cq in queues.all() {
        table.push((
            cq.topic().to_owned(),
            cq.queue_id(),
            cq.max_offset_in_queue(),
        ));
        cq.correct_min_offset(min);
    }
    commit_log.set_topic_queue_table(table);
    Ok(RecoveryReport {
        abnormal: !last_exit_ok,
        commit_log_end: end,
        redispatched,
        scan_start,
    })
}

/// Java's `isMappedFileMatchedRecover`: the file's first record is a v1 message whose store
/// time is set and not after `min_ts`.
fn matches_recover_start(file: &crate::mapped_file::MappedFile, min_ts: i64) -> bool {
    let Some(head) = file.read_array::<80>(0) else {
        return false;
    };
    let magic = i32::from_be_bytes(head[4..8].try_into().expect("4 bytes"));
    if magic != remoting_codec::message::MESSAGE_MAGIC_CODE {
        return false;
    }
    match crate::commit_log::store_timestamp_of(&head) {
        Some(ts) => ts != 0 && ts <= min_ts,
        None => false,
    }
}

/// Scans from file `start`; returns the end of the valid data.
fn scan(
    commit_log: &CommitLog,
    start: usize,
    config: &MessageStoreConfig,
    delay: &DelayLevels,
    mut on_message: impl FnMut(&crate::dispatch::DispatchRequest) -> Result<(), StoreError>,
) -> Result<i64, StoreError> {
    let files = commit_log.queue().files();
    let mut index = start;
    loop {
        let file = &files[index];
        let view = file.recovery_view();
        let mut pos = 0usize;
        let mut blank = false;
        while pos < view.len() {
            match check_message(&view.slice(pos..), config.check_crc_on_recover, delay) {
                RecordCheck::Message(req) => {
                    let expected = file.file_from_offset() as i64 + pos as i64;
                    if req.commit_log_offset != expected {
                        tracing::warn!(
                            at = expected,
                            found = req.commit_log_offset,
                            "record physical offset does not match its position; data end"
                        );
                        break;
                    }
                    on_message(&req)?;
                    pos += req.msg_size as usize;
                }
                RecordCheck::Blank => {
                    blank = true;
                    break;
                }
                RecordCheck::Invalid(why) => {
                    tracing::info!(file = %file.path().display(), pos, %why, "commitlog data end");
                    break;
                }
            }
        }
        if blank && index + 1 < files.len() {
            index += 1;
            continue;
        }
        // A BLANK in the last file: its data end at the BLANK (Java keeps the offset there).
        return Ok(file.file_from_offset() as i64 + pos as i64);
    }
}
