//! Where the CPU went: processes' own and reaped seconds from `/proc`, the
//! broker's, and the machine's busy and total time.

/// Clock ticks per second in `/proc` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// What `/proc/<pid>/stat` says of a process's CPU use.
pub(super) struct ProcStat {
    /// The command name (`comm`).
    pub(super) comm: String,
    pub(super) ppid: u32,
    /// User + system seconds of the process itself.
    pub(super) own_seconds: f64,
    /// User + system seconds of the children it has reaped.
    pub(super) reaped_seconds: f64,
}

impl ProcStat {
    pub(super) fn read(pid: u32) -> Option<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command may hold spaces and parentheses: fields follow the last ") ".
        let (head, rest) = stat.rsplit_once(") ")?;
        let comm = head.split_once(" (").map_or("", |(_, c)| c).to_string();
        let f: Vec<&str> = rest.split(' ').collect();
        // From field 3 (state) on: ppid is field 4, utime, stime, cutime,
        // cstime are fields 14-17.
        let n = |i: usize| f.get(i - 3).and_then(|x| x.parse::<f64>().ok());
        Some(Self {
            comm,
            ppid: n(4)? as u32,
            own_seconds: (n(14)? + n(15)?) / USER_HZ,
            reaped_seconds: (n(16)? + n(17)?) / USER_HZ,
        })
    }
}

/// Whether this process is the RabbitMQ node the benchmarks use (the one on
/// 5672: `beam.smp`, not a node of the test cluster `outbox-c*`).
pub(super) fn is_the_broker(pid: u32, p: &ProcStat) -> bool {
    p.comm == "beam.smp"
        && !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
            .unwrap_or_default()
            .contains("outbox-c")
}

/// CPU seconds of the RabbitMQ node the benchmarks use, so far.
pub(super) fn broker_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|p| p.parse::<u32>().ok()))
        .filter_map(|pid| ProcStat::read(pid).map(|p| (pid, p)))
        .filter(|(pid, p)| is_the_broker(*pid, p))
        .map(|(_, p)| p.own_seconds)
        .sum()
}

/// Busy and total CPU seconds of the whole machine so far (`/proc/stat`;
/// busy is everything but idle and I/O wait).
pub(super) fn machine_cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return (0.0, 0.0);
    };
    let ticks: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    ((total - idle) / USER_HZ, total / USER_HZ)
}
