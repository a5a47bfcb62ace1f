//! # The seed workloads
//!
//! Four tasks from the user's notes, each a pure function from input bytes (and the job's
//! arguments) to output bytes. The same functions are the body of the WASI commands in
//! `src/bin/` (built to `wasm32-wasip1` by `ccgsc-task-modules`) and the native twins the
//! benchmarks compare them with. Every number is little-endian.
//!
//! | task | input | output |
//! | --- | --- | --- |
//! | [`primes`] | `lo: u64, hi: u64` | `count: u64`, then the primes in `[lo, hi)` as `u64` (only the count with argument `--count`) |
//! | [`mandelbrot`] | `x0: f64, y0: f64, step: f64, width: u32, height: u32, max_iter: u32` | one byte per pixel, row by row: 0 inside the set, else `1 + 254 × iterations / max_iter` |
//! | [`matmul`] | `rows: u32, inner: u32, cols: u32`, then `A` (`rows × inner` f32) and `B` (`inner × cols` f32), row-major | `C = A·B` (`rows × cols` f32), row-major |
//! | [`pwhash`] | `salt: [u8; 16], iterations: u32, digits: u32, start: u64, end: u64, target: [u8; 32]` | `1` and the key `k: u64` whose zero-padded decimal password of `digits` digits has `PBKDF2-HMAC-SHA256(password, salt, iterations, 32) == target`, or `0` |
//!
//! A malformed input makes the task exit with code 2 and a message on stderr.
//!
//! The hot loops are written for the sandbox as much as for the native build: wasmtime checks
//! the work meter at every loop header, and Cranelift keeps values that live across that check
//! in memory, so each turn of a hot loop does several steps of work (see `UNROLL`, `K_STEPS`,
//! `cross_off`). Every change of that kind keeps the order of floating-point operations, so the
//! outputs stay bit for bit what they were.
#![deny(missing_docs)]

use std::io::{Read, Write};

/// A task's input could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput(pub &'static str);

impl std::fmt::Display for BadInput {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		write!(f, "bad input: {}", self.0)
	}
}

impl std::error::Error for BadInput {}

/// A task: input bytes and the job's arguments to output bytes.
pub type Task = fn(&[u8], &[String]) -> Result<Vec<u8>, BadInput>;

/// Runs `task` over stdin and the process arguments, writing its output to stdout; exits
/// with code 2 on bad input.
pub fn main_stdio(task: Task) {
	let mut input = Vec::new();
	if std::io::stdin().read_to_end(&mut input).is_err() {
		eprintln!("cannot read stdin");
		std::process::exit(2);
	}
	let args: Vec<String> = std::env::args().skip(1).collect();
	match task(&input, &args) {
		Ok(output) => {
			let mut out = std::io::stdout().lock();
			if out.write_all(&output).and_then(|()| out.flush()).is_err() {
				std::process::exit(3);
			}
		},
		Err(e) => {
			eprintln!("{e}");
			std::process::exit(2);
		},
	}
}

/// Reads little-endian fields from an input.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
	fn take(&mut self, n: usize) -> Result<&'a [u8], BadInput> {
		if self.0.len() < n {
			return Err(BadInput("input too short"));
		}
		let (head, tail) = self.0.split_at(n);
		self.0 = tail;
		Ok(head)
	}
	fn array<const N: usize>(&mut self) -> Result<[u8; N], BadInput> {
		Ok(self.take(N)?.try_into().expect("take returned N bytes; qed"))
	}
	fn u32(&mut self) -> Result<u32, BadInput> {
		Ok(u32::from_le_bytes(self.array()?))
	}
	fn u64(&mut self) -> Result<u64, BadInput> {
		Ok(u64::from_le_bytes(self.array()?))
	}
	fn f64(&mut self) -> Result<f64, BadInput> {
		Ok(f64::from_le_bytes(self.array()?))
	}
	fn end(&self) -> Result<(), BadInput> {
		if self.0.is_empty() {
			Ok(())
		} else {
			Err(BadInput("trailing bytes after the input"))
		}
	}
}

