//! Run: `cargo bench -p ccgsc-p2p --bench transfer` (`CCGSC_BENCH_MIB`, default 256;
//! `CCGSC_BENCH_REPS`, default 3).
//!
//! Moves the same bytes over a raw loopback TCP socket and through a libp2p fetch (Noise,
//! Yamux, the blob protocol, every chunk checked against the content id and written to the
//! fetcher's store), side by side in one run on one two-thread runtime, and prints both rates
//! and their ratio (the median of the repetitions).

use std::time::{Duration, Instant};

use ccgsc_p2p::{Config, Node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../tests/common/mod.rs"]
mod common;

fn env(name: &str, default: usize) -> usize {
	std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `data` over a fresh loopback connection and returns how long until the receiver had
/// every byte.
async fn raw_tcp(data: &[u8]) -> Duration {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let addr = listener.local_addr().unwrap();
	let len = data.len();
	let receiver = tokio::spawn(async move {
		let (mut socket, _) = listener.accept().await.unwrap();
		let mut buf = vec![0u8; 256 * 1024];
		let mut got = 0;
		while got < len {
			let n = socket.read(&mut buf).await.unwrap();
			assert!(n > 0, "the sender closed early");
			got += n;
		}
	});
	let start = Instant::now();
	let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
	socket.set_nodelay(true).unwrap();
	for piece in data.chunks(256 * 1024) {
		socket.write_all(piece).await.unwrap();
	}
	receiver.await.unwrap();
	start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

fn rate(bytes: usize, d: Duration) -> f64 {
	bytes as f64 / d.as_secs_f64() / (1024.0 * 1024.0)
}

fn main() {
	let mib = env("CCGSC_BENCH_MIB", 256);
	let reps = env("CCGSC_BENCH_REPS", 3).max(1);
	let runtime =
		tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
	runtime.block_on(async {
		let dir = tempfile::tempdir().unwrap();
		let data = common::blob(mib * 1024 * 1024, 0x2545_f491_4f6c_dd1d);
		let provider = Node::start(Config::new(dir.path().join("provider"))).await.unwrap();
		let id = provider.client().add(data.clone()).await.unwrap();
		let bootstrap = provider.client().listen_addrs().await.unwrap();
		let fetcher = Node::start(
			Config::new(dir.path().join("fetcher"))
				.with_bootstrap(bootstrap)
				.with_chunks_per_request(env("CCGSC_BENCH_CHUNKS", 16) as u32)
				.with_requests_per_peer(env("CCGSC_BENCH_INFLIGHT", 8)),
		)
		.await
		.unwrap();

		let (mut raw, mut p2p) = (Vec::new(), Vec::new());
		for _ in 0..reps {
			raw.push(raw_tcp(&data).await);
			fetcher.client().store().remove(&id).unwrap();
			let start = Instant::now();
			let report = fetcher.client().fetch(id).await.unwrap();
			p2p.push(start.elapsed());
			assert_eq!(report.received_bytes(), data.len() as u64);
		}
		assert_eq!(fetcher.client().store().get(&id).unwrap().unwrap(), data);
		let (raw, p2p) = (median(raw), median(p2p));
		let bytes = data.len();
		println!("moved {mib} MiB, median of {reps}");
		println!("{:<44} {:>9.1} MiB/s  ({:?})", "raw loopback TCP", rate(bytes, raw), raw);
		println!(
			"{:<44} {:>9.1} MiB/s  ({:?})",
			"libp2p fetch (noise+yamux, verified, stored)",
			rate(bytes, p2p),
			p2p
		);
		let ratio = raw.as_secs_f64() / p2p.as_secs_f64();
		println!("ratio libp2p / raw: {ratio:.3}");
		println!(
			"report: libp2p fetch / raw loopback TCP ({mib} MiB, chunks verified) | {ratio:.3} ({:.0} vs {:.0} MiB/s) | ≥ 0.2",
			rate(bytes, p2p),
			rate(bytes, raw)
		);
	});
}
