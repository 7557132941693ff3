//! FEEL's temporal values, pure (no evaluator types): date, time, date and time, the two duration
//! kinds; their ISO-8601 text, arithmetic, comparisons, the temporal builtins, and the timer reader.
//!
//! Durations follow XML Schema as FEEL does: a *days and time* duration (`P1DT2H30M`, exact
//! seconds) or a *years and months* duration (`P1Y2M`, calendar months), never both at once.
//! [`timer_duration`] reads a timer node's `duration` (`PT30S`) into a `std::time::Duration`.

use std::cmp::Ordering;
use std::fmt;

use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, Timestamp, civil};

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
    #[error("unknown time zone id (expected an IANA name such as Europe/Paris or UTC)")]
    UnknownZone,
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

/// A time zone of a date and time: a fixed offset (`+01:00`, `Z`) or an IANA zone id
/// (`@Europe/Paris`), whose offset depends on the instant.
#[derive(Clone, Debug)]
pub(crate) enum Zone {
    Offset(Offset),
    Id(TimeZone),
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Zone::Offset(a), Zone::Offset(b)) => a == b,
            (Zone::Id(a), Zone::Id(b)) => a.iana_name() == b.iana_name(),
            _ => false,
        }
    }
}

impl Zone {
    /// The zone an IANA name names (`Europe/Paris`, `UTC`).
    pub(crate) fn named(name: &str) -> Result<Zone, TemporalError> {
        TimeZone::get(name)
            .map(Zone::Id)
            .map_err(|_| TemporalError::UnknownZone)
    }

    fn to_timestamp(&self, local: civil::DateTime) -> Result<Timestamp, TemporalError> {
        let ts = match self {
            Zone::Offset(o) => o.to_timestamp(local),
            Zone::Id(tz) => tz.to_timestamp(local),
        };
        ts.map_err(|_| TemporalError::OutOfRange("date and time"))
    }

    fn to_local(&self, ts: Timestamp) -> civil::DateTime {
        match self {
            Zone::Offset(o) => o.to_datetime(ts),
            Zone::Id(tz) => tz.to_datetime(ts),
        }
    }
}

/// A FEEL date (`2018-12-10`), years -9999 to 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Date(civil::Date);

/// A FEEL time (`10:30:00`, `10:30:00.5+01:00`): a local time, with or without an offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Time {
    local: civil::Time,
    offset: Option<Offset>,
}

/// A FEEL date and time: local (`2018-12-10T10:30:00`), with an offset (`…+01:00`, `…Z`) or with
/// a zone id (`…@Europe/Paris`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DateTime {
    local: civil::DateTime,
    zone: Option<Zone>,
}

/// Any FEEL temporal value, as an `@"…"` literal reads one ([`Temporal::parse`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Temporal {
    Date(Date),
    Time(Time),
    DateTime(DateTime),
    DayTime(DayTimeDuration),
    YearMonth(YearMonthDuration),
}

/// A property of a temporal value (`date.year`, `time.time offset`, `duration.days`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Property {
    Number(i64),
    Text(String),
    Duration(DayTimeDuration),
    Null,
}

/// Where `now()` and `today()` read the time; tests inject a fixed one.
pub(crate) trait Clock {
    fn timestamp(&self) -> Timestamp;
    fn time_zone(&self) -> TimeZone;
}

/// The system's clock and time zone.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn timestamp(&self) -> Timestamp {
        Timestamp::now()
    }
    fn time_zone(&self) -> TimeZone {
        TimeZone::system()
    }
}

// ---- reading text --------------------------------------------------------------------------

/// A byte cursor over temporal text; errors carry the offset.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    kind: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, kind: &'static str) -> Self {
        Cursor {
            b: text.as_bytes(),
            i: 0,
            kind,
        }
    }

    fn err(&self, reason: &'static str) -> TemporalError {
        TemporalError::Syntax {
            kind: self.kind,
            reason,
            at: self.i,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<(), TemporalError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize, reason: &'static str) -> Result<i32, TemporalError> {
        let mut v = 0i32;
        for _ in 0..n {
            match self.peek() {
                Some(d) if d.is_ascii_digit() => {
                    v = v * 10 + i32::from(d - b'0');
                    self.i += 1;
                }
                _ => return Err(self.err(reason)),
            }
        }
        Ok(v)
    }

    fn end(&self) -> Result<(), TemporalError> {
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(self.err("unexpected text after the value"))
        }
    }

    /// `-?YYYY-MM-DD`.
    fn date(&mut self) -> Result<civil::Date, TemporalError> {
        let negative = self.eat(b'-');
        let year = self.digits(4, "expected a four-digit year")?;
        if self.peek().is_some_and(|d| d.is_ascii_digit()) {
            return Err(TemporalError::OutOfRange("year (-9999 to 9999)"));
        }
        self.expect(b'-', "expected `-` after the year")?;
        let month = self.digits(2, "expected a two-digit month")?;
        self.expect(b'-', "expected `-` after the month")?;
        let day = self.digits(2, "expected a two-digit day")?;
        let year = if negative { -year } else { year };
        civil_date(i64::from(year), i64::from(month), i64::from(day))
    }

    /// `hh:mm(:ss(.f{1,9})?)?`.
    fn time(&mut self) -> Result<civil::Time, TemporalError> {
        let hour = self.digits(2, "expected a two-digit hour")?;
        self.expect(b':', "expected `:` after the hour")?;
        let minute = self.digits(2, "expected two-digit minutes")?;
        let (mut second, mut nanos) = (0, 0);
        if self.eat(b':') {
            second = self.digits(2, "expected two-digit seconds")?;
            if self.eat(b'.') {
                let start = self.i;
                while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                    self.i += 1;
                }
                let digits = &self.b[start..self.i];
                if digits.is_empty() {
                    return Err(self.err("expected digits after the decimal point"));
                }
                if digits.len() > 9 {
                    self.i = start + 9;
                    return Err(self.err("more than 9 fractional digits"));
                }
                for k in 0..9 {
                    nanos = nanos * 10 + digits.get(k).map_or(0, |d| i32::from(d - b'0'));
                }
            }
        }
        civil_time(i64::from(hour), i64::from(minute), i64::from(second), nanos)
    }

    /// `Z` or `±hh:mm(:ss)?`, if present.
    fn offset(&mut self) -> Result<Option<Offset>, TemporalError> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Ok(Some(Offset::UTC));
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Ok(None),
        };
        self.i += 1;
        let h = self.digits(2, "expected a two-digit offset hour")?;
        self.expect(b':', "expected `:` in the offset")?;
        let m = self.digits(2, "expected two-digit offset minutes")?;
        let s = if self.eat(b':') {
            self.digits(2, "expected two-digit offset seconds")?
        } else {
            0
        };
        if m > 59 || s > 59 {
            return Err(TemporalError::OutOfRange("offset"));
        }
        offset_from_seconds(i64::from(sign * (h * 3600 + m * 60 + s))).map(Some)
    }

    /// The rest of the text as a zone id, after `@`.
    fn zone_id(&mut self) -> Result<Zone, TemporalError> {
        let name = std::str::from_utf8(&self.b[self.i..]).map_err(|_| self.err("bad zone id"))?;
        if name.is_empty() {
            return Err(self.err("expected a zone id after `@`"));
        }
        self.i = self.b.len();
        Zone::named(name)
    }

    /// A zone id up to `]`, after `[`.
    fn bracketed_zone_id(&mut self) -> Result<Zone, TemporalError> {
        let rest = &self.b[self.i..];
        let Some(len) = rest.iter().position(|&c| c == b']') else {
            self.i = self.b.len();
            return Err(self.err("expected `]` after the zone id"));
        };
        let name = std::str::from_utf8(&rest[..len]).map_err(|_| self.err("bad zone id"))?;
        if name.is_empty() {
            return Err(self.err("expected a zone id after `[`"));
        }
        self.i += len + 1;
        Zone::named(name)
    }
}

