//! # The CCGSC checker
//!
//! A checker stakes credits in `pallet-attestations` and settles what replicas cannot: when
//! the chain opens a review (replicas disagreed, one did not reveal, or a single result was
//! drawn for audit) it selects checkers at random, and `ccgsc-verifier` does the selected
//! checker's part:
//!
//! 1. it reads the job from the chain and fetches the task's input (checked against the job's
//!    inputs root) and module over libp2p, like any worker;
//! 2. re-executes the task in the same sandbox as the workers ([`ccgsc_worker::Runner`]);
//! 3. commits to its result (`attest`, a salted hash), so no checker can copy another;
//! 4. once every selected checker has committed, or the commit window has closed, reveals the
//!    result with the chunk of its output the chain draws and that chunk's Merkle proof
//!    (`reveal_attestation`): a checker must hold the output it vouches for.
//!
//! The verdict is the majority of the revealed results; checkers with it are paid a fee, the
//! others slashed (see `pallet-attestations`). The verifier keeps each output it computed in
//! its content store and serves it, so an accepted output stays available, until the chain
//! removes the job's record (a week after the job ended): then it drops what it stored only
//! for that job, as workers do ([`ccgsc_worker::kept`]).
//!
//! Decisions: the verifier follows finalized blocks for assignments (each block once, with
//! those finalized while it was away read by number: [`ccgsc_worker::Finalized`]) and confirms
//! its own transactions at best block (as workers do); it runs as many reviews at once as it has
//! cores, and submits concurrently through one client whose nonces never collide. A review
//! it cannot re-execute (its wall-clock guard fired) is left unrevealed and counted as
//! failed: it will be slashed for that, which is the rule for a checker that cannot check.
//! Each result and salt is written to `dir/attested` (a [`Ledger`], flushed to disk) before
//! its attestation is sent, and dropped once revealed or moot, so a verifier killed or
//! restarted between its commit and its reveal reveals when it starts again (its output is
//! in its content store), instead of being slashed for silence.
//!
//! A checker whose stake slashing has left below the minimum gets no new reviews, and the
//! registry has no call to top a stake up: the verifier then leaves the registry (once the
//! reviews it has are over), withdraws the stake when it has unbonded, and registers anew
//! with its configured stake, by itself and whether it runs on or is started again meanwhile
//! ([`standing`]). Until then its status line says why it is not selected, and so does its
//! `ccgsc_verifier_selectable` gauge.
//!
//! A checker whose operator is done leaves for good with [`Verifier::leave`]
//! (`ccgsc-verifier leave`): it does the reviews it was selected for, leaves the registry once
//! they are over (the chain refuses before), waits out the unbonding period and withdraws its
//! stake.
#![deny(missing_docs)]

pub mod standing;

