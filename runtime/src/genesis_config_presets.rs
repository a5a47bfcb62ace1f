//! Genesis presets: `dev` (one validator, Alice; funded dev accounts) and `local_testnet`
//! (four validators, Alice, Bob, Charlie and Dave: GRANDPA needs more than two thirds of the
//! validators, so four is the smallest set that keeps finalizing with one of them down).

use crate::{
	configs::FeePot, AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig,
	EXISTENTIAL_DEPOSIT, UNIT,
};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_support::build_struct_json_patch,
	pallet_aura, pallet_grandpa,
	sp_consensus_aura::sr25519::AuthorityId as AuraId,
	sp_consensus_grandpa::AuthorityId as GrandpaId,
	sp_genesis_builder::{self, PresetId},
	sp_keyring::{Ed25519Keyring, Sr25519Keyring},
};
use serde_json::Value;

/// Every dev account starts with a million credits.
pub const ENDOWMENT: u128 = 1_000_000 * UNIT;

fn genesis(
	authorities: Vec<(AuraId, GrandpaId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			// The fee pot starts at the existential deposit: a fee smaller than that paid into
			// an empty pot could not create it and would be burnt.
			balances: endowed
				.iter()
				.cloned()
				.map(|k| (k, ENDOWMENT))
				.chain([(FeePot::get(), EXISTENTIAL_DEPOSIT)])
				.collect::<Vec<_>>()
		},
		aura: pallet_aura::GenesisConfig {
			authorities: authorities.iter().map(|x| x.0.clone()).collect::<Vec<_>>()
		},
		grandpa: pallet_grandpa::GenesisConfig {
			authorities: authorities.iter().map(|x| (x.1.clone(), 1)).collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

/// The well-known dev accounts, sr25519 and ed25519 (workers sign with ed25519 keys).
fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::iter()
		.map(|k| k.to_account_id())
		.chain(Ed25519Keyring::iter().map(|k| k.to_account_id()))
		.collect()
}

fn authority(name: Sr25519Keyring, grandpa: Ed25519Keyring) -> (AuraId, GrandpaId) {
	(name.public().into(), grandpa.public().into())
}

/// The `dev` preset.
pub fn development_config_genesis() -> Value {
	genesis(
		vec![authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The `local_testnet` preset.
pub fn local_config_genesis() -> Value {
	genesis(
		vec![
			authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			authority(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			authority(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of preset `id`.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_config_genesis(),
		_ => return None,
	};
	Some(serde_json::to_string(&patch).expect("a JSON value serializes; qed").into_bytes())
}

/// The presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
