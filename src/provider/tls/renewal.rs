//! Validity windows and renewal: when a certificate is due, and how the plan says so.
//!
//! The clock is read only by refresh ([`crate::provider::Provider::read`]), which writes the
//! finding into the computed `renewal_due` attribute ("expires in 12 days"); the pure plan
//! turns a set `renewal_due` into a replacement whose reason repeats it.

use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::provider::{PlannedChange, ReplaceCause};
use crate::value::{PathSeg, Value};

/// How far back `not_before` is set, so a clock a little behind fk's still accepts a new
/// certificate.
const BACKDATE: Duration = Duration::minutes(5);

/// The attributes a new certificate gets only when it is signed.
const SIGNED_ATTRIBUTES: [&str; 3] = ["cert_pem", "not_before", "not_after"];

/// When a new certificate is valid: from a little before `now` for `validity_hours`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ValidityWindow {
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
}

impl ValidityWindow {
    /// Whole seconds, as X.509 keeps them.
    pub(crate) fn starting(now: OffsetDateTime, validity_hours: i64) -> ValidityWindow {
        let now = now.replace_nanosecond(0).unwrap_or(now);
        ValidityWindow {
            not_before: now - BACKDATE,
            not_after: now + Duration::hours(validity_hours),
        }
    }
}

/// RFC 3339 text of a time, as kept in state (`2026-11-22T05:00:00Z`).
pub(crate) fn format_time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// "expires in 12 days" or "expired 3 hours ago" when `now` is inside the renewal window
/// before `not_after`; `None` while the certificate is not yet due.
pub(crate) fn renewal_note(
    now: OffsetDateTime,
    not_after: OffsetDateTime,
    renew_before_hours: i64,
) -> Option<String> {
    let remaining = not_after - now;
    if remaining > Duration::hours(renew_before_hours) {
        return None;
    }
    Some(if remaining.is_positive() {
        format!("expires in {}", describe_span(remaining))
    } else {
        format!("expired {} ago", describe_span(-remaining))
    })
}

/// The renewal note for a stored certificate, or `None` (not due, or not a certificate
/// fk can read the expiry of).
pub(crate) fn note_for(prior: &Value, now: OffsetDateTime) -> Option<String> {
    let not_after = prior.get("not_after").and_then(Value::as_str)?;
    let not_after = OffsetDateTime::parse(not_after, &Rfc3339).ok()?;
    let renew_before_hours = prior.get("renew_before_hours").and_then(Value::as_i64)?;
    renewal_note(now, not_after, renew_before_hours)
}

/// Plans a certificate's renewal: a prior whose `renewal_due` is set must be replaced, and
/// the cause says why (the engine then plans the replacement from scratch). A new
/// certificate is never due.
pub(crate) fn refine_plan(change: &mut PlannedChange, prior: Option<&Value>) {
    let Some(prior) = prior else {
        if let Some(planned) = change.planned.as_map_mut() {
            for name in SIGNED_ATTRIBUTES {
                planned.insert(name.into(), Value::Unknown);
            }
            planned.insert("renewal_due".into(), Value::Null);
        }
        return;
    };
    if let Some(note) = prior.get("renewal_due").and_then(Value::as_str) {
        change.requires_replace.push(ReplaceCause {
            path: vec![PathSeg::Key("not_after".into())],
            reason: renewal_reason(note, prior),
        });
    }
}

fn renewal_reason(note: &str, prior: &Value) -> String {
    let window = prior
        .get("renew_before_hours")
        .and_then(Value::as_i64)
        .map(|hours| describe_span(Duration::hours(hours)));
    match window {
        Some(window) if !note.starts_with("expired") => {
            format!("the certificate {note}, inside its renewal window of {window}")
        }
        _ => format!("the certificate {note}"),
    }
}

