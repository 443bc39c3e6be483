//! Team state in Azure Blob Storage: `[backend.azure_blob]`.
//!
//! | blob | what | written |
//! |---|---|---|
//! | `<blob>` | the snapshot (pretty JSON; empty before the first persist) | at each persist, with the lease and `If-Match` of the ETag last read |
//! | `<blob>.journal` | records since the snapshot (append blob, JSON lines) | one Append Block per group of finished operations, with the lease and `If-Match` |
//! | `<blob>.lock` | the holder's [`LockInfo`] | when the lock is taken; deleted when it is released |
//!
//! A persist also checks lineage and serial against what was read: a state of another
//! lineage, or an older serial, is refused before anything is sent.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::state::blob::auth::BlobAuth;
use crate::state::blob::client::{BlobClient, Conditions};
use crate::state::blob::journal::BlobJournal;
use crate::state::blob::lease::LeaseHandle;
use crate::state::blob::lock::{BlobLock, BlobNames};
use crate::state::crypt::{self, StateKeys};
use crate::state::error::StateError;
use crate::state::file_store::{parse_snapshot, seal_snapshot};
use crate::state::lock_info::LockInfo;
use crate::state::model::State;
use crate::state::replay::{self, JournalFit, SnapshotBase, fit, parse_journal};
use crate::state::store::{Journal, StateLock, StateStore};
use crate::value::Value;

/// The lease duration unless `lease_seconds` says otherwise; Azure allows 15 to 60.
pub(crate) const DEFAULT_LEASE_SECONDS: u32 = 60;

/// The backend kind in `[backend.azure_blob]`.
pub(crate) const BACKEND_KIND: &str = "azure_blob";

const ATTRIBUTES: [&str; 6] = [
    "account",
    "container",
    "blob",
    "endpoint",
    "auth",
    "lease_seconds",
];

pub struct BlobStore {
    client: BlobClient,
    names: BlobNames,
    lease_seconds: u32,
    lease: Mutex<Option<Arc<LeaseHandle>>>,
    /// The snapshot as last read or written: its ETag (`None`: absent) and identity.
    snapshot: Mutex<Option<(Option<String>, SnapshotBase)>>,
    /// Whether the journal's header names the snapshot last read or written.
    journal_open: Mutex<bool>,
    journal: Arc<BlobJournal>,
    /// The description of a dead holder whose lock this store took over.
    taken_over: Mutex<Option<LockInfo>>,
    /// Raised when that description was refused as evidence: the lock writes it back.
    keep_taken_over: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
    /// Seals what is written and opens what is read, when state encryption is on.
    keys: Option<Arc<StateKeys>>,
}

impl BlobStore {
    pub(crate) fn new(client: BlobClient, blob: &str, lease_seconds: u32) -> BlobStore {
        let names = BlobNames::new(blob);
        let journal = Arc::new(BlobJournal::new(client.clone(), &names.journal, None));
        BlobStore {
            client,
            names,
            lease_seconds,
            lease: Mutex::new(None),
            snapshot: Mutex::new(None),
            journal_open: Mutex::new(false),
            journal,
            taken_over: Mutex::new(None),
            keep_taken_over: Mutex::new(None),
            keys: None,
        }
    }

    /// The same store, sealing the snapshot and each journal record with `keys`.
    pub fn with_keys(mut self, keys: Option<Arc<StateKeys>>) -> BlobStore {
        self.journal = Arc::new(BlobJournal::new(
            self.client.clone(),
            &self.names.journal,
            keys.clone(),
        ));
        self.keys = keys;
        self
    }

