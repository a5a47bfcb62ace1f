//! The same module and input give the same output and work count in two separate
//! processes (`ccgsc-exec`, the executor as a worker runs it).

use std::{io::Write, process::Command};

fn run_in_a_process(module: &std::path::Path, input: &[u8]) -> (Vec<u8>, String) {
	let mut child = Command::new(env!("CARGO_BIN_EXE_ccgsc-exec"))
		.arg(module)
		.args(["--job", "3", "--task", "1"])
		.stdin(std::process::Stdio::piped())
		.stdout(std::process::Stdio::piped())
		.stderr(std::process::Stdio::piped())
		.spawn()
		.expect("ccgsc-exec starts");
	child.stdin.take().expect("piped").write_all(input).expect("input written");
	let out = child.wait_with_output().expect("ccgsc-exec finishes");
	assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
	(out.stdout, String::from_utf8(out.stderr).expect("the report is UTF-8"))
}

#[test]
fn two_processes_agree_on_output_and_work() {
	let dir = tempfile::tempdir().unwrap();
	for (name, module, input) in [
		("primes", ccgsc_task_modules::PRIMES, ccgsc_tasks::primes::input(0, 300_000)),
		(
			"mandelbrot",
			ccgsc_task_modules::MANDELBROT,
			ccgsc_tasks::mandelbrot::Tile {
				x0: -1.5,
				y0: 1.0,
				step: 0.01,
				width: 200,
				height: 200,
				max_iter: 300,
			}
			.input(),
		),
	] {
		let path = dir.path().join(format!("{name}.wasm"));
		std::fs::write(&path, module).unwrap();
		let (out_a, report_a) = run_in_a_process(&path, &input);
		let (out_b, report_b) = run_in_a_process(&path, &input);
		assert!(report_a.contains("\"outcome\":\"Success\""), "{report_a}");
		assert!(!out_a.is_empty());
		assert_eq!(out_a, out_b, "{name}: output");
		assert_eq!(report_a, report_b, "{name}: outcome, work, length and id");
	}
}
