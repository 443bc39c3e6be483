//! The lease a run holds: its id (the lock id), and whether it ended. Shared by the lock,
//! whose renewal task marks it lost, and by the writers it fences, which check it before
//! sending anything (the service would refuse them anyway).

use std::sync::Mutex;

use crate::state::error::StateError;

/// The lease a run holds, shared by the lock and the writers it fences.
#[derive(Debug)]
pub(crate) struct LeaseHandle {
    pub(crate) id: String,
    /// Why the lease ended, once it did.
    lost: Mutex<Option<String>>,
}

impl LeaseHandle {
    pub(crate) fn new(id: &str) -> LeaseHandle {
        LeaseHandle {
            id: id.to_string(),
            lost: Mutex::new(None),
        }
    }

    /// Refuses when the lease ended: a write now would be refused by the service anyway.
    pub fn check(&self, state: &str) -> Result<(), StateError> {
        match self.lost.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(reason) => Err(StateError::LeaseLost {
                state: state.to_string(),
                reason: reason.clone(),
            }),
            None => Ok(()),
        }
    }

    pub(crate) fn mark_lost(&self, reason: impl Into<String>) {
        let mut lost = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        if lost.is_none() {
            *lost = Some(reason.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_lease_refuses_with_its_first_reason() {
        let lease = LeaseHandle::new("id");
        assert!(lease.check("s").is_ok());
        lease.mark_lost("broken by force-unlock");
        lease.mark_lost("released");
        let error = lease.check("s").unwrap_err();
        assert!(
            matches!(&error, StateError::LeaseLost { reason, .. } if reason == "broken by force-unlock"),
            "{error}"
        );
    }
}