/// Counting and listing primes with a segmented sieve of Eratosthenes.
pub mod primes {
	use super::*;

	/// Sieve segment size in numbers (one byte each).
	const SEGMENT: u64 = 32 * 1024;

	/// Encodes the input for the range `[lo, hi)`.
	pub fn input(lo: u64, hi: u64) -> Vec<u8> {
		[lo.to_le_bytes(), hi.to_le_bytes()].concat()
	}

	/// The task: see the crate docs.
	///
	/// # Errors
	/// [`BadInput`] if the input is not 16 bytes or `lo > hi`, or the range is too large.
	pub fn run(input: &[u8], args: &[String]) -> Result<Vec<u8>, BadInput> {
		let mut r = Reader(input);
		let (lo, hi) = (r.u64()?, r.u64()?);
		r.end()?;
		if lo > hi {
			return Err(BadInput("lo > hi"));
		}
		if hi > 1 << 40 {
			return Err(BadInput("hi above 2^40"));
		}
		let count_only = args.iter().any(|a| a == "--count");
		let mut out = vec![0u8; 8];
		let mut count = 0u64;
		sieve(lo, hi, |p| {
			count += 1;
			if !count_only {
				out.extend_from_slice(&p.to_le_bytes());
			}
		});
		out[..8].copy_from_slice(&count.to_le_bytes());
		Ok(out)
	}

	/// Decodes an output into (count, primes listed).
	///
	/// # Errors
	/// [`BadInput`] if the output is malformed.
	pub fn decode(output: &[u8]) -> Result<(u64, Vec<u64>), BadInput> {
		let mut r = Reader(output);
		let count = r.u64()?;
		let list =
			r.0.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes; qed")));
		Ok((count, list.collect()))
	}

	/// Calls `found` with each prime in `[lo, hi)`, in order.
	pub fn sieve(lo: u64, hi: u64, mut found: impl FnMut(u64)) {
		let lo = lo.max(2);
		if lo >= hi {
			return;
		}
		let root = isqrt(hi - 1);
		let base = small_primes(root);
		// One byte per number, 1 while it may be prime. Bytes rather than `bool`s so that the
		// scan can skip eight composites at a time.
		let mut segment = vec![1u8; SEGMENT as usize];
		let mut start = lo;
		while start < hi {
			let end = (start + SEGMENT).min(hi);
			let len = (end - start) as usize;
			let segment = &mut segment[..len];
			segment.fill(1);
			for &p in &base {
				if p * p >= end {
					break;
				}
				let first = (start.div_ceil(p) * p).max(p * p);
				if first < end {
					cross_off(segment, (first - start) as usize, p as usize);
				}
			}
			let mut words = segment.chunks_exact(8);
			let mut at = start;
			for word in words.by_ref() {
				// One bit per byte, the lowest for the first number; one turn per prime.
				let mut bits = u64::from_le_bytes(word.try_into().expect("8 bytes; qed"));
				while bits != 0 {
					found(at + u64::from(bits.trailing_zeros() / 8));
					bits &= bits - 1;
				}
				at += 8;
			}
			found_in(words.remainder(), at, &mut found);
			start = end;
		}
	}

	/// Clears every `step`-th byte of `segment` from `first` on, four to a turn of the loop:
	/// sandboxes meter work and check it at every loop header, so a turn that does four
	/// times the work pays for the check once.
	fn cross_off(segment: &mut [u8], first: usize, step: usize) {
		let mut m = first;
		while m + 3 * step < segment.len() {
			segment[m] = 0;
			segment[m + step] = 0;
			segment[m + 2 * step] = 0;
			segment[m + 3 * step] = 0;
			m += 4 * step;
		}
		while m < segment.len() {
			segment[m] = 0;
			m += step;
		}
	}

