//! `ccgsc up`: a complete local marketplace from one command.
//!
//! It starts, from the binaries beside `ccgsc` (one target directory), a dev node with its
//! database in `<dir>/node`, the portal (`--dev`, content in `<dir>/portal`), `--workers`
//! single-core workers (`<dir>/worker-<i>`) and a checker (`<dir>/checker`); funds the workers'
//! and the checker's accounts from the dev accounts when they run low; prints where to look;
//! and on Ctrl-C (SIGINT) or SIGTERM stops them in order: workers, checker and portal first
//! (workers finish or give back what they hold), then the node. Started again on the same
//! folder, it continues from the same chain and content. Logs go to `<dir>/logs/`.
//!
//! With `--local` it runs the four validators of `--chain local` instead of one dev node:
//! Alice, Bob, Charlie and Dave (`--alice` ... `--dave`: their Aura and GRANDPA keys are the
//! well-known dev seeds), each with its database in `<dir>/validator-<name>`, RPC on
//! `--rpc-port` + 0..3, libp2p on `--node-port` + 0..3, Prometheus on `--prometheus-port` +
//! 0..3, and node key `[i + 1; 32]` (so every peer id is known in advance; Bob, Charlie and
//! Dave bootstrap from Alice). The portal follows Alice's node, the workers are spread over
//! the four, the checker runs beside Charlie's.
//!
//! If a node or the portal exits on its own, the launcher stops the rest and says which one and
//! where its log is. A worker or the checker that exits on its own (it crashed, or someone
//! killed it to see what the marketplace does) is started again on its folder, its log going
//! on, so it reveals what it committed and gives back the leases it held, as a restarted
//! worker does, and their tasks go to whichever worker claims them next. One that exits
//! within [`CRASH_LOOP`] of being started again is left stopped, with its log named, and the
//! rest go on.

use std::{
	path::{Path, PathBuf},
	process::Stdio,
	time::{Duration, Instant},
};

use anyhow::{bail, Context};
use ccgsc_chain::{AccountId32, Chain, Ed25519Signer, UNIT};
use clap::Args;
use tokio::process::{Child, Command};

/// Options of `ccgsc up`.
#[derive(Args, Debug)]
pub struct Up {
	/// The folder that holds all of the marketplace's state and logs.
	#[arg(long, default_value = ".ccgsc")]
	state: PathBuf,
	/// Run the four validators of `--chain local` instead of one dev node.
	#[arg(long)]
	local: bool,
	/// Single-core workers to run.
	#[arg(long, default_value_t = 3)]
	workers: u32,
	/// The node's RPC port.
	#[arg(long, default_value_t = 9944)]
	rpc_port: u16,
	/// The node's libp2p port.
	#[arg(long, default_value_t = 30333)]
	node_port: u16,
	/// The node's Prometheus port.
	#[arg(long, default_value_t = 9615)]
	prometheus_port: u16,
	/// Where the portal listens.
	#[arg(long, default_value = "127.0.0.1:8080")]
	portal: std::net::SocketAddr,
	/// First port of the workers' and the checker's Prometheus endpoints (one each, in order).
	#[arg(long, default_value_t = 9616)]
	metrics_port: u16,
}

/// Credits a worker or checker account is topped up to when it has less than half of them.
const FUNDING: u128 = 1_000 * UNIT;

/// A worker or the checker that exits this soon after being started again is left stopped: it
/// would most likely exit again (a bad folder, a node that refuses it), and its log says why.
const CRASH_LOOP: Duration = Duration::from_secs(30);

struct Process {
	name: String,
	child: Child,
	log: PathBuf,
	/// The binary and its arguments, to start it again.
	path: PathBuf,
	args: Vec<String>,
	/// A worker or the checker: started again when it exits on its own.
	restarts: bool,
	/// When it was last started again, if it was.
	restarted: Option<Instant>,
}

impl Process {
	fn spawn(
		bin_dir: &Path,
		logs: &Path,
		name: &str,
		binary: &str,
		args: &[String],
	) -> anyhow::Result<Self> {
		let log = logs.join(format!("{name}.log"));
		let file = std::fs::File::create(&log)
			.with_context(|| format!("cannot create {}", log.display()))?;
		let path = bin_dir.join(binary);
		if !path.exists() {
			bail!("{} is missing: build it first (`./dev up` does)", path.display());
		}
		let child = Self::start(&path, args, file)?;
		Ok(Self {
			name: name.to_string(),
			child,
			log,
			path,
			args: args.to_vec(),
			restarts: matches!(binary, "ccgsc-worker" | "ccgsc-verifier"),
			restarted: None,
		})
	}

