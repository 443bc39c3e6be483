//! One module per resource type the emulator serves. A resource module answers its routes
//! against the world, may use the resource it lives in (a share its storage account, a
//! container group its resource group and the keys of the accounts it mounts) and the
//! long-running operations below it; it never uses the router or the server.

pub(crate) mod container_groups;
pub(crate) mod file_data;
pub(crate) mod file_shares;
pub(crate) mod identities;
pub(crate) mod providers;
pub(crate) mod resource_groups;
pub(crate) mod role_assignments;
pub(crate) mod storage_accounts;
