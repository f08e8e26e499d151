//! The maintenance of [`MessageStore`] the admin codes ask for: unused and expired consume
//! queues (CLEAN_UNUSED_TOPIC, CLEAN_EXPIRED_CONSUMEQUEUE) and the commitlog's manual and
//! immediate clean passes (DELETE_EXPIRED_COMMITLOG).

use std::collections::HashSet;

use super::MessageStore;
use crate::clean::CleanReport;

impl MessageStore {
    /// Java's `cleanUnusedTopic`: destroys the consume queues (files and queue offsets) of every
    /// topic not in `topics`, except SCHEDULE_TOPIC_XXXX and RMQ_SYS_TRANS_OP_HALF_TOPIC, which
    /// the broker keeps whether or not they are in its topic table. The commitlog is untouched;
    /// messages of a destroyed topic stay there until they expire. Returns the topics removed.
    pub fn clean_unused_topic(&self, topics: &HashSet<String>) -> Vec<String> {
        const KEPT: [&str; 2] = ["SCHEDULE_TOPIC_XXXX", "RMQ_SYS_TRANS_OP_HALF_TOPIC"];
        let removed = self
            .queues
            .remove_topics(|t| !topics.contains(t) && !KEPT.contains(&t));
        let mut names = Vec::with_capacity(removed.len());
        for (topic, queues) in removed {
            for cq in queues {
                if let Err(e) = cq.destroy() {
                    tracing::warn!("cleanUnusedTopic: {topic} {}: {e}", cq.queue_id());
                }
                self.commit_log.remove_queue_offset(&topic, cq.queue_id());
                tracing::info!(
                    "cleanUnusedTopic: {topic} {} ConsumeQueue cleaned",
                    cq.queue_id()
                );
            }
            // Java deletes the emptied directories too.
            let dir = self.config.consume_queue_dir().join(&topic);
            for cq in self.queue_ids_in(&dir) {
                let _ = std::fs::remove_dir(dir.join(cq));
            }
            let _ = std::fs::remove_dir(&dir);
            tracing::info!("cleanUnusedTopic: {topic},topic destroyed");
            names.push(topic);
        }
        names
    }

    /// Java's `cleanExpiredConsumerQueue` (CLEAN_EXPIRED_CONSUMEQUEUE): every consume queue
    /// whose last entry ends below the commitlog's minimum offset (all its messages expired
    /// with their commitlog files) is destroyed and forgotten, with its queue offset; a topic
    /// left without queues leaves the table. SCHEDULE_TOPIC_XXXX is never touched, and a queue
    /// without entries (`getLastOffset` -1: "maybe created just now") is kept. Returns the
    /// `(topic, queueId)` removed.
    pub fn clean_expired_consumer_queue(&self) -> Vec<(String, i32)> {
        let min = self.commit_log.min_offset();
        let removed = self.queues.remove_queues(|cq| {
            if cq.topic() == "SCHEDULE_TOPIC_XXXX" {
                return false;
            }
            let last = cq.last_offset();
            if last == -1 {
                tracing::warn!(
                    "maybe ConsumeQueue was created just now. topic={} queueId={}",
                    cq.topic(),
                    cq.queue_id()
                );
            }
            last != -1 && last < min
        });
        let mut out = Vec::with_capacity(removed.len());
        for cq in removed {
            tracing::info!(
                "cleanExpiredConsumerQueue: {} {} consumer queue destroyed, minCommitLogOffset: {min} maxCLOffsetInConsumeQueue: {}",
                cq.topic(),
                cq.queue_id(),
                cq.last_offset()
            );
            self.commit_log
                .remove_queue_offset(cq.topic(), cq.queue_id());
            if let Err(e) = cq.destroy() {
                tracing::warn!(
                    "cleanExpiredConsumerQueue: {} {}: {e}",
                    cq.topic(),
                    cq.queue_id()
                );
            }
            let _ = std::fs::remove_dir(
                self.config
                    .consume_queue_dir()
                    .join(cq.topic())
                    .join(cq.queue_id().to_string()),
            );
            out.push((cq.topic().to_owned(), cq.queue_id()));
        }
        for (topic, _) in &out {
            if self.queues.queue_ids(topic).is_empty() {
                let _ = std::fs::remove_dir(self.config.consume_queue_dir().join(topic));
            }
        }
        out
    }

    fn queue_ids_in(&self, dir: &std::path::Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default()
    }

    /// Java's `executeDeleteFilesManually` (DELETE_EXPIRED_COMMITLOG): the next 20 clean
    /// passes ignore `deleteWhen`; the first starts now on the clean thread.
    pub fn execute_delete_files_manually(&self) {
        self.cleaner.execute_delete_files_manually();
        self.clean.wakeup();
    }

    /// Manual clean rounds not used yet.
    pub fn manual_delete_rounds_left(&self) -> i32 {
        self.cleaner.manual_times_left()
    }

    /// Runs one clean pass on the calling thread (the clean thread runs them on its own every
    /// `cleanResourceInterval`).
    pub fn clean_expired_files_now(&self) -> CleanReport {
        self.cleaner.run_pass()
    }

    /// Java's `isSpaceFull`, now: measures the commitlog disk and sets or clears the disk-full
    /// flag (the clean thread does it every 10 s).
    pub fn check_disk_space_now(&self) -> bool {
        self.cleaner.is_space_full()
    }
}
