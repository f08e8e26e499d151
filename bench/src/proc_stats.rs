//! The broker's memory and CPU time, read from `/proc/<pid>/status` (VmRSS, VmHWM, RssAnon)
//! and `/proc/<pid>/stat` (utime + stime) before and after a run. RssAnon is the process's own
//! memory (heap, stacks); VmRSS also counts the mapped commitlog pages it has touched.

use std::io;

/// One reading of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcSample {
    /// Resident set size now (VmRSS), KiB.
    pub rss_kib: u64,
    /// Peak resident set size so far (VmHWM), KiB.
    pub hwm_kib: u64,
    /// Anonymous resident memory (RssAnon), KiB; 0 on kernels without the line.
    pub rss_anon_kib: u64,
    /// User + system CPU time so far, in clock ticks.
    pub cpu_ticks: u64,
}

/// What a process used during a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProcUsage {
    /// RSS at the end of the run, KiB.
    pub rss_kib: u64,
    /// Peak RSS at the end of the run (since the process started), KiB.
    pub hwm_kib: u64,
    /// The larger RssAnon of the two samples, KiB.
    pub rss_anon_kib: u64,
    /// CPU seconds (user + system) spent during the run.
    pub cpu_secs: f64,
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn sample(pid: u32) -> io::Result<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("/proc/{pid}/{what}"));
    let (rss_kib, hwm_kib) = parse_status(&status).ok_or_else(|| bad("status"))?;
    let cpu_ticks = parse_stat_cpu_ticks(&stat).ok_or_else(|| bad("stat"))?;
    Ok(ProcSample {
        rss_kib,
        hwm_kib,
        rss_anon_kib: status_field(&status, "RssAnon:").unwrap_or(0),
        cpu_ticks,
    })
}

/// The difference between two samples of the same process.
pub fn usage(before: &ProcSample, after: &ProcSample) -> ProcUsage {
    ProcUsage {
        rss_kib: after.rss_kib,
        hwm_kib: after.hwm_kib,
        rss_anon_kib: before.rss_anon_kib.max(after.rss_anon_kib),
        cpu_secs: after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / clock_ticks_per_sec(),
    }
}

/// `sysconf(_SC_CLK_TCK)`, the unit of utime/stime (100 on every Linux we know of).
fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// `(VmRSS, VmHWM)` in KiB from the text of `/proc/<pid>/status` (lines like
/// `VmRSS:   12345 kB`).
fn parse_status(text: &str) -> Option<(u64, u64)> {
    Some((status_field(text, "VmRSS:")?, status_field(text, "VmHWM:")?))
}

/// One `Name:   123 kB` line of `/proc/<pid>/status`, in KiB.
fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
}

/// utime + stime (fields 14 and 15) from the text of `/proc/<pid>/stat`. Field 2, the command
/// name in parentheses, may itself hold spaces and parentheses, so counting starts after the
/// last `)`: the next field there is field 3 (state).
fn parse_stat_cpu_ticks(text: &str) -> Option<u64> {
    let after_comm = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    // fields[0] is field 3, so field n is fields[n - 3].
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let text = "Name:\tbroker\nVmPeak:\t  900000 kB\nVmHWM:\t   53120 kB\nVmRSS:\t   41000 kB\nThreads:\t9\n";
        assert_eq!(parse_status(text), Some((41_000, 53_120)));
        assert_eq!(parse_status("Name:\tx\nVmRSS:\t1 kB\n"), None);
        let with_anon = "VmRSS:\t   41000 kB\nRssAnon:\t    9000 kB\nRssFile:\t   32000 kB\n";
        assert_eq!(status_field(with_anon, "RssAnon:"), Some(9000));
        assert_eq!(status_field(text, "RssAnon:"), None);
    }

    #[test]
    fn stat_with_awkward_command_name() {
        // A command name holding ") (" and spaces must not shift the fields.
        let text = "4242 (we) ird (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 9 0 100 0 0";
        assert_eq!(parse_stat_cpu_ticks(text), Some(1234 + 567));
        assert_eq!(parse_stat_cpu_ticks("4242 (x) S 1 2"), None);
    }

    #[test]
    fn own_process_can_be_sampled() {
        let before = sample(std::process::id()).unwrap();
        // Burn a little CPU so the tick counter has a chance to move (it may not: 10 ms ticks).
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = sample(std::process::id()).unwrap();
        assert!(before.rss_kib > 0 && after.hwm_kib >= after.rss_kib);
        assert!(after.rss_anon_kib > 0 && after.rss_anon_kib <= after.rss_kib);
        assert!(after.cpu_ticks >= before.cpu_ticks);
        let used = usage(&before, &after);
        assert!(used.cpu_secs >= 0.0 && used.rss_kib == after.rss_kib);
    }

    #[test]
    fn missing_process_is_an_error() {
        // Pids are below 2^22 on Linux.
        assert!(sample(u32::MAX - 1).is_err());
    }
}
