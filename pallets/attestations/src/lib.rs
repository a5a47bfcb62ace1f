//! # Attestations Pallet
//!
//! Checkers: a staked registry, random selection, and attestations that settle disputes and
//! audits.
//!
//! ## Overview
//!
//! A checker runs a full node and `ccgsc-verifier`, and registers here with a stake held on
//! its account, its platform class and executor version. When the jobs pallet opens a review
//! (replicas disagreed, or a single result was drawn for audit), [`Config::CheckersPerReview`]
//! checkers of the task's platform class and the job's executor version are drawn at random,
//! excluding the task's own replicas and any checker whose stake slashing has left below
//! [`Config::MinCheckerStake`] (it keeps the reviews it has, and can leave and register anew).
//!
//! **Catching a checker that did not execute.** Each selected checker re-executes the task
//! and first *commits* to its result ([`Pallet::attest`]), then *reveals* it
//! ([`Pallet::reveal_attestation`]) once every selected checker has committed or the commit
//! window closed. Commit-reveal among several checkers means none can copy another; the
//! verdict is the strict majority of the revealed results, and a checker whose result differs
//! from it, or who does not reveal (verdict or not), loses [`Config::CheckerSlashFraction`] of
//! its stake (half to the poster, half to the checkers who voted with the verdict; all to the
//! poster when nobody did). A review nobody reveals in fails the task unpaid, so a lone checker
//! that stays silent to shield a liar pays for it with its stake. A checker that could not get
//! the module or the input reveals `InputUnavailable`, which is no verdict: it is left out of
//! the majority and neither earns a fee nor loses stake (nor does a worker that reports the
//! same); a review with no other reveal fails the task unpaid, so nobody is ever paid, or
//! slashed, on the word that an input was unreachable. A checker that guesses
//! among the replicas' published results instead of executing is on the losing side whenever
//! it guesses wrong. The reveal must also carry one chunk of the output the checker claims,
//! with its Merkle proof against the claimed content id, verified here with the same
//! `ccgsc_primitives` code the clients use; the chunk index is drawn from the review's nonce
//! and the checker's own commitment, so the checker must hold the whole output it vouches for.
//! With one checker per review (as a dev chain has), only the chunk proof remains: the docs of
//! the runtime say so.
//!
//! Checkers who vote with the verdict earn [`Config::CheckerFee`] each from the job's escrow.
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

use alloc::{
	collections::{BTreeMap, BTreeSet},
	vec::Vec,
};
use ccgsc_primitives::{
	chunk_count, commitment, draw, ChunkProof, ExecutorVersion, Hash, JobId, PlatformClass,
	TaskIndex, TaskRef, TaskResult, CHUNK_SIZE,
};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_jobs::{ReviewKind, Reviews};
use polkadot_sdk::frame_system;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{InspectHold, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system::pallet_prelude::*,
	sp_runtime::{
		traits::{One, Saturating, Zero},
		Perbill, TryRuntimeError,
	},
};
use scale_info::TypeInfo;
pub use weights::WeightInfo;

/// The balance type of the currency.
pub type BalanceOf<T> = pallet_jobs::BalanceOf<T>;
type CurrencyOf<T> = <T as pallet_jobs::Config>::Currency;
type HoldReasonOf<T> = <T as pallet_jobs::Config>::RuntimeHoldReason;

/// Most checkers per review.
pub type MaxCheckersPerReview = ConstU32<8>;

/// A registered checker.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Checker<Balance, BlockNumber> {
	/// Stake held.
	pub stake: Balance,
	/// Platform class it executes on.
	pub platform: PlatformClass,
	/// Executor version it runs.
	pub executor_version: ExecutorVersion,
	/// When its stake may be withdrawn, once it has left the registry.
	pub leaving: Option<BlockNumber>,
	/// Reviews it is selected for and that are not concluded.
	pub open_reviews: u32,
	/// Reviews where it voted with the verdict.
	pub upheld: u32,
	/// Fees earned in total.
	pub earned: Balance,
	/// Stake lost in total.
	pub slashed: Balance,
}

/// A checker's part in a review.
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
pub enum Attestation {
	/// Selected; nothing submitted yet.
	Pending,
	/// Committed to this hash.
	Committed(Hash),
	/// Revealed this result.
	Revealed(TaskResult),
}

