//! The on-disk content store.
//!
//! Layout under the store's root:
//!
//! ```text
//! blobs/<id>         complete blobs, immutable once renamed into place
//! leaves/<id>        their chunk leaves (32 bytes each), so a manifest is served without rehashing
//! partial/<id>.data  a fetch in progress: the blob's bytes at their final offsets
//! partial/<id>.leaves  the verified manifest of that fetch
//! partial/<id>.have  one byte per chunk: 1 once the chunk is written
//! inputs/<root>      a job's input ids (32 bytes each), whose inputs root is <root>
//! ```
//!
//! A blob enters `blobs/` only whole and verified: [`Store::put`] hashes what it writes, and a
//! [`Partial`] is renamed into place only when every chunk has been checked against its leaf.
//! The store trusts its own disk when serving (a peer checks every chunk it receives anyway),
//! except when a fetch resumes: chunks marked present are hashed again, because a crash may
//! have persisted a `have` byte without the data it stands for.

use std::{
	fs::{self, File, OpenOptions},
	io::{self, Read, Write},
	path::{Path, PathBuf},
	sync::Mutex,
};

use ccgsc_primitives::{chunk_count, chunk_range, leaf_hash, ContentId, Hash, CHUNK_SIZE};

/// The largest blob the store accepts and the network moves: 64 GiB (a million chunks, so a
/// manifest of at most 32 MiB).
pub const MAX_BLOB: u64 = 1 << 36;

/// The chunk leaves of a blob and its length: everything needed to check each chunk on its
/// own as it arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
	/// The blob's length in bytes.
	pub length: u64,
	/// The leaf of every chunk, in order.
	pub leaves: Vec<Hash>,
}

impl Manifest {
	/// The content id these leaves and this length give.
	pub fn id(&self) -> ContentId {
		ContentId::from_root(self.length, ccgsc_primitives::merkle_root(self.leaves.clone()))
	}

	/// Whether this manifest is the one of blob `id`: the right number of leaves for the length,
	/// and leaves whose root, with the length, gives `id`.
	pub fn matches(&self, id: &ContentId) -> bool {
		self.length <= MAX_BLOB
			&& self.leaves.len() as u64 == u64::from(chunk_count(self.length))
			&& self.id() == *id
	}

	/// Whether `bytes` are chunks `first..first + n` of the blob, back to back, for the `n` that
	/// their length implies: every chunk has its exact length and its leaf.
	pub fn verify_chunks(&self, first: u32, bytes: &[u8]) -> bool {
		let mut pieces = Vec::new();
		let mut offset = 0usize;
		let mut index = first;
		loop {
			let Some(range) = chunk_range(self.length, index) else { return false };
			let len = (range.end - range.start) as usize;
			let Some(chunk) = bytes.get(offset..offset + len) else { return false };
			pieces.push(chunk);
			offset += len;
			index += 1;
			if offset == bytes.len() {
				break;
			}
		}
		let leaves = ccgsc_primitives::leaf_hashes(first, &pieces);
		leaves[..] == self.leaves[first as usize..index as usize]
	}

	/// The byte length of chunks `first..first + count` (clamped to the blob).
	pub fn span(&self, first: u32, count: u32) -> u64 {
		let last = (first.saturating_add(count)).min(chunk_count(self.length));
		(first..last).filter_map(|i| chunk_range(self.length, i)).map(|r| r.end - r.start).sum()
	}
}

/// A content store in a directory. Cheap to clone; every clone sees the same files.
#[derive(Clone, Debug)]
pub struct Store {
	root: PathBuf,
}

