//! # The CCGSC runtime
//!
//! Credits are the native token (`pallet-balances`); escrow and stake are holds on it. Blocks
//! are authored by Aura and finalized by GRANDPA; validators are fixed at genesis (rotation
//! through `pallet-session` is a later step). The marketplace is `pallet-workers`,
//! `pallet-jobs` and `pallet-attestations`; `Sudo` exists for development chains.
//!
//! **No credit is created or destroyed.** Rewards come out of escrow holds, slashed stake is
//! moved to the parties it compensates, and transaction fees and dust go to the fee pot
//! ([`configs::FeePot`]), so the total issuance is fixed at genesis.
//!
//! **Randomness** for adaptive replication, audits and checker selection comes from
//! `pallet-jobs`: the parent block hash mixed with a beacon of every salt revealed by workers
//! and checkers. It resists a worker predicting a draw when it commits; a colluding block
//! author could bias it (Aura has no VRF), which the audit economics are set to outweigh.
#![cfg_attr(not(feature = "std"), no_std)]
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

use alloc::vec::Vec;

#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks {
	polkadot_sdk::frame_benchmarking::define_benchmarks!(
		[pallet_workers, Workers]
		[pallet_jobs, Jobs]
		[pallet_attestations, Attestations]
	);
}

pub mod apis;
pub mod configs;
pub mod genesis_config_presets;

use polkadot_sdk::{
	frame_support, frame_system, pallet_aura, pallet_balances, pallet_grandpa, pallet_sudo,
	pallet_timestamp, pallet_transaction_payment,
	sp_runtime::{
		generic, impl_opaque_keys,
		traits::{BlakeTwo256, IdentifyAccount, Verify},
		MultiAddress, MultiSignature,
	},
	sp_version::RuntimeVersion,
};

pub use pallet_attestations;
pub use pallet_jobs;
pub use pallet_workers;

/// Block numbers.
pub type BlockNumber = u32;
/// Transaction signatures (sr25519, ed25519 or ECDSA).
pub type Signature = MultiSignature;
/// Accounts: the public key of the signing scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Credit amounts.
pub type Balance = u128;
/// Transaction counters.
pub type Nonce = u32;
/// Block and trie hashes.
pub type Hash = polkadot_sdk::sp_core::H256;

/// One credit, in the smallest unit.
pub const UNIT: Balance = 1_000_000_000_000;
/// A thousandth of a credit.
pub const MILLI_UNIT: Balance = UNIT / 1000;
/// The smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Target block time. One second keeps the marketplace's commit-reveal rounds short.
pub const MILLISECS_PER_BLOCK: u64 = 1000;
/// Aura slot length (one block per slot).
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// Types the node needs without knowing the runtime's details.
pub mod opaque {
	use super::*;
	pub use polkadot_sdk::sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;
}

impl_opaque_keys! {
	/// The session keys of a validator.
	pub struct SessionKeys {
		/// Aura block authoring.
		pub aura: Aura,
		/// GRANDPA finality.
		pub grandpa: Grandpa,
	}
}

/// The runtime's version.
#[polkadot_sdk::sp_version::runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("ccgsc"),
	impl_name: alloc::borrow::Cow::Borrowed("ccgsc"),
	authoring_version: 1,
	spec_version: 104,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// The address format.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;
/// The transaction extensions every signed transaction carries.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);
/// An extrinsic as it arrives.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload that gets signed.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;
/// Dispatches blocks to the pallets.
pub type Executive = polkadot_sdk::frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
>;

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Aura = pallet_aura;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;
	#[runtime::pallet_index(10)]
	pub type Workers = pallet_workers;
	#[runtime::pallet_index(11)]
	pub type Jobs = pallet_jobs;
	#[runtime::pallet_index(12)]
	pub type Attestations = pallet_attestations;
}
