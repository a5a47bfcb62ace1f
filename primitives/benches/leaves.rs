//! Run: `cargo bench -p ccgsc-primitives --bench leaves` (`CCGSC_BENCH_MIB`, default 256).
//!
//! Hashes the same 64 KiB chunks two ways in one run and prints both rates and their ratio
//! (the median of five rounds each): [`ccgsc_primitives::leaf_hashes`], which takes eight
//! chunks at a time where the CPU has AVX-512, against `blake2b_simd`'s four-lane hashing of
//! the same chunks, which is what it did everywhere before.

use std::time::{Duration, Instant};

use ccgsc_primitives::{leaf_hashes, CHUNK_SIZE};

fn median(mut v: Vec<Duration>) -> Duration {
	v.sort();
	v[v.len() / 2]
}

/// What the first way hashes with here.
fn simd() -> &'static str {
	#[cfg(target_arch = "x86_64")]
	if std::is_x86_feature_detected!("avx512f") {
		return "AVX-512 present: eight lanes against four";
	}
	"no AVX-512: both hash four lanes"
}

fn main() {
	let mib: usize =
		std::env::var("CCGSC_BENCH_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
	let mut x = 0x2545_f491_4f6c_dd1du64;
	let data: Vec<u8> = (0..mib << 20)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect();
	let chunks: Vec<&[u8]> = data.chunks(CHUNK_SIZE).collect();
	let mut params = blake2b_simd::Params::new();
	params.hash_length(32);
	let (mut lanes8, mut lanes4) = (Vec::new(), Vec::new());
	for _ in 0..5 {
		let start = Instant::now();
		let leaves = leaf_hashes(0, &chunks);
		lanes8.push(start.elapsed());
		assert_eq!(leaves.len(), chunks.len());

		let start = Instant::now();
		let mut jobs: Vec<_> =
			chunks.iter().map(|c| blake2b_simd::many::HashManyJob::new(&params, c)).collect();
		blake2b_simd::many::hash_many(jobs.iter_mut());
		lanes4.push(start.elapsed());
		assert_eq!(jobs.len(), chunks.len());
	}
	let rate = |d: Duration| mib as f64 / d.as_secs_f64();
	let (new, old) = (median(lanes8), median(lanes4));
	let simd = simd();
	println!("hashed {mib} MiB of 64 KiB chunks, median of 5 ({simd})");
	println!("{:<36} {:>8.0} MiB/s", "leaf_hashes", rate(new));
	println!("{:<36} {:>8.0} MiB/s", "blake2b_simd four lanes (baseline)", rate(old));
	let speedup = old.as_secs_f64() / new.as_secs_f64();
	println!("speed-up: {speedup:.2}x");
	println!(
		"report: chunk hashing, leaf_hashes / four-lane blake2b_simd (64 KiB chunks) | {speedup:.2}x ({:.0} vs {:.0} MiB/s) |",
		rate(new),
		rate(old)
	);
}