impl Store {
	/// Opens (creating if needed) the store under `root`.
	///
	/// # Errors
	/// If the directories cannot be created.
	pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
		let root = root.into();
		for dir in ["blobs", "leaves", "partial", "inputs"] {
			fs::create_dir_all(root.join(dir))?;
		}
		Ok(Self { root })
	}

	/// The store's root directory.
	pub fn root(&self) -> &Path {
		&self.root
	}

	/// Where the complete blob `id` lives (whether or not it is there yet).
	pub fn path(&self, id: &ContentId) -> PathBuf {
		self.root.join("blobs").join(id.to_hex())
	}

	fn leaves_path(&self, id: &ContentId) -> PathBuf {
		self.root.join("leaves").join(id.to_hex())
	}

	fn partial_path(&self, id: &ContentId, ext: &str) -> PathBuf {
		self.root.join("partial").join(format!("{}.{ext}", id.to_hex()))
	}

	/// Whether the complete blob `id` is in the store.
	pub fn has(&self, id: &ContentId) -> bool {
		self.path(id).is_file() && self.leaves_path(id).is_file()
	}

	/// Stores a job's input ids and returns their inputs root (the one `post_job` takes).
	///
	/// # Errors
	/// If the list cannot be written.
	pub fn put_inputs(&self, ids: &[ContentId]) -> io::Result<Hash> {
		let root = ccgsc_primitives::inputs_root(ids);
		let path = self.root.join("inputs").join(hex(&root));
		if !path.is_file() {
			let tmp = self.root.join("partial").join(format!("{}.inputs", hex(&root)));
			write_file(&tmp, &ids.iter().flat_map(|id| id.0).collect::<Vec<u8>>())?;
			fs::rename(tmp, path)?;
		}
		Ok(root)
	}

	/// The input ids stored under `root`, if they are here.
	///
	/// # Errors
	/// If the file exists but cannot be read.
	pub fn inputs(&self, root: &Hash) -> io::Result<Option<Vec<ContentId>>> {
		match fs::read(self.root.join("inputs").join(hex(root))) {
			Ok(bytes) => Ok(Some(decode_leaves(&bytes)?.into_iter().map(ContentId).collect())),
			Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
			Err(e) => Err(e),
		}
	}

	/// Every inputs root whose list is in the store.
	///
	/// # Errors
	/// If the directory cannot be read.
	pub fn list_inputs(&self) -> io::Result<Vec<Hash>> {
		let mut roots = Vec::new();
		for entry in fs::read_dir(self.root.join("inputs"))? {
			let name = entry?.file_name();
			if let Some(id) = name.to_str().and_then(|n| ContentId::from_hex(n).ok()) {
				roots.push(id.0);
			}
		}
		Ok(roots)
	}

	/// Every complete blob in the store.
	///
	/// # Errors
	/// If the directory cannot be read.
	pub fn list(&self) -> io::Result<Vec<ContentId>> {
		let mut ids = Vec::new();
		for entry in fs::read_dir(self.root.join("blobs"))? {
			let name = entry?.file_name();
			if let Some(id) = name.to_str().and_then(|n| ContentId::from_hex(n).ok()) {
				if self.has(&id) {
					ids.push(id);
				}
			}
		}
		Ok(ids)
	}

	/// Stores `data` and returns its id. Storing a blob that is already there is a no-op.
	///
	/// # Errors
	/// If `data` is larger than [`MAX_BLOB`] or a file cannot be written.
	pub fn put(&self, data: &[u8]) -> io::Result<ContentId> {
		if data.len() as u64 > MAX_BLOB {
			return Err(io::Error::new(io::ErrorKind::InvalidInput, "blob larger than 64 GiB"));
		}
		let leaves =
			ccgsc_primitives::leaf_hashes(0, &ccgsc_primitives::chunks(data).collect::<Vec<_>>());
		let manifest = Manifest { length: data.len() as u64, leaves };
		let id = manifest.id();
		if self.has(&id) {
			return Ok(id);
		}
		let tmp = self.root.join("partial").join(format!("{}.put", id.to_hex()));
		write_file(&tmp, data)?;
		self.install(&id, &manifest, &tmp)?;
		Ok(id)
	}

	/// Stores the file at `path` (streamed, never whole in memory) and returns its id.
	///
	/// # Errors
	/// If the file cannot be read, is larger than [`MAX_BLOB`], or the copy cannot be written.
	pub fn put_file(&self, path: &Path) -> io::Result<ContentId> {
		let mut source = File::open(path)?;
		let tmp = self.root.join("partial").join(format!("put-{}", std::process::id()));
		let mut out = File::create(&tmp)?;
		let mut leaves = Vec::new();
		let mut buf = vec![0u8; CHUNK_SIZE];
		let mut length = 0u64;
		loop {
			let n = read_full(&mut source, &mut buf)?;
			if n == 0 && !leaves.is_empty() {
				break;
			}
			leaves.push(leaf_hash(leaves.len() as u32, &buf[..n]));
			out.write_all(&buf[..n])?;
			length += n as u64;
			if length > MAX_BLOB {
				let _ = fs::remove_file(&tmp);
				return Err(io::Error::new(io::ErrorKind::InvalidInput, "blob larger than 64 GiB"));
			}
			if n < CHUNK_SIZE {
				break;
			}
		}
		out.sync_all()?;
		drop(out);
		let manifest = Manifest { length, leaves };
		let id = manifest.id();
		if self.has(&id) {
			fs::remove_file(&tmp)?;
			return Ok(id);
		}
		self.install(&id, &manifest, &tmp)?;
		Ok(id)
	}

	/// Moves a complete, verified blob file into place, leaves first so that `has` never sees
	/// a blob without its leaves.
	fn install(&self, id: &ContentId, manifest: &Manifest, data_file: &Path) -> io::Result<()> {
		let leaves_tmp = self.partial_path(id, "leaves-tmp");
		write_file(&leaves_tmp, &encode_leaves(&manifest.leaves))?;
		fs::rename(&leaves_tmp, self.leaves_path(id))?;
		fs::rename(data_file, self.path(id))
	}

	/// The whole blob `id`, or `None` if it is not in the store.
	///
	/// # Errors
	/// If the file exists but cannot be read.
	pub fn get(&self, id: &ContentId) -> io::Result<Option<Vec<u8>>> {
		if !self.has(id) {
			return Ok(None);
		}
		fs::read(self.path(id)).map(Some)
	}

	/// The manifest of the complete blob `id`, or `None` if it is not in the store.
	///
	/// # Errors
	/// If the files exist but cannot be read.
	pub fn manifest(&self, id: &ContentId) -> io::Result<Option<Manifest>> {
		if !self.has(id) {
			return Ok(None);
		}
		let length = fs::metadata(self.path(id))?.len();
		let leaves = decode_leaves(&fs::read(self.leaves_path(id))?)?;
		Ok(Some(Manifest { length, leaves }))
	}

	/// Chunks `first..first + count` of the complete blob `id`, back to back (clamped to the
	/// blob's end), or `None` if the blob is not here or `first` is past its last chunk.
	///
	/// # Errors
	/// If the blob exists but cannot be read.
	pub fn read_chunks(
		&self,
		id: &ContentId,
		first: u32,
		count: u32,
	) -> io::Result<Option<Vec<u8>>> {
		let mut buf = Vec::new();
		Ok(self.read_chunks_into(id, first, count, &mut buf)?.then_some(buf))
	}

	/// [`Store::read_chunks`] into `buf` (resized to fit, so a reused buffer is not zeroed
	/// again). Returns whether the chunks were there.
	///
	/// # Errors
	/// If the blob exists but cannot be read.
	pub fn read_chunks_into(
		&self,
		id: &ContentId,
		first: u32,
		count: u32,
		buf: &mut Vec<u8>,
	) -> io::Result<bool> {
		let file = match File::open(self.path(id)) {
			Ok(f) => f,
			Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
			Err(e) => return Err(e),
		};
		let length = file.metadata()?.len();
		if first >= chunk_count(length) || count == 0 {
			return Ok(false);
		}
		let start = u64::from(first) * CHUNK_SIZE as u64;
		let end = (start + u64::from(count) * CHUNK_SIZE as u64).min(length);
		buf.resize((end - start) as usize, 0);
		read_exact_at(&file, buf, start)?;
		Ok(true)
	}

	/// Removes the input list stored under `root`, if it is here.
	///
	/// # Errors
	/// If the file exists but cannot be removed.
	pub fn remove_inputs(&self, root: &Hash) -> io::Result<()> {
		match fs::remove_file(self.root.join("inputs").join(hex(root))) {
			Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
			_ => Ok(()),
		}
	}

	/// Removes the blob `id` (and any partial fetch of it).
	///
	/// # Errors
	/// If a file exists but cannot be removed.
	pub fn remove(&self, id: &ContentId) -> io::Result<()> {
		for path in [
			self.path(id),
			self.leaves_path(id),
			self.partial_path(id, "data"),
			self.partial_path(id, "leaves"),
			self.partial_path(id, "have"),
		] {
			match fs::remove_file(path) {
				Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
				_ => {},
			}
		}
		Ok(())
	}

	/// Opens the partial fetch of `id` with its verified `manifest`, resuming what an earlier
	/// fetch left on disk: chunks marked present are verified again and kept if they check out.
	///
	/// # Errors
	/// If the manifest does not match `id` (`InvalidData`) or the files cannot be opened.
	pub fn partial(&self, id: &ContentId, manifest: Manifest) -> io::Result<Partial> {
		if !manifest.matches(id) {
			return Err(io::Error::new(
				io::ErrorKind::InvalidData,
				"manifest does not match the id",
			));
		}
		let count = chunk_count(manifest.length) as usize;
		let leaves_path = self.partial_path(id, "leaves");
		let have_path = self.partial_path(id, "have");
		let data_path = self.partial_path(id, "data");
		let resumed = have_path.is_file() && data_path.is_file();
		if !resumed {
			write_file(&leaves_path, &encode_leaves(&manifest.leaves))?;
			write_file(&have_path, &vec![0u8; count])?;
		}
		let data = OpenOptions::new()
			.read(true)
			.write(true)
			.create(true)
			.truncate(false)
			.open(&data_path)?;
		preallocate(&data, manifest.length)?;
		let have_file = OpenOptions::new().read(true).write(true).open(&have_path)?;
		let mut have = vec![0u8; count];
		if resumed {
			let on_disk = fs::read(&have_path)?;
			let mut buf = vec![0u8; CHUNK_SIZE];
			for (index, flag) in on_disk.iter().enumerate().take(count) {
				if *flag != 1 {
					continue;
				}
				let range = chunk_range(manifest.length, index as u32).expect("index < count qed");
				let chunk = &mut buf[..(range.end - range.start) as usize];
				if read_exact_at(&data, chunk, range.start).is_ok()
					&& leaf_hash(index as u32, chunk) == manifest.leaves[index]
				{
					have[index] = 1;
				}
			}
			write_at(&have_file, &have, 0)?;
		}
		Ok(Partial {
			store: self.clone(),
			id: *id,
			manifest,
			data,
			have_file,
			have: Mutex::new(have),
		})
	}
}

