use crate::{mock::*, Active, Attestation, Checkers, Error, Event, OpenReviews};
use ccgsc_primitives::{commitment, PlatformClass, TaskRef, TaskResult};
use pallet_jobs::{Phase, ReviewKind};
use polkadot_sdk::frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};
use polkadot_sdk::sp_runtime::Perbill;

fn phase(job: u64, task: u32) -> Phase<u64> {
	pallet_jobs::Tasks::<Test>::get(job, task).expect("claimed").phase
}

/// Workers 2 (honest) and 3 (liar) replicate task 0 of a new job; returns the job.
fn disputed_job() -> u64 {
	let job = post(1, 2);
	for w in [2, 3] {
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
	}
	replica_commits(2, job, 0, &good_output(0));
	replica_commits(3, job, 0, &bad_output(0));
	replica_reveals(2, job, 0, &good_output(0));
	replica_reveals(3, job, 0, &bad_output(0));
	job
}

#[test]
fn register_leave_and_withdraw() {
	build_and_execute(|| {
		let o = |w| RuntimeOrigin::signed(w);
		assert_noop!(
			Attestations::register_checker(o(9), 499, PlatformClass::X86_64Native, 1),
			Error::<Test>::StakeTooLow
		);
		assert_noop!(
			Attestations::register_checker(o(9), 20_000, PlatformClass::X86_64Native, 1),
			Error::<Test>::InsufficientBalance
		);
		checker(9);
		assert_eq!(stake_of(9), 1000);
		assert_eq!(Active::<Test>::get().to_vec(), vec![9]);
		assert_noop!(
			Attestations::register_checker(o(9), 1000, PlatformClass::X86_64Native, 1),
			Error::<Test>::AlreadyRegistered
		);
		assert_noop!(Attestations::withdraw(o(9)), Error::<Test>::StillBonded);
		assert_noop!(Attestations::leave(o(8)), Error::<Test>::NotRegistered);
		assert_ok!(Attestations::leave(o(9)));
		assert!(Active::<Test>::get().is_empty());
		assert_noop!(Attestations::leave(o(9)), Error::<Test>::AlreadyLeaving);
		assert_noop!(Attestations::withdraw(o(9)), Error::<Test>::StillBonded);
		run_to_block(51);
		assert_ok!(Attestations::withdraw(o(9)));
		assert_eq!((stake_of(9), Balances::balance(&9)), (0, 10_000));
		assert!(Checkers::<Test>::get(9).is_none());
	});
}

