//! # CCGSC primitives
//!
//! The types and the commitment scheme that the runtime and every off-chain client (worker,
//! checker, portal, CLI) share. The crate is `no_std` so that the runtime verifies exactly the
//! proofs the clients build, with the same code.
//!
//! ## Content ids
//!
//! A blob is cut into [`CHUNK_SIZE`] chunks (a blob of length 0 has one empty chunk). Each chunk
//! becomes a leaf `H(LEAF ‖ index ‖ H(chunk))`; inner nodes are `H(NODE ‖ left ‖ right)`
//! (built by `binary-merkle-tree`, whose odd last node is promoted unhashed); the content id is
//! `H(ID ‖ length ‖ root)`. `H` is blake2-256 and the tags are distinct 8-byte strings, so:
//!
//! - a leaf can never be read as an inner node, nor an inner node as a leaf (different tags),
//!   so a 64-byte blob made of two chunk hashes does not share an id with the two chunks;
//! - a leaf binds its index, so a proof for chunk `i` never verifies chunk `j`;
//! - the id binds the length, so a truncated or extended blob has a different id.
//!
//! ## Inputs manifest
//!
//! A job's inputs are a list of content ids, one per task. The chain stores only the root of a
//! tree over `H(INPUT ‖ index ‖ id)` and the task count; a worker proves its task's input id
//! against that root with an [`InputProof`].
//!
//! ## Commitments
//!
//! Replicas commit to `H(COMMIT ‖ SCALE(result) ‖ salt ‖ SCALE(worker) ‖ SCALE(task))` before
//! anyone reveals (see [`commitment`]). Binding the worker and the task means a commitment
//! copied from another replica, or from another task, never matches a reveal.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

extern crate alloc;

#[cfg(all(feature = "std", target_arch = "x86_64"))]
mod blake2b_x8;

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{binary_merkle_tree, sp_crypto_hashing::blake2_256};
use scale_info::TypeInfo;

/// Size of one content chunk: the unit of transfer, of verification and of audit proofs.
pub const CHUNK_SIZE: usize = 64 * 1024;

/// A 256-bit blake2 hash.
pub type Hash = [u8; 32];

/// Identifies a job on chain.
pub type JobId = u64;

/// Index of a task within its job (`0..task_count`).
pub type TaskIndex = u32;

/// The version of the execution rules (engine settings, ABI, metering) a job pins. Replicas
/// and checkers of one job all execute under this version, so an executor upgrade never
/// sets honest replicas against each other.
pub type ExecutorVersion = u32;

/// blake2-256 of `data`: the one hash function of the marketplace.
pub fn hash(data: &[u8]) -> Hash {
	blake2_256(data)
}

/// Domain tags. All are eight bytes long, so no tagged preimage is a prefix of another.
mod tag {
	pub const LEAF: &[u8; 8] = b"ccgsc/lf";
	pub const NODE: &[u8; 8] = b"ccgsc/nd";
	pub const ID: &[u8; 8] = b"ccgsc/id";
	pub const INPUT: &[u8; 8] = b"ccgsc/in";
	pub const COMMIT: &[u8; 8] = b"ccgsc/cm";
	pub const DRAW: &[u8; 8] = b"ccgsc/dr";
}

/// The content id of a blob: `H(ID ‖ length ‖ root)`; see the crate docs.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
	Default,
)]
pub struct ContentId(pub Hash);

impl ContentId {
	/// The id of `data`, computed over its chunks.
	pub fn of(data: &[u8]) -> Self {
		ChunkTree::new(data).id()
	}

	/// The id of a blob of `length` bytes whose chunk tree has root `root`.
	pub fn from_root(length: u64, root: Hash) -> Self {
		let mut preimage = [0u8; 8 + 8 + 32];
		preimage[..8].copy_from_slice(tag::ID);
		preimage[8..16].copy_from_slice(&length.to_le_bytes());
		preimage[16..].copy_from_slice(&root);
		ContentId(blake2_256(&preimage))
	}

	/// The id of the empty blob, which failed tasks report as their output.
	pub fn empty() -> Self {
		Self::of(&[])
	}

	/// Lower-case hex, 64 characters.
	pub fn to_hex(&self) -> alloc::string::String {
		use core::fmt::Write;
		let mut s = alloc::string::String::with_capacity(64);
		for b in self.0 {
			let _ = write!(s, "{b:02x}");
		}
		s
	}

