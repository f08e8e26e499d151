//! The denied-request log: each refusal is logged (WARN, target `acl`) once per client IP,
//! access key, request code and reason within a window, so a client retrying in a loop — or a
//! flood — writes one line per window, not one per request. Java logs every refusal in
//! remoting.log ("process request exception" with the stack); this keeps the reason and who,
//! without the volume. The table is bounded: when it is full, the oldest entries go.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long one (client, key, code, reason) is logged once.
pub const AUDIT_WINDOW: Duration = Duration::from_secs(60);
/// At most this many remembered denials.
const CAPACITY: usize = 4096;

pub struct DenialAudit {
    window_ms: i64,
    seen: Mutex<HashMap<String, i64>>,
}

impl DenialAudit {
    pub fn new(window: Duration) -> Self {
        Self {
            window_ms: window.as_millis() as i64,
            seen: Mutex::default(),
        }
    }

    /// Whether this denial should be logged at `now_ms` (and remembers it if so).
    pub fn should_log(
        &self,
        client: &str,
        access_key: Option<&str>,
        code: i32,
        reason: &str,
        now_ms: i64,
    ) -> bool {
        let key = format!("{client}|{}|{code}|{reason}", access_key.unwrap_or("-"));
        let mut seen = self.seen.lock().unwrap();
        if seen
            .get(&key)
            .is_some_and(|&at| now_ms - at < self.window_ms)
        {
            return false;
        }
        if seen.len() >= CAPACITY {
            let window = self.window_ms;
            seen.retain(|_, at| now_ms - *at < window);
            if seen.len() >= CAPACITY {
                seen.clear();
            }
        }
        seen.insert(key, now_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_window_and_bounded() {
        let a = DenialAudit::new(Duration::from_secs(60));
        assert!(a.should_log("1.2.3.4", Some("k"), 310, "No acl config", 0));
        assert!(!a.should_log("1.2.3.4", Some("k"), 310, "No acl config", 59_999));
        assert!(a.should_log("1.2.3.4", Some("k"), 310, "No acl config", 60_000));
        assert!(a.should_log("1.2.3.5", Some("k"), 310, "No acl config", 60_000));
        for i in 0..10_000 {
            a.should_log(&format!("c{i}"), None, 10, "x", 70_000);
        }
        assert!(a.seen.lock().unwrap().len() <= CAPACITY);
    }
}