    /// A store from the evaluated attributes of `[backend.azure_blob]` and the environment
    /// (secrets: `FK_BLOB_ACCOUNT_KEY`, `FK_BLOB_SAS`; Entra: `AZURE_*`).
    pub fn from_backend(
        values: &BTreeMap<String, Value>,
        env: &BTreeMap<String, String>,
        module_name: &str,
    ) -> Result<BlobStore, String> {
        if let Some(unknown) = values
            .keys()
            .find(|key| !ATTRIBUTES.contains(&key.as_str()))
        {
            let hint = crate::diag::nearest(unknown, ATTRIBUTES.iter().copied())
                .map(|near| format!(" (did you mean `{near}`?)"))
                .unwrap_or_default();
            return Err(format!(
                "`backend.azure_blob` has no attribute `{unknown}`{hint}"
            ));
        }
        let text = |name: &str| -> Result<Option<String>, String> {
            match values.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) if !text.trim().is_empty() => Ok(Some(text.clone())),
                Some(_) => Err(format!(
                    "`backend.azure_blob.{name}` must be a non-empty string"
                )),
            }
        };
        let account = text("account")?.ok_or("`backend.azure_blob` needs `account`")?;
        let container = text("container")?.ok_or("`backend.azure_blob` needs `container`")?;
        let blob = text("blob")?.unwrap_or_else(|| format!("{module_name}.json"));
        let endpoint =
            text("endpoint")?.unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
        let auth = BlobAuth::from_env(&text("auth")?.unwrap_or_else(|| "entra".into()), env)?;
        let lease_seconds = match values.get("lease_seconds") {
            None => DEFAULT_LEASE_SECONDS,
            Some(value) => match value.as_i64() {
                Some(seconds @ 15..=60) => seconds as u32,
                _ => return Err("`backend.azure_blob.lease_seconds` must be 15 to 60".into()),
            },
        };
        let client = BlobClient::new(&endpoint, &account, &container, auth)?;
        Ok(BlobStore::new(client, &blob, lease_seconds))
    }

    pub fn names(&self) -> &BlobNames {
        &self.names
    }

    pub fn client(&self) -> &BlobClient {
        &self.client
    }

    /// How many Append Block calls made journal records durable so far.
    pub async fn n_journal_appends(&self) -> u64 {
        self.journal.n_appends().await
    }

    fn held_lease(&self) -> Result<Arc<LeaseHandle>, StateError> {
        let lease = self.lease.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let lease = lease.ok_or_else(|| StateError::NotLocked {
            state: self.describe(),
        })?;
        lease.check(&self.describe())?;
        Ok(lease)
    }

    fn known_snapshot(&self) -> Option<(Option<String>, SnapshotBase)> {
        self.snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn remember_snapshot(&self, etag: Option<String>, base: SnapshotBase) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = Some((etag, base));
    }

    fn set_journal_open(&self, open: bool) {
        *self.journal_open.lock().unwrap_or_else(|p| p.into_inner()) = open;
    }

    /// Refuses to start from an empty state when this run took over the lock of a run that
    /// died: that run may have written a state that is now gone.
    fn refuse_empty_start(&self) -> Result<(), StateError> {
        let taken_over = self
            .taken_over
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(holder) = taken_over else {
            return Ok(());
        };
        if let Some(keep) = self
            .keep_taken_over
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            keep.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Err(StateError::Missing {
            state: self.describe(),
            found: format!(
                "a run (`{}` by `{}` on `{}`, pid {}, since {}) held its lock and ended without releasing it",
                holder.operation, holder.who, holder.host, holder.pid, holder.created
            ),
            hint: format!(
                "if the state blob was removed, restore `{}` from the container's blob versions or soft-deleted blobs, or push a copy with `fk state push`; if that run never wrote a state (killed before its first write, so it created nothing), remove its lock and run again:\n\n    fk force-unlock {} <module>",
                self.names.state, holder.id
            ),
        })
    }

    /// Refuses a write that would change the lineage or go back in serial.
    fn check_history(&self, state: &State, base: &SnapshotBase) -> Result<(), StateError> {
        let message = match &base.lineage {
            Some(lineage) if *lineage != state.lineage => format!(
                "it holds lineage `{lineage}`, the write has `{}`",
                state.lineage
            ),
            Some(_) if state.serial < base.serial => format!(
                "it is at serial {}, the write has the older serial {}",
                base.serial, state.serial
            ),
            _ => return Ok(()),
        };
        Err(StateError::corrupt(
            self.describe(),
            format!("refusing to overwrite it: {message}"),
        ))
    }
}

