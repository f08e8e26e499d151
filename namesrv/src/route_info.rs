//! `RouteInfoManager`: who is alive and which broker serves which topic.
//!
//! Tables, as in Java (4.9.8):
//! - `topic_queue_table`: topic → broker name → `QueueData` (queue counts, perm, sys flag);
//! - `broker_addr_table`: broker name → `BrokerData` (cluster, addresses by broker id, 0 =
//!   master);
//! - `cluster_addr_table`: cluster → broker names;
//! - `broker_live_table`: broker address → last registration time, data version, the
//!   connection it registered on, HA address, and (5.x) its own timeout;
//! - `filter_server_table`: broker address → filter server addresses.
//!
//! A registration *merges* the broker's topics into the topic table and never removes one:
//! 4.9.8 brokers register just the changed topic (a one-entry table) after a topic update, and
//! a topic disappears only through DELETE_TOPIC_IN_NAMESRV or when its last broker name goes.
//! Queue data is only taken from masters (broker id 0), and only when the broker's data version
//! changed or the broker is new. A broker goes away on UNREGISTER_BROKER, when its connection
//! closes, or when it has not registered for its timeout (120 s; scanned every 10 s).
//!
//! All tables sit behind one lock, like Java's read/write lock; no operation awaits while
//! holding it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use remoting::Connection;
use remoting_codec::message::sysflag::topic_sys_flag;
use remoting_codec::protocol::common::TopicConfigSerializeWrapper;
use remoting_codec::protocol::perm;
use remoting_codec::protocol::route::{
    BrokerData, ClusterInfo, QueueData, TopicList, TopicRouteData,
};
use remoting_codec::protocol::DataVersion;

/// Java's `BROKER_CHANNEL_EXPIRED_TIME`: a broker not heard from for this long is dropped.
pub const DEFAULT_BROKER_EXPIRY: Duration = Duration::from_secs(120);

/// A registration, as the REGISTER_BROKER handler hands it over.
pub struct Registration<'a> {
    pub cluster_name: &'a str,
    pub broker_addr: &'a str,
    pub broker_name: &'a str,
    pub broker_id: i64,
    pub ha_server_addr: &'a str,
    /// 5.x `heartbeatTimeoutMillis`; `None` means the default expiry.
    pub timeout: Option<Duration>,
    pub topics: &'a TopicConfigSerializeWrapper,
    /// `None` for pre-3.0.11 brokers, which send no filter server list.
    pub filter_servers: Option<&'a [String]>,
    pub channel: Option<Arc<Connection>>,
}

/// What a slave needs to follow its master (both `None` for a master or an unknown master).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RegisterResult {
    pub ha_server_addr: Option<String>,
    pub master_addr: Option<String>,
}

struct BrokerLiveInfo {
    last_update: Instant,
    timeout: Duration,
    data_version: DataVersion,
    channel: Option<Arc<Connection>>,
    ha_server_addr: String,
}

#[derive(Default)]
struct Tables {
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: BTreeMap<String, BrokerLiveInfo>,
    filter_server_table: BTreeMap<String, Vec<String>>,
}

pub struct RouteInfoManager {
    tables: RwLock<Tables>,
    default_expiry: Duration,
}

impl Default for RouteInfoManager {
    fn default() -> Self {
        Self::new(DEFAULT_BROKER_EXPIRY)
    }
}

impl RouteInfoManager {
    /// `default_expiry` applies to brokers that do not send their own timeout.
    pub fn new(default_expiry: Duration) -> Self {
        Self {
            tables: RwLock::default(),
            default_expiry,
        }
    }

