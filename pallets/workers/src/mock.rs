//! A test runtime with System, Balances and this pallet.

use crate as pallet_workers;
use ccgsc_primitives::PlatformClass;
use polkadot_sdk::{
	frame_support::{
		self, derive_impl,
		traits::{fungible::InspectHold, ConstU32},
	},
	frame_system, pallet_balances,
	sp_core::ConstU64,
	sp_io,
	sp_runtime::BuildStorage,
};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Workers: pallet_workers,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// Least stake in the tests.
pub const MIN_STAKE: u64 = 100;
/// Unbonding period in the tests.
pub const UNBONDING: u64 = 50;

impl crate::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinWorkerStake = ConstU64<MIN_STAKE>;
	type UnbondingPeriod = ConstU64<UNBONDING>;
	type TrustThreshold = ConstU32<3>;
	type WeightInfo = ();
}

/// A valid profile.
pub fn profile() -> crate::Profile {
	crate::Profile {
		cores: 4,
		memory_mib: 4096,
		score: 1_000_000_000,
		platform: PlatformClass::X86_64Native,
		executor_version: 1,
		peer_id: vec![1; 38].try_into().expect("38 <= 64"),
	}
}

/// Accounts 1..=5 with 1000 credits each.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage =
		frame_system::GenesisConfig::<Test>::default().build_storage().expect("valid genesis");
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=5).map(|who| (who, 1000)).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.expect("valid genesis");
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// The credits of the test runtime: accounts 1..=5 with 1000 each.
pub const ISSUANCE: u64 = 5000;

/// Runs `test` in a fresh test runtime ([`new_test_ext`]), then checks the registry's
/// invariants and that no credit was minted or burnt.
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		test();
		check_invariants();
		assert_eq!(Balances::total_issuance(), ISSUANCE, "credits are moved, never made or lost");
	});
}

/// Checks the registry's invariants (`do_try_state`), and what it cannot see from inside: an
/// account that is not registered holds no worker stake.
pub fn check_invariants() {
	Workers::do_try_state().expect("the registry's invariants hold");
	for who in (1..=5).filter(|who| !crate::Workers::<Test>::contains_key(who)) {
		assert_eq!(
			Balances::balance_on_hold(&crate::HoldReason::WorkerStake.into(), &who),
			0,
			"account {who} is not registered but holds worker stake"
		);
	}
}

/// Moves to block `n`, checking the registry's invariants there.
pub fn run_to_block(n: u64) {
	System::set_block_number(n);
	check_invariants();
}
