//! The `ccgsc` CLI against the real chain and two workers: post a module and a folder of
//! inputs, follow the job, get the verified outputs in a folder; refuse a folder with no
//! inputs.
//!
//! Run: `cargo build --release -p ccgsc-node -p ccgsc-cli && cargo test --release -p
//! ccgsc-tests --test cli`.

use std::{path::Path, process::Output, time::Duration};

use ccgsc_tasks::primes;
use ccgsc_tests::{
	binary,
	market::{fund, logs, start_worker},
	Node,
};

async fn ccgsc(node: &Node, dir: &Path, args: &[&str]) -> Output {
	let run = tokio::process::Command::new(binary("ccgsc"))
		.arg("--chain")
		.arg(node.ws_url())
		.arg("--dir")
		.arg(dir.join("cli"))
		.args(args)
		.kill_on_drop(true)
		.output();
	tokio::time::timeout(Duration::from_secs(300), run)
		.await
		.expect("ccgsc finishes in time")
		.expect("ccgsc runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ccgsc_posts_a_folder_of_inputs_and_writes_the_verified_outputs() {
	logs();
	let node = Node::dev();
	let chain = node.client(Duration::from_secs(60)).await;
	let dir = tempfile::tempdir().unwrap();
	let inputs = dir.path().join("inputs");
	std::fs::create_dir_all(&inputs).unwrap();
	let ranges = [(0, 30_000), (30_000, 60_000), (60_000, 90_000)];
	for (i, (lo, hi)) in ranges.iter().enumerate() {
		std::fs::write(inputs.join(format!("range-{i}.bin")), primes::input(*lo, *hi)).unwrap();
	}
	let module = dir.path().join("primes.wasm");
	std::fs::write(&module, ccgsc_task_modules::PRIMES).unwrap();

	fund(&chain, &[61, 62]).await;
	let workers = [
		start_worker(&node, dir.path(), 61, vec![], false).await,
		start_worker(&node, dir.path(), 62, vec![], false).await,
	];
	// The CLI joins the network through a worker; the other worker is dialled the same way.
	let addr = workers[0].p2p.listen_addrs().await.unwrap().remove(0);
	workers[1].p2p.dial(addr.clone()).await.expect("the workers connect");

	let out = dir.path().join("out");
	let posted = ccgsc(
		&node,
		dir.path(),
		&[
			"--bootstrap",
			&addr.to_string(),
			"post",
			"--dev",
			"dave",
			"--module",
			module.to_str().unwrap(),
			"--inputs",
			inputs.to_str().unwrap(),
			"--out",
			out.to_str().unwrap(),
			"--work",
			"2000000000",
		],
	)
	.await;
	let stdout = String::from_utf8_lossy(&posted.stdout);
	assert!(
		posted.status.success(),
		"ccgsc post failed:\n{stdout}\n{}",
		String::from_utf8_lossy(&posted.stderr)
	);
	for (i, (lo, hi)) in ranges.iter().enumerate() {
		let written = std::fs::read(out.join(format!("{i}-range-{i}.bin.out")))
			.unwrap_or_else(|e| panic!("output {i} written: {e}\n{stdout}"));
		assert_eq!(written, primes::run(&primes::input(*lo, *hi), &[]).unwrap(), "output {i}");
	}

	// `status` shows the finished job.
	let job = stdout
		.split_whitespace()
		.nth(1)
		.and_then(|id| id.parse::<u64>().ok())
		.expect("`job <id> posted` on stdout");
	let status = ccgsc(&node, dir.path(), &["status", &job.to_string()]).await;
	let status = String::from_utf8_lossy(&status.stdout);
	assert!(status.contains("Done, 3/3 tasks settled"), "{status}");

	// A folder without inputs is refused before anything is posted.
	let empty = dir.path().join("empty");
	std::fs::create_dir_all(&empty).unwrap();
	let refused = ccgsc(
		&node,
		dir.path(),
		&[
			"post",
			"--dev",
			"dave",
			"--module",
			module.to_str().unwrap(),
			"--inputs",
			empty.to_str().unwrap(),
		],
	)
	.await;
	assert!(!refused.status.success());
	assert!(String::from_utf8_lossy(&refused.stderr).contains("has no input files"));
	assert!(chain.job(job + 1).await.unwrap().is_none(), "no second job was posted");

	for worker in workers {
		worker.stop().await;
	}
}
