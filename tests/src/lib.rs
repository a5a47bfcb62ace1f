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

/// A free TCP port on loopback, never one this process handed out before (tests that run
/// at once start several nodes, and the system may offer a port again as soon as its probe
/// socket closes).
pub fn free_port() -> u16 {
	static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
	let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
	loop {
		let port = TcpListener::bind("127.0.0.1:0")
			.and_then(|l| l.local_addr())
			.map(|a| a.port())
			.expect("a free port");
		if !given.contains(&port) {
			given.push(port);
			return port;
		}
	}
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
	child: Option<Child>,
	/// The node's RPC port (WebSocket and HTTP).
	pub rpc_port: u16,
	p2p_port: u16,
	dir: tempfile::TempDir,
}

impl Node {
	/// Starts a dev node with its state in a fresh temporary directory.
	pub fn dev() -> Self {
		let dir = tempfile::tempdir().expect("a temporary directory");
		let mut node = Self { child: None, rpc_port: free_port(), p2p_port: free_port(), dir };
		node.start();
		node
	}

	fn start(&mut self) {
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(self.dir.path().join("node.log"))
			.expect("a log file");
		let child = Command::new(binary("ccgsc-node"))
			.args(["--dev", "--no-telemetry", "--no-mdns", "--no-prometheus"])
			.arg("--base-path")
			.arg(self.dir.path().join("chain"))
			.args(["--rpc-port", &self.rpc_port.to_string(), "--port", &self.p2p_port.to_string()])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("ccgsc-node starts");
		self.child = Some(child);
	}

	/// Stops the node (SIGKILL: as a crash would), keeping its database.
	pub fn kill(&mut self) {
		if let Some(mut child) = self.child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Starts the node again from its database, on the same ports.
	pub fn restart(&mut self) {
		self.kill();
		self.start();
	}

	/// The WebSocket RPC address.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// The node's process id, while it runs.
	pub fn pid(&self) -> Option<u32> {
		self.child.as_ref().map(Child::id)
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
		self.kill();
	}
}

/// A TCP relay on loopback to a node's RPC port, which a test can cut as a network outage
/// would: while cut, it closes every connection it relays and closes each new one at once.
/// Clients that connect through it ([`Relay::ws_url`]) lose the node, and find it again once
/// [`Relay::restore`] is called, while the node itself goes on. It can also cut itself at a
/// chosen moment: when the node sends a given text ([`Relay::cut_when_node_sends`]). Stops
/// when dropped.
pub struct Relay {
	port: u16,
	cut: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
	trigger: Trigger,
	task: tokio::task::JoinHandle<()>,
}

/// The text that cuts a [`Relay`] when the node sends it, if one is set.
type Trigger = std::sync::Arc<std::sync::Mutex<Option<&'static str>>>;

impl Relay {
	/// Starts relaying from a free loopback port to `127.0.0.1:target`.
	pub async fn to(target: u16) -> Self {
		let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
		let port = listener.local_addr().expect("a bound address").port();
		let cut = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
		let trigger = Trigger::default();
		let task = {
			let (cut, trigger) = (cut.clone(), trigger.clone());
			tokio::spawn(async move {
				while let Ok((client, _)) = listener.accept().await {
					if !*cut.borrow() {
						tokio::spawn(relay(client, target, cut.clone(), trigger.clone()));
					}
				}
			})
		};
		Self { port, cut, trigger, task }
	}

	/// The node's WebSocket RPC address, through the relay.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.port)
	}

	/// Cuts the link: open connections are closed, new ones closed at once.
	pub fn cut(&self) {
		self.cut.send_replace(true);
	}

	/// Cuts the link as soon as the node sends `text` (which is not passed on), once. A
	/// server's WebSocket frames are not masked, so what the node answers can be told apart:
	/// `author_extrinsicUpdate`, say, cuts a client off while its first transaction
	/// is being included.
	pub fn cut_when_node_sends(&self, text: &'static str) {
		*self.trigger.lock().expect("not poisoned") = Some(text);
	}

	/// Whether the link is cut now.
	pub fn is_cut(&self) -> bool {
		*self.cut.borrow()
	}

