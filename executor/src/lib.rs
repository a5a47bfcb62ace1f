//! # The CCGSC sandbox
//!
//! Runs one task of a job in wasmtime under rules that every honest replica and every checker
//! follows bit for bit. Workers and the verifier both use this crate, and the rules it applies
//! are versioned as [`VERSION`], which every job pins.
//!
//! ## The task ABI
//!
//! A task is a WASI preview 1 *command* (`_start`): stdin is the task's input, stdout its
//! output, the arguments are `task` followed by the job's arguments. There is no environment,
//! no filesystem, no network and no preopened directory; the clocks are fixed and `random_get`
//! is a stream seeded from the task's id. Exit code 0 (or returning from `_start`) is success.
//! The host is our own (module [`wasi`]), not `wasmtime-wasi`: that one is built over preview
//! 2's streams, real clocks and OS randomness, while this one only has to be deterministic,
//! count output bytes exactly, and charge host I/O as work.
//!
//! ## Determinism
//!
//! - **Work limit.** Wasmtime fuel, one unit per Wasm operator, plus one per 64 bytes moved by
//!   the host or by a bulk memory operator and one per table element a bulk table operator
//!   touches (module [`meter`] rewrites those operators so they pay by size). It is
//!   deterministic: replicas that run out do so at the same instruction and report
//!   [`Outcome::WorkLimitExceeded`], and the work reported for every task is the same count on
//!   every replica.
//! - **Memory.** A resource limiter turns any growth past the job's limit (including an
//!   initial memory that is too large) into [`Outcome::MemoryLimitExceeded`], rather than a
//!   failed `memory.grow` whose handling would be up to the module.
//! - **Features.** No threads (wasmtime is built without its `threads` feature, so shared
//!   memories cannot even be declared), no relaxed SIMD; plain SIMD is allowed (task builds
//!   use it).
//! - **NaN bits.** Float results differ between platforms only in the payload bits of NaNs.
//!   Replicas of one task are grouped by platform class (BOINC's homogeneous redundancy), and
//!   within one class the same Cranelift output gives the same bits, so [`Determinism::Platform`]
//!   runs without canonicalization, at native speed. A job that accepts several classes runs
//!   under [`Determinism::Canonical`], where Cranelift canonicalizes every NaN it produces;
//!   that costs speed on float-heavy code and is only paid where classes meet.
//! - **Wall clock.** A guard, set from the work limit and the machine's measured speed with a
//!   wide margin, stops a task that runs far slower than its work count implies. That is the
//!   worker's own failure ([`Error::WallClockTimeout`]), never a result. Work units are not
//!   equally fast: one unit is one operator, and a load that misses every cache takes
//!   hundreds of times longer than an add. So the guard is not sized by the speed workers register
//!   with (the standard probe's mix, which stays in the caches) but by the slowest legitimate
//!   work a machine does, dependent loads scattered through memory far larger than its caches
//!   ([`Speed::slowest`], measured by [`Executor::probe`]): a task whose loads all miss is a
//!   fair task, and every worker stopping it would give it back forever. The guard rides on
//!   the fuel counter instead of wasmtime's epoch interruption: the task runs as a future
//!   that yields every [`YIELD_EVERY`] work units (wasmtime's fuel yield, which costs nothing
//!   where fuel is not already checked), and the runner checks the clock at each yield. Epoch
//!   interruption adds a second check, a load and a compare, to every loop iteration and
//!   every call of every task: `cargo bench -p ccgsc-executor --bench sandbox` gives a median
//!   sandbox/native ratio of 1.46-1.50x at commit d087360, which used epochs, and 1.32-1.38x
//!   with this guard. Looking at the clock between yields is enough only because no work
//!   unit can take long: every operator costs one unit and does a bounded amount, except the
//!   bulk operators, which [`meter`] charges by size (a loop of 16 MiB `memory.copy`s would
//!   otherwise do seconds of copying on a few thousand units), and host calls, which charge
//!   for the bytes they move. What stays unbounded per unit is bounded in total by the job's
//!   limits: `memory.grow` and `table.grow`, and instantiation's data and element segments.
//!
//! ## Reuse
//!
//! One [`Executor`] is built per process and cloned freely. It holds one engine and linker
//! per determinism mode, an in-memory cache of instantiable modules by content id, and
//! wasmtime's on-disk cache of compiled code, so a restarted worker does not recompile. Each
//! task gets a fresh `Store`. The on-disk cache is bounded ([`COMPILED_CACHE_BYTES`] by
//! default): after a compilation, at most every [`COMPILED_CACHE_CHECK`], the executor
//! removes the least recently used code past the limit until 70 % of it is left, so a worker
//! that meets a new module every day does not fill its disk with old ones (wasmtime's own
//! check runs only once per process; see `compiled.rs`).
#![deny(missing_docs)]

