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
//!
//! **Memory.** A busy worker holds notes for a week of tasks, so in memory each note is only
//! a 64-bit fingerprint of its item (per job, and a count of the jobs holding each
//! fingerprint), and each job has the stretch of the log its notes lie in (they are written
//! while it runs). Releasing jobs reads their items back from that stretch, once for all the
//! jobs released together. Two items with the same fingerprint count as one: one of them may
//! then stay in the store for good, but nothing is ever removed while a job still holds it.
//! `cargo bench -p ccgsc-worker --bench kept` measures a week of one core at a task every two
//! seconds: about 41 bytes of memory a note (24 MiB), 0.2 ms to release one job, 0.35 s to
//! release all of them at once.

use std::{
	collections::{BTreeMap, BTreeSet},
	fs,
	io::{self, BufReader, Read, Seek, SeekFrom, Write},
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

/// What memory holds of an item: 64 bits of its hash, the lowest telling its kind.
type Print = u64;

impl Item {
	fn print(&self) -> Print {
		let (hash, kind) = match self {
			Item::Blob(id) => (&id.0, 0),
			Item::Inputs(root) => (root, 1),
		};
		let mut bytes = [0; 8];
		bytes.copy_from_slice(&hash[..8]);
		u64::from_le_bytes(bytes) & !1 | kind
	}
}

/// The whole notes in the log at `path` from the `from`th on, up to `to` (excluded), each with
/// its place in the log; a torn last note is left out.
fn read_notes(
	path: &PathBuf,
	(from, to): (usize, usize),
	mut each: impl FnMut(usize, JobId, Item),
) -> io::Result<()> {
	let mut file = fs::File::open(path)?;
	file.seek(SeekFrom::Start((from * NOTE) as u64))?;
	let mut reader = BufReader::with_capacity(1 << 16, file);
	let mut note = [0; NOTE];
	for at in from..to {
		match reader.read_exact(&mut note) {
			Ok(()) => {},
			Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
			Err(e) => return Err(e),
		}
		// A note that does not decode was never written whole: skip it.
		if let Ok((job, item)) = <(JobId, Item)>::decode(&mut &note[..]) {
			each(at, job, item);
		}
	}
	Ok(())
}

/// What memory holds of one job's notes.
#[derive(Debug)]
struct Noted {
	/// Its items, by fingerprint.
	prints: BTreeSet<Print>,
	/// Where its first note and the note after its last lie in the log: releasing it reads
	/// only these, written while it ran.
	span: (usize, usize),
}

impl Noted {
	fn at(at: usize) -> Self {
		Self { prints: BTreeSet::new(), span: (at, at + 1) }
	}

	fn add(&mut self, at: usize, print: Print) {
		self.span.1 = self.span.1.max(at + 1);
		self.prints.insert(print);
	}
}

/// Which job each stored item was fetched or produced for, mirrored in a log file.
#[derive(Debug)]
pub struct Kept {
	path: PathBuf,
	log: fs::File,
	/// Notes in the log, held or not.
	logged: usize,
	jobs: BTreeMap<JobId, Noted>,
	/// How many jobs hold each fingerprint.
	holders: BTreeMap<Print, u32>,
}

impl Kept {
	/// Reads the notes in `path` (none if there is no such file) and opens it for more.
	///
	/// # Errors
	/// If the file cannot be read or opened.
	pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
		let path = path.into();
		let log = fs::OpenOptions::new().append(true).create(true).open(&path)?;
		// The log is appended to as it is: only a torn last note is cut off, so later notes
		// stay aligned.
		let len = log.metadata()?.len() as usize;
		let logged = len / NOTE;
		if !len.is_multiple_of(NOTE) {
			log.set_len((logged * NOTE) as u64)?;
		}
		let jobs = Self::read_jobs(&path, logged)?;
		let mut holders: BTreeMap<Print, u32> = BTreeMap::new();
		for print in jobs.values().flat_map(|noted| &noted.prints) {
			*holders.entry(*print).or_default() += 1;
		}
		Ok(Self { log, path, logged, jobs, holders })
	}

	/// The jobs noted in the first `logged` notes of the log at `path`.
	fn read_jobs(path: &PathBuf, logged: usize) -> io::Result<BTreeMap<JobId, Noted>> {
		let mut jobs: BTreeMap<JobId, Noted> = BTreeMap::new();
		read_notes(path, (0, logged), |at, job, item| {
			jobs.entry(job).or_insert_with(|| Noted::at(at)).add(at, item.print());
		})?;
		Ok(jobs)
	}

	/// Writes the notes still held to a new log and swaps it for the old one.
	fn compact(&mut self) -> io::Result<()> {
		let mut bytes = Vec::new();
		let mut written: BTreeSet<(JobId, Print)> = BTreeSet::new();
		let mut spans: BTreeMap<JobId, (usize, usize)> = BTreeMap::new();
		read_notes(&self.path, (0, self.logged), |_, job, item| {
			let print = item.print();
			let live = self.jobs.get(&job).is_some_and(|noted| noted.prints.contains(&print));
			if live && written.insert((job, print)) {
				let at = written.len() - 1;
				spans.entry(job).or_insert((at, at + 1)).1 = at + 1;
				(job, item).encode_to(&mut bytes);
			}
		})?;
		let mut tmp = self.path.as_os_str().to_owned();
		tmp.push(".tmp");
		fs::write(&tmp, &bytes)?;
		let log = fs::OpenOptions::new().append(true).open(&tmp)?;
		fs::rename(&tmp, &self.path)?;
		self.log = log;
		self.logged = written.len();
		for (job, noted) in &mut self.jobs {
			noted.span = spans.get(job).copied().unwrap_or((0, 0));
		}
		Ok(())
	}

	/// Notes that `item` is stored for `job` (before it is fetched or stored).
	///
	/// # Errors
	/// If the note cannot be written; it is then not held either.
	pub fn note(&mut self, job: JobId, item: Item) -> io::Result<()> {
		let (print, at) = (item.print(), self.logged);
		if self.jobs.get(&job).is_some_and(|noted| noted.prints.contains(&print)) {
			return Ok(());
		}
		if let Err(e) = self.log.write_all(&(job, item).encode()) {
			// Whatever part of the note was written goes, so the next ones stay aligned.
			let _ = self.log.set_len((self.logged * NOTE) as u64);
			return Err(e);
		}
		self.jobs.entry(job).or_insert_with(|| Noted::at(at)).add(at, print);
		*self.holders.entry(print).or_default() += 1;
		self.logged += 1;
		Ok(())
	}

	/// Forgets `jobs` and returns the items no other job holds, for the caller to remove from
	/// the store (read back from the log, one pass over the part written while they ran). The
	/// log is written anew once most of its notes are no longer held.
	///
	/// # Errors
	/// If the log cannot be read, the jobs are forgotten all the same and their items stay in
	/// the store for good; if it cannot be written anew, a later release tries again.
	pub fn release(&mut self, jobs: &[JobId]) -> (Vec<Item>, io::Result<()>) {
		let mut unheld: BTreeMap<JobId, BTreeSet<Print>> = BTreeMap::new();
		let mut span = (usize::MAX, 0);
		for job in jobs {
			let Some(noted) = self.jobs.remove(job) else { continue };
			for print in noted.prints {
				let holders = self.holders.entry(print).or_default();
				*holders = holders.saturating_sub(1);
				if *holders == 0 {
					self.holders.remove(&print);
					unheld.entry(*job).or_default().insert(print);
					span = (span.0.min(noted.span.0), span.1.max(noted.span.1));
				}
			}
		}
		let mut items = Vec::new();
		let mut done = Ok(());
		if !unheld.is_empty() {
			done = read_notes(&self.path, span, |_, job, item| {
				// Each item once, even if the log holds its note twice.
				if unheld.get_mut(&job).is_some_and(|prints| prints.remove(&item.print())) {
					items.push(item);
				}
			});
		}
		let live: usize = self.jobs.values().map(|noted| noted.prints.len()).sum();
		if done.is_ok() && self.logged > 2 * live + COMPACT_FLOOR {
			done = self.compact();
		}
		(items, done)
	}

	/// The jobs with notes.
	pub fn jobs(&self) -> impl Iterator<Item = JobId> + '_ {
		self.jobs.keys().copied()
	}
}