	/// Restores the link for new connections.
	pub fn restore(&self) {
		self.cut.send_replace(false);
	}
}

/// Relays one connection of a [`Relay`] until either side closes it or the link is cut.
async fn relay(
	client: tokio::net::TcpStream,
	target: u16,
	cut: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
	trigger: Trigger,
) {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let Ok(node) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await else { return };
	let ((mut from_client, mut to_client), (mut from_node, mut to_node)) =
		(client.into_split(), node.into_split());
	let mut watching = cut.subscribe();
	let down = async {
		let mut buf = vec![0u8; 64 << 10];
		loop {
			let n = from_node.read(&mut buf).await?;
			if n == 0 {
				return Ok::<_, std::io::Error>(());
			}
			let fired = {
				let mut trigger = trigger.lock().expect("not poisoned");
				let fired = trigger
					.is_some_and(|text| buf[..n].windows(text.len()).any(|w| w == text.as_bytes()));
				if fired {
					*trigger = None;
				}
				fired
			};
			if fired {
				cut.send_replace(true);
				return Ok(());
			}
			to_client.write_all(&buf[..n]).await?;
		}
	};
	tokio::select! {
		_ = tokio::io::copy(&mut from_client, &mut to_node) => {},
		_ = down => {},
		_ = watching.wait_for(|cut| *cut) => {},
	}
}

impl Drop for Relay {
	fn drop(&mut self) {
		self.cut();
		self.task.abort();
	}
}

/// A plain HTTP/1.1 request to `127.0.0.1:port` (JSON body if any); the status and the body,
/// or `None` if nothing answers there.
pub async fn http(
	port: u16,
	method: &str,
	path: &str,
	json: Option<&str>,
) -> Option<(u16, Vec<u8>)> {
	use tokio::io::{AsyncReadExt, AsyncWriteExt};
	let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
	let body = json.unwrap_or("");
	let content_type = if json.is_some() { "Content-Type: application/json\r\n" } else { "" };
	let request = format!(
		"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
		body.len()
	);
	stream.write_all(request.as_bytes()).await.ok()?;
	let mut response = Vec::new();
	stream.read_to_end(&mut response).await.ok()?;
	let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
	let head = String::from_utf8_lossy(&response[..head_end]);
	let status = head.split(' ').nth(1)?.parse().ok()?;
	Some((status, response[head_end + 4..].to_vec()))
}

/// CPU time (user + system) process `pid` has used so far, from `/proc/<pid>/stat`; zero if
/// it cannot be read.
pub fn cpu_time(pid: u32) -> Duration {
	let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
		return Duration::ZERO;
	};
	// The fields after the command name, which is in parentheses and may hold spaces.
	let Some(rest) = stat.rfind(')').map(|at| &stat[at + 2..]) else { return Duration::ZERO };
	let fields: Vec<&str> = rest.split(' ').collect();
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
	let ticks: u64 = fields.iter().skip(11).take(2).filter_map(|f| f.parse::<u64>().ok()).sum();
	// Linux reports them in USER_HZ, which its ABI fixes at 100 per second.
	Duration::from_millis(ticks * 10)
}

/// Asserts that `said` (what a process logged) says each of `steps`, in that order.
///
/// # Panics
/// At the first step it does not say after the one before, with `said`.
pub fn says_in_order(said: &str, steps: &[&str]) {
	let mut at = 0;
	for step in steps {
		let found = said[at..].find(step).map(|i| at + i);
		at = found.unwrap_or_else(|| panic!("it says {step:?} after what came before\n{said}"));
	}
}

/// The ids of this machine's processes whose command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
	let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
	entries
		.flatten()
		.filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
		.filter(|pid| *pid != std::process::id())
		.filter(|pid| {
			std::fs::read(format!("/proc/{pid}/cmdline"))
				.map(|c| String::from_utf8_lossy(&c).contains(needle))
				.unwrap_or(false)
		})
		.collect()
}

/// The four validators of `--chain local`, in the order of its genesis: Alice, Bob, Charlie,
/// Dave.
pub const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// One validator of a local network.
struct Validator {
	name: &'static str,
	child: Option<Child>,
	rpc_port: u16,
	p2p_port: u16,
	/// Its libp2p secret (`--node-key`), so its peer id is known before it starts.
	node_key: [u8; 32],
}

