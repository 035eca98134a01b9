//! The value parsers of the command line: durations, points in time, saga
//! states — each error says what to write instead.

use std::time::Duration;

/// A pace: `100/s`, `6000/m` or a plain number (per second), as items per
/// second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (n, per) = match s.split_once('/') {
        Some((n, "s")) => (n, 1.0),
        Some((n, "m")) => (n, 60.0),
        Some((n, "h")) => (n, 3600.0),
        Some(_) => {
            return Err(format!(
                "{s:?} is not a rate: write it like 100/s, 6000/m or 100"
            ));
        }
        None => (s, 1.0),
    };
    match n.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v / per),
        _ => Err(format!(
            "{s:?} is not a rate: write a number above 0 like 100/s, 6000/m or 100"
        )),
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (write a duration like 5s, 250ms or 2m)"))
}

/// A point in time: `1h` or `30m` (ago), `2026-11-27`, or an RFC 3339 timestamp.
pub fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        let d = chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
        return Ok(chrono::Utc::now() - d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t.into());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!(
        "{s:?} is not a time: write an age like 1h or 30m, a date like 2026-11-27, or 2026-11-27T10:00:00Z"
    ))
}

pub fn saga_state(s: &str) -> Result<crate::model::saga::State, String> {
    crate::model::saga::State::parse(s).ok_or_else(|| {
        format!(
            "{s:?} is not a saga state: running, compensating, completed, compensated or failed"
        )
    })
}
