//! # The CCGSC web portal
//!
//! Where posters meet the marketplace: an axum server with a JSON API, server-sent events for
//! live progress, and a web UI it serves itself (plain HTML, CSS and JavaScript in `assets/`,
//! embedded in the binary: nothing to build with npm).
//!
//! ## What it does
//!
//! - **Uploads.** `POST /api/uploads` takes a module and one input per task (multipart), or
//!   `POST /api/workloads/{name}` makes them from one of the four built-in workloads. Content
//!   goes into the portal's own content store and is provided over libp2p, so workers fetch it
//!   from the portal; the portal is a natural bootstrap peer.
//! - **Posting.** First the poster sees what posting will hold (`POST /api/jobs/quote`): every
//!   task at full replication plus a reserve for a review, the most the job can cost, with
//!   what the job does not spend returning when it ends. Then the poster's own key signs
//!   `post_job` in the browser, through a polkadot-js compatible extension
//!   (`window.injectedWeb3`): `POST /api/jobs/prepare` returns the `SignerPayloadJSON` the
//!   extension's `signPayload` takes, `POST /api/jobs/submit` sends the transaction with the
//!   signature it returned. With `--dev`, `POST /api/jobs` signs
//!   with a dev account instead; without `--dev` the server holds no key at all.
//! - **Cancelling.** A poster who no longer wants a job's results ends it, signed the same
//!   two ways: `POST /api/jobs/{id}/cancel/prepare` then `POST /api/jobs/submit`, or `POST
//!   /api/jobs/{id}/cancel` with a dev account. No new work starts and workers stop the job's
//!   tasks they run; tasks whose replicas have all committed still settle (their workers did
//!   the work), then the unspent escrow returns.
//!   Only the job's poster can, and only while it is open: anything else is refused before
//!   there is anything to sign.
//! - **Watching.** `GET /api/jobs/{id}` is a job with every task's state; `GET
//!   /api/jobs/{id}/events` streams it again whenever a finalized block changes it. A job of a
//!   built-in workload shows its answer, not only bytes: a Mandelbrot job its image, a primes
//!   job its count, a password search the password found, a matrix product `C` whole (`GET
//!   /api/jobs/{id}/product`); see `answer`.
//! - **Keeping results.** The portal follows finalized blocks and fetches every accepted
//!   output into its store as it settles (checked chunk by chunk against the content id the
//!   chain accepted), and provides it: results outlive the workers that made them.
//!   `GET /api/content/{id}` serves them. They stay as long as the chain keeps the job's
//!   record (a week after the job ends): when the chain removes it, nobody can look the job
//!   up any more, and the portal removes the outputs it kept for that job alone, as workers
//!   and the CLI do, so a long-running portal does not fill its disk with every output the
//!   marketplace ever made. What posters upload (modules, inputs) stays.
//! - **Reconnecting.** When the node goes away the portal keeps serving what it has, reports
//!   `"chain": "reconnecting"` in `GET /api/status` and the event streams, answers requests
//!   that need the chain with 503, and reconnects when the node returns.
//!
//! ## Safe by default
//!
//! It listens on localhost unless told otherwise. Uploads are limited in size (module, each
//! input, the whole request, the number of inputs) and in rate per client address; every bad
//! request gets a 4xx with a JSON `{"error": ...}` that says what is wrong, and is checked
//! completely before anything is written. The portal talks to the node only through typed
//! queries and the `post_job` transaction: nothing a visitor sends reaches the node's RPC.
//! The API sends no CORS headers, so other sites' pages cannot read it, and JSON requests
//! need a preflight they do not get.
#![deny(missing_docs)]

mod answer;
mod api;
mod assets;
mod link;
mod view;

use std::{
	collections::HashMap,
	net::{IpAddr, SocketAddr},
	path::PathBuf,
	sync::{Arc, Mutex},
	time::Instant,
};

use ccgsc_chain::{JobSpec, Unsigned};
use ccgsc_p2p::Multiaddr;
use ccgsc_primitives::{ContentId, JobId};

pub use api::app;

/// Limits on what visitors may upload.
#[derive(Clone, Debug)]
pub struct UploadLimits {
	/// Largest module, in bytes (default 32 MiB).
	pub module_bytes: usize,
	/// Largest single input, in bytes (default 64 MiB).
	pub input_bytes: usize,
	/// Largest upload request, in bytes (default 256 MiB).
	pub request_bytes: usize,
	/// Most inputs (tasks) in one upload (default 10 000).
	pub inputs: usize,
	/// Uploads (including built-in workloads) one client address may make per minute
	/// (default 30).
	pub uploads_per_minute: u32,
}

impl Default for UploadLimits {
	fn default() -> Self {
		Self {
			module_bytes: 32 << 20,
			input_bytes: 64 << 20,
			request_bytes: 256 << 20,
			inputs: 10_000,
			uploads_per_minute: 30,
		}
	}
}

/// How a portal runs.
#[derive(Clone, Debug)]
pub struct Config {
	/// The node's WebSocket RPC address.
	pub chain_url: String,
	/// State directory: the content store lives in `<dir>/store`.
	pub dir: PathBuf,
	/// Offer the dev accounts for signing (dev chains only).
	pub dev: bool,
	/// Upload limits.
	pub limits: UploadLimits,
	/// libp2p listen addresses.
	pub p2p_listen: Vec<Multiaddr>,
	/// libp2p peers to join through.
	pub bootstrap: Vec<Multiaddr>,
}

