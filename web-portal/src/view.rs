//! What the API shows: jobs, tasks, workers, checkers and accounts as JSON.
//!
//! Amounts are strings of the smallest unit (they exceed JavaScript's safe integers) with a
//! `*_credits` float beside them for display.

use ccgsc_chain::{
	api::runtime_types::{
		ccgsc_primitives::TaskResult,
		pallet_attestations::Checker,
		pallet_jobs::types::{Job, JobStatus, Phase, ReplicaState, ReviewKind, TaskInfo},
		pallet_workers::Worker,
	},
	convert, AccountId32, Balance, UNIT,
};
use ccgsc_primitives::{ContentId, JobId, TaskIndex};
use serde::Serialize;

/// An amount: exact and for display.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct Amount {
	/// In the smallest unit.
	pub(crate) units: String,
	/// In credits.
	pub(crate) credits: f64,
}

impl From<Balance> for Amount {
	fn from(units: Balance) -> Self {
		Self { units: units.to_string(), credits: units as f64 / UNIT as f64 }
	}
}

/// A job in lists.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct JobSummary {
	pub(crate) id: JobId,
	pub(crate) poster: String,
	pub(crate) status: &'static str,
	pub(crate) task_count: u32,
	pub(crate) settled: u32,
	pub(crate) workload: Option<&'static str>,
}

/// A job with its tasks.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct JobView {
	pub(crate) id: JobId,
	pub(crate) poster: String,
	pub(crate) status: &'static str,
	/// Whether the job has ended and every task is settled.
	pub(crate) finished: bool,
	pub(crate) task_count: u32,
	pub(crate) settled: u32,
	pub(crate) in_flight: u32,
	/// Escrow still held.
	pub(crate) escrow: Amount,
	/// Paid out so far.
	pub(crate) spent: Amount,
	pub(crate) reward_per_task: Amount,
	pub(crate) replication: u8,
	pub(crate) module: ContentId,
	pub(crate) args: Vec<String>,
	pub(crate) deadline: u32,
	/// The finalized block this view is from.
	pub(crate) at: u32,
	/// The built-in workload whose module the job runs, if any.
	pub(crate) workload: Option<&'static str>,
	/// How Mandelbrot tiles make one image (Mandelbrot jobs whose inputs the portal has).
	pub(crate) image: Option<Layout>,
	pub(crate) tasks: Vec<TaskView>,
}

/// One task.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct TaskView {
	pub(crate) index: TaskIndex,
	/// open, claimed, committed, revealed, disputed, audited, accepted or failed.
	pub(crate) state: &'static str,
	/// An accepted result that an audit may still overturn.
	pub(crate) provisional: bool,
	/// How the accepted result ended (Success, Trapped, WorkLimitExceeded, ...).
	pub(crate) outcome: Option<String>,
	/// The accepted output's content id.
	pub(crate) output: Option<ContentId>,
	pub(crate) output_len: Option<u64>,
	/// Whether the portal holds the output.
	pub(crate) kept: bool,
	/// Replicas running or done.
	pub(crate) replicas: u32,
}

/// Where each tile of a Mandelbrot job goes in its image.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct Layout {
	pub(crate) width: u32,
	pub(crate) height: u32,
	/// By task index.
	pub(crate) tiles: Vec<TileRect>,
}

/// A tile's place in the image.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
pub(crate) struct TileRect {
	pub(crate) x: u32,
	pub(crate) y: u32,
	pub(crate) width: u32,
	pub(crate) height: u32,
}

impl Layout {
	/// The layout of tiles (in task order), or `None` if they do not share one step.
	pub(crate) fn of(tiles: &[ccgsc_tasks::mandelbrot::Tile]) -> Option<Self> {
		let first = tiles.first()?;
		let step = first.step;
		if step <= 0.0 || tiles.iter().any(|t| (t.step - step).abs() > step * 1e-9) {
			return None;
		}
		let left = tiles.iter().map(|t| t.x0).fold(f64::INFINITY, f64::min);
		let top = tiles.iter().map(|t| t.y0).fold(f64::NEG_INFINITY, f64::max);
		let rects: Vec<TileRect> = tiles
			.iter()
			.map(|t| TileRect {
				x: ((t.x0 - left) / step).round() as u32,
				y: ((top - t.y0) / step).round() as u32,
				width: t.width,
				height: t.height,
			})
			.collect();
		let width = rects.iter().map(|r| r.x + r.width).max()?;
		let height = rects.iter().map(|r| r.y + r.height).max()?;
		if u64::from(width) * u64::from(height) > 64 << 20 {
			return None;
		}
		Some(Self { width, height, tiles: rects })
	}
}

