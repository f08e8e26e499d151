//! Headers of the name server's requests: KV config, broker registration, routes, permissions.
//!
//! The bodies of these exchanges are in [`super::route`] (topic routes, cluster info, topic
//! lists, KV config file), [`super::register_broker`] (REGISTER_BROKER) and
//! [`super::properties_text`] (UPDATE_/GET_NAMESRV_CONFIG). Codes without a header
//! (GET_BROKER_CLUSTER_INFO 106, GET_ALL_TOPIC_LIST_FROM_NAMESERVER 206, the unit topic lists
//! 311–313, GET_SYSTEM_TOPIC_LIST_FROM_NS 304, UPDATE_/GET_NAMESRV_CONFIG 318/319) use
//! [`crate::EmptyHeader`].

use crate::remoting_header;

remoting_header! {
    /// PUT_KV_CONFIG (100): store `value` under `namespace`/`key` (mqadmin updateKvConfig,
    /// `updateTopic -o` for order configs in namespace `ORDER_TOPIC_CONFIG`).
    pub struct PutKVConfigRequestHeader {
        required namespace: String = "namespace",
        required key: String = "key",
        required value: String = "value",
    }
}

remoting_header! {
    /// GET_KV_CONFIG (101) request. A miss is answered with QUERY_NOT_FOUND (22).
    pub struct GetKVConfigRequestHeader {
        required namespace: String = "namespace",
        required key: String = "key",
    }
}

remoting_header! {
    /// GET_KV_CONFIG (101) response: the value found.
    pub struct GetKVConfigResponseHeader {
        optional value: String = "value",
    }
}

remoting_header! {
    /// DELETE_KV_CONFIG (102).
    pub struct DeleteKVConfigRequestHeader {
        required namespace: String = "namespace",
        required key: String = "key",
    }
}

remoting_header! {
    /// REGISTER_BROKER (103): a broker announcing itself and its topics, at start and every 30 s.
    /// The body is a `RegisterBrokerBody`, as JSON or (when `compressed`) in the zlib layout of
    /// [`super::register_broker`]. `bodyCrc32` is Java's CRC32 of the body bytes as sent, masked
    /// to 31 bits; 0 means "do not check". `heartbeatTimeoutMillis` and `enableActingMaster` are
    /// 5.x only.
    pub struct RegisterBrokerRequestHeader {
        required broker_name: String = "brokerName",
        required broker_addr: String = "brokerAddr",
        required cluster_name: String = "clusterName",
        required ha_server_addr: String = "haServerAddr",
        required broker_id: i64 = "brokerId",
        optional heartbeat_timeout_millis: i64 = "heartbeatTimeoutMillis",
        optional enable_acting_master: bool = "enableActingMaster",
        default compressed: bool = "compressed",
        default body_crc32: i32 = "bodyCrc32",
    }
}

remoting_header! {
    /// REGISTER_BROKER (103) response: the master's addresses, which a slave broker uses to
    /// connect for HA. Both are absent for a master.
    pub struct RegisterBrokerResponseHeader {
        optional ha_server_addr: String = "haServerAddr",
        optional master_addr: String = "masterAddr",
    }
}

remoting_header! {
    /// UNREGISTER_BROKER (104): sent by a broker at clean shutdown.
    pub struct UnRegisterBrokerRequestHeader {
        required broker_name: String = "brokerName",
        required broker_addr: String = "brokerAddr",
        required cluster_name: String = "clusterName",
        required broker_id: i64 = "brokerId",
    }
}

remoting_header! {
    /// GET_ROUTEINFO_BY_TOPIC (105). The route comes back in standard JSON (quoted map keys)
    /// when the request's `version` is at least [`crate::code::version::V4_9_4`] or
    /// `acceptStandardJsonOnly` is true; otherwise in fastjson's default form.
    pub struct GetRouteInfoRequestHeader {
        required topic: String = "topic",
        optional accept_standard_json_only: bool = "acceptStandardJsonOnly",
    }
}

