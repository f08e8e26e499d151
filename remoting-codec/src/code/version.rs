//! `MQVersion.Version` ordinals: the `version` field of every frame.
//!
//! Java sends `Version.ordinal()`, so a value is a position in that enum (identical in 4.9.8 and
//! 5.3.3: 613 entries). Peers compare these numbers to switch behaviour; the constants here are
//! the thresholds Java code tests and the versions we speak.

pub const V3_0_0_SNAPSHOT: i32 = 0;
/// Clients below this cannot take broker-initiated offset resets or consumer-status queries
/// (the broker answers SYSTEM_ERROR "the client does not support this feature").
pub const V3_0_7_SNAPSHOT: i32 = 28;
/// From here, a REGISTER_BROKER body holds a `RegisterBrokerBody` (older: bare topic wrapper).
pub const V3_0_11: i32 = 37;
/// Clients below this cannot answer GET_CONSUMER_RUNNING_INFO (the broker refuses the query).
pub const V3_1_8_SNAPSHOT: i32 = 62;
/// From here, the broker honours a request header's `maxReconsumeTimes` (send-back, retry sends).
pub const V3_4_9: i32 = 121;
pub const V4_0_0: i32 = 213;
/// A 4.x client refuses SQL92/non-TAG pulls from a broker below this.
pub const V4_1_0_SNAPSHOT: i32 = 232;
/// 5.x authentication leaves `_UNIQUE_KEY_QUERY` out of the signed content for clients up to here.
pub const V4_9_3: i32 = 399;
/// From here, GET_ROUTEINFO_BY_TOPIC answers in standard JSON (quoted map keys) whatever
/// `acceptStandardJsonOnly` says.
pub const V4_9_4: i32 = 401;
/// What 4.9.8 programs send.
pub const V4_9_8: i32 = 409;
/// From here, a compressed REGISTER_BROKER body carries the 5.x topic-queue-mapping section.
pub const V5_0_0: i32 = 413;
/// Above this, a shutting-down 5.x server answers GO_AWAY instead of processing.
pub const V5_3_1: i32 = 475;
pub const V5_3_2: i32 = 477;
/// What 5.3.3 programs send.
pub const V5_3_3: i32 = 479;
/// The last entry; Java maps every larger ordinal to it.
pub const HIGHER_VERSION: i32 = 612;

/// The 16 names before the regular `V3_0_1_SNAPSHOT, V3_0_1, …` pairs start.
const EARLY: [&str; 16] = [
    "V3_0_0_SNAPSHOT",
    "V3_0_0_ALPHA1",
    "V3_0_0_BETA1",
    "V3_0_0_BETA2",
    "V3_0_0_BETA3",
    "V3_0_0_BETA4",
    "V3_0_0_BETA5",
    "V3_0_0_BETA6_SNAPSHOT",
    "V3_0_0_BETA6",
    "V3_0_0_BETA7_SNAPSHOT",
    "V3_0_0_BETA7",
    "V3_0_0_BETA8_SNAPSHOT",
    "V3_0_0_BETA8",
    "V3_0_0_BETA9_SNAPSHOT",
    "V3_0_0_BETA9",
    "V3_0_0_FINAL",
];

/// Java's `MQVersion.getVersionDesc`: the enum name of an ordinal, `HIGHER_VERSION` beyond the
/// end; `None` for a negative value (where Java would throw).
///
/// After the 16 early names the enum is regular: each release is a `_SNAPSHOT` entry followed by the
/// release, for 3.0.1–3.0.15, 3.1.0–3.2.9, 3.3.1–3.9.9 (no `x.y.0`), then 4.0.0–5.9.9.
pub fn version_name(ordinal: i32) -> Option<String> {
    let i = usize::try_from(ordinal).ok()?;
    if let Some(name) = EARLY.get(i) {
        return Some((*name).to_owned());
    }
    if i >= HIGHER_VERSION as usize {
        return Some("HIGHER_VERSION".to_owned());
    }
    // Releases (major, minor, first patch, last patch), in enum order.
    let mut spans = vec![(3, 0, 1, 15), (3, 1, 0, 9), (3, 2, 0, 9)];
    spans.extend((3..=9).map(|minor| (3, minor, 1, 9)));
    spans.extend((4..=5).flat_map(|major| (0..=9).map(move |minor| (major, minor, 0, 9))));
    let mut rest = i - EARLY.len();
    for (major, minor, first, last) in spans {
        let len = 2 * (last - first + 1);
        if rest < len {
            let patch = first + rest / 2;
            let suffix = if rest & 1 == 0 { "_SNAPSHOT" } else { "" };
            return Some(format!("V{major}_{minor}_{patch}{suffix}"));
        }
        rest -= len;
    }
    Some("HIGHER_VERSION".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_java_enum_ordinals() {
        let known = [
            (V3_0_0_SNAPSHOT, "V3_0_0_SNAPSHOT"),
            (15, "V3_0_0_FINAL"),
            (16, "V3_0_1_SNAPSHOT"),
            (V3_0_7_SNAPSHOT, "V3_0_7_SNAPSHOT"),
            (V3_0_11, "V3_0_11"),
            (45, "V3_0_15"),
            (46, "V3_1_0_SNAPSHOT"),
            (V3_1_8_SNAPSHOT, "V3_1_8_SNAPSHOT"),
            (85, "V3_2_9"),
            (86, "V3_3_1_SNAPSHOT"),
            (V3_4_9, "V3_4_9"),
            (211, "V3_9_9"),
            (212, "V4_0_0_SNAPSHOT"),
            (V4_0_0, "V4_0_0"),
            (V4_1_0_SNAPSHOT, "V4_1_0_SNAPSHOT"),
            (V4_9_3, "V4_9_3"),
            (V4_9_4, "V4_9_4"),
            (V4_9_8, "V4_9_8"),
            (V5_0_0, "V5_0_0"),
            (V5_3_1, "V5_3_1"),
            (V5_3_2, "V5_3_2"),
            (V5_3_3, "V5_3_3"),
            (611, "V5_9_9"),
            (HIGHER_VERSION, "HIGHER_VERSION"),
            (10_000, "HIGHER_VERSION"),
        ];
        for (ordinal, name) in known {
            assert_eq!(version_name(ordinal).as_deref(), Some(name), "{ordinal}");
        }
        assert_eq!(version_name(-1), None);
    }
}