	/// Parses 64 hex characters, with or without a `0x` prefix.
	///
	/// # Errors
	/// [`ParseContentIdError`] if the text is not exactly 32 bytes of hex.
	pub fn from_hex(s: &str) -> Result<Self, ParseContentIdError> {
		let s = s.strip_prefix("0x").unwrap_or(s);
		if s.len() != 64 {
			return Err(ParseContentIdError);
		}
		let mut out = [0u8; 32];
		for (i, byte) in out.iter_mut().enumerate() {
			*byte = u8::from_str_radix(s.get(2 * i..2 * i + 2).ok_or(ParseContentIdError)?, 16)
				.map_err(|_| ParseContentIdError)?;
		}
		Ok(ContentId(out))
	}
}

impl core::fmt::Debug for ContentId {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		write!(f, "ContentId({})", self.to_hex())
	}
}

impl core::fmt::Display for ContentId {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str(&self.to_hex())
	}
}

impl core::str::FromStr for ContentId {
	type Err = ParseContentIdError;
	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Self::from_hex(s)
	}
}

#[cfg(feature = "std")]
impl serde::Serialize for ContentId {
	fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
		s.serialize_str(&self.to_hex())
	}
}

#[cfg(feature = "std")]
impl<'de> serde::Deserialize<'de> for ContentId {
	fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
		let s = <alloc::string::String as serde::Deserialize>::deserialize(d)?;
		Self::from_hex(&s).map_err(serde::de::Error::custom)
	}
}

/// A content id that is not 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseContentIdError;

impl core::fmt::Display for ParseContentIdError {
	fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
		f.write_str("a content id is 64 hex characters (32 bytes), optionally prefixed by 0x")
	}
}

#[cfg(feature = "std")]
impl std::error::Error for ParseContentIdError {}

/// Number of chunks of a blob of `length` bytes (at least one: the empty blob has one empty
/// chunk).
pub fn chunk_count(length: u64) -> u32 {
	(length.div_ceil(CHUNK_SIZE as u64)).max(1) as u32
}

/// The byte range of chunk `index` in a blob of `length` bytes, or `None` past the end.
pub fn chunk_range(length: u64, index: u32) -> Option<core::ops::Range<u64>> {
	if index >= chunk_count(length) {
		return None;
	}
	let start = index as u64 * CHUNK_SIZE as u64;
	Some(start..(start + CHUNK_SIZE as u64).min(length))
}

/// The chunks of `data`, in order (one empty chunk for empty data).
pub fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
	let empty: Option<&[u8]> = data.is_empty().then_some(&[]);
	data.chunks(CHUNK_SIZE).chain(empty)
}

/// The leaf of chunk `index`: `H(LEAF ‖ index ‖ H(chunk))`.
pub fn leaf_hash(index: u32, chunk: &[u8]) -> Hash {
	leaf_of_digest(index, &blake2_256(chunk))
}

fn leaf_of_digest(index: u32, digest: &Hash) -> Hash {
	let mut preimage = [0u8; 8 + 4 + 32];
	preimage[..8].copy_from_slice(tag::LEAF);
	preimage[8..12].copy_from_slice(&index.to_le_bytes());
	preimage[12..].copy_from_slice(digest);
	blake2_256(&preimage)
}

