//! T offsets (`T-24:00`, `T+0:05`, `T-30m`) and durations (`90s`, `5m`, `1h30m`, `2d`):
//! parsing and the T-clock / human formatting used on screen, in output and in reports.
//!
//! All times are whole milliseconds (`Ms`), relative to T-0 for offsets.

/// Milliseconds: a duration, or a time relative to T-0 (negative before it).
pub type Ms = i64;

const SEC: Ms = 1_000;
const MIN: Ms = 60 * SEC;
const HOUR: Ms = 60 * MIN;
const DAY: Ms = 24 * HOUR;

/// Parses a duration such as `90s`, `5m`, `1h30m`, `2d`, `250ms`.
pub fn parse_duration(s: &str) -> Result<Ms, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{s}` has no unit"));
    }
    let mut total: Ms = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(format!("`{s}` is not a duration"));
        }
        let n: Ms = rest[..digits]
            .parse()
            .map_err(|_| format!("`{s}` is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ms" => 1,
            "s" => SEC,
            "m" => MIN,
            "h" => HOUR,
            "d" => DAY,
            "" => return Err(format!("`{s}` has a number without a unit")),
            other => return Err(format!("unknown unit `{other}` in `{s}`")),
        };
        total = n
            .checked_mul(scale)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("`{s}` is too large"))?;
    }
    Ok(total)
}

/// Parses a T offset: `T-0`, `T+0:05` (H:MM), `T-00:12:05` (H:MM:SS), `T-30m`, `T+1h30m`, `T-2d`.
pub fn parse_offset(s: &str) -> Result<Ms, String> {
    let t = s.trim();
    let body = t
        .strip_prefix('T')
        .or_else(|| t.strip_prefix('t'))
        .ok_or_else(|| format!("`{s}` does not start with `T`"))?;
    let (sign, body) = if let Some(b) = body.strip_prefix('+') {
        (1, b)
    } else if let Some(b) = body.strip_prefix('-') {
        (-1, b)
    } else if body == "0" {
        return Ok(0);
    } else {
        return Err(format!(
            "`{s}` needs a sign: `T-…` before T-0 or `T+…` after it"
        ));
    };
    let body = body.trim();
    // `T+31d 01:00`, as the screen shows offsets past 99 hours, reads back as written.
    if let Some((d, hm)) = body.split_once("d ")
        && !d.is_empty()
        && d.chars().all(|c| c.is_ascii_digit())
        && hm.contains(':')
    {
        let days: Ms = d.parse().map_err(|_| format!("`{s}` is too large"))?;
        let rest = parse_offset(&format!("T+{}", hm.trim()))?;
        let total = days
            .checked_mul(DAY)
            .and_then(|v| v.checked_add(rest))
            .ok_or_else(|| format!("`{s}` is too large"))?;
        return Ok(sign * total);
    }
    let magnitude = if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        let nums: Result<Vec<Ms>, _> = parts.iter().map(|p| p.parse::<Ms>()).collect();
        let nums = nums.map_err(|_| format!("`{s}` is not an offset"))?;
        match nums.as_slice() {
            [h, m] if *m < 60 => h * HOUR + m * MIN,
            [h, m, sec] if *m < 60 && *sec < 60 => h * HOUR + m * MIN + sec * SEC,
            _ => return Err(format!("`{s}` is not an offset")),
        }
    } else if body.chars().all(|c| c.is_ascii_digit()) && !body.is_empty() {
        let n: Ms = body.parse().map_err(|_| format!("`{s}` is too large"))?;
        if n != 0 {
            return Err(format!("`{s}` has no unit"));
        }
        0
    } else {
        parse_duration(body)?
    };
    Ok(sign * magnitude)
}

/// From this many hours on, T-times read as days and hours (`T+31d 01:00`): nobody reads
/// `T+745:00` as "a month in". Below it they stay as they always were, so a cutover window's
/// clock (`T+00:47:12`, `T-24:00`) does not change.
pub const DAYS_FROM_HOURS: u64 = 100;

fn clock_secs(t: Ms) -> u64 {
    // Before T-0 the clock counts down, so a part-second still to go shows as a whole one.
    if t < 0 {
        t.unsigned_abs().div_ceil(1000)
    } else {
        t.unsigned_abs() / 1000
    }
}

/// The T-clock: `T-00:12:05`, `T+00:47:12`, `T+99:59:59`, then `T+4d 04:00:00`.
pub fn t_clock(t: Ms) -> String {
    let sign = if t < 0 { '-' } else { '+' };
    let secs = clock_secs(t);
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h >= DAYS_FROM_HOURS {
        format!("T{sign}{}d {:02}:{m:02}:{s:02}", h / 24, h % 24)
    } else {
        format!("T{sign}{h:02}:{m:02}:{s:02}")
    }
}

/// A countdown or span by the T-times' rule (one rule for every clock on screen): `M:SS`
/// under an hour, `H:MM:SS` under 100 hours, then days and `HH:MM` as T-offsets read
/// (`4d 23:00`, as `T+4d 23:00`), never `Nd Hh` beside a `95:31:49` that means the same kind
/// of thing. Past 100 hours the seconds are noise, and they would cost every countdown
/// column three more cells.
pub fn clock_span(ms: Ms) -> String {
    let s = ms.max(0).unsigned_abs() / 1000;
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    if h == 0 {
        format!("{m}:{sec:02}")
    } else if h < DAYS_FROM_HOURS {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{}d {:02}:{m:02}", h / 24, h % 24)
    }
}

/// The T-clock in hours however far it is (`T+745:00:00`): only for keys that were journaled
/// in this form (a baseline window's name), which must stay the same across versions.
pub fn t_clock_hours(t: Ms) -> String {
    let sign = if t < 0 { '-' } else { '+' };
    let secs = clock_secs(t);
    format!(
        "T{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// The offset as a runbook author writes it: `T-24:00`, `T+0:05`, and past 99 hours
/// `T+31d 01:00` (the runbook may write that `T+31d1h`).
pub fn t_offset(t: Ms) -> String {
    let sign = if t < 0 { '-' } else { '+' };
    let secs = t.unsigned_abs() / 1000;
    if !secs.is_multiple_of(60) {
        return t_clock(t);
    }
    let (h, m) = (secs / 3600, (secs / 60) % 60);
    if h >= DAYS_FROM_HOURS {
        format!("T{sign}{}d {:02}:{m:02}", h / 24, h % 24)
    } else {
        format!("T{sign}{h}:{m:02}")
    }
}

/// A duration for people: `45s`, `2m05s`, `1h30m`, `2d3h`.
pub fn human(d: Ms) -> String {
    let neg = d < 0;
    let s = d.unsigned_abs() / 1000;
    let out = if s < 60 {
        if d.unsigned_abs() < 1000 && d != 0 {
            format!("{}ms", d.unsigned_abs())
        } else {
            format!("{s}s")
        }
    } else if s < 3600 {
        let (m, sec) = (s / 60, s % 60);
        if sec == 0 {
            format!("{m}m")
        } else {
            format!("{m}m{sec:02}s")
        }
    } else if s < 86_400 {
        let (h, m) = (s / 3600, (s / 60) % 60);
        if m == 0 {
            format!("{h}h")
        } else {
            format!("{h}h{m:02}m")
        }
    } else {
        let (dd, h) = (s / 86_400, (s / 3600) % 24);
        if h == 0 {
            format!("{dd}d")
        } else {
            format!("{dd}d{h}h")
        }
    };
    if neg { format!("-{out}") } else { out }
}

/// Drill speed: a factor, or as fast as possible.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// T-time runs this many times faster than real time.
    Factor(f64),
    /// Jump from one due time to the next without waiting.
    Max,
}

impl Speed {
    /// Parses `60`, `1`, `0.5` or `max`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 && f <= 100_000.0 => Ok(Speed::Factor(f)),
            _ => Err(format!(
                "`{s}` is not a speed: use a factor from 0.001 to 100000 (e.g. 60) or `max`"
            )),
        }
    }

    /// True when T-time runs faster than real time (`max`, or a factor above 1).
    pub fn faster_than_real(&self) -> bool {
        match self {
            Speed::Max => true,
            Speed::Factor(f) => *f > 1.0,
        }
    }

    /// As shown in the header and journal: `×60`, `×max`.
    pub fn label(&self) -> String {
        match self {
            Speed::Max => "×max".into(),
            Speed::Factor(f) if f.fract() == 0.0 => format!("×{f:.0}"),
            Speed::Factor(f) => format!("×{f}"),
        }
    }
}

/// An instant on the T axis: milliseconds from T-0, negative before it. Written to the
/// journal as seconds (`deadline_t: 5400.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TTime(pub Ms);