/// The notes of a directory no worker holds (the CLI's, the portal's): `dir/kept`, held by
/// one process at a time through `dir/kept.lock` ([`crate::hold`]), so two processes on one
/// directory never rewrite each other's log.
#[derive(Debug)]
pub struct Held {
	/// The notes.
	pub kept: Arc<Mutex<Kept>>,
	/// Locked while this lives.
	_lock: fs::File,
}

impl Held {
	/// The notes under `dir`, or `None` if another process holds them.
	///
	/// # Errors
	/// If the lock or the log cannot be made or read (the error names the file).
	pub fn open(dir: &std::path::Path) -> io::Result<Option<Self>> {
		let named = |path: PathBuf| {
			move |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()))
		};
		let path = dir.join("kept.lock");
		let Some(lock) = crate::hold(&path).map_err(named(path))? else { return Ok(None) };
		let path = dir.join("kept");
		let kept = Kept::open(&path).map_err(named(path))?;
		Ok(Some(Self { kept: Arc::new(Mutex::new(kept)), _lock: lock }))
	}
}

/// Removes from `store` what `kept` held only for `jobs`, whose records the chain has
/// removed: nobody can ask for it by those jobs any more. Failures are logged: an item that
/// cannot be removed only stays.
pub fn drop_jobs(kept: &Mutex<Kept>, store: &Store, jobs: &[JobId]) {
	let (items, done) = kept.lock().expect("not poisoned qed").release(jobs);
	if let Err(e) = done {
		tracing::warn!(error = %e, "cannot read or write down what the store keeps for each job");
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
			Err(e) => tracing::warn!(?item, error = %e, "cannot remove from the store"),
		}
	}
	match jobs {
		[job] => tracing::info!(
			job,
			removed,
			"the job's record was removed from the chain; its content too"
		),
		_ => tracing::info!(
			jobs = jobs.len(),
			removed,
			"the jobs' records were removed from the chain; their content too"
		),
	}
}

