//! The leases a worker holds, mirrored in a file.
//!
//! A lease locks its task to this worker until it is committed, given back or runs out, and
//! counts against the worker's stake meanwhile. A worker that stops gracefully gives back
//! what it has not started; one that crashes or is killed cannot, and its tasks would wait
//! for their leases to run out (up to three times the task's work limit). So the leases held
//! are kept in a file, and a worker started again on the same directory gives the ones listed
//! there back before it claims anything (see [`Leases::open`]).
//!
//! The file is one of the [`state_file`]s, holding `Vec<(JobId, TaskIndex)>`. It is rewritten
//! on every change but not flushed to disk: a list lost in a power cut costs only the wait for
//! those leases to run out.

use std::{collections::HashMap, path::PathBuf};

use ccgsc_chain::Lease;
use ccgsc_primitives::{JobId, TaskIndex};

use crate::state_file;

/// The file's format byte.
const FORMAT: u8 = 1;

/// A lease the worker holds: claimed, and not yet committed or given back.
#[derive(Clone, Copy, Debug)]
pub struct Held {
	/// Its last block, as the chain last said.
	pub until: u32,
	/// A renewal of it is on its way to the chain.
	pub renewing: bool,
}

/// Leases held, by task, listed in a file.
#[derive(Debug)]
pub struct Leases {
	path: PathBuf,
	held: HashMap<(JobId, TaskIndex), Held>,
}

impl Leases {
	/// An empty set of leases kept in `path`, and the leases an earlier run listed there and
	/// may still hold (nothing if there is no file; an unreadable one is reported and
	/// ignored, as it costs only a wait).
	pub fn open(path: impl Into<PathBuf>) -> (Self, Vec<(JobId, TaskIndex)>) {
		let path = path.into();
		let left = state_file::read(&path, FORMAT).unwrap_or_else(|e| {
			tracing::warn!(path = %path.display(), error = %e, "cannot read the leases; ignored");
			None
		});
		(Self { path, held: HashMap::new() }, left.unwrap_or_default())
	}

	/// Notes `leases` claimed on `job`.
	pub fn claimed(&mut self, job: JobId, leases: &[Lease]) {
		for lease in leases {
			self.held.insert((job, lease.task), Held { until: lease.until, renewing: false });
		}
		self.save();
	}

	/// Forgets the lease on `task` of `job` (committed or given back).
	pub fn remove(&mut self, job: JobId, task: TaskIndex) {
		if self.held.remove(&(job, task)).is_some() {
			self.save();
		}
	}

	/// The lease on `task` of `job`.
	pub fn get_mut(&mut self, job: JobId, task: TaskIndex) -> Option<&mut Held> {
		self.held.get_mut(&(job, task))
	}

	/// Every lease held.
	pub fn iter_mut(&mut self) -> impl Iterator<Item = (&(JobId, TaskIndex), &mut Held)> {
		self.held.iter_mut()
	}

	/// Writes the list (the file says nothing of renewals: only which leases to give back).
	pub fn save(&self) {
		let tasks: Vec<(JobId, TaskIndex)> = self.held.keys().copied().collect();
		if let Err(e) = state_file::write(&self.path, FORMAT, &tasks, false) {
			tracing::warn!(path = %self.path.display(), error = %e, "cannot list the leases");
		}
	}
}

#[cfg(test)]
mod tests {
	use std::fs;

	use super::*;

	#[test]
	fn the_leases_held_are_listed_for_the_next_run() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("leases");
		let (mut leases, left) = Leases::open(&path);
		assert!(left.is_empty(), "a first start has nothing to give back");
		leases.claimed(1, &[Lease { task: 0, until: 20 }, Lease { task: 1, until: 20 }]);
		leases.claimed(2, &[Lease { task: 5, until: 30 }]);
		leases.remove(1, 0);
		leases.get_mut(2, 5).unwrap().renewing = true;
		drop(leases);

		let (mut again, mut left) = Leases::open(&path);
		left.sort();
		assert_eq!(left, vec![(1, 1), (2, 5)]);
		assert_eq!(again.iter_mut().count(), 0, "the new run holds nothing yet");
	}

	#[test]
	fn an_unreadable_list_is_ignored() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("leases");
		for bytes in [&b""[..], b"\x01\x04", b"\x01\x00\x00", b"\x07\x00"] {
			fs::write(&path, bytes).unwrap();
			assert!(Leases::open(&path).1.is_empty(), "{bytes:?}");
		}
	}
}
