//! The JSON API. Every error is a 4xx or 5xx with `{"error": "..."}` saying what is wrong;
//! requests are checked completely before anything is written.

use std::{
	convert::Infallible,
	net::{IpAddr, Ipv4Addr, SocketAddr},
	str::FromStr,
	sync::Arc,
	time::{Duration, Instant},
};

use axum::{
	body::Bytes,
	extract::{
		multipart::{MultipartError, MultipartRejection},
		rejection::JsonRejection,
		ConnectInfo, Multipart, Path, Query, State,
	},
	http::{header, Extensions, StatusCode},
	response::{
		sse::{Event, KeepAlive, Sse},
		IntoResponse, Response,
	},
	routing::{get, post},
	Json, Router,
};
use ccgsc_chain::{AccountId32, Balance, Chain, JobSpec, MultiSignature, UNIT};
use ccgsc_executor::Determinism;
use ccgsc_primitives::{ContentId, Hash, JobId, Limits, PlatformClass, PlatformSet};
use ccgsc_task_modules::workloads;
use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{answer, assets, view, Call, Portal, Prepared};

/// Largest JSON request body.
const JSON_BYTES: usize = 64 * 1024;
/// How long a prepared transaction waits for its signature.
const PREPARED_TTL: Duration = Duration::from_secs(600);
/// Most prepared transactions kept at once.
const PREPARED_MAX: usize = 1024;
/// How long serving content may wait for the network.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The dev accounts `--dev` offers.
const DEV_ACCOUNTS: [&str; 6] = ccgsc_chain::dev::NAMES;

/// The portal's router: the web UI and the API, with `portal` as state.
pub fn app(portal: Portal) -> Router {
	let request_bytes = portal.config().limits.request_bytes;
	let uploads = Router::new()
		.route("/api/uploads", post(upload))
		.layer(axum::extract::DefaultBodyLimit::max(request_bytes));
	Router::new()
		.route("/", get(assets::index))
		.route("/app.js", get(assets::script))
		.route("/style.css", get(assets::style))
		.route("/api/status", get(status))
		.route("/api/workloads", get(list_workloads))
		.route("/api/workloads/{name}", post(make_workload))
		.route("/api/jobs", get(list_jobs).post(post_job))
		.route("/api/jobs/quote", post(quote))
		.route("/api/jobs/prepare", post(prepare))
		.route("/api/jobs/submit", post(submit))
		.route("/api/jobs/{id}", get(job))
		.route("/api/jobs/{id}/events", get(job_events))
		.route("/api/jobs/{id}/product", get(product))
		.route("/api/jobs/{id}/cancel", post(cancel))
		.route("/api/jobs/{id}/cancel/prepare", post(prepare_cancel))
		.route("/api/content/{id}", get(content))
		.route("/api/workers", get(workers))
		.route("/api/checkers", get(checkers))
		.route("/api/accounts/{account}", get(account))
		.layer(axum::extract::DefaultBodyLimit::max(JSON_BYTES))
		.merge(uploads)
		.fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such page or API route") })
		.with_state(portal)
}

/// An API error: a status and a message for the user.
#[derive(Debug)]
pub(crate) struct ApiError {
	status: StatusCode,
	message: String,
}

impl ApiError {
	fn new(status: StatusCode, message: impl Into<String>) -> Self {
		Self { status, message: message.into() }
	}

	fn bad(message: impl Into<String>) -> Self {
		Self::new(StatusCode::BAD_REQUEST, message)
	}

	fn not_found(message: impl Into<String>) -> Self {
		Self::new(StatusCode::NOT_FOUND, message)
	}

	fn chain(e: ccgsc_chain::Error) -> Self {
		match e {
			ccgsc_chain::Error::Dispatch(why) => {
				Self::new(StatusCode::UNPROCESSABLE_ENTITY, format!("the chain refused it: {why}"))
			},
			other => Self::new(StatusCode::BAD_GATEWAY, format!("the node failed: {other}")),
		}
	}

	fn internal(e: impl std::fmt::Display) -> Self {
		Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		(self.status, Json(json!({ "error": self.message }))).into_response()
	}
}

type ApiResult<T> = Result<T, ApiError>;

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
	body.map(|Json(t)| t).map_err(|e| ApiError::new(e.status(), e.body_text()))
}

/// A byte count for messages: "64 KiB", "256 MiB".
fn size(bytes: usize) -> String {
	if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
		format!("{} MiB", bytes >> 20)
	} else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
		format!("{} KiB", bytes >> 10)
	} else {
		format!("{bytes} bytes")
	}
}

/// An upload that could not be read; `request_bytes` names the limit when it was exceeded.
fn multipart_error(e: MultipartError, request_bytes: usize) -> ApiError {
	if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
		return ApiError::new(
			StatusCode::PAYLOAD_TOO_LARGE,
			format!("the upload is larger than the {} request limit", size(request_bytes)),
		);
	}
	ApiError::new(e.status(), format!("cannot read the upload: {}", e.body_text()))
}

impl Portal {
	/// The node connection, or 503 while reconnecting.
	fn chain(&self) -> ApiResult<Chain> {
		self.inner.link.chain().ok_or_else(|| {
			ApiError::new(
				StatusCode::SERVICE_UNAVAILABLE,
				format!(
					"the portal is reconnecting to the node at {}; try again shortly",
					self.inner.link.url
				),
			)
		})
	}

	fn workload_of(&self, module: &ContentId) -> Option<&'static str> {
		self.inner.builtins.get(module).copied()
	}
}