/// An open review.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Review<AccountId, BlockNumber> {
	/// Why.
	pub kind: ReviewKind,
	/// The selected checkers and what each has done.
	pub checkers: BoundedVec<(AccountId, Attestation), MaxCheckersPerReview>,
	/// A random nonce drawn at opening; with a checker's commitment it fixes the chunk the
	/// checker must prove.
	pub nonce: Hash,
	/// Last block for commits.
	pub commit_until: BlockNumber,
	/// Last block for reveals.
	pub reveal_until: BlockNumber,
}

/// The review as stored.
pub type ReviewOf<T> = Review<<T as frame_system::Config>::AccountId, BlockNumberFor<T>>;

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	/// Configuration.
	#[pallet::config]
	pub trait Config:
		polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>>
		+ pallet_jobs::Config<RuntimeHoldReason: From<HoldReason>>
	{
		/// The least stake of a checker.
		#[pallet::constant]
		type MinCheckerStake: Get<BalanceOf<Self>>;
		/// Most registered checkers.
		#[pallet::constant]
		type MaxCheckers: Get<u32>;
		/// Blocks checkers have to commit after a review opens.
		#[pallet::constant]
		type ReviewCommitWindow: Get<BlockNumberFor<Self>>;
		/// Blocks checkers have to reveal after the commit window.
		#[pallet::constant]
		type ReviewRevealWindow: Get<BlockNumberFor<Self>>;
		/// Blocks between leaving the registry and withdrawing the stake.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// Share of a checker's stake slashed when it votes against the verdict or does not
		/// reveal.
		#[pallet::constant]
		type CheckerSlashFraction: Get<Perbill>;
		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds credits.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A checker's stake.
		#[codec(index = 0)]
		CheckerStake,
	}

	/// Registered checkers.
	#[pallet::storage]
	pub type Checkers<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, Checker<BalanceOf<T>, BlockNumberFor<T>>>;

	/// The checkers that can be selected, in registration order.
	#[pallet::storage]
	pub type Active<T: Config> =
		StorageValue<_, BoundedVec<T::AccountId, T::MaxCheckers>, ValueQuery>;

	/// Open reviews.
	#[pallet::storage]
	pub type OpenReviews<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, JobId, Twox64Concat, TaskIndex, ReviewOf<T>>;

	/// Reviews whose reveal window ends at a block.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<(JobId, TaskIndex), ConstU32<1024>>,
		ValueQuery,
	>;

	/// Events.
	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A checker registered.
		CheckerRegistered {
			/// The checker.
			who: T::AccountId,
			/// Its stake.
			stake: BalanceOf<T>,
			/// Its platform class.
			platform: PlatformClass,
		},
		/// A checker left the registry; its stake unbonds.
		CheckerLeaving {
			/// The checker.
			who: T::AccountId,
			/// When it may withdraw.
			until: BlockNumberFor<T>,
		},
		/// A former checker withdrew its stake.
		CheckerWithdrawn {
			/// The checker.
			who: T::AccountId,
			/// The stake released.
			amount: BalanceOf<T>,
		},
		/// Checkers were selected for a review.
		ReviewAssigned {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// Why.
			kind: ReviewKind,
			/// The selected checkers.
			checkers: Vec<T::AccountId>,
			/// Last block for commits.
			commit_until: BlockNumberFor<T>,
		},
		/// A checker committed.
		Attested {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The checker.
			checker: T::AccountId,
		},
		/// A checker revealed, with a valid chunk proof.
		AttestationRevealed {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The checker.
			checker: T::AccountId,
			/// Its result.
			result: TaskResult,
		},
		/// A review concluded.
		ReviewConcluded {
			/// The job.
			job: JobId,
			/// The task.
			task: TaskIndex,
			/// The verdict (none without a strict majority).
			verdict: Option<TaskResult>,
		},
		/// A checker was slashed.
		CheckerSlashed {
			/// The checker.
			who: T::AccountId,
			/// The amount taken.
			amount: BalanceOf<T>,
		},
	}

	/// Errors.
	#[pallet::error]
	pub enum Error<T> {
		/// The account is a checker already.
		AlreadyRegistered,
		/// The account is not a checker.
		NotRegistered,
		/// The stake is below `MinCheckerStake`.
		StakeTooLow,
		/// The account's free balance cannot cover the stake.
		InsufficientBalance,
		/// The registry is full.
		TooManyCheckers,
		/// The checker is selected for a review that has not concluded.
		ReviewInProgress,
		/// The checker is leaving already.
		AlreadyLeaving,
		/// The checker has not left, or its unbonding period has not passed.
		StillBonded,
		/// No review is open for this task.
		NoReview,
		/// The caller is not selected for this review.
		NotSelected,
		/// The commit window closed.
		CommitClosed,
		/// The caller has committed already, or has not committed.
		WrongState,
		/// Reveals are not open yet, or closed.
		RevealNotOpen,
		/// The result and salt do not match the commitment.
		CommitmentMismatch,
		/// The chunk and proof do not show the drawn chunk of the claimed output.
		InvalidChunkProof,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let due = Deadlines::<T>::take(now);
			let count = due.len() as u32;
			for (job, task) in due {
				Self::conclude(job, task);
			}
			<T as Config>::WeightInfo::on_initialize(count)
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as a checker of `platform` running `executor_version`,
		/// holding `stake`.
		///
		/// Fails with `AlreadyRegistered`, `StakeTooLow`, `TooManyCheckers` or
		/// `InsufficientBalance`.
		#[pallet::call_index(0)]
		#[pallet::weight(<T as Config>::WeightInfo::register_checker())]
		pub fn register_checker(
			origin: OriginFor<T>,
			stake: BalanceOf<T>,
			platform: PlatformClass,
			executor_version: ExecutorVersion,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			ensure!(!Checkers::<T>::contains_key(&who), Error::<T>::AlreadyRegistered);
			ensure!(stake >= T::MinCheckerStake::get(), Error::<T>::StakeTooLow);
			let mut active = Active::<T>::get();
			active.try_push(who.clone()).map_err(|_| Error::<T>::TooManyCheckers)?;
			CurrencyOf::<T>::hold(&HoldReason::CheckerStake.into(), &who, stake)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			Active::<T>::put(active);
			Checkers::<T>::insert(
				&who,
				Checker {
					stake,
					platform,
					executor_version,
					leaving: None,
					open_reviews: 0,
					upheld: 0,
					earned: Zero::zero(),
					slashed: Zero::zero(),
				},
			);
			Self::deposit_event(Event::CheckerRegistered { who, stake, platform });
			Ok(())
		}

		/// Leaves the registry: no new reviews; the stake unbonds for `UnbondingPeriod`.
		///
		/// Fails with `NotRegistered`, `AlreadyLeaving` or `ReviewInProgress`.
		#[pallet::call_index(1)]
		#[pallet::weight(<T as Config>::WeightInfo::leave())]
		pub fn leave(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut checker = Checkers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			ensure!(checker.leaving.is_none(), Error::<T>::AlreadyLeaving);
			ensure!(checker.open_reviews == 0, Error::<T>::ReviewInProgress);
			let until =
				frame_system::Pallet::<T>::block_number().saturating_add(T::UnbondingPeriod::get());
			checker.leaving = Some(until);
			Checkers::<T>::insert(&who, checker);
			Active::<T>::mutate(|active| active.retain(|a| *a != who));
			Self::deposit_event(Event::CheckerLeaving { who, until });
			Ok(())
		}

		/// Releases a former checker's stake after its unbonding period.
		///
		/// Fails with `NotRegistered` or `StillBonded`.
		#[pallet::call_index(2)]
		#[pallet::weight(<T as Config>::WeightInfo::withdraw())]
		pub fn withdraw(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let checker = Checkers::<T>::get(&who).ok_or(Error::<T>::NotRegistered)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(checker.leaving.is_some_and(|until| now >= until), Error::<T>::StillBonded);
			let reason: HoldReasonOf<T> = HoldReason::CheckerStake.into();
			let amount = CurrencyOf::<T>::balance_on_hold(&reason, &who);
			CurrencyOf::<T>::release(&reason, &who, amount, Precision::BestEffort)?;
			Checkers::<T>::remove(&who);
			Self::deposit_event(Event::CheckerWithdrawn { who, amount });
			Ok(())
		}

		/// Commits the caller's result for a task under review:
		/// `commitment = H(result ‖ salt ‖ checker ‖ task)`.
		///
		/// Fails with `NoReview`, `NotSelected`, `CommitClosed` or `WrongState`.
		#[pallet::call_index(3)]
		#[pallet::weight(<T as Config>::WeightInfo::attest())]
		pub fn attest(
			origin: OriginFor<T>,
			job: JobId,
			task: TaskIndex,
			commitment: Hash,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut review = OpenReviews::<T>::get(job, task).ok_or(Error::<T>::NoReview)?;
			let now = frame_system::Pallet::<T>::block_number();
			ensure!(now <= review.commit_until, Error::<T>::CommitClosed);
			let entry = review
				.checkers
				.iter_mut()
				.find(|(c, _)| *c == who)
				.ok_or(Error::<T>::NotSelected)?;
			ensure!(entry.1 == Attestation::Pending, Error::<T>::WrongState);
			entry.1 = Attestation::Committed(commitment);
			OpenReviews::<T>::insert(job, task, review);
			Self::deposit_event(Event::Attested { job, task, checker: who });
			Ok(())
		}

		/// Reveals the caller's result with chunk `chunk` of its output and the chunk's proof;
		/// the chunk index is [`Pallet::challenge_index`]. The review concludes when every
		/// selected checker has revealed.
		///
		/// Fails with `NoReview`, `NotSelected`, `RevealNotOpen`, `WrongState`,
		/// `CommitmentMismatch` or `InvalidChunkProof`.
		#[pallet::call_index(4)]
		#[pallet::weight(<T as Config>::WeightInfo::reveal_attestation())]
		pub fn reveal_attestation(
			origin: OriginFor<T>,
			job: JobId,
			task: TaskIndex,
			result: TaskResult,
			salt: Hash,
			chunk: BoundedVec<u8, ConstU32<{ CHUNK_SIZE as u32 }>>,
			proof: ChunkProof,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut review = OpenReviews::<T>::get(job, task).ok_or(Error::<T>::NoReview)?;
			let now = frame_system::Pallet::<T>::block_number();
			let all_committed =
				review.checkers.iter().all(|(_, a)| !matches!(a, Attestation::Pending));
			ensure!(
				(all_committed || now > review.commit_until) && now <= review.reveal_until,
				Error::<T>::RevealNotOpen
			);
			let nonce = review.nonce;
			let entry = review
				.checkers
				.iter_mut()
				.find(|(c, _)| *c == who)
				.ok_or(Error::<T>::NotSelected)?;
			let Attestation::Committed(hash) = entry.1 else {
				return Err(Error::<T>::WrongState.into());
			};
			ensure!(
				hash == commitment(&result, &salt, &who, &TaskRef { job, index: task }),
				Error::<T>::CommitmentMismatch
			);
			let index = Self::challenge_index(&nonce, &who, &hash, result.output_len);
			ensure!(proof.verify(&result.output, index, &chunk), Error::<T>::InvalidChunkProof);
			entry.1 = Attestation::Revealed(result);
			let all = review.checkers.iter().all(|(_, a)| matches!(a, Attestation::Revealed(_)));
			OpenReviews::<T>::insert(job, task, review);
			pallet_jobs::Pallet::<T>::mix_beacon(&salt);
			Self::deposit_event(Event::AttestationRevealed { job, task, checker: who, result });
			if all {
				Self::conclude(job, task);
			}
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Checks what must hold between blocks:
	///
	/// - each registered checker has exactly its recorded stake held under
	///   [`HoldReason::CheckerStake`], and its count of open reviews is the number of open
	///   reviews that name it;
	/// - [`Active`] lists each registered checker that is not leaving, once;
	/// - each open review names at least one checker, is scheduled in [`Deadlines`] to conclude
	///   after its reveal window closes, and its task is under review of that kind in the jobs
	///   pallet.
	///
	/// The pallet's unit tests run it after every block and every test, with the jobs
	/// pallet's and the registry's. It is what a `try_state` hook would run (the runtime is not
	/// built for try-runtime, so no hook calls it yet). It reads every checker, review and
	/// deadline: never call it in a block.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		let mut named: BTreeMap<T::AccountId, u32> = BTreeMap::new();
		// The latest block each review is due to conclude at.
		let mut due: BTreeMap<(JobId, TaskIndex), BlockNumberFor<T>> = BTreeMap::new();
		for (at, reviews) in Deadlines::<T>::iter() {
			for review in reviews {
				let latest = due.entry(review).or_insert(at);
				*latest = (*latest).max(at);
			}
		}
		for (job, task, review) in OpenReviews::<T>::iter() {
			ensure!(!review.checkers.is_empty(), "an open review names no checker");
			ensure!(
				due.get(&(job, task)).is_some_and(|at| *at > review.reveal_until),
				"an open review is never concluded, or before its reveal window closes"
			);
			ensure!(
				pallet_jobs::Tasks::<T>::get(job, task)
					.is_some_and(|t| t.phase == pallet_jobs::Phase::Review(review.kind)),
				"an open review's task is not under review"
			);
			for (checker, _) in review.checkers.iter() {
				*named.entry(checker.clone()).or_default() += 1;
			}
		}
		let active = Active::<T>::get();
		let listed: BTreeSet<&T::AccountId> = active.iter().collect();
		ensure!(listed.len() == active.len(), "a checker is listed twice as active");
		let reason: HoldReasonOf<T> = HoldReason::CheckerStake.into();
		let mut staying = 0;
		for (who, checker) in Checkers::<T>::iter() {
			ensure!(
				CurrencyOf::<T>::balance_on_hold(&reason, &who) == checker.stake,
				"a checker's held stake differs from its recorded stake"
			);
			ensure!(
				checker.open_reviews == named.get(&who).copied().unwrap_or(0),
				"a checker's count of open reviews is off"
			);
			ensure!(
				listed.contains(&who) == checker.leaving.is_none(),
				"a checker is listed as active while leaving, or not listed while staying"
			);
			staying += u32::from(checker.leaving.is_none());
		}
		ensure!(staying as usize == active.len(), "an active checker is not registered");
		Ok(())
	}

	/// The chunk a checker must prove: drawn from the review's nonce and the checker's own
	/// commitment, within the chunks of an output of `output_len` bytes.
	pub fn challenge_index(
		nonce: &Hash,
		checker: &T::AccountId,
		commitment: &Hash,
		output_len: u64,
	) -> u32 {
		(draw(nonce, &(checker, commitment)) % chunk_count(output_len) as u64) as u32
	}

	/// Decides a review from its reveals, pays and slashes the checkers, and hands the
	/// verdict to the jobs pallet.
	fn conclude(job: JobId, task: TaskIndex) {
		let Some(review) = OpenReviews::<T>::take(job, task) else { return };
		// A checker that could not get the module or the input has no verdict to give: its
		// reveal does not count toward the majority, and it is neither paid nor slashed (nor is
		// a worker that reports the same), so an unreachable input is never a verdict.
		let verdicts: Vec<TaskResult> = review
			.checkers
			.iter()
			.filter_map(|(_, a)| match a {
				Attestation::Revealed(r) if r.outcome.is_verdict() => Some(*r),
				_ => None,
			})
			.collect();
		let verdict = verdicts
			.iter()
			.find(|candidate| {
				verdicts.iter().filter(|r| r == candidate).count() * 2 > verdicts.len()
			})
			.copied();
		let (honest, dishonest): (Vec<_>, Vec<_>) = review
			.checkers
			.iter()
			.partition(|(_, a)| matches!(a, Attestation::Revealed(r) if Some(*r) == verdict));
		let honest: Vec<T::AccountId> = honest.into_iter().map(|(c, _)| c.clone()).collect();
		for checker in honest.iter() {
			let fee = pallet_jobs::Pallet::<T>::pay(
				job,
				task,
				checker,
				<T as pallet_jobs::Config>::CheckerFee::get(),
			);
			Checkers::<T>::mutate(checker, |c| {
				if let Some(c) = c {
					c.upheld = c.upheld.saturating_add(1);
					c.earned = c.earned.saturating_add(fee);
				}
			});
		}
		let poster = pallet_jobs::Pallet::<T>::poster(job);
		for (checker, attestation) in dishonest {
			// Without a verdict nobody can tell which revealed result was wrong, but a checker
			// that never revealed failed its review either way.
			let failed = match attestation {
				Attestation::Revealed(r) => verdict.is_some() && r.outcome.is_verdict(),
				_ => true,
			};
			if failed {
				Self::slash(checker, poster.as_ref(), &honest);
			}
		}
		for (checker, _) in review.checkers.iter() {
			Checkers::<T>::mutate(checker, |c| {
				if let Some(c) = c {
					c.open_reviews = c.open_reviews.saturating_sub(1);
				}
			});
		}
		Self::deposit_event(Event::ReviewConcluded { job, task, verdict });
		pallet_jobs::Pallet::<T>::settle(job, task, verdict, &honest);
	}

	fn slash(checker: &T::AccountId, poster: Option<&T::AccountId>, honest: &[T::AccountId]) {
		let reason: HoldReasonOf<T> = HoldReason::CheckerStake.into();
		let Some(mut info) = Checkers::<T>::get(checker) else { return };
		let total = T::CheckerSlashFraction::get()
			.mul_floor(info.stake)
			.min(CurrencyOf::<T>::balance_on_hold(&reason, checker));
		let mut to: Vec<(T::AccountId, BalanceOf<T>)> = Vec::new();
		let half = total / 2u32.into();
		if let Some(poster) = poster {
			to.push((
				poster.clone(),
				total.saturating_sub(if honest.is_empty() { Zero::zero() } else { half }),
			));
		}
		if !honest.is_empty() {
			let each = half / (honest.len() as u32).into();
			to.extend(honest.iter().map(|h| (h.clone(), each)));
		}
		let mut taken: BalanceOf<T> = Zero::zero();
		for (beneficiary, amount) in to {
			if amount.is_zero() {
				continue;
			}
			if let Ok(moved) = CurrencyOf::<T>::transfer_on_hold(
				&reason,
				checker,
				&beneficiary,
				amount,
				Precision::BestEffort,
				Restriction::Free,
				Fortitude::Force,
			) {
				taken = taken.saturating_add(moved);
			}
		}
		info.stake = info.stake.saturating_sub(taken);
		info.slashed = info.slashed.saturating_add(taken);
		Checkers::<T>::insert(checker, info);
		Self::deposit_event(Event::CheckerSlashed { who: checker.clone(), amount: taken });
	}
}

