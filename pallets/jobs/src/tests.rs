use crate::{
	mock::*, weights::WeightInfo, Error, Event, JobStatus, Phase, Prunable, ReplicaState,
	ReviewKind, Tasks,
};
use ccgsc_primitives::{Outcome, PlatformClass, PlatformSet, TaskResult};
use pallet_workers::WorkerRegistry;
use polkadot_sdk::frame_support::{
	assert_noop, assert_ok,
	traits::{fungible::Inspect, Get, Hooks},
	weights::Weight,
	BoundedVec,
};

fn batch<T: core::fmt::Debug>(items: Vec<T>) -> BoundedVec<T, polkadot_sdk::sp_core::ConstU32<16>> {
	items.try_into().expect("small batch")
}

fn phase(job: u64, task: u32) -> Phase<u64> {
	Tasks::<Test>::get(job, task).expect("claimed").phase
}

fn trust(worker: u64) {
	for _ in 0..3 {
		<Workers as WorkerRegistry<_, _>>::record_valid(&worker);
	}
}

fn leases(worker: u64) -> u32 {
	pallet_workers::Workers::<Test>::get(worker).unwrap().leases
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|r| if let RuntimeEvent::Jobs(e) = r.event { Some(e) } else { None })
		.collect()
}

#[test]
fn post_job_holds_the_worst_case_escrow() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(4, 3);
		// 4 tasks × (3 replicas × 10 + 1 checker × 3)
		assert_eq!(escrow_held(POSTER), 4 * (3 * REWARD + FEE));
		let info = crate::Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.status, info.escrow, info.next_task), (JobStatus::Open, 132, 0));
		assert_eq!(Balances::total_issuance(), issuance);
		System::assert_last_event(
			Event::JobPosted { job, poster: POSTER, task_count: 4, escrow: 132 }.into(),
		);
	});
}

#[test]
fn post_job_refuses_bad_arguments_and_changes_nothing() {
	build_and_execute(|| {
		let o = || RuntimeOrigin::signed(POSTER);
		let mut s = spec(0, 1);
		assert_noop!(Jobs::post_job(o(), s.clone()), Error::<Test>::InvalidTaskCount);
		s = spec(1001, 1);
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::InvalidTaskCount);
		assert_noop!(Jobs::post_job(o(), spec(1, 6)), Error::<Test>::InvalidReplication);
		assert_noop!(Jobs::post_job(o(), spec(1, 0)), Error::<Test>::InvalidReplication);
		let mut s = spec(1, 1);
		s.reward_per_task = 0;
		assert_noop!(Jobs::post_job(o(), s.clone()), Error::<Test>::InvalidReward);
		s.reward_per_task = 101;
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::InvalidReward);
		let mut s = spec(1, 1);
		s.limits.work = 0;
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::InvalidLimits);
		let mut s = spec(1, 1);
		s.limits.output = (1 << 30) + 1;
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::InvalidLimits);
		let mut s = spec(1, 1);
		s.platforms = PlatformSet(0);
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::NoPlatforms);
		let mut s = spec(1, 1);
		s.deadline = 1;
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::DeadlineInPast);
		// 1000 tasks × 5 × 100 is far beyond the poster's 10_000.
		let mut s = spec(1000, 5);
		s.reward_per_task = 100;
		assert_noop!(Jobs::post_job(o(), s), Error::<Test>::EscrowUnavailable);
	});
}

#[test]
fn claim_takes_leases_sized_from_the_work_limit() {
	build_and_execute(|| {
		let job = post(3, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 2));
		assert_eq!(crate::Jobs::<Test>::get(job).unwrap().next_task, 2);
		let task = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(task.replicas[0].lease_until, 1 + LEASE);
		assert_eq!((task.needed, task.platform), (2, PlatformClass::X86_64Native));
		assert_eq!(leases(2), 2);
		// The second worker first gets the tasks that wait for a second replica.
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 3));
		let claimed: Vec<u32> = events()
			.into_iter()
			.filter_map(|e| match e {
				Event::TaskClaimed { worker: 3, task, .. } => Some(task),
				_ => None,
			})
			.collect();
		assert_eq!(claimed, vec![0, 1, 2]);
	});
}

#[test]
fn a_worker_never_holds_two_replicas_of_one_task() {
	build_and_execute(|| {
		let job = post(1, 3);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(2), job, 1), Error::<Test>::NoTaskAvailable);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(4), job, 1));
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(5), job, 1), Error::<Test>::NoTaskAvailable);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas.len(), 3);
	});
}

#[test]
fn claim_refuses_ineligible_workers_and_bad_arguments() {
	build_and_execute(|| {
		let job = post(2, 2);
		let o = |w| RuntimeOrigin::signed(w);
		assert_noop!(Jobs::claim(o(2), 99, 1), Error::<Test>::UnknownJob);
		assert_noop!(Jobs::claim(o(2), job, 0), Error::<Test>::InvalidBatch);
		assert_noop!(Jobs::claim(o(2), job, 17), Error::<Test>::InvalidBatch);
		assert_noop!(Jobs::claim(o(7), job, 1), Error::<Test>::NotAnActiveWorker);
		assert_ok!(Workers::register(o(7), 1000, profile(PlatformClass::Browser)));
		assert_noop!(Jobs::claim(o(7), job, 1), Error::<Test>::PlatformNotAccepted);
		let mut other_version = profile(PlatformClass::X86_64Native);
		other_version.executor_version = 2;
		assert_ok!(Workers::update_profile(o(7), other_version));
		assert_noop!(Jobs::claim(o(7), job, 1), Error::<Test>::ExecutorMismatch);
		let mut small = profile(PlatformClass::X86_64Native);
		small.memory_mib = 32;
		assert_ok!(Workers::update_profile(o(7), small));
		assert_noop!(Jobs::claim(o(7), job, 1), Error::<Test>::InsufficientMemory);
		assert_ok!(Jobs::cancel(o(POSTER), job));
		assert_noop!(Jobs::claim(o(2), job, 1), Error::<Test>::JobNotOpen);
	});
}

