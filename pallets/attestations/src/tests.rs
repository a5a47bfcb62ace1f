use crate::{mock::*, Active, Attestation, Checkers, Error, Event, HoldReason, OpenReviews};
use ccgsc_primitives::{PlatformClass, TaskResult};
use pallet_jobs::{Phase, ReviewKind};
use polkadot_sdk::frame_support::{
	assert_noop, assert_ok,
	traits::fungible::{Inspect, InspectHold},
};

fn stake_of(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::CheckerStake.into(), &who)
}

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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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
	new_test_ext().execute_with(|| {
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

#[test]
fn leaving_is_refused_while_a_review_is_open() {
	new_test_ext().execute_with(|| {
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
	});
}

#[test]
fn commits_close_with_the_commit_window() {
	new_test_ext().execute_with(|| {
		checker(9);
		let job = disputed_job();
		run_to_block(1 + COMMIT_WINDOW + 1);
		assert_noop!(
			Attestations::attest(RuntimeOrigin::signed(9), job, 0, [0; 32]),
			Error::<Test>::CommitClosed
		);
	});
}
