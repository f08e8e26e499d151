//! Two broker builds side by side (`scripts/bench --compare BIN`, `rmq-bench compare`).
//!
//! The script runs the same suite against build A (the given binary, "before") and build B
//! (the workspace's broker, "after") alternately, A B A B, each on a fresh store, labelling the rows `A:<pass>` and
//! `B:<pass>`. Alternating spreads the noise of a shared machine (other builds, page cache
//! state) over both sides instead of charging it to whichever ran second. This module pairs
//! the rows of the same run (pass, mode, size, concurrency), takes each side's median over its
//! rounds, and prints A, B and B/A for TPS, p99 latency and broker CPU µs per message, with
//! each side's largest RssAnon.

use std::collections::BTreeMap;

use crate::report::{format_size, Row};

/// The side (`A` or `B`) and the rest of a `A:<pass>` label; `None` for other labels.
pub fn split_label(label: &str) -> Option<(char, &str)> {
    let (side, rest) = label.split_once(':')?;
    match side {
        "A" => Some(('A', rest)),
        "B" => Some(('B', rest)),
        _ => None,
    }
}

/// What one side measured for one run, its rounds combined.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SideFigures {
    pub rounds: usize,
    pub tps: f64,
    pub p99_us: f64,
    pub cpu_us_per_msg: Option<f64>,
    pub rss_anon_kib: Option<u64>,
    pub errors: u64,
}

/// One line of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub pass: String,
    pub mode: String,
    pub size: usize,
    pub concurrency: usize,
    pub a: SideFigures,
    pub b: SideFigures,
}

/// Pairs A and B rows by (pass, mode, size, concurrency), in the order the runs first appear.
pub fn pair_rows(rows: &[Row]) -> Vec<Pair> {
    type Key = (String, String, usize, usize);
    let mut order: Vec<Key> = Vec::new();
    let mut sides: BTreeMap<(Key, char), Vec<&Row>> = BTreeMap::new();
    for row in rows {
        let Some((side, pass)) = split_label(&row.label) else {
            continue;
        };
        let key = (pass.to_owned(), row.mode.clone(), row.size, row.concurrency);
        if !order.contains(&key) {
            order.push(key.clone());
        }
        sides.entry((key, side)).or_default().push(row);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let a = figures(sides.get(&(key.clone(), 'A'))?);
            let b = figures(sides.get(&(key.clone(), 'B'))?);
            Some(Pair {
                pass: key.0,
                mode: key.1,
                size: key.2,
                concurrency: key.3,
                a,
                b,
            })
        })
        .collect()
}

fn figures(rows: &[&Row]) -> SideFigures {
    let cpu: Vec<f64> = rows.iter().filter_map(|r| r.cpu_us_per_msg()).collect();
    SideFigures {
        rounds: rows.len(),
        tps: median(rows.iter().map(|r| r.tps).collect()).unwrap_or(0.0),
        p99_us: median(rows.iter().map(|r| r.p99_us as f64).collect()).unwrap_or(0.0),
        cpu_us_per_msg: median(cpu),
        rss_anon_kib: rows.iter().filter_map(|r| r.broker_rss_anon_kib).max(),
        errors: rows.iter().map(|r| r.errors).sum(),
    }
}

/// The median (mean of the middle two for an even count).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|x, y| x.total_cmp(y));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

const COLUMNS: [(&str, usize); 17] = [
    ("pass", 11),
    ("mode", 7),
    ("size", 6),
    ("conc", 4),
    ("rounds", 6),
    ("A TPS", 8),
    ("B TPS", 8),
    ("B/A", 5),
    ("A p99ms", 7),
    ("B p99ms", 7),
    ("B/A", 5),
    ("A us/msg", 8),
    ("B us/msg", 8),
    ("B/A", 5),
    ("A anonMiB", 9),
    ("B anonMiB", 9),
    ("err A/B", 7),
];

