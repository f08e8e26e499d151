//! Issue 17's launcher proof: `scripts/bundle --debug` builds the release bundle from this
//! checkout's debug binaries; unpacked in a temp folder, its `bin/mqnamesrv`, `bin/mqbroker`
//! and `bin/mqshutdown` are run as an operator would, with Java's example confs from its
//! `conf/`: boot messages, `-p` / `-m` / `-n` / `-c` / `NAMESRV_ADDR` / `JAVA_OPT` honoured,
//! DLedger refused, Java's log files written under `-Duser.home`, and a clean stop by
//! `mqshutdown` (the store left without its `abort` file). Ports are free ones, never
//! 9876/10911: a conf that would take Java's default port is only printed (`-p`), and the
//! broker that runs gets the example's lines plus its own port and store.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use test_support::dirs::TempDir;
use test_support::ports::{free_port, free_port_pair};
use test_support::process::{fresh_workspace_binary, Process};

fn workspace_root() -> PathBuf {
    compat_tests::crate_dir().parent().unwrap().to_path_buf()
}

struct Bundle {
    dir: PathBuf,
    home: PathBuf,
}

impl Bundle {
    fn sh(&self, script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg(self.dir.join("bin").join(script))
            .env_remove("ROCKETMQ_HOME")
            .env_remove("ROCKETMQ_RS_BIN_DIR")
            .env_remove("ROCKETMQ_LOG_ROOT")
            .env_remove("NAMESRV_ADDR")
            .env(
                "JAVA_OPT",
                format!(
                    "-server -Xms1g -Duser.home={} -Drocketmq.log.level=info",
                    self.home.display()
                ),
            );
        c
    }

    fn run(&self, script: &str, args: &[&str]) -> Output {
        self.sh(script).args(args).output().expect("run a launcher")
    }

    fn logs(&self) -> PathBuf {
        self.home.join("logs/rocketmqlogs")
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Builds the bundle with `scripts/bundle --debug --no-build` into `tmp` and unpacks it.
fn unpacked_bundle(tmp: &Path) -> Bundle {
    let ns = fresh_workspace_binary("namesrv");
    fresh_workspace_binary("broker");
    let bin_dir = ns.parent().unwrap();
    let profile = bin_dir.file_name().unwrap().to_str().unwrap().to_owned();
    let out = tmp.join("out");
    let mut cmd = Command::new("bash");
    cmd.arg(workspace_root().join("scripts/bundle"))
        .arg("--no-build")
        .arg("--out")
        .arg(&out)
        .env("CARGO_TARGET_DIR", bin_dir.parent().unwrap());
    if profile == "debug" {
        cmd.arg("--debug");
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "scripts/bundle failed: {}", text(&o));
    let tarball = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    assert!(tarball.exists(), "{tarball:?}");
    let name = tarball.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("rocketmq-rs-") && name.ends_with(".tar.gz"),
        "{name}"
    );
    let unpacked = tmp.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let o = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpacked)
        .output()
        .unwrap();
    assert!(o.status.success(), "tar: {}", text(&o));
    let dir = unpacked.join(name.trim_end_matches(".tar.gz"));
    for f in [
        "bin/mqnamesrv",
        "bin/mqbroker",
        "bin/mqshutdown",
        "bin/runserver.sh",
        "bin/namesrv",
        "bin/broker",
        "conf/broker.conf",
        "conf/2m-noslave/broker-a.properties",
        "conf/2m-noslave/broker-trace.properties",
        "conf/2m-2s-async/broker-a-s.properties",
        "conf/2m-2s-sync/broker-b.properties",
        "conf/dledger/broker-n0.conf",
        "conf/broker-prometheus.conf",
        "dashboards/rocketmq-rs.json",
        "README.md",
    ] {
        assert!(dir.join(f).exists(), "{f} missing from the bundle");
    }
    let dashboard: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("dashboards/rocketmq-rs.json")).unwrap())
            .unwrap();
    assert!(dashboard["panels"].as_array().unwrap().len() >= 10);
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    Bundle { dir, home }
}

