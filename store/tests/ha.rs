//! Replication between two stores in one process, through real HA sockets: a slave becomes
//! byte-identical to its master (commitlog and consume queues), an empty slave starts where
//! Java starts it, SYNC_MASTER puts wait for the slave, and faults (a cut connection, a torn
//! slave tail, garbage on the HA port, a lying master) lose nothing and panic nothing.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use store::{BrokerRole, MessageStore, MessageStoreConfig, PutMessageStatus, ReplicaWait};
use support::*;

const DEADLINE: Duration = Duration::from_secs(60);

fn master_config(root: &Path, role: BrokerRole) -> MessageStoreConfig {
    MessageStoreConfig {
        broker_role: role,
        ha_listen_port: 0,
        ha_send_heartbeat_interval: 200,
        // Small batches: transfers end inside records.
        ha_transfer_batch_size: 1000,
        slave_timeout: 400,
        ..small_config(root)
    }
}

fn slave_config(root: &Path, master: SocketAddr) -> MessageStoreConfig {
    MessageStoreConfig {
        broker_role: BrokerRole::Slave,
        ha_listen_port: 0,
        ha_send_heartbeat_interval: 200,
        ha_master_address: Some(format!("127.0.0.1:{}", master.port())),
        ..small_config(root)
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn put_n(store: &MessageStore, from: usize, n: usize) {
    for i in from..from + n {
        let r = store.put_message(message("HaTopic", (i % 4) as i32, i, 100 + i % 300));
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
}

/// Every file of a directory tree, relative path → bytes.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn assert_same_tree(a: &Path, b: &Path, what: &str) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&ta), names(&tb), "{what}: file names");
    for ((name, x), (_, y)) in ta.iter().zip(&tb) {
        assert!(x == y, "{what}: {name} differs");
    }
}

fn caught_up(master: &MessageStore, slave: &MessageStore) -> bool {
    slave.max_phy_offset() == master.max_phy_offset()
}

fn assert_replica(master: &MessageStore, slave: &MessageStore, m: &Path, s: &Path) {
    wait_until("the slave to catch up", || caught_up(master, slave));
    master.wait_dispatched().unwrap();
    wait_until("the slave to dispatch", || {
        slave.dispatch_behind_bytes() == 0
    });
    assert_same_tree(&m.join("commitlog"), &s.join("commitlog"), "commitlog");
    assert_same_tree(
        &m.join("consumequeue"),
        &s.join("consumequeue"),
        "consumequeue",
    );
}

#[test]
fn slave_becomes_byte_identical_across_files_and_restarts() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    let port = master.start_ha().unwrap();
    let slave = support::open(slave_config(s.path(), port));
    slave.start_ha().unwrap();
    // Data put before the master's writer chose where to start would make an empty slave
    // start at the last file (next test): one message goes across first.
    put_n(&master, 0, 1);
    wait_until("the first message on the slave", || {
        caught_up(&master, &slave)
    });
    put_n(&master, 1, 1499); // ~450 KiB over 8 files of 64 KiB
    assert_replica(&master, &slave, m.path(), s.path());
    assert!(master.commit_log_data(0).is_some());
    assert_eq!(slave.max_offset_in_queue("HaTopic", 1), 375);
    // A slave counts what it received as puts (Java's reput on a slave).
    assert_eq!(slave.stats().put_times_total(), 1500);
    // Reads on the slave see what the master stored.
    assert_eq!(
        slave.max_offset_in_queue("HaTopic", 3),
        master.max_offset_in_queue("HaTopic", 3)
    );

    // The slave stops; the master goes on; a restarted slave resumes from its own end.
    drop(slave);
    put_n(&master, 1500, 300);
    let slave = support::open(slave_config(s.path(), port));
    slave.start_ha().unwrap();
    put_n(&master, 1800, 100);
    assert_replica(&master, &slave, m.path(), s.path());
}

#[test]
fn an_empty_slave_starts_at_the_masters_last_file() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    put_n(&master, 0, 700); // past two file ends
    let max = master.max_phy_offset();
    let last_file_start = max - max % (64 * 1024);
    assert!(last_file_start >= 2 * 64 * 1024);
    let port = master.start_ha().unwrap();
    let slave = support::open(slave_config(s.path(), port));
    slave.start_ha().unwrap();
    wait_until("the slave to catch up", || caught_up(&master, &slave));
    assert_eq!(slave.min_phy_offset(), last_file_start);
    let name = format!("{last_file_start:020}");
    assert_eq!(
        std::fs::read(m.path().join("commitlog").join(&name)).unwrap(),
        std::fs::read(s.path().join("commitlog").join(&name)).unwrap()
    );
}

