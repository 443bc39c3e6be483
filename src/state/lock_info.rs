//! Who holds a state lock: written into the lock and shown to whoever is refused.

use std::os::unix::fs::MetadataExt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A UUID; `fk force-unlock ID` must name it.
    pub id: String,
    /// The command holding the lock: `apply`, `destroy`, ...
    pub operation: String,
    /// The user name (or `uid N` when the environment does not say).
    pub(crate) who: String,
    pub(crate) host: String,
    pub pid: u32,
    /// RFC 3339, UTC, whole seconds.
    pub created: String,
    /// The fk version that took the lock.
    pub(crate) version: String,
}

impl LockInfo {
    /// A lock description for this process: a fresh id, the user, host, pid and the time now.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.to_string(),
            who: current_user(),
            host: current_host(),
            pid: std::process::id(),
            created: now_rfc3339(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// Stands in for a holder whose lock description cannot be read (being written, or
    /// damaged).
    pub(crate) fn unknown() -> LockInfo {
        LockInfo {
            id: "unknown".to_string(),
            operation: "unknown".to_string(),
            who: "unknown".to_string(),
            host: "unknown".to_string(),
            pid: 0,
            created: "an unknown time".to_string(),
            version: String::new(),
        }
    }
}

fn current_user() -> String {
    for variable in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(variable)
            && !name.trim().is_empty()
        {
            return name.trim().to_string();
        }
    }
    match std::fs::metadata("/proc/self") {
        Ok(metadata) => format!("uid {}", metadata.uid()),
        Err(_) => "unknown".to_string(),
    }
}

fn current_host() -> String {
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname")
        && !name.trim().is_empty()
    {
        return name.trim().to_string();
    }
    match std::env::var("HOSTNAME") {
        Ok(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => "unknown".to_string(),
    }
}

fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let whole_seconds = now.replace_nanosecond(0).unwrap_or(now);
    whole_seconds
        .format(&Rfc3339)
        .unwrap_or_else(|_| format!("{} seconds after the epoch", now.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_lock_info_describes_this_process() {
        let info = LockInfo::new("apply");
        assert_eq!(info.operation, "apply");
        assert_eq!(info.pid, std::process::id());
        assert!(uuid::Uuid::parse_str(&info.id).is_ok(), "{}", info.id);
        assert!(!info.who.is_empty() && !info.host.is_empty());
        let parsed = OffsetDateTime::parse(&info.created, &Rfc3339);
        assert!(parsed.is_ok(), "{}", info.created);
        assert!(info.created.ends_with('Z'), "{}", info.created);
    }

    #[test]
    fn two_lock_infos_have_different_ids() {
        assert_ne!(LockInfo::new("plan").id, LockInfo::new("plan").id);
    }
}