#[test]
fn replicas_of_a_task_share_one_platform_class() {
	build_and_execute(|| {
		let mut s = spec(1, 2);
		s.platforms = PlatformSet::of(&[PlatformClass::X86_64Native, PlatformClass::Aarch64Native]);
		assert_ok!(Jobs::post_job(RuntimeOrigin::signed(POSTER), s));
		assert_ok!(Workers::register(
			RuntimeOrigin::signed(7),
			1000,
			profile(PlatformClass::Aarch64Native)
		));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), 0, 1));
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(7), 0, 1), Error::<Test>::NoTaskAvailable);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), 0, 1));
	});
}

#[test]
fn an_expired_lease_returns_the_task_to_the_pool() {
	build_and_execute(|| {
		let job = post(1, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(3), job, 1), Error::<Test>::NoTaskAvailable);
		run_to_block(1 + LEASE);
		// Still running in the last block of its lease.
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas.len(), 1);
		run_to_block(2 + LEASE);
		assert!(Tasks::<Test>::get(job, 0).unwrap().replicas.is_empty());
		assert!(events().contains(&Event::LeaseExpired { job, task: 0, worker: 2 }));
		assert_eq!(leases(2), 0);
		// The vanished worker can no longer commit; another takes the task.
		assert_noop!(
			Jobs::commit(
				RuntimeOrigin::signed(2),
				job,
				batch(vec![(0, commit_hash(2, job, 0, &good(0)))])
			),
			Error::<Test>::NotAssigned
		);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas[0].worker, 3);
	});
}

/// A block holds `MaxTimeoutsPerBlock` timeouts; the rest wait for the next block, and none is
/// lost.
#[test]
fn timeouts_beyond_a_blocks_capacity_move_to_the_next_block() {
	build_and_execute(|| {
		let capacity = <<Test as crate::Config>::MaxTimeoutsPerBlock as Get<u32>>::get() as usize;
		let job = post(80, 1);
		for w in 2..=6 {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 16));
		}
		// 80 leases claimed in one block end together.
		let due = 2 + LEASE;
		assert_eq!(crate::Timeouts::<Test>::get(due).len(), capacity);
		assert_eq!(crate::Timeouts::<Test>::get(due + 1).len(), 80 - capacity);
		run_to_block(due);
		let expired =
			|| events().iter().filter(|e| matches!(e, Event::LeaseExpired { .. })).count();
		assert_eq!(expired(), capacity);
		run_to_block(due + 1);
		assert_eq!(expired(), 80);
		assert!((0..80).all(|t| Tasks::<Test>::get(job, t).unwrap().replicas.is_empty()));
	});
}

#[test]
fn renew_extends_a_lease_and_abandon_gives_it_back() {
	build_and_execute(|| {
		let job = post(2, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 2));
		run_to_block(5);
		assert_ok!(Jobs::renew(RuntimeOrigin::signed(2), job, batch(vec![0])));
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas[0].lease_until, 5 + LEASE);
		run_to_block(2 + LEASE);
		// Task 0 was renewed; task 1 expired.
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas.len(), 1);
		assert!(Tasks::<Test>::get(job, 1).unwrap().replicas.is_empty());

		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(3), job, batch(vec![0])),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Jobs::abandon(RuntimeOrigin::signed(3), job, batch(vec![0])),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(2), job, batch(vec![])),
			Error::<Test>::InvalidBatch
		);
		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(2), job, batch(vec![7])),
			Error::<Test>::UnknownTask
		);
		assert_ok!(Jobs::abandon(RuntimeOrigin::signed(2), job, batch(vec![0])));
		assert!(Tasks::<Test>::get(job, 0).unwrap().replicas.is_empty());
		assert_eq!(leases(2), 0);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 2));
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().replicas[0].worker, 3);
		commit(3, job, 0, good(0));
		assert_noop!(
			Jobs::abandon(RuntimeOrigin::signed(3), job, batch(vec![0])),
			Error::<Test>::NotLeased
		);
		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(3), job, batch(vec![0])),
			Error::<Test>::NotLeased
		);
	});
}