/// A blob being fetched: chunks are written at their offsets as they arrive (in any order),
/// and the blob moves into the store when the last one is in.
#[derive(Debug)]
pub struct Partial {
	store: Store,
	id: ContentId,
	manifest: Manifest,
	data: File,
	have_file: File,
	/// One flag per chunk; chunks are checked and written without holding it.
	have: Mutex<Vec<u8>>,
}

impl Partial {
	/// The manifest the chunks are checked against.
	pub fn manifest(&self) -> &Manifest {
		&self.manifest
	}

	fn flags(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
		self.have.lock().expect("no code panics while holding it qed")
	}

	/// Whether chunk `index` is already here.
	pub fn has_chunk(&self, index: u32) -> bool {
		self.flags().get(index as usize) == Some(&1)
	}

	/// The indices of the chunks still missing.
	pub fn missing(&self) -> Vec<u32> {
		let flags = self.flags();
		(0..flags.len() as u32).filter(|i| flags[*i as usize] != 1).collect()
	}

	/// Bytes already here.
	pub fn present_bytes(&self) -> u64 {
		let flags = self.flags();
		(0..flags.len() as u32)
			.filter(|i| flags[*i as usize] == 1)
			.filter_map(|i| chunk_range(self.manifest.length, i))
			.map(|r| r.end - r.start)
			.sum()
	}

