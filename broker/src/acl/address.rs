//! Java's `RemoteAddressStrategyFactory` and `AclUtils`' address helpers: which client
//! addresses a `whiteRemoteAddress` or a `globalWhiteRemoteAddresses` entry admits.
//!
//! The forms (4.9.8), tried in this order:
//! - blank or absent: admits nobody (`BlankRemoteAddressStrategy`);
//! - `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*`: admits everybody (`NullRemoteAddressStrategy`);
//! - ending in `}`: a set, `192.168.1.{1,2,3}` or `1050::{1,2}` (`MultipleRemoteAddressStrategy`);
//! - containing `,`: a list of addresses;
//! - containing `*` or `-`: a range, `192.168.1.1-100`, `10.10.103.*`, `192.168.*.*`,
//!   `1050:0:0:0:5:600:300c:1-ff` (`RangeRemoteAddressStrategy`; only the first range or `*`
//!   counts, the parts before it are the prefix);
//! - else one address, IPv4 or IPv6 (compared in the expanded upper-case form).
//!
//! The client address is the peer IP as Java prints it (IPv6 uncompressed, `0:0:0:0:0:0:0:1`).
//! Java's texts for bad entries are kept; they fail the load of the file. One deviation: a range
//! whose parts never name a range (Java keeps a null prefix and throws a NullPointerException at
//! each match) admits nobody here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::permission::split_drop_empty;

/// What one entry admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAddressStrategy {
    /// Nobody (blank entry).
    Blank,
    /// Everybody.
    Any,
    /// These addresses (IPv6 expanded).
    Multiple(Vec<String>),
    /// This address.
    One(String),
    /// A prefix and a range of the part after it.
    Range(Range),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    head: Option<String>,
    start: i64,
    end: i64,
    index: usize,
}

fn scope_error(addr: &str) -> String {
    format!("Netaddress examine scope Exception netaddress is {addr}")
}

impl RemoteAddressStrategy {
    /// `RemoteAddressStrategyFactory.getRemoteAddressStrategy`.
    pub fn parse(remote: Option<&str>) -> Result<Self, String> {
        let Some(addr) = remote.filter(|a| !a.trim().is_empty()) else {
            return Ok(Self::Blank);
        };
        if matches!(addr, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(Self::Any);
        }
        if addr.ends_with('}') {
            let sep = if addr.contains(':') { ':' } else { '.' };
            let parts = split_drop_empty(addr, sep);
            if sep == '.' && parts.len() < 4 {
                // Java's format string has no placeholder: the text ends there.
                return Err(
                    "MultipleRemoteAddressStrategy has got a/some wrong format IP(s) ".into(),
                );
            }
            let last = parts.last().copied().unwrap_or("");
            if !last.starts_with('{') {
                return Err(
                    "MultipleRemoteAddressStrategy netaddress examine scope Exception netaddress"
                        .into(),
                );
            }
            let prefix = &addr[..addr.find('{').unwrap_or(0)];
            let inner = &last[1..last.len().saturating_sub(1).max(1)];
            let list: Vec<String> = split_drop_empty(inner, ',')
                .into_iter()
                .map(|p| format!("{prefix}{p}"))
                .collect();
            return Self::multiple(&list);
        }
        if addr.contains(',') {
            let list: Vec<String> = split_drop_empty(addr, ',')
                .into_iter()
                .map(str::to_owned)
                .collect();
            return Self::multiple(&list);
        }
        if addr.contains('*') || addr.contains('-') {
            return Range::parse(addr).map(Self::Range);
        }
        if !(is_ipv4(addr) || is_ipv6(addr)) {
            return Err(format!("Netaddress examine Exception netaddress is {addr}"));
        }
        Ok(Self::One(addr.to_owned()))
    }

    fn multiple(list: &[String]) -> Result<Self, String> {
        let mut set = Vec::new();
        for a in list {
            if is_ipv4(a) {
                set.push(a.clone());
            } else if is_ipv6(a) {
                set.push(expand_ip(a, 8));
            } else {
                return Err(format!("Netaddress examine Exception netaddress is {a}"));
            }
        }
        Ok(Self::Multiple(set))
    }

    /// Whether the client at `addr` (Java's printed IP, no port) is admitted.
    pub fn matches(&self, addr: Option<&str>) -> bool {
        match self {
            Self::Blank => false,
            Self::Any => true,
            Self::Multiple(set) => {
                let Some(a) = addr else { return false };
                let a = if is_ipv6(a) {
                    expand_ip(a, 8)
                } else {
                    a.to_owned()
                };
                set.contains(&a)
            }
            Self::One(mine) => addr.is_some_and(|a| {
                expand_ip(a, 8).to_uppercase() == expand_ip(mine, 8).to_uppercase()
            }),
            Self::Range(r) => addr.is_some_and(|a| r.matches(a)),
        }
    }
}

impl Range {
    fn parse(addr: &str) -> Result<Range, String> {
        let mut r = Range {
            head: None,
            start: 0,
            end: 0,
            index: 0,
        };
        if addr.contains(':') {
            ipv6_address_check(addr)?;
            let parts = split_drop_empty(addr, ':');
            for i in 1..parts.len() {
                if r.analysis(&parts, i, 16, 0xffff)? {
                    verify(addr, r.index - 1)?;
                    let pre = v6_ip_process(addr);
                    r.index = split_drop_empty(&pre, ':').len();
                    r.head = Some(pre);
                    break;
                }
            }
        } else {
            let parts = split_drop_empty(addr, '.');
            let mut found = false;
            for i in 1..=3 {
                if i >= parts.len() {
                    // Java: ArrayIndexOutOfBoundsException.
                    return Err(scope_error(addr));
                }
                if r.analysis(&parts, i, 10, 255)? {
                    found = true;
                    break;
                }
            }
            if found {
                verify(addr, r.index - 1)?;
                let head: String = parts[..r.index]
                    .iter()
                    .map(|p| format!("{}.", p.trim()))
                    .collect();
                r.head = Some(head);
            }
        }
        Ok(r)
    }

