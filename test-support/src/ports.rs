//! Free ports. Tests never use the well-known 9876/10911 so that they run next to a real
//! RocketMQ; a port is picked by binding port 0 and released before the server binds it.

use std::net::TcpListener;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A broker's `listenPort` P with P - 2 (the VIP port a broker also opens), P and P + 1 (Java's
/// default HA port) all free; never 10911 or 10909.
pub fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let port = free_port();
        if port < 1026 || port == 10911 || port == 10909 || port == u16::MAX {
            continue;
        }
        let all_free = [port - 2, port, port + 1]
            .iter()
            .all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok());
        if all_free {
            return port;
        }
    }
    panic!("no free port P with P-2, P and P+1 free after 200 tries");
}