use std::{
	collections::{HashMap, HashSet},
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use ccgsc_chain::{
	api::{
		self,
		runtime_types::pallet_attestations::{Attestation, Review},
	},
	AccountId32, Balance, Chain, Ed25519Signer,
};
use ccgsc_executor::Executor;
use ccgsc_p2p::{Multiaddr, Node};
use ccgsc_primitives::{
	chunk_count, chunk_range, commitment, draw, ChunkTree, Hash, JobId, Outcome, PlatformClass,
	TaskIndex, TaskRef, TaskResult,
};
use ccgsc_worker::{
	kept::{self, Item, Kept},
	metric, Ledger, Metrics, Ran, Runner, TaskSpec,
};
use standing::Step;
use tokio::sync::{watch, Semaphore};

/// Work units of the typical probe run at start (`Executor::probe`, which also times the chase
/// through memory that sets the sandbox's wall-clock guard).
const PROBE_WORK: u64 = 200_000_000;

/// Errors of the verifier.
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
	/// The ledger of attested results (`dir/attested`) cannot be read.
	#[error("cannot read the attested results: {0} (an attestation never revealed is slashed; move the file aside only if no review of it is open)")]
	Ledger(std::io::Error),
	/// The notes of what the content store holds for each job (`dir/kept`) cannot be read.
	#[error("cannot read what the store keeps for each job: {0}")]
	Kept(std::io::Error),
	/// This CPU architecture has no platform class (x86-64 and aarch64 do).
	#[error("no platform class for this CPU architecture")]
	UnsupportedPlatform,
	/// Another checker or worker runs on this directory (it holds `dir/lock`).
	#[error("another checker or worker uses {}: each needs a --dir of its own", .0.display())]
	InUse(std::path::PathBuf),
	/// The directory's lock (`dir/lock`) cannot be made.
	#[error("cannot lock {}: {}", .0.display(), .1)]
	Lock(std::path::PathBuf, std::io::Error),
	/// A transaction that changes the checker's registration was confirmed, but its node did
	/// not finalize it within a minute.
	#[error("the node did not finalize the checker's {0} within a minute")]
	Unfinalized(&'static str),
	/// [`Verifier::leave`] on an account that is not a registered checker.
	#[error("{0} is not a registered checker: there is no stake to take back")]
	NotRegistered(String),
	/// The account cannot cover the stake.
	#[error("{}", ccgsc_chain::unfunded(.account, *.free, *.stake))]
	Unfunded {
		/// The checker's account.
		account: String,
		/// Its free balance.
		free: Balance,
		/// The stake asked for.
		stake: Balance,
	},
}

/// A verifier's configuration.
#[derive(Clone, Debug)]
pub struct Config {
	/// The node's WebSocket RPC address.
	pub chain_url: String,
	/// The verifier's state: content store, compiled-module cache.
	pub dir: PathBuf,
	/// The 32-byte secret of its ed25519 key (chain account and libp2p identity).
	pub seed: [u8; 32],
	/// Stake to register with (if not registered yet), and to register anew with once a
	/// slash left the stake below the minimum (see [`standing`]).
	pub stake: Balance,
	/// Reviews re-executed at once.
	pub cores: u32,
	/// libp2p peers to dial at start.
	pub bootstrap: Vec<Multiaddr>,
	/// Where the p2p node listens.
	pub listen: Vec<Multiaddr>,
}

impl Config {
	/// A verifier on the node at `chain_url`, with its state in `dir` and the key `seed`; a
	/// stake of 200 credits, one review at a time.
	pub fn new(chain_url: impl Into<String>, dir: impl Into<PathBuf>, seed: [u8; 32]) -> Self {
		Self {
			chain_url: chain_url.into(),
			dir: dir.into(),
			seed,
			stake: 200 * ccgsc_chain::UNIT,
			cores: 1,
			bootstrap: Vec::new(),
			listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr qed")],
		}
	}

	/// Stakes `stake` when registering.
	pub fn with_stake(mut self, stake: Balance) -> Self {
		self.stake = stake;
		self
	}

	/// Re-executes up to `cores` reviews at once (at least 1).
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
}

/// What the verifier has done, for the status line and `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
	/// Reviews it was selected for.
	pub assigned: AtomicU64,
	/// Reviews it committed a result to.
	pub attested: AtomicU64,
	/// Reviews it revealed with a valid chunk proof.
	pub revealed: AtomicU64,
	/// Concluded reviews whose verdict was its result.
	pub upheld: AtomicU64,
	/// Concluded reviews whose verdict was not its result, or that had none; a review whose
	/// module or input it could not get is counted under `failed` instead.
	pub overruled: AtomicU64,
	/// Reviews it could not complete: re-execution or a transaction failed, or it could not
	/// get the module or input (it reveals that, which is no verdict: no fee, no slash).
	pub failed: AtomicU64,
	/// Fees earned, in the smallest unit.
	pub earned: AtomicU64,
	/// Stake slashed, in the smallest unit.
	pub slashed: AtomicU64,
	/// Whether the verifier follows its node's blocks now (false until it first does, and
	/// while it reconnects).
	pub connected: AtomicBool,
	/// Where the checker stands in the registry, as last read (`None` before the first read):
	/// [`Step::Serve`] while reviews can select it.
	pub standing: Mutex<Option<Step>>,
	/// The finalized block at which `standing` was last read: a stake unbonding until a
	/// block is said with how many blocks that still is.
	pub standing_at: AtomicU32,
	/// Whether the checker is leaving for good ([`Verifier::leave`]).
	pub leaving: AtomicBool,
}

impl Stats {
	/// Whether reviews can select the checker, as last read.
	pub fn selectable(&self) -> bool {
		*self.standing.lock().expect("not poisoned qed") == Some(Step::Serve)
	}

	/// The one-line status; it starts with `node unreachable, retrying` while the verifier
	/// cannot follow its node's blocks, and with `not selected for reviews (why)` while the
	/// registry selects it for none.
	pub fn line(&self) -> String {
		let standing = *self.standing.lock().expect("not poisoned qed");
		let leaving = self.leaving.load(Ordering::Relaxed);
		let now = self.standing_at.load(Ordering::Relaxed);
		let left = |until: u32| format!("{} blocks from now", until.saturating_sub(now));
		let standing = match standing {
			None | Some(Step::Serve) => String::new(),
			Some(Step::FinishReviews | Step::Leave) if leaving => {
				"leaving (once the reviews it was selected for are over) · ".into()
			},
			Some(Step::Unbonding { until }) if leaving => {
				format!("leaving (the stake unbonds until block {until}, {}) · ", left(until))
			},
			Some(Step::Withdraw) if leaving => "leaving (withdrawing the stake) · ".into(),
			Some(Step::Gone) => "left the registry · ".into(),
			Some(Step::FinishReviews | Step::Leave) => {
				"not selected for reviews (stake below the minimum after a slash) · ".into()
			},
			Some(Step::Unbonding { until }) => format!(
				"not selected for reviews (restaking: registers anew after block {until}, {}) · ",
				left(until)
			),
			Some(Step::Withdraw | Step::Register) => {
				"not selected for reviews (not registered: registers once the account covers the stake) · ".into()
			},
		};
		format!("{}{standing}{}", ccgsc_worker::unreachable_prefix(&self.connected), self.totals())
	}

