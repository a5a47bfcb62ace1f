//! `ccgsc up` (the README's first command runs it): it starts a whole marketplace, a job posted
//! through the portal's API completes, a `ccgsc` in the same folder fetches its outputs with no
//! `--bootstrap` (through the addresses the portal wrote), a worker killed outright is started
//! again, Ctrl-C (SIGINT) leaves no process behind (and no portal addresses), and a second
//! start on the same folder finds the finished job and its outputs.
//!
//! Run: `cargo build --release -p ccgsc-node && cargo build --release -p ccgsc-worker -p
//! ccgsc-verifier -p ccgsc-cli -p ccgsc-portal && cargo test --release -p ccgsc-tests --test
//! launcher`.

use std::{
	net::TcpListener,
	path::{Path, PathBuf},
	process::Stdio,
	time::{Duration, Instant},
};

use ccgsc_tests::{binary, free_port, http, market::logs, processes_mentioning};
use serde_json::Value;
use tokio::{
	io::{AsyncBufReadExt, BufReader},
	process::{Child, Command},
};

/// Kills whatever still mentions the state folder when the test ends, even if it failed.
struct Sweep(String);

impl Drop for Sweep {
	fn drop(&mut self) {
		for pid in processes_mentioning(&self.0) {
			let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
		}
	}
}

/// `n` consecutive free ports.
fn free_block(n: u16) -> u16 {
	loop {
		let base = free_port();
		if base > u16::MAX - n {
			continue;
		}
		let all: Vec<_> = (base..base + n).map(|p| TcpListener::bind(("127.0.0.1", p))).collect();
		if all.iter().all(Result::is_ok) {
			return base;
		}
	}
}

struct Ports {
	rpc: u16,
	node: u16,
	prometheus: u16,
	portal: u16,
	metrics: u16,
}

/// Starts `ccgsc up` and waits until it says the marketplace runs.
async fn launch(state: &Path, ports: &Ports, log: &Path) -> Child {
	let mut child = Command::new(binary("ccgsc"))
		.arg("up")
		.arg("--state")
		.arg(state)
		.args(["--rpc-port", &ports.rpc.to_string(), "--node-port", &ports.node.to_string()])
		.args(["--prometheus-port", &ports.prometheus.to_string()])
		.args(["--portal", &format!("127.0.0.1:{}", ports.portal)])
		.args(["--metrics-port", &ports.metrics.to_string()])
		.stdout(Stdio::piped())
		.stderr(std::fs::File::create(log).unwrap())
		.kill_on_drop(true)
		.spawn()
		.expect("ccgsc up starts");
	let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
	// Where to look, with the p2p address that workers of one's own join through.
	let ready = async {
		let mut p2p = false;
		while let Some(line) = lines.next_line().await.unwrap() {
			println!("up: {line}");
			p2p |= line.trim_start().starts_with("p2p ") && line.contains("/p2p/12D3KooW");
			if line.contains("Ctrl-C stops everything") {
				return p2p;
			}
		}
		false
	};
	let ready = tokio::time::timeout(Duration::from_secs(240), ready).await;
	assert!(
		matches!(ready, Ok(true)),
		"the marketplace comes up and says where to look\n{}",
		std::fs::read_to_string(log).unwrap_or_default()
	);
	// Keep draining its output so it never blocks on a full pipe.
	tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
	child
}

/// Ctrl-C: waits until the launcher has stopped everything and exited.
async fn interrupt(mut child: Child, state: &str, log: &Path) {
	let pid = child.id().expect("running");
	std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap();
	let status = tokio::time::timeout(Duration::from_secs(200), child.wait())
		.await
		.expect("the launcher stops in time")
		.unwrap();
	assert!(
		status.success(),
		"a clean stop: {status}\n{}",
		std::fs::read_to_string(log).unwrap_or_default()
	);
	let left = processes_mentioning(state);
	assert!(left.is_empty(), "no process of the marketplace is left: {left:?}");
}

