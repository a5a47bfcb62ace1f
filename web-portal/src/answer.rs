//! What the accepted outputs of a built-in workload's job add up to, so a poster sees the
//! answer and not only bytes: the primes a `primes` job counted, the password a `pwhash` job
//! found, and the product `C` whose bands a `matmul` job's tasks computed (served whole by
//! `GET /api/jobs/{id}/product`). (A `mandelbrot` job's answer is its image, which the page
//! draws from the tile layout.)
//!
//! An answer is read from the outputs the portal holds: one it has not fetched yet counts as
//! not read. A result accepted while its audit window is open may still be overturned, so an
//! answer that rests on one says `provisional`.

use std::{
	collections::HashMap,
	sync::{Arc, Mutex},
};

use ccgsc_p2p::Store;
use ccgsc_primitives::{ContentId, Hash, TaskIndex};
use serde::Serialize;

use crate::view::TaskView;

/// What a job's accepted outputs add up to.
#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Answer {
	/// A prime count (`primes`).
	Primes {
		/// The primes in the ranges counted so far.
		count: u64,
		/// Tasks whose accepted output is counted.
		counted: u32,
		/// Some counted output may still be overturned by its audit.
		provisional: bool,
	},
	/// A password search (`pwhash`).
	Password {
		/// The password, once a task has found it.
		found: Option<Found>,
		/// Tasks whose accepted output says whether their range holds the password.
		searched: u32,
		/// Tasks that ended without searching their range (trapped, out of work, ...).
		failed: u32,
	},
	/// A matrix product (`matmul`): `C`, `rows × cols` little-endian f32, row-major, one band
	/// of rows per task.
	Product {
		/// Rows of `C`: the bands' rows together.
		rows: u64,
		/// Columns of `C`.
		cols: u32,
		/// Bands accepted whose output the portal holds.
		bands: u32,
		/// Every band is accepted and here, so `GET /api/jobs/{id}/product` serves `C`.
		complete: bool,
		/// Some band held here may still be overturned by its audit.
		provisional: bool,
	},
}

/// The key a password search found.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct Found {
	/// The key, as the task's output gives it.
	pub(crate) key: u64,
	/// The password: the key in decimal, zero-padded to the search's digits (`None` if the
	/// portal does not hold the task's input, which says how many digits).
	pub(crate) password: Option<String>,
	/// The task whose range held it.
	pub(crate) task: TaskIndex,
	/// Its result's audit window is still open.
	pub(crate) provisional: bool,
}

/// What answers are computed from, remembered across the views of a job: outputs and inputs
/// do not change under their content ids and input roots.
#[derive(Default)]
pub(crate) struct Memory {
	/// The counts `primes` outputs begin with, `None` for bytes that are not an output of the
	/// task.
	counts: Mutex<HashMap<ContentId, Option<u64>>>,
	/// Decoded `pwhash` outputs: the key found or none, `None` for bytes that are not an
	/// output of the task.
	searches: Mutex<HashMap<ContentId, Option<Option<u64>>>>,
	/// The digits of the passwords a `pwhash` task tried, by inputs root and task.
	digits: Mutex<HashMap<(Hash, TaskIndex), u32>>,
	/// The bands of `matmul` jobs, by inputs root.
	bands: Mutex<HashMap<Hash, Arc<Bands>>>,
}

/// The shape of a `matmul` job: each task's rows of `C`, and the columns all share.
#[derive(Debug, PartialEq)]
struct Bands {
	rows: Vec<u32>,
	cols: u32,
}

/// Whether a task's result is accepted and says the task ran to its end.
fn succeeded(task: &TaskView) -> bool {
	task.state == "accepted" && task.outcome.as_deref() == Some("Success")
}

/// The answer of a job of the built-in `workload` whose inputs are under `root`, from the
/// tasks' views; `None` for a workload without one, or a `matmul` job whose inputs the
/// portal does not hold or that do not make one matrix. Reads the store: call it off the
/// async runtime.
pub(crate) fn of(
	workload: &str,
	root: &Hash,
	tasks: &[TaskView],
	store: &Store,
	memory: &Memory,
) -> Option<Answer> {
	match workload {
		"primes" => Some(primes(tasks, store, memory)),
		"pwhash" => Some(password(root, tasks, store, memory)),
		"matmul" => product(root, tasks, store, memory),
		_ => None,
	}
}

fn primes(tasks: &[TaskView], store: &Store, memory: &Memory) -> Answer {
	let (mut count, mut counted, mut provisional) = (0, 0, false);
	for task in tasks {
		let Some(output) = task.output.filter(|_| succeeded(task) && task.kept) else { continue };
		if let Some(Some(n)) = prime_count(&output, store, memory) {
			count += n;
			counted += 1;
			provisional |= task.provisional;
		}
	}
	Answer::Primes { count, counted, provisional }
}

