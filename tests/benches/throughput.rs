//! Chain throughput: task claims, commits and reveals settled per second on the dev node.
//!
//! Eight synthetic workers (registered and staked like real ones, but executing nothing:
//! every replica reports the same small output) drive one job of 512 tasks at replication 2
//! through a real `ccgsc-node --dev`, with the worker client's batching: each claims up to 32
//! tasks at once, commits every lease it holds in one call, and reveals in one call what the
//! chain opened for reveal. The audit rate is set to zero (no checkers run here). The rate is
//! the number of `TaskClaimed`, `Committed` and `Revealed` events in finalized blocks, from
//! the first block that has one to the last, divided by the time between those blocks.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo bench -p ccgsc-tests --bench throughput`.

use std::{
	collections::{HashMap, HashSet},
	time::{Duration, Instant},
};

use ccgsc_chain::{api, dev, Chain, Confirmation, Ed25519Signer, Profile, UNIT};
use ccgsc_primitives::{
	commitment, ContentId, Hash, PlatformClass, TaskIndex, TaskRef, TaskResult,
};
use ccgsc_tests::{
	market::{account, fund, job},
	Node,
};
use tokio::sync::mpsc;

const WORKERS: u8 = 8;
const TASKS: u32 = 512;
const BATCH: u32 = 32;

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	chain.set_audit_rate(&dev::alice(), 0).await.expect("sudo sets the audit rate");
	let seeds: Vec<u8> = (0..WORKERS).map(|i| 100 + i).collect();
	fund(&chain, &seeds).await;
	let platform = PlatformClass::native().expect("x86-64 or aarch64");
	for seed in &seeds {
		let profile = Profile {
			cores: 4,
			memory_mib: 4096,
			score: 1_000_000_000,
			platform,
			executor_version: ccgsc_executor::VERSION,
			peer_id: vec![0; 38],
		};
		chain
			.register_worker(&Ed25519Signer::from_seed([*seed; 32]), 200 * UNIT, &profile)
			.await
			.expect("registers");
	}
	let output = b"synthetic output".to_vec();
	let result = TaskResult::success(&output);
	let now = chain.finalized_number().await.unwrap();
	let spec = job(ContentId::of(b"module"), [7; 32], TASKS, 2, 1_000_000_000, now);
	let started = Instant::now();
	let id = chain.post_job(&dev::dave(), &spec).await.expect("posted");

	// One follower reads every finalized block: it counts the events and tells each worker
	// which of its tasks are open for reveal.
	let mut reveal_tx = HashMap::new();
	let mut workers = Vec::new();
	for seed in &seeds {
		let (tx, rx) = mpsc::unbounded_channel::<TaskIndex>();
		reveal_tx.insert(account(*seed).0, tx);
		let chain = chain.clone().confirming(Confirmation::BestBlock);
		workers.push(tokio::spawn(work(chain, *seed, id, result, rx)));
	}
	let mut blocks = chain.client().stream_blocks().await.expect("blocks");
	let (mut ops, mut first, mut last) = (0u64, None, None);
	let mut committed_by: HashMap<TaskIndex, Vec<ccgsc_chain::AccountId32>> = HashMap::new();
	while let Some(block) = blocks.next().await {
		let block = block.expect("a block");
		let events = ccgsc_chain::block_events(&block).await.expect("events");
		let mut here = 0u64;
		for e in events.find::<api::jobs::events::TaskClaimed>().flatten() {
			here += u64::from(e.job == id);
		}
		for e in events.find::<api::jobs::events::Committed>().flatten() {
			if e.job == id {
				here += 1;
				committed_by.entry(e.task).or_default().push(e.worker);
			}
		}
		for e in events.find::<api::jobs::events::Revealed>().flatten() {
			here += u64::from(e.job == id);
		}
		for e in events.find::<api::jobs::events::RevealOpened>().flatten() {
			for worker in committed_by.get(&e.task).into_iter().flatten() {
				if let Some(tx) = reveal_tx.get(&worker.0) {
					let _ = tx.send(e.task);
				}
			}
		}
		if here > 0 {
			ops += here;
			first.get_or_insert(Instant::now());
			last = Some(Instant::now());
		}
		let info = chain.job(id).await.unwrap().unwrap();
		if info.settled == TASKS || started.elapsed() > Duration::from_secs(900) {
			break;
		}
	}
	for w in workers {
		w.abort();
	}
	let info = chain.job(id).await.unwrap().unwrap();
	let span = last.unwrap().duration_since(first.unwrap()).as_secs_f64().max(1.0);
	println!(
		"{TASKS} tasks × 2 replicas by {WORKERS} workers: {ops} claims + commits + reveals in {span:.1} s; {} tasks settled in {:.1} s",
		info.settled,
		started.elapsed().as_secs_f64()
	);
	println!(
		"report: chain throughput (claims + commits + reveals per second, dev node) | {:.1} /s |",
		ops as f64 / span
	);
	assert_eq!(info.settled, TASKS, "every task settled");
}

/// A synthetic worker: claims, commits and reveals as fast as the chain takes them.
async fn work(
	chain: Chain,
	seed: u8,
	job: u64,
	result: TaskResult,
	mut reveals: mpsc::UnboundedReceiver<TaskIndex>,
) {
	let signer = Ed25519Signer::from_seed([seed; 32]);
	let me = account(seed);
	let salt: Hash = [seed; 32];
	let mut committed = HashSet::new();
	loop {
		let mut to_reveal = Vec::new();
		while let Ok(task) = reveals.try_recv() {
			if committed.remove(&task) {
				to_reveal.push((task, result, salt));
			}
		}
		if !to_reveal.is_empty() {
			let _ = chain.reveal(&signer, job, to_reveal).await;
		}
		match chain.claim(&signer, job, BATCH).await {
			Ok(leases) if !leases.is_empty() => {
				let commits: Vec<(TaskIndex, Hash)> = leases
					.iter()
					.map(|l| {
						(l.task, commitment(&result, &salt, &me, &TaskRef { job, index: l.task }))
					})
					.collect();
				committed.extend(leases.iter().map(|l| l.task));
				let _ = chain.commit(&signer, job, commits).await;
			},
			_ => {
				let wait = tokio::time::sleep(Duration::from_millis(500));
				tokio::pin!(wait);
				tokio::select! {
					_ = &mut wait => {},
					Some(task) = reveals.recv() => {
						if committed.remove(&task) {
							let _ = chain.reveal(&signer, job, vec![(task, result, salt)]).await;
						}
					},
				}
			},
		}
	}
}
