//! The web portal against the real dev node: its API through `app(state)` and `oneshot`
//! (every bad request refused with a 4xx that says what is wrong, and nothing written), a job
//! signed the way a browser wallet signs it, and a Mandelbrot job posted through the API that
//! two real workers run, followed over server-sent events, its outputs kept by the portal
//! after the workers stop and served across a node restart; a prime count, a password search
//! and a matrix product whose answers (the primes counted, the password found, `C` whole) the
//! portal reads from their outputs; a result accepted alone shown with its output while its
//! audit window is open; outputs kept while the chain keeps their job's record, and removed
//! with it; and the workers page, where operators find their workers and checkers with their
//! stakes and standing, and a quote that counts the workers able to take a job's tasks.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo test --release -p ccgsc-tests --test
//! portal`.

use std::time::{Duration, Instant};

use axum::{
	body::Body,
	http::{Request, StatusCode},
	Router,
};
use ccgsc_chain::{Ed25519Signer, Profile, UNIT};
use ccgsc_portal::{Config, Portal, Running, UploadLimits};
use ccgsc_primitives::PlatformClass;
use ccgsc_tests::{
	market::{account, fund, logs, start_worker},
	Node,
};
use codec::{Compact, Encode};
use futures::StreamExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// Starts a portal on `node` with its state in `dir`.
async fn start_portal(
	node: &Node,
	dir: &std::path::Path,
	dev: bool,
	limits: UploadLimits,
) -> Running {
	let mut config = Config::new(node.ws_url(), dir);
	config.dev = dev;
	config.limits = limits;
	let running = Portal::start(config).await.expect("the portal starts");
	let portal = running.portal();
	let started = Instant::now();
	while !portal.connected() {
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"the portal reaches the node\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	running
}

/// Sends `request` and returns the status and the JSON body (or `null`).
async fn call(app: &Router, request: Request<Body>) -> (StatusCode, Value) {
	let response = app.clone().oneshot(request).await.expect("the router answers");
	let status = response.status();
	let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("a body");
	(status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Sends `request` and returns the status and the raw body.
async fn call_bytes(app: &Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
	let response = app.clone().oneshot(request).await.expect("the router answers");
	let status = response.status();
	let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.expect("a body");
	(status, bytes.to_vec())
}

fn get(uri: &str) -> Request<Body> {
	Request::get(uri).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, body: &Value) -> Request<Body> {
	Request::post(uri)
		.header("content-type", "application/json")
		.body(Body::from(body.to_string()))
		.unwrap()
}

/// A multipart upload of `parts` (name, bytes).
fn upload(parts: &[(&str, &[u8])]) -> Request<Body> {
	let boundary = "ccgsc-test-boundary-7d3a";
	let mut body = Vec::new();
	for (i, (name, bytes)) in parts.iter().enumerate() {
		body.extend_from_slice(
			format!(
				"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}-{i}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
			)
			.as_bytes(),
		);
		body.extend_from_slice(bytes);
		body.extend_from_slice(b"\r\n");
	}
	body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
	Request::post("/api/uploads")
		.header("content-type", format!("multipart/form-data; boundary={boundary}"))
		.body(Body::from(body))
		.unwrap()
}

/// Asserts a 4xx whose `error` message contains `says`.
#[track_caller]
fn refused((status, body): (StatusCode, Value), code: StatusCode, says: &str) {
	let message = body["error"].as_str().unwrap_or_default();
	assert_eq!(status, code, "expected {code} saying {says:?}, got {status}: {body}");
	assert!(
		message.to_lowercase().contains(&says.to_lowercase()),
		"the message says {says:?}: {message:?}"
	);
}

fn stored(portal: &Portal) -> (usize, usize) {
	let store = portal.p2p().store();
	(store.list().unwrap().len(), store.list_inputs().unwrap().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_a_4xx_that_says_what_is_wrong_and_nothing_is_written() {
	logs();
	let node = Node::dev();
	let dir = tempfile::tempdir().unwrap();
	let limits = UploadLimits {
		module_bytes: 1 << 20,
		input_bytes: 1024,
		request_bytes: 8 << 20,
		inputs: 4,
		uploads_per_minute: 1000,
	};
	let running = start_portal(&node, &dir.path().join("portal"), true, limits).await;
	let portal = running.portal();
	let app = ccgsc_portal::app(portal.clone());
	let primes = ccgsc_task_modules::PRIMES;
	let input = ccgsc_tasks::primes::input(0, 1000);

	// Uploads.
	refused(
		call(&app, post_json("/api/uploads", &json!({"module": "x"}))).await,
		StatusCode::BAD_REQUEST,
		"multipart",
	);
	refused(
		call(&app, upload(&[("input", &input)])).await,
		StatusCode::BAD_REQUEST,
		"no `module` part",
	);
	refused(
		call(&app, upload(&[("module", primes)])).await,
		StatusCode::BAD_REQUEST,
		"no `input` parts",
	);
	// Twice: the second answer, from the executor's cached verdict, says the same.
	for _ in 0..2 {
		refused(
			call(&app, upload(&[("module", b"not wasm at all"), ("input", &input)])).await,
			StatusCode::BAD_REQUEST,
			"the module cannot run as a task: not a WebAssembly binary: it begins with the bytes \
			 6e 6f 74 20",
		);
	}
	let imports_unknown = wat::parse_str(
		r#"(module (import "env" "launch_missiles" (func)) (func (export "_start")) (memory (export "memory") 1))"#,
	)
	.unwrap();
	refused(
		call(&app, upload(&[("module", &imports_unknown), ("input", &input)])).await,
		StatusCode::BAD_REQUEST,
		"cannot run as a task",
	);
	refused(
		call(&app, upload(&[("module", primes), ("module", primes), ("input", &input)])).await,
		StatusCode::BAD_REQUEST,
		"more than one `module`",
	);
	refused(
		call(&app, upload(&[("module", primes), ("inputs", &input)])).await,
		StatusCode::BAD_REQUEST,
		"unexpected part \"inputs\"",
	);
	refused(
		call(&app, upload(&[("module", primes), ("input", &[7u8; 1025])])).await,
		StatusCode::PAYLOAD_TOO_LARGE,
		"larger than",
	);
	refused(
		call(&app, upload(&[("module", &vec![0u8; (1 << 20) + 1]), ("input", &input)])).await,
		StatusCode::PAYLOAD_TOO_LARGE,
		"the module",
	);
	let five: Vec<(&str, &[u8])> =
		std::iter::once(("module", primes)).chain([("input", &input[..]); 5]).collect();
	refused(call(&app, upload(&five)).await, StatusCode::PAYLOAD_TOO_LARGE, "more than 4 inputs");

	// Built-in workloads.
	refused(
		call(&app, post_json("/api/workloads/sorting", &json!({}))).await,
		StatusCode::BAD_REQUEST,
		"no built-in workload",
	);
	refused(
		call(&app, post_json("/api/workloads/mandelbrot", &json!({"width": 1001}))).await,
		StatusCode::BAD_REQUEST,
		"multiples",
	);
	refused(
		call(&app, post_json("/api/workloads/primes", &json!({"limt": 10}))).await,
		StatusCode::BAD_REQUEST,
		"unknown field",
	);
	refused(
		call(&app, Request::post("/api/workloads/primes").body(Body::from("{not json")).unwrap())
			.await,
		StatusCode::BAD_REQUEST,
		"not JSON",
	);
	assert_eq!(stored(&portal), (0, 0), "refused uploads write nothing");

	// A good upload, for the job requests below; its bytes come back as they went in.
	let (status, good) = call(&app, upload(&[("module", primes), ("input", &input)])).await;
	assert_eq!(status, StatusCode::CREATED, "{good}");
	assert_eq!(good["task_count"], 1);
	assert_eq!(good["workload"], "primes");
	let module = good["module"].as_str().unwrap().to_string();
	let (status, bytes) =
		call_bytes(&app, get(&format!("/api/content/{}", good["inputs"][0].as_str().unwrap())))
			.await;
	assert_eq!((status, bytes), (StatusCode::OK, input.clone()));
	let after_upload = stored(&portal);
	assert_eq!(after_upload, (2, 1), "the module, the input and the input list");

	// Jobs.
	let request = |changes: Value| {
		let mut base = json!({
			"module": module, "inputs_root": good["inputs_root"], "reward": 0.01,
			"dev_account": "dave",
		});
		for (k, v) in changes.as_object().unwrap() {
			if v.is_null() {
				base.as_object_mut().unwrap().remove(k);
			} else {
				base[k] = v.clone();
			}
		}
		base
	};
	let job = |changes: Value| post_json("/api/jobs", &request(changes));
	refused(
		call(&app, Request::post("/api/jobs").body(Body::from("{}")).unwrap()).await,
		StatusCode::UNSUPPORTED_MEDIA_TYPE,
		"content-type",
	);
	refused(
		call(
			&app,
			Request::post("/api/jobs")
				.header("content-type", "application/json")
				.body(Body::from("{\"module\":"))
				.unwrap(),
		)
		.await,
		StatusCode::BAD_REQUEST,
		"json",
	);
	refused(
		call(&app, job(json!({"rewrad": 1}))).await,
		StatusCode::UNPROCESSABLE_ENTITY,
		"unknown field",
	);
	refused(
		call(&app, job(json!({"module": "abc"}))).await,
		StatusCode::BAD_REQUEST,
		"not a content id",
	);
	refused(
		call(
			&app,
			job(json!({"module": ccgsc_primitives::ContentId::of(b"elsewhere").to_string()})),
		)
		.await,
		StatusCode::BAD_REQUEST,
		"not in the portal's store",
	);
	refused(
		call(&app, job(json!({"inputs_root": "0x1234"}))).await,
		StatusCode::BAD_REQUEST,
		"32 bytes",
	);
	refused(
		call(&app, job(json!({"inputs_root": format!("0x{}", "ab".repeat(32))}))).await,
		StatusCode::BAD_REQUEST,
		"upload the inputs first",
	);
	refused(call(&app, job(json!({"reward": 0.0}))).await, StatusCode::BAD_REQUEST, "reward");
	refused(call(&app, job(json!({"reward": 5.0}))).await, StatusCode::BAD_REQUEST, "reward");
	refused(
		call(&app, job(json!({"replication": 9}))).await,
		StatusCode::BAD_REQUEST,
		"replication",
	);
	refused(call(&app, job(json!({"work": 0}))).await, StatusCode::BAD_REQUEST, "work");
	refused(call(&app, job(json!({"memory_mib": 0}))).await, StatusCode::BAD_REQUEST, "memory_mib");
	refused(
		call(&app, job(json!({"deadline_blocks": 1}))).await,
		StatusCode::BAD_REQUEST,
		"deadline",
	);
	refused(
		call(&app, job(json!({"args": vec!["x"; 17]}))).await,
		StatusCode::BAD_REQUEST,
		"at most 16 args",
	);
	refused(
		call(&app, job(json!({"dev_account": "mallory"}))).await,
		StatusCode::BAD_REQUEST,
		"no dev account",
	);
	refused(
		call(&app, job(json!({"dev_account": null}))).await,
		StatusCode::BAD_REQUEST,
		"dev_account",
	);
	refused(
		call(&app, post_json("/api/jobs/prepare", &json!({"module": module, "inputs_root": good["inputs_root"], "reward": 0.01, "account": "5NotAnAddress"}))).await,
		StatusCode::BAD_REQUEST,
		"not an SS58",
	);
	// A wallet account with no credits is told so before it is asked to sign.
	let unfunded = account(199).to_string();
	refused(
		call(&app, post_json("/api/jobs/prepare", &json!({"module": module, "inputs_root": good["inputs_root"], "reward": 0.01, "account": unfunded}))).await,
		StatusCode::UNPROCESSABLE_ENTITY,
		&format!("the account {unfunded} has no credits to pay the transaction fee: fund it first"),
	);
	// A quote is checked as posting is, and names what the signer has: here nothing, against
	// what the one-task job would hold.
	let quote = |changes: Value| post_json("/api/jobs/quote", &request(changes));
	refused(
		call(&app, quote(json!({"replication": 9}))).await,
		StatusCode::BAD_REQUEST,
		"replication",
	);
	refused(
		call(&app, quote(json!({"dev_account": "mallory"}))).await,
		StatusCode::BAD_REQUEST,
		"no dev account",
	);
	let (status, quoted) =
		call(&app, quote(json!({"dev_account": null, "account": unfunded, "reward": 0.05}))).await;
	assert_eq!(status, StatusCode::OK, "{quoted}");
	assert_eq!(units(&quoted["per_task"]["replicas"]), UNIT / 10, "two replicas at 0.05: {quoted}");
	assert!(units(&quoted["per_task"]["review"]) > 0, "{quoted}");
	assert_eq!(
		units(&quoted["hold"]),
		units(&quoted["per_task"]["replicas"]) + units(&quoted["per_task"]["review"]),
		"one task: {quoted}"
	);
	assert_eq!((&quoted["task_count"], &quoted["free"]["units"]), (&json!(1), &json!("0")));
	// Nobody has registered as a worker on this chain: the quote says the tasks would wait.
	assert_eq!(quoted["workers"], 0, "{quoted}");
	let warning = quoted["too_few_workers"].as_str().unwrap_or_default();
	assert!(warning.starts_with("no registered worker can take these tasks now"), "{quoted}");
	refused(
		call(
			&app,
			post_json(
				"/api/jobs/submit",
				&json!({"token": "nope", "signature": format!("0x01{}", "00".repeat(64))}),
			),
		)
		.await,
		StatusCode::NOT_FOUND,
		"prepare it again",
	);
	refused(
		call(
			&app,
			post_json("/api/jobs/submit", &json!({"token": "nope", "signature": "0x01abc"})),
		)
		.await,
		StatusCode::BAD_REQUEST,
		"not hex",
	);
	refused(
		call(
			&app,
			post_json(
				"/api/jobs/submit",
				&json!({"token": "nope", "signature": format!("0x07{}", "00".repeat(64))}),
			),
		)
		.await,
		StatusCode::BAD_REQUEST,
		"MultiSignature",
	);

	// Reading.
	refused(
		call(&app, get("/api/jobs/abc")).await,
		StatusCode::BAD_REQUEST,
		"a job id is a number",
	);
	refused(call(&app, get("/api/jobs/999")).await, StatusCode::NOT_FOUND, "no job 999");
	refused(call(&app, get("/api/jobs/999/events")).await, StatusCode::NOT_FOUND, "no job 999");
	refused(call(&app, get("/api/content/xyz")).await, StatusCode::BAD_REQUEST, "not a content id");
	refused(
		call(
			&app,
			get(&format!("/api/content/{}", ccgsc_primitives::ContentId::of(b"nobody has this"))),
		)
		.await,
		StatusCode::NOT_FOUND,
		"no peer provides",
	);
	refused(call(&app, get("/api/accounts/bob")).await, StatusCode::BAD_REQUEST, "not an SS58");
	refused(call(&app, get("/api/nothing-here")).await, StatusCode::NOT_FOUND, "no such page");

	// Nothing was written: no job on chain, the store as the good upload left it.
	let chain = node.client(Duration::from_secs(10)).await;
	assert!(chain.jobs().await.unwrap().is_empty(), "no job was posted");
	assert_eq!(stored(&portal), after_upload, "refused requests write nothing");

	// A portal without --dev holds no keys; a strict one limits requests and their rate.
	let strict_limits = UploadLimits {
		module_bytes: 1 << 20,
		input_bytes: 1 << 20,
		request_bytes: 64 * 1024,
		inputs: 4,
		uploads_per_minute: 2,
	};
	let strict = start_portal(&node, &dir.path().join("strict"), false, strict_limits).await;
	let strict_app = ccgsc_portal::app(strict.portal());
	refused(call(&strict_app, job(json!({}))).await, StatusCode::FORBIDDEN, "--dev");
	let (status, body) = call(&strict_app, get("/api/status")).await;
	assert_eq!(status, StatusCode::OK);
	assert_eq!(body["dev_accounts"], json!([]), "no dev accounts offered without --dev");
	refused(
		call(&strict_app, upload(&[("module", &vec![0u8; 100 * 1024]), ("input", &input)])).await,
		StatusCode::PAYLOAD_TOO_LARGE,
		"larger than the 64 KiB request limit",
	);
	refused(call(&strict_app, upload(&[])).await, StatusCode::BAD_REQUEST, "no `module`");
	refused(
		call(&strict_app, upload(&[])).await,
		StatusCode::TOO_MANY_REQUESTS,
		"at most 2 a minute",
	);
	assert_eq!(stored(&strict.portal()), (0, 0), "the strict portal wrote nothing");
	strict.stop().await;
	running.stop().await;
}

/// The bytes a polkadot-js wallet signs for `payload` (a `SignerPayloadJSON` of an immortal
/// transaction on this runtime's extensions), built from the JSON alone.
fn wallet_signing_bytes(payload: &Value) -> Vec<u8> {
	let hex = |key: &str| {
		let s = payload[key].as_str().unwrap().trim_start_matches("0x");
		(0..s.len())
			.step_by(2)
			.map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
			.collect::<Vec<u8>>()
	};
	let number = |key: &str| {
		u128::from_str_radix(payload[key].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
	};
	let extensions: Vec<&str> = payload["signedExtensions"]
		.as_array()
		.unwrap()
		.iter()
		.map(|e| e.as_str().unwrap())
		.collect();
	let mut extra = Vec::new();
	let mut additional = Vec::new();
	for extension in extensions {
		match extension {
			"CheckNonZeroSender" | "CheckWeight" => {},
			"CheckSpecVersion" => additional.extend((number("specVersion") as u32).encode()),
			"CheckTxVersion" => additional.extend((number("transactionVersion") as u32).encode()),
			"CheckGenesis" => additional.extend(hex("genesisHash")),
			"CheckMortality" => {
				extra.extend(hex("era"));
				additional.extend(hex("blockHash"));
			},
			"CheckNonce" => extra.extend(Compact(number("nonce") as u32).encode()),
			"ChargeTransactionPayment" => extra.extend(Compact(number("tip")).encode()),
			other => panic!("a wallet would not know the extension {other}"),
		}
	}
	let bytes = [hex("method"), extra, additional].concat();
	if bytes.len() > 256 {
		sp_crypto_hashing::blake2_256(&bytes).to_vec()
	} else {
		bytes
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wallet_posts_and_cancels_a_job_and_a_bad_signature_is_refused() {
	logs();
	let node = Node::dev();
	let dir = tempfile::tempdir().unwrap();
	let running = start_portal(&node, dir.path(), false, UploadLimits::default()).await;
	let app = ccgsc_portal::app(running.portal());
	let chain = node.client(Duration::from_secs(10)).await;
	let (status, uploaded) =
		call(&app, post_json("/api/workloads/primes", &json!({"limit": 100000, "tasks": 4}))).await;
	assert_eq!(status, StatusCode::CREATED, "{uploaded}");
	let ferdie = ccgsc_chain::dev::ferdie();
	let address = ccgsc_chain::AccountId32::from(ferdie.public_key());
	let request = json!({
		"module": uploaded["module"], "inputs_root": uploaded["inputs_root"], "args": uploaded["args"],
		"reward": 0.01, "work": uploaded["work"], "account": address.to_string(),
	});
	let issuance = chain.total_issuance().await.unwrap();

	// A signature by another key: the node refuses it, nothing is posted or charged.
	let (status, prepared) = call(&app, post_json("/api/jobs/prepare", &request)).await;
	assert_eq!(status, StatusCode::OK, "{prepared}");
	let signing = wallet_signing_bytes(&prepared["payload"]);
	let raw = prepared["signer_payload"].as_str().unwrap().trim_start_matches("0x");
	let raw: Vec<u8> = (0..raw.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&raw[i..i + 2], 16).unwrap())
		.collect();
	let expected = if raw.len() > 256 { sp_crypto_hashing::blake2_256(&raw).to_vec() } else { raw };
	assert_eq!(signing, expected, "a wallet signs exactly what the chain checks");
	let free_before = chain.free_balance(&address).await.unwrap();
	let forged = ccgsc_chain::dev::eve().sign(&signing);
	let hex =
		|sig: &[u8]| format!("0x01{}", sig.iter().map(|b| format!("{b:02x}")).collect::<String>());
	let (status, body) = call(
		&app,
		post_json(
			"/api/jobs/submit",
			&json!({"token": prepared["token"], "signature": hex(&forged.0)}),
		),
	)
	.await;
	assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
	assert!(body["error"].as_str().unwrap().contains("refused"), "{body}");
	assert!(chain.jobs().await.unwrap().is_empty(), "no job from a forged signature");
	assert_eq!(chain.free_balance(&address).await.unwrap(), free_before, "nothing charged");

	// The owner's signature over what the wallet built from the JSON: posted, by Ferdie.
	let (status, prepared) = call(&app, post_json("/api/jobs/prepare", &request)).await;
	assert_eq!(status, StatusCode::OK, "{prepared}");
	let signature = ferdie.sign(&wallet_signing_bytes(&prepared["payload"]));
	let (status, posted) = call(
		&app,
		post_json(
			"/api/jobs/submit",
			&json!({"token": prepared["token"], "signature": hex(&signature.0)}),
		),
	)
	.await;
	assert_eq!(status, StatusCode::CREATED, "{posted}");
	let id = posted["job"].as_u64().unwrap();
	let (status, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
	assert_eq!(status, StatusCode::OK, "{view}");
	assert_eq!(view["poster"], address.to_string());
	assert_eq!(view["task_count"], 4);
	assert_eq!(view["workload"], "primes");
	assert_eq!(view["status"], "open");
	// The token was used up.
	refused(
		call(
			&app,
			post_json(
				"/api/jobs/submit",
				&json!({"token": prepared["token"], "signature": hex(&signature.0)}),
			),
		)
		.await,
		StatusCode::NOT_FOUND,
		"prepare it again",
	);
	assert_eq!(
		chain.total_issuance().await.unwrap(),
		issuance,
		"posting moves credits into escrow, no more"
	);

	// Cancelling: only its poster may, only while it is open, and a portal without --dev
	// signs for nobody; each refused before there is anything to sign.
	let cancel_prepare = format!("/api/jobs/{id}/cancel/prepare");
	let eve = ccgsc_chain::AccountId32::from(ccgsc_chain::dev::eve().public_key());
	refused(
		call(&app, post_json(&cancel_prepare, &json!({"account": eve.to_string()}))).await,
		StatusCode::FORBIDDEN,
		&format!("job {id} was posted by {address}: only its poster can cancel it"),
	);
	refused(
		call(
			&app,
			post_json("/api/jobs/99/cancel/prepare", &json!({"account": address.to_string()})),
		)
		.await,
		StatusCode::NOT_FOUND,
		"no job 99",
	);
	refused(
		call(&app, post_json(&format!("/api/jobs/{id}/cancel"), &json!({"dev_account": "ferdie"})))
			.await,
		StatusCode::FORBIDDEN,
		"dev accounts sign only on a portal started with --dev",
	);
	refused(
		call(&app, post_json(&cancel_prepare, &json!({}))).await,
		StatusCode::BAD_REQUEST,
		"name the signing `account`",
	);
	let (_, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
	assert_eq!(view["status"], "open", "still open after the refusals: {view}");

	// Signed by the poster's wallet: nothing was under way (no worker here), so the job ends
	// at once and its whole escrow returns.
	let escrow = units(&view["escrow"]);
	assert!(escrow > 0, "{view}");
	let free_before = chain.free_balance(&address).await.unwrap();
	let (status, prepared) =
		call(&app, post_json(&cancel_prepare, &json!({"account": address.to_string()}))).await;
	assert_eq!(status, StatusCode::OK, "{prepared}");
	let signature = ferdie.sign(&wallet_signing_bytes(&prepared["payload"]));
	let (status, cancelled) = call(
		&app,
		post_json(
			"/api/jobs/submit",
			&json!({"token": prepared["token"], "signature": hex(&signature.0)}),
		),
	)
	.await;
	assert_eq!(status, StatusCode::OK, "{cancelled}");
	assert_eq!(cancelled["job"], id);
	assert_eq!(cancelled["ended"], true, "{cancelled}");
	assert_eq!(cancelled["refunded"]["units"], escrow.to_string(), "the whole escrow returned");
	let (_, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
	assert_eq!(view["status"], "cancelled", "{view}");
	assert_eq!(view["finished"], true, "{view}");
	assert_eq!(view["escrow"]["units"], "0", "{view}");
	assert_eq!(view["spent"]["units"], "0", "{view}");
	let back = chain.free_balance(&address).await.unwrap() - free_before;
	assert!(
		back < escrow && escrow - back < UNIT / 100,
		"the poster has the escrow back, less the cancel's fee: {back} of {escrow}"
	);
	refused(
		call(&app, post_json(&cancel_prepare, &json!({"account": address.to_string()}))).await,
		StatusCode::CONFLICT,
		&format!("job {id} is cancelled: only an open job can be cancelled"),
	);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "cancelling creates no credit");
	running.stop().await;
}

/// A dev-mode portal on a node, and two workers that fetch from it.
struct Market {
	dir: tempfile::TempDir,
	running: Running,
	app: Router,
	chain: ccgsc_chain::Chain,
	workers: [ccgsc_tests::market::Running<ccgsc_worker::Stats>; 2],
	/// Total issuance once the workers are funded.
	issuance: ccgsc_chain::Balance,
}

impl Market {
	async fn start(node: &Node) -> Self {
		let dir = tempfile::tempdir().unwrap();
		let running =
			start_portal(node, &dir.path().join("portal"), true, UploadLimits::default()).await;
		let portal = running.portal();
		let app = ccgsc_portal::app(portal.clone());
		let chain = node.client(Duration::from_secs(10)).await;
		fund(&chain, &[71, 72]).await;
		let bootstrap = portal.p2p().listen_addrs().await.unwrap();
		let workers = [
			start_worker(node, dir.path(), 71, bootstrap.clone(), false).await,
			start_worker(node, dir.path(), 72, bootstrap.clone(), false).await,
		];
		let issuance = chain.total_issuance().await.unwrap();
		Self { dir, running, app, chain, workers, issuance }
	}
}

/// Reads server-sent events from `body` until `done` accepts a `job` event; returns it.
async fn follow_events(
	body: Body,
	timeout: Duration,
	mut done: impl FnMut(&Value) -> bool,
) -> (Value, Vec<String>) {
	let mut stream = body.into_data_stream();
	let mut buffer = String::new();
	let mut kinds = Vec::new();
	let deadline = Instant::now() + timeout;
	loop {
		let left = deadline.saturating_duration_since(Instant::now());
		let chunk = tokio::time::timeout(left, stream.next())
			.await
			.expect("the job finishes in time")
			.expect("the stream stays open")
			.expect("a chunk");
		buffer.push_str(std::str::from_utf8(&chunk).unwrap());
		while let Some(end) = buffer.find("\n\n") {
			let frame: String = buffer.drain(..end + 2).collect();
			let mut kind = "message";
			let mut data = String::new();
			for line in frame.lines() {
				if let Some(k) = line.strip_prefix("event:") {
					kind = k.trim();
				} else if let Some(d) = line.strip_prefix("data:") {
					data.push_str(d.trim_start());
				}
			}
			if data.is_empty() {
				continue;
			}
			kinds.push(kind.to_string());
			if kind == "job" {
				let view: Value = serde_json::from_str(&data).unwrap();
				if done(&view) {
					return (view, kinds);
				}
			}
		}
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mandelbrot_job_from_the_portal_runs_live_and_its_outputs_outlive_workers_and_node_restarts(
) {
	logs();
	let mut node = Node::dev();
	let Market { dir: _dir, running, app, chain, workers, issuance } = Market::start(&node).await;

	let params = json!({"width": 256, "height": 192, "tiles_x": 4, "tiles_y": 4, "max_iter": 300});
	let (uploaded, id) = post_workload(&app, "mandelbrot", params).await;
	assert_eq!(uploaded["task_count"], 16);

	// Follow it live until it is finished and the portal holds every output.
	let response = app.clone().oneshot(get(&format!("/api/jobs/{id}/events"))).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	assert_eq!(response.headers()["content-type"], "text/event-stream");
	let mut states_seen = std::collections::BTreeSet::new();
	let (view, kinds) = follow_events(response.into_body(), Duration::from_secs(300), |v| {
		for t in v["tasks"].as_array().unwrap() {
			states_seen.insert(t["state"].as_str().unwrap().to_string());
		}
		v["finished"] == true && v["tasks"].as_array().unwrap().iter().all(|t| t["kept"] == true)
	})
	.await;
	assert!(
		kinds.iter().filter(|k| *k == "job").count() > 2,
		"the job streamed as it changed: {kinds:?}"
	);
	assert!(states_seen.contains("open") || states_seen.contains("claimed"), "{states_seen:?}");
	assert!(states_seen.contains("accepted"), "{states_seen:?}");
	assert_eq!(view["status"], "done");
	assert_eq!(view["settled"], 16);
	assert_eq!(view["escrow"]["units"], "0", "unspent escrow went back to the poster");
	let image = &view["image"];
	assert_eq!((image["width"].as_u64(), image["height"].as_u64()), (Some(256), Some(192)));

	// Every tile is the picture the native renderer draws, served by the portal itself once
	// the workers are gone.
	for worker in workers {
		worker.stop().await;
	}
	let tiles = ccgsc_tasks::mandelbrot::Tile::grid((-0.6, 0.0, 3.2), (256, 192), (4, 4), 300);
	let check_outputs = |view: Value| {
		let app = app.clone();
		let tiles = tiles.clone();
		async move {
			for (task, tile) in view["tasks"].as_array().unwrap().iter().zip(&tiles) {
				assert_eq!(task["state"], "accepted", "{task}");
				let uri =
					format!("/api/content/{}?name=tile.bin", task["output"].as_str().unwrap());
				let response = app.clone().oneshot(get(&uri)).await.unwrap();
				assert_eq!(response.status(), StatusCode::OK);
				assert_eq!(
					response.headers()["content-disposition"],
					"attachment; filename=\"tile.bin\""
				);
				let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
				assert_eq!(
					bytes.to_vec(),
					ccgsc_tasks::mandelbrot::render(tile),
					"task {}",
					task["index"]
				);
			}
		}
	};
	check_outputs(view.clone()).await;
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");

	// The node goes away: the portal says it is reconnecting, keeps serving what it holds,
	// and is back once the node is.
	node.kill();
	let started = Instant::now();
	loop {
		let (_, status) = call(&app, get("/api/status")).await;
		if status["chain"] == "reconnecting" {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(60), "the portal notices the node is gone");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	refused(
		call(&app, get(&format!("/api/jobs/{id}"))).await,
		StatusCode::SERVICE_UNAVAILABLE,
		"reconnecting",
	);
	check_outputs(view.clone()).await;
	node.restart();
	let started = Instant::now();
	let again = loop {
		let (status, body) = call(&app, get(&format!("/api/jobs/{id}"))).await;
		if status == StatusCode::OK {
			break body;
		}
		assert!(
			started.elapsed() < Duration::from_secs(120),
			"the portal reconnects: {body}\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	assert_eq!(again["status"], "done");
	assert_eq!(again["tasks"], view["tasks"], "the same accepted outputs after the restart");
	let (_, status) = call(&app, get("/api/status")).await;
	assert_eq!(status["chain"], "connected");
	running.stop().await;
}

/// An amount the API shows (`{"units": "...", "credits": ...}`), in units.
fn units(amount: &Value) -> u128 {
	amount["units"].as_str().and_then(|u| u.parse().ok()).unwrap_or_else(|| panic!("{amount}"))
}

/// Posts the built-in workload `name` made from `params`, signed by dev account `dave`, as the
/// web UI does: first asking what posting it holds; returns the upload (module, inputs, ...)
/// with that quote under `quote`, and the job id.
async fn post_workload(app: &Router, name: &str, params: Value) -> (Value, u64) {
	let (status, uploaded) = call(app, post_json(&format!("/api/workloads/{name}"), &params)).await;
	assert_eq!(status, StatusCode::CREATED, "{uploaded}");
	let job = json!({"module": uploaded["module"], "inputs_root": uploaded["inputs_root"],
		"args": uploaded["args"], "reward": 0.01, "work": uploaded["work"], "dev_account": "dave"});
	let (status, quoted) = call(app, post_json("/api/jobs/quote", &job)).await;
	assert_eq!(status, StatusCode::OK, "{quoted}");
	assert_eq!(quoted["task_count"], uploaded["task_count"], "{quoted}");
	let (status, posted) = call(app, post_json("/api/jobs", &job)).await;
	assert_eq!(status, StatusCode::CREATED, "{posted}");
	let mut uploaded = uploaded;
	uploaded["quote"] = quoted;
	(uploaded, posted["job"].as_u64().unwrap())
}

/// Job `id` once it has ended and the portal holds every accepted output.
async fn finished(app: &Router, id: u64, node: &Node) -> Value {
	let started = Instant::now();
	loop {
		let (status, view) = call(app, get(&format!("/api/jobs/{id}"))).await;
		assert_eq!(status, StatusCode::OK, "{view}");
		let tasks = view["tasks"].as_array().unwrap();
		if view["finished"] == true
			&& tasks.iter().all(|t| t["output"].is_null() || t["kept"] == true)
		{
			return view;
		}
		assert!(
			started.elapsed() < Duration::from_secs(300),
			"job {id} finishes: {view}\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// `C = A·B` summed in order of `k`, from a `matmul` input, written out by hand.
fn band_by_hand(input: &[u8]) -> Vec<u8> {
	let word = |i: usize| u32::from_le_bytes(input[4 * i..4 * i + 4].try_into().unwrap()) as usize;
	let (rows, inner, cols) = (word(0), word(1), word(2));
	let float = |i: usize| f32::from_le_bytes(input[4 * i..4 * i + 4].try_into().unwrap());
	let a = |r: usize, k: usize| float(3 + r * inner + k);
	let b = |k: usize, c: usize| float(3 + rows * inner + k * cols + c);
	let mut out = Vec::new();
	for r in 0..rows {
		for c in 0..cols {
			let sum = (0..inner).fold(0.0f32, |sum, k| sum + a(r, k) * b(k, c));
			out.extend_from_slice(&sum.to_le_bytes());
		}
	}
	out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prime_count_a_password_search_and_a_matrix_product_from_the_portal_show_their_answers() {
	logs();
	let node = Node::dev();
	let Market { dir: _dir, running, app, chain, workers, issuance } = Market::start(&node).await;

	// 4-digit PINs in four ranges of 2 500; 4321 is in the second.
	let search = json!({"digits": 4, "iterations": 50, "tasks": 4, "secret": 4321});
	let (_, search) = post_workload(&app, "pwhash", search).await;
	let (_, primes) = post_workload(&app, "primes", json!({"limit": 100_000, "tasks": 4})).await;
	let (uploaded, product) =
		post_workload(&app, "matmul", json!({"n": 48, "tiles": 3, "seed": 7})).await;
	// Asked for before any band can be accepted (that takes a claim, a commit and a reveal).
	refused(
		call(&app, get(&format!("/api/jobs/{product}/product"))).await,
		StatusCode::CONFLICT,
		&format!("the product of job {product} is not complete yet: 0 of its 3 bands"),
	);
	refused(
		call(&app, get(&format!("/api/jobs/{search}/product"))).await,
		StatusCode::NOT_FOUND,
		"is not a matrix product",
	);

	let view = finished(&app, search, &node).await;
	assert_eq!(view["status"], "done", "{view}");
	assert_eq!(
		view["answer"],
		json!({"kind": "password", "searched": 4, "failed": 0,
			"found": {"key": 4321, "password": "4321", "task": 1, "provisional": false}}),
	);

	let view = finished(&app, primes, &node).await;
	let pi = 9592; // primes below 100 000
	assert_eq!(
		view["answer"],
		json!({"kind": "primes", "count": pi, "counted": 4, "provisional": false})
	);

	let view = finished(&app, product, &node).await;
	assert_eq!(view["status"], "done", "{view}");
	assert_eq!(
		view["answer"],
		json!({"kind": "product", "rows": 48, "cols": 48, "bands": 3, "complete": true,
			"provisional": false}),
	);
	// C, whole: the bands in order, each what A·B is by hand for the inputs the portal stored.
	let mut by_hand = Vec::new();
	for input in uploaded["inputs"].as_array().unwrap() {
		let (status, bytes) =
			call_bytes(&app, get(&format!("/api/content/{}", input.as_str().unwrap()))).await;
		assert_eq!(status, StatusCode::OK);
		by_hand.extend(band_by_hand(&bytes));
	}
	let response = app.clone().oneshot(get(&format!("/api/jobs/{product}/product"))).await.unwrap();
	assert_eq!(response.status(), StatusCode::OK);
	assert_eq!(
		response.headers()["content-disposition"],
		format!("attachment; filename=\"job{product}-product-48x48-f32le.bin\"")
	);
	assert_eq!(response.headers()["content-length"], (48 * 48 * 4).to_string());
	let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
	assert!(bytes.to_vec() == by_hand, "C is A·B, band by band in order");

	for worker in workers {
		worker.stop().await;
	}
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	running.stop().await;
}

/// A poster cancels a running job with a dev account: new work stops, the tasks whose results
/// are in settle and are paid, the rest of the escrow returns, and the workers go on to the
/// next job.
/// A result a trusted worker's task is accepted on alone is provisional for its audit window
/// (30 blocks); the portal fetches and serves its output at once, marked provisional, and the
/// answer resting on it says so; once the window closes the task settles on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provisional_result_is_shown_with_its_output_before_its_audit_window_closes() {
	logs();
	let node = Node::dev();
	let Market { dir: _dir, running, app, chain, workers, issuance } = Market::start(&node).await;

	// Warm-up: both workers run every task of a fully replicated job and earn trust.
	let (_, warm_up) = post_workload(&app, "primes", json!({"limit": 60_000, "tasks": 12})).await;
	finished(&app, warm_up, &node).await;
	for worker in &workers {
		let record = chain.worker(&worker.account).await.unwrap().unwrap();
		assert!(record.reputation.consecutive_valid >= 5, "trusted after the warm-up");
	}

	// Trusted workers run most tasks once (there is no checker here to audit them), so some
	// result is accepted alone: the page shows its output before its window closes.
	let (_, id) = post_workload(&app, "primes", json!({"limit": 100_000, "tasks": 4})).await;
	let started = Instant::now();
	let (view, task) = loop {
		let (_, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
		let held = view["tasks"]
			.as_array()
			.unwrap()
			.iter()
			.find(|t| t["provisional"] == true && t["kept"] == true)
			.cloned();
		if let Some(task) = held {
			break (view, task);
		}
		assert!(
			started.elapsed() < Duration::from_secs(120),
			"a provisional output is held: {view}\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	};
	assert_eq!(task["state"], "accepted", "{task}");
	assert_eq!(view["answer"]["provisional"], true, "the answer rests on it: {view}");
	let index = task["index"].as_u64().unwrap();
	let (status, bytes) =
		call_bytes(&app, get(&format!("/api/content/{}", task["output"].as_str().unwrap()))).await;
	assert_eq!(status, StatusCode::OK);
	let range = ccgsc_tasks::primes::input(index * 25_000, (index + 1) * 25_000);
	let count = ccgsc_tasks::primes::run(&range, &["--count".into()]).unwrap();
	assert_eq!(bytes, count, "task {index}'s output, served while provisional");
	let settled = chain.task(id, index as u32).await.unwrap().unwrap();
	assert!(
		matches!(
			settled.phase,
			ccgsc_chain::api::runtime_types::pallet_jobs::types::Phase::Provisional(_)
		),
		"the chain has not settled it yet"
	);

	// The windows close, the tasks settle on what was shown, and the answer is final.
	let view = finished(&app, id, &node).await;
	assert_eq!(view["tasks"][index as usize]["output"], task["output"], "{view}");
	assert_eq!(
		view["answer"],
		json!({"kind": "primes", "count": 9592, "counted": 4, "provisional": false})
	);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poster_cancels_a_running_job_and_gets_back_what_it_did_not_spend() {
	logs();
	let node = Node::dev();
	let Market { dir: _dir, running, app, chain, workers, issuance } = Market::start(&node).await;
	let dave = ccgsc_chain::AccountId32::from(ccgsc_chain::dev::dave().public_key());
	let dave_before = chain.free_balance(&dave).await.unwrap();

	// Counting the primes below 1.6·10⁹ in sixteen ranges: most of a second each. What posting
	// it holds, quoted first, is what the chain holds.
	let params = json!({"limit": 1_600_000_000u64, "tasks": 16});
	let (uploaded, id) = post_workload(&app, "primes", params).await;
	let quoted = &uploaded["quote"];
	let (_, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
	let held = units(&view["escrow"]);
	let spent = units(&view["spent"]);
	assert_eq!(quoted["hold"]["units"], (held + spent).to_string(), "{quoted}\n{view}");
	assert_eq!(quoted["task_count"], 16);
	let dave_free = units(&quoted["free"]);
	assert_eq!(dave_free, dave_before, "{quoted}");
	let cancel = format!("/api/jobs/{id}/cancel");
	refused(
		call(&app, post_json(&cancel, &json!({"dev_account": "eve"}))).await,
		StatusCode::FORBIDDEN,
		"only its poster can cancel it",
	);
	refused(
		call(&app, post_json(&cancel, &json!({}))).await,
		StatusCode::BAD_REQUEST,
		&format!("name a dev_account (portal started with --dev), or sign in the browser: POST /api/jobs/{id}/cancel/prepare"),
	);

	// Once a task has settled, Dave cancels.
	let started = Instant::now();
	loop {
		let (_, view) = call(&app, get(&format!("/api/jobs/{id}"))).await;
		if view["settled"].as_u64().unwrap() > 0 {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(120), "a task settles: {view}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let (status, cancelled) = call(&app, post_json(&cancel, &json!({"dev_account": "dave"}))).await;
	assert_eq!(status, StatusCode::OK, "{cancelled}");
	assert_eq!(cancelled["status"], "cancelled");

	let view = finished(&app, id, &node).await;
	assert_eq!(view["status"], "cancelled", "{view}");
	let settled = view["settled"].as_u64().unwrap();
	assert!(settled < 16, "no new task started after the cancel: {settled} of 16 settled");
	assert_eq!(view["answer"]["counted"], settled, "the settled tasks were counted: {view}");
	// Every task it will never settle shows as skipped (never run, or run by fewer replicas
	// than it asked for), none as open, claimed or committed: nothing more comes.
	let mut states = std::collections::BTreeMap::<String, u64>::new();
	for task in view["tasks"].as_array().unwrap() {
		let state = task["state"].as_str().unwrap();
		*states.entry(state.into()).or_default() += 1;
		let why = task["skipped"].as_str().unwrap_or_default();
		assert_eq!(
			state == "skipped",
			why.starts_with("the job closed before"),
			"a skipped task, and only one, says why: {task}"
		);
	}
	assert_eq!(states.get("skipped").unwrap_or(&0) + settled, 16, "{states:?}");
	let done = states.get("accepted").unwrap_or(&0) + states.get("failed").unwrap_or(&0);
	assert_eq!(done, settled, "{states:?}");
	assert_eq!(view["escrow"]["units"], "0", "{view}");
	let spent = units(&view["spent"]);
	assert!(spent > 0, "the tasks under way were paid: {view}");
	let info = chain.job(id).await.unwrap().expect("kept");
	let refunded = chain.refunded(id, info.ended.expect("ended")).await.unwrap();
	assert_eq!(refunded + spent, held, "what was held was paid out or returned, nothing else");
	if cancelled["ended"] == true {
		assert_eq!(cancelled["refunded"]["units"], refunded.to_string());
	}
	let fees = dave_before - chain.free_balance(&dave).await.unwrap() - spent;
	assert!(fees < UNIT / 100, "Dave paid the settled tasks and two small fees ({fees})");
	refused(
		call(&app, post_json(&cancel, &json!({"dev_account": "dave"}))).await,
		StatusCode::CONFLICT,
		"only an open job can be cancelled",
	);

	// The workers let go of the cancelled job's tasks and take the next job.
	let (_, next) = post_workload(&app, "primes", json!({"limit": 100_000, "tasks": 2})).await;
	let view = finished(&app, next, &node).await;
	assert_eq!(view["status"], "done", "{view}");
	assert_eq!(view["answer"]["count"], 9592, "{view}");

	// Dave's account lists both jobs, newest first, with what each spent; they hold nothing
	// now.
	let (status, page) = call(&app, get(&format!("/api/accounts/{dave}"))).await;
	assert_eq!(status, StatusCode::OK, "{page}");
	assert_eq!(page["held"]["units"], "0", "{page}");
	let listed: Vec<_> = page["jobs"]
		.as_array()
		.unwrap()
		.iter()
		.map(|j| (j["id"].as_u64().unwrap(), j["status"].clone(), j["spent"]["units"].clone()))
		.collect();
	assert_eq!(
		listed,
		[
			(next, json!("done"), view["spent"]["units"].clone()),
			(id, json!("cancelled"), json!(spent.to_string()))
		],
		"{page}"
	);

	for worker in workers {
		worker.stop().await;
	}
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	running.stop().await;
}

/// The accepted output of each task of job `id`, from its view.
fn outputs(view: &Value) -> Vec<ccgsc_primitives::ContentId> {
	view["tasks"]
		.as_array()
		.unwrap()
		.iter()
		.map(|t| t["output"].as_str().unwrap().parse().unwrap())
		.collect()
}

/// Waits (a minute at most) until `holds` is false.
async fn until_dropped(what: &str, holds: impl Fn() -> bool) {
	let started = Instant::now();
	while holds() {
		assert!(started.elapsed() < Duration::from_secs(60), "{what}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn outputs_stay_on_the_portal_while_the_chain_keeps_their_jobs_record() {
	logs();
	let node = Node::dev();
	let Market { dir, running, app, chain, workers, issuance } = Market::start(&node).await;
	const RETENTION: u32 = 20;
	chain.set_job_retention(&ccgsc_chain::dev::alice(), RETENTION).await.unwrap();

	// Two password searches, one after the other: the ranges without the password give the
	// same output ([0]) in both jobs; the ranges with it, each its own.
	let mut jobs = Vec::new();
	for secret in [123, 456] {
		let params = json!({"digits": 3, "iterations": 20, "tasks": 3, "secret": secret});
		let (uploaded, id) = post_workload(&app, "pwhash", params).await;
		jobs.push((id, outputs(&finished(&app, id, &node).await), uploaded));
	}
	let [(first, first_outputs, uploaded), (second, second_outputs, _)] = &jobs[..] else {
		unreachable!()
	};
	let found = |outputs: &[ccgsc_primitives::ContentId], task: usize| outputs[task];
	let (first_found, second_found, not_found) =
		(found(first_outputs, 0), found(second_outputs, 1), found(first_outputs, 2));
	assert_eq!(not_found, found(second_outputs, 0), "both jobs share the output of a miss");
	let has = {
		let portal = running.portal();
		move |id: &ccgsc_primitives::ContentId| portal.p2p().has(id)
	};
	assert!([first_found, second_found, not_found].iter().all(&has), "the portal kept them");

	// The chain removes the first record: its own output goes, the shared one stays for the
	// second job, as do what the poster uploaded (the module and the inputs).
	while !chain.job_pruned(*first).await.unwrap() {
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	until_dropped("the first job's own output goes with its record", || has(&first_found)).await;
	assert!(!chain.job_pruned(*second).await.unwrap(), "the second job's record is still there");
	assert!(has(&not_found) && has(&second_found), "what the second job still has stays");
	let module: ccgsc_primitives::ContentId = uploaded["module"].as_str().unwrap().parse().unwrap();
	assert!(has(&module), "uploads stay");
	for input in uploaded["inputs"].as_array().unwrap() {
		assert!(has(&input.as_str().unwrap().parse().unwrap()), "uploads stay");
	}

	// The second record goes while the portal is stopped: started again, it drops that job's
	// outputs at once. (The notes of a directory belong to one portal at a time, so every
	// handle on this one goes first.)
	drop((has, app));
	running.stop().await;
	while !chain.job_pruned(*second).await.unwrap() {
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let running =
		start_portal(&node, &dir.path().join("portal"), true, UploadLimits::default()).await;
	let has = {
		let portal = running.portal();
		move |id: &ccgsc_primitives::ContentId| portal.p2p().has(id)
	};
	until_dropped("a restarted portal drops what it kept for records removed meanwhile", || {
		has(&second_found) || has(&not_found)
	})
	.await;
	assert!(has(&module), "uploads stay");

	for worker in workers {
		worker.stop().await;
	}
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	running.stop().await;
}

/// The entry of `account` in a list of workers or checkers, if it is there.
fn entry<'a>(list: &'a Value, account: &str) -> Option<&'a Value> {
	list.as_array()?.iter().find(|e| e["account"] == account)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workers_page_shows_each_worker_and_checker_with_its_stake_and_standing() {
	logs();
	let node = Node::dev();
	let dir = tempfile::tempdir().unwrap();
	let running =
		start_portal(&node, &dir.path().join("portal"), false, UploadLimits::default()).await;
	let app = ccgsc_portal::app(running.portal());
	let chain = node.client(Duration::from_secs(10)).await;
	fund(&chain, &[81, 82, 83, 84, 85]).await;
	let platform = PlatformClass::native().unwrap();
	let profile = Profile {
		cores: 2,
		memory_mib: 2048,
		score: 1_000_000_000,
		platform,
		executor_version: ccgsc_executor::VERSION,
		peer_id: vec![1; 38],
	};
	// A worker taking 200 of its 300 credits out keeps the minimum of 100 and stays active;
	// one taking all of its stake out is no longer offered work.
	let (staying, going) = (Ed25519Signer::from_seed([81; 32]), Ed25519Signer::from_seed([84; 32]));
	chain.register_worker(&staying, 300 * UNIT, &profile).await.unwrap();
	chain.register_worker(&going, 100 * UNIT, &profile).await.unwrap();
	let staying_until = chain.unbond_worker(&staying, 200 * UNIT).await.unwrap();
	let going_until = chain.unbond_worker(&going, 100 * UNIT).await.unwrap();
	// An active worker offering 64 MiB, a quarter of what a job asks by default.
	let small_profile = Profile { memory_mib: 64, ..profile.clone() };
	let small = Ed25519Signer::from_seed([85; 32]);
	chain.register_worker(&small, 100 * UNIT, &small_profile).await.unwrap();
	// A checker with the minimum stake checks; one that left unbonds.
	let (checking, leaving) =
		(Ed25519Signer::from_seed([82; 32]), Ed25519Signer::from_seed([83; 32]));
	chain.register_checker(&checking, 100 * UNIT, platform, ccgsc_executor::VERSION).await.unwrap();
	chain.register_checker(&leaving, 150 * UNIT, platform, ccgsc_executor::VERSION).await.unwrap();
	let leaving_until = chain.leave_checker(&leaving).await.unwrap();

	let [staying, going, checking, leaving, small] =
		[81, 84, 82, 83, 85].map(|s| account(s).to_string());
	// The portal reads the chain as it finalizes: wait for the last of these to show.
	let started = Instant::now();
	let (workers, checkers) = loop {
		let (status, workers) = call(&app, get("/api/workers")).await;
		assert_eq!(status, StatusCode::OK, "{workers}");
		let (status, checkers) = call(&app, get("/api/checkers")).await;
		assert_eq!(status, StatusCode::OK, "{checkers}");
		let shown = entry(&workers, &going).is_some_and(|w| !w["unbonding"].is_null())
			&& entry(&workers, &small).is_some()
			&& entry(&checkers, &leaving).is_some_and(|c| !c["leaving"].is_null());
		if shown {
			break (workers, checkers);
		}
		assert!(started.elapsed() < Duration::from_secs(60), "{workers}\n{checkers}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	};

	let worker = entry(&workers, &staying).expect("the staying worker is listed");
	assert_eq!(worker["stake"]["credits"], 300.0);
	assert_eq!(worker["unbonding"]["credits"], 200.0);
	assert_eq!(
		worker["standing"],
		format!("active · 200.000 credits unbonding until block #{staying_until}")
	);
	let worker = entry(&workers, &going).expect("the leaving worker is listed");
	assert_eq!(
		worker["standing"],
		format!(
			"inactive: active stake below the minimum of 100.000 credits, claims are refused · \
			 100.000 credits unbonding until block #{going_until}"
		)
	);
	let checker = entry(&checkers, &checking).expect("the checking checker is listed");
	assert_eq!(checker["stake"]["credits"], 100.0);
	assert_eq!(checker["standing"], "checking");
	let checker = entry(&checkers, &leaving).expect("the leaving checker is listed");
	assert_eq!(checker["leaving"], leaving_until);
	assert_eq!(
		checker["standing"],
		format!("leaving: stake unbonding until block #{leaving_until}")
	);

	// An account's page shows the same records.
	let (status, page) = call(&app, get(&format!("/api/accounts/{checking}"))).await;
	assert_eq!(status, StatusCode::OK, "{page}");
	assert_eq!(page["checker"]["standing"], "checking");
	assert!(page["worker"].is_null(), "{page}");
	let (status, page) = call(&app, get(&format!("/api/accounts/{staying}"))).await;
	assert_eq!(status, StatusCode::OK, "{page}");
	assert_eq!(page["worker"], *entry(&workers, &staying).unwrap());
	assert!(page["checker"].is_null(), "{page}");

	// Of the three registered workers, only the staying one may claim a job's tasks: the
	// leaving one's stake is unbonding, the small one lacks the memory. A quote for two
	// replicas says so; one for a single replica has no warning.
	let (status, uploaded) = call(
		&app,
		upload(&[
			("module", ccgsc_task_modules::PRIMES),
			("input", &ccgsc_tasks::primes::input(0, 99)),
		]),
	)
	.await;
	assert_eq!(status, StatusCode::CREATED, "{uploaded}");
	for (replication, warning) in [
		(
			2,
			json!(
				"only 1 registered worker can take these tasks now, and a task needs results \
				 from 2 different workers: they wait until more join, or post with 1 replica"
			),
		),
		(1, Value::Null),
	] {
		let request = json!({
			"module": uploaded["module"], "inputs_root": uploaded["inputs_root"], "reward": 0.01,
			"replication": replication,
		});
		let (status, quoted) = call(&app, post_json("/api/jobs/quote", &request)).await;
		assert_eq!(status, StatusCode::OK, "{quoted}");
		assert_eq!((&quoted["workers"], &quoted["too_few_workers"]), (&json!(1), &warning));
	}
}
