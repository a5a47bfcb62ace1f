use super::*;
use ccgsc_task_modules as modules;
use ccgsc_tasks::{mandelbrot, matmul, primes, pwhash};

const LIMITS: Limits = Limits { work: 20_000_000_000, memory: 256 << 20, output: 16 << 20 };

fn executor() -> Executor {
	Executor::new(Config::default()).expect("engine builds")
}

fn job<'a>(module: &'a [u8], args: &'a [String], limits: Limits) -> Job<'a> {
	Job {
		id: 7,
		module_id: ContentId::of(module),
		module,
		args,
		limits,
		determinism: Determinism::Platform,
	}
}

fn wat(text: &str) -> Vec<u8> {
	wat::parse_str(text).expect("valid WAT")
}

fn run_ok(executor: &Executor, module: &[u8], input: &[u8]) -> Execution {
	run_ok_with(executor, module, LIMITS, input)
}

fn run_ok_with(executor: &Executor, module: &[u8], limits: Limits, input: &[u8]) -> Execution {
	let execution = executor.run(&job(module, &[], limits), 0, input).expect("runs");
	assert_eq!(
		execution.outcome,
		Outcome::Success,
		"{:?} {:?}",
		execution.detail,
		String::from_utf8_lossy(&execution.stderr)
	);
	execution
}

#[test]
fn primes_known_answer_in_the_sandbox() {
	let ex = executor();
	let out = run_ok(&ex, modules::PRIMES, &primes::input(0, 1_000_000)).output;
	let (count, list) = primes::decode(&out).unwrap();
	assert_eq!(count, 78_498);
	assert_eq!(list.last(), Some(&999_983));
	// Arguments reach the task: `--count` drops the list.
	let args = vec!["--count".to_string()];
	let counted =
		ex.run(&job(modules::PRIMES, &args, LIMITS), 0, &primes::input(0, 1_000_000)).unwrap();
	assert_eq!(counted.output, 78_498u64.to_le_bytes());
}

#[test]
fn mandelbrot_tile_output_id_is_pinned_and_matches_the_native_twin() {
	let tile = mandelbrot::Tile {
		x0: -2.0,
		y0: 1.25,
		step: 2.5 / 256.0,
		width: 256,
		height: 256,
		max_iter: 500,
	};
	let wasm = run_ok(&executor(), modules::MANDELBROT, &tile.input()).output;
	assert_eq!(wasm, mandelbrot::render(&tile));
	assert_eq!(ContentId::of(&wasm).to_hex(), PINNED_MANDELBROT_ID);
}

/// The content id of the tile above. If it changes, replicas built before and after the
/// change would disagree: bump [`VERSION`] (or fix the regression) before updating it.
const PINNED_MANDELBROT_ID: &str =
	"3e27ab2efdd18b84ad7c09237fd33b25096749cde9ca0b4be14dd7e2eb9510c9";

#[test]
fn matmul_in_the_sandbox_matches_the_native_twin_bit_for_bit() {
	let (rows, inner, cols) = (48, 64, 40);
	let a: Vec<f32> = (0..rows * inner).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
	let b: Vec<f32> = (0..inner * cols).map(|i| ((i * 53 % 97) as f32 - 48.0) / 3.0).collect();
	let input = matmul::input(rows as u32, inner as u32, cols as u32, &a, &b);
	let wasm = run_ok(&executor(), modules::MATMUL, &input).output;
	assert_eq!(wasm, matmul::run(&input, &[]).unwrap());
}

#[test]
fn pwhash_finds_the_key_in_the_sandbox() {
	let salt = *b"sandbox-salt-16b";
	let mut target = [0u8; 32];
	pwhash::pbkdf2_sha256(b"000777", &salt, 50, &mut target);
	let search = pwhash::Search { salt, iterations: 50, digits: 6, start: 700, end: 800, target };
	let out = run_ok(&executor(), modules::PWHASH, &search.input()).output;
	assert_eq!(out, [&[1u8][..], &777u64.to_le_bytes()].concat());
}

