//! The four built-in workloads: a module, and inputs made from a few parameters. The portal
//! makes them for `POST /api/workloads/{name}`, and `ccgsc example` writes them to a folder.
//!
//! | name | parameters (defaults) | tasks |
//! | --- | --- | --- |
//! | `primes` | `limit` (10 000 000), `tasks` (20), `list` (false) | the range `[0, limit)` cut into `tasks` equal ranges; with `list` false the tasks only count (`--count`) |
//! | `mandelbrot` | `width` (1024), `height` (768), `tiles_x` (8), `tiles_y` (8), `max_iter` (500), `cx` (-0.6), `cy` (0), `span` (3.2) | one tile each, row-major; sides must divide evenly |
//! | `matmul` | `n` (512), `tiles` (8), `seed` (1) | `C = A·B` for `n × n` matrices filled from `seed`, one band of `n / tiles` rows of `A` (with all of `B`) per task |
//! | `pwhash` | `digits` (5), `iterations` (1000), `tasks` (10), `secret` (31337) | the key space `[0, 10^digits)` cut into `tasks` ranges, searching for the key whose PBKDF2 is the target derived from `secret` |

use ccgsc_tasks::{mandelbrot::Tile, matmul, primes, pwhash};
use serde::{Deserialize, Serialize};

/// A workload made from parameters: the module, the inputs, the arguments and a work limit
/// per task that covers the largest task with room to spare.
#[derive(Clone, Debug)]
pub struct Made {
	/// The module's bytes.
	pub module: &'static [u8],
	/// One input per task.
	pub inputs: Vec<Vec<u8>>,
	/// Arguments every task gets.
	pub args: Vec<String>,
	/// A suggested work limit per task.
	pub work: u64,
}

/// Parameters of `primes`.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Primes {
	/// Count primes below this.
	pub limit: u64,
	/// Tasks.
	pub tasks: u32,
	/// List the primes too (not only count them).
	pub list: bool,
}

impl Default for Primes {
	fn default() -> Self {
		Self { limit: 10_000_000, tasks: 20, list: false }
	}
}

/// Parameters of `mandelbrot`.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Mandelbrot {
	/// Image width in pixels.
	pub width: u32,
	/// Image height in pixels.
	pub height: u32,
	/// Tiles across.
	pub tiles_x: u32,
	/// Tiles down.
	pub tiles_y: u32,
	/// Iterations before a point counts as inside.
	pub max_iter: u32,
	/// Real part of the centre.
	pub cx: f64,
	/// Imaginary part of the centre.
	pub cy: f64,
	/// Width of the region in the complex plane.
	pub span: f64,
}

impl Default for Mandelbrot {
	fn default() -> Self {
		Self {
			width: 1024,
			height: 768,
			tiles_x: 8,
			tiles_y: 8,
			max_iter: 500,
			cx: -0.6,
			cy: 0.0,
			span: 3.2,
		}
	}
}

/// Parameters of `matmul`.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Matmul {
	/// Side of the square matrices.
	pub n: u32,
	/// Bands of rows (tasks).
	pub tiles: u32,
	/// Seed of the matrices' values.
	pub seed: u64,
}

impl Default for Matmul {
	fn default() -> Self {
		Self { n: 512, tiles: 8, seed: 1 }
	}
}

/// Parameters of `pwhash`.
#[derive(Deserialize, Serialize, Debug, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct Pwhash {
	/// Digits of the passwords.
	pub digits: u32,
	/// PBKDF2 iterations.
	pub iterations: u32,
	/// Tasks.
	pub tasks: u32,
	/// The key to find.
	pub secret: u64,
}

impl Default for Pwhash {
	fn default() -> Self {
		Self { digits: 5, iterations: 1000, tasks: 10, secret: 31337 }
	}
}

/// Work units per unit of each workload's inner loop, with room to spare (the sandbox counts
/// about one unit per WebAssembly instruction).
const MARGIN: u64 = 4;

/// The most tasks a built-in workload makes.
pub const MAX_TASKS: u32 = 4096;

