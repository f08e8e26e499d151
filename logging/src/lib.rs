//! The servers' logs as Java RocketMQ writes them: one file per Java logger under
//! `${user.home}/logs/rocketmqlogs/`, or stderr for containers.
//!
//! Java (4.9.8 `distribution/conf/logback_broker.xml` and `logback_namesrv.xml`) sends each
//! named logger (`RocketmqBroker`, `RocketmqStore`, `RocketmqRemoting`, …) to its own file,
//! rolled by size (100 or 128 MB) into a window of 5 to 20 older files, and everything else
//! (the root logger) to `broker_default.log` / `namesrv_default.log`. Here a `tracing` event goes
//! to a file chosen from its target: a Java logger name used as an explicit target
//! (`tracing::info!(target: "RocketmqStats", …)`) or our module path (`store::…` is Java's store
//! module, `broker::transaction` the transaction logger, …): [`file_for`] is the whole mapping.
//!
//! Rotation is the `rolling-file` crate's (daily and by size, `broker.log.1` … `broker.log.N`,
//! oldest removed), written through `tracing-appender`'s non-blocking worker (Java's
//! `AsyncAppender`). Each file keeps at most `max_index` older files of at most
//! `max_file_size`, so the directory is capped at the sum of `(max_index + 1) × max_file_size`
//! over the files (Java's window of `%i` files). Java gzips the old files into `otherdays/`;
//! here they stay beside the live file, uncompressed.
//!
//! Settings ([`LogSettings::from_env`]): `ROCKETMQ_LOG_ROOT` (the directory; unset or `-`:
//! stderr, as the bare binaries always did; the `bin/mq*` launchers default it to Java's
//! `${user.home}/logs/rocketmqlogs`), `ROCKETMQ_LOG_LEVEL` (an `EnvFilter` directive; else
//! `RUST_LOG`; else `info`), `ROCKETMQ_LOG_MAX_FILE_SIZE` (bytes, or with a `KB`/`MB`/`GB`
//! suffix) and `ROCKETMQ_LOG_MAX_INDEX` (older files kept) override Java's per-file values.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

use rolling_file::{BasicRollingFileAppender, RollingConditionBasic};
use tracing::{Level, Metadata};
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::fmt::writer::{EitherWriter, MakeWriter, Tee};
use tracing_subscriber::EnvFilter;

/// Which server's logback file is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Namesrv,
    Broker,
}

/// One log file of Java's distribution: its name, Java's size limit and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogFile {
    pub name: &'static str,
    pub max_file_size: u64,
    pub max_index: usize,
}

const MB: u64 = 1024 * 1024;

const fn file(name: &'static str, mb: u64, max_index: usize) -> LogFile {
    LogFile {
        name,
        max_file_size: mb * MB,
        max_index,
    }
}

/// logback_broker.xml's appenders (file, maxFileSize, maxIndex).
pub const BROKER_FILES: &[LogFile] = &[
    file("broker_default.log", 100, 10),
    file("broker.log", 128, 20),
    file("protection.log", 100, 10),
    file("watermark.log", 100, 10),
    file("store.log", 128, 10),
    file("remoting.log", 100, 10),
    file("storeerror.log", 100, 10),
    file("transaction.log", 100, 10),
    file("lock.log", 100, 5),
    file("filter.log", 100, 10),
    file("stats.log", 100, 5),
    file("commercial.log", 500, 10),
];

/// logback_namesrv.xml's appenders.
pub const NAMESRV_FILES: &[LogFile] = &[
    file("namesrv_default.log", 100, 10),
    file("namesrv.log", 100, 5),
];

impl Service {
    pub fn files(self) -> &'static [LogFile] {
        match self {
            Service::Namesrv => NAMESRV_FILES,
            Service::Broker => BROKER_FILES,
        }
    }

    fn default_file(self) -> &'static str {
        self.files()[0].name
    }
}

/// The file an event of this target and level goes to, and a second one it is copied to
/// (an error of the store also goes to `storeerror.log`).
pub fn file_for(
    service: Service,
    target: &str,
    level: &Level,
) -> (&'static str, Option<&'static str>) {
    let under = |prefix: &str| {
        target == prefix
            || target
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with("::"))
    };
    if service == Service::Namesrv {
        // logback_namesrv.xml: RocketmqNamesrv, RocketmqCommon and RocketmqRemoting → namesrv.log.
        let named = matches!(
            target,
            "RocketmqNamesrv" | "RocketmqCommon" | "RocketmqRemoting"
        );
        let ours = under("namesrv") || under("remoting") || under("remoting_codec");
        return if named || ours {
            ("namesrv.log", None)
        } else {
            (service.default_file(), None)
        };
    }
    let by_java_name = match target {
        "RocketmqBroker" | "RocketmqCommon" => Some("broker.log"),
        "RocketmqProtection" => Some("protection.log"),
        "RocketmqWaterMark" => Some("watermark.log"),
        "RocketmqStore" => Some("store.log"),
        "RocketmqStoreError" => Some("storeerror.log"),
        "RocketmqTransaction" => Some("transaction.log"),
        "RocketmqRebalanceLock" => Some("lock.log"),
        "RocketmqRemoting" => Some("remoting.log"),
        "RocketmqStats" => Some("stats.log"),
        "RocketmqCommercial" => Some("commercial.log"),
        "RocketmqFilter" => Some("filter.log"),
        _ => None,
    };
    if let Some(name) = by_java_name {
        return (name, None);
    }
    if under("store") {
        let copy = (*level == Level::ERROR).then_some("storeerror.log");
        return ("store.log", copy);
    }
    let name = if under("remoting") || under("remoting_codec") {
        "remoting.log"
    } else if under("broker::transaction") || under("broker::processor::end_transaction") {
        "transaction.log"
    } else if under("broker::stats") {
        "stats.log"
    } else if under("broker::lock") || under("broker::processor::lock") {
        "lock.log"
    } else if under("broker::consumer_filter") || under("filter") {
        "filter.log"
    } else if under("broker::metrics") {
        "watermark.log"
    } else if under("broker") {
        "broker.log"
    } else {
        service.default_file()
    };
    (name, None)
}

