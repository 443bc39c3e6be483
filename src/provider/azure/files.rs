//! The Azure Files data plane (REST, `filestorage` service version [`FILES_VERSION`]), signed
//! with the storage account key (SharedKey, the same canonicalization as the Blob service):
//! list a directory with sizes and times, get, put and delete a file. Used for a container
//! group's `before_stop` handshake and for reading what is on a share.
//!
//! A real account is `https://<account>.file.<storage suffix>`; a local ARM (the emulator)
//! serves the data plane path-style at `<endpoint>/<account>` (as Azurite does), where the
//! account name is also the first path segment of the signed resource.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, Url};

use crate::state::blob::shared_key::{SignedRequest, authorization};

/// The `x-ms-version` fk speaks.
pub(crate) const FILES_VERSION: &str = "2027-03-07";

/// The largest range one Put Range may write (4 MiB).
const MAX_RANGE: usize = 4 * 1024 * 1024;

/// A file in a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    /// `Last-Modified` as the service gives it (RFC 1123), when it does.
    pub last_modified: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("azure files: cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("azure files: {method} {path} answered {status}: {message}")]
    Refused {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("azure files: the account key is not valid base64")]
    BadKey,
}

/// One storage account's file service, with its key.
#[derive(Clone)]
pub struct FilesClient {
    http: reqwest::Client,
    /// Without a trailing slash: `https://acct.file.core.windows.net` or
    /// `http://127.0.0.1:8080/acct`.
    base_url: String,
    account: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for FilesClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesClient")
            .field("base_url", &self.base_url)
            .field("account", &self.account)
            .field("key", &"(sensitive value)")
            .finish()
    }
}

impl FilesClient {
    /// `base_url` is the account's file endpoint; `key` the account key as Azure gives it
    /// (base64).
    pub fn new(base_url: &str, account: &str, key: &str) -> Result<FilesClient, FilesError> {
        let key = STANDARD
            .decode(key.trim())
            .map_err(|_| FilesError::BadKey)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| FilesError::Unreachable {
                url: base_url.to_owned(),
                message: error.to_string(),
            })?;
        Ok(FilesClient {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            key,
        })
    }

    /// The files (not directories) in `directory` of `share` ("" for the root).
    pub async fn list(&self, share: &str, directory: &str) -> Result<Vec<FileEntry>, FilesError> {
        let path = join(share, directory);
        let body = self
            .send(
                Method::GET,
                &path,
                "restype=directory&comp=list&include=Timestamps",
                &[],
                Vec::new(),
            )
            .await?
            .unwrap_or_default();
        Ok(parse_listing(&String::from_utf8_lossy(&body)))
    }

    /// The file's bytes; `None` when it does not exist.
    pub async fn get(&self, share: &str, path: &str) -> Result<Option<Vec<u8>>, FilesError> {
        self.send(Method::GET, &join(share, path), "", &[], Vec::new())
            .await
    }

    /// Creates (or replaces) the file with `bytes`: Create File, then Put Range.
    pub async fn put(&self, share: &str, path: &str, bytes: &[u8]) -> Result<(), FilesError> {
        let full = join(share, path);
        let length = bytes.len().to_string();
        self.send(
            Method::PUT,
            &full,
            "",
            &[("x-ms-type", "file"), ("x-ms-content-length", &length)],
            Vec::new(),
        )
        .await?;
        for (index, chunk) in bytes.chunks(MAX_RANGE).enumerate() {
            let start = index * MAX_RANGE;
            let range = format!("bytes={start}-{}", start + chunk.len() - 1);
            self.send(
                Method::PUT,
                &full,
                "comp=range",
                &[("x-ms-range", &range), ("x-ms-write", "update")],
                chunk.to_vec(),
            )
            .await?;
        }
        Ok(())
    }

    /// Deletes the file; one that does not exist is not an error.
    pub async fn delete(&self, share: &str, path: &str) -> Result<(), FilesError> {
        self.send(Method::DELETE, &join(share, path), "", &[], Vec::new())
            .await
            .map(|_| ())
    }

    /// One signed request; `Ok(None)` when a GET or DELETE finds nothing (404).
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &str,
        extra_headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, FilesError> {
        let text = if query.is_empty() {
            format!("{}/{path}", self.base_url)
        } else {
            format!("{}/{path}?{query}", self.base_url)
        };
        let url = Url::parse(&text).map_err(|error| FilesError::Unreachable {
            url: text.clone(),
            message: error.to_string(),
        })?;
        let date = httpdate_now();
        let mut headers: Vec<(String, String)> = vec![
            ("x-ms-version".into(), FILES_VERSION.into()),
            ("x-ms-date".into(), date),
        ];
        for (name, value) in extra_headers {
            headers.push(((*name).to_owned(), (*value).to_owned()));
        }
        let signed = SignedRequest {
            method: method.as_str(),
            url: &url,
            headers: &headers,
            content_length: body.len(),
        };
        let auth = authorization(&self.account, &self.key, &signed);
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header("Authorization", auth)
            .header("Content-Length", body.len());
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let response =
            request
                .body(body)
                .send()
                .await
                .map_err(|error| FilesError::Unreachable {
                    url: url.to_string(),
                    message: error.to_string(),
                })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| FilesError::Unreachable {
                url: url.to_string(),
                message: error.to_string(),
            })?;
        // A missing file is an answer for a read or a delete; for a write it is a failure
        // (the share or the file is gone).
        if status == 404 && method != Method::PUT {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let text = String::from_utf8_lossy(&bytes);
            return Err(FilesError::Refused {
                method: method.to_string(),
                path: url.path().to_owned(),
                status,
                message: between(&text, "<Code>", "</Code>").unwrap_or("").to_owned(),
            });
        }
        Ok(Some(bytes.to_vec()))
    }
}

