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
use ccgsc_verifier::standing::Step;
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
	/// Escrow still held.
	pub(crate) escrow: Amount,
	/// Paid out so far.
	pub(crate) spent: Amount,
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
	/// What the accepted outputs add up to, for the built-in `primes`, `pwhash` and `matmul`.
	pub(crate) answer: Option<crate::answer::Answer>,
	pub(crate) tasks: Vec<TaskView>,
}

/// One task.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct TaskView {
	pub(crate) index: TaskIndex,
	/// open, claimed, committed, revealed, disputed, audited, accepted or failed; or
	/// skipped: a task of a job that closed (cancelled, or past its deadline) that will never
	/// settle, because no replica ran it or not all the replicas the job asked for did
	/// ([`ccgsc_chain::skipped`]).
	pub(crate) state: &'static str,
	/// Why a skipped task never settles, as the page's tooltip says it
	/// ([`ccgsc_chain::Skipped::describe`]).
	pub(crate) skipped: Option<&'static str>,
	/// Why a failed task has no result, as the page's tooltip says it
	/// ([`ccgsc_chain::Unresolved::describe`]).
	pub(crate) failed: Option<&'static str>,
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

impl From<ccgsc_tasks::mandelbrot::Layout> for Layout {
	fn from(layout: ccgsc_tasks::mandelbrot::Layout) -> Self {
		let tiles = layout
			.tiles
			.iter()
			.map(|r| TileRect { x: r.x, y: r.y, width: r.width, height: r.height })
			.collect();
		Self { width: layout.width, height: layout.height, tiles }
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
		escrow: job.escrow.into(),
		spent: job.spent.into(),
		workload,
	}
}

/// The state of task `index` of a job in `status`, as a poster reads it.
pub(crate) fn task(
	status: &JobStatus,
	index: TaskIndex,
	task: Option<&TaskInfo<AccountId32, u32>>,
	kept: impl Fn(&ContentId) -> bool,
) -> TaskView {
	let mut view = task_state(index, task, kept);
	if let Some(why) = ccgsc_chain::skipped(status, task) {
		view.state = "skipped";
		view.skipped = Some(why.describe());
	}
	view
}

fn task_state(
	index: TaskIndex,
	task: Option<&TaskInfo<AccountId32, u32>>,
	kept: impl Fn(&ContentId) -> bool,
) -> TaskView {
	let mut view = TaskView {
		index,
		state: "open",
		skipped: None,
		failed: None,
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
			_ => {
				view.failed = ccgsc_chain::unresolved(Some(task)).map(|why| why.describe());
				"failed"
			},
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
	/// Whether the chain lets it claim, and what of its stake is unbonding (see
	/// [`worker_standing`]).
	pub(crate) standing: String,
}

/// What a worker's or checker's standing is judged against: the runtime's minimum stakes and
/// the portal's finalized block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
	/// `MinWorkerStake`.
	pub(crate) min_worker_stake: Balance,
	/// `MinCheckerStake`.
	pub(crate) min_checker_stake: Balance,
	/// The finalized block.
	pub(crate) now: u32,
}

/// Credits with three decimals, as the clients' status lines show them.
fn credits(units: Balance) -> String {
	format!("{:.3}", units as f64 / UNIT as f64)
}

/// A worker's standing in words: `active` when its stake not being unbonded reaches the
/// minimum (the chain's own test for accepting its claims), `inactive` with the reason
/// otherwise, and then what is unbonding and until when.
pub(crate) fn worker_standing(w: &Worker<Balance, u32>, rules: &Rules) -> String {
	let unbonding = w.unbonding.as_ref().map_or(0, |u| u.amount);
	let mut standing = if w.stake.saturating_sub(unbonding) >= rules.min_worker_stake {
		"active".to_string()
	} else {
		format!(
			"inactive: active stake below the minimum of {} credits, claims are refused",
			credits(rules.min_worker_stake)
		)
	};
	if let Some(u) = &w.unbonding {
		if rules.now >= u.until {
			standing += &format!(" · {} credits unbonded, to withdraw", credits(u.amount));
		} else {
			standing +=
				&format!(" · {} credits unbonding until block #{}", credits(u.amount), u.until);
		}
	}
	standing
}