/// Where and how much to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The directory, or `None` for stderr.
    pub root: Option<PathBuf>,
    /// An `EnvFilter` directive.
    pub level: String,
    /// Overrides Java's per-file size limit.
    pub max_file_size: Option<u64>,
    /// Overrides Java's per-file window.
    pub max_index: Option<usize>,
}

impl LogSettings {
    /// The settings from `ROCKETMQ_LOG_*` (and `RUST_LOG`), as read by [`LogSettings::from_vars`].
    pub fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The settings from a variable lookup (tests pass their own).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let root = match var("ROCKETMQ_LOG_ROOT") {
            None => None,
            Some(dir) if dir.is_empty() || dir == "-" => None,
            Some(dir) => Some(PathBuf::from(dir)),
        };
        let level = var("ROCKETMQ_LOG_LEVEL")
            .filter(|v| !v.is_empty())
            .or_else(|| var("RUST_LOG").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "info".to_owned());
        let max_file_size = match var("ROCKETMQ_LOG_MAX_FILE_SIZE") {
            Some(v) => Some(parse_size(&v)?),
            None => None,
        };
        let max_index = match var("ROCKETMQ_LOG_MAX_INDEX") {
            Some(v) => Some(
                v.trim()
                    .parse()
                    .map_err(|_| format!("ROCKETMQ_LOG_MAX_INDEX: not a number: {v}"))?,
            ),
            None => None,
        };
        Ok(Self {
            root,
            level,
            max_file_size,
            max_index,
        })
    }
}

/// `1048576`, `100MB`, `64KB`, `1GB` (logback's FileSize units, powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let (digits, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t.as_str(), ""),
    };
    let n: u64 = digits.parse().map_err(|_| format!("not a size: {text}"))?;
    let mult = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" => 1024,
        "MB" | "M" => MB,
        "GB" | "G" => 1024 * MB,
        _ => return Err(format!("not a size: {text}")),
    };
    Ok(n.saturating_mul(mult).max(1))
}

/// Keeps the background writers alive; dropping it flushes what is queued.
pub struct LogGuard {
    _guards: Vec<WorkerGuard>,
}

/// The writer of each file, chosen per event from its metadata.
#[derive(Clone)]
struct RoutedFiles {
    service: Service,
    writers: HashMap<&'static str, NonBlocking>,
}

type EventWriter = EitherWriter<NonBlocking, Tee<NonBlocking, NonBlocking>>;

impl<'a> MakeWriter<'a> for RoutedFiles {
    type Writer = EventWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EitherWriter::A(self.writers[self.service.default_file()].clone())
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        let (name, copy) = file_for(self.service, meta.target(), meta.level());
        let first = self.writers[name].clone();
        match copy {
            Some(other) => EitherWriter::B(Tee::new(first, self.writers[other].clone())),
            None => EitherWriter::A(first),
        }
    }
}

/// Opens every file of the service under `root` (created, as logback creates its files at
/// start) and returns the per-file writers.
fn open_files(
    service: Service,
    root: &Path,
    settings: &LogSettings,
) -> io::Result<(RoutedFiles, Vec<WorkerGuard>)> {
    std::fs::create_dir_all(root)?;
    let mut writers = HashMap::new();
    let mut guards = Vec::new();
    for f in service.files() {
        let path = root.join(f.name);
        OpenOptions::new().create(true).append(true).open(&path)?;
        let condition = RollingConditionBasic::new()
            .daily()
            .max_size(settings.max_file_size.unwrap_or(f.max_file_size));
        let appender = BasicRollingFileAppender::new(
            &path,
            condition,
            settings.max_index.unwrap_or(f.max_index),
        )?;
        let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .finish(appender);
        writers.insert(f.name, writer);
        guards.push(guard);
    }
    Ok((RoutedFiles { service, writers }, guards))
}

/// Installs the global subscriber: the files of `settings.root`, or stderr.
pub fn init(service: Service, settings: &LogSettings) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(&settings.level)
        .map_err(|e| format!("bad log level '{}': {e}", settings.level))?;
    let Some(root) = &settings.root else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        return Ok(LogGuard { _guards: vec![] });
    };
    let (writers, guards) = open_files(service, root, settings)
        .map_err(|e| format!("cannot open the log files in {}: {e}", root.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_thread_names(true)
        .with_writer(writers)
        .init();
    Ok(LogGuard { _guards: guards })
}

#[cfg(test)]
mod tests;
