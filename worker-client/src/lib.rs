//! # The CCGSC worker
//!
//! claim → fetch → execute → commit → reveal → serve, on one ed25519 key that is both the
//! worker's chain account and its libp2p identity (so the chain names the peer that must
//! serve a revealed output).
//!
//! ## How it runs
//!
//! - **Blocks drive it.** The worker follows best blocks to act: each one's events tell it
//!   when reveals open for tasks it committed ([`RevealOpened`](ccgsc_chain::api::jobs::events::RevealOpened)),
//!   and each one it claims again, from the jobs open in that block, if it has room. Acting a
//!   block or two before finality is safe: the chain checks every call, and a call made on a
//!   block a fork abandons fails harmlessly. Blocks the best-block stream skips are read by
//!   number, and finalized blocks catch any reveal still missed. What it was paid and
//!   whether it was slashed it counts from finalized blocks only, so a fork never counts
//!   twice; and each finalized block once, though a reconnection hands out the last ones
//!   again, and those finalized while it was away are read by number ([`Finalized`]).
//! - **Claim ahead.** It holds up to `2 × cores` leases and runs `cores` of them at once. A
//!   lease is fetched (input and module) as soon as it is claimed, and a core that finishes
//!   asks for the next lease at once, not at the next block; so a core finds its next task
//!   claimed and fetched while the chain confirms claims, commits and reveals.
//! - **One submitter.** All of the worker's transactions go through one task, which batches
//!   everything pending for a job into one call and hands each call to the node without
//!   waiting for the one before to be included: the chain client gives each its own nonce
//!   while it holds the signer's nonce lock, and their inclusions are awaited concurrently,
//!   so a claim never waits a block behind a commit.
//! - **Leases are renewed, not lost.** A lease covers the task's work limit at the worker's
//!   registered score, three times over, but its clock runs from the claim: while the lease
//!   waits for a core, while the input downloads, while a busy machine runs slower than its
//!   score. So on every best block the worker renews each lease it still holds (claimed, not
//!   yet committed or given back) that ends within [`RENEW_AHEAD`] blocks, and a task it is
//!   still working on is never requeued under it. Renewal has a bound: the sandbox's work
//!   limit and wall-clock guard end every task, and a task the guard ends is given back.
//! - **A closed job stops.** When a job stops taking work, cancelled by its poster or past
//!   its deadline ([`JobClosed`](ccgsc_chain::api::jobs::events::JobClosed)), its tasks that
//!   run here stop within milliseconds (the sandbox looks at a stop flag where it looks at the
//!   clock), those not started never start, and their leases go back at once: the chain would
//!   refuse their commits, and the cores go to the next job. A fork that drops the close
//!   costs only those tasks, requeued for any worker.
//! - **Failures are the task's, not the worker's.** A trap, the work limit, the memory limit,
//!   an oversized output or an invalid module end that task with its outcome, committed like
//!   any result; an input nobody serves is committed as `InputUnavailable` (never slashed).
//!   Only the wall-clock guard is the worker's own failure: it gives the lease back.
//! - **Stopping.** On shutdown it stops claiming, gives back leases it has not started,
//!   finishes and commits what is running, and keeps revealing for a grace period, so no
//!   committed result is stranded.
//! - **Crashes strand nothing either.** Each result and its salt are written to
//!   `dir/committed` (flushed to disk) before the commit is sent, and dropped once revealed.
//!   A worker started again on the same directory, after a crash, a kill or an upgrade, reads
//!   them back and reveals those whose window is open, or waits for it (see [`ledger`]). It
//!   does the same on every reconnection to the node, for reveals that opened while it was
//!   cut off. The leases it held are listed in `dir/leases`, and it gives them back before
//!   claiming again, so their tasks need not wait for the leases to run out.
//! - **Leaving takes the stake back.** [`Worker::leave`] (`ccgsc-worker leave`) stops
//!   claiming, finishes and reveals what it holds, serves its outputs while their audit
//!   windows run, then unbonds the whole stake (the chain allows that only once no lease and
//!   no unaudited result holds it), waits out the unbonding period and withdraws: the worker
//!   leaves the registry and its stake is free credits again. Stopped on the way, it resumes
//!   from where the chain stands when run again.
//! - **The store shrinks with the chain.** The worker serves what it fetched and produced
//!   (modules, input lists, inputs, outputs) for as long as the chain keeps the job's record:
//!   a week after the job ends, the chain removes it (`JobPruned`), and the worker removes
//!   what it held only for that job from its store ([`kept`]).
//!
//! The test-only [`Config::corrupt_output`] flag makes a worker lie (it flips a byte of every
//! output before committing), so tests can show that lies are caught and slashed.
#![deny(missing_docs)]

mod finalized;
mod held;
pub mod kept;
pub mod ledger;
mod metrics;
mod state_file;
pub mod task;

use std::{
	collections::HashMap,
	net::SocketAddr,
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, AtomicU64, Ordering},
		Arc, Mutex, Weak,
	},
	time::Duration,
};

use ccgsc_chain::{api, Balance, Chain, Ed25519Signer, Profile};
use ccgsc_executor::{Executor, Speed};
use ccgsc_p2p::{Multiaddr, Node};
use ccgsc_primitives::{
	commitment, Hash, JobId, Outcome, PlatformClass, TaskIndex, TaskRef, TaskResult,
};
use tokio::sync::{mpsc, watch, Semaphore};

pub use finalized::{Finalized, Step, CATCH_UP};
use held::{Held, Leases};
use kept::{Item, Kept};
pub use ledger::{Ledger, Pending};
pub use metrics::{metric, serve_metrics, Metrics};
pub use task::{Fetched, Ran, Runner, TaskSpec};

/// Work units of the probe run at start to measure this machine's score.
const PROBE_WORK: u64 = 200_000_000;

/// A lease that ends within this many blocks of the best block is renewed: time for the
/// renewal to be included (a block or two), and for one retry should it fail.
pub const RENEW_AHEAD: u32 = 4;

/// How long a worker that stops keeps revealing what it committed.
const REVEAL_GRACE: Duration = Duration::from_secs(60);

