//! The HTTP routes of `qvm serve` (docs/api.md): JSON in, JSON out, and a
//! JSON error with a 4xx status for every request it cannot take.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query as UrlQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use qvm_chain::{Address, ChainError, Hash, Snapshot, StateListing};
use serde::Deserialize;
use serde_json::json;

use super::workers::{ContractCall, JobError, Workers, Write};

/// The default sender of transactions that name none.
pub const DEFAULT_SENDER: &str = "dev";
/// Most blocks one `GET /blocks` returns.
const MAX_BLOCKS_PER_PAGE: usize = 1000;

/// The routes, over `workers`.
pub fn router(workers: Arc<Workers>) -> Router {
    let limits = workers.snapshot().config().limits;
    // A base64 contract in JSON is 4/3 of its size, plus the other fields.
    let body_limit = limits
        .max_contract
        .saturating_mul(4)
        .saturating_div(3)
        .saturating_add(limits.max_args)
        .saturating_add(limits.max_stdin.saturating_mul(2))
        .saturating_add(64 << 10);
    Router::new()
        .route("/health", get(health))
        .route("/deploy", post(deploy))
        .route("/call/{address}", post(call))
        .route("/query/{address}", post(query))
        .route("/contracts/{address}", get(contract))
        .route("/state/{address}", get(state))
        .route("/state/{address}/{key}", get(state_key))
        .route("/blocks", get(blocks))
        .route("/blocks/{number}", get(block))
        .route("/tx/{hash}", get(tx))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(move |req, next| {
            refuse_oversized(body_limit, req, next)
        }))
        .with_state(workers)
}

/// An error response: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<JobError> for ApiError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Chain(e) => chain_error(e),
            JobError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "every query worker is busy; retry later",
            ),
            JobError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            ),
        }
    }
}

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        chain_error(e)
    }
}

/// The status a chain error answers with.
fn chain_error(e: ChainError) -> ApiError {
    let status = match &e {
        ChainError::NoSuchContract(_) => StatusCode::NOT_FOUND,
        ChainError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        ChainError::Exec(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, e.to_string())
}

type ApiResult = Result<Response, ApiError>;

/// Bytes in a JSON body: a UTF-8 string, `{"hex": "..."}` or
/// `{"base64": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ApiBytes {
    Text(String),
    Hex { hex: String },
    Base64 { base64: String },
}

impl ApiBytes {
    fn decode(self, what: &str) -> Result<Vec<u8>, ApiError> {
        match self {
            ApiBytes::Text(s) => Ok(s.into_bytes()),
            ApiBytes::Hex { hex } => hex::decode(hex.trim_start_matches("0x"))
                .map_err(|e| ApiError::bad_request(format!("{what}: bad hex: {e}"))),
            ApiBytes::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map_err(|e| ApiError::bad_request(format!("{what}: bad base64: {e}"))),
        }
    }
}

/// The fields of a transaction or query body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallBody {
    #[serde(default)]
    args: Vec<ApiBytes>,
    sender: Option<ApiBytes>,
    stdin: Option<ApiBytes>,
    /// A number, or "none" for an unmetered call.
    gas_limit: Option<serde_json::Value>,
}

/// What a call's body decodes to.
struct CallFields {
    sender: Vec<u8>,
    args: Vec<Vec<u8>>,
    stdin: Vec<u8>,
    gas_limit: Option<u64>,
}

impl CallBody {
    fn decode(self) -> Result<CallFields, ApiError> {
        let args = self
            .args
            .into_iter()
            .enumerate()
            .map(|(i, a)| a.decode(&format!("args[{i}]")))
            .collect::<Result<_, _>>()?;
        let sender = match self.sender {
            Some(s) => s.decode("sender")?,
            None => DEFAULT_SENDER.as_bytes().to_vec(),
        };
        let stdin = match self.stdin {
            Some(s) => s.decode("stdin")?,
            None => Vec::new(),
        };
        Ok(CallFields {
            sender,
            args,
            stdin,
            gas_limit: gas_limit_of(self.gas_limit)?,
        })
    }
}

fn gas_limit_of(value: Option<serde_json::Value>) -> Result<Option<u64>, ApiError> {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => Ok(Some(qvm_common::kernel::gas::DEFAULT_GAS_LIMIT)),
        Some(Value::String(s)) if s == "none" => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|&n| n > 0)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request("gas_limit: a positive integer, or \"none\"")),
        Some(_) => Err(ApiError::bad_request(
            "gas_limit: a positive integer, or \"none\"",
        )),
    }
}

