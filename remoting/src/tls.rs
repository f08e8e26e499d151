//! TLS on the remoting ports, as Java's `TlsSystemConfig`, `TlsHelper` and the handshake
//! handler of `NettyRemotingServer` (4.9.8) do it, with rustls.
//!
//! Settings (Java's system properties, read here from the environment under the same names or
//! upper-cased with `_`, e.g. `TLS_SERVER_MODE`, then overridden by the properties file
//! `tls.config.file`, default `/etc/rocketmq/tls.properties`, as `TlsHelper` does):
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `tls.server.mode` | `permissive` | `disabled`, `permissive` (plain and TLS on one port), `enforcing` (TLS only) |
//! | `tls.test.mode.enable` | `true` | server: a self-signed certificate made at start; client: trust any server |
//! | `tls.server.certPath`, `tls.server.keyPath` | — | PEM certificate chain and PKCS#8/RSA/EC key (test mode off) |
//! | `tls.server.need.client.auth` | `none` | `none`, `optional`, `require` |
//! | `tls.server.authClient`, `tls.server.trustCertPath` | `false`, — | verify client certificates against these PEM roots |
//! | `tls.enable` | `false` | our own outgoing connections (the broker's registration) use TLS |
//! | `tls.client.authServer`, `tls.client.trustCertPath` | `false`, — | verify the server against these roots (else trust any, as Java's InsecureTrustManager) |
//! | `tls.client.certPath`, `tls.client.keyPath` | — | the client's own certificate |
//!
//! The server peeks at the first byte of a new connection: `0x16` (a TLS handshake record)
//! starts TLS — or closes the connection in `disabled` mode — anything else is a plain
//! connection, closed in `enforcing` mode. (A remoting frame never starts with `0x16`: that
//! length would exceed the frame limit.)
//!
//! Differences: encrypted keys (`keyPassword`) are not supported; client certificates are
//! verified only against `tls.server.trustCertPath` (Java, with `authClient=false`, accepts any
//! client certificate): `need.client.auth` other than `none` without trust certificates refuses
//! to start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;

/// `TlsMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disabled,
    Permissive,
    Enforcing,
}

impl TlsMode {
    /// `TlsMode.parse`: unknown names are permissive.
    pub fn parse(s: &str) -> TlsMode {
        match s.trim() {
            "disabled" => TlsMode::Disabled,
            "enforcing" => TlsMode::Enforcing,
            _ => TlsMode::Permissive,
        }
    }
}

/// The TLS settings (`TlsSystemConfig`).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub server_mode: TlsMode,
    pub enable: bool,
    pub test_mode: bool,
    pub need_client_auth: String,
    pub server_cert_path: Option<String>,
    pub server_key_path: Option<String>,
    pub server_auth_client: bool,
    pub server_trust_cert_path: Option<String>,
    pub client_cert_path: Option<String>,
    pub client_key_path: Option<String>,
    pub client_auth_server: bool,
    pub client_trust_cert_path: Option<String>,
}

