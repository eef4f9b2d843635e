//! What the kernel says a process used: CPU time and resident memory, from /proc.
//!
//! CPU time is the sum over the process's threads of the scheduler's run time
//! (`/proc/<pid>/task/*/schedstat`, nanoseconds), with `utime + stime` of
//! `/proc/<pid>/stat` (clock ticks, which also counts threads that have exited) kept beside it
//! as a cross-check. On this kernel softirq time is not accounted apart
//! (`CONFIG_IRQ_TIME_ACCOUNTING` is off), so the loopback TCP work a process's system calls
//! trigger is charged to that process, as it is for every server measured.

use std::time::Duration;

/// A snapshot of a process's counters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    /// Run time of the live threads, in nanoseconds.
    pub(crate) sched_ns: u64,
    /// utime + stime, in nanoseconds (tick resolution).
    pub(crate) stat_ns: u64,
}

impl Usage {
    /// The CPU used between `self` and a later snapshot, as the scheduler counts it; if a
    /// thread exited in between (its run time left the sum), the tick-based count.
    pub(crate) fn since(&self, earlier: &Usage) -> Duration {
        let sched = self.sched_ns.saturating_sub(earlier.sched_ns);
        let stat = self.stat_ns.saturating_sub(earlier.stat_ns);
        // Ticks are 10 ms: trust the scheduler unless it is clearly short.
        if stat > sched + 20_000_000 {
            Duration::from_nanos(stat)
        } else {
            Duration::from_nanos(sched)
        }
    }
}

/// Clock ticks per second for `/proc/<pid>/stat` (USER_HZ, 100 on Linux for decades; asked
/// of `getconf` once when it is there).
fn ticks_per_second() -> u64 {
    use std::sync::OnceLock;
    static HZ: OnceLock<u64> = OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|hz| *hz > 0)
            .unwrap_or(100)
    })
}

fn stat_ns(dir: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace();
    // Fields 3.. of stat(5): utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 1_000_000_000 / ticks_per_second())
}

fn sched_ns(dir: &str) -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(format!("{dir}/task")).ok()? {
        let Ok(entry) = entry else { continue };
        let path = entry.path().join("schedstat");
        // A thread may end between the listing and the read.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
        {
            total += ns;
        }
    }
    Some(total)
}

/// The CPU counters of `pid`, or of this process for `None`.
pub(crate) fn usage(pid: Option<u32>) -> Option<Usage> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}"),
        None => "/proc/self".to_owned(),
    };
    let stat = stat_ns(&dir)?;
    let sched = sched_ns(&dir).unwrap_or(stat);
    Some(Usage {
        sched_ns: sched,
        stat_ns: stat,
    })
}

/// CPU time the whole machine spent busy (every core, every process, the kernel's
/// interrupts, and time a hypervisor took), from the first line of `/proc/stat`.
pub(crate) fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    let busy: u64 = [0usize, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|i| ticks.get(*i))
        .sum();
    Some(Duration::from_nanos(
        busy * 1_000_000_000 / ticks_per_second(),
    ))
}

/// The resident set size of `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
pub(crate) fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_counters() {
        let u = usage(None);
        assert!(u.is_some());
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
    }
}
