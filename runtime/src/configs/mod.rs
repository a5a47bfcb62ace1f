//! The configuration of every pallet in the runtime.

use polkadot_sdk::{
	frame_support::{
		derive_impl,
		dispatch::DispatchClass,
		parameter_types,
		traits::{
			tokens::imbalance::ResolveTo, ConstBool, ConstU128, ConstU32, ConstU64, ConstU8,
			VariantCountOf,
		},
		weights::{
			constants::{RocksDbWeight, WEIGHT_REF_TIME_PER_SECOND},
			IdentityFee, Weight,
		},
		PalletId,
	},
	frame_system::{
		self,
		limits::{BlockLength, BlockWeights},
	},
	pallet_aura, pallet_balances, pallet_grandpa, pallet_sudo, pallet_timestamp,
	pallet_transaction_payment::{self, ConstFeeMultiplier, FungibleAdapter, Multiplier},
	sp_consensus_aura::sr25519::AuthorityId as AuraId,
	sp_runtime::{
		traits::{AccountIdConversion, One},
		Perbill,
	},
	sp_version::RuntimeVersion,
};

use super::{
	AccountId, Attestations, Aura, Balance, Balances, Block, BlockNumber, Hash, Nonce, PalletInfo,
	Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason, RuntimeHoldReason, RuntimeOrigin,
	RuntimeTask, System, Workers, EXISTENTIAL_DEPOSIT, MILLISECS_PER_BLOCK, SLOT_DURATION, UNIT,
	VERSION,
};

const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	/// Block hashes kept for `CheckEra` and the randomness seed.
	pub const BlockHashCount: BlockNumber = 2400;
	/// This runtime's version.
	pub const Version: RuntimeVersion = VERSION;
	/// Half a second of compute per one-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND / 2, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// Five MiB per block, three quarters of it for normal transactions.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	/// The generic Substrate SS58 prefix.
	pub const SS58Prefix: u8 = 42;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	type DbWeight = RocksDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	type AllowMultipleBlocksPerSlot = ConstBool<false>;
	type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	type KeyOwnerProof = polkadot_sdk::sp_core::Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Aura;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

parameter_types! {
	/// Where transaction fees and dust go, so nothing is burnt.
	pub FeePot: AccountId = PalletId(*b"ccgs/fee").into_account_truncating();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ResolveTo<FeePot, Balances>;
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	/// Fees do not follow congestion on this chain.
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ResolveTo<FeePot, Balances>>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

/// Blocks per minute.
pub const MINUTES: BlockNumber = (60_000 / MILLISECS_PER_BLOCK) as BlockNumber;
/// Blocks per day.
pub const DAYS: BlockNumber = 24 * 60 * MINUTES;

parameter_types! {
	/// Least worker stake: 100 credits.
	pub const MinWorkerStake: Balance = 100 * UNIT;
	/// Least checker stake: 100 credits.
	pub const MinCheckerStake: Balance = 100 * UNIT;
	/// Highest reward per accepted replica: 1 credit.
	pub const MaxRewardPerTask: Balance = UNIT;
	/// A checker's fee per review: a tenth of a credit.
	pub const CheckerFee: Balance = UNIT / 10;
	/// Half the stake of a liar is slashed.
	pub const SlashFraction: Perbill = Perbill::from_percent(50);
	/// Half the stake of a checker against the verdict, or silent, is slashed.
	pub const CheckerSlashFraction: Perbill = Perbill::from_percent(50);
	/// Probability that a single result is audited. A `storage` parameter: root can change it
	/// with `system.set_storage` (the end-to-end tests raise it to 100 %).
	pub storage AuditRate: Perbill = Perbill::from_percent(10);
	/// Blocks between a checker leaving the registry and withdrawing its stake: ten minutes.
	/// A checker is slashed only in reviews it was selected for and cannot leave while one is
	/// open, so this is a cooling-off period, not a settlement bound (unlike a worker's): a
	/// `storage` parameter, which root can change with `system.set_storage` (the end-to-end
	/// tests shorten it to see a slashed checker register anew).
	pub storage CheckerUnbondingPeriod: BlockNumber = 10 * MINUTES;
	/// Blocks between a worker unbonding stake and withdrawing it: ten minutes. A worker can
	/// unbond only while it holds no lease and no result in its audit window, and with less
	/// than the minimum stake active it cannot claim, so every settlement path that could slash
	/// the stake is closed before the period starts; the period is a margin on top. A `storage`
	/// parameter, for stake unbonded from then on: the end-to-end tests shorten it to see a
	/// worker leave and take its stake back.
	pub storage WorkerUnbondingPeriod: BlockNumber = 10 * MINUTES;
	/// Blocks an ended job's record stays on chain: a week, for the poster to fetch the outputs
	/// (the record says which workers serve each) and anyone to check what was paid. A
	/// `storage` parameter, for jobs that end from then on: the end-to-end tests shorten it to
	/// see a record removed.
	pub storage JobRetention: BlockNumber = 7 * DAYS;
}

impl pallet_workers::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinWorkerStake = MinWorkerStake;
	/// Longer than any settlement path (lease, reveal window, review windows, audit window),
	/// though unbonding waits for them to close anyway.
	type UnbondingPeriod = WorkerUnbondingPeriod;
	type TrustThreshold = ConstU32<5>;
	type WeightInfo = pallet_workers::weights::SubstrateWeight<Runtime>;
}

