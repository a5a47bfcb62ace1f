//! Benchmarks for `pallet_attestations`.

use super::*;
use ccgsc_primitives::{ChunkTree, ContentId, Limits, PlatformSet};
use pallet_jobs::{JobSpec, WorkerRegistryOf};
use pallet_workers::WorkerRegistry;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::{fungible::Mutate, Hooks},
	frame_system::RawOrigin,
};

const SALT: Hash = [9u8; 32];

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

fn funded<T: Config>(name: &'static str, i: u32) -> T::AccountId {
	let who: T::AccountId = account(name, i, 0);
	CurrencyOf::<T>::set_balance(&who, T::MinCheckerStake::get().saturating_mul(1000u32.into()));
	who
}

fn checker<T: Config>(i: u32) -> T::AccountId {
	let who = funded::<T>("checker", i);
	Pallet::<T>::register_checker(
		RawOrigin::Signed(who.clone()).into(),
		T::MinCheckerStake::get(),
		PlatformClass::X86_64Native,
		1,
	)
	.expect("a funded checker registers; qed");
	who
}

/// The honest output: exactly one full chunk, so the proof hashes the most data.
fn honest_output(task: TaskIndex) -> Vec<u8> {
	let mut output = alloc::vec![0u8; CHUNK_SIZE];
	output[..4].copy_from_slice(&task.to_le_bytes());
	output
}

/// Posts a job whose task 0 two workers dispute, so a review opens.
fn dispute<T: Config>(seed: u32) -> JobId {
	let poster = funded::<T>("poster", seed);
	let job = pallet_jobs::NextJobId::<T>::get();
	let inputs = [ContentId::of(b"input")];
	pallet_jobs::Pallet::<T>::post_job(
		RawOrigin::Signed(poster).into(),
		JobSpec {
			module: ContentId::of(b"module"),
			inputs_root: ccgsc_primitives::inputs_root(&inputs),
			task_count: 1,
			args: Default::default(),
			reward_per_task: <T as pallet_jobs::Config>::MaxRewardPerTask::get(),
			replication: 2,
			limits: Limits { work: 1_000_000_000, memory: 64 << 20, output: 1 << 20 },
			platforms: PlatformSet::of(&[PlatformClass::X86_64Native]),
			executor_version: 1,
			deadline: frame_system::Pallet::<T>::block_number().saturating_add(100_000u32.into()),
		},
	)
	.expect("a funded poster posts; qed");
	let outputs = [honest_output(0), alloc::vec![1u8; 10]];
	let workers: Vec<T::AccountId> = (0..2u32)
		.map(|i| {
			let who: T::AccountId = account("worker", seed * 2 + i, 0);
			WorkerRegistryOf::<T>::register_for_benchmarks(&who, profile());
			who
		})
		.collect();
	for w in &workers {
		pallet_jobs::Pallet::<T>::claim(RawOrigin::Signed(w.clone()).into(), job, 1)
			.expect("claimable; qed");
	}
	for (w, out) in workers.iter().zip(&outputs) {
		let hash = commitment(&TaskResult::success(out), &SALT, w, &TaskRef { job, index: 0 });
		pallet_jobs::Pallet::<T>::commit(
			RawOrigin::Signed(w.clone()).into(),
			job,
			BoundedVec::truncate_from(alloc::vec![(0, hash)]),
		)
		.expect("leased; qed");
	}
	for (w, out) in workers.iter().zip(&outputs) {
		pallet_jobs::Pallet::<T>::reveal(
			RawOrigin::Signed(w.clone()).into(),
			job,
			BoundedVec::truncate_from(alloc::vec![(0, TaskResult::success(out), SALT)]),
		)
		.expect("matching reveal; qed");
	}
	assert!(OpenReviews::<T>::contains_key(job, 0), "a review opened");
	job
}

/// Fills the checker registry: a review draws its checkers from the most candidates, and
/// successive reviews mostly draw different checkers, so their records are read afresh.
fn registry_full<T: Config>() {
	for i in 0..T::MaxCheckers::get() {
		checker::<T>(i);
	}
}

fn selected<T: Config>(job: JobId) -> Vec<T::AccountId> {
	OpenReviews::<T>::get(job, 0).expect("open; qed").checkers.into_iter().map(|(c, _)| c).collect()
}

