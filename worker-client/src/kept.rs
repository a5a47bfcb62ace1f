//! What the content store holds for each job, so a worker (or a checker) can drop it once the
//! chain has removed the job's record.
//!
//! A worker stores every module, input list and input it fetches, and every output it
//! produces, and serves them to whoever asks: posters fetch outputs, other workers inputs; a
//! checker does the same for the tasks it reviews.
//! The chain keeps an ended job's record for its retention (a week), then removes it
//! ([`JobPruned`](ccgsc_chain::api::jobs::events::JobPruned)); from then on nobody can find
//! out which output belonged to which task, and a worker that kept everything would fill its
//! disk with what nobody asks for any more. So [`Kept`] notes, before each fetch or store,
//! which job the item is for, and when the job's record is removed it hands back the items
//! no other job still noted; the worker removes those from its store ([`spawn_drop_job`], on
//! each `JobPruned` in a finalized block, and [`drop_pruned`] at start, for the records
//! removed while it was stopped).
//!
//! Content is addressed by its id, so jobs share items (the same module, the same inputs):
//! an item goes only when the last job that noted it is removed. Notes are written ahead of
//! the fetch, so a crash leaves a note for an item that may not be there (its removal is a
//! no-op), never an item without a note. What an older version of the worker stored, before
//! it kept notes, stays.
//!
//! The file (`dir/kept`) is a log: each note is appended as the SCALE encoding of `(JobId,
//! Item)`, of fixed size, and a torn last note (the power failed mid-write) is ignored. A
//! released job's notes stay in the log until most of it is such notes; then it is written
//! anew with the notes still held (a temporary file renamed over the old one), so each note
//! is written about twice however many jobs are released. Notes of a released job read back
//! after a restart cost nothing: [`drop_pruned`] releases the job again, and an item another
//! job still holds stays.

use std::{
	collections::{BTreeMap, BTreeSet},
	fs,
	io::{self, Write},
	path::PathBuf,
	sync::{Arc, Mutex},
};

use ccgsc_p2p::Store;
use ccgsc_primitives::{ContentId, Hash, JobId};
use codec::{Decode, Encode, MaxEncodedLen};

/// Something the content store holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode, MaxEncodedLen)]
pub enum Item {
	/// A blob: a module, an input or an output.
	Blob(ContentId),
	/// A job's list of input ids, by its inputs root.
	Inputs(Hash),
}

/// The size of one note in the log: a job id (8 bytes), the item's kind (1) and its hash (32).
const NOTE: usize = 8 + 1 + 32;

/// Notes no longer held that the log may keep whatever else it holds (a few hundred KiB).
const COMPACT_FLOOR: usize = 4096;

/// Which job each stored item was fetched or produced for, mirrored in a log file.
#[derive(Debug)]
pub struct Kept {
	path: PathBuf,
	log: fs::File,
	/// Notes in the log, held or not.
	logged: usize,
	jobs: BTreeMap<JobId, BTreeSet<Item>>,
	/// How many jobs hold each item.
	holders: BTreeMap<Item, u32>,
}

