//! Benchmarks for `pallet_workers`.

use super::*;
use polkadot_sdk::{
	frame_benchmarking::v2::*, frame_support::traits::fungible::Mutate, frame_system::RawOrigin,
};

fn funded<T: Config>(seed: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", seed, 0);
	let amount = T::MinWorkerStake::get().saturating_mul(100u32.into());
	T::Currency::set_balance(&who, amount);
	who
}

fn profile() -> Profile {
	Profile {
		cores: 8,
		memory_mib: 16_384,
		score: 1_000_000_000,
		platform: PlatformClass::X86_64Native,
		executor_version: 1,
		peer_id: alloc::vec![7u8; 64].try_into().expect("64 bytes fit; qed"),
	}
}

fn registered<T: Config>(seed: u32) -> T::AccountId {
	let who = funded::<T>(seed);
	Pallet::<T>::register(
		RawOrigin::Signed(who.clone()).into(),
		T::MinWorkerStake::get().saturating_mul(2u32.into()),
		profile(),
	)
	.expect("a funded account registers; qed");
	who
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register() {
		let who = funded::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinWorkerStake::get(), profile());
		assert!(Workers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn add_stake() {
		let who = registered::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinWorkerStake::get());
		assert_eq!(
			Workers::<T>::get(&who).map(|w| w.stake),
			Some(T::MinWorkerStake::get().saturating_mul(3u32.into()))
		);
	}

	#[benchmark]
	fn update_profile() {
		let who = registered::<T>(0);
		let mut new = profile();
		new.cores = 64;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), new);
		assert_eq!(Workers::<T>::get(&who).map(|w| w.profile.cores), Some(64));
	}

	#[benchmark]
	fn unbond() {
		let who = registered::<T>(0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinWorkerStake::get());
		assert!(Workers::<T>::get(&who).is_some_and(|w| w.unbonding.is_some()));
	}

	#[benchmark]
	fn withdraw() {
		let who = registered::<T>(0);
		Pallet::<T>::unbond(
			RawOrigin::Signed(who.clone()).into(),
			T::MinWorkerStake::get().saturating_mul(2u32.into()),
		)
		.expect("an idle worker unbonds; qed");
		frame_system::Pallet::<T>::set_block_number(
			frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Workers::<T>::contains_key(&who));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
