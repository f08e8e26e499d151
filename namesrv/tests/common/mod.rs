//! Test support of the namesrv tests: the shared helpers of `test-support` with this crate's
//! binary, and the recorded registration they start from.
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

use std::path::{Path, PathBuf};

pub use test_support::capture::{captures_dir, read_capture, recorded_response, Frame};
pub use test_support::process::Process;

/// Starts this crate's `namesrv` binary with `--userHome home` on a free port plus `extra`
/// flags, and waits for its boot line.
pub fn start_namesrv(home: &Path, extra: &[&str]) -> Process {
    test_support::process::start_namesrv(Path::new(env!("CARGO_BIN_EXE_namesrv")), home, extra)
}

/// A fresh, empty home directory, left behind for a look after the test.
pub fn temp_home(name: &str) -> PathBuf {
    test_support::dirs::fresh_dir(&format!("namesrv-test-{name}"))
}

/// The first REGISTER_BROKER of `s01-broker-register`: a fresh 4.9.8 broker's table
/// (TBW102, SELF_TEST_TOPIC, BenchmarkTest, …).
pub fn base_registration() -> Frame {
    read_capture("s01-broker-register.jsonl")
        .into_iter()
        .find(|f| f.code() == 103 && f.is_c2s())
        .unwrap()
}