impl<T: Config> Reviews<T::AccountId> for Pallet<T> {
	/// Every active checker's record is read to find those eligible, so this is benchmarked
	/// with the registry full ([`Config::MaxCheckers`]).
	fn open_weight() -> Weight {
		<T as Config>::WeightInfo::open_review()
	}

	fn open(job: JobId, task: TaskIndex, platform: PlatformClass, kind: ReviewKind) -> bool {
		let Some(info) = pallet_jobs::Jobs::<T>::get(job) else { return false };
		let replicas: Vec<T::AccountId> = pallet_jobs::Tasks::<T>::get(job, task)
			.map(|t| t.replicas.into_iter().map(|r| r.worker).collect())
			.unwrap_or_default();
		let eligible: Vec<T::AccountId> = Active::<T>::get()
			.into_iter()
			.filter(|c| !replicas.contains(c))
			.filter(|c| {
				Checkers::<T>::get(c).is_some_and(|info_c| {
					info_c.platform == platform
						&& info_c.executor_version == info.spec.executor_version
						&& info_c.stake >= T::MinCheckerStake::get()
				})
			})
			.collect();
		if eligible.is_empty() {
			return false;
		}
		let wanted = (<T as pallet_jobs::Config>::CheckersPerReview::get() as usize)
			.min(<MaxCheckersPerReview as Get<u32>>::get() as usize)
			.min(eligible.len())
			.max(1);
		let start =
			pallet_jobs::Pallet::<T>::random(&(b"checkers", job, task)) as usize % eligible.len();
		let chosen: Vec<T::AccountId> =
			(0..wanted).map(|i| eligible[(start + i) % eligible.len()].clone()).collect();
		let now = frame_system::Pallet::<T>::block_number();
		let commit_until = now.saturating_add(T::ReviewCommitWindow::get());
		let reveal_until = commit_until.saturating_add(T::ReviewRevealWindow::get());
		let nonce = review_nonce::<T>(job, task);
		let review = Review {
			kind,
			checkers: BoundedVec::truncate_from(
				chosen.iter().map(|c| (c.clone(), Attestation::Pending)).collect(),
			),
			nonce,
			commit_until,
			reveal_until,
		};
		let mut at = reveal_until.saturating_add(One::one());
		let mut scheduled = false;
		for _ in 0..64 {
			if Deadlines::<T>::try_append(at, (job, task)).is_ok() {
				scheduled = true;
				break;
			}
			at = at.saturating_add(One::one());
		}
		if !scheduled {
			return false;
		}
		for c in chosen.iter() {
			Checkers::<T>::mutate(c, |info| {
				if let Some(info) = info {
					info.open_reviews = info.open_reviews.saturating_add(1);
				}
			});
		}
		OpenReviews::<T>::insert(job, task, review);
		Self::deposit_event(Event::ReviewAssigned {
			job,
			task,
			kind,
			checkers: chosen,
			commit_until,
		});
		true
	}
}

/// A review's nonce: the block's seed, bound to the task.
fn review_nonce<T: Config>(job: JobId, task: TaskIndex) -> Hash {
	ccgsc_primitives::hash(&(pallet_jobs::Pallet::<T>::seed(), job, task).encode())
}
