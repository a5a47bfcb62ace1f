//! Platform efficiency and verification overhead of a real marketplace on this machine.
//!
//! A dev node, a checker and two single-core workers (one per core) run a 64-tile Mandelbrot
//! job, after a warm-up: jobs of [`WARM_TILES`] short tiles, posted until each worker has
//! [`WARM_CV`] consecutive valid results on chain. Printed:
//!
//! - **platform efficiency** = Σ (each task's execution time, measured alone afterwards in the
//!   same sandbox) / (wall time × 2 cores). Wall time runs from submitting the job until every
//!   task has its result in a finalized block (revealed and either accepted, provisionally
//!   accepted or handed to an audit); the audit window that follows is verification latency,
//!   not compute.
//! - **verification overhead** = executions / tasks, where executions count every replica a
//!   worker ran and every re-execution by the checker (audits at the runtime's 10 %), and how
//!   they split: first runs, second replicas that adaptive replication drew, audits. Audits
//!   are the reviews of this job's tasks handed to the checker, counted from the chain's
//!   events: the checker may still be auditing warm-up results when the job starts, and those
//!   are not this job's executions.
//!
//! - **core use** = efficiency × overhead: every execution counted as work, each at the tasks'
//!   mean time alone, over wall time × 2 cores. It tells the platform's own losses (blocks at
//!   the start and end, the node, networking, idle moments) from what verification costs.
//! - where the wall time went: when the first task started and the last one stopped, how far
//!   finality trailed the best block, how busy each worker was, and the CPU time the node and
//!   this process (workers, checker, poster) used meanwhile.
//!
//! The checker runs on the same two cores, so its audits are charged to the efficiency too.
//! Where the rest goes, by the protocol: no task can start before the job's block and a claim's
//! block (about two blocks at the start), and the last result is on chain only after its
//! commit's block, the replication draw's block, the reveal's block and finality (about three
//! blocks at the end). The figure varies from run to run with two random draws, both printed:
//! the number of audits (10 % of single results: about six; thirteen or more in fewer than one
//! run in a hundred), each costing about a second of wall time; and the second replicas, which
//! cost that much mid-job but about four seconds when drawn for one of the last tasks (the
//! other worker claims it a block after the draw, runs it, and both reveal after that).
//! Tiles lie inside the main cardioid, so each costs the same; their iteration count is
//! calibrated so a tile takes `CCGSC_BENCH_TILE_SECS` (default 2) seconds in the sandbox.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo bench -p ccgsc-tests --bench efficiency`.

use std::{
	collections::{HashMap, HashSet},
	sync::{atomic::Ordering, Arc, Mutex},
	time::{Duration, Instant},
};

use ccgsc_chain::{api, dev, JobSpec};
use ccgsc_executor::{Determinism, Executor, Job};
use ccgsc_primitives::{ContentId, Limits};
use ccgsc_tasks::mandelbrot::Tile;
use ccgsc_tests::{
	market::{account, ended, fund, job, registered_checker, start_checker, start_worker_with},
	Node,
};

const TILES: u32 = 64;

/// Tiles of a warm-up job. The two workers share them: the first few run twice (until both
/// are trusted), the rest once each, so one warm-up job brings each worker about half of them
/// in valid results, credited when their audit windows close.
const WARM_TILES: u32 = 40;

/// Consecutive valid results (CV) each worker has on chain when the measured job starts.
/// Adaptive replication asks for a second replica of a trusted worker's result with
/// probability 1 / CV, so here at most 1 / 40 at the start, less as the measured job's own
/// results are credited. A worker that has served a marketplace for a day has thousands.
const WARM_CV: u32 = 40;

/// Warm-up jobs posted at most before the bench gives up on reaching [`WARM_CV`].
const MAX_WARM_JOBS: u32 = 6;

fn tiles(max_iter: u32) -> Vec<Tile> {
	Tile::grid((-0.2, 0.0, 0.6), (1024, 1024), (8, 8), max_iter)
}