fn parse_job_id(id: &str) -> ApiResult<JobId> {
	id.parse().map_err(|_| ApiError::bad(format!("a job id is a number, not {id:?}")))
}

fn parse_content_id(id: &str) -> ApiResult<ContentId> {
	ContentId::from_str(id.trim_start_matches("0x"))
		.map_err(|_| ApiError::bad(format!("{id:?} is not a content id (64 hex characters)")))
}

fn parse_account(account: &str) -> ApiResult<AccountId32> {
	AccountId32::from_str(account)
		.map_err(|_| ApiError::bad(format!("{account:?} is not an SS58 account address")))
}

fn hex(bytes: &[u8]) -> String {
	let mut s = String::with_capacity(2 + bytes.len() * 2);
	s.push_str("0x");
	for b in bytes {
		s.push_str(&format!("{b:02x}"));
	}
	s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
	let s = s.strip_prefix("0x").unwrap_or(s);
	if !s.len().is_multiple_of(2) {
		return None;
	}
	(0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

// ---- status ----

async fn status(State(portal): State<Portal>) -> Json<serde_json::Value> {
	let dev_accounts: Vec<_> = if portal.config().dev {
		DEV_ACCOUNTS
			.iter()
			.filter_map(|name| {
				let key = ccgsc_chain::dev::by_name(name)?;
				let address = AccountId32::from(key.public_key()).to_string();
				Some(json!({ "name": name, "address": address }))
			})
			.collect()
	} else {
		Vec::new()
	};
	let p2p = portal.p2p();
	let addrs: Vec<String> =
		p2p.listen_addrs().await.unwrap_or_default().iter().map(|a| a.to_string()).collect();
	let limits = &portal.config().limits;
	Json(json!({
		"chain": if portal.connected() { "connected" } else { "reconnecting" },
		"node": portal.inner.link.url,
		"finalized": portal.inner.link.finalized(),
		"dev": portal.config().dev,
		"dev_accounts": dev_accounts,
		"peer_id": p2p.peer_id().to_string(),
		"p2p": addrs,
		"executor_version": ccgsc_executor::VERSION,
		"platform": PlatformClass::native().map(|p| format!("{p:?}")),
		"limits": {
			"module_bytes": limits.module_bytes,
			"input_bytes": limits.input_bytes,
			"request_bytes": limits.request_bytes,
			"inputs": limits.inputs,
			"uploads_per_minute": limits.uploads_per_minute,
		},
	}))
}

// ---- uploads ----

/// What an upload stored.
#[derive(Serialize, Debug)]
struct Uploaded {
	module: ContentId,
	inputs: Vec<ContentId>,
	/// The value `post_job` takes (hex).
	inputs_root: String,
	task_count: u32,
	/// Bytes stored (module and inputs).
	bytes: u64,
	/// The built-in workload, for uploads made from one.
	workload: Option<&'static str>,
	/// Arguments the workload's tasks need.
	args: Vec<String>,
	/// A work limit per task that suits the workload.
	work: Option<u64>,
}

fn client_ip(extensions: &Extensions) -> IpAddr {
	extensions
		.get::<ConnectInfo<SocketAddr>>()
		.map(|ConnectInfo(addr)| addr.ip())
		.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

fn admit(portal: &Portal, extensions: &Extensions) -> ApiResult<()> {
	if portal.admit_upload(client_ip(extensions)) {
		Ok(())
	} else {
		Err(ApiError::new(
			StatusCode::TOO_MANY_REQUESTS,
			format!(
				"too many uploads from this address: at most {} a minute",
				portal.config().limits.uploads_per_minute
			),
		))
	}
}

async fn upload(
	State(portal): State<Portal>,
	extensions: Extensions,
	multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
	let mut multipart = multipart.map_err(|e| {
		ApiError::new(
			e.status(),
			format!(
				"expected a multipart/form-data upload of `module` and `input` files: {}",
				e.body_text()
			),
		)
	})?;
	admit(&portal, &extensions)?;
	let limits = portal.config().limits.clone();
	let mut module: Option<Vec<u8>> = None;
	let mut inputs: Vec<Vec<u8>> = Vec::new();
	while let Some(mut field) =
		multipart.next_field().await.map_err(|e| multipart_error(e, limits.request_bytes))?
	{
		let name = field.name().unwrap_or_default().to_string();
		let file = field.file_name().map(|f| format!(" {f:?}")).unwrap_or_default();
		let (cap, what) = match name.as_str() {
			"module" if module.is_some() => {
				return Err(ApiError::bad("more than one `module` part"))
			},
			"module" => (limits.module_bytes, "the module"),
			"input" if inputs.len() >= limits.inputs => {
				return Err(ApiError::new(
					StatusCode::PAYLOAD_TOO_LARGE,
					format!("more than {} inputs in one upload", limits.inputs),
				))
			},
			"input" => (limits.input_bytes, "input"),
			other => {
				return Err(ApiError::bad(format!(
					"unexpected part {other:?}: an upload has one `module` part and one `input` part per task"
				)))
			},
		};
		let mut bytes = Vec::new();
		while let Some(chunk) =
			field.chunk().await.map_err(|e| multipart_error(e, limits.request_bytes))?
		{
			if bytes.len() + chunk.len() > cap {
				return Err(ApiError::new(
					StatusCode::PAYLOAD_TOO_LARGE,
					format!("{what}{file} is larger than the {} limit", size(cap)),
				));
			}
			bytes.extend_from_slice(&chunk);
		}
		match name.as_str() {
			"module" => module = Some(bytes),
			_ => inputs.push(bytes),
		}
	}
	let module = module
		.ok_or_else(|| ApiError::bad("no `module` part: upload the task's WebAssembly module"))?;
	if inputs.is_empty() {
		return Err(ApiError::bad("no `input` parts: a job needs one input file per task"));
	}
	let checker = portal.inner.executor.clone();
	let module = tokio::task::spawn_blocking(move || {
		checker.check_module(&module, Determinism::Platform).map(|()| module)
	})
	.await
	.map_err(ApiError::internal)?
	.map_err(|why| ApiError::bad(format!("the module cannot run as a task: {why}")))?;
	let uploaded = store(&portal, module, inputs).await?;
	let workload = portal.workload_of(&uploaded.module);
	Ok((StatusCode::CREATED, Json(Uploaded { workload, ..uploaded })))
}

/// Stores and provides a module and inputs.
async fn store(portal: &Portal, module: Vec<u8>, inputs: Vec<Vec<u8>>) -> ApiResult<Uploaded> {
	let p2p = portal.p2p();
	let bytes = module.len() as u64 + inputs.iter().map(|i| i.len() as u64).sum::<u64>();
	let task_count = inputs.len() as u32;
	let module = p2p.add(module).await.map_err(ApiError::internal)?;
	let ids = futures::future::try_join_all(inputs.into_iter().map(|input| p2p.add(input)))
		.await
		.map_err(ApiError::internal)?;
	let root = p2p.add_inputs(ids.clone()).await.map_err(ApiError::internal)?;
	Ok(Uploaded {
		module,
		inputs: ids,
		inputs_root: hex(&root),
		task_count,
		bytes,
		workload: None,
		args: Vec::new(),
		work: None,
	})
}

async fn list_workloads() -> Json<serde_json::Value> {
	let list = workloads::catalogue().map(|(name, about, defaults)| {
		let params: Vec<_> = workloads::params(name)
			.iter()
			.map(|(param, about)| json!({ "name": param, "about": about }))
			.collect();
		json!({ "name": name, "about": about, "defaults": defaults, "params": params })
	});
	Json(json!(list))
}

async fn make_workload(
	State(portal): State<Portal>,
	Path(name): Path<String>,
	extensions: Extensions,
	body: Bytes,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
	let params: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
		json!({})
	} else {
		serde_json::from_slice(&body)
			.map_err(|e| ApiError::bad(format!("the parameters are not JSON: {e}")))?
	};
	if !params.is_object() {
		return Err(ApiError::bad("the parameters are a JSON object"));
	}
	let made = tokio::task::spawn_blocking(move || workloads::make(&name, params))
		.await
		.map_err(ApiError::internal)?
		.map_err(ApiError::bad)?;
	admit(&portal, &extensions)?;
	let uploaded = store(&portal, made.module.to_vec(), made.inputs).await?;
	let workload = portal.workload_of(&uploaded.module);
	Ok((
		StatusCode::CREATED,
		Json(Uploaded { workload, args: made.args, work: Some(made.work), ..uploaded }),
	))
}

// ---- posting ----

/// A job to post.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct JobRequest {
	/// The module's content id (uploaded first).
	module: String,
	/// The inputs root an upload returned.
	inputs_root: String,
	/// Arguments every task gets.
	#[serde(default)]
	args: Vec<String>,
	/// Credits per accepted replica.
	reward: f64,
	/// Agreeing replicas per task.
	#[serde(default = "defaults::replication")]
	replication: u8,
	/// Work limit per task.
	#[serde(default = "defaults::work")]
	work: u64,
	/// Memory limit per task, MiB.
	#[serde(default = "defaults::memory_mib")]
	memory_mib: u64,
	/// Output limit per task, MiB.
	#[serde(default = "defaults::output_mib")]
	output_mib: u64,
	/// Blocks until unspent escrow returns.
	#[serde(default = "defaults::deadline_blocks")]
	deadline_blocks: u32,
	/// `POST /api/jobs` with `--dev`: the dev account that signs.
	#[serde(default)]
	dev_account: Option<String>,
	/// `POST /api/jobs/prepare`: the SS58 address of the wallet account that signs.
	#[serde(default)]
	account: Option<String>,
}

mod defaults {
	pub(super) fn replication() -> u8 {
		2
	}
	pub(super) fn work() -> u64 {
		20_000_000_000
	}
	pub(super) fn memory_mib() -> u64 {
		256
	}
	pub(super) fn output_mib() -> u64 {
		16
	}
	pub(super) fn deadline_blocks() -> u32 {
		3_600
	}
}

/// Checks a job request against the store and the marketplace's rules, and makes its spec.
async fn spec(portal: &Portal, chain: &Chain, r: &JobRequest) -> ApiResult<JobSpec> {
	let module = parse_content_id(&r.module)?;
	if !portal.p2p().has(&module) {
		return Err(ApiError::bad(format!(
			"module {module} is not in the portal's store: upload it first (POST /api/uploads)"
		)));
	}
	let root: Hash = unhex(&r.inputs_root)
		.and_then(|b| b.try_into().ok())
		.ok_or_else(|| ApiError::bad("inputs_root is 32 bytes in hex"))?;
	let store = portal.p2p().store().clone();
	let inputs = tokio::task::spawn_blocking(move || store.inputs(&root))
		.await
		.map_err(ApiError::internal)?
		.map_err(ApiError::internal)?
		.ok_or_else(|| {
			ApiError::bad(format!(
				"inputs root {} is not in the portal's store: upload the inputs first",
				r.inputs_root
			))
		})?;
	if !(r.reward.is_finite() && r.reward > 0.0 && r.reward <= 1.0) {
		return Err(ApiError::bad("reward is credits per accepted replica, above 0 and at most 1"));
	}
	if !(1..=5).contains(&r.replication) {
		return Err(ApiError::bad("replication must be 1..=5"));
	}
	if !(1..=100_000_000_000_000).contains(&r.work) {
		return Err(ApiError::bad("work must be 1..=10^14 work units"));
	}
	if !(1..=4096).contains(&r.memory_mib) || !(1..=1024).contains(&r.output_mib) {
		return Err(ApiError::bad("memory_mib must be 1..=4096 and output_mib 1..=1024"));
	}
	if !(10..=10_000_000).contains(&r.deadline_blocks) {
		return Err(ApiError::bad("deadline_blocks must be 10..=10000000"));
	}
	if r.args.len() > 16 || r.args.iter().any(|a| a.len() > 256) {
		return Err(ApiError::bad("at most 16 args of at most 256 bytes each"));
	}
	let platform = PlatformClass::native()
		.ok_or_else(|| ApiError::internal("the portal's CPU has no platform class"))?;
	let now = chain.finalized_number().await.map_err(ApiError::chain)?;
	Ok(JobSpec {
		module,
		inputs_root: root,
		task_count: inputs.len() as u32,
		args: r.args.clone(),
		reward_per_task: (r.reward * UNIT as f64).round() as u128,
		replication: r.replication,
		limits: Limits { work: r.work, memory: r.memory_mib << 20, output: r.output_mib << 20 },
		platforms: PlatformSet::of(&[platform]),
		executor_version: ccgsc_executor::VERSION,
		deadline: now + r.deadline_blocks,
	})
}

async fn post_job(
	State(portal): State<Portal>,
	body: Result<Json<JobRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
	let request = json_body(body)?;
	let key = dev_key(&portal, request.dev_account.as_deref(), "POST /api/jobs/prepare")?;
	let chain = portal.chain()?;
	let spec = spec(&portal, &chain, &request).await?;
	let job = chain.post_job(&key, &spec).await.map_err(ApiError::chain)?;
	Ok((StatusCode::CREATED, Json(json!({ "job": job }))))
}

/// What posting a job would hold, before anything is signed: the same request as posting it
/// (checked the same way; the signer, `dev_account` or `account`, is optional), answered with
/// its task count, the reward per replica as the chain will hold it, what each task holds
/// (its replicas' rewards and the review reserve, see [`Chain::review_reserve`]), the total
/// held, and the signer's free credits if it is named; with how many registered workers may
/// claim its tasks now ([`ccgsc_chain::may_claim`]) and, when that is fewer than a task's
/// replicas, a warning that its tasks wait for more ([`ccgsc_chain::too_few_workers`]): a
/// warning, not a refusal, since workers may join before the deadline. The portal shows this
/// before the poster signs; what the job does not spend returns when it ends.
async fn quote(
	State(portal): State<Portal>,
	body: Result<Json<JobRequest>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
	let request = json_body(body)?;
	let signer = match (&request.dev_account, &request.account) {
		(Some(name), _) => Some(AccountId32::from(
			dev_key(&portal, Some(name), "POST /api/jobs/prepare")?.public_key(),
		)),
		(None, Some(account)) => Some(parse_account(account)?),
		(None, None) => None,
	};
	let chain = portal.chain()?;
	let spec = spec(&portal, &chain, &request).await?;
	let (reserve, able) = tokio::try_join!(chain.review_reserve(), chain.able_workers(&spec))
		.map_err(ApiError::chain)?;
	let free = match &signer {
		Some(who) => Some(chain.free_balance(who).await.map_err(ApiError::chain)?),
		None => None,
	};
	let replicas = spec.reward_per_task.saturating_mul(spec.replication.into());
	Ok(Json(json!({
		"task_count": spec.task_count,
		"reward": view::Amount::from(spec.reward_per_task),
		"replication": spec.replication,
		"per_task": { "replicas": view::Amount::from(replicas), "review": view::Amount::from(reserve) },
		"hold": view::Amount::from(ccgsc_chain::hold(
			spec.reward_per_task,
			spec.replication,
			spec.task_count,
			reserve
		)),
		"account": signer.map(|who| who.to_string()),
		"free": free.map(view::Amount::from),
		"workers": able,
		"too_few_workers": ccgsc_chain::too_few_workers(able, spec.replication),
	})))
}

/// The dev account `name` signs, on a portal started with `--dev`; `wallet_route` is where a
/// request without one goes to sign in the browser instead.
fn dev_key(
	portal: &Portal,
	name: Option<&str>,
	wallet_route: &str,
) -> ApiResult<ccgsc_chain::dev::Keypair> {
	let Some(name) = name else {
		return Err(ApiError::bad(format!(
			"name a dev_account (portal started with --dev), or sign in the browser: {wallet_route}"
		)));
	};
	if !portal.config().dev {
		return Err(ApiError::new(
			StatusCode::FORBIDDEN,
			"dev accounts sign only on a portal started with --dev: sign with your wallet",
		));
	}
	ccgsc_chain::dev::by_name(name).ok_or_else(|| {
		ApiError::bad(format!("no dev account {name:?}: {}", DEV_ACCOUNTS.join(", ")))
	})
}

async fn prepare(
	State(portal): State<Portal>,
	body: Result<Json<JobRequest>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
	let request = json_body(body)?;
	let account = signing_account(request.account.as_deref())?;
	let chain = portal.chain()?;
	let spec = spec(&portal, &chain, &request).await?;
	has_credits(&chain, &account).await?;
	let unsigned = chain.prepare_post_job(&account, &spec).await.map_err(ApiError::chain)?;
	await_signature(&portal, unsigned, Call::Post(spec))
}

/// Refuses (422), before the wallet is asked to sign, an account with no credits at all: it
/// cannot pay the transaction's fee, and the node would refuse the signed transaction as merely
/// invalid. (One with too few credits for a job's escrow is refused by the chain, by name.)
async fn has_credits(chain: &Chain, account: &AccountId32) -> ApiResult<()> {
	if chain.free_balance(account).await.map_err(ApiError::chain)? == 0 {
		return Err(ApiError::new(
			StatusCode::UNPROCESSABLE_ENTITY,
			format!(
				"the account {account} has no credits to pay the transaction fee: fund it first"
			),
		));
	}
	Ok(())
}

/// The wallet account a request names to sign.
fn signing_account(account: Option<&str>) -> ApiResult<AccountId32> {
	parse_account(
		account.ok_or_else(|| ApiError::bad("name the signing `account` (an SS58 address)"))?,
	)
}

/// Keeps `call`, prepared as `unsigned`, until the browser sends its signature to `POST
/// /api/jobs/submit`; returns the token it goes under, the `SignerPayloadJSON` for the
/// wallet's `signPayload`, and the bytes signed.
fn await_signature(
	portal: &Portal,
	unsigned: ccgsc_chain::Unsigned,
	call: Call,
) -> ApiResult<Json<serde_json::Value>> {
	let account = unsigned.account;
	let mut token = [0u8; 16];
	getrandom::getrandom(&mut token).map_err(ApiError::internal)?;
	let token = hex(&token)[2..].to_string();
	let hex32 = |n: u32| format!("0x{n:08x}");
	let payload = json!({
		"address": account.to_string(),
		"blockHash": hex(&unsigned.genesis_hash),
		"blockNumber": hex32(unsigned.block_number),
		"era": "0x00",
		"genesisHash": hex(&unsigned.genesis_hash),
		"method": hex(&unsigned.call_data),
		"nonce": hex32(unsigned.nonce as u32),
		"signedExtensions": unsigned.extensions,
		"specVersion": hex32(unsigned.spec_version),
		"tip": "0x00000000000000000000000000000000",
		"transactionVersion": hex32(unsigned.transaction_version),
		"version": 4,
	});
	let signer_payload = hex(&unsigned.signer_payload);
	{
		let mut prepared = portal.inner.prepared.lock().expect("prepared lock poisoned");
		prepared.retain(|_, p| p.at.elapsed() < PREPARED_TTL);
		if prepared.len() >= PREPARED_MAX {
			return Err(ApiError::new(
				StatusCode::TOO_MANY_REQUESTS,
				"too many transactions wait for signatures; try again in a few minutes",
			));
		}
		prepared.insert(token.clone(), Prepared { unsigned, call, at: Instant::now() });
	}
	Ok(Json(json!({ "token": token, "payload": payload, "signer_payload": signer_payload })))
}

/// A wallet's signature for a prepared transaction.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Signed {
	token: String,
	/// Hex of a `MultiSignature`: a type byte (0 ed25519, 1 sr25519, 2 ecdsa), then the
	/// signature; as polkadot-js's `signPayload` returns it.
	signature: String,
}

