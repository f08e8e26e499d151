//! Java's `HAConnection`: the master's side of one slave connection, a reader thread and a
//! writer thread (Java's `ReadSocketService` / `WriteSocketService`).
//!
//! Reader: every received byte refreshes the connection's read time; the last whole 8-byte
//! report counts. The first report is where the slave wants data from
//! (`slaveRequestOffset`); every report is its acknowledged offset (`slaveAckOffset`) and moves
//! `push2SlaveMaxOffset`. A later report beyond the master's max offset, EOF, a read error, or
//! `haHousekeepingInterval` without a byte ends the connection.
//!
//! Writer: nothing before the first report. Then it transfers from the reported offset, or, for
//! a report of 0 (an empty slave), from the start of the master's *last* commitlog file
//! (Java's choice: a new slave does not get the whole history). Whenever it has written nothing
//! for `haSendHeartbeatInterval` it sends a heartbeat (header with size 0 at the next transfer
//! offset); as soon as there is data after that offset it sends it, at most
//! `haTransferBatchSize` bytes and never across a file (Java's `getCommitLogData` selects within
//! one mapped file); otherwise it waits up to 100 ms or until a SYNC_MASTER put wakes it. A
//! write that cannot finish (a slave that stopped reading) is resumed on the next round, as
//! Java's `lastWriteOver`; the reader's housekeeping ends such a connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::protocol::{encode_header, last_report};
use super::HaShared;

/// Java's `ReadSocketService.READ_MAX_BUFFER_SIZE`.
const READ_MAX_BUFFER_SIZE: usize = 1024 * 1024;
/// The writer's wait when there is nothing to send (Java's `allWaitForRunning(100)`).
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// How long one socket call may block before the loops look at their clocks again.
const SOCKET_POLL: Duration = Duration::from_millis(1000);

pub(super) struct HaConnection {
    pub(super) peer: SocketAddr,
    stream: TcpStream,
    slave_request_offset: AtomicI64,
    slave_ack_offset: AtomicI64,
    stopped: AtomicBool,
}