/// The leaves of consecutive chunks `first, first + 1, ...`: the values [`leaf_hash`] gives,
/// computed several chunks at a time with the CPU's SIMD lanes, which is about twice as fast
/// per core as one chunk after another on AVX2 (four lanes), and twice as fast again on
/// AVX-512 (eight lanes, for runs of eight full chunks). For clients that hash whole blobs.
#[cfg(feature = "std")]
pub fn leaf_hashes(first: u32, chunks: &[&[u8]]) -> Vec<Hash> {
	use blake2b_simd::{many, Params};
	let mut digests: Vec<Option<Hash>> = vec![None; chunks.len()];
	#[cfg(target_arch = "x86_64")]
	for (group, eight) in chunks.chunks_exact(blake2b_x8::LANES).enumerate() {
		if let Some(found) = blake2b_x8::digests(eight) {
			let at = group * blake2b_x8::LANES;
			for (slot, digest) in digests[at..at + blake2b_x8::LANES].iter_mut().zip(found) {
				*slot = Some(digest);
			}
		}
	}
	let mut params = Params::new();
	params.hash_length(32);
	let mut jobs: Vec<(usize, many::HashManyJob<'_>)> = chunks
		.iter()
		.enumerate()
		.filter(|(i, _)| digests[*i].is_none())
		.map(|(i, c)| (i, many::HashManyJob::new(&params, c)))
		.collect();
	many::hash_many(jobs.iter_mut().map(|(_, job)| job));
	for (i, job) in &jobs {
		digests[*i] = Some(job.to_hash().as_bytes().try_into().expect("the hash length is 32 qed"));
	}
	digests
		.into_iter()
		.enumerate()
		.map(|(i, digest)| {
			leaf_of_digest(first + i as u32, &digest.expect("every chunk is hashed above qed"))
		})
		.collect()
}

/// The hasher of inner nodes: `H(NODE ‖ left ‖ right)`. Leaves are hashed beforehand with
/// their own tag, so this hasher only ever sees pairs of child hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeHasher;

/// A `core::hash::Hasher` the [`hash_db::Hasher`] trait requires; the Merkle code never uses it.
#[derive(Default)]
pub struct NodeStdHasher(u64);

impl core::hash::Hasher for NodeStdHasher {
	fn finish(&self) -> u64 {
		self.0
	}
	fn write(&mut self, bytes: &[u8]) {
		for b in bytes {
			self.0 = self.0.rotate_left(8) ^ u64::from(*b);
		}
	}
}

impl hash_db::Hasher for NodeHasher {
	type Out = Hash;
	type StdHasher = NodeStdHasher;
	const LENGTH: usize = 32;

	fn hash(data: &[u8]) -> Hash {
		let mut preimage = Vec::with_capacity(8 + data.len());
		preimage.extend_from_slice(tag::NODE);
		preimage.extend_from_slice(data);
		blake2_256(&preimage)
	}
}

/// Root of the tree over already-tagged `leaves` (zero hash for no leaves).
pub fn merkle_root(leaves: Vec<Hash>) -> Hash {
	binary_merkle_tree::merkle_root_raw::<NodeHasher, _>(leaves)
}

/// The sibling hashes that prove leaf `index` of `leaves`, or `None` if `index` is out of range.
pub fn merkle_proof(leaves: Vec<Hash>, index: u32) -> Option<Vec<Hash>> {
	if index as usize >= leaves.len() {
		return None;
	}
	Some(binary_merkle_tree::merkle_proof_raw::<NodeHasher, _>(leaves, index).proof)
}

/// Whether `siblings` prove that `leaf` is leaf `index` of a `count`-leaf tree with `root`.
pub fn verify_merkle_proof(
	root: &Hash,
	siblings: &[Hash],
	count: u32,
	index: u32,
	leaf: Hash,
) -> bool {
	binary_merkle_tree::verify_proof::<NodeHasher, _, _>(
		root,
		siblings.iter().copied(),
		count,
		index,
		binary_merkle_tree::Leaf::Hash(leaf),
	)
}

/// Proof that a chunk belongs, at its index, to the blob with a given [`ContentId`].
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct ChunkProof {
	/// Length of the whole blob in bytes.
	pub length: u64,
	/// Root of the blob's chunk tree.
	pub root: Hash,
	/// Sibling hashes from the chunk's leaf up to the root.
	pub siblings: Vec<Hash>,
}

impl ChunkProof {
	/// Whether `chunk` is chunk `index` of the blob `id`: its length is the one the blob's
	/// length implies for that index, and the proof leads from its leaf to the root that,
	/// with the length, gives `id`.
	pub fn verify(&self, id: &ContentId, index: u32, chunk: &[u8]) -> bool {
		let Some(range) = chunk_range(self.length, index) else { return false };
		if (range.end - range.start) != chunk.len() as u64 {
			return false;
		}
		if ContentId::from_root(self.length, self.root) != *id {
			return false;
		}
		verify_merkle_proof(
			&self.root,
			&self.siblings,
			chunk_count(self.length),
			index,
			leaf_hash(index, chunk),
		)
	}
}

/// The chunk tree of a whole blob held in memory: its id, and proofs for any chunk.
#[derive(Clone, Debug)]
pub struct ChunkTree {
	length: u64,
	leaves: Vec<Hash>,
	root: Hash,
}

impl ChunkTree {
	/// Builds the tree of `data`.
	pub fn new(data: &[u8]) -> Self {
		#[cfg(feature = "std")]
		let leaves = leaf_hashes(0, &chunks(data).collect::<Vec<_>>());
		#[cfg(not(feature = "std"))]
		let leaves: Vec<Hash> = chunks(data).enumerate().map(|(i, c)| leaf_hash(i as u32, c)).collect();
		Self::from_leaves(data.len() as u64, leaves)
	}

	/// Builds the tree from leaves computed elsewhere (for example, chunk by chunk from disk).
	pub fn from_leaves(length: u64, leaves: Vec<Hash>) -> Self {
		let root = merkle_root(leaves.clone());
		Self { length, leaves, root }
	}

	/// The blob's content id.
	pub fn id(&self) -> ContentId {
		ContentId::from_root(self.length, self.root)
	}

	/// The blob's length in bytes.
	pub fn length(&self) -> u64 {
		self.length
	}

	/// The root of the chunk tree.
	pub fn root(&self) -> Hash {
		self.root
	}

	/// The proof for chunk `index`, or `None` past the last chunk.
	pub fn proof(&self, index: u32) -> Option<ChunkProof> {
		let siblings = merkle_proof(self.leaves.clone(), index)?;
		Some(ChunkProof { length: self.length, root: self.root, siblings })
	}
}

/// The leaf of task `index`'s input id in a job's inputs manifest.
pub fn input_leaf(index: TaskIndex, input: &ContentId) -> Hash {
	let mut preimage = [0u8; 8 + 4 + 32];
	preimage[..8].copy_from_slice(tag::INPUT);
	preimage[8..12].copy_from_slice(&index.to_le_bytes());
	preimage[12..].copy_from_slice(&input.0);
	blake2_256(&preimage)
}

fn input_leaves(inputs: &[ContentId]) -> Vec<Hash> {
	inputs.iter().enumerate().map(|(i, id)| input_leaf(i as u32, id)).collect()
}

/// The root a job posts for the task inputs `inputs` (one content id per task, in order).
pub fn inputs_root(inputs: &[ContentId]) -> Hash {
	merkle_root(input_leaves(inputs))
}

/// Proof that a task's input id is the one at its index in a job's inputs manifest.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct InputProof {
	/// Sibling hashes from the input's leaf to the root.
	pub siblings: Vec<Hash>,
}

