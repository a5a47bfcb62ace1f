//! Keeping the on-disk cache of compiled code within its limit for the whole life of a
//! process.
//!
//! wasmtime's cache worker has a size limit of its own, but in wasmtime 36 a process checks it
//! only once: the check takes a lock file named by the process id and never removes it, so
//! every later check finds the file there and gives up. A worker runs for weeks and meets a
//! new module with every new kind of job, so the executor checks the cache itself after each
//! compilation, at most once per [`Config::with_cache_limit`](crate::Config::with_cache_limit)
//! interval.
//!
//! The cache holds one file per compiled module, named by a hash alone, and beside it its
//! usage statistics (`<hash>.stats`), which wasmtime rewrites whenever the module is loaded
//! from disk: its modification time says when the code was last used (the module's own, if
//! the statistics are not there yet). Every other file wasmtime writes (locks, files being
//! written) has a dot in its name and is left alone.

use std::{
	path::{Path, PathBuf},
	time::SystemTime,
};

/// What a check leaves, in percent of the limit, once it removes anything (as wasmtime's own
/// does), so that not every compilation past the limit removes something.
const KEEP_PERCENT: u64 = 70;

/// One compiled module in the cache.
struct Code {
	path: PathBuf,
	size: u64,
	used: SystemTime,
}

/// Every compiled module under `dir` (two levels: one directory per compiler configuration).
fn list(dir: &Path, into: &mut Vec<Code>) {
	let Ok(entries) = std::fs::read_dir(dir) else { return };
	for entry in entries.flatten() {
		let path = entry.path();
		let Ok(meta) = entry.metadata() else { continue };
		if meta.is_dir() {
			list(&path, into);
			continue;
		}
		if entry.file_name().to_string_lossy().contains('.') {
			continue;
		}
		let used = std::fs::metadata(path.with_extension("stats"))
			.and_then(|stats| stats.modified())
			.or_else(|_| meta.modified())
			.unwrap_or(SystemTime::UNIX_EPOCH);
		into.push(Code { path, size: meta.len(), used });
	}
}

/// If the compiled code under `dir` takes more than `limit` bytes, removes the least recently
/// used until at most [`KEEP_PERCENT`] of `limit` is left, with their statistics. A file that
/// cannot be removed stays, for the next check to try again.
pub(crate) fn trim(dir: &Path, limit: u64) {
	let mut code = Vec::new();
	list(dir, &mut code);
	let total: u64 = code.iter().map(|c| c.size).sum();
	if total <= limit {
		return;
	}
	code.sort_by_key(|c| std::cmp::Reverse(c.used));
	let keep = limit / 100 * KEEP_PERCENT;
	let (mut kept, mut full) = (0u64, false);
	for c in code {
		if !full && kept + c.size <= keep {
			kept += c.size;
			continue;
		}
		// Everything older than the first that does not fit goes too.
		full = true;
		if std::fs::remove_file(&c.path).is_ok() {
			let _ = std::fs::remove_file(c.path.with_extension("stats"));
		}
	}
}