mod compiled;
pub mod meter;
pub mod wasi;

use std::{
	collections::{HashMap, VecDeque},
	path::PathBuf,
	sync::{
		atomic::{AtomicBool, Ordering},
		Arc, Mutex,
	},
	time::{Duration, Instant},
};

pub use ccgsc_primitives::{
	ContentId, ExecutorVersion, JobId, Limits, Outcome, PlatformClass, PlatformSet, TaskIndex,
	TaskRef, TaskResult,
};
use wasi::{Host, HostError};
use wasmtime::{Engine, InstancePre, Linker, Module, Store, Trap};

/// The execution rules this crate applies. Bump it whenever anything that can change a
/// task's outcome, output or work count changes: the wasmtime major version, an engine
/// setting, the host ABI, or the metering.
pub const VERSION: ExecutorVersion = 2;

/// Work units between two looks at the wall clock: a few milliseconds of any task.
pub const YIELD_EVERY: u64 = 10_000_000;

/// Work units of the probe's chase past its fill: a million loads that miss.
pub const CHASE_WORK: u64 = 4_000_000;

/// Instantiable modules kept in memory, per determinism mode.
const MODULE_CACHE_ENTRIES: usize = 64;

/// The wall-clock guard's margin over the time a work limit takes at the machine's slowest
/// speed ([`Speed::slowest`]). The probe measures that speed through 64 MiB; a chase through
/// more memory misses more of the page-table caches and runs a little slower, and a machine
/// busy with other work slower still. Measured on the development machine (2 cores, a VM) with
/// `ccgsc-exec --work N --memory M` on [`wasi::chase_module`] and on loops of other kinds, each
/// from the difference of two runs' times (so without instantiation and the chase's fill): the
/// probe's typical mix 7.2-7.5 G units/s; a tight `loop br` 0.89 G; an empty call 0.8 G; a host
/// call (`sched_yield`) 0.21 G; `memory.grow 0` 83 M; the chase through 1 MiB (in the caches)
/// 214 M, through 64 MiB 14-16 M, through 256 MiB, 1 GiB and 2 GiB 9-10 M. So the slowest work
/// is about 1.6 times slower than the probe's chase and 750 times slower than its typical mix;
/// a margin of 4 leaves such a task two and a half times its time (more, since the probe counts
/// its fill's time as chase). Sized by the typical speed with a margin of 16, as before, the
/// guard stopped every task that chases through as little as 1 MiB once it ran more than about
/// four seconds.
pub const GUARD_MARGIN: u32 = 4;

/// The speeds assumed until the machine's own are measured (see [`Executor::probe`]).
/// Deliberately low, so that the guard is generous.
const DEFAULT_SPEED: Speed = Speed { typical: 100_000_000, slowest: 5_000_000 };

/// A machine's speed in work units per second, measured by [`Executor::probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Speed {
	/// The standard probe's mix of integer, memory and float work within one page: the
	/// benchmark score a worker registers with, by which the chain sizes its leases.
	pub typical: u64,
	/// A chase of dependent loads scattered through memory far larger than the caches, each
	/// one a miss (of the data caches and of the page-table caches): about the slowest
	/// legitimate work goes, by which the wall-clock guard is sized.
	pub slowest: u64,
}

/// Compiled code the on-disk cache keeps by default before it removes the least recently used
/// (wasmtime's own default, made explicit: some three thousand modules of the seed tasks' size,
/// about 150 KiB of compressed code each).
pub const COMPILED_CACHE_BYTES: u64 = 512 << 20;

/// How often at most the on-disk cache is checked against its limit, by default.
pub const COMPILED_CACHE_CHECK: Duration = Duration::from_secs(60 * 60);