    pub fn register_broker(&self, r: Registration<'_>) -> RegisterResult {
        let mut t = self.write();
        t.cluster_addr_table
            .entry(r.cluster_name.to_owned())
            .or_default()
            .insert(r.broker_name.to_owned());

        let mut register_first = false;
        let broker_data = t
            .broker_addr_table
            .entry(r.broker_name.to_owned())
            .or_insert_with(|| {
                register_first = true;
                BrokerData::new(r.cluster_name, r.broker_name)
            });
        // A slave promoted to master re-registers the same address under id 0: one address
        // has one id.
        broker_data
            .broker_addrs
            .retain(|id, addr| !(addr == r.broker_addr && *id != r.broker_id));
        let old_addr = broker_data
            .broker_addrs
            .insert(r.broker_id, r.broker_addr.to_owned());
        register_first |= old_addr.is_none();

        if r.broker_id == BrokerData::MASTER_ID {
            let changed = t
                .broker_live_table
                .get(r.broker_addr)
                .is_none_or(|live| live.data_version != r.topics.data_version);
            if changed || register_first {
                for config in r.topics.topic_config_table.values() {
                    let queue_data = QueueData {
                        broker_name: r.broker_name.to_owned(),
                        perm: config.perm,
                        read_queue_nums: config.read_queue_nums,
                        topic_sys_flag: config.topic_sys_flag,
                        write_queue_nums: config.write_queue_nums,
                    };
                    t.topic_queue_table
                        .entry(config.topic_name.clone())
                        .or_default()
                        .insert(r.broker_name.to_owned(), queue_data);
                }
            }
        }

        let prev = t.broker_live_table.insert(
            r.broker_addr.to_owned(),
            BrokerLiveInfo {
                last_update: Instant::now(),
                timeout: r.timeout.unwrap_or(self.default_expiry),
                data_version: r.topics.data_version.clone(),
                channel: r.channel,
                ha_server_addr: r.ha_server_addr.to_owned(),
            },
        );
        if prev.is_none() {
            tracing::info!(
                "new broker registered, {} HAServer: {}",
                r.broker_addr,
                r.ha_server_addr
            );
        }

        if let Some(list) = r.filter_servers {
            if list.is_empty() {
                t.filter_server_table.remove(r.broker_addr);
            } else {
                t.filter_server_table
                    .insert(r.broker_addr.to_owned(), list.to_vec());
            }
        }

        let mut result = RegisterResult::default();
        if r.broker_id != BrokerData::MASTER_ID {
            let master = t
                .broker_addr_table
                .get(r.broker_name)
                .and_then(|b| b.master_addr());
            if let Some(master) = master {
                if let Some(live) = t.broker_live_table.get(master) {
                    result.ha_server_addr = Some(live.ha_server_addr.clone());
                    result.master_addr = Some(master.to_owned());
                }
            }
        }
        result
    }

    /// QUERY_DATA_VERSION: whether the broker's topic table differs from what we hold; when it
    /// does not, the query counts as a heartbeat. Returns `(changed, our version)`.
    pub fn query_data_version(
        &self,
        broker_addr: &str,
        theirs: &DataVersion,
    ) -> (bool, Option<DataVersion>) {
        let mut t = self.write();
        match t.broker_live_table.get_mut(broker_addr) {
            Some(live) => {
                let changed = live.data_version != *theirs;
                if !changed {
                    live.last_update = Instant::now();
                }
                (changed, Some(live.data_version.clone()))
            }
            None => (true, None),
        }
    }

    pub fn unregister_broker(
        &self,
        cluster_name: &str,
        broker_addr: &str,
        broker_name: &str,
        broker_id: i64,
    ) {
        let mut t = self.write();
        let live = t.broker_live_table.remove(broker_addr);
        tracing::info!(
            "unregisterBroker, remove from brokerLiveTable {}, {}",
            if live.is_some() { "OK" } else { "Failed" },
            broker_addr
        );
        t.filter_server_table.remove(broker_addr);
        let mut remove_broker_name = false;
        if let Some(data) = t.broker_addr_table.get_mut(broker_name) {
            data.broker_addrs.remove(&broker_id);
            if data.broker_addrs.is_empty() {
                t.broker_addr_table.remove(broker_name);
                remove_broker_name = true;
            }
        }
        if remove_broker_name {
            if let Some(names) = t.cluster_addr_table.get_mut(cluster_name) {
                names.remove(broker_name);
                if names.is_empty() {
                    t.cluster_addr_table.remove(cluster_name);
                }
            }
            t.remove_topics_of(broker_name);
        }
    }

    /// Drops the broker that registered on `conn` (its connection closed).
    pub fn on_channel_destroy(&self, conn_id: u64) {
        let mut t = self.write();
        let found = t
            .broker_live_table
            .iter()
            .find(|(_, live)| live.channel.as_ref().is_some_and(|c| c.id() == conn_id))
            .map(|(addr, _)| addr.clone());
        if let Some(addr) = found {
            tracing::info!(
                "the broker's channel destroyed, {}, clean it's data structure at once",
                addr
            );
            t.remove_broker_addr(&addr);
        }
    }