	/// Checks `bytes` as chunks `first..` against the manifest and, if every one checks out,
	/// writes them. Returns whether they did (nothing is written if any one fails). Writes of
	/// different ranges may run at once, from several threads.
	///
	/// # Errors
	/// If the files cannot be written.
	pub fn write_chunks(&self, first: u32, bytes: &[u8]) -> io::Result<bool> {
		if !self.manifest.verify_chunks(first, bytes) {
			return Ok(false);
		}
		write_at(&self.data, bytes, u64::from(first) * CHUNK_SIZE as u64)?;
		let count = chunk_count(self.manifest.length);
		let n = if bytes.is_empty() { 1 } else { bytes.len().div_ceil(CHUNK_SIZE) as u32 };
		let last = (first + n).min(count);
		let mut flags = self.flags();
		write_at(&self.have_file, &vec![1u8; (last - first) as usize], u64::from(first))?;
		flags[first as usize..last as usize].fill(1);
		Ok(true)
	}

	/// Flushes the chunks written so far to disk. A fetch calls it in the background as data
	/// accumulates, so that the flush [`Partial::finish`] must do before the blob enters the
	/// store has little left to write.
	///
	/// # Errors
	/// If the file cannot be flushed.
	pub fn sync(&self) -> io::Result<()> {
		self.data.sync_data()
	}

