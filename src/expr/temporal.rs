//! FEEL's temporal values, pure (no evaluator types): date, time, date and time, the two duration
//! kinds; their ISO-8601 text, arithmetic, comparisons, the temporal builtins, and the timer reader.
//!
//! Durations follow XML Schema as FEEL does: a *days and time* duration (`P1DT2H30M`, exact
//! seconds) or a *years and months* duration (`P1Y2M`, calendar months), never both at once.
//! [`timer_duration`] reads a timer node's `duration` (`PT30S`) into a `std::time::Duration`.

use std::fmt;

use jiff::SignedDuration;

/// What is wrong with a temporal text or operation. Messages never repeat the input text (it may
/// come from a variable); a syntax error names the byte offset into the text instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemporalError {
    #[error("not a {kind}: {reason} at character {at}")]
    Syntax {
        kind: &'static str,
        reason: &'static str,
        /// Byte offset into the text.
        at: usize,
    },
    #[error("{0} is out of range")]
    OutOfRange(&'static str),
    #[error("unknown time zone `{0}`")]
    UnknownZone(String),
    #[error("{0}")]
    Invalid(&'static str),
}

/// Why a timer's ISO-8601 duration cannot be waited for ([`timer_duration`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (at character {at}; expected an ISO-8601 duration such as PT30S, PT5M, P1DT2H)")]
pub struct IsoDurationError {
    pub reason: &'static str,
    /// Byte offset into the text where the problem is.
    pub at: usize,
}

/// The components of an ISO-8601 duration as written (all non-negative; the sign is apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DurationParts {
    negative: bool,
    years: Option<u64>,
    months: Option<u64>,
    weeks: Option<u64>,
    days: Option<u64>,
    hours: Option<u64>,
    minutes: Option<u64>,
    seconds: Option<u64>,
    nanos: u32,
}

impl DurationParts {
    fn has_year_month(&self) -> bool {
        self.years.is_some() || self.months.is_some()
    }
    fn has_day_time(&self) -> bool {
        self.weeks.is_some()
            || self.days.is_some()
            || self.hours.is_some()
            || self.minutes.is_some()
            || self.seconds.is_some()
    }
}

/// Reads `-?P(nY)?(nM)?(nW)?(nD)?(T(nH)?(nM)?(n(.n)?S)?)?`: designators in that order, each once,
/// at least one, `T` followed by at least one time part, a fraction (up to 9 digits) only on the
/// seconds. Errors are `(reason, byte offset)`.
fn read_duration_parts(text: &str) -> Result<DurationParts, (&'static str, usize)> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut p = DurationParts::default();
    if b.first() == Some(&b'-') {
        p.negative = true;
        i += 1;
    }
    if b.get(i) != Some(&b'P') {
        return Err(("expected `P`", i));
    }
    i += 1;
    let mut in_time = false;
    // Order of the designators: the index of the last one read (date part, then time part).
    let mut last = 0u8;
    let mut any = false;
    let mut time_any = false;
    while i < b.len() {
        if b[i] == b'T' {
            if in_time {
                return Err(("`T` twice", i));
            }
            in_time = true;
            i += 1;
            if i == b.len() {
                return Err(("expected hours, minutes or seconds after `T`", i));
            }
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(("expected a number", i));
        }
        let mut value: u64 = 0;
        for &d in &b[start..i] {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or(("number too large", start))?;
        }
        let mut nanos = None;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            let dot = i;
            i += 1;
            let fstart = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &b[fstart..i];
            if digits.is_empty() {
                return Err(("expected digits after the decimal point", i));
            }
            if digits.len() > 9 {
                return Err(("more than 9 fractional digits", fstart + 9));
            }
            let mut n: u32 = 0;
            for k in 0..9 {
                n = n * 10 + digits.get(k).map_or(0, |d| u32::from(d - b'0'));
            }
            nanos = Some((n, dot));
        }
        let Some(&designator) = b.get(i) else {
            return Err((
                "expected a designator (Y, M, W, D, H, M or S) after the number",
                i,
            ));
        };
        let (rank, slot) = match (in_time, designator) {
            (false, b'Y') => (1, &mut p.years),
            (false, b'M') => (2, &mut p.months),
            (false, b'W') => (3, &mut p.weeks),
            (false, b'D') => (4, &mut p.days),
            (true, b'H') => (5, &mut p.hours),
            (true, b'M') => (6, &mut p.minutes),
            (true, b'S') => (7, &mut p.seconds),
            (false, b'H' | b'S') => return Err(("hours, minutes and seconds come after `T`", i)),
            (true, b'Y' | b'W' | b'D') => {
                return Err(("years, weeks and days come before `T`", i));
            }
            _ => {
                return Err((
                    "expected a designator (Y, M, W, D, H, M or S) after the number",
                    i,
                ));
            }
        };
        if rank <= last {
            return Err(("designators out of order or repeated", i));
        }
        if let Some((_, dot)) = nanos
            && rank != 7
        {
            return Err(("only seconds may have a fraction", dot));
        }
        *slot = Some(value);
        if let Some((n, _)) = nanos {
            p.nanos = n;
        }
        last = rank;
        any = true;
        time_any |= in_time;
        i += 1;
    }
    if !any {
        return Err(("expected at least one part after `P`", i));
    }
    if in_time && !time_any {
        return Err(("expected hours, minutes or seconds after `T`", i));
    }
    Ok(p)
}