    /// Drops every broker whose last registration is older than its timeout, closing its
    /// connection. Returns how many were dropped.
    pub fn scan_not_active_broker(&self) -> usize {
        self.scan_not_active_broker_at(Instant::now())
    }

    /// [`scan_not_active_broker`](Self::scan_not_active_broker) as of `now`.
    pub fn scan_not_active_broker_at(&self, now: Instant) -> usize {
        let mut t = self.write();
        let expired: Vec<String> = t
            .broker_live_table
            .iter()
            .filter(|(_, live)| now.duration_since(live.last_update) > live.timeout)
            .map(|(addr, _)| addr.clone())
            .collect();
        for addr in &expired {
            tracing::warn!(
                "The broker channel expired, {} {:?}",
                addr,
                self.default_expiry
            );
            if let Some(conn) = t
                .broker_live_table
                .get(addr)
                .and_then(|live| live.channel.as_ref())
            {
                conn.close();
            }
            t.remove_broker_addr(addr);
        }
        expired.len()
    }

    /// GET_ROUTEINFO_BY_TOPIC: `None` unless the topic has queue data and at least one of its
    /// broker names is known.
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let t = self.read();
        let queues = t.topic_queue_table.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: queues.values().cloned().collect(),
            ..TopicRouteData::default()
        };
        for broker_name in queues.keys() {
            if let Some(data) = t.broker_addr_table.get(broker_name) {
                for addr in data.broker_addrs.values() {
                    if let Some(servers) = t.filter_server_table.get(addr) {
                        route
                            .filter_server_table
                            .insert(addr.clone(), servers.clone());
                    }
                }
                route.broker_datas.push(data.clone());
            }
        }
        (!route.broker_datas.is_empty()).then_some(route)
    }

    pub fn cluster_info(&self) -> ClusterInfo {
        let t = self.read();
        ClusterInfo {
            broker_addr_table: t.broker_addr_table.clone(),
            cluster_addr_table: t
                .cluster_addr_table
                .iter()
                .map(|(c, names)| (c.clone(), names.iter().cloned().collect()))
                .collect(),
        }
    }

    pub fn all_topics(&self) -> TopicList {
        topic_list(self.read().topic_queue_table.keys().cloned())
    }

    /// DELETE_TOPIC_IN_NAMESRV without a cluster: the topic goes everywhere.
    pub fn delete_topic(&self, topic: &str) {
        self.write().topic_queue_table.remove(topic);
    }

    /// DELETE_TOPIC_IN_NAMESRV with a cluster: only that cluster's broker names lose it.
    pub fn delete_topic_in_cluster(&self, topic: &str, cluster: &str) {
        let mut t = self.write();
        let Some(names) = t.cluster_addr_table.get(cluster).cloned() else {
            return;
        };
        if let Some(queues) = t.topic_queue_table.get_mut(topic) {
            for name in &names {
                queues.remove(name);
            }
            if queues.is_empty() {
                t.topic_queue_table.remove(topic);
            }
        }
    }

    /// WIPE_WRITE_PERM_OF_BROKER: clears the write bit of the broker name's queues; returns
    /// the number of topics touched.
    pub fn wipe_write_perm(&self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// ADD_WRITE_PERM_OF_BROKER: sets the broker name's queues to read+write (Java replaces
    /// the whole permission, dropping e.g. INHERIT).
    pub fn add_write_perm(&self, broker_name: &str) -> i32 {
        self.update_perm(broker_name, |_| perm::READ | perm::WRITE)
    }

    /// GET_TOPICS_BY_CLUSTER; an unknown cluster gives an empty list.
    pub fn topics_by_cluster(&self, cluster: &str) -> TopicList {
        let t = self.read();
        let mut topics = Vec::new();
        if let Some(names) = t.cluster_addr_table.get(cluster) {
            for name in names {
                for (topic, queues) in &t.topic_queue_table {
                    if queues.contains_key(name) {
                        topics.push(topic.clone());
                    }
                }
            }
        }
        topic_list(topics)
    }

    /// GET_SYSTEM_TOPIC_LIST_FROM_NS: cluster names and broker names (each broker answers for
    /// its own system topics), plus the address of one broker to ask.
    pub fn system_topics(&self) -> TopicList {
        let t = self.read();
        let mut topics = Vec::new();
        for (cluster, names) in &t.cluster_addr_table {
            topics.push(cluster.clone());
            topics.extend(names.iter().cloned());
        }
        let mut list = topic_list(topics);
        list.broker_addr = t
            .broker_addr_table
            .values()
            .find_map(|b| b.broker_addrs.values().next().cloned());
        list
    }

    /// GET_UNIT_TOPIC_LIST (311).
    pub fn unit_topics(&self) -> TopicList {
        self.topics_where(|f| f & topic_sys_flag::FLAG_UNIT != 0)
    }

    /// GET_HAS_UNIT_SUB_TOPIC_LIST (312).
    pub fn has_unit_sub_topics(&self) -> TopicList {
        self.topics_where(|f| f & topic_sys_flag::FLAG_UNIT_SUB != 0)
    }

    /// GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313).
    pub fn has_unit_sub_ununit_topics(&self) -> TopicList {
        self.topics_where(|f| {
            f & topic_sys_flag::FLAG_UNIT == 0 && f & topic_sys_flag::FLAG_UNIT_SUB != 0
        })
    }

    /// Whether a broker address is registered (for tests and logs).
    pub fn is_broker_live(&self, broker_addr: &str) -> bool {
        self.read().broker_live_table.contains_key(broker_addr)
    }

    /// Java judges a topic by its first queue data only.
    fn topics_where(&self, pick: impl Fn(i32) -> bool) -> TopicList {
        let t = self.read();
        topic_list(
            t.topic_queue_table
                .iter()
                .filter(|(_, q)| q.values().next().is_some_and(|qd| pick(qd.topic_sys_flag)))
                .map(|(topic, _)| topic.clone()),
        )
    }

    fn update_perm(&self, broker_name: &str, f: impl Fn(i32) -> i32) -> i32 {
        let mut t = self.write();
        let mut count = 0;
        for queues in t.topic_queue_table.values_mut() {
            if let Some(qd) = queues.get_mut(broker_name) {
                qd.perm = f(qd.perm);
                count += 1;
            }
        }
        count
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tables {
    /// Java's `onChannelDestroy` once the address is known: the address leaves the live,
    /// filter and address tables; a broker name left without addresses leaves its cluster
    /// and every topic.
    fn remove_broker_addr(&mut self, addr: &str) {
        self.broker_live_table.remove(addr);
        self.filter_server_table.remove(addr);
        let mut emptied = None;
        for (name, data) in self.broker_addr_table.iter_mut() {
            let before = data.broker_addrs.len();
            data.broker_addrs.retain(|_, a| a != addr);
            if data.broker_addrs.len() != before {
                if data.broker_addrs.is_empty() {
                    emptied = Some(name.clone());
                }
                break;
            }
        }
        let Some(name) = emptied else { return };
        self.broker_addr_table.remove(&name);
        self.cluster_addr_table.retain(|_, names| {
            names.remove(&name);
            !names.is_empty()
        });
        self.remove_topics_of(&name);
    }

    fn remove_topics_of(&mut self, broker_name: &str) {
        self.topic_queue_table.retain(|_, queues| {
            queues.remove(broker_name);
            !queues.is_empty()
        });
    }
}

fn topic_list(topics: impl IntoIterator<Item = String>) -> TopicList {
    TopicList {
        broker_addr: None,
        topic_list: topics.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remoting_codec::protocol::TopicConfig;

    fn wrapper(counter: i64, topics: &[(&str, i32)]) -> TopicConfigSerializeWrapper {
        let mut w = TopicConfigSerializeWrapper::default();
        w.data_version.counter = counter;
        for (name, queues) in topics {
            let mut c = TopicConfig::new(*name);
            c.read_queue_nums = *queues;
            c.write_queue_nums = *queues;
            w.topic_config_table.insert(name.to_string(), c);
        }
        w
    }

    fn register(
        m: &RouteInfoManager,
        addr: &str,
        name: &str,
        id: i64,
        w: &TopicConfigSerializeWrapper,
    ) -> RegisterResult {
        m.register_broker(Registration {
            cluster_name: "C",
            broker_addr: addr,
            broker_name: name,
            broker_id: id,
            ha_server_addr: &format!("{addr}-ha"),
            timeout: None,
            topics: w,
            filter_servers: Some(&[]),
            channel: None,
        })
    }

    #[test]
    fn partial_registration_merges_topics() {
        let m = RouteInfoManager::default();
        register(
            &m,
            "a:1",
            "broker-a",
            0,
            &wrapper(1, &[("T1", 4), ("T2", 8)]),
        );
        // 4.9.8 after `updateTopic`: only the changed topic, with a new data version.
        register(&m, "a:1", "broker-a", 0, &wrapper(2, &[("T3", 2)]));
        assert_eq!(m.all_topics().topic_list, ["T1", "T2", "T3"]);
        // Same data version again: queue data is not re-read.
        register(&m, "a:1", "broker-a", 0, &wrapper(2, &[("T3", 5)]));
        let route = m.pickup_topic_route_data("T3").unwrap();
        assert_eq!(route.queue_datas[0].read_queue_nums, 2);
    }

    #[test]
    fn slave_gets_master_ha_address_and_topics_come_from_masters() {
        let m = RouteInfoManager::default();
        let master = register(&m, "a:1", "broker-a", 0, &wrapper(1, &[("T", 4)]));
        assert_eq!(master, RegisterResult::default());
        let slave = register(&m, "a:2", "broker-a", 1, &wrapper(1, &[("S", 4)]));
        assert_eq!(slave.master_addr.as_deref(), Some("a:1"));
        assert_eq!(slave.ha_server_addr.as_deref(), Some("a:1-ha"));
        assert!(m.pickup_topic_route_data("S").is_none());
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }

    #[test]
    fn unregister_removes_broker_name_cluster_and_topics() {
        let m = RouteInfoManager::default();
        register(&m, "a:1", "broker-a", 0, &wrapper(1, &[("T", 4)]));
        register(&m, "b:1", "broker-b", 0, &wrapper(1, &[("T", 4), ("U", 1)]));
        m.unregister_broker("C", "b:1", "broker-b", 0);
        assert_eq!(m.all_topics().topic_list, ["T"]);
        assert_eq!(m.cluster_info().cluster_addr_table["C"], ["broker-a"]);
        m.unregister_broker("C", "a:1", "broker-a", 0);
        assert!(m.cluster_info().cluster_addr_table.is_empty());
        assert!(m.pickup_topic_route_data("T").is_none());
    }

    #[test]
    fn expiry_uses_the_timeout() {
        // Java's 120 s: a broker registered between `before` and `after` is live at
        // `before` + 120 s (not silent for more than 120 s) and gone 1 ms after `after` + 120 s.
        let m = RouteInfoManager::default();
        let before = Instant::now();
        register(&m, "a:1", "broker-a", 0, &wrapper(1, &[("T", 4)]));
        let after = Instant::now();
        assert_eq!(
            m.scan_not_active_broker_at(before + DEFAULT_BROKER_EXPIRY),
            0
        );
        assert!(m.is_broker_live("a:1"));
        let later = after + DEFAULT_BROKER_EXPIRY + Duration::from_millis(1);
        assert_eq!(m.scan_not_active_broker_at(later), 1);
        assert!(!m.is_broker_live("a:1"));
        assert!(m.all_topics().topic_list.is_empty());

        // Another configured expiry.
        let m = RouteInfoManager::new(Duration::from_millis(300));
        register(&m, "a:1", "broker-a", 0, &wrapper(1, &[("T", 4)]));
        let after = Instant::now();
        assert_eq!(m.scan_not_active_broker_at(after), 0);
        let later = after + Duration::from_millis(301);
        assert_eq!(m.scan_not_active_broker_at(later), 1);
    }

    #[test]
    fn perms_and_deletes() {
        let m = RouteInfoManager::default();
        register(&m, "a:1", "broker-a", 0, &wrapper(1, &[("T", 4), ("U", 4)]));
        assert_eq!(m.wipe_write_perm("broker-a"), 2);
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].perm,
            perm::READ
        );
        assert_eq!(m.add_write_perm("broker-a"), 2);
        m.delete_topic_in_cluster("U", "C");
        m.delete_topic_in_cluster("T", "Other");
        assert_eq!(m.all_topics().topic_list, ["T"]);
        assert_eq!(m.topics_by_cluster("C").topic_list, ["T"]);
        assert!(m.topics_by_cluster("nope").topic_list.is_empty());
        let sys = m.system_topics();
        assert_eq!(sys.topic_list, ["C", "broker-a"]);
        assert_eq!(sys.broker_addr.as_deref(), Some("a:1"));
    }
}