/// Errors that are the executor's or the worker's own, never a verdict on the task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
	/// The task ran past the wall-clock guard before reaching its work limit: this machine
	/// was too slow or too busy. The task must be abandoned, not reported.
	#[error("the task ran past the wall-clock guard of {0:?}")]
	WallClockTimeout(Duration),
	/// The caller stopped the task before it ended ([`Executor::run_until`]): it has no
	/// result, and the worker gives its lease back.
	#[error("the task was stopped before it ended")]
	Stopped,
	/// The module bytes given do not have the content id given.
	#[error("module bytes do not match content id {0}")]
	ModuleIdMismatch(ContentId),
	/// Wasmtime failed in a way that says nothing about the task (for example, no memory
	/// could be reserved for the instance).
	#[error("sandbox failure: {0}")]
	Sandbox(#[from] wasmtime::Error),
	/// The on-disk compilation cache could not be set up.
	#[error("compilation cache at {path}: {source}")]
	Cache {
		/// The cache directory.
		path: PathBuf,
		/// What went wrong.
		source: wasmtime::Error,
	},
}

/// How NaN bits are made to agree; see the crate docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Determinism {
	/// NaN bits as the platform produces them: replicas and checkers of one platform class
	/// agree, and nobody else judges them.
	Platform,
	/// Every NaN produced is canonicalized: any platform agrees.
	Canonical,
}

impl Determinism {
	/// The mode a job accepting `platforms` runs under: [`Determinism::Platform`] when it
	/// accepts exactly one class, [`Determinism::Canonical`] otherwise.
	pub fn for_platforms(platforms: PlatformSet) -> Self {
		let classes = PlatformClass::ALL.iter().filter(|c| platforms.contains(**c)).count();
		if classes == 1 {
			Determinism::Platform
		} else {
			Determinism::Canonical
		}
	}
}

/// How an [`Executor`] is set up.
#[derive(Clone, Debug)]
pub struct Config {
	cache_dir: Option<PathBuf>,
	cache_bytes: u64,
	cache_check: Duration,
	speed: Speed,
	margin: u32,
	min_guard: Duration,
	stderr_bytes: usize,
}

impl Default for Config {
	fn default() -> Self {
		Self {
			cache_dir: None,
			cache_bytes: COMPILED_CACHE_BYTES,
			cache_check: COMPILED_CACHE_CHECK,
			speed: DEFAULT_SPEED,
			margin: GUARD_MARGIN,
			min_guard: Duration::from_secs(2),
			stderr_bytes: 4096,
		}
	}
}

impl Config {
	/// Keep compiled code on disk in `dir`, so a restarted process does not recompile.
	pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
		self.cache_dir = Some(dir.into());
		self
	}

	/// Bound the on-disk cache: when, on a check (after a compilation, at most one per
	/// `check_every`), it holds more than `bytes` of compiled code, the least recently used
	/// is removed until 70 % of `bytes` is left. Defaults: [`COMPILED_CACHE_BYTES`],
	/// [`COMPILED_CACHE_CHECK`].
	pub fn with_cache_limit(mut self, bytes: u64, check_every: Duration) -> Self {
		self.cache_bytes = bytes;
		self.cache_check = check_every;
		self
	}

	/// This machine's speeds (from [`Executor::probe`]); the wall-clock guard allows
	/// `work_limit / speed.slowest × margin + min_guard`.
	pub fn with_speed(mut self, speed: Speed) -> Self {
		self.speed = Speed { typical: speed.typical.max(1), slowest: speed.slowest.max(1) };
		self
	}

	/// The factor by which the wall-clock guard exceeds the expected run time (default
	/// [`GUARD_MARGIN`]).
	pub fn with_margin(mut self, margin: u32) -> Self {
		self.margin = margin.max(1);
		self
	}

	/// The guard's floor, for tiny work limits (default 2 s).
	pub fn with_min_guard(mut self, min: Duration) -> Self {
		self.min_guard = min;
		self
	}

	/// How much of a task's stderr to keep for the logs (default 4 KiB; the rest is dropped).
	pub fn with_stderr_bytes(mut self, bytes: usize) -> Self {
		self.stderr_bytes = bytes;
		self
	}
}

