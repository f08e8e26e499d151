//! Reads a topic's backlog over the broker's gRPC endpoint (PullMessage, batches of 32, every
//! queue in parallel from offset 0), to compare with `rmq-bench consume` (remoting pulls) on the
//! same broker: messages per second and, with `--broker-pid`, the broker's CPU µs per message.
//!
//! cargo run --release -p bench --example grpc_pull -- --endpoints 127.0.0.1:8081 \
//!     --topic T --max-messages 200000 --broker-pid PID

mod grpc_common;

use std::time::Instant;

use clap::Parser;
use grpc::v2::{pull_message_response::Content, Code, PullMessageRequest};
use grpc_common::{resource, Backlog};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    backlog: Backlog,
}

#[tokio::main]
async fn main() {
    let args = Args::parse().backlog;
    let (client, queues) = args.connect().await;
    let per_queue = args.max_messages / queues.len() as u64;
    let group = format!("grpc_pull_{}", std::process::id());
    let before = args.broker_cpu();
    let begin = Instant::now();
    let mut tasks = Vec::new();
    for q in queues {
        let mut client = client.clone();
        let group = group.clone();
        let batch = args.batch;
        tasks.push(tokio::spawn(async move {
            let (mut offset, mut got) = (0i64, 0u64);
            while got < per_queue {
                let req = PullMessageRequest {
                    group: resource(&group),
                    message_queue: Some(q.clone()),
                    offset,
                    batch_size: batch,
                    filter_expression: None,
                    long_polling_timeout: None,
                };
                let mut stream = client.pull_message(req).await.expect("pull").into_inner();
                let mut found = false;
                while let Some(item) = stream.message().await.expect("pull stream") {
                    match item.content {
                        Some(Content::Status(s)) => found = s.code == Code::Ok as i32,
                        Some(Content::Message(_)) => got += 1,
                        Some(Content::NextOffset(n)) => offset = n,
                        None => {}
                    }
                }
                if !found {
                    break;
                }
            }
            got
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("puller");
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let cpu = args.cpu_us_per_message(before, total);
    println!(
        "grpc pull batch={}: {total} messages in {elapsed:.2} s, {:.0} msg/s, broker CPU {cpu:.1} us/msg",
        args.batch,
        total as f64 / elapsed
    );
}
