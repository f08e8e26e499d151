//! Reads a topic's backlog over the broker's gRPC endpoint (PullMessage, batches of 32, every
//! queue in parallel from offset 0), to compare with `rmq-bench consume` (remoting pulls) on the
//! same broker: messages per second and, with `--broker-pid`, the broker's CPU µs per message.
//!
//! cargo run --release -p bench --example grpc_pull -- --endpoints 127.0.0.1:8081 \
//!     --topic T --max-messages 200000 --broker-pid PID

use std::time::Instant;

use bench::proc_stats;
use clap::Parser;
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::{
    pull_message_response::Content, Code, PullMessageRequest, QueryRouteRequest, Resource,
};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    endpoints: String,
    #[arg(long, default_value = "rmq_bench")]
    topic: String,
    #[arg(long, default_value_t = 200_000)]
    max_messages: u64,
    #[arg(long, default_value_t = 32)]
    batch: i32,
    #[arg(long)]
    broker_pid: Option<u32>,
}

fn resource(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let mut client = MessagingServiceClient::connect(format!("http://{}", args.endpoints))
        .await
        .expect("connect");
    let route = client
        .query_route(QueryRouteRequest {
            topic: resource(&args.topic),
            endpoints: None,
        })
        .await
        .expect("route")
        .into_inner();
    let queues = route.message_queues;
    assert!(!queues.is_empty(), "no queues for {}", args.topic);
    let per_queue = args.max_messages / queues.len() as u64;
    let group = format!("grpc_pull_{}", std::process::id());
    let before = args
        .broker_pid
        .map(|p| proc_stats::sample(p).expect("broker /proc"));
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
    let after = args
        .broker_pid
        .map(|p| proc_stats::sample(p).expect("broker /proc"));
    let cpu = match (before, after) {
        (Some(b), Some(a)) if total > 0 => proc_stats::usage(&b, &a).cpu_secs * 1e6 / total as f64,
        _ => f64::NAN,
    };
    println!(
        "grpc pull batch={}: {total} messages in {elapsed:.2} s, {:.0} msg/s, broker CPU {cpu:.1} us/msg",
        args.batch,
        total as f64 / elapsed
    );
}
