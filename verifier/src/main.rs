//! `ccgsc-verifier`: a checker node's verifier. It stakes as a checker, re-executes the tasks
//! the chain selects it to review, and attests to their results.
//!
//! Run next to a full node: `ccgsc-verifier --chain ws://127.0.0.1:9944 --dir ~/.ccgsc/checker`
//! (the key is made on first start and kept in `<dir>/key`; fund its account, then start
//! again). It joins the content network through `--bootstrap`, or with none through the
//! portal beside its folder (see [`ccgsc_p2p::bootstrap`]: `.ccgsc/portal` for the default
//! `.ccgsc/checker`).
//!
//! `ccgsc-verifier leave --dir ~/.ccgsc/checker` (the verifier stopped first) takes the stake
//! back: it does the reviews it was selected for, leaves the registry once they are over,
//! waits out the unbonding period (ten minutes), withdraws the stake and exits. Stopped on the
//! way, it goes on from there when run again.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use ccgsc_verifier::{Config, Verifier};
use clap::{Parser, Subcommand};

/// Check CCGSC results: re-execute disputed and audited tasks and attest to them.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
	/// The node's WebSocket RPC address.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	chain: String,
	/// The verifier's state directory (key, content store, compiled modules).
	#[arg(long, global = true, default_value = ".ccgsc/checker")]
	dir: PathBuf,
	/// Reviews to re-execute at once.
	#[arg(long, default_value_t = 1)]
	cores: u32,
	/// Stake to register with, in credits: at the first start, and again after a slash left
	/// the stake below the minimum (the checker then leaves the registry, withdraws what is
	/// left once it has unbonded, and registers anew).
	#[arg(long, default_value_t = 200)]
	stake: u64,
	/// libp2p bootstrap addresses (each ending in /p2p/<peer id>). Without: those a portal
	/// beside --dir wrote to `portal/p2p-addrs` (`.ccgsc/portal` with the default folders,
	/// as `./dev up` runs it).
	#[arg(long, global = true)]
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	/// libp2p listen address.
	#[arg(long, global = true, default_value = "/ip4/127.0.0.1/tcp/0")]
	listen: ccgsc_p2p::Multiaddr,
	/// Where to serve Prometheus metrics.
	#[arg(long, global = true)]
	metrics: Option<SocketAddr>,
	/// Print the checker's account and exit.
	#[arg(long)]
	show_account: bool,
	#[command(subcommand)]
	command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Leave the checker registry and take the stake back (stop the verifier first): do the
	/// reviews it was selected for, leave, wait out the unbonding period, withdraw.
	Leave,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| "info,libp2p=warn".into()),
		)
		.with_writer(std::io::stderr)
		.init();
	let args = Args::parse();
	let seed = ccgsc_worker::key_in(&args.dir)?;
	if args.show_account {
		println!(
			"{}",
			ccgsc_chain::AccountId32(ccgsc_chain::Ed25519Signer::from_seed(seed).public())
		);
		return Ok(());
	}
	let bootstrap = ccgsc_worker::bootstrap_for("checker", args.bootstrap, &args.dir)?;
	let config = Config::new(&args.chain, &args.dir, seed)
		.with_cores(args.cores)
		.with_stake(u128::from(args.stake) * ccgsc_chain::UNIT)
		.with_bootstrap(bootstrap)
		.with_listen([args.listen]);
	let leaving = matches!(args.command, Some(Command::Leave));
	let verifier = match Verifier::new(config).await {
		Err(ccgsc_verifier::Error::InUse(dir)) if leaving => {
			anyhow::bail!("a verifier runs on {}: stop it (Ctrl-C), then leave", dir.display())
		},
		started => started.context("cannot start the verifier")?,
	};
	let metrics = match args.metrics {
		Some(addr) => Some(ccgsc_worker::serve_metrics(addr, verifier.stats()).await?),
		None => None,
	};
	tracing::info!("{}", ccgsc_verifier::describe(&verifier, metrics));
	for addr in verifier.p2p().client().listen_addrs().await.unwrap_or_default() {
		tracing::info!("p2p address {addr} (a --bootstrap for others)");
	}
	let stats = verifier.stats();
	let periodic = stats.clone();
	tokio::spawn(async move {
		loop {
			tokio::time::sleep(Duration::from_secs(5)).await;
			tracing::info!("{}", periodic.line());
		}
	});
	if !leaving {
		verifier.run(ccgsc_worker::interrupted()).await.context("the verifier stopped")?;
		tracing::info!("stopped: {}", stats.totals());
		return Ok(());
	}
	let account = verifier.account();
	match verifier.leave(ccgsc_worker::interrupted()).await.context("cannot leave")? {
		Some(left) => println!(
			"left the checker registry: {:.3} credits of stake withdrawn; {account} holds {:.3} \
			 credits (`ccgsc --dir {} transfer <to> <credits>` sends them on)",
			left.withdrawn as f64 / ccgsc_chain::UNIT as f64,
			left.free as f64 / ccgsc_chain::UNIT as f64,
			args.dir.display()
		),
		None => println!(
			"stopped before leaving; `ccgsc-verifier leave` again goes on from where the chain \
			 stands"
		),
	}
	Ok(())
}
