//! The machine-dependent defaults of `brokerIP1`/`brokerIP2` and `brokerName`.

use std::net::{IpAddr, UdpSocket};

/// The default of `brokerIP1` and `brokerIP2`.
///
/// Java (`RemotingUtil.getLocalAddress`) walks the network interfaces and takes the first IPv4
/// address that is neither loopback nor `127.0*`/`192.168*`, else the last IPv4 one, else the
/// first IPv6 one, else the host's address. We take the source address the kernel picks for an
/// outbound route (a UDP socket "connected" to a public address; nothing is sent), which on a
/// single-homed machine is the same address. On a machine with several interfaces the two can
/// differ, and clients must reach the address registered with the namesrv: set `brokerIP1`
/// explicitly there (the recorded broker.conf files all do). Without any route, `127.0.0.1`.
pub fn local_address() -> String {
    route_source_address()
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn route_source_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("8.8.8.8:53").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// The default of `brokerName`: the host name, as Java's `InetAddress.getLocalHost().getHostName()`
/// (`DEFAULT_BROKER` if it cannot be read, Java's fallback).
pub fn local_host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "DEFAULT_BROKER".to_owned();
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..len]) {
        Ok(name) if !name.is_empty() => name.to_owned(),
        _ => "DEFAULT_BROKER".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_usable() {
        let ip: IpAddr = local_address().parse().unwrap();
        assert!(!ip.is_unspecified());
        let name = local_host_name();
        assert!(!name.is_empty() && !name.contains('\0'));
    }
}
