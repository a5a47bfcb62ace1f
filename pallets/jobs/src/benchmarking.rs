//! Benchmarks for `pallet_jobs`, over worst-case batch sizes and replica counts.

use super::*;
use ccgsc_primitives::{ContentId, Limits, PlatformClass, PlatformSet};
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::{fungible::Mutate, Hooks},
	frame_system::RawOrigin,
};

fn profile() -> pallet_workers::Profile {
	pallet_workers::Profile {
		cores: 8,
		memory_mib: 65_536,
		score: 1_000_000_000,
		platform: PlatformClass::X86_64Native,
		executor_version: 1,
		peer_id: alloc::vec![7u8; 38].try_into().expect("38 bytes fit; qed"),
	}
}

fn worker<T: Config>(i: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", i, 0);
	T::Workers::register_for_benchmarks(&who, profile());
	who
}

/// Poster number `i`, funded for any job.
fn poster<T: Config>(i: u32) -> T::AccountId {
	let who: T::AccountId = account("poster", i, 0);
	T::Currency::set_balance(
		&who,
		T::MaxRewardPerTask::get().saturating_mul(100_000_000u32.into()),
	);
	who
}

fn spec<T: Config>(tasks: u32, replication: u8) -> JobSpecOf<T> {
	let inputs: Vec<ContentId> =
		(0..tasks.min(64)).map(|i| ContentId::of(&i.to_le_bytes())).collect();
	JobSpec {
		module: ContentId::of(b"benchmark module"),
		inputs_root: ccgsc_primitives::inputs_root(&inputs),
		task_count: tasks,
		args: Default::default(),
		reward_per_task: T::MaxRewardPerTask::get(),
		replication,
		limits: Limits { work: 1_000_000_000, memory: 64 << 20, output: 1 << 20 },
		platforms: PlatformSet::of(&[PlatformClass::X86_64Native]),
		executor_version: 1,
		deadline: frame_system::Pallet::<T>::block_number().saturating_add(100_000u32.into()),
	}
}

fn posted<T: Config>(tasks: u32, replication: u8) -> JobId {
	posted_by::<T>(0, tasks, replication)
}

/// A job posted by poster number `i`.
fn posted_by<T: Config>(i: u32, tasks: u32, replication: u8) -> JobId {
	let job = NextJobId::<T>::get();
	Pallet::<T>::post_job(RawOrigin::Signed(poster::<T>(i)).into(), spec::<T>(tasks, replication))
		.expect("a funded poster posts; qed");
	job
}

fn result(task: TaskIndex) -> TaskResult {
	TaskResult::success(&task.to_le_bytes())
}

const SALT: Hash = [7u8; 32];

fn tasks<T: Config>(n: u32) -> BoundedVec<TaskIndex, T::MaxBatch> {
	BoundedVec::truncate_from((0..n).collect())
}

fn claim_as<T: Config>(who: &T::AccountId, job: JobId, n: u32) {
	Pallet::<T>::claim(RawOrigin::Signed(who.clone()).into(), job, n)
		.expect("tasks are available; qed");
}

fn commit_all<T: Config>(who: &T::AccountId, job: JobId, n: u32) {
	let commitments = (0..n)
		.map(|t| (t, commitment(&result(t), &SALT, who, &TaskRef { job, index: t })))
		.collect();
	Pallet::<T>::commit(
		RawOrigin::Signed(who.clone()).into(),
		job,
		BoundedVec::truncate_from(commitments),
	)
	.expect("leased tasks commit; qed");
}

/// A fresh replica of one task: `who` claims it (the next task it may take must be `t`) and
/// commits its result.
fn claim_and_commit_one<T: Config>(who: &T::AccountId, job: JobId, t: TaskIndex) {
	claim_as::<T>(who, job, 1);
	let hash = commitment(&result(t), &SALT, who, &TaskRef { job, index: t });
	Pallet::<T>::commit(
		RawOrigin::Signed(who.clone()).into(),
		job,
		BoundedVec::truncate_from(alloc::vec![(t, hash)]),
	)
	.expect("the task claimed commits; qed");
}

