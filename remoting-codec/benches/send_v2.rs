//! The broker's per-message header work on the send path: a SEND_MESSAGE_V2 frame with a 1 KiB
//! body is decoded, its V2 header read and converted to V1, and the response (with
//! `SendMessageResponseHeader` and the MSG_REGION/TRACE_ON keys) is built and encoded.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use remoting_codec::code::request::SEND_MESSAGE_V2;
use remoting_codec::protocol::send::{
    add_send_response_ext_fields, SendMessageRequestHeader, SendMessageRequestHeaderV2,
    SendMessageResponseHeader, DEFAULT_REGION_ID,
};
use remoting_codec::{RemotingCodec, RemotingCommand};
use tokio_util::codec::{Decoder, Encoder};

fn request_frame() -> Bytes {
    let header = SendMessageRequestHeaderV2 {
        producer_group: "bench_producer_group".into(),
        topic: "BenchTopic".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 3,
        sys_flag: 0,
        born_timestamp: 1_795_241_991_318,
        flag: 0,
        properties: Some(
            "KEYS\u{1}KEY-0\u{2}UNIQ_KEY\u{1}7F0000016C265FFD2B27685AF4960000\u{2}WAIT\u{1}true\u{2}TAGS\u{1}TagA"
                .into(),
        ),
        reconsume_times: Some(0),
        unit_mode: false,
        max_reconsume_times: None,
        batch: false,
        broker_name: Some("broker-a".into()),
    };
    let mut cmd = RemotingCommand::request(SEND_MESSAGE_V2, &header).with_body(vec![b'x'; 1024]);
    cmd.opaque = 42;
    cmd.to_frame()
}

fn handle(codec: &mut RemotingCodec, frame: &Bytes, out: &mut BytesMut) {
    let mut input = BytesMut::from(&frame[..]);
    let request = codec.decode(&mut input).unwrap().unwrap();
    let v2: SendMessageRequestHeaderV2 = request.decode_header().unwrap();
    let v1 = SendMessageRequestHeader::from(v2);
    let mut response =
        RemotingCommand::response_to(&request, 0).with_header(&SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: v1.queue_id,
            queue_offset: 12_345,
            transaction_id: None,
            batch_uniq_id: None,
            recall_handle: None,
        });
    add_send_response_ext_fields(response.ext_fields_mut(), DEFAULT_REGION_ID, true);
    codec.encode(response, out).unwrap();
    black_box(&v1);
}

fn send_v2(c: &mut Criterion) {
    let frame = request_frame();
    let mut codec = RemotingCodec::default();
    let mut out = BytesMut::with_capacity(1024);
    let mut group = c.benchmark_group("send_v2");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode_v2_to_v1_and_encode_response", |b| {
        b.iter(|| {
            out.clear();
            handle(&mut codec, black_box(&frame), &mut out);
        })
    });
    group.finish();
}

criterion_group!(benches, send_v2);
criterion_main!(benches);