fn parse_signature(hex_sig: &str) -> ApiResult<MultiSignature> {
	let bytes = unhex(hex_sig).ok_or_else(|| ApiError::bad("signature is not hex"))?;
	let bad = || {
		ApiError::bad(
			"signature is a MultiSignature: 0x00 or 0x01 and 64 bytes (ed25519, sr25519), or 0x02 and 65 bytes (ecdsa)",
		)
	};
	match bytes.split_first() {
		Some((0, sig)) => Ok(MultiSignature::Ed25519(sig.try_into().map_err(|_| bad())?)),
		Some((1, sig)) => Ok(MultiSignature::Sr25519(sig.try_into().map_err(|_| bad())?)),
		Some((2, sig)) => Ok(MultiSignature::Ecdsa(sig.try_into().map_err(|_| bad())?)),
		_ => Err(bad()),
	}
}

async fn submit(
	State(portal): State<Portal>,
	body: Result<Json<Signed>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
	let signed = json_body(body)?;
	let signature = parse_signature(&signed.signature)?;
	let chain = portal.chain()?;
	let prepared = {
		let mut prepared = portal.inner.prepared.lock().expect("prepared lock poisoned");
		prepared.retain(|_, p| p.at.elapsed() < PREPARED_TTL);
		prepared.remove(&signed.token)
	}
	.ok_or_else(|| {
		ApiError::not_found(
			"no transaction waits under this token (they expire after 10 minutes): prepare it again",
		)
	})?;
	match &prepared.call {
		Call::Post(spec) => {
			let job = chain
				.submit_signed_post_job(&prepared.unsigned, spec, signature)
				.await
				.map_err(ApiError::chain)?;
			Ok((StatusCode::CREATED, Json(json!({ "job": job }))))
		},
		Call::Cancel(job) => {
			let refunded = chain
				.submit_signed_cancel_job(&prepared.unsigned, *job, signature)
				.await
				.map_err(ApiError::chain)?;
			Ok((StatusCode::OK, cancelled(*job, refunded)))
		},
	}
}