/// Errors of the worker.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
	/// The chain could not be reached or refused a transaction.
	#[error(transparent)]
	Chain(#[from] ccgsc_chain::Error),
	/// The p2p node failed.
	#[error(transparent)]
	P2p(#[from] ccgsc_p2p::Error),
	/// The sandbox could not be set up.
	#[error(transparent)]
	Executor(#[from] ccgsc_executor::Error),
	/// The ledger of committed results (`dir/committed`) cannot be read.
	#[error("cannot read the committed results: {0} (a result committed but never revealed is slashed; move the file aside only if no commit of it is pending)")]
	Ledger(std::io::Error),
	/// The notes of what the content store holds for each job (`dir/kept`) cannot be read.
	#[error("cannot read what the store keeps for each job: {0}")]
	Kept(std::io::Error),
	/// This CPU architecture has no platform class (x86-64 and aarch64 do).
	#[error("no platform class for this CPU architecture")]
	UnsupportedPlatform,
	/// [`Worker::leave`] on an account that is not a registered worker.
	#[error("{0} is not a registered worker: there is no stake to take back")]
	NotRegistered(String),
	/// Another worker or checker runs on this directory (it holds `dir/lock`).
	#[error("another worker or checker uses {}: each needs a --dir of its own", .0.display())]
	InUse(PathBuf),
	/// The directory's lock (`dir/lock`) cannot be made.
	#[error("cannot lock {}: {}", .0.display(), .1)]
	Lock(std::path::PathBuf, std::io::Error),
	/// The account cannot cover the stake.
	#[error("{}", ccgsc_chain::unfunded(.account, *.free, *.stake))]
	Unfunded {
		/// The worker's account.
		account: String,
		/// Its free balance.
		free: Balance,
		/// The stake asked for (or what is missing of it, for a top-up).
		stake: Balance,
	},
}

/// A worker's configuration.
#[derive(Clone, Debug)]
pub struct Config {
	/// The node's WebSocket RPC address.
	pub chain_url: String,
	/// The worker's state: content store, compiled-module cache.
	pub dir: PathBuf,
	/// The 32-byte secret of the worker's ed25519 key.
	pub seed: [u8; 32],
	/// Cores offered: tasks run at once.
	pub cores: u32,
	/// Memory offered, MiB.
	pub memory_mib: u32,
	/// Stake to register with, or to top up to at start if slashes took part of it.
	pub stake: Balance,
	/// libp2p peers to dial at start.
	pub bootstrap: Vec<Multiaddr>,
	/// Where the p2p node listens.
	pub listen: Vec<Multiaddr>,
	/// Test only: flip a byte of every output before committing (a lying worker).
	pub corrupt_output: bool,
	/// Test only: register with this score (work units per second) instead of the probe's.
	/// Leases are sized by the registered score, so an overstated one makes them shorter
	/// than the tasks (which the worker must then renew).
	pub stated_score: Option<u64>,
}

impl Config {
	/// A worker on the node at `chain_url`, with its state in `dir` and the key `seed`;
	/// one core, 1 GiB, a stake of 200 credits.
	pub fn new(chain_url: impl Into<String>, dir: impl Into<PathBuf>, seed: [u8; 32]) -> Self {
		Self {
			chain_url: chain_url.into(),
			dir: dir.into(),
			seed,
			cores: 1,
			memory_mib: 1024,
			stake: 200 * ccgsc_chain::UNIT,
			bootstrap: Vec::new(),
			listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr qed")],
			corrupt_output: false,
			stated_score: None,
		}
	}

	/// Offers `cores` cores (at least 1).
	pub fn with_cores(mut self, cores: u32) -> Self {
		self.cores = cores.max(1);
		self
	}

	/// Dials `addrs` at start.
	pub fn with_bootstrap(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
		self.bootstrap.extend(addrs);
		self
	}

	/// Listens on `addrs`.
	pub fn with_listen(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
		self.listen = addrs.into_iter().collect();
		self
	}

	/// Stakes `stake` when registering (and tops up to it at start).
	pub fn with_stake(mut self, stake: Balance) -> Self {
		self.stake = stake;
		self
	}

	/// Test only: makes the worker lie about every output.
	pub fn with_corrupt_output(mut self, lie: bool) -> Self {
		self.corrupt_output = lie;
		self
	}

	/// Test only: registers with `score` instead of the probe's (see
	/// [`Config::stated_score`]).
	pub fn with_stated_score(mut self, score: u64) -> Self {
		self.stated_score = Some(score);
		self
	}
}

/// What the worker has done, for the status line and `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
	/// Tasks executed and committed.
	pub tasks_done: AtomicU64,
	/// Tasks running now.
	pub running: AtomicU64,
	/// Time spent running tasks in the sandbox, in microseconds (summed over cores).
	pub busy_micros: AtomicU64,
	/// Results revealed.
	pub revealed: AtomicU64,
	/// Credits paid to this worker, in the smallest unit.
	pub earned: AtomicU64,
	/// Credits slashed from this worker, in the smallest unit.
	pub slashed: AtomicU64,
	/// Leases given back (not started at shutdown, the wall-clock guard fired, or the job
	/// closed).
	pub abandoned: AtomicU64,
	/// Tasks stopped, or never started, because their job closed (cancelled, or past its
	/// deadline); their leases are given back (and counted in `abandoned`).
	pub stopped: AtomicU64,
	/// Leases renewed (one per lease per renewal).
	pub renewed: AtomicU64,
	/// Transactions the chain refused.
	pub refused: AtomicU64,
	/// Whether the worker follows its node's blocks now (false until it first does, and while
	/// it reconnects).
	pub connected: AtomicBool,
	/// While the worker leaves ([`Worker::leave`]): how far it has come.
	pub leaving: Mutex<Option<String>>,
	/// Whether the chain refused its last claim because it does not count it as an active
	/// worker: its stake fell below the minimum (slashes), or its registration is gone (a dev
	/// chain started over). A restart tops the stake up to `--stake`, or registers again.
	pub inactive: AtomicBool,
}

impl Stats {
	/// The one-line status; it starts with `node unreachable, retrying` while the worker
	/// cannot follow its node's blocks, and with `inactive` while the chain refuses its claims
	/// (see [`Stats::inactive`]).
	pub fn line(&self) -> String {
		let leaving = self.leaving.lock().expect("not poisoned qed").clone();
		format!(
			"{}{}{}{}",
			unreachable_prefix(&self.connected),
			leaving.map(|now| format!("leaving: {now} · ")).unwrap_or_default(),
			if self.inactive.load(Ordering::Relaxed) {
				"inactive (stake below the minimum, or not registered): restart to restake · "
			} else {
				""
			},
			self.totals()
		)
	}

	/// What the worker has done so far, without the state [`Stats::line`] starts with: what it
	/// says when it stops.
	pub fn totals(&self) -> String {
		format!(
			"tasks done {} · running {} · revealed {} · earned {:.3} credits · slashed {:.3}",
			self.tasks_done.load(Ordering::Relaxed),
			self.running.load(Ordering::Relaxed),
			self.revealed.load(Ordering::Relaxed),
			self.earned.load(Ordering::Relaxed) as f64 / ccgsc_chain::UNIT as f64,
			self.slashed.load(Ordering::Relaxed) as f64 / ccgsc_chain::UNIT as f64,
		)
	}
}

/// What a leaving worker says while `stake` credits unbond until block `until`, at finalized
/// block `now`.
fn unbonding_until(stake: f64, until: u32, now: u32) -> String {
	format!(
		"{stake:.3} credits of stake unbonding, to be withdrawn at block {until} ({} blocks from \
		 now)",
		until.saturating_sub(now)
	)
}

/// What a status line starts with: nothing while `connected` holds, else that the node cannot
/// be reached (the worker's and the checker's lines say it alike).
pub fn unreachable_prefix(connected: &AtomicBool) -> &'static str {
	if connected.load(Ordering::Relaxed) {
		""
	} else {
		"node unreachable, retrying · "
	}
}

/// What [`Worker::leave`] ends with: the worker is out of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Left {
	/// Stake released by the withdrawals it made (less than the stake registered if slashes
	/// took part of it; zero if an earlier run or another tool withdrew it).
	pub withdrawn: Balance,
	/// The account's free credits now.
	pub free: Balance,
}

/// What the submitter sends to the chain.
enum Action {
	Claim,
	Commit { job: JobId, task: TaskIndex, hash: Hash },
	Reveal { job: JobId, task: TaskIndex, result: TaskResult, salt: Hash },
	Abandon { job: JobId, task: TaskIndex },
	Renew { job: JobId, task: TaskIndex },
}

/// The worker's room for leases and the way back to its submitter.
#[derive(Clone)]
struct Slots {
	/// Where finished tasks queue their commits.
	actions: mpsc::Sender<Action>,
	/// Leases held (claimed and not yet committed): `2 × cores`, to claim ahead.
	held: Arc<Semaphore>,
	/// Tasks running: `cores`.
	exec: Arc<Semaphore>,
	/// Set on shutdown: no new claims, unstarted leases go back.
	stopping: Arc<AtomicBool>,
	/// The latest best block: claims read the open jobs there.
	best: watch::Receiver<Option<ccgsc_chain::Block>>,
}