#[test]
fn sync_master_waits_for_the_slave_and_answers_without_one() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::SyncMaster));
    let port = master.start_ha().unwrap();
    // No slave: SLAVE_NOT_AVAILABLE at once.
    let r = master.put_message(message("HaTopic", 0, 0, 100));
    assert!(matches!(
        master.submit_replica_request(&r, true),
        ReplicaWait::Done(PutMessageStatus::SlaveNotAvailable)
    ));
    // A put that does not wait is not held.
    assert!(matches!(
        master.submit_replica_request(&r, false),
        ReplicaWait::Done(PutMessageStatus::PutOk)
    ));
    let slave = support::open(slave_config(s.path(), port));
    slave.start_ha().unwrap();
    let ha = master.ha_service().unwrap();
    wait_until("the slave's first report", || {
        ha.push2slave_max_offset() > 0
    });
    for i in 1..50 {
        let r = master.put_message(message("HaTopic", 0, i, 100));
        let end = r
            .append
            .as_ref()
            .map(|a| a.wrote_offset + a.wrote_bytes as i64)
            .unwrap();
        match master.submit_replica_request(&r, true) {
            ReplicaWait::Pending(t) => assert_eq!(t.wait(), PutMessageStatus::PutOk),
            ReplicaWait::Done(s) => panic!("not held: {s:?}"),
        }
        // Acknowledged means the slave has the bytes.
        assert!(slave.max_phy_offset() >= end);
    }
    drop(slave);
    wait_until("the master to see the slave go", || {
        ha.connection_count() == 0
    });
    let r = master.put_message(message("HaTopic", 0, 99, 100));
    assert!(matches!(
        master.submit_replica_request(&r, true),
        ReplicaWait::Done(PutMessageStatus::SlaveNotAvailable)
    ));
}

#[test]
fn a_silent_slave_gets_flush_slave_timeout_and_the_message_stays() {
    let m = tempfile::tempdir().unwrap();
    let master = support::open(master_config(m.path(), BrokerRole::SyncMaster));
    let port = master.start_ha().unwrap();
    // A slave that reports once and then stops reading and reporting (SIGSTOP-like).
    let mut frozen = TcpStream::connect(("127.0.0.1", port.port())).unwrap();
    frozen.write_all(&0i64.to_be_bytes()).unwrap();
    let ha = master.ha_service().unwrap();
    wait_until("the connection", || ha.connection_count() == 1);
    let r = master.put_message(message("HaTopic", 0, 1, 100));
    let begin = Instant::now();
    match master.submit_replica_request(&r, true) {
        ReplicaWait::Pending(t) => assert_eq!(t.wait(), PutMessageStatus::FlushSlaveTimeout),
        ReplicaWait::Done(s) => panic!("not held: {s:?}"),
    }
    assert!(
        begin.elapsed() >= Duration::from_millis(400),
        "slaveTimeout"
    );
    assert_eq!(ha.waiting_puts(), 0);
    assert!(master.max_phy_offset() > 0, "stored anyway");
}

#[test]
fn housekeeping_closes_a_connection_that_never_reports() {
    let m = tempfile::tempdir().unwrap();
    let mut config = master_config(m.path(), BrokerRole::AsyncMaster);
    config.ha_housekeeping_interval = 500;
    let master = support::open(config);
    let port = master.start_ha().unwrap();
    let mut silent = TcpStream::connect(("127.0.0.1", port.port())).unwrap();
    silent.set_read_timeout(Some(DEADLINE)).unwrap();
    let ha = master.ha_service().unwrap();
    wait_until("the connection", || ha.connection_count() == 1);
    let mut buf = [0u8; 64];
    // Nothing is written before a report; then the master closes it (EOF or reset).
    let n = silent.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "no unit before the first report");
    wait_until("the connection to go", || ha.connection_count() == 0);
}

#[test]
fn garbage_on_the_ha_port_costs_only_that_connection() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    let port = master.start_ha().unwrap();
    put_n(&master, 0, 50);
    // A peer sending a huge "offset" after its first report is closed (ack beyond max).
    let mut g = TcpStream::connect(("127.0.0.1", port.port())).unwrap();
    g.write_all(&0i64.to_be_bytes()).unwrap();
    g.write_all(b"\xff\x00garbage-garbage-").unwrap();
    g.write_all(&i64::MAX.to_be_bytes()).unwrap();
    let ha = master.ha_service().unwrap();
    wait_until("the garbage peer to be dropped", || {
        ha.connection_count() == 0
    });
    // Half a report and a close.
    let mut h = TcpStream::connect(("127.0.0.1", port.port())).unwrap();
    h.write_all(&[1, 2, 3]).unwrap();
    drop(h);
    let slave = support::open(slave_config(s.path(), port));
    slave.start_ha().unwrap();
    put_n(&master, 50, 50);
    assert_replica(&master, &slave, m.path(), s.path());
}

