//! What the integration tests of `namesrv`, `broker` and `compat-tests` share, so that it is
//! written once and cannot drift apart (a dev-only crate: never a dependency of a server).
//!
//! - [`capture`]: the recorded Java frames of `compat-tests/fixtures/golden/captures/`;
//! - [`ports`]: free ports for a server, and for a broker's port pair;
//! - [`dirs`]: fresh scratch directories, removed when the test ends;
//! - [`process`]: our binaries as child processes (found or built in the target directory),
//!   the namesrv and broker launchers and the `broker.conf` text they start on.

pub mod capture;
pub mod dirs;
pub mod ports;
pub mod process;

/// The repository root (this crate lives in `<root>/test-support`), whoever the caller is.
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support lives inside the workspace")
        .to_path_buf()
}
