//! Workers on the real chain: a primes job posted, claimed, fetched over libp2p, run in the
//! sandbox, committed, revealed, settled and paid; a module that never ends; a worker killed
//! mid-task, and one killed mid-task and started again; a task that outlasts its lease; a job
//! cancelled while a worker runs its tasks; a worker killed between its commit and its
//! reveal; a worker whose node goes away, one whose node goes away while it registers, one
//! cut off from its node while it is paid; and a worker that leaves with its stake.
//!
//! Run: `cargo build --release -p ccgsc-node -p ccgsc-worker && cargo test --release -p
//! ccgsc-tests --test worker`.

use std::{
	sync::atomic::Ordering,
	time::{Duration, Instant},
};

use ccgsc_chain::{
	api,
	api::runtime_types::pallet_jobs::types::{JobStatus, Phase, ReplicaState},
	dev, AccountId32, JobSpec, UNIT,
};
use ccgsc_executor::{Determinism, Executor};
use ccgsc_primitives::{ContentId, Limits, Outcome};
use ccgsc_tasks::primes;
use ccgsc_tests::{
	market::{
		account, ended, fund, job, logs, primes_content, registered_checker, start_checker,
		start_worker, start_worker_with, WorkerProcess,
	},
	Node, Relay,
};

const START: Duration = Duration::from_secs(60);

/// A job [`post_and_kill_mid_task`] posted, and the worker it killed.
struct Killed {
	job: u64,
	posted_at: u32,
	/// When the leases the worker held at its death run out (at least one).
	lease_ends: Vec<u32>,
	/// The poster's content node, serving the module and the inputs.
	poster: ccgsc_p2p::Node,
	inputs: Vec<ContentId>,
	/// The poster's addresses, for the workers that follow.
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
}

impl Killed {
	/// Asserts that every task settled with the prime count of its input.
	async fn assert_outputs_counted(&self, chain: &ccgsc_chain::Chain) {
		assert_outputs_counted(chain, &self.poster, self.job, &self.inputs).await;
	}
}

/// Asserts that every task of `job` (a `--count` primes job over `inputs`, which `poster`
/// serves) settled with the prime count of its input.
async fn assert_outputs_counted(
	chain: &ccgsc_chain::Chain,
	poster: &ccgsc_p2p::Node,
	job: u64,
	inputs: &[ContentId],
) {
	for (index, input) in inputs.iter().enumerate() {
		let task = chain.task(job, index as u32).await.unwrap().unwrap();
		let input = poster.client().get(*input).await.unwrap();
		let expected = primes::run(&input, &["--count".into()]).unwrap();
		let result = task.result.expect("settled");
		assert_eq!(result.output.0, ContentId::of(&expected).0, "job {job} task {index}");
	}
}

