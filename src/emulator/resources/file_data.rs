//! The Azure Files data plane for the shares the emulator knows, path-style
//! (`/<account>/<share>/<path>`, as Azurite serves storage), per the `filestorage` spec: Create
//! File (`x-ms-type: file`, `x-ms-content-length`), Put Range (`comp=range`, `x-ms-range`,
//! `x-ms-write: update`), Download, Delete, and List Files and Directories
//! (`restype=directory&comp=list`, XML). Every request must carry `x-ms-version`, `x-ms-date`
//! and a SharedKey signature made with one of the account's keys, or gets 403
//! `AuthenticationFailed`; a share that does not exist is 404 `ShareNotFound`, a file
//! `ResourceNotFound`.
//!
//! It also stands in for a sidecar that answers snapshot requests on a share (the
//! Frankenetes etcd backup's protocol, described by the container's environment, not by its
//! name): a container of a running group with `REQUEST_FILE` and `ANSWER_FILE` in its `env`
//! and a mount of the share answers a request holding a new id by writing
//! `snapshot-<UTC time>.db` (ending in its sha256, as etcd's are) and the answer
//! (`<id>\nok <snapshot>\n`), and removing the `start-empty` marker, as the real sidecar does
//! after taking, verifying and shipping a snapshot. A stopped group answers nothing.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine as _;
use serde_json::Value;

use super::storage_accounts::account_keys;
use crate::clock::rfc3339;
use crate::world::GroupPhase;
use crate::world::{FileRecord, InitFailure, World};
use fk_shared_key::{SignedRequest, authorization};
use sha2::{Digest, Sha256};

/// What the data plane answers: a status, headers and raw bytes.
pub(crate) struct FileAnswer {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl FileAnswer {
    fn error(status: StatusCode, code: &str, message: &str) -> FileAnswer {
        FileAnswer {
            status,
            headers: vec![
                ("content-type", "application/xml".into()),
                ("x-ms-error-code", code.into()),
            ],
            body: format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code>\
                 <Message>{message}</Message></Error>"
            )
            .into_bytes(),
        }
    }

    fn empty(status: StatusCode) -> FileAnswer {
        FileAnswer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }
}

/// Whether a request is for the file data plane: no bearer token, an `x-ms-version`, and a
/// first path segment naming a storage account the emulator holds.
pub(crate) fn is_file_request(world: &World, headers: &HeaderMap, path: &str) -> bool {
    let account = path.trim_start_matches('/').split('/').next().unwrap_or("");
    headers.contains_key("x-ms-version")
        && !header(headers, "authorization").starts_with("Bearer ")
        && world
            .storage_accounts
            .contains_key(&account.to_ascii_lowercase())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle(
    world: &mut World,
    now_ms: u64,
    delay_ms: u64,
    base_url: &str,
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> FileAnswer {
    let Ok(url) = url::Url::parse(&format!("{base_url}{path_and_query}")) else {
        return FileAnswer::error(StatusCode::BAD_REQUEST, "InvalidUri", "bad request URI");
    };
    let segments: Vec<String> = url
        .path_segments()
        .map(|segments| segments.map(str::to_owned).collect())
        .unwrap_or_default();
    let account = segments.first().cloned().unwrap_or_default();
    let Some(record) = world.storage_accounts.get(&account.to_ascii_lowercase()) else {
        return FileAnswer::error(StatusCode::NOT_FOUND, "ResourceNotFound", "no such account");
    };
    if let Some(refusal) = check_signature(
        &account,
        &account_keys(record),
        method,
        &url,
        headers,
        body.len(),
    ) {
        return refusal;
    }
    let Some(share) = segments.get(1).filter(|share| !share.is_empty()).cloned() else {
        return FileAnswer::error(
            StatusCode::BAD_REQUEST,
            "InvalidUri",
            "no share in the path",
        );
    };
    let share_known = world
        .file_shares
        .values()
        .any(|record| record.account_key == account.to_ascii_lowercase() && record.name == share);
    if !share_known {
        return FileAnswer::error(
            StatusCode::NOT_FOUND,
            "ShareNotFound",
            "The specified share does not exist.",
        );
    }
    let file_path = segments[2..].join("/");
    let query: BTreeMap<String, String> = url
        .query_pairs()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.into_owned()))
        .collect();
    let key = file_key(&account, &share, &file_path);
    let is_list = query.get("restype").map(String::as_str) == Some("directory")
        && query.get("comp").map(String::as_str) == Some("list");
    match *method {
        Method::GET if is_list => list(world, &account, &share, &file_path, base_url),
        Method::GET => match world.files.get(&key) {
            Some(file) => FileAnswer {
                status: StatusCode::OK,
                headers: vec![
                    ("content-type", "application/octet-stream".into()),
                    ("last-modified", http_date(file.last_modified_ms)),
                ],
                body: file.content.clone(),
            },
            None => not_found(),
        },
        Method::DELETE => match world.files.remove(&key) {
            Some(_) => FileAnswer::empty(StatusCode::ACCEPTED),
            None => not_found(),
        },
        Method::PUT if query.get("comp").map(String::as_str) == Some("range") => put_range(
            world,
            now_ms,
            delay_ms,
            &key,
            (&account, &share, &file_path),
            headers,
            body,
        ),
        Method::PUT if header(headers, "x-ms-type") == "file" => {
            let Ok(length) = header(headers, "x-ms-content-length").parse::<usize>() else {
                return FileAnswer::error(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredHeader",
                    "x-ms-content-length is required",
                );
            };
            world.files.insert(
                key,
                FileRecord {
                    content: vec![0; length],
                    last_modified_ms: now_ms,
                },
            );
            FileAnswer::empty(StatusCode::CREATED)
        }
        _ => FileAnswer::error(
            StatusCode::BAD_REQUEST,
            "UnsupportedHttpVerb",
            "the emulator serves create, put range, get, delete and list",
        ),
    }
}

