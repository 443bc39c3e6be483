//! The remote lock: a lock blob that says who holds it, and finite leases on the state and
//! journal blobs that say the holder is alive and fence its writes.
//!
//! Taking it, in this order:
//! 1. Put Blob `<state>.lock` with the holder's [`LockInfo`] and `If-None-Match: *`. Creating
//!    a blob is atomic, so one run wins; the loser reads the winner's description.
//! 2. Acquire a lease (default 60 s) on the state blob and on the journal blob, each with the
//!    lock id as the proposed lease id. Every state and journal write carries it, so a run
//!    whose lease ended is refused by the service (412), not trusted to notice.
//! 3. Renew both leases every third of their duration in a background task; when a renewal
//!    is refused the run is told (`LeaseLost`) and stops writing.
//!
//! Crash windows: dying after 1 leaves a description and no lease; it is taken as a live
//! holder for [`GRACE`] (the gap between 1 and 2 is a round trip), then as a dead one. Dying
//! after 2 leaves a description and a lease that ends within its duration. Either way the
//! holder is named, and the next run takes over and says so. Releasing ends the leases,
//! then deletes the description. `force-unlock ID` checks the id against the description
//! (or, when there is none, against the lease itself by renewing it with that id), breaks
//! both leases and deletes the description.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::state::blob::client::{
    BlobClient, BlobResponse, Conditions, LeaseAction, parse_http_date,
};
use crate::state::blob::lease::LeaseHandle;
use crate::state::error::StateError;
use crate::state::lock_info::LockInfo;
use crate::state::store::StateLock;

/// How long a description without a lease still counts as a live holder.
pub(crate) const GRACE: Duration = Duration::from_secs(15);

/// Taking the lock retries this often when the blobs change under it.
const MAX_ATTEMPTS: usize = 6;

/// The three blobs of one remote state.
#[derive(Clone, Debug)]
pub struct BlobNames {
    pub state: String,
    pub journal: String,
    pub lock: String,
}

impl BlobNames {
    pub(crate) fn new(state: &str) -> BlobNames {
        BlobNames {
            state: state.to_string(),
            journal: format!("{state}.journal"),
            lock: format!("{state}.lock"),
        }
    }
}

/// Whoever holds the lock, as seen by a run that could not create the lock blob.
enum Holder {
    Alive(LockInfo),
    Dead {
        info: LockInfo,
        etag: String,
    },
    /// The lock blob went away while we looked: try again.
    Gone,
}

#[derive(Debug)]
pub struct BlobLock {
    client: BlobClient,
    names: BlobNames,
    info: LockInfo,
    taken_over: Option<LockInfo>,
    lease: Arc<LeaseHandle>,
    lock_etag: Option<String>,
    renewal: Option<tokio::task::JoinHandle<()>>,
    /// Set by the store when the taken-over description is the only evidence that a state
    /// existed: releasing then writes it back, so later runs stop too until someone looks.
    keep_taken_over: Arc<std::sync::atomic::AtomicBool>,
}

impl BlobLock {
    /// Takes the lock at once, or fails with `Locked` naming the holder.
    pub(crate) async fn acquire(
        client: &BlobClient,
        names: &BlobNames,
        info: LockInfo,
        lease_seconds: u32,
    ) -> Result<BlobLock, StateError> {
        let description = serde_json::to_vec_pretty(&info)
            .map_err(|error| StateError::corrupt(&names.lock, error.to_string()))?;
        let mut taken_over = None;
        let mut lock_etag = None;
        for _ in 0..MAX_ATTEMPTS {
            let created = client
                .put_block_blob(
                    &names.lock,
                    description.clone(),
                    Conditions {
                        if_none_match_any: true,
                        ..Conditions::default()
                    },
                )
                .await?;
            match created.status {
                201 => {
                    lock_etag = created.etag;
                    break;
                }
                404 => {
                    let container = client.create_container().await?;
                    if !container.is_success() && container.status != 409 {
                        return Err(container.refused("create the container of", &names.lock));
                    }
                }
                409 | 412 => match inspect_holder(client, names).await? {
                    Holder::Alive(holder) => {
                        return Err(StateError::Locked {
                            state: client.describe(&names.state),
                            holder: Box::new(holder),
                        });
                    }
                    Holder::Dead { info: dead, etag } => {
                        let deleted = delete_lock_blob(client, names, &etag).await?;
                        if deleted.is_success() {
                            taken_over = Some(dead);
                        }
                    }
                    Holder::Gone => {}
                },
                _ => return Err(created.refused("create the lock", &names.lock)),
            }
        }
        let Some(lock_etag) = lock_etag else {
            return Err(StateError::BlobUnreachable {
                action: "lock",
                blob: client.describe(&names.lock),
                message: "the lock blob kept changing; try again".to_string(),
            });
        };
        let lease = Arc::new(LeaseHandle::new(&info.id));
        let mut lock = BlobLock {
            client: client.clone(),
            names: names.clone(),
            info,
            taken_over,
            lease,
            lock_etag: Some(lock_etag),
            renewal: None,
            keep_taken_over: Arc::default(),
        };
        if let Err(error) = lock.take_leases(lease_seconds).await {
            let _ = lock.unlock().await;
            return Err(error);
        }
        lock.renewal = Some(tokio::spawn(renew(
            client.clone(),
            names.clone(),
            Arc::clone(&lock.lease),
            lease_seconds,
        )));
        Ok(lock)
    }

