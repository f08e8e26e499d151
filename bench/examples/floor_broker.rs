//! The floor of the send path on this machine (issue 13): what a broker that does nothing but
//! the unavoidable costs — receive the frames, copy each into a memory-mapped log, answer —
//! spends per message, measured with the same load generator and the same CPU accounting as
//! the real broker (`rmq-bench send --broker-pid`).
//!
//! It registers with the name server as a master holding the topic `rmq_bench` (8 queues), so
//! `rmq-bench send` finds it and creates nothing. Then every connection is served by one task
//! on a one-worker tokio runtime (the broker's layout on 2 cores): each read's complete frames
//! are handled in turn — the request's `opaque` is found in its JSON header by a byte search
//! (no header decoding), as many bytes as the broker's commitlog record of that message has
//! (the body and the record's other fields: computed from the connection's first message,
//! decoded once, as `calMsgLength` with the broker's `CLUSTER` property added; rmq-bench's
//! messages all have that shape) are copied into a 1 GiB sparse file mapped shared (as the
//! commitlog: the next file when one is full, the full one kept), and a
//! SEND_MESSAGE_V2 answer of the real broker's shape and size is written; the answers of one
//! read go out in one write. A thread msyncs the written range every 500 ms (ASYNC_FLUSH's
//! `flushIntervalCommitLog`). No routing, validation, message encoding, consume queue, index
//! or statistics: those are the broker's own work, and the difference to this floor is
//! what any change to them can save at most.
//!
//! Usage: `floor_broker NAMESRV_ADDR LISTEN_PORT STORE_DIR [--no-copy]`; `--no-copy`
//! leaves out the copy into the log (and the flush): the network and runtime alone.
//! `scripts/bench-floor` runs it beside the real broker.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use remoting_codec::code::{request, response};
use remoting_codec::message::record::{cal_msg_length, MessageVersion};
use remoting_codec::message::MessageProperties;
use remoting_codec::protocol::common::{TopicConfig, TopicConfigSerializeWrapper};
use remoting_codec::protocol::namesrv::RegisterBrokerRequestHeader;
use remoting_codec::protocol::register_broker::{body_crc32, RegisterBrokerBody};
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::RemotingCommand;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FILE_SIZE: usize = 1 << 30;
const TOPIC: &str = "rmq_bench";

/// The log: 1 GiB files mapped shared, written at `wrote` under the lock (the put lock).
struct Log {
    dir: PathBuf,
    inner: Mutex<LogFile>,
}

struct LogFile {
    index: usize,
    map: memmap2::MmapMut,
    wrote: usize,
    /// Up to where `map` has been msynced; moved by the flush thread.
    flushed: Arc<AtomicUsize>,
}

impl Log {
    fn open(dir: PathBuf) -> Log {
        let first = LogFile::create(&dir, 0);
        Log {
            dir,
            inner: Mutex::new(first),
        }
    }

    /// Copies `body`, then `rest` (the record's other bytes), at the end of the log.
    fn append(&self, body: &[u8], rest: &[u8]) {
        let len = body.len() + rest.len();
        let mut f = self.inner.lock().unwrap();
        if f.wrote + len > FILE_SIZE {
            // The full file stays, as the broker keeps its commitlog (72 h): deleting it would
            // hand its page cache straight back to the next file's pages, which the broker's
            // never get.
            *f = LogFile::create(&self.dir, f.index + 1);
        }
        let at = f.wrote;
        f.map[at..at + body.len()].copy_from_slice(body);
        f.map[at + body.len()..at + len].copy_from_slice(rest);
        f.wrote += len;
    }

    /// ASYNC_FLUSH: msync what was written since the last round.
    fn flush(&self) {
        let (ptr, from, to, flushed) = {
            let f = self.inner.lock().unwrap();
            let from = f.flushed.load(Ordering::Relaxed);
            (f.map.as_ptr() as usize, from, f.wrote, f.flushed.clone())
        };
        if to <= from {
            return;
        }
        let start = from & !4095;
        // SAFETY: [start, to) is inside the mapping; the file may be rolled meanwhile, and an
        // msync of a range that was unmapped fails with ENOMEM, which is ignored.
        unsafe {
            libc::msync(
                (ptr + start) as *mut libc::c_void,
                to - start,
                libc::MS_SYNC,
            );
        }
        flushed.store(to, Ordering::Relaxed);
    }
}