#[test]
fn a_checker_settles_a_dispute_the_liar_is_slashed_and_the_honest_paid() {
	build_and_execute(|| {
		checker(9);
		let issuance = Balances::total_issuance();
		let job = disputed_job();
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));
		let review = OpenReviews::<Test>::get(job, 0).expect("review open");
		assert_eq!(review.checkers.to_vec(), vec![(9, Attestation::Pending)]);
		// A checker that is not selected cannot attest.
		assert_noop!(
			Attestations::attest(RuntimeOrigin::signed(10), job, 0, [0; 32]),
			Error::<Test>::NotSelected
		);

		checker_commits(9, job, 0, &good_output(0));
		checker_reveals(9, job, 0, &good_output(0));

		assert_eq!(phase(job, 0), Phase::Done);
		let accepted = pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result;
		assert_eq!(accepted, Some(TaskResult::success(&good_output(0))));
		// Liar: half of 1000 taken; a third each to poster, honest replica, checker.
		assert_eq!(pallet_workers::Workers::<Test>::get(3).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000 + REWARD + 166);
		assert_eq!(Balances::balance(&9), 9000 + FEE + 166);
		assert_eq!(Checkers::<Test>::get(9).unwrap().upheld, 1);
		assert_eq!(Balances::balance(&POSTER), 10_000 - REWARD - FEE + 168);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn reveals_must_match_the_commitment_and_prove_the_drawn_chunk() {
	build_and_execute(|| {
		checker(9);
		let job = disputed_job();
		let o = RuntimeOrigin::signed(9);
		let (result, salt, chunk, proof) = {
			// Before every selected checker has committed, reveals are not open.
			assert_noop!(
				Attestations::reveal_attestation(
					o.clone(),
					job,
					0,
					TaskResult::success(b"x"),
					[0; 32],
					Default::default(),
					ccgsc_primitives::ChunkTree::new(b"x").proof(0).unwrap()
				),
				Error::<Test>::RevealNotOpen
			);
			checker_commits(9, job, 0, &good_output(0));
			checker_reveal_args(9, job, 0, &good_output(0))
		};
		assert_noop!(Attestations::attest(o.clone(), job, 0, [1; 32]), Error::<Test>::WrongState);
		// Another salt.
		assert_noop!(
			Attestations::reveal_attestation(
				o.clone(),
				job,
				0,
				result,
				[0; 32],
				chunk.clone(),
				proof.clone()
			),
			Error::<Test>::CommitmentMismatch
		);
		// Another result than committed.
		let forged = TaskResult::success(&bad_output(0));
		assert_noop!(
			Attestations::reveal_attestation(
				o.clone(),
				job,
				0,
				forged,
				salt,
				chunk.clone(),
				proof.clone()
			),
			Error::<Test>::CommitmentMismatch
		);
		// A chunk that is not the output's.
		let wrong_chunk = bad_output(0).try_into().unwrap();
		assert_noop!(
			Attestations::reveal_attestation(
				o.clone(),
				job,
				0,
				result,
				salt,
				wrong_chunk,
				proof.clone()
			),
			Error::<Test>::InvalidChunkProof
		);
		assert_noop!(
			Attestations::reveal_attestation(
				o.clone(),
				job,
				7,
				result,
				salt,
				chunk.clone(),
				proof.clone()
			),
			Error::<Test>::NoReview
		);
		assert_ok!(Attestations::reveal_attestation(o, job, 0, result, salt, chunk, proof));
	});
}

#[test]
fn with_three_checkers_the_one_against_the_majority_is_slashed() {
	build_and_execute(|| {
		CheckersPerReview::set(3);
		for c in [9, 10, 11] {
			checker(c);
		}
		let issuance = Balances::total_issuance();
		let job = disputed_job();
		let review = OpenReviews::<Test>::get(job, 0).unwrap();
		assert_eq!(review.checkers.len(), 3);
		checker_commits(9, job, 0, &good_output(0));
		checker_commits(10, job, 0, &good_output(0));
		// Reveals wait for every commit (or the end of the commit window).
		let (r, s, c, p) = checker_reveal_args(9, job, 0, &good_output(0));
		assert_noop!(
			Attestations::reveal_attestation(RuntimeOrigin::signed(9), job, 0, r, s, c, p),
			Error::<Test>::RevealNotOpen
		);
		// Checker 11 sides with the liar without executing.
		checker_commits(11, job, 0, &bad_output(0));
		checker_reveals(9, job, 0, &good_output(0));
		checker_reveals(10, job, 0, &good_output(0));
		checker_reveals(11, job, 0, &bad_output(0));
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(stake_of(11), 500);
		assert_eq!(Checkers::<Test>::get(11).unwrap().slashed, 500);
		assert!(System::events()
			.iter()
			.any(|e| e.event == Event::CheckerSlashed { who: 11, amount: 500 }.into()));
		// From the checker slash 125 each, from the liar 83 each, plus the fee.
		assert_eq!(Balances::balance(&9), 9000 + FEE + 83 + 125);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_checker_that_does_not_reveal_is_slashed_when_the_window_closes() {
	build_and_execute(|| {
		CheckersPerReview::set(3);
		for c in [9, 10, 11] {
			checker(c);
		}
		let job = disputed_job();
		for c in [9, 10, 11] {
			checker_commits(c, job, 0, &good_output(0));
		}
		checker_reveals(9, job, 0, &good_output(0));
		checker_reveals(10, job, 0, &good_output(0));
		run_to_block(1 + COMMIT_WINDOW + REVEAL_WINDOW + 1);
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(stake_of(11), 500);
		assert_eq!(stake_of(9), 1000);
		assert_eq!(Checkers::<Test>::get(11).unwrap().open_reviews, 0);
	});
}

/// A lone checker that never answers leaves the dispute without a verdict: the task fails
/// unpaid and nobody's result is judged, but the silent checker loses its slash to the poster.
#[test]
fn a_lone_checker_that_never_reveals_is_slashed_though_there_is_no_verdict() {
	build_and_execute(|| {
		checker(9);
		let issuance = Balances::total_issuance();
		let job = disputed_job();
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));
		let poster_before = Balances::balance(&POSTER);
		run_to_block(1 + COMMIT_WINDOW + REVEAL_WINDOW + 1);
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result, None);
		assert_eq!(stake_of(9), 500);
		assert_eq!(Checkers::<Test>::get(9).unwrap().slashed, 500);
		assert_eq!(Checkers::<Test>::get(9).unwrap().open_reviews, 0);
		// Neither replica is judged without a verdict.
		assert_eq!(pallet_workers::Workers::<Test>::get(3).unwrap().stake, 1000);
		assert_eq!(Balances::balance(&2), 9000);
		// The poster gets the slash and, the job being over, its escrow back.
		assert_eq!(Balances::balance(&POSTER), poster_before + 500 + REWARD * 2 + FEE);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// A checker is drawn only while its stake is at least the minimum: one that has been slashed
/// below it has too little left to lose.
#[test]
fn a_checker_slashed_below_the_minimum_stake_is_no_longer_drawn() {
	build_and_execute(|| {
		checker(9);
		for stake_after in [500, 250] {
			let job = disputed_job();
			assert_eq!(OpenReviews::<Test>::get(job, 0).unwrap().checkers[0].0, 9);
			run_to_block(System::block_number() + COMMIT_WINDOW + REVEAL_WINDOW + 1);
			assert_eq!(phase(job, 0), Phase::Done);
			assert_eq!(stake_of(9), stake_after);
		}
		CheckersPerReview::set(2);
		checker(10);
		let job = disputed_job();
		let review = OpenReviews::<Test>::get(job, 0).unwrap();
		assert_eq!(review.checkers.to_vec(), vec![(10, Attestation::Pending)]);
	});
}

#[test]
fn checkers_are_never_replicas_of_the_task_they_judge() {
	build_and_execute(|| {
		// Worker 2 is also a checker; with no other checker, the dispute cannot be judged.
		checker(2);
		let job = disputed_job();
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result, None);
		assert!(OpenReviews::<Test>::get(job, 0).is_none());
	});
}

#[test]
fn an_audit_overturns_a_lying_single_result() {
	build_and_execute(|| {
		AuditRate::set(polkadot_sdk::sp_runtime::Perbill::one());
		checker(9);
		let issuance = Balances::total_issuance();
		let job = post(1, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		replica_commits(2, job, 0, &bad_output(0));
		replica_reveals(2, job, 0, &bad_output(0));
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Audit));
		checker_commits(9, job, 0, &good_output(0));
		checker_reveals(9, job, 0, &good_output(0));
		let task = pallet_jobs::Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(task.result, Some(TaskResult::success(&good_output(0))));
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000, "the liar is not paid");
		assert_eq!(Balances::balance(&9), 9000 + FEE + 166);
		assert_eq!(Balances::balance(&POSTER), 10_000 - FEE + 334);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// Nobody could get the input (the poster stopped serving it): both replicas and the checker
/// report it unavailable. That is no verdict: the task fails, nobody is paid or slashed, and
/// the poster gets back everything the task held.
#[test]
fn an_input_nobody_can_get_is_no_verdict_and_costs_the_poster_nothing() {
	build_and_execute(|| {
		checker(9);
		let job = post(1, 2);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
		}
		for w in [2, 3] {
			replica_commits_result(w, job, 0, unavailable());
		}
		for w in [2, 3] {
			replica_reveals_result(w, job, 0, unavailable());
		}
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));
		checker_commits_result(9, job, 0, unavailable());
		checker_reveals_result(9, job, 0, unavailable(), &[]);

		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result, None);
		assert!(System::events()
			.iter()
			.any(|e| e.event == Event::ReviewConcluded { job, task: 0, verdict: None }.into()));
		for w in [2, 3] {
			assert_eq!(pallet_workers::Workers::<Test>::get(w).unwrap().stake, 1000);
			assert_eq!(Balances::balance(&w), 9000, "worker {w} is not paid");
		}
		assert_eq!((stake_of(9), Balances::balance(&9)), (1000, 9000));
		assert_eq!(Checkers::<Test>::get(9).unwrap().upheld, 0);
		assert_eq!(Checkers::<Test>::get(9).unwrap().slashed, 0);
		assert_eq!(Balances::balance(&POSTER), 10_000, "the whole escrow returns");
	});
}

