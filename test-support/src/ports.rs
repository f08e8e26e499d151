//! Free ports. Tests never use the well-known 9876/10911 so that they run next to a real
//! RocketMQ; a port is picked by binding port 0 and released before the server binds it.
//!
//! A released port is free again for the next pick, so two picks made before either server
//! binds could collide: a gRPC port picked first, then a broker whose VIP port (`listenPort - 2`)
//! is that same port, and the broker fails with "Address already in use". Every port handed
//! out is therefore remembered for the life of the test process and never handed out again.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// The ports handed out so far by this process.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Takes `ports` if none of them was handed out before; whether it did.
fn take(ports: &[u16]) -> bool {
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    if ports.iter().any(|p| handed.contains(p)) {
        return false;
    }
    handed.extend(ports);
    true
}

fn unbound_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A port nobody listens on right now, and that this process has not handed out before.
pub fn free_port() -> u16 {
    for _ in 0..1000 {
        let port = unbound_port();
        if take(&[port]) {
            return port;
        }
    }
    panic!("no free port not handed out before after 1000 tries");
}

/// A broker's `listenPort` P with P - 2 (the VIP port a broker also opens), P and P + 1 (Java's
/// default HA port) all free and none handed out before; never 10911 or 10909.
pub fn free_port_pair() -> u16 {
    for _ in 0..200 {
        let port = unbound_port();
        if port < 1026 || port == 10911 || port == 10909 || port == u16::MAX {
            continue;
        }
        let ports = [port - 2, port, port + 1];
        let all_free = ports
            .iter()
            .all(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok());
        if all_free && take(&ports) {
            return port;
        }
    }
    panic!("no free port P with P-2, P and P+1 free after 200 tries");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No port is handed out twice, and a plain pick never lands on a broker's three ports.
    #[test]
    fn no_port_is_handed_out_twice() {
        let broker = free_port_pair();
        let mut seen: BTreeSet<u16> = [broker - 2, broker, broker + 1].into();
        for _ in 0..500 {
            assert!(seen.insert(free_port()), "a port handed out twice");
        }
        let other = free_port_pair();
        for p in [other - 2, other, other + 1] {
            assert!(seen.insert(p), "{p} handed out twice");
        }
    }
}
