//! A container group's `before_stop` handshake: before fk stops or deletes a running group
//! (`fk stop`, `fk destroy`, an apply that replaces it), it writes a request file holding a
//! fresh id on an Azure Files share the group mounts and waits, bounded, for the group to
//! answer in another file on that share: the id on the first line, then `ok <file>` (a file
//! now on the share, which fk checks is there and not empty) or `failed <why>`.
//!
//! ```toml
//! before_stop = { volume = "snapshots", request = "snapshot-request", answer = "snapshot-answer", timeout_seconds = 300 }
//! ```
//!
//! Why files on the share rather than SIGTERM or ACI's exec API: ACI documents no SIGTERM or
//! grace period on stop, and exec is an interactive websocket that needs the container's
//! shell; the share is already mounted read-write by the container that must answer, and fk
//! holds its key (the group's own volume declaration), so nothing else is needed. The
//! attribute is fk's alone: it is never sent to ARM.

use std::time::Duration;

use super::cloud::{CloudName, CloudProfile};
use super::files::{FileEntry, FilesClient, FilesError};
use crate::provider::{OpContext, ProviderError};
use crate::value::Value;

const DEFAULT_TIMEOUT_SECONDS: u64 = 300;

/// The `before_stop` setting of a group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BeforeStop {
    pub(crate) volume: String,
    pub(crate) request: String,
    pub(crate) answer: String,
    pub(crate) timeout: Duration,
}

impl BeforeStop {
    /// The group's setting, if it has one.
    pub(crate) fn of(group: &Value) -> Option<BeforeStop> {
        let hook = group.get("before_stop").filter(|hook| !hook.is_null())?;
        let text = |name: &str| hook.get(name)?.unmarked().as_str().map(str::to_owned);
        let seconds = hook
            .get("timeout_seconds")
            .and_then(|seconds| seconds.unmarked().as_f64())
            .map_or(DEFAULT_TIMEOUT_SECONDS, |seconds| seconds.max(1.0) as u64);
        Some(BeforeStop {
            volume: text("volume")?,
            request: text("request")?,
            answer: text("answer")?,
            timeout: Duration::from_secs(seconds),
        })
    }
}

/// The file endpoint of `account`: the cloud's, or path-style on a local ARM.
pub(crate) fn file_endpoint(cloud: &CloudProfile, account: &str) -> String {
    match cloud.name {
        CloudName::Public => format!("https://{account}.file.core.windows.net"),
        CloudName::China => format!("https://{account}.file.core.chinacloudapi.cn"),
        CloudName::UsGovernment => format!("https://{account}.file.core.usgovcloudapi.net"),
        CloudName::Custom => format!("{}/{account}", cloud.management_url),
    }
}

fn failure(ctx: &OpContext, code: &'static str, message: String) -> ProviderError {
    ProviderError::new(code, format!("`{}`: before stop: {message}", ctx.address)).with_detail(
        "to go on without it, run again with --skip-before-stop (whatever was written since \
         the group's last snapshot may be lost)",
    )
}

