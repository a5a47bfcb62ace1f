//! Finding the content network without being told: a portal writes its libp2p addresses to
//! [`ADDRS_FILE`] in its folder, and a worker, checker or CLI given no `--bootstrap` joins
//! through the portal whose folder is beside its own.
//!
//! Every client's default folder is under `.ccgsc/` (`.ccgsc/worker`, `.ccgsc/checker`,
//! `.ccgsc/cli`), and so is the portal's (`.ccgsc/portal`, where `./dev up` runs it too), so
//! one started by hand in the folder a marketplace runs from finds it; so does one whose
//! folder is inside a `ccgsc up --state` folder. The portal writes the file whole (a rename)
//! and removes it when it stops, so a client never reads half a list, and finds none when no
//! portal runs there.

use std::{
	fmt,
	io::{self, Write},
	path::{Path, PathBuf},
};

use crate::Multiaddr;

/// The file in a portal's folder that holds its libp2p addresses, one a line.
pub const ADDRS_FILE: &str = "p2p-addrs";

/// The peers a client joins the content network through, and where they came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bootstrap {
	/// The addresses, each ending in `/p2p/<peer id>`.
	pub addrs: Vec<Multiaddr>,
	/// The portal's file they were looked for in (with no address when it does not exist);
	/// `None` for addresses given with `--bootstrap`.
	pub file: Option<PathBuf>,
}

impl Bootstrap {
	/// `given` when there are any; otherwise the addresses the portal beside `dir` (the
	/// client's own folder) wrote to `portal/p2p-addrs`, and none when there is no such file.
	///
	/// # Errors
	/// When that file exists but cannot be read or holds a line that is no address.
	pub fn resolve(given: Vec<Multiaddr>, dir: &Path) -> io::Result<Self> {
		if !given.is_empty() {
			return Ok(Self { addrs: given, file: None });
		}
		let Some(file) = Self::beside(dir) else { return Ok(Self::default()) };
		let addrs = match read(&file) {
			Ok(addrs) => addrs,
			Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
			Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", file.display()))),
		};
		Ok(Self { addrs, file: Some(file) })
	}

	/// The portal's file the addresses were read from; `None` for addresses given with
	/// `--bootstrap`, and when there are none.
	pub fn portal_file(&self) -> Option<&Path> {
		self.file.as_deref().filter(|_| !self.addrs.is_empty())
	}

	/// With no address, what was looked for, in words: "no --bootstrap and no portal's
	/// addresses in `<file>`"; `None` when there are addresses.
	pub fn none_found(&self) -> Option<String> {
		if !self.addrs.is_empty() {
			return None;
		}
		Some(match &self.file {
			Some(file) => format!("no --bootstrap and no portal's addresses in {}", file.display()),
			None => "no --bootstrap".into(),
		})
	}

	/// Where a portal beside the folder `dir` writes its addresses: `portal/p2p-addrs` in
	/// `dir`'s parent (`.ccgsc/portal/p2p-addrs` for `.ccgsc/cli`); `None` for a root.
	pub fn beside(dir: &Path) -> Option<PathBuf> {
		let parent = dir.parent()?;
		Some(parent.join("portal").join(ADDRS_FILE))
	}
}

/// The addresses, separated by commas.
impl fmt::Display for Bootstrap {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		let addrs: Vec<String> = self.addrs.iter().map(Multiaddr::to_string).collect();
		write!(f, "{}", addrs.join(", "))
	}
}

/// The addresses in a portal's `file`, one a line (blank lines skipped).
///
/// # Errors
/// When the file cannot be read, or a line is no multiaddr (`InvalidData`, naming the line).
pub fn read(file: &Path) -> io::Result<Vec<Multiaddr>> {
	std::fs::read_to_string(file)?
		.lines()
		.enumerate()
		.filter(|(_, line)| !line.trim().is_empty())
		.map(|(i, line)| {
			line.trim().parse().map_err(|e| {
				io::Error::new(
					io::ErrorKind::InvalidData,
					format!("line {} ({:?}) is no libp2p address: {e}", i + 1, line.trim()),
				)
			})
		})
		.collect()
}

