//! Finalized blocks taken in exactly once, across reconnections.
//!
//! A fresh follow of the node's blocks (at a reconnection, or when the node restarts a
//! subscription) starts by handing out again the last finalized blocks it knows, up to 16
//! (the node's limit for a new `chainHead` subscription), and none before them. A worker or
//! checker that counts what a finalized block says (payments, slashes, reveals) would count
//! a block it had seen twice, and never count one finalized while it was away if that was
//! more than 16 blocks before it came back. [`Finalized`] skips the first and reads the
//! second by number, up to [`CATCH_UP`] blocks back.

use std::ops::Range;

use ccgsc_chain::{Block, Chain, Events};

/// How many finalized blocks before a followed one are read when the follow skipped them.
/// A node keeps the state of its last 256 blocks by default (`--state-pruning`), and the
/// events of a block are state; older blocks are not asked for, and a warning says how many
/// were passed over.
pub const CATCH_UP: u64 = 256;

/// Where a follow of finalized blocks has got to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
	/// A block taken in already (handed out again by a fresh follow): skip it.
	Seen,
	/// A new block. The blocks in `missed` came before it and were never handed out: read
	/// them first. `passed_over` more before those are too old to read (see [`CATCH_UP`]).
	New {
		/// The numbers to read before the block, oldest first.
		missed: Range<u64>,
		/// How many blocks before `missed` are given up on.
		passed_over: u64,
	},
}

/// The finalized blocks a worker or checker has taken in: everything up to a number.
#[derive(Debug, Clone, Copy)]
pub struct Finalized {
	last: Option<u64>,
}

impl Finalized {
	/// Starts after block `last`: what was finalized before the run started is not this run's
	/// to count. `None` takes in whatever the first follow hands out.
	pub fn after(last: Option<u64>) -> Self {
		Self { last }
	}

	/// What to do with finalized block `number`, which is then taken in.
	pub fn step(&mut self, number: u64) -> Step {
		let Some(last) = self.last else {
			self.last = Some(number);
			return Step::New { missed: number..number, passed_over: 0 };
		};
		if number <= last {
			return Step::Seen;
		}
		self.last = Some(number);
		let from = (last + 1).max(number.saturating_sub(CATCH_UP));
		Step::New { missed: from..number, passed_over: from - (last + 1) }
	}

	/// The events of finalized `block` and of the blocks before it that were never handed out,
	/// oldest first; nothing if `block` was taken in already. A block whose events cannot be
	/// read is left out with a warning.
	pub async fn take_in(&mut self, chain: &Chain, block: &Block) -> Vec<Events> {
		let Step::New { missed, passed_over } = self.step(block.number()) else {
			return Vec::new();
		};
		if passed_over > 0 {
			tracing::warn!(
				blocks = passed_over,
				"away too long: what the oldest finalized blocks since then say is not counted"
			);
		}
		if !missed.is_empty() {
			tracing::info!(
				from = missed.start,
				to = missed.end - 1,
				"reading blocks finalized while away"
			);
		}
		let mut taken = Vec::new();
		for number in missed {
			match chain.events_at(number as u32).await {
				Ok(events) => taken.push(events),
				Err(e) => tracing::warn!(block = number, error = %e, "cannot read block events"),
			}
		}
		match ccgsc_chain::block_events(block).await {
			Ok(events) => taken.push(events),
			Err(e) => {
				tracing::warn!(block = block.number(), error = %e, "cannot read block events")
			},
		}
		taken
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn blocks_handed_out_again_are_skipped() {
		let mut finalized = Finalized::after(Some(10));
		for number in 0..=10 {
			assert_eq!(finalized.step(number), Step::Seen, "{number}");
		}
		assert_eq!(finalized.step(11), Step::New { missed: 11..11, passed_over: 0 });
		// A reconnection replays the last blocks before handing out new ones.
		for number in 5..=11 {
			assert_eq!(finalized.step(number), Step::Seen, "{number}");
		}
		assert_eq!(finalized.step(12), Step::New { missed: 12..12, passed_over: 0 });
	}

	#[test]
	fn blocks_never_handed_out_are_read_up_to_the_catch_up() {
		let mut finalized = Finalized::after(Some(10));
		assert_eq!(finalized.step(30), Step::New { missed: 11..30, passed_over: 0 });
		assert_eq!(finalized.step(31), Step::New { missed: 31..31, passed_over: 0 });
		let far = 32 + CATCH_UP + 100;
		assert_eq!(
			finalized.step(far),
			Step::New { missed: far - CATCH_UP..far, passed_over: 100 },
			"the last {CATCH_UP} before it are read, the 100 before those given up on"
		);
	}

	#[test]
	fn without_a_start_the_first_block_handed_out_is_taken_alone() {
		let mut finalized = Finalized::after(None);
		assert_eq!(finalized.step(7), Step::New { missed: 7..7, passed_over: 0 });
		assert_eq!(finalized.step(7), Step::Seen);
		assert_eq!(finalized.step(9), Step::New { missed: 8..9, passed_over: 0 });
	}
}