impl InputProof {
	/// Builds the proof for task `index` of `inputs`, or `None` if `index` is out of range.
	pub fn new(inputs: &[ContentId], index: TaskIndex) -> Option<Self> {
		merkle_proof(input_leaves(inputs), index).map(|siblings| Self { siblings })
	}

	/// Whether `input` is the input of task `index` in a `task_count`-task job with `root`.
	pub fn verify(
		&self,
		root: &Hash,
		task_count: u32,
		index: TaskIndex,
		input: &ContentId,
	) -> bool {
		verify_merkle_proof(root, &self.siblings, task_count, index, input_leaf(index, input))
	}
}

/// How one execution of a task ended. Every variant but [`Outcome::InputUnavailable`] is a
/// deterministic verdict: honest replicas under one executor version reach the same one.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum Outcome {
	/// The module exited with code 0; the output is its stdout.
	Success,
	/// The module exited with a non-zero code.
	Exited(u32),
	/// The module trapped (unreachable, out-of-bounds access, division by zero, ...), including
	/// in its start function.
	Trapped,
	/// The module used up the job's work limit.
	WorkLimitExceeded,
	/// The module tried to grow its memory past the job's limit.
	MemoryLimitExceeded,
	/// The module wrote more than the job's output limit.
	OutputTooLarge,
	/// The bytes are not a valid module, or it imports what the task ABI does not offer.
	InvalidModule,
	/// The worker could not obtain the module or input. Neither pays nor slashes.
	InputUnavailable,
}

impl Outcome {
	/// Whether this outcome is a verdict on the task (as opposed to the worker's own trouble).
	pub fn is_verdict(&self) -> bool {
		!matches!(self, Outcome::InputUnavailable)
	}
}

/// What a replica reveals: the outcome, and the output's length and content id (the empty
/// blob for every outcome other than [`Outcome::Success`]).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct TaskResult {
	/// How the execution ended.
	pub outcome: Outcome,
	/// Length of the output in bytes.
	pub output_len: u64,
	/// Content id of the output; the id under which the worker serves it.
	pub output: ContentId,
}

