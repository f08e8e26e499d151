//! Java's `HAService.HAClient`: the slave's side, one thread.
//!
//! With a master HA address (`haMasterAddress`, or the `haServerAddr` a namesrv returns to the
//! slave's registration) it connects, and then:
//! - reports its max commitlog offset whenever it has written nothing for
//!   `haSendHeartbeatInterval` (so the first report comes one interval after the connect: the
//!   recording shows 5.0 s) and right after each transfer it appended;
//! - reads units: a header whose offset differs from its own max offset (unless its store is
//!   empty) closes the connection ("master pushed offset not equal the max phy offset in
//!   slave"), a whole unit is appended at that offset through the store's replication seam,
//!   which dispatches it as a local put;
//! - closes on EOF, a read or write error, a failed append, a unit that cannot fit its read
//!   buffer (4 MiB, Java's; a negative size too), or `haHousekeepingInterval` since its last
//!   write (Java measures the slave's own writes here).
//!
//! Not connected, it tries again every 5 s (the recording: refused connects every 5 s while
//! the master was down, and a reconnect as soon as it listened again). A reconnect starts from
//! the store's max offset as it is then (after a restart: the recovered end).

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::protocol::{decode_header, encode_report, CLIENT_READ_MAX_BUFFER_SIZE, TRANSFER_HEADER_SIZE};
use super::HaShared;

/// Java's wait between connection attempts.
const RECONNECT_WAIT: Duration = Duration::from_secs(5);
/// Java's `RemotingUtil.connect` timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Java's `selector.select(1000)`.
const SOCKET_POLL: Duration = Duration::from_millis(1000);

/// The master address and the wait between attempts (woken by shutdown).
#[derive(Default)]
pub(super) struct MasterAddress {
    addr: Mutex<Option<String>>,
    wake: Condvar,
}

impl MasterAddress {
    pub(super) fn set(&self, new: &str) -> bool {
        let mut a = self.addr.lock().expect("master address");
        if a.as_deref() == Some(new) {
            return false;
        }
        tracing::info!(old = ?*a, new, "update master address");
        *a = Some(new.to_owned());
        true
    }

    pub(super) fn get(&self) -> Option<String> {
        self.addr.lock().expect("master address").clone()
    }

    fn sleep(&self, d: Duration) {
        let a = self.addr.lock().expect("master address");
        let _ = self.wake.wait_timeout(a, d);
    }

    pub(super) fn wake(&self) {
        self.wake.notify_all();
    }
}

struct Session {
    stream: TcpStream,
    buf: Vec<u8>,
    current_reported: i64,
    last_write: Instant,
}

pub(super) fn start(ha: Arc<HaShared>) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("HAClient".into())
        .spawn(move || run(&ha))
}

fn run(ha: &HaShared) {
    let mut session: Option<Session> = None;
    while !ha.stopped() {
        if session.is_none() {
            session = connect(ha);
            if session.is_none() {
                ha.master.sleep(RECONNECT_WAIT);
                continue;
            }
        }
        let Some(s) = session.as_mut() else { continue };
        if !step(ha, s) {
            let _ = s.stream.shutdown(Shutdown::Both);
            session = None;
        }
    }
    if let Some(s) = session {
        let _ = s.stream.shutdown(Shutdown::Both);
    }
}

fn connect(ha: &HaShared) -> Option<Session> {
    let addr = ha.master.get()?;
    let target = addr.to_socket_addrs().ok()?.next()?;
    let stream = match TcpStream::connect_timeout(&target, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(%addr, error = %e, "HAClient connect failed");
            return None;
        }
    };
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(SOCKET_POLL)).ok()?;
    stream.set_write_timeout(Some(SOCKET_POLL)).ok()?;
    tracing::info!(%addr, "HAClient connected to master");
    Some(Session {
        stream,
        buf: Vec::new(),
        current_reported: ha.store.max_phy_offset(),
        last_write: Instant::now(),
    })
}

/// One round of Java's loop; false closes the connection.
fn step(ha: &HaShared, s: &mut Session) -> bool {
    if s.last_write.elapsed() > ha.settings.heartbeat_interval && !report(s, s.current_reported) {
        return false;
    }
    let mut chunk = vec![0u8; 64 * 1024];
    match s.stream.read(&mut chunk) {
        Ok(0) => {
            tracing::info!("HAClient, processReadEvent read socket < 0");
            return false;
        }
        Ok(n) => {
            s.buf.extend_from_slice(&chunk[..n]);
            if !dispatch(ha, s) {
                tracing::error!("HAClient, dispatchReadRequest error");
                return false;
            }
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        Err(e) if e.kind() == ErrorKind::Interrupted => {}
        Err(_) => return false,
    }
    if !report_plus(ha, s) {
        return false;
    }
    if s.last_write.elapsed() > ha.settings.housekeeping_interval {
        tracing::warn!("HAClient, housekeeping, found this connection expired");
        return false;
    }
    true
}

/// Java's `dispatchReadRequest`: every whole unit in the buffer.
fn dispatch(ha: &HaShared, s: &mut Session) -> bool {
    let mut pos = 0usize;
    let ok = loop {
        let Some((master_offset, size)) = decode_header(&s.buf[pos..]) else {
            break true;
        };
        let slave_offset = ha.store.max_phy_offset();
        if slave_offset != 0 && slave_offset != master_offset {
            tracing::error!(
                "master pushed offset not equal the max phy offset in slave, SLAVE: {slave_offset} MASTER: {master_offset}"
            );
            break false;
        }
        let Ok(size) = usize::try_from(size) else {
            tracing::error!(size, "HA unit with a negative size");
            break false;
        };
        if size > CLIENT_READ_MAX_BUFFER_SIZE - TRANSFER_HEADER_SIZE {
            tracing::error!(size, "HA unit larger than the read buffer");
            break false;
        }
        let end = pos + TRANSFER_HEADER_SIZE + size;
        if s.buf.len() < end {
            break true;
        }
        let body = &s.buf[pos + TRANSFER_HEADER_SIZE..end];
        if !body.is_empty() && !ha.store.append_replicated(master_offset, body) {
            tracing::error!(master_offset, size, "appendToCommitLog failed");
            break false;
        }
        pos = end;
        if !report_plus(ha, s) {
            break false;
        }
    };
    s.buf.drain(..pos);
    ok
}

/// Java's `reportSlaveMaxOffsetPlus`: report when the store grew past the last report.
fn report_plus(ha: &HaShared, s: &mut Session) -> bool {
    let current = ha.store.max_phy_offset();
    if current > s.current_reported {
        s.current_reported = current;
        return report(s, current);
    }
    true
}

fn report(s: &mut Session, offset: i64) -> bool {
    let ok = s.stream.write_all(&encode_report(offset)).is_ok();
    s.last_write = Instant::now();
    if !ok {
        tracing::error!(offset, "HAClient, reportSlaveMaxOffset error");
    }
    ok
}

