//! `ccgsc-portal`: the web portal.
//!
//! ```text
//! ccgsc-portal --dev                     # http://127.0.0.1:8080, dev accounts offered
//! ccgsc-portal --listen 0.0.0.0:8080     # a public portal: posters sign with their wallet
//! ```
//!
//! It prints its web address and its libp2p addresses (a `--bootstrap` for workers) at start,
//! and writes the libp2p addresses to `<dir>/p2p-addrs` (removed when it stops): a worker,
//! checker or `ccgsc` given no `--bootstrap`, its own folder beside the portal's (as the
//! default folders under `.ccgsc/` are), joins the content network through them.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use ccgsc_portal::{Config, Portal, UploadLimits};
use clap::Parser;

/// The CCGSC web portal: post jobs with credits, watch them run, get verified results.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
	/// The node's WebSocket RPC address.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	chain: String,
	/// Where the web UI and API listen (localhost unless told otherwise).
	#[arg(long, default_value = "127.0.0.1:8080")]
	listen: SocketAddr,
	/// State directory (the content store).
	#[arg(long, default_value = ".ccgsc/portal")]
	dir: PathBuf,
	/// Offer the dev accounts for signing (dev chains only).
	#[arg(long)]
	dev: bool,
	/// libp2p listen address.
	#[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
	p2p_listen: ccgsc_p2p::Multiaddr,
	/// libp2p peers to join through.
	#[arg(long)]
	bootstrap: Vec<ccgsc_p2p::Multiaddr>,
	/// Largest module upload, MiB.
	#[arg(long, default_value_t = 32)]
	max_module_mib: usize,
	/// Largest input upload, MiB.
	#[arg(long, default_value_t = 64)]
	max_input_mib: usize,
	/// Largest upload request, MiB.
	#[arg(long, default_value_t = 256)]
	max_request_mib: usize,
	/// Most inputs per upload.
	#[arg(long, default_value_t = 10_000)]
	max_inputs: usize,
	/// Uploads per client address per minute.
	#[arg(long, default_value_t = 30)]
	uploads_per_minute: u32,
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
	let config = Config {
		chain_url: args.chain,
		dir: args.dir.clone(),
		dev: args.dev,
		limits: UploadLimits {
			module_bytes: args.max_module_mib << 20,
			input_bytes: args.max_input_mib << 20,
			request_bytes: args.max_request_mib << 20,
			inputs: args.max_inputs,
			uploads_per_minute: args.uploads_per_minute,
		},
		p2p_listen: vec![args.p2p_listen],
		bootstrap: args.bootstrap,
	};
	let running = Portal::start(config).await?;
	let portal = running.portal();
	let listener = tokio::net::TcpListener::bind(args.listen)
		.await
		.with_context(|| format!("cannot listen on {}", args.listen))?;
	let addrs = portal.p2p().listen_addrs().await.unwrap_or_default();
	let file = ccgsc_p2p::bootstrap::write(&args.dir, &addrs)
		.with_context(|| format!("cannot write {}", args.dir.join("p2p-addrs").display()))?;
	eprintln!("portal: http://{}/", listener.local_addr()?);
	for addr in &addrs {
		eprintln!("p2p address {addr} (a --bootstrap for workers)");
	}
	eprintln!(
		"p2p addresses written to {} (a worker, checker or ccgsc with no --bootstrap, its \
		 folder beside this one, joins through them)",
		file.display()
	);
	let shutdown = async {
		let _ = tokio::signal::ctrl_c().await;
	};
	let served = ccgsc_portal::serve(portal, listener, shutdown).await;
	ccgsc_p2p::bootstrap::remove(&args.dir, &addrs);
	running.stop().await;
	served.context("the web server failed")
}