fn attest_as<T: Config>(who: &T::AccountId, job: JobId) {
	let result = TaskResult::success(&honest_output(0));
	let hash = commitment(&result, &SALT, who, &TaskRef { job, index: 0 });
	Pallet::<T>::attest(RawOrigin::Signed(who.clone()).into(), job, 0, hash)
		.expect("selected; qed");
}

fn reveal_args<T: Config>(
	who: &T::AccountId,
	job: JobId,
) -> (TaskResult, BoundedVec<u8, ConstU32<{ CHUNK_SIZE as u32 }>>, ChunkProof) {
	let output = honest_output(0);
	let result = TaskResult::success(&output);
	let review = OpenReviews::<T>::get(job, 0).expect("open; qed");
	let hash = commitment(&result, &SALT, who, &TaskRef { job, index: 0 });
	let at = Pallet::<T>::challenge_index(&review.nonce, who, &hash, result.output_len);
	let proof = ChunkTree::new(&output).proof(at).expect("in range; qed");
	(result, BoundedVec::truncate_from(output), proof)
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_checker() {
		let who = funded::<T>("checker", 0);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			T::MinCheckerStake::get(),
			PlatformClass::X86_64Native,
			1,
		);
		assert!(Checkers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn leave() {
		for i in 1..T::MaxCheckers::get() {
			checker::<T>(i);
		}
		let who = checker::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Checkers::<T>::get(&who).is_some_and(|c| c.leaving.is_some()));
	}

	#[benchmark]
	fn withdraw() {
		let who = checker::<T>(0);
		Pallet::<T>::leave(RawOrigin::Signed(who.clone()).into()).expect("idle; qed");
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Checkers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn attest() {
		registry_full::<T>();
		let job = dispute::<T>(0);
		let who = selected::<T>(job)[0].clone();
		let hash = commitment(
			&TaskResult::success(&honest_output(0)),
			&SALT,
			&who,
			&TaskRef { job, index: 0 },
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), job, 0, hash);
	}

	/// The last selected checker reveals: the review concludes, fees are paid, the liar is
	/// slashed and the task settles.
	#[benchmark]
	fn reveal_attestation() {
		registry_full::<T>();
		let job = dispute::<T>(0);
		let chosen = selected::<T>(job);
		for c in &chosen {
			attest_as::<T>(c, job);
		}
		let (last, others) = chosen.split_last().expect("one at least; qed");
		for c in others {
			let (result, chunk, proof) = reveal_args::<T>(c, job);
			Pallet::<T>::reveal_attestation(
				RawOrigin::Signed(c.clone()).into(),
				job,
				0,
				result,
				SALT,
				chunk,
				proof,
			)
			.expect("valid reveal; qed");
		}
		let (result, chunk, proof) = reveal_args::<T>(last, job);
		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()), job, 0, result, SALT, chunk, proof);
		assert!(!OpenReviews::<T>::contains_key(job, 0));
	}

	/// A review opens with the registry full: every active checker's record is read.
	#[benchmark]
	fn open_review() {
		registry_full::<T>();
		// The disputed task, its review taken back: its replicas are read and left out.
		let job = dispute::<T>(0);
		OpenReviews::<T>::remove(job, 0);
		let platform = PlatformClass::X86_64Native;
		#[block]
		{
			assert!(<Pallet<T> as Reviews<T::AccountId>>::open(
				job,
				0,
				platform,
				ReviewKind::Dispute
			));
		}
		assert!(OpenReviews::<T>::contains_key(job, 0));
	}

	/// `n` reviews reach their deadline with nothing revealed.
	#[benchmark]
	fn on_initialize(n: Linear<0, 16>) {
		registry_full::<T>();
		let jobs: Vec<JobId> = (0..n).map(|i| dispute::<T>(i)).collect();
		let at = frame_system::Pallet::<T>::block_number()
			.saturating_add(T::ReviewCommitWindow::get())
			.saturating_add(T::ReviewRevealWindow::get())
			.saturating_add(One::one());
		frame_system::Pallet::<T>::set_block_number(at);
		#[block]
		{
			Pallet::<T>::on_initialize(at);
		}
		assert!(jobs.iter().all(|job| !OpenReviews::<T>::contains_key(job, 0)));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