#[test]
fn same_bytes_and_work_in_two_engines() {
	let (a, b) = (executor(), executor());
	let input = primes::input(0, 200_000);
	let (x, y) = (run_ok(&a, modules::PRIMES, &input), run_ok(&b, modules::PRIMES, &input));
	assert_eq!(x.output, y.output);
	assert_eq!(x.work, y.work);
	assert!(x.work > 0);
	// And again in the same engine, with the module cached.
	assert_eq!(run_ok(&a, modules::PRIMES, &input).work, x.work);
}

/// Outputs the bits of `0/0` (f32, f64), `sqrt(-1)` (f32), and `x + 1` for a NaN `x` with a
/// payload (f32): the cases where platforms may differ.
const NAN_WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (f32.store (i32.const 16) (f32.div (f32.const 0) (f32.const 0)))
    (f64.store (i32.const 20) (f64.div (f64.const 0) (f64.const 0)))
    (f32.store (i32.const 28) (f32.sqrt (f32.const -1)))
    (f32.store (i32.const 32) (f32.add (f32.reinterpret_i32 (i32.const 0x7fa00001)) (f32.const 1)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 20))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

fn nan_bits(execution: &Execution) -> (u32, u64, u32, u32) {
	let o = &execution.output;
	let u32_at = |i: usize| u32::from_le_bytes(o[i..i + 4].try_into().unwrap());
	(u32_at(0), u64::from_le_bytes(o[4..12].try_into().unwrap()), u32_at(12), u32_at(16))
}

#[test]
fn nan_bits_agree_within_a_platform_and_are_canonical_across_classes() {
	let module = wat(NAN_WAT);
	let (a, b) = (executor(), executor());
	let platform = |ex: &Executor| nan_bits(&ex.run(&job(&module, &[], LIMITS), 0, &[]).unwrap());
	let bits = platform(&a);
	assert_eq!(bits, platform(&b), "two replicas of one class");
	for x in [bits.0, bits.2, bits.3] {
		assert!(f32::from_bits(x).is_nan());
	}

	let canonical = |ex: &Executor| {
		let job = Job { determinism: Determinism::Canonical, ..job(&module, &[], LIMITS) };
		nan_bits(&ex.run(&job, 0, &[]).unwrap())
	};
	let canon = canonical(&a);
	assert_eq!(canon, canonical(&b));
	assert_eq!(canon, (0x7fc0_0000, 0x7ff8_0000_0000_0000, 0x7fc0_0000, 0x7fc0_0000));
}

#[test]
fn determinism_follows_the_platforms_a_job_accepts() {
	let one = PlatformSet::of(&[PlatformClass::X86_64Native]);
	let two = PlatformSet::of(&[PlatformClass::X86_64Native, PlatformClass::Browser]);
	assert_eq!(Determinism::for_platforms(one), Determinism::Platform);
	assert_eq!(Determinism::for_platforms(two), Determinism::Canonical);
}