/// Whole seconds of the day-time parts (weeks included), or `None` on overflow.
fn day_time_seconds(p: &DurationParts) -> Option<i64> {
    let parts = [
        (p.weeks, 7 * 86_400),
        (p.days, 86_400),
        (p.hours, 3_600),
        (p.minutes, 60),
        (p.seconds, 1),
    ];
    let mut total: i64 = 0;
    for (v, unit) in parts {
        let v = i64::try_from(v.unwrap_or(0)).ok()?;
        total = total.checked_add(v.checked_mul(unit)?)?;
    }
    Some(total)
}

/// Reads a timer node's ISO-8601 duration (`PT30S`, `PT1M30.5S`, `P1DT2H`, `P2W`) into the time to
/// wait. Years and months are refused (they have no fixed length), and so is a negative duration.
pub fn timer_duration(text: &str) -> Result<std::time::Duration, IsoDurationError> {
    let p = read_duration_parts(text).map_err(|(reason, at)| IsoDurationError { reason, at })?;
    if p.negative {
        return Err(IsoDurationError {
            reason: "a timer cannot wait a negative duration",
            at: 0,
        });
    }
    if p.has_year_month() {
        let at = text.find(['Y', 'M']).unwrap_or(0);
        return Err(IsoDurationError {
            reason: "years and months have no fixed length; write days (P30D) instead",
            at,
        });
    }
    let secs = day_time_seconds(&p).ok_or(IsoDurationError {
        reason: "duration too long",
        at: 0,
    })?;
    let secs = u64::try_from(secs).map_err(|_| IsoDurationError {
        reason: "duration too long",
        at: 0,
    })?;
    Ok(std::time::Duration::new(secs, p.nanos))
}

/// A FEEL *days and time* duration: an exact, signed length of time (nanosecond precision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct DayTimeDuration(SignedDuration);

/// A FEEL *years and months* duration: a signed number of calendar months.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct YearMonthDuration {
    months: i64,
}

/// Largest years-and-months duration accepted (in months): far past any representable date span.
const MAX_MONTHS: i64 = 1_000_000_000 * 12;

/// Either kind of duration, as `duration(text)` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Duration {
    DayTime(DayTimeDuration),
    YearMonth(YearMonthDuration),
}

