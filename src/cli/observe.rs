//! `fk logs` and `fk status`: what ARM says about the applied container groups now, read
//! through the same provider that applies them. Nothing here changes anything.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::{Value as Json, json};

use super::args::{StateArgs, VarArgs};
use super::inspect::applied_state;
use super::{CliResult, EXIT_ERROR, EXIT_OK, workspace};
use crate::addr::Address;
use crate::diag::Diagnostics;
use crate::ops::{self, Checks, Context, Failure, OpsError, ProviderFlags};
use crate::provider::Provider;
use crate::provider::azure::container_group::TYPE as GROUP_TYPE;
use crate::provider::azure::container_group::state::health;
use crate::provider::azure::{AzureProvider, before_stop};
use crate::state::State;
use crate::value::Value;

/// How often `fk logs --follow` asks again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// Events shown per group by `fk status`.
const LAST_EVENTS: usize = 3;

#[derive(Args, Debug, Clone)]
pub(crate) struct LogsArgs {
    pub(crate) module: PathBuf,
    /// The component: a container group of the module (`etcd`, `apiserver`, ...)
    pub(crate) component: String,
    /// The container of the group (default: its first)
    #[arg(long, value_name = "NAME")]
    pub(crate) container: Option<String>,
    /// Only the last N lines
    #[arg(long, value_name = "N")]
    pub(crate) tail: Option<u32>,
    /// Keep printing new lines until Ctrl-C
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
    #[command(flatten)]
    pub(crate) vars: VarArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct StatusArgs {
    pub(crate) module: PathBuf,
    /// Print JSON instead of text
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) vars: VarArgs,
    #[command(flatten)]
    pub(crate) state: StateArgs,
}

/// The module's Azure provider and its stored state.
async fn open(
    module: &std::path::Path,
    vars: &VarArgs,
    state: &StateArgs,
    context: &Context,
) -> Result<(AzureProvider, State), OpsError> {
    let flags = ProviderFlags::default();
    let loaded = workspace(module, vars, flags, Checks::All, context)?;
    let mut diagnostics = Diagnostics::default();
    let provider = ops::azure_provider(
        &loaded.module,
        &loaded.variables,
        flags,
        context,
        &mut diagnostics,
    );
    let Some(provider) = provider else {
        let mut failures: Vec<Failure> = diagnostics
            .iter()
            .map(|diagnostic| Failure {
                code: diagnostic.code.to_string(),
                message: diagnostic.message.clone(),
                help: None,
                details: Vec::new(),
            })
            .collect();
        failures.push(Failure {
            code: "fk::cli::no_azure".into(),
            message: "the module has no usable Azure provider".into(),
            help: None,
            details: Vec::new(),
        });
        return Err(OpsError::Several(failures));
    };
    let state = applied_state(module, state, context, "apply it first").await?;
    Ok((provider, state))
}

/// The container groups in state: address, id, recorded value, stopped by `fk stop`.
fn groups(state: &State) -> Vec<(Address, String, Value, bool)> {
    state
        .resources
        .values()
        .filter(|record| record.resource_type == GROUP_TYPE)
        .map(|record| {
            (
                record.address(),
                record.id.clone(),
                record.value(),
                record.is_stopped(),
            )
        })
        .collect()
}

/// The group a component names: its address name (`etcd`, `virtual_kubelet`), or its ARM
/// name (`frankenetes-etcd`) or that name's last part.
fn find_group<'a>(
    groups: &'a [(Address, String, Value, bool)],
    component: &str,
) -> Option<&'a (Address, String, Value, bool)> {
    let wanted = component.replace('-', "_");
    groups.iter().find(|(address, _, value, _)| {
        let name = value.get("name").and_then(Value::as_str).unwrap_or("");
        address.name == wanted || name == component || name.ends_with(&format!("-{component}"))
    })
}

