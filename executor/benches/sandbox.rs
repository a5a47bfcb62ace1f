//! Sandbox vs native: `cargo bench -p ccgsc-executor --bench sandbox`.
//!
//! Runs each seed workload natively (the twin: the same source, this release build) and in
//! the sandbox, in one process, and prints the ratio per workload and their median, for the
//! mode replicas of one platform class use (`platform`) and for the cross-class mode
//! (`canonical`). Then the time to instantiate and run an empty task with the module cached.
//! `CCGSC_BENCH_REPS` sets the repetitions (default 5); each figure is a median.

use std::time::{Duration, Instant};

use ccgsc_executor::{ContentId, Determinism, Executor, Job, Limits, Outcome};
use ccgsc_tasks::{mandelbrot, matmul, primes, pwhash};

/// A workload: name, module, native twin, input, arguments.
type Workload<'a> = (&'a str, &'a [u8], ccgsc_tasks::Task, Vec<u8>, &'a [String]);

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

fn median_f(mut v: Vec<f64>) -> f64 {
	v.sort_by(f64::total_cmp);
	let n = v.len();
	if n % 2 == 1 {
		v[n / 2]
	} else {
		(v[n / 2 - 1] + v[n / 2]) / 2.0
	}
}

fn main() {
	if std::env::args().any(|a| a == "--list") {
		return;
	}
	let reps: usize =
		std::env::var("CCGSC_BENCH_REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
	let limits = Limits { work: u64::MAX / 4, memory: 512 << 20, output: 256 << 20 };
	let executor = Executor::new(Default::default()).expect("engine builds");

	let (rows, inner, cols) = (512u32, 512u32, 512u32);
	let a: Vec<f32> = (0..rows * inner).map(|i| (i % 17) as f32 * 0.25 - 2.0).collect();
	let b: Vec<f32> = (0..inner * cols).map(|i| (i % 13) as f32 * 0.5 - 3.0).collect();
	let salt = *b"bench-salt-16byt";
	let mut target = [0u8; 32];
	pwhash::pbkdf2_sha256(b"99999999", &salt, 10_000, &mut target);

	let count = vec!["--count".to_string()];
	let workloads: Vec<Workload<'_>> = vec![
		("primes", ccgsc_task_modules::PRIMES, primes::run, primes::input(0, 100_000_000), &count),
		(
			"mandelbrot",
			ccgsc_task_modules::MANDELBROT,
			mandelbrot::run,
			mandelbrot::Tile {
				x0: -0.8,
				y0: 0.2,
				step: 0.3 / 512.0,
				width: 512,
				height: 512,
				max_iter: 2000,
			}
			.input(),
			&[],
		),
		(
			"matmul",
			ccgsc_task_modules::MATMUL,
			matmul::run,
			matmul::input(rows, inner, cols, &a, &b),
			&[],
		),
		(
			"pwhash",
			ccgsc_task_modules::PWHASH,
			pwhash::run,
			pwhash::Search { salt, iterations: 10_000, digits: 8, start: 0, end: 30, target }
				.input(),
			&[],
		),
	];

	println!("| workload | native | sandbox (platform) | ratio | sandbox (canonical) | ratio | work units |");
	println!("| --- | --- | --- | --- | --- | --- | --- |");
	let (mut platform_ratios, mut canonical_ratios) = (Vec::new(), Vec::new());
	for (name, module, native, input, args) in &workloads {
		let mut native_times = Vec::new();
		let mut expected = Vec::new();
		for _ in 0..reps {
			let t = Instant::now();
			expected = native(input, args).expect("valid input");
			native_times.push(t.elapsed());
		}
		let sandboxed = |determinism| {
			let job =
				Job { id: 1, module_id: ContentId::of(module), module, args, limits, determinism };
			executor.run(&job, 0, &[]).expect("warm-up compiles");
			let mut times = Vec::new();
			let mut work = 0;
			for _ in 0..reps {
				let execution = executor.run(&job, 0, input).expect("runs");
				assert_eq!(execution.outcome, Outcome::Success, "{name}: {:?}", execution.detail);
				assert_eq!(execution.output, expected, "{name}: the sandbox and the twin agree");
				times.push(execution.elapsed);
				work = execution.work;
			}
			(median(times), work)
		};
		let native_time = median(native_times);
		let (platform, work) = sandboxed(Determinism::Platform);
		let (canonical, _) = sandboxed(Determinism::Canonical);
		let (rp, rc) = (
			platform.as_secs_f64() / native_time.as_secs_f64(),
			canonical.as_secs_f64() / native_time.as_secs_f64(),
		);
		platform_ratios.push(rp);
		canonical_ratios.push(rc);
		println!(
			"| {name} | {:.1} ms | {:.1} ms | {rp:.2}x | {:.1} ms | {rc:.2}x | {work} |",
			native_time.as_secs_f64() * 1e3,
			platform.as_secs_f64() * 1e3,
			canonical.as_secs_f64() * 1e3,
		);
	}
	let (platform_median, canonical_median) =
		(median_f(platform_ratios), median_f(canonical_ratios));
	println!("| **median** | | | **{platform_median:.2}x** | | **{canonical_median:.2}x** | |");

	let job = Job {
		id: 1,
		module_id: ContentId::of(ccgsc_task_modules::PRIMES),
		module: ccgsc_task_modules::PRIMES,
		args: &count,
		limits,
		determinism: Determinism::Platform,
	};
	let empty = primes::input(0, 0);
	executor.run(&job, 0, &empty).expect("warm-up");
	let times: Vec<Duration> =
		(0..200).map(|i| executor.run(&job, i, &empty).expect("runs").elapsed).collect();
	let instantiate = median(times).as_secs_f64() * 1e6;
	println!(
		"\ninstantiate + run an empty task, module cached: median {instantiate:.0} µs over 200"
	);
	println!(
		"report: sandbox / native, median of the four workloads (one platform class) | {platform_median:.2}x | ≤ 1.5x"
	);
	println!("report: sandbox / native, median, NaN-canonicalizing (across classes) | {canonical_median:.2}x |");
	println!("report: instantiate + run an empty task, module cached | {instantiate:.0} µs |");
	let speed = executor.probe(500_000_000).expect("probe runs");
	println!(
		"machine speed (probe): {} work units/s typical, {} when every load misses the caches",
		speed.typical, speed.slowest
	);
}
