//! TLS on a remoting port with our own client (rustls), certificates made at test time
//! (rcgen; nothing committed): permissive serves plain and TLS on one port; enforcing refuses a
//! plain client; disabled closes a TLS client; a client that does not trust the server's
//! certificate is refused; `need.client.auth=require` refuses a client without a certificate
//! and serves one signed by the trusted CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use remoting::tls::{TlsConfig, TlsMode};
use remoting::{Connection, ProcessError, RemotingClient, RemotingServer, RequestProcessor};
use remoting_codec::RemotingCommand;

struct Echo;

impl RequestProcessor for Echo {
    async fn process(
        &self,
        _conn: &Arc<Connection>,
        request: RemotingCommand,
    ) -> Result<Option<RemotingCommand>, ProcessError> {
        Ok(Some(
            RemotingCommand::response_to(&request, 0).with_remark("pong"),
        ))
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, as PEM files.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("remoting-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        for (name, sans) in [
            ("server", vec!["127.0.0.1".to_owned()]),
            ("client", vec!["client".to_owned()]),
        ] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(sans)
                .unwrap()
                .signed_by(&key, &ca, &ca_key)
                .unwrap();
            std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        }
        // A CA nobody signed with: a client trusting only it refuses our server.
        let other_key = KeyPair::generate().unwrap();
        let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
        other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        std::fs::write(
            dir.join("other-ca.pem"),
            other.self_signed(&other_key).unwrap().pem(),
        )
        .unwrap();
        Pki { dir }
    }

    fn path(&self, f: &str) -> String {
        self.dir.join(f).display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn config(pki: &Pki, pairs: &[(&str, String)]) -> TlsConfig {
    let mut map: std::collections::HashMap<String, String> = [
        ("tls.config.file", pki.path("none.properties")),
        ("tls.test.mode.enable", "false".into()),
        ("tls.server.certPath", pki.path("server.pem")),
        ("tls.server.keyPath", pki.path("server.key")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in pairs {
        map.insert((*k).to_owned(), v.clone());
    }
    TlsConfig::from_lookup(move |k| map.get(k).cloned())
}

async fn serve(config: &TlsConfig) -> SocketAddr {
    let server = RemotingServer::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
        .with_tls(config.server().unwrap());
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run(Arc::new(Echo), std::future::pending()));
    addr
}

async fn ping(client: Result<RemotingClient, remoting::RemotingError>) -> Result<String, String> {
    let client = client.map_err(|e| e.to_string())?;
    let r = client
        .invoke(
            RemotingCommand::request_without_header(1),
            Duration::from_secs(10),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.remark.unwrap_or_default())
}

fn client_config(pki: &Pki, pairs: &[(&str, String)]) -> TlsConfig {
    let mut all = vec![
        ("tls.client.authServer", "true".to_owned()),
        ("tls.client.trustCertPath", pki.path("ca.pem")),
    ];
    all.extend(pairs.iter().cloned());
    config(pki, &all)
}

#[tokio::test]
async fn permissive_serves_plain_and_tls_on_one_port() {
    let pki = Pki::new("permissive");
    let server = config(&pki, &[("tls.server.mode", "permissive".into())]);
    assert_eq!(server.server_mode, TlsMode::Permissive);
    let addr = serve(&server).await;
    assert_eq!(
        ping(RemotingClient::connect(addr).await).await.unwrap(),
        "pong"
    );
    let tls = client_config(&pki, &[]).connector().unwrap();
    assert_eq!(
        ping(RemotingClient::connect_tls(addr, &tls).await)
            .await
            .unwrap(),
        "pong"
    );
}

#[tokio::test]
async fn enforcing_refuses_plain_clients() {
    let pki = Pki::new("enforcing");
    let addr = serve(&config(&pki, &[("tls.server.mode", "enforcing".into())])).await;
    assert!(ping(RemotingClient::connect(addr).await).await.is_err());
    let tls = client_config(&pki, &[]).connector().unwrap();
    assert_eq!(
        ping(RemotingClient::connect_tls(addr, &tls).await)
            .await
            .unwrap(),
        "pong"
    );
}

#[tokio::test]
async fn disabled_closes_tls_clients() {
    let pki = Pki::new("disabled");
    let addr = serve(&config(&pki, &[("tls.server.mode", "disabled".into())])).await;
    let tls = client_config(&pki, &[]).connector().unwrap();
    assert!(ping(RemotingClient::connect_tls(addr, &tls).await)
        .await
        .is_err());
    assert_eq!(
        ping(RemotingClient::connect(addr).await).await.unwrap(),
        "pong"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let pki = Pki::new("untrusted");
    let addr = serve(&config(&pki, &[("tls.server.mode", "enforcing".into())])).await;
    let distrust = client_config(
        &pki,
        &[("tls.client.trustCertPath", pki.path("other-ca.pem"))],
    );
    let err = ping(RemotingClient::connect_tls(addr, &distrust.connector().unwrap()).await).await;
    assert!(err.unwrap_err().contains("certificate"));
    // Java's default client (test mode) trusts any server.
    let any = config(&pki, &[("tls.test.mode.enable", "true".into())]);
    assert_eq!(
        ping(RemotingClient::connect_tls(addr, &any.connector().unwrap()).await)
            .await
            .unwrap(),
        "pong"
    );
}

#[tokio::test]
async fn required_client_auth() {
    let pki = Pki::new("clientauth");
    let server = config(
        &pki,
        &[
            ("tls.server.mode", "enforcing".into()),
            ("tls.server.need.client.auth", "require".into()),
            ("tls.server.trustCertPath", pki.path("ca.pem")),
        ],
    );
    let addr = serve(&server).await;
    let anonymous = client_config(&pki, &[]).connector().unwrap();
    assert!(ping(RemotingClient::connect_tls(addr, &anonymous).await)
        .await
        .is_err());
    let with_cert = client_config(
        &pki,
        &[
            ("tls.client.certPath", pki.path("client.pem")),
            ("tls.client.keyPath", pki.path("client.key")),
        ],
    );
    assert_eq!(
        ping(RemotingClient::connect_tls(addr, &with_cert.connector().unwrap()).await)
            .await
            .unwrap(),
        "pong"
    );
}

#[test]
fn test_mode_makes_a_self_signed_certificate() {
    let c = TlsConfig::from_lookup(|k| (k == "tls.config.file").then(|| "/nonexistent".to_owned()));
    assert_eq!(c.server_mode, TlsMode::Permissive);
    assert!(c.test_mode && !c.enable);
    assert!(c.server().is_ok());
    let _ = Path::new("");
}