/// A `--chain local` network of the four validators on loopback, each with its own database
/// in a temporary directory; stopped (killed) when dropped.
pub struct Network {
	validators: Vec<Validator>,
	dir: tempfile::TempDir,
}

impl Network {
	/// Starts the four validators; Bob, Charlie and Dave find the network through Alice.
	pub fn local() -> Self {
		let dir = tempfile::tempdir().expect("a temporary directory");
		let validators = VALIDATORS
			.iter()
			.enumerate()
			.map(|(i, name)| Validator {
				name,
				child: None,
				rpc_port: free_port(),
				p2p_port: free_port(),
				node_key: [i as u8 + 1; 32],
			})
			.collect();
		let mut network = Self { validators, dir };
		for i in 0..network.validators.len() {
			network.start(i);
		}
		network
	}

	/// The `/ip4/.../p2p/<peer id>` address of validator `i`.
	pub fn address(&self, i: usize) -> String {
		let v = &self.validators[i];
		let peer = ccgsc_p2p::Keypair::ed25519_from_bytes(v.node_key)
			.expect("an ed25519 secret")
			.public()
			.to_peer_id();
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", v.p2p_port)
	}

	fn start(&mut self, i: usize) {
		let bootnode = (i != 0).then(|| self.address(0));
		let dir = self.dir.path().to_path_buf();
		let v = &mut self.validators[i];
		let log = std::fs::OpenOptions::new()
			.create(true)
			.append(true)
			.open(dir.join(format!("{}.log", v.name)))
			.expect("a log file");
		let key: String = v.node_key.iter().map(|b| format!("{b:02x}")).collect();
		let mut command = Command::new(binary("ccgsc-node"));
		command
			.args(["--chain", "local", "--validator", &format!("--{}", v.name)])
			.args(["--no-telemetry", "--no-mdns", "--no-prometheus"])
			.arg("--base-path")
			.arg(dir.join(v.name))
			.args(["--rpc-port", &v.rpc_port.to_string(), "--port", &v.p2p_port.to_string()])
			.args(["--node-key", &key]);
		if let Some(bootnode) = bootnode {
			command.args(["--bootnodes", &bootnode]);
		}
		v.child =
			Some(command.stdout(Stdio::null()).stderr(log).spawn().expect("ccgsc-node starts"));
	}

	/// The WebSocket RPC address of validator `i`.
	pub fn ws_url(&self, i: usize) -> String {
		format!("ws://127.0.0.1:{}", self.validators[i].rpc_port)
	}

	/// Kills validator `i` (SIGKILL, as a crash would), keeping its database.
	pub fn kill(&mut self, i: usize) {
		if let Some(mut child) = self.validators[i].child.take() {
			let _ = child.kill();
			let _ = child.wait();
		}
	}

	/// Starts validator `i` again from its database.
	pub fn restart(&mut self, i: usize) {
		self.kill(i);
		self.start(i);
	}

	/// The last lines of validator `i`'s log.
	pub fn log_tail(&self, i: usize) -> String {
		let path = self.dir.path().join(format!("{}.log", self.validators[i].name));
		let log = std::fs::read_to_string(path).unwrap_or_default();
		let lines: Vec<&str> = log.lines().collect();
		lines[lines.len().saturating_sub(30)..].join("\n")
	}

	/// Connects to validator `i`, retrying while it starts (up to `timeout`).
	///
	/// # Panics
	/// If it does not answer in time, with its log.
	pub async fn client(&self, i: usize, timeout: Duration) -> ccgsc_chain::Chain {
		let started = Instant::now();
		loop {
			match ccgsc_chain::Chain::connect(&self.ws_url(i)).await {
				Ok(chain) => return chain,
				Err(_) if started.elapsed() < timeout => {
					tokio::time::sleep(Duration::from_millis(200)).await;
				},
				Err(e) => panic!("validator {i} did not answer: {e}\n{}", self.log_tail(i)),
			}
		}
	}
}

impl Drop for Network {
	fn drop(&mut self) {
		for i in 0..self.validators.len() {
			self.kill(i);
		}
	}
}