	/// Whether every chunk is here.
	pub fn is_complete(&self) -> bool {
		self.flags().iter().all(|f| *f == 1)
	}

	/// Moves the complete blob into the store.
	///
	/// # Errors
	/// If chunks are missing (`InvalidInput`) or the files cannot be moved.
	pub fn finish(self) -> io::Result<()> {
		if !self.is_complete() {
			return Err(io::Error::new(io::ErrorKind::InvalidInput, "chunks are missing"));
		}
		self.data.sync_all()?;
		let data_path = self.store.partial_path(&self.id, "data");
		self.store.install(&self.id, &self.manifest, &data_path)?;
		let _ = fs::remove_file(self.store.partial_path(&self.id, "leaves"));
		let _ = fs::remove_file(self.store.partial_path(&self.id, "have"));
		Ok(())
	}
}

/// Sizes a partial blob's data file to `length` with its disk space reserved up front where
/// the file system can (Linux `fallocate`), so a fetch that cannot fit fails at its start with
/// the store's error instead of part way through, and the chunks land in allocated blocks,
/// which ext4 takes in with less CPU than the holes of a sparse file. Elsewhere, or on a file
/// system without it, the file is left sparse. Chunks already in the file (a resumed fetch)
/// are kept.
fn preallocate(file: &File, length: u64) -> io::Result<()> {
	#[cfg(target_os = "linux")]
	if length > 0 {
		use rustix::{fs::FallocateFlags, io::Errno};
		match rustix::fs::fallocate(file, FallocateFlags::empty(), 0, length) {
			Ok(()) | Err(Errno::OPNOTSUPP) => {},
			Err(e) => return Err(e.into()),
		}
	}
	file.set_len(length)
}

fn hex(hash: &Hash) -> String {
	ContentId(*hash).to_hex()
}

fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
	let mut file = File::create(path)?;
	file.write_all(data)?;
	file.sync_all()
}

fn read_full(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
	let mut filled = 0;
	while filled < buf.len() {
		match source.read(&mut buf[filled..]) {
			Ok(0) => break,
			Ok(n) => filled += n,
			Err(e) if e.kind() == io::ErrorKind::Interrupted => {},
			Err(e) => return Err(e),
		}
	}
	Ok(filled)
}

/// Encodes leaves for the `leaves/` files and the wire: 32 bytes each, back to back.
pub(crate) fn encode_leaves(leaves: &[Hash]) -> Vec<u8> {
	leaves.iter().flatten().copied().collect()
}

