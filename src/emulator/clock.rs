//! The emulator's only clock and its one time format. Every state is computed from times
//! kept in the world, read through [`now_ms`]; nothing waits on a timer.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch: the emulator's only clock.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `ms` since the Unix epoch as RFC 3339 with milliseconds (`2026-11-22T04:00:00.120Z`):
/// fixed width, so timestamps sort as text.
pub(crate) fn rfc3339(ms: u64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|at| at.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_with_fixed_width_milliseconds() {
        assert_eq!(rfc3339(1_795_320_000_000), "2026-11-22T04:00:00.000Z");
        assert_eq!(rfc3339(1_795_320_000_050), "2026-11-22T04:00:00.050Z");
        assert!(rfc3339(1_795_320_000_000) < rfc3339(1_795_320_000_050));
    }
}