fn not_found() -> FileAnswer {
    FileAnswer::error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The specified resource does not exist.",
    )
}

fn file_key(account: &str, share: &str, path: &str) -> String {
    format!("{}/{share}/{path}", account.to_ascii_lowercase())
}

/// 403 unless the request is signed with one of the account's keys.
fn check_signature(
    account: &str,
    keys: &[String],
    method: &Method,
    url: &url::Url,
    headers: &HeaderMap,
    content_length: usize,
) -> Option<FileAnswer> {
    let given = header(headers, "authorization");
    let signed_headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .filter(|(name, _)| name != "content-length")
        .collect();
    let request = SignedRequest {
        method: method.as_str(),
        url,
        headers: &signed_headers,
        content_length,
    };
    let matches = keys.iter().any(|key| {
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|key| authorization(account, &key, &request) == given)
    });
    (!matches || header(headers, "x-ms-date").is_empty()).then(|| {
        FileAnswer::error(
            StatusCode::FORBIDDEN,
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization \
             header is formed correctly including the signature.",
        )
    })
}

fn put_range(
    world: &mut World,
    now_ms: u64,
    delay_ms: u64,
    key: &str,
    (account, share, file_path): (&str, &str, &str),
    headers: &HeaderMap,
    body: &[u8],
) -> FileAnswer {
    let range = header(headers, "x-ms-range");
    let bounds = range
        .strip_prefix("bytes=")
        .and_then(|bounds| bounds.split_once('-'))
        .and_then(|(start, end)| Some((start.parse::<usize>().ok()?, end.parse::<usize>().ok()?)));
    let Some((start, end)) =
        bounds.filter(|(start, end)| end >= start && end - start + 1 == body.len())
    else {
        return FileAnswer::error(
            StatusCode::BAD_REQUEST,
            "InvalidHeaderValue",
            "x-ms-range must be bytes=<start>-<end> matching the body's length",
        );
    };
    let Some(file) = world.files.get_mut(key) else {
        return not_found();
    };
    if end >= file.content.len() {
        return FileAnswer::error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The range specified is invalid for the current size of the resource.",
        );
    }
    file.content[start..=end].copy_from_slice(body);
    file.last_modified_ms = now_ms;
    answer_snapshot_request(world, now_ms, delay_ms, account, share, file_path);
    FileAnswer::empty(StatusCode::CREATED)
}

/// `content` followed by its sha256, as `etcdctl snapshot save` leaves a snapshot (etcd
/// v3.5.1 `server/etcdserver/api/snap` and `etcdutl/snapshot/v3_snapshot.go`: restore reads
/// the last 32 bytes as the sha256 of everything before them).
pub(crate) fn with_sha256_trailer(mut content: Vec<u8>) -> Vec<u8> {
    let digest = Sha256::digest(&content);
    content.extend_from_slice(&digest);
    content
}

/// Why a snapshot fails the check `etcdutl snapshot restore` makes, or `None` when it passes.
fn trailer_problem(content: &[u8]) -> Option<String> {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    if content.len() < 32 {
        return Some(format!(
            "Error: snapshot file is {} bytes, too short for its sha256",
            content.len()
        ));
    }
    let (data, trailer) = content.split_at(content.len() - 32);
    let digest = Sha256::digest(data);
    (digest.as_slice() != trailer).then(|| {
        format!(
            "Error: expected sha256 {}, got {}",
            hex(trailer),
            hex(digest.as_slice())
        )
    })
}