/// A running worker.
pub struct Worker {
	config: Config,
	signer: Ed25519Signer,
	account: [u8; 32],
	platform: PlatformClass,
	p2p: Node,
	runner: Runner,
	speed: Speed,
	stats: Arc<Stats>,
	/// Results committed and not yet revealed, by task, mirrored in `dir/committed`.
	committed: Arc<Mutex<Ledger>>,
	/// Leases held, by task (renewed before they run out), listed in `dir/leases`.
	leases: Arc<Mutex<Leases>>,
	/// Leases an earlier run listed and may still hold: given back at start.
	left_over: Vec<(JobId, TaskIndex)>,
	/// Which job each item of the content store is for, noted in `dir/kept`: an item goes
	/// from the store with the record of the last job it is for.
	kept: Arc<Mutex<Kept>>,
	/// The stop flag of each job this worker holds leases on.
	stops: Stops,
	/// The hold on `dir/lock` (see [`hold`]), let go when the worker is dropped.
	_lock: std::fs::File,
}

/// A stop flag per job, shared by the worker's leases on it and set when the job closes.
/// The map holds the flags weakly: a job's entry lives as long as a lease on it does.
#[derive(Default)]
struct Stops(Mutex<HashMap<JobId, Weak<AtomicBool>>>);

impl Stops {
	/// The flag of `job`, made if no lease on it holds one (and the map pruned of the jobs
	/// no lease holds any more).
	fn of(&self, job: JobId) -> Arc<AtomicBool> {
		let mut flags = self.0.lock().expect("not poisoned qed");
		if let Some(flag) = flags.get(&job).and_then(Weak::upgrade) {
			return flag;
		}
		flags.retain(|_, flag| flag.strong_count() > 0);
		let flag = Arc::default();
		flags.insert(job, Arc::downgrade(&flag));
		flag
	}

	/// Sets the flag of `job`; whether a lease on it holds one.
	fn stop(&self, job: JobId) -> bool {
		let flag = self.0.lock().expect("not poisoned qed").get(&job).and_then(Weak::upgrade);
		flag.map(|flag| flag.store(true, Ordering::Relaxed)).is_some()
	}
}

impl Worker {
	/// Takes the directory (see [`hold`]), starts the p2p node, measures the machine with the
	/// standard probe and sets up the sandbox. Does not touch the chain yet.
	///
	/// # Errors
	/// [`Error::InUse`] if another worker or checker runs on the directory; otherwise if the
	/// p2p node or the sandbox cannot start.
	pub async fn new(config: Config) -> Result<Self, Error> {
		let lock = hold(&config.dir.join("lock"))
			.map_err(|e| Error::Lock(config.dir.join("lock"), e))?
			.ok_or_else(|| Error::InUse(config.dir.clone()))?;
		let signer = Ed25519Signer::from_seed(config.seed);
		let account = signer.public();
		let platform = PlatformClass::native().ok_or(Error::UnsupportedPlatform)?;
		let p2p = Node::start(
			ccgsc_p2p::Config::new(config.dir.join("store"))
				.with_ed25519_secret(config.seed)
				.with_listen(config.listen.clone())
				.with_bootstrap(config.bootstrap.clone()),
		)
		.await?;
		let committed = Ledger::open(config.dir.join("committed")).map_err(Error::Ledger)?;
		if !committed.is_empty() {
			tracing::info!(
				results = committed.len(),
				"results committed by an earlier run and not yet revealed"
			);
		}
		let (leases, left_over) = Leases::open(config.dir.join("leases"));
		let kept = Arc::new(Mutex::new(Kept::open(config.dir.join("kept")).map_err(Error::Kept)?));
		let cache = config.dir.join("wasm-cache");
		let speed = tokio::task::spawn_blocking(move || {
			Executor::new(ccgsc_executor::Config::default())?.probe(PROBE_WORK)
		})
		.await
		.expect("the probe does not panic qed")?;
		let executor = Executor::new(
			ccgsc_executor::Config::default().with_cache_dir(cache).with_speed(speed),
		)?;
		let runner = Runner::new(p2p.client().clone(), executor).with_kept(kept.clone());
		Ok(Self {
			config,
			signer,
			account,
			platform,
			p2p,
			runner,
			speed,
			stats: Arc::default(),
			committed: Arc::new(Mutex::new(committed)),
			leases: Arc::new(Mutex::new(leases)),
			left_over,
			kept,
			stops: Stops::default(),
			_lock: lock,
		})
	}

	/// The worker's chain account (its ed25519 public key).
	pub fn account(&self) -> ccgsc_chain::AccountId32 {
		ccgsc_chain::AccountId32(self.account)
	}

	/// The p2p node (its peer id and addresses).
	pub fn p2p(&self) -> &Node {
		&self.p2p
	}

	/// Work units per second on one core, from the probe's typical mix: the benchmark score
	/// the worker registers with.
	pub fn score(&self) -> u64 {
		self.speed.typical
	}

	/// What the worker has done so far.
	pub fn stats(&self) -> Arc<Stats> {
		self.stats.clone()
	}

	/// Registers (if needed) and works until `shutdown` resolves, then stops gracefully: no
	/// new claims; what runs is finished, committed and revealed, for up to a minute.
	///
	/// While the node cannot be reached the worker keeps trying (and says so in its status
	/// line and its `ccgsc_worker_chain_connected` gauge); `shutdown` still stops it then: at
	/// once if it holds nothing, else once the node is back and what runs is revealed, or when
	/// the minute is up. Leases it could not give back run out on chain; results it committed
	/// stay in its ledger for the next start to reveal.
	///
	/// # Errors
	/// [`Error::Unfunded`] if the account cannot cover the stake; [`Error::Chain`] if the
	/// registration fails on a node that stays reachable (see [`connect_then`]). A node that
	/// goes away, even while the worker registers, is waited for, not an error.
	pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<(), Error> {
		self.work(shutdown, false).await.map(|_| ())
	}

	/// Leaves the market and takes the stake back: claims nothing; finishes, commits and
	/// reveals what an earlier run left (and gives back the leases it held); serves its outputs
	/// while their replicas settle and their audit windows run; then unbonds the whole stake,
	/// waits out the unbonding period, withdraws it and returns what came back. Its state on
	/// the way shows in [`Stats::leaving`].
	///
	/// `None` if `shutdown` resolved first (then it stops as [`Worker::run`] does). Run again,
	/// it goes on from where the chain stands: stake already unbonding is not unbonded anew.
	/// A step the chain refuses is tried again on the next finalized block.
	///
	/// # Errors
	/// [`Error::NotRegistered`] if the account is not a registered worker; otherwise as
	/// [`Worker::run`].
	pub async fn leave(
		self,
		shutdown: impl std::future::Future<Output = ()>,
	) -> Result<Option<Left>, Error> {
		self.work(shutdown, true).await
	}