fn civil_date(y: i64, m: i64, d: i64) -> Result<civil::Date, TemporalError> {
    let y = i16::try_from(y).map_err(|_| TemporalError::OutOfRange("year (-9999 to 9999)"))?;
    let m = i8::try_from(m).map_err(|_| TemporalError::OutOfRange("month"))?;
    let d = i8::try_from(d).map_err(|_| TemporalError::OutOfRange("day"))?;
    if !(-9999..=9999).contains(&y) {
        return Err(TemporalError::OutOfRange("year (-9999 to 9999)"));
    }
    if !(1..=12).contains(&m) {
        return Err(TemporalError::OutOfRange("month"));
    }
    civil::Date::new(y, m, d).map_err(|_| TemporalError::OutOfRange("day"))
}

fn civil_time(h: i64, m: i64, s: i64, nanos: i32) -> Result<civil::Time, TemporalError> {
    let h = i8::try_from(h).map_err(|_| TemporalError::OutOfRange("hour"))?;
    let m = i8::try_from(m).map_err(|_| TemporalError::OutOfRange("minute"))?;
    let s = i8::try_from(s).map_err(|_| TemporalError::OutOfRange("second"))?;
    if !(0..24).contains(&h) {
        return Err(TemporalError::OutOfRange("hour"));
    }
    if !(0..60).contains(&m) {
        return Err(TemporalError::OutOfRange("minute"));
    }
    civil::Time::new(h, m, s, nanos).map_err(|_| TemporalError::OutOfRange("second"))
}

/// Offsets run from -18:00 to +18:00, as in FEEL (Java's `ZoneOffset`).
fn offset_from_seconds(secs: i64) -> Result<Offset, TemporalError> {
    if secs.abs() > 18 * 3600 {
        return Err(TemporalError::OutOfRange("offset (-18:00 to +18:00)"));
    }
    let secs = i32::try_from(secs).map_err(|_| TemporalError::OutOfRange("offset"))?;
    Offset::from_seconds(secs).map_err(|_| TemporalError::OutOfRange("offset"))
}

fn weekday_name(w: civil::Weekday) -> &'static str {
    const NAMES: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    NAMES[usize::from(w.to_monday_zero_offset().unsigned_abs())]
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn add_months(d: civil::Date, months: i64) -> Result<civil::Date, TemporalError> {
    let span = Span::new()
        .try_months(months)
        .map_err(|_| TemporalError::OutOfRange("date"))?;
    d.checked_add(span)
        .map_err(|_| TemporalError::OutOfRange("date"))
}

// ---- the values ------------------------------------------------------------------------------

impl Date {
    /// `date(text)`: `YYYY-MM-DD` (a leading `-` for years before 1).
    pub(crate) fn parse(text: &str) -> Result<Date, TemporalError> {
        let mut c = Cursor::new(text, "date");
        let d = c.date()?;
        c.end()?;
        Ok(Date(d))
    }

    /// `date(year, month, day)`.
    pub(crate) fn from_parts(year: i64, month: i64, day: i64) -> Result<Date, TemporalError> {
        civil_date(year, month, day).map(Date)
    }

    pub(crate) fn year(self) -> i64 {
        i64::from(self.0.year())
    }
    pub(crate) fn month(self) -> i64 {
        i64::from(self.0.month())
    }
    pub(crate) fn day(self) -> i64 {
        i64::from(self.0.day())
    }
    /// ISO weekday, Monday = 1 … Sunday = 7 (the `weekday` property).
    pub(crate) fn weekday(self) -> i64 {
        i64::from(self.0.weekday().to_monday_one_offset())
    }
    /// `day of week(date)`: `"Monday"` … `"Sunday"`.
    pub(crate) fn day_of_week(self) -> &'static str {
        weekday_name(self.0.weekday())
    }
    /// `day of year(date)`: 1 … 366.
    pub(crate) fn day_of_year(self) -> i64 {
        i64::from(self.0.day_of_year())
    }
    /// `week of year(date)`: the ISO-8601 week number, 1 … 53.
    pub(crate) fn week_of_year(self) -> i64 {
        i64::from(self.0.iso_week_date().week())
    }
    /// `month of year(date)`: `"January"` … `"December"`.
    pub(crate) fn month_of_year(self) -> &'static str {
        MONTHS[usize::from(self.0.month().unsigned_abs()) - 1]
    }
    /// `last day of month(date)`: the last day of the date's month.
    pub(crate) fn last_day_of_month(self) -> Date {
        Date(self.0.last_of_month())
    }
    /// `today()` by `clock`, in the clock's time zone.
    pub(crate) fn today(clock: &dyn Clock) -> Date {
        Date(clock.time_zone().to_datetime(clock.timestamp()).date())
    }

    fn at_midnight(self) -> civil::DateTime {
        self.0.to_datetime(civil::Time::midnight())
    }
}

impl Time {
    /// `time(text)`: `hh:mm(:ss(.f)?)?` with an optional `Z` or `±hh:mm` offset. A zone id is refused:
    /// without a date its offset is not known.
    pub(crate) fn parse(text: &str) -> Result<Time, TemporalError> {
        let mut c = Cursor::new(text, "time");
        let local = c.time()?;
        let offset = c.offset()?;
        if c.peek() == Some(b'@') {
            return Err(c.err(
                "a time has no date, so a zone id gives no offset; write one (10:30:00+01:00)",
            ));
        }
        c.end()?;
        Ok(Time { local, offset })
    }