/// The comparison as a table: medians of each side, B/A ratios.
pub fn format_pairs(pairs: &[Pair]) -> String {
    let mut out = line(COLUMNS.iter().map(|(t, _)| t.to_string()).collect());
    let ratio = |a: f64, b: f64| {
        if a > 0.0 {
            format!("{:.2}", b / a)
        } else {
            "-".to_owned()
        }
    };
    let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}"));
    let anon = |v: Option<u64>| v.map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
    for p in pairs {
        let (a, b) = (&p.a, &p.b);
        out.push_str(&line(vec![
            p.pass.clone(),
            p.mode.clone(),
            format_size(p.size),
            p.concurrency.to_string(),
            format!("{}/{}", a.rounds, b.rounds),
            format!("{:.0}", a.tps),
            format!("{:.0}", b.tps),
            ratio(a.tps, b.tps),
            format!("{:.2}", a.p99_us / 1000.0),
            format!("{:.2}", b.p99_us / 1000.0),
            ratio(a.p99_us, b.p99_us),
            opt(a.cpu_us_per_msg),
            opt(b.cpu_us_per_msg),
            match (a.cpu_us_per_msg, b.cpu_us_per_msg) {
                (Some(x), Some(y)) => ratio(x, y),
                _ => "-".to_owned(),
            },
            anon(a.rss_anon_kib),
            anon(b.rss_anon_kib),
            format!("{}/{}", a.errors, b.errors),
        ]));
    }
    out
}

fn line(cells: Vec<String>) -> String {
    let mut s = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS.iter()).enumerate() {
        if i > 0 {
            s.push_str("  ");
        }
        if i < 2 {
            s.push_str(&format!("{cell:<width$}"));
        } else {
            s.push_str(&format!("{cell:>width$}"));
        }
    }
    let mut s = s.trim_end().to_owned();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, mode: &str, conc: usize, tps: f64, p99: u64, cpu: f64) -> Row {
        Row {
            label: label.into(),
            mode: mode.into(),
            size: 128,
            concurrency: conc,
            messages: (tps * 4.0) as u64,
            errors: 0,
            seconds: 4.0,
            tps,
            mib_per_sec: 0.0,
            p50_us: 0,
            p99_us: p99,
            p999_us: 0,
            max_us: 0,
            broker_rss_kib: Some(60_000),
            broker_hwm_kib: Some(60_000),
            broker_cpu_secs: Some(cpu),
            broker_rss_anon_kib: Some(20_480),
            filter: None,
            timer: None,
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn labels() {
        assert_eq!(split_label("A:ASYNC_FLUSH"), Some(('A', "ASYNC_FLUSH")));
        assert_eq!(split_label("B:SYNC_FLUSH"), Some(('B', "SYNC_FLUSH")));
        assert_eq!(split_label("ASYNC_FLUSH"), None);
        assert_eq!(split_label("C:x"), None);
    }

    #[test]
    fn rows_pair_by_run_and_take_medians() {
        let rows = vec![
            row("A:ASYNC_FLUSH", "sync", 64, 50_000.0, 2000, 4.0),
            row("A:ASYNC_FLUSH", "async", 4, 70_000.0, 3000, 4.2),
            row("B:ASYNC_FLUSH", "sync", 64, 100_000.0, 1000, 2.0),
            row("B:ASYNC_FLUSH", "async", 4, 140_000.0, 1500, 2.8),
            row("A:ASYNC_FLUSH", "sync", 64, 60_000.0, 2200, 4.8),
            row("B:ASYNC_FLUSH", "sync", 64, 110_000.0, 1100, 2.2),
            // Unpaired or unlabelled rows are left out.
            row("A:SYNC_FLUSH", "sync", 1, 1000.0, 1000, 1.0),
            row("ASYNC_FLUSH", "sync", 64, 1.0, 1, 1.0),
        ];
        let pairs = pair_rows(&rows);
        assert_eq!(pairs.len(), 2);
        let sync = &pairs[0];
        assert_eq!((sync.mode.as_str(), sync.concurrency), ("sync", 64));
        assert_eq!((sync.a.rounds, sync.b.rounds), (2, 2));
        assert_eq!(sync.a.tps, 55_000.0);
        assert_eq!(sync.b.tps, 105_000.0);
        assert_eq!(sync.a.p99_us, 2100.0);
        // 4.0 CPU-s over 200,000 messages = 20 µs; 4.8 over 240,000 = 20 µs.
        assert!((sync.a.cpu_us_per_msg.unwrap() - 20.0).abs() < 1e-9);
        assert!((sync.b.cpu_us_per_msg.unwrap() - 2.0 * 1e6 / 400_000.0).abs() < 0.2);
        assert_eq!(sync.b.rss_anon_kib, Some(20_480));
        let table = format_pairs(&pairs);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("pass "), "{table}");
        assert!(
            lines[1].contains(" 55000 ") && lines[1].contains(" 1.91 "),
            "{table}"
        );
    }
}
