//! # Workers Pallet
//!
//! The registry of the machines that do the marketplace's work.
//!
//! ## Overview
//!
//! A worker registers with a stake, held on its account (never moved to a pallet account),
//! and a [`Profile`]: cores, memory, the benchmark score its client measured with the
//! executor's standard probe, its platform class, the executor version it runs and its libp2p
//! peer id. The stake is what it loses when it lies.
//!
//! Reputation follows BOINC: the count of consecutive valid results (CV) and the totals of
//! valid and invalid ones. A worker whose CV reaches [`Config::TrustThreshold`] is *trusted*:
//! the jobs pallet may then let its results stand alone (adaptive replication).
//!
//! Stake leaves in two steps: [`Pallet::unbond`] marks an amount, which
//! [`Pallet::withdraw`] releases after [`Config::UnbondingPeriod`] blocks. The period is
//! longer than any audit window, and unbonding is refused while the worker holds a task
//! replica that has not settled (leased, or committed and waiting for the others) or has a
//! result still open to audit, so a result can always be answered for with stake.
//!
//! Other pallets use the [`WorkerRegistry`] trait: to check eligibility, to count leases
//! and unaudited results, to record valid and invalid results, to note rewards, and to slash.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

use alloc::vec::Vec;
use ccgsc_primitives::{ExecutorVersion, PlatformClass};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::frame_system;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, InspectHold, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system::pallet_prelude::*,
	sp_runtime::{traits::Zero, Perbill, Saturating, TryRuntimeError},
};
use scale_info::TypeInfo;
pub use weights::WeightInfo;

/// The balance type of the currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// Most bytes of a libp2p peer id (a multihash of an ed25519 key is 38).
pub type MaxPeerIdLen = ConstU32<64>;

/// What a worker declares about itself.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Profile {
	/// CPU cores the worker offers.
	pub cores: u32,
	/// Memory the worker offers, in MiB.
	pub memory_mib: u32,
	/// Executor work units per second on one core, from the standard probe.
	pub score: u64,
	/// The platform class, which decides which replicas it may be grouped with.
	pub platform: PlatformClass,
	/// The executor version it runs.
	pub executor_version: ExecutorVersion,
	/// Its libp2p peer id, where it serves outputs.
	pub peer_id: BoundedVec<u8, MaxPeerIdLen>,
}

/// BOINC-style reputation.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub struct Reputation {
	/// Valid results since the last invalid one.
	pub consecutive_valid: u32,
	/// Valid results in total.
	pub valid: u64,
	/// Invalid results in total.
	pub invalid: u64,
}

/// Stake on its way out.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub struct Unbonding<Balance, BlockNumber> {
	/// The amount being unbonded (still held until withdrawn).
	pub amount: Balance,
	/// The first block at which it may be withdrawn.
	pub until: BlockNumber,
}

/// A registered worker.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Worker<Balance, BlockNumber> {
	/// All stake held for the worker, unbonding included.
	pub stake: Balance,
	/// Stake being unbonded, if any.
	pub unbonding: Option<Unbonding<Balance, BlockNumber>>,
	/// What it declared.
	pub profile: Profile,
	/// Its track record.
	pub reputation: Reputation,
	/// Task replicas it currently holds (leased or committed, not yet settled).
	pub leases: u32,
	/// Accepted results of its that may still be audited.
	pub unaudited: u32,
	/// Rewards received in total.
	pub earned: Balance,
	/// Stake lost to slashing in total.
	pub slashed: Balance,
}

impl<Balance: Saturating + Copy + Zero, BlockNumber> Worker<Balance, BlockNumber> {
	/// Stake not being unbonded.
	pub fn active_stake(&self) -> Balance {
		self.stake.saturating_sub(self.unbonding.as_ref().map_or(Zero::zero(), |u| u.amount))
	}
}