	/// Reports the numbers `at + i` whose byte `flags[i]` is still set.
	fn found_in(flags: &[u8], at: u64, found: &mut impl FnMut(u64)) {
		for (i, &flag) in flags.iter().enumerate() {
			if flag != 0 {
				found(at + i as u64);
			}
		}
	}

	fn isqrt(n: u64) -> u64 {
		let mut r = (n as f64).sqrt() as u64;
		while r * r > n {
			r -= 1;
		}
		while (r + 1) * (r + 1) <= n {
			r += 1;
		}
		r
	}

	fn small_primes(max: u64) -> Vec<u64> {
		let mut is = vec![true; max as usize + 1];
		let mut out = Vec::new();
		for i in 2..=max as usize {
			if is[i] {
				out.push(i as u64);
				let mut m = i * i;
				while m <= max as usize {
					is[m] = false;
					m += i;
				}
			}
		}
		out
	}
}

/// Mandelbrot tiles.
pub mod mandelbrot {
	use super::*;

	/// Largest tile side, in pixels.
	pub const MAX_SIDE: u32 = 4096;

	/// One tile: the complex plane from `(x0, y0)` (top left) in steps of `step` per pixel.
	#[derive(Clone, Copy, Debug, PartialEq)]
	pub struct Tile {
		/// Real part of the top-left pixel.
		pub x0: f64,
		/// Imaginary part of the top-left pixel.
		pub y0: f64,
		/// Distance between pixels.
		pub step: f64,
		/// Tile width in pixels.
		pub width: u32,
		/// Tile height in pixels.
		pub height: u32,
		/// Iterations before a point counts as inside the set.
		pub max_iter: u32,
	}

	impl Tile {
		/// Encodes the tile as a task input.
		pub fn input(&self) -> Vec<u8> {
			let mut v = Vec::with_capacity(36);
			v.extend_from_slice(&self.x0.to_le_bytes());
			v.extend_from_slice(&self.y0.to_le_bytes());
			v.extend_from_slice(&self.step.to_le_bytes());
			v.extend_from_slice(&self.width.to_le_bytes());
			v.extend_from_slice(&self.height.to_le_bytes());
			v.extend_from_slice(&self.max_iter.to_le_bytes());
			v
		}

		/// The tile a task input describes.
		///
		/// # Errors
		/// [`BadInput`] if the input is not 36 bytes, the tile is empty or has a side over
		/// [`MAX_SIDE`], or `max_iter` is 0.
		pub fn decode(input: &[u8]) -> Result<Tile, BadInput> {
			let mut r = Reader(input);
			let tile = Tile {
				x0: r.f64()?,
				y0: r.f64()?,
				step: r.f64()?,
				width: r.u32()?,
				height: r.u32()?,
				max_iter: r.u32()?,
			};
			r.end()?;
			if tile.width == 0
				|| tile.height == 0
				|| tile.width > MAX_SIDE
				|| tile.height > MAX_SIDE
			{
				return Err(BadInput("tile sides must be 1..=4096"));
			}
			if tile.max_iter == 0 {
				return Err(BadInput("max_iter must be positive"));
			}
			Ok(tile)
		}

		/// The tiles of an image `width × height` pixels over the region centred on
		/// `(cx, cy)` with `span` units across, cut into `tiles_x × tiles_y` tiles
		/// (row-major). Widths and heights must divide evenly.
		pub fn grid(
			(cx, cy, span): (f64, f64, f64),
			(width, height): (u32, u32),
			(tiles_x, tiles_y): (u32, u32),
			max_iter: u32,
		) -> Vec<Tile> {
			let step = span / width as f64;
			let (tw, th) = (width / tiles_x, height / tiles_y);
			let (left, top) = (cx - span / 2.0, cy + step * height as f64 / 2.0);
			(0..tiles_y)
				.flat_map(|ty| (0..tiles_x).map(move |tx| (tx, ty)))
				.map(|(tx, ty)| Tile {
					x0: left + (tx * tw) as f64 * step,
					y0: top - (ty * th) as f64 * step,
					step,
					width: tw,
					height: th,
					max_iter,
				})
				.collect()
		}
	}

