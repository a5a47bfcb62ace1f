//! Weights for `pallet_attestations`.
//!
//! NOT YET GENERATED: these are estimates (a generous reference time plus the storage
//! accesses each call makes; `reveal_attestation` hashes a 64 KiB chunk) that stand until the
//! node's benchmark command regenerates this file from `benchmarking.rs` (see the README,
//! "Weights").

#![allow(missing_docs)]

use core::marker::PhantomData;
use polkadot_sdk::frame_support::{
	traits::Get,
	weights::{constants::RocksDbWeight, Weight},
};

/// Weight functions needed for `pallet_attestations`.
pub trait WeightInfo {
	fn register_checker() -> Weight;
	fn leave() -> Weight;
	fn withdraw() -> Weight;
	fn attest() -> Weight;
	fn reveal_attestation() -> Weight;
	fn on_initialize(n: u32) -> Weight;
}

/// Weights for `pallet_attestations` using the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: polkadot_sdk::frame_system::Config> WeightInfo for SubstrateWeight<T> {
	fn register_checker() -> Weight {
		Weight::from_parts(60_000_000, 70_000).saturating_add(T::DbWeight::get().reads_writes(3, 4))
	}
	fn leave() -> Weight {
		Weight::from_parts(30_000_000, 70_000).saturating_add(T::DbWeight::get().reads_writes(2, 2))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 70_000).saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn attest() -> Weight {
		Weight::from_parts(25_000_000, 70_000).saturating_add(T::DbWeight::get().reads_writes(1, 1))
	}
	fn reveal_attestation() -> Weight {
		Weight::from_parts(400_000_000, 70_000)
			.saturating_add(T::DbWeight::get().reads_writes(3, 3))
	}
	fn on_initialize(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 8_000)
			.saturating_add(Weight::from_parts(120_000_000, 20_000).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().reads((12u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes(1))
			.saturating_add(T::DbWeight::get().writes((12u64).saturating_mul(n.into())))
	}
}

impl WeightInfo for () {
	fn register_checker() -> Weight {
		Weight::from_parts(60_000_000, 70_000)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 4))
	}
	fn leave() -> Weight {
		Weight::from_parts(30_000_000, 70_000)
			.saturating_add(RocksDbWeight::get().reads_writes(2, 2))
	}
	fn withdraw() -> Weight {
		Weight::from_parts(50_000_000, 70_000)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn attest() -> Weight {
		Weight::from_parts(25_000_000, 70_000)
			.saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
	fn reveal_attestation() -> Weight {
		Weight::from_parts(400_000_000, 70_000)
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn on_initialize(n: u32) -> Weight {
		Weight::from_parts(10_000_000, 8_000)
			.saturating_add(Weight::from_parts(120_000_000, 20_000).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().reads((12u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes(1))
			.saturating_add(RocksDbWeight::get().writes((12u64).saturating_mul(n.into())))
	}
}