impl HaConnection {
    /// Starts both threads for an accepted slave socket.
    pub(super) fn start(ha: Arc<HaShared>, stream: TcpStream) -> std::io::Result<Arc<Self>> {
        let peer = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(SOCKET_POLL))?;
        stream.set_write_timeout(Some(SOCKET_POLL))?;
        let conn = Arc::new(HaConnection {
            peer,
            stream,
            slave_request_offset: AtomicI64::new(-1),
            slave_ack_offset: AtomicI64::new(-1),
            stopped: AtomicBool::new(false),
        });
        let reader_stream = conn.stream.try_clone()?;
        let writer_stream = conn.stream.try_clone()?;
        ha.connection_count.fetch_add(1, Ordering::AcqRel);
        ha.add_connection(conn.clone());
        let (c, h) = (conn.clone(), ha.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("HAConnection-read-{peer}"))
            .spawn(move || {
                c.read_loop(&h, reader_stream);
                c.stop();
                h.remove_connection(&c);
                h.connection_count.fetch_sub(1, Ordering::AcqRel);
            });
        if let Err(e) = spawned {
            conn.stop();
            ha.remove_connection(&conn);
            ha.connection_count.fetch_sub(1, Ordering::AcqRel);
            return Err(e);
        }
        let (c, h) = (conn.clone(), ha);
        std::thread::Builder::new()
            .name(format!("HAConnection-write-{peer}"))
            .spawn(move || {
                c.write_loop(&h, writer_stream);
                c.stop();
            })?;
        Ok(conn)
    }

    /// Ends the connection (both threads see it within one socket poll).
    pub(super) fn stop(&self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    pub(super) fn slave_ack_offset(&self) -> i64 {
        self.slave_ack_offset.load(Ordering::Acquire)
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    fn read_loop(&self, ha: &HaShared, mut stream: TcpStream) {
        let mut buf = vec![0u8; READ_MAX_BUFFER_SIZE];
        let mut filled = 0usize;
        let mut last_read = Instant::now();
        let housekeeping = ha.settings.housekeeping_interval;
        while !self.stopped() && !ha.stopped() {
            match stream.read(&mut buf[filled..]) {
                Ok(0) => return,
                Ok(n) => {
                    filled += n;
                    last_read = Instant::now();
                    if let Some((offset, used)) = last_report(&buf[..filled]) {
                        buf.copy_within(used..filled, 0);
                        filled -= used;
                        if !self.on_report(ha, offset) {
                            return;
                        }
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
            if last_read.elapsed() > housekeeping {
                tracing::warn!(peer = %self.peer, "ha housekeeping, found this connection expired, {} ms",
                    last_read.elapsed().as_millis());
                return;
            }
        }
    }

    /// One report; false ends the connection.
    fn on_report(&self, ha: &HaShared, offset: i64) -> bool {
        self.slave_ack_offset.store(offset, Ordering::Release);
        if self.slave_request_offset.load(Ordering::Acquire) < 0 {
            self.slave_request_offset.store(offset, Ordering::Release);
            tracing::info!(peer = %self.peer, offset, "slave requests replication");
        } else if offset > ha.store.max_phy_offset() {
            tracing::warn!(peer = %self.peer, offset, master = ha.store.max_phy_offset(),
                "slave ack offset beyond the master's max offset");
            return false;
        }
        ha.group_transfer.notify_transfer_some(offset);
        true
    }

    fn write_loop(&self, ha: &HaShared, mut stream: TcpStream) {
        let settings = &ha.settings;
        let mut next_transfer_from = -1i64;
        // Bytes of the unit being written and how far we got (Java's `lastWriteOver` false).
        let mut pending: Vec<u8> = Vec::new();
        let mut written = 0usize;
        // Java starts the clock when the connection is made: the first heartbeat goes out with
        // the first report only if the slave took longer than the interval to send it.
        let mut last_write = Instant::now();
        let mut seen = ha.wait_notify.generation();
        while !self.stopped() && !ha.stopped() {
            let requested = self.slave_request_offset.load(Ordering::Acquire);
            if requested < 0 {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if next_transfer_from < 0 {
                next_transfer_from = if requested == 0 {
                    let max = ha.store.max_phy_offset();
                    (max - max % ha.store.mapped_file_size()).max(0)
                } else {
                    requested
                };
                tracing::info!(peer = %self.peer, next_transfer_from, requested,
                    "master transfer data to slave from");
            }
            if written < pending.len() {
                match write_some(&mut stream, &pending, &mut written) {
                    Ok(true) => last_write = Instant::now(),
                    Ok(false) => continue,
                    Err(_) => return,
                }
                if written < pending.len() {
                    continue;
                }
            } else if last_write.elapsed() > settings.heartbeat_interval {
                pending = encode_header(next_transfer_from, 0).to_vec();
                written = 0;
                match write_some(&mut stream, &pending, &mut written) {
                    Ok(true) => last_write = Instant::now(),
                    Ok(false) => continue,
                    Err(_) => return,
                }
                if written < pending.len() {
                    continue;
                }
            }
            match ha.store.commit_log_data(next_transfer_from) {
                Some(data) if !data.is_empty() => {
                    let size = data.len().min(settings.transfer_batch_size.max(1));
                    let this_offset = next_transfer_from;
                    next_transfer_from += size as i64;
                    pending.clear();
                    pending.extend_from_slice(&encode_header(this_offset, size as i32));
                    pending.extend_from_slice(&data[..size]);
                    written = 0;
                    match write_some(&mut stream, &pending, &mut written) {
                        Ok(true) => last_write = Instant::now(),
                        Ok(false) => {}
                        Err(_) => return,
                    }
                }
                _ => seen = ha.wait_notify.wait(seen, IDLE_WAIT),
            }
        }
    }
}

/// Writes what it can of `buf[*written..]`; Ok(true) when something was written, Ok(false)
/// when the socket took nothing within its timeout, Err when the connection is gone.
fn write_some(stream: &mut TcpStream, buf: &[u8], written: &mut usize) -> std::io::Result<bool> {
    let mut progressed = false;
    while *written < buf.len() {
        match stream.write(&buf[*written..]) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => {
                *written += n;
                progressed = true;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(progressed)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