	/// The task: see the crate docs.
	///
	/// # Errors
	/// [`BadInput`] as [`Tile::decode`] gives it.
	pub fn run(input: &[u8], _args: &[String]) -> Result<Vec<u8>, BadInput> {
		Ok(render(&Tile::decode(input)?))
	}

	/// Renders a tile.
	pub fn render(tile: &Tile) -> Vec<u8> {
		let mut out = Vec::with_capacity(tile.width as usize * tile.height as usize);
		for py in 0..tile.height {
			let ci = tile.y0 - py as f64 * tile.step;
			for px in 0..tile.width {
				let cr = tile.x0 + px as f64 * tile.step;
				let i = escape(cr, ci, tile.max_iter);
				out.push(if i == tile.max_iter {
					0
				} else {
					(1 + (i as u64 * 254 / tile.max_iter as u64)) as u8
				});
			}
		}
		out
	}

	/// Most pixels [`Layout::of`] lays out: 64 Mi, a 64 MiB image.
	pub const MAX_IMAGE_PIXELS: u64 = 64 << 20;

	/// Where the tiles of a job go in the image they make together.
	#[derive(Clone, Debug, PartialEq, Eq)]
	pub struct Layout {
		/// Image width in pixels.
		pub width: u32,
		/// Image height in pixels.
		pub height: u32,
		/// Each tile's place, in task order.
		pub tiles: Vec<Rect>,
	}

	/// A tile's place in the image, in pixels from its top left corner.
	#[derive(Clone, Copy, Debug, PartialEq, Eq)]
	pub struct Rect {
		/// Pixels from the image's left edge.
		pub x: u32,
		/// Pixels from the image's top edge.
		pub y: u32,
		/// Tile width.
		pub width: u32,
		/// Tile height.
		pub height: u32,
	}

	impl Layout {
		/// The layout of `tiles` (in task order) on one grid of pixels, or `None` if there are
		/// none, they do not share one step, or the image would have more than
		/// [`MAX_IMAGE_PIXELS`].
		pub fn of(tiles: &[Tile]) -> Option<Self> {
			let step = tiles.first()?.step;
			if step <= 0.0 || tiles.iter().any(|t| (t.step - step).abs() > step * 1e-9) {
				return None;
			}
			let left = tiles.iter().map(|t| t.x0).fold(f64::INFINITY, f64::min);
			let top = tiles.iter().map(|t| t.y0).fold(f64::NEG_INFINITY, f64::max);
			let rects: Vec<Rect> = tiles
				.iter()
				.map(|t| Rect {
					x: ((t.x0 - left) / step).round() as u32,
					y: ((top - t.y0) / step).round() as u32,
					width: t.width,
					height: t.height,
				})
				.collect();
			let width = rects.iter().map(|r| r.x + r.width).max()?;
			let height = rects.iter().map(|r| r.y + r.height).max()?;
			if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
				return None;
			}
			Some(Self { width, height, tiles: rects })
		}

