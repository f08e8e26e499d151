//! A tiny in-process broker for testing the load generator end to end before (and
//! independently of) the real broker: it registers with a name server as a 4.9.8 master does,
//! creates topics on UPDATE_AND_CREATE_TOPIC, keeps every sent message as a stored record per
//! queue in memory, and answers HEART_BEAT, offsets and PULL_MESSAGE with the Java broker's
//! codes for the cases the generator can meet (unknown topic, bad queue, pull before the
//! heartbeat, stale subscription). A SQL92 subscription filters pulls on the records'
//! properties as the real broker does (unless `ignore_filters` is set, to show that a broken
//! filter fails the benchmark). No long polling, no files.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use filter::sql92::Expression;
use remoting::{Connection, ProcessError, RemotingClient, RemotingServer, RequestProcessor};
use remoting_codec::code::{request, response};
use remoting_codec::fastjson;
use remoting_codec::message::sysflag::pull_sys_flag;
use remoting_codec::message::{MessageProperties, OffsetMessageId, StoredMessage};
use remoting_codec::protocol::client::HeartbeatData;
use remoting_codec::protocol::common::{TopicConfig, TopicConfigSerializeWrapper};
use remoting_codec::protocol::namesrv::RegisterBrokerRequestHeader;
use remoting_codec::protocol::offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, GetMinOffsetRequestHeader,
    GetMinOffsetResponseHeader,
};
use remoting_codec::protocol::pull::{PullMessageRequestHeader, PullMessageResponseHeader};
use remoting_codec::protocol::register_broker::{body_crc32, RegisterBrokerBody};
use remoting_codec::protocol::send::{
    add_send_response_ext_fields, SendMessageRequestHeaderV2, SendMessageResponseHeader,
    DEFAULT_REGION_ID,
};
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::RemotingCommand;

/// What the fake broker holds; tests read it to check what the generator sent.
#[derive(Default)]
pub struct FakeState {
    pub topics: BTreeMap<String, TopicConfig>,
    /// topic → queue id → encoded records, one per queue offset.
    pub queues: HashMap<String, HashMap<i32, Vec<Bytes>>>,
    /// consumer group → topic → subVersion, from heartbeats.
    pub subscriptions: HashMap<String, HashMap<String, i64>>,
    pub producer_groups: Vec<String>,
    /// (group, topic, queue) → last piggy-backed commit offset.
    pub commit_offsets: HashMap<(String, String, i32), i64>,
    /// Pulls refused because no heartbeat had registered the subscription.
    pub pulls_before_heartbeat: u64,
    /// (group, topic) → the SQL92 selector a heartbeat registered.
    pub sql_filters: HashMap<(String, String), Expression>,
    /// Deliver everything whatever the subscription (a broken filter).
    pub ignore_filters: bool,
    next_physical_offset: i64,
}

pub struct FakeBroker {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Processor {
    addr: SocketAddr,
    cluster: String,
    broker_name: String,
    namesrv: Vec<RemotingClient>,
    state: Arc<Mutex<FakeState>>,
}

impl FakeBroker {
    /// Binds `listen` (port 0 for any), registers with `namesrv` and serves until dropped.
    pub async fn start(
        listen: SocketAddr,
        namesrv: SocketAddr,
        cluster: &str,
        broker_name: &str,
    ) -> FakeBroker {
        let server = RemotingServer::bind(listen)
            .await
            .expect("bind fake broker");
        let addr = server.local_addr().expect("local addr");
        let state = Arc::new(Mutex::new(FakeState::default()));
        let processor = Arc::new(Processor {
            addr,
            cluster: cluster.to_owned(),
            broker_name: broker_name.to_owned(),
            namesrv: vec![RemotingClient::connect(namesrv)
                .await
                .expect("connect namesrv")],
            state: state.clone(),
        });
        processor.register().await;
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(processor, async {
            let _ = stop_rx.await;
        }));
        FakeBroker {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// Every stored message of a topic, decoded, queue by queue.
    pub fn messages(&self, topic: &str) -> Vec<StoredMessage> {
        let state = self.state.lock().unwrap();
        let mut out = Vec::new();
        if let Some(queues) = state.queues.get(topic) {
            let mut ids: Vec<_> = queues.keys().copied().collect();
            ids.sort();
            for id in ids {
                for record in &queues[&id] {
                    out.push(StoredMessage::decode(record).expect("own record"));
                }
            }
        }
        out
    }
}

impl Processor {
    /// REGISTER_BROKER with the whole topic table, as a 4.9.8 master does at start and after
    /// a topic is created.
    async fn register(&self) {
        let body = {
            let state = self.state.lock().unwrap();
            let mut wrapper = TopicConfigSerializeWrapper::default();
            wrapper.data_version.counter = state.topics.len() as i64 + 1;
            wrapper.data_version.timestamp = 1;
            wrapper.topic_config_table = state.topics.clone().into_iter().collect();
            RegisterBrokerBody {
                filter_server_list: Vec::new(),
                topic_config_serialize_wrapper: wrapper,
            }
            .encode(false, remoting_codec::CURRENT_VERSION)
            .expect("encode registration")
        };
        let header = RegisterBrokerRequestHeader {
            broker_name: self.broker_name.clone(),
            broker_addr: self.addr.to_string(),
            cluster_name: self.cluster.clone(),
            ha_server_addr: self.addr.to_string(),
            broker_id: 0,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: false,
            body_crc32: body_crc32(&body),
        };
        for ns in &self.namesrv {
            let resp = ns
                .invoke(
                    RemotingCommand::request(request::REGISTER_BROKER, &header)
                        .with_body(body.clone()),
                    Duration::from_secs(30),
                )
                .await
                .expect("REGISTER_BROKER");
            assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        }
    }