pub(crate) fn status(status: &JobStatus) -> &'static str {
	match status {
		JobStatus::Open => "open",
		JobStatus::Done => "done",
		JobStatus::Cancelled => "cancelled",
		JobStatus::Expired => "expired",
	}
}

pub(crate) fn summary(
	id: JobId,
	job: &Job<AccountId32, Balance, u32>,
	workload: Option<&'static str>,
) -> JobSummary {
	JobSummary {
		id,
		poster: job.poster.to_string(),
		status: status(&job.status),
		task_count: job.spec.task_count,
		settled: job.settled,
		workload,
	}
}

/// The state of a claimed task, as a poster reads it.
pub(crate) fn task(
	index: TaskIndex,
	task: Option<&TaskInfo<AccountId32, u32>>,
	kept: impl Fn(&ContentId) -> bool,
) -> TaskView {
	let mut view = TaskView {
		index,
		state: "open",
		provisional: false,
		outcome: None,
		output: None,
		output_len: None,
		kept: false,
		replicas: 0,
	};
	let Some(task) = task else { return view };
	let replicas = &task.replicas.0;
	view.replicas = replicas.len() as u32;
	let any = |f: fn(&ReplicaState) -> bool| replicas.iter().any(|r| f(&r.state));
	view.state = match &task.phase {
		Phase::Open | Phase::Drawing if any(|s| matches!(s, ReplicaState::Committed(_))) => {
			"committed"
		},
		Phase::Open if replicas.is_empty() => "open",
		Phase::Open => "claimed",
		Phase::Drawing => "committed",
		Phase::Revealing(_) if any(|s| matches!(s, ReplicaState::Revealed(_))) => "revealed",
		Phase::Revealing(_) => "committed",
		Phase::Review(ReviewKind::Dispute) => "disputed",
		Phase::Review(ReviewKind::Audit) => "audited",
		Phase::Provisional(_) => {
			view.provisional = true;
			"accepted"
		},
		Phase::Done => match &task.result {
			Some(r) if convert::outcome_back(&r.outcome) == ccgsc_primitives::Outcome::Success => {
				"accepted"
			},
			_ => "failed",
		},
	};
	if let Some(TaskResult { outcome, output_len, output }) = &task.result {
		let output = ContentId(output.0);
		view.outcome = Some(format!("{:?}", convert::outcome_back(outcome)));
		view.output = Some(output);
		view.output_len = Some(*output_len);
		view.kept = kept(&output);
	}
	view
}

/// A worker.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct WorkerView {
	pub(crate) account: String,
	pub(crate) stake: Amount,
	pub(crate) unbonding: Option<Amount>,
	pub(crate) cores: u32,
	pub(crate) memory_mib: u32,
	pub(crate) score: u64,
	pub(crate) platform: String,
	pub(crate) executor_version: u32,
	pub(crate) peer_id: Option<String>,
	pub(crate) consecutive_valid: u32,
	pub(crate) valid: u64,
	pub(crate) invalid: u64,
	pub(crate) leases: u32,
	pub(crate) earned: Amount,
	pub(crate) slashed: Amount,
}

pub(crate) fn worker(account: &AccountId32, w: &Worker<Balance, u32>) -> WorkerView {
	WorkerView {
		account: account.to_string(),
		stake: w.stake.into(),
		unbonding: w.unbonding.as_ref().map(|u| u.amount.into()),
		cores: w.profile.cores,
		memory_mib: w.profile.memory_mib,
		score: w.profile.score,
		platform: format!("{:?}", w.profile.platform),
		executor_version: w.profile.executor_version,
		peer_id: ccgsc_p2p::PeerId::from_bytes(&w.profile.peer_id.0).ok().map(|p| p.to_string()),
		consecutive_valid: w.reputation.consecutive_valid,
		valid: w.reputation.valid,
		invalid: w.reputation.invalid,
		leases: w.leases,
		earned: w.earned.into(),
		slashed: w.slashed.into(),
	}
}

/// A checker.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct CheckerView {
	pub(crate) account: String,
	pub(crate) stake: Amount,
	pub(crate) platform: String,
	pub(crate) executor_version: u32,
	pub(crate) leaving: Option<u32>,
	pub(crate) open_reviews: u32,
	pub(crate) upheld: u32,
	pub(crate) earned: Amount,
	pub(crate) slashed: Amount,
}

pub(crate) fn checker(account: &AccountId32, c: &Checker<Balance, u32>) -> CheckerView {
	CheckerView {
		account: account.to_string(),
		stake: c.stake.into(),
		platform: format!("{:?}", c.platform),
		executor_version: c.executor_version,
		leaving: c.leaving,
		open_reviews: c.open_reviews,
		upheld: c.upheld,
		earned: c.earned.into(),
		slashed: c.slashed.into(),
	}
}
