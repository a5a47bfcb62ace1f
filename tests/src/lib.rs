//! The context end-to-end tests share: real binaries on free loopback ports, each in a
//! temporary directory, stopped and removed when the handle drops (also when a test fails).
//!
//! The binaries come from the same target directory as the test itself, so build them
//! first: `./dev test` does (`cargo build --release -p ccgsc-node`, then `-p ccgsc-worker -p
//! ccgsc-verifier`).
#![deny(missing_docs)]

pub mod market;

use std::{
	net::TcpListener,
	path::PathBuf,
	process::{Child, Command, Stdio},
	time::{Duration, Instant},
};

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
	TcpListener::bind("127.0.0.1:0")
		.and_then(|l| l.local_addr())
		.map(|a| a.port())
		.expect("a free port")
}

/// The path of a binary built into the same target directory as this test.
///
/// # Panics
/// If it has not been built, with the command that builds it.
pub fn binary(name: &str) -> PathBuf {
	let exe = std::env::current_exe().expect("the test knows its own path");
	let dir =
		exe.parent().and_then(|deps| deps.parent()).expect("tests run from target/<profile>/deps");
	let path = dir.join(name);
	assert!(
		path.exists(),
		"{} is missing: build it first (`./dev test` does, or `cargo build --release -p {name}`)",
		path.display()
	);
	path
}

/// A running `ccgsc-node --dev`.
pub struct Node {
	child: Child,
	/// The node's RPC port (WebSocket and HTTP).
	pub rpc_port: u16,
	dir: tempfile::TempDir,
}

impl Node {
	/// Starts a dev node with its state in a fresh temporary directory.
	pub fn dev() -> Self {
		let dir = tempfile::tempdir().expect("a temporary directory");
		let rpc_port = free_port();
		let log = std::fs::File::create(dir.path().join("node.log")).expect("a log file");
		let child = Command::new(binary("ccgsc-node"))
			.args(["--dev", "--no-telemetry", "--no-mdns", "--no-prometheus"])
			.arg("--base-path")
			.arg(dir.path().join("chain"))
			.args(["--rpc-port", &rpc_port.to_string(), "--port", &free_port().to_string()])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("ccgsc-node starts");
		Self { child, rpc_port, dir }
	}

	/// The WebSocket RPC address.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The last lines of the node's log, for failure messages.
	pub fn log_tail(&self) -> String {
		let log = std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default();
		let lines: Vec<&str> = log.lines().collect();
		lines[lines.len().saturating_sub(30)..].join("\n")
	}

	/// Connects the chain client, retrying while the node starts (up to `timeout`).
	///
	/// # Panics
	/// If the node does not answer in time, with its log.
	pub async fn client(&self, timeout: Duration) -> ccgsc_chain::Chain {
		let started = Instant::now();
		loop {
			match ccgsc_chain::Chain::connect(&self.ws_url()).await {
				Ok(chain) => return chain,
				Err(_) if started.elapsed() < timeout => {
					tokio::time::sleep(Duration::from_millis(200)).await;
				},
				Err(e) => {
					panic!("the node did not answer within {timeout:?}: {e}\n{}", self.log_tail())
				},
			}
		}
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
	}
}