    /// `time(hour, minute, second, offset?)`: `second` is whole seconds plus `nanos`
    /// (0 ≤ nanos < 10⁹); the offset is a days-and-time duration of whole seconds within ±18h.
    pub(crate) fn from_parts(
        hour: i64,
        minute: i64,
        second: i64,
        nanos: i32,
        offset: Option<DayTimeDuration>,
    ) -> Result<Time, TemporalError> {
        let local = civil_time(hour, minute, second, nanos)?;
        let offset = match offset {
            None => None,
            Some(d) => {
                let (secs, sub) = d.secs_nanos();
                if sub != 0 {
                    return Err(TemporalError::Invalid(
                        "an offset is whole seconds (PT1H, -PT5H30M)",
                    ));
                }
                Some(offset_from_seconds(secs)?)
            }
        };
        Ok(Time { local, offset })
    }

    pub(crate) fn hour(self) -> i64 {
        i64::from(self.local.hour())
    }
    pub(crate) fn minute(self) -> i64 {
        i64::from(self.local.minute())
    }
    pub(crate) fn second(self) -> i64 {
        i64::from(self.local.second())
    }
    pub(crate) fn subsec_nanos(self) -> i32 {
        self.local.subsec_nanosecond()
    }
    /// The offset as a days-and-time duration (the `time offset` property), if any.
    pub(crate) fn offset(self) -> Option<DayTimeDuration> {
        self.offset
            .map(|o| DayTimeDuration(SignedDuration::from_secs(i64::from(o.seconds()))))
    }

    /// Nanoseconds since midnight UTC (may fall outside one day), for offset times.
    fn utc_nanos(self, offset: Offset) -> i128 {
        self.local
            .duration_since(civil::Time::midnight())
            .as_nanos()
            - i128::from(offset.seconds()) * 1_000_000_000
    }
}

impl DateTime {
    /// `date and time(text)`: `date 'T' time` with an optional `Z`, `±hh:mm`, `@zone id` or
    /// `±hh:mm[zone id]` (the zone id wins); a date alone is that day at midnight.
    pub(crate) fn parse(text: &str) -> Result<DateTime, TemporalError> {
        let mut c = Cursor::new(text, "date and time");
        let date = c.date()?;
        if c.peek().is_none() {
            return Ok(DateTime {
                local: date.to_datetime(civil::Time::midnight()),
                zone: None,
            });
        }
        c.expect(b'T', "expected `T` between the date and the time")?;
        let time = c.time()?;
        let zone = match c.offset()? {
            // Java's form, `+01:00[Europe/Paris]` (how Camunda writes such a value out).
            Some(_) if c.eat(b'[') => Some(c.bracketed_zone_id()?),
            Some(o) => Some(Zone::Offset(o)),
            None if c.eat(b'@') => Some(c.zone_id()?),
            None => None,
        };
        c.end()?;
        DateTime {
            local: date.to_datetime(time),
            zone,
        }
        .normalized()
    }

    /// With a zone id, a local time that the zone skips (the spring-forward gap) moves forward
    /// by the gap, as Java's `ZonedDateTime` does; a repeated one keeps the earlier offset.
    fn normalized(self) -> Result<DateTime, TemporalError> {
        match &self.zone {
            Some(zone @ Zone::Id(_)) => {
                let local = zone.to_local(zone.to_timestamp(self.local)?);
                Ok(self.with_local(local))
            }
            _ => Ok(self),
        }
    }

    /// `date and time(date, time)`: the date's day (a date, or a date and time's date) at the
    /// time; the time's offset, if any, becomes the zone.
    pub(crate) fn from_date_time(date: Date, time: Time) -> DateTime {
        DateTime {
            local: date.0.to_datetime(time.local),
            zone: time.offset.map(Zone::Offset),
        }
    }

    /// `date and time(date and time, zone id)`: the same instant seen in the zone; a local date
    /// and time is taken to be in that zone.
    pub(crate) fn in_zone(&self, zone_id: &str) -> Result<DateTime, TemporalError> {
        let zone = Zone::named(zone_id)?;
        let local = match &self.zone {
            None => self.local,
            Some(z) => zone.to_local(z.to_timestamp(self.local)?),
        };
        DateTime {
            local,
            zone: Some(zone),
        }
        .normalized()
    }

    /// `now()` by `clock`: the current instant in the clock's zone (its id when it has one).
    pub(crate) fn now(clock: &dyn Clock) -> DateTime {
        let (ts, tz) = (clock.timestamp(), clock.time_zone());
        let local = tz.to_datetime(ts);
        let zone = if tz.iana_name().is_some() {
            Zone::Id(tz)
        } else {
            Zone::Offset(tz.to_offset(ts))
        };
        DateTime {
            local,
            zone: Some(zone),
        }
    }

    /// `date(date and time)`: its date.
    pub(crate) fn date(&self) -> Date {
        Date(self.local.date())
    }

    /// `time(date and time)`: its time, with the offset in force then (for a zone id too).
    pub(crate) fn time(&self) -> Result<Time, TemporalError> {
        let offset = match &self.zone {
            None => None,
            Some(Zone::Offset(o)) => Some(*o),
            Some(Zone::Id(tz)) => {
                Some(tz.to_offset(Zone::Id(tz.clone()).to_timestamp(self.local)?))
            }
        };
        Ok(Time {
            local: self.local.time(),
            offset,
        })
    }

    pub(crate) fn zone(&self) -> Option<&Zone> {
        self.zone.as_ref()
    }

    fn timestamp(&self) -> Option<Result<Timestamp, TemporalError>> {
        self.zone.as_ref().map(|z| z.to_timestamp(self.local))
    }

    fn with_local(&self, local: civil::DateTime) -> DateTime {
        DateTime {
            local,
            zone: self.zone.clone(),
        }
    }

    fn add_day_time(&self, d: DayTimeDuration) -> Result<DateTime, TemporalError> {
        let range = |_| TemporalError::OutOfRange("date and time");
        match &self.zone {
            Some(zone @ Zone::Id(_)) => {
                let ts = zone
                    .to_timestamp(self.local)?
                    .checked_add(d.0)
                    .map_err(range)?;
                Ok(self.with_local(zone.to_local(ts)))
            }
            _ => Ok(self.with_local(self.local.checked_add(d.0).map_err(range)?)),
        }
    }

    fn add_months(&self, months: i64) -> Result<DateTime, TemporalError> {
        let date = add_months(self.local.date(), months)?;
        self.with_local(date.to_datetime(self.local.time()))
            .normalized()
    }
}