// ---- cancelling ----

/// Who cancels a job: a dev account (`POST /api/jobs/{id}/cancel`, with `--dev`) or the
/// wallet account that will sign (`POST /api/jobs/{id}/cancel/prepare`).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
	#[serde(default)]
	dev_account: Option<String>,
	#[serde(default)]
	account: Option<String>,
}

/// Cancels a job with a dev account (portal started with `--dev`).
async fn cancel(
	State(portal): State<Portal>,
	Path(id): Path<String>,
	body: Result<Json<CancelRequest>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
	let id = parse_job_id(&id)?;
	let request = json_body(body)?;
	let wallet_route = format!("POST /api/jobs/{id}/cancel/prepare");
	let key = dev_key(&portal, request.dev_account.as_deref(), &wallet_route)?;
	let chain = portal.chain()?;
	cancellable(&chain, id, &key.public_key().into()).await?;
	let refunded = chain.cancel_job(&key, id).await.map_err(ApiError::chain)?;
	Ok(cancelled(id, refunded))
}

/// Prepares a job's cancellation for the wallet of its poster (see [`prepare`]).
async fn prepare_cancel(
	State(portal): State<Portal>,
	Path(id): Path<String>,
	body: Result<Json<CancelRequest>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
	let id = parse_job_id(&id)?;
	let request = json_body(body)?;
	let account = signing_account(request.account.as_deref())?;
	let chain = portal.chain()?;
	cancellable(&chain, id, &account).await?;
	has_credits(&chain, &account).await?;
	let unsigned = chain.prepare_cancel_job(&account, id).await.map_err(ApiError::chain)?;
	await_signature(&portal, unsigned, Call::Cancel(id))
}

