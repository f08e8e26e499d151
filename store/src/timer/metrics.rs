//! `config/timermetrics`: 5.x's `TimerMetrics`, the pending timer messages per real topic.
//!
//! The file is Java's `TimerMetricsSerializeWrapper` as fastjson writes it with
//! `BrowserCompatible` (compact): `{"dataVersion":{"counter":..,"stateVersion":0,
//! "timestamp":..},"timingCount":{"<topic>":{"count":n,"timeStamp":ms}}}`, written through
//! `.tmp` with the previous content kept in `.bak`. Java's map is a ConcurrentHashMap; ours
//! writes topics in name order (readers do not depend on the order). Every change counts in
//! the DataVersion (counter + 1, timestamp = now) and stamps the topic's `timeStamp`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use remoting_codec::fastjson;
use remoting_codec::protocol::common::DataVersion;
use serde::{Deserialize, Serialize};

use crate::config_file;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    pub count: i64,
    pub time_stamp: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerMetricsWrapper {
    #[serde(default)]
    pub data_version: DataVersion,
    #[serde(default)]
    pub timing_count: BTreeMap<String, Metric>,
}

pub struct TimerMetrics {
    path: PathBuf,
    state: Mutex<TimerMetricsWrapper>,
}

impl TimerMetrics {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            state: Mutex::new(TimerMetricsWrapper {
                data_version: DataVersion {
                    counter: 0,
                    state_version: Some(0),
                    timestamp: 0,
                },
                timing_count: BTreeMap::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TimerMetricsWrapper> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Java's `load` (file, else `.bak`; absent: empty).
    pub fn load(&self) -> Result<(), config_file::ConfigFileError> {
        if let Some(w) =
            config_file::load_with(&self.path, fastjson::from_str::<TimerMetricsWrapper>)?
        {
            let mut state = self.state();
            state.timing_count.extend(w.timing_count);
            state.data_version = w.data_version;
            if state.data_version.state_version.is_none() {
                state.data_version.state_version = Some(0);
            }
        }
        Ok(())
    }

    /// Java's `addAndGet`: the topic's count changed by `value`.
    pub fn add_and_get(&self, topic: &str, value: i64, now: i64) -> i64 {
        let mut state = self.state();
        state.data_version.counter += 1;
        state.data_version.timestamp = now;
        let metric = state
            .timing_count
            .entry(topic.to_owned())
            .or_insert(Metric {
                count: 0,
                time_stamp: now,
            });
        metric.time_stamp = now;
        metric.count += value;
        metric.count
    }

    /// Java's `getTimingCount(topic)`.
    pub fn timing_count(&self, topic: &str) -> i64 {
        self.state().timing_count.get(topic).map_or(0, |m| m.count)
    }

    pub fn snapshot(&self) -> TimerMetricsWrapper {
        self.state().clone()
    }

    /// The file's text.
    pub fn encode(&self) -> String {
        let bytes = fastjson::to_vec_standard(&*self.state()).expect("metrics serialize");
        String::from_utf8(bytes).expect("JSON is UTF-8")
    }

    /// Java's `encode()`: the same JSON in fastjson's default form (GET_TIMER_METRICS), which
    /// differs from the file's only for non-ASCII topic names.
    pub fn encode_default(&self) -> String {
        let bytes = fastjson::to_vec(&*self.state()).expect("metrics serialize");
        String::from_utf8(bytes).expect("JSON is UTF-8")
    }

    pub fn persist(&self) {
        if let Err(e) = config_file::persist(&self.path, &self.encode()) {
            tracing::error!("persist {} failed: {e}", self.path.display());
        }
    }
}
