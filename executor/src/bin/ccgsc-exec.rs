//! Runs a task module the way a worker does and prints what it would report.
//!
//! `ccgsc-exec MODULE.wasm [--work N] [--memory BYTES] [--output BYTES] [--job ID] [--task I]
//! [--canonical] [-- ARGS...] < INPUT > OUTPUT`
//!
//! The report goes to stderr as one JSON line: outcome, work, output length and content id.

use std::io::{Read, Write};

use anyhow::{bail, Context};
use ccgsc_executor::{ContentId, Determinism, Executor, Job, Limits};

const USAGE: &str = "usage: ccgsc-exec MODULE.wasm [--work N] [--memory BYTES] [--output BYTES] \
	[--job ID] [--task I] [--canonical] [-- ARGS...] < INPUT > OUTPUT
Runs a task module the way a worker does: its output goes to stdout, and a JSON line with the \
outcome, work, output length and content id to stderr.";

fn main() -> anyhow::Result<()> {
	let mut args = std::env::args().skip(1);
	let mut module_path = None;
	let mut limits = Limits { work: 10_000_000_000, memory: 256 << 20, output: 64 << 20 };
	let (mut job_id, mut index, mut determinism) = (0u64, 0u32, Determinism::Platform);
	let mut task_args = Vec::new();
	while let Some(arg) = args.next() {
		let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
		match arg.as_str() {
			"--work" => limits.work = value("--work")?.parse()?,
			"--memory" => limits.memory = value("--memory")?.parse()?,
			"--output" => limits.output = value("--output")?.parse()?,
			"--job" => job_id = value("--job")?.parse()?,
			"--task" => index = value("--task")?.parse()?,
			"--canonical" => determinism = Determinism::Canonical,
			"-h" | "--help" => {
				println!("{USAGE}");
				return Ok(());
			},
			"--" => {
				task_args.extend(args.by_ref());
			},
			path if module_path.is_none() => module_path = Some(path.to_string()),
			other => bail!("unexpected argument {other:?} (task arguments go after --)\n{USAGE}"),
		}
	}
	let Some(module_path) = module_path else { bail!("{USAGE}") };
	let module = std::fs::read(&module_path).with_context(|| format!("reading {module_path}"))?;
	let mut input = Vec::new();
	std::io::stdin().read_to_end(&mut input)?;

	let executor = Executor::new(Default::default())?;
	let job = Job {
		id: job_id,
		module_id: ContentId::of(&module),
		module: &module,
		args: &task_args,
		limits,
		determinism,
	};
	let execution = executor.run(&job, index, &input)?;
	std::io::stdout().write_all(&execution.output)?;
	let result = execution.result();
	eprintln!(
		"{{\"outcome\":\"{:?}\",\"work\":{},\"output_len\":{},\"output\":\"{}\"}}",
		result.outcome, execution.work, result.output_len, result.output
	);
	Ok(())
}