/// Two replicas agree: both paid, reputation up, escrow refunded, issuance unchanged.
#[test]
fn agreeing_replicas_are_paid_and_the_rest_is_refunded() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		commit(2, job, 0, good(0));
		// Reveals wait until every replica has committed.
		assert_noop!(
			Jobs::reveal(RuntimeOrigin::signed(2), job, batch(vec![(0, good(0), salt(2))])),
			Error::<Test>::NotRevealing
		);
		commit(3, job, 0, good(0));
		assert!(matches!(phase(job, 0), Phase::Revealing(_)));
		reveal(2, job, 0, good(0));
		reveal(3, job, 0, good(0));
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(Balances::balance(&2), 10_000 - 1000 + REWARD);
		assert_eq!(Balances::balance(&3), 10_000 - 1000 + REWARD);
		assert_eq!(
			pallet_workers::Workers::<Test>::get(2).unwrap().reputation.consecutive_valid,
			1
		);
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!(Balances::balance(&POSTER), 10_000 - 2 * REWARD);
		let info = crate::Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.status, info.spent), (JobStatus::Done, 2 * REWARD));
		assert!(events().contains(&Event::TaskSettled {
			job,
			task: 0,
			result: Some(good(0)),
			agreeing: 2
		}));
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_reveal_that_does_not_match_its_commit_is_refused() {
	build_and_execute(|| {
		let job = post(1, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		commit(2, job, 0, good(0));
		let o = RuntimeOrigin::signed(2);
		// Another result, another salt, another task index.
		assert_noop!(
			Jobs::reveal(o.clone(), job, batch(vec![(0, bad(0), salt(2))])),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Jobs::reveal(o.clone(), job, batch(vec![(0, good(0), salt(3))])),
			Error::<Test>::CommitmentMismatch
		);
		assert_noop!(
			Jobs::reveal(RuntimeOrigin::signed(3), job, batch(vec![(0, good(0), salt(3))])),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Jobs::reveal(o.clone(), 99, batch(vec![(0, good(0), salt(2))])),
			Error::<Test>::UnknownJob
		);
		reveal(2, job, 0, good(0));
		assert_noop!(
			Jobs::reveal(o, job, batch(vec![(0, good(0), salt(2))])),
			Error::<Test>::NotRevealing
		);
	});
}

#[test]
fn copying_a_revealed_result_is_refused() {
	build_and_execute(|| {
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		// Worker 3 copies worker 2's commitment hash.
		commit(2, job, 0, good(0));
		assert_ok!(Jobs::commit(
			RuntimeOrigin::signed(3),
			job,
			batch(vec![(0, commit_hash(2, job, 0, &good(0)))])
		));
		reveal(2, job, 0, good(0));
		// Having seen 2's result and salt, 3 cannot reveal them as its own.
		assert_noop!(
			Jobs::reveal(RuntimeOrigin::signed(3), job, batch(vec![(0, good(0), salt(2))])),
			Error::<Test>::CommitmentMismatch
		);
		// Nor commit anew once reveals are open.
		assert_noop!(
			Jobs::commit(
				RuntimeOrigin::signed(3),
				job,
				batch(vec![(0, commit_hash(3, job, 0, &good(0)))])
			),
			Error::<Test>::NotLeased
		);
	});
}

/// Replicas disagree; the checker's verdict slashes the liar and pays the honest.
#[test]
fn a_dispute_slashes_the_liar_and_pays_the_honest_and_the_checkers() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		commit(2, job, 0, good(0));
		commit(3, job, 0, bad(0));
		reveal(2, job, 0, good(0));
		reveal(3, job, 0, bad(0));
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));
		assert_eq!(reviews(), vec![(job, 0, ReviewKind::Dispute)]);

		Jobs::settle(job, 0, Some(good(0)), &[CHECKER]);
		// Half of 1000 stake: a third each to the poster, the honest replica, the checker.
		assert_eq!(pallet_workers::Workers::<Test>::get(3).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000 + REWARD + 166);
		assert_eq!(Balances::balance(&CHECKER), 10_000 + 166);
		assert_eq!(Balances::balance(&POSTER), 10_000 - REWARD + 168);
		let worker3 = pallet_workers::Workers::<Test>::get(3).unwrap();
		assert_eq!((worker3.reputation.invalid, worker3.slashed), (1, 500));
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().result, Some(good(0)));
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// `reveal` is charged as if every task opened a review; the weight of those that did not is
/// refunded, so a batch pays for the reviews it opened and no more.
#[test]
fn a_reveal_pays_for_the_reviews_it_opens_and_no_more() {
	use polkadot_sdk::frame_support::dispatch::GetDispatchInfo;
	build_and_execute(|| {
		let job = post(2, 2);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 2));
		}
		// Task 0 agreed, task 1 disputed.
		for (w, second) in [(2, good(1)), (3, bad(1))] {
			assert_ok!(Jobs::commit(
				RuntimeOrigin::signed(w),
				job,
				batch(vec![
					(0, commit_hash(w, job, 0, &good(0))),
					(1, commit_hash(w, job, 1, &second))
				])
			));
		}
		let reveals =
			|w: u64, second: TaskResult| batch(vec![(0, good(0), salt(w)), (1, second, salt(w))]);
		let reveal_2 = <() as crate::WeightInfo>::reveal(2);
		let call = crate::Call::<Test>::reveal { job, reveals: reveals(2, good(1)) };
		assert_eq!(call.get_dispatch_info().call_weight, reveal_2 + REVIEW_WEIGHT * 2);

		// The first replica to reveal settles nothing: no review could open.
		let first = Jobs::reveal(RuntimeOrigin::signed(2), job, reveals(2, good(1))).unwrap();
		assert_eq!(first.actual_weight, Some(reveal_2));
		// The second settles task 0 and takes task 1 to the checkers: one review.
		let second = Jobs::reveal(RuntimeOrigin::signed(3), job, reveals(3, bad(1))).unwrap();
		assert_eq!(second.actual_weight, Some(reveal_2 + REVIEW_WEIGHT));
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(phase(job, 1), Phase::Review(ReviewKind::Dispute));
		assert_eq!(reviews(), vec![(job, 1, ReviewKind::Dispute)]);
	});
}

#[test]
fn replicas_that_agree_on_a_failure_settle_it_as_failed_and_are_paid() {
	build_and_execute(|| {
		let job = post(1, 2);
		let limit = TaskResult::without_output(Outcome::WorkLimitExceeded);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
		}
		for w in [2, 3] {
			commit(w, job, 0, limit);
		}
		for w in [2, 3] {
			reveal(w, job, 0, limit);
		}
		let task = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!(
			(task.phase, task.result.map(|r| r.outcome)),
			(Phase::Done, Some(Outcome::WorkLimitExceeded))
		);
		assert_eq!(Balances::balance(&2), 9000 + REWARD);
	});
}

#[test]
fn a_dispute_with_no_checker_fails_the_task_unpaid() {
	build_and_execute(|| {
		CHECKERS_AVAILABLE.with(|c| *c.borrow_mut() = false);
		let issuance = Balances::total_issuance();
		let job = post(1, 2);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
		}
		commit(2, job, 0, good(0));
		commit(3, job, 0, bad(0));
		reveal(2, job, 0, good(0));
		reveal(3, job, 0, bad(0));
		let task = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((task.phase, task.result), (Phase::Done, None));
		assert_eq!(task.replicas.len(), 2, "it keeps its replicas: it failed, it was not let go");
		assert_eq!(Balances::balance(&POSTER), 10_000);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn a_replica_that_does_not_reveal_is_taken_to_the_checkers() {
	build_and_execute(|| {
		let job = post(1, 2);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
		}
		commit(2, job, 0, good(0));
		commit(3, job, 0, good(0));
		reveal(2, job, 0, good(0));
		run_to_block(2 + REVEAL_WINDOW + 1);
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));
		Jobs::settle(job, 0, Some(good(0)), &[CHECKER]);
		assert_eq!(pallet_workers::Workers::<Test>::get(3).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000 + REWARD + 166);
	});
}

