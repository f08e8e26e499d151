//! Message ids.
//!
//! - offsetMsgId ([`OffsetMessageId`]): store host IP (4 | 16) + port (4) + commitlog offset (8),
//!   uppercase hex. It is where the message lives: mqadmin's `queryMsgById` connects straight to
//!   the host in it, so the broker's store host must be its reachable `brokerIP1:listenPort`.
//! - client msgId, the `UNIQ_KEY` property ([`ClientMessageId`], [`MessageClientIdSetter`]): client
//!   IP (4 | 16) + pid low 16 bits (2) + the client's classloader hash (4) + ms since the start of
//!   the current month in the client's local time (4) + a counter (2), uppercase hex.
//!
//! Both are 32 hex digits with IPv4 addresses, so the length does not tell them apart.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use super::hash::{bytes_to_hex, hex_to_bytes};
use super::MessageError;

/// Where a message is stored: the broker's store host and the record's commitlog offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OffsetMessageId {
    pub address: SocketAddr,
    pub offset: i64,
}

impl OffsetMessageId {
    pub fn new(address: SocketAddr, offset: i64) -> Self {
        Self { address, offset }
    }

    /// The id's text (what `to_string` gives), built in one allocation: the send path makes
    /// one per stored message.
    pub fn to_hex(&self) -> String {
        let mut bytes = [0u8; 28];
        let ip_len = match self.address.ip() {
            IpAddr::V4(ip) => {
                bytes[..4].copy_from_slice(&ip.octets());
                4
            }
            IpAddr::V6(ip) => {
                bytes[..16].copy_from_slice(&ip.octets());
                16
            }
        };
        bytes[ip_len..ip_len + 4].copy_from_slice(&(self.address.port() as i32).to_be_bytes());
        bytes[ip_len + 4..ip_len + 12].copy_from_slice(&self.offset.to_be_bytes());
        bytes_to_hex(&bytes[..ip_len + 12])
    }
}

impl fmt::Display for OffsetMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl FromStr for OffsetMessageId {
    type Err = MessageError;

    /// Java's `MessageDecoder.decodeMessageId`: 32 hex digits hold an IPv4 host, 56 an IPv6 one.
    fn from_str(id: &str) -> Result<Self, MessageError> {
        let invalid = || MessageError::InvalidMessageId(id.to_owned());
        let bytes = hex_to_bytes(id).ok_or_else(invalid)?;
        let ip_len = match bytes.len() {
            16 => 4,
            28 => 16,
            _ => return Err(invalid()),
        };
        let ip = read_ip(&bytes[..ip_len]);
        let port = i32::from_be_bytes(array(&bytes[ip_len..ip_len + 4]));
        let port = u16::try_from(port).map_err(|_| invalid())?;
        let offset = i64::from_be_bytes(array(&bytes[ip_len + 4..]));
        Ok(Self::new(SocketAddr::new(ip, port), offset))
    }
}

/// The fields of a client msgId (`UNIQ_KEY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientMessageId {
    pub ip: IpAddr,
    /// Low 16 bits of the client's pid.
    pub pid: u16,
    pub class_loader_hash: i32,
    /// Milliseconds since the start of the month (client local time) when the id was made;
    /// Java stores `(int)` of it, so read as unsigned.
    pub time_offset_ms: u32,
    pub counter: u16,
}

impl ClientMessageId {
    /// Java's `getNearlyTimeFromID`: the id's creation time in epoch ms, assuming it was made
    /// before `now_ms` and within a month of it. Month starts are computed in a fixed
    /// `utc_offset_secs` zone (Java uses the JVM's default zone, DST included).
    pub fn nearly_time(&self, now_ms: i64, utc_offset_secs: i32) -> i64 {
        let span = self.time_offset_ms as i64;
        let mut start = month_start(now_ms, utc_offset_secs, 0);
        if start + span >= now_ms {
            start = month_start(now_ms, utc_offset_secs, -1);
        }
        start + span
    }
}

impl fmt::Display for ClientMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(28);
        push_ip(&mut bytes, self.ip);
        bytes.extend_from_slice(&self.pid.to_be_bytes());
        bytes.extend_from_slice(&self.class_loader_hash.to_be_bytes());
        bytes.extend_from_slice(&self.time_offset_ms.to_be_bytes());
        bytes.extend_from_slice(&self.counter.to_be_bytes());
        f.write_str(&bytes_to_hex(&bytes))
    }
}

impl FromStr for ClientMessageId {
    type Err = MessageError;

    /// 32 hex digits (IPv4 client) or 56 (IPv6), as `getIPFromID` tells them apart.
    fn from_str(id: &str) -> Result<Self, MessageError> {
        let bytes =
            hex_to_bytes(id).ok_or_else(|| MessageError::InvalidMessageId(id.to_owned()))?;
        let ip_len = match bytes.len() {
            16 => 4,
            28 => 16,
            _ => return Err(MessageError::InvalidMessageId(id.to_owned())),
        };
        let rest = &bytes[ip_len..];
        Ok(Self {
            ip: read_ip(&bytes[..ip_len]),
            pid: u16::from_be_bytes(array(&rest[0..2])),
            class_loader_hash: i32::from_be_bytes(array(&rest[2..6])),
            time_offset_ms: u32::from_be_bytes(array(&rest[6..10])),
            counter: u16::from_be_bytes(array(&rest[10..12])),
        })
    }
}

