//! What one read of the chain costs a worker, the CLI or the portal, against subxt's default.
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
//! Run: `cargo build --release -p ccgsc-node && cargo bench -p ccgsc-tests --bench reads`.

use std::time::{Duration, Instant};

use ccgsc_chain::{api, dev, Config};
use ccgsc_primitives::ContentId;
use ccgsc_tests::{market::job, Node};
use subxt::OnlineClient;

/// Reads in one round of one client.
const READS: u32 = 20;

/// Rounds of each client, taking turns.
const ROUNDS: u32 = 5;

/// One job's record at the latest finalized block.
async fn read(client: &OnlineClient<Config>) {
	let at = client.at_current_block().await.expect("the node answers");
	let entry = at.storage().entry(api::storage().jobs().jobs()).expect("in the metadata");
	assert!(entry.try_fetch((0,)).await.expect("the node answers").is_some(), "job 0 is there");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let now = chain.finalized_number().await.unwrap();
	chain
		.post_job(&dev::dave(), &job(ContentId::of(b"module"), [7; 32], 4, 1, 1_000_000_000, now))
		.await
		.expect("posted");
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
}
