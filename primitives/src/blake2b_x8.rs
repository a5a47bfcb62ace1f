//! blake2b-256 of eight inputs at once, one per 64-bit lane of AVX-512.
//!
//! Every fetched chunk is hashed before it is stored, one of the largest costs of a fetch
//! (`perf` on the transfer bench put it level with each pass of the cipher).
//! `blake2b_simd` hashes four inputs at once on AVX2; where the CPU has AVX-512 (with its
//! native 64-bit rotations), eight lanes hash about twice as fast per core:
//! `cargo bench -p ccgsc-primitives --bench leaves` measures both side by side.
//!
//! Only the case that bulk hashing meets is handled: eight inputs of one length, a positive
//! multiple of the 128-byte block, as full chunks are. The caller hashes anything else (and
//! everything on a CPU without AVX-512) with `blake2b_simd`. The unit tests compare every
//! digest with the reference implementation the runtime uses.
#![allow(unsafe_code)]

use core::arch::x86_64::{
	__m512i, _mm512_add_epi64, _mm512_loadu_si512, _mm512_permutex2var_epi64, _mm512_ror_epi64,
	_mm512_set1_epi64, _mm512_setr_epi64, _mm512_shuffle_i64x2, _mm512_unpackhi_epi64,
	_mm512_unpacklo_epi64, _mm512_xor_si512,
};

use crate::Hash;

/// Lanes: inputs hashed at once.
pub(crate) const LANES: usize = 8;

/// blake2b's block size in bytes.
const BLOCK: usize = 128;

const IV: [u64; 8] = [
	0x6A09_E667_F3BC_C908,
	0xBB67_AE85_84CA_A73B,
	0x3C6E_F372_FE94_F82B,
	0xA54F_F53A_5F1D_36F1,
	0x510E_527F_ADE6_82D1,
	0x9B05_688C_2B3E_6C1F,
	0x1F83_D9AB_FB41_BD6B,
	0x5BE0_CD19_137E_2179,
];