	/// [`Worker::run`], or with `leaving` [`Worker::leave`].
	async fn work(
		self,
		shutdown: impl std::future::Future<Output = ()>,
		leaving: bool,
	) -> Result<Option<Left>, Error> {
		tokio::pin!(shutdown);
		let this = &self;
		let registered = connect_then(
			&self.config.chain_url,
			shutdown.as_mut(),
			|chain| async move {
				if leaving {
					this.registered(&chain).await
				} else {
					this.register(&chain).await
				}
			},
			|e| matches!(e, Error::Chain(_)),
		)
		.await?;
		let Some((chain, ())) = registered else {
			tracing::info!("stopped before registering");
			return Ok(None);
		};
		self.give_back_left_over(&chain).await;
		kept::drop_pruned(&self.kept, self.p2p.client().store(), &chain).await;
		let mut finalized_seen = Finalized::from_now(&chain).await;
		let this = Arc::new(self);
		let (chain_tx, chain_rx) = watch::channel(chain);
		let (actions, action_rx) = mpsc::channel(4096);
		let (best_tx, best) = watch::channel(None);
		let slots = Slots {
			actions: actions.clone(),
			held: Arc::new(Semaphore::new(2 * this.config.cores as usize)),
			exec: Arc::new(Semaphore::new(this.config.cores as usize)),
			stopping: Arc::default(),
			best,
		};
		let (held, stopping) = (slots.held.clone(), slots.stopping.clone());
		if leaving {
			stopping.store(true, Ordering::SeqCst);
			this.now_leaving("no new claims; finishing and revealing what it holds".into());
		}
		// In a set, so that a caller dropping this future stops the submitter with it.
		let mut submitter = tokio::task::JoinSet::new();
		submitter.spawn(submit_loop(this.clone(), chain_rx, action_rx, slots));
		// Nothing held and nothing left to reveal: a stopping worker is done.
		let done = || {
			held.available_permits() == 2 * this.config.cores as usize
				&& this.committed.lock().expect("not poisoned qed").is_empty()
		};

		let mut grace: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
		let start_stopping = |grace: &mut Option<_>| {
			tracing::info!("stopping: no new claims; finishing and revealing what is running");
			stopping.store(true, Ordering::SeqCst);
			*grace = Some(Box::pin(tokio::time::sleep(REVEAL_GRACE)));
		};
		let mut reconnect = false;
		let (mut gone, mut withdrawn) = (None, 0);
		'outer: loop {
			if std::mem::take(&mut reconnect) {
				this.stats.connected.store(false, Ordering::Relaxed);
				tokio::select! {
					chain = connect(&this.config.chain_url) => {
						chain_tx.send_replace(chain);
					},
					_ = &mut shutdown, if grace.is_none() => {
						if done() {
							tracing::info!("stopping while the node is unreachable; nothing is held");
							break 'outer;
						}
						start_stopping(&mut grace);
						reconnect = true;
						continue 'outer;
					},
					_ = async { grace.as_mut().expect("guarded").await }, if grace.is_some() => break 'outer,
				}
			}
			let chain = chain_tx.borrow().clone();
			let streams = async {
				let best = chain.client().stream_best_blocks().await.map_err(|e| e.to_string())?;
				let finalized = chain.client().stream_blocks().await.map_err(|e| e.to_string())?;
				Ok::<_, String>((best, finalized))
			};
			let (mut best, mut finalized) = match streams.await {
				Ok(streams) => streams,
				Err(e) => {
					tracing::warn!(error = %e, "cannot follow blocks; reconnecting");
					reconnect = true;
					continue;
				},
			};
			this.stats.connected.store(true, Ordering::Relaxed);
			// Reveals that opened while this worker was away (stopped, or cut off from the
			// node) are sent now; the blocks followed from here on bring the rest.
			this.resume(&chain, &actions).await;
			let mut last_best = None;
			loop {
				let (next, is_best) = tokio::select! {
					_ = &mut shutdown, if grace.is_none() => {
						start_stopping(&mut grace);
						continue;
					},
					_ = async { grace.as_mut().expect("guarded").await }, if grace.is_some() => break 'outer,
					next = best.next() => (next, true),
					next = finalized.next() => (next, false),
				};
				let block = match next {
					Some(Ok(block)) => block,
					Some(Err(e)) => {
						tracing::warn!(error = %e, "block stream failed; reconnecting");
						reconnect = true;
						continue 'outer;
					},
					None => {
						tracing::warn!("node closed the block stream; reconnecting");
						reconnect = true;
						continue 'outer;
					},
				};
				if is_best {
					if let Err(e) =
						this.on_best_block(&chain, &block, &mut last_best, &actions).await
					{
						tracing::warn!(error = %e, "cannot read block events");
					}
					best_tx.send_replace(Some(block));
					if !stopping.load(Ordering::SeqCst) && held.available_permits() > 0 {
						let _ = actions.try_send(Action::Claim);
					}
					continue;
				}
				for events in finalized_seen.take_in(&chain, &block).await {
					this.on_finalized_events(&events, &actions).await;
				}
				if stopping.load(Ordering::SeqCst) && done() {
					// A leaving worker stopped by `shutdown` has a grace period running.
					if !leaving || grace.is_some() {
						break 'outer;
					}
					gone = this.leave_step(&chain, &mut withdrawn).await;
					if gone.is_some() {
						break 'outer;
					}
				}
			}
		}
		this.stats.connected.store(false, Ordering::Relaxed);
		drop(actions);
		submitter.abort_all();
		let left = this.committed.lock().expect("not poisoned qed").len();
		if left > 0 {
			tracing::warn!(
				left,
				"stopped with results committed but not revealed; a restart reveals them"
			);
		}
		Ok(gone)
	}

	/// Checks that the worker is registered, for [`Worker::leave`].
	async fn registered(&self, chain: &Chain) -> Result<(), Error> {
		let account = self.account();
		match chain.worker(&account).await? {
			Some(_) => Ok(()),
			None => Err(Error::NotRegistered(account.to_string())),
		}
	}

	/// Says how far leaving has come: in [`Stats::leaving`], and in the log when it changes.
	fn now_leaving(&self, what: String) {
		let mut leaving = self.stats.leaving.lock().expect("not poisoned qed");
		if leaving.as_deref() != Some(what.as_str()) {
			tracing::info!("leaving: {what}");
			*leaving = Some(what);
		}
	}

	/// One step of leaving, taken on a finalized block once the worker holds no lease and has
	/// nothing left to reveal (see [`Worker::leave`]); `withdrawn` sums what its withdrawals
	/// released. `Some` once the worker is out of the registry.
	async fn leave_step(&self, chain: &Chain, withdrawn: &mut Balance) -> Option<Left> {
		match self.try_leave_step(chain, withdrawn).await {
			Ok(left) => left,
			Err(e) => {
				self.now_leaving(format!("{e}; trying again at the next block"));
				None
			},
		}
	}

	/// [`Worker::leave_step`], with the chain's refusals as errors.
	async fn try_leave_step(
		&self,
		chain: &Chain,
		withdrawn: &mut Balance,
	) -> Result<Option<Left>, Error> {
		let account = self.account();
		let credits = |units: Balance| units as f64 / ccgsc_chain::UNIT as f64;
		// Unlike the worker's other calls, these two are waited for until finalized: each step
		// reads the finalized registry, which must show the step before.
		let finalizing = chain.clone().confirming(ccgsc_chain::Confirmation::Finalized);
		let Some(record) = chain.worker(&account).await? else {
			// Out of the registry: a withdrawal whose answer was lost, or another tool's.
			let free = chain.free_balance(&account).await?;
			return Ok(Some(Left { withdrawn: *withdrawn, free }));
		};
		let unbonding = record.unbonding.as_ref().map_or(0, |u| u.amount);
		let active = record.stake.saturating_sub(unbonding);
		if active > 0 {
			if record.leases > 0 || record.unaudited > 0 {
				// A result in its audit window still counts as a replica held.
				let unsettled = record.leases.saturating_sub(record.unaudited);
				let mut waits = Vec::new();
				if unsettled > 0 {
					waits.push(format!("{unsettled} to settle"));
				}
				if record.unaudited > 0 {
					waits.push(format!("{} in their audit window", record.unaudited));
				}
				self.now_leaving(format!("waiting for its results: {}", waits.join(", ")));
				return Ok(None);
			}
			let until = finalizing.unbond_worker(&self.signer, active).await?;
			let now = chain.finalized_number().await?;
			self.now_leaving(unbonding_until(credits(record.stake), until, now));
			return Ok(None);
		}
		let Some(unbonding) = record.unbonding else {
			// Slashes took the whole stake: nothing is left to unbond or withdraw.
			self.now_leaving("no stake left to take back".into());
			let free = chain.free_balance(&account).await?;
			return Ok(Some(Left { withdrawn: *withdrawn, free }));
		};
		let now = chain.finalized_number().await?;
		if now < unbonding.until {
			self.now_leaving(unbonding_until(credits(record.stake), unbonding.until, now));
			return Ok(None);
		}
		let (amount, deregistered) = finalizing.withdraw_worker(&self.signer).await?;
		*withdrawn += amount;
		self.now_leaving(format!("withdrew {:.3} credits of stake", credits(amount)));
		if !deregistered {
			return Ok(None);
		}
		let free = chain.free_balance(&account).await?;
		Ok(Some(Left { withdrawn: *withdrawn, free }))
	}

	/// Gives back, before claiming anything, the leases an earlier run listed and may still
	/// hold (it was killed or crashed): their tasks go back to the pool now, not when the
	/// leases run out. One call per lease, as any of them may be gone already (run out,
	/// committed just before the end, or the job over), which the chain refuses.
	async fn give_back_left_over(&self, chain: &Chain) {
		for &(job, task) in &self.left_over {
			match chain.abandon(&self.signer, job, vec![task]).await {
				Ok(()) => tracing::info!(job, task, "gave back a lease held before a restart"),
				Err(e) => tracing::debug!(job, task, error = %e, "a lease from before is gone"),
			}
		}
		// Nothing is held now: the list says so, so the next start does not try again.
		self.leases.lock().expect("not poisoned qed").save();
	}

	/// Registers with `--stake`; a worker registered already whose stake slashes brought below
	/// `--stake` adds the difference back (unless it is unbonding: its operator is taking the
	/// stake out).
	async fn register(&self, chain: &Chain) -> Result<(), Error> {
		let account = self.account();
		if let Some(registered) = chain.worker(&account).await? {
			let missing = self.config.stake.saturating_sub(registered.stake);
			if missing == 0 || registered.unbonding.is_some() {
				tracing::info!(%account, stake = registered.stake, "already registered");
				return Ok(());
			}
			let free = chain.free_balance(&account).await?;
			if free < missing {
				return Err(Error::Unfunded { account: account.to_string(), free, stake: missing });
			}
			chain.add_worker_stake(&self.signer, missing).await?;
			tracing::info!(%account, added = missing, stake = self.config.stake, "stake topped up");
			return Ok(());
		}
		let free = chain.free_balance(&account).await?;
		if free < self.config.stake {
			return Err(Error::Unfunded {
				account: account.to_string(),
				free,
				stake: self.config.stake,
			});
		}
		let profile = Profile {
			cores: self.config.cores,
			memory_mib: self.config.memory_mib,
			score: self.config.stated_score.unwrap_or(self.speed.typical),
			platform: self.platform,
			executor_version: ccgsc_executor::VERSION,
			peer_id: self.p2p.client().peer_id().to_bytes(),
		};
		chain.register_worker(&self.signer, self.config.stake, &profile).await?;
		tracing::info!(%account, score = self.speed.typical, "registered");
		Ok(())
	}

	/// Acts on a best block: reveals what the chain asks for.
	async fn on_best_block(
		&self,
		chain: &Chain,
		block: &ccgsc_chain::Block,
		last: &mut Option<u64>,
		actions: &mpsc::Sender<Action>,
	) -> Result<(), ccgsc_chain::Error> {
		// The stream gives the new best block, which may be several blocks past the last one
		// (a burst of imports, a switch to a longer fork): read the ones in between too, on
		// the chain the new block is on, so no reveal is missed.
		let number = block.number();
		let skipped = last.filter(|l| *l + 1 < number).map_or(0..0, |l| l + 1..number);
		*last = Some(number);
		for skipped in skipped {
			let events = chain.events_at(skipped as u32).await?;
			self.reveal_opened(&events, actions, true).await;
			self.stop_closed(&events);
		}
		let events = ccgsc_chain::block_events(block).await?;
		self.reveal_opened(&events, actions, true).await;
		self.stop_closed(&events);
		self.renew_due(number as u32, actions).await;
		Ok(())
	}

	/// Queues a renewal of every lease held that ends within [`RENEW_AHEAD`] blocks of `now`
	/// and has none on its way. A lease already past its end is gone (the chain requeues
	/// the task), so it is left alone.
	async fn renew_due(&self, now: u32, actions: &mpsc::Sender<Action>) {
		let due: Vec<(JobId, TaskIndex)> = {
			let mut leases = self.leases.lock().expect("not poisoned qed");
			leases
				.iter_mut()
				.filter(|(_, held)| {
					!held.renewing && held.until >= now && held.until - now <= RENEW_AHEAD
				})
				.map(|(key, held)| {
					held.renewing = true;
					*key
				})
				.collect()
		};
		for (job, task) in due {
			let _ = actions.send(Action::Renew { job, task }).await;
		}
	}

	/// Stops renewing the lease on `task` of `job` (it is being committed or given back).
	fn let_go(&self, job: JobId, task: TaskIndex) {
		self.leases.lock().expect("not poisoned qed").remove(job, task);
	}

	/// Takes up the results committed and not revealed yet, as the chain now sees them: sends
	/// the reveal of each whose reveal window is open (unless this run sent it already), keeps
	/// those whose task still waits for replicas or for its draw (their `RevealOpened` is to
	/// come), and forgets the rest (revealed, settled, past their window, or never committed:
	/// a crash can come between the record and the commit).
	async fn resume(&self, chain: &Chain, actions: &mpsc::Sender<Action>) {
		use api::runtime_types::pallet_jobs::types::{Phase, ReplicaState};
		let tasks = self.committed.lock().expect("not poisoned qed").tasks();
		let me = self.account();
		for (job, task) in tasks {
			let info = match chain.task(job, task).await {
				Ok(info) => info,
				Err(e) => {
					tracing::warn!(job, task, error = %e, "cannot read a committed task");
					continue;
				},
			};
			let committed = info.as_ref().is_some_and(|info| {
				info.replicas
					.0
					.iter()
					.any(|r| r.worker == me && matches!(r.state, ReplicaState::Committed(_)))
			});
			let phase = info.map(|info| info.phase);
			let pending = {
				let mut ledger = self.committed.lock().expect("not poisoned qed");
				match phase {
					Some(Phase::Open | Phase::Drawing) if committed => None,
					Some(Phase::Revealing(_)) if committed => {
						ledger.get_mut(job, task).filter(|p| !p.reveal_sent).map(|pending| {
							pending.reveal_sent = true;
							*pending
						})
					},
					_ => {
						ledger.remove(job, task);
						None
					},
				}
			};
			if let Some(Pending { result, salt, .. }) = pending {
				tracing::info!(job, task, "revealing a result committed before");
				let _ = actions.send(Action::Reveal { job, task, result, salt }).await;
			}
		}
	}

	/// Queues the reveals that `events` open for results this worker committed. With
	/// `again` (best blocks), even a reveal sent before: a block of a new fork may open it
	/// again. Without it (finalized blocks), only those not sent yet: that catches a reveal
	/// the best blocks missed, as a switch of forks can skip the block that opened it.
	async fn reveal_opened(
		&self,
		events: &ccgsc_chain::Events,
		actions: &mpsc::Sender<Action>,
		again: bool,
	) {
		for opened in events.find::<api::jobs::events::RevealOpened>().flatten() {
			let pending = {
				let mut committed = self.committed.lock().expect("not poisoned qed");
				committed.get_mut(opened.job, opened.task).and_then(|pending| {
					if pending.reveal_sent && !again {
						return None;
					}
					pending.reveal_sent = true;
					Some(*pending)
				})
			};
			if let Some(Pending { result, salt, .. }) = pending {
				let _ = actions
					.send(Action::Reveal { job: opened.job, task: opened.task, result, salt })
					.await;
			}
		}
	}

	/// Stops the tasks of the jobs `events` close (see [`Stops`]): those running end at the
	/// sandbox's next look at their flag, those waiting never start, and both give their
	/// leases back.
	fn stop_closed(&self, events: &ccgsc_chain::Events) {
		for closed in events.find::<api::jobs::events::JobClosed>().flatten() {
			if self.stops.stop(closed.job) {
				tracing::info!(
					job = closed.job,
					status = ?closed.status,
					"the job closed: stopping its tasks and giving their leases back"
				);
			}
		}
	}

	/// Counts the events of a finalized block (reveals done, payments, slashes, expired
	/// leases), sends any reveal they open and stops any job they close that the best blocks
	/// missed.
	async fn on_finalized_events(
		&self,
		events: &ccgsc_chain::Events,
		actions: &mpsc::Sender<Action>,
	) {
		self.reveal_opened(events, actions, false).await;
		self.stop_closed(events);
		let me = ccgsc_chain::AccountId32(self.account);
		for revealed in events.find::<api::jobs::events::Revealed>().flatten() {
			if revealed.worker == me {
				self.committed
					.lock()
					.expect("not poisoned qed")
					.remove(revealed.job, revealed.task);
				self.stats.revealed.fetch_add(1, Ordering::Relaxed);
			}
		}
		for paid in events.find::<api::jobs::events::Paid>().flatten() {
			if paid.to == me {
				self.stats.earned.fetch_add(paid.amount as u64, Ordering::Relaxed);
			}
		}
		for slashed in events.find::<api::jobs::events::LiarSlashed>().flatten() {
			if slashed.worker == me {
				tracing::warn!(
					job = slashed.job,
					task = slashed.task,
					"slashed for a wrong result"
				);
				self.stats.slashed.fetch_add(slashed.amount as u64, Ordering::Relaxed);
			}
		}
		for pruned in events.find::<api::jobs::events::JobPruned>().flatten() {
			kept::spawn_drop_job(&self.kept, self.p2p.client().store(), pruned.job);
		}
		for expired in events.find::<api::jobs::events::LeaseExpired>().flatten() {
			if expired.worker == me {
				tracing::warn!(
					job = expired.job,
					task = expired.task,
					"a lease expired before the commit"
				);
			}
		}
	}

	/// Runs one fetched task (or records why it could not be fetched) until `stop` is set;
	/// returns what to commit, or `None` to give the lease back.
	async fn execute(
		&self,
		job: JobId,
		task: TaskIndex,
		fetched: Result<task::Fetched, Ran>,
		stop: Arc<AtomicBool>,
	) -> Option<TaskResult> {
		let started = std::time::Instant::now();
		let ran = self.runner.execute_until(fetched, stop).await;
		self.stats.busy_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
		let mut execution = match ran {
			Ran::Done(execution) => execution,
			Ran::CannotRun(ccgsc_executor::Error::Stopped) => {
				tracing::info!(job, task, "the job closed: task stopped, lease given back");
				self.stats.stopped.fetch_add(1, Ordering::Relaxed);
				return None;
			},
			Ran::InputUnavailable(e) => {
				tracing::warn!(job, task, error = %e, "input unavailable");
				return Some(TaskResult::without_output(Outcome::InputUnavailable));
			},
			Ran::CannotRun(e) => {
				tracing::warn!(job, task, error = %e, "cannot run the task here; giving it back");
				return None;
			},
		};
		if let Some(detail) = &execution.detail {
			tracing::info!(job, task, outcome = ?execution.outcome, %detail, "task ended");
		}
		if self.config.corrupt_output && execution.outcome == Outcome::Success {
			match execution.output.first_mut() {
				Some(byte) => *byte ^= 1,
				None => execution.output.push(1),
			}
		}
		let result = execution.result();
		if execution.outcome == Outcome::Success {
			self.runner.note(job, Item::Blob(result.output));
			if let Err(e) = self.p2p.client().add(execution.output).await {
				tracing::warn!(job, task, error = %e, "cannot store the output");
			}
		}
		Some(result)
	}
}