/// A length of time in milliseconds (a step's duration, a grace, a hold). Written to the
/// journal as seconds (`grace_s: 120.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Period(pub Ms);

impl TTime {
    /// Milliseconds from T-0.
    pub fn ms(self) -> Ms {
        self.0
    }
}

impl Period {
    /// Milliseconds.
    pub fn ms(self) -> Ms {
        self.0
    }
}

impl std::fmt::Display for TTime {
    /// As a T-clock: `T+01:02:03`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&t_clock(self.0))
    }
}

impl std::fmt::Display for Period {
    /// Readable: `2m`, `1h30m`, `104ms`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&human(self.0))
    }
}

/// Serde for a millisecond newtype as seconds, the journal's unit for both.
macro_rules! as_seconds {
    ($t:ident) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_f64(self.0 as f64 / 1000.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <f64 as serde::Deserialize>::deserialize(d).map(|s| $t((s * 1000.0).round() as Ms))
            }
        }
    };
}

as_seconds!(TTime);
as_seconds!(Period);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90 * SEC));
        assert_eq!(parse_duration("5m"), Ok(5 * MIN));
        assert_eq!(parse_duration("1h30m"), Ok(90 * MIN));
        assert_eq!(parse_duration("2d"), Ok(2 * DAY));
        assert_eq!(parse_duration("250ms"), Ok(250));
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("m5").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("T-0"), Ok(0));
        assert_eq!(parse_offset("T+0:05"), Ok(5 * MIN));
        assert_eq!(parse_offset("T-24:00"), Ok(-24 * HOUR));
        assert_eq!(parse_offset("T+1:30"), Ok(90 * MIN));
        assert_eq!(parse_offset("T-30m"), Ok(-30 * MIN));
        assert_eq!(parse_offset("T+24h"), Ok(24 * HOUR));
        assert_eq!(parse_offset("T-00:12:05"), Ok(-(12 * MIN + 5 * SEC)));
        assert!(parse_offset("0:05").is_err());
        assert!(parse_offset("T0:05").unwrap_err().contains("sign"));
        assert!(parse_offset("T+1:75").is_err());
        assert!(parse_offset("T+5").is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(t_clock(-(12 * MIN + 5 * SEC)), "T-00:12:05");
        assert_eq!(t_clock(47 * MIN + 12 * SEC), "T+00:47:12");
        assert_eq!(t_clock(99 * HOUR + 59 * MIN + 59 * SEC), "T+99:59:59");
        assert_eq!(t_clock(100 * HOUR), "T+4d 04:00:00");
        assert_eq!(t_clock(745 * HOUR + 12 * SEC), "T+31d 01:00:12");
        assert_eq!(t_clock(-(14 * DAY)), "T-14d 00:00:00");
        assert_eq!(t_clock_hours(745 * HOUR), "T+745:00:00");
        assert_eq!(t_clock(-500), "T-00:00:01");
        assert_eq!(t_offset(5 * MIN), "T+0:05");
        assert_eq!(t_offset(-24 * HOUR), "T-24:00");
        assert_eq!(t_offset(99 * HOUR), "T+99:00");
        assert_eq!(t_offset(745 * HOUR), "T+31d 01:00");
        assert_eq!(t_offset(100 * HOUR + 5 * MIN), "T+4d 04:05");
        assert_eq!(t_offset(-14 * DAY), "T-14d 00:00");
        assert_eq!(parse_offset("T+31d"), Ok(31 * DAY));
        assert_eq!(parse_offset("T+31d1h"), Ok(745 * HOUR));
        assert_eq!(parse_offset("T+31d 01:00"), Ok(745 * HOUR));
        assert_eq!(
            parse_offset(&t_offset(-14 * DAY - 5 * MIN)),
            Ok(-14 * DAY - 5 * MIN)
        );
        assert!(parse_offset("T+31d 1:75").is_err());
        assert_eq!(human(45 * SEC), "45s");
        assert_eq!(human(125 * SEC), "2m05s");
        assert_eq!(human(90 * MIN), "1h30m");
        assert_eq!(human(2 * DAY + 3 * HOUR), "2d3h");
    }

    /// Spans follow the T-times' rule: the same amount reads the same way as a countdown
    /// and as a T-offset, and the switch to days happens at the same hour for both.
    #[test]
    fn spans_read_as_the_t_clock_does() {
        assert_eq!(clock_span(2 * MIN + 12 * SEC), "2:12");
        assert_eq!(clock_span(95 * HOUR + 31 * MIN + 49 * SEC), "95:31:49");
        assert_eq!(clock_span(119 * HOUR), "4d 23:00");
        assert_eq!(clock_span(-5 * SEC), "0:00");
        for t in [
            3 * HOUR,
            99 * HOUR + 59 * MIN,
            100 * HOUR,
            745 * HOUR + 12 * SEC,
        ] {
            let c = t_clock(t);
            let days = c.contains('d');
            assert_eq!(clock_span(t).contains('d'), days, "{t}: {c}");
            if days {
                // The T-offset's form exactly: `T+31d 01:00` and `31d 01:00`.
                assert_eq!(format!("T+{}", clock_span(t)), t_offset(t - t % MIN));
            }
        }
    }
}
