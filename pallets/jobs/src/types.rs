//! The types of the jobs pallet.

use ccgsc_primitives::{
	ContentId, ExecutorVersion, Hash, JobId, Limits, PlatformClass, PlatformSet, TaskIndex,
	TaskResult,
};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::frame_support::{pallet_prelude::ConstU32, BoundedVec};
use scale_info::TypeInfo;

/// Most arguments a job passes to its tasks.
pub type MaxArgs = ConstU32<16>;
/// Most bytes of one argument.
pub type MaxArgLen = ConstU32<256>;
/// A job's arguments (after `argv[0]`), UTF-8.
pub type Args = BoundedVec<BoundedVec<u8, MaxArgLen>, MaxArgs>;

/// What a poster asks for in `post_job`.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct JobSpec<Balance, BlockNumber> {
	/// Content id of the WASM module.
	pub module: ContentId,
	/// Root of the tree over the tasks' input content ids (see `ccgsc_primitives::inputs_root`).
	pub inputs_root: Hash,
	/// Number of tasks (leaves of the inputs tree).
	pub task_count: u32,
	/// Arguments every task gets.
	pub args: Args,
	/// Paid to each replica whose result is accepted.
	pub reward_per_task: Balance,
	/// Agreeing replicas a task needs (when adaptive replication does not let one stand).
	pub replication: u8,
	/// Work, memory and output limits of each task.
	pub limits: Limits,
	/// Platform classes whose workers may run the tasks.
	pub platforms: PlatformSet,
	/// The executor version every replica and checker must run.
	pub executor_version: ExecutorVersion,
	/// The block after which no new work starts and unspent escrow returns.
	pub deadline: BlockNumber,
}

/// Where a job stands.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum JobStatus {
	/// Tasks can be claimed.
	Open,
	/// Every task is settled.
	Done,
	/// The poster cancelled it.
	Cancelled,
	/// Its deadline passed.
	Expired,
}

/// A posted job.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Job<AccountId, Balance, BlockNumber> {
	/// Who posted it and pays.
	pub poster: AccountId,
	/// What was asked for.
	pub spec: JobSpec<Balance, BlockNumber>,
	/// Escrow still held for this job.
	pub escrow: Balance,
	/// Paid out so far (to workers and checkers).
	pub spent: Balance,
	/// Where it stands.
	pub status: JobStatus,
	/// The next task never claimed yet.
	pub next_task: TaskIndex,
	/// Tasks settled (accepted or failed).
	pub settled: u32,
	/// Tasks between their first commit and their settlement (drawing, revealing, under
	/// review, provisional): the escrow is only released once none remain.
	pub in_flight: u32,
	/// The block in which it ended: no task left in flight, the unspent escrow returned. Its
	/// record is removed `Retention` blocks later.
	pub ended: Option<BlockNumber>,
}

/// What a replica of a task has done so far.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum ReplicaState {
	/// Claimed; running.
	Leased,
	/// Committed to this hash.
	Committed(Hash),
	/// Revealed this result.
	Revealed(TaskResult),
}

/// One worker's replica of a task.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Replica<AccountId, BlockNumber> {
	/// The worker.
	pub worker: AccountId,
	/// When the lease ends unless renewed or committed.
	pub lease_until: BlockNumber,
	/// What it has done.
	pub state: ReplicaState,
}

/// Why checkers look at a task.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum ReviewKind {
	/// Replicas disagreed, or one did not reveal.
	Dispute,
	/// A single result was drawn for audit.
	Audit,
}

/// Where a task stands.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum Phase<BlockNumber> {
	/// Needs (more) replicas, or waits for its replicas to commit.
	Open,
	/// A trusted worker committed alone; the next block draws whether its result may stand alone.
	Drawing,
	/// Every replica committed; reveals are open until the given block.
	Revealing(BlockNumber),
	/// Checkers re-execute it.
	Review(ReviewKind),
	/// A single result, accepted unless an audit overturns it before the given block; its
	/// payout and the worker's stake stay held until then.
	Provisional(BlockNumber),
	/// Settled: see the task's `result` (none when the checkers could not decide). Or, with no
	/// replicas left and no result, let go unsettled: its job ended while it waited for more
	/// replicas, so they went unpaid and unjudged.
	Done,
}

impl<BlockNumber> Phase<BlockNumber> {
	/// Whether the task holds a single result open to audit: provisionally accepted or under
	/// audit. Its worker's count of such results (the registry's `unaudited`) includes it.
	pub fn holds_single(&self) -> bool {
		matches!(self, Phase::Provisional(_) | Phase::Review(ReviewKind::Audit))
	}
}

/// Most replicas of one task.
pub type MaxReplicas = ConstU32<8>;

/// A task that has been claimed at least once (tasks never claimed have no entry).
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct TaskInfo<AccountId, BlockNumber> {
	/// Where it stands.
	pub phase: Phase<BlockNumber>,
	/// Replicas it needs now (1 while a trusted worker runs it alone).
	pub needed: u8,
	/// The platform class all its replicas share (homogeneous redundancy).
	pub platform: PlatformClass,
	/// Its replicas.
	pub replicas: BoundedVec<Replica<AccountId, BlockNumber>, MaxReplicas>,
	/// The settled (or provisional) result.
	pub result: Option<TaskResult>,
}

/// Work the pallet does at a given block.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub enum Timeout<AccountId> {
	/// A lease may have expired.
	Lease(JobId, TaskIndex, AccountId),
	/// Draw whether a trusted single commit stands alone.
	Draw(JobId, TaskIndex),
	/// The reveal window of a task closes.
	Reveal(JobId, TaskIndex),
	/// The audit window of a provisional result closes.
	Audit(JobId, TaskIndex),
	/// A job's deadline.
	Deadline(JobId),
	/// A task with a committed replica that waits for more replicas: if its job has ended,
	/// it will never settle, and its replicas are let go; otherwise it is looked at again.
	Orphan(JobId, TaskIndex),
	/// An ended job's retention is over: its record is removed when blocks have weight to
	/// spare.
	Prune(JobId),
}