	/// What the checker has done so far, without the state [`Stats::line`] starts with: what
	/// it says when it stops.
	pub fn totals(&self) -> String {
		format!(
			"reviews assigned {} · revealed {} · upheld {} · overruled {} · failed {} · earned {:.3} credits · slashed {:.3}",
			self.assigned.load(Ordering::Relaxed),
			self.revealed.load(Ordering::Relaxed),
			self.upheld.load(Ordering::Relaxed),
			self.overruled.load(Ordering::Relaxed),
			self.failed.load(Ordering::Relaxed),
			self.earned.load(Ordering::Relaxed) as f64 / ccgsc_chain::UNIT as f64,
			self.slashed.load(Ordering::Relaxed) as f64 / ccgsc_chain::UNIT as f64,
		)
	}
}

impl Metrics for Stats {
	fn render(&self) -> String {
		let counters = [
			("ccgsc_verifier_assigned_total", "Reviews it was selected for.", &self.assigned),
			("ccgsc_verifier_attested_total", "Reviews it committed a result to.", &self.attested),
			("ccgsc_verifier_revealed_total", "Reviews it revealed.", &self.revealed),
			("ccgsc_verifier_upheld_total", "Verdicts equal to its result.", &self.upheld),
			(
				"ccgsc_verifier_overruled_total",
				"Verdicts not equal to its result.",
				&self.overruled,
			),
			("ccgsc_verifier_failed_total", "Reviews it could not complete.", &self.failed),
			("ccgsc_verifier_earned_total", "Fees earned, in the smallest unit.", &self.earned),
			("ccgsc_verifier_slashed_total", "Stake slashed, in the smallest unit.", &self.slashed),
		];
		let mut out = String::new();
		for (name, help, value) in counters {
			metric(&mut out, "counter", name, help, value.load(Ordering::Relaxed));
		}
		metric(
			&mut out,
			"gauge",
			"ccgsc_verifier_chain_connected",
			"1 while the verifier follows its node's blocks, 0 while it cannot reach the node.",
			u64::from(self.connected.load(Ordering::Relaxed)),
		);
		metric(
			&mut out,
			"gauge",
			"ccgsc_verifier_selectable",
			"1 while reviews can select this checker (registered, stake at least the minimum, not leaving).",
			u64::from(self.selectable()),
		);
		out
	}
}

/// A running verifier.
pub struct Verifier {
	config: Config,
	signer: Ed25519Signer,
	account: AccountId32,
	platform: PlatformClass,
	p2p: Node,
	runner: Runner,
	stats: Arc<Stats>,
	/// The result it revealed (or will reveal), by review.
	mine: Mutex<HashMap<(JobId, TaskIndex), TaskResult>>,
	/// Results attested and not yet revealed, with their salts, mirrored in `dir/attested`.
	attested: Mutex<Ledger>,
	/// Which job each item of the content store is for, noted in `dir/kept`: an item goes
	/// from the store with the record of the last job it is for.
	kept: Arc<Mutex<Kept>>,
	/// The reviews this run is working on (see [`Verifier::take_up`]).
	in_hand: Mutex<HashSet<(JobId, TaskIndex)>>,
	/// Set while [`Verifier::take_standing`] runs in the background.
	standing_busy: AtomicBool,
	/// The last error of a background [`Verifier::take_standing`], logged once.
	standing_error: Mutex<Option<String>>,
	/// Stake withdrawn by this run while leaving for good.
	withdrawn: Mutex<Balance>,
	/// The hold on `dir/lock` (see [`ccgsc_worker::hold`]), let go when the checker is dropped.
	_lock: std::fs::File,
}

impl Verifier {
	/// Takes the directory (see [`ccgsc_worker::hold`]), starts the p2p node and sets up the
	/// sandbox. Does not touch the chain yet.
	///
	/// # Errors
	/// [`Error::InUse`] if another checker or worker runs on the directory; otherwise if the
	/// p2p node or the sandbox cannot start.
	pub async fn new(config: Config) -> Result<Self, Error> {
		let lock = ccgsc_worker::hold(&config.dir.join("lock"))
			.map_err(|e| Error::Lock(config.dir.join("lock"), e))?
			.ok_or_else(|| Error::InUse(config.dir.clone()))?;
		let signer = Ed25519Signer::from_seed(config.seed);
		let account = AccountId32(signer.public());
		let platform = PlatformClass::native().ok_or(Error::UnsupportedPlatform)?;
		let p2p = Node::start(
			ccgsc_p2p::Config::new(config.dir.join("store"))
				.with_ed25519_secret(config.seed)
				.with_listen(config.listen.clone())
				.with_bootstrap(config.bootstrap.clone()),
		)
		.await?;
		let speed = tokio::task::spawn_blocking(move || {
			Executor::new(ccgsc_executor::Config::default())?.probe(PROBE_WORK)
		})
		.await
		.expect("the probe does not panic qed")?;
		let executor = Executor::new(
			ccgsc_executor::Config::default()
				.with_cache_dir(config.dir.join("wasm-cache"))
				.with_speed(speed),
		)?;
		let kept = Arc::new(Mutex::new(Kept::open(config.dir.join("kept")).map_err(Error::Kept)?));
		let runner = Runner::new(p2p.client().clone(), executor).with_kept(kept.clone());
		let attested = Ledger::open(config.dir.join("attested")).map_err(Error::Ledger)?;
		Ok(Self {
			config,
			signer,
			account,
			platform,
			p2p,
			runner,
			stats: Arc::default(),
			mine: Mutex::default(),
			in_hand: Mutex::default(),
			attested: Mutex::new(attested),
			kept,
			standing_busy: AtomicBool::new(false),
			standing_error: Mutex::default(),
			withdrawn: Mutex::default(),
			_lock: lock,
		})
	}

