//! TLS between our binaries, Java's defaults otherwise (`tls.test.mode.enable=true`: a
//! self-signed server certificate made at start, clients trusting any server): the namesrv and
//! the broker in `enforcing` mode, the broker registering over TLS (`tls.enable=true`). A TLS
//! client on our own remoting client reads the route the broker registered and talks to the
//! broker; a plain client is refused by both.
//!
//! The settings reach the children through the environment (`TLS_SERVER_MODE`, `TLS_ENABLE`):
//! this file holds one test, so setting it in the test process affects nothing else.

mod harness;

use std::time::{Duration, Instant};

use harness::{start_broker, start_namesrv, TempDir};
use remoting::tls::TlsConfig;
use remoting::RemotingClient;
use remoting_codec::code::request as req;
use remoting_codec::RemotingCommand;

async fn route_ok(client: &RemotingClient) -> bool {
    let request = RemotingCommand::request_without_header(req::GET_ROUTEINFO_BY_TOPIC)
        .with_ext_field("topic", "TBW102");
    matches!(client.invoke(request, Duration::from_secs(5)).await, Ok(r) if r.code == 0)
}

#[test]
fn enforcing_namesrv_and_broker_over_tls() {
    std::env::set_var("TLS_SERVER_MODE", "enforcing");
    std::env::set_var("TLS_ENABLE", "true");
    std::env::set_var("TLS_CONFIG_FILE", "/nonexistent/tls.properties");
    let dir = TempDir::new("tls-enforcing");
    let ns_home = dir.path().join("ns");
    std::fs::create_dir_all(&ns_home).unwrap();
    let namesrv = start_namesrv(&ns_home);
    let mut broker = start_broker(
        dir.path(),
        "",
        Some(namesrv.addr),
        &["autoCreateTopicEnable=true"],
    );
    let connector = TlsConfig::from_env().connector().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // The broker's registration reached the namesrv over TLS: TBW102 is routed.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let client = RemotingClient::connect_tls(namesrv.addr, &connector)
                .await
                .unwrap();
            if route_ok(&client).await {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the broker never registered over TLS"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let plain = RemotingClient::connect(namesrv.addr).await.unwrap();
        assert!(
            !route_ok(&plain).await,
            "enforcing namesrv answered a plain client"
        );

        let tls = RemotingClient::connect_tls(broker.addr(), &connector)
            .await
            .unwrap();
        let info = RemotingCommand::request_without_header(req::GET_BROKER_RUNTIME_INFO);
        assert_eq!(
            tls.invoke(info.clone(), Duration::from_secs(10))
                .await
                .unwrap()
                .code,
            0
        );
        let plain = RemotingClient::connect(broker.addr()).await.unwrap();
        assert!(plain.invoke(info, Duration::from_secs(10)).await.is_err());
    });
    assert!(broker.terminate().success());
}