/// Parses a JSON body (an empty body is `{}`).
fn json_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))
}

fn address_of(text: &str) -> Result<Address, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("not a contract address: {text:?}")))
}

async fn health(State(workers): State<Arc<Workers>>) -> ApiResult {
    let head = read(workers, |s| s.head()).await?;
    Ok(Json(json!({ "status": "ok", "head": head.number })).into_response())
}

/// `POST /deploy`: the contract's bytes as the body
/// (`application/octet-stream`, args and sender in the URL), or JSON with
/// `code` as `{"base64": ...}` or `{"hex": ...}`.
async fn deploy(
    State(workers): State<Arc<Workers>>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let body = body_of(body)?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let (code, fields) = if is_json {
        #[derive(Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct DeployBody {
            code: Option<ApiBytes>,
            #[serde(flatten)]
            call: CallBodyLoose,
        }
        let body: DeployBody = json_body(&body)?;
        let code = body
            .code
            .ok_or_else(|| ApiError::bad_request("missing field `code`"))?
            .decode("code")?;
        (code, body.call.into_body().decode()?)
    } else {
        (body.to_vec(), call_from_params(params)?.decode()?)
    };
    if code.is_empty() {
        return Err(ApiError::bad_request("empty contract"));
    }
    let receipt = workers
        .write(Write::Deploy {
            code,
            sender: fields.sender,
            args: fields.args,
            gas_limit: fields.gas_limit,
        })
        .await?;
    Ok(Json(receipt).into_response())
}

/// [`CallBody`] without `deny_unknown_fields`, which serde cannot combine
/// with `flatten`; [`DeployBody`] denies them.
#[derive(Debug, Default, Deserialize)]
struct CallBodyLoose {
    #[serde(default)]
    args: Vec<ApiBytes>,
    sender: Option<ApiBytes>,
    stdin: Option<ApiBytes>,
    gas_limit: Option<serde_json::Value>,
}

impl CallBodyLoose {
    fn into_body(self) -> CallBody {
        CallBody {
            args: self.args,
            sender: self.sender,
            stdin: self.stdin,
            gas_limit: self.gas_limit,
        }
    }
}

/// A deploy's fields from the URL: `arg` (repeatable), `sender`,
/// `gas_limit`.
fn call_from_params(params: Vec<(String, String)>) -> Result<CallBody, ApiError> {
    let mut body = CallBody::default();
    for (name, value) in params {
        match name.as_str() {
            "arg" => body.args.push(ApiBytes::Text(value)),
            "sender" => body.sender = Some(ApiBytes::Text(value)),
            "gas_limit" => {
                body.gas_limit = Some(match value.parse::<u64>() {
                    Ok(n) => serde_json::Value::from(n),
                    Err(_) => serde_json::Value::String(value),
                })
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter `{other}`"
                )))
            }
        }
    }
    Ok(body)
}

/// `POST /call/{address}`: one transaction, one block.
async fn call(
    State(workers): State<Arc<Workers>>,
    Path(address): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let receipt = workers
        .write(Write::Call(contract_call(&address, body)?))
        .await?;
    Ok(Json(receipt).into_response())
}

/// `POST /query/{address}`: the call against the latest state, nothing
/// stored.
async fn query(
    State(workers): State<Arc<Workers>>,
    Path(address): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    let execution = workers.query(contract_call(&address, body)?).await?;
    Ok(Json(execution).into_response())
}

