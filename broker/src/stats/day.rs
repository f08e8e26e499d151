//! `BrokerStats`: the day's message counts of GET_BROKER_RUNTIME_INFO (`msgPutTotalTodayNow`,
//! `msgPutTotalTodayMorning`, `msgPutTotalYesterdayMorning` and the `msgGet…` three), which
//! mqadmin `clusterList` turns into its "today" columns.
//!
//! "Now" is the store's running total (puts stored; messages handed to pulls). Java snapshots
//! the totals at every local midnight: "today morning" becomes "yesterday morning" and the
//! current totals become "today morning"; before the first midnight both are 0. The broker's
//! housekeeping task calls [`BrokerStats::on_tick`] every 10 s, which snapshots when it sees the
//! local day change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use store::MessageStore;

#[derive(Default)]
pub struct BrokerStats {
    day: Mutex<Option<(i32, i32)>>,
    put_today_morning: AtomicU64,
    get_today_morning: AtomicU64,
    put_yesterday_morning: AtomicU64,
    get_yesterday_morning: AtomicU64,
}

impl BrokerStats {
    /// Snapshots the totals when `today` (a local calendar day) differs from the last call's.
    pub fn on_tick(&self, today: (i32, i32), put_total: u64, get_total: u64) {
        let mut day = self.day.lock().unwrap_or_else(|e| e.into_inner());
        let previous = day.replace(today);
        if previous.is_none_or(|d| d == today) {
            return;
        }
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        self.put_yesterday_morning
            .store(load(&self.put_today_morning), Ordering::Relaxed);
        self.get_yesterday_morning
            .store(load(&self.get_today_morning), Ordering::Relaxed);
        self.put_today_morning.store(put_total, Ordering::Relaxed);
        self.get_today_morning.store(get_total, Ordering::Relaxed);
    }

    /// The six `msg…Total…` entries.
    pub fn runtime_info(&self, store: &MessageStore) -> Vec<(&'static str, String)> {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        vec![
            (
                "msgPutTotalTodayNow",
                store.stats().put_times_total().to_string(),
            ),
            (
                "msgGetTotalTodayNow",
                store.stats().get_transferred_total().to_string(),
            ),
            ("msgPutTotalTodayMorning", load(&self.put_today_morning)),
            ("msgGetTotalTodayMorning", load(&self.get_today_morning)),
            (
                "msgPutTotalYesterdayMorning",
                load(&self.put_yesterday_morning),
            ),
            (
                "msgGetTotalYesterdayMorning",
                load(&self.get_yesterday_morning),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mornings_move_at_the_day_change_only() {
        let stats = BrokerStats::default();
        let morning = |s: &BrokerStats| {
            (
                s.put_today_morning.load(Ordering::Relaxed),
                s.put_yesterday_morning.load(Ordering::Relaxed),
                s.get_today_morning.load(Ordering::Relaxed),
            )
        };
        stats.on_tick((126, 324), 10, 4);
        stats.on_tick((126, 324), 20, 8);
        assert_eq!(morning(&stats), (0, 0, 0), "no midnight seen yet");
        stats.on_tick((126, 325), 30, 12);
        assert_eq!(morning(&stats), (30, 0, 12));
        stats.on_tick((126, 326), 45, 13);
        assert_eq!(morning(&stats), (45, 30, 13));
    }
}