/// A fake master: accepts one slave, waits for its first report, sends `units`, and returns
/// what the slave reported until it closed or `wait_reports` came.
fn fake_master(units: Vec<Vec<u8>>) -> (SocketAddr, std::thread::JoinHandle<Vec<i64>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let h = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reports = Vec::new();
        let mut b = [0u8; 8];
        if c.read_exact(&mut b).is_err() {
            return reports;
        }
        reports.push(i64::from_be_bytes(b));
        for u in &units {
            if c.write_all(u).is_err() {
                return reports;
            }
        }
        while c.read_exact(&mut b).is_ok() {
            reports.push(i64::from_be_bytes(b));
        }
        reports
    });
    (addr, h)
}

fn unit(offset: i64, body: &[u8]) -> Vec<u8> {
    let mut u = offset.to_be_bytes().to_vec();
    u.extend_from_slice(&(body.len() as i32).to_be_bytes());
    u.extend_from_slice(body);
    u
}

#[test]
fn a_lying_master_is_dropped_and_nothing_is_appended() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let source = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    put_n(&source, 0, 3);
    let data = source.commit_log_data(0).unwrap();
    // First a good unit, then one at a wrong offset, then a negative size.
    let mut bad_size = unit(data.len() as i64, b"");
    bad_size[8..12].copy_from_slice(&(-5i32).to_be_bytes());
    let (addr, h) = fake_master(vec![
        unit(0, &data),
        unit(data.len() as i64 + 7, &data),
        bad_size,
    ]);
    let mut config = slave_config(s.path(), addr);
    config.ha_send_heartbeat_interval = 100;
    let slave = support::open(config);
    slave.start_ha().unwrap();
    let reports = h.join().unwrap();
    assert_eq!(
        reports,
        vec![0, data.len() as i64],
        "report after the good unit, then closed"
    );
    assert_eq!(slave.max_phy_offset(), data.len() as i64);
    let name = format!("{:020}", 0);
    let written = std::fs::read(s.path().join("commitlog").join(name)).unwrap();
    assert_eq!(&written[..data.len()], &data[..]);
    assert!(written[data.len()..].iter().all(|&b| b == 0));
}

#[test]
fn a_slave_with_a_torn_tail_resumes_from_its_recovered_end() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    let port = master.start_ha().unwrap();
    put_n(&master, 0, 100);
    {
        let slave = support::open(slave_config(s.path(), port));
        slave.start_ha().unwrap();
        wait_until("the slave to catch up", || caught_up(&master, &slave));
        drop(slave);
    }
    // Tear the slave's tail: the head of a record after its end, as a crash in the middle of
    // an HA append leaves it, and a crash marker.
    let end = master.max_phy_offset() as usize;
    let path = s.path().join("commitlog").join(format!("{:020}", 0));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[end..end + 150].copy_from_slice(&master.commit_log_data(0).unwrap()[..150]);
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(s.path().join("abort"), b"").unwrap();
    let slave = support::open(slave_config(s.path(), port));
    assert!(slave.recovery_report().abnormal);
    assert_eq!(
        slave.max_phy_offset(),
        end as i64,
        "recovered at the last whole record"
    );
    slave.start_ha().unwrap();
    put_n(&master, 100, 50);
    assert_replica(&master, &slave, m.path(), s.path());
}

/// A proxy between slave and master that cuts each connection after a few thousand bytes from
/// the master (mid-unit, mid-record): the slave reconnects at once, resumes from its own end,
/// and ends byte-identical.
#[test]
fn connections_cut_mid_transfer_lose_nothing() {
    let (m, s) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = support::open(master_config(m.path(), BrokerRole::AsyncMaster));
    let port = master.start_ha().unwrap();
    put_n(&master, 0, 1);
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_addr = proxy.local_addr().unwrap();
    let cuts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = cuts.clone();
    std::thread::spawn(move || {
        for (n, conn) in proxy.incoming().enumerate() {
            let Ok(down) = conn else { return };
            let Ok(up) = TcpStream::connect(("127.0.0.1", port.port())) else {
                return;
            };
            // Up to 8 cut connections, each after a different odd number of bytes.
            let limit = if n < 8 { 1500 + 977 * n } else { usize::MAX };
            let (mut d2, mut u2) = (down.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut d2, &mut u2);
            });
            let cuts = c2.clone();
            std::thread::spawn(move || {
                let (mut down, mut up) = (down, up);
                let mut sent = 0usize;
                let mut buf = [0u8; 700];
                while let Ok(k) = up.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    let k = k.min(limit - sent);
                    if down.write_all(&buf[..k]).is_err() {
                        break;
                    }
                    sent += k;
                    if sent >= limit {
                        cuts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        break;
                    }
                }
                let _ = down.shutdown(std::net::Shutdown::Both);
                let _ = up.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    let slave = support::open(slave_config(s.path(), proxy_addr));
    slave.start_ha().unwrap();
    wait_until("the first message on the slave", || {
        caught_up(&master, &slave)
    });
    put_n(&master, 1, 600);
    assert_replica(&master, &slave, m.path(), s.path());
    assert!(
        cuts.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "the proxy cut connections"
    );
}
