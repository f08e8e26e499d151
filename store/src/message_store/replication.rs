//! The replication side of [`MessageStore`] (Java's `DefaultMessageStore` calls into
//! `HAService`, `CommitLog.submitReplicaRequest`): starting the HA service, the SYNC_MASTER
//! hook after a put, and the seam the HA code uses — read committed bytes from an offset,
//! append replicated bytes at an offset ([`crate::ha::ReplicaStore`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::MessageStore;
use crate::commit_log::CommitLog;
use crate::config::BrokerRole;
use crate::ha::{HAService, HaSettings, ReplicaStore, ReplicaTicket};
use crate::reput::{Appended, ReputService};
use crate::results::{PutMessageResult, PutMessageStatus};

impl MessageStore {
    /// Starts replication (Java's `HAService.start` in `DefaultMessageStore.start`): listens on
    /// `haListenPort` for slaves and runs the HA client, which connects once it has a master
    /// address (`haMasterAddress`, or [`update_ha_master_address`](Self::update_ha_master_address)).
    /// Separate from [`open`](Self::open) so a store opened by a tool binds no port.
    pub fn start_ha(&self) -> std::io::Result<std::net::SocketAddr> {
        if let Some(ha) = self.ha.get() {
            return Ok(ha.local_addr());
        }
        let c = &self.config;
        let settings = HaSettings {
            listen_port: c.ha_listen_port,
            heartbeat_interval: Duration::from_millis(c.ha_send_heartbeat_interval),
            housekeeping_interval: Duration::from_millis(c.ha_housekeeping_interval),
            transfer_batch_size: c.ha_transfer_batch_size,
            slave_fallbehind_max: c.ha_slave_fallbehind_max,
            slave_timeout: Duration::from_millis(c.slave_timeout),
        };
        let replica = Arc::new(CommitLogReplica {
            commit_log: self.commit_log.clone(),
            reput: self.reput.clone(),
            shutdown: self.shutdown.clone(),
        });
        let ha = HAService::start(replica, settings)?;
        if let Some(addr) = c.ha_master_address.as_deref().filter(|a| a.len() >= 6) {
            ha.update_master_address(addr);
        }
        let addr = ha.local_addr();
        let _ = self.ha.set(ha);
        Ok(addr)
    }

    /// The replication service, once started.
    pub fn ha_service(&self) -> Option<&HAService> {
        self.ha.get()
    }

    /// Java's `updateHaMasterAddress`.
    pub fn update_ha_master_address(&self, addr: &str) {
        if let Some(ha) = self.ha.get() {
            ha.update_master_address(addr);
        }
    }

    /// Java's `CommitLog.submitReplicaRequest`, the hook after a put's result: on a
    /// SYNC_MASTER, for a stored put that asked to wait (`WAIT`), SLAVE_NOT_AVAILABLE at once
    /// when no slave is connected or the slaves are more than `haSlaveFallbehindMax` behind the
    /// put's end, else a ticket resolved when a slave reported past it (PUT_OK) or after
    /// `slaveTimeout` (FLUSH_SLAVE_TIMEOUT). Anything else: PUT_OK now.
    pub fn submit_replica_request(
        &self,
        result: &PutMessageResult,
        wait_store_msg_ok: bool,
    ) -> ReplicaWait {
        let Some(append) = result
            .append
            .as_ref()
            .filter(|_| result.status == PutMessageStatus::PutOk)
        else {
            return ReplicaWait::Done(result.status);
        };
        if self.config.broker_role != BrokerRole::SyncMaster || !wait_store_msg_ok {
            return ReplicaWait::Done(PutMessageStatus::PutOk);
        }
        let end = append.wrote_offset + append.wrote_bytes as i64;
        match self.ha.get() {
            Some(ha) if ha.is_slave_ok(end) => ReplicaWait::Pending(ha.put_request(end)),
            _ => ReplicaWait::Done(PutMessageStatus::SlaveNotAvailable),
        }
    }

    /// Java's `getCommitLogData`: the written commitlog bytes from `offset` to the end of the
    /// data of the file holding it (what a master sends a slave).
    pub fn commit_log_data(&self, offset: i64) -> Option<bytes::Bytes> {
        CommitLogReplica::data(&self.commit_log, &self.shutdown, offset)
    }

    /// Java's `appendToCommitLog`: replicated bytes appended at exactly `offset` (the end of
    /// the commitlog, or anywhere in an empty one), then dispatched to the consume queues and
    /// the index as a local put. False when refused (another offset, no room in the file,
    /// shut down).
    pub fn append_to_commit_log(&self, offset: i64, data: &[u8]) -> bool {
        CommitLogReplica {
            commit_log: self.commit_log.clone(),
            reput: self.reput.clone(),
            shutdown: self.shutdown.clone(),
        }
        .append_replicated(offset, data)
    }
}

/// The outcome of [`MessageStore::submit_replica_request`].
pub enum ReplicaWait {
    Done(PutMessageStatus),
    Pending(ReplicaTicket),
}

/// The store side of the replication seam.
struct CommitLogReplica {
    commit_log: Arc<CommitLog>,
    reput: Arc<ReputService>,
    shutdown: Arc<AtomicBool>,
}

impl CommitLogReplica {
    fn data(commit_log: &CommitLog, shutdown: &AtomicBool, offset: i64) -> Option<bytes::Bytes> {
        if shutdown.load(Ordering::Acquire) {
            return None;
        }
        commit_log.get_data(offset)
    }
}

impl ReplicaStore for CommitLogReplica {
    fn max_phy_offset(&self) -> i64 {
        self.commit_log.max_offset()
    }

    fn commit_log_data(&self, offset: i64) -> Option<bytes::Bytes> {
        Self::data(&self.commit_log, &self.shutdown, offset)
    }

    fn append_replicated(&self, offset: i64, data: &[u8]) -> bool {
        if self.shutdown.load(Ordering::Acquire) {
            tracing::warn!("message store has been shut down, so appendToCommitLog is forbidden");
            return false;
        }
        match self.commit_log.append_data(offset, data) {
            Ok(true) => {
                // Dispatched on this (the HA client's) thread, as a local append is.
                self.reput.dispatch_appended(Appended::NONE);
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::error!(offset, error = %e, "appendData failed");
                false
            }
        }
    }

    fn mapped_file_size(&self) -> i64 {
        self.commit_log.file_size() as i64
    }
}