/// Refuses to cancel job `id` as `who` unless it exists (404; 410 once its record is gone),
/// is open (409) and `who` posted it (403), so nobody signs a cancellation the chain would
/// refuse.
async fn cancellable(chain: &Chain, id: JobId, who: &AccountId32) -> ApiResult<()> {
	let Some(job) = chain.job(id).await.map_err(ApiError::chain)? else {
		return Err(missing_job(chain, id).await);
	};
	if !matches!(job.status, ccgsc_chain::api::runtime_types::pallet_jobs::types::JobStatus::Open) {
		return Err(ApiError::new(
			StatusCode::CONFLICT,
			format!("job {id} is {}: only an open job can be cancelled", view::status(&job.status)),
		));
	}
	if job.poster != *who {
		return Err(ApiError::new(
			StatusCode::FORBIDDEN,
			format!("job {id} was posted by {}: only its poster can cancel it", job.poster),
		));
	}
	Ok(())
}

/// A cancellation's answer: whether the job ended at once, and if so what returned (else it
/// ends once the tasks whose results are in have settled, as `GET /api/jobs/{id}` shows).
fn cancelled(job: JobId, refunded: Option<ccgsc_chain::Balance>) -> Json<serde_json::Value> {
	Json(json!({
		"job": job,
		"status": "cancelled",
		"ended": refunded.is_some(),
		"refunded": refunded.map(view::Amount::from),
	}))
}

