use super::*;

/// Pseudo-random bytes (xorshift), so that no two chunks are alike.
fn blob(len: usize) -> Vec<u8> {
	bytes(len, 0x9e37_79b9_7f4a_7c15)
}

/// `len` pseudo-random bytes (xorshift) from `seed`, which must not be zero.
pub(crate) fn bytes(len: usize, seed: u64) -> Vec<u8> {
	let mut x = seed;
	(0..len)
		.map(|_| {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			x as u8
		})
		.collect()
}

#[test]
fn two_chunk_hashes_as_a_blob_do_not_share_the_id_of_the_two_chunks() {
	let data = blob(2 * CHUNK_SIZE);
	let id = ContentId::of(&data);
	let forged: Vec<u8> =
		chunks(&data).enumerate().flat_map(|(i, c)| leaf_hash(i as u32, c)).collect();
	assert_eq!(forged.len(), 64);
	assert_ne!(ContentId::of(&forged), id);
	// Nor does the root itself, read as a 32-byte blob.
	assert_ne!(ContentId::of(&ChunkTree::new(&data).root()), id);
}

#[test]
fn truncated_or_extended_blobs_get_other_ids() {
	let data = blob(3 * CHUNK_SIZE + 17);
	let id = ContentId::of(&data);
	assert_ne!(ContentId::of(&data[..data.len() - 1]), id);
	let mut longer = data.clone();
	longer.push(0);
	assert_ne!(ContentId::of(&longer), id);
	// Zero padding up to a chunk boundary changes the id too.
	let mut padded = data.clone();
	padded.resize(4 * CHUNK_SIZE, 0);
	assert_ne!(ContentId::of(&padded), id);
	assert_ne!(ContentId::of(&[]), ContentId::of(&[0]));
}

#[test]
fn chunk_proofs_verify_only_their_own_index() {
	let data = blob(5 * CHUNK_SIZE + 100);
	let tree = ChunkTree::new(&data);
	let id = tree.id();
	assert_eq!(id, ContentId::of(&data));
	let all: Vec<&[u8]> = chunks(&data).collect();
	assert_eq!(all.len(), 6);
	for (i, chunk) in all.iter().enumerate() {
		let proof = tree.proof(i as u32).expect("index in range");
		assert!(proof.verify(&id, i as u32, chunk), "chunk {i}");
		for (j, other) in all.iter().enumerate().filter(|(j, _)| *j != i) {
			assert!(!proof.verify(&id, j as u32, chunk), "proof {i} as index {j}");
			assert!(!proof.verify(&id, i as u32, other), "chunk {j} at index {i}");
		}
	}
	assert!(tree.proof(6).is_none());
}

#[test]
fn a_corrupted_chunk_or_proof_fails() {
	let data = blob(3 * CHUNK_SIZE);
	let tree = ChunkTree::new(&data);
	let id = tree.id();
	let proof = tree.proof(1).expect("in range");
	let mut chunk = data[CHUNK_SIZE..2 * CHUNK_SIZE].to_vec();
	chunk[100] ^= 1;
	assert!(!proof.verify(&id, 1, &chunk));

	let good = &data[CHUNK_SIZE..2 * CHUNK_SIZE];
	let mut bad_len = proof.clone();
	bad_len.length += 1;
	assert!(!bad_len.verify(&id, 1, good));
	let mut bad_sibling = proof.clone();
	bad_sibling.siblings[0][0] ^= 1;
	assert!(!bad_sibling.verify(&id, 1, good));
	assert!(!proof.verify(&ContentId::of(b"other"), 1, good));
}

#[test]
fn empty_and_single_chunk_blobs_have_one_chunk() {
	assert_eq!(chunk_count(0), 1);
	assert_eq!(chunk_count(1), 1);
	assert_eq!(chunk_count(CHUNK_SIZE as u64), 1);
	assert_eq!(chunk_count(CHUNK_SIZE as u64 + 1), 2);
	let tree = ChunkTree::new(&[]);
	assert_eq!(tree.id(), ContentId::empty());
	assert!(tree.proof(0).expect("one chunk").verify(&ContentId::empty(), 0, &[]));
}

#[test]
fn input_proofs_bind_index_and_id() {
	let inputs: Vec<ContentId> = (0u32..7).map(|i| ContentId::of(&i.to_le_bytes())).collect();
	let root = inputs_root(&inputs);
	for (i, id) in inputs.iter().enumerate() {
		let proof = InputProof::new(&inputs, i as u32).expect("in range");
		assert!(proof.verify(&root, 7, i as u32, id));
		assert!(!proof.verify(&root, 7, ((i + 1) % 7) as u32, id));
		assert!(!proof.verify(&root, 7, i as u32, &inputs[(i + 1) % 7]));
	}
	assert!(InputProof::new(&inputs, 7).is_none());
}

#[test]
fn commitments_bind_result_salt_worker_and_task() {
	let result = TaskResult::success(b"78498");
	let salt = [7u8; 32];
	let task = TaskRef { job: 1, index: 2 };
	let c = commitment(&result, &salt, &1u64, &task);
	assert_eq!(c, commitment(&result, &salt, &1u64, &task));
	assert_ne!(c, commitment(&TaskResult::success(b"78499"), &salt, &1u64, &task));
	assert_ne!(c, commitment(&result, &[8u8; 32], &1u64, &task));
	assert_ne!(c, commitment(&result, &salt, &2u64, &task));
	assert_ne!(c, commitment(&result, &salt, &1u64, &TaskRef { job: 1, index: 3 }));
}

#[test]
fn content_ids_round_trip_through_hex() {
	let id = ContentId::of(b"hello");
	assert_eq!(ContentId::from_hex(&id.to_hex()), Ok(id));
	assert_eq!(ContentId::from_hex(&format!("0x{id}")), Ok(id));
	assert_eq!(ContentId::from_hex("abc"), Err(ParseContentIdError));
	assert_eq!(ContentId::from_hex(&"zz".repeat(32)), Err(ParseContentIdError));
}

#[test]
fn platform_sets() {
	let set = PlatformSet::of(&[PlatformClass::X86_64Native, PlatformClass::Browser]);
	assert!(set.contains(PlatformClass::X86_64Native));
	assert!(!set.contains(PlatformClass::Aarch64Native));
	assert!(!set.is_empty());
	assert!(PlatformSet(0).is_empty());
	assert!(PlatformSet(0b1000).is_empty());
}

#[test]
fn draws_differ_by_subject_and_seed() {
	let seed = [1u8; 32];
	assert_eq!(draw(&seed, &1u32), draw(&seed, &1u32));
	assert_ne!(draw(&seed, &1u32), draw(&seed, &2u32));
	assert_ne!(draw(&seed, &1u32), draw(&[2u8; 32], &1u32));
}

#[test]
fn batched_leaves_equal_one_by_one_leaves() {
	// Runs of eight full chunks (eight lanes on AVX-512), then fewer, then a short last chunk.
	let data = blob(17 * CHUNK_SIZE + 77);
	let all: Vec<&[u8]> = chunks(&data).collect();
	for n in [0, 1, 3, 4, 5, 8, 9, 10, 16, 17, 18] {
		let batch = leaf_hashes(7, &all[..n]);
		let one_by_one: Vec<Hash> =
			all[..n].iter().enumerate().map(|(i, c)| leaf_hash(7 + i as u32, c)).collect();
		assert_eq!(batch, one_by_one, "{n} chunks");
	}
	assert_eq!(leaf_hashes(0, &[&[]]), vec![leaf_hash(0, &[])]);
}