#[test]
fn the_unpacked_bundle_runs_as_javas_distribution() {
    let tmp = TempDir::kept_by("bundle-launchers", "COMPAT_KEEP");
    let b = unpacked_bundle(&tmp);

    // -p / -m with Java's example confs, unchanged: nothing starts.
    let o = b.run(
        "mqbroker",
        &["-c", "conf/2m-2s-sync/broker-a.properties", "-p"],
    );
    let _ = o;
    let conf = |p: &str| b.dir.join("conf").join(p).display().to_string();
    let o = b.run(
        "mqbroker",
        &["-c", &conf("2m-2s-sync/broker-a.properties"), "-p"],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "brokerName=broker-a",
        "brokerClusterName=DefaultCluster",
        "brokerRole=SYNC_MASTER",
        "deleteWhen=04",
        "fileReservedTime=48",
        "listenPort=10911",
    ] {
        assert!(out.contains(line), "{line} not in -p:\n{out}");
    }
    // user.home from JAVA_OPT: the default store is under it.
    assert!(
        out.contains(&format!("storePathRootDir={}/store", b.home.display())),
        "{out}"
    );
    let o = b.run(
        "mqbroker",
        &[
            "-c",
            &conf("2m-2s-async/broker-b-s.properties"),
            "-m",
            "-n",
            "10.1.1.1:9876",
        ],
    );
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "brokerName=broker-b",
        "brokerId=1",
        "brokerRole=SLAVE",
        "namesrvAddr=10.1.1.1:9876",
    ] {
        assert!(out.contains(line), "{line} not in -m:\n{out}");
    }
    assert!(
        !out.contains("listenPort="),
        "-m prints only important fields:\n{out}"
    );
    let o = b
        .sh("mqbroker")
        .args(["-c", &conf("broker.conf"), "-p"])
        .env("NAMESRV_ADDR", "10.2.2.2:9876")
        .output()
        .unwrap();
    assert!(
        text(&o).contains("namesrvAddr=10.2.2.2:9876"),
        "{}",
        text(&o)
    );
    let o = b.run("mqbroker", &["-c", &conf("dledger/broker-n0.conf")]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("enableDLegerCommitLog=true") && text(&o).contains("not supported"),
        "{}",
        text(&o)
    );
    let o = b.run("mqnamesrv", &["-p"]);
    assert!(
        text(&o).contains(&format!("rocketmqHome={}", b.dir.display())),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains(&format!(
            "kvConfigPath={}/namesrv/kvConfig.json",
            b.home.display()
        )),
        "{}",
        text(&o)
    );
    let o = b.run("mqshutdown", &["broker"]);
    assert!(text(&o).contains("No mqbroker running."), "{}", text(&o));

    // A name server on a free port (-c), then a broker from Java's example conf (-c) plus its
    // own port and store, given the name server by -n.
    let ns_port = free_port();
    let ns_conf = tmp.join("namesrv.conf");
    std::fs::write(&ns_conf, format!("listenPort={ns_port}\n")).unwrap();
    let ns_addr = SocketAddr::from(([127, 0, 0, 1], ns_port));
    let mut cmd = b.sh("mqnamesrv");
    cmd.arg("-c").arg(&ns_conf);
    let mut namesrv = Process::boot(cmd, "mqnamesrv", ns_addr);
    let port = free_port_pair();
    let store = tmp.join("store");
    let example =
        std::fs::read_to_string(b.dir.join("conf/2m-noslave/broker-a.properties")).unwrap();
    let broker_conf = tmp.join("broker-a.properties");
    std::fs::write(
        &broker_conf,
        format!(
            "{example}listenPort={port}\nbrokerIP1=127.0.0.1\nstorePathRootDir={}\nstorePathCommitLog={}/commitlog\nmappedFileSizeCommitLog=4194304\ndiskSpaceWarningLevelRatio=99\n",
            store.display(),
            store.display()
        ),
    )
    .unwrap();
    let mut cmd = b.sh("mqbroker");
    cmd.arg("-c")
        .arg(&broker_conf)
        .arg("-n")
        .arg(ns_addr.to_string());
    let mut broker = Process::boot(cmd, "mqbroker", SocketAddr::from(([127, 0, 0, 1], port)));
    assert!(
        store.join("abort").exists(),
        "a running broker holds its abort file"
    );

    // Java's log files, split by logger.
    let logs = b.logs();
    for f in [
        "namesrv.log",
        "namesrv_default.log",
        "broker.log",
        "store.log",
        "remoting.log",
        "transaction.log",
        "stats.log",
        "lock.log",
        "filter.log",
        "watermark.log",
        "storeerror.log",
        "broker_default.log",
    ] {
        assert!(logs.join(f).exists(), "{f} missing in {}", logs.display());
    }

    // mqshutdown stops the broker cleanly and waits for it, then the name server.
    let o = b.run("mqshutdown", &["broker"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("Send shutdown request to mqbroker(") && out.contains("stopped."),
        "{out}"
    );
    assert!(
        broker.terminate().success(),
        "the broker exits 0 on SIGTERM"
    );
    assert!(
        !store.join("abort").exists(),
        "a clean stop removes the abort file"
    );
    let o = b.run("mqshutdown", &["namesrv"]);
    assert!(
        o.status.success() && text(&o).contains("stopped."),
        "{}",
        text(&o)
    );
    assert!(namesrv.terminate().success());
    let broker_log = std::fs::read_to_string(logs.join("broker.log")).unwrap();
    assert!(broker_log.contains("SIGTERM"), "broker.log:\n{broker_log}");
    let o = b.run("mqshutdown", &["namesrv"]);
    assert!(!o.status.success() && text(&o).contains("No mqnamesrv running."));
}
