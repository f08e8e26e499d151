//! What the load generator says to the name server and the broker, request by request as the
//! Java client (4.9.x `MQClientAPIImpl`) says it: route lookup, topic creation as mqadmin does
//! it, heartbeats, sends, offset queries and pulls.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use remoting::{RemotingClient, RemotingError};
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::message_const::{
    PROPERTY_KEYS, PROPERTY_TAGS, PROPERTY_TIMER_DELIVER_MS,
    PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX, PROPERTY_WAIT_STORE_MSG_OK,
};
use remoting_codec::message::sysflag::pull_sys_flag;
use remoting_codec::message::{MessageClientIdSetter, MessageProperties};
use remoting_codec::protocol::client::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    UnregisterClientRequestHeader,
};
use remoting_codec::protocol::common::{SubscriptionData, TopicConfig};
use remoting_codec::protocol::namesrv::GetRouteInfoRequestHeader;
use remoting_codec::protocol::offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader,
};
use remoting_codec::protocol::perm;
use remoting_codec::protocol::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use remoting_codec::protocol::route::{ClusterInfo, TopicRouteData};
use remoting_codec::protocol::send::{SendMessageRequestHeaderV2, SendMessageResponseHeader};
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::RemotingCommand;

use crate::timer::{TimerSchedule, DUE_PROPERTY};

/// Why the benchmark could not go on.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    #[error("{0}")]
    Broker(String),
    /// The load generator itself (its runtime or threads).
    #[error("{0}")]
    Client(String),
}

fn unexpected(what: &str, cmd: &RemotingCommand) -> BenchError {
    BenchError::Broker(format!(
        "{what}: response code {} ({})",
        cmd.code,
        cmd.remark.as_deref().unwrap_or("no remark")
    ))
}

/// Java's `TopicValidator.AUTO_CREATE_TOPIC_KEY_TOPIC`: the send header's `defaultTopic`.
pub const DEFAULT_TOPIC: &str = "TBW102";
/// Java's `defaultTopicQueueNums` of a producer.
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;
/// Java's `brokerSuspendMaxTimeMillis`: how long a push consumer lets the broker hold a pull.
pub const BROKER_SUSPEND_MAX_MILLIS: i64 = 15_000;

/// One writable queue of the topic on one master broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueTarget {
    pub broker_name: String,
    pub broker_addr: SocketAddr,
    pub queue_id: i32,
}

/// The queues of a topic, from its route: masters only, writable queue data only (reads use
/// the same queues: the benchmark creates topics with equal read and write counts).
pub fn queues_of(route: &TopicRouteData) -> Result<Vec<QueueTarget>, BenchError> {
    let mut out = Vec::new();
    for qd in &route.queue_datas {
        if qd.perm & perm::WRITE == 0 {
            continue;
        }
        let Some(broker) = route
            .broker_datas
            .iter()
            .find(|b| b.broker_name == qd.broker_name)
        else {
            continue;
        };
        let Some(addr) = broker.master_addr() else {
            continue;
        };
        let broker_addr = parse_addr(addr)?;
        for queue_id in 0..qd.write_queue_nums {
            out.push(QueueTarget {
                broker_name: qd.broker_name.clone(),
                broker_addr,
                queue_id,
            });
        }
    }
    Ok(out)
}

fn parse_addr(addr: &str) -> Result<SocketAddr, BenchError> {
    addr.parse()
        .map_err(|_| BenchError::Broker(format!("broker address {addr:?} is not ip:port")))
}

/// GET_ROUTEINFO_BY_TOPIC; `None` when the name server answers TOPIC_NOT_EXIST.
pub async fn lookup_route(
    namesrv: &RemotingClient,
    topic: &str,
    timeout: Duration,
) -> Result<Option<TopicRouteData>, BenchError> {
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: None,
    };
    let resp = namesrv
        .invoke(
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC, &header),
            timeout,
        )
        .await?;
    match resp.code {
        response::SUCCESS => fastjson::from_slice(&resp.body)
            .map(Some)
            .map_err(|e| BenchError::Broker(format!("route of {topic}: {e}"))),
        response::TOPIC_NOT_EXIST => Ok(None),
        _ => Err(unexpected("GET_ROUTEINFO_BY_TOPIC", &resp)),
    }
}

