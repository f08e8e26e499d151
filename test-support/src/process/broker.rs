//! The `broker` binary on a `broker.conf` written by the test: [`BrokerConf`] builds the text
//! (Java properties: when a key repeats, the last line wins), [`BrokerProcess`] runs it.

use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use remoting::RemotingClient;

use super::Process;

/// The lines of a `broker.conf`, in order.
#[derive(Clone, Debug, Default)]
pub struct BrokerConf {
    lines: Vec<String>,
}

impl BrokerConf {
    pub fn new() -> BrokerConf {
        BrokerConf::default()
    }

    /// A broker of cluster `TestCluster` named `broker-t` on 127.0.0.1:`port`, its store under
    /// `<dir>/store` with small files (1 MiB commit log, 300-entry consume queues, a small
    /// index), tolerant of a full disk, keeping its files whatever the date and hour,
    /// registering with `namesrv` if given.
    pub fn small_store(dir: &Path, port: u16, namesrv: Option<SocketAddr>) -> BrokerConf {
        let conf = BrokerConf::new()
            .set("brokerClusterName", "TestCluster")
            .set("brokerName", "broker-t")
            .set("brokerId", 0)
            .set("brokerIP1", "127.0.0.1")
            .set("brokerIP2", "127.0.0.1")
            .set("listenPort", port)
            .set("storePathRootDir", dir.join("store").display())
            .set("mappedFileSizeCommitLog", 1_048_576)
            .set("mappedFileSizeConsumeQueue", 6000)
            .set("maxHashSlotNum", 1000)
            .set("maxIndexNum", 4000)
            .set("flushDiskType", "ASYNC_FLUSH")
            .disk_tolerant()
            .no_delete_hour();
        match namesrv {
            Some(ns) => conf.set("namesrvAddr", ns),
            None => conf,
        }
    }

    /// The lines of an existing conf text (a recorded Java broker.conf).
    pub fn from_text(text: &str) -> BrokerConf {
        BrokerConf::new().lines(text)
    }

    /// Appends `key=value`.
    pub fn set(mut self, key: &str, value: impl Display) -> BrokerConf {
        self.lines.push(format!("{key}={value}"));
        self
    }

    /// Appends the lines of `text` as they are.
    pub fn lines(mut self, text: &str) -> BrokerConf {
        self.lines.extend(text.lines().map(str::to_owned));
        self
    }

    /// Drops the lines that start with one of `keys` (settings of the recorded machine: its
    /// paths, port, namesrv).
    pub fn without(mut self, keys: &[&str]) -> BrokerConf {
        self.lines
            .retain(|l| !keys.iter().any(|k| l.starts_with(k)));
        self
    }

    /// The store refuses puts when the filesystem is more than 90 % used (Java's
    /// `diskSpaceWarningLevelRatio`) and deletes files above 85 %: CI machines and laptops are
    /// often that full and the tests write a few MiB, so only a truly full disk stops them.
    pub fn disk_tolerant(self) -> BrokerConf {
        self.set("diskMaxUsedSpaceRatio", 95)
            .set("diskSpaceWarningLevelRatio", 99)
            .set("diskSpaceCleanForciblyRatio", 98)
    }

    /// No hour of the day is a `deleteWhen` hour (Java's default is 04), so the broker deletes
    /// no commitlog file for its age unless the disk is over `diskMaxUsedSpaceRatio`. A file's
    /// age is its mtime, stamped by the kernel with the real time, measured against the
    /// broker's clock: with the clock faked ahead (CI runs the tests a year and ten years
    /// ahead, and in the 04 hour) every file, a golden store's copy or one written during the
    /// test, is older than `fileReservedTime` (72 h), and a clean pass in the 04 hour, every
    /// 10 s from a minute after the start, would delete all but the last.
    pub fn no_delete_hour(self) -> BrokerConf {
        self.set("deleteWhen", "99")
    }

    /// The value the broker reads for `key` (the last line wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .rev()
            .find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == key))
            .map(|(_, v)| v.trim())
    }

    pub fn text(&self) -> String {
        self.lines.join("\n") + "\n"
    }
}

/// A running `broker` process; killed (SIGKILL) on drop unless terminated.
pub struct BrokerProcess {
    process: Process,
    /// `listenPort`; the VIP port is `port - 2`.
    pub port: u16,
    /// The `broker.conf` it runs on, for a restart on the same store.
    pub conf: PathBuf,
}

impl BrokerProcess {
    /// Writes `conf` to `<dir>/broker.conf` and starts the broker binary `bin` on it.
    pub fn start(bin: &Path, dir: &Path, conf: &BrokerConf) -> BrokerProcess {
        let path = dir.join("broker.conf");
        std::fs::write(&path, conf.text()).unwrap();
        BrokerProcess::start_with(bin, &path)
    }

    /// Starts the broker binary `bin` on an existing conf file (the one of a broker that was
    /// stopped or killed: same port, same store).
    pub fn start_with(bin: &Path, conf: &Path) -> BrokerProcess {
        let text = std::fs::read_to_string(conf).unwrap();
        let port: u16 = BrokerConf::from_text(&text)
            .get("listenPort")
            .expect("listenPort in broker.conf")
            .parse()
            .unwrap();
        let mut command = Command::new(bin);
        command.arg("-c").arg(conf);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        BrokerProcess {
            process: Process::boot(command, "broker", addr),
            port,
            conf: conf.to_path_buf(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// The broker's process id (for /proc measurements).
    pub fn pid(&self) -> u32 {
        self.process.pid().expect("a running broker")
    }

    /// The VIP port (`listenPort - 2`; no pulls there).
    pub fn vip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port - 2))
    }

    pub async fn client(&self) -> RemotingClient {
        RemotingClient::connect(self.addr()).await.unwrap()
    }

    /// SIGKILL (no flush, no unregistration: a crash), and wait for the exit.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Sends a signal (SIGSTOP freezes it, SIGCONT resumes it).
    pub fn signal(&self, signal: i32) {
        self.process.signal(signal);
    }

    /// SIGTERM (flush, unregister, remove the abort file) and wait for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.process.terminate()
    }
}