/// Adaptive replication: only trusted workers run alone, the draw comes after the commit,
/// and about 1 − 1/CV of their results stand alone.
#[test]
fn adaptive_replication_draws_singles_only_for_trusted_workers_after_their_commit() {
	build_and_execute(|| {
		let job = post(40, 2);
		// Untrusted: every task needs two replicas.
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 4));
		assert!((0..4).all(|t| Tasks::<Test>::get(job, t).unwrap().needed == 2));

		trust(3);
		for _ in 0..7 {
			<Workers as WorkerRegistry<_, _>>::record_valid(&3);
		}
		// CV = 10: one in ten results needs replication.
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 16));
		let fresh: Vec<u32> = (4..16).collect();
		assert!(fresh.iter().all(|t| Tasks::<Test>::get(job, *t).unwrap().needed == 1));
		// Before the commit nothing is drawn.
		assert!(!events().iter().any(|e| matches!(e, Event::ReplicationDrawn { .. })));
		assert_ok!(Jobs::commit(
			RuntimeOrigin::signed(3),
			job,
			batch(fresh.iter().map(|t| (*t, commit_hash(3, job, *t, &good(*t)))).collect())
		));
		assert!(fresh.iter().all(|t| phase(job, *t) == Phase::Drawing));
		assert!(!events().iter().any(|e| matches!(e, Event::ReplicationDrawn { .. })));
		run_to_block(2);
		let draws: Vec<bool> = events()
			.into_iter()
			.filter_map(|e| {
				if let Event::ReplicationDrawn { single, .. } = e {
					Some(single)
				} else {
					None
				}
			})
			.collect();
		assert_eq!(draws.len(), fresh.len());
		let singles = draws.iter().filter(|s| **s).count();
		assert!(singles >= 8, "CV 10 leaves most results alone: {singles} of 12");
		for t in &fresh {
			match phase(job, *t) {
				Phase::Revealing(_) => assert_eq!(Tasks::<Test>::get(job, *t).unwrap().needed, 1),
				Phase::Open => assert_eq!(Tasks::<Test>::get(job, *t).unwrap().needed, 2),
				other => panic!("unexpected phase {other:?}"),
			}
		}
	});
}

fn single_result(worker: u64, job: u64, task: u32, result: TaskResult) {
	assert_ok!(Jobs::claim(RuntimeOrigin::signed(worker), job, 1));
	commit(worker, job, task, result);
	// With replication 1 there is no draw: the result stands alone, subject to audit.
	reveal(worker, job, task, result);
}

#[test]
fn a_single_result_is_held_through_its_audit_window_then_paid() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(1, 1);
		single_result(2, job, 0, good(0));
		assert_eq!(phase(job, 0), Phase::Provisional(1 + AUDIT_WINDOW));
		assert_eq!(Balances::balance(&2), 9000, "payout held during the window");
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().unaudited, 1);
		// Unbonding is refused while the result is unaudited.
		assert_noop!(
			Workers::unbond(RuntimeOrigin::signed(2), 1000),
			pallet_workers::Error::<Test>::StakeInUse
		);
		run_to_block(2 + AUDIT_WINDOW);
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!(Balances::balance(&2), 9000 + REWARD);
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().unaudited, 0);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(2), 1000));
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn an_audit_catches_a_lie_inside_the_window_and_the_held_payout_goes_to_the_honest_side() {
	build_and_execute(|| {
		AuditRate::set(polkadot_sdk::sp_runtime::Perbill::one());
		let issuance = Balances::total_issuance();
		let job = post(1, 1);
		single_result(2, job, 0, bad(0));
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Audit));
		assert_eq!(reviews(), vec![(job, 0, ReviewKind::Audit)]);
		Jobs::settle(job, 0, Some(good(0)), &[CHECKER]);
		// The liar is slashed and never paid; its payout stays with the poster.
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().stake, 500);
		assert_eq!(Balances::balance(&2), 9000);
		assert_eq!(Balances::balance(&POSTER), 10_000 + 334);
		assert_eq!(Balances::balance(&CHECKER), 10_000 + 166);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().result, Some(good(0)));
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().unaudited, 0);
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