pub(crate) async fn logs(args: LogsArgs, context: &Context) -> CliResult {
    let (provider, state) = open(&args.module, &args.vars, &args.state, context).await?;
    let groups = groups(&state);
    let Some((address, id, value, _)) = find_group(&groups, &args.component) else {
        let known: Vec<String> = groups.iter().map(|(a, ..)| a.name.clone()).collect();
        return Err(OpsError::new(
            "fk::cli::unknown_component",
            format!(
                "no container group `{}` in state (known: {})",
                args.component,
                known.join(", ")
            ),
        ));
    };
    // Containers first (the default is the first), then init containers (`--container
    // restore` reads what etcd's restore printed).
    let containers: Vec<String> = ["containers", "init_containers"]
        .into_iter()
        .filter_map(|key| value.get(key).and_then(Value::as_list))
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let container = match &args.container {
        Some(name) if containers.contains(name) => name.clone(),
        Some(name) => {
            return Err(OpsError::new(
                "fk::cli::unknown_container",
                format!(
                    "`{address}` has no container `{name}` (it has: {})",
                    containers.join(", ")
                ),
            ));
        }
        None => match containers.first() {
            Some(first) => first.clone(),
            None => {
                return Err(OpsError::new(
                    "fk::cli::unknown_container",
                    format!("`{address}` has no container"),
                ));
            }
        },
    };
    let mut shown = match provider
        .container_logs(address, id, &container, args.tail)
        .await
    {
        Ok(content) => {
            print!("{content}");
            content
        }
        Err(err) => return Err(OpsError::new(err.code, err.message)),
    };
    if !args.follow {
        return Ok(EXIT_OK);
    }
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(EXIT_OK),
            _ = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        match provider
            .container_logs(address, id, &container, args.tail)
            .await
        {
            Ok(content) => {
                print!("{}", new_part(&shown, &content));
                shown = content;
            }
            Err(err) => eprintln!("warning[{}]: {}", err.code, err.message),
        }
    }
}

/// What `now` adds to `before`: the suffix after it, or, when the log was cut (ACI keeps the
/// last lines only), the lines after the last one already shown.
fn new_part<'a>(before: &str, now: &'a str) -> &'a str {
    if let Some(rest) = now.strip_prefix(before) {
        return rest;
    }
    let last_line = before.lines().last().unwrap_or("");
    match now.rfind(&format!("{last_line}\n")) {
        Some(at) if !last_line.is_empty() => &now[at + last_line.len() + 1..],
        _ => now,
    }
}

