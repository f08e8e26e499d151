//! Hostile peers against the namesrv binary: garbage frames, frames announcing more than
//! 16 MiB (closed at once, as Java's NettyDecoder closes the channel), peers announcing just
//! under 16 MiB and trickling bytes, and a peer pipelining route lookups without reading the
//! answers. The name server stays up, answers a well-behaved client throughout, and neither
//! its resident memory nor its allocations grow with what the peers announce or ask.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::namesrv::GetRouteInfoRequestHeader;
use remoting_codec::RemotingCommand;

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn route_lookup() -> RemotingCommand {
    RemotingCommand::request(
        request::GET_ROUTEINFO_BY_TOPIC,
        &GetRouteInfoRequestHeader {
            topic: "NoSuchTopic".into(),
            accept_standard_json_only: None,
        },
    )
}

async fn witness(client: &RemotingClient) -> Duration {
    let started = Instant::now();
    let answer = client
        .invoke(route_lookup(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(answer.code, response::TOPIC_NOT_EXIST);
    started.elapsed()
}

fn closed_within(stream: &mut TcpStream, deadline: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let until = Instant::now() + deadline;
    let mut buf = [0u8; 1024];
    while Instant::now() < until {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[test]
fn namesrv_survives_garbage_oversized_trickling_and_non_reading_peers() {
    let home = common::temp_home("hostile");
    let mut namesrv = common::start_namesrv(&home, &[]);
    let pid = namesrv.pid().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(RemotingClient::connect(namesrv.addr)).unwrap();
    let before = rt.block_on(witness(&client));
    let (rss_base, data_base) = (status_kib(pid, "RssAnon:"), status_kib(pid, "VmData:"));

    // Garbage and > 16 MiB announcements: each connection closed.
    for i in 0..200u32 {
        let mut s = TcpStream::connect(namesrv.addr).unwrap();
        let frame: Vec<u8> = if i % 2 == 0 {
            (16 * 1024 * 1024 + 1 + i * 4099)
                .to_be_bytes()
                .into_iter()
                .chain([0, 0, 0, 1])
                .collect()
        } else {
            let mut f = vec![0, 0, 0, 40, 0, 0, 0, 36];
            f.extend((0..36).map(|j| (i * 31 + j * 7) as u8));
            f
        };
        s.write_all(&frame).unwrap();
        assert!(
            closed_within(&mut s, Duration::from_secs(10)),
            "bad frame {i} left its connection open"
        );
    }

    // 200 announced frames of just under 16 MiB, trickled a byte at a time.
    let mut tricklers: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(namesrv.addr).unwrap();
            s.write_all(&(16 * 1024 * 1024 - 4u32).to_be_bytes())
                .unwrap();
            s
        })
        .collect();

    // A peer pipelining route lookups and reading nothing.
    let mut greedy = TcpStream::connect(namesrv.addr).unwrap();
    greedy
        .set_write_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let lookup = route_lookup().to_frame();
    let mut written = 0;
    for _ in 0..20_000 {
        if greedy.write_all(&lookup).is_err() {
            break;
        }
        written += 1;
    }

    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        for s in &mut tricklers {
            let _ = s.write_all(&[0]);
        }
        slowest = slowest.max(rt.block_on(witness(&client)));
        std::thread::sleep(Duration::from_millis(50));
    }
    let rss_grown = status_kib(pid, "RssAnon:").saturating_sub(rss_base) / 1024;
    let data_grown = status_kib(pid, "VmData:").saturating_sub(data_base) / 1024;
    println!(
        "namesrv: {written} unread lookups, witness {before:?} → slowest {slowest:?}, \
         RssAnon +{rss_grown} MiB, VmData +{data_grown} MiB"
    );
    assert!(rss_grown < 64, "RssAnon grew by {rss_grown} MiB");
    assert!(data_grown < 512, "VmData grew by {data_grown} MiB");
    assert!(
        slowest < Duration::from_secs(2),
        "witness waited {slowest:?}"
    );
    drop((tricklers, greedy));
    rt.block_on(witness(&client));
    assert!(namesrv.terminate().success());
}