/// The masters' addresses the name server knows (GET_BROKER_CLUSTER_INFO), waiting up to
/// `wait` for at least one to register.
pub async fn master_brokers(
    namesrv: &RemotingClient,
    wait: Duration,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, BenchError> {
    let deadline = Instant::now() + wait;
    loop {
        let resp = namesrv
            .invoke(
                RemotingCommand::request_without_header(request::GET_BROKER_CLUSTER_INFO),
                timeout,
            )
            .await?;
        if resp.code != response::SUCCESS {
            return Err(unexpected("GET_BROKER_CLUSTER_INFO", &resp));
        }
        let info: ClusterInfo = fastjson::from_slice(&resp.body)
            .map_err(|e| BenchError::Broker(format!("cluster info: {e}")))?;
        let masters = info
            .broker_addr_table
            .values()
            .filter_map(|b| b.master_addr())
            .map(parse_addr)
            .collect::<Result<Vec<_>, _>>()?;
        if !masters.is_empty() {
            return Ok(masters);
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Broker(format!(
                "no broker registered with the name server within {wait:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The topic's queues; when the name server does not know the topic, creates it on every
/// master with `queues` read/write queues (UPDATE_AND_CREATE_TOPIC, as `mqadmin updateTopic`)
/// and waits for the brokers to register it.
pub async fn ensure_topic(
    namesrv_addr: SocketAddr,
    topic: &str,
    queues: i32,
    wait: Duration,
    timeout: Duration,
) -> Result<Vec<QueueTarget>, BenchError> {
    let namesrv = RemotingClient::connect(namesrv_addr).await?;
    let result = ensure_topic_on(&namesrv, topic, queues, wait, timeout).await;
    namesrv.close();
    result
}

async fn ensure_topic_on(
    namesrv: &RemotingClient,
    topic: &str,
    queues: i32,
    wait: Duration,
    timeout: Duration,
) -> Result<Vec<QueueTarget>, BenchError> {
    if let Some(route) = lookup_route(namesrv, topic, timeout).await? {
        let targets = queues_of(&route)?;
        if !targets.is_empty() {
            return Ok(targets);
        }
    }
    let mut config = TopicConfig::new(topic);
    config.read_queue_nums = queues;
    config.write_queue_nums = queues;
    config.perm = perm::READ | perm::WRITE;
    let header = CreateTopicRequestHeader::from_topic_config(&config);
    for broker in master_brokers(namesrv, wait, timeout).await? {
        let client = RemotingClient::connect(broker).await?;
        let resp = client
            .invoke(
                RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC, &header),
                timeout,
            )
            .await;
        client.close();
        let resp = resp?;
        if resp.code != response::SUCCESS {
            return Err(unexpected(
                &format!("UPDATE_AND_CREATE_TOPIC on {broker}"),
                &resp,
            ));
        }
    }
    // A Java broker registers a new topic with the name servers right after creating it; a
    // periodic registration (30 s) would also do, so wait a little longer than that at most.
    let deadline = Instant::now() + wait.max(Duration::from_secs(35));
    loop {
        if let Some(route) = lookup_route(namesrv, topic, timeout).await? {
            let targets = queues_of(&route)?;
            if !targets.is_empty() {
                return Ok(targets);
            }
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Broker(format!(
                "topic {topic} created but no route for it at the name server"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Builds SEND_MESSAGE_V2 requests as `DefaultMQProducerImpl.sendKernelImpl` does for a
/// message with tags and keys: properties TAGS, KEYS, WAIT=true and a fresh UNIQ_KEY.
pub struct MessageFactory {
    group: String,
    topic: String,
    tags: String,
    key_prefix: String,
    body: Bytes,
    ids: MessageClientIdSetter,
    seq: u64,
    cycle: Option<CycleProperty>,
    timer: Option<TimerSchedule>,
}

/// A user property whose value goes round `0..modulus` with the message's ticket (the run-wide
/// number of the send): message `i` carries `name = i % modulus`, so an SQL92 selector such as
/// `p = 3` picks an exactly known share of a backlog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CycleProperty {
    pub name: String,
    pub modulus: u64,
}

impl CycleProperty {
    /// The value message `ticket` carries.
    pub fn value(&self, ticket: u64) -> u64 {
        ticket % self.modulus.max(1)
    }
}

impl MessageFactory {
    /// `sender` makes the UNIQ_KEYs of concurrent factories distinct (it stands where Java has
    /// the class loader's hash, one per producer instance).
    pub fn new(group: &str, topic: &str, body: Bytes, sender: u32) -> Self {
        let now = now_millis();
        let pid = std::process::id() as i32;
        let ids = MessageClientIdSetter::new(
            std::net::Ipv4Addr::LOCALHOST.into(),
            pid,
            sender as i32,
            now,
            // UNIQ_KEY's time part only needs to be unique and increasing; UTC keeps it so
            // without a time zone database.
            0,
        );
        Self {
            group: group.to_owned(),
            topic: topic.to_owned(),
            tags: "TagA".to_owned(),
            key_prefix: format!("{pid}-{sender}-"),
            body,
            ids,
            seq: 0,
            cycle: None,
            timer: None,
        }
    }

    /// Messages also carry `cycle`'s user property.
    pub fn with_cycle_property(mut self, cycle: Option<CycleProperty>) -> Self {
        self.cycle = cycle;
        self
    }

    /// Messages are 5.x timer messages: `TIMER_DELIVER_MS` (and the benchmark's due property)
    /// of message `ticket` is `timer.due(ticket)`.
    pub fn with_timer(mut self, timer: Option<TimerSchedule>) -> Self {
        self.timer = timer;
        self
    }

    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The next message for `queue_id`; `ticket` is its number in the run (the value of the
    /// cycle property).
    pub fn next(&mut self, queue_id: i32, ticket: u64) -> RemotingCommand {
        let now = now_millis();
        let mut props = MessageProperties::new();
        if let Some(cycle) = &self.cycle {
            props.insert(cycle.name.as_str(), cycle.value(ticket).to_string());
        }
        if let Some(timer) = &self.timer {
            let due = timer.due(ticket).to_string();
            props.insert(PROPERTY_TIMER_DELIVER_MS, due.clone());
            props.insert(DUE_PROPERTY, due);
        }
        props.insert(PROPERTY_TAGS, self.tags.as_str());
        props.insert(PROPERTY_KEYS, format!("{}{}", self.key_prefix, self.seq));
        props.insert(PROPERTY_WAIT_STORE_MSG_OK, "true");
        props.insert(
            PROPERTY_UNIQ_CLIENT_MESSAGE_ID_KEYIDX,
            self.ids.create_uniq_id(now),
        );
        self.seq += 1;
        let header = SendMessageRequestHeaderV2 {
            producer_group: self.group.clone(),
            topic: self.topic.clone(),
            default_topic: DEFAULT_TOPIC.to_owned(),
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            queue_id,
            // Not compressed (Java compresses bodies over 4 KiB only), not transactional.
            sys_flag: 0,
            born_timestamp: now,
            flag: 0,
            properties: Some(props.encode()),
            reconsume_times: Some(0),
            unit_mode: false,
            max_reconsume_times: None,
            batch: false,
            broker_name: None,
        };
        RemotingCommand::request(request::SEND_MESSAGE_V2, &header).with_body(self.body.clone())
    }
}

/// Checks a send response as the Java client does: SUCCESS with a readable
/// SendMessageResponseHeader. Any other code is returned as the error.
pub fn check_send_response(resp: &RemotingCommand) -> Result<SendMessageResponseHeader, i32> {
    if resp.code != response::SUCCESS {
        return Err(resp.code);
    }
    resp.decode_header::<SendMessageResponseHeader>()
        .map_err(|_| response::SYSTEM_ERROR)
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A client id as Java builds it (`ip@instanceName`).
pub fn client_id() -> String {
    format!("127.0.0.1@rmq-bench-{}", std::process::id())
}

/// HEART_BEAT for a producer group.
pub async fn heartbeat_producer(
    broker: &RemotingClient,
    client_id: &str,
    group: &str,
    timeout: Duration,
) -> Result<(), BenchError> {
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        producer_data_set: vec![ProducerData {
            group_name: group.to_owned(),
        }],
        ..HeartbeatData::default()
    };
    heartbeat(broker, &data, timeout).await
}

/// What a consumer group subscribes to: Java's `SubscriptionData` expression type and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// `TAG` or `SQL92`.
    pub expression_type: String,
    pub expression: String,
}

impl Subscription {
    /// Every tag (`TAG`, `*`).
    pub fn all_tags() -> Subscription {
        Subscription {
            expression_type: "TAG".to_owned(),
            expression: "*".to_owned(),
        }
    }

    /// A SQL92 selector on the messages' properties (`MessageSelector.bySql`); the broker needs
    /// `enablePropertyFilter=true`.
    pub fn sql92(expression: &str) -> Subscription {
        Subscription {
            expression_type: "SQL92".to_owned(),
            expression: expression.to_owned(),
        }
    }
}

/// HEART_BEAT for a push consumer group subscribed to `topic` (what `DefaultMQPushConsumer`
/// sends before its first pull; a pull without the subscription flag is refused with
/// SUBSCRIPTION_NOT_EXIST until the broker has it). A SQL92 subscription also registers the
/// group's filter (and, on a broker computing bitmaps, its bloom bits for later messages).
#[allow(clippy::too_many_arguments)]
pub async fn heartbeat_consumer(
    broker: &RemotingClient,
    client_id: &str,
    group: &str,
    topic: &str,
    subscription: &Subscription,
    sub_version: i64,
    timeout: Duration,
) -> Result<(), BenchError> {
    let subscription = SubscriptionData {
        class_filter_mode: false,
        code_set: Vec::new(),
        expression_type: Some(subscription.expression_type.clone()),
        sub_string: Some(subscription.expression.clone()),
        sub_version,
        tags_set: Vec::new(),
        topic: Some(topic.to_owned()),
    };
    let data = HeartbeatData {
        client_id: client_id.to_owned(),
        consumer_data_set: vec![ConsumerData {
            consume_from_where: Some(ConsumeFromWhere::ConsumeFromFirstOffset),
            consume_type: Some(ConsumeType::ConsumePassively),
            group_name: group.to_owned(),
            message_model: Some(MessageModel::Clustering),
            subscription_data_set: vec![subscription],
            unit_mode: false,
        }],
        ..HeartbeatData::default()
    };
    heartbeat(broker, &data, timeout).await
}

async fn heartbeat(
    broker: &RemotingClient,
    data: &HeartbeatData,
    timeout: Duration,
) -> Result<(), BenchError> {
    let body = fastjson::to_vec(data).map_err(|e| BenchError::Broker(e.to_string()))?;
    let resp = broker
        .invoke(
            RemotingCommand::request_without_header(request::HEART_BEAT).with_body(body),
            timeout,
        )
        .await?;
    if resp.code != response::SUCCESS {
        return Err(unexpected("HEART_BEAT", &resp));
    }
    Ok(())
}

/// UNREGISTER_CLIENT for one group, as a Java client does at shutdown. Best effort: the answer
/// does not matter to the benchmark.
pub async fn unregister(
    broker: &RemotingClient,
    client_id: &str,
    producer_group: Option<&str>,
    consumer_group: Option<&str>,
    timeout: Duration,
) {
    let header = UnregisterClientRequestHeader {
        client_id: client_id.to_owned(),
        producer_group: producer_group.map(str::to_owned),
        consumer_group: consumer_group.map(str::to_owned),
    };
    let _ = broker
        .invoke(
            RemotingCommand::request(request::UNREGISTER_CLIENT, &header),
            timeout,
        )
        .await;
}

/// GET_MIN_OFFSET and GET_MAX_OFFSET of one queue: `(min, max)`.
pub async fn queue_offsets(
    broker: &RemotingClient,
    topic: &str,
    queue_id: i32,
    timeout: Duration,
) -> Result<(i64, i64), BenchError> {
    let min = broker
        .invoke(
            RemotingCommand::request(
                request::GET_MIN_OFFSET,
                &GetMinOffsetRequestHeader {
                    topic: topic.to_owned(),
                    queue_id,
                },
            ),
            timeout,
        )
        .await?;
    if min.code != response::SUCCESS {
        return Err(unexpected("GET_MIN_OFFSET", &min));
    }
    let max = broker
        .invoke(
            RemotingCommand::request(
                request::GET_MAX_OFFSET,
                &GetMaxOffsetRequestHeader {
                    topic: topic.to_owned(),
                    queue_id,
                    committed: None,
                },
            ),
            timeout,
        )
        .await?;
    if max.code != response::SUCCESS {
        return Err(unexpected("GET_MAX_OFFSET", &max));
    }
    let min = min
        .decode_header::<GetMinOffsetResponseHeader>()
        .map_err(|e| BenchError::Broker(e.to_string()))?
        .offset;
    let max = max
        .decode_header::<GetMaxOffsetResponseHeader>()
        .map_err(|e| BenchError::Broker(e.to_string()))?
        .offset;
    Ok((min, max))
}

/// One pull's answer.
#[derive(Debug)]
pub struct PullAnswer {
    /// FOUND (SUCCESS), PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY or PULL_OFFSET_MOVED.
    pub code: i32,
    pub header: PullMessageResponseHeader,
    /// The stored records, concatenated.
    pub body: Bytes,
}

/// PULL_MESSAGE as a push consumer sends it: long polling allowed, the subscription known from
/// the heartbeat (no subscription flag, only its expression type), the consumed offset
/// piggy-backed once there is one.
#[allow(clippy::too_many_arguments)]
pub async fn pull(
    broker: &RemotingClient,
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max_msg_nums: i32,
    expression_type: &str,
    sub_version: i64,
    timeout: Duration,
) -> Result<PullAnswer, BenchError> {
    let header = PullMessageRequestHeader {
        consumer_group: group.to_owned(),
        topic: topic.to_owned(),
        queue_id,
        queue_offset: offset,
        max_msg_nums,
        sys_flag: pull_sys_flag::build_sys_flag(offset > 0, true, false, false),
        commit_offset: offset,
        suspend_timeout_millis: BROKER_SUSPEND_MAX_MILLIS,
        subscription: None,
        sub_version,
        expression_type: Some(expression_type.to_owned()),
        max_msg_bytes: None,
        request_source: None,
        proxy_froward_client_id: None,
    };
    // The broker may hold the request for the suspend time when the queue is empty.
    let wait = timeout + Duration::from_millis(BROKER_SUSPEND_MAX_MILLIS as u64);
    let resp = broker
        .invoke(
            RemotingCommand::request(request::PULL_MESSAGE, &header),
            wait,
        )
        .await?;
    match resp.code {
        response::SUCCESS
        | response::PULL_NOT_FOUND
        | response::PULL_RETRY_IMMEDIATELY
        | response::PULL_OFFSET_MOVED => {
            let header = resp
                .decode_header::<PullMessageResponseHeader>()
                .map_err(|e| BenchError::Broker(format!("pull response: {e}")))?;
            Ok(PullAnswer {
                code: resp.code,
                header,
                body: resp.body,
            })
        }
        _ => Err(unexpected("PULL_MESSAGE", &resp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use remoting_codec::protocol::route::{BrokerData, QueueData};

    #[test]
    fn queues_of_takes_writable_master_queues() {
        let mut a = BrokerData::new("c", "a");
        a.broker_addrs.insert(0, "127.0.0.1:10911".into());
        a.broker_addrs.insert(1, "127.0.0.1:10921".into());
        let mut b = BrokerData::new("c", "b");
        b.broker_addrs.insert(1, "127.0.0.1:10931".into()); // slave only
        let route = TopicRouteData {
            broker_datas: vec![a, b],
            queue_datas: vec![
                QueueData {
                    broker_name: "a".into(),
                    perm: perm::READ | perm::WRITE,
                    read_queue_nums: 2,
                    write_queue_nums: 2,
                    topic_sys_flag: 0,
                },
                QueueData {
                    broker_name: "b".into(),
                    perm: perm::READ | perm::WRITE,
                    read_queue_nums: 4,
                    write_queue_nums: 4,
                    topic_sys_flag: 0,
                },
            ],
            ..TopicRouteData::default()
        };
        let queues = queues_of(&route).unwrap();
        assert_eq!(queues.len(), 2);
        assert!(queues
            .iter()
            .all(|q| q.broker_name == "a" && q.broker_addr.port() == 10911));
        assert_eq!(queues[1].queue_id, 1);
    }

    #[test]
    fn messages_carry_java_properties_and_distinct_ids() {
        let mut a = MessageFactory::new("pg", "T", Bytes::from_static(b"xyz"), 1);
        let mut b = MessageFactory::new("pg", "T", Bytes::from_static(b"xyz"), 2);
        let m1 = a.next(3, 0);
        let m2 = a.next(3, 1);
        let m3 = b.next(0, 2);
        let h: SendMessageRequestHeaderV2 = m1.decode_header().unwrap();
        assert_eq!((h.producer_group.as_str(), h.topic.as_str()), ("pg", "T"));
        assert_eq!((h.default_topic.as_str(), h.queue_id), ("TBW102", 3));
        assert_eq!(m1.code, request::SEND_MESSAGE_V2);
        assert_eq!(&m1.body[..], b"xyz");
        let uniq = |m: &RemotingCommand| {
            let h: SendMessageRequestHeaderV2 = m.decode_header().unwrap();
            let props = MessageProperties::parse(h.properties.as_deref().unwrap());
            assert_eq!(props.tags(), Some("TagA"));
            assert!(props.wait_store_msg_ok());
            assert!(props.keys().is_some());
            props.uniq_key().unwrap().to_owned()
        };
        let ids = [uniq(&m1), uniq(&m2), uniq(&m3)];
        assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
        assert!(ids.iter().all(|id| id.len() == 32));
        let props = |m: &RemotingCommand| {
            let h: SendMessageRequestHeaderV2 = m.decode_header().unwrap();
            MessageProperties::parse(h.properties.as_deref().unwrap())
        };
        assert_eq!(props(&m1).get("p"), None);
    }

    #[test]
    fn the_cycle_property_follows_the_ticket() {
        let cycle = CycleProperty {
            name: "p".to_owned(),
            modulus: 10,
        };
        let mut f = MessageFactory::new("pg", "T", Bytes::from_static(b"xyz"), 1)
            .with_cycle_property(Some(cycle.clone()));
        for (ticket, value) in [(0, "0"), (3, "3"), (13, "3"), (99_999, "9")] {
            let h: SendMessageRequestHeaderV2 = f.next(0, ticket).decode_header().unwrap();
            let props = MessageProperties::parse(h.properties.as_deref().unwrap());
            assert_eq!(props.get("p"), Some(value));
            assert_eq!(props.tags(), Some("TagA"));
        }
        assert_eq!(cycle.value(25), 5);
    }
}
