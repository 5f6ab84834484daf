//! Peak resident set size (Linux `VmHWM`) of the server and of `ccc` itself, and the
//! server's CPU time (to say how busy it was during a load).

use serde::{Deserialize, Serialize};

/// Peak RSS in KiB from the text of `/proc/PID/status` (`VmHWM:   12345 kB`).
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut fields = line["VmHWM:".len()..].split_whitespace();
    let value = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") | None => Some(value),
        Some(_) => None,
    }
}

/// Peak RSS in KiB of process `pid` (Linux only; `None` elsewhere or if it has exited).
pub fn proc_peak_rss_kib(pid: &str) -> Option<u64> {
    parse_vm_hwm(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// Linux reports process CPU time in clock ticks of `USER_HZ`, which is 100 on every
/// architecture Linux supports (`sysconf(_SC_CLK_TCK)`; fixed by the kernel ABI).
const USER_HZ: f64 = 100.0;

/// User + system CPU seconds from the text of `/proc/PID/stat` (fields 14 and 15). The
/// command name (field 2) may contain spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_cpu_secs(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11); // field 3 (state) is the first
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

/// CPU seconds process `pid` has used so far (Linux only; `None` elsewhere or if it has
/// exited).
pub fn proc_cpu_secs(pid: &str) -> Option<f64> {
    parse_cpu_secs(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The server's `/healthz` answer (only the field the bench reads).
#[derive(Debug, Deserialize)]
pub struct Healthz {
    /// Peak RSS of the server process, KiB.
    pub peak_rss_kib: Option<u64>,
}

/// Peak memory of both ends of a run, as every bench report prints and serialises it
/// (flattened into the report's JSON).
#[derive(Debug, Clone, Serialize)]
pub struct PeakRss {
    /// The server's peak RSS, KiB, if it could be read.
    pub server_peak_rss_kib: Option<u64>,
    /// Where it was read: `/proc/PID/status` when the server's pid is given (it runs
    /// on this machine), else its `GET /healthz`.
    pub server_rss_source: String,
    /// This process's peak RSS, KiB.
    pub client_peak_rss_kib: Option<u64>,
}

impl PeakRss {
    /// Both peaks, now (at the end of the run).
    pub async fn measure(
        client: &reqwest::Client,
        healthz_url: &str,
        server_pid: Option<u32>,
    ) -> Self {
        let (server_peak_rss_kib, server_rss_source) = match server_pid {
            Some(pid) => (
                proc_peak_rss_kib(&pid.to_string()),
                format!("/proc/{pid}/status VmHWM"),
            ),
            None => (
                super::http::get_json::<Healthz>(client, healthz_url)
                    .await
                    .ok()
                    .and_then(|h| h.peak_rss_kib),
                "GET /healthz".to_owned(),
            ),
        };
        Self {
            server_peak_rss_kib,
            server_rss_source,
            client_peak_rss_kib: proc_peak_rss_kib("self"),
        }
    }

    /// The two lines every bench report ends with.
    pub fn write(&self, out: &mut String) {
        use std::fmt::Write;
        let kib = |v: Option<u64>| {
            v.map_or_else(
                || "unknown".to_owned(),
                |k| format!("{k} KiB ({:.1} MiB)", k as f64 / 1024.0),
            )
        };
        let _ = writeln!(
            out,
            "server peak RSS  {}  [{}]",
            kib(self.server_peak_rss_kib),
            self.server_rss_source
        );
        let _ = writeln!(out, "client peak RSS  {}", kib(self.client_peak_rss_kib));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_from_proc_status() {
        let status =
            "Name:\tcertcentral\nVmPeak:\t  900000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(123_456));
        assert_eq!(parse_vm_hwm("Name:\tx\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM:\t 12 MB\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn own_peak_rss_is_known_on_linux() {
        assert!(proc_peak_rss_kib("self").is_some_and(|kib| kib > 0));
    }

    #[test]
    fn cpu_time_is_utime_plus_stime_after_the_command_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime …; the name holds ") " to trip naive splitting.
        let stat = "42 (cert central) x) S 1 42 42 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0";
        assert_eq!(parse_cpu_secs(stat), Some(18.01));
        assert_eq!(parse_cpu_secs("42 (x) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn own_cpu_time_is_known_on_linux() {
        assert!(proc_cpu_secs("self").is_some());
    }

    #[test]
    fn healthz_without_rss_field_parses() {
        let h: Healthz = serde_json::from_str(r#"{"status":"ok"}"#).unwrap();
        assert_eq!(h.peak_rss_kib, None);
        let h: Healthz = serde_json::from_str(r#"{"status":"ok","peak_rss_kib":42}"#).unwrap();
        assert_eq!(h.peak_rss_kib, Some(42));
    }
}
