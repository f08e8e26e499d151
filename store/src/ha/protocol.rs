//! The 4.9.8 HA wire units, byte for byte (`HAConnection` / `HAService.HAClient`).
//!
//! - slave → master: a **report**, the slave's max commitlog offset as 8 bytes big-endian;
//! - master → slave: a **transfer**, a 12-byte header (phyOffset i64, bodySize i32, big-endian)
//!   followed by `bodySize` raw commitlog bytes; a **heartbeat** is the header with size 0.
//!
//! The s15 recordings (`*.ha.jsonl`) are made of exactly these units.

/// Master header: physical offset (8) + body size (4).
pub const TRANSFER_HEADER_SIZE: usize = 12;
/// A slave report.
pub const REPORT_SIZE: usize = 8;
/// Java's `HAClient.READ_MAX_BUFFER_SIZE`: the slave's read buffer, so no unit can be larger.
pub const CLIENT_READ_MAX_BUFFER_SIZE: usize = 4 * 1024 * 1024;

/// A master header.
pub fn encode_header(phy_offset: i64, size: i32) -> [u8; TRANSFER_HEADER_SIZE] {
    let mut h = [0u8; TRANSFER_HEADER_SIZE];
    h[..8].copy_from_slice(&phy_offset.to_be_bytes());
    h[8..].copy_from_slice(&size.to_be_bytes());
    h
}

/// The header at the start of `buf`, if 12 bytes are there.
pub fn decode_header(buf: &[u8]) -> Option<(i64, i32)> {
    let h = buf.get(..TRANSFER_HEADER_SIZE)?;
    Some((
        i64::from_be_bytes(h[..8].try_into().ok()?),
        i32::from_be_bytes(h[8..].try_into().ok()?),
    ))
}

pub fn encode_report(offset: i64) -> [u8; REPORT_SIZE] {
    offset.to_be_bytes()
}

/// The master's reading of the report stream (`ReadSocketService.processReadEvent`): of the
/// bytes received so far, the last whole 8-byte unit counts; earlier ones are skipped. Returns
/// that offset and how many bytes were consumed (a multiple of 8).
pub fn last_report(buf: &[u8]) -> Option<(i64, usize)> {
    let whole = buf.len() - buf.len() % REPORT_SIZE;
    if whole == 0 {
        return None;
    }
    let last = &buf[whole - REPORT_SIZE..whole];
    Some((i64::from_be_bytes(last.try_into().ok()?), whole))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_is_big_endian() {
        let h = encode_header(40870, 203);
        assert_eq!(h, [0, 0, 0, 0, 0, 0, 0x9f, 0xa6, 0, 0, 0, 0xcb]);
        assert_eq!(decode_header(&h), Some((40870, 203)));
        assert_eq!(decode_header(&h[..11]), None);
    }

    #[test]
    fn reports_take_the_last_whole_unit() {
        assert_eq!(last_report(&[0; 7]), None);
        let mut b = encode_report(2000).to_vec();
        b.extend_from_slice(&encode_report(6872));
        b.extend_from_slice(&[1, 2, 3]);
        assert_eq!(last_report(&b), Some((6872, 16)));
    }
}
