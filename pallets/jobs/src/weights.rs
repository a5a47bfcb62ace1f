//! Weights for `pallet_jobs`.
//!
//! NOT YET GENERATED: these are estimates (a generous reference time plus the storage
//! accesses each call makes, linear in the batch size) that stand until the node's benchmark
//! command regenerates this file from `benchmarking.rs` (see the README, "Weights").

#![allow(missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_jobs`.
pub trait WeightInfo {
	fn post_job() -> Weight;
	fn claim(n: u32) -> Weight;
	fn renew(n: u32) -> Weight;
	fn abandon(n: u32) -> Weight;
	fn commit(n: u32) -> Weight;
	fn reveal(n: u32) -> Weight;
	fn cancel() -> Weight;
	fn on_initialize(n: u32) -> Weight;
}

/// Weights for `pallet_jobs` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn post_job() -> Weight {
		Weight::from_parts(60_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(4, 4))
	}
	fn claim(n: u32) -> Weight {
		Weight::from_parts(40_000_000, 8_000)
			.saturating_add(Weight::from_parts(25_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(3))
			.saturating_add(T::DbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn renew(n: u32) -> Weight {
		Weight::from_parts(20_000_000, 8_000)
			.saturating_add(Weight::from_parts(15_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1))
			.saturating_add(T::DbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn abandon(n: u32) -> Weight {
		Weight::from_parts(20_000_000, 8_000)
			.saturating_add(Weight::from_parts(15_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().reads((2 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(2))
			.saturating_add(T::DbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn commit(n: u32) -> Weight {
		Weight::from_parts(30_000_000, 8_000)
			.saturating_add(Weight::from_parts(20_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().reads((1 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(2))
			.saturating_add(T::DbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn reveal(n: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(45_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(4))
			.saturating_add(T::DbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
	fn cancel() -> Weight {
		Weight::from_parts(50_000_000, 8_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn on_initialize(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 8_000)
			.saturating_add(Weight::from_parts(40_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1))
			.saturating_add(T::DbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
}

impl WeightInfo for () {
	fn post_job() -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(4, 4))
	}
	fn claim(n: u32) -> Weight {
		Weight::from_parts(40_000_000, 8_000)
			.saturating_add(Weight::from_parts(25_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(4))
			.saturating_add(RocksDbWeight::get().reads((2 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(3))
			.saturating_add(RocksDbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn renew(n: u32) -> Weight {
		Weight::from_parts(20_000_000, 8_000)
			.saturating_add(Weight::from_parts(15_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().reads((1 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(1))
			.saturating_add(RocksDbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn abandon(n: u32) -> Weight {
		Weight::from_parts(20_000_000, 8_000)
			.saturating_add(Weight::from_parts(15_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().reads((2 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(2))
			.saturating_add(RocksDbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn commit(n: u32) -> Weight {
		Weight::from_parts(30_000_000, 8_000)
			.saturating_add(Weight::from_parts(20_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().reads((1 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(2))
			.saturating_add(RocksDbWeight::get().writes((2 as u64).saturating_mul(n.into())))
	}
	fn reveal(n: u32) -> Weight {
		Weight::from_parts(60_000_000, 8_000)
			.saturating_add(Weight::from_parts(45_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(4))
			.saturating_add(RocksDbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(4))
			.saturating_add(RocksDbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
	fn cancel() -> Weight {
		Weight::from_parts(50_000_000, 8_000)
			.saturating_add(RocksDbWeight::get().reads_writes(2, 2))
	}
	fn on_initialize(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 8_000)
			.saturating_add(Weight::from_parts(40_000_000, 1_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().reads((4 as u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(1))
			.saturating_add(RocksDbWeight::get().writes((4 as u64).saturating_mul(n.into())))
	}
}
