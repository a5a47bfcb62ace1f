//! Test data shared by the swarm tests and the transfer bench.

/// `len` bytes of xorshift output from `seed`: no two chunks alike, so a chunk swapped for
/// another cannot pass a check.
pub fn blob(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed | 1;
	let mut out = Vec::with_capacity(len + 8);
	while out.len() < len {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		out.extend_from_slice(&x.to_le_bytes());
	}
	out.truncate(len);
	out
}
