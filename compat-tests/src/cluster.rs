//! A name server (in-process) and our broker (child process) on free ports, with the admin
//! requests tests send to the broker themselves, as mqadmin would.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::message::sysflag::pull_sys_flag::FLAG_SUBSCRIPTION;
use remoting_codec::message::{decode_records, StoredMessage};
use remoting_codec::protocol::callback::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
    ResetOffsetRequestHeader,
};
use remoting_codec::protocol::client::{
    GetConsumerListByGroupRequestHeader, GetConsumerListByGroupResponseBody,
};
use remoting_codec::protocol::group_admin::SubscriptionGroupConfig;
use remoting_codec::protocol::offset::{
    GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader,
};
use remoting_codec::protocol::pull::PullMessageRequestHeader;
use remoting_codec::protocol::query::QueryMessageRequestHeader;
use remoting_codec::protocol::topic_admin::CreateTopicRequestHeader;
use remoting_codec::protocol::{perm, TopicConfig};
use remoting_codec::{LanguageCode, RemotingCommand};

use test_support::dirs::TempDir;

use crate::broker::{BrokerProcess, BrokerSettings};
use crate::namesrv::{route, TestNamesrv};

const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The limit of an admin request the broker relays to a client (it waits 10 s for the client).
pub const RELAYED_TIMEOUT: Duration = Duration::from_secs(30);

/// Name server + broker. Dropping it kills the broker and stops the name server.
pub struct Cluster {
    pub name: String,
    // Dropped in this order: the broker first, so that it does not outlive its name server.
    pub broker: BrokerProcess,
    pub namesrv: TestNamesrv,
    rt: tokio::runtime::Runtime,
    /// ACL credentials the admin requests are signed with (a broker with `aclEnable`).
    signer: std::sync::Mutex<Option<(String, String)>>,
}

impl Cluster {
    /// Starts a name server and a broker with the default test settings.
    pub fn start(name: &str) -> Cluster {
        Cluster::start_with(name, |s| s)
    }

    /// Starts a name server and a broker whose settings `tune` may change.
    pub fn start_with(name: &str, tune: impl FnOnce(BrokerSettings) -> BrokerSettings) -> Cluster {
        let namesrv = TestNamesrv::start(name);
        let dir = TempDir::kept_by(&format!("compat-{name}-broker"), "COMPAT_KEEP");
        let settings = tune(BrokerSettings::new(namesrv.addr, dir.join("store")));
        let broker = BrokerProcess::start(settings, dir);
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        Cluster {
            name: name.to_owned(),
            broker,
            namesrv,
            rt,
            signer: std::sync::Mutex::new(None),
        }
    }

    /// Signs every later admin request with this account (`AccessKey`, `Signature`).
    pub fn sign_as(&self, access_key: &str, secret_key: &str) {
        *self.signer.lock().unwrap() = Some((access_key.to_owned(), secret_key.to_owned()));
    }

    /// The `namesrvAddr` to give clients.
    pub fn namesrv_addr(&self) -> String {
        self.namesrv.addr.to_string()
    }

    /// A directory for a client's `$HOME` (logs, local offsets), inside the broker's temp dir.
    pub fn client_home(&self, client: &str) -> PathBuf {
        self.broker.dir.join("clients").join(client)
    }

    /// Any request to the broker, answered (admin timeout).
    pub fn call(&self, request: RemotingCommand) -> RemotingCommand {
        self.rt.block_on(self.invoke(request))
    }

    async fn invoke(&self, request: RemotingCommand) -> RemotingCommand {
        self.invoke_within(request, ADMIN_TIMEOUT).await
    }

    async fn invoke_within(
        &self,
        mut request: RemotingCommand,
        timeout: Duration,
    ) -> RemotingCommand {
        if let Some((key, secret)) = self.signer.lock().unwrap().clone() {
            broker::acl::signature::sign(&mut request, &key, &secret);
        }
        let addr = self.broker.addr();
        let client = RemotingClient::connect(addr)
            .await
            .unwrap_or_else(|e| panic!("connect to broker {addr}: {e}"));
        let code = request.code;
        let answer = client.invoke(request, timeout).await;
        client.close();
        answer.unwrap_or_else(|e| panic!("request {code} to broker {addr}: {e}"))
    }

    /// Sends `request` to the broker as an admin tool would and returns its answer, whatever
    /// the code. [`RELAYED_TIMEOUT`] allows for the broker's own 10 s wait on a client it calls.
    pub fn admin(&self, request: RemotingCommand) -> RemotingCommand {
        self.rt
            .block_on(self.invoke_within(request, RELAYED_TIMEOUT))
    }

