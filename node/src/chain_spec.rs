//! The chains this node knows by name: `dev` and `local`.

use ccgsc_runtime::WASM_BINARY;
use polkadot_sdk::{sc_service::ChainType, sp_genesis_builder};

/// A chain specification of this runtime.
pub type ChainSpec = polkadot_sdk::sc_service::GenericChainSpec;

fn properties() -> polkadot_sdk::sc_chain_spec::Properties {
	let mut p = polkadot_sdk::sc_chain_spec::Properties::new();
	p.insert("tokenSymbol".into(), "CCG".into());
	p.insert("tokenDecimals".into(), 12.into());
	p.insert("ss58Format".into(), 42.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| "the runtime was built without its wasm binary".to_string())
}

/// One validator (Alice), funded dev accounts.
pub fn development() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("CCGSC Development")
		.with_id("ccgsc_dev")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Four validators (Alice, Bob, Charlie, Dave), funded dev accounts.
pub fn local() -> Result<ChainSpec, String> {
	Ok(ChainSpec::builder(wasm()?, None)
		.with_name("CCGSC Local Testnet")
		.with_id("ccgsc_local")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}
