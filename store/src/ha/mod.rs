//! Master/slave replication as 4.9.8's `store/ha` package: [`HAService`] (the master's
//! listener on `haListenPort` and its slave connections, the SYNC_MASTER wait) and the slave's
//! HA client. The byte protocol is in [`protocol`]; the recorded units of the s15 captures are
//! replayed against it by `store/tests/ha_replay.rs`.
//!
//! | Module | Java | What it is |
//! |---|---|---|
//! | [`protocol`] | (the byte layout of `HAConnection`/`HAClient`) | reports, headers |
//! | `connection` | `HAConnection` | the master side of one slave: reader and writer threads |
//! | `client` | `HAService.HAClient` | the slave side |
//! | `group_transfer` | `GroupTransferService`, `CommitLog.submitReplicaRequest` | SYNC_MASTER puts waiting for a slave |
//! | `wait_notify` | `WaitNotifyObject` | SYNC_MASTER puts wake the writers |
//!
//! The HA code sees the store only through [`ReplicaStore`] — the seam "read committed bytes
//! from an offset, append replicated bytes at an offset" — which `MessageStore` implements
//! over its commitlog and dispatcher. As in Java every role listens on the HA port and runs the
//! client; the client connects only once it has a master address (a SLAVE's broker sets it).
//!
//! Seam for an elected master (5.x controller / DLedger, not built): the role is only read by
//! `MessageStore` (whether puts are refused, whether SYNC_MASTER waits) and the client follows
//! whatever address [`HAService::update_master_address`] gives it; a role change would stop the
//! client and start answering puts without touching this module's protocol code.

//! Differences from Java, none visible on the wire: a slave closes the connection on a unit
//! whose size is negative or larger than its 4 MiB read buffer (Java's client would throw and
//! retry in 5 s); an append at any offset other than the slave's end is refused (Java's
//! `appendData` writes wherever the file is, its client having checked the offset); the master
//! copies each unit (≤ `haTransferBatchSize`) into one buffer instead of writing the mapped
//! slice; `haSlaveFallbehindMax` is 4.9.8's name of 5.x's `haMaxGapNotInSync`.

mod client;
mod connection;
mod group_transfer;
pub mod protocol;
mod wait_notify;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;

pub use group_transfer::ReplicaTicket;
use group_transfer::GroupTransferService;

use connection::HaConnection;
use wait_notify::WaitNotify;

/// What replication needs from the store.
pub trait ReplicaStore: Send + Sync {
    /// End of the written commitlog (`getMaxPhyOffset`).
    fn max_phy_offset(&self) -> i64;
    /// Written bytes from `offset` to the end of the data of the file holding it (Java's
    /// `getCommitLogData`); None beyond the data or after shutdown.
    fn commit_log_data(&self, offset: i64) -> Option<Bytes>;
    /// Appends replicated bytes at exactly `offset` (the store's end, or anywhere in an empty
    /// store) and wakes dispatch; false when refused.
    fn append_replicated(&self, offset: i64, data: &[u8]) -> bool;
    /// `mappedFileSizeCommitLog`.
    fn mapped_file_size(&self) -> i64;
}

/// The HA keys of `MessageStoreConfig`.
#[derive(Clone, Debug)]
pub struct HaSettings {
    /// `haListenPort` (the broker sets listenPort + 1); 0 picks a free port (tests).
    pub listen_port: u16,
    pub heartbeat_interval: Duration,
    pub housekeeping_interval: Duration,
    pub transfer_batch_size: usize,
    pub slave_fallbehind_max: i64,
    /// `slaveTimeout`: how long a SYNC_MASTER put waits for a slave.
    pub slave_timeout: Duration,
}

pub(crate) struct HaShared {
    store: Arc<dyn ReplicaStore>,
    settings: HaSettings,
    connection_count: AtomicUsize,
    connections: Mutex<Vec<Arc<HaConnection>>>,
    group_transfer: GroupTransferService,
    wait_notify: WaitNotify,
    master: client::MasterAddress,
    stopped: AtomicBool,
}

impl HaShared {
    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn add_connection(&self, c: Arc<HaConnection>) {
        self.connections.lock().expect("ha connections").push(c);
    }

    fn remove_connection(&self, c: &Arc<HaConnection>) {
        self.connections
            .lock()
            .expect("ha connections")
            .retain(|x| !Arc::ptr_eq(x, c));
    }
}

/// Java's `HAService`.
pub struct HAService {
    shared: Arc<HaShared>,
    local_addr: SocketAddr,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// A byte written here wakes the acceptor to stop (Java's `selector.wakeup()`).
    accept_wake: UnixStream,
}