/// What `read` gives for `key`, remembered in `memo` once it gives something (`None`: it cannot
/// be read now, say an output not fetched yet, and is asked again next time).
fn remembered<K: std::hash::Hash + Eq, T: Copy>(
	memo: &Mutex<HashMap<K, T>>,
	key: K,
	read: impl FnOnce() -> Option<T>,
) -> Option<T> {
	if let Some(value) = memo.lock().expect("answer memory lock poisoned").get(&key) {
		return Some(*value);
	}
	let value = read()?;
	memo.lock().expect("answer memory lock poisoned").insert(key, value);
	Some(value)
}

/// The count output `id` of a prime count begins with (see [`Memory::counts`]), or `None`
/// if it cannot be read now. Reads only the first chunk: a listing output can be large.
fn prime_count(id: &ContentId, store: &Store, memory: &Memory) -> Option<Option<u64>> {
	remembered(&memory.counts, *id, || {
		let head = store.read_chunks(id, 0, 1).ok()??;
		Some(head.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes))
	})
}

fn password(root: &Hash, tasks: &[TaskView], store: &Store, memory: &Memory) -> Answer {
	let (mut found, mut searched, mut failed) = (None, 0, 0);
	for task in tasks {
		if task.state == "failed" || (task.state == "accepted" && !succeeded(task)) {
			failed += 1;
			continue;
		}
		let Some(output) = task.output.filter(|_| succeeded(task) && task.kept) else { continue };
		let Some(decoded) = search_result(&output, store, memory) else { continue };
		match decoded {
			None => failed += 1,
			Some(key) => {
				searched += 1;
				if let (Some(key), None) = (key, &found) {
					found = Some(Found {
						key,
						password: digits(root, task.index, store, memory)
							.map(|d| ccgsc_tasks::pwhash::password(key, d)),
						task: task.index,
						provisional: task.provisional,
					});
				}
			},
		}
	}
	Answer::Password { found, searched, failed }
}

/// The decoded output `id` of a password search (see [`Memory::searches`]), or `None` if it
/// cannot be read now.
fn search_result(id: &ContentId, store: &Store, memory: &Memory) -> Option<Option<Option<u64>>> {
	remembered(&memory.searches, *id, || {
		Some(ccgsc_tasks::pwhash::found(&store.get(id).ok()??).ok())
	})
}

/// The digits of the passwords task `index` of the inputs under `root` tried (see
/// [`Memory::digits`]), or `None` if the portal does not hold that input.
fn digits(root: &Hash, index: TaskIndex, store: &Store, memory: &Memory) -> Option<u32> {
	remembered(&memory.digits, (*root, index), || {
		let input = store.inputs(root).ok()??.get(index as usize).copied()?;
		let bytes = store.get(&input).ok()??;
		Some(ccgsc_tasks::pwhash::decode(&bytes).ok()?.digits)
	})
}

fn product(root: &Hash, tasks: &[TaskView], store: &Store, memory: &Memory) -> Option<Answer> {
	let bands = bands(root, store, memory)?;
	if bands.rows.len() != tasks.len() {
		return None;
	}
	let here = |task: &TaskView, rows: u32| {
		succeeded(task)
			&& task.kept
			&& task.output_len == Some(u64::from(rows) * u64::from(bands.cols) * 4)
	};
	let held: Vec<&TaskView> =
		tasks.iter().zip(&bands.rows).filter(|(t, rows)| here(t, **rows)).map(|(t, _)| t).collect();
	Some(Answer::Product {
		rows: bands.rows.iter().map(|&r| u64::from(r)).sum(),
		cols: bands.cols,
		bands: held.len() as u32,
		complete: held.len() == tasks.len(),
		provisional: held.iter().any(|t| t.provisional),
	})
}

/// The bands of the `matmul` inputs under `root`, read from each input's header; `None` if
/// the portal does not hold them all, or they disagree on the columns.
fn bands(root: &Hash, store: &Store, memory: &Memory) -> Option<Arc<Bands>> {
	if let Some(bands) = memory.bands.lock().expect("bands lock poisoned").get(root) {
		return Some(bands.clone());
	}
	let mut rows = Vec::new();
	let mut cols = None;
	for input in store.inputs(root).ok()?? {
		let head = store.read_chunks(&input, 0, 1).ok()??;
		let (r, _, c) = ccgsc_tasks::matmul::shape(&head).ok()?;
		if *cols.get_or_insert(c) != c {
			return None;
		}
		rows.push(r);
	}
	let bands = Arc::new(Bands { rows, cols: cols? });
	memory.bands.lock().expect("bands lock poisoned").insert(*root, bands.clone());
	Some(bands)
}

