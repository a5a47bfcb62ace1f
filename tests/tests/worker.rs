//! Workers on the real chain: a primes job posted, claimed, fetched over libp2p, run in the
//! sandbox, committed, revealed, settled and paid.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo test --release -p ccgsc-tests --test worker`.

use std::time::{Duration, Instant};

use ccgsc_chain::{
	api::runtime_types::pallet_jobs::types::{JobStatus, Phase},
	dev, AccountId32, Chain, JobSpec, UNIT,
};
use ccgsc_p2p::Node as P2p;
use ccgsc_primitives::{ContentId, Limits, Outcome, PlatformClass, PlatformSet};
use ccgsc_tasks::primes;
use ccgsc_tests::Node;
use ccgsc_worker::{Config, Worker};
use tokio::sync::oneshot;

const START: Duration = Duration::from_secs(60);

/// Worker logs in the test output (shown when a test fails); `RUST_LOG` refines them.
fn logs() {
	let filter = tracing_subscriber::EnvFilter::try_from_default_env()
		.unwrap_or_else(|_| "info,libp2p=warn".into());
	let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
}

/// A worker running in this process (real libp2p, real wasmtime), stopped on drop.
struct RunningWorker {
	account: AccountId32,
	stop: Option<oneshot::Sender<()>>,
	task: tokio::task::JoinHandle<Result<(), ccgsc_worker::Error>>,
	stats: std::sync::Arc<ccgsc_worker::Stats>,
}

impl RunningWorker {
	async fn stop(mut self) {
		let _ = self.stop.take().expect("stopped once").send(());
		let ended = tokio::time::timeout(Duration::from_secs(90), &mut self.task).await;
		ended.expect("the worker stops gracefully").expect("no panic").expect("no error");
	}
}

impl Drop for RunningWorker {
	fn drop(&mut self) {
		self.task.abort();
	}
}

async fn start_worker(
	node: &Node,
	dir: &std::path::Path,
	seed: u8,
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	lie: bool,
) -> RunningWorker {
	let config = Config::new(node.ws_url(), dir.join(format!("worker-{seed}")), [seed; 32])
		.with_bootstrap(bootstrap)
		.with_corrupt_output(lie);
	let worker = Worker::new(config).await.expect("the worker starts");
	let (stop, stopped) = oneshot::channel::<()>();
	let account = worker.account();
	let stats = worker.stats();
	let task = tokio::spawn(worker.run(async {
		let _ = stopped.await;
	}));
	RunningWorker { account, stop: Some(stop), task, stats }
}

/// Funds the ed25519 accounts of worker seeds from the sr25519 dev accounts, in parallel.
async fn fund(chain: &Chain, seeds: &[u8]) {
	let payers = [dev::alice(), dev::bob(), dev::charlie(), dev::eve(), dev::ferdie()];
	let transfers = seeds.iter().zip(payers.iter()).map(|(seed, payer)| {
		let to = AccountId32(ccgsc_chain::Ed25519Signer::from_seed([*seed; 32]).public());
		async move { chain.transfer(payer, &to, 1_000 * UNIT).await.expect("the transfer succeeds") }
	});
	futures::future::join_all(transfers).await;
}