	/// The checker's chain account (its ed25519 public key).
	pub fn account(&self) -> AccountId32 {
		self.account
	}

	/// The p2p node (its peer id and addresses).
	pub fn p2p(&self) -> &Node {
		&self.p2p
	}

	/// What the verifier has done so far.
	pub fn stats(&self) -> Arc<Stats> {
		self.stats.clone()
	}

	/// Registers as a checker (if needed; see [`Verifier::take_standing`] for one whose stake
	/// is below the minimum) and checks until `shutdown` resolves; reviews under way are then
	/// finished (revealed) before it returns.
	///
	/// While the node cannot be reached the verifier keeps trying (and says so in its status
	/// line and its `ccgsc_verifier_chain_connected` gauge); `shutdown` still stops it then.
	///
	/// # Errors
	/// [`Error::Unfunded`] if the account cannot cover the stake; [`Error::Chain`] if the
	/// registration fails on a node that stays reachable (see [`ccgsc_worker::connect_then`]).
	/// A node that goes away, even while the checker registers, is waited for, not an error.
	pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<(), Error> {
		self.work(shutdown).await.map(|_| ())
	}

	/// Leaves the registry for good and takes the stake back: does the reviews it was
	/// selected for (and reveals those an earlier run attested), leaves once they are over (the
	/// chain refuses before; until it has left, a new review may still select it, and is done
	/// too), waits out the unbonding period, withdraws the stake and returns what came back.
	///
	/// `None` if `shutdown` resolved first (reviews under way are finished first, as in
	/// [`Verifier::run`]). Run again, it goes on from where the chain stands.
	///
	/// # Errors
	/// [`Error::NotRegistered`] if the account is not a registered checker; otherwise as
	/// [`Verifier::run`].
	pub async fn leave(
		self,
		shutdown: impl std::future::Future<Output = ()>,
	) -> Result<Option<ccgsc_worker::Left>, Error> {
		self.stats.leaving.store(true, Ordering::Relaxed);
		self.work(shutdown).await
	}

