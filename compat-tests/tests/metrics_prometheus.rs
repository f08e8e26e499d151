//! Issue 17's metrics proof: our broker's Prometheus exporter (`metricsExporterType=PROM`)
//! scraped while crates.io rocketmq-client-rust produces and push-consumes; see
//! `compat_tests::prometheus::metrics_follow_a_produce_and_consume_run`.

use compat_tests::prometheus;
use compat_tests::Clients::RocketmqRust;

#[test]
fn prometheus_metrics_count_what_the_rust_client_sent_and_consumed() {
    prometheus::metrics_follow_a_produce_and_consume_run(RocketmqRust, "metrics-prom", 2000);
}
