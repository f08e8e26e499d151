//! Result rows: one per run, printed as a fixed-width table line as soon as the run ends and
//! appended as a JSON line to a results file, from which `rmq-bench report` prints the whole
//! table again.

use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::histogram::LatencyHistogram;
use crate::proc_stats::ProcUsage;

/// One run's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// What the run belongs to, e.g. the broker's flush mode (`ASYNC_FLUSH`).
    pub label: String,
    /// `sync`, `async` or `consume`.
    pub mode: String,
    /// Body size in bytes.
    pub size: usize,
    /// Concurrent senders, or queues pulled in parallel.
    pub concurrency: usize,
    /// Messages sent (answered SUCCESS) or received.
    pub messages: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Messages per second.
    pub tps: f64,
    /// MiB per second: message bodies for sends, stored records for consume.
    pub mib_per_sec: f64,
    /// Latency quantiles in microseconds: per send, or per pull request.
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    /// The broker's RSS after the run, KiB (when its pid was given).
    pub broker_rss_kib: Option<u64>,
    /// The broker's peak RSS so far, KiB.
    pub broker_hwm_kib: Option<u64>,
    /// Broker CPU seconds (user + system) spent during the run.
    pub broker_cpu_secs: Option<f64>,
    /// The broker's anonymous resident memory (RssAnon), KiB: the larger of the two samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_rss_anon_kib: Option<u64>,
    /// A `filter` run's own figures (`messages`/`tps` are then the messages delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<FilterFigures>,
    /// A `timer` run's own figures (`messages`/`tps`/`seconds` are then the enqueue's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<crate::timer::TimerFigures>,
}

/// What a `filter` run adds to its row: the selector, the backlog it went through, what it
/// should have delivered, and what loading the backlog cost the broker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterFigures {
    /// The SQL92 selector, or `None` for a subscription to every tag.
    pub expression: Option<String>,
    /// Messages in the backlog.
    pub backlog: u64,
    /// Messages of the backlog that match the selector.
    pub expected: u64,
    /// Queue offsets the pulls went past.
    pub scanned: u64,
    /// Backlog offsets scanned per second.
    pub scanned_per_sec: f64,
    /// Broker CPU seconds spent while the backlog was sent and dispatched (where bitmaps are
    /// computed).
    pub load_cpu_secs: Option<f64>,
}

impl Row {
    /// A row from a run's counters. `bytes` is what MiB/s counts.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        label: &str,
        mode: &str,
        size: usize,
        concurrency: usize,
        messages: u64,
        errors: u64,
        bytes: u64,
        elapsed: std::time::Duration,
        latency: &LatencyHistogram,
        broker: Option<ProcUsage>,
    ) -> Row {
        let seconds = elapsed.as_secs_f64();
        let per_sec = |x: f64| if seconds > 0.0 { x / seconds } else { 0.0 };
        Row {
            label: label.to_owned(),
            mode: mode.to_owned(),
            size,
            concurrency,
            messages,
            errors,
            seconds,
            tps: per_sec(messages as f64),
            mib_per_sec: per_sec(bytes as f64 / (1024.0 * 1024.0)),
            p50_us: latency.quantile_micros(0.5),
            p99_us: latency.quantile_micros(0.99),
            p999_us: latency.quantile_micros(0.999),
            max_us: latency.max_micros(),
            broker_rss_kib: broker.map(|b| b.rss_kib),
            broker_hwm_kib: broker.map(|b| b.hwm_kib),
            broker_cpu_secs: broker.map(|b| b.cpu_secs),
            broker_rss_anon_kib: broker.map(|b| b.rss_anon_kib),
            filter: None,
            timer: None,
        }
    }

    /// Broker CPU microseconds per message: the CPU time of the measured window divided by the
    /// messages of that window (`None` without a broker pid or without messages).
    pub fn cpu_us_per_msg(&self) -> Option<f64> {
        let secs = self.broker_cpu_secs?;
        (self.messages > 0).then(|| secs * 1e6 / self.messages as f64)
    }
}

/// Column titles and widths; every line of the table uses them.
const COLUMNS: [(&str, usize); 15] = [
    ("label", 11),
    ("mode", 7),
    ("size", 6),
    ("conc", 4),
    ("msgs", 9),
    ("err", 5),
    ("TPS", 9),
    ("MiB/s", 7),
    ("p50 ms", 8),
    ("p99 ms", 8),
    ("p999 ms", 8),
    ("RSS MiB", 8),
    ("Anon MiB", 8),
    ("CPU s", 6),
    ("CPU us/msg", 10),
];

