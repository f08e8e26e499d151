//! The `namesrv` binary on a free port of 127.0.0.1.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use super::Process;
use crate::ports::free_port;

/// Starts the namesrv binary `bin` with `--userHome home` (and `ROCKETMQ_HOME`, where its
/// kvConfig.json goes) on a free port plus the `extra` flags, and waits for its boot line.
pub fn start_namesrv(bin: &Path, home: &Path, extra: &[&str]) -> Process {
    let port = free_port();
    let mut command = Command::new(bin);
    command
        .args([
            "--listenPort",
            &port.to_string(),
            "--bindAddress",
            "127.0.0.1",
        ])
        .arg("--userHome")
        .arg(home)
        .args(extra)
        .env("ROCKETMQ_HOME", home);
    Process::boot(command, "namesrv", SocketAddr::from(([127, 0, 0, 1], port)))
}