/// The audit draw follows `AuditRate` exactly: over 10 000 single results at 10 %, the audits
/// opened lie within four standard deviations (± 120) of 1 000, so a draw biased by 1.8 points
/// or more fails it almost surely. (The end-to-end test of the rate on a real node draws too
/// few for that.)
#[test]
fn single_results_are_audited_at_the_configured_rate() {
	// Not `build_and_execute`: this test mints credits for the poster, so it checks the
	// invariants itself and the issuance from after the minting.
	new_test_ext().execute_with(|| {
		AuditRate::set(polkadot_sdk::sp_runtime::Perbill::from_percent(10));
		// The audited results stay under review here (the mock's checkers never conclude), so
		// their escrow stays held: the poster needs more than the other tests give it.
		<Balances as polkadot_sdk::frame_support::traits::fungible::Mutate<u64>>::set_balance(
			&POSTER, 1_000_000,
		);
		let issuance = Balances::total_issuance();
		let (jobs, tasks) = (50, 200);
		for _ in 0..jobs {
			let job = crate::NextJobId::<Test>::get();
			let cheap = crate::JobSpec { reward_per_task: 1, ..spec(tasks, 1) };
			assert_ok!(Jobs::post_job(RuntimeOrigin::signed(POSTER), cheap));
			for task in 0..tasks {
				single_result(2 + u64::from(task % 5), job, task, good(task));
				// A block per 20 results, as a busy chain would: each schedules a lease and an
				// audit timeout, and a block holds `MaxTimeoutsPerBlock` of them.
				if task % 20 == 19 {
					run_to_block(System::block_number() + 1);
				}
			}
		}
		let draws = f64::from(jobs * tasks);
		let audited = reviews().iter().filter(|(_, _, kind)| *kind == ReviewKind::Audit).count();
		let (expected, sigma) = (draws * 0.1, (draws * 0.1 * 0.9).sqrt());
		assert!(
			(audited as f64 - expected).abs() <= 4.0 * sigma,
			"{audited} of {draws} single results audited, {expected} ± {:.0} expected",
			4.0 * sigma
		);
		check_invariants();
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn input_unavailable_neither_pays_nor_slashes() {
	build_and_execute(|| {
		let job = post(1, 1);
		single_result(2, job, 0, TaskResult::without_output(Outcome::InputUnavailable));
		let task = Tasks::<Test>::get(job, 0).unwrap();
		assert_eq!((task.phase, task.replicas.len()), (Phase::Open, 0));
		assert_eq!(pallet_workers::Workers::<Test>::get(2).unwrap().stake, 1000);
		assert_eq!(Balances::balance(&2), 9000);
	});
}

/// An unreachable input is never a verdict, whoever hands it to `settle`: the replica that
/// computed a result is not slashed on it, and nobody is paid.
#[test]
fn an_unreachable_input_as_the_verdict_settles_as_none() {
	build_and_execute(|| {
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		let unavailable = TaskResult::without_output(Outcome::InputUnavailable);
		commit(2, job, 0, good(0));
		commit(3, job, 0, unavailable);
		reveal(2, job, 0, good(0));
		reveal(3, job, 0, unavailable);
		assert_eq!(phase(job, 0), Phase::Review(ReviewKind::Dispute));

		Jobs::settle(job, 0, Some(unavailable), &[CHECKER]);
		assert_eq!(Tasks::<Test>::get(job, 0).unwrap().result, None);
		for w in [2, 3] {
			assert_eq!(pallet_workers::Workers::<Test>::get(w).unwrap().stake, 1000);
			assert_eq!(Balances::balance(&w), 9000);
		}
		assert_eq!(Balances::balance(&POSTER), 10_000);
	});
}

#[test]
fn cancel_refunds_what_is_unspent() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(3, 1);
		single_result(2, job, 0, good(0));
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(2), job), Error::<Test>::NotPoster);
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(POSTER), 9), Error::<Test>::UnknownJob);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(POSTER), job));
		assert!(events().contains(&Event::JobClosed { job, status: JobStatus::Cancelled }));
		// Task 0 is still in its audit window: the escrow stays until it settles.
		assert!(escrow_held(POSTER) > 0);
		assert!(!events().iter().any(|e| matches!(e, Event::JobEnded { .. })));
		run_to_block(2 + AUDIT_WINDOW);
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!(Balances::balance(&POSTER), 10_000 - REWARD);
		assert_eq!(crate::Jobs::<Test>::get(job).unwrap().status, JobStatus::Cancelled);
		assert_noop!(Jobs::cancel(RuntimeOrigin::signed(POSTER), job), Error::<Test>::JobNotOpen);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}

#[test]
fn the_deadline_ends_the_job_and_refunds_the_escrow() {
	build_and_execute(|| {
		let mut s = spec(2, 2);
		s.deadline = 20;
		assert_ok!(Jobs::post_job(RuntimeOrigin::signed(POSTER), s));
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), 0, 1));
		run_to_block(20);
		assert_eq!(crate::Jobs::<Test>::get(0).unwrap().status, JobStatus::Expired);
		assert!(events().contains(&Event::JobClosed { job: 0, status: JobStatus::Expired }));
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!(Balances::balance(&POSTER), 10_000);
		assert!(events().contains(&Event::JobEnded {
			job: 0,
			status: JobStatus::Expired,
			refunded: 2 * (2 * REWARD + FEE)
		}));
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(3), 0, 1), Error::<Test>::JobNotOpen);
		// The worker whose lease outlived the job gets its lease count back when it ends.
		run_to_block(30);
		assert_eq!(leases(2), 0);
	});
}

#[test]
fn batches_settle_many_tasks_in_one_extrinsic() {
	build_and_execute(|| {
		let job = post(16, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 16));
		let tasks: Vec<u32> = (0..16).collect();
		assert_ok!(Jobs::commit(
			RuntimeOrigin::signed(2),
			job,
			batch(tasks.iter().map(|t| (*t, commit_hash(2, job, *t, &good(*t)))).collect())
		));
		assert_ok!(Jobs::reveal(
			RuntimeOrigin::signed(2),
			job,
			batch(tasks.iter().map(|t| (*t, good(*t), salt(2))).collect())
		));
		assert!(tasks.iter().all(|t| matches!(phase(job, *t), Phase::Provisional(_))));
		// A batch with one bad item changes nothing.
		let job2 = post(2, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job2, 2));
		assert_noop!(
			Jobs::commit(
				RuntimeOrigin::signed(3),
				job2,
				batch(vec![
					(0, commit_hash(3, job2, 0, &good(0))),
					(5, commit_hash(3, job2, 5, &good(5)))
				])
			),
			Error::<Test>::UnknownTask
		);
		assert_eq!(Tasks::<Test>::get(job2, 0).unwrap().replicas[0].state, ReplicaState::Leased);
	});
}

