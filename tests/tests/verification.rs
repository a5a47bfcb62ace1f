//! Verification on the real chain: a checker (`ccgsc-verifier`) catches a lying worker in a
//! dispute, and drops what it fetched for it once the chain removes the job's record;
//! adaptive replication lets trusted workers run tasks once while audits catch a planted
//! wrong single result; the audit rate in force is the configured one; a checker killed
//! between its attestation and its reveal reveals when started again; a checker away when a
//! review selects it takes the review up when it is back; a worker slashed below the minimum
//! stake says so, and restakes when started again; a checker slashed below the minimum says
//! so, leaves the registry, and registers anew once its stake has unbonded; a checker that
//! leaves for good does its open review first and gets its stake back; a job whose input
//! nobody serves fails unpaid, with nobody slashed.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo test --release -p ccgsc-tests --test
//! verification`.

use std::{sync::atomic::Ordering, time::Duration};

use ccgsc_chain::{
	api::{
		self,
		runtime_types::{
			pallet_attestations::{Attestation, Review},
			pallet_jobs::types::{JobStatus, Phase, ReplicaState, ReviewKind},
		},
	},
	convert, dev, AccountId32, Chain, Ed25519Signer, UNIT,
};
use ccgsc_primitives::{ContentId, Outcome, PlatformClass};
use ccgsc_tasks::primes;
use ccgsc_tests::{
	market::{
		account, ended, fund, job, logs, primes_content, registered_checker, start_checker,
		start_worker, start_worker_with,
	},
	Node,
};

const START: Duration = Duration::from_secs(60);

/// Blocks an ended job's record is kept, shortened for the tests that see it removed.
const RETENTION: u32 = 30;

/// A dev node, a poster's content node serving one primes task (the count up to 50 000), and
/// the accounts of `seeds` funded: what a test of one disputed task starts from.
struct OneTask {
	node: Node,
	chain: Chain,
	dir: tempfile::TempDir,
	p2p: ccgsc_p2p::Node,
	module: ContentId,
	inputs: Vec<ContentId>,
	root: ccgsc_primitives::Hash,
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	/// Total issuance once the accounts are funded.
	issuance: u128,
}

impl OneTask {
	async fn start(seeds: &[u8]) -> Self {
		logs();
		let node = Node::dev();
		let chain = node.client(START).await;
		let dir = tempfile::tempdir().unwrap();
		let (p2p, module, inputs, root) = primes_content(dir.path(), [(0, 50_000)]).await;
		let bootstrap = p2p.client().listen_addrs().await.unwrap();
		fund(&chain, seeds).await;
		let issuance = chain.total_issuance().await.unwrap();
		Self { node, chain, dir, p2p, module, inputs, root, bootstrap, issuance }
	}
}

/// Posts (as Dave) a job of the one task of `module` and `root` with two replicas, which a
/// lying and an honest worker then dispute.
async fn post_disputed(chain: &Chain, module: ContentId, root: ccgsc_primitives::Hash) -> u64 {
	let now = chain.finalized_number().await.unwrap();
	chain.post_job(&dev::dave(), &job(module, root, 1, 2, 2_000_000_000, now)).await.unwrap()
}

/// Asserts every task of `id` settled with the output the native twin computes from its input.
async fn outputs_are_correct(chain: &Chain, p2p: &ccgsc_p2p::Node, id: u64, inputs: &[ContentId]) {
	for (index, input) in inputs.iter().enumerate() {
		let task = chain.task(id, index as u32).await.unwrap().expect("claimed");
		assert_eq!(task.phase, Phase::Done, "task {index}");
		let result = task.result.expect("settled");
		assert_eq!(convert::outcome_back(&result.outcome), Outcome::Success, "task {index}");
		let expected = primes::run(&p2p.client().get(*input).await.unwrap(), &[]).unwrap();
		assert_eq!(result.output.0, ContentId::of(&expected).0, "task {index}: accepted output");
	}
}