/// The call a `/call` or `/query` request asks for.
fn contract_call(
    address: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<ContractCall, ApiError> {
    let body = body_of(body)?;
    let address = address_of(address)?;
    let fields = json_body::<CallBody>(&body)?.decode()?;
    Ok(ContractCall {
        address,
        sender: fields.sender,
        args: fields.args,
        stdin: fields.stdin,
        gas_limit: fields.gas_limit,
    })
}

/// Runs a read against the latest snapshot on the blocking pool.
async fn read<T: Send + 'static>(
    workers: Arc<Workers>,
    f: impl FnOnce(&Snapshot) -> Result<T, ChainError> + Send + 'static,
) -> Result<T, ApiError> {
    let snapshot = workers.snapshot();
    tokio::task::spawn_blocking(move || f(&snapshot))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

async fn contract(State(workers): State<Arc<Workers>>, Path(address): Path<String>) -> ApiResult {
    let address = address_of(&address)?;
    match read(workers, move |s| s.contract(&address)).await? {
        Some(info) => Ok(Json(info).into_response()),
        None => Err(ApiError::not_found(format!("no contract at {address}"))),
    }
}

/// `GET /state/{address}`: every key and value, sorted by key.
async fn state(State(workers): State<Arc<Workers>>, Path(address): Path<String>) -> ApiResult {
    let address = address_of(&address)?;
    let (info, pairs) = read(workers, move |s| {
        Ok((s.contract(&address)?, s.state(&address)?))
    })
    .await?;
    if info.is_none() {
        return Err(ApiError::not_found(format!("no contract at {address}")));
    }
    Ok(Json(StateListing {
        address,
        state: pairs,
    })
    .into_response())
}

/// `GET /state/{address}/{key}`: the value's bytes (`application/octet-stream`).
/// A key that is not UTF-8 is named `.hex/HEX`... as `/state/{address}/0x<hex>`
/// is ambiguous, the query `?hex=1` says the key is hex.
async fn state_key(
    State(workers): State<Arc<Workers>>,
    Path((address, key)): Path<(String, String)>,
    UrlQuery(params): UrlQuery<Vec<(String, String)>>,
) -> ApiResult {
    let address = address_of(&address)?;
    let hex_key = params.iter().any(|(k, v)| k == "hex" && v != "0");
    let key = if hex_key {
        hex::decode(&key).map_err(|e| ApiError::bad_request(format!("key: bad hex: {e}")))?
    } else {
        key.into_bytes()
    };
    let shown = String::from_utf8_lossy(&key).into_owned();
    let (info, value) = read(workers, move |s| {
        Ok((s.contract(&address)?, s.get(&address, &key)?))
    })
    .await?;
    match (info, value) {
        (None, _) => Err(ApiError::not_found(format!("no contract at {address}"))),
        (Some(_), None) => Err(ApiError::not_found(format!(
            "no key {shown:?} in {address}"
        ))),
        (Some(_), Some(value)) => {
            Ok(([(header::CONTENT_TYPE, "application/octet-stream")], value).into_response())
        }
    }
}

#[derive(Deserialize)]
struct BlocksParams {
    from: Option<u64>,
    limit: Option<usize>,
}

/// `GET /blocks?from=N&limit=M`.
async fn blocks(
    State(workers): State<Arc<Workers>>,
    params: Result<UrlQuery<BlocksParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let UrlQuery(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let from = params.from.unwrap_or(0);
    let limit = params.limit.unwrap_or(100).min(MAX_BLOCKS_PER_PAGE);
    let blocks = read(workers, move |s| s.blocks(from, limit)).await?;
    Ok(Json(json!({ "blocks": blocks })).into_response())
}

async fn block(State(workers): State<Arc<Workers>>, Path(number): Path<String>) -> ApiResult {
    let number: u64 = number
        .parse()
        .map_err(|_| ApiError::bad_request(format!("not a block number: {number:?}")))?;
    match read(workers, move |s| s.block(number)).await? {
        Some(block) => Ok(Json(block).into_response()),
        None => Err(ApiError::not_found(format!("no block {number}"))),
    }
}

async fn tx(State(workers): State<Arc<Workers>>, Path(hash): Path<String>) -> ApiResult {
    let parsed: Hash = hash
        .parse()
        .map_err(|_| ApiError::bad_request(format!("not a transaction hash: {hash:?}")))?;
    match read(workers, move |s| s.tx(&parsed)).await? {
        Some((block, transaction, receipt)) => Ok(Json(json!({
            "block": block,
            "transaction": transaction,
            "receipt": receipt,
        }))
        .into_response()),
        None => Err(ApiError::not_found(format!("no transaction {hash}"))),
    }
}

/// Refuses a body whose Content-Length is past `limit` before reading any
/// of it (the body limit alone would read up to the limit first, and a
/// client sending a huge body would wait for an answer until it is sent).
async fn refuse_oversized(
    limit: usize,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is {length} bytes, over the limit of {limit}"),
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// A request body, or the JSON error for one that could not be read (413
/// past the size limit).
fn body_of(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|e| ApiError::new(e.status(), e.body_text()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed here (docs/api.md lists the endpoints)",
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (docs/api.md lists them)")
}
