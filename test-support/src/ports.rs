//! Free ports. Tests never use the well-known 9876/10911 so that they run next to a real
//! RocketMQ; a port is picked by binding port 0 and released before the server binds it.
//!
//! A released port is free again for the next pick, so two picks made before either server
//! binds could collide: a gRPC port picked first, then a broker whose VIP port (`listenPort - 2`)
//! is that same port, and the broker fails with "Address already in use". Every port handed
//! out is therefore remembered for the life of the test process and never handed out again.
//!
//! Ports are also picked below the kernel's ephemeral range (`ip_local_port_range`, 32768 and
//! up by default), where binding port 0 would pick them. The kernel gives ports of that range
//! to outgoing connections as their local port, and between the pick and the bind a broker's
//! own connection to the name server or a client's of another test can take it: the broker then
//! fails with "Address already in use" (seen in CI on a master's HA port, `listenPort + 1`). No
//! connection is given a port below the range, so only these picks ever use them.

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

/// A port below the ephemeral range that nothing listens on right now (or, when the range
/// leaves too little room below it, one the kernel picks).
fn unbound_port() -> u16 {
    let low = ephemeral_range_start();
    if low >= 16384 {
        // [low / 2, low): 16384-32767 with the default range.
        for _ in 0..1000 {
            let port = low / 2 + (random() % u64::from(low / 2)) as u16;
            if TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The first port the kernel gives outgoing connections (32768 when it cannot be read).
fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// A random number from std's per-process hash keys (no random crate needed here).
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
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
        let low = ephemeral_range_start();
        if port < 1026 || port == 10911 || port == 10909 || port == u16::MAX {
            continue;
        }
        // P + 1 must stay below the ephemeral range too (see the module doc).
        if low >= 16384 && port + 1 >= low {
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
        // None in the range the kernel gives outgoing connections.
        let low = ephemeral_range_start();
        if low >= 16384 {
            assert!(
                seen.iter().all(|&p| p < low),
                "a port in the ephemeral range"
            );
        }
    }
}
