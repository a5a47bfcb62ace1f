//! A marketplace around a dev node for end-to-end tests: in-process workers and checkers
//! (real libp2p, real wasmtime), worker processes that can be killed, a poster's content
//! node, funding, and waiting for a job to end.

use std::{
	path::Path,
	process::{Child, Command, Stdio},
	sync::Arc,
	time::{Duration, Instant},
};

use ccgsc_chain::{dev, AccountId32, Chain, Ed25519Signer, JobSpec, UNIT};
use ccgsc_p2p::Multiaddr;
use ccgsc_primitives::{ContentId, Hash, Limits, PlatformClass, PlatformSet};
use tokio::sync::oneshot;

use crate::{binary, free_port, Node};

/// Worker and checker logs in the test output (shown when a test fails); `RUST_LOG` refines
/// them.
pub fn logs() {
	let filter = tracing_subscriber::EnvFilter::try_from_default_env()
		.unwrap_or_else(|_| "info,libp2p=warn".into());
	let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// The account of the ed25519 key `[seed; 32]` (how tests name workers and checkers).
pub fn account(seed: u8) -> AccountId32 {
	AccountId32(Ed25519Signer::from_seed([seed; 32]).public())
}

/// A worker or checker running in this process, stopped (aborted) on drop.
pub struct Running<S> {
	/// Its chain account.
	pub account: AccountId32,
	/// What it has done.
	pub stats: Arc<S>,
	/// Its p2p node.
	pub p2p: ccgsc_p2p::Client,
	stop: Option<oneshot::Sender<()>>,
	task: tokio::task::JoinHandle<Result<(), String>>,
}

impl<S> Running<S> {
	fn spawn<F>(
		account: AccountId32,
		stats: Arc<S>,
		p2p: ccgsc_p2p::Client,
		run: impl FnOnce(oneshot::Receiver<()>) -> F,
	) -> Self
	where
		F: std::future::Future<Output = Result<(), String>> + Send + 'static,
	{
		let (stop, stopped) = oneshot::channel();
		Self { account, stats, p2p, stop: Some(stop), task: tokio::spawn(run(stopped)) }
	}

	/// Asks it to stop gracefully and waits (up to 90 s) until it has.
	///
	/// # Panics
	/// If it does not stop in time, or stopped with an error.
	pub async fn stop(mut self) {
		let _ = self.stop.take().expect("stopped once").send(());
		let ended = tokio::time::timeout(Duration::from_secs(90), &mut self.task).await;
		ended.expect("it stops gracefully").expect("no panic").expect("no error");
	}
}

impl<S> Drop for Running<S> {
	fn drop(&mut self) {
		self.task.abort();
	}
}

/// Starts a worker with key `[seed; 32]` and its state in `dir/worker-<seed>`; `lie` makes it
/// corrupt every output.
pub async fn start_worker(
	node: &Node,
	dir: &Path,
	seed: u8,
	bootstrap: Vec<Multiaddr>,
	lie: bool,
) -> Running<ccgsc_worker::Stats> {
	start_worker_with(
		ccgsc_worker::Config::new(node.ws_url(), dir.join(format!("worker-{seed}")), [seed; 32])
			.with_bootstrap(bootstrap)
			.with_corrupt_output(lie),
	)
	.await
}

/// How long a worker or checker this process stopped or dropped may hold its directory after:
/// the tasks it left wind down on their own (a process that ends lets go at once). A test that
/// starts one again on the same directory waits for that (see [`ccgsc_worker::hold`]).
const LET_GO: Duration = Duration::from_secs(30);

/// What `new` makes, tried again while `in_use` says its directory is still held, up to
/// [`LET_GO`].
async fn once_free<T, E, F>(new: impl Fn() -> F, in_use: impl Fn(&E) -> bool) -> Result<T, E>
where
	F: std::future::Future<Output = Result<T, E>>,
{
	let started = Instant::now();
	loop {
		match new().await {
			Err(e) if in_use(&e) && started.elapsed() < LET_GO => {
				tokio::time::sleep(Duration::from_millis(50)).await;
			},
			made => return made,
		}
	}
}

/// Starts a worker configured as `config`.
pub async fn start_worker_with(config: ccgsc_worker::Config) -> Running<ccgsc_worker::Stats> {
	let worker = once_free(
		|| ccgsc_worker::Worker::new(config.clone()),
		|e| matches!(e, ccgsc_worker::Error::InUse(_)),
	)
	.await
	.expect("the worker starts");
	let (account, stats, p2p) = (worker.account(), worker.stats(), worker.p2p().client().clone());
	Running::spawn(account, stats, p2p, |stopped| async move {
		worker
			.run(async {
				let _ = stopped.await;
			})
			.await
			.map_err(|e| e.to_string())
	})
}

/// Starts a checker (`ccgsc-verifier`) with key `[seed; 32]` and its state in
/// `dir/checker-<seed>`.
pub async fn start_checker(
	node: &Node,
	dir: &Path,
	seed: u8,
	bootstrap: Vec<Multiaddr>,
) -> Running<ccgsc_verifier::Stats> {
	start_checker_with(
		ccgsc_verifier::Config::new(node.ws_url(), dir.join(format!("checker-{seed}")), [seed; 32])
			.with_bootstrap(bootstrap),
	)
	.await
}

/// Starts a checker configured as `config`.
pub async fn start_checker_with(config: ccgsc_verifier::Config) -> Running<ccgsc_verifier::Stats> {
	let verifier = once_free(
		|| ccgsc_verifier::Verifier::new(config.clone()),
		|e| matches!(e, ccgsc_verifier::Error::InUse(_)),
	)
	.await
	.expect("the verifier starts");
	let (account, stats, p2p) =
		(verifier.account(), verifier.stats(), verifier.p2p().client().clone());
	Running::spawn(account, stats, p2p, |stopped| async move {
		verifier
			.run(async {
				let _ = stopped.await;
			})
			.await
			.map_err(|e| e.to_string())
	})
}

/// Waits until the chain knows `who` as a checker, up to a minute.
///
/// # Panics
/// If it does not register in time.
pub async fn registered_checker(chain: &Chain, who: &AccountId32) {
	let started = Instant::now();
	while chain.checker(who).await.expect("query").is_none() {
		assert!(started.elapsed() < Duration::from_secs(60), "checker {who} never registered");
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// Waits until the chain knows `who` as a worker, up to a minute.
///
/// # Panics
/// If it does not register in time.
pub async fn registered_worker(chain: &Chain, who: &AccountId32) {
	let started = Instant::now();
	while chain.worker(who).await.expect("query").is_none() {
		assert!(started.elapsed() < Duration::from_secs(60), "worker {who} never registered");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// A `ccgsc-worker` process (the real binary), killed on drop.
pub struct WorkerProcess {
	child: Child,
	/// Its directory (key, state and `worker.log`).
	home: std::path::PathBuf,
	/// Where its `/metrics` are served.
	pub metrics: std::net::SocketAddr,
}

impl WorkerProcess {
	/// Starts `ccgsc-worker` with key `[seed; 32]` (written to `dir/worker-<seed>/key`), its
	/// state in that directory (started again, it takes up where it was).
	pub fn start(node: &Node, dir: &Path, seed: u8, bootstrap: &[Multiaddr]) -> Self {
		let home = dir.join(format!("worker-{seed}"));
		std::fs::create_dir_all(&home).expect("a worker directory");
		std::fs::write(home.join("key"), ContentId([seed; 32]).to_hex()).expect("the key");
		let metrics: std::net::SocketAddr =
			format!("127.0.0.1:{}", free_port()).parse().expect("an address");
		// Appended to, so a worker started again on the same directory keeps both logs.
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(home.join("worker.log"))
			.expect("a log file");
		let mut command = Command::new(binary("ccgsc-worker"));
		command
			.arg("--chain")
			.arg(node.ws_url())
			.arg("--dir")
			.arg(&home)
			.arg("--metrics")
			.arg(metrics.to_string());
		for addr in bootstrap {
			command.arg("--bootstrap").arg(addr.to_string());
		}
		let child = command.stdout(Stdio::null()).stderr(log).spawn().expect("ccgsc-worker starts");
		Self { child, home, metrics }
	}

	/// Its directory (key, state and `worker.log`).
	pub fn dir(&self) -> &Path {
		&self.home
	}

	/// Everything it has logged so far (from every start on its directory).
	pub fn log(&self) -> String {
		std::fs::read_to_string(self.home.join("worker.log")).unwrap_or_default()
	}

	/// Waits until its `/metrics` serve `name` at `value`, up to `timeout`.
	///
	/// # Panics
	/// If they do not, with its log.
	pub async fn wait_for_metric(&self, name: &str, value: u64, timeout: Duration) {
		let started = Instant::now();
		while self.metric(name).await != Some(value) {
			assert!(
				started.elapsed() < timeout,
				"{name} is not {value} after {timeout:?}\n{}",
				self.log()
			);
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	}

	/// Sends it SIGINT (Ctrl-C) and waits up to `timeout` for it to exit; its exit status, or
	/// `None` if it still runs.
	pub async fn interrupt(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
		let pid = self.child.id().to_string();
		Command::new("kill").args(["-INT", &pid]).status().expect("kill runs");
		let started = Instant::now();
		loop {
			if let Some(status) = self.child.try_wait().expect("its status") {
				return Some(status);
			}
			if started.elapsed() > timeout {
				return None;
			}
			tokio::time::sleep(Duration::from_millis(100)).await;
		}
	}

	/// Whether it still runs.
	pub fn is_running(&mut self) -> bool {
		self.child.try_wait().expect("its status").is_none()
	}

	/// The value of the gauge or counter `name` on its `/metrics`, once it serves them.
	pub async fn metric(&self, name: &str) -> Option<u64> {
		use tokio::io::{AsyncReadExt, AsyncWriteExt};
		let mut stream = tokio::net::TcpStream::connect(self.metrics).await.ok()?;
		stream
			.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
			.await
			.ok()?;
		let mut body = String::new();
		stream.read_to_string(&mut body).await.ok()?;
		body.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
	}

	/// Kills it at once (SIGKILL): no graceful anything.
	pub fn kill(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}

impl Drop for WorkerProcess {
	fn drop(&mut self) {
		self.kill();
	}
}

/// Funds the ed25519 accounts of `seeds` with 1 000 credits each from the sr25519 dev
/// accounts, five transfers at a time.
pub async fn fund(chain: &Chain, seeds: &[u8]) {
	let payers = [dev::alice(), dev::bob(), dev::charlie(), dev::eve(), dev::ferdie()];
	for batch in seeds.chunks(payers.len()) {
		let transfers = batch.iter().zip(payers.iter()).map(|(seed, payer)| async move {
			chain
				.transfer(payer, &account(*seed), 1_000 * UNIT)
				.await
				.expect("the transfer succeeds")
		});
		futures::future::join_all(transfers).await;
	}
}

/// Waits until `job` has ended and nothing of it is in flight, up to `timeout`.
///
/// # Panics
/// If it has not, with the node's log.
pub async fn ended(chain: &Chain, node: &Node, job: u64, timeout: Duration) {
	let started = Instant::now();
	loop {
		let info = chain.job(job).await.expect("query").expect("the job exists");
		if info.ended.is_some() {
			return;
		}
		assert!(
			started.elapsed() < timeout,
			"job {job} still open after {timeout:?}: {} of {} tasks settled\n{}",
			info.settled,
			info.spec.task_count,
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

/// A job of `tasks` tasks of `module` over `inputs_root` on this machine's platform class,
/// paying one credit per accepted replica, open for 1 000 blocks from `now`.
pub fn job(
	module: ContentId,
	inputs_root: Hash,
	tasks: u32,
	replication: u8,
	work: u64,
	now: u32,
) -> JobSpec {
	JobSpec {
		module,
		inputs_root,
		task_count: tasks,
		args: vec![],
		reward_per_task: UNIT,
		replication,
		limits: Limits { work, memory: 64 << 20, output: 1 << 20 },
		platforms: PlatformSet::of(&[PlatformClass::native().expect("x86-64 or aarch64")]),
		executor_version: ccgsc_executor::VERSION,
		deadline: now + 1_000,
	}
}

/// The poster's content node (the portal's role) with the primes module and one input per
/// `(lo, hi)` range; returns the node, the module id, the input ids and their root.
pub async fn primes_content(
	dir: &Path,
	ranges: impl IntoIterator<Item = (u64, u64)>,
) -> (ccgsc_p2p::Node, ContentId, Vec<ContentId>, Hash) {
	let p2p = ccgsc_p2p::Node::start(ccgsc_p2p::Config::new(dir.join("poster")))
		.await
		.expect("the poster's node starts");
	let module = p2p.client().add(ccgsc_task_modules::PRIMES.to_vec()).await.expect("stored");
	let mut inputs = Vec::new();
	for (lo, hi) in ranges {
		inputs.push(p2p.client().add(ccgsc_tasks::primes::input(lo, hi)).await.expect("stored"));
	}
	let root = p2p.client().add_inputs(inputs.clone()).await.expect("stored");
	(p2p, module, inputs, root)
}
