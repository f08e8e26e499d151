//! `namesrv`: the NameServer binary, started like Java's `mqnamesrv`.
//!
//! Settings come from Java's defaults (`$HOME/namesrv/…`, `$ROCKETMQ_HOME`), then the
//! `-c` properties file, then the flags below; `-p` prints the result and exits. Logs go to
//! stderr, or to Java's `namesrv.log` / `namesrv_default.log` under `ROCKETMQ_LOG_ROOT` (the
//! `logging` crate; the `bin/mqnamesrv` launcher sets it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use namesrv::config::{NamesrvConfig, ROCKETMQ_HOME_ENV};
use namesrv::Timing;

#[derive(Parser, Debug)]
#[command(name = "mqnamesrv", about = "RocketMQ-compatible NameServer")]
struct Args {
    /// Name server config properties file (Java's `namesrv.conf` keys).
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Print all config items and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config_item: bool,
    /// Accepted for compatibility with `mqnamesrv` (Java's common server option); unused.
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
    /// Port to listen on (`listenPort`, default 9876).
    #[arg(long = "listenPort", visible_alias = "listen-port")]
    listen_port: Option<u16>,
    /// Address to bind (default 0.0.0.0; not a config property, as 4.9.8 has none).
    #[arg(long = "bindAddress", visible_alias = "bind-address")]
    bind_address: Option<String>,
    /// RocketMQ installation directory (`rocketmqHome`, default $ROCKETMQ_HOME).
    #[arg(long = "rocketmqHome", visible_alias = "rocketmq-home")]
    rocketmq_home: Option<String>,
    /// Java's `user.home`: kvConfig.json and namesrv.properties go to <DIR>/namesrv/
    /// (default $HOME). A `kvConfigPath`/`configStorePath` in the -c file still wins.
    #[arg(long = "userHome", visible_alias = "user-home")]
    user_home: Option<PathBuf>,
    /// Broker expiry in milliseconds (Java: 120000). For tests.
    #[arg(long, hide = true)]
    broker_expiry_millis: Option<u64>,
    /// Expiry scan period in milliseconds (Java: 10000). For tests.
    #[arg(long, hide = true)]
    scan_interval_millis: Option<u64>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match effective_config(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("namesrv: {e}");
            return ExitCode::from(255);
        }
    };
    if args.print_config_item {
        print!("{}", config.to_properties_text());
        return ExitCode::SUCCESS;
    }
    let _log_guard = match logging::LogSettings::from_env()
        .and_then(|settings| logging::init(logging::Service::Namesrv, &settings))
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("namesrv: {e}");
            return ExitCode::from(255);
        }
    };
    if config.rocketmq_home().is_none() {
        tracing::warn!(
            "{} is not set (Java's mqnamesrv refuses to start without it; we do not need it)",
            ROCKETMQ_HOME_ENV
        );
    }
    if let Some(addr) = &args.namesrv_addr {
        tracing::info!(
            "-n {} ignored: a name server does not use namesrvAddr",
            addr
        );
    }
    let mut timing = Timing::default();
    if let Some(ms) = args.broker_expiry_millis {
        timing.broker_expiry = Duration::from_millis(ms);
    }
    if let Some(ms) = args.scan_interval_millis {
        timing.scan_interval = Duration::from_millis(ms.max(1));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("namesrv: cannot start the runtime: {e}");
            return ExitCode::from(255);
        }
    };
    runtime.block_on(run(config, timing))
}

fn effective_config(args: &Args) -> Result<NamesrvConfig, String> {
    let mut config = match &args.user_home {
        Some(home) => {
            NamesrvConfig::with_defaults(home, std::env::var(ROCKETMQ_HOME_ENV).ok().as_deref())
        }
        None => NamesrvConfig::from_env(),
    };
    if let Some(file) = &args.config_file {
        config.load_file(file)?;
        println!("load config properties file OK, {}", file.display());
    }
    if let Some(port) = args.listen_port {
        config.set("listenPort", &port.to_string());
    }
    if let Some(addr) = &args.bind_address {
        config.set_bind_address(addr);
    }
    if let Some(home) = &args.rocketmq_home {
        config.set("rocketmqHome", home);
    }
    config.listen_port()?;
    Ok(config)
}

async fn run(config: NamesrvConfig, timing: Timing) -> ExitCode {
    for (k, v) in config.entries() {
        tracing::info!("{}={}", k, v);
    }
    let bound = match namesrv::bind(config, timing).await {
        Ok(bound) => bound,
        Err(e) => {
            tracing::error!("{}", e);
            return ExitCode::from(253);
        }
    };
    let addr = bound
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("The Name Server boot success. serializeType=JSON, listening on {addr}");
    bound.serve(shutdown_signal()).await;
    tracing::info!("name server shut down");
    ExitCode::SUCCESS
}

/// SIGTERM (what `mqshutdown` and service managers send) or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot watch SIGTERM: {}", e);
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
    }
}
