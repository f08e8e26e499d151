//! Broker-wide runtime information: GET_BROKER_RUNTIME_INFO (28, mqadmin `brokerStatus` and
//! `clusterList`, the dashboard) and GET_ALL_DELAY_OFFSET (45), from Java's
//! `AdminBrokerProcessor` and `DefaultMessageStore.getRuntimeInfo`.
//!
//! Both answer SUCCESS without a header (Java's `createResponseCommand(null)`).
//!
//! 28's table has Java 4.9.8's keys: the store's statistics (`putTps`, `getTotalTps`,
//! `putMessageTimesTotal`, `putLatency99`, … from [`store::stats`]), the day's counts
//! ([`crate::stats`]), the put lock's hold time, disk and offset facts, the schedule offsets.
//! Java's request thread-pool queues have no counterpart (requests run as tasks at once), so
//! their sizes and head waits are reported as the 0 they are.

use std::collections::BTreeMap;
use std::path::Path;

use remoting_codec::code::{request as req, response as resp, version};
use remoting_codec::protocol::common::KvTable;
use remoting_codec::RemotingCommand;
use store::{DiskUsageProbe, StatvfsProbe};

use super::body::json_response;
use super::{Refusal, Route};
use crate::controller::BrokerController;

/// The broker version reported (the wire version this broker speaks).
const BROKER_VERSION: i32 = version::V4_9_8;

/// GET_ALL_DELAY_OFFSET: the schedule service's table, compact (`{"offsetTable":{1:1,2:1}}`).
/// Java's "No delay offset in this broker" error needs an empty encoding, which a table never
/// has, so the answer is always SUCCESS.
pub fn get_all_delay_offset(ctrl: &BrokerController, request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(request, resp::SUCCESS)
        .with_body(ctrl.schedule_message_service.encode(false).into_bytes())
}

/// GET_BROKER_RUNTIME_INFO: a `KVTable` of runtime facts (see the module notes for what is left
/// out).
pub fn get_broker_runtime_info(
    ctrl: &BrokerController,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let table = KvTable {
        table: runtime_info(ctrl, crate::now_millis()),
    };
    json_response(request, &table)
}

