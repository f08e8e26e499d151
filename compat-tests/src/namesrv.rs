//! Our name server in-process on a free port, a fake broker registration (REGISTER_BROKER as a
//! Java broker sends it) for tests that need a route without a broker, and route lookups.

use std::net::SocketAddr;
use std::time::Duration;

use namesrv::config::NamesrvConfig;
use remoting::RemotingClient;
use remoting_codec::code::{request, response};
use remoting_codec::protocol::common::TopicConfigSerializeWrapper;
use remoting_codec::protocol::namesrv::{GetRouteInfoRequestHeader, RegisterBrokerRequestHeader};
use remoting_codec::protocol::register_broker::{body_crc32, RegisterBrokerBody};
use remoting_codec::protocol::route::TopicRouteData;
use remoting_codec::protocol::{perm, TopicConfig};
use remoting_codec::RemotingCommand;
use test_support::dirs::TempDir;

/// How long a request to the name server may take: only a hang reaches it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A name server running on its own thread's runtime until dropped.
pub struct TestNamesrv {
    pub addr: SocketAddr,
    /// Removed on drop.
    pub home: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestNamesrv {
    pub fn start(name: &str) -> TestNamesrv {
        let home = TempDir::new(&format!("compat-{name}"));
        let mut config = NamesrvConfig::with_defaults(&home, None);
        config.set("bindAddress", "127.0.0.1");
        config.set("listenPort", "0");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let bound = namesrv::bind(config, namesrv::Timing::default())
                    .await
                    .expect("bind namesrv");
                addr_tx
                    .send(bound.local_addr().expect("addr"))
                    .expect("send addr");
                bound
                    .serve(async {
                        let _ = stop_rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx.recv().expect("namesrv started");
        TestNamesrv {
            addr,
            home,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TestNamesrv {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A test broker's registration: one master of `broker_name` at `broker_addr` serving
/// `topic` with `queues` read and write queues.
pub struct TestBroker<'a> {
    pub cluster: &'a str,
    pub broker_name: &'a str,
    pub broker_addr: &'a str,
    pub topic: &'a str,
    pub queues: i32,
}

impl TestBroker<'_> {
    /// Sends REGISTER_BROKER as a 4.9.8 broker does (JSON body with its CRC) and returns
    /// the connection, which must stay open: closing it unregisters the broker.
    pub async fn register(&self, namesrv: SocketAddr) -> RemotingClient {
        let mut config = TopicConfig::new(self.topic);
        config.read_queue_nums = self.queues;
        config.write_queue_nums = self.queues;
        config.perm = perm::READ | perm::WRITE;
        let mut wrapper = TopicConfigSerializeWrapper::default();
        wrapper.data_version.counter = 1;
        wrapper.data_version.timestamp = 1;
        wrapper
            .topic_config_table
            .insert(self.topic.to_owned(), config);
        let body = RegisterBrokerBody {
            filter_server_list: Vec::new(),
            topic_config_serialize_wrapper: wrapper,
        }
        .encode(false, remoting_codec::CURRENT_VERSION)
        .expect("encode body");
        let header = RegisterBrokerRequestHeader {
            broker_name: self.broker_name.to_owned(),
            broker_addr: self.broker_addr.to_owned(),
            cluster_name: self.cluster.to_owned(),
            ha_server_addr: self.broker_addr.to_owned(),
            broker_id: 0,
            heartbeat_timeout_millis: None,
            enable_acting_master: None,
            compressed: false,
            body_crc32: body_crc32(&body),
        };
        let client = RemotingClient::connect(namesrv).await.expect("connect");
        let response = client
            .invoke(
                RemotingCommand::request(request::REGISTER_BROKER, &header).with_body(body),
                REQUEST_TIMEOUT,
            )
            .await
            .expect("REGISTER_BROKER");
        assert_eq!(response.code, response::SUCCESS, "{:?}", response.remark);
        client
    }
}

/// The route of `topic` as the name server answers GET_ROUTEINFO_BY_TOPIC (standard JSON asked
/// for); `Err` with the response code and remark when it has none, or the connection error.
pub async fn route(namesrv: SocketAddr, topic: &str) -> Result<TopicRouteData, String> {
    let client = RemotingClient::connect(namesrv)
        .await
        .map_err(|e| format!("connect to namesrv {namesrv}: {e}"))?;
    let header = GetRouteInfoRequestHeader {
        topic: topic.to_owned(),
        accept_standard_json_only: Some(true),
    };
    let answer = client
        .invoke(
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC, &header),
            REQUEST_TIMEOUT,
        )
        .await;
    client.close();
    let answer = answer.map_err(|e| format!("GET_ROUTEINFO_BY_TOPIC {topic}: {e}"))?;
    if answer.code != response::SUCCESS {
        return Err(format!(
            "GET_ROUTEINFO_BY_TOPIC {topic}: code {} ({:?})",
            answer.code, answer.remark
        ));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| format!("GET_ROUTEINFO_BY_TOPIC {topic}: route body is not JSON: {e}"))
}