async fn api(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
	let (status, body) = http(port, method, path, body).await.expect("the portal answers");
	(status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_launcher_runs_a_marketplace_stops_cleanly_and_starts_again_from_its_state() {
	logs();
	let dir = tempfile::tempdir().unwrap();
	let state: PathBuf = dir.path().join("marketplace");
	let state_str = state.display().to_string();
	let _sweep = Sweep(state_str.clone());
	let ports = Ports {
		rpc: free_port(),
		node: free_port(),
		prometheus: free_port(),
		portal: free_port(),
		metrics: free_block(4),
	};
	let log = dir.path().join("up.log");
	let up = launch(&state, &ports, &log).await;

	// Three workers and a checker register.
	let chain =
		ccgsc_chain::Chain::connect(&format!("ws://127.0.0.1:{}", ports.rpc)).await.unwrap();
	let started = Instant::now();
	loop {
		let (workers, checkers) = (chain.workers().await.unwrap(), chain.checkers().await.unwrap());
		if workers.len() == 3 && checkers.len() == 1 {
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(180),
			"{} workers, {} checkers",
			workers.len(),
			checkers.len()
		);
		tokio::time::sleep(Duration::from_secs(1)).await;
	}

	// A job through the portal's API.
	let (status, uploaded) = api(
		ports.portal,
		"POST",
		"/api/workloads/primes",
		Some(r#"{"limit": 300000, "tasks": 6}"#),
	)
	.await;
	assert_eq!(status, 201, "{uploaded}");
	let request = serde_json::json!({
		"module": uploaded["module"], "inputs_root": uploaded["inputs_root"], "args": uploaded["args"],
		"work": uploaded["work"], "reward": 0.01, "dev_account": "dave",
	});
	let (status, posted) = api(ports.portal, "POST", "/api/jobs", Some(&request.to_string())).await;
	assert_eq!(status, 201, "{posted}");
	let job = posted["job"].as_u64().unwrap();
	let started = Instant::now();
	let done = loop {
		let (_, view) = api(ports.portal, "GET", &format!("/api/jobs/{job}"), None).await;
		if view["finished"] == true
			&& view["tasks"].as_array().unwrap().iter().all(|t| t["kept"] == true)
		{
			break view;
		}
		assert!(started.elapsed() < Duration::from_secs(240), "job {job} finishes: {view}");
		tokio::time::sleep(Duration::from_secs(1)).await;
	};
	assert_eq!(done["status"], "done");
	let counted: u64 =
		futures::future::join_all(done["tasks"].as_array().unwrap().iter().map(|t| {
			let path = format!("/api/content/{}", t["output"].as_str().unwrap());
			async move { http(ports.portal, "GET", &path, None).await.unwrap() }
		}))
		.await
		.iter()
		.map(|(status, body)| {
			assert_eq!(*status, 200);
			u64::from_le_bytes(body[..8].try_into().unwrap())
		})
		.sum();
	assert_eq!(counted, 25_997, "pi(300000)");

	// A `ccgsc` of one's own, its folder beside the marketplace's portal and given no
	// --bootstrap, joins the content network through the addresses the portal wrote there,
	// and fetches the outputs its empty store lacks.
	let portal_file = state.join("portal").join("p2p-addrs");
	let fetched = Command::new(binary("ccgsc"))
		.args(["--chain", &format!("ws://127.0.0.1:{}", ports.rpc), "--dir"])
		.arg(state.join("cli"))
		.args(["fetch", &job.to_string(), "--out"])
		.arg(dir.path().join("fetched"))
		.kill_on_drop(true)
		.output();
	let fetched = tokio::time::timeout(Duration::from_secs(120), fetched)
		.await
		.expect("ccgsc fetch finishes in time")
		.unwrap();
	let said = String::from_utf8_lossy(&fetched.stdout);
	assert!(fetched.status.success(), "{said}{}", String::from_utf8_lossy(&fetched.stderr));
	assert!(said.contains("answer: 25997 primes in the 6 ranges"), "{said}");
	assert_eq!(std::fs::read_dir(dir.path().join("fetched")).unwrap().count(), 6);

	// A worker killed outright is started again on its folder (the launcher says so), and the
	// marketplace goes on: the same three workers, the new process serving its metrics.
	let worker_1 = format!("{state_str}/worker-1");
	let killed = processes_mentioning(&worker_1);
	assert_eq!(killed.len(), 1, "one worker-1: {killed:?}");
	std::process::Command::new("kill").args(["-KILL", &killed[0].to_string()]).status().unwrap();
	let started = Instant::now();
	loop {
		let now = processes_mentioning(&worker_1);
		let metrics = http(ports.metrics, "GET", "/metrics", None).await;
		if now.len() == 1 && now[0] != killed[0] && metrics.is_some_and(|(status, _)| status == 200)
		{
			break;
		}
		assert!(
			started.elapsed() < Duration::from_secs(60),
			"worker-1 is started again\n{}",
			std::fs::read_to_string(&log).unwrap_or_default()
		);
		tokio::time::sleep(Duration::from_millis(500)).await;
	}
	let said = std::fs::read_to_string(&log).unwrap();
	assert!(said.contains("worker-1 exited (signal: 9 (SIGKILL)); starting it again"), "{said}");
	assert_eq!(chain.workers().await.unwrap().len(), 3, "no new account registered");
	drop(chain);

	interrupt(up, &state_str, &log).await;
	// The portal took its addresses away as it stopped: a client started now joins nothing
	// rather than wait on addresses nobody answers at.
	assert!(!portal_file.exists(), "{} is removed", portal_file.display());

	// Started again, it finds the finished job and still serves its outputs.
	let up = launch(&state, &ports, &log).await;
	let started = Instant::now();
	let again = loop {
		let (status, view) = api(ports.portal, "GET", &format!("/api/jobs/{job}"), None).await;
		if status == 200 {
			break view;
		}
		assert!(started.elapsed() < Duration::from_secs(60), "the job is there again: {view}");
		tokio::time::sleep(Duration::from_millis(500)).await;
	};
	assert_eq!(again["status"], "done");
	assert_eq!(again["tasks"], done["tasks"], "the same accepted outputs, all kept");
	interrupt(up, &state_str, &log).await;
}
