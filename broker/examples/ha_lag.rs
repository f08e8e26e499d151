//! Replication lag of a master/slave pair, measured from outside as an operator would: both
//! brokers' GET_BROKER_RUNTIME_INFO `commitLogMaxOffset` every 10 ms for `SECONDS`.
//!
//! Usage: ha_lag MASTER_ADDR SLAVE_ADDR SECONDS
//!
//! Prints one line: the largest and mean byte lag (master end − slave end) over the samples
//! taken once the master started growing, and the time lag — for each slave sample, for how
//! long the master has had more than the slave's end (0 when caught up; p50, p99, max in ms;
//! 10 ms resolution).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use remoting::RemotingClient;
use remoting_codec::fastjson;
use remoting_codec::protocol::KvTable;
use remoting_codec::RemotingCommand;

async fn max_offset(c: &RemotingClient) -> Option<i64> {
    let r = c
        .invoke(
            RemotingCommand::request_without_header(28),
            Duration::from_secs(3),
        )
        .await
        .ok()?;
    let kv: KvTable = fastjson::from_slice(&r.body).ok()?;
    kv.table.get("commitLogMaxOffset")?.parse().ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: ha_lag MASTER_ADDR SLAVE_ADDR SECONDS");
        std::process::exit(2);
    }
    let master: SocketAddr = args[1].parse().expect("master address");
    let slave: SocketAddr = args[2].parse().expect("slave address");
    let seconds: u64 = args[3].parse().expect("seconds");
    let m = RemotingClient::connect(master)
        .await
        .expect("connect master");
    let s = RemotingClient::connect(slave).await.expect("connect slave");
    let begin = Instant::now();
    // (time, master end) whenever the master's end changed.
    let mut history: Vec<(Instant, i64)> = Vec::new();
    let (mut max_bytes, mut sum_bytes, mut n) = (0i64, 0i128, 0u64);
    let mut time_lags: Vec<u128> = Vec::new();
    let mut last_master = -1;
    while begin.elapsed() < Duration::from_secs(seconds) {
        let (Some(mo), Some(so)) = (max_offset(&m).await, max_offset(&s).await) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let now = Instant::now();
        if mo != last_master {
            history.push((now, mo));
            last_master = mo;
        }
        if history.len() > 1 {
            let lag = (mo - so).max(0);
            max_bytes = max_bytes.max(lag);
            sum_bytes += lag as i128;
            n += 1;
            // How stale the slave's end is: since when the master has had more than it (0
            // when caught up).
            let lag_ms = if so >= mo {
                0
            } else {
                history
                    .iter()
                    .find(|(_, off)| *off > so)
                    .map_or(0, |(t, _)| now.duration_since(*t).as_millis())
            };
            time_lags.push(lag_ms);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    time_lags.sort_unstable();
    let q = |p: f64| {
        time_lags
            .get(((time_lags.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "lag_bytes_max={} lag_bytes_mean={} lag_ms_p50={} lag_ms_p99={} lag_ms_max={} samples={}",
        max_bytes,
        if n > 0 {
            (sum_bytes / n as i128) as i64
        } else {
            0
        },
        q(0.5),
        q(0.99),
        time_lags.last().copied().unwrap_or(0),
        n
    );
}