/// Waits until `job` has ended, up to `timeout`.
async fn ended(chain: &Chain, node: &Node, job: u64, timeout: Duration) {
	let started = Instant::now();
	loop {
		let info = chain.job(job).await.expect("query").expect("the job exists");
		if info.status != JobStatus::Open && info.in_flight == 0 {
			return;
		}
		assert!(
			started.elapsed() < timeout,
			"job {job} still open after {timeout:?}: {} of {} tasks settled\n{}",
			info.settled,
			info.spec.task_count,
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_honest_primes_job_completes_and_everyone_is_paid_exactly() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();

	// The poster's content node (the portal's role): the module and twenty ranges of 50 000.
	let poster_p2p = P2p::start(ccgsc_p2p::Config::new(dir.path().join("poster"))).await.unwrap();
	let module = poster_p2p.client().add(ccgsc_task_modules::PRIMES.to_vec()).await.unwrap();
	let mut inputs = Vec::new();
	for i in 0..20u64 {
		inputs.push(
			poster_p2p.client().add(primes::input(i * 50_000, (i + 1) * 50_000)).await.unwrap(),
		);
	}
	let inputs_root = poster_p2p.client().add_inputs(inputs.clone()).await.unwrap();
	let bootstrap = poster_p2p.client().listen_addrs().await.unwrap();

	fund(&chain, &[1, 2, 3]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let mut workers = Vec::new();
	for seed in [1, 2, 3] {
		workers.push(start_worker(&node, dir.path(), seed, bootstrap.clone(), false).await);
	}

	let poster = dev::dave();
	let poster_account: AccountId32 = poster.public_key().into();
	let poster_before = chain.free_balance(&poster_account).await.unwrap();
	let now = chain.finalized_number().await.unwrap();
	let spec = JobSpec {
		module,
		inputs_root,
		task_count: 20,
		args: vec![],
		reward_per_task: UNIT,
		replication: 2,
		limits: Limits { work: 2_000_000_000, memory: 64 << 20, output: 1 << 20 },
		platforms: PlatformSet::of(&[PlatformClass::native().unwrap()]),
		executor_version: ccgsc_executor::VERSION,
		deadline: now + 1_000,
	};
	let job = chain.post_job(&poster, &spec).await.expect("the job is posted");
	ended(&chain, &node, job, Duration::from_secs(300)).await;

	// Every task succeeded with the output the native twin computes, and it can be fetched.
	let mut total = 0;
	for (index, input) in inputs.iter().enumerate() {
		let task = chain.task(job, index as u32).await.unwrap().expect("every task was claimed");
		assert_eq!(task.phase, Phase::Done, "task {index}");
		let result = task.result.expect("a settled result");
		let expected = primes::run(&poster_p2p.client().get(*input).await.unwrap(), &[]).unwrap();
		assert_eq!(ccgsc_chain::convert::outcome_back(&result.outcome), Outcome::Success);
		assert_eq!(result.output.0, ContentId::of(&expected).0, "task {index}");
		let fetched = poster_p2p.client().get(ContentId(result.output.0)).await.unwrap();
		total += primes::decode(&fetched).unwrap().0;
	}
	assert_eq!(total, 78_498, "pi(10^6)");

	// Paid: every accepted replica got its reward, and the rest of the escrow came back.
	let info = chain.job(job).await.unwrap().unwrap();
	assert_eq!(info.status, JobStatus::Done);
	assert_eq!(info.escrow, 0, "no escrow left held");
	assert_eq!(info.spent, 20 * 2 * UNIT, "two replicas paid per task");
	let mut earned = 0;
	for worker in &workers {
		let record = chain.worker(&worker.account).await.unwrap().expect("registered");
		earned += record.earned;
	}
	assert_eq!(earned, info.spent, "workers earned exactly what the job spent");
	let poster_after = chain.free_balance(&poster_account).await.unwrap();
	let fees = poster_before - poster_after - info.spent;
	assert!(fees < UNIT, "the poster paid the rewards and a small fee, got the rest back ({fees})");
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "no credit created or destroyed");

	let done: u64 =
		workers.iter().map(|w| w.stats.tasks_done.load(std::sync::atomic::Ordering::Relaxed)).sum();
	assert_eq!(done, 40, "forty replicas ran");
	for worker in workers {
		worker.stop().await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_module_that_loops_forever_ends_at_the_work_limit_on_every_replica_and_workers_go_on() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let poster_p2p = P2p::start(ccgsc_p2p::Config::new(dir.path().join("poster"))).await.unwrap();
	let spin = wat::parse_str(
		r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
	)
	.unwrap();
	let spin = poster_p2p.client().add(spin).await.unwrap();
	let primes_module = poster_p2p.client().add(ccgsc_task_modules::PRIMES.to_vec()).await.unwrap();
	let mut inputs = Vec::new();
	for i in 0..2u64 {
		inputs
			.push(poster_p2p.client().add(primes::input(i * 1000, (i + 1) * 1000)).await.unwrap());
	}
	let inputs_root = poster_p2p.client().add_inputs(inputs).await.unwrap();
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
		module,
		inputs_root,
		task_count: 2,
		args: vec!["--count".into()],
		reward_per_task: UNIT,
		replication: 2,
		limits: Limits { work: 300_000_000, memory: 16 << 20, output: 1 << 16 },
		platforms: PlatformSet::of(&[PlatformClass::native().unwrap()]),
		executor_version: ccgsc_executor::VERSION,
		deadline: now + 1_000,
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
