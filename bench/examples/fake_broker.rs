//! The end-to-end tests' in-memory fake broker as a process, started like the real one
//! (`-c broker.conf`; reads listenPort, namesrvAddr, brokerName, brokerClusterName,
//! brokerIP1). `RMQ_BENCH_FAKE_BROKER=1 scripts/bench` uses it to test the script and the
//! generator without the real broker. It keeps every message in memory: short runs only.

#[path = "../tests/support/fake_broker.rs"]
mod fake_broker;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use remoting_codec::protocol::properties_text;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let conf = match args.iter().position(|a| a == "-c") {
        Some(i) => args.get(i + 1).ok_or("-c needs a file")?,
        None => return Err("usage: fake_broker -c broker.conf".into()),
    };
    let text = std::fs::read_to_string(conf).map_err(|e| format!("{conf}: {e}"))?;
    let pairs = properties_text::parse(&text).map_err(|e| format!("{conf}: {e}"))?;
    let props: BTreeMap<String, String> = properties_text::to_map(&pairs);
    let get = |k: &str, default: &str| props.get(k).cloned().unwrap_or_else(|| default.to_owned());
    let ip = get("brokerIP1", "127.0.0.1");
    let port = get("listenPort", "10911");
    let listen: SocketAddr = format!("{ip}:{port}")
        .parse()
        .map_err(|e| format!("listen address: {e}"))?;
    let namesrv_list = get("namesrvAddr", "127.0.0.1:9876");
    let namesrv: SocketAddr = namesrv_list
        .split(';')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("namesrvAddr: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let broker = fake_broker::FakeBroker::start(
            listen,
            namesrv,
            &get("brokerClusterName", "DefaultCluster"),
            &get("brokerName", "broker-a"),
        )
        .await;
        eprintln!("fake broker listening on {}", broker.addr);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| e.to_string())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        drop(broker);
        Ok(())
    })
}
