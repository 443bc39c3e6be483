//! Refresh: read every object in state from its provider, adopt interrupted creates, and
//! report what changed outside fk. The only IO before the (pure) plan.

use futures::StreamExt;

use crate::addr::Address;
use crate::plan::Drift;
use crate::provider::{OpContext, ProviderError, Registry};
use crate::state::{ResourceStatus, State};
use crate::value::changed_paths;

/// The refreshed state and the drift found. Errors name the resource.
pub(crate) async fn refresh(
    state: &State,
    registry: &Registry,
    parallelism: usize,
) -> Result<(State, Vec<Drift>), Vec<ProviderError>> {
    let reads = state.resources.iter().filter_map(|(key, resource)| {
        let provider = registry.provider(&resource.resource_type)?.clone();
        let address = resource.address();
        let prior = resource.value();
        Some(async move {
            let ctx = OpContext::new(address.clone());
            let read = provider
                .read(&ctx, &resource.resource_type, &resource.id, &prior)
                .await;
            (key.clone(), address, read)
        })
    });
    let results: Vec<_> = futures::stream::iter(reads)
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await;

    let mut refreshed = state.clone();
    let mut drift = Vec::new();
    let mut errors = Vec::new();
    for (key, address, read) in results {
        let Some(record) = refreshed.resources.get_mut(&key) else {
            continue;
        };
        match read {
            Ok(Some(live)) => {
                let before = record.value();
                let was_pending = record.status == ResourceStatus::Pending;
                let mut updated =
                    crate::state::ResourceState::from_value(&address, &record.id, &live);
                updated.dependencies = record.dependencies.clone();
                updated.create_before_destroy = record.create_before_destroy;
                updated.status = if was_pending {
                    ResourceStatus::Ready
                } else {
                    record.status
                };
                updated.stopped = record.stopped;
                if !was_pending {
                    let paths = changed_paths(&before, &live);
                    if !paths.is_empty() {
                        drift.push(Drift {
                            address: address.clone(),
                            changed_paths: Some(paths),
                        });
                    }
                }
                *record = updated;
            }
            Ok(None) => {
                let was_ready = record.status == ResourceStatus::Ready;
                refreshed.resources.remove(&key);
                if was_ready {
                    drift.push(Drift {
                        address: address.clone(),
                        changed_paths: None,
                    });
                }
            }
            Err(err) => errors.push(err),
        }
    }
    drift.sort_by(|left, right| left.address.cmp(&right.address));
    if errors.is_empty() {
        Ok((refreshed, drift))
    } else {
        Err(errors)
    }
}

/// Addresses of objects whose create was interrupted (for messages).
pub(crate) fn pending(state: &State) -> Vec<Address> {
    state
        .resources
        .values()
        .filter(|resource| resource.status == ResourceStatus::Pending)
        .map(|resource| resource.address())
        .collect()
}
