//! Our `broker` binary as a child process: a free port pair, a temporary store, a `broker.conf`
//! written with Java's key names, readiness once the name server routes a probe topic to it,
//! SIGTERM/SIGKILL, restart on the same store, and its stderr kept for failure messages.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use test_support::dirs::TempDir;
pub use test_support::ports::free_port_pair;
use test_support::process::{fresh_workspace_binary, BrokerConf};

/// How long a broker may take to start and register (a loaded 2-core CI machine, a store
/// recovering 10,000 messages).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A topic every Java broker creates at start whatever its settings (`SELF_TEST_TOPIC`); the
/// broker is ready once the name server routes it to the broker's address.
pub const PROBE_TOPIC: &str = "SELF_TEST_TOPIC";

/// What goes into the test's `broker.conf`.
#[derive(Clone, Debug)]
pub struct BrokerSettings {
    pub cluster: String,
    pub broker_name: String,
    pub namesrv: SocketAddr,
    /// `listenPort`; `listenPort - 2` (the VIP port) and `listenPort + 1` (Java's HA port) are
    /// free too when it was picked by [`free_port_pair`].
    pub listen_port: u16,
    /// `storePathRootDir`; the commit log goes to `<root>/commitlog`.
    pub store_root: PathBuf,
    /// More `key=value` lines (they override the defaults above when repeated: the broker reads
    /// the file as Java properties, where the last line wins).
    pub extra: Vec<(String, String)>,
}

impl BrokerSettings {
    /// Settings for a broker of cluster `RsCompatCluster` named `rs-compat-broker` on a free
    /// port pair, store under `store_root`, topics and groups auto-created.
    pub fn new(namesrv: SocketAddr, store_root: PathBuf) -> BrokerSettings {
        BrokerSettings {
            cluster: "RsCompatCluster".to_owned(),
            broker_name: "rs-compat-broker".to_owned(),
            namesrv,
            listen_port: free_port_pair(),
            store_root,
            extra: Vec::new(),
        }
    }

    pub fn set(mut self, key: &str, value: &str) -> BrokerSettings {
        self.extra.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The `broker.conf` text.
    pub fn conf(&self) -> String {
        let root = self.store_root.display();
        let conf = BrokerConf::new()
            .set("brokerClusterName", &self.cluster)
            .set("brokerName", &self.broker_name)
            .set("brokerId", 0)
            .set("namesrvAddr", self.namesrv)
            .set("brokerIP1", "127.0.0.1")
            .set("listenPort", self.listen_port)
            .set("storePathRootDir", &root)
            .set("storePathCommitLog", format!("{root}/commitlog"))
            .set("autoCreateTopicEnable", true)
            .set("autoCreateSubscriptionGroup", true)
            .set("flushDiskType", "ASYNC_FLUSH")
            // 64 MiB commit log files instead of 1 GiB: the tests write a few MiB.
            .set("mappedFileSizeCommitLog", 64 * 1024 * 1024)
            .disk_tolerant()
            .no_delete_hour();
        self.extra
            .iter()
            .fold(conf, |conf, (k, v)| conf.set(k, v))
            .text()
    }

    /// The address clients reach the broker at (`brokerIP1:listenPort`).
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.listen_port))
    }
}

/// The `broker` binary: `$COMPAT_BROKER_BIN` if set, else built with cargo into the target
/// directory this test runs from (same profile), once per test process. Panics with cargo's
/// message when it cannot be built.
pub fn broker_bin() -> PathBuf {
    match std::env::var_os("COMPAT_BROKER_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => fresh_workspace_binary("broker"),
    }
}

/// A running `broker` child process. Killed (SIGKILL) on drop; its directory (conf, logs,
/// store) is removed then unless `COMPAT_KEEP` is set or the test failed.
pub struct BrokerProcess {
    pub settings: BrokerSettings,
    /// Holds `broker.conf`, `broker.stdout`, `broker.stderr` and, by default, the store.
    pub dir: TempDir,
    child: Option<Child>,
    starts: u32,
}

impl BrokerProcess {
    /// Writes `broker.conf` into `dir`, starts the broker and waits until it is ready.
    pub fn start(settings: BrokerSettings, dir: TempDir) -> BrokerProcess {
        std::fs::write(dir.join("broker.conf"), settings.conf()).expect("write broker.conf");
        let mut broker = BrokerProcess {
            settings,
            dir,
            child: None,
            starts: 0,
        };
        broker.spawn_and_wait();
        broker
    }

    pub fn addr(&self) -> SocketAddr {
        self.settings.addr()
    }

    /// The broker's stderr so far (all runs, separated by a marker line).
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("broker.stderr")).unwrap_or_default()
    }

    /// The last `max` bytes of stderr, for failure messages.
    pub fn stderr_tail(&self, max: usize) -> String {
        let all = self.stderr();
        let mut start = all.len().saturating_sub(max);
        while !all.is_char_boundary(start) {
            start += 1;
        }
        all[start..].to_owned()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM (Java's graceful shutdown: flush, unregister) and wait up to 30 s for the exit,
    /// then SIGKILL. Returns whether it exited by itself with status 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// SIGKILL: the broker dies without flushing or unregistering.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again on the same conf and store (stop or kill it first).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "restart of a running broker");
        self.spawn_and_wait();
    }

    fn spawn_and_wait(&mut self) {
        self.starts += 1;
        let log = |name: &str| {
            File::options()
                .create(true)
                .append(true)
                .open(self.dir.join(name))
                .expect("broker log file")
        };
        let mut stderr = log("broker.stderr");
        use std::io::Write;
        let _ = writeln!(stderr, "---- start #{} ----", self.starts);
        let bin = broker_bin();
        let child = Command::new(&bin)
            .arg("-c")
            .arg(self.dir.join("broker.conf"))
            .current_dir(&self.dir)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(log("broker.stdout"))
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Polls until the broker port accepts connections and the name server routes
    /// [`PROBE_TOPIC`] to this broker's address; panics with the broker's stderr if it exits
    /// first or the wait times out.
    fn wait_ready(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let addr = self.addr().to_string();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    panic!(
                        "the broker exited with {status} before it was ready (start #{}, conf {}):\n{}",
                        self.starts,
                        self.dir.join("broker.conf").display(),
                        self.stderr_tail(8000)
                    );
                }
            }
            let last =
                if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(500)).is_ok() {
                    match rt.block_on(crate::namesrv::route(self.settings.namesrv, PROBE_TOPIC)) {
                        Ok(route) => {
                            // A slave (brokerId > 0) is routed under its id.
                            let slave = self
                                .settings
                                .extra
                                .iter()
                                .any(|(k, v)| k == "brokerRole" && v == "SLAVE");
                            let registered = route.broker_datas.iter().any(|b| {
                                b.broker_name == self.settings.broker_name
                                    && if slave {
                                        b.broker_addrs.iter().any(|(id, a)| *id > 0 && *a == addr)
                                    } else {
                                        b.master_addr() == Some(addr.as_str())
                                    }
                            });
                            if registered {
                                return;
                            }
                            format!("route of {PROBE_TOPIC} without {addr}: {route:?}")
                        }
                        Err(e) => e,
                    }
                } else {
                    format!("{addr} refuses connections")
                };
            if Instant::now() > deadline {
                self.kill();
                panic!(
                    "the broker was not ready after {START_TIMEOUT:?} (last check: {last}); stderr:\n{}",
                    self.stderr_tail(8000)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        // Before `dir` is dropped (removed unless kept).
        self.kill();
    }
}