/// A task named twice in one `renew` or `abandon` fails the batch, like a twice-named task in
/// `commit` or `reveal`: otherwise one abandon would count two leases back, and a worker still
/// holding a lease could unbond the stake that answers for it.
#[test]
fn renew_and_abandon_refuse_a_task_named_twice() {
	build_and_execute(|| {
		let job = post(2, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 2));
		assert_eq!(leases(2), 2);
		assert_noop!(
			Jobs::abandon(RuntimeOrigin::signed(2), job, batch(vec![0, 0])),
			Error::<Test>::InvalidBatch
		);
		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(2), job, batch(vec![1, 1])),
			Error::<Test>::InvalidBatch
		);
		assert_ok!(Jobs::abandon(RuntimeOrigin::signed(2), job, batch(vec![0])));
		assert_eq!(leases(2), 1);
		assert_noop!(
			Workers::unbond(RuntimeOrigin::signed(2), 1),
			pallet_workers::Error::<Test>::StakeInUse
		);
	});
}

/// A committed result that waits for the other replicas may still be judged: its worker's
/// stake stays in use until the task settles.
#[test]
fn a_committed_replica_keeps_its_stake_in_use_until_the_task_settles() {
	build_and_execute(|| {
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		commit(2, job, 0, good(0));
		assert_eq!(leases(2), 1);
		assert_noop!(
			Workers::unbond(RuntimeOrigin::signed(2), 1),
			pallet_workers::Error::<Test>::StakeInUse
		);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(3), job, 1));
		commit(3, job, 0, good(0));
		reveal(2, job, 0, good(0));
		assert_eq!(leases(2), 1);
		reveal(3, job, 0, good(0));
		assert_eq!(phase(job, 0), Phase::Done);
		assert_eq!((leases(2), leases(3)), (0, 0));
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(2), 1));
	});
}

/// A task still waiting for replicas when its job is cancelled can never settle: within an
/// audit window its committed replica is let go, unpaid, and the worker may unbond.
#[test]
fn replicas_left_waiting_by_a_job_that_ended_are_let_go() {
	build_and_execute(|| {
		let job = post(1, 2);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		commit(2, job, 0, good(0));
		run_to_block(1 + AUDIT_WINDOW + 1);
		// While the job is open the task keeps waiting for its second replica.
		assert_eq!(leases(2), 1);
		assert_eq!(phase(job, 0), Phase::Open);
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(POSTER), job));
		assert_eq!(escrow_held(POSTER), 0);
		run_to_block(1 + 2 * AUDIT_WINDOW + 1);
		assert_eq!(leases(2), 0);
		// Done with neither replicas nor a result: how clients tell it from a settled task.
		assert_eq!(phase(job, 0), Phase::Done);
		let task = Tasks::<Test>::get(job, 0).unwrap();
		assert!(task.replicas.is_empty() && task.result.is_none());
		assert_eq!(Balances::balance(&2), 9000);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(2), 1));
	});
}

#[test]
fn a_lease_past_its_end_cannot_commit_or_renew_even_before_it_is_swept() {
	build_and_execute(|| {
		let job = post(1, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		// The block after the lease, before `on_initialize` has removed the replica.
		System::set_block_number(2 + LEASE);
		assert_noop!(
			Jobs::commit(
				RuntimeOrigin::signed(2),
				job,
				batch(vec![(0, commit_hash(2, job, 0, &good(0)))])
			),
			Error::<Test>::LeaseExpired
		);
		assert_noop!(
			Jobs::renew(RuntimeOrigin::signed(2), job, batch(vec![0])),
			Error::<Test>::LeaseExpired
		);
	});
}

#[test]
fn a_replica_reveals_once() {
	build_and_execute(|| {
		let job = post(1, 2);
		for w in [2, 3] {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
			commit(w, job, 0, good(0));
		}
		reveal(2, job, 0, good(0));
		assert_noop!(
			Jobs::reveal(RuntimeOrigin::signed(2), job, batch(vec![(0, good(0), salt(2))])),
			Error::<Test>::NotCommitted
		);
	});
}

/// Runs the jobs pallet's `on_idle` at the current block with `limit` to spare.
fn idle(limit: Weight) -> Weight {
	Jobs::on_idle(System::block_number(), limit)
}

fn job_tasks(job: u64) -> usize {
	Tasks::<Test>::iter_prefix(job).count()
}

#[test]
fn an_ended_job_is_removed_once_its_retention_is_over() {
	build_and_execute(|| {
		let issuance = Balances::total_issuance();
		let job = post(3, 2);
		for t in 0..3 {
			for w in [2, 3] {
				assert_ok!(Jobs::claim(RuntimeOrigin::signed(w), job, 1));
				commit(w, job, t, good(t));
			}
			reveal(2, job, t, good(t));
			reveal(3, job, t, good(t));
		}
		let info = crate::Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.status, info.ended), (JobStatus::Done, Some(1)));
		// The record stays through the retention, whatever the blocks have to spare.
		run_to_block(RETENTION);
		let db: polkadot_sdk::frame_support::weights::RuntimeDbWeight =
			<Test as polkadot_sdk::frame_system::Config>::DbWeight::get();
		assert_eq!(idle(Weight::MAX), db.reads(1), "it only looked for a job to remove");
		assert!(crate::Jobs::<Test>::contains_key(job));
		assert_eq!(job_tasks(job), 3);
		run_to_block(1 + RETENTION);
		assert!(Prunable::<Test>::contains_key(job));
		idle(Weight::MAX);
		assert!(!crate::Jobs::<Test>::contains_key(job));
		assert_eq!(job_tasks(job), 0);
		assert!(!Prunable::<Test>::contains_key(job));
		assert_eq!(events().last(), Some(&Event::JobPruned { job }));
		// Removing the record moves no credits: the workers were paid, the rest refunded.
		assert_eq!(Balances::balance(&2), 10_000 - 1000 + 3 * REWARD);
		assert_eq!(Balances::balance(&POSTER), 10_000 - 6 * REWARD);
		assert_eq!(escrow_held(POSTER), 0);
		assert_eq!((leases(2), leases(3)), (0, 0));
		assert_eq!(Balances::total_issuance(), issuance);
		// The job's deadline, still scheduled, finds nothing to do; its id is never reused.
		let deadline = spec(3, 2).deadline;
		run_to_block(deadline + 1);
		assert!(!crate::Jobs::<Test>::contains_key(job));
		assert_eq!(Balances::balance(&POSTER), 10_000 - 6 * REWARD);
		assert_eq!(crate::NextJobId::<Test>::get(), job + 1);
		assert_noop!(Jobs::claim(RuntimeOrigin::signed(2), job, 1), Error::<Test>::UnknownJob);
	});
}

