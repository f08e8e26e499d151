//! The third-party client programs under `clients/` as child processes.
//!
//! Every program prints one JSON object per line on stdout, with an `event` field:
//! - `ready`: the client started;
//! - `sent`: one per message sent (`msgId`, `queueId`, `queueOffset`, `keys`, `tags`, `body`);
//! - `msg`: one per message received (`msgId`, `queueId`, `queueOffset`, `keys`, `tags`,
//!   `body`, `topic`);
//! - `error`: something went wrong (`message`), the program goes on when it can;
//! - `summary`: the last line, with counts.
//!
//! Consumers run until their stdin is closed, then shut down cleanly (committing offsets) and
//! print their summary; producers and pull readers exit when done. Other stdout lines (a
//! client's own logging) and stderr are kept for failure messages.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{crate_dir, require};

/// How long a client may take for a phase of a test (produce 10,000 messages, consume them)
/// on a loaded 2-core machine: generous, since completion is polled.
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Default)]
struct Output {
    events: Vec<Value>,
    other: Vec<String>,
    stderr: String,
}

/// A running client program. Killed on drop.
pub struct ClientProcess {
    pub name: String,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<Output>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ClientProcess {
    /// Starts `cmd` with piped stdio; `name` labels failure messages.
    pub fn spawn(name: impl Into<String>, mut cmd: Command) -> ClientProcess {
        let name = name.into();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {cmd:?}: {e}"));
        let output = Arc::new(Mutex::new(Output::default()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out = Arc::clone(&output);
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                // Not `lines()`: one line that is not UTF-8 would end the reading there.
                let line = String::from_utf8_lossy(&line).into_owned();
                let mut out = out.lock().unwrap();
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) if v.get("event").is_some() => out.events.push(v),
                    _ => out.other.push(line),
                }
            }
        });
        let out = Arc::clone(&output);
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock()
                    .unwrap()
                    .stderr
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        ClientProcess {
            name,
            stdin: child.stdin.take(),
            child: Some(child),
            output,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// The events printed so far with `event == kind`.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        let out = self.output.lock().unwrap();
        out.events
            .iter()
            .filter(|e| e["event"] == kind)
            .cloned()
            .collect()
    }

    pub fn count(&self, kind: &str) -> usize {
        let out = self.output.lock().unwrap();
        out.events.iter().filter(|e| e["event"] == kind).count()
    }

    /// What the program printed besides events, and its stderr (the end of both), for
    /// failure messages.
    pub fn diagnostics(&self) -> String {
        let out = self.output.lock().unwrap();
        let errors: Vec<String> = out
            .events
            .iter()
            .filter(|e| e["event"] == "error")
            .take(20)
            .map(Value::to_string)
            .collect();
        // COMPAT_DIAG_LINES=n shows more of a client's own logging (e.g. with RUST_LOG=debug).
        let lines = std::env::var("COMPAT_DIAG_LINES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(40);
        let other = out.other.iter().rev().take(lines).rev().cloned();
        let other: Vec<String> = other.collect();
        let stderr = tail(&out.stderr, 6000.max(lines * 150));
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        for e in &out.events {
            *kinds
                .entry(e["event"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
        format!(
            "--- {} events so far: {kinds:?}\n--- error events (first 20):\n{}\n--- other stdout (last {lines} lines):\n{}\n--- stderr (end):\n{}",
            self.name,
            errors.join("\n"),
            other.join("\n"),
            stderr
        )
    }

    /// Polls (every 100 ms, up to `timeout`) until `done` holds for the events printed so far;
    /// panics with `what`, `progress` of the last state and the diagnostics when it times out or
    /// the program exits first.
    pub fn wait_until(
        &mut self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&ClientProcess) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                // The last lines may still be in the pipe.
                std::thread::sleep(Duration::from_millis(200));
                if done(self) {
                    return;
                }
                panic!(
                    "{}: exited ({status}) before {what}\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no {what} after {timeout:?}\n{}",
                    self.name,
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Panics with the diagnostics if the program has exited.
    pub fn assert_alive(&mut self) {
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            panic!("{}: exited ({status})\n{}", self.name, self.diagnostics());
        }
    }

    /// Waits for the `ready` event.
    pub fn wait_ready(&mut self) {
        self.wait_until("ready event", Duration::from_secs(120), |c| {
            c.count("ready") > 0
        });
    }

    /// Waits until `n` `msg` events were printed.
    pub fn wait_messages(&mut self, n: usize, timeout: Duration) {
        let what = format!("{n} received messages");
        self.wait_until(&what, timeout, |c| c.count("msg") >= n);
    }

    /// Closes stdin (consumers shut down cleanly on it), waits up to `timeout` for the exit
    /// and for the output to be read; kills the program if it does not exit. Returns the exit
    /// status, `None` when it had to be killed.
    pub fn finish(&mut self, timeout: Duration) -> Option<ExitStatus> {
        drop(self.stdin.take());
        let mut child = self.child.take()?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        status
    }

    /// [`finish`](Self::finish) and assert a zero exit status.
    pub fn finish_ok(&mut self, timeout: Duration) {
        let status = self.finish(timeout);
        assert!(
            status.is_some_and(|s| s.success()),
            "{}: did not exit cleanly ({status:?})\n{}",
            self.name,
            self.diagnostics()
        );
    }

    /// Kills the program at once (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(s: &str, max: usize) -> &str {
    let mut start = s.len().saturating_sub(max);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The three client families, each a program taking `<command> --key value ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    /// `clients/node/client.js` on npm `ali-ons`.
    AliOns,
    /// `clients/python/client.py` on PyPI `rocketmq` 0.4.4 (the Apache C++ client).
    RocketmqCpp,
    /// `clients/rust` on crates.io `rocketmq-client-rust`, built by `.ci/run`.
    RocketmqRust,
}

impl Clients {
    /// A command running `command` with `args` (`--key value` pairs) for this client; panics
    /// with the install hint when the client is not installed. `home` becomes `$HOME` (the C++
    /// and Rust clients write logs and local offsets under it).
    pub fn command(
        self,
        home: &std::path::Path,
        command: &str,
        args: &[(&str, String)],
    ) -> Command {
        std::fs::create_dir_all(home).expect("client home");
        let dir = crate_dir().join("clients");
        let mut cmd = match self {
            Clients::AliOns => {
                let node = dir.join("node");
                require(
                    &node.join("node_modules/ali-ons"),
                    "run `npm ci` in compat-tests/clients/node",
                );
                let mut cmd = Command::new("node");
                cmd.arg(node.join("client.js")).current_dir(node);
                cmd
            }
            Clients::RocketmqCpp => {
                let py = dir.join("python");
                let python = py.join(".venv/bin/python");
                require(
                    &python,
                    "create compat-tests/clients/python/.venv and pip install -r requirements.txt in it",
                );
                let mut cmd = Command::new(python);
                cmd.arg("-u").arg(py.join("client.py")).current_dir(py);
                keep_real_clock(&mut cmd);
                cmd
            }
            Clients::RocketmqRust => {
                let bin = rust_client_bin();
                require(
                    &bin,
                    "build it with `cargo build --manifest-path compat-tests/clients/rust/Cargo.toml` \
                     (or set COMPAT_RUST_CLIENT_BIN)",
                );
                require_fresh(&bin, &dir.join("rust/src/main.rs"));
                Command::new(bin)
            }
        };
        cmd.arg(command).env("HOME", home);
        for (k, v) in args {
            cmd.arg(format!("--{k}")).arg(v);
        }
        cmd
    }

    pub fn spawn(
        self,
        name: &str,
        home: &std::path::Path,
        command: &str,
        args: &[(&str, String)],
    ) -> ClientProcess {
        ClientProcess::spawn(name, self.command(home, command, args))
    }
}

/// Panics when the client program was built before its source last changed: a stale binary
/// runs the old program and its failures would be blamed on the broker.
fn require_fresh(bin: &std::path::Path, source: &std::path::Path) {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if let (Some(built), Some(changed)) = (modified(bin), modified(source)) {
        assert!(
            built >= changed,
            "{} is older than {}: rebuild it with \
             `cargo build --manifest-path compat-tests/clients/rust/Cargo.toml`",
            bin.display(),
            source.display()
        );
    }
}

/// Starts a program of the Apache C++ client (the PyPI `rocketmq` package) on the real clock.
/// Under scripts/test-hostile the tests and our servers run on a clock moved by libfaketime
/// (LD_PRELOAD, FAKETIME). The C++ client does not survive that library, even with the clock
/// not moved at all: every send fails with "No route info", no route is read, or the program
/// hangs. It is not ours to test, so it keeps the real clock; the servers it talks to do not.
pub fn keep_real_clock(cmd: &mut Command) {
    if std::env::var_os("FAKETIME").is_some() {
        cmd.env_remove("LD_PRELOAD");
    }
}

/// `$COMPAT_RUST_CLIENT_BIN`, else `debug/compat-client-rust` in the target directory where
/// `.ci/run` builds it: `$CARGO_TARGET_DIR` when set (an absolute path), else
/// `clients/rust/target` (it is its own Cargo project, outside the workspace).
pub fn rust_client_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("COMPAT_RUST_CLIENT_BIN") {
        return PathBuf::from(bin);
    }
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => crate_dir().join("clients/rust/target"),
    };
    target.join("debug/compat-client-rust")
}