/// Writes `addrs` to [`ADDRS_FILE`] in the portal's folder `dir`, whole: to a temporary file
/// first, then renamed over it, so a client reads the old list or the new one, never part.
///
/// # Errors
/// When the file cannot be written.
pub fn write(dir: &Path, addrs: &[Multiaddr]) -> io::Result<PathBuf> {
	let file = dir.join(ADDRS_FILE);
	let partial = dir.join(format!("{ADDRS_FILE}.partial"));
	let mut out = std::fs::File::create(&partial)?;
	for addr in addrs {
		writeln!(out, "{addr}")?;
	}
	out.sync_all()?;
	std::fs::rename(&partial, &file)?;
	Ok(file)
}

/// Removes the portal's [`ADDRS_FILE`] from `dir` if it still lists `addrs` (another portal
/// started on the same folder since has its own there), so clients started after the
/// portal stopped find none rather than addresses nobody answers at.
pub fn remove(dir: &Path, addrs: &[Multiaddr]) {
	let file = dir.join(ADDRS_FILE);
	if read(&file).is_ok_and(|listed| listed == addrs) {
		let _ = std::fs::remove_file(file);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn addr(port: u16) -> Multiaddr {
		let peer = libp2p::identity::Keypair::ed25519_from_bytes([7; 32]).unwrap().public();
		format!("/ip4/127.0.0.1/tcp/{port}/p2p/{}", peer.to_peer_id()).parse().unwrap()
	}

	/// A client with no `--bootstrap` finds what the portal beside its folder wrote, and none
	/// once the portal has removed it; given addresses win; a file with a bad line is an
	/// error that names it.
	#[test]
	fn a_client_finds_the_portal_beside_its_folder() {
		let root = tempfile::tempdir().unwrap();
		let (portal, cli) = (root.path().join("portal"), root.path().join("cli"));
		std::fs::create_dir_all(&portal).unwrap();
		let file = portal.join(ADDRS_FILE);
		let none = Bootstrap { addrs: vec![], file: Some(file.clone()) };
		assert_eq!(Bootstrap::resolve(vec![], &cli).unwrap(), none);
		assert_eq!(
			none.none_found().unwrap(),
			format!("no --bootstrap and no portal's addresses in {}", file.display())
		);
		assert_eq!(none.portal_file(), None);
		let root_dir = Bootstrap::resolve(vec![], Path::new("/")).unwrap();
		assert_eq!(root_dir, Bootstrap::default());
		assert_eq!(root_dir.none_found().unwrap(), "no --bootstrap");

		let addrs = vec![addr(4001), addr(4002)];
		assert_eq!(write(&portal, &addrs).unwrap(), file);
		assert!(!portal.join("p2p-addrs.partial").exists());
		let found = Bootstrap::resolve(vec![], &cli).unwrap();
		assert_eq!(found, Bootstrap { addrs: addrs.clone(), file: Some(file.clone()) });
		assert_eq!((found.portal_file(), found.none_found()), (Some(file.as_path()), None));
		assert_eq!(found.to_string(), format!("{}, {}", addrs[0], addrs[1]));
		let given = Bootstrap::resolve(vec![addr(5000)], &cli).unwrap();
		assert_eq!(given, Bootstrap { addrs: vec![addr(5000)], file: None });
		assert_eq!(given.to_string(), addr(5000).to_string());
		assert_eq!((given.portal_file(), given.none_found()), (None, None));

		// Another portal's list on the same folder stays; this one's goes.
		remove(&portal, &[addr(9)]);
		assert!(file.exists());
		remove(&portal, &addrs);
		assert!(!file.exists());
		assert_eq!(Bootstrap::resolve(vec![], &cli).unwrap(), none);

		std::fs::write(&file, format!("{}\n\nnot an address\n", addrs[0])).unwrap();
		let e = Bootstrap::resolve(vec![], &cli).unwrap_err();
		assert_eq!(e.kind(), io::ErrorKind::InvalidData);
		let said = e.to_string();
		assert!(said.starts_with(&format!("{}: line 3 (\"not an address\")", file.display())));
	}
}