#[async_trait]
impl StateStore for BlobStore {
    fn describe(&self) -> String {
        self.client.describe(&self.names.state)
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        let path = self.describe();
        let read = self.client.get_blob(&self.names.state).await?;
        let (snapshot, etag, base) = match read.status {
            404 => (None, None, SnapshotBase::default()),
            200 if read.body.is_empty() => (None, read.etag, SnapshotBase::default()),
            200 => {
                let opened = crypt::decode(self.keys.as_deref(), &read.body, Path::new(&path))?;
                let snapshot = parse_snapshot(Path::new(&path), &opened)?;
                let base = SnapshotBase::of_bytes(&read.body, &snapshot.lineage, snapshot.serial);
                (Some(snapshot), read.etag, base)
            }
            _ => return Err(read.refused("read", &self.names.state)),
        };
        self.remember_snapshot(etag, base.clone());
        let journal = self.client.get_blob(&self.names.journal).await?;
        let journal_bytes = match journal.status {
            404 => {
                self.journal.set_etag(None).await;
                self.set_journal_open(false);
                if snapshot.is_none() {
                    self.refuse_empty_start()?;
                }
                return Ok(snapshot);
            }
            200 => journal.body,
            _ => return Err(journal.refused("read", &self.names.journal)),
        };
        self.journal.set_etag(journal.etag).await;
        let journal_path = self.client.describe(&self.names.journal);
        let parsed = parse_journal(
            Path::new(&journal_path),
            &journal_bytes,
            self.keys.as_deref(),
        )?;
        let Some(header) = parsed.header else {
            self.set_journal_open(false);
            if snapshot.is_none() {
                self.refuse_empty_start()?;
            }
            return Ok(snapshot);
        };
        if snapshot.is_none() && header.snapshot_sha256.is_some() {
            return Err(StateError::Missing {
                state: path.clone(),
                found: format!(
                    "its journal `{journal_path}` records operations made after serial {} of lineage `{}`",
                    header.serial,
                    header.lineage.as_deref().unwrap_or("(none)")
                ),
                hint: format!(
                    "restore the snapshot blob `{}` from the container's blob versions or soft-deleted blobs (e.g. `az storage blob undelete`), or push a copy you have with `fk state push`; the journal is then replayed onto it",
                    self.names.state
                ),
            });
        }
        match fit(&header, &base) {
            JournalFit::Extends => self.set_journal_open(true),
            JournalFit::Stale => {
                self.set_journal_open(false);
                return Ok(snapshot);
            }
            // A header alone records nothing: there is nothing to lose.
            JournalFit::Foreign if parsed.records.is_empty() => {
                self.set_journal_open(false);
                return Ok(snapshot);
            }
            JournalFit::Foreign => {
                return Err(StateError::corrupt(
                    journal_path,
                    format!(
                        "it extends serial {} of another snapshot than `{path}` (serial {}); refusing to drop its records; move one of them away",
                        header.serial, base.serial
                    ),
                ));
            }
        }
        if parsed.records.is_empty() {
            if snapshot.is_none() {
                self.refuse_empty_start()?;
            }
            return Ok(snapshot);
        }
        Ok(Some(replay::replay(snapshot, parsed.records.into_iter())))
    }