    /// `analysis` / `ipv6Analysis`: part `index` is `*` or `a-b`; true once a range is known.
    fn analysis(
        &mut self,
        parts: &[&str],
        index: usize,
        radix: u32,
        max: i64,
    ) -> Result<bool, String> {
        let value = parts[index].trim();
        self.index = index;
        if value == "*" {
            self.start = 0;
            self.end = max;
        } else if value.contains('-') {
            if value.starts_with('-') {
                return Err(format!(
                    "RangeRemoteAddressStrategy netaddress examine scope Exception value {value} "
                ));
            }
            let bounds = split_drop_empty(value, '-');
            let num = |s: Option<&&str>| {
                s.and_then(|s| i64::from_str_radix(s, radix).ok())
                    .ok_or_else(|| format!("For input string: \"{value}\""))
            };
            self.start = num(bounds.first())?;
            self.end = num(bounds.get(1))?;
            if !(0..=max).contains(&self.start)
                || !(0..=max).contains(&self.end)
                || self.start > self.end
            {
                return Err(format!(
                    "RangeRemoteAddressStrategy netaddress examine scope Exception start is {} , end is {}",
                    self.start, self.end
                ));
            }
        }
        Ok(self.end > 0)
    }

    fn matches(&self, addr: &str) -> bool {
        let Some(head) = &self.head else { return false };
        let value = if is_ipv4(addr) {
            if !addr.starts_with(head.as_str()) {
                return false;
            }
            let rest = &addr[head.len()..];
            let piece = match self.index {
                3 => rest,
                2 => rest.split('.').next().unwrap_or(""),
                _ => rest.split('.').next().unwrap_or(""),
            };
            piece.parse::<i64>().ok()
        } else if is_ipv6(addr) {
            let full = expand_ip(addr, 8).to_uppercase();
            if !full.starts_with(head.as_str()) {
                return false;
            }
            full.get(5 * self.index..5 * self.index + 4)
                .and_then(|v| i64::from_str_radix(v, 16).ok())
        } else {
            None
        };
        value.is_some_and(|v| v >= self.start && v <= self.end)
    }
}

/// `AclUtils.IPv6AddressCheck`.
fn ipv6_address_check(addr: &str) -> Result<(), String> {
    let asterisk = addr.find('*');
    let minus = addr.find('-');
    if asterisk.is_none() && minus.is_none() {
        return Ok(());
    }
    if asterisk.is_some_and(|a| a != addr.len() - 1) {
        return Err(scope_error(addr));
    }
    if let Some(m) = minus {
        let last = addr.rfind(':');
        let bound = match asterisk {
            None => last,
            Some(_) => last.and_then(|l| addr[..l].rfind(':')),
        };
        if bound.is_some_and(|b| m <= b) || bound.is_none() {
            return Err(scope_error(addr));
        }
    }
    Ok(())
}

/// `AclUtils.verify` / `isScope(netaddress, index)`: the first `index` parts are in range.
fn verify(addr: &str, index: usize) -> Result<(), String> {
    let ok = if addr.contains(':') {
        let full = expand_ip(addr, 8);
        let parts = split_drop_empty(&full, ':');
        (0..index).all(|i| {
            parts
                .get(i)
                .and_then(|p| i64::from_str_radix(p, 16).ok())
                .is_some_and(|v| (0..=0xffff).contains(&v))
        })
    } else {
        let parts = split_drop_empty(addr, '.');
        parts.len() == 4
            && (0..index).all(|i| {
                parts[i]
                    .trim()
                    .parse::<i64>()
                    .is_ok_and(|v| (0..=255).contains(&v))
            })
    };
    if ok {
        Ok(())
    } else {
        Err(scope_error(addr))
    }
}

/// `AclUtils.v6ipProcess`: the expanded prefix before the range part.
fn v6_ip_process(addr: &str) -> String {
    let (asterisk, minus) = (addr.contains('*'), addr.contains('-'));
    let (part, sub) = if asterisk && minus {
        let last = addr.rfind(':').unwrap_or(0);
        let second = addr[..last].rfind(':').unwrap_or(0);
        (6, &addr[..second])
    } else if !asterisk && !minus {
        (8, addr)
    } else {
        (7, &addr[..addr.rfind(':').unwrap_or(0)])
    };
    expand_ip(sub, part)
}

/// `AclUtils.expandIP`: upper case, `::` widened to `part` groups, every group 4 digits.
pub fn expand_ip(addr: &str, part: usize) -> String {
    let mut a = addr.to_uppercase();
    let colons = a.matches(':').count();
    if part > colons {
        let pad = ":".repeat(part - colons + 1);
        a = a.replace("::", &pad);
    }
    a.split(':')
        .map(|g| format!("{g:0>4}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

/// The peer IP as Java's `RemotingHelper.parseChannelRemoteAddr` leaves it once the port is
/// cut: IPv4 dotted, IPv6 as `Inet6Address.getHostAddress` (eight groups, no `::`).
pub fn java_host_address(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

#[cfg(test)]
#[path = "address_tests.rs"]
mod tests;