/// Each workload's name, what it does, and its parameters with their defaults (a JSON object).
pub fn catalogue() -> [(&'static str, &'static str, serde_json::Value); 4] {
	fn defaults<P: Serialize + Default>() -> serde_json::Value {
		serde_json::to_value(P::default()).expect("numbers and booleans serialize")
	}
	[
		("primes", "count (or list) the primes below a limit", defaults::<Primes>()),
		("mandelbrot", "render the Mandelbrot set, one tile per task", defaults::<Mandelbrot>()),
		("matmul", "multiply two n × n matrices, one band of rows per task", defaults::<Matmul>()),
		(
			"pwhash",
			"search a PIN space for the one whose PBKDF2-SHA256 matches",
			defaults::<Pwhash>(),
		),
	]
}

/// The parameters of workload `name` in the order they are best read (what sizes the job
/// first; the order of the table above), each with what it sets; none for an unknown name.
/// They are the keys of its defaults in [`catalogue`], a JSON object that lists them
/// alphabetically. The words are for a poster; the parameter structs' field docs say the same
/// for a reader of the code.
pub fn params(name: &str) -> &'static [(&'static str, &'static str)] {
	match name {
		"primes" => &[
			("limit", "count the primes below this"),
			("tasks", "tasks: [0, limit) cut into this many equal ranges"),
			("list", "list the primes too, not only count them"),
		],
		"mandelbrot" => &[
			("width", "image width in pixels"),
			("height", "image height in pixels"),
			("tiles_x", "tiles across (one task each; must divide the width)"),
			("tiles_y", "tiles down (must divide the height)"),
			("max_iter", "iterations before a point counts as inside the set"),
			("cx", "real part of the image's centre"),
			("cy", "imaginary part of the image's centre"),
			("span", "width of the region shown, in the complex plane"),
		],
		"matmul" => &[
			("n", "side of the square matrices A and B"),
			("tiles", "tasks: bands of n / tiles rows of A each (must divide n)"),
			("seed", "seed of the matrices' values"),
		],
		"pwhash" => &[
			("digits", "digits of the PINs searched"),
			("iterations", "PBKDF2 iterations per PIN"),
			("tasks", "tasks: the PIN space cut into this many ranges"),
			("secret", "the PIN to find: the search looks for its PBKDF2-SHA256"),
		],
		_ => &[],
	}
}

/// Makes the workload `name` from its JSON parameters (`{}` for the defaults).
///
/// # Errors
/// A message naming the unknown workload or the parameter that is out of range.
pub fn make(name: &str, params: serde_json::Value) -> Result<Made, String> {
	let bad = |e: serde_json::Error| format!("bad parameters for {name}: {e}");
	match name {
		"primes" => primes(serde_json::from_value(params).map_err(bad)?),
		"mandelbrot" => mandelbrot(serde_json::from_value(params).map_err(bad)?),
		"matmul" => matmul(serde_json::from_value(params).map_err(bad)?),
		"pwhash" => pwhash(serde_json::from_value(params).map_err(bad)?),
		other => {
			let names: Vec<&str> = crate::ALL.iter().map(|(name, _)| *name).collect();
			Err(format!("no built-in workload {other:?}: {}", names.join(", ")))
		},
	}
}

fn tasks(tasks: u32) -> Result<u32, String> {
	if tasks == 0 || tasks > MAX_TASKS {
		return Err(format!("tasks must be 1..={MAX_TASKS}"));
	}
	Ok(tasks)
}

fn primes(p: Primes) -> Result<Made, String> {
	let n = tasks(p.tasks)?;
	if p.limit == 0 || p.limit > 1 << 36 {
		return Err("limit must be 1..=2^36".into());
	}
	let per = p.limit.div_ceil(u64::from(n));
	let inputs = (0..u64::from(n))
		.map(|i| primes::input((i * per).min(p.limit), ((i + 1) * per).min(p.limit)))
		.collect();
	Ok(Made {
		module: crate::PRIMES,
		inputs,
		args: if p.list { vec![] } else { vec!["--count".into()] },
		work: (per * 200 * MARGIN).max(100_000_000),
	})
}