/// Resolves at the first Ctrl-C, the signal to stop gracefully; from then on a second Ctrl-C
/// ends the process at once (exit status 130), for an operator who will not wait.
pub async fn interrupted() {
	let _ = tokio::signal::ctrl_c().await;
	tracing::info!("Ctrl-C: stopping gracefully (Ctrl-C again stops at once)");
	tokio::spawn(async {
		if tokio::signal::ctrl_c().await.is_ok() {
			tracing::warn!("second Ctrl-C: stopping at once");
			std::process::exit(130);
		}
	});
}

/// Connects to the node at `url`, retrying every few seconds (with a warning) while it is
/// unreachable; transactions are confirmed at best block.
pub async fn connect(url: &str) -> Chain {
	reach(url).await.0
}

/// [`connect`], and whether the node was unreachable at first.
async fn reach(url: &str) -> (Chain, bool) {
	let mut delay = Duration::from_millis(500);
	let mut waited = false;
	loop {
		match Chain::connect(url).await {
			Ok(chain) => return (chain.confirming(ccgsc_chain::Confirmation::BestBlock), waited),
			Err(e) => {
				tracing::warn!(%url, error = %e, "node unreachable; retrying in {delay:?}");
				tokio::time::sleep(delay).await;
				delay = (delay * 2).min(Duration::from_secs(5));
				waited = true;
			},
		}
	}
}