/// What the other marketplace pallets need from the worker registry.
pub trait WorkerRegistry<AccountId, Balance> {
	/// The worker's profile, if it is registered.
	fn profile(who: &AccountId) -> Option<Profile>;
	/// Whether the worker may take new work: registered, with at least the minimum stake not
	/// being unbonded.
	fn is_active(who: &AccountId) -> bool;
	/// Whether the worker's consecutive valid results reach the trust threshold.
	fn is_trusted(who: &AccountId) -> bool;
	/// Its consecutive valid results.
	fn consecutive_valid(who: &AccountId) -> u32;
	/// Its active stake.
	fn stake(who: &AccountId) -> Balance;
	/// Task replicas the worker holds: leased or committed and not yet settled.
	fn leases(who: &AccountId) -> u32;
	/// Results of the worker's that are open to audit.
	fn unaudited(who: &AccountId) -> u32;
	/// Notes that the worker took (`true`) or let go of (`false`) a task replica.
	fn note_lease(who: &AccountId, taken: bool);
	/// Notes that a result of the worker's opened (`true`) or closed (`false`) an audit window.
	fn note_unaudited(who: &AccountId, opened: bool);
	/// Records a valid result.
	fn record_valid(who: &AccountId);
	/// Records an invalid result.
	fn record_invalid(who: &AccountId);
	/// Notes a reward the worker received.
	fn reward(who: &AccountId, amount: Balance);
	/// Takes `fraction` of the worker's held stake and pays it to `to`, split by the given
	/// shares (which should add up to one; whatever rounding leaves goes to the first). Returns
	/// the amount taken.
	fn slash(who: &AccountId, fraction: Perbill, to: &[(AccountId, Perbill)]) -> Balance;
	/// Funds `who` and registers it as an active worker with `profile` (benchmarks only).
	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(who: &AccountId, profile: Profile);
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The credits: stake is held on it.
		type Currency: Inspect<Self::AccountId>
			+ InspectHold<Self::AccountId, Reason = Self::RuntimeHoldReason>
			+ Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;
		/// The least stake a worker must keep active to take work.
		#[pallet::constant]
		type MinWorkerStake: Get<BalanceOf<Self>>;
		/// Blocks between `unbond` and `withdraw`; longer than any audit window.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Consecutive valid results from which a worker is trusted.
		#[pallet::constant]
		type TrustThreshold: Get<u32>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds credits.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A worker's stake.
		#[codec(index = 0)]
		WorkerStake,
	}

	/// The registered workers.
	#[pallet::storage]
	pub type Workers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Worker<BalanceOf<T>, BlockNumberFor<T>>>;

	/// Events.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker registered.
		WorkerRegistered {
			/// The worker.
			who: T::AccountId,
			/// The stake held.
			stake: BalanceOf<T>,
			/// Its profile.
			profile: Profile,
		},
		/// A worker added stake.
		StakeAdded {
			/// The worker.
			who: T::AccountId,
			/// The amount added.
			amount: BalanceOf<T>,
		},
		/// A worker updated its profile.
		ProfileUpdated {
			/// The worker.
			who: T::AccountId,
			/// The new profile.
			profile: Profile,
		},
		/// A worker started unbonding stake.
		Unbonding {
			/// The worker.
			who: T::AccountId,
			/// The amount now unbonding.
			amount: BalanceOf<T>,
			/// When it may be withdrawn.
			until: BlockNumberFor<T>,
		},
		/// A worker withdrew unbonded stake.
		Withdrawn {
			/// The worker.
			who: T::AccountId,
			/// The amount released.
			amount: BalanceOf<T>,
			/// Whether the worker left the registry (no stake remains).
			deregistered: bool,
		},
		/// A worker's stake was slashed.
		Slashed {
			/// The worker.
			who: T::AccountId,
			/// The amount taken.
			amount: BalanceOf<T>,
		},
	}

	/// Errors.
	#[pallet::error]
	pub enum Error<T> {
		/// The account is registered already.
		AlreadyRegistered,
		/// The account is not a registered worker.
		NotRegistered,
		/// The stake is below `MinWorkerStake`, or unbonding would leave a non-zero active stake
		/// below it.
		StakeTooLow,
		/// The profile is unusable: no cores, no memory, a zero score or an empty peer id.
		InvalidProfile,
		/// The worker holds a task replica that has not settled or has a result open to audit,
		/// so its stake must stay.
		StakeInUse,
		/// The amount is zero or more than the active stake.
		InvalidAmount,
		/// Nothing is unbonding.
		NothingUnbonding,
		/// The unbonding period has not passed yet.
		StillUnbonding,
		/// The account's free balance cannot cover the stake.
		InsufficientBalance,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as a worker, holding `stake`.
		///
		/// Fails with `AlreadyRegistered`, `StakeTooLow`, `InvalidProfile` or
		/// `InsufficientBalance`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register())]
		pub fn register(
			origin: OriginFor<T>,
			stake: BalanceOf<T>,
			profile: Profile,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Workers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			ensure!(stake >= T::MinWorkerStake::get(), Error::<T>::StakeTooLow);
			Self::check_profile(&profile)?;
			T::Currency::hold(&HoldReason::WorkerStake.into(), &who, stake)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Workers::<T>::insert(
				&who,
				Worker {
					stake,
					unbonding: None,
					profile: profile.clone(),
					reputation: Reputation::default(),
					leases: 0,
					unaudited: 0,
					earned: Zero::zero(),
					slashed: Zero::zero(),
				},
			);
			Self::deposit_event(Event::WorkerRegistered { who, stake, profile });
			Ok(())
		}

		/// Holds `amount` more as stake.
		///
		/// Fails with `NotRegistered`, `InvalidAmount` or `InsufficientBalance`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::add_stake())]
		pub fn add_stake(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(!amount.is_zero(), Error::<T>::InvalidAmount);
			T::Currency::hold(&HoldReason::WorkerStake.into(), &who, amount)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			worker.stake = worker.stake.saturating_add(amount);
			Workers::<T>::insert(&who, worker);
			Self::deposit_event(Event::StakeAdded { who, amount });
			Ok(())
		}

		/// Replaces the caller's profile.
		///
		/// Fails with `NotRegistered` or `InvalidProfile`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::update_profile())]
		pub fn update_profile(origin: OriginFor<T>, profile: Profile) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::check_profile(&profile)?;
			Workers::<T>::try_mutate(&who, |worker| {
				let worker = worker.as_mut().ok_or(Error::<T>::NotRegistered)?;
				worker.profile = profile.clone();
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::ProfileUpdated { who, profile });
			Ok(())
		}

		/// Starts unbonding `amount` of active stake (adding to what is unbonding already and
		/// restarting the period). Either all stake goes, or at least `MinWorkerStake` stays.
		///
		/// Fails with `NotRegistered`, `StakeInUse` (an unsettled replica or an unaudited result),
		/// `InvalidAmount` or `StakeTooLow`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(worker.leases == 0 && worker.unaudited == 0, Error::<T>::StakeInUse);
			let active = worker.active_stake();
			ensure!(!amount.is_zero() && amount <= active, Error::<T>::InvalidAmount);
			let left = active.saturating_sub(amount);
			ensure!(left.is_zero() || left >= T::MinWorkerStake::get(), Error::<T>::StakeTooLow);
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
			let total = worker.unbonding.map_or(Zero::zero(), |u| u.amount).saturating_add(amount);
			worker.unbonding = Some(Unbonding { amount: total, until });
			Workers::<T>::insert(&who, worker);
			Self::deposit_event(Event::Unbonding { who, amount: total, until });
			Ok(())
		}

		/// Releases unbonded stake once the period has passed; a worker with no stake left
		/// leaves the registry.
		///
		/// Fails with `NotRegistered`, `NothingUnbonding` or `StillUnbonding`.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut worker = Workers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let unbonding = worker.unbonding.ok_or(Error::<T>::NothingUnbonding)?;
			ensure!(
				frame_system::Pallet::<T>::block_number() >= unbonding.until,
				Error::<T>::StillUnbonding
			);
			// Slashing may have taken part of what was unbonding.
			let amount = unbonding.amount.min(worker.stake);
			T::Currency::release(
				&HoldReason::WorkerStake.into(),
				&who,
				amount,
				Precision::BestEffort,
			)?;
			worker.stake = worker.stake.saturating_sub(amount);
			worker.unbonding = None;
			let deregistered =
				worker.stake.is_zero() && worker.leases == 0 && worker.unaudited == 0;
			if deregistered {
				Workers::<T>::remove(&who);
			} else {
				Workers::<T>::insert(&who, worker);
			}
			Self::deposit_event(Event::Withdrawn { who, amount, deregistered });
			Ok(())
		}
	}

	impl<T: Config> Pallet<T> {
		/// Checks what must hold between blocks: each registered worker has exactly its
		/// recorded stake held under [`HoldReason::WorkerStake`], and unbonds no more than that.
		/// The pallet's unit tests, and those of the pallets that use the registry, run it after
		/// every block and every test. It is what a `try_state` hook would run (the runtime is
		/// not built for try-runtime, so no hook calls it yet).
		pub fn do_try_state() -> Result<(), TryRuntimeError> {
			let reason: T::RuntimeHoldReason = HoldReason::WorkerStake.into();
			for (who, worker) in Workers::<T>::iter() {
				ensure!(
					T::Currency::balance_on_hold(&reason, &who) == worker.stake,
					"a worker's held stake differs from its recorded stake"
				);
				ensure!(
					worker.unbonding.is_none_or(|u| u.amount <= worker.stake),
					"a worker unbonds more than its stake"
				);
			}
			Ok(())
		}

		fn check_profile(profile: &Profile) -> DispatchResult {
			ensure!(
				profile.cores > 0
					&& profile.memory_mib > 0
					&& profile.score > 0
					&& !profile.peer_id.is_empty(),
				Error::<T>::InvalidProfile
			);
			Ok(())
		}
	}
}

