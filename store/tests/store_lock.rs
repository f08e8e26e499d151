//! The store `lock` file excludes other processes with a POSIX record lock (what Java's
//! `FileChannel.tryLock` takes on Linux), and a second acquisition in the same process; the
//! `abort` marker.

mod aux_util;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use aux_util::TempDir;
use store::lock::{AbortFile, StoreLock, StoreLockError};

const ROOT_ENV: &str = "STORE_LOCK_TEST_ROOT";

/// Starts this test binary running one ignored helper test with the store root in the env.
fn helper(test: &str, root: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        test,
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROOT_ENV, root);
    cmd
}

/// Waits for `READY` on the child's stdout; returns the rest of its output.
fn wait_ready(child: &mut Child) -> BufReader<ChildStdout> {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        if line.contains("READY") {
            return stdout;
        }
        line.clear();
    }
    panic!("helper exited before it was ready: {:?}", child.wait());
}

/// Releases a holder (closing its stdin), reads its output to the end and checks it passed.
fn finish(mut child: Child, mut stdout: BufReader<ChildStdout>, expect: &str) {
    drop(child.stdin.take());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "helper failed: {status}: {rest}");
    assert!(rest.contains(expect), "{rest}");
}

/// Who holds a write lock on [0,1) of `path`, as the kernel reports it (F_GETLK).
fn lock_holder_pid(path: &Path) -> Option<i32> {
    let file = std::fs::File::open(path).unwrap();
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = 0;
    fl.l_len = 1;
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut fl) };
    assert_eq!(rc, 0);
    (fl.l_type as i32 != libc::F_UNLCK).then_some(fl.l_pid)
}

#[test]
fn same_process_second_acquire_fails_until_dropped() {
    let tmp = TempDir::new("lock-same");
    let root = tmp.path().join("store");
    let lock = StoreLock::acquire(&root).unwrap();
    assert_eq!(std::fs::read(root.join("lock")).unwrap(), b"lock");
    assert!(matches!(
        StoreLock::acquire(&root),
        Err(StoreLockError::LockedByThisProcess { .. })
    ));
    // Same directory through another spelling of the path.
    let other_spelling = tmp.path().join("store/../store");
    assert!(matches!(
        StoreLock::acquire(&other_spelling),
        Err(StoreLockError::LockedByThisProcess { .. })
    ));
    // The failed attempts did not drop the real lock (they never opened the file).
    drop(lock);
    let again = StoreLock::acquire(&root).unwrap();
    drop(again);
}

#[test]
fn another_process_holding_the_lock_excludes_us_and_back() {
    let tmp = TempDir::new("lock-proc");
    let root = tmp.path().join("store");

    // A child holds it: we fail, and the kernel names the child as the record-lock holder.
    let mut child = helper("lock_holder_child", &root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = wait_ready(&mut child);
    assert!(matches!(
        StoreLock::acquire(&root),
        Err(StoreLockError::LockedByOtherProcess { .. })
    ));
    assert_eq!(lock_holder_pid(&root.join("lock")), Some(child.id() as i32));
    finish(child, stdout, "1 passed");

    // Released with the child: we get it, and a child now fails.
    let lock = StoreLock::acquire(&root).unwrap();
    let out = helper("lock_contender_child", &root).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    drop(lock);
    assert_eq!(lock_holder_pid(&root.join("lock")), None);
}

/// Python's `fcntl.lockf` takes the same POSIX record lock as Java's `FileChannel.tryLock`.
#[test]
fn excludes_and_is_excluded_by_python_lockf() {
    if Command::new("python3").arg("-V").output().is_err() {
        eprintln!("python3 not found: skipping the lockf cross-check");
        return;
    }
    let tmp = TempDir::new("lock-py");
    let root = tmp.path().join("store");
    std::fs::create_dir_all(&root).unwrap();
    let lock_path = root.join("lock");

    let holder = r#"
import fcntl, sys
f = open(sys.argv[1], "a+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
print("READY", flush=True)
sys.stdin.read()
"#;
    let mut child = Command::new("python3")
        .args(["-c", holder])
        .arg(&lock_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = wait_ready(&mut child);
    assert!(matches!(
        StoreLock::acquire(&root),
        Err(StoreLockError::LockedByOtherProcess { .. })
    ));
    finish(child, stdout, "");

    let lock = StoreLock::acquire(&root).unwrap();
    let contender = r#"
import fcntl, sys
f = open(sys.argv[1], "a+")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
except OSError:
    print("BUSY")
    sys.exit(0)
print("GOT IT")
sys.exit(1)
"#;
    let out = Command::new("python3")
        .args(["-c", contender])
        .arg(&lock_path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("BUSY"), "{stdout}");
    drop(lock);
}

/// Helper for `another_process_holding_the_lock_excludes_us_and_back`: holds the lock until
/// stdin closes.
#[test]
#[ignore = "helper run in a child process"]
fn lock_holder_child() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return eprintln!("helper: only meaningful when run by its parent test");
    };
    let _lock = StoreLock::acquire(&root).unwrap();
    println!("READY");
    std::io::stdout().flush().unwrap();
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).unwrap() > 0 {}
}

/// Helper: the lock is held by the parent, so acquiring it must fail.
#[test]
#[ignore = "helper run in a child process"]
fn lock_contender_child() {
    let Ok(root) = std::env::var(ROOT_ENV) else {
        return eprintln!("helper: only meaningful when run by its parent test");
    };
    match StoreLock::acquire(&root) {
        Err(StoreLockError::LockedByOtherProcess { path }) => {
            assert!(path.ends_with("lock"));
        }
        other => panic!("expected LockedByOtherProcess, got {other:?}"),
    }
}

#[test]
fn abort_file_create_exists_remove() {
    let tmp = TempDir::new("abort");
    let root = tmp.path().join("store");
    assert!(!AbortFile::exists(&root));
    AbortFile::create(&root).unwrap();
    assert!(AbortFile::exists(&root));
    assert_eq!(std::fs::metadata(root.join("abort")).unwrap().len(), 0);
    AbortFile::create(&root).unwrap(); // idempotent, like Java's createNewFile
    AbortFile::remove(&root).unwrap();
    assert!(!AbortFile::exists(&root));
    AbortFile::remove(&root).unwrap(); // missing is fine
}
