//! Durations as people read and write them: the one formatter, in the few forms wfop shows (a
//! 5-cell graph label, a log clock, a timeout as written, a summary), and the reader of a
//! workflow's `timeout` (`30s`, `1h30m`). A leaf: it uses only `std`.

use std::time::Duration;

/// Which way a duration is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// At most 5 cells, for node labels and the status line: `0.4s`, `12.3s`, `2m03`, `1h05`.
    Compact,
    /// A clock since the run started, for log lines: `01:02.345` (`MM:SS.mmm`), `1:02:05`
    /// (`H:MM:SS`) after an hour.
    Clock,
    /// As a timeout is written in a workflow: `250ms`, `30s`, `5m`, else `1.5s`.
    Exact,
    /// A run or node duration in plain output and `wfop runs`: `250ms` under a second, else
    /// `1.5s`.
    Summary,
    /// Tenths of a second always, for the summary after the TUI: `0.3s`, `62.0s`.
    Seconds,
}

/// `d` written in `form`.
pub fn duration(d: Duration, form: Form) -> String {
    let ms = d.as_millis();
    match form {
        Form::Compact if ms < 60_000 => tenths(d),
        Form::Compact if ms < 3_600_000 => {
            let s = d.as_secs();
            format!("{}m{:02}", s / 60, s % 60)
        }
        Form::Compact => {
            let m = d.as_secs() / 60;
            format!("{}h{:02}", m / 60, m % 60)
        }
        Form::Clock => {
            let s = d.as_secs();
            if s >= 3600 {
                format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
            } else {
                format!("{:02}:{:02}.{:03}", s / 60, s % 60, d.subsec_millis())
            }
        }
        Form::Exact | Form::Summary if ms < 1000 => format!("{ms}ms"),
        Form::Exact if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        Form::Exact if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        Form::Exact | Form::Summary | Form::Seconds => tenths(d),
    }
}

/// Milliseconds (as a run record keeps them) written in `form`.
pub fn millis(ms: u64, form: Form) -> String {
    duration(Duration::from_millis(ms), form)
}

/// Seconds with one decimal, from whole milliseconds: `1.5s`.
fn tenths(d: Duration) -> String {
    format!("{:.1}s", d.as_millis() as f64 / 1000.0)
}

/// Parses durations like `250ms`, `30s`, `5m`, `1h30m`. Zero is refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| "number too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "" => return Err("a unit is needed after the number: ms, s, m or h".into()),
            other => return Err(format!("unknown unit `{other}`: use ms, s, m or h")),
        };
        total = total.saturating_add(part);
    }
    if total.is_zero() {
        return Err("a timeout must be longer than zero".into());
    }
    Ok(total)
}

/// A size for people: `812 B`, `4.0 KiB`, `12.5 MiB`, `1.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4096), "4.0 KiB");
        assert_eq!(bytes(13_107_200), "12.5 MiB");
        assert_eq!(bytes(5 << 40), "5120.0 GiB");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("5").unwrap_err().contains("unit"));
        assert!(parse_duration("5d").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("m").unwrap_err().contains("number"));
        assert!(parse_duration("99999999999999999999s").is_err());
    }

    #[test]
    fn exact_timeouts_read_back() {
        for d in [ms(250), ms(30_000), ms(300_000), ms(5_400_000)] {
            assert_eq!(parse_duration(&duration(d, Form::Exact)), Ok(d));
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn compact_fits_five_cells() {
        let cases = [
            (400, "0.4s"),
            (12_345, "12.3s"),
            (123_000, "2m03"),
            (3_900_000, "1h05"),
            (0, "0.0s"),
            (99 * 3_600_000, "99h00"),
        ];
        for (n, want) in cases {
            assert_eq!(duration(ms(n), Form::Compact), want, "{n} ms");
        }
    }

    #[test]
    fn clock_is_minutes_seconds_millis_then_hours() {
        assert_eq!(duration(ms(62_345), Form::Clock), "01:02.345");
        assert_eq!(duration(ms(0), Form::Clock), "00:00.000");
        assert_eq!(duration(ms(3_599_999), Form::Clock), "59:59.999");
        assert_eq!(duration(ms(3_725_000), Form::Clock), "1:02:05");
    }

    #[test]
    fn exact_is_the_unit_a_timeout_is_written_in() {
        assert_eq!(duration(ms(250), Form::Exact), "250ms");
        assert_eq!(duration(ms(30_000), Form::Exact), "30s");
        assert_eq!(duration(ms(300_000), Form::Exact), "5m");
        assert_eq!(duration(ms(1_500), Form::Exact), "1.5s");
        assert_eq!(duration(ms(5_400_000), Form::Exact), "90m");
    }

    #[test]
    fn summary_is_millis_under_a_second_else_tenths() {
        assert_eq!(millis(12, Form::Summary), "12ms");
        assert_eq!(millis(999, Form::Summary), "999ms");
        assert_eq!(millis(1_000, Form::Summary), "1.0s");
        assert_eq!(millis(1_540, Form::Summary), "1.5s");
        assert_eq!(millis(120_000, Form::Summary), "120.0s");
    }

    #[test]
    fn seconds_are_always_tenths() {
        assert_eq!(millis(300, Form::Seconds), "0.3s");
        assert_eq!(millis(62_000, Form::Seconds), "62.0s");
        assert_eq!(duration(Duration::ZERO, Form::Seconds), "0.0s");
    }
}
