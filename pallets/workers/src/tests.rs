use crate::{mock::*, Error, Event, HoldReason, Reputation, WorkerRegistry};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
	},
	sp_runtime::Perbill,
};

fn held(who: u64) -> u64 {
	Balances::balance_on_hold(&HoldReason::WorkerStake.into(), &who)
}

fn register(who: u64, stake: u64) {
	assert_ok!(Workers::register(RuntimeOrigin::signed(who), stake, profile()));
}

#[test]
fn register_holds_the_stake() {
	build_and_execute(|| {
		register(1, 300);
		assert_eq!(held(1), 300);
		assert_eq!(Balances::balance(&1), 700);
		let worker = crate::Workers::<Test>::get(1).unwrap();
		assert_eq!((worker.stake, worker.reputation), (300, Reputation::default()));
		assert!(<Workers as WorkerRegistry<_, _>>::is_active(&1));
		System::assert_last_event(
			Event::WorkerRegistered { who: 1, stake: 300, profile: profile() }.into(),
		);
	});
}

#[test]
fn register_refuses_bad_input_and_changes_nothing() {
	build_and_execute(|| {
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 99, profile()),
			Error::<Test>::StakeTooLow
		);
		let mut bad = profile();
		bad.score = 0;
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 100, bad),
			Error::<Test>::InvalidProfile
		);
		let mut bad = profile();
		bad.peer_id = Default::default();
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 100, bad),
			Error::<Test>::InvalidProfile
		);
		let mut bad = profile();
		bad.cores = 0;
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 100, bad),
			Error::<Test>::InvalidProfile
		);
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 5000, profile()),
			Error::<Test>::InsufficientBalance
		);
		register(1, 100);
		assert_noop!(
			Workers::register(RuntimeOrigin::signed(1), 100, profile()),
			Error::<Test>::AlreadyRegistered
		);
	});
}

#[test]
fn add_stake_and_update_profile() {
	build_and_execute(|| {
		assert_noop!(
			Workers::add_stake(RuntimeOrigin::signed(1), 10),
			Error::<Test>::NotRegistered
		);
		register(1, 100);
		assert_ok!(Workers::add_stake(RuntimeOrigin::signed(1), 50));
		assert_eq!((held(1), crate::Workers::<Test>::get(1).unwrap().stake), (150, 150));
		assert_noop!(Workers::add_stake(RuntimeOrigin::signed(1), 0), Error::<Test>::InvalidAmount);
		assert_noop!(
			Workers::add_stake(RuntimeOrigin::signed(1), 10_000),
			Error::<Test>::InsufficientBalance
		);

		let mut new = profile();
		new.cores = 16;
		assert_ok!(Workers::update_profile(RuntimeOrigin::signed(1), new.clone()));
		assert_eq!(crate::Workers::<Test>::get(1).unwrap().profile.cores, 16);
		new.memory_mib = 0;
		assert_noop!(
			Workers::update_profile(RuntimeOrigin::signed(1), new.clone()),
			Error::<Test>::InvalidProfile
		);
		assert_noop!(
			Workers::update_profile(RuntimeOrigin::signed(2), profile()),
			Error::<Test>::NotRegistered
		);
	});
}

#[test]
fn unbond_then_withdraw_after_the_period() {
	build_and_execute(|| {
		register(1, 300);
		assert_noop!(Workers::withdraw(RuntimeOrigin::signed(1)), Error::<Test>::NothingUnbonding);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(1), 250), Error::<Test>::StakeTooLow);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(1), 301), Error::<Test>::InvalidAmount);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(1), 0), Error::<Test>::InvalidAmount);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(1), 200));
		assert_eq!(<Workers as WorkerRegistry<_, _>>::stake(&1), 100);
		assert_noop!(Workers::withdraw(RuntimeOrigin::signed(1)), Error::<Test>::StillUnbonding);
		run_to_block(1 + UNBONDING);
		assert_ok!(Workers::withdraw(RuntimeOrigin::signed(1)));
		assert_eq!((held(1), Balances::balance(&1)), (100, 900));
		// Unbonding everything deregisters.
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(1), 100));
		assert!(!<Workers as WorkerRegistry<_, _>>::is_active(&1));
		run_to_block(1 + 2 * UNBONDING);
		assert_ok!(Workers::withdraw(RuntimeOrigin::signed(1)));
		assert!(crate::Workers::<Test>::get(1).is_none());
		assert_eq!((held(1), Balances::balance(&1)), (0, 1000));
		System::assert_last_event(
			Event::Withdrawn { who: 1, amount: 100, deregistered: true }.into(),
		);
	});
}

#[test]
fn unbond_is_refused_while_holding_a_lease_or_an_unaudited_result() {
	build_and_execute(|| {
		register(1, 300);
		<Workers as WorkerRegistry<_, _>>::note_lease(&1, true);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(1), 300), Error::<Test>::StakeInUse);
		<Workers as WorkerRegistry<_, _>>::note_lease(&1, false);
		<Workers as WorkerRegistry<_, _>>::note_unaudited(&1, true);
		assert_noop!(Workers::unbond(RuntimeOrigin::signed(1), 300), Error::<Test>::StakeInUse);
		<Workers as WorkerRegistry<_, _>>::note_unaudited(&1, false);
		assert_ok!(Workers::unbond(RuntimeOrigin::signed(1), 300));
	});
}

#[test]
fn reputation_counts_consecutive_valid_results() {
	build_and_execute(|| {
		register(1, 100);
		type R = Workers;
		for _ in 0..3 {
			<R as WorkerRegistry<_, _>>::record_valid(&1);
		}
		assert!(<R as WorkerRegistry<_, _>>::is_trusted(&1));
		<R as WorkerRegistry<_, _>>::record_invalid(&1);
		assert!(!<R as WorkerRegistry<_, _>>::is_trusted(&1));
		assert_eq!(
			crate::Workers::<Test>::get(1).unwrap().reputation,
			Reputation { consecutive_valid: 0, valid: 3, invalid: 1 }
		);
	});
}

#[test]
fn slashing_moves_stake_to_the_beneficiaries_and_conserves_issuance() {
	build_and_execute(|| {
		register(1, 300);
		let issuance = Balances::total_issuance();
		let taken = <Workers as WorkerRegistry<_, _>>::slash(
			&1,
			Perbill::from_percent(50),
			&[(2, Perbill::from_rational(1u32, 3)), (3, Perbill::from_rational(2u32, 3))],
		);
		assert_eq!(taken, 150);
		assert_eq!(held(1), 150);
		assert_eq!(Balances::balance(&2) + Balances::balance(&3), 2000 + 150);
		// Shares round down (49 and 99); the remainder goes to the first beneficiary.
		assert_eq!(Balances::balance(&2), 1000 + 51);
		assert_eq!(crate::Workers::<Test>::get(1).unwrap().stake, 150);
		assert_eq!(crate::Workers::<Test>::get(1).unwrap().slashed, 150);
		assert_eq!(Balances::total_issuance(), issuance);
	});
}
