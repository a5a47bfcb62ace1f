//! Command-line interface.

use polkadot_sdk::sc_cli;

/// `ccgsc-node [SUBCOMMAND] [RUN OPTIONS]`.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// A subcommand; without one, the node runs.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// Options of a running node (`--dev`, `--chain`, `--base-path`, `--rpc-port`, ...).
	#[clap(flatten)]
	pub run: sc_cli::RunCmd,
}

/// Subcommands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management.
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),
	/// Export a chain specification.
	ExportChainSpec(sc_cli::ExportChainSpecCmd),
	/// Remove the whole chain database.
	PurgeChain(sc_cli::PurgeChainCmd),
	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),
	/// Database meta columns.
	ChainInfo(sc_cli::ChainInfoCmd),
	/// Benchmarks (`benchmark pallet` generates `weights.rs`); needs `--features
	/// runtime-benchmarks`.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(polkadot_sdk::frame_benchmarking_cli::BenchmarkCmd),
}
