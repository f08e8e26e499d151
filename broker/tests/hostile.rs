//! Hostile peers against the broker binary: a peer that sends requests but never reads the
//! answers, floods of garbage and oversized frames, peers claiming 16 MiB frames and trickling
//! bytes, and a heartbeat storm. None may take the broker down, starve a well-behaved client
//! on another connection, or grow the broker's anonymous memory without bound (RssAnon from
//! /proc, compared with the value before the load; limits are generous, the failures they
//! catch are hundreds of MiB).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{free_port_pair, pull, pull_header, pull_n, start_broker, temp_dir, TIMEOUT};
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
use remoting_codec::protocol::offset::GetMaxOffsetRequestHeader;
use remoting_codec::RemotingCommand;

/// The broker's anonymous resident memory in KiB (`RssAnon` of /proc/PID/status).
fn rss_anon_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "RssAnon:")
}

/// A KiB field of /proc/PID/status.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/PID/status"))
}

fn max_offset(topic: &str) -> RemotingCommand {
    RemotingCommand::request(
        request::GET_MAX_OFFSET,
        &GetMaxOffsetRequestHeader {
            topic: topic.into(),
            queue_id: 0,
            committed: None,
        },
    )
}

/// One request of a well-behaved client on its own connection: answered, and how long it took.
async fn witness_round_trip(client: &RemotingClient) -> Duration {
    let started = Instant::now();
    let answer = client.invoke(max_offset("Witness"), TIMEOUT).await.unwrap();
    assert!(answer.is_response());
    started.elapsed()
}

/// Samples the broker's RssAnon every 20 ms until `stop`; returns the peak.
fn sample_peak(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while !stop.load(Ordering::Acquire) {
            peak = peak.max(rss_anon_kib(pid));
            std::thread::sleep(Duration::from_millis(20));
        }
        peak.max(rss_anon_kib(pid))
    })
}

/// Whether the peer closed `stream` (EOF or reset) within `deadline`.
fn closed_within(stream: &mut TcpStream, deadline: Duration) -> bool {
    use std::io::Read;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let until = Instant::now() + deadline;
    let mut buf = [0u8; 4096];
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
    }
    false
}

/// Java 5.x switches `autoRead` off on a channel whose outbound buffer passed the high water
/// mark (Netty's 64 KiB by default): a peer that pipelines pulls of 256 KiB answers and reads
/// none is no longer read from, its answers are not built, and the broker's memory stays flat.
/// Another client sees its requests answered as before.
#[test]
fn peer_that_never_reads_is_bounded_and_others_unaffected() {
    let dir = temp_dir("hostile-reader");
    let port = free_port_pair();
    let broker = start_broker(dir.path(), port, None, "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let witness = rt.block_on(async {
        let client = RemotingClient::connect(broker.addr()).await.unwrap();
        // 16 messages of 64 KiB: a pull answers 4 of them (maxTransferBytesOnMessageInMemory
        // 256 KiB).
        for i in 0..16u8 {
            let header = common::send_v2_header("HostileBig", 0, "");
            let send = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
                .with_body(Bytes::from(vec![i; 64 * 1024]));
            let answer = client.invoke(send, TIMEOUT).await.unwrap();
            assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
        }
        pull_n(&client, "HostileBig", 0, 16).await;
        client
    });
    let mut before = Vec::new();
    for _ in 0..20 {
        before.push(rt.block_on(witness_round_trip(&witness)));
    }
    let base = rss_anon_kib(broker.pid());

    // The hostile peer: pipelined pulls from offset 0, never a byte read.
    let frame = pull(&pull_header("HostileBig", 0, 0, FLAG_SUBSCRIPTION)).to_frame();
    let mut hostile = TcpStream::connect(broker.addr()).unwrap();
    hostile
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = sample_peak(broker.pid(), stop.clone());
    let mut sent = 0usize;
    // 4,000 pulls would be 1 GiB of answers; the writes block once the broker stops reading
    // and the socket buffers are full.
    let mut blocked = 0;
    while sent < 4_000 && blocked < 4 {
        match hostile.write_all(&frame) {
            Ok(()) => sent += 1,
            Err(_) => blocked += 1,
        }
    }
    // A window of 3 s for the broker to do what the peer asked, the witness asking meanwhile.
    let mut during = Vec::new();
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(3) {
        during.push(rt.block_on(witness_round_trip(&witness)));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Release);
    let peak = peak.join().unwrap();
    let grown_mib = peak.saturating_sub(base) / 1024;
    let slowest = |v: &[Duration]| v.iter().max().copied().unwrap();
    println!(
        "non-reading peer: {sent} pulls written, blocked {blocked}x, RssAnon {} → peak {} MiB; \
         witness slowest before {:?}, during {:?}",
        base / 1024,
        peak / 1024,
        slowest(&before),
        slowest(&during)
    );
    assert!(
        grown_mib < 64,
        "RssAnon grew by {grown_mib} MiB for a peer that reads nothing ({sent} pulls written)"
    );
    // "No latency change", with room for a loaded machine: the witness's slowest round trip
    // stays far below what waiting behind the hostile peer's answers would cost.
    assert!(
        slowest(&during) < Duration::from_millis(500).max(slowest(&before) * 10),
        "the witness slowed down: {during:?} (before: {before:?})"
    );
    drop(hostile);
    rt.block_on(witness_round_trip(&witness));
}