/// "12 days", "1 day", "5 hours", "20 minutes", "less than a minute" (whole units, rounded
/// down).
pub(crate) fn describe_span(span: Duration) -> String {
    let plural = |count: i64, unit: &str| {
        if count == 1 {
            format!("1 {unit}")
        } else {
            format!("{count} {unit}s")
        }
    };
    if span.whole_days() >= 1 {
        plural(span.whole_days(), "day")
    } else if span.whole_hours() >= 1 {
        plural(span.whole_hours(), "hour")
    } else if span.whole_minutes() >= 1 {
        plural(span.whole_minutes(), "minute")
    } else {
        "less than a minute".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-22 05:00:00 UTC);

    fn stored(not_after: OffsetDateTime, renew_before_hours: i64, note: Option<&str>) -> Value {
        Value::Map(BTreeMap::from([
            ("cert_pem".to_string(), Value::str("pem")),
            ("not_after".to_string(), Value::str(format_time(not_after))),
            (
                "renew_before_hours".to_string(),
                Value::Int(renew_before_hours),
            ),
            (
                "renewal_due".to_string(),
                note.map(Value::str).unwrap_or_default(),
            ),
        ]))
    }

    fn no_change(prior: &Value) -> PlannedChange {
        PlannedChange {
            planned: prior.clone(),
            requires_replace: Vec::new(),
            notes: Vec::new(),
            delete_before_create: None,
        }
    }

    #[test]
    fn certificate_inside_its_window_is_due_with_days_left() {
        let not_after = NOW + Duration::days(12) + Duration::hours(3);
        assert_eq!(
            renewal_note(NOW, not_after, 720).as_deref(),
            Some("expires in 12 days")
        );
        assert_eq!(renewal_note(NOW, not_after, 24), None);
    }

    #[test]
    fn expired_certificate_says_how_long_ago() {
        let not_after = NOW - Duration::days(3);
        assert_eq!(
            renewal_note(NOW, not_after, 720).as_deref(),
            Some("expired 3 days ago")
        );
        assert_eq!(
            renewal_note(NOW, NOW + Duration::hours(1), 2).as_deref(),
            Some("expires in 1 hour")
        );
    }

    #[test]
    fn note_is_read_from_stored_state() {
        let prior = stored(NOW + Duration::days(12), 720, None);
        assert_eq!(note_for(&prior, NOW).as_deref(), Some("expires in 12 days"));
        let later = stored(NOW + Duration::days(365), 720, None);
        assert_eq!(note_for(&later, NOW), None);
    }

    #[test]
    fn due_certificate_plans_a_replacement_that_says_why() {
        let prior = stored(NOW + Duration::days(12), 720, Some("expires in 12 days"));
        let mut change = no_change(&prior);
        refine_plan(&mut change, Some(&prior));
        assert_eq!(change.requires_replace.len(), 1);
        assert_eq!(
            change.requires_replace[0].reason,
            "the certificate expires in 12 days, inside its renewal window of 30 days"
        );
    }

    #[test]
    fn new_certificate_is_unsigned_and_not_due() {
        let mut change = no_change(&stored(NOW, 720, Some("stale")));
        refine_plan(&mut change, None);
        assert_eq!(change.planned.get("cert_pem"), Some(&Value::Unknown));
        assert_eq!(change.planned.get("not_after"), Some(&Value::Unknown));
        assert_eq!(change.planned.get("renewal_due"), Some(&Value::Null));
    }

    #[test]
    fn certificate_outside_its_window_plans_no_change() {
        let prior = stored(NOW + Duration::days(300), 720, None);
        let mut change = no_change(&prior);
        refine_plan(&mut change, Some(&prior));
        assert!(change.requires_replace.is_empty());
        assert_eq!(change.planned, prior);
    }

    #[test]
    fn validity_window_is_backdated_and_whole_seconds() {
        let now = datetime!(2026-11-22 05:00:00.75 UTC);
        let window = ValidityWindow::starting(now, 24);
        assert_eq!(window.not_before, datetime!(2026-11-22 04:55:00 UTC));
        assert_eq!(window.not_after, datetime!(2026-11-23 05:00:00 UTC));
        assert_eq!(format_time(window.not_after), "2026-11-23T05:00:00Z");
    }
}
