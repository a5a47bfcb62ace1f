//! Results committed and not yet revealed, kept on disk.
//!
//! A commit is a promise the worker's stake stands behind: once it is on chain, the worker
//! must reveal the result and the salt behind it when the chain asks, or the task goes to a
//! dispute and the worker is slashed as if it had lied. The salt is random and kept nowhere
//! else, so a worker killed, crashed or restarted for an upgrade between a commit and its
//! reveal could never keep that promise. The [`Ledger`] writes each result to its file, flushed to disk, before
//! the commit is sent, and a worker that starts again reads it back and reveals.
//!
//! The file is one of the worker's state files (a format byte, then SCALE), holding
//! `Vec<(JobId, TaskIndex, TaskResult, Hash)>`. Entries whose task no longer waits for this
//! worker's reveal are dropped when the worker looks them up at start, so a stale one costs
//! nothing.

use std::{collections::HashMap, io, path::PathBuf};

use ccgsc_primitives::{Hash, JobId, TaskIndex, TaskResult};

use crate::state_file;

/// The file's format byte.
const FORMAT: u8 = 1;

/// A result committed and not yet revealed (as far as finalized blocks tell).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
	/// What was committed to.
	pub result: TaskResult,
	/// The commitment's salt.
	pub salt: Hash,
	/// Its reveal has been sent, or is in hand, in this run.
	pub reveal_sent: bool,
}

/// Results committed and not yet revealed, by task, mirrored in a file.
#[derive(Debug)]
pub struct Ledger {
	path: PathBuf,
	pending: HashMap<(JobId, TaskIndex), Pending>,
}

impl Ledger {
	/// The ledger kept in `path`, with what an earlier run left there (nothing if there is no
	/// such file).
	///
	/// # Errors
	/// If the file cannot be read, or holds something else (`InvalidData`).
	pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
		let path = path.into();
		let entries: Vec<(JobId, TaskIndex, TaskResult, Hash)> = state_file::read(&path, FORMAT)
			.map_err(|e| match e.kind() {
				io::ErrorKind::InvalidData => io::Error::new(
					e.kind(),
					format!("{} is not a ledger of committed results", path.display()),
				),
				_ => e,
			})?
			.unwrap_or_default();
		let pending = entries
			.into_iter()
			.map(|(job, task, result, salt)| {
				((job, task), Pending { result, salt, reveal_sent: false })
			})
			.collect();
		Ok(Self { path, pending })
	}

	/// Records `result` and `salt` for `task` of `job`, on disk before it returns.
	///
	/// # Errors
	/// If the file cannot be written; the entry is then not kept, and its commit must not be
	/// sent.
	pub fn insert(
		&mut self,
		job: JobId,
		task: TaskIndex,
		result: TaskResult,
		salt: Hash,
	) -> io::Result<()> {
		let before = self.pending.insert((job, task), Pending { result, salt, reveal_sent: false });
		self.save().inspect_err(|_| {
			match before {
				Some(before) => self.pending.insert((job, task), before),
				None => self.pending.remove(&(job, task)),
			};
		})
	}

	/// Forgets `task` of `job` (revealed, refused, or no longer waiting for a reveal).
	pub fn remove(&mut self, job: JobId, task: TaskIndex) {
		if self.pending.remove(&(job, task)).is_some() {
			if let Err(e) = self.save() {
				// Harmless: the next start finds the entry stale and drops it.
				tracing::warn!(path = %self.path.display(), error = %e, "cannot update the ledger");
			}
		}
	}

	/// The entry for `task` of `job`.
	pub fn get_mut(&mut self, job: JobId, task: TaskIndex) -> Option<&mut Pending> {
		self.pending.get_mut(&(job, task))
	}

	/// The tasks with an entry.
	pub fn tasks(&self) -> Vec<(JobId, TaskIndex)> {
		self.pending.keys().copied().collect()
	}

	/// The tasks whose reveal is neither sent nor in hand in this run, marked as in hand.
	pub fn take_unsent(&mut self) -> Vec<(JobId, TaskIndex)> {
		self.pending
			.iter_mut()
			.filter(|(_, p)| !p.reveal_sent)
			.map(|(key, p)| {
				p.reveal_sent = true;
				*key
			})
			.collect()
	}

	/// How many entries there are.
	pub fn len(&self) -> usize {
		self.pending.len()
	}

	/// Whether there are none.
	pub fn is_empty(&self) -> bool {
		self.pending.is_empty()
	}

	fn save(&self) -> io::Result<()> {
		let entries: Vec<(JobId, TaskIndex, TaskResult, Hash)> =
			self.pending.iter().map(|((job, task), p)| (*job, *task, p.result, p.salt)).collect();
		state_file::write(&self.path, FORMAT, &entries, true)
	}
}

#[cfg(test)]
mod tests {
	use std::fs;

	use ccgsc_primitives::{ContentId, Outcome};

	use super::*;

	fn result(byte: u8) -> TaskResult {
		TaskResult {
			outcome: Outcome::Success,
			output_len: u64::from(byte),
			output: ContentId([byte; 32]),
		}
	}

	#[test]
	fn what_was_recorded_is_there_after_a_restart() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("committed");
		let mut ledger = Ledger::open(&path).unwrap();
		assert!(ledger.is_empty(), "a first start has nothing");
		ledger.insert(1, 0, result(1), [7; 32]).unwrap();
		ledger.insert(1, 1, result(2), [8; 32]).unwrap();
		ledger.insert(2, 0, result(3), [9; 32]).unwrap();
		ledger.remove(1, 1);
		let mut taken = ledger.take_unsent();
		taken.sort();
		assert_eq!(taken, vec![(1, 0), (2, 0)]);
		assert!(ledger.take_unsent().is_empty(), "each is taken in hand once in a run");
		drop(ledger);

		let mut again = Ledger::open(&path).unwrap();
		let mut tasks = again.tasks();
		tasks.sort();
		assert_eq!(tasks, vec![(1, 0), (2, 0)]);
		assert_eq!(
			again.get_mut(2, 0).copied(),
			Some(Pending { result: result(3), salt: [9; 32], reveal_sent: false })
		);
		assert!(!again.get_mut(1, 0).unwrap().reveal_sent, "a new run has sent nothing yet");
	}

	#[test]
	fn a_file_that_is_not_a_ledger_is_refused() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("committed");
		for bytes in [&b""[..], b"\x01\x04", b"\x01\x00\x00", b"\x02\x00", b"hello"] {
			fs::write(&path, bytes).unwrap();
			let e = Ledger::open(&path).unwrap_err();
			assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{bytes:?}");
			assert!(e.to_string().contains("not a ledger"), "{e}");
		}
	}

	#[test]
	fn an_entry_that_cannot_be_written_is_not_kept() {
		let dir = tempfile::tempdir().unwrap();
		let mut ledger = Ledger::open(dir.path().join("gone").join("committed")).unwrap();
		assert!(ledger.insert(1, 0, result(1), [7; 32]).is_err());
		assert!(ledger.is_empty(), "only what is on disk is promised");
	}
}
