//! Run: `cargo bench -p ccgsc-worker --bench kept` (`CCGSC_BENCH_TASKS`, default 302 400).
//!
//! What a worker's [`Kept`] notes cost, for a week of one busy core: a task every two seconds
//! (302 400 tasks), in jobs of 64 tasks that share one module, each job with its input list and
//! each task with its input and its output. That is what a worker holds notes for at most,
//! the chain keeping an ended job's record for a week. Printed: the memory the notes take
//! (how much this process's resident memory grew while noting them), the log's size on disk,
//! and how long noting them, reading the log back at start and releasing jobs take (one job,
//! as when the chain prunes it, and all the rest at once, as for a worker back after a week).

use std::time::Instant;

use ccgsc_primitives::ContentId;
use ccgsc_worker::kept::{Item, Kept};

/// This process's resident memory, in bytes (Linux: `/proc/self/statm`, in pages of 4 KiB).
fn resident() -> usize {
	let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux");
	let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm");
	pages * 4096
}

/// Tasks per job.
const TASKS_PER_JOB: u64 = 64;

fn blob(kind: &[u8], n: u64) -> Item {
	Item::Blob(ContentId::of(&[kind, &n.to_le_bytes()].concat()))
}

fn mib(bytes: usize) -> f64 {
	bytes as f64 / f64::from(1 << 20)
}

fn main() {
	let tasks: u64 =
		std::env::var("CCGSC_BENCH_TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(302_400);
	let dir = tempfile::tempdir().expect("a temporary directory");
	let path = dir.path().join("kept");
	let module = blob(b"module", 0);

	let before = resident();
	let started = Instant::now();
	let mut kept = Kept::open(&path).expect("a new log");
	let mut notes = 0u64;
	for task in 0..tasks {
		let job = task / TASKS_PER_JOB;
		if task % TASKS_PER_JOB == 0 {
			kept.note(job, module).expect("noted");
			kept.note(job, Item::Inputs(ContentId::of(&job.to_le_bytes()).0)).expect("noted");
			notes += 2;
		}
		kept.note(job, blob(b"input", task)).expect("noted");
		kept.note(job, blob(b"output", task)).expect("noted");
		notes += 2;
	}
	let noting = started.elapsed();
	let memory = resident().saturating_sub(before);
	drop(kept);

	let started = Instant::now();
	let mut kept = Kept::open(&path).expect("the log reads back");
	let reading = started.elapsed();
	let jobs: Vec<_> = kept.jobs().collect();
	assert_eq!(jobs.len() as u64, tasks.div_ceil(TASKS_PER_JOB), "every job read back");
	let disk = std::fs::metadata(&path).expect("the log").len();

	// The chain prunes the oldest job: its items are read back from the log.
	let started = Instant::now();
	let (items, done) = kept.release(&jobs[..1]);
	done.expect("released");
	let one = started.elapsed();
	assert_eq!(items.len() as u64, 2 * TASKS_PER_JOB + 1, "the job's own items; the module stays");
	// A worker back after a week away: every other job at once.
	let started = Instant::now();
	let (items, done) = kept.release(&jobs[1..]);
	done.expect("released");
	let rest = started.elapsed();
	assert_eq!(items.len() as u64 + 2 * TASKS_PER_JOB + 1, notes - (jobs.len() as u64 - 1));

	println!(
		"{tasks} tasks in {} jobs: {notes} notes, {:.1} MiB in memory ({:.0} bytes a note), \
		 {:.1} MiB on disk",
		tasks.div_ceil(TASKS_PER_JOB),
		mib(memory),
		memory as f64 / notes as f64,
		mib(disk as usize)
	);
	println!(
		"noting them took {:.2} s ({:.1} µs a note, each appended to the log); reading the log \
		 back at start {:.2} s; releasing one job {:.2} ms, all the others at once {:.2} s",
		noting.as_secs_f64(),
		noting.as_secs_f64() * 1e6 / notes as f64,
		reading.as_secs_f64(),
		one.as_secs_f64() * 1e3,
		rest.as_secs_f64()
	);
	println!(
		"report: a worker's notes of what its store keeps, a week of one core at a task every 2 s \
		 | {:.0} MiB in memory, {:.0} MiB on disk |",
		mib(memory),
		mib(disk as usize)
	);
}
