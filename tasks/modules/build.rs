//! Builds the `ccgsc-tasks` commands for `wasm32-wasip1` with a nested cargo, in a target
//! directory of its own (so it never waits on the outer build's lock), with `simd128` on and
//! the profile a published task would use: one codegen unit, fat LTO, abort on panic.

use std::{env, path::PathBuf, process::Command};

const TASKS: [&str; 4] = ["primes", "mandelbrot", "matmul", "pwhash"];

fn main() {
	let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
	let tasks_dir = manifest_dir.parent().expect("tasks/modules lies in tasks/").to_path_buf();
	println!("cargo:rerun-if-changed={}", tasks_dir.join("src").display());
	println!("cargo:rerun-if-changed={}", tasks_dir.join("Cargo.toml").display());

	let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
	let target_dir = out_dir.join("wasm-target");
	let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
	let status = Command::new(cargo)
		.args([
			"build",
			"--release",
			"--locked",
			"--target",
			"wasm32-wasip1",
			"-p",
			"ccgsc-tasks",
			"--bins",
		])
		.arg("--manifest-path")
		.arg(tasks_dir.join("Cargo.toml"))
		.arg("--target-dir")
		.arg(&target_dir)
		.env_remove("RUSTFLAGS")
		.env_remove("CARGO_TARGET_DIR")
		.env_remove("CARGO_BUILD_TARGET")
		.env_remove("RUSTC_WORKSPACE_WRAPPER")
		.env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
		.env("CARGO_PROFILE_RELEASE_DEBUG", "false")
		.env("CARGO_PROFILE_RELEASE_INCREMENTAL", "false")
		.env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
		.env("CARGO_PROFILE_RELEASE_LTO", "fat")
		.env("CARGO_PROFILE_RELEASE_PANIC", "abort")
		.status()
		.expect("cargo runs");
	assert!(status.success(), "building the task modules for wasm32-wasip1 failed");

	for task in TASKS {
		let built = target_dir.join("wasm32-wasip1/release").join(format!("{task}.wasm"));
		std::fs::copy(&built, out_dir.join(format!("{task}.wasm")))
			.expect("the task module was built");
	}
}
