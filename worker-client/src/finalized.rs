//! Finalized blocks taken in exactly once, across reconnections.
//!
//! A fresh follow of the node's blocks (at a reconnection, or when the node restarts a
//! subscription) starts by handing out again the last finalized block it knows (with the
//! `chainHead` methods, up to 16 of the last), and none before it. A worker or checker that
//! counts what a finalized block says (payments, slashes, reveals) would count a block it
//! had seen twice, and never count the blocks finalized while it was away.
//! [`Finalized`] skips the first and reads the second by number, up to [`CATCH_UP`] blocks
//! back.
//!
//! A block handed out again is skipped only if it is the block taken in at that number. A
//! node that lost its last blocks in a crash, or a dev chain started over, finalizes other
//! blocks at numbers taken in already: those are taken in, from the first of them on.

use std::{collections::VecDeque, ops::Range};

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

/// How many of the last blocks taken in are remembered by hash: more than a new follow hands
/// out again.
const REMEMBERED: u64 = 32;

/// The finalized blocks a worker or checker has taken in: everything up to a number.
#[derive(Debug, Clone)]
pub struct Finalized {
	last: Option<u64>,
	/// The numbers and hashes of the last [`REMEMBERED`] blocks taken in.
	recent: VecDeque<(u64, [u8; 32])>,
}

impl Finalized {
	/// Starts after block `last`: what was finalized before the run started is not this run's
	/// to count. `None` takes in whatever the first follow hands out.
	pub fn after(last: Option<u64>) -> Self {
		Self { last, recent: VecDeque::new() }
	}

	/// Starts after the block `chain` has finalized now: what blocks finalized from here on
	/// say is this run's to count. If the node cannot say, from the first block handed out.
	pub async fn from_now(chain: &Chain) -> Self {
		Self::after(chain.finalized_number().await.ok().map(u64::from))
	}

	/// What to do with finalized block `number` of hash `hash`, which is then taken in.
	pub fn step(&mut self, number: u64, hash: [u8; 32]) -> Step {
		let from = match self.last {
			None => number,
			Some(last) if number > last => (last + 1).max(number.saturating_sub(CATCH_UP)),
			Some(last) => {
				let taken = self.recent.iter().find(|(n, _)| *n == number).map(|(_, h)| *h);
				// Blocks before the start, or too old to be remembered but recent enough to be
				// handed out again, are taken for the ones seen.
				if taken.map_or(number + REMEMBERED > last, |taken| taken == hash) {
					return Step::Seen;
				}
				tracing::warn!(
					block = number,
					last,
					"the node finalized other blocks than those taken in; taking them in"
				);
				self.recent.retain(|(n, _)| *n < number);
				number
			},
		};
		let passed_over = self.last.map_or(0, |last| from.saturating_sub(last + 1));
		self.last = Some(number);
		self.recent.push_back((number, hash));
		while self.recent.len() as u64 > REMEMBERED {
			self.recent.pop_front();
		}
		Step::New { missed: from..number, passed_over }
	}

	/// The events of finalized `block` and of the blocks before it that were never handed out,
	/// oldest first; nothing if `block` was taken in already. A block whose events cannot be
	/// read is left out with a warning.
	pub async fn take_in(&mut self, chain: &Chain, block: &Block) -> Vec<Events> {
		let Step::New { missed, passed_over } = self.step(block.number(), block.hash().0) else {
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

	/// The hash of block `number` of the chain called `chain`.
	fn hash(chain: u8, number: u64) -> [u8; 32] {
		let mut hash = [chain; 32];
		hash[..8].copy_from_slice(&number.to_le_bytes());
		hash
	}

	#[test]
	fn blocks_handed_out_again_are_skipped() {
		let mut finalized = Finalized::after(Some(10));
		for number in 0..=10 {
			assert_eq!(finalized.step(number, hash(1, number)), Step::Seen, "{number}");
		}
		assert_eq!(finalized.step(11, hash(1, 11)), Step::New { missed: 11..11, passed_over: 0 });
		// A reconnection replays the last blocks before handing out new ones.
		for number in 5..=11 {
			assert_eq!(finalized.step(number, hash(1, number)), Step::Seen, "{number}");
		}
		assert_eq!(finalized.step(12, hash(1, 12)), Step::New { missed: 12..12, passed_over: 0 });
	}

	#[test]
	fn blocks_never_handed_out_are_read_up_to_the_catch_up() {
		let mut finalized = Finalized::after(Some(10));
		assert_eq!(finalized.step(30, hash(1, 30)), Step::New { missed: 11..30, passed_over: 0 });
		assert_eq!(finalized.step(31, hash(1, 31)), Step::New { missed: 31..31, passed_over: 0 });
		let far = 32 + CATCH_UP + 100;
		assert_eq!(
			finalized.step(far, hash(1, far)),
			Step::New { missed: far - CATCH_UP..far, passed_over: 100 },
			"the last {CATCH_UP} before it are read, the 100 before those given up on"
		);
	}

	#[test]
	fn without_a_start_the_first_block_handed_out_is_taken_alone() {
		let mut finalized = Finalized::after(None);
		assert_eq!(finalized.step(7, hash(1, 7)), Step::New { missed: 7..7, passed_over: 0 });
		assert_eq!(finalized.step(7, hash(1, 7)), Step::Seen);
		assert_eq!(finalized.step(9, hash(1, 9)), Step::New { missed: 8..9, passed_over: 0 });
	}

	#[test]
	fn other_blocks_at_numbers_taken_in_are_taken_in() {
		let mut finalized = Finalized::after(None);
		for number in 1..=40 {
			assert!(matches!(finalized.step(number, hash(1, number)), Step::New { .. }));
		}
		// A node that lost its last blocks finalizes others at their numbers.
		assert_eq!(finalized.step(38, hash(2, 38)), Step::New { missed: 38..38, passed_over: 0 });
		assert_eq!(finalized.step(39, hash(2, 39)), Step::New { missed: 39..39, passed_over: 0 });
		assert_eq!(finalized.step(38, hash(2, 38)), Step::Seen);
		// A chain started over hands out blocks far below any remembered.
		assert_eq!(finalized.step(3, hash(3, 3)), Step::New { missed: 3..3, passed_over: 0 });
		assert_eq!(finalized.step(5, hash(3, 5)), Step::New { missed: 4..5, passed_over: 0 });
		assert_eq!(finalized.step(5, hash(3, 5)), Step::Seen);
	}
}