impl Temporal {
    /// An `@"…"` literal: a duration (`P…`, `-P…`), a time (`hh:mm…`), a date and time
    /// (`…T…`) or a date.
    pub(crate) fn parse(text: &str) -> Result<Temporal, TemporalError> {
        let b = text.as_bytes();
        if b.first() == Some(&b'P') || b.starts_with(b"-P") {
            return Ok(match Duration::parse(text)? {
                Duration::DayTime(d) => Temporal::DayTime(d),
                Duration::YearMonth(d) => Temporal::YearMonth(d),
            });
        }
        if b.get(2) == Some(&b':') {
            return Time::parse(text).map(Temporal::Time);
        }
        if b.contains(&b'T') {
            return DateTime::parse(text).map(Temporal::DateTime);
        }
        Date::parse(text).map(Temporal::Date)
    }

    /// The FEEL type name (`date`, `time`, `date and time`, `days and time duration`,
    /// `years and months duration`), as `instance of` and error messages name it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Temporal::Date(_) => "date",
            Temporal::Time(_) => "time",
            Temporal::DateTime(_) => "date and time",
            Temporal::DayTime(_) => "days and time duration",
            Temporal::YearMonth(_) => "years and months duration",
        }
    }

    /// `a + b`, for the pairs FEEL defines: date/time/date and time + duration (either order),
    /// duration + duration of the same kind.
    pub(crate) fn add(&self, other: &Temporal) -> Result<Temporal, TemporalError> {
        use Temporal as T;
        match (self, other) {
            (T::DayTime(a), T::DayTime(b)) => a.checked_add(*b).map(T::DayTime),
            (T::YearMonth(a), T::YearMonth(b)) => a.checked_add(*b).map(T::YearMonth),
            (T::DayTime(_) | T::YearMonth(_), T::Date(_) | T::Time(_) | T::DateTime(_)) => {
                other.add(self)
            }
            (T::Date(d), T::DayTime(x)) => {
                let dt = d
                    .at_midnight()
                    .checked_add(x.0)
                    .map_err(|_| TemporalError::OutOfRange("date"))?;
                Ok(T::Date(Date(dt.date())))
            }
            (T::Date(d), T::YearMonth(x)) => add_months(d.0, x.months).map(|d| T::Date(Date(d))),
            (T::Time(t), T::DayTime(x)) => Ok(T::Time(Time {
                local: t.local.wrapping_add(x.0),
                offset: t.offset,
            })),
            (T::DateTime(dt), T::DayTime(x)) => dt.add_day_time(*x).map(T::DateTime),
            (T::DateTime(dt), T::YearMonth(x)) => dt.add_months(x.months).map(T::DateTime),
            _ => Err(TemporalError::Invalid(
                "these temporal values cannot be added",
            )),
        }
    }

    /// `a - b`, for the pairs FEEL defines: a value minus a duration, a duration minus one of
    /// its kind, and the distance between two dates, times or dates and times (a days-and-time
    /// duration). A date counts as its midnight; a value with a zone and one without do not mix.
    pub(crate) fn sub(&self, other: &Temporal) -> Result<Temporal, TemporalError> {
        use Temporal as T;
        match (self, other) {
            (_, T::DayTime(x)) if !matches!(self, T::YearMonth(_)) => match self {
                T::DayTime(a) => a.checked_sub(*x).map(T::DayTime),
                _ => self.add(&T::DayTime(x.negate()?)),
            },
            (T::YearMonth(a), T::YearMonth(b)) => a.checked_sub(*b).map(T::YearMonth),
            (T::Date(_) | T::DateTime(_), T::YearMonth(x)) => self.add(&T::YearMonth(x.negate())),
            (T::Date(a), T::Date(b)) => Ok(T::DayTime(DayTimeDuration(a.0.duration_since(b.0)))),
            (T::Time(a), T::Time(b)) => match (a.offset, b.offset) {
                (None, None) => Ok(T::DayTime(DayTimeDuration(a.local.duration_since(b.local)))),
                (Some(oa), Some(ob)) => {
                    DayTimeDuration::from_nanos(a.utc_nanos(oa) - b.utc_nanos(ob)).map(T::DayTime)
                }
                _ => Err(TemporalError::Invalid(
                    "a time with an offset and one without cannot be subtracted",
                )),
            },
            (T::DateTime(a), T::DateTime(b)) => date_time_distance(a, b).map(T::DayTime),
            (T::Date(a), T::DateTime(b)) => {
                date_time_distance(&b.with_local(a.at_midnight()), b).map(T::DayTime)
            }
            (T::DateTime(a), T::Date(b)) => {
                date_time_distance(a, &a.with_local(b.at_midnight())).map(T::DayTime)
            }
            _ => Err(TemporalError::Invalid(
                "these temporal values cannot be subtracted",
            )),
        }
    }

    /// FEEL's order of two temporal values of the same type; `None` when they do not compare
    /// (different types, or one with a zone or offset and one without), which FEEL makes `null`.
    /// Dates and times with zones compare by instant, so `10:30+01:00` equals `09:30Z`.
    pub(crate) fn compare(&self, other: &Temporal) -> Option<Ordering> {
        use Temporal as T;
        match (self, other) {
            (T::Date(a), T::Date(b)) => Some(a.cmp(b)),
            (T::Time(a), T::Time(b)) => match (a.offset, b.offset) {
                (None, None) => Some(a.local.cmp(&b.local)),
                (Some(oa), Some(ob)) => Some(a.utc_nanos(oa).cmp(&b.utc_nanos(ob))),
                _ => None,
            },
            (T::DateTime(a), T::DateTime(b)) => match (a.timestamp(), b.timestamp()) {
                (None, None) => Some(a.local.cmp(&b.local)),
                (Some(Ok(x)), Some(Ok(y))) => Some(x.cmp(&y)),
                _ => None,
            },
            (T::DayTime(a), T::DayTime(b)) => Some(a.cmp(b)),
            (T::YearMonth(a), T::YearMonth(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// A named property (`year`, `month`, `day`, `weekday`, `hour`, `minute`, `second`,
    /// `time offset`, `timezone`, `years`, `months`, `days`, `hours`, `minutes`, `seconds`), or
    /// `None` when the type has no such property.
    pub(crate) fn property(&self, name: &str) -> Option<Property> {
        use Property as P;
        let n = P::Number;
        match self {
            Temporal::Date(d) => match name {
                "year" => Some(n(d.year())),
                "month" => Some(n(d.month())),
                "day" => Some(n(d.day())),
                "weekday" => Some(n(d.weekday())),
                _ => None,
            },
            Temporal::Time(t) => match name {
                "hour" => Some(n(t.hour())),
                "minute" => Some(n(t.minute())),
                "second" => Some(n(t.second())),
                "time offset" => Some(t.offset().map_or(P::Null, P::Duration)),
                "timezone" => Some(P::Null),
                _ => None,
            },
            Temporal::DateTime(dt) => {
                let date = dt.date();
                let l = dt.local;
                match name {
                    "year" => Some(n(date.year())),
                    "month" => Some(n(date.month())),
                    "day" => Some(n(date.day())),
                    "weekday" => Some(n(date.weekday())),
                    "hour" => Some(n(i64::from(l.hour()))),
                    "minute" => Some(n(i64::from(l.minute()))),
                    "second" => Some(n(i64::from(l.second()))),
                    "time offset" => Some(match dt.time() {
                        Ok(t) => t.offset().map_or(P::Null, P::Duration),
                        Err(_) => P::Null,
                    }),
                    "timezone" => Some(match &dt.zone {
                        Some(Zone::Id(tz)) => {
                            tz.iana_name().map_or(P::Null, |s| P::Text(s.to_string()))
                        }
                        _ => P::Null,
                    }),
                    _ => None,
                }
            }
            Temporal::DayTime(d) => {
                let (secs, _) = d.secs_nanos();
                match name {
                    "days" => Some(n(secs / 86_400)),
                    "hours" => Some(n(secs / 3_600 % 24)),
                    "minutes" => Some(n(secs / 60 % 60)),
                    "seconds" => Some(n(secs % 60)),
                    _ => None,
                }
            }
            Temporal::YearMonth(d) => match name {
                "years" => Some(n(d.months / 12)),
                "months" => Some(n(d.months % 12)),
                _ => None,
            },
        }
    }
}

fn date_time_distance(a: &DateTime, b: &DateTime) -> Result<DayTimeDuration, TemporalError> {
    match (a.timestamp(), b.timestamp()) {
        (None, None) => Ok(DayTimeDuration(a.local.duration_since(b.local))),
        (Some(x), Some(y)) => Ok(DayTimeDuration(x?.duration_since(y?))),
        _ => Err(TemporalError::Invalid(
            "a date and time with a zone and one without cannot be subtracted",
        )),
    }
}

/// `years and months duration(from, to)`: whole months from one date to the other (a date and
/// time counts as its date), negative when `to` is earlier.
pub(crate) fn years_and_months_between(from: Date, to: Date) -> YearMonthDuration {
    let (a, b) = (from.0, to.0);
    let mut months = (i64::from(b.year()) - i64::from(a.year())) * 12
        + (i64::from(b.month()) - i64::from(a.month()));
    if months > 0 && b.day() < a.day() {
        months -= 1;
    } else if months < 0 && b.day() > a.day() {
        months += 1;
    }
    YearMonthDuration { months }
}

// ---- FEEL's string() -------------------------------------------------------------------------

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let y = self.0.year();
        if y < 0 {
            f.write_str("-")?;
        }
        write!(
            f,
            "{:04}-{:02}-{:02}",
            y.unsigned_abs(),
            self.0.month(),
            self.0.day()
        )
    }
}

fn write_local_time(f: &mut fmt::Formatter<'_>, t: civil::Time) -> fmt::Result {
    write!(f, "{:02}:{:02}:", t.hour(), t.minute())?;
    if t.second() < 10 {
        f.write_str("0")?;
    }
    write_seconds(
        f,
        t.second().unsigned_abs().into(),
        t.subsec_nanosecond().unsigned_abs(),
    )
}

fn write_offset(f: &mut fmt::Formatter<'_>, o: Offset) -> fmt::Result {
    let s = o.seconds();
    if s == 0 {
        return f.write_str("Z");
    }
    let a = s.unsigned_abs();
    let sign = if s < 0 { '-' } else { '+' };
    write!(f, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60)?;
    if !a.is_multiple_of(60) {
        write!(f, ":{:02}", a % 60)?;
    }
    Ok(())
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_local_time(f, self.local)?;
        match self.offset {
            Some(o) => write_offset(f, o),
            None => Ok(()),
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Date(self.local.date()).fmt(f)?;
        f.write_str("T")?;
        write_local_time(f, self.local.time())?;
        match &self.zone {
            None => Ok(()),
            Some(Zone::Offset(o)) => write_offset(f, *o),
            Some(Zone::Id(tz)) => write!(f, "@{}", tz.iana_name().unwrap_or("UTC")),
        }
    }
}

impl fmt::Display for Temporal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Temporal::Date(x) => x.fmt(f),
            Temporal::Time(x) => x.fmt(f),
            Temporal::DateTime(x) => x.fmt(f),
            Temporal::DayTime(x) => x.fmt(f),
            Temporal::YearMonth(x) => x.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration as Std;

    fn date(t: &str) -> Date {
        Date::parse(t).unwrap()
    }
    fn dt(t: &str) -> DateTime {
        DateTime::parse(t).unwrap()
    }
    fn lit(t: &str) -> Temporal {
        Temporal::parse(t).unwrap_or_else(|e| panic!("{t}: {e}"))
    }
    fn show(v: Result<Temporal, TemporalError>) -> String {
        v.map(|v| v.to_string())
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    struct FixedClock(Timestamp, &'static str);
    impl Clock for FixedClock {
        fn timestamp(&self) -> Timestamp {
            self.0
        }
        fn time_zone(&self) -> TimeZone {
            TimeZone::get(self.1).unwrap()
        }
    }

    #[test]
    fn dates_parse_build_and_print() {
        assert_eq!(date("2012-12-25"), Date::from_parts(2012, 12, 25).unwrap());
        assert_eq!(date("2012-12-25").to_string(), "2012-12-25");
        assert_eq!(date("0001-01-01").to_string(), "0001-01-01");
        assert_eq!(date("-0044-03-15").to_string(), "-0044-03-15");
        assert_eq!(date("2024-02-29").day(), 29);
        assert_eq!(
            Date::parse("2023-02-29"),
            Err(TemporalError::OutOfRange("day"))
        );
        assert_eq!(
            Date::parse("2023-13-01"),
            Err(TemporalError::OutOfRange("month"))
        );
        assert_eq!(
            Date::parse("12023-01-01"),
            Err(TemporalError::OutOfRange("year (-9999 to 9999)"))
        );
        assert!(matches!(
            Date::parse("2023-1-01"),
            Err(TemporalError::Syntax { at: 6, .. })
        ));
        assert!(matches!(
            Date::parse("2023-01-01T"),
            Err(TemporalError::Syntax { at: 10, .. })
        ));
        assert!(Date::from_parts(2023, 2, 29).is_err());
        assert!(Date::from_parts(i64::MAX, 1, 1).is_err());
        assert!(Date::from_parts(2023, 0, 1).is_err());
        assert!(Date::from_parts(2023, 1, -1).is_err());
    }

    #[test]
    fn the_calendar_builtins() {
        let d = Date::from_parts(2019, 9, 17).unwrap();
        assert_eq!(d.day_of_year(), 260);
        assert_eq!(d.day_of_week(), "Tuesday");
        assert_eq!(d.weekday(), 2);
        assert_eq!(d.month_of_year(), "September");
        assert_eq!(d.week_of_year(), 38);
        let week = |y, m, day| Date::from_parts(y, m, day).unwrap().week_of_year();
        assert_eq!(week(2003, 12, 29), 1);
        assert_eq!(week(2004, 1, 4), 1);
        assert_eq!(week(2005, 1, 1), 53);
        assert_eq!(week(2005, 1, 3), 1);
        assert_eq!(week(2005, 1, 9), 1);
        assert_eq!(date("2024-12-31").day_of_year(), 366);
        assert_eq!(date("2024-02-10").last_day_of_month(), date("2024-02-29"));
        assert_eq!(date("2023-02-10").last_day_of_month(), date("2023-02-28"));
        assert_eq!(date("2023-01-01").month_of_year(), "January");
        assert_eq!(date("2023-12-31").month_of_year(), "December");
        assert_eq!(date("2023-01-01").day_of_week(), "Sunday");
        assert_eq!(date("2023-01-01").weekday(), 7);
    }

    #[test]
    fn times_parse_build_and_print() {
        let t = |s: &str| Time::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(t("10:30:00").to_string(), "10:30:00");
        assert_eq!(t("10:30").to_string(), "10:30:00");
        assert_eq!(t("23:59:59.5").to_string(), "23:59:59.5");
        assert_eq!(t("00:00:01.000000001").subsec_nanos(), 1);
        assert_eq!(t("10:30:00Z").to_string(), "10:30:00Z");
        assert_eq!(t("10:30:00+01:00").to_string(), "10:30:00+01:00");
        assert_eq!(t("10:30:00-05:30").to_string(), "10:30:00-05:30");
        assert_eq!(
            Time::from_parts(
                14,
                30,
                0,
                0,
                Some(DayTimeDuration::from_secs_nanos(3600, 0).unwrap())
            )
            .unwrap(),
            t("14:30:00+01:00")
        );
        assert_eq!(Time::from_parts(14, 30, 0, 0, None).unwrap(), t("14:30:00"));
        assert_eq!(
            t("14:30:00+01:00")
                .offset()
                .map(|d| d.to_string())
                .as_deref(),
            Some("PT1H")
        );
        assert_eq!(t("14:30:00").offset(), None);
        assert_eq!(
            Time::parse("24:00:00"),
            Err(TemporalError::OutOfRange("hour"))
        );
        assert_eq!(
            Time::parse("10:60:00"),
            Err(TemporalError::OutOfRange("minute"))
        );
        assert_eq!(
            Time::parse("10:00:60"),
            Err(TemporalError::OutOfRange("second"))
        );
        assert_eq!(
            Time::parse("10:00:00+19:00"),
            Err(TemporalError::OutOfRange("offset (-18:00 to +18:00)"))
        );
        assert!(matches!(
            Time::parse("10:30:00@Europe/Paris"),
            Err(TemporalError::Syntax { at: 8, .. })
        ));
        assert!(Time::parse("10:30:00.").is_err());
        assert!(Time::parse("1:30:00").is_err());
        assert!(
            Time::from_parts(
                1,
                0,
                0,
                0,
                Some(DayTimeDuration::from_secs_nanos(0, 5).unwrap())
            )
            .is_err()
        );
        assert!(Time::from_parts(1, 0, 0, 1_000_000_000, None).is_err());
    }

    #[test]
    fn dates_and_times_parse_build_and_print() {
        for s in [
            "2018-12-10T10:30:00",
            "2018-12-10T10:30:00.25",
            "2018-12-10T10:30:00Z",
            "2018-12-10T10:30:00+01:00",
            "2018-12-10T10:30:00@Europe/Paris",
            "2018-12-10T10:30:00@UTC",
        ] {
            assert_eq!(dt(s).to_string(), s);
        }
        assert_eq!(dt("2018-12-10").to_string(), "2018-12-10T00:00:00");
        assert_eq!(
            dt("2018-12-10T10:30:00z").to_string(),
            "2018-12-10T10:30:00Z"
        );
        assert_eq!(
            dt("2018-12-10T10:30:00+01:00[Europe/Paris]").to_string(),
            "2018-12-10T10:30:00@Europe/Paris"
        );
        assert!(DateTime::parse("2018-12-10T10:30:00+01:00[Europe/Paris").is_err());
        assert!(DateTime::parse("2018-12-10T10:30:00+01:00[]").is_err());
        assert!(DateTime::parse("2018-12-10T10:30:00+01:00[Europe/Paris]x").is_err());
        assert_eq!(
            DateTime::from_date_time(date("2017-01-01"), Time::parse("23:59:01").unwrap()),
            dt("2017-01-01T23:59:01")
        );
        assert_eq!(
            DateTime::from_date_time(date("2017-01-01"), Time::parse("23:59:01+02:00").unwrap()),
            dt("2017-01-01T23:59:01+02:00")
        );
        let paris = dt("2018-12-10T10:30:00@Europe/Paris");
        assert_eq!(paris.date(), date("2018-12-10"));
        assert_eq!(paris.time().unwrap().to_string(), "10:30:00+01:00");
        let summer = dt("2018-07-10T10:30:00@Europe/Paris");
        assert_eq!(summer.time().unwrap().to_string(), "10:30:00+02:00");
        assert_eq!(
            summer.in_zone("America/New_York").unwrap().to_string(),
            "2018-07-10T04:30:00@America/New_York"
        );
        assert_eq!(
            dt("2018-07-10T10:30:00").in_zone("Europe/Paris").unwrap(),
            summer
        );
        assert_eq!(
            DateTime::parse("2018-12-10T10:30:00@Mars/Olympus"),
            Err(TemporalError::UnknownZone)
        );
        assert_eq!(
            DateTime::parse("2018-12-10T10:30:00@ x"),
            Err(TemporalError::UnknownZone)
        );
        assert_eq!(
            dt("2018-07-10T10:30:00").in_zone("Mars/Olympus"),
            Err(TemporalError::UnknownZone)
        );
        assert!(DateTime::parse("2018-12-10T10:30:00@").is_err());
        // Past the last instant jiff represents (9999-12-30T22:00Z) a zone id cannot be resolved.
        assert_eq!(
            DateTime::parse("9999-12-31T00:00:00@Europe/Paris"),
            Err(TemporalError::OutOfRange("date and time"))
        );
        assert!(DateTime::parse("2018-12-10 10:30:00").is_err());
        assert!(DateTime::parse("2018-12-10T").is_err());
    }

    #[test]
    fn literals_pick_their_type() {
        assert_eq!(lit("2019-03-31").type_name(), "date");
        assert_eq!(lit("-0001-03-31").type_name(), "date");
        assert_eq!(lit("10:30:00").type_name(), "time");
        assert_eq!(lit("2019-03-31T10:30:00").type_name(), "date and time");
        assert_eq!(lit("P1D").type_name(), "days and time duration");
        assert_eq!(lit("-P1Y").type_name(), "years and months duration");
        assert!(Temporal::parse("").is_err());
        assert!(Temporal::parse("hello").is_err());
    }

    #[test]
    fn arithmetic_follows_the_spec_examples() {
        let add = |a: &str, b: &str| show(lit(a).add(&lit(b)));
        let sub = |a: &str, b: &str| show(lit(a).sub(&lit(b)));
        assert_eq!(sub("2012-12-25", "2012-12-24"), "P1D");
        assert_eq!(add("2012-12-24T23:59:00", "PT1M"), "2012-12-25T00:00:00");
        assert_eq!(add("PT1M", "2012-12-24T23:59:00"), "2012-12-25T00:00:00");
        assert_eq!(
            sub("2012-12-24T23:59:00", "2012-12-22T03:45:00"),
            "P2DT20H14M"
        );
        assert_eq!(
            sub("2012-12-22T03:45:00", "2012-12-24T23:59:00"),
            "-P2DT20H14M"
        );
        assert_eq!(add("2020-01-31", "P1M"), "2020-02-29");
        assert_eq!(sub("2020-03-31", "P1M"), "2020-02-29");
        assert_eq!(add("2020-01-31", "P1D"), "2020-02-01");
        assert_eq!(add("2020-01-31", "PT25H"), "2020-02-01");
        assert_eq!(sub("2020-01-31", "PT1H"), "2020-01-30");
        assert_eq!(add("2019-02-28T10:00:00Z", "P1Y"), "2020-02-28T10:00:00Z");
        assert_eq!(add("23:59:00Z", "PT2M"), "00:01:00Z");
        assert_eq!(sub("00:01:00", "PT2M"), "23:59:00");
        assert_eq!(sub("10:30:00+01:00", "09:30:00Z"), "PT0S");
        assert_eq!(sub("12:00:00", "10:30:00"), "PT1H30M");
        assert_eq!(add("P1D", "PT1H"), "P1DT1H");
        assert_eq!(sub("P1Y", "P1M"), "P11M");
        assert_eq!(add("P1Y", "P1Y"), "P2Y");
        // A day on the instant line across the spring-forward night is 24 hours.
        assert_eq!(
            add("2021-03-27T12:00:00@Europe/Paris", "P1D"),
            "2021-03-28T13:00:00@Europe/Paris"
        );
        assert_eq!(
            sub(
                "2021-03-28T12:00:00@Europe/Paris",
                "2021-03-27T12:00:00@Europe/Paris"
            ),
            "PT23H"
        );
        // A local time the zone skips moves past the gap; months land on the same local time.
        assert_eq!(
            lit("2021-03-28T02:30:00@Europe/Paris").to_string(),
            "2021-03-28T03:30:00@Europe/Paris"
        );
        assert_eq!(
            add("2021-02-28T02:30:00@Europe/Paris", "P1M"),
            "2021-03-28T03:30:00@Europe/Paris"
        );
        assert_eq!(
            add("2021-02-27T12:00:00@Europe/Paris", "P1M"),
            "2021-03-27T12:00:00@Europe/Paris"
        );
        assert_eq!(
            sub(
                "2018-12-10T10:30:00+01:00",
                "2018-12-10T10:30:00@Europe/Paris"
            ),
            "PT0S"
        );
        assert_eq!(sub("2012-12-25", "2012-12-24T12:00:00"), "PT12H");
        assert_eq!(sub("2012-12-25T12:00:00", "2012-12-25"), "PT12H");
        // What FEEL does not define, or what mixes a zone with none, is refused.
        assert!(add("2012-12-25", "2012-12-24").starts_with("error"));
        assert!(add("P1Y", "P1D").starts_with("error"));
        assert!(add("10:00:00", "P1M").starts_with("error"));
        assert!(sub("P1D", "2012-12-24").starts_with("error"));
        assert!(sub("2012-12-24T00:00:00Z", "2012-12-24T00:00:00").starts_with("error"));
        assert!(sub("10:00:00Z", "10:00:00").starts_with("error"));
        assert!(add("9999-12-31", "P1D").starts_with("error"));
        assert!(add("9999-12-30T00:00:00@Europe/Paris", "P1D").starts_with("error"));
        assert!(add("9999-12-31", "P1M").starts_with("error"));
    }

    #[test]
    fn comparisons_and_equality() {
        let cmp = |a: &str, b: &str| lit(a).compare(&lit(b));
        assert_eq!(cmp("2012-12-25", "2012-12-24"), Some(Ordering::Greater));
        assert_eq!(
            cmp("2018-12-10T10:30:00+01:00", "2018-12-10T09:30:00Z"),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp("2018-12-10T10:30:00@Europe/Paris", "2018-12-10T09:30:00Z"),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp("2018-12-10T10:30:00", "2018-12-10T10:30:01"),
            Some(Ordering::Less)
        );
        assert_eq!(cmp("2018-12-10T10:30:00", "2018-12-10T10:30:00Z"), None);
        assert_eq!(cmp("10:30:00+01:00", "09:30:00Z"), Some(Ordering::Equal));
        assert_eq!(cmp("10:30:00", "09:30:00"), Some(Ordering::Greater));
        assert_eq!(cmp("10:30:00", "09:30:00Z"), None);
        assert_eq!(cmp("PT1H", "PT60M"), Some(Ordering::Equal));
        assert_eq!(cmp("P1Y", "P12M"), Some(Ordering::Equal));
        assert_eq!(cmp("P1Y", "P13M"), Some(Ordering::Less));
        assert_eq!(cmp("P1D", "P1M"), None);
        assert_eq!(cmp("2012-12-25", "2012-12-25T00:00:00"), None);
        assert_eq!(cmp("-PT1S", "PT0S"), Some(Ordering::Less));
    }

    #[test]
    fn properties() {
        use Property::{Duration as D, Null, Number as N, Text};
        let p = |v: &str, name: &str| lit(v).property(name);
        assert_eq!(p("2019-09-17", "year"), Some(N(2019)));
        assert_eq!(p("2019-09-17", "month"), Some(N(9)));
        assert_eq!(p("2019-09-17", "day"), Some(N(17)));
        assert_eq!(p("2019-09-17", "weekday"), Some(N(2)));
        assert_eq!(p("2019-09-17", "hour"), None);
        assert_eq!(p("10:20:30", "second"), Some(N(30)));
        assert_eq!(p("10:20:30", "time offset"), Some(Null));
        assert_eq!(p("10:20:30", "timezone"), Some(Null));
        let paris = "2018-12-10T10:30:00@Europe/Paris";
        assert_eq!(p(paris, "timezone"), Some(Text("Europe/Paris".into())));
        assert_eq!(
            p(paris, "time offset"),
            Some(D(DayTimeDuration::from_secs_nanos(3600, 0).unwrap()))
        );
        assert_eq!(p("2018-12-10T10:30:00+02:00", "timezone"), Some(Null));
        assert_eq!(p("2018-12-10T10:30:00", "time offset"), Some(Null));
        assert_eq!(p(paris, "minute"), Some(N(30)));
        assert_eq!(p("P1DT2H3M4S", "days"), Some(N(1)));
        assert_eq!(p("P1DT2H3M4S", "hours"), Some(N(2)));
        assert_eq!(p("P1DT2H3M4S", "minutes"), Some(N(3)));
        assert_eq!(p("P1DT2H3M4S", "seconds"), Some(N(4)));
        assert_eq!(p("-P1DT2H", "hours"), Some(N(-2)));
        assert_eq!(p("P1Y2M", "years"), Some(N(1)));
        assert_eq!(p("P1Y2M", "months"), Some(N(2)));
        assert_eq!(p("P1Y2M", "days"), None);
    }

    #[test]
    fn years_and_months_between_dates() {
        let ym = |a: &str, b: &str| years_and_months_between(date(a), date(b)).to_string();
        assert_eq!(ym("2011-12-22", "2013-08-24"), "P1Y8M");
        assert_eq!(ym("2013-08-24", "2011-12-22"), "-P1Y8M");
        assert_eq!(ym("2015-12-31", "2016-02-15"), "P1M");
        assert_eq!(ym("2016-02-15", "2015-12-31"), "-P1M");
        assert_eq!(ym("2016-01-31", "2016-02-29"), "P0M");
        assert_eq!(ym("2016-01-01", "2016-01-01"), "P0M");
        assert_eq!(ym("2014-03-15", "2016-03-15"), "P2Y");
    }

    #[test]
    fn now_and_today_read_the_injected_clock() {
        let noon = Timestamp::from_second(1_704_110_400).unwrap(); // 2024-01-01T12:00:00Z
        let clock = FixedClock(noon, "Europe/Berlin");
        assert_eq!(
            DateTime::now(&clock).to_string(),
            "2024-01-01T13:00:00@Europe/Berlin"
        );
        assert_eq!(Date::today(&clock), date("2024-01-01"));
        let late = Timestamp::from_second(1_704_151_800).unwrap(); // 2024-01-01T23:30:00Z
        assert_eq!(
            Date::today(&FixedClock(late, "Europe/Berlin")),
            date("2024-01-02")
        );
        assert_eq!(Date::today(&FixedClock(late, "UTC")), date("2024-01-01"));
        // The system clock is only read, never asserted on.
        let _ = DateTime::now(&SystemClock);
    }

    #[test]
    fn errors_never_repeat_the_text() {
        let m = "S3CR3Tvalue";
        for text in [
            m.to_string(),
            format!("P{m}"),
            format!("2018-12-10T10:30:00@{m}"),
            format!("2018-12-10T10:30:00@Europe/{m}"),
            format!("2018-12-10T10:30:00+01:00[{m}]"),
            format!("2018-12-10{m}"),
            format!("10:30:00{m}"),
            format!("10:30:00@{m}"),
        ] {
            let shown = Temporal::parse(&text).unwrap_err().to_string();
            assert!(!shown.contains(m), "{text} -> {shown}");
            let shown = timer_duration(&text).unwrap_err().to_string();
            assert!(!shown.contains(m), "{text} -> {shown}");
        }
        let shown = dt("2018-07-10T10:30:00")
            .in_zone(m)
            .unwrap_err()
            .to_string();
        assert!(!shown.contains(m), "{shown}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = Temporal::parse(&s);
            let _ = Date::parse(&s);
            let _ = Time::parse(&s);
            let _ = DateTime::parse(&s);
            let _ = Duration::parse(&s);
            let _ = timer_duration(&s);
        }

        #[test]
        fn temporal_shaped_text_never_panics(s in "-?[0-9PTYMWDHS:.,+@Z/a-z-]{0,30}") {
            let _ = Temporal::parse(&s);
            let _ = timer_duration(&s);
            let _ = DateTime::parse(&format!("2020-01-01T{s}"));
        }

        #[test]
        fn string_form_reads_back(
            y in -9999i64..=9999, m in 1i64..=12, d in 1i64..=28,
            h in 0i64..24, mi in 0i64..60, s in 0i64..60, ns in 0i32..1_000_000_000,
            off in -64_800i64..=64_800, secs in -10_000_000_000i64..10_000_000_000,
            months in -100_000i64..100_000,
        ) {
            let date = Date::from_parts(y, m, d).unwrap();
            let off = DayTimeDuration::from_secs_nanos(off, 0).unwrap();
            let time = Time::from_parts(h, mi, s, ns, Some(off)).unwrap();
            let values = [
                Temporal::Date(date),
                Temporal::Time(time),
                Temporal::Time(Time::from_parts(h, mi, s, ns, None).unwrap()),
                Temporal::DateTime(DateTime::from_date_time(date, time)),
                Temporal::DayTime(DayTimeDuration::from_secs_nanos(secs, ns).unwrap()),
                Temporal::YearMonth(YearMonthDuration::from_months(months).unwrap()),
            ];
            for v in values {
                let text = v.to_string();
                proptest::prop_assert_eq!(Temporal::parse(&text), Ok(v), "{}", text);
            }
        }

        #[test]
        fn arithmetic_never_panics(
            a in 0usize..12, b in 0usize..12,
        ) {
            let samples = [
                "9999-12-31", "-9999-01-01", "2020-02-29", "23:59:59.999999999", "00:00:00-18:00",
                "9999-12-30T21:00:00@Pacific/Kiritimati", "-9999-01-01T00:00:00", "P999999999Y",
                "-P999999999Y", "PT9223372036S", "-P99999999DT1S", "2021-03-28T02:30:00@Europe/Paris",
            ];
            let (x, y) = (lit(samples[a]), lit(samples[b]));
            let _ = x.add(&y);
            let _ = x.sub(&y);
            let _ = x.compare(&y);
        }
    }

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