/// What a run of the group's init containers does, as far as the emulator models them: an
/// init container with `SNAPSHOT_DIR` in its environment and a mount of an Azure Files share
/// at that path runs the Frankenetes restore (`modules/frankenetes/etcd-restore.sh`, keyed on
/// that shape, not on a name). It tries the share's `snapshot-<UTC>.db` files newest first,
/// checks each one's sha256 trailer, logs what it skipped and what it restored, and exits 1
/// when snapshots exist but none verifies and no `START_EMPTY_MARKER` file (default
/// `start-empty`) is on the share. The emptyDir that would hold a restored member does not
/// survive a (re)deploy or a start on ACI, so every run restores. Other init containers
/// succeed. Returns each init container's log lines and the first failure; init containers
/// after a failing one never run.
pub(crate) fn run_init_containers(
    world: &World,
    body: &Value,
) -> (BTreeMap<String, Vec<String>>, Option<InitFailure>) {
    let mut logs = BTreeMap::new();
    let Some(properties) = body.get("properties") else {
        return (logs, None);
    };
    let init_containers = properties.get("initContainers").and_then(Value::as_array);
    for init_container in init_containers.into_iter().flatten() {
        let name = init_container["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let container = &init_container["properties"];
        let env = environment(container);
        let Some(share) = env
            .get("SNAPSHOT_DIR")
            .and_then(|dir| mounted_share(properties, container, dir))
        else {
            continue;
        };
        let (lines, exit_code) = restore(world, &share, &env);
        logs.insert(name.clone(), lines);
        if exit_code != 0 {
            let failure = InitFailure {
                container: name,
                exit_code,
            };
            return (logs, Some(failure));
        }
    }
    (logs, None)
}

/// The `(account, share)` of the Azure Files volume `container` mounts at `path`.
fn mounted_share(properties: &Value, container: &Value, path: &str) -> Option<(String, String)> {
    let path = path.trim_end_matches('/');
    let volume_name = container["volumeMounts"]
        .as_array()?
        .iter()
        .find(|mount| mount["mountPath"].as_str().map(|p| p.trim_end_matches('/')) == Some(path))?
        .get("name")?
        .as_str()?;
    let volume = properties["volumes"]
        .as_array()?
        .iter()
        .find(|volume| volume["name"].as_str() == Some(volume_name))?;
    let file = volume.get("azureFile")?;
    Some((
        file["storageAccountName"].as_str()?.to_ascii_lowercase(),
        file["shareName"].as_str()?.to_owned(),
    ))
}

/// The restore script's decisions and log lines over the share's files (see
/// [`run_init_containers`]); the lines are the script's own.
fn restore(
    world: &World,
    (account, share): &(String, String),
    env: &BTreeMap<String, String>,
) -> (Vec<String>, i32) {
    let prefix = file_key(account, share, "");
    let mut names: Vec<(&str, &[u8])> = world
        .files
        .range(prefix.clone()..)
        .map_while(|(key, file)| Some((key.strip_prefix(&prefix)?, file.content.as_slice())))
        .filter(|(name, _)| is_snapshot_name(name))
        .collect();
    names.sort_by(|left, right| right.0.cmp(left.0));
    let mut lines = Vec::new();
    let mut skipped = Vec::new();
    for (name, content) in names {
        match trailer_problem(content) {
            None => {
                lines.push(format!("etcd-restore: restored {name}"));
                return (lines, 0);
            }
            Some(reason) => {
                lines.push(format!("etcd-restore: skipped {name}: {reason}"));
                skipped.push(format!(" {name}"));
            }
        }
    }
    if skipped.is_empty() {
        lines.push("etcd-restore: no snapshot on the share; etcd starts a new cluster".into());
        return (lines, 0);
    }
    let skipped = skipped.concat();
    let marker = env
        .get("START_EMPTY_MARKER")
        .map_or("start-empty", String::as_str);
    if world.files.contains_key(&file_key(account, share, marker)) {
        lines.push(format!(
            "etcd-restore: no snapshot restores (skipped:{skipped}) and {marker} is on the \
             share: etcd starts a NEW, EMPTY cluster"
        ));
        return (lines, 0);
    }
    lines.push(format!(
        "etcd-restore: the share holds snapshots but none restores (skipped:{skipped}); \
         refusing to start an empty cluster over them. To start empty anyway, put a file \
         named {marker} on the share"
    ));
    (lines, 1)
}

/// `snapshot-YYYYMMDDTHHMMSSZ.db`, the names the sidecar ships and the restore considers.
fn is_snapshot_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("snapshot-")
        .and_then(|rest| rest.strip_suffix("Z.db"))
    else {
        return false;
    };
    let bytes = stamp.as_bytes();
    bytes.len() == 15
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 8 {
                *b == b'T'
            } else {
                b.is_ascii_digit()
            }
        })
}