/// One group's status, as `fk status --json` prints it.
async fn group_status(
    provider: &AzureProvider,
    address: &Address,
    id: &str,
    value: &Value,
    stopped: bool,
) -> Json {
    let view = match provider.container_group_view(address, id).await {
        Ok(Some(view)) => view,
        Ok(None) => {
            return json!({"address": address.to_string(), "healthy": false,
                          "problem": "the group does not exist (deleted outside fk?)"});
        }
        Err(err) => {
            return json!({"address": address.to_string(), "healthy": false,
                          "problem": format!("cannot read it: {}", err.message)});
        }
    };
    let text = |pointer: &str| view.pointer(pointer).and_then(Json::as_str).unwrap_or("");
    let problem = health(&view);
    let group_state = text("/properties/instanceView/state").to_string();
    let healthy =
        problem.is_null() && (group_state == "Running" || (stopped && group_state == "Stopped"));
    let mut events: Vec<(String, String)> = Vec::new();
    let mut push_events = |prefix: &str, list: Option<&Json>| {
        for event in list.and_then(Json::as_array).into_iter().flatten() {
            let at = event
                .get("lastTimestamp")
                .or_else(|| event.get("firstTimestamp"))
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_string();
            let name = event.get("name").and_then(Json::as_str).unwrap_or("Event");
            let message = event.get("message").and_then(Json::as_str).unwrap_or("");
            events.push((at, format!("{prefix}{name}: {message}")));
        }
    };
    push_events("", view.pointer("/properties/instanceView/events"));
    let mut containers = Vec::new();
    let mut started_at: Option<time::OffsetDateTime> = None;
    for container in view
        .pointer("/properties/containers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let name = container.get("name").and_then(Json::as_str).unwrap_or("?");
        let instance = container.pointer("/properties/instanceView");
        let state = instance
            .and_then(|v| v.pointer("/currentState/state"))
            .and_then(Json::as_str)
            .unwrap_or("Unknown");
        let detail = instance
            .and_then(|v| v.pointer("/currentState/detailStatus"))
            .and_then(Json::as_str)
            .unwrap_or("");
        let restarts = instance
            .and_then(|v| v.get("restartCount"))
            .and_then(Json::as_i64)
            .unwrap_or(0);
        if state == "Running"
            && let Some(start) = instance
                .and_then(|v| v.pointer("/currentState/startTime"))
                .and_then(Json::as_str)
                .and_then(|start| {
                    time::OffsetDateTime::parse(
                        start,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                })
        {
            started_at = Some(started_at.map_or(start, |known| known.min(start)));
        }
        push_events(&format!("{name}: "), instance.and_then(|v| v.get("events")));
        containers.push(
            json!({"name": name, "state": state, "detail": detail, "restart_count": restarts}),
        );
    }
    events.sort();
    let last_events: Vec<String> = events
        .iter()
        .rev()
        .take(LAST_EVENTS)
        .rev()
        .map(|(at, line)| {
            if at.is_empty() {
                line.clone()
            } else {
                format!("{at} {line}")
            }
        })
        .collect();
    let running_secs = started_at.map(|start| {
        (time::OffsetDateTime::now_utc() - start)
            .whole_seconds()
            .max(0)
    });
    let cost = provider
        .hourly_cost(GROUP_TYPE, value)
        .and_then(|cost| cost.per_hour)
        .map(|per_hour| {
            if group_state == "Stopped" {
                0.0
            } else {
                per_hour
            }
        });
    let shipped = shipped_status(provider, value).await;
    json!({
        "address": address.to_string(),
        "name": text("/name"),
        "provisioning_state": text("/properties/provisioningState"),
        "state": group_state,
        "healthy": healthy,
        "problem": problem.get("problem").map(Value::to_json),
        "containers": containers,
        "last_events": last_events,
        "running_seconds": running_secs,
        "cost_per_hour_usd": cost,
        "shipped": shipped,
    })
}

/// For a group with a `before_stop` hook (etcd: its snapshots), the newest file on the
/// hook's share, its size and age, read through the Azure Files data plane with the account
/// key the group's volume holds; `null` for a group without one.
async fn shipped_status(provider: &AzureProvider, value: &Value) -> Json {
    match before_stop::newest_shipped(&provider.config().cloud, value).await {
        Ok(None) => Json::Null,
        Ok(Some(shipped)) => match shipped.newest {
            None => json!({"share": shipped.share, "newest": null}),
            Some(file) => {
                let age = file
                    .last_modified
                    .as_deref()
                    .and_then(before_stop::http_date)
                    .map(|at| {
                        (time::OffsetDateTime::now_utc() - at)
                            .whole_seconds()
                            .max(0)
                    });
                json!({"share": shipped.share, "newest": file.name,
                       "size_bytes": file.size, "age_seconds": age})
            }
        },
        Err(error) => json!({"error": error.to_string()}),
    }
}

pub(crate) async fn status(args: StatusArgs, context: &Context) -> CliResult {
    let (provider, state) = open(&args.module, &args.vars, &args.state, context).await?;
    let mut report = Vec::new();
    for (address, id, value, stopped) in groups(&state) {
        report.push(group_status(&provider, &address, &id, &value, stopped).await);
    }
    let kubeconfig = state
        .outputs
        .get("admin_kubeconfig")
        .and_then(|output| output.value.as_str().map(str::to_string));
    let readyz = match kubeconfig {
        Some(kubeconfig) => readyz(&kubeconfig).await,
        None => json!({"ok": false, "why": "the state has no `admin_kubeconfig` output"}),
    };
    let all_stopped = groups(&state).iter().all(|(.., stopped)| *stopped);
    let healthy = report
        .iter()
        .all(|group| group.get("healthy") == Some(&json!(true)))
        && (all_stopped || readyz.get("ok") == Some(&json!(true)));
    if args.json {
        let out =
            json!({"healthy": healthy, "container_groups": report, "apiserver_readyz": readyz});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        for group in &report {
            print_group(group);
        }
        let text = |key: &str| readyz.get(key).and_then(Json::as_str).unwrap_or("");
        if readyz.get("ok") == Some(&json!(true)) {
            println!("ok  apiserver /readyz: {}", text("body").trim());
        } else if all_stopped {
            println!("--  apiserver /readyz: not asked, the cluster is stopped");
        } else {
            println!("BAD apiserver /readyz: {}", text("why"));
        }
        println!(
            "{}",
            if healthy {
                "Healthy."
            } else {
                "Unhealthy: `fk plan` shows the repair, `fk apply` makes it."
            }
        );
    }
    Ok(if healthy { EXIT_OK } else { EXIT_ERROR })
}

/// Where to reach the apiserver and how to prove who fk is, from the admin kubeconfig fk
/// generated (base64-embedded PEM, one `key: value` per line).
struct Kubeconfig {
    server: String,
    ca_pem: Vec<u8>,
    identity_pem: Vec<u8>,
}

fn parse_kubeconfig(text: &str) -> Option<Kubeconfig> {
    use base64::Engine as _;
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(&format!("{key}:")))
            .map(|value| value.trim().trim_matches('"').to_string())
    };
    let decode = |key: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(field(key)?)
            .ok()
    };
    let mut identity_pem = decode("client-certificate-data")?;
    identity_pem.extend_from_slice(b"\n");
    identity_pem.extend(decode("client-key-data")?);
    Some(Kubeconfig {
        server: field("server")?,
        ca_pem: decode("certificate-authority-data")?,
        identity_pem,
    })
}