impl Kept {
	/// Reads the notes in `path` (none if there is no such file) and opens it for more.
	///
	/// # Errors
	/// If the file cannot be read or opened.
	pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
		let path = path.into();
		let mut jobs: BTreeMap<JobId, BTreeSet<Item>> = BTreeMap::new();
		let bytes = match fs::read(&path) {
			Ok(bytes) => bytes,
			Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
			Err(e) => return Err(e),
		};
		for mut note in bytes.chunks_exact(NOTE) {
			// A note that does not decode was never written whole: skip it.
			if let Ok((job, item)) = <(JobId, Item)>::decode(&mut note) {
				jobs.entry(job).or_default().insert(item);
			}
		}
		let mut holders: BTreeMap<Item, u32> = BTreeMap::new();
		for item in jobs.values().flatten() {
			*holders.entry(*item).or_default() += 1;
		}
		// The log is appended to as it is: only a torn last note is cut off, so later notes
		// stay aligned.
		let logged = bytes.len() / NOTE;
		let log = fs::OpenOptions::new().append(true).create(true).open(&path)?;
		if bytes.len() % NOTE != 0 {
			log.set_len((logged * NOTE) as u64)?;
		}
		Ok(Self { log, path, logged, jobs, holders })
	}

	/// Writes `jobs` to a new log at `path` and returns it, open to append to.
	fn create(path: &PathBuf, jobs: &BTreeMap<JobId, BTreeSet<Item>>) -> io::Result<fs::File> {
		let mut bytes = Vec::with_capacity(jobs.values().map(BTreeSet::len).sum::<usize>() * NOTE);
		for (job, items) in jobs {
			for item in items {
				(job, item).encode_to(&mut bytes);
			}
		}
		let mut tmp = path.as_os_str().to_owned();
		tmp.push(".tmp");
		fs::write(&tmp, &bytes)?;
		fs::rename(&tmp, path)?;
		fs::OpenOptions::new().append(true).open(path)
	}

	/// Notes that `item` is stored for `job` (before it is fetched or stored).
	///
	/// # Errors
	/// If the note cannot be written; it is then not held either.
	pub fn note(&mut self, job: JobId, item: Item) -> io::Result<()> {
		if !self.jobs.entry(job).or_default().insert(item) {
			return Ok(());
		}
		if let Err(e) = self.log.write_all(&(job, item).encode()) {
			if let Some(items) = self.jobs.get_mut(&job) {
				items.remove(&item);
			}
			// Whatever part of the note was written goes, so the next ones stay aligned.
			let _ = self.log.set_len((self.logged * NOTE) as u64);
			return Err(e);
		}
		*self.holders.entry(item).or_default() += 1;
		self.logged += 1;
		Ok(())
	}

	/// Forgets `job` and returns the items no other job holds, for the caller to remove from
	/// the store. The log is written anew once most of its notes are no longer held.
	///
	/// # Errors
	/// If the log cannot be written anew; the job is forgotten all the same (a later release
	/// tries again), and its items are still returned.
	pub fn release(&mut self, job: JobId) -> (Vec<Item>, io::Result<()>) {
		let Some(items) = self.jobs.remove(&job) else { return (Vec::new(), Ok(())) };
		let mut unheld = Vec::new();
		for item in items {
			let holders = self.holders.entry(item).or_default();
			*holders = holders.saturating_sub(1);
			if *holders == 0 {
				self.holders.remove(&item);
				unheld.push(item);
			}
		}
		let live: usize = self.jobs.values().map(BTreeSet::len).sum();
		let mut written = Ok(());
		if self.logged > 2 * live + COMPACT_FLOOR {
			written = Self::create(&self.path, &self.jobs).map(|log| {
				self.log = log;
				self.logged = live;
			});
		}
		(unheld, written)
	}

	/// The jobs with notes.
	pub fn jobs(&self) -> impl Iterator<Item = JobId> + '_ {
		self.jobs.keys().copied()
	}
}

/// Removes from `store` what `kept` held only for `job`, whose record the chain has removed:
/// nobody can ask for it by the job any more. Failures are logged: an item that cannot be
/// removed only stays.
pub fn drop_job(kept: &Mutex<Kept>, store: &Store, job: JobId) {
	let (items, written) = kept.lock().expect("not poisoned qed").release(job);
	if let Err(e) = written {
		tracing::warn!(error = %e, "cannot write down what the store keeps for each job");
	}
	if items.is_empty() {
		return;
	}
	let mut removed = 0;
	for item in &items {
		let done = match item {
			Item::Blob(id) => store.remove(id),
			Item::Inputs(root) => store.remove_inputs(root),
		};
		match done {
			Ok(()) => removed += 1,
			Err(e) => tracing::warn!(job, ?item, error = %e, "cannot remove from the store"),
		}
	}
	tracing::info!(job, removed, "the job's record was removed from the chain; its content too");
}

/// [`drop_job`] on a blocking thread, as removing a large job's files takes a while.
pub fn spawn_drop_job(kept: &Arc<Mutex<Kept>>, store: &Store, job: JobId) {
	let (kept, store) = (kept.clone(), store.clone());
	tokio::task::spawn_blocking(move || drop_job(&kept, &store, job));
}

