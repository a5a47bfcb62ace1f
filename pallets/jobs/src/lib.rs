//! # Jobs Pallet
//!
//! The compute market: jobs with escrow, task leases, commit-reveal, settlement and adaptive
//! replication.
//!
//! ## Overview
//!
//! **Posting.** [`Pallet::post_job`] takes a [`JobSpec`]: the module's content id, the root of
//! the tree over the tasks' input ids and the task count (so the chain stores one root however
//! many tasks there are), arguments, a reward per accepted replica, the replication factor,
//! limits, the accepted platform classes, the executor version and a deadline. The worst case
//! (every task at full replication, plus a review by [`Config::CheckersPerReview`] checkers at
//! [`Config::CheckerFee`] each) is held from the poster at once, or the job is refused and
//! nothing is written.
//!
//! **Claiming (pull model, work stealing).** An idle worker calls [`Pallet::claim`] for up to
//! `max_tasks` replicas. Only active workers whose platform class, executor version and memory
//! fit the job may claim. A worker never holds two replicas of one task, and all replicas of a
//! task share the first claimer's platform class (homogeneous redundancy). A lease lasts
//! [`Config::MinLease`] plus the time the job's work limit takes at the worker's benchmark
//! score, times [`Config::LeaseMargin`], so an honest worker is never cut off mid-task;
//! [`Pallet::renew`] extends it and [`Pallet::abandon`] gives the task back. A lease that ends
//! without a commit puts the task back in the pool: the lease is the heartbeat.
//!
//! **Commit-reveal.** [`Pallet::commit`] records `H(result ‖ salt ‖ worker ‖ task)`
//! ([`ccgsc_primitives::commitment`]); reveals open once every needed replica has committed,
//! for [`Config::RevealWindow`] blocks. [`Pallet::reveal`] must match the commitment, so no
//! worker can copy another's answer or change its own. Both take batches.
//!
//! **Settlement.** Unanimous replicas settle the task: each is paid and its reputation rises.
//! A task whose replicas agree on a failure (a trap, the work limit) is settled as failed with
//! that outcome, and the replicas are paid: they did the work the poster asked for. Anything
//! else (disagreement, a replica that reported its input unavailable, a replica that did not
//! reveal in time) goes to the checkers ([`Reviews`]); their verdict pays those who agree with
//! it and slashes [`Config::SlashFraction`] of the stake of those who do not. The slashed
//! stake is split in three equal parts: the poster, the honest replicas, the checkers who voted
//! with the verdict (a part with nobody to receive it goes to the poster). Reporting an input
//! unavailable is never slashed. If no checker is registered, a dispute ends failed and unpaid.
//!
//! **Adaptive replication.** A worker that is trusted when it claims a fresh task runs it
//! alone. After its commit is in a block, the next block draws whether the result stands
//! alone (probability `1 − 1/CV`, CV being its consecutive valid results) or needs the job's
//! full replication. The draw comes after the commit, so the worker never knows whether it
//! runs alone. A single result is audited with probability [`Config::AuditRate`]; either way
//! its payout and the worker's stake stay held for [`Config::AuditWindow`] blocks. The
//! runtime's test `audits_make_lying_unprofitable` checks `MinWorkerStake × SlashFraction × AuditRate >
//! MaxRewardPerTask`, so lying never pays in expectation.
//!
//! **Randomness.** Every draw is `H(DRAW ‖ seed ‖ subject)` with `seed = H(parent block hash
//! ‖ beacon)`, where the beacon accumulates every salt revealed by workers and checkers (a
//! commit-reveal beacon). A worker cannot predict a draw when it commits: the seed depends on
//! the hash of the block that includes its commit and on salts others have not revealed yet.
//! A block author can still bias a draw by choosing which transactions to include (Aura has no
//! VRF); that needs a colluding author, and the audit rate is set so that even a worker that
//! always ran alone would lose more than it gains.
//!
//! **Ending.** [`Pallet::cancel`], the deadline, or the last task settling ends a job. Tasks
//! whose replicas have all committed still settle; then the unspent escrow returns to the
//! poster. A task still waiting for replicas when its job ends never settles: within an
//! [`Config::AuditWindow`] its replicas are let go, unpaid and unjudged. Credits are only ever
//! moved between holds and accounts: the total issuance never changes.
//!
//! **Retention.** An ended job's record (the job, its tasks, each replica's result) stays on
//! chain for [`Config::Retention`] blocks after [`Event::JobEnded`]: the poster fetches the
//! outputs by it (it names each output's content id and the workers who serve it), and anyone
//! can check what was paid. Then [`Hooks::on_idle`] removes it, as much per block as the
//! block's spare weight allows, and [`Event::JobPruned`] says so. Job ids are never reused, so
//! an id below [`NextJobId`] without a record is a job that ended and was removed; state no
//! longer grows with every job ever posted.
//!
//! **Stake in use.** A worker's replica counts against its stake (the registry's lease count,
//! which unbonding waits for) from its claim until it is given back, expires or its task
//! settles, so a worker cannot unbond from under a result that may still be judged.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use alloc::{
	collections::{BTreeMap, BTreeSet},
	vec::Vec,
};
use ccgsc_primitives::{
	commitment, draw, Hash, JobId, PlatformClass, TaskIndex, TaskRef, TaskResult,
};
use pallet_workers::WorkerRegistry;
use polkadot_sdk::frame_system;
use polkadot_sdk::{
	frame_support::{
		defensive,
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system::pallet_prelude::*,
	sp_runtime::{
		traits::{One, Saturating, UniqueSaturatedInto, Zero},
		PerThing, Perbill, TryRuntimeError,
	},
};
pub use types::*;
pub use weights::WeightInfo;

/// The balance type of the currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A job as stored.
pub type JobOf<T> = Job<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A task as stored.
pub type TaskOf<T> = TaskInfo<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;
/// A job spec as posted.
pub type JobSpecOf<T> = JobSpec<BalanceOf<T>, BlockNumberFor<T>>;
/// The worker registry a runtime configures.
pub type WorkerRegistryOf<T> = <T as Config>::Workers;

/// Checkers, as the jobs pallet sees them: implemented by the attestations pallet.
pub trait Reviews<AccountId> {
	/// Asks checkers of `platform` to re-execute task `task` of job `job`. Returns `false` if
	/// no checker can take it.
	fn open(job: JobId, task: TaskIndex, platform: PlatformClass, kind: ReviewKind) -> bool;

	/// The worst-case weight of one [`Reviews::open`]. The jobs pallet's own weights do not
	/// include it: a call or block that may open reviews adds it once per task that may.
	fn open_weight() -> Weight;
}

impl<AccountId> Reviews<AccountId> for () {
	fn open(_: JobId, _: TaskIndex, _: PlatformClass, _: ReviewKind) -> bool {
		false
	}

	fn open_weight() -> Weight {
		Weight::zero()
	}
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The credits: escrow is held on the poster's account.
		type Currency: Inspect<Self::AccountId>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The worker registry.
		type Workers: WorkerRegistry<Self::AccountId, BalanceOf<Self>>;
		/// The checkers.
		type Reviews: Reviews<Self::AccountId>;
		/// Most tasks in one job.
		#[pallet::constant]
		type MaxTasks: Get<u32>;
		/// Most replicas a job may ask for (at most 8).
		#[pallet::constant]
		type MaxReplication: Get<u8>;
		/// Most items in one `claim`, `commit`, `reveal`, `renew` or `abandon`.
		#[pallet::constant]
		type MaxBatch: Get<u32>;
		/// Most tasks of one job waiting for more replicas.
		#[pallet::constant]
		type MaxRequeued: Get<u32>;
		/// Most timeouts handled at one block (more spill into the next blocks).
		#[pallet::constant]
		type MaxTimeoutsPerBlock: Get<u32>;
		/// Highest reward per task.
		#[pallet::constant]
		type MaxRewardPerTask: Get<BalanceOf<Self>>;
		/// Highest work limit per task.
		#[pallet::constant]
		type MaxWork: Get<u64>;
		/// Highest memory limit per task, in bytes.
		#[pallet::constant]
		type MaxMemory: Get<u64>;
		/// Highest output limit per task, in bytes.
		#[pallet::constant]
		type MaxOutput: Get<u64>;
		/// Milliseconds per block, to turn run times into lease lengths.
		#[pallet::constant]
		type BlockTimeMillis: Get<u64>;
		/// Shortest lease, in blocks.
		#[pallet::constant]
		type MinLease: Get<BlockNumberFor<Self>>;
		/// Factor by which a lease exceeds the expected run time.
		#[pallet::constant]
		type LeaseMargin: Get<u32>;
		/// Blocks the replicas of a task have to reveal once all have committed.
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;
		/// Blocks a single result stays open to audit, with its payout held.
		#[pallet::constant]
		type AuditWindow: Get<BlockNumberFor<Self>>;
		/// Probability that a single result is audited.
		#[pallet::constant]
		type AuditRate: Get<Perbill>;
		/// Share of a liar's stake that is slashed.
		#[pallet::constant]
		type SlashFraction: Get<Perbill>;
		/// Fee paid to each checker who votes with a review's verdict.
		#[pallet::constant]
		type CheckerFee: Get<BalanceOf<Self>>;
		/// Checkers per review.
		#[pallet::constant]
		type CheckersPerReview: Get<u32>;
		/// Blocks an ended job's record (its spec, tasks, replicas and results) stays on chain
		/// after [`Event::JobEnded`], for its poster to find who serves each output and for
		/// anyone to check what was paid; then it is removed. It should exceed the longest
		/// lease, so a worker's lease ends by itself before its task is removed (pruning lets
		/// go of any replica still held all the same).
		#[pallet::constant]
		type Retention: Get<BlockNumberFor<Self>>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds credits.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A poster's escrow for its jobs.
		#[codec(index = 0)]
		Escrow,
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Posted jobs.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Blake2_128Concat, JobId, JobOf<T>>;

	/// Tasks that have been claimed at least once.
	#[pallet::storage]
	pub type Tasks<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, JobId, Twox64Concat, TaskIndex, TaskOf<T>>;

	/// Tasks of a job that wait for more replicas, oldest first.
	#[pallet::storage]
	pub type Requeued<T: Config> =
		StorageMap<_, Blake2_128Concat, JobId, BoundedVec<TaskIndex, T::MaxRequeued>, ValueQuery>;

	/// Work due at a block.
	#[pallet::storage]
	pub type Timeouts<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<Timeout<T::AccountId>, T::MaxTimeoutsPerBlock>,
		ValueQuery,
	>;

	/// The commit-reveal beacon: every revealed salt is hashed into it.
	#[pallet::storage]
	pub type Beacon<T> = StorageValue<_, Hash, ValueQuery>;

	/// Ended jobs whose retention is over, removed by [`Hooks::on_idle`] as blocks have weight
	/// to spare.
	#[pallet::storage]
	pub type Prunable<T> = StorageMap<_, Twox64Concat, JobId, ()>;

	/// Events.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was posted and its escrow held.
		JobPosted {
			/// The job.
			job: JobId,
			/// Who pays.
			poster: T::AccountId,
			/// Its task count.
			task_count: u32,
			/// The escrow held.
			escrow: BalanceOf<T>,
		},
		/// A worker took a task replica.
		TaskClaimed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
			/// When the lease ends.
			lease_until: BlockNumberFor<T>,
		},
		/// A lease was extended.
		LeaseRenewed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
			/// When the lease now ends.
			lease_until: BlockNumberFor<T>,
		},
		/// A worker gave a task back.
		LeaseAbandoned {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
		},
		/// A lease ended without a commit; the task is back in the pool.
		LeaseExpired {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
		},
		/// A replica committed.
		Committed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
		},
		/// The adaptive-replication draw for a trusted single commit.
		ReplicationDrawn {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Whether the result may stand alone.
			single: bool,
		},
		/// Every replica committed; reveals are open.
		RevealOpened {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The last block for reveals.
			until: BlockNumberFor<T>,
		},
		/// A replica revealed its result.
		Revealed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
			/// The result.
			result: TaskResult,
		},
		/// Checkers were asked to review a task.
		ReviewOpened {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Why.
			kind: ReviewKind,
		},
		/// A single result stands unless an audit overturns it in time.
		ProvisionallyAccepted {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The result.
			result: TaskResult,
			/// The end of its audit window.
			until: BlockNumberFor<T>,
		},
		/// A task is settled.
		TaskSettled {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The accepted result (its outcome says whether the task succeeded), or none
			/// when the checkers could not decide.
			result: Option<TaskResult>,
			/// How many results agreed with it.
			agreeing: u8,
		},
		/// A worker or checker was paid from a job's escrow.
		Paid {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Who was paid.
			to: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// A worker's result was found wrong and its stake slashed.
		LiarSlashed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The worker.
			worker: T::AccountId,
			/// The amount taken.
			amount: BalanceOf<T>,
		},
		/// A job ended and its unspent escrow returned to the poster.
		JobEnded {
			/// The job.
			job: JobId,
			/// How it ended.
			status: JobStatus,
			/// The escrow returned.
			refunded: BalanceOf<T>,
		},
		/// An ended job's retention was over and its record (the job, its tasks and their
		/// results) was removed from the chain.
		JobPruned {
			/// The job.
			job: JobId,
		},
		/// A job stopped taking work: its poster cancelled it, or its deadline passed
		/// (`status` says which). No claim or commit is taken from now on, so a worker stops
		/// the job's tasks it is running and gives their leases back; tasks whose replicas have
		/// all committed still settle, and [`Event::JobEnded`] follows once none is in flight
		/// (in the same block if none is).
		JobClosed {
			/// The job.
			job: JobId,
			/// How it closed: `Cancelled` or `Expired`.
			status: JobStatus,
		},
	}

	/// Errors.
	#[pallet::error]
	pub enum Error<T> {
		/// The task count is zero or above `MaxTasks`.
		InvalidTaskCount,
		/// The replication is zero or above `MaxReplication`.
		InvalidReplication,
		/// The reward is zero or above `MaxRewardPerTask`.
		InvalidReward,
		/// A limit is zero or above its maximum.
		InvalidLimits,
		/// The job accepts no known platform class.
		NoPlatforms,
		/// The deadline is not in the future.
		DeadlineInPast,
		/// The poster cannot cover the worst-case escrow.
		EscrowUnavailable,
		/// No job with this id.
		UnknownJob,
		/// The job no longer takes work.
		JobNotOpen,
		/// The caller is not a worker with at least the minimum active stake.
		NotAnActiveWorker,
		/// The job does not accept the worker's platform class.
		PlatformNotAccepted,
		/// The worker runs another executor version than the job pins.
		ExecutorMismatch,
		/// The worker offers less memory than the job's limit.
		InsufficientMemory,
		/// A batch is empty, larger than `MaxBatch`, or names one task twice.
		InvalidBatch,
		/// No task of the job is available to this worker.
		NoTaskAvailable,
		/// The task index is not in the job, or the task was never claimed.
		UnknownTask,
		/// The caller holds no replica of this task.
		NotAssigned,
		/// The replica is not leased (it committed already, or was never leased).
		NotLeased,
		/// The lease ended.
		LeaseExpired,
		/// Reveals for this task are not open.
		NotRevealing,
		/// The replica has not committed, or revealed already.
		NotCommitted,
		/// The revealed result and salt do not match the commitment.
		CommitmentMismatch,
		/// Only the poster may do this.
		NotPoster,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Timeouts::<T>::take(now);
			let count = due.len() as u32;
			// Only a reveal window that closes may open a review (results disagreeing).
			let reveals = due.iter().filter(|t| matches!(t, Timeout::Reveal(..))).count() as u64;
			for timeout in due {
				Self::handle_timeout(now, timeout);
			}
			// Each timeout at the dearer of the two benchmarked cases; see the benchmarks.
			T::WeightInfo::on_initialize(count)
				.max(T::WeightInfo::on_initialize_unrevealed(count))
				.saturating_add(T::Reviews::open_weight().saturating_mul(reveals))
		}

		/// Removes the records of ended jobs whose retention is over, as far as the block's
		/// spare weight goes: a job with more tasks than one block can take is continued in
		/// the next.
		fn on_idle(_: BlockNumberFor<T>, limit: Weight) -> Weight {
			let base = T::WeightInfo::on_idle(0);
			let per_task = T::WeightInfo::on_idle(1).saturating_sub(base);
			let mut used = Weight::zero();
			while let Some(room) = limit.checked_sub(&used.saturating_add(base)) {
				let budget = room.checked_div_per_component(&per_task).unwrap_or(u64::MAX);
				if budget == 0 {
					break;
				}
				let Some(job) = Prunable::<T>::iter_keys().next() else {
					used.saturating_accrue(T::DbWeight::get().reads(1));
					break;
				};
				let (removed, done) = Self::prune(job, budget.min(u32::MAX.into()) as u32);
				used.saturating_accrue(
					base.saturating_add(per_task.saturating_mul(removed.into())),
				);
				if !done {
					break;
				}
			}
			used
		}

		fn integrity_test() {
			assert!(
				T::MaxReplication::get() as u32 <= <MaxReplicas as Get<u32>>::get(),
				"MaxReplication above MaxReplicas"
			);
			assert!(T::MaxReplication::get() >= 1, "MaxReplication must be at least 1");
			assert!(T::MaxBatch::get() >= 1, "MaxBatch must be at least 1");
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Posts a job and holds its worst-case escrow: `task_count × (replication ×
		/// reward_per_task + CheckersPerReview × CheckerFee)`.
		///
		/// Fails with `InvalidTaskCount`, `InvalidReplication`, `InvalidReward`,
		/// `InvalidLimits`, `NoPlatforms`, `DeadlineInPast` or `EscrowUnavailable`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::post_job())]
		pub fn post_job(origin: OriginFor<T>, spec: JobSpecOf<T>) -> DispatchResult {
			let poster = ensure_signed(origin)?;
			ensure!(
				spec.task_count > 0 && spec.task_count <= T::MaxTasks::get(),
				Error::<T>::InvalidTaskCount
			);
			ensure!(
				spec.replication > 0 && spec.replication <= T::MaxReplication::get(),
				Error::<T>::InvalidReplication
			);
			ensure!(
				!spec.reward_per_task.is_zero()
					&& spec.reward_per_task <= T::MaxRewardPerTask::get(),
				Error::<T>::InvalidReward
			);
			let l = spec.limits;
			ensure!(
				l.work > 0
					&& l.work <= T::MaxWork::get()
					&& l.memory > 0 && l.memory <= T::MaxMemory::get()
					&& l.output > 0 && l.output <= T::MaxOutput::get(),
				Error::<T>::InvalidLimits
			);
			ensure!(!spec.platforms.is_empty(), Error::<T>::NoPlatforms);
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(spec.deadline > now, Error::<T>::DeadlineInPast);

			let escrow = Self::worst_case(&spec);
			T::Currency::hold(&HoldReason::Escrow.into(), &poster, escrow)
				.map_err(|_| Error::<T>::EscrowUnavailable)?;

			let job = NextJobId::<T>::mutate(|id| {
				let job = *id;
				*id = id.saturating_add(1);
				job
			});
			Self::schedule(spec.deadline, Timeout::Deadline(job));
			let task_count = spec.task_count;
			Jobs::<T>::insert(
				job,
				Job {
					poster: poster.clone(),
					spec,
					escrow,
					spent: Zero::zero(),
					status: JobStatus::Open,
					next_task: 0,
					settled: 0,
					in_flight: 0,
					ended: None,
				},
			);
			Self::deposit_event(Event::JobPosted { job, poster, task_count, escrow });
			Ok(())
		}

		/// Takes up to `max_tasks` task replicas of `job` as leases: first tasks that wait for
		/// more replicas (looking at no more than `4 × max_tasks` of them), then fresh ones.
		///
		/// Fails with `InvalidBatch`, `UnknownJob`, `JobNotOpen`, `NotAnActiveWorker`,
		/// `PlatformNotAccepted`, `ExecutorMismatch`, `InsufficientMemory` or
		/// `NoTaskAvailable`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::claim(*max_tasks))]
		pub fn claim(origin: OriginFor<T>, job: JobId, max_tasks: u32) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(max_tasks > 0 && max_tasks <= T::MaxBatch::get(), Error::<T>::InvalidBatch);
			let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(
				info.status == JobStatus::Open && now < info.spec.deadline,
				Error::<T>::JobNotOpen
			);
			ensure!(T::Workers::is_active(&worker), Error::<T>::NotAnActiveWorker);
			let profile = T::Workers::profile(&worker).ok_or(Error::<T>::NotAnActiveWorker)?;
			ensure!(
				info.spec.platforms.contains(profile.platform),
				Error::<T>::PlatformNotAccepted
			);
			ensure!(
				profile.executor_version == info.spec.executor_version,
				Error::<T>::ExecutorMismatch
			);
			ensure!(
				(profile.memory_mib as u64).saturating_mul(1 << 20) >= info.spec.limits.memory,
				Error::<T>::InsufficientMemory
			);

			let lease_until = now.saturating_add(Self::lease_blocks(&info.spec, profile.score));
			let trusted = T::Workers::is_trusted(&worker);
			let mut queue = Requeued::<T>::get(job);
			let mut taken: Vec<TaskIndex> = Vec::new();
			let replica =
				Replica { worker: worker.clone(), lease_until, state: ReplicaState::Leased };

			// Tasks waiting for more replicas: at most `4 × max_tasks` of them are looked at, so
			// the call's weight follows the batch size, not the length of the queue.
			let scan = max_tasks.saturating_mul(4) as usize;
			let mut keep: Vec<TaskIndex> = Vec::new();
			for (seen, index) in queue.iter().copied().enumerate() {
				if taken.len() as u32 >= max_tasks || seen >= scan {
					keep.push(index);
					continue;
				}
				let Some(mut task) = Tasks::<T>::get(job, index) else { continue };
				if task.phase != Phase::Open {
					continue;
				}
				let live = task.replicas.len() as u8;
				if live >= task.needed {
					continue;
				}
				if task.platform != profile.platform
					|| task.replicas.iter().any(|r| r.worker == worker)
				{
					keep.push(index);
					continue;
				}
				if task.replicas.try_push(replica.clone()).is_err() {
					continue;
				}
				if (task.replicas.len() as u8) < task.needed {
					keep.push(index);
				}
				Tasks::<T>::insert(job, index, task);
				taken.push(index);
			}
			queue = BoundedVec::truncate_from(keep);

			// Fresh tasks.
			while (taken.len() as u32) < max_tasks && info.next_task < info.spec.task_count {
				let needed = if trusted { 1 } else { info.spec.replication };
				if needed > 1 && queue.len() as u32 >= T::MaxRequeued::get() {
					break;
				}
				let index = info.next_task;
				info.next_task += 1;
				let mut replicas = BoundedVec::new();
				replicas.try_push(replica.clone()).map_err(|_| Error::<T>::NoTaskAvailable)?;
				Tasks::<T>::insert(
					job,
					index,
					TaskInfo {
						phase: Phase::Open,
						needed,
						platform: profile.platform,
						replicas,
						result: None,
					},
				);
				if needed > 1 {
					queue.try_push(index).map_err(|_| Error::<T>::NoTaskAvailable)?;
				}
				taken.push(index);
			}
			ensure!(!taken.is_empty(), Error::<T>::NoTaskAvailable);

			Requeued::<T>::insert(job, queue);
			Jobs::<T>::insert(job, info);
			for index in taken {
				T::Workers::note_lease(&worker, true);
				Self::schedule(
					lease_until.saturating_add(One::one()),
					Timeout::Lease(job, index, worker.clone()),
				);
				Self::deposit_event(Event::TaskClaimed {
					job,
					task: index,
					worker: worker.clone(),
					lease_until,
				});
			}
			Ok(())
		}

		/// Extends the caller's leases on `tasks` of `job` by a full lease from now.
		///
		/// Fails with `InvalidBatch`, `UnknownJob`, `JobNotOpen`, `UnknownTask`,
		/// `NotAssigned`, `NotLeased` or `LeaseExpired`; one failing item fails the batch.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::renew(tasks.len() as u32))]
		pub fn renew(
			origin: OriginFor<T>,
			job: JobId,
			tasks: BoundedVec<TaskIndex, T::MaxBatch>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!tasks.is_empty(), Error::<T>::InvalidBatch);
			let info = Self::open_job(job)?;
			let score = T::Workers::profile(&worker).map_or(1, |p| p.score);
			let now = frame_system::Pallet::<T>::block_number();
			let lease_until = now.saturating_add(Self::lease_blocks(&info.spec, score));
			let mut updated: Vec<(TaskIndex, TaskOf<T>)> = Vec::new();
			for index in tasks.iter().copied() {
				ensure!(!updated.iter().any(|(i, _)| *i == index), Error::<T>::InvalidBatch);
				let mut task = Tasks::<T>::get(job, index).ok_or(Error::<T>::UnknownTask)?;
				let replica = task
					.replicas
					.iter_mut()
					.find(|r| r.worker == worker)
					.ok_or(Error::<T>::NotAssigned)?;
				ensure!(replica.state == ReplicaState::Leased, Error::<T>::NotLeased);
				ensure!(replica.lease_until >= now, Error::<T>::LeaseExpired);
				replica.lease_until = lease_until;
				updated.push((index, task));
			}
			for (index, task) in updated {
				Tasks::<T>::insert(job, index, task);
				Self::schedule(
					lease_until.saturating_add(One::one()),
					Timeout::Lease(job, index, worker.clone()),
				);
				Self::deposit_event(Event::LeaseRenewed {
					job,
					task: index,
					worker: worker.clone(),
					lease_until,
				});
			}
			Ok(())
		}

		/// Gives the caller's leased `tasks` of `job` back to the pool.
		///
		/// Fails with `InvalidBatch`, `UnknownJob`, `UnknownTask`, `NotAssigned` or
		/// `NotLeased`; one failing item fails the batch.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::abandon(tasks.len() as u32))]
		pub fn abandon(
			origin: OriginFor<T>,
			job: JobId,
			tasks: BoundedVec<TaskIndex, T::MaxBatch>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!tasks.is_empty(), Error::<T>::InvalidBatch);
			ensure!(Jobs::<T>::contains_key(job), Error::<T>::UnknownJob);
			let mut updated: Vec<(TaskIndex, TaskOf<T>)> = Vec::new();
			for index in tasks.iter().copied() {
				ensure!(!updated.iter().any(|(i, _)| *i == index), Error::<T>::InvalidBatch);
				let mut task = Tasks::<T>::get(job, index).ok_or(Error::<T>::UnknownTask)?;
				let at = task
					.replicas
					.iter()
					.position(|r| r.worker == worker)
					.ok_or(Error::<T>::NotAssigned)?;
				ensure!(task.replicas[at].state == ReplicaState::Leased, Error::<T>::NotLeased);
				task.replicas.remove(at);
				updated.push((index, task));
			}
			for (index, task) in updated {
				Tasks::<T>::insert(job, index, task);
				Self::requeue(job, index);
				T::Workers::note_lease(&worker, false);
				Self::deposit_event(Event::LeaseAbandoned {
					job,
					task: index,
					worker: worker.clone(),
				});
			}
			Ok(())
		}

		/// Commits the caller's results for `commitments` (task, `H(result ‖ salt ‖ worker ‖
		/// task)`) of `job`, each before its lease ends.
		///
		/// Fails with `InvalidBatch`, `UnknownJob`, `JobNotOpen`, `UnknownTask`,
		/// `NotAssigned`, `NotLeased` or `LeaseExpired`; one failing item fails the batch.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::commit(commitments.len() as u32))]
		pub fn commit(
			origin: OriginFor<T>,
			job: JobId,
			commitments: BoundedVec<(TaskIndex, Hash), T::MaxBatch>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!commitments.is_empty(), Error::<T>::InvalidBatch);
			let mut info = Self::open_job(job)?;
			let now = frame_system::Pallet::<T>::block_number();
			let mut updated = Vec::new();
			for (index, hash) in commitments.iter().copied() {
				ensure!(!updated.iter().any(|(i, _)| *i == index), Error::<T>::InvalidBatch);
				let mut task = Tasks::<T>::get(job, index).ok_or(Error::<T>::UnknownTask)?;
				ensure!(task.phase == Phase::Open, Error::<T>::NotLeased);
				let replica = task
					.replicas
					.iter_mut()
					.find(|r| r.worker == worker)
					.ok_or(Error::<T>::NotAssigned)?;
				ensure!(replica.state == ReplicaState::Leased, Error::<T>::NotLeased);
				ensure!(replica.lease_until >= now, Error::<T>::LeaseExpired);
				replica.state = ReplicaState::Committed(hash);
				updated.push((index, task));
			}
			for (index, mut task) in updated {
				Self::deposit_event(Event::Committed { job, task: index, worker: worker.clone() });
				let committed = task
					.replicas
					.iter()
					.filter(|r| matches!(r.state, ReplicaState::Committed(_)))
					.count();
				if committed as u8 >= task.needed {
					info.in_flight += 1;
					if task.needed == 1 && info.spec.replication > 1 {
						task.phase = Phase::Drawing;
						Self::schedule(now.saturating_add(One::one()), Timeout::Draw(job, index));
					} else {
						Self::open_reveals(job, index, &mut task, now);
					}
				} else if committed == 1 {
					Self::watch_waiting(job, index, now);
				}
				Tasks::<T>::insert(job, index, task);
			}
			Jobs::<T>::insert(job, info);
			Ok(())
		}

		/// Reveals the caller's results for `reveals` (task, result, salt) of `job`; each must
		/// match the replica's commitment. A task whose replicas have all revealed settles.
		///
		/// Fails with `InvalidBatch`, `UnknownJob`, `UnknownTask`, `NotRevealing`,
		/// `NotAssigned`, `NotCommitted` or `CommitmentMismatch`; one failing item fails the
		/// batch.
		///
		/// Charged up front as if every task opened a review; the part for the reviews that did
		/// not open is refunded.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reveal(reveals.len() as u32).saturating_add(
			T::Reviews::open_weight().saturating_mul(reveals.len() as u64)
		))]
		pub fn reveal(
			origin: OriginFor<T>,
			job: JobId,
			reveals: BoundedVec<(TaskIndex, TaskResult, Hash), T::MaxBatch>,
		) -> DispatchResultWithPostInfo {
			let worker = ensure_signed(origin)?;
			ensure!(!reveals.is_empty(), Error::<T>::InvalidBatch);
			ensure!(Jobs::<T>::contains_key(job), Error::<T>::UnknownJob);
			let mut updated = Vec::new();
			for (index, result, salt) in reveals.iter() {
				ensure!(!updated.iter().any(|(i, _)| i == index), Error::<T>::InvalidBatch);
				let mut task = Tasks::<T>::get(job, *index).ok_or(Error::<T>::UnknownTask)?;
				ensure!(matches!(task.phase, Phase::Revealing(_)), Error::<T>::NotRevealing);
				let replica = task
					.replicas
					.iter_mut()
					.find(|r| r.worker == worker)
					.ok_or(Error::<T>::NotAssigned)?;
				let ReplicaState::Committed(hash) = replica.state else {
					return Err(Error::<T>::NotCommitted.into());
				};
				let expected = commitment(result, salt, &worker, &TaskRef { job, index: *index });
				ensure!(hash == expected, Error::<T>::CommitmentMismatch);
				replica.state = ReplicaState::Revealed(*result);
				updated.push((*index, task));
			}
			let now = frame_system::Pallet::<T>::block_number();
			let mut reviews = 0u64;
			for ((index, task), (_, result, salt)) in updated.into_iter().zip(reveals.iter()) {
				Self::mix_beacon(salt);
				Self::deposit_event(Event::Revealed {
					job,
					task: index,
					worker: worker.clone(),
					result: *result,
				});
				let all =
					task.replicas.iter().all(|r| matches!(r.state, ReplicaState::Revealed(_)));
				Tasks::<T>::insert(job, index, task);
				if all && Self::settle_revealed(job, index, now) {
					reviews += 1;
				}
			}
			let n = reveals.len() as u32;
			let used = T::WeightInfo::reveal(n)
				.saturating_add(T::Reviews::open_weight().saturating_mul(reviews));
			Ok(Some(used).into())
		}

		/// Ends the caller's job: no new work starts ([`Event::JobClosed`]); tasks whose
		/// replicas have all committed still settle, then the unspent escrow returns.
		///
		/// Fails with `UnknownJob`, `NotPoster` or `JobNotOpen`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::cancel())]
		pub fn cancel(origin: OriginFor<T>, job: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
			ensure!(info.poster == who, Error::<T>::NotPoster);
			ensure!(info.status == JobStatus::Open, Error::<T>::JobNotOpen);
			info.status = JobStatus::Cancelled;
			Self::deposit_event(Event::JobClosed { job, status: info.status });
			Self::finish_if_idle(job, &mut info);
			Jobs::<T>::insert(job, info);
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	fn open_job(job: JobId) -> Result<JobOf<T>, DispatchError> {
		let info = Jobs::<T>::get(job).ok_or(Error::<T>::UnknownJob)?;
		ensure!(info.status == JobStatus::Open, Error::<T>::JobNotOpen);
		Ok(info)
	}

	/// What a job on `spec` may cost at most, and so what posting it holds: every task at full
	/// replication, plus a review by [`Config::CheckersPerReview`] checkers at
	/// [`Config::CheckerFee`] each.
	pub fn worst_case(spec: &JobSpecOf<T>) -> BalanceOf<T> {
		spec.reward_per_task
			.saturating_mul((spec.replication as u32).into())
			.saturating_add(T::CheckerFee::get().saturating_mul(T::CheckersPerReview::get().into()))
			.saturating_mul(spec.task_count.into())
	}

	/// Checks what must hold between blocks, so that no credit is lost and no stake stays
	/// stuck:
	///
	/// - each poster has exactly the unspent escrow of its stored jobs held under
	///   [`HoldReason::Escrow`]; until a job ends, what it holds and what it paid add up to
	///   [`Pallet::worst_case`], and it never pays more;
	/// - an ended job holds no escrow and has no task in flight, and [`Prunable`] names only
	///   ended jobs;
	/// - a job's `in_flight` counts its tasks between their last commit and their settlement
	///   (drawing, revealing, under review or provisionally accepted), and while it is open its
	///   `settled` counts its settled tasks;
	/// - a task's replicas are distinct workers, never more than it needs, in states its phase
	///   allows, and only tasks below `next_task` exist;
	/// - the registry's lease count of each worker in a task is the number of replicas it holds
	///   in tasks not settled, and its count of results open to audit is the number of its single
	///   results provisionally accepted or under audit;
	/// - nothing waits forever: whatever waits on a block has its timeout in [`Timeouts`] at
	///   that block or later (a lease its expiry, a draw, a reveal window and an audit window
	///   their close, a task with a commit waiting for more replicas its orphan check, an open
	///   job its deadline, an ended job its pruning), and a job cancelled or past its deadline
	///   ends as soon as no task of it is in flight.
	///
	/// The pallet's unit tests, and the attestations pallet's, run it after every block and
	/// every test. It is what a `try_state` hook would run (the runtime is not built for
	/// try-runtime, so no hook calls it yet). It reads every job and task: never call it in a
	/// block.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		// The latest block each timeout is due at.
		let mut due: BTreeMap<Vec<u8>, BlockNumberFor<T>> = BTreeMap::new();
		for (at, timeouts) in Timeouts::<T>::iter() {
			for timeout in timeouts {
				let latest = due.entry(timeout.encode()).or_insert(at);
				*latest = (*latest).max(at);
			}
		}
		let waits = |timeout: Timeout<T::AccountId>, from: BlockNumberFor<T>| {
			due.get(&timeout.encode()).is_some_and(|at| *at >= from)
		};
		let mut escrow: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		let mut held: BTreeMap<T::AccountId, (u32, u32)> = BTreeMap::new();
		for (job, info) in Jobs::<T>::iter() {
			let e = escrow.entry(info.poster.clone()).or_default();
			*e = e.saturating_add(info.escrow);
			let ended = info.ended.is_some();
			let worst = Self::worst_case(&info.spec);
			if ended {
				ensure!(info.escrow.is_zero(), "an ended job still holds escrow");
				ensure!(info.spent <= worst, "a job paid more than its worst case");
			} else {
				ensure!(
					info.escrow.saturating_add(info.spent) == worst,
					"a job's escrow and payments do not add up to what it held"
				);
			}
			ensure!(info.next_task <= info.spec.task_count, "a job issued more tasks than it has");
			ensure!(!ended || info.status != JobStatus::Open, "an open job has an end");
			ensure!(!Prunable::<T>::contains_key(job) || ended, "a job to prune has not ended");
			ensure!(
				match info.ended {
					None if info.status == JobStatus::Open => {
						waits(Timeout::Deadline(job), info.spec.deadline)
					},
					// Stopped, it ends when its last task in flight settles (checked below).
					None => true,
					Some(at) => {
						Prunable::<T>::contains_key(job)
							|| waits(Timeout::Prune(job), at.saturating_add(T::Retention::get()))
					},
				},
				"a job waits for a deadline or a pruning that never comes"
			);
			let (mut in_flight, mut done) = (0u32, 0u32);
			for (index, task) in Tasks::<T>::iter_prefix(job) {
				ensure!(index < info.next_task, "a task exists that was never claimed");
				let workers: BTreeSet<_> = task.replicas.iter().map(|r| &r.worker).collect();
				ensure!(
					workers.len() == task.replicas.len(),
					"a worker holds two replicas of a task"
				);
				let states = |allowed: fn(&ReplicaState) -> bool| {
					task.replicas.iter().all(|r| allowed(&r.state))
				};
				let fits = match task.phase {
					Phase::Open => {
						task.replicas.len() <= task.needed as usize
							&& states(|s| !matches!(s, ReplicaState::Revealed(_)))
					},
					Phase::Drawing => {
						task.needed == 1
							&& task.replicas.len() == 1
							&& states(|s| matches!(s, ReplicaState::Committed(_)))
					},
					Phase::Revealing(_) | Phase::Review(ReviewKind::Dispute) => {
						task.replicas.len() == task.needed as usize
							&& states(|s| !matches!(s, ReplicaState::Leased))
					},
					Phase::Provisional(_) | Phase::Review(ReviewKind::Audit) => {
						task.needed == 1
							&& task.replicas.len() == 1
							&& task.result.is_some()
							&& states(|s| matches!(s, ReplicaState::Revealed(_)))
					},
					Phase::Done => true,
				};
				ensure!(fits, "a task's replicas do not fit its phase");
				let next = One::one();
				let timely = match task.phase {
					Phase::Open => task.replicas.iter().all(|r| match r.state {
						ReplicaState::Leased => waits(
							Timeout::Lease(job, index, r.worker.clone()),
							r.lease_until.saturating_add(next),
						),
						_ => waits(Timeout::Orphan(job, index), Zero::zero()),
					}),
					Phase::Drawing => waits(Timeout::Draw(job, index), Zero::zero()),
					Phase::Revealing(until) => {
						waits(Timeout::Reveal(job, index), until.saturating_add(next))
					},
					Phase::Provisional(until) => {
						waits(Timeout::Audit(job, index), until.saturating_add(next))
					},
					Phase::Review(_) | Phase::Done => true,
				};
				ensure!(timely, "a task waits for a timeout that never comes");
				match task.phase {
					Phase::Open => {},
					Phase::Done => done += 1,
					_ => in_flight += 1,
				}
				if task.phase != Phase::Done {
					for r in task.replicas.iter() {
						let counts = held.entry(r.worker.clone()).or_default();
						counts.0 += 1;
						counts.1 += u32::from(task.phase.holds_single());
					}
				}
			}
			ensure!(info.in_flight == in_flight, "a job's in-flight count is off");
			ensure!(!ended || in_flight == 0, "an ended job has a task in flight");
			ensure!(
				ended || info.status == JobStatus::Open || in_flight > 0,
				"a stopped job with no task in flight has not ended"
			);
			ensure!(info.settled <= done, "a job counts more settled tasks than it has");
			ensure!(
				info.status != JobStatus::Open || info.settled == done,
				"an open job's settled count is off"
			);
			for index in Requeued::<T>::get(job) {
				ensure!(index < info.next_task, "a requeued task was never claimed");
			}
		}
		for (poster, amount) in escrow {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::Escrow.into(), &poster) == amount,
				"a poster's held escrow differs from its jobs' unspent escrow"
			);
		}
		for (worker, (leases, unaudited)) in held {
			ensure!(
				T::Workers::leases(&worker) == leases,
				"a worker's lease count differs from the replicas it holds"
			);
			ensure!(
				T::Workers::unaudited(&worker) == unaudited,
				"a worker's count of results open to audit is off"
			);
		}
		Ok(())
	}

	/// The lease length for a worker of benchmark `score` on `spec`.
	pub fn lease_blocks(spec: &JobSpecOf<T>, score: u64) -> BlockNumberFor<T> {
		let millis = (spec.limits.work as u128)
			.saturating_mul(1000)
			.saturating_mul(T::LeaseMargin::get() as u128)
			/ (score.max(1) as u128);
		let blocks: u64 =
			(millis / T::BlockTimeMillis::get().max(1) as u128).min(u32::MAX as u128) as u64;
		T::MinLease::get().saturating_add(blocks.unique_saturated_into())
	}

	/// The random seed of this block: the parent hash and the beacon.
	pub fn seed() -> Hash {
		let parent = frame_system::Pallet::<T>::parent_hash();
		ccgsc_primitives::hash(&[parent.as_ref(), &Beacon::<T>::get()[..]].concat())
	}

	/// A uniform draw about `subject` from this block's seed.
	pub fn random<S: Encode>(subject: &S) -> u64 {
		draw(&Self::seed(), subject)
	}

	/// Hashes `salt` into the beacon (checkers' reveals feed it too).
	pub fn mix_beacon(salt: &Hash) {
		Beacon::<T>::mutate(|b| *b = ccgsc_primitives::hash(&[&b[..], &salt[..]].concat()));
	}

	/// The poster of `job`.
	pub fn poster(job: JobId) -> Option<T::AccountId> {
		Jobs::<T>::get(job).map(|j| j.poster)
	}

	fn schedule(mut at: BlockNumberFor<T>, timeout: Timeout<T::AccountId>) {
		for _ in 0..64 {
			// Appended without decoding the block's queue: a claim or commit costs the same
			// however many timeouts the block already holds.
			if Timeouts::<T>::try_append(at, timeout.clone()).is_ok() {
				return;
			}
			at = at.saturating_add(One::one());
		}
		// 64 full blocks of timeouts in a row: the runtime's MaxTimeoutsPerBlock is far too low.
		defensive!("timeout queue full; a timeout was dropped");
	}

	fn requeue(job: JobId, index: TaskIndex) {
		Requeued::<T>::mutate(job, |queue| {
			if !queue.contains(&index) && queue.try_push(index).is_err() {
				defensive!("requeue list full; MaxRequeued must exceed MaxBatch × MaxReplication");
			}
		});
	}

	fn open_reveals(job: JobId, index: TaskIndex, task: &mut TaskOf<T>, now: BlockNumberFor<T>) {
		let until = now.saturating_add(T::RevealWindow::get());
		task.phase = Phase::Revealing(until);
		Self::schedule(until.saturating_add(One::one()), Timeout::Reveal(job, index));
		Self::deposit_event(Event::RevealOpened { job, task: index, until });
	}

	fn handle_timeout(now: BlockNumberFor<T>, timeout: Timeout<T::AccountId>) {
		match timeout {
			Timeout::Lease(job, index, worker) => {
				let Some(mut task) = Tasks::<T>::get(job, index) else { return };
				let Some(at) = task.replicas.iter().position(|r| r.worker == worker) else {
					return;
				};
				let replica = &task.replicas[at];
				if replica.state != ReplicaState::Leased || replica.lease_until >= now {
					return;
				}
				task.replicas.remove(at);
				Tasks::<T>::insert(job, index, task);
				T::Workers::note_lease(&worker, false);
				Self::requeue(job, index);
				Self::deposit_event(Event::LeaseExpired { job, task: index, worker });
			},
			Timeout::Draw(job, index) => {
				let (Some(info), Some(mut task)) =
					(Jobs::<T>::get(job), Tasks::<T>::get(job, index))
				else {
					return;
				};
				if task.phase != Phase::Drawing {
					return;
				}
				let worker = task.replicas.first().map(|r| r.worker.clone());
				let cv = worker.as_ref().map_or(0, T::Workers::consecutive_valid);
				let trusted = worker.as_ref().is_some_and(T::Workers::is_trusted);
				let single = trusted
					&& cv > 1 && Self::random(&(b"replication", job, index)) % cv as u64
					!= 0;
				Self::deposit_event(Event::ReplicationDrawn { job, task: index, single });
				if single {
					Self::open_reveals(job, index, &mut task, now);
					Tasks::<T>::insert(job, index, task);
				} else {
					task.needed = info.spec.replication;
					task.phase = Phase::Open;
					Tasks::<T>::insert(job, index, task);
					Self::requeue(job, index);
					Self::watch_waiting(job, index, now);
					Self::change_in_flight(job, false);
				}
			},
			Timeout::Reveal(job, index) => {
				let Some(task) = Tasks::<T>::get(job, index) else { return };
				if !matches!(task.phase, Phase::Revealing(until) if until < now) {
					return;
				}
				let revealed = task
					.replicas
					.iter()
					.filter(|r| matches!(r.state, ReplicaState::Revealed(_)))
					.count();
				if revealed == 0 {
					// Nothing is public yet: start over with fresh replicas.
					let mut task = task;
					for r in task.replicas.iter() {
						T::Workers::record_invalid(&r.worker);
					}
					Self::let_go(&task);
					task.replicas.clear();
					task.phase = Phase::Open;
					Tasks::<T>::insert(job, index, task);
					Self::requeue(job, index);
					Self::change_in_flight(job, false);
				} else {
					Self::open_review(job, index, ReviewKind::Dispute);
				}
			},
			Timeout::Audit(job, index) => {
				let Some(task) = Tasks::<T>::get(job, index) else { return };
				if !matches!(task.phase, Phase::Provisional(until) if until < now) {
					return;
				}
				if let Some(result) = task.result {
					Self::settle(job, index, Some(result), &[]);
				}
			},
			Timeout::Deadline(job) => {
				let Some(mut info) = Jobs::<T>::get(job) else { return };
				if info.status == JobStatus::Open {
					info.status = JobStatus::Expired;
					Self::deposit_event(Event::JobClosed { job, status: info.status });
					Self::finish_if_idle(job, &mut info);
					Jobs::<T>::insert(job, info);
				}
			},
			Timeout::Orphan(job, index) => {
				let Some(mut task) = Tasks::<T>::get(job, index) else { return };
				let waiting = task.phase == Phase::Open
					&& task.replicas.iter().any(|r| matches!(r.state, ReplicaState::Committed(_)));
				if !waiting {
					return;
				}
				if Self::open_job(job).is_ok() {
					Self::watch_waiting(job, index, now);
					return;
				}
				// The job ended before the task had all its replicas: it can never settle, so
				// nothing is paid and nobody is judged, and its replicas are let go.
				Self::let_go(&task);
				task.replicas.clear();
				task.phase = Phase::Done;
				Tasks::<T>::insert(job, index, task);
			},
			Timeout::Prune(job) => Prunable::<T>::insert(job, ()),
		}
	}

	/// Tells the registry that the workers of `task`'s replicas no longer hold them: the task
	/// settled, or its replicas are dropped.
	fn let_go(task: &TaskOf<T>) {
		for r in task.replicas.iter() {
			T::Workers::note_lease(&r.worker, false);
		}
	}

	/// Looks at a task with committed replicas that waits for more again in an audit window.
	fn watch_waiting(job: JobId, index: TaskIndex, now: BlockNumberFor<T>) {
		Self::schedule(now.saturating_add(T::AuditWindow::get()), Timeout::Orphan(job, index));
	}

	fn change_in_flight(job: JobId, up: bool) {
		if let Some(mut info) = Jobs::<T>::get(job) {
			info.in_flight = if up {
				info.in_flight.saturating_add(1)
			} else {
				info.in_flight.saturating_sub(1)
			};
			Self::finish_if_idle(job, &mut info);
			Jobs::<T>::insert(job, info);
		}
	}

	/// Releases the unspent escrow of an ended job once no task is in flight.
	fn finish_if_idle(job: JobId, info: &mut JobOf<T>) {
		if info.status == JobStatus::Open && info.settled >= info.spec.task_count {
			info.status = JobStatus::Done;
		}
		if info.status == JobStatus::Open || info.in_flight > 0 || info.ended.is_some() {
			return;
		}
		let refunded = if info.escrow.is_zero() {
			Zero::zero()
		} else {
			T::Currency::release(
				&HoldReason::Escrow.into(),
				&info.poster,
				info.escrow,
				Precision::BestEffort,
			)
			.unwrap_or_default()
		};
		info.escrow = Zero::zero();
		let now = frame_system::Pallet::<T>::block_number();
		info.ended = Some(now);
		Self::schedule(now.saturating_add(T::Retention::get()), Timeout::Prune(job));
		Self::deposit_event(Event::JobEnded { job, status: info.status, refunded });
	}

	/// Removes up to `budget` tasks of ended job `job`, and the job itself once it has no task
	/// left. Returns how many tasks were removed and whether the job is gone.
	///
	/// A replica of a task that never settled would still count against its worker's stake;
	/// it is let go. (Leases end long before the retention does, and a job only ends once no
	/// task is in flight, so this is only a safeguard.)
	pub fn prune(job: JobId, budget: u32) -> (u32, bool) {
		let mut removed = 0;
		for (_, task) in Tasks::<T>::drain_prefix(job).take(budget as usize) {
			if task.phase != Phase::Done {
				Self::let_go(&task);
			}
			removed += 1;
		}
		if removed == budget {
			return (removed, false);
		}
		Jobs::<T>::remove(job);
		Requeued::<T>::remove(job);
		Prunable::<T>::remove(job);
		Self::deposit_event(Event::JobPruned { job });
		(removed, true)
	}

	/// Pays `amount` from the job's escrow to `to`.
	pub fn pay(
		job: JobId,
		index: TaskIndex,
		to: &T::AccountId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		let Some(mut info) = Jobs::<T>::get(job) else { return Zero::zero() };
		let amount = amount.min(info.escrow);
		if amount.is_zero() {
			return amount;
		}
		let paid = T::Currency::transfer_on_hold(
			&HoldReason::Escrow.into(),
			&info.poster,
			to,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Polite,
		)
		.unwrap_or_default();
		info.escrow = info.escrow.saturating_sub(paid);
		info.spent = info.spent.saturating_add(paid);
		Jobs::<T>::insert(job, info);
		Self::deposit_event(Event::Paid { job, task: index, to: to.clone(), amount: paid });
		paid
	}

	/// All replicas of a task revealed. Returns whether checkers were asked to review it
	/// ([`Reviews::open`] called), for the weight.
	fn settle_revealed(job: JobId, index: TaskIndex, now: BlockNumberFor<T>) -> bool {
		let Some(mut task) = Tasks::<T>::get(job, index) else { return false };
		let results: Vec<TaskResult> = task
			.replicas
			.iter()
			.filter_map(|r| match r.state {
				ReplicaState::Revealed(result) => Some(result),
				_ => None,
			})
			.collect();
		let Some(first) = results.first().copied() else { return false };
		let unanimous = results.iter().all(|r| *r == first) && first.outcome.is_verdict();

		if task.needed == 1 && results.len() == 1 {
			if !first.outcome.is_verdict() {
				// The worker could not get the input: no pay, no slash; full replication now.
				Self::let_go(&task);
				task.replicas.clear();
				task.phase = Phase::Open;
				task.needed = Jobs::<T>::get(job).map_or(1, |j| j.spec.replication);
				Tasks::<T>::insert(job, index, task);
				Self::requeue(job, index);
				Self::change_in_flight(job, false);
				return false;
			}
			let worker = task.replicas[0].worker.clone();
			T::Workers::note_unaudited(&worker, true);
			task.result = Some(first);
			let audited = T::AuditRate::get().deconstruct() as u64
				> Self::random(&(b"audit", job, index)) % <Perbill as PerThing>::ACCURACY as u64;
			if audited && T::Reviews::open(job, index, task.platform, ReviewKind::Audit) {
				task.phase = Phase::Review(ReviewKind::Audit);
				Tasks::<T>::insert(job, index, task);
				Self::deposit_event(Event::ReviewOpened {
					job,
					task: index,
					kind: ReviewKind::Audit,
				});
			} else {
				let until = now.saturating_add(T::AuditWindow::get());
				task.phase = Phase::Provisional(until);
				Tasks::<T>::insert(job, index, task);
				Self::schedule(until.saturating_add(One::one()), Timeout::Audit(job, index));
				Self::deposit_event(Event::ProvisionallyAccepted {
					job,
					task: index,
					result: first,
					until,
				});
			}
			return audited;
		}

		Tasks::<T>::insert(job, index, task);
		if unanimous {
			Self::settle(job, index, Some(first), &[]);
			false
		} else {
			Self::open_review(job, index, ReviewKind::Dispute);
			true
		}
	}

	fn open_review(job: JobId, index: TaskIndex, kind: ReviewKind) {
		let Some(mut task) = Tasks::<T>::get(job, index) else { return };
		if T::Reviews::open(job, index, task.platform, kind) {
			task.phase = Phase::Review(kind);
			Tasks::<T>::insert(job, index, task);
			Self::deposit_event(Event::ReviewOpened { job, task: index, kind });
		} else {
			// Nobody can judge: the task fails unpaid, and nobody is slashed.
			Self::settle(job, index, None, &[]);
		}
	}

	/// Settles a task on `verdict` (the replicas' unanimous result, a provisional result whose
	/// window closed, or the checkers' verdict). Replicas that revealed the verdict are paid
	/// and credited; replicas that revealed anything else or nothing are slashed and debited,
	/// except those that reported their input unavailable. `checkers` voted with the verdict
	/// and share in any slash. With no verdict, nobody is paid or slashed; an unreachable
	/// input ([`ccgsc_primitives::Outcome::InputUnavailable`]) is no verdict, whoever reports it.
	pub fn settle(
		job: JobId,
		index: TaskIndex,
		verdict: Option<TaskResult>,
		checkers: &[T::AccountId],
	) {
		let (Some(info), Some(mut task)) = (Jobs::<T>::get(job), Tasks::<T>::get(job, index))
		else {
			return;
		};
		if task.phase == Phase::Done {
			return;
		}
		let single = task.phase.holds_single();
		let verdict = verdict.filter(|v| v.outcome.is_verdict());
		let mut honest = Vec::new();
		let mut liars = Vec::new();
		if let Some(verdict) = verdict {
			for replica in task.replicas.iter() {
				match replica.state {
					ReplicaState::Revealed(r) if r == verdict => {
						honest.push(replica.worker.clone())
					},
					ReplicaState::Revealed(r) if !r.outcome.is_verdict() => {},
					_ => liars.push(replica.worker.clone()),
				}
			}
		}
		for worker in &honest {
			let paid = Self::pay(job, index, worker, info.spec.reward_per_task);
			T::Workers::reward(worker, paid);
			T::Workers::record_valid(worker);
		}
		for liar in &liars {
			T::Workers::record_invalid(liar);
			let third = Perbill::from_rational(1u32, 3u32);
			let mut to: Vec<(T::AccountId, Perbill)> = Vec::new();
			let mut poster_share = third;
			for (group, share) in [(&honest[..], third), (checkers, third)] {
				if group.is_empty() {
					poster_share = poster_share.saturating_add(share);
				} else {
					let each = Perbill::from_rational(1u32, group.len() as u32) * share;
					to.extend(group.iter().map(|a| (a.clone(), each)));
				}
			}
			to.insert(0, (info.poster.clone(), poster_share));
			let amount = T::Workers::slash(liar, T::SlashFraction::get(), &to);
			Self::deposit_event(Event::LiarSlashed {
				job,
				task: index,
				worker: liar.clone(),
				amount,
			});
		}
		if single {
			if let Some(r) = task.replicas.first() {
				T::Workers::note_unaudited(&r.worker, false);
			}
		}
		Self::let_go(&task);
		task.phase = Phase::Done;
		task.result = verdict;
		Tasks::<T>::insert(job, index, task);
		Self::deposit_event(Event::TaskSettled {
			job,
			task: index,
			result: verdict,
			agreeing: honest.len() as u8,
		});
		if let Some(mut info) = Jobs::<T>::get(job) {
			info.settled = info.settled.saturating_add(1);
			info.in_flight = info.in_flight.saturating_sub(1);
			Self::finish_if_idle(job, &mut info);
			Jobs::<T>::insert(job, info);
		}
	}
}
