//! Time parsing and display: `--since` values, the ISO-8601 timestamps Claude Code and
//! Gas Town write, and the short forms shown in the table. All instants are UTC.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};

/// Parses an RFC 3339 / ISO-8601 timestamp as written by Claude Code (`2026-04-30T13:02:38.123Z`)
/// or Gas Town (`2026-04-30T13:02:38Z`). Returns `None` for anything else.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Formats an instant as RFC 3339 UTC with a `Z` suffix and millisecond precision,
/// the form used in `--json` output.
pub fn to_rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a `--since` value relative to `now`: a duration (`45s`, `90m`, `36h`, `7d`,
/// `2w`), a date (`2026-11-15`, meaning 00:00 UTC that day) or an RFC 3339 instant.
///
/// Errors: a message naming the accepted forms.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let bad =
        || "use a duration (90m, 36h, 7d, 2w), a date (2026-11-15) or an RFC 3339 time".to_string();
    if let Some(unit) = s.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let num = &s[..s.len() - 1];
        if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = num.parse().map_err(|_| bad())?;
            let secs = match unit {
                's' => Some(n),
                'm' => n.checked_mul(60),
                'h' => n.checked_mul(3600),
                'd' => n.checked_mul(86_400),
                'w' => n.checked_mul(7 * 86_400),
                _ => None,
            }
            .ok_or_else(bad)?;
            let delta = chrono::Duration::try_seconds(secs).ok_or_else(bad)?;
            return now.checked_sub_signed(delta).ok_or_else(bad);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        return Ok(Utc.from_utc_datetime(&midnight));
    }
    parse_timestamp(s).ok_or_else(bad)
}

/// Short age for the table: `just now`, `42s ago`, `5m ago`, `3h ago`, `12d ago`, or
/// the date (`2025-01-31`) past a year. A time in the future shows as `just now`.
pub fn age(t: &DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - *t).num_seconds();
    match secs {
        s if s < 5 => "just now".to_string(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 365 * 86_400 => format!("{}d ago", s / 86_400),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

/// Start time, `YYYY-MM-DD HH:MM` in UTC (16 characters).
pub fn short(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

/// A time for a table cell, at most 11 characters: its [`age`] within the last day
/// (`5m ago`), else `MM-DD HH:MM` in `tz` within the year before `now`, else the date
/// (`2025-01-31`).
pub fn compact<Tz: TimeZone>(t: &DateTime<Utc>, now: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let secs = (now - *t).num_seconds();
    if secs < 86_400 {
        return age(t, now);
    }
    let local = t.with_timezone(tz);
    if secs < 330 * 86_400 {
        local.format("%m-%d %H:%M").to_string()
    } else {
        local.format("%Y-%m-%d").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_timestamp("2026-11-21T12:00:00Z").unwrap()
    }

    #[test]
    fn since_durations() {
        assert_eq!(
            to_rfc3339(&parse_since("90m", now()).unwrap()),
            "2026-11-21T10:30:00.000Z"
        );
        assert_eq!(
            to_rfc3339(&parse_since("36h", now()).unwrap()),
            "2026-11-20T00:00:00.000Z"
        );
        assert_eq!(
            to_rfc3339(&parse_since("7d", now()).unwrap()),
            "2026-11-14T12:00:00.000Z"
        );
        assert_eq!(
            to_rfc3339(&parse_since("2w", now()).unwrap()),
            "2026-11-07T12:00:00.000Z"
        );
    }

    #[test]
    fn since_dates_and_instants() {
        assert_eq!(
            to_rfc3339(&parse_since("2026-11-15", now()).unwrap()),
            "2026-11-15T00:00:00.000Z"
        );
        assert_eq!(
            to_rfc3339(&parse_since("2026-11-15T08:00:00+02:00", now()).unwrap()),
            "2026-11-15T06:00:00.000Z"
        );
    }

    #[test]
    fn since_rejects_garbage() {
        for bad in [
            "",
            "7",
            "d",
            "7y",
            "yesterday",
            "99999999999999999999d",
            "2026-13-01",
        ] {
            assert!(parse_since(bad, now()).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn ages() {
        let n = now();
        assert_eq!(age(&n, n), "just now");
        assert_eq!(age(&(n - chrono::Duration::seconds(300)), n), "5m ago");
        assert_eq!(age(&(n - chrono::Duration::hours(50)), n), "2d ago");
        assert_eq!(
            age(&parse_timestamp("2024-01-02T00:00:00Z").unwrap(), n),
            "2024-01-02"
        );
    }

    #[test]
    fn compact_times_fit_eleven_columns() {
        let n = now();
        let ago = |secs: i64| compact(&(n - chrono::Duration::seconds(secs)), n, &Utc);
        assert_eq!(ago(0), "just now");
        assert_eq!(ago(3 * 3600), "3h ago");
        assert_eq!(ago(86_400 + 60), "11-20 11:59");
        assert_eq!(ago(400 * 86_400), "2025-10-17");
        let east = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(
            compact(&(n - chrono::Duration::days(2)), n, &east),
            "11-19 14:00"
        );
        for s in [0, 59, 3600, 90_000, 10_000_000, 100_000_000] {
            assert!(ago(s).chars().count() <= 11, "{}", ago(s));
        }
    }

    #[test]
    fn claude_timestamps_parse() {
        let t = parse_timestamp("2026-04-30T13:02:38.123Z").unwrap();
        assert_eq!(to_rfc3339(&t), "2026-04-30T13:02:38.123Z");
        assert!(parse_timestamp("yesterday").is_none());
    }
}