/// `GET {server}/readyz` with the admin client certificate: `{"ok", "body"}` or `{"ok":
/// false, "why"}`. Never prints a key.
async fn readyz(kubeconfig: &str) -> Json {
    let Some(config) = parse_kubeconfig(kubeconfig) else {
        return json!({"ok": false, "why": "the admin kubeconfig has no server, CA or client certificate"});
    };
    let url = format!("{}/readyz", config.server.trim_end_matches('/'));
    let client = reqwest::Certificate::from_pem(&config.ca_pem)
        .and_then(|ca| Ok((ca, reqwest::Identity::from_pem(&config.identity_pem)?)))
        .and_then(|(ca, identity)| {
            reqwest::Client::builder()
                .tls_certs_only([ca])
                .identity(identity)
                .timeout(Duration::from_secs(5))
                .build()
        });
    let client = match client {
        Ok(client) => client,
        Err(err) => {
            return json!({"ok": false, "why": format!("cannot use the admin credentials: {err}")});
        }
    };
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            let body = response.text().await.unwrap_or_default();
            json!({"ok": true, "url": url, "body": body})
        }
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            json!({"ok": false, "url": url, "why": format!("{url} answered {status}: {}", body.trim())})
        }
        Err(err) => {
            let mut why = format!("{url} is not reachable: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            json!({"ok": false, "url": url, "why": why})
        }
    }
}

