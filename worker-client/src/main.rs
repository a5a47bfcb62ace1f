//! `ccgsc-worker`: earn credits by running tasks.
//!
//! Run: `ccgsc-worker --chain ws://127.0.0.1:9944 --dir ~/.ccgsc/worker` (the key is made on
//! first start and kept in `<dir>/key`; fund its account, then start again). It joins the
//! content network through `--bootstrap`, or with none through the portal beside its folder
//! (see [`ccgsc_p2p::bootstrap`]: `.ccgsc/portal` for the default `.ccgsc/worker`).
//!
//! `ccgsc-worker leave --dir ~/.ccgsc/worker` (the worker stopped first) takes the stake back:
//! it claims nothing, finishes what an earlier run left, waits until no result of its can
//! still be settled or audited (serving its outputs meanwhile, so give it the same
//! `--bootstrap`), unbonds the stake, waits out the unbonding period (ten minutes), withdraws
//! it and exits. Stopped on the way, it goes on from there when run again. The credits stay
//! in the worker's account; `ccgsc --dir ~/.ccgsc/worker transfer <to> <credits>` sends them on.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use ccgsc_worker::{Config, Worker};
use clap::{Parser, Subcommand};

/// Earn credits by running CCGSC tasks.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
	/// The node's WebSocket RPC address.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	chain: String,
	/// The worker's state directory (key, content store, compiled modules).
	#[arg(long, global = true, default_value = ".ccgsc/worker")]
	dir: PathBuf,
	/// Cores to offer.
	#[arg(long, default_value_t = 1)]
	cores: u32,
	/// Stake to register with, in credits; at each start, what slashes took of it is added
	/// back.
	#[arg(long, default_value_t = 200)]
	stake: u64,
	/// libp2p bootstrap addresses (each ending in /p2p/<peer id>); the portal prints one.
	/// Without: those a portal beside --dir wrote to `portal/p2p-addrs` (`.ccgsc/portal`
	/// with the default folders, as `./dev up` runs it).
	#[arg(long, global = true)]
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	/// libp2p listen address.
	#[arg(long, global = true, default_value = "/ip4/127.0.0.1/tcp/0")]
	listen: ccgsc_p2p::Multiaddr,
	/// Where to serve Prometheus metrics.
	#[arg(long, global = true)]
	metrics: Option<SocketAddr>,
	/// Print the worker's account and exit.
	#[arg(long)]
	show_account: bool,
	/// Test only: corrupt every output (a lying worker, to show that lies are caught).
	#[arg(long, hide = true)]
	corrupt_output: bool,
	#[command(subcommand)]
	command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
	/// Leave the market and take the stake back (stop the worker first): finish what is left,
	/// wait until no result can still be audited, unbond the stake, wait out the unbonding
	/// period, withdraw it.
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
	let bootstrap = ccgsc_worker::bootstrap_for("worker", args.bootstrap, &args.dir)?;
	let config = Config::new(&args.chain, &args.dir, seed)
		.with_cores(args.cores)
		.with_stake(u128::from(args.stake) * ccgsc_chain::UNIT)
		.with_bootstrap(bootstrap)
		.with_listen([args.listen])
		.with_corrupt_output(args.corrupt_output);
	let leaving = matches!(args.command, Some(Command::Leave));
	let worker = match Worker::new(config).await {
		Err(ccgsc_worker::Error::InUse(dir)) if leaving => {
			anyhow::bail!("a worker runs on {}: stop it (Ctrl-C), then leave", dir.display())
		},
		started => started.context("cannot start the worker")?,
	};
	let metrics = match args.metrics {
		Some(addr) => Some(ccgsc_worker::serve_metrics(addr, worker.stats()).await?),
		None => None,
	};
	tracing::info!("{}", ccgsc_worker::describe(&worker, metrics));
	for addr in worker.p2p().client().listen_addrs().await.unwrap_or_default() {
		tracing::info!("p2p address {addr} (a --bootstrap for others)");
	}
	let stats = worker.stats();
	let periodic = stats.clone();
	tokio::spawn(async move {
		loop {
			tokio::time::sleep(Duration::from_secs(5)).await;
			tracing::info!("{}", periodic.line());
		}
	});
	if !leaving {
		worker.run(ccgsc_worker::interrupted()).await.context("the worker stopped")?;
		tracing::info!("stopped: {}", stats.totals());
		return Ok(());
	}
	let account = worker.account();
	match worker.leave(ccgsc_worker::interrupted()).await.context("cannot leave")? {
		Some(left) => println!(
			"left the market: {:.3} credits of stake withdrawn; {account} holds {:.3} credits \
			 (`ccgsc --dir {} transfer <to> <credits>` sends them on)",
			left.withdrawn as f64 / ccgsc_chain::UNIT as f64,
			left.free as f64 / ccgsc_chain::UNIT as f64,
			args.dir.display()
		),
		None => println!(
			"stopped before leaving; `ccgsc-worker leave` again goes on from where the chain stands"
		),
	}
	Ok(())
}
