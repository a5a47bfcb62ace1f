//! The worker's and checker's small state files ([`crate::ledger`], the leases held): a
//! format byte, then the SCALE encoding of one value, replaced whole on every write (a
//! temporary file renamed over the old one), so a reader finds the old value or the new one,
//! never a mix.

use std::{
	fs,
	io::{self, Write},
	path::{Path, PathBuf},
};

use codec::{DecodeAll, Encode};

/// The value `path` holds in format `format`, or `None` if there is no such file.
///
/// # Errors
/// If the file cannot be read, or holds something else (`InvalidData`).
pub fn read<T: DecodeAll>(path: &Path, format: u8) -> io::Result<Option<T>> {
	let bytes = match fs::read(path) {
		Ok(bytes) => bytes,
		Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
		Err(e) => return Err(e),
	};
	match bytes.split_first() {
		Some((first, mut rest)) if *first == format => T::decode_all(&mut rest).map(Some).ok(),
		_ => None,
	}
	.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not in the expected format"))
}

/// Replaces what `path` holds with `value` in format `format`; with `durable`, the new file is
/// on disk (flushed, and its directory too) when this returns.
///
/// # Errors
/// If the file cannot be written.
pub fn write<T: Encode>(path: &Path, format: u8, value: &T, durable: bool) -> io::Result<()> {
	let mut bytes = vec![format];
	value.encode_to(&mut bytes);
	let mut tmp = path.as_os_str().to_owned();
	tmp.push(".tmp");
	let tmp = PathBuf::from(tmp);
	let mut file = fs::File::create(&tmp)?;
	file.write_all(&bytes)?;
	if durable {
		file.sync_all()?;
	}
	fs::rename(&tmp, path)?;
	if let Some(dir) = path.parent().filter(|d| durable && !d.as_os_str().is_empty()) {
		fs::File::open(dir)?.sync_all()?;
	}
	Ok(())
}