/// Java's `prepareRuntimeInfo`, restricted to what is measured here.
pub fn runtime_info(ctrl: &BrokerController, now: i64) -> BTreeMap<String, String> {
    let store = &ctrl.store;
    let config = store.config();
    let mut t = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    put(
        "brokerVersionDesc",
        version::version_name(BROKER_VERSION).unwrap_or_default(),
    );
    put("brokerVersion", BROKER_VERSION.to_string());
    put("bootTimestamp", ctrl.boot_timestamp.to_string());
    put("runtime", format_runtime(now - ctrl.boot_timestamp));

    // DefaultMessageStore.getRuntimeInfo: one ratio per commitlog path and their minimum (a
    // single path here), the consume-queue disk.
    let probe = StatvfsProbe;
    let commit_log_dir = config.commit_log_dir();
    let ratio = if commit_log_dir.exists() {
        probe.used_ratio(&commit_log_dir)
    } else {
        -1.0
    };
    put(
        &format!("commitLogDiskRatio_{}", commit_log_dir.display()),
        java_double(ratio),
    );
    put("commitLogDiskRatio", java_double(ratio));
    put(
        "consumeQueueDiskRatio",
        java_double(probe.used_ratio(&config.consume_queue_dir())),
    );
    put("commitLogMinOffset", store.min_phy_offset().to_string());
    put("commitLogMaxOffset", store.max_phy_offset().to_string());

    let mut schedule = BTreeMap::new();
    ctrl.schedule_message_service
        .build_running_stats(&mut schedule);
    t.extend(schedule);

    let mut put = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    let b = &ctrl.broker_config;
    put(
        "sendThreadPoolQueueCapacity",
        b.send_thread_pool_queue_capacity.to_string(),
    );
    put(
        "pullThreadPoolQueueCapacity",
        b.pull_thread_pool_queue_capacity.to_string(),
    );
    put(
        "queryThreadPoolQueueCapacity",
        b.query_thread_pool_queue_capacity.to_string(),
    );
    put(
        "EndTransactionThreadPoolQueueCapacity",
        b.end_transaction_pool_queue_capacity.to_string(),
    );
    put(
        "dispatchBehindBytes",
        store.dispatch_behind_bytes().to_string(),
    );
    put(
        "earliestMessageTimeStamp",
        earliest_message_time(ctrl).to_string(),
    );
    put(
        "startAcceptSendRequestTimeStamp",
        b.start_accept_send_request_time_stamp.to_string(),
    );
    // No transient store pool: Java reports Integer.MAX_VALUE buffers then.
    put("remainTransientStoreBufferNumbs", i32::MAX.to_string());
    put(
        "remainHowManyDataToFlush",
        human_readable_byte_count(store.remain_how_many_data_to_flush()),
    );
    let root = &config.store_path_root_dir;
    if root.exists() {
        if let Some((total, usable)) = disk_space(root) {
            put(
                "commitLogDirCapacity",
                format!(
                    "Total : {}, Free : {}.",
                    human_readable_byte_count(total),
                    human_readable_byte_count(usable)
                ),
            );
        }
    }
    for (k, v) in store.stats().runtime_info() {
        t.insert(k.to_owned(), v);
    }
    for (k, v) in ctrl.broker_stats.runtime_info(store) {
        t.insert(k.to_owned(), v);
    }
    t.insert(
        "pageCacheLockTimeMills".to_owned(),
        store.lock_time_mills().to_string(),
    );
    // Java's request thread pools queue requests that wait for a thread; here every request
    // runs as a task at once, so no request is ever queued: sizes and head waits are 0.
    for pool in ["send", "pull", "query"] {
        t.insert(format!("{pool}ThreadPoolQueueSize"), "0".to_owned());
        t.insert(
            format!("{pool}ThreadPoolQueueHeadWaitTimeMills"),
            "0".to_owned(),
        );
    }
    t.insert("EndTransactionQueueSize".to_owned(), "0".to_owned());
    t
}

/// Java's `getEarliestMessageTime()`: the store time read from a `2 × maxMessageSize` window at
/// the commitlog's minimum offset, -1 when the first file holds fewer written bytes than that
/// (a quirk: a young broker with the default 4 MiB limit answers -1, as the recorded
/// `brokerStatus` shows).
fn earliest_message_time(ctrl: &BrokerController) -> i64 {
    let store = &ctrl.store;
    let size = store.config().max_message_size.saturating_mul(2);
    store
        .select_one_message_by_offset_and_size(store.min_phy_offset(), size)
        .and_then(|b| store::record_store_timestamp(&b))
        .unwrap_or(-1)
}

/// `StoreStatsService.getFormatRuntime`: `[ D days, H hours, M minutes, S seconds ]`.
pub fn format_runtime(elapsed_ms: i64) -> String {
    let t = elapsed_ms.max(0);
    let (second, minute, hour, day) = (1000, 60_000, 3_600_000, 86_400_000);
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        group_thousands(t / day),
        (t % day) / hour,
        (t % hour) / minute,
        (t % minute) / second
    )
}

/// `MessageFormat` writes numbers with grouping separators (`1,234`).
fn group_thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Java's `Double.toString` for the ratios (always a fraction digit: `1.0`, `-1.0`, `0.23`).
fn java_double(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

/// `MixAll.humanReadableByteCount(bytes, si = false)`: `512 B`, `1.5 KiB`, `70.1 GiB`.
pub fn human_readable_byte_count(bytes: i64) -> String {
    const UNIT: f64 = 1024.0;
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / UNIT.ln()) as i32;
    let pre = ['K', 'M', 'G', 'T', 'P', 'E'][(exp - 1).clamp(0, 5) as usize];
    format!("{:.1} {pre}iB", bytes as f64 / UNIT.powi(exp))
}

