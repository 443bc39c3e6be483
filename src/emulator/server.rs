//! The HTTP side: axum over HTTP/1 on a tokio listener, one handler that authenticates,
//! injects faults, routes, logs every request and persists the world after it.

use crate::arm_response::ArmResponse;
use crate::clock::now_ms;
use crate::context::RequestContext;
use crate::faults::{FaultConfig, FaultInjector};
use crate::resources::file_data;
use crate::router::{self, ArmRoute, settle};
use crate::schema::{SpecValidator, described};
use crate::world::{LogEntry, World};
use crate::{EmulatorConfig, EmulatorError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;

mod admin;

/// The spec file inside a specs folder.
const CONTAINER_INSTANCE_SPEC: &str = "containerinstance/2026-05-01/containerInstance.json";
/// The file-share spec, beside it in the same specs folder.
const FILE_SHARE_SPEC: &str = "storage/2025-01-01/file.json";

/// The state every request shares.
pub(crate) struct Shared {
    pub world: Mutex<World>,
    pub faults: Mutex<FaultInjector>,
    world_file: Option<PathBuf>,
    validator: Option<SpecValidator>,
    file_share_validator: Option<SpecValidator>,
    delay_ms: u64,
    local_addr: SocketAddr,
}

impl Shared {
    pub(crate) fn lock_world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn lock_faults(&self) -> MutexGuard<'_, FaultInjector> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn delay_ms(&self) -> u64 {
        self.delay_ms
    }
}