/// Connects to the node at `url` (as [`connect`] does) and runs `first`, a registration, on
/// the connection; `None` if `shutdown` resolves first. When `first` fails on the chain
/// (`on_chain` says which errors are the chain's), the node is reached anew and `first` runs
/// again: a node that went away meanwhile (a restart, say) is waited for, like one not up
/// yet. Any other failure is returned, as is one that repeats three times on a node that
/// stayed reachable.
pub async fn connect_then<T, E: std::fmt::Display, F>(
	url: &str,
	mut shutdown: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
	mut first: impl FnMut(Chain) -> F,
	on_chain: impl Fn(&E) -> bool,
) -> Result<Option<(Chain, T)>, E>
where
	F: std::future::Future<Output = Result<T, E>>,
{
	let mut chain = tokio::select! {
		(chain, _) = reach(url) => chain,
		_ = shutdown.as_mut() => return Ok(None),
	};
	let mut failures = 0;
	loop {
		let error = match first(chain.clone()).await {
			Ok(value) => return Ok(Some((chain, value))),
			Err(e) if on_chain(&e) => e,
			Err(e) => return Err(e),
		};
		tracing::warn!(%error, "cannot register; trying again");
		let (next, waited) = tokio::select! {
			reached = reach(url) => reached,
			_ = shutdown.as_mut() => return Ok(None),
		};
		failures = if waited { 0 } else { failures + 1 };
		if failures == 3 {
			return Err(error);
		}
		if !waited {
			tokio::time::sleep(Duration::from_secs(1)).await;
		}
		chain = next;
	}
}