impl TlsConfig {
    /// From `get(key)` (Java's property names), then the `tls.config.file` properties.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> TlsConfig {
        let file = get("tls.config.file").unwrap_or_else(|| "/etc/rocketmq/tls.properties".into());
        let props = std::fs::read_to_string(&file)
            .map(|t| parse_properties(&t))
            .unwrap_or_default();
        // The file overrides everything but the mode and tls.enable (as TlsHelper).
        let file_or = |k: &str| props.get(k).cloned().or_else(|| get(k));
        let flag =
            |v: Option<String>, d: bool| v.map_or(d, |v| v.trim().eq_ignore_ascii_case("true"));
        TlsConfig {
            server_mode: TlsMode::parse(
                &get("tls.server.mode").unwrap_or_else(|| "permissive".into()),
            ),
            enable: flag(get("tls.enable"), false),
            test_mode: flag(file_or("tls.test.mode.enable"), true),
            need_client_auth: file_or("tls.server.need.client.auth")
                .unwrap_or_else(|| "none".into()),
            server_cert_path: file_or("tls.server.certPath"),
            server_key_path: file_or("tls.server.keyPath"),
            server_auth_client: flag(file_or("tls.server.authClient"), false),
            server_trust_cert_path: file_or("tls.server.trustCertPath"),
            client_cert_path: file_or("tls.client.certPath"),
            client_key_path: file_or("tls.client.keyPath"),
            client_auth_server: flag(file_or("tls.client.authServer"), false),
            client_trust_cert_path: file_or("tls.client.trustCertPath"),
        }
    }

    /// From the process environment: `tls.server.mode` or `TLS_SERVER_MODE`.
    pub fn from_env() -> TlsConfig {
        TlsConfig::from_lookup(|k| {
            std::env::var(k)
                .ok()
                .or_else(|| std::env::var(k.replace('.', "_").to_uppercase()).ok())
                .filter(|v| !v.is_empty())
        })
    }

    /// The server side (`None` when disabled).
    pub fn server(&self) -> Result<TlsServer, String> {
        let acceptor = if self.server_mode == TlsMode::Disabled {
            None
        } else {
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                self.server_config()?,
            )))
        };
        Ok(TlsServer {
            mode: self.server_mode,
            acceptor,
        })
    }

    /// [`server`](Self::server) offering the ALPN `protocols` in the handshake (gRPC clients
    /// require `h2`).
    pub fn server_with_alpn(&self, protocols: &[&[u8]]) -> Result<TlsServer, String> {
        let acceptor = if self.server_mode == TlsMode::Disabled {
            None
        } else {
            let mut config = self.server_config()?;
            config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
        };
        Ok(TlsServer {
            mode: self.server_mode,
            acceptor,
        })
    }

    fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        let (certs, key) = if self.test_mode {
            let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
                .map_err(|e| e.to_string())?;
            let key = PrivateKeyDer::try_from(made.key_pair.serialize_der())
                .map_err(|e| e.to_string())?;
            (vec![made.cert.der().clone()], key)
        } else {
            let cert = self
                .server_cert_path
                .as_deref()
                .ok_or("tls.server.certPath is not set")?;
            let key = self
                .server_key_path
                .as_deref()
                .ok_or("tls.server.keyPath is not set")?;
            (read_certs(cert)?, read_key(key)?)
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match self.need_client_auth.trim() {
            "optional" | "require" => {
                let path = self
                    .server_trust_cert_path
                    .as_deref()
                    .ok_or("tls.server.need.client.auth needs tls.server.trustCertPath")?;
                let roots = Arc::new(read_roots(path)?);
                let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
                let verifier = if self.need_client_auth.trim() == "optional" {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| e.to_string())?)
            }
            _ => builder.with_no_client_auth(),
        };
        builder
            .with_single_cert(certs, key)
            .map_err(|e| e.to_string())
    }

    /// The client side (`TlsHelper.buildSslContext(true)`).
    pub fn connector(&self) -> Result<tokio_rustls::TlsConnector, String> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let verify = !self.test_mode && self.client_auth_server;
        let builder = match (verify, &self.client_trust_cert_path) {
            (true, Some(path)) => builder.with_root_certificates(read_roots(path)?),
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(TrustAnyServer)),
        };
        let config = match (
            &self.client_cert_path,
            &self.client_key_path,
            self.test_mode,
        ) {
            (Some(cert), Some(key), false) => builder
                .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
                .map_err(|e| e.to_string())?,
            _ => builder.with_no_client_auth(),
        };
        Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
    }
}

/// What a listening port does with a new connection.
#[derive(Clone)]
pub struct TlsServer {
    pub mode: TlsMode,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
}

/// A connection as the handshake handler leaves it.
pub enum Accepted {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl TlsServer {
    pub fn disabled() -> TlsServer {
        TlsServer {
            mode: TlsMode::Disabled,
            acceptor: None,
        }
    }

    /// Java's `HandshakeHandler`: the first byte decides. `Err` closes the connection.
    pub async fn accept(&self, stream: TcpStream, peer: SocketAddr) -> Result<Accepted, String> {
        let mut first = [0u8; 1];
        let n = stream.peek(&mut first).await.map_err(|e| e.to_string())?;
        if n == 1 && first[0] == 0x16 {
            return match &self.acceptor {
                None => Err(format!(
                    "{peer}: Clients intend to establish an SSL connection while this server is running in SSL disabled mode"
                )),
                Some(acceptor) => {
                    let tls = acceptor
                        .accept(stream)
                        .await
                        .map_err(|e| format!("{peer}: TLS handshake failed: {e}"))?;
                    // Java's line for a TLS connection (NettyRemotingServer).
                    tracing::info!("{peer}: Handlers prepended to channel pipeline to establish SSL connection");
                    Ok(Accepted::Tls(Box::new(tls)))
                }
            };
        }
        if self.mode == TlsMode::Enforcing {
            return Err(format!(
                "{peer}: Clients intend to establish an insecure connection while this server is running in SSL enforcing mode"
            ));
        }
        Ok(Accepted::Plain(stream))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(Path::new(path))
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{path}: {e}"))
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(Path::new(path)).map_err(|e| format!("{path}: {e}"))
}

fn read_roots(path: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path)? {
        roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(roots)
}

/// Java properties text: `key=value` / `key: value` lines, `#`/`!` comments.
fn parse_properties(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| {
            let i = l.find(['=', ':'])?;
            Some((l[..i].trim().to_owned(), l[i + 1..].trim().to_owned()))
        })
        .collect()
}

/// Java's `InsecureTrustManagerFactory` on the client: any server certificate, signatures
/// still checked.
#[derive(Debug)]
struct TrustAnyServer;

impl ServerCertVerifier for TrustAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