#[test]
fn pruning_takes_what_the_block_spares_and_goes_on_in_the_next() {
	build_and_execute(|| {
		let job = post(5, 1);
		for t in 0..5 {
			assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
			commit(2, job, t, good(t));
		}
		for t in 0..5 {
			reveal(2, job, t, good(t));
		}
		run_to_block(2 + AUDIT_WINDOW);
		let ended = crate::Jobs::<Test>::get(job).unwrap().ended.expect("every task settled");
		run_to_block(ended + RETENTION);
		let two = <() as WeightInfo>::on_idle(2);
		// Too little to spare for one task: nothing is done, nothing is charged.
		assert_eq!(idle(<() as WeightInfo>::on_idle(1) - Weight::from_parts(1, 0)), Weight::zero());
		assert_eq!(job_tasks(job), 5);
		for left in [3, 1] {
			assert_eq!(idle(two), two);
			assert_eq!(job_tasks(job), left);
			assert!(crate::Jobs::<Test>::contains_key(job));
		}
		assert!(idle(two).all_lte(two));
		assert!(!crate::Jobs::<Test>::contains_key(job));
		assert!(events().contains(&Event::JobPruned { job }));
	});
}

#[test]
fn pruning_lets_go_of_a_replica_still_held() {
	build_and_execute(|| {
		let job = post(2, 1);
		assert_ok!(Jobs::claim(RuntimeOrigin::signed(2), job, 1));
		assert_ok!(Jobs::cancel(RuntimeOrigin::signed(POSTER), job));
		assert_eq!(leases(2), 1, "the lease runs on after the job ended");
		assert_eq!(Jobs::prune(job, 16), (1, true));
		assert_eq!(leases(2), 0);
		// Its lease timeout, still scheduled, finds nothing left to let go.
		run_to_block(1 + LEASE + 1);
		assert_eq!(leases(2), 0);
	});
}