// ---- watching ----

async fn list_jobs(State(portal): State<Portal>) -> ApiResult<Json<Vec<view::JobSummary>>> {
	let chain = portal.chain()?;
	let jobs = chain.jobs().await.map_err(ApiError::chain)?;
	Ok(Json(
		jobs.iter()
			.take(200)
			.map(|(id, job)| {
				let module = ContentId(job.spec.module.0);
				view::summary(*id, job, portal.workload_of(&module))
			})
			.collect(),
	))
}

/// The tile layout of a Mandelbrot job whose inputs are in the store.
async fn layout(portal: &Portal, id: JobId, root: Hash) -> Option<Arc<view::Layout>> {
	if let Some(layout) = portal.inner.layouts.lock().expect("layouts lock poisoned").get(&id) {
		return Some(layout.clone());
	}
	let store = portal.p2p().store().clone();
	let tiles = tokio::task::spawn_blocking(move || {
		let ids = store.inputs(&root).ok()??;
		ids.iter()
			.map(|input| ccgsc_tasks::mandelbrot::Tile::decode(&store.get(input).ok()??).ok())
			.collect::<Option<Vec<_>>>()
	})
	.await
	.ok()??;
	let layout = Arc::new(view::Layout::from(ccgsc_tasks::mandelbrot::Layout::of(&tiles)?));
	portal.inner.layouts.lock().expect("layouts lock poisoned").insert(id, layout.clone());
	Some(layout)
}

/// Why job `id` has no record: 410 for a job that was (its record removed), so a client can
/// tell it from a mistyped id (404).
async fn missing_job(chain: &Chain, id: JobId) -> ApiError {
	match chain.job_pruned(id).await {
		Ok(true) => ApiError::new(StatusCode::GONE, ccgsc_chain::job_gone(id)),
		Ok(false) => ApiError::not_found(format!("no job {id}")),
		Err(e) => ApiError::chain(e),
	}
}