impl DayTimeDuration {
    pub(crate) fn from_secs_nanos(secs: i64, nanos: i32) -> Result<Self, TemporalError> {
        let whole = secs
            .checked_add(i64::from(nanos / 1_000_000_000))
            .ok_or(TemporalError::OutOfRange("duration"))?;
        Ok(Self(SignedDuration::new(whole, nanos % 1_000_000_000)))
    }

    /// The duration from a total count of nanoseconds (how the evaluator multiplies and divides).
    pub(crate) fn from_nanos(nanos: i128) -> Result<Self, TemporalError> {
        SignedDuration::try_from_nanos_i128(nanos)
            .map(Self)
            .ok_or(TemporalError::OutOfRange("duration"))
    }

    pub(crate) fn as_nanos(self) -> i128 {
        self.0.as_nanos()
    }

    /// Whole seconds (truncated toward zero) and the signed nanoseconds left over.
    pub(crate) fn secs_nanos(self) -> (i64, i32) {
        (self.0.as_secs(), self.0.subsec_nanos())
    }

    pub(crate) fn signed(self) -> SignedDuration {
        self.0
    }

    pub(crate) fn checked_add(self, other: Self) -> Result<Self, TemporalError> {
        self.0
            .checked_add(other.0)
            .map(Self)
            .ok_or(TemporalError::OutOfRange("duration"))
    }

    pub(crate) fn checked_sub(self, other: Self) -> Result<Self, TemporalError> {
        self.0
            .checked_sub(other.0)
            .map(Self)
            .ok_or(TemporalError::OutOfRange("duration"))
    }

    pub(crate) fn negate(self) -> Result<Self, TemporalError> {
        self.0
            .checked_neg()
            .map(Self)
            .ok_or(TemporalError::OutOfRange("duration"))
    }

    pub(crate) fn abs(self) -> Result<Self, TemporalError> {
        if self.0.is_negative() {
            self.negate()
        } else {
            Ok(self)
        }
    }
}

impl YearMonthDuration {
    pub(crate) fn from_months(months: i64) -> Result<Self, TemporalError> {
        if months.abs() > MAX_MONTHS {
            return Err(TemporalError::OutOfRange("duration"));
        }
        Ok(Self { months })
    }

    pub(crate) fn months(self) -> i64 {
        self.months
    }

    pub(crate) fn checked_add(self, other: Self) -> Result<Self, TemporalError> {
        Self::from_months(self.months + other.months)
    }

    pub(crate) fn checked_sub(self, other: Self) -> Result<Self, TemporalError> {
        Self::from_months(self.months - other.months)
    }

    pub(crate) fn negate(self) -> Self {
        Self {
            months: -self.months,
        }
    }

    pub(crate) fn abs(self) -> Self {
        Self {
            months: self.months.abs(),
        }
    }
}

impl Duration {
    /// `duration(text)`: a days-and-time duration (`P1DT2H`, `PT0.5S`, `-PT1H`) or a
    /// years-and-months one (`P1Y2M`); weeks and a mix of both kinds are refused.
    pub(crate) fn parse(text: &str) -> Result<Self, TemporalError> {
        let syntax = |(reason, at)| TemporalError::Syntax {
            kind: "duration",
            reason,
            at,
        };
        let p = read_duration_parts(text).map_err(syntax)?;
        if p.weeks.is_some() {
            let at = text.find('W').unwrap_or(0);
            return Err(syntax(("FEEL durations have no weeks; write days", at)));
        }
        if p.has_year_month() && p.has_day_time() {
            let at = text.find(['D', 'T']).unwrap_or(0);
            return Err(syntax((
                "a duration is years and months (P1Y2M) or days and time (P1DT2H), not both",
                at,
            )));
        }
        if p.has_year_month() {
            let months = p
                .years
                .unwrap_or(0)
                .checked_mul(12)
                .and_then(|m| m.checked_add(p.months.unwrap_or(0)))
                .and_then(|m| i64::try_from(m).ok())
                .ok_or(TemporalError::OutOfRange("duration"))?;
            let ym = YearMonthDuration::from_months(months)?;
            return Ok(Duration::YearMonth(if p.negative {
                ym.negate()
            } else {
                ym
            }));
        }
        let secs = day_time_seconds(&p).ok_or(TemporalError::OutOfRange("duration"))?;
        let nanos = i32::try_from(p.nanos).map_err(|_| TemporalError::OutOfRange("duration"))?;
        let d = DayTimeDuration::from_secs_nanos(secs, nanos)?;
        Ok(Duration::DayTime(if p.negative { d.negate()? } else { d }))
    }
}