/// Sends the worker's transactions, batching what is pending for a job into one call.
///
/// Transactions are signed and handed to the node one after another (the chain client hands
/// out nonces in that order), and their confirmations are awaited concurrently, so a claim
/// never waits a block for a commit or a reveal that went out before it. One claim round runs
/// at a time: it takes its room up front, so leases never outnumber `held`. A claim asked for
/// while a round runs is not lost: the round runs again when it ends.
async fn submit_loop(
	worker: Arc<Worker>,
	chains: watch::Receiver<Chain>,
	mut actions: mpsc::Receiver<Action>,
	slots: Slots,
) {
	// One task runs the claim rounds, one at a time. The channel holds one request: a claim
	// asked for while a round runs (a lease freed meanwhile) waits there and starts the next
	// round; more requests meanwhile add nothing. The task ends with this loop.
	let (claims, mut wanted) = mpsc::channel::<()>(1);
	{
		let (worker, chains, slots) = (worker.clone(), chains.clone(), slots.clone());
		tokio::spawn(async move {
			let mut backoff = HashMap::new();
			while wanted.recv().await.is_some() {
				if !slots.stopping.load(Ordering::SeqCst) {
					let chain = chains.borrow().clone();
					claim_round(&worker, &chain, &slots, &mut backoff).await;
				}
			}
		});
	}
	while let Some(first) = actions.recv().await {
		let mut pending = vec![first];
		while let Ok(more) = actions.try_recv() {
			pending.push(more);
		}
		let chain = chains.borrow().clone();
		let mut reveals: HashMap<JobId, Vec<(TaskIndex, TaskResult, Hash)>> = HashMap::new();
		let mut commits: HashMap<JobId, Vec<(TaskIndex, Hash)>> = HashMap::new();
		let mut abandons: HashMap<JobId, Vec<TaskIndex>> = HashMap::new();
		let mut renewals: HashMap<JobId, Vec<TaskIndex>> = HashMap::new();
		let mut claim = false;
		for action in pending {
			match action {
				Action::Reveal { job, task, result, salt } => {
					reveals.entry(job).or_default().push((task, result, salt))
				},
				Action::Commit { job, task, hash } => {
					commits.entry(job).or_default().push((task, hash))
				},
				Action::Abandon { job, task } => abandons.entry(job).or_default().push(task),
				Action::Renew { job, task } => renewals.entry(job).or_default().push(task),
				Action::Claim => claim = true,
			}
		}
		for (job, tasks) in renewals {
			let (chain, worker) = (chain.clone(), worker.clone());
			tokio::spawn(async move { renew(&worker, &chain, job, tasks).await });
		}
		for (job, batch) in reveals {
			let (chain, worker) = (chain.clone(), worker.clone());
			tokio::spawn(async move {
				if let Err(e) = chain.reveal(&worker.signer, job, batch).await {
					worker.stats.refused.fetch_add(1, Ordering::Relaxed);
					tracing::warn!(job, error = %e, "reveal refused");
				}
			});
		}
		for (job, batch) in commits {
			let (chain, worker) = (chain.clone(), worker.clone());
			tokio::spawn(async move {
				let tasks: Vec<TaskIndex> = batch.iter().map(|(t, _)| *t).collect();
				if let Err(e) = chain.commit(&worker.signer, job, batch).await {
					worker.stats.refused.fetch_add(1, Ordering::Relaxed);
					tracing::warn!(job, ?tasks, error = %e, "commit refused");
					// A refusal is final; any other failure may hide a commit that landed,
					// which the ledger then lets a reconnection or a restart reveal.
					if matches!(e, ccgsc_chain::Error::Dispatch(_)) {
						let mut committed = worker.committed.lock().expect("not poisoned qed");
						for task in tasks {
							committed.remove(job, task);
						}
					}
				}
			});
		}
		for (job, tasks) in abandons {
			let (chain, worker) = (chain.clone(), worker.clone());
			tokio::spawn(async move {
				if let Err(e) = chain.abandon(&worker.signer, job, tasks).await {
					tracing::warn!(job, error = %e, "abandon refused");
				}
			});
		}
		if claim {
			// Full means a request is already waiting for the next round.
			let _ = claims.try_send(());
		}
	}
}

/// Renews the leases on `tasks` of `job` and notes their new ends. If the chain refuses
/// (one of them was committed or given back meanwhile, or ran out), the ones still held are
/// tried again at the next best block that finds them due.
async fn renew(worker: &Worker, chain: &Chain, job: JobId, tasks: Vec<TaskIndex>) {
	let renewed = chain.renew(&worker.signer, job, tasks.clone()).await;
	let mut leases = worker.leases.lock().expect("not poisoned qed");
	match renewed {
		Ok(renewed) => {
			worker.stats.renewed.fetch_add(renewed.len() as u64, Ordering::Relaxed);
			for lease in renewed {
				if let Some(held) = leases.get_mut(job, lease.task) {
					*held = Held { until: lease.until, renewing: false };
				}
			}
		},
		Err(e) => {
			worker.stats.refused.fetch_add(1, Ordering::Relaxed);
			tracing::warn!(job, ?tasks, error = %e, "renewal refused");
			for task in tasks {
				if let Some(held) = leases.get_mut(job, task) {
					held.renewing = false;
				}
			}
		},
	}
}

/// Claims as many leases as there is room for, from the open jobs this worker can run.
///
/// Each lease is fetched as soon as it is claimed and waits for a free core with its input
/// and module at hand.
async fn claim_round(
	worker: &Arc<Worker>,
	chain: &Chain,
	slots: &Slots,
	backoff: &mut HashMap<JobId, u32>,
) {
	let Slots { actions, held, exec, stopping, best } = slots;
	let best = best.borrow().clone();
	let listed = match &best {
		Some(block) => chain.open_jobs_in(block).await,
		None => chain.open_jobs().await,
	};
	let jobs = match listed {
		Ok(jobs) => jobs,
		Err(e) => {
			tracing::warn!(error = %e, "cannot list jobs");
			return;
		},
	};
	let now = match &best {
		Some(block) => block.number() as u32,
		None => chain.finalized_number().await.unwrap_or(0),
	};
	for (id, job) in jobs {
		let room = held.available_permits() as u32;
		if room == 0 {
			return;
		}
		let spec = &job.spec;
		let fits = ccgsc_chain::convert::platforms_back(&spec.platforms).contains(worker.platform)
			&& spec.executor_version == ccgsc_executor::VERSION
			&& spec.limits.memory <= u64::from(worker.config.memory_mib) << 20
			&& job.next_task <= spec.task_count;
		let backing_off = backoff.get(&id).is_some_and(|until| *until > now);
		if !fits || backing_off {
			continue;
		}
		let Ok(mut room) = held.clone().try_acquire_many_owned(room) else { return };
		// Taken before the claim, so a close in the very block after it finds the flag.
		let stop = worker.stops.of(id);
		match chain.claim(&worker.signer, id, room.num_permits() as u32).await {
			Ok(leases) => {
				worker.stats.inactive.store(false, Ordering::Relaxed);
				let info = TaskSpec::from_chain(id, &job);
				worker.leases.lock().expect("not poisoned qed").claimed(id, &leases);
				for lease in leases {
					let permit = room.split(1).expect("one permit per lease claimed qed");
					let (worker, actions, exec, info, stopping, stop) = (
						worker.clone(),
						actions.clone(),
						exec.clone(),
						info.clone(),
						stopping.clone(),
						stop.clone(),
					);
					tokio::spawn(async move {
						let fetched = worker.runner.fetch(&info, lease.task).await;
						let running = exec.acquire().await.expect("never closed qed");
						if stopping.load(Ordering::SeqCst) {
							worker.let_go(info.job, lease.task);
							worker.stats.abandoned.fetch_add(1, Ordering::Relaxed);
							let _ = actions
								.send(Action::Abandon { job: info.job, task: lease.task })
								.await;
							return;
						}
						worker.stats.running.fetch_add(1, Ordering::Relaxed);
						let result = worker.execute(info.job, lease.task, fetched, stop).await;
						worker.stats.running.fetch_sub(1, Ordering::Relaxed);
						drop(running);
						let Some(result) = result else {
							worker.let_go(info.job, lease.task);
							worker.stats.abandoned.fetch_add(1, Ordering::Relaxed);
							let _ = actions
								.send(Action::Abandon { job: info.job, task: lease.task })
								.await;
							return;
						};
						let salt = salt();
						let task = TaskRef { job: info.job, index: lease.task };
						let hash = commitment(&result, &salt, &worker.account, &task);
						let kept = worker
							.committed
							.lock()
							.expect("not poisoned qed")
							.insert(info.job, lease.task, result, salt);
						worker.let_go(info.job, lease.task);
						if let Err(e) = kept {
							// A commit whose salt could be lost must not be made.
							tracing::error!(job = info.job, task = lease.task, error = %e,
								"cannot record the result on disk; giving the lease back");
							worker.stats.abandoned.fetch_add(1, Ordering::Relaxed);
							let _ = actions
								.send(Action::Abandon { job: info.job, task: lease.task })
								.await;
							return;
						}
						worker.stats.tasks_done.fetch_add(1, Ordering::Relaxed);
						let _ = actions
							.send(Action::Commit { job: info.job, task: lease.task, hash })
							.await;
						drop(permit);
						// A lease is free: claim the next one now, not at the next block.
						let _ = actions.try_send(Action::Claim);
					});
				}
			},
			Err(e) => {
				let inactive = e.to_string().contains("NotAnActiveWorker");
				if inactive && !worker.stats.inactive.swap(true, Ordering::Relaxed) {
					tracing::error!(
						"the chain no longer counts this worker as active: its stake fell below \
						 the minimum (slashed), or its registration is gone (the chain started \
						 over); it claims nothing until restarted, which tops the stake up to \
						 --stake or registers again"
					);
				} else if !inactive {
					tracing::debug!(job = id, error = %e, "nothing claimed");
				}
				backoff.insert(id, now + 3);
			},
		}
	}
}