/// Everything the executor needs to know about the job a task belongs to.
#[derive(Clone, Copy, Debug)]
pub struct Job<'a> {
	/// The job's id (part of every task's random seed).
	pub id: JobId,
	/// The module's content id.
	pub module_id: ContentId,
	/// The module's bytes. Checked against `module_id` the first time this executor sees it.
	pub module: &'a [u8],
	/// Arguments after `argv[0]`.
	pub args: &'a [String],
	/// Work, memory and output limits.
	pub limits: Limits,
	/// How NaN bits agree.
	pub determinism: Determinism,
}

/// What one execution produced.
#[derive(Clone, Debug)]
pub struct Execution {
	/// How it ended.
	pub outcome: Outcome,
	/// Its stdout, if it succeeded (empty otherwise).
	pub output: Vec<u8>,
	/// The work it used, in work units: the same on every replica.
	pub work: u64,
	/// The trap or link error message, for the logs (not part of the result).
	pub detail: Option<String>,
	/// The first bytes of stderr, for the logs (not part of the result).
	pub stderr: Vec<u8>,
	/// Time spent instantiating (module cached) and running.
	pub elapsed: Duration,
}

impl Execution {
	/// The result a replica commits to and reveals.
	pub fn result(&self) -> TaskResult {
		match self.outcome {
			Outcome::Success => TaskResult::success(&self.output),
			other => TaskResult::without_output(other),
		}
	}

	fn failed(outcome: Outcome, work: u64, detail: impl Into<String>, started: Instant) -> Self {
		Self {
			outcome,
			output: Vec::new(),
			work,
			detail: Some(detail.into()),
			stderr: Vec::new(),
			elapsed: started.elapsed(),
		}
	}
}

/// The engine, linker and instantiable modules of one determinism mode.
struct Sandbox {
	engine: Engine,
	linker: Linker<Host>,
	modules: Mutex<ModuleCache>,
}

#[derive(Default)]
struct ModuleCache {
	/// Each module prepared, or why it cannot run.
	map: HashMap<ContentId, Result<Arc<InstancePre<Host>>, String>>,
	order: VecDeque<ContentId>,
}

struct Inner {
	platform: Sandbox,
	canonical: Sandbox,
	config: Config,
	/// When the on-disk cache was last checked against its limit.
	cache_checked: Mutex<Option<Instant>>,
}

/// Why `module` is not a WebAssembly binary at all, in a poster's words, when it does not begin
/// with the binary format's magic bytes (wasmtime would say `bad magic number` and list them);
/// `None` when it does, and wasmtime judges the rest.
fn not_binary_wasm(module: &[u8]) -> Option<String> {
	const MAGIC: &[u8] = b"\0asm";
	if module.starts_with(MAGIC) {
		return None;
	}
	let text = String::from_utf8_lossy(&module[..module.len().min(64)]);
	Some(if text.trim_start().starts_with("(module") {
		"the module is WebAssembly text (.wat): compile it to the binary format first (for \
		 example `wasm-tools parse`)"
			.to_string()
	} else if module.len() < MAGIC.len() {
		format!("the module is {} bytes: not a WebAssembly binary", module.len())
	} else {
		let start: Vec<String> = module[..4].iter().map(|b| format!("{b:02x}")).collect();
		format!(
			"not a WebAssembly binary: it begins with the bytes {} where one begins with 00 61 73 \
			 6d (\\0asm)",
			start.join(" ")
		)
	})
}

/// The sandbox: cheap to clone, shared by every task of a process.
#[derive(Clone)]
pub struct Executor {
	inner: Arc<Inner>,
}

impl std::fmt::Debug for Executor {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Executor").field("config", &self.inner.config).finish_non_exhaustive()
	}
}

impl Executor {
	/// Builds the engines.
	///
	/// # Errors
	/// [`Error::Cache`] if a cache directory was given and cannot be used;
	/// [`Error::Sandbox`] if wasmtime rejects the configuration.
	pub fn new(config: Config) -> Result<Self, Error> {
		let platform = Sandbox::new(&config, Determinism::Platform)?;
		let canonical = Sandbox::new(&config, Determinism::Canonical)?;
		let cache_checked = Mutex::new(None);
		Ok(Self { inner: Arc::new(Inner { platform, canonical, config, cache_checked }) })
	}