/// The message schedule of blake2b's twelve rounds.
const SIGMA: [[usize; 16]; 12] = [
	[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
	[14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
	[11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
	[7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
	[9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
	[2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
	[12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
	[13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
	[6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
	[10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
	[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
	[14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// The parameter word of an unkeyed blake2b with a 32-byte digest (digest length 32, key
/// length 0, fanout 1, depth 1), XORed into the first IV word.
const PARAMS: u64 = 0x0101_0020;

/// The blake2b-256 digests of `inputs` (at least [`LANES`]; the first eight are hashed), or
/// `None` if the CPU has no AVX-512 or the eight are not all of one length that is a positive
/// multiple of 128 bytes.
pub(crate) fn digests(inputs: &[&[u8]]) -> Option<[Hash; LANES]> {
	let lanes: &[&[u8]; LANES] = inputs.get(..LANES)?.try_into().ok()?;
	let len = lanes[0].len();
	if len == 0 || !len.is_multiple_of(BLOCK) || lanes.iter().any(|l| l.len() != len) {
		return None;
	}
	if !std::is_x86_feature_detected!("avx512f") {
		return None;
	}
	// SAFETY: the CPU has AVX-512F, the one target feature `hash8` enables.
	Some(unsafe { hash8(lanes) })
}

/// One G mixing step on four rows of the state, in every lane.
#[target_feature(enable = "avx512f")]
#[inline]
fn g(v: &mut [__m512i; 16], [a, b, c, d]: [usize; 4], x: __m512i, y: __m512i) {
	v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), x);
	v[d] = _mm512_ror_epi64::<32>(_mm512_xor_si512(v[d], v[a]));
	v[c] = _mm512_add_epi64(v[c], v[d]);
	v[b] = _mm512_ror_epi64::<24>(_mm512_xor_si512(v[b], v[c]));
	v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), y);
	v[d] = _mm512_ror_epi64::<16>(_mm512_xor_si512(v[d], v[a]));
	v[c] = _mm512_add_epi64(v[c], v[d]);
	v[b] = _mm512_ror_epi64::<63>(_mm512_xor_si512(v[b], v[c]));
}

/// Transposes eight rows of eight words: word `i` of row `j` becomes word `j` of row `i`, so
/// eight inputs' message words, loaded input by input, end up lane by lane.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose(r: [__m512i; 8]) -> [__m512i; 8] {
	// Pairs of rows interleaved: [r0[0], r1[0], r0[2], r1[2], …] and [r0[1], r1[1], …].
	let a0 = _mm512_unpacklo_epi64(r[0], r[1]);
	let a1 = _mm512_unpackhi_epi64(r[0], r[1]);
	let a2 = _mm512_unpacklo_epi64(r[2], r[3]);
	let a3 = _mm512_unpackhi_epi64(r[2], r[3]);
	let a4 = _mm512_unpacklo_epi64(r[4], r[5]);
	let a5 = _mm512_unpackhi_epi64(r[4], r[5]);
	let a6 = _mm512_unpacklo_epi64(r[6], r[7]);
	let a7 = _mm512_unpackhi_epi64(r[6], r[7]);
	// Quadruples: words i and i + 4 of rows 0..4 (or 4..8).
	let even = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
	let odd = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
	let b0 = _mm512_permutex2var_epi64(a0, even, a2);
	let b2 = _mm512_permutex2var_epi64(a0, odd, a2);
	let b1 = _mm512_permutex2var_epi64(a1, even, a3);
	let b3 = _mm512_permutex2var_epi64(a1, odd, a3);
	let b4 = _mm512_permutex2var_epi64(a4, even, a6);
	let b6 = _mm512_permutex2var_epi64(a4, odd, a6);
	let b5 = _mm512_permutex2var_epi64(a5, even, a7);
	let b7 = _mm512_permutex2var_epi64(a5, odd, a7);
	// Low halves of the quadruples give words 0..4, high halves words 4..8.
	[
		_mm512_shuffle_i64x2::<0x44>(b0, b4),
		_mm512_shuffle_i64x2::<0x44>(b1, b5),
		_mm512_shuffle_i64x2::<0x44>(b2, b6),
		_mm512_shuffle_i64x2::<0x44>(b3, b7),
		_mm512_shuffle_i64x2::<0xEE>(b0, b4),
		_mm512_shuffle_i64x2::<0xEE>(b1, b5),
		_mm512_shuffle_i64x2::<0xEE>(b2, b6),
		_mm512_shuffle_i64x2::<0xEE>(b3, b7),
	]
}

/// Loads 64 bytes.
#[target_feature(enable = "avx512f")]
#[inline]
fn load(bytes: &[u8; 64]) -> __m512i {
	// SAFETY: the reference covers the 64 bytes read, and the load has no alignment needs.
	unsafe { _mm512_loadu_si512(bytes.as_ptr().cast()) }
}

/// The 64 bytes of `input` from `at` (which the caller keeps in bounds).
fn half(input: &[u8], at: usize) -> &[u8; 64] {
	input[at..at + 64].try_into().expect("a slice of 64 bytes qed")
}

/// A vector's eight words.
#[target_feature(enable = "avx512f")]
#[inline]
fn words(v: __m512i) -> [u64; 8] {
	// SAFETY: both are 64 bytes of plain integers, every bit pattern valid in either.
	unsafe { core::mem::transmute::<__m512i, [u64; 8]>(v) }
}

/// blake2b-256 of eight inputs of one length, a positive multiple of [`BLOCK`].
#[target_feature(enable = "avx512f")]
fn hash8(inputs: &[&[u8]; LANES]) -> [Hash; LANES] {
	let len = inputs[0].len();
	let splat = |word: u64| _mm512_set1_epi64(word as i64);
	let mut h = IV.map(splat);
	h[0] = splat(IV[0] ^ PARAMS);
	let blocks = len / BLOCK;
	for block in 0..blocks {
		let at = block * BLOCK;
		let mut low = [splat(0); 8];
		let mut high = [splat(0); 8];
		for (lane, input) in inputs.iter().enumerate() {
			low[lane] = load(half(input, at));
			high[lane] = load(half(input, at + 64));
		}
		let (low, high) = (transpose(low), transpose(high));
		let mut m = [splat(0); 16];
		m[..8].copy_from_slice(&low);
		m[8..].copy_from_slice(&high);

		// Bytes hashed so far, this block included; all inputs share the count.
		let counter = (at + BLOCK) as u64;
		let last = block + 1 == blocks;
		let mut v = [splat(0); 16];
		v[..8].copy_from_slice(&h);
		v[8..].copy_from_slice(&IV.map(splat));
		v[12] = splat(IV[4] ^ counter);
		if last {
			v[14] = splat(!IV[6]);
		}
		for s in SIGMA {
			g(&mut v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
			g(&mut v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
			g(&mut v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
			g(&mut v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
			g(&mut v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
			g(&mut v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
			g(&mut v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
			g(&mut v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
		}
		for i in 0..8 {
			h[i] = _mm512_xor_si512(h[i], _mm512_xor_si512(v[i], v[i + 8]));
		}
	}
	let digest_words = [words(h[0]), words(h[1]), words(h[2]), words(h[3])];
	let mut out = [[0u8; 32]; LANES];
	for (lane, digest) in out.iter_mut().enumerate() {
		for (i, w) in digest_words.iter().enumerate() {
			digest[i * 8..i * 8 + 8].copy_from_slice(&w[lane].to_le_bytes());
		}
	}
	out
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::tests::bytes;
	use polkadot_sdk::sp_crypto_hashing::blake2_256;

	#[test]
	fn eight_lanes_give_the_reference_digests() {
		if !std::is_x86_feature_detected!("avx512f") {
			eprintln!("no AVX-512 on this CPU: nothing to compare");
			return;
		}
		for len in [128, 256, 128 * 7, 4096, 64 * 1024] {
			let data: Vec<Vec<u8>> = (0..8).map(|i| bytes(len, len as u64 * 31 + i)).collect();
			let inputs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
			let got = digests(&inputs).expect("eight inputs of one length in whole blocks");
			for (lane, input) in inputs.iter().enumerate() {
				assert_eq!(got[lane], blake2_256(input), "{len} bytes, lane {lane}");
			}
		}
	}

	#[test]
	fn anything_but_eight_equal_whole_blocks_is_left_to_the_caller() {
		let block = [7u8; 256];
		let short = [7u8; 200];
		let eight = [&block[..]; 8];
		assert!(digests(&eight[..7]).is_none(), "fewer than eight");
		let mut uneven = eight;
		uneven[3] = &block[..128];
		assert!(digests(&uneven).is_none(), "lengths differ");
		assert!(digests(&[&short[..]; 8]).is_none(), "not whole blocks");
		assert!(digests(&[&[][..]; 8]).is_none(), "empty");
	}
}