fn sandbox_job<'a>(module: &'a [u8], args: &'a [String], work: u64) -> Job<'a> {
	Job {
		id: 1,
		module_id: ContentId::of(module),
		module,
		args,
		limits: Limits { work, memory: 64 << 20, output: 1 << 20 },
		determinism: Determinism::Platform,
	}
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
	let tile_secs: f64 =
		std::env::var("CCGSC_BENCH_TILE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
	let module = ccgsc_task_modules::MANDELBROT;
	let executor = Executor::new(ccgsc_executor::Config::default()).expect("a sandbox");

	// Calibrate the iteration count to the tile time asked for, with the module compiled
	// already (the first run compiles it), as it is for every task a worker runs.
	let probe = tiles(1_000)[0];
	let calibration = sandbox_job(module, &[], u64::MAX / 4);
	executor.run(&calibration, 0, &probe.input()).unwrap();
	let run = executor.run(&calibration, 0, &probe.input()).unwrap();
	let max_iter = (1_000.0 * tile_secs / run.elapsed.as_secs_f64()) as u32;
	let work = run.work * u64::from(max_iter) / 1_000 * 3;
	println!("tiles: {TILES} of 128 × 128 px, {max_iter} iterations (~{tile_secs} s each)");

	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let dir = tempfile::tempdir().unwrap();
	let poster =
		ccgsc_p2p::Node::start(ccgsc_p2p::Config::new(dir.path().join("poster"))).await.unwrap();
	let module_id = poster.client().add(module.to_vec()).await.unwrap();
	let bootstrap = poster.client().listen_addrs().await.unwrap();
	let mut inputs = Vec::new();
	for tile in tiles(max_iter) {
		inputs.push(poster.client().add(tile.input()).await.unwrap());
	}
	let root = poster.client().add_inputs(inputs.clone()).await.unwrap();
	let warm_tiles: Vec<ContentId> = {
		let mut ids = Vec::new();
		for tile in tiles(50).into_iter().take(WARM_TILES as usize) {
			ids.push(poster.client().add(tile.input()).await.unwrap());
		}
		ids
	};
	let warm_root = poster.client().add_inputs(warm_tiles).await.unwrap();

	fund(&chain, &[71, 72, 79]).await;
	let checker = start_checker(&node, dir.path(), 79, bootstrap.clone()).await;
	registered_checker(&chain, &account(79)).await;
	let mut workers = Vec::new();
	for seed in [71u8, 72] {
		let config = ccgsc_worker::Config::new(
			node.ws_url(),
			dir.path().join(format!("worker-{seed}")),
			[seed; 32],
		)
		.with_cores(1)
		.with_bootstrap(bootstrap.clone());
		workers.push(start_worker_with(config).await);
	}

	// Warm-up: jobs of short tiles until both workers are trusted and have WARM_CV valid
	// results in a row.
	let mut warm_jobs = 0;
	let warm_cv = loop {
		let mut cv = Vec::new();
		for seed in [71u8, 72] {
			// Not yet registered in the latest finalized block counts as no results yet.
			let worker = chain.worker(&account(seed)).await.unwrap();
			cv.push(worker.map_or(0, |w| w.reputation.consecutive_valid));
		}
		if cv.iter().all(|&cv| cv >= WARM_CV) {
			break cv;
		}
		assert!(
			warm_jobs < MAX_WARM_JOBS,
			"{warm_jobs} warm-up jobs left the workers at CV {cv:?}"
		);
		let now = chain.finalized_number().await.unwrap();
		let warm = chain
			.post_job(&dev::dave(), &job(module_id, warm_root, WARM_TILES, 2, work, now))
			.await;
		ended(&chain, &node, warm.unwrap(), Duration::from_secs(300)).await;
		warm_jobs += 1;
	};
	println!(
		"warm-up: {warm_jobs} jobs of {WARM_TILES} short tiles; the workers start with {} and {} \
		 consecutive valid results",
		warm_cv[0], warm_cv[1]
	);
	let attested_before = checker.stats.attested.load(Ordering::Relaxed);
	let node_cpu_before = node.pid().map(ccgsc_tests::cpu_time).unwrap_or_default();
	let own_cpu_before = ccgsc_tests::cpu_time(std::process::id());
	let busy_before: Vec<u64> =
		workers.iter().map(|w| w.stats.busy_micros.load(Ordering::Relaxed)).collect();

	// The measured job. Follow finalized blocks for the moment each task has its result, and
	// best blocks for the moment each block was imported, which tells how far finality trails.
	let mut blocks = chain.client().stream_blocks().await.unwrap();
	let imported = Arc::new(Mutex::new(HashMap::new()));
	let follow = {
		let (imported, mut best) =
			(imported.clone(), chain.client().stream_best_blocks().await.unwrap());
		tokio::spawn(async move {
			while let Some(Ok(block)) = best.next().await {
				imported.lock().unwrap().entry(block.number()).or_insert_with(Instant::now);
			}
		})
	};
	let mut finality_lags = Vec::new();
	let now = chain.finalized_number().await.unwrap();
	let spec: JobSpec = job(module_id, root, TILES, 2, work, now);
	let started = Instant::now();
	// When the first task starts running and when the last one stops, polled every 20 ms.
	let span = Arc::new(Mutex::new((None::<Instant>, started)));
	let watch = {
		let (span, stats) =
			(span.clone(), workers.iter().map(|w| w.stats.clone()).collect::<Vec<_>>());
		tokio::spawn(async move {
			loop {
				tokio::time::sleep(Duration::from_millis(20)).await;
				if stats.iter().any(|s| s.running.load(Ordering::Relaxed) > 0) {
					let mut span = span.lock().unwrap();
					span.0.get_or_insert_with(Instant::now);
					span.1 = Instant::now();
				}
			}
		})
	};
	let id = chain.post_job(&dev::dave(), &spec).await.unwrap();
	let mut resulted = HashSet::new();
	let mut second_replicas = 0u64;
	// Reviews of this job's tasks handed to the checker: each is one re-execution. (The
	// checker's own count would also take in audits of warm-up results it was still doing.)
	let (checker_account, mut audits) = (account(79), 0u64);
	let mut last = started;
	while resulted.len() < TILES as usize {
		let block = tokio::time::timeout(Duration::from_secs(600), blocks.next())
			.await
			.expect("blocks keep coming")
			.expect("the stream stays open")
			.unwrap();
		if let Some(at) = imported.lock().unwrap().get(&block.number()) {
			finality_lags.push(at.elapsed());
		}
		let events = ccgsc_chain::block_events(&block).await.unwrap();
		second_replicas += events
			.find::<api::jobs::events::ReplicationDrawn>()
			.flatten()
			.filter(|e| e.job == id && !e.single)
			.count() as u64;
		audits += events
			.find::<api::attestations::events::ReviewAssigned>()
			.flatten()
			.filter(|e| e.job == id && e.checkers.contains(&checker_account))
			.count() as u64;
		let tasks = events
			.find::<api::jobs::events::ProvisionallyAccepted>()
			.flatten()
			.filter(|e| e.job == id)
			.map(|e| e.task)
			.chain(
				events
					.find::<api::jobs::events::ReviewOpened>()
					.flatten()
					.filter(|e| e.job == id)
					.map(|e| e.task),
			)
			.chain(
				events
					.find::<api::jobs::events::TaskSettled>()
					.flatten()
					.filter(|e| e.job == id)
					.map(|e| e.task),
			)
			.collect::<Vec<_>>();
		for task in tasks {
			if resulted.insert(task) {
				last = Instant::now();
			}
		}
	}
	let wall = last - started;
	watch.abort();
	follow.abort();
	let (first_run, last_run) = *span.lock().unwrap();
	let node_cpu = node.pid().map(ccgsc_tests::cpu_time).unwrap_or_default() - node_cpu_before;
	let own_cpu = ccgsc_tests::cpu_time(std::process::id()) - own_cpu_before;
	let busy: Vec<f64> = workers
		.iter()
		.zip(busy_before)
		.map(|(w, before)| (w.stats.busy_micros.load(Ordering::Relaxed) - before) as f64 / 1e6)
		.collect();
	ended(&chain, &node, id, Duration::from_secs(300)).await;

	let mut executions = 0u64;
	for index in 0..TILES {
		executions += chain.task(id, index).await.unwrap().unwrap().replicas.0.len() as u64;
	}
	let attested = checker.stats.attested.load(Ordering::Relaxed) - attested_before;
	assert!(attested >= audits, "the checker attested {attested} of {audits} reviews of the job");
	executions += audits;
	for worker in workers {
		worker.stop().await;
	}
	checker.stop().await;

	// Each task alone, in the same sandbox, one after another.
	let mut alone = Duration::ZERO;
	for tile in tiles(max_iter) {
		let run = executor.run(&sandbox_job(module, &[], work), 0, &tile.input()).unwrap();
		alone += run.elapsed;
	}
	let efficiency = alone.as_secs_f64() / (wall.as_secs_f64() * 2.0);
	let overhead = executions as f64 / f64::from(TILES);
	println!(
		"wall {:.1} s for {TILES} tasks; tasks alone sum to {:.1} s ({:.2} s each)",
		wall.as_secs_f64(),
		alone.as_secs_f64(),
		alone.as_secs_f64() / f64::from(TILES)
	);
	println!(
		"first task started at {:.1} s, last task stopped at {:.1} s, last result on chain at {:.1} s",
		first_run.map_or(f64::NAN, |t| (t - started).as_secs_f64()),
		(last_run - started).as_secs_f64(),
		wall.as_secs_f64()
	);
	println!(
		"finality trailed the best block by {:.2} s (mean of {} blocks)",
		finality_lags.iter().sum::<Duration>().as_secs_f64() / finality_lags.len().max(1) as f64,
		finality_lags.len()
	);
	for (seed, busy) in [71, 72].iter().zip(&busy) {
		println!(
			"worker {seed}: ran tasks for {busy:.1} s of the {:.1} s ({:.0} % busy)",
			wall.as_secs_f64(),
			100.0 * busy / wall.as_secs_f64()
		);
	}
	println!(
		"CPU used meanwhile: node {:.1} s; workers, checker and poster (this process) {:.1} s, \
		 of {:.1} s (2 cores)",
		node_cpu.as_secs_f64(),
		own_cpu.as_secs_f64(),
		2.0 * wall.as_secs_f64()
	);
	// The same wall time, with every execution counted as work: how well the platform kept the
	// cores busy, whatever verification asked of them. Efficiency is this over the overhead.
	let core_use = efficiency * overhead;
	println!(
		"core use {core_use:.3}: executions (first runs, second replicas, audits, each at the \
		 tasks' mean time alone) / (wall time × 2 cores)"
	);
	println!("platform efficiency {efficiency:.3} (target ≥ 0.8)");
	println!("report: platform efficiency ({TILES} Mandelbrot tiles, 2 single-core workers) | {efficiency:.3} | ≥ 0.8");
	println!(
		"report: verification overhead (executions / tasks, after warm-up) | {overhead:.3} | ≤ 1.2"
	);
	println!(
		"verification overhead {overhead:.3} = {executions} executions / {TILES} tasks: \
		 {second_replicas} second replicas drawn, {audits} audits (target ≤ 1.2)"
	);
	if attested > audits {
		println!(
			"the checker also audited {} warm-up results meanwhile (short tiles, not counted)",
			attested - audits
		);
	}
}
