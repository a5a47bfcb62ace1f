//! `ccgsc example`: one of the four built-in workloads (the portal's, from
//! [`ccgsc_task_modules::workloads`]) written to a folder as a module and one input file per
//! task, with the `ccgsc post` command that posts it. It is how a poster in a terminal tries the
//! marketplace without writing a task first, and a template for the folder `post` expects.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ccgsc_task_modules::workloads;

/// Write a built-in workload (its module and one input file per task) to a folder, and print
/// the `ccgsc post` command that posts it.
#[derive(clap::Args, Debug)]
pub struct Example {
	/// primes, mandelbrot, matmul or pwhash.
	workload: String,
	/// A parameter, as name=value (repeat for more); the others keep their defaults, which
	/// `ccgsc example <workload> --out <folder>` prints.
	#[arg(long = "set", value_name = "NAME=VALUE")]
	set: Vec<String>,
	/// The folder to write `<workload>.wasm` and `inputs/` to (made if missing). Its `inputs/`
	/// must be empty or missing: `post` would take any file there as a task too.
	#[arg(long)]
	out: PathBuf,
}

/// Writes the workload and prints what it wrote and how to post it: through the addresses
/// given with `--bootstrap`, through the portal's beside `--dir` (no `--bootstrap` needed), or
/// with a `<p2p>` to fill in when there are none.
pub fn run(example: &Example, bootstrap: &ccgsc_p2p::Bootstrap) -> anyhow::Result<()> {
	let Some((name, _, defaults)) =
		workloads::catalogue().into_iter().find(|(name, ..)| *name == example.workload)
	else {
		bail!("no built-in workload {:?}; there are:\n{}", example.workload, catalogue());
	};
	let mut params = defaults.clone();
	for set in &example.set {
		let Some((key, value)) = set.split_once('=') else {
			bail!("--set takes name=value, not {set:?}\n{}", described(name, &defaults));
		};
		// Numbers and booleans as such, anything else as a string (which `make` refuses by name).
		let value = serde_json::from_str(value).unwrap_or_else(|_| value.into());
		params[key] = value;
	}
	let made = workloads::make(name, params.clone())
		.map_err(|e| anyhow::anyhow!("{e}\n{}", described(name, &defaults)))?;

	let inputs = example.out.join("inputs");
	if std::fs::read_dir(&inputs).is_ok_and(|mut entries| entries.next().is_some()) {
		bail!(
			"{} already has files, and `ccgsc post` takes every file there as a task: choose \
			 another --out or empty it",
			inputs.display()
		);
	}
	std::fs::create_dir_all(&inputs)
		.with_context(|| format!("cannot make {}", inputs.display()))?;
	let module = example.out.join(format!("{name}.wasm"));
	std::fs::write(&module, made.module)
		.with_context(|| format!("cannot write {}", module.display()))?;
	for (index, input) in made.inputs.iter().enumerate() {
		// Zero-padded, so that file name order (the order `post` makes tasks in) is task order.
		let file = inputs.join(format!("{name}-{index:04}.bin"));
		std::fs::write(&file, input).with_context(|| format!("cannot write {}", file.display()))?;
	}

	println!(
		"{name} ({}): wrote {} and {} inputs to {}",
		settings(name, &params),
		module.display(),
		made.inputs.len(),
		inputs.display()
	);
	let mut post = vec!["ccgsc".to_string()];
	let portal = bootstrap.portal_file();
	if bootstrap.addrs.is_empty() {
		post.extend(["--bootstrap".into(), "<p2p>".into()]);
	}
	if portal.is_none() {
		for addr in &bootstrap.addrs {
			post.extend(["--bootstrap".into(), addr.to_string()]);
		}
	}
	post.extend([
		"post".into(),
		"--module".into(),
		quoted(&module),
		"--inputs".into(),
		quoted(&inputs),
		"--work".into(),
		made.work.to_string(),
	]);
	post.extend(made.args.iter().map(|arg| format!("--arg={arg}")));
	post.extend(["--out".into(), quoted(&example.out.join("outputs"))]);
	println!("post it with (on a dev chain, sign with a dev account: add --dev alice):");
	println!("  {}", post.join(" "));
	if bootstrap.addrs.is_empty() {
		println!(
			"where <p2p> is the libp2p address of a worker or the portal (`ccgsc up` prints its \
			 portal's as `p2p`): the workers fetch the inputs from this CLI through that network \
			 (run beside a portal's folder, as with `./dev up` here, and it is found without)"
		);
	}
	if let Some(file) = portal {
		println!(
			"no --bootstrap needed here: it joins the content network, through which the workers \
			 fetch the inputs from this CLI, by the portal's addresses in {}",
			file.display()
		);
	}
	Ok(())
}

/// Every workload with what it does and its parameters' defaults, one per line.
fn catalogue() -> String {
	workloads::catalogue()
		.iter()
		.map(|(name, about, defaults)| format!("  {name}: {about} ({})", settings(name, defaults)))
		.collect::<Vec<_>>()
		.join("\n")
}

/// The parameters of `workload`, one per line with its default and what it sets.
fn described(workload: &str, defaults: &serde_json::Value) -> String {
	let lines = workloads::params(workload)
		.iter()
		.map(|(name, about)| format!("  {name} (default {}): {about}", defaults[*name]));
	format!("the parameters of {workload}:\n{}", lines.collect::<Vec<_>>().join("\n"))
}

/// `name=value, ...` of the JSON object of parameters of `workload`, in the order
/// [`workloads::params`] lists them.
fn settings(workload: &str, params: &serde_json::Value) -> String {
	workloads::params(workload)
		.iter()
		.filter_map(|(name, _)| Some(format!("{name}={}", params.get(name)?)))
		.collect::<Vec<_>>()
		.join(", ")
}

/// `path` as a shell reads it: as is when it has only plain characters, else single-quoted.
fn quoted(path: &Path) -> String {
	let text = path.display().to_string();
	if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c)) {
		text
	} else {
		format!("'{}'", text.replace('\'', r"'\''"))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_path_with_spaces_or_quotes_is_quoted_for_the_shell() {
		assert_eq!(quoted(Path::new("demo/primes.wasm")), "demo/primes.wasm");
		assert_eq!(quoted(Path::new("my demo/it's")), r"'my demo/it'\''s'");
	}
}
