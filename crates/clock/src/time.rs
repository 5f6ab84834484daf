//! RFC 3339 UTC times of millisecond timestamps: the one formatter behind API answers,
//! error messages and command output, and the one parser of user-given times (`ccc
//! verify --at`: `2026-11-23T21:00:00Z` or `@<unix seconds>`).
//!
//! Written here rather than pulling a date library into every crate: only UTC instants
//! are needed, and the civil-date arithmetic is a few lines (days from civil, after
//! the proleptic Gregorian calendar).

/// Why a time string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid time {0:?}: expected YYYY-MM-DDTHH:MM:SSZ (UTC) or @UNIX_SECONDS")]
pub struct TimeError(pub String);

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses a time into milliseconds since the Unix epoch. Fractional seconds are
/// accepted and truncated to milliseconds; only the `Z` offset is accepted, so no
/// time is ever interpreted in a local zone by accident.
pub fn parse_time_ms(s: &str) -> Result<u64, TimeError> {
    let err = || TimeError(s.to_owned());
    if let Some(secs) = s.strip_prefix('@') {
        let secs: u64 = secs.parse().map_err(|_| err())?;
        return secs.checked_mul(1000).ok_or_else(err);
    }
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u32, TimeError> {
        let part = s.get(r).ok_or_else(err)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        part.parse().map_err(|_| err())
    };
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(err());
    }
    let year = i64::from(num(0..4)?);
    let (month, day) = (num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(err());
    }
    let rest = &s[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let digits = r.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err());
            }
            (&r[..digits], &r[digits..])
        }
        None => ("", rest),
    };
    if !matches!(zone, "Z" | "z") {
        return Err(err());
    }
    let millis: u64 = format!("{frac:0<3}")[..3].parse().map_err(|_| err())?;
    let days = days_from_civil(year, month, day);
    if days < 0 {
        return Err(err());
    }
    let secs = days as u64 * 86_400
        + u64::from(hour) * 3600
        + u64::from(minute) * 60
        + u64::from(second.min(59));
    Ok(secs * 1000 + millis)
}

/// Formats milliseconds since the epoch as RFC 3339 UTC to the second
/// (`2026-11-23T18:41:49Z`; the milliseconds are truncated).
pub fn format_time_ms(ms: u64) -> String {
    let (date_time, _) = civil(ms);
    format!("{date_time}Z")
}

/// Formats milliseconds since the epoch as RFC 3339 UTC with the milliseconds
/// (`2026-11-23T18:41:49.250Z`), where the order of events within a second matters.
pub fn format_time_ms_millis(ms: u64) -> String {
    let (date_time, millis) = civil(ms);
    format!("{date_time}.{millis:03}Z")
}

/// `YYYY-MM-DDTHH:MM:SS` of a millisecond timestamp, and its milliseconds.
fn civil(ms: u64) -> (String, u64) {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // civil_from_days, the inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date_time = format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    );
    (date_time, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_utc_and_unix_seconds() {
        assert_eq!(parse_time_ms("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time_ms("2000-03-01T00:00:01.5Z"), Ok(951_868_801_500));
        assert_eq!(parse_time_ms("@1700000000"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time_ms("2026-11-23T21:00:24Z").map(format_time_ms),
            Ok("2026-11-23T21:00:24Z".to_owned())
        );
    }

    #[test]
    fn formats_civil_time() {
        assert_eq!(format_time_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time_ms(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(format_time_ms(1_795_459_309_000), "2026-11-23T18:41:49Z");
        // Seconds precision truncates, never rounds up into the next second.
        assert_eq!(format_time_ms(1_795_459_309_999), "2026-11-23T18:41:49Z");
    }

    #[test]
    fn formats_milliseconds_when_asked() {
        assert_eq!(format_time_ms_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_time_ms_millis(1_795_459_309_250),
            "2026-11-23T18:41:49.250Z"
        );
        assert_eq!(
            format_time_ms_millis(1_795_459_309_007),
            "2026-11-23T18:41:49.007Z"
        );
    }

    #[test]
    fn rejects_local_offsets_and_impossible_dates() {
        for bad in [
            "",
            "2026-11-23",
            "2026-11-23T21:00:24",
            "2026-11-23T21:00:24+01:00",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "@-1",
            "@x",
            "2026-11-23T21:00:24.Z",
            "２０２６-11-23T21:00:24Z",
        ] {
            assert!(parse_time_ms(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in 0u64..253_402_300_799) {
            let ms = secs * 1000;
            proptest::prop_assert_eq!(parse_time_ms(&format_time_ms(ms)), Ok(ms));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = parse_time_ms(&s);
        }
    }
}