/// Starts `ccgsc-worker` with key `[seed; 32]` (its account funded), posts a job of two primes
/// tasks of about three seconds each (counted up to 9·10⁸ in two halves, one replica each,
/// work limit `work`), and kills the worker while it runs one of them, holding its lease.
async fn post_and_kill_mid_task(node: &Node, dir: &std::path::Path, seed: u8, work: u64) -> Killed {
	let (poster, module, inputs, inputs_root) =
		primes_content(dir, [(0, 450_000_000), (450_000_000, 900_000_000)]).await;
	let bootstrap = poster.client().listen_addrs().await.unwrap();
	let chain = node.client(START).await;
	let mut worker = WorkerProcess::start(node, dir, seed, &bootstrap);
	let posted_at = chain.finalized_number().await.unwrap();
	let spec =
		JobSpec { args: vec!["--count".into()], ..job(module, inputs_root, 2, 1, work, posted_at) };
	let id = chain.post_job(&dev::dave(), &spec).await.expect("the job is posted");
	let started = Instant::now();
	while worker.metric("ccgsc_worker_running").await.unwrap_or(0) == 0 {
		assert!(started.elapsed() < Duration::from_secs(120), "the worker never started a task");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	worker.kill();
	// Its claims were confirmed at best blocks, and a claim it sent just before the kill may
	// still be in the node's pool: a few blocks on, every claim it made is in a finalized
	// block (the block after it reaches the pool includes it; one voter finalizes a block or
	// two behind), so the leases read then are all it held.
	let settled = chain.finalized_number().await.unwrap() + 6;
	let started = Instant::now();
	while chain.finalized_number().await.unwrap() < settled {
		assert!(started.elapsed() < Duration::from_secs(30), "the chain stopped finalizing");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	let lease_ends = || async {
		let mut ends = Vec::new();
		for index in 0..2 {
			if let Some(task) = chain.task(id, index).await.unwrap() {
				ends.extend(
					task.replicas
						.0
						.iter()
						.filter(|r| r.worker == account(seed) && r.state == ReplicaState::Leased)
						.map(|r| r.lease_until),
				);
			}
		}
		ends
	};
	let ends = lease_ends().await;
	assert!(!ends.is_empty(), "the killed worker held a lease");
	Killed { job: id, posted_at, lease_ends: ends, poster, inputs, bootstrap }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_honest_primes_job_completes_and_everyone_is_paid_exactly() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();

	// The poster's content node (the portal's role): the module and twenty ranges of 50 000.
	let (poster_p2p, module, inputs, inputs_root) =
		primes_content(dir.path(), (0..20u64).map(|i| (i * 50_000, (i + 1) * 50_000))).await;
	let bootstrap = poster_p2p.client().listen_addrs().await.unwrap();

	fund(&chain, &[1, 2, 3, 9]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let checker = start_checker(&node, dir.path(), 9, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let mut workers = Vec::new();
	for seed in [1, 2, 3] {
		workers.push(start_worker(&node, dir.path(), seed, bootstrap.clone(), false).await);
	}

	let poster = dev::dave();
	let poster_account: AccountId32 = poster.public_key().into();
	let poster_before = chain.free_balance(&poster_account).await.unwrap();
	let now = chain.finalized_number().await.unwrap();
	let spec = job(module, inputs_root, 20, 2, 2_000_000_000, now);
	let id = chain.post_job(&poster, &spec).await.expect("the job is posted");
	ended(&chain, &node, id, Duration::from_secs(300)).await;

	// Every task succeeded with the output the native twin computes, and it can be fetched.
	// Replicas whose result the chain accepted are the ones paid: two per task at first, one
	// once adaptive replication trusts a worker (after five valid results in a row, which can
	// happen within this job).
	let mut total = 0;
	let (mut paid_replicas, mut replicas_run) = (0u128, 0u64);
	for (index, input) in inputs.iter().enumerate() {
		let task = chain.task(id, index as u32).await.unwrap().expect("every task was claimed");
		assert_eq!(task.phase, Phase::Done, "task {index}");
		let result = task.result.expect("a settled result");
		let expected = primes::run(&poster_p2p.client().get(*input).await.unwrap(), &[]).unwrap();
		assert_eq!(ccgsc_chain::convert::outcome_back(&result.outcome), Outcome::Success);
		assert_eq!(result.output.0, ContentId::of(&expected).0, "task {index}");
		let fetched = poster_p2p.client().get(ContentId(result.output.0)).await.unwrap();
		total += primes::decode(&fetched).unwrap().0;
		let agreeing =
			task.replicas.0.iter().filter(|r| r.state == ReplicaState::Revealed(result)).count();
		assert!(agreeing >= 1, "task {index} was accepted from a replica");
		paid_replicas += agreeing as u128;
		replicas_run += task.replicas.0.len() as u64;
	}
	assert_eq!(total, 78_498, "pi(10^6)");

	// Paid: every accepted replica got its reward, checkers their fees, and the rest of the
	// escrow came back.
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!(info.status, JobStatus::Done);
	assert_eq!(info.escrow, 0, "no escrow left held");
	let mut earned = 0;
	for worker in &workers {
		let record = chain.worker(&worker.account).await.unwrap().expect("registered");
		earned += record.earned;
	}
	assert_eq!(earned, paid_replicas * UNIT, "each accepted replica earned its reward");
	let checker_fees = chain.checker(&checker.account).await.unwrap().expect("registered").earned;
	assert_eq!(info.spent, earned + checker_fees, "the job paid workers and checkers, no one else");
	let poster_after = chain.free_balance(&poster_account).await.unwrap();
	let fees = poster_before - poster_after - info.spent;
	assert!(fees < UNIT, "the poster paid the rewards and a small fee, got the rest back ({fees})");
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");

	let done: u64 =
		workers.iter().map(|w| w.stats.tasks_done.load(std::sync::atomic::Ordering::Relaxed)).sum();
	assert_eq!(done, replicas_run, "every replica on chain ran once");
	for worker in workers {
		worker.stop().await;
	}
	checker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_module_that_loops_forever_ends_at_the_work_limit_on_every_replica_and_workers_go_on() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (poster_p2p, primes_module, _, inputs_root) =
		primes_content(dir.path(), [(0, 1000), (1000, 2000)]).await;
	let spin = wat::parse_str(
		r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
	)
	.unwrap();
	let spin = poster_p2p.client().add(spin).await.unwrap();
	let bootstrap = poster_p2p.client().listen_addrs().await.unwrap();

	fund(&chain, &[4, 5]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let workers = [
		start_worker(&node, dir.path(), 4, bootstrap.clone(), false).await,
		start_worker(&node, dir.path(), 5, bootstrap.clone(), false).await,
	];

	let poster = dev::dave();
	let now = chain.finalized_number().await.unwrap();
	let spec = |module| JobSpec {
		args: vec!["--count".into()],
		limits: Limits { work: 300_000_000, memory: 16 << 20, output: 1 << 16 },
		..job(module, inputs_root, 2, 2, 0, now)
	};
	let looping = chain.post_job(&poster, &spec(spin)).await.unwrap();
	let after = chain.post_job(&poster, &spec(primes_module)).await.unwrap();
	ended(&chain, &node, looping, Duration::from_secs(180)).await;
	ended(&chain, &node, after, Duration::from_secs(180)).await;

	for index in 0..2 {
		let task = chain.task(looping, index).await.unwrap().unwrap();
		let result = task.result.expect("settled");
		assert_eq!(
			ccgsc_chain::convert::outcome_back(&result.outcome),
			Outcome::WorkLimitExceeded,
			"both replicas agree the task ran out of work"
		);
		let next = chain.task(after, index).await.unwrap().unwrap().result.expect("settled");
		assert_eq!(ccgsc_chain::convert::outcome_back(&next.outcome), Outcome::Success);
	}
	// The poster pays for work it asked for, even when the module never ends.
	let info = chain.job(looping).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, 4 * UNIT, 0));
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	for worker in workers {
		worker.stop().await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_task_loses_its_lease_and_another_worker_completes_the_job() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	fund(&chain, &[21, 22]).await;
	let issuance = chain.total_issuance().await.unwrap();

	// The real worker binary, as an operator runs it, killed mid-task.
	let killed = post_and_kill_mid_task(&node, dir.path(), 21, 60_000_000_000).await;
	let id = killed.job;

	// Another worker takes over once the leases expire; the job finishes.
	let rescuer = start_worker(&node, dir.path(), 22, killed.bootstrap.clone(), false).await;
	ended(&chain, &node, id, Duration::from_secs(300)).await;
	killed.assert_outputs_counted(&chain).await;
	for index in 0..2 {
		let task = chain.task(id, index).await.unwrap().unwrap();
		assert_eq!(task.phase, Phase::Done);
		let workers: Vec<AccountId32> = task.replicas.0.iter().map(|r| r.worker).collect();
		assert_eq!(workers, vec![rescuer.account], "task {index} was done by the other worker");
	}
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, 2 * UNIT, 0));
	assert_eq!(chain.worker(&account(21)).await.unwrap().unwrap().earned, 0);
	assert_eq!(chain.worker(&rescuer.account).await.unwrap().unwrap().earned, 2 * UNIT);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	rescuer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_renews_the_lease_of_a_task_that_outlasts_it() {
	logs();
	// A task of about fifteen seconds.
	let (spin, work) = spinner(15.0);
	// The worker states a score a thousand times its own, so the chain sizes its lease for a
	// task a thousand times shorter: the ten-block minimum, about ten seconds.
	let score = Executor::new(ccgsc_executor::Config::default())
		.unwrap()
		.probe(200_000_000)
		.unwrap()
		.typical;

	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (poster_p2p, _, _, inputs_root) = primes_content(dir.path(), [(0, 10)]).await;
	let spin = poster_p2p.client().add(spin).await.unwrap();
	let bootstrap = poster_p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[31]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let worker = start_worker_with(
		ccgsc_worker::Config::new(node.ws_url(), dir.path().join("worker-31"), [31; 32])
			.with_bootstrap(bootstrap)
			.with_stated_score(score * 1_000),
	)
	.await;

	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		limits: Limits { work, memory: 16 << 20, output: 1 << 16 },
		..job(spin, inputs_root, 1, 1, 0, now)
	};
	let id = chain.post_job(&dev::dave(), &spec).await.unwrap();
	ended(&chain, &node, id, Duration::from_secs(120)).await;

	// The task ran once, under one lease renewed as it ran, and its result was accepted.
	// Without renewals the lease runs out first: the chain requeues the task, and the time
	// spent on it is lost (another worker, or this one again, runs it from the start).
	let task = chain.task(id, 0).await.unwrap().unwrap();
	assert_eq!(task.phase, Phase::Done);
	let result = task.result.expect("settled");
	assert_eq!(ccgsc_chain::convert::outcome_back(&result.outcome), Outcome::WorkLimitExceeded);
	let (mut renewed, mut expired) = (0, 0);
	for number in now..=chain.finalized_number().await.unwrap() {
		let events = chain.events_at(number).await.unwrap();
		renewed += events.find::<api::jobs::events::LeaseRenewed>().flatten().count();
		expired += events.find::<api::jobs::events::LeaseExpired>().flatten().count();
	}
	assert!(renewed >= 1, "the lease was renewed");
	assert_eq!(expired, 0, "the lease never ran out");
	assert_eq!(worker.stats.renewed.load(Ordering::Relaxed), renewed as u64);
	assert_eq!(worker.stats.tasks_done.load(Ordering::Relaxed), 1, "the task ran once");
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, UNIT, 0));
	assert_eq!(chain.worker(&worker.account).await.unwrap().unwrap().earned, UNIT);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	worker.stop().await;
}