impl TaskResult {
	/// A successful result with `output`.
	pub fn success(output: &[u8]) -> Self {
		Self {
			outcome: Outcome::Success,
			output_len: output.len() as u64,
			output: ContentId::of(output),
		}
	}

	/// A result with no output: any outcome other than success.
	pub fn without_output(outcome: Outcome) -> Self {
		Self { outcome, output_len: 0, output: ContentId::empty() }
	}
}

/// Refers to one task of one job.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct TaskRef {
	/// The job.
	pub job: JobId,
	/// The task's index in the job.
	pub index: TaskIndex,
}

/// The salted commitment to a result: `H(COMMIT ‖ SCALE(result) ‖ salt ‖ SCALE(worker) ‖
/// SCALE(task))`.
pub fn commitment<A: Encode>(result: &TaskResult, salt: &Hash, worker: &A, task: &TaskRef) -> Hash {
	let mut preimage = Vec::with_capacity(8 + 64 + 32 + 40);
	preimage.extend_from_slice(tag::COMMIT);
	result.encode_to(&mut preimage);
	preimage.extend_from_slice(salt);
	worker.encode_to(&mut preimage);
	task.encode_to(&mut preimage);
	blake2_256(&preimage)
}

/// A domain-separated draw: `H(DRAW ‖ seed ‖ SCALE(subject))`, read as a little-endian `u64`.
/// Used for every random choice the marketplace makes (replication, audits, checkers), so
/// each draw depends on the seed and on what it is about.
pub fn draw<S: Encode>(seed: &Hash, subject: &S) -> u64 {
	let mut preimage = Vec::with_capacity(8 + 32 + 16);
	preimage.extend_from_slice(tag::DRAW);
	preimage.extend_from_slice(seed);
	subject.encode_to(&mut preimage);
	let h = blake2_256(&preimage);
	u64::from_le_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
}

/// The resource limits a job sets for each of its tasks.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct Limits {
	/// The deterministic work limit, in executor work units (see the executor's metering).
	pub work: u64,
	/// The most linear memory the module may have, in bytes.
	pub memory: u64,
	/// The most output (stdout) the module may write, in bytes.
	pub output: u64,
}

/// A class of platforms whose replicas agree bit for bit without NaN canonicalization
/// (BOINC's homogeneous redundancy).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Hash,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub enum PlatformClass {
	/// Native x86-64 (wasmtime with Cranelift).
	X86_64Native,
	/// Native AArch64 (wasmtime with Cranelift).
	Aarch64Native,
	/// A browser's WebAssembly engine.
	Browser,
}

impl PlatformClass {
	/// Every class, in bit order.
	pub const ALL: [PlatformClass; 3] =
		[PlatformClass::X86_64Native, PlatformClass::Aarch64Native, PlatformClass::Browser];

	/// The class of the machine this code was compiled for, if it is a native one.
	pub const fn native() -> Option<Self> {
		if cfg!(target_arch = "x86_64") {
			Some(PlatformClass::X86_64Native)
		} else if cfg!(target_arch = "aarch64") {
			Some(PlatformClass::Aarch64Native)
		} else {
			None
		}
	}

	const fn bit(self) -> u8 {
		1 << (self as u8)
	}

	/// A stable short name (`x86_64-native`, `aarch64-native`, `browser`).
	pub const fn name(self) -> &'static str {
		match self {
			PlatformClass::X86_64Native => "x86_64-native",
			PlatformClass::Aarch64Native => "aarch64-native",
			PlatformClass::Browser => "browser",
		}
	}
}

/// A set of platform classes, as a bit mask (the classes a job accepts).
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Default,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
pub struct PlatformSet(pub u8);

impl PlatformSet {
	/// The set of the given classes.
	pub fn of(classes: &[PlatformClass]) -> Self {
		Self(classes.iter().fold(0, |m, c| m | c.bit()))
	}

	/// Whether `class` is in the set.
	pub fn contains(&self, class: PlatformClass) -> bool {
		self.0 & class.bit() != 0
	}

	/// Whether the set names no known class.
	pub fn is_empty(&self) -> bool {
		PlatformClass::ALL.iter().all(|c| !self.contains(*c))
	}
}

#[cfg(test)]
mod tests;