fn mandelbrot(m: Mandelbrot) -> Result<Made, String> {
	if m.tiles_x == 0 || m.tiles_y == 0 {
		return Err("tiles_x and tiles_y must be positive".into());
	}
	tasks(m.tiles_x.saturating_mul(m.tiles_y))?;
	if m.width == 0
		|| m.height == 0
		|| !m.width.is_multiple_of(m.tiles_x)
		|| !m.height.is_multiple_of(m.tiles_y)
	{
		return Err("width and height must be positive multiples of tiles_x and tiles_y".into());
	}
	if m.width / m.tiles_x > ccgsc_tasks::mandelbrot::MAX_SIDE
		|| m.height / m.tiles_y > ccgsc_tasks::mandelbrot::MAX_SIDE
		|| u64::from(m.width) * u64::from(m.height) > ccgsc_tasks::mandelbrot::MAX_IMAGE_PIXELS
	{
		return Err("tiles are at most 4096 pixels a side, images at most 64 Mpixels".into());
	}
	if m.max_iter == 0 || m.max_iter > 1_000_000 {
		return Err("max_iter must be 1..=1000000".into());
	}
	if !(m.span.is_finite() && m.span > 0.0 && m.cx.is_finite() && m.cy.is_finite()) {
		return Err("cx and cy must be finite and span positive".into());
	}
	let tiles =
		Tile::grid((m.cx, m.cy, m.span), (m.width, m.height), (m.tiles_x, m.tiles_y), m.max_iter);
	let pixels = u64::from(m.width / m.tiles_x) * u64::from(m.height / m.tiles_y);
	Ok(Made {
		module: crate::MANDELBROT,
		inputs: tiles.iter().map(Tile::input).collect(),
		args: vec![],
		work: (pixels * u64::from(m.max_iter) * 100 * MARGIN).max(100_000_000),
	})
}

/// A deterministic filler for matrices (splitmix64 into [-1, 1)).
fn values(seed: u64, count: usize) -> Vec<f32> {
	let mut state = seed;
	(0..count)
		.map(|_| {
			state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
			let mut z = state;
			z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
			z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
			z ^= z >> 31;
			((z >> 40) as f32 / (1u64 << 23) as f32) - 1.0
		})
		.collect()
}

fn matmul(m: Matmul) -> Result<Made, String> {
	let n = tasks(m.tiles)?;
	if m.n == 0 || m.n > matmul::MAX_SIDE || !m.n.is_multiple_of(n) {
		return Err("n must be 1..=2048 and a multiple of tiles".into());
	}
	let side = m.n as usize;
	let a = values(m.seed, side * side);
	let b = values(m.seed ^ 0x5555_5555, side * side);
	let band = side / n as usize;
	let inputs = (0..n as usize)
		.map(|t| {
			let rows = &a[t * band * side..(t + 1) * band * side];
			matmul::input(band as u32, m.n, m.n, rows, &b)
		})
		.collect();
	Ok(Made {
		module: crate::MATMUL,
		inputs,
		args: vec![],
		work: ((band * side * side) as u64 * 20 * MARGIN).max(100_000_000),
	})
}