/// Writes `n` seconds + `nanos` as `12`, `12.5`, `0.000000001` (no trailing zeros).
fn write_seconds(f: &mut fmt::Formatter<'_>, secs: u64, nanos: u32) -> fmt::Result {
    write!(f, "{secs}")?;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        write!(f, ".{}", frac.trim_end_matches('0'))?;
    }
    Ok(())
}

/// FEEL's `string()` of a days-and-time duration: normalised, `P1DT2H30M`, `-PT0.5S`, `PT0S`.
impl fmt::Display for DayTimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let total = abs.as_secs();
        let nanos = abs.subsec_nanos();
        if self.0.is_negative() {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        let (days, rest) = (total / 86_400, total % 86_400);
        let (hours, minutes, secs) = (rest / 3_600, rest % 3_600 / 60, rest % 60);
        if days != 0 {
            write!(f, "{days}D")?;
        }
        if rest == 0 && nanos == 0 {
            if days == 0 {
                f.write_str("T0S")?;
            }
            return Ok(());
        }
        f.write_str("T")?;
        if hours != 0 {
            write!(f, "{hours}H")?;
        }
        if minutes != 0 {
            write!(f, "{minutes}M")?;
        }
        if secs != 0 || nanos != 0 {
            write_seconds(f, secs, nanos)?;
            f.write_str("S")?;
        }
        Ok(())
    }
}