		/// The whole image, one byte per pixel row by row as [`render`] writes a tile, from
		/// each tile's output in task order; `None` unless there is one output per tile, each
		/// of its tile's size. Pixels no tile covers are 0.
		pub fn image(&self, outputs: &[&[u8]]) -> Option<Vec<u8>> {
			let sized = |(rect, output): (&Rect, &&[u8])| {
				output.len() as u64 == u64::from(rect.width) * u64::from(rect.height)
			};
			if outputs.len() != self.tiles.len() || !self.tiles.iter().zip(outputs).all(sized) {
				return None;
			}
			let width = self.width as usize;
			let mut image = vec![0u8; width * self.height as usize];
			for (rect, output) in self.tiles.iter().zip(outputs) {
				for (row, pixels) in output.chunks_exact(rect.width as usize).enumerate() {
					let at = (rect.y as usize + row) * width + rect.x as usize;
					image[at..at + pixels.len()].copy_from_slice(pixels);
				}
			}
			Some(image)
		}
	}

	/// Iterations of the escape loop per turn of it. Sandboxes meter work and check it at
	/// every loop header, and Cranelift keeps values across that check in memory rather than
	/// registers, which lengthens the chain of dependent floating-point operations; four
	/// iterations a turn pay for it once per four.
	const UNROLL: u32 = 4;

	/// Iterations of `z ← z² + c` from `z = 0` until `|z|² > 4`, at most `max_iter`.
	fn escape(cr: f64, ci: f64, max_iter: u32) -> u32 {
		let (mut zr, mut zi, mut i) = (0.0f64, 0.0f64, 0u32);
		let step = |zr: &mut f64, zi: &mut f64| {
			let (zr2, zi2) = (*zr * *zr, *zi * *zi);
			if zr2 + zi2 > 4.0 {
				return false;
			}
			*zi = 2.0 * *zr * *zi + ci;
			*zr = zr2 - zi2 + cr;
			true
		};
		while max_iter - i >= UNROLL {
			for _ in 0..UNROLL {
				if !step(&mut zr, &mut zi) {
					return i;
				}
				i += 1;
			}
		}
		while i < max_iter {
			if !step(&mut zr, &mut zi) {
				return i;
			}
			i += 1;
		}
		i
	}
}

/// Matrix multiplication by tiles.
pub mod matmul {
	use super::*;

	/// Largest side of a tile.
	pub const MAX_SIDE: u32 = 2048;

	/// Encodes `A` (`rows × inner`) and `B` (`inner × cols`) as a task input.
	pub fn input(rows: u32, inner: u32, cols: u32, a: &[f32], b: &[f32]) -> Vec<u8> {
		let mut v = Vec::with_capacity(12 + 4 * (a.len() + b.len()));
		for n in [rows, inner, cols] {
			v.extend_from_slice(&n.to_le_bytes());
		}
		for x in a.iter().chain(b) {
			v.extend_from_slice(&x.to_le_bytes());
		}
		v
	}

	/// The sizes an input (or its first bytes) gives: `(rows, inner, cols)`, so `C` is
	/// `rows × cols`.
	///
	/// # Errors
	/// [`BadInput`] if there are fewer than 12 bytes or a size is out of range.
	pub fn shape(input: &[u8]) -> Result<(u32, u32, u32), BadInput> {
		let mut r = Reader(input);
		let (rows, inner, cols) = (r.u32()?, r.u32()?, r.u32()?);
		if [rows, inner, cols].iter().any(|&n| n == 0 || n > MAX_SIDE) {
			return Err(BadInput("sides must be 1..=2048"));
		}
		Ok((rows, inner, cols))
	}

	/// The task: see the crate docs.
	///
	/// # Errors
	/// [`BadInput`] if the sizes are out of range or disagree with the data.
	pub fn run(input: &[u8], _args: &[String]) -> Result<Vec<u8>, BadInput> {
		let (rows, inner, cols) = shape(input)?;
		let mut r = Reader(&input[12..]);
		let (rows, inner, cols) = (rows as usize, inner as usize, cols as usize);
		let floats = |bytes: &[u8]| -> Vec<f32> {
			bytes
				.chunks_exact(4)
				.map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes; qed")))
				.collect()
		};
		let a = floats(r.take(4 * rows * inner)?);
		let b = floats(r.take(4 * inner * cols)?);
		r.end()?;
		let c = multiply(rows, inner, cols, &a, &b);
		let mut out = Vec::with_capacity(4 * c.len());
		for x in &c {
			out.extend_from_slice(&x.to_le_bytes());
		}
		Ok(out)
	}