	fn start(path: &Path, args: &[String], log: std::fs::File) -> anyhow::Result<Child> {
		Command::new(path)
			.args(args)
			.stdin(Stdio::null())
			.stdout(Stdio::null())
			.stderr(log)
			.kill_on_drop(true)
			// Its own process group: a terminal's Ctrl-C reaches only the launcher, which then
			// stops everything in order (workers before the node they report to).
			.process_group(0)
			.spawn()
			.with_context(|| format!("cannot start {}", path.display()))
	}

	/// Starts it again after it exited, its log going on.
	fn restart(&mut self) -> anyhow::Result<()> {
		let log = std::fs::OpenOptions::new()
			.append(true)
			.open(&self.log)
			.with_context(|| format!("cannot open {}", self.log.display()))?;
		self.child = Self::start(&self.path, &self.args, log)?;
		self.restarted = Some(Instant::now());
		Ok(())
	}

	/// Sends SIGINT (what Ctrl-C sends), so it shuts down gracefully.
	fn interrupt(&self) {
		if let Some(pid) = self.child.id() {
			let _ = std::process::Command::new("kill").args(["-INT", &pid.to_string()]).status();
		}
	}

	/// Waits up to `grace` for it to exit, then kills it.
	async fn stop(mut self, grace: Duration) {
		self.interrupt();
		if tokio::time::timeout(grace, self.child.wait()).await.is_err() {
			eprintln!("{} did not stop within {grace:?}; killing it", self.name);
			let _ = self.child.kill().await;
		}
	}
}