/// Drops what `kept` holds for jobs whose record the chain removed while this process was
/// not following it (stopped, or away longer than the blocks it catches up on).
pub async fn drop_pruned(kept: &Mutex<Kept>, store: &Store, chain: &ccgsc_chain::Chain) {
	let jobs: Vec<JobId> = kept.lock().expect("not poisoned qed").jobs().collect();
	for job in jobs {
		match chain.job_pruned(job).await {
			Ok(true) => drop_job(kept, store, job),
			Ok(false) => {},
			Err(e) => {
				tracing::debug!(error = %e, "cannot tell which jobs' records were removed");
				return;
			},
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn blob(n: u8) -> Item {
		Item::Blob(ContentId([n; 32]))
	}

	#[test]
	fn every_note_has_the_same_size() {
		assert_eq!(<(JobId, Item)>::max_encoded_len(), NOTE);
		assert_eq!((u64::MAX, blob(1)).encode().len(), NOTE);
		assert_eq!((0u64, Item::Inputs([0; 32])).encode().len(), NOTE);
	}

	#[test]
	fn an_item_goes_with_the_last_job_that_noted_it() {
		let dir = tempfile::tempdir().unwrap();
		let mut kept = Kept::open(dir.path().join("kept")).unwrap();
		let module = blob(1);
		for (job, input) in [(1, blob(2)), (2, blob(3))] {
			kept.note(job, module).unwrap();
			kept.note(job, Item::Inputs([job as u8; 32])).unwrap();
			kept.note(job, input).unwrap();
		}
		let (gone, written) = kept.release(1);
		written.unwrap();
		assert_eq!(gone, vec![blob(2), Item::Inputs([1; 32])], "the module is job 2's too");
		let (gone, _) = kept.release(2);
		assert_eq!(gone, vec![module, blob(3), Item::Inputs([2; 32])]);
		assert_eq!(kept.release(2).0, vec![], "a job released twice frees nothing more");
	}

	#[test]
	fn notes_outlive_a_restart_and_a_torn_last_note_is_ignored() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("kept");
		let mut kept = Kept::open(&path).unwrap();
		kept.note(7, blob(1)).unwrap();
		kept.note(7, blob(1)).unwrap();
		kept.note(8, blob(2)).unwrap();
		drop(kept);
		assert_eq!(fs::read(&path).unwrap().len(), 2 * NOTE, "a note already held is not written");
		// The power failed halfway through a third note.
		let mut torn = fs::OpenOptions::new().append(true).open(&path).unwrap();
		torn.write_all(&(9u64, blob(3)).encode()[..NOTE / 2]).unwrap();
		drop(torn);
		let mut kept = Kept::open(&path).unwrap();
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![7, 8]);
		kept.note(9, blob(3)).unwrap();
		drop(kept);
		let mut kept = Kept::open(&path).unwrap();
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![7, 8, 9]);
		assert_eq!(kept.release(8).0, vec![blob(2)]);
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![7, 9]);
	}

	#[test]
	fn the_log_is_written_anew_once_most_of_it_is_released() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("kept");
		let mut kept = Kept::open(&path).unwrap();
		kept.note(1, blob(0)).unwrap();
		kept.note(3, blob(0)).unwrap();
		let many = COMPACT_FLOOR + 8;
		for n in 0..many as u32 {
			kept.note(2, Item::Inputs(ContentId::of(&n.to_le_bytes()).0)).unwrap();
		}
		// A small release leaves its notes in the log: a restart reads them back, and
		// releasing the job again frees nothing another job holds.
		assert_eq!(kept.release(1).0, vec![], "job 3 holds the blob");
		assert_eq!(fs::read(&path).unwrap().len(), (many + 2) * NOTE);
		drop(kept);
		let mut kept = Kept::open(&path).unwrap();
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![1, 2, 3]);
		assert_eq!(kept.release(1).0, vec![]);
		// Once most of the log is released, it is written anew with what is held.
		assert_eq!(kept.release(2).0.len(), many);
		assert_eq!(fs::read(&path).unwrap().len(), NOTE);
		drop(kept);
		assert_eq!(Kept::open(&path).unwrap().jobs().collect::<Vec<_>>(), vec![3]);
	}
}