    pub(crate) fn lease(&self) -> Arc<LeaseHandle> {
        Arc::clone(&self.lease)
    }

    async fn take_leases(&mut self, seconds: u32) -> Result<(), StateError> {
        let client = &self.client;
        let created = client
            .put_block_blob(&self.names.state, Vec::new(), if_absent())
            .await?;
        if !created.is_success() && !matches!(created.status, 409 | 412) {
            return Err(created.refused("create", &self.names.state));
        }
        let created = client
            .put_append_blob(&self.names.journal, if_absent())
            .await?;
        if !created.is_success() && !matches!(created.status, 409 | 412) {
            return Err(created.refused("create", &self.names.journal));
        }
        let acquire = LeaseAction::Acquire {
            seconds,
            proposed_id: &self.lease.id,
        };
        let leased = client.lease(&self.names.state, acquire).await?;
        if leased.status == 409 {
            // A lease nobody described: not an fk lock, or one whose description was removed
            // by hand. It ends by itself unless it is infinite; `force-unlock` breaks it.
            return Err(StateError::Locked {
                state: client.describe(&self.names.state),
                holder: Box::new(LockInfo::unknown()),
            });
        }
        if !leased.is_success() {
            return Err(leased.refused("lease", &self.names.state));
        }
        let mut leased = client.lease(&self.names.journal, acquire).await?;
        if leased.status == 409 {
            // We hold the state's lease, so the journal's belongs to a holder that lost its
            // own: break it.
            client
                .lease(&self.names.journal, LeaseAction::Break)
                .await?;
            leased = client.lease(&self.names.journal, acquire).await?;
        }
        if !leased.is_success() {
            return Err(leased.refused("lease", &self.names.journal));
        }
        Ok(())
    }

    /// Ends the leases and deletes the description; the first failure is reported.
    async fn unlock(&mut self) -> Result<(), StateError> {
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let was_lost = self.lease.check("").is_err();
        self.lease.mark_lost("the lock was released");
        let mut outcome = Ok(());
        for blob in [&self.names.state, &self.names.journal] {
            let released = self
                .client
                .lease(blob, LeaseAction::Release { id: &self.lease.id })
                .await;
            match released {
                Ok(response) if response.is_success() || was_lost => {}
                // 404: never created (the lock failed before); 409: the lease already ended.
                Ok(response) if matches!(response.status, 404 | 409) => {}
                Ok(response) => outcome = outcome.and(Err(response.refused("release", blob))),
                Err(error) => outcome = outcome.and(Err(error)),
            }
        }
        if let Some(etag) = self.lock_etag.take() {
            let deleted = delete_lock_blob(&self.client, &self.names, &etag).await?;
            // 412: after a force-unlock the lock blob is someone else's; leave it.
            if !deleted.is_success() && !matches!(deleted.status, 404 | 412) {
                outcome = outcome.and(Err(deleted.refused("delete", &self.names.lock)));
            }
            if deleted.is_success()
                && self
                    .keep_taken_over
                    .load(std::sync::atomic::Ordering::Relaxed)
                && let Some(previous) = &self.taken_over
            {
                outcome = outcome.and(self.restore_description(previous).await);
            }
        }
        outcome
    }

    /// The flag that makes releasing write the taken-over description back.
    pub(crate) fn keep_taken_over_flag(&self) -> Arc<std::sync::atomic::AtomicBool> {
        Arc::clone(&self.keep_taken_over)
    }

    async fn restore_description(&self, previous: &LockInfo) -> Result<(), StateError> {
        let description = serde_json::to_vec_pretty(previous)
            .map_err(|error| StateError::corrupt(&self.names.lock, error.to_string()))?;
        let written = self
            .client
            .put_block_blob(&self.names.lock, description, if_absent())
            .await?;
        // 409/412: another run created a lock meanwhile; its own description stands.
        if written.is_success() || matches!(written.status, 409 | 412) {
            Ok(())
        } else {
            Err(written.refused("write", &self.names.lock))
        }
    }