async fn job_view(portal: &Portal, id: JobId) -> ApiResult<view::JobView> {
	let chain = portal.chain()?;
	// The job and its tasks from one block, so the counts and the task states agree.
	let Some(ccgsc_chain::JobSnapshot { at, job, tasks }) =
		chain.job_with_tasks(id).await.map_err(ApiError::chain)?
	else {
		return Err(missing_job(&chain, id).await);
	};
	let module = ContentId(job.spec.module.0);
	let workload = portal.workload_of(&module);
	let image = match workload {
		Some("mandelbrot") => layout(portal, id, job.spec.inputs_root).await.map(|l| (*l).clone()),
		_ => None,
	};
	let p2p = portal.p2p();
	let mut claimed = tasks.iter().peekable();
	let views: Vec<view::TaskView> = (0..job.spec.task_count)
		.map(|index| {
			let info = claimed.next_if(|(i, _)| *i == index).map(|(_, t)| t);
			view::task(&job.status, index, info, |id| p2p.has(id))
		})
		.collect();
	let (answer, views) = match workload {
		Some(workload @ ("primes" | "pwhash" | "matmul")) => {
			let (portal, root) = (portal.clone(), job.spec.inputs_root);
			tokio::task::spawn_blocking(move || {
				let store = portal.p2p().store();
				(answer::of(workload, &root, &views, store, &portal.inner.answers), views)
			})
			.await
			.map_err(ApiError::internal)?
		},
		_ => (None, views),
	};
	let status = view::status(&job.status);
	Ok(view::JobView {
		id,
		poster: job.poster.to_string(),
		status,
		finished: job.ended.is_some(),
		task_count: job.spec.task_count,
		settled: job.settled,
		in_flight: job.in_flight,
		escrow: job.escrow.into(),
		spent: job.spent.into(),
		reward_per_task: job.spec.reward_per_task.into(),
		replication: job.spec.replication,
		module,
		args: job.spec.args.0.iter().map(|a| String::from_utf8_lossy(&a.0).into_owned()).collect(),
		deadline: job.spec.deadline,
		at,
		workload,
		image,
		answer,
		tasks: views,
	})
}

async fn job(
	State(portal): State<Portal>,
	Path(id): Path<String>,
) -> ApiResult<Json<view::JobView>> {
	let id = parse_job_id(&id)?;
	Ok(Json(job_view(&portal, id).await?))
}

/// What an event stream keeps between events.
struct Watch {
	portal: Portal,
	id: JobId,
	last: Option<view::JobView>,
	connected: Option<bool>,
	blocks: tokio::sync::watch::Receiver<u32>,
	link: tokio::sync::watch::Receiver<Option<Chain>>,
}

fn status_event(connected: bool) -> Event {
	Event::default()
		.event("status")
		.data(json!({ "chain": if connected { "connected" } else { "reconnecting" } }).to_string())
}

/// Server-sent events: `status` (`{"chain": "connected" | "reconnecting"}`) when the node
/// connection changes, and `job` (the job as `GET /api/jobs/{id}` shows it) whenever a
/// finalized block changes it.
async fn job_events(
	State(portal): State<Portal>,
	Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
	let id = parse_job_id(&id)?;
	let first = job_view(&portal, id).await?;
	let (blocks, link) = portal.inner.link.changes();
	let head = futures::stream::iter([Ok(job_event(&first))]);
	let watch = Watch { portal, id, last: Some(first), connected: None, blocks, link };
	let rest = futures::stream::unfold(watch, |mut w| async move {
		loop {
			let connected = w.portal.connected();
			if w.connected != Some(connected) {
				w.connected = Some(connected);
				return Some((Ok(status_event(connected)), w));
			}
			tokio::select! {
				changed = w.blocks.changed() => changed.ok()?,
				changed = w.link.changed() => changed.ok()?,
			}
			if !w.portal.connected() {
				continue;
			}
			let Ok(view) = job_view(&w.portal, w.id).await else { continue };
			let unchanged = w
				.last
				.as_ref()
				.is_some_and(|last| view::JobView { at: last.at, ..view.clone() } == *last);
			if !unchanged {
				let event = job_event(&view);
				w.last = Some(view);
				return Some((Ok(event), w));
			}
		}
	});
	Ok(Sse::new(futures::StreamExt::chain(head, rest)).keep_alive(KeepAlive::default()))
}

fn job_event(view: &view::JobView) -> Event {
	Event::default()
		.event("job")
		.json_data(view)
		.unwrap_or_else(|e| Event::default().event("error").data(e.to_string()))
}

/// `C` of a `matmul` job whose every band is accepted and held here: the bands' outputs in
/// task order, `rows × cols` little-endian f32, row-major.
async fn product(State(portal): State<Portal>, Path(id): Path<String>) -> ApiResult<Response> {
	let id = parse_job_id(&id)?;
	let view = job_view(&portal, id).await?;
	let Some(answer::Answer::Product { rows, cols, bands, complete, .. }) = view.answer else {
		return Err(ApiError::not_found(format!(
			"job {id} is not a matrix product: its module is not the built-in matmul, or the \
			 portal does not hold its inputs"
		)));
	};
	if !complete {
		return Err(ApiError::new(
			StatusCode::CONFLICT,
			format!(
				"the product of job {id} is not complete yet: {bands} of its {} bands are \
				 accepted and held here",
				view.task_count
			),
		));
	}
	let outputs: Vec<ContentId> = view.tasks.iter().filter_map(|t| t.output).collect();
	let store = portal.p2p().store().clone();
	let bands = futures::StreamExt::then(futures::stream::iter(outputs), move |output| {
		let store = store.clone();
		async move {
			let missing = || std::io::Error::other(format!("output {output} left the store"));
			tokio::task::spawn_blocking(move || store.get(&output))
				.await
				.map_err(std::io::Error::other)??
				.ok_or_else(missing)
		}
	});
	let name = format!("attachment; filename=\"job{id}-product-{rows}x{cols}-f32le.bin\"");
	Ok((
		[
			(header::CONTENT_TYPE, "application/octet-stream".to_string()),
			(header::CONTENT_LENGTH, (rows * u64::from(cols) * 4).to_string()),
			(header::CONTENT_DISPOSITION, name),
		],
		axum::body::Body::from_stream(bands),
	)
		.into_response())
}

