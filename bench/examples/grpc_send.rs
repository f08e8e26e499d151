//! Send load over the broker's gRPC endpoint (5.x `SendMessage`), to compare with `rmq-bench
//! send` (remoting) on the same broker: N senders, each with one SendMessage in flight (as the
//! official clients' sync send), one HTTP/2 connection shared by all (as one client instance),
//! `--size` bytes of body; after `--warmup` s, `--duration` s measured: messages per second,
//! latency quantiles and, with `--broker-pid`, the broker's CPU µs per message.
//!
//! cargo run --release -p bench --example grpc_send -- --endpoints 127.0.0.1:8081 \
//!     --topic T --concurrency 16 --size 128 --duration 10 --broker-pid PID

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::proc_stats;
use bytes::Bytes;
use clap::Parser;
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::{Code, Message, MessageType, Resource, SendMessageRequest, SystemProperties};
use hdrhistogram::Histogram;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    endpoints: String,
    #[arg(long, default_value = "rmq_bench")]
    topic: String,
    #[arg(short = 'c', long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 128)]
    size: usize,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long)]
    broker_pid: Option<u32>,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", args.endpoints))
        .expect("endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    let body = Bytes::from(vec![b'x'; args.size]);
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3).unwrap()));
    let mut tasks = Vec::new();
    for sender in 0..args.concurrency {
        let mut client = MessagingServiceClient::new(channel.clone());
        let (topic, body) = (args.topic.clone(), body.clone());
        let (measuring, stop, sent, failed, hist) = (
            measuring.clone(),
            stop.clone(),
            sent.clone(),
            failed.clone(),
            hist.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut local = Histogram::<u64>::new(3).unwrap();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let m = Message {
                    topic: Some(Resource {
                        resource_namespace: String::new(),
                        name: topic.clone(),
                    }),
                    user_properties: Default::default(),
                    system_properties: Some(SystemProperties {
                        message_id: format!("{sender:08X}{seq:016X}"),
                        message_type: MessageType::Normal as i32,
                        ..Default::default()
                    }),
                    body: body.clone(),
                };
                let mut req = tonic::Request::new(SendMessageRequest { messages: vec![m] });
                req.metadata_mut()
                    .insert("x-mq-client-id", "grpc-bench".parse().unwrap());
                let begin = Instant::now();
                let ok = match client.send_message(req).await {
                    Ok(r) => r
                        .into_inner()
                        .status
                        .is_some_and(|s| s.code == Code::Ok as i32),
                    Err(_) => false,
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        sent.fetch_add(1, Ordering::Relaxed);
                        let _ = local.record(begin.elapsed().as_micros() as u64);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            hist.lock().unwrap().add(&local).unwrap();
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let cpu_before = args
        .broker_pid
        .map(|p| proc_stats::sample(p).expect("broker /proc"));
    measuring.store(true, Ordering::Relaxed);
    let begin = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = begin.elapsed().as_secs_f64();
    let cpu_after = args
        .broker_pid
        .map(|p| proc_stats::sample(p).expect("broker /proc"));
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let n = sent.load(Ordering::Relaxed);
    let h = hist.lock().unwrap();
    let cpu_us_per_msg = match (cpu_before, cpu_after) {
        (Some(b), Some(a)) if n > 0 => proc_stats::usage(&b, &a).cpu_secs * 1e6 / n as f64,
        _ => f64::NAN,
    };
    println!(
        "grpc send size={} c={}: {:.0} msg/s, p50 {} us, p99 {} us, broker CPU {:.1} us/msg, failed {}",
        args.size,
        args.concurrency,
        n as f64 / elapsed,
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        cpu_us_per_msg,
        failed.load(Ordering::Relaxed)
    );
}