/// FEEL's `string()` of a years-and-months duration: normalised, `P1Y2M`, `-P3M`, `P0M`.
impl fmt::Display for YearMonthDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.months.unsigned_abs();
        if self.months < 0 {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        let (years, months) = (abs / 12, abs % 12);
        if years != 0 {
            write!(f, "{years}Y")?;
        }
        if months != 0 || years == 0 {
            write!(f, "{months}M")?;
        }
        Ok(())
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Duration::DayTime(d) => d.fmt(f),
            Duration::YearMonth(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    #[test]
    fn timer_reads_the_usual_durations() {
        assert_eq!(timer_duration("PT30S"), Ok(Std::from_secs(30)));
        assert_eq!(timer_duration("PT5M"), Ok(Std::from_secs(300)));
        assert_eq!(timer_duration("PT1H30M"), Ok(Std::from_secs(5400)));
        assert_eq!(timer_duration("P1DT2H"), Ok(Std::from_secs(93_600)));
        assert_eq!(timer_duration("P2W"), Ok(Std::from_secs(14 * 86_400)));
        assert_eq!(timer_duration("PT1.5S"), Ok(Std::from_millis(1500)));
        assert_eq!(timer_duration("PT0,25S"), Ok(Std::from_millis(250)));
        assert_eq!(timer_duration("PT0S"), Ok(Std::ZERO));
        assert_eq!(timer_duration("PT0.000000001S"), Ok(Std::from_nanos(1)));
        assert_eq!(timer_duration("PT90M"), Ok(Std::from_secs(5400)));
    }

    #[test]
    fn timer_refusals_say_why_and_where() {
        let err = |t: &str| timer_duration(t).unwrap_err();
        assert_eq!(err("30S").at, 0);
        assert_eq!(err("30S").reason, "expected `P`");
        assert_eq!(
            err("P1M").reason.split(';').next(),
            Some("years and months have no fixed length")
        );
        assert_eq!(err("P1Y").at, 2);
        assert_eq!(
            err("-PT1S").reason,
            "a timer cannot wait a negative duration"
        );
        assert_eq!(err("P").reason, "expected at least one part after `P`");
        assert_eq!(
            err("PT").reason,
            "expected hours, minutes or seconds after `T`"
        );
        assert_eq!(err("P1DT").at, 4);
        assert!(err("PT30").reason.starts_with("expected a designator"));
        assert_eq!(err("PT1S2M").reason, "designators out of order or repeated");
        assert_eq!(err("PT1M1M").at, 5);
        assert_eq!(
            err("P1H").reason,
            "hours, minutes and seconds come after `T`"
        );
        assert_eq!(err("PT1D").reason, "years, weeks and days come before `T`");
        assert_eq!(err("PT1.5M").reason, "only seconds may have a fraction");
        assert_eq!(
            err("PT1.S").reason,
            "expected digits after the decimal point"
        );
        assert_eq!(
            err("PT0.1234567891S").reason,
            "more than 9 fractional digits"
        );
        assert_eq!(err("PT99999999999999999999S").reason, "number too large");
        assert_eq!(err("P99999999999999W").reason, "duration too long");
        assert_eq!(err("PT 30S").reason, "expected a number");
        assert_eq!(err(" PT30S").at, 0);
        assert_eq!(err("PT30S ").at, 5);
        assert_eq!(err("pt30s").reason, "expected `P`");
        let shown = err("PT30").to_string();
        assert!(shown.contains("at character 4"), "{shown}");
        assert!(
            shown.contains("PT30S"),
            "the message shows an example: {shown}"
        );
    }

    #[test]
    fn feel_duration_kinds() {
        let dt = |t: &str| match Duration::parse(t) {
            Ok(Duration::DayTime(d)) => d,
            other => panic!("{t}: {other:?}"),
        };
        let ym = |t: &str| match Duration::parse(t) {
            Ok(Duration::YearMonth(d)) => d,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(dt("P1DT2H").secs_nanos(), (93_600, 0));
        assert_eq!(dt("-PT1.5S").secs_nanos(), (-1, -500_000_000));
        assert_eq!(dt("PT0S").as_nanos(), 0);
        assert_eq!(ym("P1Y2M").months(), 14);
        assert_eq!(ym("-P3M").months(), -3);
        assert_eq!(ym("P0Y").months(), 0);
        assert!(matches!(
            Duration::parse("P1Y2DT3H"),
            Err(TemporalError::Syntax { at: 4, .. })
        ));
        assert!(matches!(
            Duration::parse("P1W"),
            Err(TemporalError::Syntax { at: 2, .. })
        ));
        assert!(Duration::parse("").is_err());
        assert!(Duration::parse("P999999999999Y").is_err());
    }

    #[test]
    fn durations_print_as_feel_string_does() {
        let s = |t: &str| Duration::parse(t).unwrap().to_string();
        assert_eq!(s("P1DT2H"), "P1DT2H");
        assert_eq!(s("PT36H"), "P1DT12H");
        assert_eq!(s("PT90M"), "PT1H30M");
        assert_eq!(s("P2D"), "P2D");
        assert_eq!(s("PT0S"), "PT0S");
        assert_eq!(s("P0D"), "PT0S");
        assert_eq!(s("-PT0.5S"), "-PT0.5S");
        assert_eq!(s("PT1.250S"), "PT1.25S");
        assert_eq!(s("P1DT0.000000001S"), "P1DT0.000000001S");
        assert_eq!(s("P14M"), "P1Y2M");
        assert_eq!(s("P2Y"), "P2Y");
        assert_eq!(s("P0Y"), "P0M");
        assert_eq!(s("-P1Y1M"), "-P1Y1M");
        for t in ["P1DT2H3M4.5S", "-P3DT4S", "P5Y", "-P7M"] {
            assert_eq!(s(t), t, "round trip");
        }
    }
}