/// [`drop_jobs`] of one job on a blocking thread, as reading the log and removing a large
/// job's files takes a while.
pub fn spawn_drop_job(kept: &Arc<Mutex<Kept>>, store: &Store, job: JobId) {
	let (kept, store) = (kept.clone(), store.clone());
	tokio::task::spawn_blocking(move || drop_jobs(&kept, &store, &[job]));
}

/// Drops what `kept` holds for jobs whose record the chain removed while this process was
/// not following it (stopped, or away longer than the blocks it catches up on), asking the
/// chain about all of them at once ([`ccgsc_chain::Chain::jobs_pruned`]). If the node cannot
/// be asked, nothing is dropped: the next start asks again.
pub async fn drop_pruned(kept: &Mutex<Kept>, store: &Store, chain: &ccgsc_chain::Chain) {
	let jobs: Vec<JobId> = kept.lock().expect("not poisoned qed").jobs().collect();
	match chain.jobs_pruned(&jobs).await {
		Ok(pruned) if pruned.is_empty() => {},
		Ok(pruned) => drop_jobs(kept, store, &pruned),
		Err(e) => tracing::debug!(error = %e, "cannot tell which jobs' records were removed"),
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn blob(n: u8) -> Item {
		Item::Blob(ContentId([n; 32]))
	}

	/// What releasing `jobs` frees, in order.
	fn release(kept: &mut Kept, jobs: &[JobId]) -> Vec<Item> {
		let (mut items, done) = kept.release(jobs);
		done.unwrap();
		items.sort();
		items
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
		let gone = release(&mut kept, &[1]);
		assert_eq!(gone, vec![blob(2), Item::Inputs([1; 32])], "the module is job 2's too");
		let gone = release(&mut kept, &[2]);
		assert_eq!(gone, vec![module, blob(3), Item::Inputs([2; 32])]);
		assert_eq!(release(&mut kept, &[2]), vec![], "a job released twice frees nothing more");
	}

	#[test]
	fn jobs_released_together_free_each_item_once() {
		let dir = tempfile::tempdir().unwrap();
		let mut kept = Kept::open(dir.path().join("kept")).unwrap();
		for job in [1, 2, 3] {
			kept.note(job, blob(9)).unwrap();
			kept.note(job, blob(job as u8)).unwrap();
		}
		// A blob and an input list with the same hash are different items.
		kept.note(3, Item::Inputs([1; 32])).unwrap();
		assert_eq!(release(&mut kept, &[1, 2, 7]), vec![blob(1), blob(2)], "job 3 holds blob 9");
		assert_eq!(release(&mut kept, &[3]), vec![blob(3), blob(9), Item::Inputs([1; 32])]);
		assert_eq!(kept.jobs().count(), 0);
	}

	#[test]
	fn a_job_s_items_are_found_among_others_noted_meanwhile_and_after_the_log_is_written_anew() {
		let dir = tempfile::tempdir().unwrap();
		let mut kept = Kept::open(dir.path().join("kept")).unwrap();
		// Jobs 1 and 2 run side by side; job 3 starts later and is still held when the log
		// is written anew.
		for n in 0..10u8 {
			kept.note(1, blob(n)).unwrap();
			kept.note(2, blob(100 + n)).unwrap();
		}
		kept.note(3, blob(200)).unwrap();
		kept.note(1, blob(201)).unwrap();
		kept.note(3, blob(202)).unwrap();
		let mut of_one: Vec<Item> = (0..10).map(blob).collect();
		of_one.push(blob(201));
		assert_eq!(release(&mut kept, &[1]), of_one);
		let many = COMPACT_FLOOR + 64;
		for n in 0..many as u32 {
			kept.note(4, Item::Inputs(ContentId::of(&n.to_le_bytes()).0)).unwrap();
		}
		assert_eq!(release(&mut kept, &[4]).len(), many);
		assert_eq!(kept.logged, 12, "written anew with the notes of jobs 2 and 3");
		assert_eq!(release(&mut kept, &[3]), vec![blob(200), blob(202)]);
		assert_eq!(release(&mut kept, &[2]), (100..110).map(blob).collect::<Vec<_>>());
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
		assert_eq!(release(&mut kept, &[8]), vec![blob(2)]);
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
		assert_eq!(release(&mut kept, &[1]), vec![], "job 3 holds the blob");
		assert_eq!(fs::read(&path).unwrap().len(), (many + 2) * NOTE);
		drop(kept);
		let mut kept = Kept::open(&path).unwrap();
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![1, 2, 3]);
		assert_eq!(release(&mut kept, &[1]), vec![]);
		// Once most of the log is released, it is written anew with what is held.
		assert_eq!(release(&mut kept, &[2]).len(), many);
		assert_eq!(fs::read(&path).unwrap().len(), NOTE);
		drop(kept);
		let mut kept = Kept::open(&path).unwrap();
		assert_eq!(kept.jobs().collect::<Vec<_>>(), vec![3]);
		assert_eq!(release(&mut kept, &[3]), vec![blob(0)], "the new log holds the whole item");
	}
}
