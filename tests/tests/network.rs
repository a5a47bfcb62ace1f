//! `--chain local` for real: four validators on loopback (Aura and GRANDPA), two workers and a
//! checker on different validators. A job completes while one validator is killed mid-job:
//! the other three keep finalizing (GRANDPA needs more than two thirds), the killed one
//! restarts from its database and catches up, and then its finalized block hash, state root
//! and total issuance equal its peers'; the job's accepted results and the credits it moved
//! are all there.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo test --release -p ccgsc-tests --test
//! network`.

use std::time::{Duration, Instant};

use ccgsc_chain::{api::runtime_types::pallet_jobs::types::JobStatus, dev, Chain};
use ccgsc_primitives::ContentId;
use ccgsc_tests::{
	market::{account, fund, job, logs, primes_content},
	Network,
};

/// Waits until `chain` has finalized block `number`, up to `timeout`.
async fn finalized_past(
	network: &Network,
	i: usize,
	chain: &Chain,
	number: u32,
	timeout: Duration,
) -> u32 {
	let started = Instant::now();
	loop {
		let now = chain.finalized_number().await.unwrap_or(0);
		if now >= number {
			return now;
		}
		assert!(
			started.elapsed() < timeout,
			"validator {i} finalized only #{now}, not #{number}\n{}",
			network.log_tail(i)
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_finalize_through_the_loss_of_one_that_then_catches_up() {
	logs();
	let mut network = Network::local();
	let dir = tempfile::tempdir().unwrap();
	let alice = network.client(0, Duration::from_secs(60)).await;
	finalized_past(&network, 0, &alice, 3, Duration::from_secs(120)).await;

	fund(&alice, &[81, 82, 83]).await;
	let checker_chain = network.ws_url(2);
	let workers = [
		start_worker_on(&network, 0, dir.path(), 81).await,
		start_worker_on(&network, 1, dir.path(), 82).await,
	];
	let bootstrap = workers[0].p2p.listen_addrs().await.unwrap();
	workers[1].p2p.dial(bootstrap[0].clone()).await.unwrap();
	let checker = start_checker_on(&checker_chain, dir.path(), 83, bootstrap.clone()).await;
	let issuance = alice.total_issuance().await.unwrap();

	// 24 tasks of primes.
	let ranges: Vec<(u64, u64)> = (0..24).map(|i| (i * 400_000, (i + 1) * 400_000)).collect();
	let (poster, module, _, root) = primes_content(dir.path(), ranges.clone()).await;
	poster.client().dial(bootstrap[0].clone()).await.unwrap();
	let now = alice.finalized_number().await.unwrap();
	let mut spec = job(module, root, ranges.len() as u32, 2, 2_000_000_000, now);
	spec.args = vec!["--count".into()];
	let id = alice.post_job(&dev::dave(), &spec).await.expect("posted");

	// Kill Dave's validator once work is under way; the others keep finalizing.
	let started = Instant::now();
	loop {
		let info = alice.job(id).await.unwrap().unwrap();
		if info.settled >= 3 {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(180),
			"work starts: {} settled",
			info.settled
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	network.kill(3);
	let at_kill = alice.finalized_number().await.unwrap();
	finalized_past(&network, 0, &alice, at_kill + 10, Duration::from_secs(60)).await;

	// The job completes on three validators.
	let started = Instant::now();
	let info = loop {
		let info = alice.job(id).await.unwrap().unwrap();
		if info.ended.is_some() {
			break info;
		}
		assert!(
			started.elapsed() < Duration::from_secs(300),
			"job {id}: {}/{} settled\n{}",
			info.settled,
			info.spec.task_count,
			network.log_tail(0)
		);
		tokio::time::sleep(Duration::from_secs(1)).await;
	};
	assert_eq!(info.status, JobStatus::Done);

	// Dave's validator comes back from its database and catches up.
	network.restart(3);
	let dave = network.client(3, Duration::from_secs(60)).await;
	let target = alice.finalized_number().await.unwrap();
	let caught_up = finalized_past(&network, 3, &dave, target, Duration::from_secs(120)).await;
	assert!(caught_up >= target);
	let a = alice.block_facts(target).await.unwrap();
	// A node that has just caught up may announce a block a moment before it serves it.
	let started = Instant::now();
	let d = loop {
		match dave.block_facts(target).await {
			Ok(facts) => break facts,
			Err(e) if started.elapsed() < Duration::from_secs(30) => {
				eprintln!("the restarted validator does not serve block #{target} yet: {e}");
				tokio::time::sleep(Duration::from_millis(500)).await;
			},
			Err(e) => panic!("the restarted validator serves block #{target}: {e}"),
		}
	};
	assert_eq!(a, d, "the restarted validator agrees on block #{target}");
	assert_eq!(a.total_issuance, issuance, "no credit created or destroyed");

	// Every accepted result is there (the restarted validator has the same state root) and
	// correct.
	for (index, (lo, hi)) in ranges.iter().enumerate() {
		let task = alice.task(id, index as u32).await.unwrap().expect("claimed");
		let result = task.result.expect("accepted");
		let mut expected = 0u64;
		ccgsc_tasks::primes::sieve(*lo, *hi, |_| expected += 1);
		let output = workers
			.iter()
			.find(|w| w.p2p.has(&ContentId(result.output.0)))
			.map(|w| w.p2p.store().get(&ContentId(result.output.0)).unwrap().unwrap())
			.expect("a worker holds the output");
		assert_eq!(ccgsc_tasks::primes::decode(&output).unwrap().0, expected, "task {index}");
	}
	for w in [&workers[0], &workers[1]] {
		let record = alice.worker(&w.account).await.unwrap().expect("registered");
		assert!(record.earned > 0, "{} was paid", w.account);
	}
	assert!(alice.checker(&account(83)).await.unwrap().is_some());
	drop(checker);
	drop(poster);
}

async fn start_worker_on(
	network: &Network,
	i: usize,
	dir: &std::path::Path,
	seed: u8,
) -> ccgsc_tests::market::Running<ccgsc_worker::Stats> {
	ccgsc_tests::market::start_worker_with(ccgsc_worker::Config::new(
		network.ws_url(i),
		dir.join(format!("worker-{seed}")),
		[seed; 32],
	))
	.await
}

async fn start_checker_on(
	url: &str,
	dir: &std::path::Path,
	seed: u8,
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
) -> ccgsc_tests::market::Running<ccgsc_verifier::Stats> {
	ccgsc_tests::market::start_checker_with(
		ccgsc_verifier::Config::new(
			url.to_string(),
			dir.join(format!("checker-{seed}")),
			[seed; 32],
		)
		.with_bootstrap(bootstrap),
	)
	.await
}