/// Of three checkers, two could not get the input: the one that executed decides. Before,
/// the two reports of an unreachable input made a majority, and the verdict slashed both
/// replicas and the checker that had the right answer.
#[test]
fn checkers_that_cannot_get_the_input_are_left_out_of_the_majority() {
	build_and_execute(|| {
		CheckersPerReview::set(3);
		for c in [9, 10, 11] {
			checker(c);
		}
		let job = disputed_job();
		checker_commits(9, job, 0, &good_output(0));
		for c in [10, 11] {
			checker_commits_result(c, job, 0, unavailable());
		}
		checker_reveals(9, job, 0, &good_output(0));
		for c in [10, 11] {
			checker_reveals_result(c, job, 0, unavailable(), &[]);
		}
		assert_eq!(phase(job, 0), Phase::Done);
		let accepted = pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result;
		assert_eq!(accepted, Some(TaskResult::success(&good_output(0))));
		// The liar loses half its stake: a third each to the poster, the honest replica and
		// the one checker that voted with the verdict.
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().stake, 1000);
		assert_eq!(pallet_workers::Workers::<Test>::get(3).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000 + REWARD + 166);
		assert_eq!(Balances::balance(&9), 9000 + FEE + 166);
		for c in [10, 11] {
			assert_eq!((stake_of(c), Balances::balance(&c)), (1000, 9000));
			assert_eq!(Checkers::<Test>::get(c).unwrap().slashed, 0);
		}
	});
}

