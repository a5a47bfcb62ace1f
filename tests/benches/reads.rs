//! What one read of the chain costs a worker, the CLI or the portal, against subxt's default;
//! what a worker's start and `ccgsc status` cost in reads.
//!
//! One dev node, two clients side by side: the chain client ([`ccgsc_chain::Chain`], on the
//! node's legacy JSON-RPC methods) and subxt's default client (its `chainHead` methods first).
//! Each makes the same read, a job's record at the latest finalized block, as
//! `Chain::job` does: the block (its header and runtime version), then the storage entry.
//! The clients take turns, a round of [`READS`] each, [`ROUNDS`] times; printed are the mean
//! time of one read through each and their ratio.
//!
//! The `chainHead` methods answer a storage read or a runtime call in two messages (the
//! operation's id, then its result as a notification); the node's RPC server leaves Nagle's
//! algorithm on, so the second waits for the client's delayed acknowledgement of the first.
//!
//! Then what a worker's start costs it per job it keeps content for (`kept::drop_pruned` asks
//! the chain which of those jobs' records were removed): [`NOTED`] jobs, one by one through
//! `Chain::job_pruned` (the block, `Jobs.NextJobId` and the record for each, as a worker did
//! before), and at once through `Chain::jobs_pruned` (one block and one `NextJobId`, then the
//! records one after another). A worker's notes name distinct jobs; here the ids take turns
//! between the chain's two jobs, one ended and removed, one open, as every record read costs the
//! same. Both ways must name the same jobs.
//!
//! Last, what `ccgsc status` and `ccgsc fetch` cost on a job of [`TASKS`] claimed tasks: each
//! task read one by one through `Chain::task` (the block, then the entry, as both commands
//! did), and all of them in one paged read of the job's tasks through `Chain::job_with_tasks`
//! (what they do now). Both ways must read the same tasks.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo bench -p ccgsc-tests --bench reads`.

use std::time::{Duration, Instant};

use ccgsc_chain::{api, dev, Chain, Config, Ed25519Signer, Profile, UNIT};
use ccgsc_primitives::{ContentId, JobId, PlatformClass};
use ccgsc_tests::{
	market::{fund, job},
	Node,
};
use subxt::OnlineClient;

/// Reads in one round of one client.
const READS: u32 = 20;

/// Rounds of each client, taking turns.
const ROUNDS: u32 = 5;

/// Jobs a worker keeps content for in the second measure.
const NOTED: u32 = 1_000;

/// Rounds of each way of asking about [`NOTED`] jobs, taking turns.
const NOTED_ROUNDS: u32 = 3;

/// Claimed tasks of the job the third measure reads.
const TASKS: u32 = 1_000;

/// Rounds of each way of reading the [`TASKS`] tasks, taking turns.
const TASK_ROUNDS: u32 = 3;

/// One job's record (job 1's) at the latest finalized block.
async fn read(client: &OnlineClient<Config>) {
	let at = client.at_current_block().await.expect("the node answers");
	let entry = at.storage().entry(api::storage().jobs().jobs()).expect("in the metadata");
	assert!(entry.try_fetch((1,)).await.expect("the node answers").is_some(), "job 1 is there");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	// Job 0 is cancelled and, after a retention of one block, removed; job 1 stays open.
	chain.set_job_retention(&dev::alice(), 1).await.expect("root sets the retention");
	for _ in 0..2 {
		let now = chain.finalized_number().await.unwrap();
		chain
			.post_job(
				&dev::dave(),
				&job(ContentId::of(b"module"), [7; 32], 4, 1, 1_000_000_000, now),
			)
			.await
			.expect("posted");
	}
	chain.submit(&api::tx().jobs().cancel(0), &dev::dave()).await.expect("cancelled");
	let started = Instant::now();
	while !chain.job_pruned(0).await.unwrap() {
		assert!(started.elapsed() < Duration::from_secs(60), "job 0's record is removed");
		tokio::time::sleep(Duration::from_millis(200)).await;
	}
	let default = OnlineClient::<Config>::from_url(node.ws_url()).await.expect("subxt connects");
	let clients = [
		("chain client (legacy methods)", chain.client()),
		("subxt default (chainHead)", &default),
	];
	let mut spent = [Duration::ZERO; 2];
	for _ in 0..ROUNDS {
		for ((_, client), spent) in clients.iter().zip(&mut spent) {
			let started = Instant::now();
			for _ in 0..READS {
				read(client).await;
			}
			*spent += started.elapsed();
		}
	}
	let each = spent.map(|s| s / (READS * ROUNDS));
	for ((name, _), each) in clients.iter().zip(each) {
		println!("{name}: {:.3} ms a read", each.as_secs_f64() * 1e3);
	}
	let ratio = each[1].as_secs_f64() / each[0].as_secs_f64();
	println!("the chain client reads {ratio:.0}x as fast as subxt's default");
	println!(
		"report: one chain read (block + storage entry), chain client vs subxt default | {:.2} vs {:.1} ms ({ratio:.0}x) |",
		each[0].as_secs_f64() * 1e3,
		each[1].as_secs_f64() * 1e3
	);
	noted(&chain).await;
	tasks(&chain).await;
}