/// A module that spins until its work limit, and the limit this machine's sandbox gets
/// through in about `seconds`.
fn spinner(seconds: f64) -> (Vec<u8>, u64) {
	let spin = wat::parse_str(
		r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
	)
	.unwrap();
	let executor = Executor::new(ccgsc_executor::Config::default()).unwrap();
	let calibration = ccgsc_executor::Job {
		id: 0,
		module_id: ContentId::of(&spin),
		module: &spin,
		args: &[],
		limits: Limits { work: 1_000_000_000, memory: 16 << 20, output: 0 },
		determinism: Determinism::Platform,
	};
	executor.run(&calibration, 0, &[]).unwrap();
	let run = executor.run(&calibration, 0, &[]).unwrap();
	assert_eq!(run.outcome, Outcome::WorkLimitExceeded);
	(spin, (run.work as f64 * seconds / run.elapsed.as_secs_f64()) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_stops_the_tasks_of_a_cancelled_job_gives_their_leases_back_and_goes_on() {
	logs();
	// Four tasks of about two minutes each, on a worker with two cores: two run, two wait.
	let (spin, work) = spinner(120.0);
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (poster, primes_module, inputs, inputs_root) =
		primes_content(dir.path(), [(0, 1000), (1000, 2000), (2000, 3000), (3000, 4000)]).await;
	let spin = poster.client().add(spin).await.unwrap();
	let bootstrap = poster.client().listen_addrs().await.unwrap();
	fund(&chain, &[35]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let worker = start_worker_with(
		ccgsc_worker::Config::new(node.ws_url(), dir.path().join("worker-35"), [35; 32])
			.with_bootstrap(bootstrap)
			.with_cores(2),
	)
	.await;
	let stats = &worker.stats;

	let posted_at = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		limits: Limits { work, memory: 16 << 20, output: 1 << 16 },
		..job(spin, inputs_root, 4, 1, 0, posted_at)
	};
	let id = chain.post_job(&dev::dave(), &spec).await.unwrap();
	let held = chain.job(id).await.unwrap().unwrap().escrow;
	let started = Instant::now();
	while stats.running.load(Ordering::Relaxed) < 2 {
		assert!(started.elapsed() < Duration::from_secs(60), "the worker never ran two tasks");
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
	// Leases of the worker's on the finalized chain (the worker acts on best blocks, so a task
	// it runs may be claimed in a block not finalized yet: no record there yet).
	let leased = || async {
		let mut leased = 0;
		for index in 0..4 {
			let Some(task) = chain.task(id, index).await.unwrap() else { continue };
			leased += task
				.replicas
				.0
				.iter()
				.filter(|r| r.worker == worker.account && r.state == ReplicaState::Leased)
				.count();
		}
		leased
	};
	let started = Instant::now();
	while leased().await < 4 {
		assert!(
			started.elapsed() < Duration::from_secs(30),
			"the worker holds all four tasks, two of them running: {} leased",
			leased().await
		);
		tokio::time::sleep(Duration::from_millis(100)).await;
	}

	// Nothing has been committed, so the job ends with its cancel and all it held returns.
	let refunded = chain.cancel_job(&dev::dave(), id).await.expect("the poster cancels");
	assert_eq!(refunded, Some(held));

	// The worker stops the two running tasks, never starts the other two, and gives all four
	// leases back. Had it not stopped, it would have run each to its work limit and then
	// committed, which the chain refuses, and given nothing back.
	let started = Instant::now();
	while stats.stopped.load(Ordering::Relaxed) < 4 || leased().await > 0 {
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"stopped {}, running {}, still leased {}",
			stats.stopped.load(Ordering::Relaxed),
			stats.running.load(Ordering::Relaxed),
			leased().await
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	assert_eq!(stats.running.load(Ordering::Relaxed), 0);
	assert_eq!(stats.abandoned.load(Ordering::Relaxed), 4);
	assert_eq!(stats.tasks_done.load(Ordering::Relaxed), 0, "nothing of it was committed");
	assert_eq!(stats.refused.load(Ordering::Relaxed), 0, "no doomed commit was sent");

	// Its cores go to the next job at once.
	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		args: vec!["--count".into()],
		..job(primes_module, inputs_root, 4, 1, 1_000_000_000, now)
	};
	let next = chain.post_job(&dev::dave(), &spec).await.unwrap();
	ended(&chain, &node, next, Duration::from_secs(120)).await;
	assert_outputs_counted(&chain, &poster, next, &inputs).await;
	assert_eq!(chain.job(next).await.unwrap().unwrap().status, JobStatus::Done);

	let (mut closed, mut given_back, mut expired, mut committed) = (0, 0, 0, 0);
	for number in posted_at..=chain.finalized_number().await.unwrap() {
		let events = chain.events_at(number).await.unwrap();
		closed += events
			.find::<api::jobs::events::JobClosed>()
			.flatten()
			.filter(|e| e.job == id && e.status == JobStatus::Cancelled)
			.count();
		given_back += events
			.find::<api::jobs::events::LeaseAbandoned>()
			.flatten()
			.filter(|e| e.job == id && e.worker == worker.account)
			.count();
		expired += events.find::<api::jobs::events::LeaseExpired>().flatten().count();
		committed +=
			events.find::<api::jobs::events::Committed>().flatten().filter(|e| e.job == id).count();
	}
	assert_eq!((closed, given_back, expired, committed), (1, 4, 0, 0));
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Cancelled, 0, 0));
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_between_commit_and_reveal_reveals_when_started_again() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (poster_p2p, module, inputs, inputs_root) =
		primes_content(dir.path(), [(0, 100_000)]).await;
	let bootstrap = poster_p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[41, 42]).await;
	let issuance = chain.total_issuance().await.unwrap();

	// One task, two replicas: the first worker's commit waits for the second replica.
	let mut first = WorkerProcess::start(&node, dir.path(), 41, &bootstrap);
	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		args: vec!["--count".into()],
		..job(module, inputs_root, 1, 2, 2_000_000_000, now)
	};
	let id = chain.post_job(&dev::dave(), &spec).await.unwrap();
	let started = Instant::now();
	loop {
		let task = chain.task(id, 0).await.unwrap();
		let committed = task.is_some_and(|t| {
			t.replicas
				.0
				.iter()
				.any(|r| r.worker == account(41) && matches!(r.state, ReplicaState::Committed(_)))
		});
		if committed {
			break;
		}
		assert!(started.elapsed() < Duration::from_secs(120), "the first worker never committed");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	// Killed at once, with its commit on chain and its salt nowhere but on its disk.
	first.kill();

	// Started again on the same directory; then a second worker runs the other replica, the
	// reveals open, and the first reveals what it committed before it was killed.
	let _first = WorkerProcess::start(&node, dir.path(), 41, &bootstrap);
	let second = start_worker(&node, dir.path(), 42, bootstrap, false).await;
	ended(&chain, &node, id, Duration::from_secs(120)).await;

	let task = chain.task(id, 0).await.unwrap().unwrap();
	assert_eq!(task.phase, Phase::Done);
	let input = poster_p2p.client().get(inputs[0]).await.unwrap();
	let expected = ContentId::of(&primes::run(&input, &["--count".into()]).unwrap());
	assert_eq!(task.result.expect("settled").output.0, expected.0);
	for replica in &task.replicas.0 {
		let ReplicaState::Revealed(result) = &replica.state else {
			panic!("{:?} did not reveal", replica.worker)
		};
		assert_eq!(result.output.0, expected.0);
	}
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, 2 * UNIT, 0));
	for worker in [account(41), second.account] {
		assert_eq!(chain.worker(&worker).await.unwrap().unwrap().earned, UNIT, "{worker:?} paid");
	}
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_task_and_started_again_gives_its_leases_back_at_once() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	fund(&chain, &[23]).await;
	let issuance = chain.total_issuance().await.unwrap();

	// Tasks of about three seconds, with a work limit (and so leases) far longer.
	let killed = post_and_kill_mid_task(&node, dir.path(), 23, 600_000_000_000).await;
	let (id, posted_at, until) = (killed.job, killed.posted_at, &killed.lease_ends);
	let first_to_run_out = *until.iter().min().expect("at least one qed");

	// Started again on the same directory, it gives those leases back and claims the tasks
	// anew: the job is done before the old leases would have run out.
	let again = WorkerProcess::start(&node, dir.path(), 23, &killed.bootstrap);
	ended(&chain, &node, id, Duration::from_secs(300)).await;
	let ended_at = chain.finalized_number().await.unwrap();
	assert!(
		ended_at < first_to_run_out,
		"done at block {ended_at}, before the old leases ran out at {first_to_run_out}"
	);
	let (mut given_back, mut expired) = (0, 0);
	for number in posted_at..=ended_at {
		let events = chain.events_at(number).await.unwrap();
		given_back += events
			.find::<api::jobs::events::LeaseAbandoned>()
			.flatten()
			.filter(|e| e.worker == account(23))
			.count();
		expired += events.find::<api::jobs::events::LeaseExpired>().flatten().count();
	}
	assert_eq!(given_back, until.len(), "every lease held at the kill was given back");
	assert_eq!(expired, 0);
	killed.assert_outputs_counted(&chain).await;
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, 2 * UNIT, 0));
	assert_eq!(chain.worker(&account(23)).await.unwrap().unwrap().earned, 2 * UNIT);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);
	drop(again);
}