/// An audit whose checker cannot get the input ends without a verdict: the single result is
/// not paid, but its worker, who may well have been right, is not slashed either.
#[test]
fn an_audit_the_checker_cannot_run_slashes_nobody() {
	build_and_execute(|| {
		AuditRate::set(Perbill::one());
		checker(9);
		let job = post(1, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		replica_commits(2, job, 0, &good_output(0));
		replica_reveals(2, job, 0, &good_output(0));
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Audit));
		checker_commits_result(9, job, 0, unavailable());
		checker_reveals_result(9, job, 0, unavailable(), &[]);
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(pallet_jobs::Tasks::<Test>::get(job, 0).unwrap().result, None);
		let worker = pallet_workers::Workers::<Test>::get(2).unwrap();
		assert_eq!((worker.stake, worker.unaudited, worker.leases), (1000, 0, 0));
		assert_eq!(Balances::balance(&2), 9000);
		assert_eq!((stake_of(9), Balances::balance(&9)), (1000, 9000));
		assert_eq!(Balances::balance(&POSTER), 10_000);
	});
}

#[test]
fn leaving_is_refused_while_a_review_is_open() {
	build_and_execute(|| {
		checker(9);
		let _job = disputed_job();
		assert_noop!(
			Attestations::leave(RuntimeOrigin::signed(9)),
			Error::<Test>::ReviewInProgress
		);
	});
}

#[test]
fn the_registry_is_bounded() {
	// Not `build_and_execute`: this test mints credits for more checkers, so it checks the
	// invariants itself.
	new_test_ext().execute_with(|| {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		for who in 100..116u64 {
			Balances::set_balance(&who, 10_000);
			checker(who);
		}
		Balances::set_balance(&200, 10_000);
		assert_noop!(
			Attestations::register_checker(
				RuntimeOrigin::signed(200),
				1000,
				PlatformClass::X86_64Native,
				1
			),
			Error::<Test>::TooManyCheckers
		);
		check_invariants();
	});
}

#[test]
fn commits_close_with_the_commit_window() {
	build_and_execute(|| {
		checker(9);
		let job = disputed_job();
		run_to_block(1 + COMMIT_WINDOW + 1);
		assert_noop!(
			Attestations::attest(RuntimeOrigin::signed(9), job, 0, [0; 32]),
			Error::<Test>::CommitClosed
		);
	});
}