// ---- content ----

/// Query of `GET /api/content/{id}`.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ContentQuery {
	/// Serve as a download with this file name.
	#[serde(default)]
	name: Option<String>,
}

/// A blob from the portal's store, fetched from the network first if the portal does not
/// hold it. Blobs are checked chunk by chunk against their id as they arrive, so what is
/// served is what the id names.
async fn content(
	State(portal): State<Portal>,
	Path(id): Path<String>,
	query: Result<Query<ContentQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
	let id = parse_content_id(&id)?;
	let Query(query) = query.map_err(|e| ApiError::bad(e.body_text()))?;
	let p2p = portal.p2p();
	if !p2p.has(&id) {
		match tokio::time::timeout(FETCH_TIMEOUT, p2p.fetch(id)).await {
			Ok(Ok(_)) => {},
			Ok(Err(ccgsc_p2p::Error::NotFound(_))) => {
				return Err(ApiError::not_found(format!("no peer provides content {id}")))
			},
			Ok(Err(e)) => {
				return Err(ApiError::new(
					StatusCode::BAD_GATEWAY,
					format!("cannot fetch content {id}: {e}"),
				))
			},
			Err(_) => {
				return Err(ApiError::new(
					StatusCode::GATEWAY_TIMEOUT,
					format!("content {id} did not arrive within {FETCH_TIMEOUT:?}"),
				))
			},
		}
	}
	let store = p2p.store().clone();
	let bytes = tokio::task::spawn_blocking(move || store.get(&id))
		.await
		.map_err(ApiError::internal)?
		.map_err(ApiError::internal)?
		.ok_or_else(|| ApiError::not_found(format!("content {id} is not in the store")))?;
	let mut response = (
		[
			(header::CONTENT_TYPE, "application/octet-stream".to_string()),
			(header::HeaderName::from_static("x-content-id"), id.to_string()),
		],
		bytes,
	)
		.into_response();
	if let Some(name) = query.name {
		let name: String = name
			.chars()
			.filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
			.take(128)
			.collect();
		let name = if name.is_empty() { format!("{id}.bin") } else { name };
		if let Ok(value) = format!("attachment; filename=\"{name}\"").parse() {
			response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
		}
	}
	Ok(response)
}

// ---- participants ----

async fn workers(State(portal): State<Portal>) -> ApiResult<Json<Vec<view::WorkerView>>> {
	let chain = portal.chain()?;
	let (workers, rules) = tokio::try_join!(
		async { chain.workers().await.map_err(ApiError::chain) },
		rules(&portal, &chain)
	)?;
	Ok(Json(workers.iter().map(|(who, w)| view::worker(who, w, &rules)).collect()))
}

/// What standings are judged against: the runtime's minimum stakes (from the node's
/// metadata) and the finalized block.
async fn rules(portal: &Portal, chain: &Chain) -> ApiResult<view::Rules> {
	let (min_worker_stake, min_checker_stake) =
		tokio::try_join!(chain.min_worker_stake(), chain.min_checker_stake())
			.map_err(ApiError::chain)?;
	Ok(view::Rules { min_worker_stake, min_checker_stake, now: portal.inner.link.finalized() })
}

async fn checkers(State(portal): State<Portal>) -> ApiResult<Json<Vec<view::CheckerView>>> {
	let chain = portal.chain()?;
	let (checkers, rules) = tokio::try_join!(
		async { chain.checkers().await.map_err(ApiError::chain) },
		rules(&portal, &chain)
	)?;
	Ok(Json(checkers.iter().map(|(who, c)| view::checker(who, c, &rules)).collect()))
}

/// An account: its free credits, the escrow its jobs hold and those jobs (newest first, the
/// chain's records: a job's is removed a week after it ends), and its worker and checker
/// records if it has them.
async fn account(
	State(portal): State<Portal>,
	Path(account): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
	let who = parse_account(&account)?;
	let chain = portal.chain()?;
	let free = chain.free_balance(&who).await.map_err(ApiError::chain)?;
	let worker = chain.worker(&who).await.map_err(ApiError::chain)?;
	let checker = chain.checker(&who).await.map_err(ApiError::chain)?;
	let rules = rules(&portal, &chain).await?;
	let jobs = chain.jobs().await.map_err(ApiError::chain)?;
	let posted: Vec<_> = jobs.iter().filter(|(_, job)| job.poster == who).collect();
	let held: Balance = posted.iter().map(|(_, job)| job.escrow).sum();
	let posted: Vec<_> = posted
		.iter()
		.take(200)
		.map(|(id, job)| view::summary(*id, job, portal.workload_of(&ContentId(job.spec.module.0))))
		.collect();
	Ok(Json(json!({
		"account": who.to_string(),
		"free": view::Amount::from(free),
		"held": view::Amount::from(held),
		"jobs": posted,
		"worker": worker.map(|w| view::worker(&who, &w, &rules)),
		"checker": checker.map(|c| view::checker(&who, &c, &rules)),
	})))
}
