//! The Prometheus endpoint of `metricsExporterType=PROM`: plain HTTP on
//! `metricsPromExporterHost:metricsPromExporterPort` (5557), as the OpenTelemetry
//! `PrometheusHttpServer` of a 5.x broker. `GET /metrics` (or `/`) answers the text of every
//! series ([`super::render`], computed at the scrape), anything else 404. One request per
//! connection; a request head over 8 KiB or slower than 10 s is dropped.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::controller::BrokerController;

/// OpenMetrics text, which Prometheus reads (prometheus-client writes it).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds the exporter's address (an error names it).
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("metrics exporter cannot listen on {addr}: {e}"),
        )
    })
}

/// Serves scrapes until the task is dropped.
pub async fn serve(listener: TcpListener, ctrl: Arc<BrokerController>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let ctrl = ctrl.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), answer(stream, ctrl)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, ctrl: Arc<BrokerController>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > 8192 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let response = if method == "GET" && (path == "/metrics" || path == "/") {
        let body = tokio::task::spawn_blocking(move || super::render(&ctrl, crate::now_millis()))
            .await
            .unwrap_or_default();
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    } else {
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned()
    };
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