/// A module that cannot run is refused in words that say why, and asking again about the same
/// module (its verdict cached) says the same.
#[test]
fn a_module_that_cannot_run_says_why_every_time() {
	let ex = executor();
	let cases: [(&[u8], &str); 5] = [
		(
			b"hello, world",
			"not a WebAssembly binary: it begins with the bytes 68 65 6c 6c where one begins \
			 with 00 61 73 6d (\\0asm)",
		),
		(b"\0as", "the module is 3 bytes: not a WebAssembly binary"),
		(
			b"  (module (func (export \"_start\")))",
			"the module is WebAssembly text (.wat): compile it to the binary format first",
		),
		(b"\0asm\x01\0\0\0garbage", "unexpected end-of-file"),
		(&wat(r#"(module (memory (export "memory") 1))"#), "exports no `_start`"),
	];
	for (module, says) in cases {
		for time in ["first", "cached"] {
			let why = ex.check_module(module, Determinism::Platform).unwrap_err();
			assert!(why.contains(says), "{time}: {why:?} does not say {says:?}");
		}
	}
}

/// Every bad case ends with its own outcome, and the same executor then runs a good task.
#[test]
fn bad_modules_end_with_their_outcome_and_the_executor_goes_on() {
	let ex = executor();
	let small = Limits { work: 200_000_000, memory: 16 << 20, output: 1 << 20 };
	let cases: Vec<(&str, Vec<u8>, Outcome)> = vec![
		("invalid bytes", b"\0asm\x01\0\0\0garbage".to_vec(), Outcome::InvalidModule),
		("not wasm at all", b"hello".to_vec(), Outcome::InvalidModule),
		(
			"import not offered",
			wat(
				r#"(module (import "env" "network" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
			),
			Outcome::InvalidModule,
		),
		("no _start", wat(r#"(module (memory (export "memory") 1))"#), Outcome::InvalidModule),
		(
			"start-function trap",
			wat(
				r#"(module (memory (export "memory") 1) (func $s unreachable) (start $s) (func (export "_start")))"#,
			),
			Outcome::Trapped,
		),
		(
			"infinite loop",
			wat(
				r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#,
			),
			Outcome::WorkLimitExceeded,
		),
		(
			"memory bomb",
			wat(r#"(module (memory (export "memory") 1)
			     (func (export "_start") (loop $l (drop (memory.grow (i32.const 16))) (br $l))))"#),
			Outcome::MemoryLimitExceeded,
		),
		(
			"initial memory above the limit",
			wat(r#"(module (memory (export "memory") 1000) (func (export "_start")))"#),
			Outcome::MemoryLimitExceeded,
		),
		(
			"1 GiB output",
			// Writes the same 64 KiB 16384 times.
			wat(r#"(module
			     (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
			     (memory (export "memory") 2)
			     (func (export "_start") (local $i i32)
			       (i32.store (i32.const 0) (i32.const 65536))
			       (i32.store (i32.const 4) (i32.const 65536))
			       (loop $l
			         (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
			         (local.set $i (i32.add (local.get $i) (i32.const 1)))
			         (br_if $l (i32.lt_u (local.get $i) (i32.const 16384))))))"#),
			Outcome::OutputTooLarge,
		),
		(
			"exit code 3",
			wat(r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
			     (memory (export "memory") 1) (func (export "_start") (call $exit (i32.const 3))))"#),
			Outcome::Exited(3),
		),
		(
			"data segment outside memory",
			wat(r#"(module (memory (export "memory") 1) (data (i32.const 65530) "0123456789")
			     (func (export "_start")))"#),
			Outcome::Trapped,
		),
		(
			"division by zero",
			wat(r#"(module (memory (export "memory") 1)
			     (func (export "_start") (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#),
			Outcome::Trapped,
		),
		("a task's own bad input", modules::PRIMES.to_vec(), Outcome::Exited(2)),
	];
	for (name, module, expected) in cases {
		let execution = ex.run(&job(&module, &[], small), 0, b"\x01").expect(name);
		assert_eq!(execution.outcome, expected, "{name}: {:?}", execution.detail);
		assert!(execution.output.is_empty(), "{name}: failed tasks report no output");
		assert_eq!(execution.result(), TaskResult::without_output(expected), "{name}");
		if expected == Outcome::WorkLimitExceeded {
			assert_eq!(execution.work, small.work);
		}
		let good = run_ok(&ex, modules::PRIMES, &primes::input(0, 1000));
		assert_eq!(primes::decode(&good.output).unwrap().0, 168, "after {name}");
	}
}

#[test]
fn a_task_past_its_wall_clock_guard_is_the_workers_failure_not_a_result() {
	// A machine that claims to be far faster than it is gets a guard of ~50 ms.
	let config = Config::default()
		.with_speed(Speed { typical: u64::MAX / 4, slowest: u64::MAX / 4 })
		.with_min_guard(Duration::from_millis(50));
	let ex = Executor::new(config).unwrap();
	let spin =
		wat(r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#);
	// Ten seconds of spinning before the work limit; the guard fires long before.
	let limits = Limits { work: 10_000_000_000, ..LIMITS };
	match ex.run(&job(&spin, &[], limits), 0, &[]) {
		Err(Error::WallClockTimeout(_)) => {},
		other => panic!("expected a wall-clock timeout, got {other:?}"),
	}
	run_ok(&ex, modules::PRIMES, &primes::input(0, 1000));
}

#[test]
fn a_task_stopped_by_its_caller_ends_without_a_result_and_the_executor_goes_on() {
	let ex = executor();
	let spin =
		wat(r#"(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))"#);
	// Minutes of spinning before the work limit; the stop comes while it runs.
	let limits = Limits { work: 1_000_000_000_000, ..LIMITS };
	let stop = AtomicBool::new(false);
	let stopped = std::thread::scope(|scope| {
		let run = scope.spawn(|| ex.run_until(&job(&spin, &[], limits), 0, &[], &stop));
		std::thread::sleep(Duration::from_millis(300));
		assert!(!run.is_finished(), "the task still runs before the stop");
		stop.store(true, Ordering::Relaxed);
		run.join().unwrap()
	});
	assert!(matches!(stopped, Err(Error::Stopped)), "{stopped:?}");
	// A flag set before the start stops the task before anything runs.
	let before = ex.run_until(&job(modules::PRIMES, &[], LIMITS), 0, &primes::input(0, 10), &stop);
	assert!(matches!(before, Err(Error::Stopped)), "{before:?}");
	run_ok(&ex, modules::PRIMES, &primes::input(0, 1000));
}

/// A module that copies `len` bytes within its 1024-page memory `turns` times.
fn copier(len: u32, turns: u32) -> Vec<u8> {
	wat(&format!(
		r#"(module (memory (export "memory") 1024)
		  (func (export "_start") (local $i i32)
		    (loop $l
		      (br_if 1 (i32.ge_u (local.get $i) (i32.const {turns})))
		      (memory.copy (i32.const 0) (i32.const 33554432) (i32.const {len}))
		      (local.set $i (i32.add (local.get $i) (i32.const 1)))
		      (br $l))))"#
	))
}

#[test]
fn bulk_memory_operators_pay_by_the_byte() {
	let ex = executor();
	let limits = Limits { memory: 64 << 20, ..LIMITS };
	let work = |module: &[u8]| run_ok_with(&ex, module, limits, &[]).work;
	// One unit per 64 bytes: a 16 MiB copy costs 262144 units more than an empty one.
	assert_eq!(work(&copier(16 << 20, 1)) - work(&copier(0, 1)), (16 << 20) / 64);
	assert_eq!(work(&copier(16 << 20, 3)) - work(&copier(0, 3)), 3 * (16 << 20) / 64);
	// A loop of them runs out of work, deterministically, where it used to copy for minutes
	// on the same budget.
	let tight = Limits { work: 1_000_000, ..limits };
	let runs: Vec<_> = (0..2)
		.map(|_| ex.run(&job(&copier(16 << 20, u32::MAX), &[], tight), 0, &[]).unwrap())
		.collect();
	for run in &runs {
		assert_eq!(run.outcome, Outcome::WorkLimitExceeded, "{:?}", run.detail);
		assert_eq!(run.work, tight.work);
	}
}

#[test]
fn charged_bulk_operators_keep_their_meaning() {
	// memory.init, an overlapping copy each way, a fill; table.init, table.copy, table.fill;
	// then the memory and what the table's functions return are the output.
	let module = wat(r#"(module
	  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	  (memory (export "memory") 1)
	  (data $digits "0123456789")
	  (type $letter (func (result i32)))
	  (func $a (result i32) (i32.const 97))
	  (func $b (result i32) (i32.const 98))
	  (func $c (result i32) (i32.const 99))
	  (table $t 6 funcref)
	  (elem $abc func $a $b $c)
	  (func (export "_start") (local $i i32)
	    (memory.init $digits (i32.const 100) (i32.const 0) (i32.const 10))
	    (memory.init $digits (i32.const 120) (i32.const 0) (i32.const 10))
	    ;; Forward overlap: 100.. = 0101234567; backward overlap: 120.. = 2345678989.
	    (memory.copy (i32.const 102) (i32.const 100) (i32.const 8))
	    (memory.copy (i32.const 120) (i32.const 122) (i32.const 8))
	    (memory.fill (i32.const 110) (i32.const 120) (i32.const 3))
	    (i32.store8 (i32.const 113) (i32.const 32))
	    (i32.store8 (i32.const 119) (i32.const 32))
	    (memory.fill (i32.const 114) (i32.const 46) (i32.const 5))
	    ;; Table: [a b c] at 0, copied to 2 (overlapping, so c must reach slot 4 before slot 2
	    ;; is overwritten), [a b c] again at 0, slot 5 filled with $a: a b c b c a.
	    (table.init $t $abc (i32.const 0) (i32.const 0) (i32.const 3))
	    (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 3))
	    (table.init $t $abc (i32.const 0) (i32.const 0) (i32.const 3))
	    (table.fill $t (i32.const 5) (ref.func $a) (i32.const 1))
	    (loop $l
	      (i32.store8 (i32.add (i32.const 130) (local.get $i))
	        (call_indirect (type $letter) (local.get $i)))
	      (local.set $i (i32.add (local.get $i) (i32.const 1)))
	      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
	    (i32.store (i32.const 0) (i32.const 100))
	    (i32.store (i32.const 4) (i32.const 36))
	    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
	let output = run_ok(&executor(), &module, &[]).output;
	assert_eq!(String::from_utf8_lossy(&output), "0101234567xxx ..... 2345678989abcbca");
}

#[test]
fn a_bulk_operator_out_of_bounds_still_traps() {
	let ex = executor();
	let small = Limits { work: 1_000_000, memory: 1 << 20, output: 1 << 10 };
	for body in [
		"(memory.copy (i32.const 65000) (i32.const 0) (i32.const 1000))",
		"(memory.fill (i32.const 0) (i32.const 0) (i32.const 65537))",
		"(memory.init $d (i32.const 0) (i32.const 2) (i32.const 2))",
		"(table.fill (i32.const 1) (ref.null func) (i32.const 4))",
	] {
		let module = wat(&format!(
			r#"(module (memory (export "memory") 1) (data $d "abc") (table 4 funcref)
			  (func (export "_start") {body}))"#
		));
		let execution = ex.run(&job(&module, &[], small), 0, &[]).unwrap();
		assert_eq!(execution.outcome, Outcome::Trapped, "{body}");
		assert!(execution.detail.as_deref().unwrap_or("").contains("out of bounds"), "{body}");
	}
}

#[test]
fn a_loop_of_bulk_memory_copies_cannot_outrun_the_wall_clock_guard() {
	// Copies of 16 MiB, each charged 262144 units, on a budget of tens of thousands of them:
	// a minute of copying. The guard, which looks at the clock between yields of the work
	// counter, stops it as it stops any other task.
	let config = Config::default()
		.with_speed(Speed { typical: u64::MAX / 4, slowest: u64::MAX / 4 })
		.with_min_guard(Duration::from_millis(50));
	let ex = Executor::new(config).unwrap();
	let limits = Limits { work: 10_000_000_000, memory: 64 << 20, ..LIMITS };
	let started = std::time::Instant::now();
	match ex.run(&job(&copier(16 << 20, u32::MAX), &[], limits), 0, &[]) {
		Err(Error::WallClockTimeout(_)) => {},
		other => panic!("expected a wall-clock timeout, got {other:?}"),
	}
	assert!(started.elapsed() < Duration::from_secs(5), "stopped in {:?}", started.elapsed());
	run_ok(&ex, modules::PRIMES, &primes::input(0, 1000));
}

#[test]
fn random_get_is_seeded_by_the_task() {
	let module = wat(r#"(module
	  (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	  (memory (export "memory") 1)
	  (func (export "_start")
	    (drop (call $r (i32.const 16) (i32.const 64)))
	    (i32.store (i32.const 0) (i32.const 16))
	    (i32.store (i32.const 4) (i32.const 64))
	    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
	let ex = executor();
	let out = |index| ex.run(&job(&module, &[], LIMITS), index, &[]).unwrap().output;
	assert_eq!(out(0).len(), 64);
	assert_eq!(out(0), out(0));
	assert_ne!(out(0), out(1));
	assert_ne!(out(0)[..32], out(0)[32..]);
}

#[test]
fn clocks_are_fixed_and_there_is_no_filesystem() {
	let module = wat(r#"(module
	  (import "wasi_snapshot_preview1" "clock_time_get" (func $t (param i32 i64 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $p (param i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "path_open" (func $o (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
	  (memory (export "memory") 1)
	  (func (export "_start")
	    (drop (call $t (i32.const 0) (i64.const 1) (i32.const 16)))
	    (drop (call $t (i32.const 1) (i64.const 1) (i32.const 24)))
	    (i32.store (i32.const 32) (call $p (i32.const 3) (i32.const 64)))
	    (i32.store (i32.const 36) (call $o (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0)
	      (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 64)))
	    (i32.store (i32.const 0) (i32.const 16))
	    (i32.store (i32.const 4) (i32.const 24))
	    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#);
	let out = run_ok(&executor(), &module, &[]).output;
	assert_eq!(u64::from_le_bytes(out[0..8].try_into().unwrap()), wasi::FIXED_REALTIME_NS);
	assert_eq!(u64::from_le_bytes(out[8..16].try_into().unwrap()), 0);
	assert_eq!(u32::from_le_bytes(out[16..20].try_into().unwrap()), 8, "no preopens: EBADF");
	assert_eq!(u32::from_le_bytes(out[20..24].try_into().unwrap()), 76, "no paths: ENOTCAPABLE");
}

#[test]
fn module_bytes_must_match_the_id() {
	let ex = executor();
	let bad =
		Job { module_id: ContentId::of(b"another module"), ..job(modules::PRIMES, &[], LIMITS) };
	assert!(matches!(ex.run(&bad, 0, &[]), Err(Error::ModuleIdMismatch(_))));
}

#[test]
fn compiled_code_is_cached_on_disk_across_executors() {
	let dir = tempfile::tempdir().unwrap();
	let files = || walk(dir.path());
	let first = Executor::new(Config::default().with_cache_dir(dir.path())).unwrap();
	run_ok(&first, modules::PRIMES, &primes::input(0, 100));
	assert!(files() > 0, "compiled code was written to the cache directory");
	drop(first);
	let second = Executor::new(Config::default().with_cache_dir(dir.path())).unwrap();
	let out = run_ok(&second, modules::PRIMES, &primes::input(0, 100)).output;
	assert_eq!(primes::decode(&out).unwrap().0, 25);
}

#[test]
fn a_relative_cache_directory_is_taken_from_the_working_directory() {
	// A worker's `--dir` may be relative (its default, `.ccgsc/worker`, is). A temporary
	// directory, named from the working directory: up to the root, then down (not one made
	// inside the working directory, where wasmtime's cache worker may write after the test).
	let dir = tempfile::tempdir().unwrap();
	let cwd = std::env::current_dir().unwrap();
	let relative = std::path::Path::new(&"../".repeat(cwd.components().count() - 1))
		.join(dir.path().strip_prefix("/").unwrap());
	assert!(relative.is_relative());
	let executor = Executor::new(Config::default().with_cache_dir(relative)).unwrap();
	run_ok(&executor, modules::PRIMES, &primes::input(0, 100));
	assert!(walk(dir.path()) > 0, "compiled code was written there");
}

#[test]
fn compiled_code_on_disk_stays_within_its_limit() {
	let task_modules = [modules::PRIMES, modules::MANDELBROT, modules::MATMUL, modules::PWHASH];
	// How much code each module leaves on disk, with no limit in reach.
	let sizes: Vec<u64> = task_modules
		.iter()
		.map(|module| {
			let dir = tempfile::tempdir().unwrap();
			let ex = Executor::new(Config::default().with_cache_dir(dir.path())).unwrap();
			ex.check_module(module, Determinism::Platform).unwrap();
			code_bytes(dir.path())
		})
		.collect();
	// Room for the largest with what a check leaves (70 %), not for all four.
	let limit = sizes.iter().max().unwrap() * 3 / 2;
	assert!(sizes.iter().sum::<u64>() > limit, "{sizes:?} fit under {limit}");

	let dir = tempfile::tempdir().unwrap();
	let ex = Executor::new(
		Config::default().with_cache_dir(dir.path()).with_cache_limit(limit, Duration::ZERO),
	)
	.unwrap();
	let mut most = 0;
	for module in task_modules {
		ex.check_module(module, Determinism::Platform).unwrap();
		most = most.max(code_bytes(dir.path()));
		// Distinct modification times, so "least recently used" is well defined.
		std::thread::sleep(Duration::from_millis(20));
	}
	assert!(most <= limit, "{most} bytes of compiled code were kept, over the limit {limit}");
	let left = cache_files(dir.path());
	assert_eq!(left.len(), 1, "only the most recent fits in 70 % of the limit: {left:?}");
	assert_eq!(code_bytes(dir.path()), sizes[3], "and it is the last compiled");
}

/// The files of compiled code under `dir`: wasmtime names each module's file by its hash
/// alone, and everything else it writes there (usage statistics, locks, files being written)
/// with a dot.
fn cache_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
	let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
	let mut files = Vec::new();
	for path in entries.flatten().map(|e| e.path()) {
		if path.is_dir() {
			files.extend(cache_files(&path));
		} else if !path.file_name().is_some_and(|n| n.to_string_lossy().contains('.')) {
			files.push(path);
		}
	}
	files
}

/// Bytes of compiled code under `dir`.
fn code_bytes(dir: &std::path::Path) -> u64 {
	cache_files(dir).iter().map(|f| f.metadata().map_or(0, |m| m.len())).sum()
}

fn walk(dir: &std::path::Path) -> usize {
	std::fs::read_dir(dir)
		.map(|entries| {
			entries.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum()
		})
		.unwrap_or(0)
}

#[test]
fn probe_reports_a_typical_speed_and_a_far_slower_one_for_loads_that_miss() {
	let speed = executor().probe(50_000_000).unwrap();
	assert!(speed.typical > 1_000_000, "{speed:?} work units per second");
	assert!(speed.slowest > 0 && speed.slowest < speed.typical / 4, "{speed:?}");
}

#[test]
fn a_task_whose_loads_all_miss_the_caches_runs_to_its_end_under_the_guard() {
	// Dependent loads through 256 MiB, four times the probe's chase, for about three seconds at
	// the probed chase speed: many times longer than the work count implies at the typical
	// speed (the score), and still within the guard of an executor set up with the probe.
	let speed = executor().probe(50_000_000).unwrap();
	let ex = Executor::new(Config::default().with_speed(speed)).unwrap();
	let bytes = 256 << 20;
	let module = wasi::chase_module(bytes);
	let work = wasi::chase_fill_work(bytes) + 3 * speed.slowest;
	let limits = Limits { work, memory: bytes, output: 0 };
	let execution = ex.run(&job(&module, &[], limits), 0, &[]).expect("not stopped by the guard");
	assert_eq!(execution.outcome, Outcome::WorkLimitExceeded);
	assert_eq!(execution.work, work);
	let at_typical = Duration::from_secs_f64(work as f64 / speed.typical as f64);
	assert!(
		execution.elapsed > at_typical * 16 + Duration::from_secs(2),
		"{:?} for {work} units; {at_typical:?} at the typical speed",
		execution.elapsed
	);
	run_ok(&ex, modules::PRIMES, &primes::input(0, 1000));
}
