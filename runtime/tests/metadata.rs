//! The chain client is generated from `chain-client/metadata/ccgsc.scale`. This test fails when
//! that file no longer matches the runtime; regenerate it with
//! `CCGSC_BLESS=1 cargo test --release -p ccgsc-runtime --test metadata`.

use ccgsc_runtime::Runtime;

#[test]
fn committed_metadata_matches_the_runtime() {
	// Storage parameters (the audit rate) are read while the metadata is built.
	let metadata = polkadot_sdk::sp_io::TestExternalities::default()
		.execute_with(|| Runtime::metadata_at_version(16))
		.expect("the runtime offers metadata v16");
	let bytes: Vec<u8> = (*metadata).clone();
	assert_eq!(&bytes[..4], b"meta", "prefixed runtime metadata");
	let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
		.join("../chain-client/metadata/ccgsc.scale");
	if std::env::var_os("CCGSC_BLESS").is_some() {
		std::fs::write(&path, &bytes).expect("metadata written");
	}
	let committed = std::fs::read(&path).unwrap_or_default();
	assert!(
		committed == bytes,
		"{} is stale: regenerate it with `CCGSC_BLESS=1 cargo test --release -p ccgsc-runtime --test metadata`",
		path.display()
	);
}
