//! Weights for `pallet_workers`.
//!
//! NOT YET GENERATED: these are estimates (a generous reference time plus the storage
//! accesses each call makes) that stand until the node's benchmark command regenerates this
//! file from `benchmarking.rs` (see the README, "Weights").

#![allow(missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_workers`.
pub trait WeightInfo {
	fn register() -> Weight;
	fn add_stake() -> Weight;
	fn update_profile() -> Weight;
	fn unbond() -> Weight;
	fn withdraw() -> Weight;
}

/// Weights for `pallet_workers` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register() -> Weight {
		Weight::from_parts(60_000_000, 3_600).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn add_stake() -> Weight {
		Weight::from_parts(50_000_000, 3_600).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn update_profile() -> Weight {
		Weight::from_parts(20_000_000, 3_600).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn unbond() -> Weight {
		Weight::from_parts(20_000_000, 3_600).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 3_600).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
}

impl WeightInfo for () {
	fn register() -> Weight {
		Weight::from_parts(60_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn add_stake() -> Weight {
		Weight::from_parts(50_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn update_profile() -> Weight {
		Weight::from_parts(20_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
	fn unbond() -> Weight {
		Weight::from_parts(20_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 3_600)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
}