    fn create_topic(&self, req: &RemotingCommand) -> Result<RemotingCommand, ProcessError> {
        let header: CreateTopicRequestHeader = req.decode_header()?;
        let config = header
            .to_topic_config()
            .ok_or_else(|| ProcessError::Failed("bad topicFilterType".into()))?;
        self.state
            .lock()
            .unwrap()
            .topics
            .insert(config.topic_name.clone(), config);
        Ok(RemotingCommand::response_to(req, response::SUCCESS))
    }

    fn send(&self, req: &RemotingCommand) -> Result<RemotingCommand, ProcessError> {
        let header: SendMessageRequestHeaderV2 = req.decode_header()?;
        let mut state = self.state.lock().unwrap();
        let Some(config) = state.topics.get(&header.topic) else {
            return Ok(RemotingCommand::response_to(req, response::TOPIC_NOT_EXIST)
                .with_remark(format!("topic[{}] not exist", header.topic)));
        };
        if header.queue_id < 0 || header.queue_id >= config.write_queue_nums {
            return Ok(RemotingCommand::response_to(req, response::SYSTEM_ERROR)
                .with_remark(format!("queueId[{}] is illegal", header.queue_id)));
        }
        let physical = state.next_physical_offset;
        let queue = state
            .queues
            .entry(header.topic.clone())
            .or_default()
            .entry(header.queue_id)
            .or_default();
        let msg = StoredMessage {
            queue_id: header.queue_id,
            flag: header.flag,
            queue_offset: queue.len() as i64,
            commit_log_offset: physical,
            sys_flag: header.sys_flag,
            born_timestamp: header.born_timestamp,
            store_timestamp: header.born_timestamp,
            store_host: self.addr,
            body: req.body.clone(),
            topic: header.topic.clone(),
            properties: MessageProperties::parse(header.properties.as_deref().unwrap_or("")),
            ..StoredMessage::default()
        };
        let record = msg
            .encode()
            .map_err(|e| ProcessError::Failed(e.to_string()))?;
        let queue_offset = msg.queue_offset;
        queue.push(record.clone());
        state.next_physical_offset += record.len() as i64;
        let mut resp = RemotingCommand::response_to(req, response::SUCCESS).with_header(
            &SendMessageResponseHeader {
                msg_id: OffsetMessageId::new(self.addr, physical).to_string(),
                queue_id: header.queue_id,
                queue_offset,
                transaction_id: None,
                batch_uniq_id: None,
                recall_handle: None,
            },
        );
        add_send_response_ext_fields(resp.ext_fields_mut(), DEFAULT_REGION_ID, false);
        Ok(resp)
    }

    fn heartbeat(&self, req: &RemotingCommand) -> Result<RemotingCommand, ProcessError> {
        let data: HeartbeatData =
            fastjson::from_slice(&req.body).map_err(|e| ProcessError::Failed(e.to_string()))?;
        let mut state = self.state.lock().unwrap();
        for p in data.producer_data_set {
            state.producer_groups.push(p.group_name);
        }
        for c in data.consumer_data_set {
            for s in c.subscription_data_set {
                let topic = s.topic.unwrap_or_default();
                if s.expression_type.as_deref() == Some("SQL92") {
                    let text = s.sub_string.as_deref().unwrap_or("");
                    let expr =
                        Expression::parse(text).map_err(|e| ProcessError::Failed(e.to_string()))?;
                    state
                        .sql_filters
                        .insert((c.group_name.clone(), topic.clone()), expr);
                }
                state
                    .subscriptions
                    .entry(c.group_name.clone())
                    .or_default()
                    .insert(topic, s.sub_version);
            }
        }
        Ok(RemotingCommand::response_to(req, response::SUCCESS))
    }