    /// Breaks the lock whose id is `id`: both leases and the description.
    pub async fn force_unlock(
        client: &BlobClient,
        names: &BlobNames,
        id: &str,
    ) -> Result<(), StateError> {
        let state = client.describe(&names.state);
        let described = client.get_blob(&names.lock).await?;
        let lock_etag = match described.status {
            200 => {
                let held: LockInfo =
                    serde_json::from_slice(&described.body).unwrap_or_else(|_| LockInfo::unknown());
                if held.id != id {
                    return Err(StateError::LockMismatch {
                        state,
                        given: id.to_string(),
                        held: held.id.clone(),
                        holder: Box::new(held),
                    });
                }
                described.etag
            }
            404 => {
                // No description: the lease itself must carry the id (renewing proves it).
                let renewed = client
                    .lease(&names.state, LeaseAction::Renew { id })
                    .await?;
                match renewed.status {
                    200 => None,
                    404 => return Err(StateError::NotLocked { state }),
                    _ => {
                        let leased = client.get_properties(&names.state).await?;
                        if leased.header("x-ms-lease-state") != Some("leased") {
                            return Err(StateError::NotLocked { state });
                        }
                        return Err(StateError::LockMismatch {
                            state,
                            given: id.to_string(),
                            held: "unknown".to_string(),
                            holder: Box::new(LockInfo::unknown()),
                        });
                    }
                }
            }
            _ => return Err(described.refused("read the lock", &names.lock)),
        };
        for blob in [&names.state, &names.journal] {
            let broken = client.lease(blob, LeaseAction::Break).await?;
            // 409: no lease to break; 404: no such blob.
            if !broken.is_success() && !matches!(broken.status, 404 | 409) {
                return Err(broken.refused("break the lease of", blob));
            }
        }
        if let Some(etag) = lock_etag {
            let deleted = delete_lock_blob(client, names, &etag).await?;
            if !deleted.is_success() && deleted.status != 404 {
                return Err(deleted.refused("delete", &names.lock));
            }
        }
        Ok(())
    }
}

fn if_absent() -> Conditions<'static> {
    Conditions {
        if_none_match_any: true,
        ..Conditions::default()
    }
}

/// Reads the description and whether its holder still has the state's lease.
/// Deletes the lock blob only while it is the one read (`etag`), so a lock someone else took
/// meanwhile is never removed.
async fn delete_lock_blob(
    client: &BlobClient,
    names: &BlobNames,
    etag: &str,
) -> Result<BlobResponse, StateError> {
    let conditions = Conditions {
        if_match: Some(etag),
        ..Conditions::default()
    };
    client.delete_blob(&names.lock, conditions).await
}

async fn inspect_holder(client: &BlobClient, names: &BlobNames) -> Result<Holder, StateError> {
    let described = client.get_blob(&names.lock).await?;
    if described.status == 404 {
        return Ok(Holder::Gone);
    }
    if !described.is_success() {
        return Err(described.refused("read the lock", &names.lock));
    }
    let info: LockInfo =
        serde_json::from_slice(&described.body).unwrap_or_else(|_| LockInfo::unknown());
    let state = client.get_properties(&names.state).await?;
    if state.header("x-ms-lease-state") == Some("leased") {
        return Ok(Holder::Alive(info));
    }
    // Both times are the service's, so the age does not depend on anyone's clock.
    let written = described.header("last-modified").and_then(parse_http_date);
    let now = described.header("date").and_then(parse_http_date);
    let old_enough = match (written, now) {
        (Some(written), Some(now)) => now - written >= GRACE,
        _ => true,
    };
    match (old_enough, described.etag) {
        (true, Some(etag)) => Ok(Holder::Dead { info, etag }),
        _ => Ok(Holder::Alive(info)),
    }
}

/// Renews both leases every third of their duration until aborted or refused. A refusal
/// (the lease was broken or taken) ends the lease for good; unreachable service is retried
/// until the lease has surely expired.
async fn renew(client: BlobClient, names: BlobNames, lease: Arc<LeaseHandle>, seconds: u32) {
    let period = Duration::from_secs(u64::from(seconds.max(3)) / 3);
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(period).await;
        let mut refused = None;
        let mut unreachable = false;
        for blob in [&names.state, &names.journal] {
            match client
                .lease(blob, LeaseAction::Renew { id: &lease.id })
                .await
            {
                Ok(response) if response.is_success() => {}
                Ok(response) => refused = Some(response.refused("renew the lease of", blob)),
                Err(_) => unreachable = true,
            }
        }
        if let Some(error) = refused {
            lease.mark_lost(error.to_string());
            return;
        }
        if !unreachable {
            last_renewed = tokio::time::Instant::now();
        } else if last_renewed.elapsed() >= Duration::from_secs(u64::from(seconds)) {
            lease.mark_lost("the storage account was unreachable for the whole lease");
            return;
        }
    }
}

#[async_trait]
impl StateLock for BlobLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    fn taken_over(&self) -> Option<&LockInfo> {
        self.taken_over.as_ref()
    }

    async fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.unlock().await
    }
}

impl Drop for BlobLock {
    /// Releases on a thread of its own (its own runtime and connections), so that dropping
    /// works from any runtime, and waits for it: the process may end right after.
    fn drop(&mut self) {
        if self.lock_etag.is_none() {
            return;
        }
        if let Some(renewal) = self.renewal.take() {
            renewal.abort();
        }
        let mut detached = BlobLock {
            client: self.client.with_new_connections(),
            names: self.names.clone(),
            info: self.info.clone(),
            taken_over: self.taken_over.take(),
            lease: Arc::clone(&self.lease),
            lock_etag: self.lock_etag.take(),
            renewal: None,
            keep_taken_over: Arc::clone(&self.keep_taken_over),
        };
        let releasing = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(detached.unlock());
            }
            // Released or not, this copy must not try again when it drops.
            let _ = detached.lock_etag.take();
        });
        let _ = releasing.join();
    }
}