remoting_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205): remove the write permission of every topic of a broker
    /// name (mqadmin wipeWritePerm, before taking a broker out).
    pub struct WipeWritePermOfBrokerRequestHeader {
        required broker_name: String = "brokerName",
    }
}

remoting_header! {
    /// WIPE_WRITE_PERM_OF_BROKER (205) response: how many topics were changed.
    pub struct WipeWritePermOfBrokerResponseHeader {
        required wipe_topic_count: i32 = "wipeTopicCount",
    }
}

remoting_header! {
    /// DELETE_TOPIC_IN_NAMESRV (216): forget a topic's routes, in one cluster when `clusterName`
    /// is given.
    pub struct DeleteTopicFromNamesrvRequestHeader {
        required topic: String = "topic",
        optional cluster_name: String = "clusterName",
    }
}

remoting_header! {
    /// REGISTER_TOPIC_IN_NAMESRV (217, 5.x only): a broker registering one topic's queue data
    /// (body: a `TopicRouteData` with only `queueDatas`).
    pub struct RegisterTopicRequestHeader {
        required topic: String = "topic",
    }
}

remoting_header! {
    /// GET_KVLIST_BY_NAMESPACE (219): every key of a namespace, as a `KVTable` body.
    pub struct GetKVListByNamespaceRequestHeader {
        required namespace: String = "namespace",
    }
}

remoting_header! {
    /// GET_TOPICS_BY_CLUSTER (224): the topics of one cluster, as a `TopicList` body.
    pub struct GetTopicsByClusterRequestHeader {
        required cluster: String = "cluster",
    }
}

remoting_header! {
    /// QUERY_DATA_VERSION (322): a broker asking whether the name server's copy of its topic
    /// table is current (body: the broker's `DataVersion`).
    pub struct QueryDataVersionRequestHeader {
        required broker_name: String = "brokerName",
        required broker_addr: String = "brokerAddr",
        required cluster_name: String = "clusterName",
        required broker_id: i64 = "brokerId",
    }
}

remoting_header! {
    /// QUERY_DATA_VERSION (322) response: `changed` is true when the versions differ (the broker
    /// then registers again). The body is the name server's `DataVersion`, if it has one.
    pub struct QueryDataVersionResponseHeader {
        required changed: bool = "changed",
    }
}

remoting_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327): give back the write permission wiped by 205.
    pub struct AddWritePermOfBrokerRequestHeader {
        required broker_name: String = "brokerName",
    }
}

remoting_header! {
    /// ADD_WRITE_PERM_OF_BROKER (327) response: how many topics were changed.
    pub struct AddWritePermOfBrokerResponseHeader {
        required add_topic_count: i32 = "addTopicCount",
    }
}

remoting_header! {
    /// GET_BROKER_MEMBER_GROUP (901, 5.x only): the brokers sharing a broker name, asked by a
    /// 5.x broker in acting-master mode. Body of the answer: `GetBrokerMemberGroupResponseBody`.
    pub struct GetBrokerMemberGroupRequestHeader {
        required cluster_name: String = "clusterName",
        required broker_name: String = "brokerName",
    }
}

remoting_header! {
    /// BROKER_HEARTBEAT (904, 5.x only): a lightweight liveness report that 5.x brokers send
    /// instead of a full REGISTER_BROKER when `enableSlaveActingMaster` is on.
    /// `heartbeatTimeoutMills` is spelled so in Java.
    pub struct BrokerHeartbeatRequestHeader {
        required cluster_name: String = "clusterName",
        required broker_addr: String = "brokerAddr",
        required broker_name: String = "brokerName",
        optional broker_id: i64 = "brokerId",
        optional epoch: i32 = "epoch",
        optional max_offset: i64 = "maxOffset",
        optional confirm_offset: i64 = "confirmOffset",
        optional heartbeat_timeout_mills: i64 = "heartbeatTimeoutMills",
        optional election_priority: i32 = "electionPriority",
    }
}