#[cfg(test)]
mod tests {
	use super::*;

	fn task(index: TaskIndex, state: &'static str, outcome: &str, output: &[u8]) -> TaskView {
		TaskView {
			index,
			state,
			skipped: None,
			failed: None,
			provisional: false,
			outcome: Some(outcome.into()),
			output: Some(ContentId::of(output)),
			output_len: Some(output.len() as u64),
			kept: true,
			replicas: 2,
		}
	}

	/// The workload `name` made from `params` with its inputs and every output in `store`,
	/// and a view of each task as accepted.
	fn run_all(
		store: &Store,
		name: &str,
		params: serde_json::Value,
		run: ccgsc_tasks::Task,
	) -> (Hash, Vec<TaskView>) {
		let made = ccgsc_task_modules::workloads::make(name, params).unwrap();
		let ids: Vec<_> = made.inputs.iter().map(|i| store.put(i).unwrap()).collect();
		let root = store.put_inputs(&ids).unwrap();
		let tasks = made
			.inputs
			.iter()
			.enumerate()
			.map(|(i, input)| {
				let output = run(input, &[]).unwrap();
				store.put(&output).unwrap();
				task(i as u32, "accepted", "Success", &output)
			})
			.collect();
		(root, tasks)
	}

	#[test]
	fn a_prime_count_adds_up_the_counted_ranges() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let params = serde_json::json!({"limit": 1000, "tasks": 3, "list": true});
		let (_, mut tasks) = run_all(&store, "primes", params, ccgsc_tasks::primes::run);
		let memory = Memory::default();
		let answer = of("primes", &[0; 32], &tasks, &store, &memory).unwrap();
		assert_eq!(answer, Answer::Primes { count: 168, counted: 3, provisional: false });
		tasks[2].kept = false;
		tasks[1].provisional = true;
		let answer = of("primes", &[0; 32], &tasks, &store, &memory).unwrap();
		let below_668 = 121;
		assert_eq!(answer, Answer::Primes { count: below_668, counted: 2, provisional: true });
	}

	#[test]
	fn a_password_search_names_the_key_its_task_found_with_the_searchs_digits() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let params = serde_json::json!({"digits": 4, "tasks": 3, "secret": 42, "iterations": 1});
		let (root, mut tasks) = run_all(&store, "pwhash", params, ccgsc_tasks::pwhash::run);
		let memory = Memory::default();
		tasks[1] = task(1, "failed", "WorkLimitExceeded", b"");
		let answer = of("pwhash", &root, &tasks, &store, &memory).unwrap();
		let found = Found { key: 42, password: Some("0042".into()), task: 0, provisional: false };
		assert_eq!(answer, Answer::Password { found: Some(found), searched: 2, failed: 1 });

		// Not found in what was searched, and an output not held yet is not read.
		tasks[0].kept = false;
		let answer = of("pwhash", &root, &tasks, &store, &memory).unwrap();
		assert_eq!(answer, Answer::Password { found: None, searched: 1, failed: 1 });
	}

	#[test]
	fn a_matrix_product_is_complete_when_every_band_of_the_right_size_is_here() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let params = serde_json::json!({"n": 8, "tiles": 2});
		let (root, mut tasks) = run_all(&store, "matmul", params, ccgsc_tasks::matmul::run);
		let memory = Memory::default();
		tasks[1].provisional = true;
		let answer = of("matmul", &root, &tasks, &store, &memory).unwrap();
		assert_eq!(
			answer,
			Answer::Product { rows: 8, cols: 8, bands: 2, complete: true, provisional: true }
		);

		tasks[1].output_len = Some(4);
		tasks[0].state = "revealed";
		let answer = of("matmul", &root, &tasks, &store, &memory).unwrap();
		assert_eq!(
			answer,
			Answer::Product { rows: 8, cols: 8, bands: 0, complete: false, provisional: false }
		);
	}

	#[test]
	fn a_matmul_job_whose_inputs_are_not_here_or_make_no_matrix_has_no_answer() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let memory = Memory::default();
		assert_eq!(of("matmul", &[7; 32], &[], &store, &memory), None);
		let bands = [
			ccgsc_tasks::matmul::input(1, 1, 2, &[1.0], &[1.0, 2.0]),
			ccgsc_tasks::matmul::input(1, 1, 3, &[1.0], &[1.0, 2.0, 3.0]),
		];
		let ids: Vec<_> = bands.iter().map(|i| store.put(i).unwrap()).collect();
		let root = store.put_inputs(&ids).unwrap();
		assert_eq!(of("matmul", &root, &[], &store, &memory), None, "columns disagree");
		assert_eq!(of("mandelbrot", &root, &[], &store, &memory), None);
	}
}
