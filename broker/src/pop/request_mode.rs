//! 5.x server-side rebalance: `MessageRequestModeManager` (`config/messageRequestMode.json`)
//! and the queue allocation of `QueryAssignmentProcessor`.
//!
//! SET_MESSAGE_REQUEST_MODE stores a `SetMessageRequestModeRequestBody` per topic and group
//! (`{"messageRequestModeMap":{topic:{group:{"consumerGroup","mode","popShareQueueNum",
//! "topic"}}}}`, fastjson pretty form, written at once). QUERY_ASSIGNMENT answers with it,
//! or the default mode (PULL; PULL for a `%RETRY%` topic). The allocation (`doLoadBalance`,
//! CLUSTERING, `serverLoadBalancerEnable`): the topic's queues sorted, the group's client ids
//! sorted, then the named strategy (`AVG` = AllocateMessageQueueAveragely, `AVG_BY_CIRCLE`;
//! another name: no assignment, as Java's null); in POP mode `allocate4Pop`: with
//! `popShareQueueNum` ≤ 0 or ≥ clients − 1 every client gets every queue as queue id −1 (pop
//! from any queue), else its own share plus the shares of the next `popShareQueueNum` clients.
//! BROADCASTING gets every queue.
//!
//! One difference: Java takes the topic's queues from the name server's route
//! (`TopicRouteInfoManager`); here they are this broker's read queues, which is the route of a
//! topic served by one broker.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::config_file::ConfigFile;
use store::config_file::ConfigFileError;

/// `SetMessageRequestModeRequestBody`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetMessageRequestModeRequestBody {
    #[serde(default)]
    pub consumer_group: Option<String>,
    #[serde(default = "pull")]
    pub mode: String,
    #[serde(default)]
    pub pop_share_queue_num: i32,
    #[serde(default)]
    pub topic: Option<String>,
}

fn pull() -> String {
    "PULL".to_owned()
}

#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wrapper {
    #[serde(default)]
    message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

pub struct MessageRequestModeManager {
    file: ConfigFile,
    table: Mutex<Wrapper>,
}

impl MessageRequestModeManager {
    /// Loads `config/messageRequestMode.json` (or its `.bak`).
    pub fn open(store_root: &Path) -> Result<Self, ConfigFileError> {
        let file =
            ConfigFile::new(crate::paths::config_dir(store_root).join("messageRequestMode.json"));
        let table = file
            .load(remoting_codec::fastjson::from_str::<Wrapper>)?
            .unwrap_or_default();
        Ok(MessageRequestModeManager {
            file,
            table: Mutex::new(table),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Wrapper> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        self.lock()
            .message_request_mode_map
            .get(topic)
            .and_then(|g| g.get(group))
            .cloned()
    }

    /// Sets and persists.
    pub fn set(
        &self,
        topic: &str,
        group: &str,
        body: SetMessageRequestModeRequestBody,
    ) -> io::Result<()> {
        self.lock()
            .message_request_mode_map
            .entry(topic.to_owned())
            .or_default()
            .insert(group.to_owned(), body);
        self.file.persist(|| {
            remoting_codec::fastjson::to_string_pretty(&*self.lock()).unwrap_or_default()
        })
    }
}

/// `AllocateMessageQueueAveragely.allocate`.
pub fn allocate_averagely<T: Clone>(mq_all: &[T], cid_all: &[String], cid: &str) -> Vec<T> {
    let Some(index) = cid_all.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    let (n, m) = (mq_all.len(), cid_all.len());
    if n == 0 {
        return Vec::new();
    }
    let rem = n % m;
    let average = if n <= m {
        1
    } else if rem > 0 && index < rem {
        n / m + 1
    } else {
        n / m
    };
    let start = if rem > 0 && index < rem {
        index * average
    } else {
        index * average + rem
    };
    let range = average.min(n.saturating_sub(start));
    (0..range)
        .map(|i| mq_all[(start + i) % n].clone())
        .collect()
}

/// `AllocateMessageQueueAveragelyByCircle.allocate`.
pub fn allocate_by_circle<T: Clone>(mq_all: &[T], cid_all: &[String], cid: &str) -> Vec<T> {
    let Some(index) = cid_all.iter().position(|c| c == cid) else {
        return Vec::new();
    };
    (index..mq_all.len())
        .step_by(cid_all.len().max(1))
        .map(|i| mq_all[i].clone())
        .collect()
}

/// An allocation strategy: the queues, the client ids (both sorted), the asking client.
pub type Strategy<T> = fn(&[T], &[String], &str) -> Vec<T>;

/// The strategy by Java's name.
pub fn strategy<T: Clone>(name: &str) -> Option<Strategy<T>> {
    match name {
        "AVG" => Some(allocate_averagely::<T>),
        "AVG_BY_CIRCLE" => Some(allocate_by_circle::<T>),
        _ => None,
    }
}

/// `allocate4Pop` over queue ids (`-1`: every queue).
pub fn allocate_for_pop(
    alloc: Strategy<i32>,
    mq_all: &[i32],
    cid_all: &[String],
    cid: &str,
    pop_share_queue_num: i32,
) -> Vec<i32> {
    if pop_share_queue_num <= 0 || pop_share_queue_num as usize >= cid_all.len().saturating_sub(1) {
        return mq_all.iter().map(|_| -1).collect();
    }
    if cid_all.len() <= mq_all.len() {
        let mut result = alloc(mq_all, cid_all, cid);
        if let Some(mut index) = cid_all.iter().position(|c| c == cid) {
            for _ in 1..=pop_share_queue_num {
                index = (index + 1) % cid_all.len();
                result.extend(alloc(mq_all, cid_all, &cid_all[index]));
            }
        }
        result
    } else {
        // `allocate`: one queue per client, round the queues.
        match cid_all.iter().position(|c| c == cid) {
            Some(i) => vec![mq_all[i % mq_all.len()]],
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    #[test]
    fn strategies_as_java() {
        let mq: Vec<i32> = (0..5).collect();
        assert_eq!(allocate_averagely(&mq, &cids(2), "c0"), vec![0, 1, 2]);
        assert_eq!(allocate_averagely(&mq, &cids(2), "c1"), vec![3, 4]);
        assert_eq!(
            allocate_averagely(&mq[..2], &cids(3), "c2"),
            Vec::<i32>::new()
        );
        assert_eq!(allocate_by_circle(&mq, &cids(2), "c1"), vec![1, 3]);
        assert_eq!(allocate_averagely(&mq, &cids(2), "x"), Vec::<i32>::new());
        let avg = strategy::<i32>("AVG").unwrap();
        assert_eq!(
            allocate_for_pop(avg, &[0, 1], &cids(3), "c0", -1),
            vec![-1, -1]
        );
        assert_eq!(allocate_for_pop(avg, &mq, &cids(4), "c0", 1), vec![0, 1, 2]);
        assert_eq!(allocate_for_pop(avg, &[0, 1], &cids(4), "c3", 1), vec![1]);
    }
}
