//! Running one task the way every replica and every checker runs it: the job's fields as the
//! chain holds them, its input and module fetched over libp2p, the same sandbox.
//!
//! Workers and `ccgsc-verifier` share this, so a checker re-executes exactly what a worker
//! executed.

use std::{
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
	time::Duration,
};

use ccgsc_chain::{api, Balance};
use ccgsc_executor::{Determinism, Execution, Executor};
use ccgsc_primitives::{ContentId, Hash, JobId, Limits, TaskIndex};

use crate::kept::{Item, Kept};

/// The fields of a job a task needs, copied out of the chain's types.
#[derive(Clone, Debug)]
pub struct TaskSpec {
	/// The job.
	pub job: JobId,
	/// The module's content id.
	pub module: ContentId,
	/// The root over the tasks' input ids.
	pub inputs_root: Hash,
	/// Arguments every task gets.
	pub args: Vec<String>,
	/// Limits per task.
	pub limits: Limits,
	/// The determinism the job's platform classes call for.
	pub determinism: Determinism,
}

impl TaskSpec {
	/// The spec of job `id` as the chain stores it.
	pub fn from_chain(
		id: JobId,
		job: &api::runtime_types::pallet_jobs::types::Job<ccgsc_chain::AccountId32, Balance, u32>,
	) -> Self {
		let spec = &job.spec;
		let platforms = ccgsc_chain::convert::platforms_back(&spec.platforms);
		Self {
			job: id,
			module: ContentId(spec.module.0),
			inputs_root: spec.inputs_root,
			args: spec.args.0.iter().map(|a| String::from_utf8_lossy(&a.0).into_owned()).collect(),
			limits: Limits {
				work: spec.limits.work,
				memory: spec.limits.memory,
				output: spec.limits.output,
			},
			determinism: Determinism::for_platforms(platforms),
		}
	}
}

/// How running a task went.
#[derive(Debug)]
pub enum Ran {
	/// The sandbox ran it to an outcome (success or the task's own failure).
	Done(Execution),
	/// Its input list, input or module could not be fetched: the outcome
	/// `InputUnavailable`, never slashed.
	InputUnavailable(ccgsc_p2p::Error),
	/// This machine could not run it (the wall-clock guard fired): the runner's own fault,
	/// not the task's; give the task back.
	CannotRun(ccgsc_executor::Error),
}

/// A task's module and input, fetched and checked, ready to run.
#[derive(Debug)]
pub struct Fetched {
	spec: TaskSpec,
	task: TaskIndex,
	module: Vec<u8>,
	input: Vec<u8>,
}

/// Fetches a task's input and module over libp2p and runs it in the sandbox.
#[derive(Clone)]
pub struct Runner {
	p2p: ccgsc_p2p::Client,
	executor: Executor,
	kept: Option<Arc<Mutex<Kept>>>,
}

impl Runner {
	/// A runner fetching through `p2p` and executing on `executor`.
	pub fn new(p2p: ccgsc_p2p::Client, executor: Executor) -> Self {
		Self { p2p, executor, kept: None }
	}

	/// Notes in `kept`, before each fetch, which job the module, the input list and the input
	/// are for, so they can be removed from the store with the job's record.
	pub fn with_kept(mut self, kept: Arc<Mutex<Kept>>) -> Self {
		self.kept = Some(kept);
		self
	}

	/// Notes `item` as stored for `job`, if this runner keeps notes. A note that cannot be
	/// written only means the item stays in the store for good.
	pub fn note(&self, job: JobId, item: Item) {
		let Some(kept) = &self.kept else { return };
		if let Err(e) = kept.lock().expect("not poisoned qed").note(job, item) {
			tracing::warn!(job, ?item, error = %e, "cannot note what the store keeps for the job");
		}
	}

	/// Fetches and runs task `task` of `spec`.
	pub async fn run(&self, spec: &TaskSpec, task: TaskIndex) -> Ran {
		self.execute(self.fetch(spec, task).await).await
	}

	/// Fetches what task `task` of `spec` needs, so a worker can do it while a core is still
	/// busy with the task before.
	///
	/// # Errors
	/// [`Ran::InputUnavailable`] if the input list, the input or the module cannot be had.
	pub async fn fetch(&self, spec: &TaskSpec, task: TaskIndex) -> Result<Fetched, Ran> {
		let input = self.input(spec, task).await.map_err(Ran::InputUnavailable)?;
		self.note(spec.job, Item::Blob(spec.module));
		let module = self.p2p.get(spec.module).await.map_err(Ran::InputUnavailable)?;
		Ok(Fetched { spec: spec.clone(), task, module, input })
	}

	/// Runs a fetched task in the sandbox, on a blocking thread; a failed fetch is passed
	/// through as it is.
	pub async fn execute(&self, fetched: Result<Fetched, Ran>) -> Ran {
		self.execute_until(fetched, Arc::default()).await
	}

	/// [`Runner::execute`], stopped once `stop` is set: the run ends as
	/// [`Ran::CannotRun`] with [`ccgsc_executor::Error::Stopped`] (see
	/// [`Executor::run_until`]). A flag set before the run stops a failed fetch too: a stopped
	/// task has no result, not even `InputUnavailable`.
	pub async fn execute_until(&self, fetched: Result<Fetched, Ran>, stop: Arc<AtomicBool>) -> Ran {
		if stop.load(Ordering::Relaxed) {
			return Ran::CannotRun(ccgsc_executor::Error::Stopped);
		}
		let fetched = match fetched {
			Ok(fetched) => fetched,
			Err(unavailable) => return unavailable,
		};
		let executor = self.executor.clone();
		let run = tokio::task::spawn_blocking(move || {
			let Fetched { spec, task, module, input } = fetched;
			executor.run_until(
				&ccgsc_executor::Job {
					id: spec.job,
					module_id: spec.module,
					module: &module,
					args: &spec.args,
					limits: spec.limits,
					determinism: spec.determinism,
				},
				task,
				&input,
				&stop,
			)
		})
		.await
		.expect("the executor does not panic qed");
		match run {
			Ok(execution) => Ran::Done(execution),
			Err(e) => Ran::CannotRun(e),
		}
	}

	/// The input of `task`: the job's input list found by its root (checked against it), then
	/// the input itself (checked against its id). Three attempts, a second apart, so a
	/// provider that is still announcing itself is found.
	async fn input(&self, spec: &TaskSpec, task: TaskIndex) -> Result<Vec<u8>, ccgsc_p2p::Error> {
		let mut last = None;
		for attempt in 0..3u64 {
			if attempt > 0 {
				tokio::time::sleep(Duration::from_secs(attempt)).await;
			}
			self.note(spec.job, Item::Inputs(spec.inputs_root));
			let ids = match self.p2p.inputs(spec.inputs_root, &[]).await {
				Ok(ids) => ids,
				Err(e) => {
					last = Some(e);
					continue;
				},
			};
			let Some(id) = ids.get(task as usize) else {
				return Err(ccgsc_p2p::Error::NotFound(ContentId(spec.inputs_root)));
			};
			self.note(spec.job, Item::Blob(*id));
			match self.p2p.get(*id).await {
				Ok(bytes) => return Ok(bytes),
				Err(e) => last = Some(e),
			}
		}
		Err(last.expect("three attempts failed qed"))
	}
}