impl pallet_jobs::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Workers = Workers;
	type Reviews = Attestations;
	type MaxTasks = ConstU32<100_000>;
	type MaxReplication = ConstU8<5>;
	type MaxBatch = ConstU32<256>;
	type MaxRequeued = ConstU32<4096>;
	type MaxTimeoutsPerBlock = ConstU32<2048>;
	type MaxRewardPerTask = MaxRewardPerTask;
	type MaxWork = ConstU64<100_000_000_000_000>;
	type MaxMemory = ConstU64<{ 4 << 30 }>;
	type MaxOutput = ConstU64<{ 64 << 20 }>;
	type BlockTimeMillis = ConstU64<MILLISECS_PER_BLOCK>;
	type MinLease = ConstU32<10>;
	type LeaseMargin = ConstU32<3>;
	type RevealWindow = ConstU32<10>;
	type AuditWindow = ConstU32<30>;
	type AuditRate = AuditRate;
	type SlashFraction = SlashFraction;
	type CheckerFee = CheckerFee;
	type CheckersPerReview = ConstU32<3>;
	type Retention = JobRetention;
	type WeightInfo = pallet_jobs::weights::SubstrateWeight<Runtime>;
}

impl pallet_attestations::Config for Runtime {
	type MinCheckerStake = MinCheckerStake;
	type MaxCheckers = ConstU32<64>;
	type ReviewCommitWindow = ConstU32<20>;
	type ReviewRevealWindow = ConstU32<20>;
	type UnbondingPeriod = CheckerUnbondingPeriod;
	type CheckerSlashFraction = CheckerSlashFraction;
	type WeightInfo = pallet_attestations::weights::SubstrateWeight<Runtime>;
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::frame_support::traits::Get;

	/// Lying never pays in expectation: the expected slash of a single result exceeds the
	/// highest reward.
	#[test]
	fn audits_make_lying_unprofitable() {
		polkadot_sdk::sp_io::TestExternalities::default().execute_with(|| {
			let expected_slash = AuditRate::get() * (SlashFraction::get() * MinWorkerStake::get());
			assert!(
				expected_slash > MaxRewardPerTask::get(),
				"{expected_slash} <= {}",
				MaxRewardPerTask::get()
			);
			assert!(
				<<Runtime as pallet_workers::Config>::UnbondingPeriod as Get<BlockNumber>>::get()
					> 10 + 10 + 20 + 20 + 30,
				"stake outlives every settlement window"
			);
		});
	}
}
