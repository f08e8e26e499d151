//! The broker's 5.x gRPC port as the `grpc*.rs` tests reach it: a broker started with
//! `enableGrpcServer` on a free port and the tests' `store/config` files, a tonic client of
//! `MessagingService`, and the small builders every such test needs.

use std::path::Path;

use ::grpc::v2::messaging_service_client::MessagingServiceClient;
use ::grpc::v2::{Code, Resource, Status};
use test_support::ports::{free_port, free_port_pair};
use test_support::process::BrokerProcess;
use tonic::transport::Channel;

/// A broker serving gRPC, and its two ports.
pub struct GrpcBroker {
    pub process: BrokerProcess,
    /// The remoting listen port (the VIP port is `port - 2`).
    pub port: u16,
    pub grpc_port: u16,
}

/// Starts a broker with `enableGrpcServer=true` on free ports. `configs` are written under
/// `dir/store/config` first (e.g. `("topics.json", TOPICS)`); `extra` is appended to the
/// broker's conf.
pub fn start_grpc_broker(dir: &Path, configs: &[(&str, &str)], extra: &str) -> GrpcBroker {
    std::fs::create_dir_all(dir.join("store/config")).unwrap();
    for (name, text) in configs {
        std::fs::write(dir.join("store/config").join(name), text).unwrap();
    }
    let port = free_port_pair();
    let grpc_port = free_port();
    let process = super::start_broker(
        dir,
        port,
        None,
        &format!("enableGrpcServer=true\ngrpcServerPort={grpc_port}\n{extra}"),
    );
    GrpcBroker {
        process,
        port,
        grpc_port,
    }
}

/// A plain-text tonic client of the broker's gRPC port.
pub async fn connect(grpc_port: u16) -> MessagingServiceClient<Channel> {
    MessagingServiceClient::connect(format!("http://127.0.0.1:{grpc_port}"))
        .await
        .unwrap()
}

/// A topic or group name in the default namespace.
pub fn resource(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

/// The code of an answer's status (which every answer of the proxy carries).
pub fn code(status: &Option<Status>) -> Code {
    Code::try_from(status.as_ref().expect("a status").code).expect("a known code")
}

/// A request carrying the `x-mq-client-id` the clients send with every call.
pub fn with_client_id<T>(client_id: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    r
}