/// Runs the handshake for `group` (its refreshed state) if it declares one and is running;
/// `skip` (the user's `--skip-before-stop`) only reports that it was skipped.
pub(crate) async fn run(
    ctx: &OpContext,
    cloud: &CloudProfile,
    group: &Value,
    poll: Duration,
    skip: bool,
) -> Result<(), ProviderError> {
    let Some(hook) = BeforeStop::of(group) else {
        return Ok(());
    };
    let state = group
        .get("state")
        .and_then(|state| state.unmarked().as_str())
        .unwrap_or("");
    if state != "Running" {
        ctx.report(&format!(
            "before stop: the group is {state:?}, not running; nothing to ask"
        ));
        return Ok(());
    }
    if skip {
        ctx.report("before stop: skipped (--skip-before-stop)");
        return Ok(());
    }
    let Some((share, account, key)) = share_of(group, &hook) else {
        return Err(failure(
            ctx,
            "fk::azure::before_stop",
            format!(
                "no Azure Files volume `{}` with its account key",
                hook.volume
            ),
        ));
    };
    let files = FilesClient::new(&file_endpoint(cloud, &account), &account, &key)
        .map_err(|error| failure(ctx, "fk::azure::before_stop", error.to_string()))?;
    let request_id = uuid::Uuid::new_v4().to_string();
    files
        .put(&share, &hook.request, request_id.as_bytes())
        .await
        .map_err(|error| failure(ctx, "fk::azure::before_stop", error.to_string()))?;
    ctx.report(&format!(
        "before stop: asked for `{}` on share `{share}`; waiting up to {}s",
        hook.request,
        hook.timeout.as_secs()
    ));
    let deadline = tokio::time::Instant::now() + hook.timeout;
    loop {
        let answer = files
            .get(&share, &hook.answer)
            .await
            .map_err(|error| failure(ctx, "fk::azure::before_stop", error.to_string()))?;
        let text = answer.map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        let mut lines = text.as_deref().unwrap_or("").lines();
        if lines.next() == Some(request_id.as_str()) {
            let result = lines.next().unwrap_or("");
            let _ = files.delete(&share, &hook.request).await;
            return match result.strip_prefix("ok ") {
                Some(name) => check_answer(ctx, &files, &share, name.trim()).await,
                None => Err(failure(
                    ctx,
                    "fk::azure::before_stop_failed",
                    format!(
                        "the group answered `{}`",
                        result.strip_prefix("failed ").unwrap_or(result)
                    ),
                )),
            };
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = files.delete(&share, &hook.request).await;
            return Err(failure(
                ctx,
                "fk::azure::before_stop_timeout",
                format!(
                    "no answer in `{}` on share `{share}` within {}s",
                    hook.answer,
                    hook.timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(poll).await;
    }
}

/// The share, account and key of the Azure Files volume the hook names.
fn share_of(group: &Value, hook: &BeforeStop) -> Option<(String, String, String)> {
    let volume = group
        .get("volumes")
        .and_then(Value::as_list)
        .into_iter()
        .flatten()
        .find(|volume| {
            volume.get("name").and_then(|name| name.unmarked().as_str()) == Some(&hook.volume)
        })
        .and_then(|volume| volume.get("azure_file"))
        .filter(|file| !file.is_null())?;
    let field = |name: &str| {
        volume
            .get(name)
            .and_then(|value| value.unmarked().as_str())
            .map(str::to_owned)
    };
    Some((
        field("share_name")?,
        field("storage_account_name")?,
        field("storage_account_key")?,
    ))
}

/// What a group with a `before_stop` hook last shipped to its share: the newest non-empty
/// file that is neither the hook's request nor its answer nor an unfinished `.tmp` copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Shipped {
    pub(crate) share: String,
    /// `None` when the share holds no such file.
    pub(crate) newest: Option<FileEntry>,
}

/// Reads the share of `group`'s `before_stop` volume (for `fk status`); `Ok(None)` when the
/// group declares no hook or no usable volume.
pub(crate) async fn newest_shipped(
    cloud: &CloudProfile,
    group: &Value,
) -> Result<Option<Shipped>, FilesError> {
    let Some(hook) = BeforeStop::of(group) else {
        return Ok(None);
    };
    let Some((share, account, key)) = share_of(group, &hook) else {
        return Ok(None);
    };
    let files = FilesClient::new(&file_endpoint(cloud, &account), &account, &key)?;
    let listing = files.list(&share, "").await?;
    let newest = newest_of(listing, &hook);
    Ok(Some(Shipped { share, newest }))
}

/// The newest shipped file of a listing: by `Last-Modified`, then by name (snapshots are
/// named by time), so a listing without times still picks the latest name.
fn newest_of(listing: Vec<FileEntry>, hook: &BeforeStop) -> Option<FileEntry> {
    listing
        .into_iter()
        .filter(|entry| {
            entry.size > 0
                && entry.name != hook.request
                && entry.name != hook.answer
                && !entry.name.ends_with(".tmp")
        })
        .max_by(|a, b| {
            let when = |entry: &FileEntry| entry.last_modified.as_deref().and_then(http_date);
            when(a).cmp(&when(b)).then_with(|| a.name.cmp(&b.name))
        })
}

/// An HTTP date (`Wed, 02 Dec 2026 07:00:00 GMT`, RFC 9110 IMF-fixdate) as a time.
pub(crate) fn http_date(text: &str) -> Option<time::OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

/// The file the answer names is on the share and not empty.
async fn check_answer(
    ctx: &OpContext,
    files: &FilesClient,
    share: &str,
    name: &str,
) -> Result<(), ProviderError> {
    let listing = files
        .list(share, "")
        .await
        .map_err(|error| failure(ctx, "fk::azure::before_stop", error.to_string()))?;
    match listing.iter().find(|entry| entry.name == name) {
        Some(entry) if entry.size > 0 => {
            ctx.report(&format!(
                "before stop: `{name}` ({} bytes) is on share `{share}`",
                entry.size
            ));
            Ok(())
        }
        _ => Err(failure(
            ctx,
            "fk::azure::before_stop_failed",
            format!("the answer names `{name}`, which is not on share `{share}` (or is empty)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_setting_with_a_default_timeout_and_ignores_a_group_without_one() {
        let group = Value::Map(
            [(
                "before_stop".to_owned(),
                Value::Map(
                    [
                        ("volume".to_owned(), Value::str("snapshots")),
                        ("request".to_owned(), Value::str("req")),
                        ("answer".to_owned(), Value::str("ans")),
                    ]
                    .into_iter()
                    .collect(),
                ),
            )]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            BeforeStop::of(&group),
            Some(BeforeStop {
                volume: "snapshots".into(),
                request: "req".into(),
                answer: "ans".into(),
                timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
            })
        );
        assert_eq!(BeforeStop::of(&Value::Map(Default::default())), None);
    }

    #[test]
    fn the_file_endpoint_follows_the_cloud_and_is_path_style_on_a_local_arm() {
        assert_eq!(
            file_endpoint(&CloudProfile::public(), "acct"),
            "https://acct.file.core.windows.net"
        );
        assert_eq!(
            file_endpoint(&CloudProfile::custom("http://127.0.0.1:8787"), "acct"),
            "http://127.0.0.1:8787/acct"
        );
    }

    #[test]
    fn the_newest_shipped_file_skips_the_handshake_files_unfinished_copies_and_empty_markers() {
        let hook = BeforeStop {
            volume: "snapshots".into(),
            request: "req".into(),
            answer: "ans".into(),
            timeout: Duration::from_secs(1),
        };
        let entry = |name: &str, size: u64, at: Option<&str>| FileEntry {
            name: name.into(),
            size,
            last_modified: at.map(str::to_owned),
        };
        let listing = vec![
            entry(
                "snapshot-20261202T070000Z.db",
                10,
                Some("Wed, 02 Dec 2026 07:00:00 GMT"),
            ),
            entry(
                "snapshot-20261202T060000Z.db",
                10,
                Some("Wed, 02 Dec 2026 06:00:00 GMT"),
            ),
            entry(
                "snapshot-20261202T080000Z.db.tmp",
                5,
                Some("Wed, 02 Dec 2026 08:00:00 GMT"),
            ),
            entry("req", 36, Some("Wed, 02 Dec 2026 09:00:00 GMT")),
            entry("ans", 40, Some("Wed, 02 Dec 2026 09:00:01 GMT")),
            entry("start-empty", 0, Some("Wed, 02 Dec 2026 09:00:02 GMT")),
        ];
        let newest = newest_of(listing.clone(), &hook).map(|entry| entry.name);
        assert_eq!(newest.as_deref(), Some("snapshot-20261202T070000Z.db"));
        // Without times the name decides (snapshots are named by time).
        let untimed = listing
            .into_iter()
            .map(|entry| FileEntry {
                last_modified: None,
                ..entry
            })
            .collect();
        let newest = newest_of(untimed, &hook).map(|entry| entry.name);
        assert_eq!(newest.as_deref(), Some("snapshot-20261202T070000Z.db"));
        assert_eq!(newest_of(Vec::new(), &hook), None);
    }

    #[test]
    fn http_dates_parse_as_utc() {
        let at = http_date("Wed, 02 Dec 2026 07:00:05 GMT").map(|at| at.unix_timestamp());
        assert_eq!(at, Some(1_796_194_805));
        assert_eq!(http_date("2026-12-02T07:00:05Z"), None);
    }
}