/// Java's `MessageClientIDSetter`: makes `UNIQ_KEY` values. The fixed prefix is the client IP,
/// the pid's low 16 bits and the classloader hash; then the ms since the start of the current
/// month (local time, restarted when a month begins) and a counter that wraps at 16 bits.
#[derive(Clone, Debug)]
pub struct MessageClientIdSetter {
    prefix: String,
    start_time: i64,
    next_start_time: i64,
    counter: u32,
    utc_offset_secs: i32,
}

impl MessageClientIdSetter {
    pub fn new(
        ip: IpAddr,
        pid: i32,
        class_loader_hash: i32,
        now_ms: i64,
        utc_offset_secs: i32,
    ) -> Self {
        let mut fixed = Vec::with_capacity(22);
        push_ip(&mut fixed, ip);
        fixed.extend_from_slice(&(pid as i16).to_be_bytes());
        fixed.extend_from_slice(&class_loader_hash.to_be_bytes());
        Self {
            prefix: bytes_to_hex(&fixed),
            start_time: month_start(now_ms, utc_offset_secs, 0),
            next_start_time: month_start(now_ms, utc_offset_secs, 1),
            counter: 0,
            utc_offset_secs,
        }
    }

    /// A new id for a message created at `now_ms` (Java's `createUniqID`).
    pub fn create_uniq_id(&mut self, now_ms: i64) -> String {
        if now_ms >= self.next_start_time {
            self.start_time = month_start(now_ms, self.utc_offset_secs, 0);
            self.next_start_time = month_start(now_ms, self.utc_offset_secs, 1);
        }
        let mut diff = now_ms.wrapping_sub(self.start_time) as i32;
        // A clock stepped back by NTP a little: Java pins the offset to 0.
        if diff < 0 && diff > -1_000_000 {
            diff = 0;
        }
        let counter = self.counter as u16;
        self.counter = self.counter.wrapping_add(1);
        let mut id = String::with_capacity(self.prefix.len() + 12);
        id.push_str(&self.prefix);
        id.push_str(&bytes_to_hex(&diff.to_be_bytes()));
        id.push_str(&bytes_to_hex(&counter.to_be_bytes()));
        id
    }
}

fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
    }
}

fn read_ip(bytes: &[u8]) -> IpAddr {
    if bytes.len() == 4 {
        IpAddr::V4(Ipv4Addr::from(array::<4>(bytes)))
    } else {
        IpAddr::V6(Ipv6Addr::from(array::<16>(bytes)))
    }
}

/// Copies a slice whose length the caller has already established.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

const DAY_MS: i64 = 86_400_000;

/// Epoch ms of the first instant of the month `months_ahead` from the one holding `ms`, in a
/// zone `utc_offset_secs` ahead of UTC.
pub fn month_start(ms: i64, utc_offset_secs: i32, months_ahead: i64) -> i64 {
    let offset_ms = utc_offset_secs as i64 * 1000;
    let days = (ms + offset_ms).div_euclid(DAY_MS);
    let (y, m, _) = civil_from_days(days);
    let months = y * 12 + (m as i64 - 1) + months_ahead;
    let start = days_from_civil(months.div_euclid(12), (months.rem_euclid(12) + 1) as u32, 1);
    start * DAY_MS - offset_ms
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_round_trip() {
        let id: OffsetMessageId = "7F00000100002A9F00000000000000C4".parse().unwrap();
        assert_eq!(id.address, "127.0.0.1:10911".parse().unwrap());
        assert_eq!(id.offset, 0xC4);
        assert_eq!(id.to_string(), "7F00000100002A9F00000000000000C4");
        let v6 = OffsetMessageId::new("[::1]:10911".parse().unwrap(), 5);
        assert_eq!(v6.to_string().len(), 56);
        assert_eq!(v6.to_string().parse::<OffsetMessageId>().unwrap(), v6);
        assert!("7F000001".parse::<OffsetMessageId>().is_err());
        assert!("7F00000100012A9F00000000000000C4"
            .parse::<OffsetMessageId>()
            .is_err());
    }

    #[test]
    fn month_arithmetic() {
        // 2026-11-21T07:49:00Z
        let now = 1_795_247_340_000;
        assert_eq!(month_start(now, 0, 0), 1_793_491_200_000); // 2026-11-01
        assert_eq!(month_start(now, 0, 1), 1_796_083_200_000); // 2026-12-01
        assert_eq!(month_start(now, 0, -10), 1_767_225_600_000); // 2026-01-01
        assert_eq!(month_start(now, 3600, 0), 1_793_491_200_000 - 3_600_000);
    }

    #[test]
    fn generator_matches_java_layout() {
        let ip = "127.0.0.1".parse().unwrap();
        let now = 1_795_247_340_000;
        let mut gen = MessageClientIdSetter::new(ip, 0x16C26, 0x5FFD2B27, now, 0);
        let a = gen.create_uniq_id(now);
        let b = gen.create_uniq_id(now + 5);
        assert_eq!(&a[..20], "7F0000016C265FFD2B27");
        let a: ClientMessageId = a.parse().unwrap();
        let b: ClientMessageId = b.parse().unwrap();
        assert_eq!((a.counter, b.counter), (0, 1));
        assert_eq!(b.time_offset_ms - a.time_offset_ms, 5);
        assert_eq!(a.nearly_time(now + 1000, 0), now);
    }
}
