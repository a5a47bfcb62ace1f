//! `ccgsc-exec` says how to use it: `--help` prints the usage, and an argument it does not
//! know (a task argument before `--`) is refused with where it goes.

use std::process::Command;

#[test]
fn ccgsc_exec_prints_its_usage_and_refuses_a_task_argument_before_the_separator() {
	let help = Command::new(env!("CARGO_BIN_EXE_ccgsc-exec")).arg("--help").output().unwrap();
	assert!(help.status.success());
	let usage = String::from_utf8(help.stdout).unwrap();
	assert!(usage.starts_with("usage: ccgsc-exec MODULE.wasm"), "{usage}");

	let refused = Command::new(env!("CARGO_BIN_EXE_ccgsc-exec"))
		.args(["task.wasm", "--count"])
		.output()
		.unwrap();
	assert!(!refused.status.success());
	let said = String::from_utf8(refused.stderr).unwrap();
	assert!(
		said.contains("unexpected argument \"--count\" (task arguments go after --)"),
		"{said}"
	);
}