/// The emulated backup sidecar (see the module docs).
fn answer_snapshot_request(
    world: &mut World,
    now_ms: u64,
    delay_ms: u64,
    account: &str,
    share: &str,
    file_path: &str,
) {
    let answer_name = world.container_groups.values().find_map(|group| {
        if GroupPhase::of(group, now_ms, delay_ms) != GroupPhase::Succeeded
            || group.init_failure.is_some()
        {
            return None;
        }
        let properties = group.body.get("properties")?;
        let mounted: Vec<&str> = properties
            .get("volumes")?
            .as_array()?
            .iter()
            .filter(|volume| {
                let file = &volume["azureFile"];
                file["shareName"].as_str() == Some(share)
                    && file["storageAccountName"]
                        .as_str()
                        .is_some_and(|name| name.eq_ignore_ascii_case(account))
            })
            .filter_map(|volume| volume["name"].as_str())
            .collect();
        properties
            .get("containers")?
            .as_array()?
            .iter()
            .find_map(|container| {
                let container = &container["properties"];
                let env = environment(container);
                let mounts_share = container["volumeMounts"].as_array()?.iter().any(|mount| {
                    mount["name"]
                        .as_str()
                        .is_some_and(|name| mounted.contains(&name))
                });
                let marker = env
                    .get("START_EMPTY_MARKER")
                    .cloned()
                    .unwrap_or_else(|| "start-empty".into());
                (mounts_share && env.get("REQUEST_FILE").map(String::as_str) == Some(file_path))
                    .then(|| Some((env.get("ANSWER_FILE").cloned()?, marker)))
                    .flatten()
            })
    });
    let Some((answer_name, start_empty_marker)) = answer_name else {
        return;
    };
    let request_key = file_key(account, share, file_path);
    let request_id = world
        .files
        .get(&request_key)
        .map(|file| String::from_utf8_lossy(&file.content).trim().to_owned())
        .unwrap_or_default();
    let valid = !request_id.is_empty()
        && request_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let answer_key = file_key(account, share, &answer_name);
    let answered = world.files.get(&answer_key).is_some_and(|file| {
        String::from_utf8_lossy(&file.content).lines().next() == Some(&request_id)
    });
    if !valid || answered {
        return;
    }
    let stamp = rfc3339(now_ms)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect::<String>();
    let snapshot = format!("snapshot-{}T{}Z.db", &stamp[..8], &stamp[9..15]);
    world.files.insert(
        file_key(account, share, &snapshot),
        FileRecord {
            content: with_sha256_trailer(
                format!("emulated etcd snapshot for request {request_id}\n").into_bytes(),
            ),
            last_modified_ms: now_ms,
        },
    );
    // As the sidecar does once a snapshot is shipped: a new cluster no longer needs leave to
    // start empty.
    world
        .files
        .remove(&file_key(account, share, &start_empty_marker));
    world.files.insert(
        answer_key,
        FileRecord {
            content: format!("{request_id}\nok {snapshot}\n").into_bytes(),
            last_modified_ms: now_ms,
        },
    );
}