/// A checker's standing in words, from the rule the verifier follows ([`Step::of`]):
/// `checking` when reviews can select it; otherwise why not, and what comes next.
pub(crate) fn checker_standing(c: &Checker<Balance, u32>, rules: &Rules) -> String {
	let below = format!(
		"below the minimum stake of {} credits: not selected for reviews",
		credits(rules.min_checker_stake)
	);
	match Step::of(Some(c), rules.min_checker_stake, rules.now) {
		Step::Serve => "checking".into(),
		Step::Leave => below,
		Step::FinishReviews => format!("{below} · {} still open", c.open_reviews),
		Step::Unbonding { until } => format!("leaving: stake unbonding until block #{until}"),
		Step::Withdraw => "left: stake unbonded, to withdraw".into(),
		Step::Register | Step::Gone => "not registered".into(),
	}
}

pub(crate) fn worker(account: &AccountId32, w: &Worker<Balance, u32>, rules: &Rules) -> WorkerView {
	WorkerView {
		standing: worker_standing(w, rules),
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
	/// Whether reviews can select it, and if not why (see [`checker_standing`]).
	pub(crate) standing: String,
}

pub(crate) fn checker(
	account: &AccountId32,
	c: &Checker<Balance, u32>,
	rules: &Rules,
) -> CheckerView {
	CheckerView {
		standing: checker_standing(c, rules),
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

#[cfg(test)]
mod tests {
	use ccgsc_chain::api::runtime_types::{
		bounded_collections::bounded_vec::BoundedVec,
		pallet_workers::{Profile, Reputation, Unbonding},
	};
	use ccgsc_primitives::{Outcome, PlatformClass};

	use super::*;

	const RULES: Rules =
		Rules { min_worker_stake: 100 * UNIT, min_checker_stake: 100 * UNIT, now: 50 };

	fn worker(stake: Balance, unbonding: Option<(Balance, u32)>) -> Worker<Balance, u32> {
		Worker {
			stake,
			unbonding: unbonding.map(|(amount, until)| Unbonding { amount, until }),
			profile: Profile {
				cores: 2,
				memory_mib: 1024,
				score: 1,
				platform: convert::platform(PlatformClass::X86_64Native),
				executor_version: 1,
				peer_id: BoundedVec(vec![]),
			},
			reputation: Reputation { consecutive_valid: 0, valid: 0, invalid: 0 },
			leases: 0,
			unaudited: 0,
			earned: 0,
			slashed: 0,
		}
	}

	fn checker(stake: Balance, leaving: Option<u32>, open_reviews: u32) -> Checker<Balance, u32> {
		Checker {
			stake,
			platform: convert::platform(PlatformClass::X86_64Native),
			executor_version: 1,
			leaving,
			open_reviews,
			upheld: 0,
			earned: 0,
			slashed: 0,
		}
	}

	#[test]
	fn the_tasks_a_closed_job_will_never_settle_are_skipped_not_open_or_failed() {
		use ccgsc_chain::api::runtime_types::pallet_jobs::types::Replica;
		let leased = TaskInfo {
			phase: Phase::Open,
			needed: 1,
			platform: convert::platform(PlatformClass::X86_64Native),
			replicas: BoundedVec(vec![Replica {
				worker: AccountId32([1; 32]),
				state: ReplicaState::Leased,
				lease_until: 10,
			}]),
			result: None,
		};
		// The state, and for a skipped task why.
		let state = |status, info: Option<&TaskInfo<AccountId32, u32>>| {
			let view = task(&status, 0, info, |_| false);
			assert_eq!(view.state == "skipped", view.skipped.is_some(), "{view:?}");
			(view.state, view.skipped)
		};
		const NEVER_RAN: Option<&str> = Some("the job closed before it ran");
		const UNFINISHED: Option<&str> =
			Some("the job closed before all its replicas ran (they go unpaid)");
		assert_eq!(state(JobStatus::Open, None), ("open", None));
		assert_eq!(state(JobStatus::Open, Some(&leased)), ("claimed", None));
		for closed in [JobStatus::Cancelled, JobStatus::Expired] {
			assert_eq!(state(closed.clone(), None), ("skipped", NEVER_RAN));
			assert_eq!(state(closed.clone(), Some(&leased)), ("skipped", NEVER_RAN));
		}
		let waiting = TaskInfo {
			replicas: BoundedVec(vec![
				Replica {
					worker: AccountId32([2; 32]),
					state: ReplicaState::Committed([0; 32]),
					lease_until: 10,
				},
				Replica {
					worker: AccountId32([3; 32]),
					state: ReplicaState::Leased,
					lease_until: 10,
				},
			]),
			needed: 2,
			..leased.clone()
		};
		assert_eq!(state(JobStatus::Open, Some(&waiting)), ("committed", None));
		// A task waiting for its second replica when the job closes never gets it: the chain
		// lets its replicas go and marks it done with neither result nor replicas.
		assert_eq!(state(JobStatus::Cancelled, Some(&waiting)), ("skipped", UNFINISHED));
		let let_go =
			TaskInfo { phase: Phase::Done, replicas: BoundedVec(vec![]), ..leased.clone() };
		assert_eq!(state(JobStatus::Cancelled, Some(&let_go)), ("skipped", UNFINISHED));
		// A dispute the checkers could not decide ends without a result too, but keeps its
		// replicas: it failed, and says why.
		let undecided = TaskInfo { phase: Phase::Done, ..waiting.clone() };
		assert_eq!(state(JobStatus::Cancelled, Some(&undecided)), ("failed", None));
		let failed = |info: &TaskInfo<AccountId32, u32>| {
			task(&JobStatus::Done, 0, Some(info), |_| false).failed
		};
		assert_eq!(
			failed(&undecided),
			Some("the checkers reached no verdict on it (nothing paid)")
		);
		// Every replica that revealed could not get the input: the poster's inputs were not
		// served. One that computed a result makes it a verdict the checkers missed instead.
		let revealed = |outcome| Replica {
			worker: AccountId32([4; 32]),
			state: ReplicaState::Revealed(convert::result(
				&ccgsc_primitives::TaskResult::without_output(outcome),
			)),
			lease_until: 10,
		};
		let mut unreachable = undecided.clone();
		unreachable.replicas.0[0] = revealed(Outcome::InputUnavailable);
		assert_eq!(
			failed(&unreachable),
			Some("no replica or checker could get its module or input (nothing paid)")
		);
		unreachable.replicas.0[1] = revealed(Outcome::Trapped);
		assert_eq!(
			failed(&unreachable),
			Some("the checkers reached no verdict on it (nothing paid)")
		);
		assert_eq!(failed(&waiting), None, "a task still open has not failed");
		let committed = TaskInfo { phase: Phase::Drawing, ..leased };
		assert_eq!(
			state(JobStatus::Cancelled, Some(&committed)),
			("committed", None),
			"it still settles"
		);
	}

	#[test]
	fn a_worker_is_active_while_its_stake_not_unbonding_reaches_the_minimum() {
		assert_eq!(worker_standing(&worker(100 * UNIT, None), &RULES), "active");
		assert_eq!(
			worker_standing(&worker(300 * UNIT, Some((200 * UNIT, 60))), &RULES),
			"active · 200.000 credits unbonding until block #60"
		);
		assert_eq!(
			worker_standing(&worker(50 * UNIT, None), &RULES),
			"inactive: active stake below the minimum of 100.000 credits, claims are refused"
		);
		assert_eq!(
			worker_standing(&worker(150 * UNIT, Some((150 * UNIT, 50))), &RULES),
			"inactive: active stake below the minimum of 100.000 credits, claims are refused \
			 · 150.000 credits unbonded, to withdraw"
		);
	}

	#[test]
	fn a_checker_is_checking_or_says_why_reviews_pass_it_by() {
		assert_eq!(checker_standing(&checker(100 * UNIT, None, 2), &RULES), "checking");
		assert_eq!(
			checker_standing(&checker(50 * UNIT, None, 0), &RULES),
			"below the minimum stake of 100.000 credits: not selected for reviews"
		);
		assert_eq!(
			checker_standing(&checker(50 * UNIT, None, 1), &RULES),
			"below the minimum stake of 100.000 credits: not selected for reviews · 1 still open"
		);
		assert_eq!(
			checker_standing(&checker(50 * UNIT, Some(51), 0), &RULES),
			"leaving: stake unbonding until block #51"
		);
		assert_eq!(
			checker_standing(&checker(200 * UNIT, Some(50), 0), &RULES),
			"left: stake unbonded, to withdraw"
		);
	}
}