fn pwhash(p: Pwhash) -> Result<Made, String> {
	let n = tasks(p.tasks)?;
	if p.digits == 0 || p.digits > 9 {
		return Err("digits must be 1..=9".into());
	}
	if p.iterations == 0 || p.iterations > pwhash::MAX_ITERATIONS {
		return Err("iterations must be 1..=1000000".into());
	}
	let space = 10u64.pow(p.digits);
	if p.secret >= space {
		return Err(format!("secret must be below 10^{}", p.digits));
	}
	let salt = *b"ccgsc-portal-slt";
	let mut target = [0u8; 32];
	pwhash::pbkdf2_sha256(
		pwhash::password(p.secret, p.digits).as_bytes(),
		&salt,
		p.iterations,
		&mut target,
	);
	let per = space.div_ceil(u64::from(n));
	let inputs = (0..u64::from(n))
		.map(|i| {
			pwhash::Search {
				salt,
				iterations: p.iterations,
				digits: p.digits,
				start: (i * per).min(space),
				end: ((i + 1) * per).min(space),
				target,
			}
			.input()
		})
		.collect();
	Ok(Made {
		module: crate::PWHASH,
		inputs,
		args: vec![],
		work: (per * u64::from(p.iterations) * 2 * 3_000 * MARGIN).max(100_000_000),
	})
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn each_workloads_parameters_are_listed_once_each_with_what_they_set() {
		for (name, _, defaults) in catalogue() {
			let mut listed: Vec<&str> = params(name).iter().map(|(param, _)| *param).collect();
			listed.sort_unstable();
			let keys: Vec<&str> =
				defaults.as_object().unwrap().keys().map(String::as_str).collect();
			assert_eq!(listed, keys, "{name}");
			assert!(params(name).iter().all(|(_, about)| !about.is_empty()), "{name}");
		}
		assert!(params("sorting").is_empty());
	}

	#[test]
	fn defaults_make_the_documented_task_counts() {
		for (name, count) in [("primes", 20), ("mandelbrot", 64), ("matmul", 8), ("pwhash", 10)] {
			let made = make(name, serde_json::json!({})).unwrap();
			assert_eq!(made.inputs.len(), count, "{name}");
		}
	}

	#[test]
	fn the_primes_ranges_cover_the_limit_exactly() {
		let made = make("primes", serde_json::json!({"limit": 1000, "tasks": 7})).unwrap();
		let total: u64 = made
			.inputs
			.iter()
			.map(|i| primes::decode(&primes::run(i, &made.args).unwrap()).unwrap().0)
			.sum();
		assert_eq!(total, 168, "pi(1000)");
	}

	#[test]
	fn the_password_search_finds_the_secret_in_exactly_one_task() {
		let made = make(
			"pwhash",
			serde_json::json!({"digits": 3, "iterations": 2, "tasks": 4, "secret": 777}),
		)
		.unwrap();
		let found: Vec<Vec<u8>> = made
			.inputs
			.iter()
			.map(|i| pwhash::run(i, &[]).unwrap())
			.filter(|o| o[0] == 1)
			.collect();
		assert_eq!(found, vec![[&[1u8][..], &777u64.to_le_bytes()].concat()]);
	}

	#[test]
	fn the_catalogue_lists_every_workload_with_defaults_it_makes() {
		let names: Vec<_> = catalogue().iter().map(|(name, ..)| *name).collect();
		let modules: Vec<_> = crate::ALL.iter().map(|(name, _)| *name).collect();
		assert_eq!(names, modules);
		for (name, _, defaults) in catalogue() {
			let made = make(name, defaults.clone()).unwrap();
			let module = crate::ALL.iter().find(|(n, _)| *n == name).unwrap().1;
			assert_eq!(made.module, module, "{name}");
			assert_eq!(
				made.inputs,
				make(name, serde_json::json!({})).unwrap().inputs,
				"{name}: the listed defaults are the defaults"
			);
		}
	}

	#[test]
	fn bad_parameters_say_which() {
		for (name, params, says) in [
			("primes", serde_json::json!({"tasks": 0}), "tasks"),
			("mandelbrot", serde_json::json!({"width": 1001}), "multiples"),
			("matmul", serde_json::json!({"n": 100, "tiles": 3}), "multiple of tiles"),
			("pwhash", serde_json::json!({"secret": 100000}), "secret"),
			("primes", serde_json::json!({"limt": 5}), "unknown field"),
			("sorting", serde_json::json!({}), "no built-in workload"),
		] {
			let Err(err) = make(name, params) else { panic!("{name}: accepted bad parameters") };
			assert!(err.contains(says), "{name}: {err}");
		}
	}
}
