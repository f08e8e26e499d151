//! Our server binaries as child processes: found (or built) in the target directory the test
//! runs from, started with their stdout watched for the "boot success" line they print once
//! listening, stopped with SIGTERM (the graceful shutdown under test) and killed when a test
//! panics, so that no server outlives its test.

mod broker;
mod namesrv;

pub use broker::{BrokerConf, BrokerProcess};
pub use namesrv::start_namesrv;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

/// How long a server may take to print its boot line: generous for a loaded 2-core machine
/// and a store recovering thousands of messages; a server that hangs fails instead of blocking
/// the test run.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(60);

/// A running child process, killed (SIGKILL) on drop unless terminated before.
pub struct Process {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Process {
    /// Starts `command` (with `RUST_LOG=warn`, stderr to the test's), waits for its
    /// "boot success" line on stdout, and keeps draining stdout so that the child never blocks
    /// on a full pipe. Panics when it exits or hangs before booting.
    pub fn boot(mut command: Command, what: &str, addr: SocketAddr) -> Process {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (booted, boot_line) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("boot success") {
                    let _ = booted.send(());
                }
            }
        });
        if let Err(e) = boot_line.recv_timeout(BOOT_TIMEOUT) {
            let _ = child.kill();
            let _ = child.wait();
            match e {
                mpsc::RecvTimeoutError::Disconnected => panic!("{what} exited before booting"),
                mpsc::RecvTimeoutError::Timeout => {
                    panic!("{what} did not boot within {BOOT_TIMEOUT:?}")
                }
            }
        }
        Process {
            child: Some(child),
            addr,
        }
    }

    /// SIGTERM, then waits for the exit.
    /// The child's process id (for /proc measurements), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("terminate of a stopped process");
        // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        child.wait().unwrap()
    }

    /// Sends `signal` (SIGSTOP, SIGCONT, …) to the running process.
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            // SAFETY: kill(2) on the pid of a child we own and have not reaped yet.
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }

    /// SIGKILL (no flush, no unregistration), then waits for the exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `target/<profile>/<name>`, the binary built alongside the running test: tests run as
/// `<target>/<profile>/deps/<test>-<hash>`. Built with cargo (same target directory and
/// profile) when missing, as when only one crate's tests are run.
pub fn workspace_binary(name: &str) -> PathBuf {
    let (profile_dir, _) = profile_dir();
    let path = profile_dir.join(name);
    if !path.exists() {
        cargo_build(name).unwrap_or_else(|e| panic!("the `{name}` binary is missing: {e}"));
    }
    path
}

/// Like [`workspace_binary`] but always runs `cargo build` once per test process first, so
/// that a binary older than its sources is never started (cargo does nothing when it is
/// fresh).
pub fn fresh_workspace_binary(name: &'static str) -> PathBuf {
    /// Each binary's build outcome, by name.
    type Builds = HashMap<&'static str, Result<PathBuf, String>>;
    static BUILT: OnceLock<Mutex<Builds>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap();
    let result = built
        .entry(name)
        .or_insert_with(|| cargo_build(name))
        .clone();
    // Unlocked before a panic, so that the other tests get cargo's message too.
    drop(built);
    result.unwrap_or_else(|e| panic!("the `{name}` binary is missing: {e}"))
}

/// The profile directory of the running test executable and whether it is `release`.
fn profile_dir() -> (PathBuf, bool) {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable inside <target>/<profile>/deps")
        .to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    (profile_dir, release)
}

/// `cargo build -p <name> --bin <name>` into the running test's target directory and profile;
/// `Err` with cargo's stderr when it fails.
fn cargo_build(name: &str) -> Result<PathBuf, String> {
    let (profile_dir, release) = profile_dir();
    let target_dir = profile_dir.parent().ok_or("no target dir")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "-p", name, "--bin", name, "--target-dir"])
        .arg(target_dir)
        .current_dir(crate::workspace_root());
    if release {
        build.arg("--release");
    }
    let out = build
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`cargo build -p {name} --bin {name}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(profile_dir.join(name))
}