	/// The configuration this executor runs with.
	pub fn config(&self) -> &Config {
		&self.inner.config
	}

	fn sandbox(&self, determinism: Determinism) -> &Sandbox {
		match determinism {
			Determinism::Platform => &self.inner.platform,
			Determinism::Canonical => &self.inner.canonical,
		}
	}

	/// Compiles (or finds in a cache) the module of `job`, ready to instantiate. `Ok(Err(why))`
	/// means the module is invalid or imports what the ABI does not offer; that verdict is
	/// cached too.
	fn prepare(&self, job: &Job<'_>) -> Result<Result<Arc<InstancePre<Host>>, String>, Error> {
		let sandbox = self.sandbox(job.determinism);
		if let Some(hit) =
			sandbox.modules.lock().expect("module cache lock poisoned").map.get(&job.module_id)
		{
			return Ok(hit.clone());
		}
		if ContentId::of(job.module) != job.module_id {
			return Err(Error::ModuleIdMismatch(job.module_id));
		}
		// Validated as given, so an invalid module is refused in its own terms; then bulk
		// operators are charged by size (see `meter`) and the result compiled.
		let prepared = not_binary_wasm(job.module)
			.map_or(Ok(()), |why| Err(wasmtime::Error::msg(why)))
			.and_then(|()| Module::validate(&sandbox.engine, job.module))
			.and_then(|()| {
				let metered =
					meter::charge_bulk_operations(job.module).map_err(wasmtime::Error::msg)?;
				Module::new(&sandbox.engine, metered.as_deref().unwrap_or(job.module))
			})
			.and_then(|module| {
				if module.get_export("_start").is_none() {
					return Err(wasmtime::Error::msg(
						"the module exports no `_start`: not a WASI command",
					));
				}
				sandbox.linker.instantiate_pre(&module)
			})
			.map(Arc::new)
			.map_err(|e| format!("{e:#}"));
		let mut cache = sandbox.modules.lock().expect("module cache lock poisoned");
		if cache.order.len() >= MODULE_CACHE_ENTRIES {
			if let Some(old) = cache.order.pop_front() {
				cache.map.remove(&old);
			}
		}
		cache.order.push_back(job.module_id);
		cache.map.insert(job.module_id, prepared.clone());
		drop(cache);
		self.check_compiled_cache();
		Ok(prepared)
	}

	/// Keeps the on-disk cache within its limit, if it is time to check (see `compiled.rs`).
	fn check_compiled_cache(&self) {
		let config = &self.inner.config;
		let Some(dir) = &config.cache_dir else { return };
		{
			let mut checked = self.inner.cache_checked.lock().expect("cache check lock poisoned");
			if checked.is_some_and(|at| at.elapsed() < config.cache_check) {
				return;
			}
			*checked = Some(Instant::now());
		}
		compiled::trim(dir, config.cache_bytes);
	}

	/// Whether `module` would run as a task: valid WebAssembly, a WASI command (`_start`), and
	/// importing only what the task ABI offers. `Err` says why not, in wasmtime's words. The
	/// compiled module stays in the cache, so a first task of it starts sooner.
	///
	/// # Errors
	/// The reason the module cannot run.
	pub fn check_module(&self, module: &[u8], determinism: Determinism) -> Result<(), String> {
		let job = Job {
			id: 0,
			module_id: ContentId::of(module),
			module,
			args: &[],
			limits: Limits { work: 1, memory: 1, output: 1 },
			determinism,
		};
		match self.prepare(&job) {
			Ok(Ok(_)) => Ok(()),
			Ok(Err(why)) => Err(why),
			Err(e) => Err(e.to_string()),
		}
	}

	/// The wall-clock guard for a work limit on this machine.
	pub fn guard_for(&self, work: u64) -> Duration {
		let config = &self.inner.config;
		let expected = Duration::from_secs_f64(work as f64 / config.speed.slowest as f64);
		expected.saturating_mul(config.margin).saturating_add(config.min_guard)
	}