fn join(share: &str, path: &str) -> String {
    let path = path.trim_matches('/');
    if path.is_empty() {
        share.to_owned()
    } else {
        format!("{share}/{path}")
    }
}

fn httpdate_now() -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

/// The `<File>` entries of an `EnumerationResults` document.
fn parse_listing(xml: &str) -> Vec<FileEntry> {
    let mut entries = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<File>") {
        let Some(end) = rest[start..].find("</File>") else {
            break;
        };
        let item = &rest[start..start + end];
        if let Some(name) = between(item, "<Name>", "</Name>") {
            entries.push(FileEntry {
                name: unescape(name),
                size: between(item, "<Content-Length>", "</Content-Length>")
                    .and_then(|size| size.trim().parse().ok())
                    .unwrap_or(0),
                last_modified: between(item, "<Last-Modified>", "</Last-Modified>")
                    .map(str::to_owned),
            });
        }
        rest = &rest[start + end..];
    }
    entries
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_gives_each_file_with_its_size_and_time_and_skips_directories() {
        let xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults \
                   ServiceEndpoint=\"https://a.file.core.windows.net/\" ShareName=\"s\" \
                   DirectoryPath=\"\"><Prefix /><Entries><Directory><Name>d</Name>\
                   <Properties /></Directory><File><Name>snapshot-1.db</Name><Properties>\
                   <Content-Length>1024</Content-Length><Last-Modified>Wed, 02 Dec 2026 \
                   06:00:00 GMT</Last-Modified></Properties></File><File><Name>a&amp;b\
                   </Name><Properties><Content-Length>0</Content-Length></Properties>\
                   </File></Entries><NextMarker /></EnumerationResults>";
        assert_eq!(
            parse_listing(xml),
            vec![
                FileEntry {
                    name: "snapshot-1.db".into(),
                    size: 1024,
                    last_modified: Some("Wed, 02 Dec 2026 06:00:00 GMT".into()),
                },
                FileEntry {
                    name: "a&b".into(),
                    size: 0,
                    last_modified: None,
                },
            ]
        );
    }

    #[test]
    fn the_key_is_never_shown() {
        let client = FilesClient::new("http://127.0.0.1:1/acct", "acct", "c2VjcmV0").unwrap();
        assert!(!format!("{client:?}").contains("c2VjcmV0"));
        assert!(matches!(
            FilesClient::new("http://x", "acct", "not base64!"),
            Err(FilesError::BadKey)
        ));
    }
}
