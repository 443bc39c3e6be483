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
//! `snapshot-<UTC time>.db` and the answer (`<id>\nok <snapshot>\n`), as the real sidecar
//! does after taking, verifying and shipping a snapshot. A stopped group answers nothing.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine as _;
use serde_json::Value;

use super::container_group_view::GroupPhase;
use super::storage_accounts::account_keys;
use super::world::{FileRecord, World, rfc3339};
use crate::state::blob::shared_key::{SignedRequest, authorization};

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
    let Ok(url) = reqwest::Url::parse(&format!("{base_url}{path_and_query}")) else {
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
    url: &reqwest::Url,
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
        if GroupPhase::of(group, now_ms, delay_ms) != GroupPhase::Succeeded {
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
                (mounts_share && env.get("REQUEST_FILE").map(String::as_str) == Some(file_path))
                    .then(|| env.get("ANSWER_FILE").cloned())
                    .flatten()
            })
    });
    let Some(answer_name) = answer_name else {
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
            content: format!("emulated etcd snapshot for request {request_id}\n").into_bytes(),
            last_modified_ms: now_ms,
        },
    );
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
