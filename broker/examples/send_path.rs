//! The broker's send path in one process, for instruction counts (`scripts/bench-callgrind`,
//! which runs it under valgrind's callgrind; wall-clock figures are too noisy on a shared
//! machine to see a few percent).
//!
//! `send_path TOTAL PROCESSED [SIZE]`: builds TOTAL SEND_MESSAGE_V2 frames as a Java producer
//! sends them (TAGS, KEYS, WAIT=true, UNIQ_KEY; SIZE-byte bodies, default 128) into one wire
//! buffer, then takes the first PROCESSED through the broker as a connection's reader does:
//! decode the frame, run the broker's processor (the routing table, the send handler, the
//! store's append under the put lock, the dispatch to the consume queue and index), encode the
//! response. The topic is created from TBW102 by the first send. It waits for the dispatch to
//! finish, shuts the store down and removes its temporary directory.
//!
//! Everything but the PROCESSED frames' trip is the same for every PROCESSED, so the
//! difference of two runs' instruction counts divided by the difference of their PROCESSED is
//! the instructions per message of the path, every thread included (the store's dispatch
//! thread too). ASYNC_FLUSH, as the send benchmarks' main case.

use std::sync::Arc;

use broker::config::LoadedConfig;
use broker::controller::BrokerController;
use broker::processor::BrokerProcessor;
use bytes::{Bytes, BytesMut};
use remoting::{Connection, RequestProcessor};
use remoting_codec::code::{request, response};
use remoting_codec::message::MessageProperties;
use remoting_codec::protocol::send::SendMessageRequestHeaderV2;
use remoting_codec::{RemotingCodec, RemotingCommand, DEFAULT_MAX_FRAME_LENGTH};
use tokio_util::codec::{Decoder, Encoder};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |i: usize, default: usize| {
        args.get(i)
            .map(|a| a.parse::<usize>().expect("a number"))
            .unwrap_or(default)
    };
    let total = number(1, 2000);
    let processed = number(2, total).min(total);
    let size = number(3, 128);

    let dir = std::env::temp_dir().join(format!("rocketmq-rs-send-path-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "brokerName=send-path\nstorePathRootDir={}\nlistenPort=10911\nautoCreateTopicEnable=true\nflushDiskType=ASYNC_FLUSH\n",
        dir.display()
    );
    let ctrl = Arc::new(BrokerController::new(LoadedConfig::from_text(&conf).unwrap()).unwrap());
    let processor = BrokerProcessor::new(ctrl.clone(), false);

    let mut codec = RemotingCodec::new(DEFAULT_MAX_FRAME_LENGTH);
    let mut wire = BytesMut::new();
    let body = Bytes::from(vec![b'x'; size]);
    for i in 0..total {
        codec.encode(frame(i, body.clone()), &mut wire).unwrap();
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // A real socket pair, so the handlers see a connection as they do in the server.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let conn: Arc<Connection> =
            Connection::spawn(server_side, DEFAULT_MAX_FRAME_LENGTH, |_, _| {});
        let mut out = BytesMut::with_capacity(1 << 16);
        for _ in 0..processed {
            let req = codec.decode(&mut wire).unwrap().expect("a whole frame");
            let resp = processor
                .process(&conn, req)
                .await
                .unwrap()
                .expect("an answer");
            assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
            codec.encode(resp, &mut out).unwrap();
            if out.len() > 1 << 15 {
                out.clear();
            }
        }
        conn.close();
    });
    ctrl.store.wait_dispatched().unwrap();
    ctrl.store.shutdown().unwrap();
    drop(runtime);
    let _ = std::fs::remove_dir_all(&dir);
    println!("send_path: {processed} of {total} frames of {size} B answered SUCCESS");
}

/// Message `i` as `DefaultMQProducerImpl.sendKernelImpl` sends it.
fn frame(i: usize, body: Bytes) -> RemotingCommand {
    let mut props = MessageProperties::new();
    props.insert("TAGS", "TagA");
    props.insert("KEYS", format!("key-{i}"));
    props.insert("WAIT", "true");
    props.insert("UNIQ_KEY", format!("7F000001{:08X}{:016X}", 4242, i));
    let header = SendMessageRequestHeaderV2 {
        producer_group: "send_path_producer".to_owned(),
        topic: "send_path".to_owned(),
        default_topic: "TBW102".to_owned(),
        default_topic_queue_nums: 4,
        queue_id: (i % 4) as i32,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000 + i as i64,
        flag: 0,
        properties: Some(props.encode()),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: None,
    };
    let mut req = RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(body);
    req.opaque = i as i32;
    req
}
