//! Decoding a PULL_MESSAGE response body: 32 records with 1 KiB bodies and the properties a
//! 4.9.8 producer and broker leave on a message.

use std::hint::black_box;
use std::net::SocketAddr;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use remoting_codec::message::ids::MessageClientIdSetter;
use remoting_codec::message::record::encode_records;
use remoting_codec::message::{decode_records, MessageProperties, StoredMessage};

fn pull_body() -> Bytes {
    let born: SocketAddr = "127.0.0.1:51230".parse().unwrap();
    let store: SocketAddr = "127.0.0.1:10911".parse().unwrap();
    let now = 1_795_241_991_318;
    let mut ids = MessageClientIdSetter::new(born.ip(), 92_198, 0x5FFD2B27, now, 0);
    let mut offset = 0i64;
    let messages: Vec<StoredMessage> = (0..32)
        .map(|i| {
            let mut properties = MessageProperties::new();
            properties.insert("KEYS", format!("ORDER-{i} USER-{}", i * 7));
            properties.insert("idx", i.to_string());
            properties.insert("UNIQ_KEY", ids.create_uniq_id(now + i));
            properties.insert("WAIT", "true");
            properties.insert("TAGS", if i % 2 == 0 { "TagA" } else { "TagB" });
            properties.insert("CLUSTER", "DefaultCluster");
            let msg = StoredMessage {
                queue_id: 1,
                queue_offset: i,
                commit_log_offset: offset,
                born_timestamp: now + i,
                born_host: born,
                store_timestamp: now + i + 3,
                store_host: store,
                body: Bytes::from(vec![b'x'; 1024]),
                topic: "BenchTopic".into(),
                properties,
                ..StoredMessage::default()
            };
            offset += msg.encoded_len() as i64;
            msg
        })
        .collect();
    encode_records(&messages).unwrap()
}

fn bench(c: &mut Criterion) {
    let body = pull_body();
    let mut group = c.benchmark_group("pull_decode");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("32x1KiB", |b| {
        b.iter(|| {
            let msgs: Vec<StoredMessage> = decode_records(black_box(&body))
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(msgs.len(), 32);
            msgs
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