/// The third measure: a job's [`TASKS`] claimed tasks, one by one and in one paged read.
async fn tasks(chain: &Chain) {
	// A registered worker claims every task; its leases (a work limit of 10⁹ units at a score
	// of 10⁶ a second) outlast the measure, so every task keeps its entry throughout.
	fund(chain, &[91]).await;
	let worker = Ed25519Signer::from_seed([91; 32]);
	let profile = Profile {
		cores: 4,
		memory_mib: 4096,
		score: 1_000_000,
		platform: PlatformClass::native().expect("x86-64 or aarch64"),
		executor_version: ccgsc_executor::VERSION,
		peer_id: vec![0; 38],
	};
	chain.register_worker(&worker, 200 * UNIT, &profile).await.expect("registers");
	let now = chain.finalized_number().await.unwrap();
	let spec = job(ContentId::of(b"module"), [7; 32], TASKS, 1, 1_000_000_000, now);
	let id = chain.post_job(&dev::dave(), &spec).await.expect("posted");
	let mut claimed = 0;
	while claimed < TASKS {
		claimed += chain.claim(&worker, id, 200).await.expect("claims").len() as u32;
	}
	let mut spent = [Duration::ZERO; 2];
	for _ in 0..TASK_ROUNDS {
		let started = Instant::now();
		let mut one_by_one = Vec::new();
		for index in 0..TASKS {
			if let Some(task) = chain.task(id, index).await.expect("the node answers") {
				one_by_one.push((index, task));
			}
		}
		spent[0] += started.elapsed();
		let started = Instant::now();
		let snapshot = chain.job_with_tasks(id).await.expect("the node answers").expect("posted");
		spent[1] += started.elapsed();
		assert_eq!(one_by_one.len() as u32, TASKS, "every task was claimed");
		assert_eq!(snapshot.tasks, one_by_one, "both ways read the same tasks");
	}
	let [one_by_one, paged] = spent.map(|s| s.as_secs_f64() * 1e3 / f64::from(TASK_ROUNDS));
	let ratio = one_by_one / paged;
	println!("one by one: {one_by_one:.0} ms for {TASKS} tasks");
	println!("one paged read: {paged:.0} ms for {TASKS} tasks");
	println!("`ccgsc status` reads a job of {TASKS} tasks {ratio:.0}x as fast in one paged read");
	println!(
		"report: a job's {TASKS} tasks (`ccgsc status`, `fetch`), one by one vs one paged read | {one_by_one:.0} vs {paged:.0} ms ({ratio:.0}x) |"
	);
}

/// The second measure: which of [`NOTED`] jobs were removed, one by one and at once.
async fn noted(chain: &Chain) {
	let ids: Vec<JobId> = (0..u64::from(NOTED)).map(|i| i % 2).collect();
	let removed: Vec<JobId> = ids.iter().copied().filter(|&id| id == 0).collect();
	let mut spent = [Duration::ZERO; 2];
	for _ in 0..NOTED_ROUNDS {
		let started = Instant::now();
		let mut one_by_one = Vec::new();
		for &id in &ids {
			if chain.job_pruned(id).await.expect("the node answers") {
				one_by_one.push(id);
			}
		}
		spent[0] += started.elapsed();
		assert_eq!(one_by_one, removed, "one by one, job 0 is named each time");
		let started = Instant::now();
		let at_once = chain.jobs_pruned(&ids).await.expect("the node answers");
		spent[1] += started.elapsed();
		assert_eq!(at_once, removed, "at once, the same");
	}
	let [one_by_one, at_once] = spent.map(|s| s.as_secs_f64() * 1e3 / f64::from(NOTED_ROUNDS));
	let ratio = one_by_one / at_once;
	println!("one by one: {one_by_one:.0} ms for {NOTED} jobs");
	println!("at once: {at_once:.0} ms for {NOTED} jobs");
	println!("a worker with {NOTED} jobs noted asks about them {ratio:.0}x as fast at once");
	println!(
		"report: which of {NOTED} noted jobs were removed (a worker's start), one by one vs at once | {one_by_one:.0} vs {at_once:.0} ms ({ratio:.0}x) |"
	);
}