impl Config {
	/// A portal on `chain_url` with its state in `dir`, not in dev mode, default limits,
	/// listening for libp2p on a free loopback port.
	pub fn new(chain_url: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
		Self {
			chain_url: chain_url.into(),
			dir: dir.into(),
			dev: false,
			limits: UploadLimits::default(),
			p2p_listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr qed")],
			bootstrap: Vec::new(),
		}
	}
}

/// A transaction waiting for the browser's signature.
struct Prepared {
	unsigned: Unsigned,
	call: Call,
	at: Instant,
}

/// What a prepared transaction does.
enum Call {
	/// `post_job(spec)`.
	Post(JobSpec),
	/// `cancel(job)`.
	Cancel(JobId),
}

/// The portal's shared state: cheap to clone.
#[derive(Clone)]
pub struct Portal {
	inner: Arc<Inner>,
}

struct Inner {
	config: Config,
	link: link::Link,
	p2p: ccgsc_p2p::Client,
	executor: ccgsc_executor::Executor,
	/// Content ids of the built-in modules, by name.
	builtins: HashMap<ContentId, &'static str>,
	/// Transactions waiting for a signature, by token.
	prepared: Mutex<HashMap<String, Prepared>>,
	/// Uploads per client address in the current minute.
	uploads: Mutex<HashMap<IpAddr, (Instant, u32)>>,
	/// The image layout of Mandelbrot jobs, by job.
	layouts: Mutex<HashMap<u64, Arc<view::Layout>>>,
	/// What the answers of `primes`, `pwhash` and `matmul` jobs are read from.
	answers: answer::Memory,
	/// Which job each kept output is for, so it goes when the chain removes the job's record
	/// (`None` if another process holds the notes of this directory: then outputs stay).
	kept: Option<ccgsc_worker::kept::Held>,
}

/// A started portal: its state and the tasks that keep it connected.
pub struct Running {
	portal: Portal,
	node: ccgsc_p2p::Node,
	follower: tokio::task::JoinHandle<()>,
}

impl Running {
	/// The portal's state, for [`app`].
	pub fn portal(&self) -> Portal {
		self.portal.clone()
	}

	/// Stops following the chain and closes the libp2p node.
	pub async fn stop(self) {
		self.follower.abort();
		let _ = self.follower.await;
		self.node.stop().await;
	}
}

impl Portal {
	/// Opens the content store, starts the libp2p node and starts following the chain (in the
	/// background: a node that is not up yet is waited for, and reported as reconnecting).
	///
	/// # Errors
	/// If the content store or the libp2p node cannot start, or the sandbox cannot be set up.
	pub async fn start(config: Config) -> anyhow::Result<Running> {
		use anyhow::Context;
		std::fs::create_dir_all(&config.dir)
			.with_context(|| format!("cannot create {}", config.dir.display()))?;
		let node = ccgsc_p2p::Node::start(
			ccgsc_p2p::Config::new(config.dir.join("store"))
				.with_listen(config.p2p_listen.clone())
				.with_bootstrap(config.bootstrap.clone()),
		)
		.await
		.context("cannot start the content node")?;
		let executor = ccgsc_executor::Executor::new(ccgsc_executor::Config::default())
			.context("cannot set up the sandbox that checks modules")?;
		let kept = link::open_notes(&config.dir)?;
		let builtins = ccgsc_task_modules::ALL
			.iter()
			.map(|(name, bytes)| (ContentId::of(bytes), *name))
			.collect();
		let portal = Portal {
			inner: Arc::new(Inner {
				link: link::Link::new(config.chain_url.clone()),
				config,
				p2p: node.client().clone(),
				executor,
				builtins,
				prepared: Mutex::default(),
				uploads: Mutex::default(),
				layouts: Mutex::default(),
				answers: answer::Memory::default(),
				kept,
			}),
		};
		let follower = tokio::spawn(link::follow(portal.clone()));
		Ok(Running { portal, node, follower })
	}

	/// The configuration it runs with.
	pub fn config(&self) -> &Config {
		&self.inner.config
	}

	/// The libp2p client (for its addresses, or to dial it).
	pub fn p2p(&self) -> &ccgsc_p2p::Client {
		&self.inner.p2p
	}

	/// Whether the portal is connected to the node now.
	pub fn connected(&self) -> bool {
		self.inner.link.connected()
	}

	/// Counts an upload from `client`; false when it is over its limit for this minute.
	fn admit_upload(&self, client: IpAddr) -> bool {
		let limit = self.inner.config.limits.uploads_per_minute;
		let mut uploads = self.inner.uploads.lock().expect("upload counter lock poisoned");
		let now = Instant::now();
		uploads.retain(|_, (since, _)| now.duration_since(*since).as_secs() < 60);
		let (_, count) = uploads.entry(client).or_insert((now, 0));
		if *count >= limit {
			return false;
		}
		*count += 1;
		true
	}
}

/// Serves the portal on `listener` until `shutdown` completes.
///
/// # Errors
/// If the server fails.
pub async fn serve(
	portal: Portal,
	listener: tokio::net::TcpListener,
	shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
	axum::serve(listener, app(portal).into_make_service_with_connect_info::<SocketAddr>())
		.with_graceful_shutdown(shutdown)
		.await
}