/// Decodes leaves encoded by [`encode_leaves`].
pub(crate) fn decode_leaves(bytes: &[u8]) -> io::Result<Vec<Hash>> {
	if !bytes.len().is_multiple_of(32) {
		return Err(io::Error::new(io::ErrorKind::InvalidData, "leaves are 32 bytes each"));
	}
	Ok(bytes.chunks_exact(32).map(|c| c.try_into().expect("chunks of 32 qed")).collect())
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
	std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
	std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
	use std::os::windows::fs::FileExt;
	while !buf.is_empty() {
		match file.seek_read(buf, offset) {
			Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
			Ok(n) => {
				buf = &mut buf[n..];
				offset += n as u64;
			},
			Err(e) if e.kind() == io::ErrorKind::Interrupted => {},
			Err(e) => return Err(e),
		}
	}
	Ok(())
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
	use std::os::windows::fs::FileExt;
	while !buf.is_empty() {
		match file.seek_write(buf, offset) {
			Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
			Ok(n) => {
				buf = &buf[n..];
				offset += n as u64;
			},
			Err(e) if e.kind() == io::ErrorKind::Interrupted => {},
			Err(e) => return Err(e),
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn blob(len: usize) -> Vec<u8> {
		let mut x = 0x9e37_79b9_u32;
		(0..len)
			.map(|_| {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				x as u8
			})
			.collect()
	}

	#[test]
	fn put_get_and_manifest_agree_with_the_content_id() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		for len in [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17] {
			let data = blob(len);
			let id = store.put(&data).unwrap();
			assert_eq!(id, ContentId::of(&data));
			assert!(store.has(&id));
			assert_eq!(store.get(&id).unwrap().unwrap(), data);
			let manifest = store.manifest(&id).unwrap().unwrap();
			assert!(manifest.matches(&id));
			assert_eq!(manifest.length, len as u64);
		}
		assert_eq!(store.list().unwrap().len(), 5);
	}

	#[test]
	fn put_file_streams_to_the_same_id() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path().join("store")).unwrap();
		for len in [0, CHUNK_SIZE, 2 * CHUNK_SIZE + 5] {
			let data = blob(len);
			let file = dir.path().join(format!("in-{len}"));
			fs::write(&file, &data).unwrap();
			assert_eq!(store.put_file(&file).unwrap(), ContentId::of(&data));
			assert_eq!(store.get(&ContentId::of(&data)).unwrap().unwrap(), data);
		}
	}

	#[test]
	fn read_chunks_clamps_to_the_blob() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let data = blob(2 * CHUNK_SIZE + 10);
		let id = store.put(&data).unwrap();
		assert_eq!(store.read_chunks(&id, 1, 8).unwrap().unwrap(), &data[CHUNK_SIZE..]);
		assert_eq!(store.read_chunks(&id, 0, 1).unwrap().unwrap(), &data[..CHUNK_SIZE]);
		assert_eq!(store.read_chunks(&id, 3, 1).unwrap(), None);
		assert_eq!(store.read_chunks(&ContentId::of(b"other"), 0, 1).unwrap(), None);
	}

	#[test]
	fn a_manifest_for_another_blob_does_not_match() {
		let data = blob(3 * CHUNK_SIZE);
		let tree_leaves: Vec<Hash> = ccgsc_primitives::chunks(&data)
			.enumerate()
			.map(|(i, c)| leaf_hash(i as u32, c))
			.collect();
		let id = ContentId::of(&data);
		let good = Manifest { length: data.len() as u64, leaves: tree_leaves.clone() };
		assert!(good.matches(&id));
		let longer = Manifest { length: data.len() as u64 + 1, leaves: tree_leaves.clone() };
		assert!(!longer.matches(&id));
		let mut swapped = tree_leaves;
		swapped.swap(0, 1);
		assert!(!Manifest { length: data.len() as u64, leaves: swapped }.matches(&id));
	}

	#[test]
	fn partial_refuses_bad_chunks_and_resumes_what_it_has() {
		let dir = tempfile::tempdir().unwrap();
		let source = Store::open(dir.path().join("a")).unwrap();
		let sink = Store::open(dir.path().join("b")).unwrap();
		let data = blob(5 * CHUNK_SIZE + 100);
		let id = source.put(&data).unwrap();
		let manifest = source.manifest(&id).unwrap().unwrap();

		let partial = sink.partial(&id, manifest.clone()).unwrap();
		assert_eq!(partial.missing().len(), 6);
		let mut bad = data[CHUNK_SIZE..3 * CHUNK_SIZE].to_vec();
		bad[7] ^= 1;
		assert!(!partial.write_chunks(1, &bad).unwrap());
		assert!(
			!partial.write_chunks(2, &data[CHUNK_SIZE..3 * CHUNK_SIZE]).unwrap(),
			"wrong index"
		);
		assert!(!partial.write_chunks(1, &data[CHUNK_SIZE..3 * CHUNK_SIZE - 1]).unwrap(), "short");
		assert!(partial.write_chunks(1, &data[CHUNK_SIZE..3 * CHUNK_SIZE]).unwrap());
		assert_eq!(partial.missing(), vec![0, 3, 4, 5]);
		assert!(partial.finish().is_err(), "incomplete blobs stay out of the store");
		assert!(!sink.has(&id));

		// A crash left chunk 4 marked present with garbage behind it: resume drops it.
		let have = dir.path().join("b/partial").join(format!("{}.have", id.to_hex()));
		let mut flags = fs::read(&have).unwrap();
		flags[4] = 1;
		fs::write(&have, flags).unwrap();
		let resumed = sink.partial(&id, manifest).unwrap();
		assert_eq!(resumed.missing(), vec![0, 3, 4, 5]);
		assert_eq!(resumed.present_bytes(), 2 * CHUNK_SIZE as u64);
		assert!(resumed.write_chunks(3, &data[3 * CHUNK_SIZE..]).unwrap());
		assert!(resumed.write_chunks(0, &data[..CHUNK_SIZE]).unwrap());
		assert!(resumed.is_complete());
		resumed.finish().unwrap();
		assert_eq!(sink.get(&id).unwrap().unwrap(), data);
	}

	#[cfg(target_os = "linux")]
	#[test]
	fn a_partial_blob_has_its_disk_space_reserved_before_any_chunk_arrives() {
		use std::os::unix::fs::MetadataExt;
		let dir = tempfile::tempdir().unwrap();
		let source = Store::open(dir.path().join("a")).unwrap();
		let sink = Store::open(dir.path().join("b")).unwrap();
		let data = blob(40 * CHUNK_SIZE + 3);
		let id = source.put(&data).unwrap();
		let partial = sink.partial(&id, source.manifest(&id).unwrap().unwrap()).unwrap();
		assert_eq!(partial.missing().len(), 41);
		let file = dir.path().join("b/partial").join(format!("{}.data", id.to_hex()));
		let meta = fs::metadata(file).unwrap();
		assert_eq!(meta.len(), data.len() as u64);
		assert!(
			meta.blocks() * 512 >= meta.len(),
			"{} of {} bytes allocated",
			meta.blocks() * 512,
			meta.len()
		);
	}

	#[test]
	fn input_lists_are_kept_under_their_root() {
		let dir = tempfile::tempdir().unwrap();
		let store = Store::open(dir.path()).unwrap();
		let ids = vec![ContentId::of(b"a"), ContentId::of(b"b"), ContentId::of(b"c")];
		let root = store.put_inputs(&ids).unwrap();
		assert_eq!(root, ccgsc_primitives::inputs_root(&ids));
		assert_eq!(store.inputs(&root).unwrap(), Some(ids));
		assert_eq!(store.inputs(&[0; 32]).unwrap(), None);
		assert_eq!(store.list_inputs().unwrap(), vec![root]);
	}

	#[test]
	fn the_empty_blob_has_one_empty_chunk() {
		let dir = tempfile::tempdir().unwrap();
		let source = Store::open(dir.path().join("a")).unwrap();
		let sink = Store::open(dir.path().join("b")).unwrap();
		let id = source.put(&[]).unwrap();
		let manifest = source.manifest(&id).unwrap().unwrap();
		assert_eq!(source.read_chunks(&id, 0, 4).unwrap().unwrap(), Vec::<u8>::new());
		let partial = sink.partial(&id, manifest).unwrap();
		assert!(partial.write_chunks(0, &[]).unwrap());
		partial.finish().unwrap();
		assert_eq!(sink.get(&id).unwrap().unwrap(), Vec::<u8>::new());
	}
}