    async fn persist(&self, state: &State) -> Result<(), StateError> {
        let lease = self.held_lease()?;
        let (etag, base) = self.known_snapshot().unwrap_or_default();
        self.check_history(state, &base)?;
        let mut bytes = serde_json::to_vec_pretty(state)
            .map_err(|error| StateError::corrupt(self.describe(), error.to_string()))?;
        bytes.push(b'\n');
        let bytes = seal_snapshot(self.keys.as_deref(), bytes, Path::new(&self.describe()))?;
        let next_base = SnapshotBase::of_bytes(&bytes, &state.lineage, state.serial);
        let written = self
            .client
            .put_block_blob(
                &self.names.state,
                bytes,
                Conditions {
                    lease_id: Some(&lease.id),
                    if_match: etag.as_deref(),
                    if_none_match_any: etag.is_none(),
                },
            )
            .await?;
        if !written.is_success() {
            return Err(written.refused("write", &self.names.state));
        }
        self.remember_snapshot(written.etag, next_base.clone());
        // The snapshot is durable: only now may the journal it absorbed go.
        self.journal.reset(&next_base.header()).await?;
        self.set_journal_open(true);
        Ok(())
    }

    async fn lock(&self, info: LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        let lock = BlobLock::acquire(&self.client, &self.names, info, self.lease_seconds).await?;
        *self.taken_over.lock().unwrap_or_else(|p| p.into_inner()) = lock.taken_over().cloned();
        *self
            .keep_taken_over
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(lock.keep_taken_over_flag());
        let lease = lock.lease();
        *self.lease.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&lease));
        self.journal.set_lease(Some(lease));
        Ok(Box::new(lock))
    }

    async fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        BlobLock::force_unlock(&self.client, &self.names, id).await
    }

    async fn journal(&self) -> Result<Arc<dyn Journal>, StateError> {
        let open = *self.journal_open.lock().unwrap_or_else(|p| p.into_inner());
        if !open {
            if self.known_snapshot().is_none() {
                self.load().await?;
            }
            let (_, base) = self.known_snapshot().unwrap_or_default();
            self.journal.reset(&base.header()).await?;
            self.set_journal_open(true);
        }
        let journal: Arc<dyn Journal> = self.journal.clone();
        Ok(journal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.clone()))
            .collect()
    }

    fn key_env() -> BTreeMap<String, String> {
        BTreeMap::from([("FK_BLOB_ACCOUNT_KEY".to_string(), "c2VjcmV0".to_string())])
    }

    #[test]
    fn backend_defaults_to_the_public_endpoint_and_the_module_blob() {
        let store = BlobStore::from_backend(
            &values(&[
                ("account", Value::String("acct".into())),
                ("container", Value::String("tfstate".into())),
                ("auth", Value::String("shared_key".into())),
            ]),
            &key_env(),
            "frankenetes",
        )
        .unwrap();
        assert_eq!(
            store.describe(),
            "https://acct.blob.core.windows.net/tfstate/frankenetes.json"
        );
        assert_eq!(store.names().lock, "frankenetes.json.lock");
        assert_eq!(store.lease_seconds, DEFAULT_LEASE_SECONDS);
    }

    #[test]
    fn backend_refuses_unknown_attributes_and_out_of_range_leases() {
        let base = [
            ("account", Value::String("acct".into())),
            ("container", Value::String("c".into())),
            ("auth", Value::String("shared_key".into())),
        ];
        let mut typo = values(&base);
        typo.insert("containr".into(), Value::String("c".into()));
        let error = BlobStore::from_backend(&typo, &key_env(), "m")
            .err()
            .unwrap();
        assert!(error.contains("did you mean `container`"), "{error}");

        let mut short = values(&base);
        short.insert("lease_seconds".into(), Value::Int(5));
        let error = BlobStore::from_backend(&short, &key_env(), "m")
            .err()
            .unwrap();
        assert!(error.contains("15 to 60"), "{error}");

        let missing = values(&base[1..]);
        let error = BlobStore::from_backend(&missing, &key_env(), "m")
            .err()
            .unwrap();
        assert!(error.contains("needs `account`"), "{error}");
    }
}
