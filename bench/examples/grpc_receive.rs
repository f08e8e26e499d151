//! Reads a topic's backlog over the broker's gRPC endpoint as a 5.x SimpleConsumer does
//! (ReceiveMessage batches of 32 with a 60 s invisible time, each batch acked with one
//! AckMessage), `--parallel` receivers of one new group, to compare with `rmq-bench consume`
//! (remoting pulls) and `grpc_pull` on the same broker: messages per second and, with
//! `--broker-pid`, the broker's CPU µs per message (receive + ack). Every message must come
//! exactly once (a duplicate fails the run).
//!
//! cargo run --release -p bench --example grpc_receive -- --endpoints 127.0.0.1:8081 \
//!     --topic T --max-messages 200000 --broker-pid PID

mod grpc_common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser;
use grpc::v2::{
    receive_message_response::Content, AckMessageEntry, AckMessageRequest, Code, FilterExpression,
    FilterType, ReceiveMessageRequest,
};
use grpc_common::{resource, Backlog};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    backlog: Backlog,
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

#[tokio::main]
async fn main() {
    let Args {
        backlog: args,
        parallel,
    } = Args::parse();
    let (client, queues) = args.connect().await;
    let queue = queues[0].clone();
    let group = format!("grpc_receive_{}", std::process::id());
    let seen = Arc::new(Mutex::new(HashSet::new()));
    // The time of the last batch: the final empty receives (long polling) are not counted.
    let last = Arc::new(Mutex::new(Instant::now()));
    let before = args.broker_cpu();
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..parallel {
        let (mut client, group, queue, seen, last) = (
            client.clone(),
            group.clone(),
            queue.clone(),
            seen.clone(),
            last.clone(),
        );
        let (topic, batch, max) = (args.topic.clone(), args.batch, args.max_messages);
        tasks.push(tokio::spawn(async move {
            let mut empty = 0;
            while seen.lock().unwrap().len() < max as usize && empty < 2 {
                let req = ReceiveMessageRequest {
                    group: resource(&group),
                    message_queue: Some(queue.clone()),
                    filter_expression: Some(FilterExpression {
                        r#type: FilterType::Tag as i32,
                        expression: "*".into(),
                    }),
                    batch_size: batch,
                    invisible_duration: Some(grpc::convert::duration_of_millis(60_000)),
                    auto_renew: false,
                    long_polling_timeout: Some(grpc::convert::duration_of_millis(1000)),
                    attempt_id: None,
                };
                let mut stream = client
                    .receive_message(req)
                    .await
                    .expect("receive")
                    .into_inner();
                let mut entries = Vec::new();
                while let Some(item) = stream.message().await.expect("receive stream") {
                    match item.content {
                        Some(Content::Status(s)) if s.code != Code::Ok as i32 => {
                            assert_eq!(s.code, Code::MessageNotFound as i32, "{s:?}");
                        }
                        Some(Content::Message(m)) => {
                            let sys = m.system_properties.expect("system properties");
                            let key = (sys.queue_id, sys.queue_offset.unwrap_or(-1));
                            assert!(seen.lock().unwrap().insert(key), "received twice: {key:?}");
                            entries.push(AckMessageEntry {
                                message_id: sys.message_id,
                                receipt_handle: sys.receipt_handle.expect("a receipt handle"),
                            });
                        }
                        _ => {}
                    }
                }
                if entries.is_empty() {
                    empty += 1;
                    continue;
                }
                empty = 0;
                *last.lock().unwrap() = Instant::now();
                let r = client
                    .ack_message(AckMessageRequest {
                        group: resource(&group),
                        topic: resource(&topic),
                        entries,
                    })
                    .await
                    .expect("ack")
                    .into_inner();
                assert_eq!(r.status.map(|s| s.code), Some(Code::Ok as i32));
            }
        }));
    }
    for t in tasks {
        t.await.expect("receiver");
    }
    let total = seen.lock().unwrap().len() as u64;
    let elapsed = last.lock().unwrap().duration_since(begin).as_secs_f64();
    let cpu = args.cpu_us_per_message(before, total);
    println!(
        "grpc receive+ack batch={} parallel={}: {total} messages in {elapsed:.2} s, {:.0} msg/s, broker CPU {cpu:.1} us/msg",
        args.batch, parallel,
        total as f64 / elapsed
    );
}