/// Waits until the checker of `stats` does (`true`) or does not follow its node's blocks.
async fn checker_connected(stats: &ccgsc_verifier::Stats, connected: bool) {
	let started = Instant::now();
	while stats.connected.load(Ordering::Relaxed) != connected {
		assert!(started.elapsed() < START, "the checker is not connected = {connected}");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
}

/// Waits until what the worker and the checker say they earned (`earned`) adds up to what
/// `jobs` spent (every credit a job spends goes to a worker or a checker), and fails if it
/// does not within a minute: so each payment is counted once, whatever reconnections came
/// between, and none is missed.
async fn earnings_add_up<F: std::future::Future<Output = (u64, u64)>>(
	chain: &ccgsc_chain::Chain,
	jobs: &[u64],
	earned: impl Fn() -> F,
) {
	let started = Instant::now();
	loop {
		let mut spent = 0;
		for job in jobs {
			spent += chain.job(*job).await.unwrap().expect("the job exists").spent;
		}
		let (worker, checker) = earned().await;
		if u128::from(worker) + u128::from(checker) == spent {
			return;
		}
		assert!(
			started.elapsed() < START,
			"jobs {jobs:?} spent {spent}, but the worker counts {worker} earned and the checker \
			 {checker}"
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
}

/// A worker started while its node is down says so and keeps trying; it works once the node
/// is up, rides out the node going away and coming back (as does a checker), and Ctrl-C stops
/// it cleanly while the node is gone (as it does the checker). The reconnection hands out the
/// last finalized blocks again: the payments in them are not counted twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_waits_out_its_node_and_stops_on_ctrl_c_even_without_it() {
	logs();
	let mut node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	fund(&chain, &[6, 9]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let (poster, module, inputs, inputs_root) =
		primes_content(dir.path(), (0..4u64).map(|i| (i * 50_000, (i + 1) * 50_000))).await;
	let bootstrap = poster.client().listen_addrs().await.unwrap();
	let post = |chain: ccgsc_chain::Chain| async move {
		let now = chain.finalized_number().await.unwrap();
		let spec = JobSpec {
			args: vec!["--count".into()],
			..job(module, inputs_root, 4, 1, 2_000_000_000, now)
		};
		chain.post_job(&dev::dave(), &spec).await.expect("the job is posted")
	};
	let connected = "ccgsc_worker_chain_connected";

	// Started while its node is down: it says which node it cannot reach, and keeps trying.
	node.kill();
	let mut worker = WorkerProcess::start(&node, dir.path(), 6, &bootstrap);
	worker.wait_for_metric(connected, 0, START).await;
	let started = Instant::now();
	while worker.log().matches("node unreachable").count() < 2 {
		assert!(started.elapsed() < START, "the worker says it retries\n{}", worker.log());
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert!(worker.log().contains(&node.ws_url()), "it names the node\n{}", worker.log());
	assert!(worker.is_running(), "it waits for the node\n{}", worker.log());

	// A second worker on its directory would sign with its key and rewrite its ledger: it
	// refuses to start, and says why; so does a checker. The first works on.
	let second = tokio::process::Command::new(ccgsc_tests::binary("ccgsc-worker"))
		.arg("--chain")
		.arg(node.ws_url())
		.arg("--dir")
		.arg(worker.dir())
		.kill_on_drop(true)
		.output();
	let second = tokio::time::timeout(START, second)
		.await
		.expect("a second worker on the directory stops at once")
		.unwrap();
	let said = String::from_utf8_lossy(&second.stderr);
	assert!(!second.status.success(), "a second worker on the directory fails\n{said}");
	let why = format!("another worker or checker uses {}", worker.dir().display());
	assert!(said.contains(&why), "it says why\n{said}");
	let checker = ccgsc_verifier::Verifier::new(ccgsc_verifier::Config::new(
		node.ws_url(),
		worker.dir(),
		[9; 32],
	))
	.await;
	assert!(
		matches!(&checker, Err(ccgsc_verifier::Error::InUse(dir)) if dir == worker.dir()),
		"a checker on the worker's directory is refused: {:?}",
		checker.err()
	);
	assert!(worker.is_running(), "the first worker goes on\n{}", worker.log());

	// The node comes up: the worker registers and works.
	node.restart();
	let chain = node.client(START).await;
	worker.wait_for_metric(connected, 1, START).await;
	let checker = start_checker(&node, dir.path(), 9, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	checker_connected(&checker.stats, true).await;
	let first = post(chain.clone()).await;
	ended(&chain, &node, first, Duration::from_secs(180)).await;
	assert_outputs_counted(&chain, &poster, first, &inputs).await;
	let earned = || async {
		let worker = worker.metric("ccgsc_worker_earned_total").await.unwrap_or_default();
		(worker, checker.stats.earned.load(Ordering::Relaxed))
	};
	earnings_add_up(&chain, &[first], earned).await;

	// The node goes away under it, right after the payments, and comes back: the worker
	// notices, reconnects, works on.
	node.kill();
	worker.wait_for_metric(connected, 0, START).await;
	checker_connected(&checker.stats, false).await;
	node.restart();
	let chain = node.client(START).await;
	worker.wait_for_metric(connected, 1, START).await;
	checker_connected(&checker.stats, true).await;
	let second = post(chain.clone()).await;
	ended(&chain, &node, second, Duration::from_secs(180)).await;
	assert_outputs_counted(&chain, &poster, second, &inputs).await;
	assert_eq!(worker.metric("ccgsc_worker_tasks_total").await, Some(8), "{}", worker.log());
	earnings_add_up(&chain, &[first, second], earned).await;
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");

	// Ctrl-C while the node is gone: holding nothing, it stops at once, and cleanly; so does
	// the checker.
	node.kill();
	worker.wait_for_metric(connected, 0, START).await;
	let status = worker.interrupt(Duration::from_secs(20)).await;
	assert!(
		status.is_some_and(|s| s.success()),
		"the worker stops on Ctrl-C without its node: {status:?}\n{}",
		worker.log()
	);
	// Its last word is what it did (not that it is retrying the node: it is not).
	assert!(worker.log().contains("stopped: tasks done 8 · running 0 · "), "{}", worker.log());
	assert!(
		ccgsc_worker::hold(&worker.dir().join("lock")).unwrap().is_some(),
		"a stopped worker leaves its directory free"
	);
	checker_connected(&checker.stats, false).await;
	checker.stop().await;
}

/// A worker whose link to its node goes down while it registers (the registration is in the
/// node's pool, not yet in a block) waits for the node and, once it is back, finds itself
/// registered and works, instead of stopping with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_whose_node_goes_away_while_it_registers_registers_when_it_is_back() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	fund(&chain, &[5]).await;
	let relay = Relay::to(node.rpc_port).await;
	// The first word of the node about a transaction: the registration is under way.
	relay.cut_when_node_sends("author_extrinsicUpdate");
	let worker = start_worker_with(ccgsc_worker::Config::new(
		relay.ws_url(),
		dir.path().join("w5"),
		[5; 32],
	))
	.await;
	let started = Instant::now();
	while !relay.is_cut() {
		assert!(started.elapsed() < START, "the worker never sent its registration");
		tokio::time::sleep(Duration::from_millis(50)).await;
	}
	tokio::time::sleep(Duration::from_secs(2)).await;
	relay.restore();
	let started = Instant::now();
	while chain.worker(&worker.account).await.unwrap().is_none()
		|| !worker.stats.connected.load(Ordering::Relaxed)
	{
		assert!(started.elapsed() < START, "the worker never registered and followed blocks");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	// Still running: it stops gracefully, without an error.
	worker.stop().await;
}

/// A worker cut off from its node for longer than a fresh follow of finalized blocks reaches
/// back (16 blocks), while the node goes on and pays it, counts those payments once it is back:
/// it reads the blocks it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_cut_off_from_its_node_counts_what_it_was_paid_meanwhile() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	fund(&chain, &[7, 10]).await;
	// No audit: an audited result is paid as soon as its audit is in, which could be before the
	// cut, and this test is about payments made while the worker is away.
	chain.set_audit_rate(&dev::alice(), 0).await.expect("root sets the audit rate");
	assert_eq!(chain.audit_rate().await.unwrap(), 0, "no single result is audited");
	let issuance = chain.total_issuance().await.unwrap();
	let (poster, module, inputs, inputs_root) =
		primes_content(dir.path(), (0..4u64).map(|i| (i * 50_000, (i + 1) * 50_000))).await;
	let bootstrap = poster.client().listen_addrs().await.unwrap();
	let checker = start_checker(&node, dir.path(), 10, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let relay = Relay::to(node.rpc_port).await;
	let worker = start_worker_with(
		ccgsc_worker::Config::new(relay.ws_url(), dir.path().join("worker-7"), [7; 32])
			.with_bootstrap(bootstrap),
	)
	.await;

	// Replication 1: each result stands alone, and is paid when its audit window of 30 blocks
	// is over.
	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		args: vec!["--count".into()],
		..job(module, inputs_root, 4, 1, 2_000_000_000, now)
	};
	let id = chain.post_job(&dev::dave(), &spec).await.expect("the job is posted");
	let started = Instant::now();
	while worker.stats.revealed.load(Ordering::Relaxed) < 4 {
		assert!(started.elapsed() < Duration::from_secs(120), "the worker reveals its results");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert_eq!(worker.stats.earned.load(Ordering::Relaxed), 0, "paid after the audit window");

	// Cut off until the payments are more than 16 finalized blocks old.
	relay.cut();
	let started = Instant::now();
	while worker.stats.connected.load(Ordering::Relaxed) {
		assert!(started.elapsed() < START, "the worker notices the cut");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	ended(&chain, &node, id, Duration::from_secs(180)).await;
	let paid_by = chain.finalized_number().await.unwrap();
	while chain.finalized_number().await.unwrap() < paid_by + 20 {
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	assert_eq!(worker.stats.earned.load(Ordering::Relaxed), 0, "nothing counted while away");

	relay.restore();
	earnings_add_up(&chain, &[id], || async {
		(worker.stats.earned.load(Ordering::Relaxed), checker.stats.earned.load(Ordering::Relaxed))
	})
	.await;
	assert!(worker.stats.earned.load(Ordering::Relaxed) > 0, "the worker was paid");
	assert_outputs_counted(&chain, &poster, id, &inputs).await;
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
	worker.stop().await;
	checker.stop().await;
}

/// `ccgsc-worker leave` on the node at `url` with its state in `dir`; its output, within
/// `timeout`.
async fn leave(url: &str, dir: &std::path::Path, timeout: Duration) -> std::process::Output {
	let leave = tokio::process::Command::new(ccgsc_tests::binary("ccgsc-worker"))
		.arg("leave")
		.arg("--chain")
		.arg(url)
		.arg("--dir")
		.arg(dir)
		.kill_on_drop(true)
		.output();
	tokio::time::timeout(timeout, leave).await.expect("leave ends in time").unwrap()
}

/// An operator who is done takes the stake back: `ccgsc-worker leave` waits until no result of
/// the worker's can still be audited (the chain refuses to unbond before), unbonds the stake,
/// waits out the unbonding period, withdraws it and exits; the worker is out of the registry
/// and its stake is free credits again. Leaving a worker that runs, or one that never
/// registered, is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_that_leaves_waits_out_its_audit_windows_and_gets_its_stake_back() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	chain.set_worker_unbonding_period(&dev::alice(), 20).await.expect("root shortens it");
	fund(&chain, &[41]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let (poster, module, _, inputs_root) =
		primes_content(dir.path(), (0..6u64).map(|i| (i * 20_000, (i + 1) * 20_000))).await;
	let bootstrap = poster.client().listen_addrs().await.unwrap();

	let stranger = leave(&node.ws_url(), &dir.path().join("stranger"), START).await;
	let said = String::from_utf8_lossy(&stranger.stderr);
	assert!(!stranger.status.success(), "a stranger cannot leave\n{said}");
	assert!(said.contains("is not a registered worker"), "it says why\n{said}");
	// Nor can it start a worker with no credits to stake: it says what it has, what the stake
	// needs and how to fund it, in credits.
	let unfunded = tokio::process::Command::new(ccgsc_tests::binary("ccgsc-worker"))
		.arg("--chain")
		.arg(node.ws_url())
		.arg("--dir")
		.arg(dir.path().join("stranger"))
		.kill_on_drop(true)
		.output();
	let unfunded = tokio::time::timeout(START, unfunded).await.expect("it stops").unwrap();
	let said = String::from_utf8_lossy(&unfunded.stderr);
	assert!(!unfunded.status.success(), "{said}");
	assert!(
		said.contains("has 0.000 credits where it needs 200.000: fund it first (on a dev chain: ccgsc transfer ")
			&& said.contains(" 201 --dev alice)"),
		"it says what it lacks\n{said}"
	);

	// One worker runs a job of single results: each, once accepted, may be audited for the
	// next 30 blocks, and the stake answers for it meanwhile.
	let mut worker = WorkerProcess::start(&node, dir.path(), 41, &bootstrap);
	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		args: vec!["--count".into()],
		..job(module, inputs_root, 6, 1, 2_000_000_000, now)
	};
	let id = chain.post_job(&dev::dave(), &spec).await.expect("the job is posted");
	let me = account(41);
	let started = Instant::now();
	loop {
		let record = chain.worker(&me).await.unwrap();
		if record.as_ref().is_some_and(|r| r.unaudited == 6) {
			break;
		}
		assert!(started.elapsed() < START, "six results in their audit window: {record:?}");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	let running = leave(&node.ws_url(), worker.dir(), START).await;
	let said = String::from_utf8_lossy(&running.stderr);
	assert!(!running.status.success(), "a running worker is not left under it\n{said}");
	assert!(said.contains("stop it (Ctrl-C), then leave"), "it says what to do\n{said}");
	let status = worker.interrupt(Duration::from_secs(20)).await;
	assert!(status.is_some_and(|s| s.success()), "holding nothing, it stops at once: {status:?}");
	let record = chain.worker(&me).await.unwrap().expect("registered");
	assert!(record.unaudited > 0, "results still in their audit window: {record:?}");
	let free_before = chain.free_balance(&me).await.unwrap();

	let left = leave(&node.ws_url(), worker.dir(), Duration::from_secs(240)).await;
	let (out, said) =
		(String::from_utf8_lossy(&left.stdout), String::from_utf8_lossy(&left.stderr));
	assert!(left.status.success(), "it leaves\n{out}\n{said}");
	let steps = [
		"leaving: waiting for its results: ",
		" in their audit window",
		"leaving: 200.000 credits of stake unbonding, to be withdrawn at block",
		" blocks from now)",
		"leaving: withdrew 200.000 credits of stake",
	];
	ccgsc_tests::says_in_order(&said, &steps);
	assert!(out.contains("left the market: 200.000 credits of stake withdrawn"), "{out}");

	// Out of the registry, its stake free again (less the fees of unbonding and withdrawing),
	// its six results accepted and paid, no credit created or destroyed.
	assert!(chain.worker(&me).await.unwrap().is_none(), "out of the registry");
	let free_after = chain.free_balance(&me).await.unwrap();
	assert!(free_after + UNIT > free_before + 200 * UNIT, "{free_before} -> {free_after}");
	ended(&chain, &node, id, START).await;
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.settled, info.spent), (JobStatus::Done, 6, 6 * UNIT));

	// The credits are the operator's to send on, as `leave` says: the CLI signs with the
	// worker's key given its directory.
	let to: AccountId32 = dev::eve().public_key().into();
	let eve_before = chain.free_balance(&to).await.unwrap();
	let sent = tokio::process::Command::new(ccgsc_tests::binary("ccgsc"))
		.arg("--chain")
		.arg(node.ws_url())
		.arg("--dir")
		.arg(worker.dir())
		.args(["transfer", &to.to_string(), "150"])
		.kill_on_drop(true)
		.output();
	let sent = tokio::time::timeout(START, sent).await.expect("in time").unwrap();
	assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
	assert_eq!(chain.free_balance(&to).await.unwrap(), eve_before + 150 * UNIT);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");
}