	/// Runs task `index` of `job` on `input`.
	///
	/// Every way a task can end is an [`Execution`] with its [`Outcome`]; the executor stays
	/// ready for the next task whatever the module did.
	///
	/// # Errors
	/// [`Error::WallClockTimeout`] when the guard fired (the worker's own failure),
	/// [`Error::ModuleIdMismatch`] when the bytes are not the module the job names, and
	/// [`Error::Sandbox`] when wasmtime fails for reasons unrelated to the task.
	pub fn run(&self, job: &Job<'_>, index: TaskIndex, input: &[u8]) -> Result<Execution, Error> {
		self.run_until(job, index, input, &AtomicBool::new(false))
	}

	/// [`Executor::run`], stopped early once `stop` is set: a worker whose job closes
	/// (cancelled, or past its deadline) does not spend its core on a result the chain will
	/// refuse. The flag is looked at where the wall clock is, every [`YIELD_EVERY`] work
	/// units, so a task stops within milliseconds and a task never stopped runs as fast.
	///
	/// # Errors
	/// [`Error::Stopped`] once `stop` is set (before the task starts, or while it runs);
	/// otherwise as [`Executor::run`].
	pub fn run_until(
		&self,
		job: &Job<'_>,
		index: TaskIndex,
		input: &[u8],
		stop: &AtomicBool,
	) -> Result<Execution, Error> {
		if stop.load(Ordering::Relaxed) {
			return Err(Error::Stopped);
		}
		let started = Instant::now();
		let limits = job.limits;
		let pre = match self.prepare(job)? {
			Ok(pre) => pre,
			Err(detail) => {
				return Ok(Execution::failed(Outcome::InvalidModule, 0, detail, started))
			},
		};
		let sandbox = self.sandbox(job.determinism);
		let task = TaskRef { job: job.id, index };
		let host =
			Host::new(task, input.to_vec(), job.args, limits, self.inner.config.stderr_bytes);
		let mut store = Store::new(&sandbox.engine, host);
		store.limiter(|host| host);
		store.set_fuel(limits.work)?;
		store.fuel_async_yield_interval(Some(YIELD_EVERY))?;
		let guard = self.guard_for(limits.work);

		let run = {
			let mut task = std::pin::pin!(async {
				let instance = pre.instantiate_async(&mut store).await?;
				let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
				start.call_async(&mut store, ()).await
			});
			// The task yields every `YIELD_EVERY` units; nothing else wakes it, so it is
			// polled in a loop, with a look at the clock and at `stop` between polls.
			let mut context = std::task::Context::from_waker(std::task::Waker::noop());
			loop {
				if let std::task::Poll::Ready(run) =
					std::future::Future::poll(task.as_mut(), &mut context)
				{
					break run;
				}
				if started.elapsed() > guard {
					return Err(Error::WallClockTimeout(guard));
				}
				if stop.load(Ordering::Relaxed) {
					return Err(Error::Stopped);
				}
			}
		};
		let work = limits.work.saturating_sub(store.get_fuel().unwrap_or(0));
		let host = store.into_data();
		let (outcome, detail) = match run {
			Ok(()) => (Outcome::Success, None),
			Err(error) => match classify(&error) {
				Verdict::Outcome(outcome) => (outcome, Some(format!("{error:#}"))),
				Verdict::Exit(0) => (Outcome::Success, None),
				Verdict::Exit(code) => {
					(Outcome::Exited(code as u32), Some(format!("exit code {code}")))
				},
				Verdict::Sandbox => return Err(Error::Sandbox(error)),
			},
		};
		let work = if outcome == Outcome::WorkLimitExceeded { limits.work } else { work };
		let (output, stderr) = host.into_output();
		let output = if outcome == Outcome::Success { output } else { Vec::new() };
		Ok(Execution { outcome, output, work, detail, stderr, elapsed: started.elapsed() })
	}