fn reveal_one<T: Config>(who: &T::AccountId, job: JobId, t: TaskIndex) {
	Pallet::<T>::reveal(
		RawOrigin::Signed(who.clone()).into(),
		job,
		BoundedVec::truncate_from(alloc::vec![(t, result(t), SALT)]),
	)
	.expect("a matching reveal; qed");
}

fn reveals<T: Config>(n: u32) -> BoundedVec<(TaskIndex, TaskResult, Hash), T::MaxBatch> {
	BoundedVec::truncate_from((0..n).map(|t| (t, result(t), SALT)).collect())
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn post_job() {
		let who = poster::<T>(0);
		let spec = spec::<T>(T::MaxTasks::get(), T::MaxReplication::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(who), spec);
		assert!(Jobs::<T>::contains_key(0));
	}

	/// The second replica of `n` tasks: every task comes from the requeue list.
	#[benchmark]
	fn claim(n: Linear<1, { T::MaxBatch::get() }>) {
		let job = posted::<T>(n, T::MaxReplication::get());
		claim_as::<T>(&worker::<T>(0), job, n);
		let second = worker::<T>(1);
		#[extrinsic_call]
		_(RawOrigin::Signed(second.clone()), job, n);
		assert!(
			(0..n).all(|t| Tasks::<T>::get(job, t).is_some_and(|task| task.replicas.len() == 2))
		);
	}

	#[benchmark]
	fn renew(n: Linear<1, { T::MaxBatch::get() }>) {
		let job = posted::<T>(n, 1);
		let who = worker::<T>(0);
		claim_as::<T>(&who, job, n);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job, tasks::<T>(n));
	}

	#[benchmark]
	fn abandon(n: Linear<1, { T::MaxBatch::get() }>) {
		let job = posted::<T>(n, 1);
		let who = worker::<T>(0);
		claim_as::<T>(&who, job, n);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job, tasks::<T>(n));
		assert!(Tasks::<T>::get(job, 0).is_some_and(|task| task.replicas.is_empty()));
	}

	#[benchmark]
	fn commit(n: Linear<1, { T::MaxBatch::get() }>) {
		let job = posted::<T>(n, 1);
		let who = worker::<T>(0);
		claim_as::<T>(&who, job, n);
		let commitments = BoundedVec::truncate_from(
			(0..n)
				.map(|t| (t, commitment(&result(t), &SALT, &who, &TaskRef { job, index: t })))
				.collect(),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job, commitments);
		assert!(matches!(Tasks::<T>::get(job, 0).map(|t| t.phase), Some(Phase::Revealing(_))));
	}

	/// The last of `MaxReplication` replicas reveals `n` tasks: each settles and pays every
	/// replica. Each task's other replicas are workers of their own, the worst case: every
	/// payment touches a record and an account nothing read before.
	#[benchmark]
	fn reveal(n: Linear<1, { T::MaxBatch::get() }>) {
		let others = T::MaxReplication::get() as u32 - 1;
		let job = posted::<T>(n, T::MaxReplication::get());
		let last = worker::<T>(0);
		claim_as::<T>(&last, job, n);
		let mut replicas = Vec::new();
		for t in 0..n {
			for k in 0..others {
				let who = worker::<T>(1 + t * others + k);
				claim_and_commit_one::<T>(&who, job, t);
				replicas.push((who, t));
			}
		}
		commit_all::<T>(&last, job, n);
		for (who, t) in replicas {
			reveal_one::<T>(&who, job, t);
		}
		#[extrinsic_call]
		_(RawOrigin::Signed(last), job, reveals::<T>(n));
		assert!(
			(0..n).all(|t| Tasks::<T>::get(job, t).is_some_and(|task| task.phase == Phase::Done))
		);
	}

	#[benchmark]
	fn cancel() {
		let job = posted::<T>(T::MaxTasks::get(), T::MaxReplication::get());
		let who = Jobs::<T>::get(job).expect("posted; qed").poster;
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job);
		assert_eq!(Jobs::<T>::get(job).map(|j| j.status), Some(JobStatus::Cancelled));
	}

	/// `n` audit windows close in one block, each on the single result of a one-task job of
	/// its own, by a worker of its own: each settles, pays its worker, credits its record, ends
	/// its job and refunds its poster. Distinct jobs, posters and workers are the worst case:
	/// with one of each, their records and accounts would be read once, then come from the
	/// overlay.
	#[benchmark]
	fn on_initialize(n: Linear<0, { T::MaxBatch::get() }>) {
		let now = frame_system::Pallet::<T>::block_number();
		let jobs: Vec<JobId> = (0..n)
			.map(|i| {
				let job = posted_by::<T>(i, 1, 1);
				let who = worker::<T>(i);
				claim_and_commit_one::<T>(&who, job, 0);
				reveal_one::<T>(&who, job, 0);
				job
			})
			.collect();
		assert!(jobs.iter().all(|&job| {
			Tasks::<T>::get(job, 0).is_some_and(|task| matches!(task.phase, Phase::Provisional(_)))
		}));
		let at = now.saturating_add(T::AuditWindow::get()).saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(at);
		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}
		assert!(jobs
			.iter()
			.all(|&job| Tasks::<T>::get(job, 0).is_some_and(|task| task.phase == Phase::Done)));
	}

	/// `n` reveal windows close in one block with nothing revealed, each on a one-task job of
	/// its own whose `MaxReplication` replicas are workers of their own: every replica is
	/// recorded invalid and let go, and each task opens again. The other timeouts cost less
	/// than this or the audit window's case; the hook charges each timeout the dearer of the
	/// two.
	#[benchmark]
	fn on_initialize_unrevealed(n: Linear<0, { T::MaxBatch::get() }>) {
		let replicas = T::MaxReplication::get() as u32;
		let now = frame_system::Pallet::<T>::block_number();
		let jobs: Vec<JobId> = (0..n)
			.map(|i| {
				let job = posted_by::<T>(i, 1, T::MaxReplication::get());
				for k in 0..replicas {
					claim_and_commit_one::<T>(&worker::<T>(i * replicas + k), job, 0);
				}
				job
			})
			.collect();
		assert!(jobs.iter().all(|&job| {
			Tasks::<T>::get(job, 0).is_some_and(|task| matches!(task.phase, Phase::Revealing(_)))
		}));
		let at = now.saturating_add(T::RevealWindow::get()).saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(at);
		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}
		assert!(jobs.iter().all(|&job| {
			Tasks::<T>::get(job, 0)
				.is_some_and(|task| task.phase == Phase::Open && task.replicas.is_empty())
		}));
	}

	/// An ended job of `n` tasks whose retention is over is removed whole. Each task still has
	/// `MaxReplication` leased replicas, of workers of their own, which pruning lets go: the
	/// worst case (a settled task's replicas were let go when it settled), which leases that
	/// end before the retention does never leave.
	#[benchmark]
	fn on_idle(n: Linear<0, { T::MaxBatch::get() }>) {
		let replicas = T::MaxReplication::get() as u32;
		let job = posted::<T>(n.max(1), T::MaxReplication::get());
		for t in 0..n {
			for k in 0..replicas {
				claim_as::<T>(&worker::<T>(t * replicas + k), job, 1);
			}
		}
		let poster = Jobs::<T>::get(job).expect("posted; qed").poster;
		Pallet::<T>::cancel(RawOrigin::Signed(poster).into(), job)
			.expect("the poster cancels; qed");
		assert!(Jobs::<T>::get(job).is_some_and(|info| info.ended.is_some()));
		Prunable::<T>::insert(job, ());
		let now = frame_system::Pallet::<T>::block_number();
		#[block]
		{
			Pallet::<T>::on_idle(now, Weight::MAX);
		}
		assert!(!Jobs::<T>::contains_key(job));
		assert!(Tasks::<T>::iter_prefix(job).next().is_none());
		assert!(!Prunable::<T>::contains_key(job));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