    /// GET_CONSUMER_RUNNING_INFO (307) for `client_id` of `group`: the broker relays it to that
    /// client and answers what the client answered (mqadmin `consumerStatus`).
    pub fn consumer_running_info(&self, group: &str, client_id: &str) -> RemotingCommand {
        let header = GetConsumerRunningInfoRequestHeader {
            consumer_group: group.to_owned(),
            client_id: client_id.to_owned(),
            jstack_enable: false,
        };
        self.admin(RemotingCommand::request(
            request::GET_CONSUMER_RUNNING_INFO,
            &header,
        ))
    }

    /// CONSUME_MESSAGE_DIRECTLY (309): the broker puts the message of `offset_msg_id` in the
    /// body and relays it to `client_id`, which consumes it (mqadmin `queryMsgById -g -d`).
    pub fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        offset_msg_id: &str,
    ) -> RemotingCommand {
        let header = ConsumeMessageDirectlyResultRequestHeader {
            consumer_group: group.to_owned(),
            client_id: Some(client_id.to_owned()),
            msg_id: Some(offset_msg_id.to_owned()),
            broker_name: None,
            topic: None,
            topic_sys_flag: None,
            group_sys_flag: None,
        };
        self.admin(RemotingCommand::request(
            request::CONSUME_MESSAGE_DIRECTLY,
            &header,
        ))
    }

    /// INVOKE_BROKER_TO_RESET_OFFSET (222) as mqadmin `resetOffsetByTime` sends it: the broker
    /// computes each queue's offset for `timestamp` and sends RESET_CONSUMER_CLIENT_OFFSET to
    /// the group's clients. `language` is the admin's: a CPP admin gets the C++ body form sent
    /// to the clients (Java's `isC`).
    pub fn reset_offset(
        &self,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
        language: LanguageCode,
    ) -> RemotingCommand {
        let header = ResetOffsetRequestHeader {
            topic: topic.to_owned(),
            group: group.to_owned(),
            queue_id: None,
            offset: None,
            timestamp,
            is_force: force,
        };
        let mut request = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET, &header);
        request.language = language;
        self.admin(request)
    }

    /// QUERY_MESSAGE by `key` in `topic` (any time): the stored messages found, decoded.
    pub fn messages_by_key(&self, topic: &str, key: &str) -> Vec<StoredMessage> {
        let header = QueryMessageRequestHeader {
            topic: topic.to_owned(),
            key: key.to_owned(),
            max_num: 32,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
        };
        let answer = self.admin(RemotingCommand::request(request::QUERY_MESSAGE, &header));
        if answer.code == response::QUERY_NOT_FOUND {
            return Vec::new();
        }
        assert_eq!(
            answer.code,
            response::SUCCESS,
            "QUERY_MESSAGE {topic} {key}: {:?}",
            answer.remark
        );
        decode_records(&answer.body)
            .map(|r| r.expect("a stored record in the QUERY_MESSAGE body"))
            .collect()
    }

    /// UPDATE_AND_CREATE_TOPIC with `queues` read and write queues (as `mqadmin updateTopic`),
    /// then waits until the name server routes the topic with that many queues.
    pub fn create_topic(&self, topic: &str, queues: i32) {
        let mut config = TopicConfig::new(topic);
        config.read_queue_nums = queues;
        config.write_queue_nums = queues;
        config.perm = perm::READ | perm::WRITE;
        let header = CreateTopicRequestHeader::from_topic_config(&config);
        let answer = self.rt.block_on(self.invoke(RemotingCommand::request(
            request::UPDATE_AND_CREATE_TOPIC,
            &header,
        )));
        assert_eq!(
            answer.code,
            response::SUCCESS,
            "UPDATE_AND_CREATE_TOPIC {topic}: {:?}",
            answer.remark
        );
        self.wait_route(topic, |r| {
            r.queue_datas.iter().any(|q| q.write_queue_nums == queues)
        });
    }

    /// Polls the name server until its route of `topic` satisfies `ok`. The broker registers
    /// a topic it creates at once (as Java, oneway), so this takes milliseconds; 60 s is the
    /// limit on a loaded machine.
    pub fn wait_route(
        &self,
        topic: &str,
        ok: impl Fn(&remoting_codec::protocol::route::TopicRouteData) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.rt.block_on(route(self.namesrv.addr, topic));
            match &found {
                Ok(r) if ok(r) => return,
                _ if Instant::now() > deadline => panic!(
                    "the name server has no fitting route of {topic} after 60 s (Java registers \
                     a topic at once): {found:?}"
                ),
                _ => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (as `mqadmin updateSubGroup`) with Java's initial
    /// values but `retryMaxTimes`.
    pub fn update_subscription_group(&self, group: &str, retry_max_times: i32) {
        let mut config = SubscriptionGroupConfig::new(group);
        config.retry_max_times = retry_max_times;
        let body = remoting_codec::fastjson::to_vec(&config).expect("group config JSON");
        let answer = self.rt.block_on(
            self.invoke(
                RemotingCommand::request_without_header(
                    request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
                )
                .with_body(body),
            ),
        );
        assert_eq!(
            answer.code,
            response::SUCCESS,
            "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP {group}: {:?}",
            answer.remark
        );
    }

    /// QUERY_CONSUMER_OFFSET: the offset the broker has committed for the group on the queue;
    /// `None` when it answers QUERY_NOT_FOUND.
    pub fn consumer_offset(&self, group: &str, topic: &str, queue_id: i32) -> Option<i64> {
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_owned(),
            topic: topic.to_owned(),
            queue_id,
            set_zero_if_not_found: None,
        };
        let answer = self.rt.block_on(self.invoke(RemotingCommand::request(
            request::QUERY_CONSUMER_OFFSET,
            &header,
        )));
        match answer.code {
            response::SUCCESS => Some(
                answer
                    .decode_header::<QueryConsumerOffsetResponseHeader>()
                    .expect("QUERY_CONSUMER_OFFSET response header")
                    .offset,
            ),
            response::QUERY_NOT_FOUND => None,
            code => panic!("QUERY_CONSUMER_OFFSET: code {code} ({:?})", answer.remark),
        }
    }

    /// PULL_MESSAGE of up to 32 records of `topic`/`queue_id` from `offset` (group
    /// `RsCompatReader`, no suspend, no offset commit): the records found, none when the
    /// broker answers a pull status other than FOUND; panics on an error code.
    pub fn pull_records(&self, topic: &str, queue_id: i32, offset: i64) -> Vec<StoredMessage> {
        let header = PullMessageRequestHeader {
            consumer_group: "RsCompatReader".to_owned(),
            topic: topic.to_owned(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: 32,
            sys_flag: FLAG_SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some("*".to_owned()),
            sub_version: 0,
            expression_type: Some("TAG".to_owned()),
            max_msg_bytes: None,
            request_source: None,
            proxy_froward_client_id: None,
        };
        let answer = self
            .rt
            .block_on(self.invoke(RemotingCommand::request(request::PULL_MESSAGE, &header)));
        match answer.code {
            response::SUCCESS => {}
            response::PULL_NOT_FOUND
            | response::PULL_RETRY_IMMEDIATELY
            | response::PULL_OFFSET_MOVED => return Vec::new(),
            code => panic!(
                "PULL_MESSAGE {topic} {queue_id} {offset}: code {code} ({:?})",
                answer.remark
            ),
        }
        decode_records(&answer.body)
            .map(|r| r.expect("a stored record in the pull body"))
            .collect()
    }

    /// GET_MAX_OFFSET: the offset after the last message of the queue.
    pub fn max_offset(&self, topic: &str, queue_id: i32) -> i64 {
        let header = GetMaxOffsetRequestHeader {
            topic: topic.to_owned(),
            queue_id,
            committed: None,
        };
        let answer = self
            .rt
            .block_on(self.invoke(RemotingCommand::request(request::GET_MAX_OFFSET, &header)));
        assert_eq!(
            answer.code,
            response::SUCCESS,
            "GET_MAX_OFFSET {topic} {queue_id}: {:?}",
            answer.remark
        );
        answer
            .decode_header::<GetMaxOffsetResponseHeader>()
            .expect("GET_MAX_OFFSET response header")
            .offset
    }

    /// GET_CONSUMER_LIST_BY_GROUP: the client ids the broker knows in the group.
    pub fn consumer_ids(&self, group: &str) -> Vec<String> {
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_owned(),
        };
        let answer = self.rt.block_on(self.invoke(RemotingCommand::request(
            request::GET_CONSUMER_LIST_BY_GROUP,
            &header,
        )));
        if answer.code != response::SUCCESS {
            return Vec::new();
        }
        serde_json::from_slice::<GetConsumerListByGroupResponseBody>(&answer.body)
            .map(|b| b.consumer_id_list)
            .unwrap_or_default()
    }

    /// Polls until the broker lists `n` consumers in `group`.
    pub fn wait_consumers(&self, group: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ids = self.consumer_ids(group);
            if ids.len() == n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the broker lists {ids:?} in group {group}, not {n} consumers, after 120 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