	/// Measures this machine's speeds in work units per second.
	///
	/// [`Speed::typical`]: a standard probe module runs for about `work` units (a mix of
	/// integer, memory and float work), three times; the speed is the fastest run's, since other
	/// processes can only slow a run down (a launcher starts several workers, a checker and a
	/// node on one machine at once). Workers report it as their benchmark score.
	///
	/// [`Speed::slowest`]: a second module fills 64 MiB with one cycle through its cache lines
	/// and follows it, one dependent load at a time, for [`CHASE_WORK`] units. The speed is
	/// those units over the whole run's time: the fill and the instantiation (about a sixth of
	/// it) count as chase, and a busy machine runs it slower, so every error lowers the speed,
	/// which only widens the guard. Takes about a third of a second and 64 MiB while it runs.
	///
	/// # Errors
	/// As [`Executor::run`].
	pub fn probe(&self, work: u64) -> Result<Speed, Error> {
		let module = wasi::probe_module();
		let probe = self.probe_job(&module, work, 1 << 20)?;
		let mut fastest = f64::MAX;
		let mut done = 0;
		for _ in 0..3 {
			let execution = self.run(&probe, 0, &[])?;
			done = execution.work;
			fastest = fastest.min(execution.elapsed.as_secs_f64());
		}
		let typical = (done as f64 / fastest.max(1e-6)) as u64;

		let module = wasi::chase_probe_module();
		let chase =
			self.probe_job(&module, wasi::CHASE_FILL_WORK + CHASE_WORK, wasi::CHASE_BYTES)?;
		let run = self.run(&chase, 0, &[])?;
		let slowest = (CHASE_WORK as f64 / run.elapsed.as_secs_f64().max(1e-6)) as u64;
		Ok(Speed { typical, slowest: slowest.min(typical) })
	}

	/// A probe module as a job of `work` units in `memory` bytes, compiled ahead so compiling
	/// is not timed.
	fn probe_job<'a>(&self, module: &'a [u8], work: u64, memory: u64) -> Result<Job<'a>, Error> {
		let job = Job {
			id: 0,
			module_id: ContentId::of(module),
			module,
			args: &[],
			limits: Limits { work, memory, output: 0 },
			determinism: Determinism::Platform,
		};
		self.prepare(&job)?.map_err(|e| Error::Sandbox(wasmtime::Error::msg(e)))?;
		Ok(job)
	}
}

enum Verdict {
	Outcome(Outcome),
	Exit(i32),
	Sandbox,
}

fn classify(error: &wasmtime::Error) -> Verdict {
	if let Some(host) = error.downcast_ref::<HostError>() {
		return match host {
			HostError::Exit(code) => Verdict::Exit(*code),
			HostError::OutputTooLarge => Verdict::Outcome(Outcome::OutputTooLarge),
			HostError::MemoryLimit => Verdict::Outcome(Outcome::MemoryLimitExceeded),
			HostError::Abi(_) => Verdict::Outcome(Outcome::Trapped),
		};
	}
	match error.downcast_ref::<Trap>() {
		Some(Trap::OutOfFuel) => Verdict::Outcome(Outcome::WorkLimitExceeded),
		// Traps include a data segment that does not fit at instantiation.
		Some(_) => Verdict::Outcome(Outcome::Trapped),
		// Anything else (for example, no memory could be reserved) is this host's trouble.
		None => Verdict::Sandbox,
	}
}

impl Sandbox {
	fn new(config: &Config, determinism: Determinism) -> Result<Self, Error> {
		let mut wasm = wasmtime::Config::new();
		wasm.consume_fuel(true)
			.async_support(true)
			.wasm_relaxed_simd(false)
			.wasm_simd(true)
			.wasm_multi_memory(false)
			.wasm_memory64(false)
			.wasm_backtrace(false)
			.cranelift_opt_level(wasmtime::OptLevel::Speed)
			.cranelift_nan_canonicalization(determinism == Determinism::Canonical);
		if let Some(dir) = &config.cache_dir {
			let cache_error = |source| Error::Cache { path: dir.clone(), source };
			std::fs::create_dir_all(dir).map_err(|e| cache_error(e.into()))?;
			// Wasmtime's cache takes only an absolute path; a worker's `--dir` may be relative.
			let absolute = std::path::absolute(dir).map_err(|e| cache_error(e.into()))?;
			let mut cache_config = wasmtime::CacheConfig::new();
			cache_config
				.with_directory(absolute)
				.with_files_total_size_soft_limit(config.cache_bytes)
				.with_cleanup_interval(config.cache_check);
			wasm.cache(Some(wasmtime::Cache::new(cache_config).map_err(cache_error)?));
		}
		let engine = Engine::new(&wasm)?;
		let mut linker = Linker::new(&engine);
		wasi::add_to_linker(&mut linker)?;
		Ok(Self { engine, linker, modules: Mutex::new(ModuleCache::default()) })
	}
}

#[cfg(test)]
mod tests;