/// Garbage frames (random bytes, bad header lengths) and frames claiming more than 16 MiB:
/// each closes its own connection at once (Java's NettyDecoder closes the channel on a
/// decoding error or a TooLongFrameException); the broker stays up and serves the others.
#[test]
fn garbage_and_oversized_frames_close_only_their_connections() {
    let dir = temp_dir("hostile-garbage");
    let port = free_port_pair();
    let mut broker = start_broker(dir.path(), port, None, "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let witness = rt.block_on(RemotingClient::connect(broker.addr())).unwrap();
    let base = rss_anon_kib(broker.pid());
    let mut seed = 0x2545_F491_4F6C_DD1Du64 ^ std::process::id() as u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut open = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(broker.addr()).unwrap();
        let frame: Vec<u8> = match i % 3 {
            // 16 MiB + 1 and beyond: refused on the length alone.
            0 => {
                let len = 16 * 1024 * 1024 + 1 + (random() % (1 << 30)) as u32;
                len.to_be_bytes().into_iter().chain([0, 0, 0, 1]).collect()
            }
            // A valid length, then random header bytes.
            1 => {
                let mut f = vec![0, 0, 0, 64, 0, 0, 0, 56];
                f.extend((0..60).map(|_| random() as u8));
                f
            }
            // Random bytes from the first one.
            _ => (0..256).map(|_| random() as u8).collect(),
        };
        let _ = s.write_all(&frame);
        open.push(s);
    }
    let mut unclosed = 0;
    for (i, s) in open.iter_mut().enumerate() {
        // Random bytes may read as a valid length and a header still to come; those wait.
        if i % 3 != 2 && !closed_within(s, Duration::from_secs(10)) {
            unclosed += 1;
        }
    }
    assert_eq!(unclosed, 0, "connections with bad frames left open");
    drop(open);
    rt.block_on(witness_round_trip(&witness));
    let grown_mib = rss_anon_kib(broker.pid()).saturating_sub(base) / 1024;
    assert!(grown_mib < 64, "RssAnon grew by {grown_mib} MiB");
    assert!(broker.terminate().success(), "clean stop after the flood");
}

/// 200 peers each announce a frame of just under 16 MiB (allowed) and then send one byte every
/// 50 ms. Nothing is reserved for bytes that have not come (Netty accumulates what arrives):
/// neither the broker's resident memory nor its data segment (VmData, what was allocated)
/// grows by 200 × 16 MiB, and the other clients are served meanwhile.
#[test]
fn peers_claiming_16_mib_and_trickling_bytes_hold_no_memory() {
    let dir = temp_dir("hostile-trickle");
    let port = free_port_pair();
    let broker = start_broker(dir.path(), port, None, "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let witness = rt.block_on(RemotingClient::connect(broker.addr())).unwrap();
    let base = rss_anon_kib(broker.pid());
    let data_base = proc_status_kib(broker.pid(), "VmData:");
    let stop = Arc::new(AtomicBool::new(false));
    let peak = sample_peak(broker.pid(), stop.clone());
    let claim = (16 * 1024 * 1024 - 4u32).to_be_bytes();
    let mut peers: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(broker.addr()).unwrap();
            s.write_all(&claim).unwrap();
            s
        })
        .collect();
    let trickled = Arc::new(AtomicUsize::new(0));
    for _ in 0..40 {
        for s in &mut peers {
            if s.write_all(&[0]).is_ok() {
                trickled.fetch_add(1, Ordering::Relaxed);
            }
        }
        rt.block_on(witness_round_trip(&witness));
        std::thread::sleep(Duration::from_millis(50));
    }
    let data_grown_mib = proc_status_kib(broker.pid(), "VmData:").saturating_sub(data_base) / 1024;
    stop.store(true, Ordering::Release);
    let peak = peak.join().unwrap();
    let grown_mib = peak.saturating_sub(base) / 1024;
    println!(
        "200 trickling 16 MiB claims, {} bytes trickled: RssAnon {} → peak {} MiB, VmData +{} MiB",
        trickled.load(Ordering::Relaxed),
        base / 1024,
        peak / 1024,
        data_grown_mib
    );
    assert!(
        data_grown_mib < 512,
        "VmData grew by {data_grown_mib} MiB: buffers reserved for announced frames"
    );
    assert!(
        grown_mib < 64,
        "RssAnon grew by {grown_mib} MiB for 200 announced 16 MiB frames"
    );
    drop(peers);
    rt.block_on(witness_round_trip(&witness));
}

