//! The real `ccgsc-node --dev`: it finalizes blocks, carries the marketplace pallets, and
//! accepts a job and a claim from the chain client.

use std::time::{Duration, Instant};

use ccgsc_chain::{dev, Chain, JobSpec, Profile, UNIT};
use ccgsc_primitives::{inputs_root, ContentId, Limits, PlatformClass, PlatformSet};
use ccgsc_tests::Node;

const START: Duration = Duration::from_secs(60);

async fn wait_for_finalized(chain: &Chain, node: &Node, at_least: u32) -> u32 {
	let started = Instant::now();
	loop {
		let n = chain.finalized_number().await.expect("the node answers");
		if n >= at_least {
			return n;
		}
		assert!(
			started.elapsed() < START,
			"no finalized block {at_least} after {START:?}\n{}",
			node.log_tail()
		);
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_node_finalizes_blocks_and_carries_the_marketplace_pallets() {
	let node = Node::dev();
	let chain = node.client(START).await;
	let first = wait_for_finalized(&chain, &node, 1).await;
	let later = wait_for_finalized(&chain, &node, first + 2).await;
	assert!(later > first);

	let at = chain.client().at_current_block().await.expect("the latest block");
	let metadata = at.metadata();
	for pallet in ["Workers", "Jobs", "Attestations", "Balances", "Aura", "Grandpa"] {
		assert!(metadata.pallet_by_name(pallet).is_some(), "{pallet} missing from the metadata");
	}
	let jobs = metadata.pallet_by_name("Jobs").expect("checked");
	for call in ["post_job", "claim", "renew", "abandon", "commit", "reveal", "cancel"] {
		assert!(jobs.call_variant_by_name(call).is_some(), "Jobs.{call} missing");
	}
}

#[tokio::test(flavor = "multi_thread")]
async fn a_posted_job_is_claimed_and_escrow_is_held() {
	let node = Node::dev();
	let chain = node.client(START).await;
	wait_for_finalized(&chain, &node, 1).await;
	let issuance = chain.total_issuance().await.expect("issuance");

	let alice = dev::alice();
	let bob = dev::bob();
	let inputs: Vec<ContentId> = (0u32..4).map(|i| ContentId::of(&i.to_le_bytes())).collect();
	let spec = JobSpec {
		module: ContentId::of(b"a module"),
		inputs_root: inputs_root(&inputs),
		task_count: 4,
		args: vec!["--count".into()],
		reward_per_task: UNIT / 10,
		replication: 2,
		limits: Limits { work: 1_000_000_000, memory: 64 << 20, output: 1 << 20 },
		platforms: PlatformSet::of(&[PlatformClass::X86_64Native]),
		executor_version: 1,
		deadline: 10_000,
	};
	let alice_before = chain.free_balance(&alice.public_key().into()).await.expect("balance");
	let job = chain.post_job(&alice, &spec).await.expect("the job is posted");
	let info = chain.job(job).await.expect("query").expect("the job exists");
	// 4 tasks x (2 replicas x 0.1 + 3 checkers x 0.1)
	assert_eq!(info.escrow, 4 * (2 * UNIT / 10 + 3 * UNIT / 10));
	let alice_after = chain.free_balance(&alice.public_key().into()).await.expect("balance");
	assert!(alice_before - alice_after >= info.escrow, "the escrow left Alice's free balance");

	let profile = Profile {
		cores: 2,
		memory_mib: 2048,
		score: 1_000_000_000,
		platform: PlatformClass::X86_64Native,
		executor_version: 1,
		peer_id: vec![1; 38],
	};
	chain.register_worker(&bob, 200 * UNIT, &profile).await.expect("Bob registers");
	let leases = chain.claim(&bob, job, 2).await.expect("Bob claims");
	assert_eq!(leases.iter().map(|l| l.task).collect::<Vec<_>>(), vec![0, 1]);
	assert!(leases.iter().all(|l| l.until > 0));

	// A claim on a job that does not exist is refused with the pallet's error.
	let err = chain.claim(&bob, job + 99, 1).await.expect_err("unknown job");
	assert!(err.to_string().contains("UnknownJob"), "{err}");

	// Fees went to the pot, escrow and stake are holds: no credit was created or destroyed.
	assert_eq!(chain.total_issuance().await.expect("issuance"), issuance);
}