impl LogFile {
    fn create(dir: &std::path::Path, index: usize) -> LogFile {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join(index.to_string()))
            .expect("create log file");
        file.set_len(FILE_SIZE as u64).expect("size log file");
        // SAFETY: the file is ours alone and keeps its length while mapped.
        let map = unsafe { memmap2::MmapMut::map_mut(&file) }.expect("map log file");
        LogFile {
            index,
            map,
            wrote: 0,
            flushed: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// REGISTER_BROKER as a master holding `rmq_bench`, over a plain blocking socket, which the
/// caller keeps open: the name server forgets a broker whose registering connection closes.
fn register(namesrv: SocketAddr, addr: &str) -> TcpStream {
    let mut wrapper = TopicConfigSerializeWrapper::default();
    wrapper.data_version.counter = 1;
    wrapper.data_version.timestamp = 1;
    let mut topic = TopicConfig::new(TOPIC);
    topic.read_queue_nums = 8;
    topic.write_queue_nums = 8;
    wrapper.topic_config_table.insert(TOPIC.to_owned(), topic);
    let body = RegisterBrokerBody {
        filter_server_list: Vec::new(),
        topic_config_serialize_wrapper: wrapper,
    }
    .encode(false, remoting_codec::CURRENT_VERSION)
    .expect("encode registration");
    let header = RegisterBrokerRequestHeader {
        broker_name: "floor-broker".to_owned(),
        broker_addr: addr.to_owned(),
        cluster_name: "BenchCluster".to_owned(),
        ha_server_addr: addr.to_owned(),
        broker_id: 0,
        heartbeat_timeout_millis: None,
        enable_acting_master: None,
        compressed: false,
        body_crc32: body_crc32(&body),
    };
    let req = RemotingCommand::request(request::REGISTER_BROKER, &header).with_body(body);
    let mut wire = BytesMut::new();
    req.encode(&mut wire);
    let mut ns = TcpStream::connect(namesrv).expect("connect to the name server");
    ns.write_all(&wire).expect("send REGISTER_BROKER");
    let mut len = [0u8; 4];
    ns.read_exact(&mut len).expect("REGISTER_BROKER answer");
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    ns.read_exact(&mut frame).expect("REGISTER_BROKER answer");
    let resp = RemotingCommand::decode_frame(frame.into()).expect("decode REGISTER_BROKER answer");
    assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
    ns
}

/// The integer after `"name":` in a JSON header, by byte search.
fn json_int(header: &[u8], name: &[u8]) -> Option<i64> {
    let at = header.windows(name.len()).position(|w| w == name)? + name.len();
    let digits = &header[at..];
    let (neg, digits) = match digits.first() {
        Some(b'-') => (true, &digits[1..]),
        _ => (false, digits),
    };
    let mut v = 0i64;
    let mut n = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        v = v * 10 + (d - b'0') as i64;
        n += 1;
    }
    (n > 0).then_some(if neg { -v } else { v })
}

/// How many bytes the broker's commitlog record of this SEND_MESSAGE_V2 frame (without its
/// length field) has beyond the body.
fn record_overhead(frame: &[u8]) -> usize {
    let req = RemotingCommand::decode_frame(bytes::Bytes::copy_from_slice(frame))
        .expect("a SEND_MESSAGE_V2 frame");
    let header: SendMessageRequestHeaderV2 = req.decode_header().expect("its header");
    let mut props = MessageProperties::parse(header.properties.as_deref().unwrap_or(""));
    props.insert("CLUSTER", "BenchCluster");
    let record = cal_msg_length(
        MessageVersion::V1,
        header.sys_flag,
        req.body.len(),
        header.topic.len(),
        props.encode().len(),
    );
    record - req.body.len()
}

/// A SEND_MESSAGE_V2 answer with the real broker's fields (SendMessageResponseHeader and the
/// region ext fields), appended to `out`: the header is written in place and its two length
/// fields patched after, so a floor answer allocates nothing.
fn answer(out: &mut Vec<u8>, opaque: i64, queue_offset: u64) {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    write!(
        out,
        r#"{{"code":0,"extFields":{{"queueId":"0","MSG_REGION":"DefaultRegion","TRACE_ON":"true","msgId":"7F00000100002A9F{queue_offset:016X}","queueOffset":"{queue_offset}"}},"flag":1,"language":"JAVA","opaque":{opaque},"serializeTypeCurrentRPC":"JSON","version":0}}"#
    )
    .expect("writing to a Vec");
    let header_len = (out.len() - start - 8) as u32;
    out[start..start + 4].copy_from_slice(&(4 + header_len).to_be_bytes());
    out[start + 4..start + 8].copy_from_slice(&header_len.to_be_bytes());
}

async fn serve(mut stream: tokio::net::TcpStream, log: Option<Arc<Log>>, sent: Arc<AtomicUsize>) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    // The bytes of a record beyond its body (their content does not matter to the cost).
    let mut rest: Option<Vec<u8>> = None;
    loop {
        match stream.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        while buf.len() >= 8 {
            let total = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
            if buf.len() < 4 + total {
                break;
            }
            let header_len =
                (u32::from_be_bytes(buf[4..8].try_into().unwrap()) & 0xFF_FFFF) as usize;
            let frame = &buf[..4 + total];
            let header = &frame[8..(8 + header_len).min(frame.len())];
            let opaque = json_int(header, b"\"opaque\":").unwrap_or(0);
            let send = json_int(header, b"\"code\":") == Some(request::SEND_MESSAGE_V2 as i64);
            if let (Some(log), true) = (&log, send) {
                let rest = rest.get_or_insert_with(|| vec![0; record_overhead(&frame[4..])]);
                log.append(&frame[8 + header_len..], rest);
            }
            let n = sent.fetch_add(1, Ordering::Relaxed) as u64;
            answer(&mut out, opaque, n);
            buf.advance(4 + total);
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: floor_broker NAMESRV_ADDR LISTEN_PORT STORE_DIR [--no-copy]");
        std::process::exit(2);
    }
    let namesrv: SocketAddr = args[1].parse().expect("NAMESRV_ADDR");
    let port: u16 = args[2].parse().expect("LISTEN_PORT");
    let dir = PathBuf::from(&args[3]);
    let copy = !args.iter().any(|a| a == "--no-copy");
    std::fs::create_dir_all(&dir).expect("STORE_DIR");
    let log = copy.then(|| Arc::new(Log::open(dir)));
    if let Some(log) = log.clone() {
        std::thread::Builder::new()
            .name("FlushRealTimeService".into())
            .spawn(move || loop {
                std::thread::sleep(Duration::from_millis(500));
                log.flush();
            })
            .expect("flush thread");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let addr = format!("127.0.0.1:{port}");
        let _namesrv = tokio::task::spawn_blocking(move || register(namesrv, &addr))
            .await
            .expect("register");
        eprintln!("floor broker on port {port}, copy into the log: {copy}");
        let sent = Arc::new(AtomicUsize::new(0));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(serve(stream, log.clone(), sent.clone()));
        }
    });
}