	/// Rows of `C` one step of the kernel keeps in registers.
	const BLOCK_ROWS: usize = 4;
	/// Columns of `C` one step of the kernel keeps in registers: with [`BLOCK_ROWS`], eight
	/// 128-bit accumulators, which leave room for two vectors of `B` and a broadcast of `A`
	/// among the 16 vector registers of x86-64 (and of Cranelift's lowering of Wasm SIMD).
	/// Cranelift does not unroll or block loops, so the blocking is written here, where every
	/// build sees it.
	const BLOCK_COLS: usize = 8;

	/// Steps of `k` in one turn of the kernel's loop. Sandboxes meter work and check it at
	/// every loop header, and Cranelift keeps values across that check in memory rather
	/// than registers; four steps a turn pay for the accumulators' trips to memory once per
	/// four steps.
	const K_STEPS: usize = 4;

	/// `C = A·B`, summing each element in order of `k` (so every build, vectorized or not,
	/// gives the same bits).
	///
	/// For each strip of 8 columns, the strip of `B` is first copied into one contiguous piece
	/// (`inner × 8`, small enough for the first-level cache); then a block of 4 × 8 elements
	/// of `C` stays in registers while `k` runs over `inner`, reading the packed strip and the
	/// block's rows of `A` in order, and `C` is written once. Rows and columns past the last
	/// whole block are summed one element at a time, in the same order.
	pub fn multiply(rows: usize, inner: usize, cols: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
		let mut c = vec![0f32; rows * cols];
		let (row_split, col_split) = (rows - rows % BLOCK_ROWS, cols - cols % BLOCK_COLS);
		let mut strip = vec![[0f32; BLOCK_COLS]; inner];
		for j in (0..col_split).step_by(BLOCK_COLS) {
			for (packed, b_row) in strip.iter_mut().zip(b.chunks_exact(cols)) {
				packed.copy_from_slice(&b_row[j..j + BLOCK_COLS]);
			}
			for i in (0..row_split).step_by(BLOCK_ROWS) {
				let a_rows: [&[f32]; BLOCK_ROWS] =
					std::array::from_fn(|r| &a[(i + r) * inner..(i + r + 1) * inner]);
				let mut acc = [[0f32; BLOCK_COLS]; BLOCK_ROWS];
				let mut a_pieces = a_rows.map(|a_r| a_r.chunks_exact(K_STEPS));
				let mut b_pieces = strip.chunks_exact(K_STEPS);
				for b_piece in b_pieces.by_ref() {
					let a_piece = std::array::from_fn(|r| {
						a_pieces[r].next().expect("as long as the strip; qed")
					});
					accumulate(&mut acc, &a_piece, b_piece);
				}
				let a_rest = a_pieces.each_ref().map(|piece| piece.remainder());
				accumulate(&mut acc, &a_rest, b_pieces.remainder());
				for (r, acc_r) in acc.iter().enumerate() {
					c[(i + r) * cols + j..][..BLOCK_COLS].copy_from_slice(acc_r);
				}
			}
		}
		for i in 0..rows {
			let first = if i < row_split { col_split } else { 0 };
			for j in first..cols {
				let mut sum = 0f32;
				for k in 0..inner {
					sum += a[i * inner + k] * b[k * cols + j];
				}
				c[i * cols + j] = sum;
			}
		}
		c
	}

	/// Adds `a[r][u] × b[u][l]` to `acc[r][l]` for each step `u` of `k`, in order.
	#[inline(always)]
	fn accumulate(
		acc: &mut [[f32; BLOCK_COLS]; BLOCK_ROWS],
		a: &[&[f32]; BLOCK_ROWS],
		b: &[[f32; BLOCK_COLS]],
	) {
		for (u, b_k) in b.iter().enumerate() {
			for (acc_r, a_r) in acc.iter_mut().zip(a) {
				let a_rk = a_r[u];
				for (acc_rl, b_kl) in acc_r.iter_mut().zip(b_k) {
					*acc_rl += a_rk * b_kl;
				}
			}
		}
	}
}

