//! Where a checker stands in the registry, and what it does next to be selectable again.
//!
//! Reviews select only registered checkers that have not left and whose stake is at least
//! the runtime's `MinCheckerStake`. A checker slashed below that keeps the reviews it has but
//! gets no new ones, and the registry has no call to add stake: the way back is to leave, wait
//! out the unbonding period, withdraw, and register anew. The verifier takes that way by
//! itself (decided here; an operator who runs a checker wants it checking, and a checker
//! below the minimum only waits), and says where it is on the way.
//!
//! A checker whose operator is done (`ccgsc-verifier leave`) takes the same way without the
//! last step: [`Step::leaving`] leaves whatever the stake, once the reviews it has are over,
//! withdraws once the stake has unbonded, and is then [`Step::Gone`].

use ccgsc_chain::{api::runtime_types::pallet_attestations::Checker, Balance};

/// What a checker does next, given its registry entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
	/// Selectable for reviews: nothing to do.
	Serve,
	/// Not registered: register with the configured stake.
	Register,
	/// Stake below the minimum and no review open: leave the registry (to withdraw and
	/// register anew once the stake unbonds).
	Leave,
	/// Stake below the minimum with reviews it was selected for still open: the chain refuses
	/// to let it leave until they conclude.
	FinishReviews,
	/// Left the registry: its stake unbonds until block `until`.
	Unbonding {
		/// The first block at which the stake can be withdrawn.
		until: u32,
	},
	/// Left, and the stake has unbonded: withdraw it, then register anew (or, leaving for
	/// good, be gone).
	Withdraw,
	/// Not registered, and leaving for good: nothing left to do.
	Gone,
}

impl Step {
	/// The next step for a checker whose registry entry is `checker` (`None`: not
	/// registered), at finalized block `now`, when the registry needs `minimum` staked.
	pub fn of(checker: Option<&Checker<Balance, u32>>, minimum: Balance, now: u32) -> Self {
		let Some(checker) = checker else { return Self::Register };
		match checker.leaving {
			Some(until) if now >= until => Self::Withdraw,
			Some(until) => Self::Unbonding { until },
			None if checker.stake >= minimum => Self::Serve,
			None if checker.open_reviews > 0 => Self::FinishReviews,
			None => Self::Leave,
		}
	}

	/// The next step for a checker leaving for good, whose registry entry is `checker`, at
	/// finalized block `now`: leave (once the reviews it was selected for are over), wait out
	/// the unbonding period, withdraw.
	pub fn leaving(checker: Option<&Checker<Balance, u32>>, now: u32) -> Self {
		let Some(checker) = checker else { return Self::Gone };
		match checker.leaving {
			Some(until) if now >= until => Self::Withdraw,
			Some(until) => Self::Unbonding { until },
			None if checker.open_reviews > 0 => Self::FinishReviews,
			None => Self::Leave,
		}
	}

	/// Whether reviews can select the checker at this step.
	pub fn selectable(self) -> bool {
		self == Self::Serve
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use ccgsc_chain::convert;
	use ccgsc_primitives::PlatformClass;

	fn checker(stake: Balance, leaving: Option<u32>, open_reviews: u32) -> Checker<Balance, u32> {
		Checker {
			stake,
			platform: convert::platform(PlatformClass::X86_64Native),
			executor_version: 1,
			leaving,
			open_reviews,
			upheld: 0,
			earned: 0,
			slashed: 0,
		}
	}

	#[test]
	fn a_checker_at_or_above_the_minimum_serves_and_an_unknown_one_registers() {
		assert_eq!(Step::of(Some(&checker(100, None, 0)), 100, 5), Step::Serve);
		assert_eq!(Step::of(Some(&checker(200, None, 3)), 100, 5), Step::Serve);
		assert_eq!(Step::of(None, 100, 5), Step::Register);
		assert!(Step::Serve.selectable());
		assert!(!Step::Register.selectable());
	}

	#[test]
	fn a_checker_below_the_minimum_leaves_once_its_reviews_are_over() {
		assert_eq!(Step::of(Some(&checker(50, None, 1)), 100, 5), Step::FinishReviews);
		assert_eq!(Step::of(Some(&checker(50, None, 0)), 100, 5), Step::Leave);
		assert!(!Step::FinishReviews.selectable());
		assert!(!Step::Leave.selectable());
	}

	#[test]
	fn a_checker_that_left_withdraws_from_the_end_of_its_unbonding_period() {
		let left = checker(50, Some(700), 0);
		assert_eq!(Step::of(Some(&left), 100, 699), Step::Unbonding { until: 700 });
		assert_eq!(Step::of(Some(&left), 100, 700), Step::Withdraw);
		assert_eq!(Step::of(Some(&left), 100, 900), Step::Withdraw);
		// Leaving with a stake above the minimum (left by another tool) still withdraws first.
		assert_eq!(
			Step::of(Some(&checker(300, Some(700), 0)), 100, 10),
			Step::Unbonding { until: 700 }
		);
	}

	#[test]
	fn a_checker_leaving_for_good_leaves_whatever_its_stake_and_is_gone_once_withdrawn() {
		assert_eq!(Step::leaving(Some(&checker(300, None, 0)), 5), Step::Leave);
		assert_eq!(Step::leaving(Some(&checker(50, None, 0)), 5), Step::Leave);
		assert_eq!(Step::leaving(Some(&checker(300, None, 2)), 5), Step::FinishReviews);
		let left = checker(300, Some(700), 0);
		assert_eq!(Step::leaving(Some(&left), 699), Step::Unbonding { until: 700 });
		assert_eq!(Step::leaving(Some(&left), 700), Step::Withdraw);
		assert_eq!(Step::leaving(None, 900), Step::Gone);
		assert!(!Step::Gone.selectable());
	}
}
