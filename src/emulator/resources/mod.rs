//! One module per resource type the emulator serves. A resource module answers its routes
//! against the world and may use the long-running operations below it and the resources it
//! builds on, in this order: `resource_groups`, `identities`, `providers` ← `storage_accounts`
//! ← `file_shares`, `file_data` (the Files data plane), `role_assignments` (an identity's
//! tenant) ← `container_groups` (its resource group, the keys and files of the shares it
//! mounts). It never uses the router or the server (`layers.rs` checks it).

pub(crate) mod container_groups;
pub(crate) mod file_data;
pub(crate) mod file_shares;
pub(crate) mod identities;
pub(crate) mod providers;
pub(crate) mod resource_groups;
pub(crate) mod role_assignments;
pub(crate) mod storage_accounts;