/// Waits (up to two minutes) until the open review of task 0 of job `id` shows `checker` in a
/// state that `state` accepts, and returns the review.
async fn review_showing(
	chain: &Chain,
	id: u64,
	checker: &AccountId32,
	state: impl Fn(&Attestation) -> bool,
) -> Review<AccountId32, u32> {
	let started = std::time::Instant::now();
	loop {
		let review =
			chain.review(id, 0).await.unwrap().filter(|review| {
				review.checkers.0.iter().any(|(who, a)| who == checker && state(a))
			});
		if let Some(review) = review {
			return review;
		}
		assert!(
			started.elapsed() < Duration::from_secs(120),
			"the review of job {id} never showed the checker so"
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

/// Asserts that `judge`'s attestation decided the dispute over a task of `liar`: the liar
/// slashed, the judge upheld once, never slashed, and paid.
async fn assert_decided_by(chain: &Chain, liar: &AccountId32, judge: &AccountId32) {
	let record = chain.worker(liar).await.unwrap().unwrap();
	assert!(record.slashed > 0, "the liar was slashed");
	let judge = chain.checker(judge).await.unwrap().unwrap();
	assert_eq!((judge.upheld, judge.slashed), (1, 0), "its attestation decided the dispute");
	assert!(judge.earned > 0, "and it was paid for it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lying_worker_is_caught_by_the_checker_and_slashed_and_the_honest_output_accepted() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (p2p, module, inputs, root) =
		primes_content(dir.path(), (0..8u64).map(|i| (i * 50_000, (i + 1) * 50_000))).await;
	let bootstrap = p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[11, 12, 13, 19]).await;
	// A short retention, so the test sees the ended job's record removed.
	chain.set_job_retention(&dev::alice(), RETENTION).await.expect("root sets the retention");
	let issuance = chain.total_issuance().await.unwrap();
	let checker = start_checker(&node, dir.path(), 19, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let liar = start_worker(&node, dir.path(), 11, bootstrap.clone(), true).await;
	let honest = [
		start_worker(&node, dir.path(), 12, bootstrap.clone(), false).await,
		start_worker(&node, dir.path(), 13, bootstrap.clone(), false).await,
	];

	let now = chain.finalized_number().await.unwrap();
	let id =
		chain.post_job(&dev::dave(), &job(module, root, 8, 2, 2_000_000_000, now)).await.unwrap();
	ended(&chain, &node, id, Duration::from_secs(300)).await;

	outputs_are_correct(&chain, &p2p, id, &inputs).await;
	// Every task the liar revealed in went to the checker, and the liar lost there.
	let mut caught = 0;
	for index in 0..8 {
		let task = chain.task(id, index).await.unwrap().unwrap();
		let accepted = task.result.expect("settled");
		for replica in task.replicas.0.iter().filter(|r| r.worker == liar.account) {
			if let ReplicaState::Revealed(lie) = &replica.state {
				assert_ne!(lie, &accepted, "task {index}: the lie was not accepted");
				caught += 1;
			}
		}
	}
	assert!(caught >= 1, "the liar revealed at least one lie");
	let record = chain.worker(&liar.account).await.unwrap().unwrap();
	assert!(record.slashed > 0 && record.reputation.invalid >= 1, "the liar was slashed");
	assert!(liar.stats.slashed.load(Ordering::Relaxed) > 0);
	for worker in &honest {
		let record = chain.worker(&worker.account).await.unwrap().unwrap();
		assert_eq!(record.slashed, 0, "honest workers are never slashed");
		assert!(record.earned > 0);
	}
	let judge = chain.checker(&checker.account).await.unwrap().unwrap();
	assert!(judge.upheld as usize >= caught, "the checker decided every dispute");
	assert!(judge.earned > 0 && judge.slashed == 0, "and was paid for it");
	let seen = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
	assert_eq!(seen(&checker.stats.overruled), 0);
	assert!(seen(&checker.stats.upheld) >= caught as u64);
	let info = chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.escrow), (JobStatus::Done, 0));
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");

	// Once the chain removes the ended job's record, the checker drops what it fetched to
	// judge the disputes (the module and the disputed tasks' inputs), as the workers drop
	// what they fetched to run the tasks.
	assert!(checker.p2p.has(&module), "the checker fetched the module to re-execute");
	let deadline = std::time::Instant::now() + Duration::from_secs(120);
	while !chain.job_pruned(id).await.unwrap() {
		assert!(std::time::Instant::now() < deadline, "the record is removed\n{}", node.log_tail());
		tokio::time::sleep(Duration::from_secs(1)).await;
	}
	let content: Vec<ContentId> = std::iter::once(module).chain(inputs).collect();
	let holding = || {
		content.iter().any(|id| {
			checker.p2p.has(id) || std::iter::once(&liar).chain(&honest).any(|w| w.p2p.has(id))
		})
	};
	let started = std::time::Instant::now();
	while holding() {
		assert!(
			started.elapsed() < Duration::from_secs(30),
			"the checker and the workers drop the removed job's content from their stores"
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}

	for worker in honest {
		worker.stop().await;
	}
	liar.stop().await;
	checker.stop().await;
}

/// A job whose inputs nobody serves (its poster left the content network): both replicas and
/// the checker report the input unavailable, which is no verdict. The task fails, nobody is
/// paid or slashed, the poster gets the whole escrow back, and the workers go on to the next
/// job.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_input_nobody_serves_fails_its_task_unpaid_and_nobody_is_slashed() {
	let t = OneTask::start(&[21, 22, 29]).await;
	let checker = start_checker(&t.node, t.dir.path(), 29, t.bootstrap.clone()).await;
	registered_checker(&t.chain, &checker.account).await;
	let workers = [
		start_worker(&t.node, t.dir.path(), 21, t.bootstrap.clone(), false).await,
		start_worker(&t.node, t.dir.path(), 22, t.bootstrap.clone(), false).await,
	];
	let unserved = [ContentId::of(b"an input only its poster had")];
	let id = post_disputed(&t.chain, t.module, ccgsc_primitives::inputs_root(&unserved)).await;
	ended(&t.chain, &t.node, id, Duration::from_secs(180)).await;

	let task = t.chain.task(id, 0).await.unwrap().expect("claimed");
	assert_eq!((task.phase.clone(), task.result), (Phase::Done, None));
	assert_eq!(task.replicas.0.len(), 2);
	for replica in &task.replicas.0 {
		let ReplicaState::Revealed(result) = &replica.state else {
			panic!("every replica revealed: {replica:?}")
		};
		assert_eq!(convert::outcome_back(&result.outcome), Outcome::InputUnavailable);
	}
	assert_eq!(
		ccgsc_chain::unresolved(Some(&task)),
		Some(ccgsc_chain::Unresolved::InputUnavailable)
	);
	let seen = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
	assert!(seen(&checker.stats.assigned) >= 1, "the dispute went to the checker");
	// Which could not complete it: neither upheld nor overruled, as there was no verdict.
	assert!(seen(&checker.stats.failed) >= 1);
	assert_eq!((seen(&checker.stats.upheld), seen(&checker.stats.overruled)), (0, 0));
	let judge = t.chain.checker(&checker.account).await.unwrap().unwrap();
	assert_eq!((judge.upheld, judge.earned, judge.slashed), (0, 0, 0));
	for worker in &workers {
		let record = t.chain.worker(&worker.account).await.unwrap().unwrap();
		assert_eq!((record.earned, record.slashed), (0, 0), "nobody is paid or slashed");
	}
	let info = t.chain.job(id).await.unwrap().unwrap();
	assert_eq!((info.status, info.spent, info.escrow), (JobStatus::Done, 0, 0));
	assert_eq!(t.chain.total_issuance().await.unwrap(), t.issuance);

	// The next job, whose input is served, completes with the right output.
	let id = post_disputed(&t.chain, t.module, t.root).await;
	ended(&t.chain, &t.node, id, Duration::from_secs(180)).await;
	outputs_are_correct(&t.chain, &t.p2p, id, &t.inputs).await;
	for worker in &workers {
		let record = t.chain.worker(&worker.account).await.unwrap().unwrap();
		assert!(record.earned > 0 && record.slashed == 0, "paid for the second job");
	}
	assert_eq!(t.chain.total_issuance().await.unwrap(), t.issuance);

	for worker in workers {
		worker.stop().await;
	}
	checker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn trusted_workers_run_tasks_once_and_an_audit_catches_a_planted_wrong_single_result() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (p2p, module, inputs, root) =
		primes_content(dir.path(), (0..20u64).map(|i| (i * 10_000, (i + 1) * 10_000))).await;
	let bootstrap = p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[41, 42, 49]).await;
	chain.set_audit_rate(&dev::alice(), 1_000_000_000).await.expect("root sets the audit rate");
	assert_eq!(chain.audit_rate().await.unwrap(), 1_000_000_000, "every single result is audited");
	let issuance = chain.total_issuance().await.unwrap();
	let checker = start_checker(&node, dir.path(), 49, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let mut first = start_worker(&node, dir.path(), 41, bootstrap.clone(), false).await;
	let second = start_worker(&node, dir.path(), 42, bootstrap.clone(), false).await;
	let post = |tasks: u32| {
		let chain = chain.clone();
		async move {
			let now = chain.finalized_number().await.unwrap();
			let spec = job(module, root, tasks, 2, 2_000_000_000, now);
			chain.post_job(&dev::dave(), &spec).await.expect("posted")
		}
	};

	// Warm-up: both workers run every task of a fully replicated job and earn trust.
	let warm_up = post(20).await;
	ended(&chain, &node, warm_up, Duration::from_secs(300)).await;
	for worker in [&first, &second] {
		let record = chain.worker(&worker.account).await.unwrap().unwrap();
		assert!(record.reputation.consecutive_valid >= 5, "trusted after the warm-up");
	}

	// Trusted: most tasks now run once, and the audits (all of them, at 100 %) uphold them.
	let trusted = post(10).await;
	ended(&chain, &node, trusted, Duration::from_secs(300)).await;
	outputs_are_correct(&chain, &p2p, trusted, &inputs[..10]).await;
	let mut executions = 0;
	let mut once = 0;
	for index in 0..10 {
		let replicas = chain.task(trusted, index).await.unwrap().unwrap().replicas.0.len();
		executions += replicas;
		once += usize::from(replicas == 1);
	}
	assert!(once >= 5, "trusted workers ran {once} of 10 tasks once ({executions} executions)");

	// Plant a lie: the first worker comes back corrupting its outputs. The second steps out so
	// that the liar claims the next job's tasks; they are trusted, so its results stand alone,
	// and each single result is audited. The second returns once the liar is caught, to run the
	// replicas the liar, no longer trusted, cannot run alone.
	second.stop().await;
	first.stop().await;
	first = start_worker(&node, dir.path(), 41, bootstrap.clone(), true).await;
	let planted = post(6).await;
	let deadline = std::time::Instant::now() + Duration::from_secs(180);
	while chain.worker(&first.account).await.unwrap().unwrap().slashed == 0 {
		assert!(
			std::time::Instant::now() < deadline,
			"the lie was not caught\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let second = start_worker(&node, dir.path(), 42, bootstrap.clone(), false).await;
	ended(&chain, &node, planted, Duration::from_secs(300)).await;
	outputs_are_correct(&chain, &p2p, planted, &inputs[..6]).await;
	let mut single_lies_caught = 0;
	for index in 0..6 {
		let task = chain.task(planted, index).await.unwrap().unwrap();
		let accepted = task.result.expect("settled");
		if let [only] = &task.replicas.0[..] {
			if only.worker == first.account {
				let ReplicaState::Revealed(lie) = only.state else {
					panic!("task {index}: a single replica that did not reveal")
				};
				assert_ne!(lie, accepted, "task {index}: the audit overturned the lie in time");
				single_lies_caught += 1;
			}
		}
	}
	assert!(single_lies_caught >= 1, "a wrong single result was planted and caught");
	let record = chain.worker(&first.account).await.unwrap().unwrap();
	assert!(record.slashed > 0, "the liar was slashed");
	assert_eq!(chain.worker(&second.account).await.unwrap().unwrap().slashed, 0);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance);

	first.stop().await;
	second.stop().await;
	checker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_audit_rate_in_force_is_the_configured_one_over_many_draws() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (p2p, module, _, root) =
		primes_content(dir.path(), (0..160u64).map(|i| (i * 100, (i + 1) * 100))).await;
	let bootstrap = p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[51, 52, 59]).await;
	let rate = 250_000_000; // 25 %, in parts per billion
	chain.set_audit_rate(&dev::alice(), rate).await.expect("root sets the audit rate");
	assert_eq!(chain.audit_rate().await.unwrap(), rate);
	let checker = start_checker(&node, dir.path(), 59, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let mut workers = Vec::new();
	for seed in [51, 52] {
		let config = ccgsc_worker::Config::new(
			node.ws_url(),
			dir.path().join(format!("w{seed}")),
			[seed; 32],
		)
		.with_cores(4)
		.with_bootstrap(bootstrap.clone());
		workers.push(ccgsc_tests::market::start_worker_with(config).await);
	}
	let post = |tasks: u32| {
		let chain = chain.clone();
		async move {
			let now = chain.finalized_number().await.unwrap();
			let spec = job(module, root, tasks, 2, 100_000_000, now);
			chain.post_job(&dev::dave(), &spec).await.expect("posted")
		}
	};
	let warm_up = post(8).await;
	ended(&chain, &node, warm_up, Duration::from_secs(300)).await;

	// Count the audit draws of the big job as the blocks finalize: every single result is
	// either audited (a review opens) or provisionally accepted.
	let mut blocks = chain.client().stream_blocks().await.unwrap();
	let many = post(160).await;
	let (mut audited, mut provisional) = (0u32, 0u32);
	let deadline = std::time::Instant::now() + Duration::from_secs(600);
	let mut end = None;
	loop {
		assert!(std::time::Instant::now() < deadline, "the job did not end\n{}", node.log_tail());
		let Ok(Some(Ok(block))) = tokio::time::timeout(Duration::from_secs(5), blocks.next()).await
		else {
			continue;
		};
		let events = ccgsc_chain::block_events(&block).await.unwrap();
		for opened in events.find::<api::jobs::events::ReviewOpened>().flatten() {
			if opened.job == many && opened.kind == ReviewKind::Audit {
				audited += 1;
			}
		}
		for accepted in events.find::<api::jobs::events::ProvisionallyAccepted>().flatten() {
			if accepted.job == many {
				provisional += 1;
			}
		}
		// Once the job has ended, read on up to the block where it had.
		if end.is_none() {
			end = chain.job(many).await.unwrap().unwrap().ended;
		}
		if end.is_some_and(|end| block.number() as u32 >= end) {
			break;
		}
	}
	let draws = f64::from(audited + provisional);
	assert!(draws >= 80.0, "enough single results to draw on ({draws})");
	let p = f64::from(rate) / 1e9;
	println!("audit draws: {audited} of {draws} single results audited at 25 %");
	let expected = draws * p;
	let sigma = (draws * p * (1.0 - p)).sqrt();
	assert!(
		(f64::from(audited) - expected).abs() <= 4.0 * sigma,
		"{audited} of {draws} single results audited; {expected:.1} ± {:.1} expected at 25 %",
		4.0 * sigma
	);
	for worker in workers {
		worker.stop().await;
	}
	checker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checker_killed_between_attesting_and_revealing_reveals_when_started_again() {
	let OneTask { node, chain, dir, p2p, module, inputs, root, bootstrap, issuance } =
		OneTask::start(&[51, 52, 58, 59]).await;
	// Two checkers: one runs `ccgsc-verifier`, the other registers and then never attests, so
	// the reveals of a review wait for the commit window to close, about twenty seconds.
	let checker = start_checker(&node, dir.path(), 59, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	let platform = PlatformClass::native().unwrap();
	chain
		.register_checker(
			&Ed25519Signer::from_seed([58; 32]),
			200 * UNIT,
			platform,
			ccgsc_executor::VERSION,
		)
		.await
		.unwrap();
	let liar = start_worker(&node, dir.path(), 51, bootstrap.clone(), true).await;
	let honest = start_worker(&node, dir.path(), 52, bootstrap.clone(), false).await;
	let id = post_disputed(&chain, module, root).await;

	// The replicas disagree, the review opens, and the checker attests; then it is killed.
	review_showing(&chain, id, &checker.account, |a| matches!(a, Attestation::Committed(_))).await;
	drop(checker);

	// Started again on the same directory, it reveals what it attested once reveals open.
	let checker = start_checker(&node, dir.path(), 59, bootstrap).await;
	ended(&chain, &node, id, Duration::from_secs(180)).await;
	outputs_are_correct(&chain, &p2p, id, &inputs).await;
	assert_decided_by(&chain, &liar.account, &checker.account).await;
	let silent = chain.checker(&account(58)).await.unwrap().unwrap();
	assert!(silent.slashed > 0, "the checker that never attested was slashed");
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");
	honest.stop().await;
	liar.stop().await;
	checker.stop().await;
}

/// A checker that is not running when a review selects it (stopped for an upgrade, or cut off
/// from its node) takes the review up once it is back within the commit window, instead of
/// missing the block that assigned it and being slashed for its silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checker_away_when_a_review_selects_it_takes_the_review_up_when_back() {
	let OneTask { node, chain, dir, p2p, module, inputs, root, bootstrap, issuance } =
		OneTask::start(&[53, 54, 57]).await;
	// The checker registers, then stops: it stays selectable.
	let checker = start_checker(&node, dir.path(), 57, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	checker.stop().await;
	let liar = start_worker(&node, dir.path(), 53, bootstrap.clone(), true).await;
	let honest = start_worker(&node, dir.path(), 54, bootstrap.clone(), false).await;
	let id = post_disputed(&chain, module, root).await;

	// The replicas disagree, and the review selects the checker while it is away.
	let review =
		review_showing(&chain, id, &account(57), |a| matches!(a, Attestation::Pending)).await;
	// A checker takes in only the blocks finalized after it starts (the last 16 before, which
	// a new follow of the chain shows first, are not its own run's): the block that assigned
	// the review is behind it. It comes back with 12 blocks of the 20-block commit window left.
	while chain.finalized_number().await.unwrap() < review.commit_until - 12 {
		tokio::time::sleep(Duration::from_millis(100)).await;
	}

	// Started again, it finds the review, re-executes, attests and reveals, and decides it.
	let checker = start_checker(&node, dir.path(), 57, bootstrap).await;
	ended(&chain, &node, id, Duration::from_secs(180)).await;
	outputs_are_correct(&chain, &p2p, id, &inputs).await;
	assert_decided_by(&chain, &liar.account, &checker.account).await;
	assert_eq!(checker.stats.assigned.load(Ordering::Relaxed), 1);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");
	honest.stop().await;
	liar.stop().await;
	checker.stop().await;
}

/// A worker whose stake a slash brings below the minimum says so (status line and
/// `ccgsc_worker_active`) when the chain refuses its claims, instead of idling without a
/// word; started again, it tops its stake back up to `--stake` and works.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_slashed_below_the_minimum_says_so_and_restakes_when_started_again() {
	logs();
	let node = Node::dev();
	let chain = node.client(START).await;
	let dir = tempfile::tempdir().unwrap();
	let (p2p, module, inputs, root) =
		primes_content(dir.path(), (0..4u64).map(|i| (i * 50_000, (i + 1) * 50_000))).await;
	let bootstrap = p2p.client().listen_addrs().await.unwrap();
	fund(&chain, &[61, 62, 63]).await;
	let issuance = chain.total_issuance().await.unwrap();
	let checker = start_checker(&node, dir.path(), 63, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	// The minimum stake, 100 credits: one slash of half of it leaves the worker inactive.
	let config = |lie| {
		ccgsc_worker::Config::new(node.ws_url(), dir.path().join("worker-61"), [61; 32])
			.with_bootstrap(bootstrap.clone())
			.with_stake(100 * UNIT)
			.with_corrupt_output(lie)
	};
	let liar = start_worker_with(config(true)).await;
	let honest = start_worker(&node, dir.path(), 62, bootstrap.clone(), false).await;
	let post = |tasks: u32, replication: u8| {
		let chain = chain.clone();
		async move {
			let now = chain.finalized_number().await.unwrap();
			let spec = job(module, root, tasks, replication, 2_000_000_000, now);
			chain.post_job(&dev::dave(), &spec).await.expect("the job is posted")
		}
	};
	let disputed = post(1, 2).await;
	ended(&chain, &node, disputed, Duration::from_secs(180)).await;
	assert_decided_by(&chain, &liar.account, &checker.account).await;
	assert_eq!(chain.worker(&liar.account).await.unwrap().unwrap().stake, 50 * UNIT);
	assert!(!liar.stats.inactive.load(Ordering::Relaxed), "nothing refused yet");

	// The next job: the chain refuses the slashed worker's claims, and it says so.
	let next = post(4, 1).await;
	let started = std::time::Instant::now();
	while !liar.stats.inactive.load(Ordering::Relaxed) {
		assert!(started.elapsed() < START, "the slashed worker says it is inactive");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert!(liar.stats.line().contains("inactive"), "{}", liar.stats.line());
	ended(&chain, &node, next, Duration::from_secs(180)).await;
	liar.stop().await;
	honest.stop().await;

	// Started again, honest now, it adds the 50 credits back, and runs the last job alone.
	let restarted = start_worker_with(config(false)).await;
	let started = std::time::Instant::now();
	while chain.worker(&restarted.account).await.unwrap().unwrap().stake < 100 * UNIT {
		assert!(started.elapsed() < START, "the worker tops its stake up");
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
	let last = post(4, 1).await;
	ended(&chain, &node, last, Duration::from_secs(180)).await;
	outputs_are_correct(&chain, &p2p, last, &inputs).await;
	assert_eq!(restarted.stats.tasks_done.load(Ordering::Relaxed), 4);
	assert!(!restarted.stats.inactive.load(Ordering::Relaxed));
	assert_eq!(chain.worker(&restarted.account).await.unwrap().unwrap().stake, 100 * UNIT);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");
	restarted.stop().await;
	checker.stop().await;
}

/// A checker that a slash leaves below the minimum stake gets no new reviews, and the
/// registry cannot top a stake up: the running verifier sees its slash, leaves the registry
/// to withdraw and register anew once the stake unbonds, and says so (status line and
/// `ccgsc_verifier_selectable`); started again meanwhile, it goes on waiting, without a new
/// transaction; once the stake has unbonded it registers anew and checks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checker_slashed_below_the_minimum_leaves_and_registers_anew_to_check_again() {
	use ccgsc_verifier::standing::Step;
	use ccgsc_worker::Metrics;
	let OneTask { node, chain, dir, p2p, module, inputs, root, bootstrap, issuance } =
		OneTask::start(&[64, 65, 66, 67]).await;
	// Thirty blocks from leaving to withdrawing, instead of ten minutes.
	chain.set_checker_unbonding_period(&dev::alice(), 30).await.expect("root shortens it");
	let judge = start_checker(&node, dir.path(), 64, bootstrap.clone()).await;
	registered_checker(&chain, &judge.account).await;
	// The minimum stake, 100 credits: one slash of half of it leaves the checker unselectable.
	let away = Ed25519Signer::from_seed([67; 32]);
	let platform = PlatformClass::native().unwrap();
	chain.register_checker(&away, 100 * UNIT, platform, ccgsc_executor::VERSION).await.unwrap();
	let liar = start_worker(&node, dir.path(), 65, bootstrap.clone(), true).await;
	let honest = start_worker(&node, dir.path(), 66, bootstrap.clone(), false).await;
	let id = post_disputed(&chain, module, root).await;

	// The review selects both checkers; the second is away until its commit window closes,
	// then runs `ccgsc-verifier`, selectable still, when the review concludes and slashes it.
	let review =
		review_showing(&chain, id, &account(67), |a| matches!(a, Attestation::Pending)).await;
	while chain.finalized_number().await.unwrap() <= review.commit_until {
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let config = || {
		ccgsc_verifier::Config::new(node.ws_url(), dir.path().join("checker-67"), [67; 32])
			.with_bootstrap(bootstrap.clone())
			.with_stake(100 * UNIT)
	};
	let checker = ccgsc_tests::market::start_checker_with(config()).await;
	let started = std::time::Instant::now();
	while !checker.stats.selectable() {
		assert!(
			started.elapsed() < START,
			"the checker reads its standing: {}",
			checker.stats.line()
		);
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	ended(&chain, &node, id, Duration::from_secs(180)).await;
	outputs_are_correct(&chain, &p2p, id, &inputs).await;
	assert_decided_by(&chain, &liar.account, &judge.account).await;

	// Slashed for its silence, it leaves the registry and says why it is not selected.
	let leaving = || async {
		loop {
			if let Some(Step::Unbonding { until }) =
				*checker.stats.standing.lock().expect("not poisoned")
			{
				return until;
			}
			tokio::time::sleep(Duration::from_millis(200)).await;
		}
	};
	let until = tokio::time::timeout(START, leaving())
		.await
		.unwrap_or_else(|_| panic!("the slashed checker leaves: {}", checker.stats.line()));
	let record = chain.checker(&checker.account).await.unwrap().unwrap();
	assert_eq!((record.stake, record.slashed), (50 * UNIT, 50 * UNIT));
	assert_eq!(record.leaving, Some(until));
	assert_eq!(checker.stats.slashed.load(Ordering::Relaxed), (50 * UNIT) as u64);
	// It says when it registers anew: the block, and how many blocks that is from the one it
	// read its standing at (at most the 30-block unbonding period, and no fewer than are left
	// now).
	let line = checker.stats.line();
	let left = line
		.strip_prefix(&format!(
			"not selected for reviews (restaking: registers anew after block {until}, "
		))
		.and_then(|rest| rest.split_once(" blocks from now)"))
		.and_then(|(left, _)| left.parse::<u32>().ok())
		.unwrap_or_else(|| panic!("{line}"));
	let now = chain.finalized_number().await.unwrap();
	assert!(until.saturating_sub(now) <= left && left <= 30, "{line}");
	assert!(checker.stats.render().contains("ccgsc_verifier_selectable 0"));
	checker.stop().await;

	// Started again before the stake unbonds, it waits on; nothing new is sent.
	let nonce = chain.account_nonce(&account(67)).await.unwrap();
	let again = ccgsc_tests::market::start_checker_with(config()).await;
	let started = std::time::Instant::now();
	while *again.stats.standing.lock().expect("not poisoned") != Some(Step::Unbonding { until }) {
		assert!(started.elapsed() < START, "started again, it waits: {}", again.stats.line());
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert_eq!(chain.account_nonce(&account(67)).await.unwrap(), nonce);
	assert_eq!(chain.checker(&account(67)).await.unwrap().unwrap().leaving, Some(until));

	// Once the stake has unbonded, it withdraws it, registers anew with its 100 credits, and
	// the next dispute selects it: it attests with the verdict and is paid.
	let started = std::time::Instant::now();
	while !again.stats.selectable() {
		assert!(started.elapsed() < START, "it registers anew: {}", again.stats.line());
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	assert!(chain.finalized_number().await.unwrap() >= until, "not before the stake unbonded");
	let record = chain.checker(&account(67)).await.unwrap().unwrap();
	assert_eq!((record.stake, record.leaving, record.slashed), (100 * UNIT, None, 0));
	assert!(again.stats.render().contains("ccgsc_verifier_selectable 1"));
	assert!(again.stats.line().starts_with("reviews assigned"), "{}", again.stats.line());
	let next = post_disputed(&chain, module, root).await;
	ended(&chain, &node, next, Duration::from_secs(180)).await;
	let record = chain.checker(&account(67)).await.unwrap().unwrap();
	assert_eq!((record.upheld, record.slashed), (1, 0), "it checked the next dispute");
	assert!(record.earned > 0);
	assert_eq!(again.stats.upheld.load(Ordering::Relaxed), 1);
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");
	again.stop().await;
	honest.stop().await;
	liar.stop().await;
	judge.stop().await;
}

/// A checker's operator who is done takes the stake back: `ccgsc-verifier leave`, started
/// while a review it was selected for is open, does that review first (the chain lets no
/// checker leave before its reviews are over, and a silent one is slashed), then leaves the
/// registry, waits out the unbonding period, withdraws its whole stake and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_checker_that_leaves_does_its_open_review_first_and_gets_its_stake_back() {
	let OneTask { node, chain, dir, p2p, module, inputs, root, bootstrap, issuance } =
		OneTask::start(&[73, 74, 77]).await;
	chain.set_checker_unbonding_period(&dev::alice(), 20).await.expect("root shortens it");
	let checker = start_checker(&node, dir.path(), 77, bootstrap.clone()).await;
	registered_checker(&chain, &checker.account).await;
	checker.stop().await;
	let liar = start_worker(&node, dir.path(), 73, bootstrap.clone(), true).await;
	let honest = start_worker(&node, dir.path(), 74, bootstrap.clone(), false).await;
	let id = post_disputed(&chain, module, root).await;
	review_showing(&chain, id, &account(77), |a| matches!(a, Attestation::Pending)).await;
	let free_before = chain.free_balance(&account(77)).await.unwrap();

	// The operator leaves with the checker's key file and directory.
	let home = dir.path().join("checker-77");
	std::fs::write(home.join("key"), ContentId([77; 32]).to_hex()).unwrap();
	let mut leave = tokio::process::Command::new(ccgsc_tests::binary("ccgsc-verifier"));
	leave.arg("leave").arg("--chain").arg(node.ws_url()).arg("--dir").arg(&home);
	for addr in &bootstrap {
		leave.arg("--bootstrap").arg(addr.to_string());
	}
	let left = tokio::time::timeout(Duration::from_secs(240), leave.kill_on_drop(true).output())
		.await
		.expect("leave ends in time")
		.unwrap();
	let (out, said) =
		(String::from_utf8_lossy(&left.stdout), String::from_utf8_lossy(&left.stderr));
	assert!(left.status.success(), "it leaves\n{out}\n{said}");
	let steps = [
		"leaving once the reviews it was selected for are over",
		"left the registry; the stake unbonds",
		"stake withdrawn",
		"left the checker registry",
	];
	ccgsc_tests::says_in_order(&said, &steps);
	assert!(out.contains("left the checker registry: 200.000 credits of stake withdrawn"), "{out}");

	// Its review decided the dispute before it left; it is out of the registry, its stake
	// and its fee free credits (less the fees of leaving and withdrawing).
	ended(&chain, &node, id, START).await;
	outputs_are_correct(&chain, &p2p, id, &inputs).await;
	assert!(chain.worker(&liar.account).await.unwrap().unwrap().slashed > 0, "the liar slashed");
	assert!(chain.checker(&account(77)).await.unwrap().is_none(), "out of the registry");
	let free_after = chain.free_balance(&account(77)).await.unwrap();
	assert!(free_after + UNIT > free_before + 200 * UNIT, "{free_before} -> {free_after}");
	assert_eq!(chain.total_issuance().await.unwrap(), issuance, "slashes move credits, never burn");
	honest.stop().await;
	liar.stop().await;
}