fn print_group(group: &Json) {
    let text = |key: &str| group.get(key).and_then(Json::as_str).unwrap_or("");
    let mark = if group.get("healthy") == Some(&json!(true)) {
        "ok "
    } else {
        "BAD"
    };
    let ran = group
        .get("running_seconds")
        .and_then(Json::as_i64)
        .map(|secs| {
            format!(
                ", running {}",
                super::progress::format_elapsed(Duration::from_secs(secs.unsigned_abs()))
            )
        })
        .unwrap_or_default();
    let cost = group
        .get("cost_per_hour_usd")
        .and_then(Json::as_f64)
        .map(|cost| format!(", ${cost:.4}/hour"))
        .unwrap_or_default();
    println!(
        "{mark} {}: {} (provisioning {}){ran}{cost}",
        text("address"),
        text("state"),
        text("provisioning_state")
    );
    if let Some(problem) = group.get("problem").and_then(Json::as_str) {
        println!("      problem: {problem}");
    }
    for container in group
        .get("containers")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let field = |key: &str| container.get(key).and_then(Json::as_str).unwrap_or("");
        let detail = match field("detail") {
            "" => String::new(),
            detail => format!(" ({detail})"),
        };
        println!(
            "      {}: {}{detail}, {} restarts",
            field("name"),
            field("state"),
            container
                .get("restart_count")
                .and_then(Json::as_i64)
                .unwrap_or(0)
        );
    }
    if let Some(shipped) = group.get("shipped").filter(|shipped| !shipped.is_null()) {
        let field = |key: &str| shipped.get(key).and_then(Json::as_str).unwrap_or("");
        if let Some(error) = shipped.get("error").and_then(Json::as_str) {
            println!("      newest on its share: cannot read it: {error}");
        } else if field("newest").is_empty() {
            println!("      newest on share `{}`: nothing yet", field("share"));
        } else {
            let age = shipped
                .get("age_seconds")
                .and_then(Json::as_i64)
                .map(|secs| {
                    format!(
                        ", {} old",
                        super::progress::format_elapsed(Duration::from_secs(secs.unsigned_abs()))
                    )
                })
                .unwrap_or_default();
            println!(
                "      newest on share `{}`: {} ({} bytes{age})",
                field("share"),
                field("newest"),
                shipped
                    .get("size_bytes")
                    .and_then(Json::as_u64)
                    .unwrap_or(0)
            );
        }
    }
    for event in group
        .get("last_events")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        println!("      event {event}");
    }
}

#[cfg(test)]
mod tests {
    use super::{new_part, parse_kubeconfig, readyz};
    use base64::Engine as _;

    fn kubeconfig(server: &str) -> String {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let b64 = |pem: String| base64::engine::general_purpose::STANDARD.encode(pem);
        format!(
            "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: {}\n    server: {server}\n  name: c\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(cert.pem()),
            b64(cert.pem()),
            b64(key.serialize_pem())
        )
    }

    #[tokio::test]
    async fn readyz_says_why_when_the_apiserver_cannot_be_reached() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let text = kubeconfig(&format!("https://127.0.0.1:{port}"));
        let parsed = parse_kubeconfig(&text).expect("parses");
        assert_eq!(parsed.server, format!("https://127.0.0.1:{port}"));
        assert!(parsed.ca_pem.starts_with(b"-----BEGIN CERTIFICATE-----"));
        let answer = readyz(&text).await;
        assert_eq!(answer["ok"], serde_json::json!(false));
        let why = answer["why"].as_str().unwrap_or_default();
        assert!(why.contains("/readyz is not reachable"), "{why}");
        assert!(!why.contains("PRIVATE KEY"), "never a key");
        assert!(parse_kubeconfig("apiVersion: v1\n").is_none());
    }

    #[test]
    fn follow_prints_only_what_is_new() {
        assert_eq!(new_part("a\nb\n", "a\nb\nc\n"), "c\n");
        // The service keeps the last lines only: continue after the last one shown.
        assert_eq!(new_part("a\nb\n", "b\nc\nd\n"), "c\nd\n");
        assert_eq!(new_part("", "x\n"), "x\n");
    }
}