#[test]
fn a_job_whose_escrow_is_spent_whole_still_ends() {
	build_and_execute(|| {
		AuditRate::set(polkadot_sdk::sp_runtime::Perbill::one());
		let job = post(1, 1);
		single_result(2, job, 0, good(0));
		// The audit upholds the result: the checker's fee, then the worker's reward, take the
		// whole escrow (as the attestations pallet pays them).
		Jobs::pay(job, 0, &CHECKER, FEE);
		Jobs::settle(job, 0, Some(good(0)), &[CHECKER]);
		let info = crate::Jobs::<Test>::get(job).unwrap();
		assert_eq!((info.escrow, info.spent), (0, REWARD + FEE));
		assert_eq!(info.ended, Some(1));
		assert!(events().contains(&Event::JobEnded { job, status: JobStatus::Done, refunded: 0 }));
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

/// The right result of a task in the market below: its output, or for every seventh task the
/// work limit exceeded, a failure every honest replica agrees on.
fn market_answer(task: u32) -> TaskResult {
	if task % 7 == 3 {
		TaskResult::without_output(Outcome::WorkLimitExceeded)
	} else {
		good(task)
	}
}

/// What one worker of the market below commits for a task: mostly the right result; worker 6
/// lies often, the others now and then; sometimes an input the worker could not get.
fn market_result(rng: &mut Rng, worker: u64, task: u32) -> TaskResult {
	let lie = if worker == 6 { 40 } else { 5 };
	match rng.below(100) {
		n if n < lie => bad(task + 1000 * worker as u32),
		n if n < lie + 5 => TaskResult::without_output(Outcome::InputUnavailable),
		_ => market_answer(task),
	}
}

/// The checkers of the market below: every open review gets the right result as its verdict
/// (now and then none: no checker answered), with the fee paid as the attestations pallet
/// pays it.
fn market_reviews(rng: &mut Rng) {
	let open: Vec<(u64, u32)> = Tasks::<Test>::iter()
		.filter(|(_, _, t)| matches!(t.phase, Phase::Review(_)))
		.map(|(job, task, _)| (job, task))
		.collect();
	for (job, task) in open {
		if rng.percent(50) {
			continue;
		}
		if rng.percent(90) {
			Jobs::pay(job, task, &CHECKER, FEE);
			Jobs::settle(job, task, Some(market_answer(task)), &[CHECKER]);
		} else {
			Jobs::settle(job, task, None, &[]);
		}
	}
}

/// One market run: three posters, five workers and a checker act at random for 400 steps
/// (posting, claiming, committing, revealing or not, renewing, abandoning, cancelling,
/// unbonding, reviews concluding, blocks passing), then the market runs until every job has
/// ended and its record is gone. The invariants are checked after every step and every block.
/// Returns the events of the jobs pallet.
fn market_run(seed: u64) -> Vec<Event<Test>> {
	let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
	AuditRate::set(polkadot_sdk::sp_runtime::Perbill::from_percent(rng.below(3) as u32 * 50));
	// In half the runs two workers start trusted, so single results are drawn from the start.
	if seed.is_multiple_of(2) {
		trust(2);
		trust(3);
	}
	let mut committed: std::collections::HashMap<(u64, u64, u32), TaskResult> = Default::default();
	let workers = [2u64, 3, 4, 5, 6];
	for _ in 0..400 {
		let jobs = crate::NextJobId::<Test>::get();
		let job = rng.below(jobs.max(1) + 1);
		let worker = rng.pick(&workers).unwrap();
		let signed = RuntimeOrigin::signed(worker);
		// The worker's replicas in a phase and state, of any job.
		let replicas = |phase: fn(&Phase<u64>) -> bool, state: fn(&ReplicaState) -> bool| {
			Tasks::<Test>::iter()
				.filter(|(_, _, t)| phase(&t.phase))
				.filter(|(_, _, t)| {
					t.replicas.iter().any(|r| r.worker == worker && state(&r.state))
				})
				.map(|(job, index, _)| (job, index))
				.collect::<Vec<_>>()
		};
		match rng.below(100) {
			0..=4 => {
				let poster = rng.pick(&[POSTER, 7, 8]).unwrap();
				let spec = crate::JobSpec {
					reward_per_task: 1 + rng.below(20),
					deadline: System::block_number() + 5 + rng.below(80),
					..spec(1 + rng.below(6) as u32, 1 + rng.below(3) as u8)
				};
				attempt(|| Jobs::post_job(RuntimeOrigin::signed(poster), spec));
			},
			5..=27 => {
				attempt(|| Jobs::claim(signed, job, 1 + rng.below(3) as u32));
			},
			28..=47 => {
				let leased = replicas(|p| *p == Phase::Open, |s| *s == ReplicaState::Leased);
				if let Some((job, index)) = rng.pick(&leased) {
					let result = market_result(&mut rng, worker, index);
					let hash = commit_hash(worker, job, index, &result);
					if attempt(|| Jobs::commit(signed, job, batch(vec![(index, hash)]))) {
						committed.insert((worker, job, index), result);
					}
				}
			},
			48..=67 => {
				let open = replicas(
					|p| matches!(p, Phase::Revealing(_)),
					|s| matches!(s, ReplicaState::Committed(_)),
				);
				// Now and then a worker does not reveal (it crashed): its window closes.
				if let Some((job, index)) = rng.pick(&open).filter(|_| rng.percent(90)) {
					let result = committed[&(worker, job, index)];
					let reveal = (index, result, salt(worker));
					assert_ok!(Jobs::reveal(signed, job, batch(vec![reveal])));
				}
			},
			68..=71 => {
				let leased = replicas(|p| *p == Phase::Open, |s| *s == ReplicaState::Leased);
				if let Some((job, index)) = rng.pick(&leased) {
					let renew = rng.percent(50);
					attempt(|| {
						if renew {
							Jobs::renew(signed, job, batch(vec![index]))
						} else {
							Jobs::abandon(signed, job, batch(vec![index]))
						}
					});
				}
			},
			72..=73 => {
				if let Some(poster) = Jobs::poster(job) {
					attempt(|| Jobs::cancel(RuntimeOrigin::signed(poster), job));
				}
			},
			74..=75 => {
				let amount = rng.percent(50).then(|| 1 + rng.below(1000));
				attempt(|| match amount {
					Some(amount) => Workers::unbond(signed, amount),
					None => Workers::withdraw(signed),
				});
			},
			76..=85 => market_reviews(&mut rng),
			_ => {
				run_to_block(System::block_number() + 1 + rng.below(3));
				Jobs::on_idle(System::block_number(), Weight::MAX);
			},
		}
		check_invariants();
	}
	// Everything ends: deadlines pass, reviews conclude, retention runs out.
	let end = System::block_number() + 60 + 2 * RETENTION;
	while System::block_number() < end || crate::Jobs::<Test>::iter().next().is_some() {
		assert!(System::block_number() < end + 100, "seed {seed}: a job never went away");
		run_to_block(System::block_number() + 1);
		market_reviews(&mut rng);
		Jobs::on_idle(System::block_number(), Weight::MAX);
	}
	for who in [POSTER, 7, 8] {
		assert_eq!(escrow_held(who), 0, "seed {seed}: poster {who} still holds escrow");
	}
	for worker in workers {
		assert_eq!(leases(worker), 0, "seed {seed}: worker {worker} still holds a lease");
	}
	events()
}

/// Whatever posters, workers and checkers do, and in whatever order, no credit is made or
/// lost: forty reproducible random market runs, with the invariants checked after every step
/// and block, every refused call leaving the state as it was, total issuance unchanged, and
/// once every job is gone, no escrow held and no lease left on any worker. The runs must between them have taken every path that moves
/// credits.
#[test]
fn credits_are_conserved_whatever_the_market_does() {
	let mut seen = std::collections::BTreeSet::new();
	for seed in 1..=40 {
		build_and_execute(|| {
			let events = market_run(seed);
			// Workers learn that a job stopped taking work from `JobClosed`: every job that
			// ended cancelled or expired closed first, once, with that status; none other did.
			let mut closed = std::collections::BTreeMap::new();
			for event in &events {
				match event {
					Event::JobClosed { job, status } => {
						assert!(closed.insert(*job, *status).is_none(), "seed {seed}: job {job}")
					},
					Event::JobEnded { job, status, .. } => assert_eq!(
						closed.remove(job),
						(*status != JobStatus::Done).then_some(*status),
						"seed {seed}: job {job}"
					),
					_ => {},
				}
			}
			assert!(closed.is_empty(), "seed {seed}: closed, never ended: {closed:?}");
			for event in events {
				seen.insert(match event {
					Event::Paid { .. } => "paid",
					Event::LiarSlashed { .. } => "liar slashed",
					Event::ProvisionallyAccepted { .. } => "provisionally accepted",
					Event::ReviewOpened { kind: ReviewKind::Audit, .. } => "audited",
					Event::ReviewOpened { kind: ReviewKind::Dispute, .. } => "disputed",
					Event::ReplicationDrawn { single: false, .. } => "second replica drawn",
					Event::LeaseExpired { .. } => "lease expired",
					Event::JobEnded { status: JobStatus::Cancelled, .. } => "cancelled",
					Event::JobEnded { status: JobStatus::Expired, .. } => "expired",
					Event::JobEnded { status: JobStatus::Done, .. } => "done",
					Event::JobPruned { .. } => "pruned",
					_ => continue,
				});
			}
		});
	}
	assert_eq!(seen.len(), 11, "paths taken: {seen:?}");
}
