//! `broker`: the Broker binary, started like Java's `mqbroker`.
//!
//! `broker -c broker.conf [-n namesrvAddr] [-p] [-m]`. Settings: Java's defaults, then the `-c`
//! file (Java's broker.conf keys; unknown keys are logged and ignored), then `-n`. `-p` prints
//! the effective settings and exits, `-m` only Java's `@ImportantField` ones. A conf asking for
//! DLedger (`enableDLegerCommitLog=true`) is refused: there is no DLedger commitlog yet.
//! Logs go to stderr, or to Java's files under `ROCKETMQ_LOG_ROOT` (the `logging` crate; the
//! `bin/mqbroker` launcher sets it). SIGTERM or Ctrl-C stops it cleanly: UNREGISTER_BROKER,
//! config files and store flushed, no `abort` file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use broker::config::LoadedConfig;
use broker::controller::BrokerController;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "mqbroker", about = "RocketMQ-compatible Broker")]
struct Args {
    /// Broker config properties file (Java's broker.conf keys).
    #[arg(short = 'c', long = "configFile")]
    config_file: Option<PathBuf>,
    /// Print all config items and exit.
    #[arg(short = 'p', long = "printConfigItem")]
    print_config_item: bool,
    /// Name server address list, e.g. '192.168.0.1:9876;192.168.0.2:9876' (overrides the file).
    #[arg(short = 'n', long = "namesrvAddr")]
    namesrv_addr: Option<String>,
    /// Print important config items (Java's `@ImportantField`s) and exit.
    #[arg(short = 'm', long = "printImportantConfig")]
    print_important_config: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _log_guard = match logging::LogSettings::from_env()
        .and_then(|settings| logging::init(logging::Service::Broker, &settings))
    {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("broker: {e}");
            return ExitCode::from(255);
        }
    };
    let loaded = match load(&args) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("broker: {e}");
            return ExitCode::from(255);
        }
    };
    if args.print_config_item {
        print!("{}", loaded.print_effective());
        return ExitCode::SUCCESS;
    }
    if args.print_important_config {
        print!("{}", loaded.print_important());
        return ExitCode::SUCCESS;
    }
    if let Err(e) = loaded.refuse_unsupported() {
        eprintln!("broker: {e}");
        tracing::error!("{e}");
        return ExitCode::from(255);
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker: cannot start the runtime: {e}");
            return ExitCode::from(255);
        }
    };
    runtime.block_on(run(loaded))
}

/// The async runtime: one worker thread fewer than the machine has cores (at least one), unless
/// `TOKIO_WORKER_THREADS` says otherwise. A request runs on its connection's reader task, so a
/// worker rarely hands work to another; the store's threads (group commit, flushes, the dispatch
/// backstop) and, on a small machine, the clients need the remaining core. Measured on 2 cores
/// (issue 13, `scripts/bench`): one worker instead of two gave +25 % async and up to +60 %
/// SYNC_FLUSH sends at the same CPU per message, and the same consume rate.
/// A lone synchronous sender is 1.16-1.19× main's SYNC_FLUSH rate on a quiet machine; with the
/// cores oversubscribed (busy loops beside) its rate moves up to 10× from round to round for
/// either build or worker count, so no difference there is measurable (issue 13).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        builder.worker_threads(cores.saturating_sub(1).max(1));
    }
    builder.build()
}

fn load(args: &Args) -> Result<LoadedConfig, String> {
    let mut loaded = match &args.config_file {
        Some(file) => {
            let loaded = LoadedConfig::load_file(file).map_err(|e| e.to_string())?;
            println!("load config properties file OK, {}", file.display());
            loaded
        }
        None => LoadedConfig::default(),
    };
    if let Some(addr) = &args.namesrv_addr {
        loaded.set("namesrvAddr", addr);
        loaded.check().map_err(|e| e.to_string())?;
    }
    Ok(loaded)
}

async fn run(loaded: LoadedConfig) -> ExitCode {
    // Opening the store recovers it (disk reads): off the async threads.
    let controller = match tokio::task::spawn_blocking(move || BrokerController::new(loaded)).await
    {
        Ok(Ok(c)) => Arc::new(c),
        Ok(Err(e)) => {
            tracing::error!("{e}");
            return ExitCode::from(255);
        }
        Err(e) => {
            tracing::error!("broker start failed: {e}");
            return ExitCode::from(255);
        }
    };
    let bound = match broker::startup::bind(controller.clone()).await {
        Ok(bound) => bound,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::from(253);
        }
    };
    let running = bound.start().await;
    let config = &controller.broker_config;
    println!(
        "The broker[{}, {}] boot success. serializeType=JSON and name server is {}",
        config.broker_name,
        controller.broker_addr(),
        config.namesrv_addr.as_deref().unwrap_or("")
    );
    running.run_until(shutdown_signal()).await;
    tracing::info!("broker shut down");
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