/// The columns of a `filter` row.
const FILTER_COLUMNS: [(&str, usize); 15] = [
    ("label", 14),
    ("selector", 8),
    ("size", 6),
    ("backlog", 9),
    ("expected", 9),
    ("msgs", 9),
    ("err", 5),
    ("msgs/s", 9),
    ("scanned/s", 9),
    ("MiB/s", 7),
    ("p50 ms", 8),
    ("p99 ms", 8),
    ("RSS MiB", 8),
    ("CPU s", 6),
    ("load CPU s", 10),
];

pub fn header() -> String {
    let titles: Vec<String> = COLUMNS.iter().map(|(t, _)| t.to_string()).collect();
    join(&titles, &COLUMNS)
}

/// The title line of `filter` rows.
pub fn filter_header() -> String {
    let titles: Vec<String> = FILTER_COLUMNS.iter().map(|(t, _)| t.to_string()).collect();
    join(&titles, &FILTER_COLUMNS)
}

/// The row as one line of its table (`filter` rows have their own columns).
pub fn format_any_row(row: &Row) -> String {
    match (&row.filter, &row.timer) {
        (Some(f), _) => format_filter_row(row, f),
        (None, Some(t)) => crate::timer::format_row(row, t),
        (None, None) => format_row(row),
    }
}

fn format_filter_row(row: &Row, f: &FilterFigures) -> String {
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let cells = vec![
        row.label.clone(),
        f.expression.clone().unwrap_or_else(|| "-".to_owned()),
        format_size(row.size),
        f.backlog.to_string(),
        f.expected.to_string(),
        row.messages.to_string(),
        row.errors.to_string(),
        format!("{:.0}", row.tps),
        format!("{:.0}", f.scanned_per_sec),
        format!("{:.1}", row.mib_per_sec),
        ms(row.p50_us),
        ms(row.p99_us),
        row.broker_rss_kib
            .map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        row.broker_cpu_secs
            .map_or("-".to_owned(), |s| format!("{s:.2}")),
        f.load_cpu_secs
            .map_or("-".to_owned(), |s| format!("{s:.2}")),
    ];
    join(&cells, &FILTER_COLUMNS)
}

/// The row as one table line.
pub fn format_row(row: &Row) -> String {
    let ms = |us: u64| format!("{:.3}", us as f64 / 1000.0);
    let cells = vec![
        row.label.clone(),
        row.mode.clone(),
        format_size(row.size),
        row.concurrency.to_string(),
        row.messages.to_string(),
        row.errors.to_string(),
        format!("{:.0}", row.tps),
        format!("{:.1}", row.mib_per_sec),
        ms(row.p50_us),
        ms(row.p99_us),
        ms(row.p999_us),
        row.broker_rss_kib
            .map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        row.broker_rss_anon_kib
            .map_or("-".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0)),
        row.broker_cpu_secs
            .map_or("-".to_owned(), |s| format!("{s:.2}")),
        row.cpu_us_per_msg()
            .map_or("-".to_owned(), |us| format!("{us:.2}")),
    ];
    join(&cells, &COLUMNS)
}

/// The whole table: header, then one line per row; `filter` and `timer` rows follow in tables
/// of their own.
pub fn format_table(rows: &[Row]) -> String {
    let (timer, rows): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| r.timer.is_some());
    let (filter, plain): (Vec<&Row>, Vec<&Row>) =
        rows.into_iter().partition(|r| r.filter.is_some());
    let mut out = String::new();
    if !plain.is_empty() || filter.is_empty() {
        out.push_str(&header());
        out.push('\n');
        for row in plain {
            out.push_str(&format_row(row));
            out.push('\n');
        }
    }
    if !filter.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&filter_header());
        out.push('\n');
        for row in filter {
            out.push_str(&format_any_row(row));
            out.push('\n');
        }
    }
    if !timer.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&crate::timer::header());
        out.push('\n');
        for row in timer {
            out.push_str(&format_any_row(row));
            out.push('\n');
        }
    }
    out
}

/// `128` → `128B`, `1024` → `1KiB`, `1536` → `1536B`.
pub fn format_size(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

/// Text columns left-aligned, the rest right-aligned; a cell wider than its column is kept
/// whole (the table is for reading, not parsing: the JSON lines are for that).
fn join(cells: &[String], columns: &[(&str, usize)]) -> String {
    let mut line = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(columns.iter()).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if i < 2 {
            line.push_str(&format!("{cell:<width$}"));
        } else {
            line.push_str(&format!("{cell:>width$}"));
        }
    }
    line.trim_end().to_owned()
}