/// 20 connections send 250 heartbeats each, as fast as answers come, each heartbeat with a new
/// client id and producer group: every one is answered SUCCESS, the witness is served, and the
/// memory per registered client stays small.
#[test]
fn heartbeat_storm_is_answered_without_starving_others() {
    let dir = temp_dir("hostile-heartbeat");
    let port = free_port_pair();
    let broker = start_broker(dir.path(), port, None, "");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let addr: SocketAddr = broker.addr();
    let base = rss_anon_kib(broker.pid());
    let (answered, slowest) = rt.block_on(async move {
        let witness = RemotingClient::connect(addr).await.unwrap();
        let mut storm = Vec::new();
        for c in 0..20 {
            storm.push(tokio::spawn(async move {
                let client = RemotingClient::connect(addr).await.unwrap();
                let mut ok = 0;
                for i in 0..250 {
                    let body = format!(
                        "{{\"clientID\":\"storm-{c}-{i}\",\"consumerDataSet\":[],\
                         \"producerDataSet\":[{{\"groupName\":\"StormGroup{c}x{i}\"}}]}}"
                    );
                    let hb = RemotingCommand::request_without_header(request::HEART_BEAT)
                        .with_body(Bytes::from(body));
                    let answer = client.invoke(hb, TIMEOUT).await.unwrap();
                    assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
                    ok += 1;
                }
                ok
            }));
        }
        let mut slowest = Duration::ZERO;
        while storm.iter().any(|t| !t.is_finished()) {
            slowest = slowest.max(witness_round_trip(&witness).await);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut answered = 0;
        for t in storm {
            answered += t.await.unwrap();
        }
        (answered, slowest)
    });
    let grown_kib = rss_anon_kib(broker.pid()).saturating_sub(base);
    println!(
        "heartbeat storm: {answered} answered, witness slowest {slowest:?}, RssAnon +{} KiB",
        grown_kib
    );
    assert_eq!(answered, 5_000);
    assert!(
        slowest < Duration::from_secs(2),
        "witness waited {slowest:?}"
    );
    // 5,000 producer registrations: well under 10 KiB each.
    assert!(grown_kib < 50 * 1024, "RssAnon grew by {grown_kib} KiB");
}

/// Java's `IdleStateHandler(0, 0, serverChannelMaxIdleTimeSeconds)`: a connection with nothing
/// read and no write completed for that long is closed (`ALL_IDLE`). Here 2 s: a silent peer
/// is closed; a peer that pipelines pulls and reads nothing is closed too (its reading paused,
/// its answers unwritable); a client that keeps asking is never closed.
#[test]
fn idle_and_non_reading_peers_are_closed_as_java() {
    let dir = temp_dir("hostile-idle");
    let port = free_port_pair();
    let broker = start_broker(
        dir.path(),
        port,
        None,
        "serverChannelMaxIdleTimeSeconds=2\n",
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let active = rt.block_on(async {
        let client = RemotingClient::connect(broker.addr()).await.unwrap();
        for i in 0..16u8 {
            let header = common::send_v2_header("IdleBig", 0, "");
            let send = RemotingCommand::request(request::SEND_MESSAGE_V2, &header)
                .with_body(Bytes::from(vec![i; 64 * 1024]));
            let answer = client.invoke(send, TIMEOUT).await.unwrap();
            assert_eq!(answer.code, response::SUCCESS, "{:?}", answer.remark);
        }
        client
    });

    let mut silent = TcpStream::connect(broker.addr()).unwrap();
    let frame = pull(&pull_header("IdleBig", 0, 0, FLAG_SUBSCRIPTION)).to_frame();
    let mut hostile = TcpStream::connect(broker.addr()).unwrap();
    hostile
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Pipelined pulls until the writes block (the broker stopped reading this peer).
    let mut sent = 0;
    while sent < 4_000 && hostile.write_all(&frame).is_ok() {
        sent += 1;
    }

    // The active client asks every 300 ms for 6 s, three times the idle limit: it is never
    // closed, every request is answered.
    let window = Instant::now();
    while window.elapsed() < Duration::from_secs(6) {
        rt.block_on(witness_round_trip(&active));
        std::thread::sleep(Duration::from_millis(300));
    }

    assert!(
        closed_within(&mut silent, Duration::from_secs(60)),
        "a silent connection stayed open past serverChannelMaxIdleTimeSeconds"
    );
    // The broker's close of a connection whose requests it left unread resets it: a write
    // then fails with something other than a timeout.
    let deadline = Instant::now() + Duration::from_secs(60);
    let closed = loop {
        match hostile.write(&frame) {
            Err(e)
                if e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut =>
            {
                break true
            }
            _ if Instant::now() > deadline => break false,
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert!(
        closed,
        "a peer that never reads ({sent} pulls) was never closed"
    );
    rt.block_on(witness_round_trip(&active));
}
