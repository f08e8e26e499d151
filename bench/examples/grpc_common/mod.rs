//! What the gRPC read benchmarks (`grpc_pull`, `grpc_receive`) share: the arguments naming the
//! broker, topic and backlog, the client and the topic's route, and the broker's CPU µs per
//! message over the read.

use bench::proc_stats::{self, ProcSample};
use clap::Args;
use grpc::v2::messaging_service_client::MessagingServiceClient;
use grpc::v2::{MessageQueue, QueryRouteRequest, Resource};
use tonic::transport::Channel;

/// The broker's gRPC endpoint, the topic whose backlog is read, and how much of it.
#[derive(Args, Debug)]
pub struct Backlog {
    #[arg(long)]
    pub endpoints: String,
    #[arg(long, default_value = "rmq_bench")]
    pub topic: String,
    #[arg(long, default_value_t = 200_000)]
    pub max_messages: u64,
    #[arg(long, default_value_t = 32)]
    pub batch: i32,
    #[arg(long)]
    pub broker_pid: Option<u32>,
}

impl Backlog {
    /// A client of the endpoint and the topic's queues (QueryRoute).
    pub async fn connect(&self) -> (MessagingServiceClient<Channel>, Vec<MessageQueue>) {
        let mut client = MessagingServiceClient::connect(format!("http://{}", self.endpoints))
            .await
            .expect("connect");
        let route = client
            .query_route(QueryRouteRequest {
                topic: resource(&self.topic),
                endpoints: None,
            })
            .await
            .expect("route")
            .into_inner();
        assert!(
            !route.message_queues.is_empty(),
            "no queues for {}",
            self.topic
        );
        (client, route.message_queues)
    }

    /// The broker's CPU now, to measure from (`None` without `--broker-pid`).
    pub fn broker_cpu(&self) -> Option<ProcSample> {
        self.broker_pid
            .map(|p| proc_stats::sample(p).expect("broker /proc"))
    }

    /// The broker's CPU µs per message since `before` (NaN without `--broker-pid`).
    pub fn cpu_us_per_message(&self, before: Option<ProcSample>, messages: u64) -> f64 {
        match (before, self.broker_cpu()) {
            (Some(b), Some(a)) if messages > 0 => {
                proc_stats::usage(&b, &a).cpu_secs * 1e6 / messages as f64
            }
            _ => f64::NAN,
        }
    }
}

/// A topic or group name in the default namespace.
pub fn resource(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_owned(),
    })
}