/// Runs the marketplace until Ctrl-C.
pub async fn run(up: &Up) -> anyhow::Result<()> {
	let dir = up.state.as_path();
	let bin_dir = std::env::current_exe()
		.context("cannot find the ccgsc binary")?
		.parent()
		.context("the ccgsc binary has no folder")?
		.to_path_buf();
	let logs = dir.join("logs");
	std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;

	let mut nodes = if up.local {
		validators(up, dir, &bin_dir, &logs)?
	} else {
		vec![dev_node(up, dir, &bin_dir, &logs)?]
	};
	let mut others: Vec<Process> = Vec::new();
	// Signals are caught from here on, so a Ctrl-C while starting also stops what started.
	use tokio::signal::unix::{signal, SignalKind};
	let (mut interrupt, mut terminate) =
		(signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
	let outcome = tokio::select! {
		outcome = async {
			start_rest(up, dir, &bin_dir, &logs, &mut nodes, &mut others).await?;
			watch_exits(&mut nodes, &mut others).await
		} => outcome,
		_ = interrupt.recv() => Ok(()),
		_ = terminate.recv() => Ok(()),
	};
	eprintln!("stopping the marketplace…");
	futures::future::join_all(others.into_iter().map(|p| p.stop(Duration::from_secs(90)))).await;
	futures::future::join_all(nodes.into_iter().map(|p| p.stop(Duration::from_secs(30)))).await;
	eprintln!("stopped; state kept in {}", dir.display());
	outcome
}

fn dev_node(up: &Up, dir: &Path, bin_dir: &Path, logs: &Path) -> anyhow::Result<Process> {
	Process::spawn(
		bin_dir,
		logs,
		"node",
		"ccgsc-node",
		&[
			"--dev".into(),
			"--base-path".into(),
			dir.join("node").display().to_string(),
			"--rpc-port".into(),
			up.rpc_port.to_string(),
			"--port".into(),
			up.node_port.to_string(),
			"--prometheus-port".into(),
			up.prometheus_port.to_string(),
			"--no-telemetry".into(),
			"--no-mdns".into(),
		],
	)
}

/// The names of the local network's validators, in genesis order.
const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

/// The libp2p address of local validator `i` (its node key is `[i + 1; 32]`).
fn validator_address(up: &Up, i: usize) -> String {
	let peer = ccgsc_p2p::Keypair::ed25519_from_bytes([i as u8 + 1; 32])
		.expect("32 bytes are an ed25519 secret")
		.public()
		.to_peer_id();
	format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", up.node_port + i as u16)
}

fn validators(up: &Up, dir: &Path, bin_dir: &Path, logs: &Path) -> anyhow::Result<Vec<Process>> {
	let mut nodes = Vec::new();
	for (i, name) in VALIDATORS.iter().enumerate() {
		let offset = i as u16;
		let key: String = [i as u8 + 1; 32].iter().map(|b| format!("{b:02x}")).collect();
		let mut args = vec![
			"--chain".into(),
			"local".into(),
			"--validator".into(),
			format!("--{name}"),
			"--base-path".into(),
			dir.join(format!("validator-{name}")).display().to_string(),
			"--rpc-port".into(),
			(up.rpc_port + offset).to_string(),
			"--port".into(),
			(up.node_port + offset).to_string(),
			"--prometheus-port".into(),
			(up.prometheus_port + offset).to_string(),
			"--node-key".into(),
			key,
			"--no-telemetry".into(),
			"--no-mdns".into(),
		];
		if i > 0 {
			args.extend(["--bootnodes".into(), validator_address(up, 0)]);
		}
		nodes.push(Process::spawn(
			bin_dir,
			logs,
			&format!("validator-{name}"),
			"ccgsc-node",
			&args,
		)?);
	}
	Ok(nodes)
}

/// Starts the portal, funds and starts the workers and the checker, and prints where to look.
async fn start_rest(
	up: &Up,
	dir: &Path,
	bin_dir: &Path,
	logs: &Path,
	nodes: &mut [Process],
	others: &mut Vec<Process>,
) -> anyhow::Result<()> {
	let count = nodes.len();
	let ws_of = |i: usize| format!("ws://127.0.0.1:{}", up.rpc_port + (i % count) as u16);
	let ws = &ws_of(0);
	let chain = connect(ws, &mut nodes[0]).await?;

	let portal_dir = dir.join("portal");
	std::fs::create_dir_all(&portal_dir)?;
	let addrs_file = portal_dir.join(ccgsc_p2p::bootstrap::ADDRS_FILE);
	let _ = std::fs::remove_file(&addrs_file);
	others.push(Process::spawn(
		bin_dir,
		logs,
		"portal",
		"ccgsc-portal",
		&[
			"--dev".into(),
			"--chain".into(),
			ws.into(),
			"--listen".into(),
			up.portal.to_string(),
			"--dir".into(),
			portal_dir.display().to_string(),
		],
	)?);
	let bootstrap = wait_for_addrs(&addrs_file, &mut others[0]).await?;

	// The workers' and the checker's accounts, funded from the dev accounts when low.
	let mut roles: Vec<(String, &str, PathBuf)> = (1..=up.workers)
		.map(|i| (format!("worker-{i}"), "ccgsc-worker", dir.join(format!("worker-{i}"))))
		.collect();
	roles.push(("checker".into(), "ccgsc-verifier", dir.join("checker")));
	let mut accounts = Vec::new();
	for (_, _, role_dir) in &roles {
		std::fs::create_dir_all(role_dir)?;
		let key = ccgsc_worker::key_in(role_dir)?;
		accounts.push(AccountId32(Ed25519Signer::from_seed(key).public()));
	}
	fund(&chain, &accounts).await?;

	for (i, (name, binary, role_dir)) in roles.iter().enumerate() {
		// Workers spread over the validators; the checker beside the third (Charlie).
		let node = if *binary == "ccgsc-verifier" { 2 } else { i };
		let mut args = vec![
			"--chain".into(),
			ws_of(node),
			"--dir".into(),
			role_dir.display().to_string(),
			"--metrics".into(),
			format!("127.0.0.1:{}", up.metrics_port + i as u16),
		];
		for addr in &bootstrap {
			args.extend(["--bootstrap".into(), addr.to_string()]);
		}
		others.push(Process::spawn(bin_dir, logs, name, binary, &args)?);
	}

	let dev = |name: &str, k: ccgsc_chain::dev::Keypair| {
		format!("  {name:<8} {}", AccountId32::from(k.public_key()))
	};
	use ccgsc_chain::dev as d;
	println!("CCGSC marketplace running (state in {}, logs in {}):", dir.display(), logs.display());
	println!("  portal      http://{}/", up.portal);
	// The portal's libp2p address: a worker, checker or `ccgsc` started by hand joins this
	// marketplace's content network through it (on another network, nobody could fetch what
	// it serves, nor it what others serve); one whose folder is beside the portal's finds it
	// in the portal's p2p-addrs file without being told.
	if let Some(addr) = bootstrap.first() {
		println!("  p2p         {addr}   (--bootstrap for a worker, checker or ccgsc of your own)");
		println!(
			"              also written to {}, where one whose --dir is in {} finds it without \
			 --bootstrap",
			addrs_file.display(),
			dir.display()
		);
	}
	if up.local {
		for (i, name) in VALIDATORS.iter().enumerate() {
			println!(
				"  validator {name:<8} RPC {}  metrics http://127.0.0.1:{}/metrics  {}",
				ws_of(i),
				up.prometheus_port + i as u16,
				validator_address(up, i)
			);
		}
	} else {
		println!("  chain RPC   {ws}   (polkadot.js: https://polkadot.js.org/apps/?rpc={ws})");
		println!("  node        metrics http://127.0.0.1:{}/metrics", up.prometheus_port);
	}
	for (i, (name, _, _)) in roles.iter().enumerate() {
		println!(
			"  {name:<11} {}   metrics http://127.0.0.1:{}/metrics",
			accounts[i],
			up.metrics_port + i as u16
		);
	}
	println!("dev accounts (sign in the portal with any of them):");
	for line in [
		dev("alice", d::alice()),
		dev("bob", d::bob()),
		dev("charlie", d::charlie()),
		dev("dave", d::dave()),
		dev("eve", d::eve()),
		dev("ferdie", d::ferdie()),
	] {
		println!("{line}");
	}
	println!("Ctrl-C stops everything.");
	Ok(())
}

/// Starts a worker or the checker that exits on its own again (unless it exits within
/// [`CRASH_LOOP`] of being started again: then it is left stopped); returns (an error) when a
/// node or the portal exits on its own.
async fn watch_exits(nodes: &mut [Process], others: &mut Vec<Process>) -> anyhow::Result<()> {
	loop {
		tokio::time::sleep(Duration::from_secs(1)).await;
		for p in nodes.iter_mut() {
			if let Ok(Some(status)) = p.child.try_wait() {
				bail!("{} exited ({status}); see {}", p.name, p.log.display());
			}
		}
		let mut stopped = Vec::new();
		for (i, p) in others.iter_mut().enumerate() {
			let Ok(Some(status)) = p.child.try_wait() else { continue };
			let (name, log) = (&p.name, p.log.display());
			if !p.restarts {
				bail!("{name} exited ({status}); see {log}");
			}
			if p.restarted.is_some_and(|at| at.elapsed() < CRASH_LOOP) {
				eprintln!(
					"{name} exited ({status}) again within {CRASH_LOOP:?} of being started again; \
					 leaving it stopped (see {log}); the rest go on"
				);
				stopped.push(i);
				continue;
			}
			eprintln!("{name} exited ({status}); starting it again (its log goes on in {log})");
			p.restart()?;
		}
		for i in stopped.into_iter().rev() {
			others.remove(i);
		}
	}
}

async fn connect(ws: &str, node: &mut Process) -> anyhow::Result<Chain> {
	let started = Instant::now();
	loop {
		if let Ok(chain) = Chain::connect(ws).await {
			return Ok(chain);
		}
		if let Ok(Some(status)) = node.child.try_wait() {
			bail!("the node exited ({status}); see {}", node.log.display());
		}
		if started.elapsed() > Duration::from_secs(120) {
			bail!("the node did not answer at {ws} within 2 minutes; see {}", node.log.display());
		}
		tokio::time::sleep(Duration::from_millis(250)).await;
	}
}

/// Waits for the portal (`process`) to write its libp2p addresses to `path`, up to a minute.
async fn wait_for_addrs(
	path: &Path,
	process: &mut Process,
) -> anyhow::Result<Vec<ccgsc_p2p::Multiaddr>> {
	let started = Instant::now();
	loop {
		if let Ok(addrs) = ccgsc_p2p::bootstrap::read(path) {
			if !addrs.is_empty() {
				return Ok(addrs);
			}
		}
		if let Ok(Some(status)) = process.child.try_wait() {
			bail!("{} exited ({status}); see {}", process.name, process.log.display());
		}
		if started.elapsed() > Duration::from_secs(60) {
			bail!("{} did not start within a minute; see {}", process.name, process.log.display());
		}
		tokio::time::sleep(Duration::from_millis(100)).await;
	}
}

/// Tops up every account below half of [`FUNDING`] to it, from the dev accounts (Dave is
/// left to posters), several at a time.
async fn fund(chain: &Chain, accounts: &[AccountId32]) -> anyhow::Result<()> {
	use ccgsc_chain::dev;
	let payers = [dev::alice(), dev::bob(), dev::charlie(), dev::eve(), dev::ferdie()];
	let mut low = Vec::new();
	for account in accounts {
		let free = chain.free_balance(account).await?;
		if free < FUNDING / 2 {
			low.push((*account, FUNDING - free));
		}
	}
	for batch in low.chunks(payers.len()) {
		let transfers = batch
			.iter()
			.zip(&payers)
			.map(|((to, amount), payer)| chain.transfer(payer, to, *amount));
		for result in futures::future::join_all(transfers).await {
			result.context("cannot fund a worker or checker account")?;
		}
	}
	Ok(())
}