    fn queue_len(&self, topic: &str, queue_id: i32) -> i64 {
        let state = self.state.lock().unwrap();
        state
            .queues
            .get(topic)
            .and_then(|q| q.get(&queue_id))
            .map_or(0, |q| q.len() as i64)
    }

    fn pull(&self, req: &RemotingCommand) -> Result<RemotingCommand, ProcessError> {
        let h: PullMessageRequestHeader = req.decode_header()?;
        let mut state = self.state.lock().unwrap();
        if h.sys_flag & pull_sys_flag::FLAG_SUBSCRIPTION == 0 {
            match state
                .subscriptions
                .get(&h.consumer_group)
                .and_then(|s| s.get(&h.topic))
            {
                None => {
                    state.pulls_before_heartbeat += 1;
                    return Ok(
                        RemotingCommand::response_to(req, response::SUBSCRIPTION_NOT_EXIST)
                            .with_remark("the consumer's group info not exist"),
                    );
                }
                Some(&v) if v < h.sub_version => {
                    return Ok(RemotingCommand::response_to(
                        req,
                        response::SUBSCRIPTION_NOT_LATEST,
                    )
                    .with_remark("the consumer's subscription not latest"));
                }
                Some(_) => {}
            }
        }
        if h.sys_flag & pull_sys_flag::FLAG_COMMIT_OFFSET != 0 {
            state.commit_offsets.insert(
                (h.consumer_group.clone(), h.topic.clone(), h.queue_id),
                h.commit_offset,
            );
        }
        let records: &[Bytes] = state
            .queues
            .get(&h.topic)
            .and_then(|q| q.get(&h.queue_id))
            .map_or(&[], |v| v.as_slice());
        let max = records.len() as i64;
        let selector = match state.ignore_filters {
            true => None,
            false => state
                .sql_filters
                .get(&(h.consumer_group.clone(), h.topic.clone())),
        };
        let (code, next, body) = if h.queue_offset >= max || h.queue_offset < 0 {
            (
                response::PULL_NOT_FOUND,
                h.queue_offset.clamp(0, max),
                Bytes::new(),
            )
        } else if let Some(selector) = selector {
            // As the store: up to 800 queue entries scanned for max_msg_nums matches; none →
            // PULL_RETRY_IMMEDIATELY (NO_MATCHED_MESSAGE) past the scanned ones.
            let mut body = BytesMut::new();
            let mut found = 0;
            let mut next = h.queue_offset;
            while next < max && next < h.queue_offset + 800 && found < h.max_msg_nums {
                let record = &records[next as usize];
                let msg = StoredMessage::decode(record).expect("own record");
                if selector.matches(&|name| msg.properties.get(name)) {
                    body.extend_from_slice(record);
                    found += 1;
                }
                next += 1;
            }
            let code = match found {
                0 => response::PULL_RETRY_IMMEDIATELY,
                _ => response::SUCCESS,
            };
            (code, next, body.freeze())
        } else {
            let end = (h.queue_offset + h.max_msg_nums as i64).min(max);
            let mut body = BytesMut::new();
            for r in &records[h.queue_offset as usize..end as usize] {
                body.extend_from_slice(r);
            }
            (response::SUCCESS, end, body.freeze())
        };
        Ok(RemotingCommand::response_to(req, code)
            .with_header(&PullMessageResponseHeader {
                suggest_which_broker_id: 0,
                next_begin_offset: next,
                min_offset: 0,
                max_offset: max,
                offset_delta: None,
                topic_sys_flag: None,
                group_sys_flag: None,
                forbidden_type: None,
            })
            .with_body(body))
    }
}

impl RequestProcessor for Processor {
    async fn process(
        &self,
        _conn: &Arc<Connection>,
        req: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        let resp = match req.code {
            request::UPDATE_AND_CREATE_TOPIC => {
                let resp = self.create_topic(&req)?;
                self.register().await;
                resp
            }
            request::SEND_MESSAGE_V2 => self.send(&req)?,
            request::HEART_BEAT => self.heartbeat(&req)?,
            request::UNREGISTER_CLIENT => RemotingCommand::response_to(&req, response::SUCCESS),
            request::GET_MIN_OFFSET => {
                let h: GetMinOffsetRequestHeader = req.decode_header()?;
                let _ = h;
                RemotingCommand::response_to(&req, response::SUCCESS)
                    .with_header(&GetMinOffsetResponseHeader { offset: 0 })
            }
            request::GET_MAX_OFFSET => {
                let h: GetMaxOffsetRequestHeader = req.decode_header()?;
                let offset = self.queue_len(&h.topic, h.queue_id);
                RemotingCommand::response_to(&req, response::SUCCESS)
                    .with_header(&GetMaxOffsetResponseHeader { offset })
            }
            request::PULL_MESSAGE => self.pull(&req)?,
            _ => return Err(ProcessError::NotSupported),
        };
        Ok(Some(resp))
    }
}