	/// [`Verifier::run`], or [`Verifier::leave`] once [`Stats::leaving`] is set.
	async fn work(
		self,
		shutdown: impl std::future::Future<Output = ()>,
	) -> Result<Option<ccgsc_worker::Left>, Error> {
		tokio::pin!(shutdown);
		let this = &self;
		let registered = ccgsc_worker::connect_then(
			&self.config.chain_url,
			shutdown.as_mut(),
			|chain| async move { this.take_standing(&chain).await },
			|e| matches!(e, Error::Chain(_) | Error::Unfinalized(_)),
		)
		.await?;
		let Some((chain, ())) = registered else {
			tracing::info!("stopped before registering");
			return Ok(None);
		};
		let leaving = self.stats.leaving.load(Ordering::Relaxed);
		let gone =
			|stats: &Stats| *stats.standing.lock().expect("not poisoned qed") == Some(Step::Gone);
		kept::drop_pruned(&self.kept, self.p2p.client().store(), &chain).await;
		let mut finalized_seen = ccgsc_worker::Finalized::from_now(&chain).await;
		let this = Arc::new(self);
		let slots = Arc::new(Semaphore::new(this.config.cores as usize));
		let (chain_tx, chain_rx) = watch::channel(chain);
		let mut reviews = tokio::task::JoinSet::new();
		// The way back to selectable (leave, withdraw, register anew) runs beside the reviews,
		// one step at a time, and is dropped at shutdown: started again, the checker goes on.
		let mut upkeep = tokio::task::JoinSet::new();
		let mut reconnect = false;
		'outer: loop {
			if std::mem::take(&mut reconnect) {
				this.stats.connected.store(false, Ordering::Relaxed);
				tokio::select! {
					chain = ccgsc_worker::connect(&this.config.chain_url) => {
						chain_tx.send_replace(chain);
					},
					_ = &mut shutdown => break 'outer,
				}
			}
			let chain = chain_tx.borrow().clone();
			let mut blocks = match chain.client().stream_blocks().await {
				Ok(blocks) => blocks,
				Err(e) => {
					tracing::warn!(error = %e, "cannot follow blocks; reconnecting");
					reconnect = true;
					continue;
				},
			};
			this.stats.connected.store(true, Ordering::Relaxed);
			// Attestations a previous run (or this one, before the node went away) left
			// unrevealed, and no review of this run has in hand, are revealed now, or as soon
			// as their reveals open.
			let unsent = this.attested.lock().expect("not poisoned qed").take_unsent();
			for (job, task) in unsent {
				let (me, chain) = (this.clone(), chain_rx.clone());
				this.take_up(
					&mut reviews,
					job,
					task,
					async move { me.resume(&chain, job, task).await },
				);
			}
			// Reviews it was selected for while it was away (stopped, or cut off from the node)
			// are taken up now, if their commit windows are still open: the blocks that
			// assigned them are past, and a selected checker that stays silent is slashed.
			match this.missed_reviews(&chain).await {
				Ok(missed) => {
					for (job, task) in missed {
						this.start_review(&mut reviews, &chain_rx, &slots, job, task);
					}
				},
				Err(e) => tracing::warn!(error = %e, "cannot read the open reviews"),
			}
			loop {
				if leaving && gone(&this.stats) {
					break 'outer;
				}
				let block = tokio::select! {
					_ = &mut shutdown => break 'outer,
					Some(_) = reviews.join_next(), if !reviews.is_empty() => continue,
					Some(_) = upkeep.join_next(), if !upkeep.is_empty() => continue,
					next = blocks.next() => match next {
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
					},
				};
				let mut slashed = false;
				for events in finalized_seen.take_in(&chain, &block).await {
					for assigned in
						events.find::<api::attestations::events::ReviewAssigned>().flatten()
					{
						if assigned.checkers.contains(&this.account) {
							let (job, task) = (assigned.job, assigned.task);
							this.start_review(&mut reviews, &chain_rx, &slots, job, task);
						}
					}
					slashed |= this.note_outcomes(&events);
				}
				if (slashed || leaving || !this.stats.selectable())
					&& !this.standing_busy.swap(true, Ordering::Relaxed)
				{
					let (me, chain) = (this.clone(), chain.clone());
					upkeep.spawn(async move {
						let outcome = me.take_standing(&chain).await.err().map(|e| e.to_string());
						let mut last = me.standing_error.lock().expect("not poisoned qed");
						if let Some(error) = outcome.as_ref().filter(|e| last.as_ref() != Some(e)) {
							if me.stats.leaving.load(Ordering::Relaxed) {
								tracing::warn!(%error, "cannot leave yet; trying again");
							} else {
								tracing::error!(%error, "cannot restake as a checker; trying again");
							}
						}
						*last = outcome;
						me.standing_busy.store(false, Ordering::Relaxed);
					});
				}
			}
		}
		this.stats.connected.store(false, Ordering::Relaxed);
		if !reviews.is_empty() {
			tracing::info!(open = reviews.len(), "stopping: finishing the reviews under way");
			while reviews.join_next().await.is_some() {}
		}
		if !(leaving && gone(&this.stats)) {
			return Ok(None);
		}
		let withdrawn = *this.withdrawn.lock().expect("not poisoned qed");
		let chain = chain_rx.borrow().clone();
		let free = chain.free_balance(&this.account).await?;
		Ok(Some(ccgsc_worker::Left { withdrawn, free }))
	}

	/// Starts the review of `task` of `job` on `reviews` (see [`Verifier::take_up`]).
	fn start_review(
		self: &Arc<Self>,
		reviews: &mut tokio::task::JoinSet<()>,
		chain: &watch::Receiver<Chain>,
		slots: &Arc<Semaphore>,
		job: JobId,
		task: TaskIndex,
	) {
		let (me, chain, slots) = (self.clone(), chain.clone(), slots.clone());
		self.take_up(reviews, job, task, async move { me.review(&chain, &slots, job, task).await });
	}

	/// Runs `work` for `task` of `job` on `reviews` (a review, or the reveal of an attestation
	/// made before), unless this run has that task in hand already: so a review found twice,
	/// in an event and in the open reviews read at a reconnection, runs once, and never beside
	/// the reveal of its own attestation.
	fn take_up(
		self: &Arc<Self>,
		reviews: &mut tokio::task::JoinSet<()>,
		job: JobId,
		task: TaskIndex,
		work: impl std::future::Future<Output = Result<(), ReviewError>> + Send + 'static,
	) {
		if !self.in_hand.lock().expect("not poisoned qed").insert((job, task)) {
			return;
		}
		let this = self.clone();
		reviews.spawn(async move {
			if let Err(e) = work.await {
				this.stats.failed.fetch_add(1, Ordering::Relaxed);
				tracing::warn!(job, task, error = %e, "review failed");
			}
			this.in_hand.lock().expect("not poisoned qed").remove(&(job, task));
		});
	}

	/// The open reviews that selected this checker and still wait for its commitment, while
	/// their commit windows are open.
	async fn missed_reviews(&self, chain: &Chain) -> Result<Vec<(JobId, TaskIndex)>, Error> {
		let now = chain.finalized_number().await?;
		Ok(chain
			.open_reviews()
			.await?
			.into_iter()
			.filter(|(_, _, review)| now <= review.commit_until && self.awaited_by(review))
			.map(|(job, task, _)| (job, task))
			.collect())
	}

	/// Whether `review` selected this checker and still waits for its commitment.
	fn awaited_by(&self, review: &Review<AccountId32, u32>) -> bool {
		review.checkers.0.iter().any(|(who, attestation)| {
			*who == self.account && matches!(attestation, Attestation::Pending)
		})
	}

	/// Takes this checker as far back to where reviews can select it as the chain allows
	/// now, one transaction after another, each waited for until its node finalizes it:
	/// registers it if it is not registered; leaves the registry if a slash left its stake
	/// below the minimum (once the reviews it has are over: the chain refuses before); once
	/// the stake has unbonded, withdraws it and registers anew with the configured stake.
	/// Records where it then stands in [`Stats::standing`], and logs each new standing once.
	///
	/// # Errors
	/// [`Error::Unfunded`] if the account cannot cover the stake; [`Error::Chain`] if the node
	/// cannot be asked or refuses a transaction; [`Error::Unfinalized`].
	async fn take_standing(&self, chain: &Chain) -> Result<(), Error> {
		let minimum = chain.min_checker_stake().await?;
		let before = *self.stats.standing.lock().expect("not poisoned qed");
		let leaving = self.stats.leaving.load(Ordering::Relaxed);
		let read = || async {
			let now = chain.finalized_number().await?;
			let checker = chain.checker(&self.account).await?;
			let step = if leaving {
				Step::leaving(checker.as_ref(), now)
			} else {
				Step::of(checker.as_ref(), minimum, now)
			};
			*self.stats.standing.lock().expect("not poisoned qed") = Some(step);
			self.stats.standing_at.store(now, Ordering::Relaxed);
			Ok::<_, Error>((step, checker))
		};
		let (mut step, mut checker) = read().await?;
		if step == Step::Gone && before.is_none() {
			return Err(Error::NotRegistered(self.account.to_string()));
		}
		loop {
			let done = match step {
				Step::Register => {
					self.register(chain).await?;
					"registration"
				},
				Step::Leave => {
					let until = chain.leave_checker(&self.signer).await?;
					let stake = checker.as_ref().map(|c| c.stake);
					if leaving {
						tracing::info!(?stake, until, "left the registry; the stake unbonds");
					} else {
						tracing::info!(?stake, minimum, until, "left the registry to restake");
					}
					"leaving"
				},
				Step::Withdraw => {
					let amount = chain.withdraw_checker(&self.signer).await?;
					if leaving {
						*self.withdrawn.lock().expect("not poisoned qed") += amount;
						tracing::info!(amount, "stake withdrawn");
					} else {
						tracing::info!(amount, "stake withdrawn; registering anew");
					}
					"withdrawal"
				},
				Step::Serve | Step::FinishReviews | Step::Unbonding { .. } | Step::Gone => break,
			};
			// Confirmed at a best block: read on once the node has finalized it.
			let started = tokio::time::Instant::now();
			loop {
				let (next, entry) = read().await?;
				if next != step {
					(step, checker) = (next, entry);
					break;
				}
				if started.elapsed() > Duration::from_secs(60) {
					return Err(Error::Unfinalized(done));
				}
				tokio::time::sleep(Duration::from_millis(250)).await;
			}
		}
		if before != Some(step) && leaving {
			match step {
				Step::FinishReviews => tracing::info!(
					"leaving once the reviews it was selected for are over (the chain refuses before)"
				),
				Step::Unbonding { until } => {
					tracing::info!(until, "leaving: the stake unbonds, then it is withdrawn")
				},
				Step::Gone => tracing::info!("left the checker registry"),
				Step::Serve | Step::Register | Step::Leave | Step::Withdraw => {},
			}
		} else if before != Some(step) {
			let stake = checker.as_ref().map(|c| c.stake);
			match step {
				Step::Serve => {
					tracing::info!(account = %self.account, ?stake, "registered; selectable for reviews")
				},
				Step::FinishReviews => tracing::warn!(
					?stake,
					minimum,
					"a slash left the stake below the minimum, so no new review selects this \
					 checker: it leaves the registry to restake once the reviews it has are over"
				),
				Step::Unbonding { until } => tracing::warn!(
					until,
					"not selected for reviews: left the registry (a slash left the stake below \
					 the minimum, or the checker was made to leave); once the stake unbonds, it \
					 is withdrawn and the checker registers anew with its configured stake"
				),
				Step::Register | Step::Leave | Step::Withdraw | Step::Gone => {},
			}
		}
		Ok(())
	}

	/// Registers with the configured stake, if the account covers it.
	async fn register(&self, chain: &Chain) -> Result<(), Error> {
		let free = chain.free_balance(&self.account).await?;
		if free < self.config.stake {
			return Err(Error::Unfunded {
				account: self.account.to_string(),
				free,
				stake: self.config.stake,
			});
		}
		chain
			.register_checker(
				&self.signer,
				self.config.stake,
				self.platform,
				ccgsc_executor::VERSION,
			)
			.await?;
		tracing::info!(account = %self.account, platform = self.platform.name(), "registered as a checker");
		Ok(())
	}

	/// One review: re-execute, commit, wait for reveals to open, reveal with the drawn chunk.
	async fn review(
		&self,
		chain: &watch::Receiver<Chain>,
		slots: &Semaphore,
		job: JobId,
		task: TaskIndex,
	) -> Result<(), ReviewError> {
		let current = chain.borrow().clone();
		// A review shown again (a reconnection replays the last blocks) that this checker has
		// committed to already, or that is over, is not run again: its attestation is revealed,
		// or in the ledger.
		let Some(review) = current.review(job, task).await?.filter(|r| self.awaited_by(r)) else {
			return Ok(());
		};
		self.stats.assigned.fetch_add(1, Ordering::Relaxed);
		tracing::info!(job, task, kind = ?review.kind, "selected for a review");
		let info = current.job(job).await?.ok_or(ReviewError::Gone)?;
		let spec = TaskSpec::from_chain(job, &info);
		let ran = {
			let _slot = slots.acquire().await.expect("never closed qed");
			self.runner.run(&spec, task).await
		};
		let (result, output) = match ran {
			Ran::Done(execution) => {
				let result = execution.result();
				(result, execution.output)
			},
			Ran::InputUnavailable(e) => {
				// Revealed all the same: it is no verdict, so it earns no fee and costs no stake,
				// where a checker that stays silent is slashed.
				tracing::warn!(job, task, error = %e, "input unavailable");
				self.stats.failed.fetch_add(1, Ordering::Relaxed);
				(TaskResult::without_output(Outcome::InputUnavailable), Vec::new())
			},
			Ran::CannotRun(e) => return Err(ReviewError::CannotRun(e)),
		};
		if result.outcome == Outcome::Success {
			self.runner.note(job, Item::Blob(result.output));
			if let Err(e) = self.p2p.client().add(output.clone()).await {
				tracing::warn!(job, task, error = %e, "cannot store the output");
			}
		}
		let salt = ccgsc_worker::salt();
		let hash = commitment(&result, &salt, &self.account, &TaskRef { job, index: task });
		// On disk before the chain sees the commitment: a restart must be able to reveal it.
		{
			let mut attested = self.attested.lock().expect("not poisoned qed");
			attested.insert(job, task, result, salt).map_err(ReviewError::Ledger)?;
			// This review reveals it: a reconnection meanwhile must not take it up too.
			if let Some(pending) = attested.get_mut(job, task) {
				pending.reveal_sent = true;
			}
		}
		if let Err(e) = current.attest(&self.signer, job, task, hash).await {
			// A refusal is final; any other failure may hide an attestation that landed, which
			// the ledger then lets a reconnection or a restart reveal.
			if matches!(e, ccgsc_chain::Error::Dispatch(_)) {
				self.attested.lock().expect("not poisoned qed").remove(job, task);
			}
			return Err(e.into());
		}
		self.stats.attested.fetch_add(1, Ordering::Relaxed);
		let revealed = self.reveal(chain, job, task, result, salt, &output).await;
		self.settle_entry(job, task, &revealed);
		revealed
	}

	/// Forgets the ledger's entry for `task` of `job` once its reveal is done or can never
	/// be (`outcome` is success or a final refusal); after any other failure leaves it for
	/// the next reconnection or start to try again.
	fn settle_entry(&self, job: JobId, task: TaskIndex, outcome: &Result<(), ReviewError>) {
		let mut attested = self.attested.lock().expect("not poisoned qed");
		match outcome {
			Ok(())
			| Err(ReviewError::Gone | ReviewError::NoProof)
			| Err(ReviewError::Chain(ccgsc_chain::Error::Dispatch(_))) => attested.remove(job, task),
			Err(_) => {
				if let Some(pending) = attested.get_mut(job, task) {
					pending.reveal_sent = false;
				}
			},
		}
	}

	/// Takes up a review attested before (the ledger's entry for `task` of `job`): reveals it
	/// once reveals open, if this checker's commitment is still waiting for its reveal, with
	/// the output from the content store (see [`Verifier::settle_entry`] for what becomes of
	/// the entry).
	async fn resume(
		&self,
		chain: &watch::Receiver<Chain>,
		job: JobId,
		task: TaskIndex,
	) -> Result<(), ReviewError> {
		let resumed = self.resume_reveal(chain, job, task).await;
		self.settle_entry(job, task, &resumed);
		resumed
	}

	async fn resume_reveal(
		&self,
		chain: &watch::Receiver<Chain>,
		job: JobId,
		task: TaskIndex,
	) -> Result<(), ReviewError> {
		let pending = self.attested.lock().expect("not poisoned qed").get_mut(job, task).copied();
		let Some(pending) = pending else { return Ok(()) };
		let current = chain.borrow().clone();
		let waiting = current.review(job, task).await?.is_some_and(|review| {
			review
				.checkers
				.0
				.iter()
				.any(|(who, a)| *who == self.account && matches!(a, Attestation::Committed(_)))
		});
		if !waiting {
			return Ok(());
		}
		let result = pending.result;
		let output = if result.output_len == 0 {
			Vec::new()
		} else {
			self.p2p.client().get(result.output).await.map_err(ReviewError::Output)?
		};
		tracing::info!(job, task, "revealing an attestation made before");
		self.reveal(chain, job, task, result, pending.salt, &output).await
	}

	/// Waits for reveals to open on the review of `task` of `job`, then reveals `result` with
	/// the chunk of `output` the chain draws and its proof.
	async fn reveal(
		&self,
		chain: &watch::Receiver<Chain>,
		job: JobId,
		task: TaskIndex,
		result: TaskResult,
		salt: Hash,
		output: &[u8],
	) -> Result<(), ReviewError> {
		self.mine.lock().expect("not poisoned qed").insert((job, task), result);
		let hash = commitment(&result, &salt, &self.account, &TaskRef { job, index: task });
		// Reveals open once every selected checker has committed, or the commit window closed.
		let nonce = loop {
			let current = chain.borrow().clone();
			let Some(review) = current.review(job, task).await? else {
				return Err(ReviewError::Gone);
			};
			let now = current.finalized_number().await?;
			let all_committed =
				review.checkers.0.iter().all(|(_, a)| !matches!(a, Attestation::Pending));
			if all_committed || now > review.commit_until {
				break review.nonce;
			}
			tokio::time::sleep(Duration::from_millis(500)).await;
		};
		let index = challenge_index(&nonce, &self.account, &hash, result.output_len);
		let range = chunk_range(result.output_len, index).unwrap_or(0..0);
		let chunk = output[range.start as usize..range.end as usize].to_vec();
		let proof = ChunkTree::new(output).proof(index).ok_or(ReviewError::NoProof)?;
		let current = chain.borrow().clone();
		current
			.reveal_attestation(
				&self.signer,
				TaskRef { job, index: task },
				&result,
				salt,
				chunk,
				proof,
			)
			.await?;
		self.stats.revealed.fetch_add(1, Ordering::Relaxed);
		tracing::info!(job, task, outcome = ?result.outcome, "attested");
		Ok(())
	}

	/// Counts what `events` paid and slashed this checker, and which of its reviews
	/// concluded, and drops from the store what it kept for jobs whose record was removed;
	/// whether it was slashed.
	fn note_outcomes(&self, events: &ccgsc_chain::Events) -> bool {
		let mut slashed_here = false;
		for paid in events.find::<api::jobs::events::Paid>().flatten() {
			if paid.to == self.account {
				self.stats.earned.fetch_add(paid.amount as u64, Ordering::Relaxed);
			}
		}
		for slashed in events.find::<api::attestations::events::CheckerSlashed>().flatten() {
			if slashed.who == self.account {
				tracing::warn!(
					amount = slashed.amount,
					"slashed: its result was not the verdict, or it did not reveal"
				);
				self.stats.slashed.fetch_add(slashed.amount as u64, Ordering::Relaxed);
				slashed_here = true;
			}
		}
		for pruned in events.find::<api::jobs::events::JobPruned>().flatten() {
			kept::spawn_drop_job(&self.kept, self.p2p.client().store(), pruned.job);
		}
		for concluded in events.find::<api::attestations::events::ReviewConcluded>().flatten() {
			let mine = self
				.mine
				.lock()
				.expect("not poisoned qed")
				.remove(&(concluded.job, concluded.task));
			// A result it could not compute is no verdict: neither upheld nor overruled.
			let Some(mine) = mine.filter(|mine| mine.outcome.is_verdict()) else { continue };
			let verdict = concluded.verdict.as_ref().map(ccgsc_chain::convert::result_back);
			if verdict == Some(mine) {
				self.stats.upheld.fetch_add(1, Ordering::Relaxed);
			} else {
				self.stats.overruled.fetch_add(1, Ordering::Relaxed);
			}
		}
		slashed_here
	}
}