impl<T: Config> WorkerRegistry<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn profile(who: &T::AccountId) -> Option<Profile> {
		Workers::<T>::get(who).map(|w| w.profile)
	}

	fn is_active(who: &T::AccountId) -> bool {
		Workers::<T>::get(who).is_some_and(|w| w.active_stake() >= T::MinWorkerStake::get())
	}

	fn is_trusted(who: &T::AccountId) -> bool {
		Self::consecutive_valid(who) >= T::TrustThreshold::get()
	}

	fn consecutive_valid(who: &T::AccountId) -> u32 {
		Workers::<T>::get(who).map_or(0, |w| w.reputation.consecutive_valid)
	}

	fn stake(who: &T::AccountId) -> BalanceOf<T> {
		Workers::<T>::get(who).map_or(Zero::zero(), |w| w.active_stake())
	}

	fn leases(who: &T::AccountId) -> u32 {
		Workers::<T>::get(who).map_or(0, |w| w.leases)
	}

	fn unaudited(who: &T::AccountId) -> u32 {
		Workers::<T>::get(who).map_or(0, |w| w.unaudited)
	}

	fn note_lease(who: &T::AccountId, taken: bool) {
		Workers::<T>::mutate_exists(who, |w| {
			if let Some(w) = w {
				w.leases =
					if taken { w.leases.saturating_add(1) } else { w.leases.saturating_sub(1) };
			}
		});
	}

	fn note_unaudited(who: &T::AccountId, opened: bool) {
		Workers::<T>::mutate_exists(who, |w| {
			if let Some(w) = w {
				w.unaudited = if opened {
					w.unaudited.saturating_add(1)
				} else {
					w.unaudited.saturating_sub(1)
				};
			}
		});
	}

	fn record_valid(who: &T::AccountId) {
		Workers::<T>::mutate_exists(who, |w| {
			if let Some(w) = w {
				w.reputation.consecutive_valid = w.reputation.consecutive_valid.saturating_add(1);
				w.reputation.valid = w.reputation.valid.saturating_add(1);
			}
		});
	}

	fn record_invalid(who: &T::AccountId) {
		Workers::<T>::mutate_exists(who, |w| {
			if let Some(w) = w {
				w.reputation.consecutive_valid = 0;
				w.reputation.invalid = w.reputation.invalid.saturating_add(1);
			}
		});
	}

	fn reward(who: &T::AccountId, amount: BalanceOf<T>) {
		Workers::<T>::mutate_exists(who, |w| {
			if let Some(w) = w {
				w.earned = w.earned.saturating_add(amount);
			}
		});
	}

	#[cfg(feature = "runtime-benchmarks")]
	fn register_for_benchmarks(who: &T::AccountId, profile: Profile) {
		let stake = T::MinWorkerStake::get().saturating_mul(2u32.into());
		T::Currency::set_balance(who, stake.saturating_mul(100u32.into()));
		Pallet::<T>::register(frame_system::RawOrigin::Signed(who.clone()).into(), stake, profile)
			.expect("a funded account with a valid profile registers; qed");
	}

	fn slash(
		who: &T::AccountId,
		fraction: Perbill,
		to: &[(T::AccountId, Perbill)],
	) -> BalanceOf<T> {
		let Some(mut worker) = Workers::<T>::get(who) else { return Zero::zero() };
		let reason: T::RuntimeHoldReason = HoldReason::WorkerStake.into();
		let total =
			fraction.mul_floor(worker.stake).min(T::Currency::balance_on_hold(&reason, who));
		let mut paid: BalanceOf<T> = Zero::zero();
		let shares: Vec<BalanceOf<T>> =
			to.iter().map(|(_, share)| share.mul_floor(total)).collect();
		let rounding = total.saturating_sub(
			shares.iter().fold(Zero::zero(), |a: BalanceOf<T>, s| a.saturating_add(*s)),
		);
		for (i, ((beneficiary, _), share)) in to.iter().zip(shares).enumerate() {
			let amount = if i == 0 { share.saturating_add(rounding) } else { share };
			if amount.is_zero() {
				continue;
			}
			if let Ok(moved) = T::Currency::transfer_on_hold(
				&reason,
				who,
				beneficiary,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			) {
				paid = paid.saturating_add(moved);
			}
		}
		worker.stake = worker.stake.saturating_sub(paid);
		worker.slashed = worker.slashed.saturating_add(paid);
		if let Some(unbonding) = worker.unbonding.as_mut() {
			unbonding.amount = unbonding.amount.min(worker.stake);
		}
		Workers::<T>::insert(who, worker);
		Pallet::<T>::deposit_event(Event::Slashed { who: who.clone(), amount: paid });
		paid
	}
}