/// Runs `call`, which may be refused; a refused call must change nothing, as `assert_noop!`
/// checks for a call a test expects to fail. Returns whether the call went through.
fn attempt(call: impl FnOnce() -> polkadot_sdk::sp_runtime::DispatchResult) -> bool {
	use polkadot_sdk::{sp_io::storage::root, sp_runtime::StateVersion};
	let before = root(StateVersion::V1);
	let done = call().is_ok();
	if !done {
		assert_eq!(root(StateVersion::V1), before, "a refused call changed the state");
	}
	done
}

/// A xorshift generator: each market run below is reproducible from its seed.
struct Rng(u64);

impl Rng {
	fn below(&mut self, n: u64) -> u64 {
		self.0 ^= self.0 << 13;
		self.0 ^= self.0 >> 7;
		self.0 ^= self.0 << 17;
		self.0 % n
	}

	fn percent(&mut self, p: u64) -> bool {
		self.below(100) < p
	}

	fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
		(!items.is_empty()).then(|| items[self.below(items.len() as u64) as usize])
	}
}

/// The replica states of the jobs pallet.
type ReplicaStateOf = pallet_jobs::ReplicaState;

/// One market run with real reviews: the poster posts, workers 2 to 4 claim, commit and
/// reveal (worker 4 often lies, and any of them may not reveal), checkers 9 to 11 register,
/// attest, reveal or stay silent (checker 11 often lies), leave and withdraw, for 300 random
/// steps; then blocks pass until every job has ended. The invariants of all three pallets
/// are checked after every step and every block. Returns the run's events.
fn market_run(seed: u64) -> Vec<RuntimeEvent> {
	let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
	CheckersPerReview::set(1 + rng.below(3) as u32);
	AuditRate::set(Perbill::from_percent(rng.below(3) as u32 * 50));
	let mut outputs = std::collections::HashMap::new();
	for _ in 0..300 {
		let worker = rng.pick(&[2u64, 3, 4]).unwrap();
		let who = rng.pick(&[9u64, 10, 11]).unwrap();
		let mine = |w: u64, state: fn(&ReplicaStateOf) -> bool, phase: fn(&Phase<u64>) -> bool| {
			pallet_jobs::Tasks::<Test>::iter()
				.filter(|(_, _, t)| phase(&t.phase))
				.filter(|(_, _, t)| t.replicas.iter().any(|r| r.worker == w && state(&r.state)))
				.map(|(job, index, _)| (job, index))
				.collect::<Vec<_>>()
		};
		let reviews = |state: fn(&Attestation) -> bool| {
			OpenReviews::<Test>::iter()
				.filter(|(_, _, r)| r.checkers.iter().any(|(c, a)| *c == who && state(a)))
				.map(|(job, index, _)| (job, index))
				.collect::<Vec<_>>()
		};
		// What `actor` commits to for task `index`: worker 4 and checker 11 lie `percent` % of
		// the time, the others 3 %.
		let output_of = |actor: u64, percent: u64, rng: &mut Rng, index: u32| {
			if rng.percent(if actor == 4 || actor == 11 { percent } else { 3 }) {
				bad_output(index)
			} else {
				good_output(index)
			}
		};
		match rng.below(100) {
			0..=4 => {
				post(1 + rng.below(4) as u32, 1 + rng.below(3) as u8);
			},
			5..=24 => {
				let jobs = pallet_jobs::NextJobId::<Test>::get();
				attempt(|| Jobs::claim(RuntimeOrigin::signed(worker), rng.below(jobs.max(1)), 2));
			},
			25..=39 => {
				let leased = mine(worker, |s| *s == ReplicaStateOf::Leased, |p| *p == Phase::Open);
				if let Some((job, index)) = rng.pick(&leased) {
					let output = output_of(worker, 40, &mut rng, index);
					replica_commits(worker, job, index, &output);
					outputs.insert((worker, job, index), output);
				}
			},
			40..=54 => {
				let open = mine(
					worker,
					|s| matches!(s, ReplicaStateOf::Committed(_)),
					|p| matches!(p, Phase::Revealing(_)),
				);
				if let Some((job, index)) = rng.pick(&open).filter(|_| rng.percent(90)) {
					replica_reveals(worker, job, index, &outputs[&(worker, job, index)]);
				}
			},
			55..=69 => {
				if let Some((job, index)) = rng.pick(&reviews(|a| *a == Attestation::Pending)) {
					if rng.percent(90) {
						let output = output_of(who, 30, &mut rng, index);
						let result = TaskResult::success(&output);
						let hash = commitment(&result, &salt(who), &who, &TaskRef { job, index });
						let origin = RuntimeOrigin::signed(who);
						if attempt(|| Attestations::attest(origin, job, index, hash)) {
							outputs.insert((who, job, index), output);
						}
					}
				}
			},
			70..=79 => {
				let committed = reviews(|a| matches!(a, Attestation::Committed(_)));
				if let Some((job, index)) = rng.pick(&committed).filter(|_| rng.percent(90)) {
					let (result, salt, chunk, proof) =
						checker_reveal_args(who, job, index, &outputs[&(who, job, index)]);
					let origin = RuntimeOrigin::signed(who);
					attempt(|| {
						Attestations::reveal_attestation(
							origin, job, index, result, salt, chunk, proof,
						)
					});
				}
			},
			80..=84 => {
				let origin = RuntimeOrigin::signed(who);
				let step = rng.below(3);
				attempt(|| match step {
					0 => {
						Attestations::register_checker(origin, 1000, PlatformClass::X86_64Native, 1)
					},
					1 => Attestations::leave(origin),
					_ => Attestations::withdraw(origin),
				});
			},
			_ => run_to_block(System::block_number() + 1 + rng.below(2)),
		}
		check_invariants();
	}
	// The jobs' deadline (block 1000 in the mock) ends every job; reviews conclude by then.
	run_to_block(1000 + COMMIT_WINDOW + REVEAL_WINDOW + 20);
	for (job, info) in pallet_jobs::Jobs::<Test>::iter() {
		assert!(info.ended.is_some(), "seed {seed}: job {job} has not ended");
	}
	assert_eq!(OpenReviews::<Test>::iter().count(), 0, "seed {seed}: a review is still open");
	assert_eq!(
		Balances::balance_on_hold(&pallet_jobs::HoldReason::Escrow.into(), &POSTER),
		0,
		"seed {seed}: the poster still holds escrow"
	);
	System::events().into_iter().map(|r| r.event).collect()
}