/// An emulator serving in the background of this process.
#[derive(Debug)]
pub struct RunningEmulator {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub local_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), EmulatorError>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Shared")
            .field("world_file", &self.world_file)
            .field("delay_ms", &self.delay_ms)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// Replaces the injected faults, as `PUT /_emulator/faults` does (the random stream and
    /// the 5xx burst restart).
    pub fn set_faults(&self, faults: FaultConfig) {
        *self.shared.lock_faults() = FaultInjector::new(faults);
    }

    /// The request log so far, brought up to date (as `GET /_emulator/log` serves it).
    pub fn log_entries(&self) -> Vec<LogEntry> {
        let mut world = self.shared.lock_world();
        settle(&mut world, now_ms(), self.shared.delay_ms);
        world.log.clone()
    }

    /// Stops serving and waits until the server has finished.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `config.listen` (default `127.0.0.1:0`) and serves in a background task.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let addr = config
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| EmulatorError::Bind { addr, source })?;
    let shared = prepare(&config, local_addr)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_shared(listener, Arc::clone(&shared), async move {
        let _ = stopped.await;
    }));
    Ok(RunningEmulator {
        base_url: format!("http://{local_addr}"),
        local_addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: EmulatorConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EmulatorError> {
    let local_addr = listener.local_addr().map_err(EmulatorError::Serve)?;
    let shared = prepare(&config, local_addr)?;
    serve_shared(listener, shared, shutdown).await
}

async fn serve_shared(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EmulatorError> {
    // Azure Files takes ranges of up to 4 MiB in one Put Range.
    let router = Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::max(
            4 * 1024 * 1024 + 64 * 1024,
        ))
        .with_state(Arc::clone(&shared));
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(EmulatorError::Serve);
    if let Some(world_file) = &shared.world_file {
        shared.lock_world().save(world_file, true)?;
    }
    served
}

fn prepare(config: &EmulatorConfig, local_addr: SocketAddr) -> Result<Arc<Shared>, EmulatorError> {
    let mut world = match &config.world_file {
        Some(path) => World::load(path)?,
        None => World::default(),
    };
    world.log_epoch_ms = now_ms();
    let (validator, file_share_validator) = match &config.specs_dir {
        Some(specs_dir) => official_validators(specs_dir)?,
        None => (described::validator(), described::validator()),
    };
    Ok(Arc::new(Shared {
        world: Mutex::new(world),
        faults: Mutex::new(FaultInjector::new(config.faults.clone())),
        world_file: config.world_file.clone(),
        validator: Some(validator),
        file_share_validator: Some(file_share_validator),
        delay_ms: u64::try_from(config.provisioning_delay.as_millis()).unwrap_or(u64::MAX),
        local_addr,
    }))
}

/// Validators from the official specs in `specs_dir` (a specs folder, or the
/// container-instance spec file itself); the file-share spec is used when it sits beside it,
/// else the emulator's own description of a share.
fn official_validators(specs_dir: &Path) -> Result<(SpecValidator, SpecValidator), EmulatorError> {
    let (container_spec, root) = if specs_dir.is_file() {
        (specs_dir.to_path_buf(), None)
    } else {
        (specs_dir.join(CONTAINER_INSTANCE_SPEC), Some(specs_dir))
    };
    let load = |path: &Path| {
        SpecValidator::load(path).map_err(|error| EmulatorError::Spec {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
    };
    let validator = load(&container_spec)?;
    let file_share_validator = match root.map(|root| root.join(FILE_SHARE_SPEC)) {
        Some(path) if path.is_file() => load(&path)?,
        _ => described::validator(),
    };
    Ok((validator, file_share_validator))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let query = parse_query(uri.query().unwrap_or_default());
    let host = headers.get("host").and_then(|host| host.to_str().ok());
    let base_url = format!(
        "http://{}",
        host.map_or(shared.local_addr.to_string(), str::to_owned)
    );
    let line = RequestLine {
        method: method.clone(),
        path: path.clone(),
        seq_at_start: shared.lock_world().next_log_seq,
    };
    let is_file_request = file_data::is_file_request(&shared.lock_world(), &headers, &path);
    if is_file_request {
        return handle_file(&shared, &line, &uri, &headers, &body, &base_url);
    }
    let (answer, logged) = if path.starts_with("/_emulator/") {
        (admin::handle(&shared, &method, &path, &body), false)
    } else if path.eq_ignore_ascii_case("/msi/token") {
        (admin::token(&headers, &query, now_ms()), false)
    } else {
        handle_arm(&shared, &line, &query, &headers, &body, &base_url).await
    };
    let answer = if logged {
        answer
    } else {
        let mut world = shared.lock_world();
        record(&shared, &mut world, &line, &answer, 0).unwrap_or(answer)
    };
    into_response(answer, &method, &headers)
}

/// A request to the Azure Files data plane: answered, logged and persisted like ARM's.
fn handle_file(
    shared: &Shared,
    line: &RequestLine,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    base_url: &str,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map_or(line.path.as_str(), |path| path.as_str());
    let mut world = shared.lock_world();
    let answer = file_data::handle(
        &mut world,
        now_ms(),
        shared.delay_ms(),
        base_url,
        &line.method,
        path_and_query,
        headers,
        body,
    );
    let logged = ArmResponse::empty(answer.status);
    if let Some(failure) = record(shared, &mut world, line, &logged, 0) {
        return into_response(failure, &line.method, headers);
    }
    let mut response = Response::builder().status(answer.status);
    for (name, value) in answer.headers {
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// What the log needs of a request, taken before it is handled.
struct RequestLine {
    method: Method,
    path: String,
    /// The log's sequence number when the request arrived.
    seq_at_start: u64,
}

/// Logs the request before the `n_events` events its handling logged and persists the world;
/// returns the 500 to send instead when the world file cannot be written.
fn record(
    shared: &Shared,
    world: &mut World,
    line: &RequestLine,
    answer: &ArmResponse,
    n_events: usize,
) -> Option<ArmResponse> {
    let status = answer.status.as_u16();
    world.log_request(now_ms(), line.method.as_str(), &line.path, status, n_events);
    // A read that changed nothing but the log is persisted with the next change (or at
    // shutdown), which keeps polling cheap.
    let read_only = matches!(line.method, Method::GET | Method::HEAD);
    let changed = !read_only || world.next_log_seq > line.seq_at_start + 1;
    let world_file = shared.world_file.as_ref().filter(|_| changed)?;
    let error = world.save(world_file, !read_only).err()?;
    Some(ArmResponse::cloud_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        error.to_string(),
    ))
}

/// An ARM request: authentication, faults, api-version, registration, then the route.
/// Returns the answer and whether it was already logged (with the events it caused, under
/// the same lock, so concurrent requests cannot interleave).
async fn handle_arm(
    shared: &Shared,
    line: &RequestLine,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
    base_url: &str,
) -> (ArmResponse, bool) {
    let (method, path) = (&line.method, line.path.as_str());
    let authorization = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    let token = authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    if token.is_none_or(str::is_empty) {
        let message = match authorization {
            None => "Authentication failed. The 'Authorization' header is missing.",
            Some(_) => {
                "Authentication failed. The 'Authorization' header is not in a valid format."
            }
        };
        let answer =
            ArmResponse::cloud_error(StatusCode::UNAUTHORIZED, "AuthenticationFailed", message);
        return (answer, false);
    }
    let latency = shared.lock_faults().latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (fault, fault_config) = {
        let mut faults = shared.lock_faults();
        (faults.next_fault(), faults.config.clone())
    };
    if let Some(fault) = fault {
        return (fault, false);
    }
    let Some(route) = ArmRoute::parse(path) else {
        let answer = ArmResponse::not_found(
            "InvalidResourceType",
            format!("The emulator does not serve the resource path '{path}'."),
        );
        return (answer, false);
    };
    let api_version = query.get("api-version").map(String::as_str);
    if let Some(answer) = route.check_api_version(api_version) {
        return (answer, false);
    }
    let context = RequestContext {
        now_ms: now_ms(),
        base_url,
        api_version: api_version.unwrap_or_default(),
        delay_ms: shared.delay_ms,
        validator: shared.validator.as_ref(),
        file_share_validator: shared.file_share_validator.as_ref(),
        fail_operations: &fault_config.fail_operations,
        require_registration: fault_config.require_registration,
        stop_transition_ms: fault_config.stop_transition_ms,
        tail: query.get("tail").and_then(|tail| tail.parse().ok()),
    };
    let mut world = shared.lock_world();
    settle(&mut world, context.now_ms, context.delay_ms);
    let seq_before = world.next_log_seq;
    let answer = router::dispatch(&mut world, &context, method, route, body);
    let n_events = usize::try_from(world.next_log_seq - seq_before).unwrap_or(usize::MAX);
    let answer = record(shared, &mut world, line, &answer, n_events).unwrap_or(answer);
    (answer, true)
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    let decode = |text: &str| {
        let bytes = text.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut idx = 0;
        while idx < bytes.len() {
            match bytes[idx] {
                b'+' => decoded.push(b' '),
                b'%' if idx + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[idx + 1..idx + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(byte) => {
                            decoded.push(byte);
                            idx += 2;
                        }
                        Err(_) => decoded.push(b'%'),
                    }
                }
                byte => decoded.push(byte),
            }
            idx += 1;
        }
        String::from_utf8_lossy(&decoded).into_owned()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => (decode(name).to_ascii_lowercase(), decode(value)),
            None => (decode(pair).to_ascii_lowercase(), String::new()),
        })
        .collect()
}

fn into_response(answer: ArmResponse, method: &Method, request_headers: &HeaderMap) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation_id = request_headers
        .get("x-ms-correlation-request-id")
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let body = match (&answer.body, method == Method::HEAD) {
        (Some(body), false) => Body::from(serde_json::to_vec(body).unwrap_or_default()),
        _ => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    let response_headers = response.headers_mut();
    if answer.body.is_some() {
        response_headers.insert(
            "content-type",
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    for (name, value) in [
        ("x-ms-request-id", request_id.as_str()),
        ("x-ms-correlation-request-id", correlation_id.as_str()),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            response_headers.insert(name, value);
        }
    }
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response_headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_parameters_with_lowercase_names() {
        let query = parse_query(
            "API-Version=2025-09-01&resource=https%3A%2F%2Fmanagement.azure.com&x=%zz&flag",
        );
        assert_eq!(
            query.get("api-version").map(String::as_str),
            Some("2025-09-01")
        );
        assert_eq!(
            query.get("resource").map(String::as_str),
            Some("https://management.azure.com")
        );
        assert_eq!(query.get("x").map(String::as_str), Some("%zz"));
        assert_eq!(query.get("flag").map(String::as_str), Some(""));
    }
}