/// Password search with PBKDF2-HMAC-SHA256 over a range of numeric passwords.
pub mod pwhash {
	use super::*;

	/// Most iterations per password.
	pub const MAX_ITERATIONS: u32 = 1_000_000;

	/// A search: which keys to try, and what to look for.
	#[derive(Clone, Copy, Debug, PartialEq, Eq)]
	pub struct Search {
		/// The salt.
		pub salt: [u8; 16],
		/// PBKDF2 iterations.
		pub iterations: u32,
		/// Passwords are keys written in decimal, zero-padded to this many digits.
		pub digits: u32,
		/// First key tried.
		pub start: u64,
		/// One past the last key tried.
		pub end: u64,
		/// The derived key being looked for.
		pub target: [u8; 32],
	}

	impl Search {
		/// Encodes the search as a task input.
		pub fn input(&self) -> Vec<u8> {
			let mut v = Vec::with_capacity(72);
			v.extend_from_slice(&self.salt);
			v.extend_from_slice(&self.iterations.to_le_bytes());
			v.extend_from_slice(&self.digits.to_le_bytes());
			v.extend_from_slice(&self.start.to_le_bytes());
			v.extend_from_slice(&self.end.to_le_bytes());
			v.extend_from_slice(&self.target);
			v
		}
	}

	/// The password of `key`: its decimal digits, zero-padded to `digits`.
	pub fn password(key: u64, digits: u32) -> String {
		format!("{key:0width$}", width = digits as usize)
	}

	/// What an output of the task says: the key whose password it found, or `None` if the
	/// password is not in the task's range.
	///
	/// # Errors
	/// [`BadInput`] if the bytes are not an output of the task.
	pub fn found(output: &[u8]) -> Result<Option<u64>, BadInput> {
		match output {
			[0] => Ok(None),
			[1, key @ ..] => key
				.try_into()
				.map(|key| Some(u64::from_le_bytes(key)))
				.map_err(|_| BadInput("a key found is 8 bytes")),
			_ => Err(BadInput("an output is 0, or 1 and a key")),
		}
	}

	/// The task: see the crate docs.
	///
	/// # Errors
	/// [`BadInput`] if the input is not 72 bytes or its fields are out of range.
	pub fn run(input: &[u8], _args: &[String]) -> Result<Vec<u8>, BadInput> {
		let search = decode(input)?;
		Ok(match find(&search) {
			Some(key) => [&[1u8][..], &key.to_le_bytes()].concat(),
			None => vec![0],
		})
	}

	/// The search a task input describes.
	///
	/// # Errors
	/// [`BadInput`] if the input is not 72 bytes or its fields are out of range.
	pub fn decode(input: &[u8]) -> Result<Search, BadInput> {
		let mut r = Reader(input);
		let search = Search {
			salt: r.array()?,
			iterations: r.u32()?,
			digits: r.u32()?,
			start: r.u64()?,
			end: r.u64()?,
			target: r.array()?,
		};
		r.end()?;
		if search.iterations == 0 || search.iterations > MAX_ITERATIONS {
			return Err(BadInput("iterations must be 1..=1000000"));
		}
		if search.digits == 0 || search.digits > 19 || search.start > search.end {
			return Err(BadInput("digits must be 1..=19 and start <= end"));
		}
		Ok(search)
	}

	/// The first key in the range whose password derives the target.
	pub fn find(search: &Search) -> Option<u64> {
		(search.start..search.end).find(|&key| {
			let mut dk = [0u8; 32];
			pbkdf2_sha256(
				password(key, search.digits).as_bytes(),
				&search.salt,
				search.iterations,
				&mut dk,
			);
			dk == search.target
		})
	}