/// Whatever workers and checkers do, no credit is made or lost and no stake is stuck: thirty
/// reproducible random market runs with real reviews, with every pallet's invariants checked
/// after every step and block, every refused call leaving the state as it was, total issuance
/// unchanged, and in the end every job ended, no
/// review open and no escrow held. The runs must between them have slashed a lying worker
/// and a lying or silent checker, paid checkers' fees, and concluded reviews with and
/// without a verdict.
#[test]
fn credits_are_conserved_whatever_workers_and_checkers_do() {
	let mut seen = std::collections::BTreeSet::new();
	for seed in 1..=30 {
		build_and_execute(|| {
			for event in market_run(seed) {
				seen.insert(match event {
					RuntimeEvent::Jobs(pallet_jobs::Event::LiarSlashed { .. }) => "worker slashed",
					RuntimeEvent::Attestations(Event::CheckerSlashed { .. }) => "checker slashed",
					RuntimeEvent::Attestations(Event::ReviewConcluded {
						verdict: None, ..
					}) => "no verdict",
					RuntimeEvent::Attestations(Event::ReviewConcluded {
						verdict: Some(_), ..
					}) => "verdict",
					RuntimeEvent::Jobs(pallet_jobs::Event::Paid { to: 9..=11, .. }) => {
						"checker paid"
					},
					RuntimeEvent::Attestations(Event::CheckerWithdrawn { .. }) => {
						"checker withdrew"
					},
					_ => continue,
				});
			}
		});
	}
	assert_eq!(seen.len(), 6, "paths taken: {seen:?}");
}