/// The chunk a checker must prove, as `pallet_attestations::Pallet::challenge_index` draws it.
pub fn challenge_index(nonce: &Hash, checker: &AccountId32, commitment: &Hash, len: u64) -> u32 {
	(draw(nonce, &(checker.0, commitment)) % u64::from(chunk_count(len))) as u32
}

/// Why a review could not be completed.
#[derive(Debug, thiserror::Error)]
enum ReviewError {
	#[error(transparent)]
	Chain(#[from] ccgsc_chain::Error),
	#[error("cannot re-execute here: {0}")]
	CannotRun(ccgsc_executor::Error),
	#[error("the review or its job is gone")]
	Gone,
	#[error("no proof for the drawn chunk")]
	NoProof,
	#[error("cannot record the attestation on disk: {0}")]
	Ledger(std::io::Error),
	#[error("the output attested to is not in the content store: {0}")]
	Output(ccgsc_p2p::Error),
}

/// One line saying who the checker is and where to look, for its logs.
pub fn describe(verifier: &Verifier, metrics: Option<std::net::SocketAddr>) -> String {
	format!(
		"checker {} (peer {}){}",
		verifier.account,
		verifier.p2p.client().peer_id(),
		metrics.map(|m| format!(", metrics on http://{m}/metrics")).unwrap_or_default()
	)
}
