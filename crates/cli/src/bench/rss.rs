//! Peak resident set size (Linux `VmHWM`) of the server and of `ccc` itself.

use serde::Deserialize;

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

/// The server's `/healthz` answer (only the field the bench reads).
#[derive(Debug, Deserialize)]
pub struct Healthz {
    /// Peak RSS of the server process, KiB.
    pub peak_rss_kib: Option<u64>,
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
    fn healthz_without_rss_field_parses() {
        let h: Healthz = serde_json::from_str(r#"{"status":"ok"}"#).unwrap();
        assert_eq!(h.peak_rss_kib, None);
        let h: Healthz = serde_json::from_str(r#"{"status":"ok","peak_rss_kib":42}"#).unwrap();
        assert_eq!(h.peak_rss_kib, Some(42));
    }
}
