//! Swarms on loopback moving real blobs: several providers, a corrupt one, one killed
//! mid-transfer, a resumed fetch, and an id nobody has.
//!
//! Run: `cargo test --release -p ccgsc-p2p --test swarms`.

use std::time::Duration;

use ccgsc_p2p::{Client, Config, ContentId, Error, FetchOptions, Node, PeerId, Progress};
use tempfile::TempDir;
use tokio::{sync::watch, time::timeout};

const MIB: usize = 1024 * 1024;

mod common;

use common::blob;

struct Net {
	dir: TempDir,
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
}

impl Net {
	async fn new() -> (Self, Node) {
		let dir = tempfile::tempdir().unwrap();
		let first = Node::start(config(&dir, "a")).await.unwrap();
		let bootstrap = first.client().listen_addrs().await.unwrap();
		(Self { dir, bootstrap }, first)
	}

	async fn node(&self, name: &str) -> Node {
		Node::start(config(&self.dir, name).with_bootstrap(self.bootstrap.clone())).await.unwrap()
	}
}

fn config(dir: &TempDir, name: &str) -> Config {
	Config::new(dir.path().join(name)).with_query_timeout(Duration::from_secs(3))
}

/// Waits until `client` is connected to every one of `peers`.
async fn connected(client: &Client, peers: &[PeerId]) {
	timeout(Duration::from_secs(10), async {
		loop {
			let now = client.connected_peers().await.unwrap();
			if peers.iter().all(|p| now.contains(p)) {
				return;
			}
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
	})
	.await
	.expect("peers connect within 10 s");
}

/// Resolves once `progress` reports at least `bytes`, and returns what it reported.
async fn reached(progress: &mut watch::Receiver<Progress>, bytes: u64) -> Progress {
	loop {
		let now = *progress.borrow_and_update();
		if now.have >= bytes && now.length > 0 {
			return now;
		}
		progress.changed().await.expect("the fetch publishes until it ends");
	}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_come_from_two_providers_and_check_out() {
	let (net, a) = Net::new().await;
	let b = net.node("b").await;
	let c = net.node("c").await;
	connected(b.client(), &[a.client().peer_id()]).await;
	connected(c.client(), &[a.client().peer_id()]).await;

	let data = blob(50 * MIB + 123, 1);
	let id = a.client().add(data.clone()).await.unwrap();
	assert_eq!(b.client().add(data.clone()).await.unwrap(), id);
	assert_eq!(id, ContentId::of(&data));

	// `c` bootstrapped from `a` only: it learns of `b` through the DHT.
	let providers = c.client().find_providers(id).await.unwrap();
	assert!(providers.contains(&a.client().peer_id()) && providers.contains(&b.client().peer_id()));

	let report = timeout(Duration::from_secs(60), c.client().fetch(id)).await.unwrap().unwrap();
	assert_eq!(report.length, data.len() as u64);
	assert_eq!(report.received_bytes(), data.len() as u64);
	assert!(report.dropped.is_empty());
	for provider in [&a, &b] {
		let got = report.received.get(&provider.client().peer_id()).copied().unwrap_or(0);
		assert!(got > 0, "both providers served chunks: {:?}", report.received);
	}
	assert_eq!(c.client().store().get(&id).unwrap().unwrap(), data);
	// The transfer went over two connections to each provider (the default), so each one's
	// encryption could use both cores.
	for provider in [&a, &b] {
		assert_eq!(c.client().connections(provider.client().peer_id()).await.unwrap(), 2);
	}

	// Having fetched it, `c` serves it too, and a second fetch moves nothing.
	assert!(c.client().has(&id));
	assert_eq!(c.client().fetch(id).await.unwrap().received_bytes(), 0);
	let d = net.node("d").await;
	connected(d.client(), &[a.client().peer_id()]).await;
	assert!(d.client().find_providers(id).await.unwrap().contains(&c.client().peer_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_provider_is_dropped_and_the_fetch_completes_from_the_honest_one() {
	let (net, honest) = Net::new().await;
	let liar = net.node("liar").await;
	let fetcher = net.node("fetcher").await;
	connected(fetcher.client(), &[honest.client().peer_id()]).await;
	connected(liar.client(), &[honest.client().peer_id()]).await;

	let data = blob(8 * MIB, 2);
	let id = honest.client().add(data.clone()).await.unwrap();
	// The liar holds the blob with one bit flipped in every chunk: its manifest is right, its
	// chunks are not.
	let liar_store = liar.client().store();
	assert_eq!(liar_store.put(&data).unwrap(), id);
	let mut corrupt = data.clone();
	for chunk in corrupt.chunks_mut(64 * 1024) {
		chunk[100] ^= 0x10;
	}
	std::fs::write(liar_store.path(&id), &corrupt).unwrap();
	liar.client().provide(id).await.unwrap();

	let options = FetchOptions::default().with_providers([liar.client().peer_id()]);
	let report = timeout(Duration::from_secs(60), fetcher.client().fetch_with(id, options))
		.await
		.unwrap()
		.unwrap();
	let liar_id = liar.client().peer_id();
	assert_eq!(report.dropped, vec![liar_id]);
	assert_eq!(report.received.get(&liar_id), None, "nothing the liar sent was kept");
	assert_eq!(report.received.get(&honest.client().peer_id()), Some(&(data.len() as u64)));
	assert_eq!(fetcher.client().store().get(&id).unwrap().unwrap(), data);

	// The liar is disconnected and stays out.
	timeout(Duration::from_secs(5), async {
		while fetcher.client().connected_peers().await.unwrap().contains(&liar_id) {
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
	})
	.await
	.expect("the liar is disconnected");
	let refused =
		fetcher.client().request(liar_id, ccgsc_p2p::protocol::Request::Manifest(id)).await;
	assert!(matches!(refused, Err(Error::Request { .. })), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_killed_mid_transfer_leaves_the_rest_to_the_other() {
	let (net, doomed) = Net::new().await;
	let survivor = net.node("survivor").await;
	let fetcher = net.node("fetcher").await;
	connected(fetcher.client(), &[doomed.client().peer_id()]).await;
	connected(survivor.client(), &[doomed.client().peer_id()]).await;

	let data = blob(50 * MIB, 3);
	let id = doomed.client().add(data.clone()).await.unwrap();
	survivor.client().add(data.clone()).await.unwrap();
	let doomed_id = doomed.client().peer_id();
	let survivor_id = survivor.client().peer_id();

	let (tx, mut progress) = watch::channel(Progress::default());
	let client = fetcher.client().clone();
	let options =
		FetchOptions::default().with_providers([doomed_id, survivor_id]).with_progress(tx);
	let fetch = tokio::spawn(async move { client.fetch_with(id, options).await });

	let at_kill = reached(&mut progress, 4 * MIB as u64).await;
	doomed.stop().await;
	assert!(at_kill.have < at_kill.length, "killed mid-transfer: {at_kill:?}");

	let report = timeout(Duration::from_secs(60), fetch).await.unwrap().unwrap().unwrap();
	assert_eq!(report.received_bytes(), data.len() as u64);
	assert!(report.received.get(&survivor_id).copied().unwrap_or(0) > 0);
	assert!(report.dropped.is_empty(), "a dead peer is not a liar");
	assert_eq!(fetcher.client().store().get(&id).unwrap().unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_whose_only_provider_dies_resumes_from_disk_when_another_appears() {
	let (net, first) = Net::new().await;
	let fetcher = net.node("fetcher").await;
	connected(fetcher.client(), &[first.client().peer_id()]).await;

	let data = blob(40 * MIB, 4);
	let id = first.client().add(data.clone()).await.unwrap();
	let (tx, mut progress) = watch::channel(Progress::default());
	let client = fetcher.client().clone();
	let fetch = tokio::spawn(async move {
		client.fetch_with(id, FetchOptions::default().with_progress(tx)).await
	});
	reached(&mut progress, 4 * MIB as u64).await;
	first.stop().await;
	let failed = timeout(Duration::from_secs(60), fetch).await.unwrap().unwrap();
	assert!(matches!(failed, Err(Error::Unavailable { id: i, .. }) if i == id), "{failed:?}");
	assert!(!fetcher.client().has(&id));

	let second = Node::start(
		config(&net.dir, "second").with_bootstrap(fetcher.client().listen_addrs().await.unwrap()),
	)
	.await
	.unwrap();
	second.client().add(data.clone()).await.unwrap();
	let options = FetchOptions::default().with_providers([second.client().peer_id()]);
	let report = timeout(Duration::from_secs(60), fetcher.client().fetch_with(id, options))
		.await
		.unwrap()
		.unwrap();
	assert!(report.resumed >= 4 * MIB as u64, "{report:?}");
	assert_eq!(report.resumed + report.received_bytes(), data.len() as u64);
	assert_eq!(fetcher.client().store().get(&id).unwrap().unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_id_is_not_found_within_a_bounded_time() {
	let (net, a) = Net::new().await;
	let b = net.node("b").await;
	let c = net.node("c").await;
	connected(c.client(), &[a.client().peer_id()]).await;
	connected(b.client(), &[a.client().peer_id()]).await;
	a.client().add(b"something else".to_vec()).await.unwrap();

	let unknown = ContentId::of(b"nobody has this");
	let result = timeout(Duration::from_secs(15), c.client().fetch(unknown))
		.await
		.expect("a not-found answer comes within the DHT query timeout");
	assert!(matches!(result, Err(Error::NotFound(id)) if id == unknown), "{result:?}");
	assert!(!c.client().has(&unknown));
	// Asking a peer directly gets a plain not-found too.
	let direct =
		c.client().request(a.client().peer_id(), ccgsc_p2p::protocol::Request::Manifest(unknown));
	assert_eq!(direct.await.unwrap(), ccgsc_p2p::protocol::Response::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_input_list_is_found_by_its_root_and_checked() {
	let (net, poster) = Net::new().await;
	let worker = net.node("worker").await;
	connected(worker.client(), &[poster.client().peer_id()]).await;
	let mut ids = Vec::new();
	for i in 0..5u8 {
		ids.push(poster.client().add(vec![i; 1000]).await.unwrap());
	}
	let root = poster.client().add_inputs(ids.clone()).await.unwrap();
	assert_eq!(root, ccgsc_primitives::inputs_root(&ids));

	let got = timeout(Duration::from_secs(15), worker.client().inputs(root, &[])).await.unwrap();
	assert_eq!(got.unwrap(), ids);
	assert_eq!(worker.client().get(ids[3]).await.unwrap(), vec![3u8; 1000]);
	let unknown = worker.client().inputs([7; 32], &[]).await;
	assert!(matches!(unknown, Err(Error::NotFound(_))), "{unknown:?}");
}