/// The peers a worker or checker (`who`) whose folder is `dir` joins the content network
/// through: `given` (its `--bootstrap`), or with none the addresses of the portal beside `dir`
/// ([`ccgsc_p2p::Bootstrap::resolve`]). Logs where they came from, or warns that there are
/// none: on no content network it can fetch no module and no input until a peer dials it.
///
/// # Errors
/// If the portal's file exists but cannot be read or holds something other than addresses.
pub fn bootstrap_for(
	who: &str,
	given: Vec<Multiaddr>,
	dir: &std::path::Path,
) -> anyhow::Result<Vec<Multiaddr>> {
	use anyhow::Context;
	let bootstrap = ccgsc_p2p::Bootstrap::resolve(given, dir)
		.context("cannot read the portal's p2p addresses")?;
	if let Some(file) = bootstrap.portal_file() {
		tracing::info!(
			"joining the content network through the portal's addresses in {}",
			file.display()
		);
	}
	if let Some(none) = bootstrap.none_found() {
		tracing::warn!(
			"{none}: this {who} is on no content network until a peer dials it, and cannot \
			 fetch modules and inputs meanwhile (pass --bootstrap with the portal's p2p address)"
		);
	}
	Ok(bootstrap.addrs)
}

/// The key kept in `dir/key` (hex of the 32-byte ed25519 secret, readable by its owner only),
/// made on first use. Workers and checkers keep their one key this way.
///
/// # Errors
/// If the file holds something else, or cannot be written.
pub fn key_in(dir: &std::path::Path) -> anyhow::Result<[u8; 32]> {
	use anyhow::Context;
	let path = dir.join("key");
	if let Ok(hex) = std::fs::read_to_string(&path) {
		let id = ccgsc_primitives::ContentId::from_hex(hex.trim())
			.map_err(|_| anyhow::anyhow!("{} does not hold a 64-digit hex key", path.display()))?;
		return Ok(id.0);
	}
	let seed = salt();
	std::fs::create_dir_all(dir)?;
	std::fs::write(&path, ccgsc_primitives::ContentId(seed).to_hex())
		.with_context(|| format!("cannot write {}", path.display()))?;
	#[cfg(unix)]
	{
		use std::os::unix::fs::PermissionsExt;
		std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
	}
	Ok(seed)
}

/// An exclusive hold on the file at `path` (made, with its directory, if missing) for as long
/// as the returned file stays open; `None` if another open file holds it, in this process or
/// another. The OS lets go when the process ends, however it ends, so a crash leaves nothing
/// to clean up.
///
/// A worker or checker holds `<dir>/lock` while it runs ([`Worker::new`]): two processes on
/// one `--dir` would sign with one key and rewrite each other's ledger, notes and leases.
///
/// # Errors
/// If the file cannot be made or the OS cannot lock it.
pub fn hold(path: &std::path::Path) -> std::io::Result<Option<std::fs::File>> {
	if let Some(dir) = path.parent() {
		std::fs::create_dir_all(dir)?;
	}
	let file = std::fs::File::create(path)?;
	match file.try_lock() {
		Ok(()) => Ok(Some(file)),
		Err(std::fs::TryLockError::WouldBlock) => Ok(None),
		Err(std::fs::TryLockError::Error(e)) => Err(e),
	}
}

/// 32 random bytes from the OS: a commitment's salt, a new key.
pub fn salt() -> Hash {
	let mut salt = [0u8; 32];
	getrandom::getrandom(&mut salt).expect("the OS has randomness qed");
	salt
}

/// One line saying who the worker is and where to look, for its logs.
pub fn describe(worker: &Worker, metrics: Option<SocketAddr>) -> String {
	format!(
		"worker {} (peer {}), score {} units/s ({} when every load misses the caches){}",
		worker.account(),
		worker.p2p.client().peer_id(),
		worker.speed.typical,
		worker.speed.slowest,
		metrics.map(|m| format!(", metrics on http://{m}/metrics")).unwrap_or_default()
	)
}

#[cfg(test)]
mod tests {
	use std::sync::atomic::Ordering;

	use super::{hold, Stops};

	#[test]
	fn a_closed_job_stops_every_lease_held_on_it_and_no_other() {
		let stops = Stops::default();
		let (first, second, other) = (stops.of(1), stops.of(1), stops.of(2));
		assert!(stops.stop(1), "leases on job 1 hold its flag");
		assert!(first.load(Ordering::Relaxed) && second.load(Ordering::Relaxed));
		assert!(!other.load(Ordering::Relaxed), "job 2 goes on");
		drop((first, second));
		assert!(!stops.stop(1), "no lease on job 1 is left to stop");
		assert!(!stops.of(3).load(Ordering::Relaxed), "a new job starts unstopped");
		assert_eq!(stops.0.lock().unwrap().len(), 2, "only the jobs with leases are kept");
	}

	#[test]
	fn a_held_file_is_refused_to_a_second_holder_until_the_first_lets_go() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("worker").join("lock");
		let first = hold(&path).unwrap().expect("the first hold is taken, its directory made");
		assert!(hold(&path).unwrap().is_none(), "a second hold is refused while the first is open");
		drop(first);
		assert!(hold(&path).unwrap().is_some(), "once the first lets go, the file is free again");
	}
}