/// `File.getTotalSpace()` and `getUsableSpace()` of the filesystem holding `path`.
fn disk_space(path: &Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into the struct we pass; the path is NUL-terminated.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    let unit = st.f_frsize as i64;
    Some((st.f_blocks as i64 * unit, st.f_bavail as i64 * unit))
}

pub(super) const ROUTES: &[Route] = &[
    Route::inline(req::GET_ALL_DELAY_OFFSET, |cx, r| {
        Ok(get_all_delay_offset(&cx.ctrl, &r).into())
    }),
    // Reads disk usage (statvfs) and the earliest message's store time.
    Route::blocking(req::GET_BROKER_RUNTIME_INFO, |cx, r| {
        Ok(get_broker_runtime_info(&cx.ctrl, &r)?.into())
    }),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_is_formatted_as_java() {
        assert_eq!(
            format_runtime(135_000),
            "[ 0 days, 0 hours, 2 minutes, 15 seconds ]"
        );
        assert_eq!(
            format_runtime(1234 * 86_400_000 + 3_600_000 + 1000),
            "[ 1,234 days, 1 hours, 0 minutes, 1 seconds ]"
        );
    }

    #[test]
    fn byte_counts_are_formatted_as_java() {
        assert_eq!(human_readable_byte_count(0), "0 B");
        assert_eq!(human_readable_byte_count(1023), "1023 B");
        assert_eq!(human_readable_byte_count(1536), "1.5 KiB");
        // The recorded brokerStatus: "Total : 252.0 GiB".
        assert_eq!(human_readable_byte_count(252 * (1 << 30)), "252.0 GiB");
    }

    /// Every key of the Java broker's answer in the recorded `mqadmin clusterList` (s12 m01)
    /// is in ours, and ours has no key Java's lacks besides the schedule offsets (Java lists a
    /// level once it has an offset; that capture had no delayed message).
    #[test]
    fn runtime_info_has_the_keys_of_javas_answer() {
        use base64::Engine;
        let capture = crate::test_util::golden("captures/s12-mqadmin/m01-clusterList.jsonl");
        let java_keys: std::collections::BTreeSet<String> = std::fs::read_to_string(capture)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|f| f["is_response"] == true && f["server_port"] == 10911)
            .filter_map(|f| {
                let body = base64::engine::general_purpose::STANDARD
                    .decode(f["body_b64"].as_str()?)
                    .ok()?;
                let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
                Some(v["table"].as_object()?.keys().cloned().collect::<Vec<_>>())
            })
            .flatten()
            .map(|k| {
                // The per-path ratio key names the recording machine's store directory.
                if k.starts_with("commitLogDiskRatio_") {
                    "commitLogDiskRatio_<path>".to_owned()
                } else {
                    k
                }
            })
            .collect();
        assert!(java_keys.len() > 40, "{java_keys:?}");

        let dir = crate::test_util::TempDir::new("runtime-info-keys");
        let conf = format!(
            "brokerName=broker-a\nstorePathRootDir={}\nlistenPort=10911\n",
            dir.path().display()
        );
        let loaded = crate::config::LoadedConfig::from_text(&conf).unwrap();
        let ctrl = BrokerController::new(loaded).unwrap();
        let ours: std::collections::BTreeSet<String> = runtime_info(&ctrl, crate::now_millis())
            .into_keys()
            .map(|k| {
                if k.starts_with("commitLogDiskRatio_") {
                    "commitLogDiskRatio_<path>".to_owned()
                } else {
                    k
                }
            })
            .filter(|k| !k.starts_with("scheduleMessageOffset_"))
            .collect();
        let _ = ctrl.store.shutdown();
        assert_eq!(ours, java_keys);
    }

    #[test]
    fn ratios_print_as_java_doubles() {
        assert_eq!(java_double(0.23), "0.23");
        assert_eq!(java_double(-1.0), "-1.0");
        assert_eq!(java_double(1.0), "1.0");
    }
}