impl HAService {
    /// Binds `0.0.0.0:haListenPort` and starts the acceptor, the SYNC_MASTER waiter and the
    /// client.
    pub fn start(store: Arc<dyn ReplicaStore>, settings: HaSettings) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], settings.listen_port)))?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(HaShared {
            store,
            settings,
            connection_count: AtomicUsize::new(0),
            connections: Mutex::new(Vec::new()),
            group_transfer: GroupTransferService::start()?,
            wait_notify: WaitNotify::default(),
            master: client::MasterAddress::default(),
            stopped: AtomicBool::new(false),
        });
        let s = shared.clone();
        let (accept_wake, woken) = UnixStream::pair()?;
        let accept = std::thread::Builder::new()
            .name("AcceptSocketService".into())
            .spawn(move || accept_loop(&s, listener, woken))?;
        let client = client::start(shared.clone())?;
        Ok(Self {
            shared,
            local_addr,
            threads: Mutex::new(vec![accept, client]),
            accept_wake,
        })
    }

    /// The port it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Java's `updateMasterAddress`: where the client connects (a change applies at the next
    /// connection).
    pub fn update_master_address(&self, addr: &str) {
        if self.shared.master.set(addr) {
            self.shared.master.wake();
        }
    }

    pub fn master_address(&self) -> Option<String> {
        self.shared.master.get()
    }

    /// Java's `isSlaveOK`: a slave is connected and not more than `haSlaveFallbehindMax`
    /// behind `master_put_where`.
    pub fn is_slave_ok(&self, master_put_where: i64) -> bool {
        self.connection_count() > 0
            && master_put_where - self.push2slave_max_offset() < self.shared.settings.slave_fallbehind_max
    }

    /// Queues a SYNC_MASTER put ending at `next_offset` and wakes the writers.
    pub fn put_request(&self, next_offset: i64) -> ReplicaTicket {
        let t = self
            .shared
            .group_transfer
            .put_request(next_offset, self.shared.settings.slave_timeout);
        self.shared.wait_notify.wakeup_all();
        t
    }

    /// SYNC_MASTER puts waiting for a slave.
    pub fn waiting_puts(&self) -> usize {
        self.shared.group_transfer.waiting()
    }

    pub fn connection_count(&self) -> usize {
        self.shared.connection_count.load(Ordering::Acquire)
    }

    /// The furthest offset a slave reported (`push2SlaveMaxOffset`).
    pub fn push2slave_max_offset(&self) -> i64 {
        self.shared.group_transfer.push2slave_max()
    }

    /// The slaves' acknowledged offsets, by address.
    pub fn slave_ack_offsets(&self) -> Vec<(SocketAddr, i64)> {
        self.shared
            .connections
            .lock()
            .expect("ha connections")
            .iter()
            .map(|c| (c.peer, c.slave_ack_offset()))
            .collect()
    }

    pub fn shutdown(&self) {
        if self.shared.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.shared.master.wake();
        let _ = (&self.accept_wake).write_all(&[1]);
        for c in self.shared.connections.lock().expect("ha connections").drain(..) {
            c.stop();
        }
        self.shared.group_transfer.shutdown();
        for t in self.threads.lock().expect("ha threads").drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for HAService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Accepts slaves until stopped. It sleeps in `poll` until a connection comes or `woken` is
/// written to (Java's `AcceptSocketService` sleeps in `select(1000)` the same way), instead of
/// trying the non-blocking listener on a short timer.
fn accept_loop(ha: &Arc<HaShared>, listener: TcpListener, woken: UnixStream) {
    while !ha.stopped() {
        let mut fds = [listener.as_raw_fd(), woken.as_raw_fd()].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: two initialised pollfd entries, alive for the call; the descriptors are
        // owned by `listener` and `woken`, open for the whole loop. The timeout only bounds
        // how long a stop that did not write to `woken` takes to be seen.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 1000) };
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            tracing::error!(error = %std::io::Error::last_os_error(), "HA accept poll failed");
            std::thread::sleep(Duration::from_millis(100));
        }
        if ready <= 0 || ha.stopped() {
            continue;
        }
        match listener.accept() {
            Ok((stream, peer)) => {
                tracing::info!(%peer, "HAService receive new connection");
                let started = stream
                    .set_nonblocking(false)
                    .and_then(|()| HaConnection::start(ha.clone(), stream));
                if let Err(e) = started {
                    tracing::error!(%peer, error = %e, "new HAConnection exception");
                }
            }
            // Readiness that another accept took, or a wake-up to stop.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::error!(error = %e, "HA accept failed");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
