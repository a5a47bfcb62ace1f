//! `ccgsc-node`: the CCGSC chain node.
//!
//! `ccgsc-node --dev` runs a one-machine chain (Alice authors with Aura and finalizes with
//! GRANDPA alone; state in a temporary directory unless `--base-path` is given);
//! `ccgsc-node --chain local --validator --<name>` runs one of the four validators of the local
//! network. Checkers run this node beside `ccgsc-verifier`.

// `sc_cli::Error` and `sc_service::Error` are large, and the node must return them where
// sc-cli's and sc-service's signatures ask for them.
#![allow(clippy::result_large_err)]

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> polkadot_sdk::sc_cli::Result<()> {
	command::run()
}