/// Appends `row` as one JSON line to `path`.
pub fn append_json(path: &Path, row: &Row) -> io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let line = serde_json::to_string(row).map_err(io::Error::other)?;
    writeln!(file, "{line}")
}

/// Reads every row of a results file (blank lines skipped).
pub fn read_json(path: &Path) -> io::Result<Vec<Row>> {
    let file = std::fs::File::open(path)?;
    let mut rows = Vec::new();
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let row = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: {e}", path.display(), n + 1),
            )
        })?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample_row() -> Row {
        let mut h = LatencyHistogram::new();
        for _ in 0..100 {
            h.record(Duration::from_micros(250));
        }
        Row::new(
            "ASYNC_FLUSH",
            "sync",
            1024,
            16,
            50_000,
            2,
            50_000 * 1024,
            Duration::from_secs(4),
            &h,
            Some(ProcUsage {
                rss_kib: 40_960,
                hwm_kib: 51_200,
                rss_anon_kib: 12_288,
                cpu_secs: 3.456,
            }),
        )
    }

    #[test]
    fn row_figures() {
        let row = sample_row();
        assert_eq!(row.tps, 12_500.0);
        assert!((row.mib_per_sec - 12.207).abs() < 0.001);
        assert_eq!((row.p50_us, row.p999_us), (250, 250));
    }

    #[test]
    fn table_layout() {
        let mut other = sample_row();
        other.mode = "consume".into();
        other.size = 128;
        other.broker_rss_kib = None;
        other.broker_rss_anon_kib = None;
        other.broker_cpu_secs = None;
        let table = format_table(&[sample_row(), other]);
        let expected = "\
label        mode       size  conc       msgs    err        TPS    MiB/s    p50 ms    p99 ms   p999 ms   RSS MiB  Anon MiB   CPU s  CPU us/msg
ASYNC_FLUSH  sync       1KiB    16      50000      2      12500     12.2     0.250     0.250     0.250      40.0      12.0    3.46       69.12
ASYNC_FLUSH  consume    128B    16      50000      2      12500     12.2     0.250     0.250     0.250         -         -       -           -
";
        assert_eq!(table, expected);
    }

    #[test]
    fn filter_rows_have_their_own_table() {
        let mut f = sample_row();
        f.label = "sql92+bitmap".into();
        f.mode = "filter".into();
        f.messages = 10_000;
        f.tps = 2_500.0;
        f.errors = 0;
        f.filter = Some(FilterFigures {
            expression: Some("p = 3".into()),
            backlog: 100_000,
            expected: 10_000,
            scanned: 100_000,
            scanned_per_sec: 25_000.0,
            load_cpu_secs: Some(7.5),
        });
        let table = format_table(&[sample_row(), f.clone()]);
        let expected = "\
label        mode       size  conc       msgs    err        TPS    MiB/s    p50 ms    p99 ms   p999 ms   RSS MiB  Anon MiB   CPU s  CPU us/msg
ASYNC_FLUSH  sync       1KiB    16      50000      2      12500     12.2     0.250     0.250     0.250      40.0      12.0    3.46       69.12

label           selector    size    backlog   expected       msgs    err     msgs/s  scanned/s    MiB/s    p50 ms    p99 ms   RSS MiB   CPU s  load CPU s
sql92+bitmap    p = 3       1KiB     100000      10000      10000      0       2500      25000     12.2     0.250     0.250      40.0    3.46        7.50
";
        assert_eq!(table, expected);
        assert_eq!(
            format_table(&[f.clone()]),
            expected.split_once("\n\n").unwrap().1
        );
        // Rows without the figures keep their JSON shape; with them they round-trip.
        assert!(!serde_json::to_string(&sample_row())
            .unwrap()
            .contains("filter"));
        let back: Row = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }

    #[test]
    fn sizes() {
        assert_eq!(format_size(128), "128B");
        assert_eq!(format_size(1024), "1KiB");
        assert_eq!(format_size(4 << 20), "4096KiB");
        assert_eq!(format_size(1500), "1500B");
    }

    #[test]
    fn json_lines_round_trip() {
        let dir = std::env::temp_dir().join(format!("rmq-bench-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.jsonl");
        let _ = std::fs::remove_file(&path);
        let a = sample_row();
        let mut b = sample_row();
        b.broker_cpu_secs = None;
        append_json(&path, &a).unwrap();
        append_json(&path, &b).unwrap();
        assert_eq!(read_json(&path).unwrap(), vec![a, b]);
        std::fs::write(&path, "{\"label\":1}\n").unwrap();
        let err = read_json(&path).unwrap_err();
        assert!(err.to_string().contains("results.jsonl:1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