fn environment(container: &Value) -> BTreeMap<String, String> {
    container["environmentVariables"]
        .as_array()
        .map(|variables| {
            variables
                .iter()
                .filter_map(|variable| {
                    Some((
                        variable["name"].as_str()?.to_owned(),
                        variable["value"].as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn list(world: &World, account: &str, share: &str, directory: &str, base_url: &str) -> FileAnswer {
    let prefix = file_key(account, share, directory);
    let prefix = if directory.is_empty() {
        prefix
    } else {
        format!("{prefix}/")
    };
    let mut entries = String::new();
    for (key, file) in world.files.range(prefix.clone()..) {
        let Some(name) = key.strip_prefix(&prefix) else {
            break;
        };
        if name.contains('/') {
            continue;
        }
        entries.push_str(&format!(
            "<File><Name>{}</Name><Properties><Content-Length>{}</Content-Length>\
             <Last-Modified>{}</Last-Modified></Properties></File>",
            escape(name),
            file.content.len(),
            http_date(file.last_modified_ms)
        ));
    }
    FileAnswer {
        status: StatusCode::OK,
        headers: vec![("content-type", "application/xml".into())],
        body: format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults \
             ServiceEndpoint=\"{base_url}/{account}/\" ShareName=\"{share}\" \
             DirectoryPath=\"{}\"><Prefix /><Entries>{entries}</Entries><NextMarker />\
             </EnumerationResults>",
            escape(directory)
        )
        .into_bytes(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn http_date(ms: u64) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    i64::try_from(ms / 1000)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .and_then(|moment| moment.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod restore_tests {
    use super::{FileRecord, World, file_key, run_init_containers, with_sha256_trailer};
    use serde_json::{Value, json};

    /// A group shaped like the Frankenetes etcd group: a `tools` init container without
    /// `SNAPSHOT_DIR`, then one (named anything) with `SNAPSHOT_DIR` mounted from a share.
    fn group(extra_env: &[(&str, &str)]) -> Value {
        let mut env = vec![json!({ "name": "SNAPSHOT_DIR", "value": "/snapshots" })];
        env.extend(
            extra_env
                .iter()
                .map(|(name, value)| json!({ "name": name, "value": value })),
        );
        json!({ "properties": {
            "initContainers": [
                { "name": "tools", "properties": { "image": "busybox" } },
                { "name": "first", "properties": {
                    "image": "etcd",
                    "environmentVariables": env,
                    "volumeMounts": [{ "name": "snaps", "mountPath": "/snapshots/" }],
                } },
            ],
            "volumes": [{ "name": "snaps", "azureFile": {
                "shareName": "share", "storageAccountName": "Acct",
            } }],
        } })
    }

    fn put(world: &mut World, name: &str, content: Vec<u8>) {
        world.files.insert(
            file_key("acct", "share", name),
            FileRecord {
                content,
                last_modified_ms: 0,
            },
        );
    }

    #[test]
    fn the_newest_snapshot_whose_trailer_verifies_is_restored_past_damaged_ones() {
        let mut world = World::default();
        put(
            &mut world,
            "snapshot-20260101T000000Z.db",
            with_sha256_trailer(b"old".to_vec()),
        );
        let mut damaged = with_sha256_trailer(b"new".to_vec());
        damaged[1] ^= 1;
        put(&mut world, "snapshot-20260102T000000Z.db", damaged);
        put(
            &mut world,
            "snapshot-20260103T000000Z.db.tmp",
            b"partial".to_vec(),
        );
        put(
            &mut world,
            "snapshot-20260104T000000Z.db",
            b"short".to_vec(),
        );
        let (logs, failure) = run_init_containers(&world, &group(&[]));
        assert_eq!(failure, None);
        let lines = &logs["first"];
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].starts_with(
            "etcd-restore: skipped snapshot-20260104T000000Z.db: Error: snapshot file is 5 bytes"
        ));
        assert!(lines[1].starts_with(
            "etcd-restore: skipped snapshot-20260102T000000Z.db: Error: expected sha256 "
        ));
        assert_eq!(
            lines[2],
            "etcd-restore: restored snapshot-20260101T000000Z.db"
        );
        assert!(!logs.contains_key("tools"));
    }

    #[test]
    fn nothing_verifying_fails_the_init_container_unless_the_start_empty_marker_is_there() {
        let mut world = World::default();
        put(
            &mut world,
            "snapshot-20260101T000000Z.db",
            b"no trailer at all, 33 bytes long!".to_vec(),
        );
        let (logs, failure) = run_init_containers(&world, &group(&[]));
        let failure = failure.expect("the restore fails");
        assert_eq!(
            (failure.container.as_str(), failure.exit_code),
            ("first", 1)
        );
        assert!(logs["first"][1].contains("refusing to start an empty cluster"));

        put(&mut world, "go-empty", Vec::new());
        let (_, failure) = run_init_containers(&world, &group(&[]));
        assert!(failure.is_some(), "the default marker is start-empty");
        let (logs, failure) =
            run_init_containers(&world, &group(&[("START_EMPTY_MARKER", "go-empty")]));
        assert_eq!(failure, None);
        assert!(logs["first"][1].ends_with("etcd starts a NEW, EMPTY cluster"));
    }

    #[test]
    fn an_empty_share_starts_a_new_cluster_and_an_unmounted_snapshot_dir_is_not_a_restore() {
        let world = World::default();
        let (logs, failure) = run_init_containers(&world, &group(&[]));
        assert_eq!(failure, None);
        assert_eq!(
            logs["first"],
            vec!["etcd-restore: no snapshot on the share; etcd starts a new cluster"]
        );
        let mut elsewhere = group(&[]);
        elsewhere["properties"]["initContainers"][1]["properties"]["volumeMounts"][0]["mountPath"] =
            json!("/other");
        assert!(run_init_containers(&world, &elsewhere).0.is_empty());
    }
}