	/// PBKDF2 (RFC 8018) with HMAC-SHA256, filling `out`.
	pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
		let key = HmacKey::new(password);
		for (block, chunk) in out.chunks_mut(32).enumerate() {
			let mut u = key.mac(&[salt, &(block as u32 + 1).to_be_bytes()]);
			let mut t = u;
			for _ in 1..iterations {
				u = key.mac(&[&u]);
				t.iter_mut().zip(&u).for_each(|(t, u)| *t ^= u);
			}
			chunk.copy_from_slice(&t[..chunk.len()]);
		}
	}

	/// HMAC-SHA256 with the inner and outer pads' first blocks precomputed.
	struct HmacKey {
		inner: Sha256,
		outer: Sha256,
	}

	impl HmacKey {
		fn new(key: &[u8]) -> Self {
			let mut block = [0u8; 64];
			if key.len() > 64 {
				block[..32].copy_from_slice(&sha256(key));
			} else {
				block[..key.len()].copy_from_slice(key);
			}
			let pad = |byte: u8| {
				let mut s = Sha256::new();
				s.update(&block.map(|b| b ^ byte));
				s
			};
			Self { inner: pad(0x36), outer: pad(0x5c) }
		}

		fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
			let mut inner = self.inner.clone();
			parts.iter().for_each(|p| inner.update(p));
			let mut outer = self.outer.clone();
			outer.update(&inner.finish());
			outer.finish()
		}
	}

	/// SHA-256 of `data`.
	pub fn sha256(data: &[u8]) -> [u8; 32] {
		let mut s = Sha256::new();
		s.update(data);
		s.finish()
	}

	const K: [u32; 64] = [
		0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
		0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
		0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
		0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
		0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
		0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
		0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
		0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
		0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
		0xc67178f2,
	];

	#[derive(Clone)]
	struct Sha256 {
		state: [u32; 8],
		buf: [u8; 64],
		len: usize,
		total: u64,
	}

	impl Sha256 {
		fn new() -> Self {
			Self {
				state: [
					0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
					0x1f83d9ab, 0x5be0cd19,
				],
				buf: [0; 64],
				len: 0,
				total: 0,
			}
		}

		fn update(&mut self, mut data: &[u8]) {
			self.total += data.len() as u64;
			while !data.is_empty() {
				let n = (64 - self.len).min(data.len());
				self.buf[self.len..self.len + n].copy_from_slice(&data[..n]);
				self.len += n;
				data = &data[n..];
				if self.len == 64 {
					let block = self.buf;
					self.compress(&block);
					self.len = 0;
				}
			}
		}

		fn finish(mut self) -> [u8; 32] {
			// The padding, written into the buffer at once: 0x80, zeros, the length in bits.
			let bits = self.total * 8;
			self.buf[self.len] = 0x80;
			self.buf[self.len + 1..].fill(0);
			if self.len >= 56 {
				let block = self.buf;
				self.compress(&block);
				self.buf = [0; 64];
			}
			self.buf[56..].copy_from_slice(&bits.to_be_bytes());
			let block = self.buf;
			self.compress(&block);
			let mut out = [0u8; 32];
			for (o, s) in out.chunks_mut(4).zip(self.state) {
				o.copy_from_slice(&s.to_be_bytes());
			}
			out
		}

		fn compress(&mut self, block: &[u8; 64]) {
			let mut w = [0u32; 64];
			for (i, word) in block.chunks_exact(4).enumerate() {
				w[i] = u32::from_be_bytes(word.try_into().expect("4 bytes; qed"));
			}
			for i in 16..64 {
				let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
				let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
				w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
			}
			let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = self.state;
			for i in 0..64 {
				let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
				let ch = (e & f) ^ (!e & g);
				let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
				let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
				let maj = (a & b) ^ (a & c) ^ (b & c);
				let t2 = s0.wrapping_add(maj);
				(h, g, f, e, d, c, b, a) =
					(g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
			}
			for (s, v) in self.state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
				*s = s.wrapping_add(v);
			}
		}
	}
}

#[cfg(test)]
mod tests;
