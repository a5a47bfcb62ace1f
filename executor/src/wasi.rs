//! The deterministic WASI preview 1 host that tasks run against.
//!
//! Every function of `wasi_snapshot_preview1` is present, so that any toolchain's WASI
//! command links, but only these do something:
//!
//! | function | behaviour |
//! | --- | --- |
//! | `fd_read(0)` | reads the task input |
//! | `fd_write(1)` | appends to the output; past the job's output limit the task ends with `OutputTooLarge` |
//! | `fd_write(2)` | keeps the first bytes of stderr for the logs, drops the rest |
//! | `args_*` | `task` followed by the job's arguments |
//! | `environ_*` | empty |
//! | `clock_time_get` | a fixed instant: [`FIXED_REALTIME_NS`] for the real-time clock, 0 for the others |
//! | `random_get` | a blake2 stream seeded from the task's id (see [`RandomStream`]) |
//! | `proc_exit` | ends the task with that exit code |
//! | `fd_fdstat_get(0..=2)` | a stream with read or write rights |
//!
//! Everything else answers with an error code and no effect: `EBADF` for descriptors (there
//! are no preopened directories, so wasi-libc finds no filesystem), `ENOTCAPABLE` for paths
//! and sockets, `ENOTSUP` for `poll_oneoff` and `proc_raise`.
//!
//! Bytes the host moves (read, written, randomized) cost one work unit per 64 bytes, so host
//! I/O counts against the work limit as deterministically as Wasm instructions do.

use ccgsc_primitives::{Hash, Limits, TaskRef};
use codec::Encode;
use wasmtime::{Caller, Extern, FuncType, Linker, ResourceLimiter, Val, ValType};

const MODULE: &str = "wasi_snapshot_preview1";

/// The real-time clock's fixed reading: 2020-01-01T00:00:00Z in nanoseconds.
pub const FIXED_REALTIME_NS: u64 = 1_577_836_800_000_000_000;

/// Work units charged per this many bytes moved by the host.
const BYTES_PER_WORK_UNIT: u64 = 64;

/// Most table elements a task may have.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

mod errno {
	pub const SUCCESS: i32 = 0;
	pub const BADF: i32 = 8;
	pub const FAULT: i32 = 21;
	pub const INVAL: i32 = 28;
	pub const NOTSUP: i32 = 58;
	pub const SPIPE: i32 = 70;
	pub const NOTCAPABLE: i32 = 76;
}

/// Why the host stopped a task.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
	/// `proc_exit` with this code.
	#[error("proc_exit({0})")]
	Exit(i32),
	/// The output limit was reached.
	#[error("output limit reached")]
	OutputTooLarge,
	/// Memory or a table grew past the limit.
	#[error("memory limit reached")]
	MemoryLimit,
	/// The module broke the ABI (for example, it exports no memory).
	#[error("task ABI violation: {0}")]
	Abi(&'static str),
}

/// The stream behind `random_get`: block `k` is `blake2_256(seed ‖ k)` with `seed =
/// blake2_256("ccgsc/rn" ‖ SCALE(task))`, so every replica of a task draws the same bytes and
/// every task draws different ones.
#[derive(Debug, Clone)]
pub struct RandomStream {
	seed: Hash,
	counter: u64,
	block: Hash,
	used: usize,
}

impl RandomStream {
	/// The stream of `task`.
	pub fn new(task: TaskRef) -> Self {
		let mut preimage = b"ccgsc/rn".to_vec();
		task.encode_to(&mut preimage);
		Self { seed: ccgsc_primitives::hash(&preimage), counter: 0, block: [0; 32], used: 32 }
	}

	/// Fills `out` with the next bytes of the stream.
	pub fn fill(&mut self, out: &mut [u8]) {
		for byte in out {
			if self.used == self.block.len() {
				let mut preimage = [0u8; 40];
				preimage[..32].copy_from_slice(&self.seed);
				preimage[32..].copy_from_slice(&self.counter.to_le_bytes());
				self.block = ccgsc_primitives::hash(&preimage);
				self.counter += 1;
				self.used = 0;
			}
			*byte = self.block[self.used];
			self.used += 1;
		}
	}
}

/// The per-task state a store carries.
pub struct Host {
	input: Vec<u8>,
	input_pos: usize,
	output: Vec<u8>,
	output_limit: u64,
	stderr: Vec<u8>,
	stderr_limit: usize,
	args: Vec<Vec<u8>>,
	random: RandomStream,
	memory_limit: u64,
}

impl Host {
	/// The state for one run of `task`.
	pub fn new(
		task: TaskRef,
		input: Vec<u8>,
		args: &[String],
		limits: Limits,
		stderr_limit: usize,
	) -> Self {
		let args = std::iter::once("task")
			.chain(args.iter().map(String::as_str))
			.map(|a| a.bytes().chain(std::iter::once(0)).collect())
			.collect();
		Self {
			input,
			input_pos: 0,
			output: Vec::new(),
			output_limit: limits.output,
			stderr: Vec::new(),
			stderr_limit,
			args,
			random: RandomStream::new(task),
			memory_limit: limits.memory,
		}
	}

	/// The output and the kept stderr.
	pub fn into_output(self) -> (Vec<u8>, Vec<u8>) {
		(self.output, self.stderr)
	}
}

impl ResourceLimiter for Host {
	fn memory_growing(
		&mut self,
		_current: usize,
		desired: usize,
		_maximum: Option<usize>,
	) -> wasmtime::Result<bool> {
		if desired as u64 > self.memory_limit {
			return Err(HostError::MemoryLimit.into());
		}
		Ok(true)
	}

	fn table_growing(
		&mut self,
		_current: usize,
		desired: usize,
		_maximum: Option<usize>,
	) -> wasmtime::Result<bool> {
		if desired > MAX_TABLE_ELEMENTS {
			return Err(HostError::MemoryLimit.into());
		}
		Ok(true)
	}
}

/// The guest's memory, borrowed together with the host state.
fn memory<'a>(caller: &'a mut Caller<'_, Host>) -> wasmtime::Result<(&'a mut [u8], &'a mut Host)> {
	match caller.get_export("memory") {
		Some(Extern::Memory(memory)) => Ok(memory.data_and_store_mut(caller)),
		_ => Err(HostError::Abi("the module exports no memory named `memory`").into()),
	}
}

fn read_u32(mem: &[u8], ptr: u32) -> Option<u32> {
	let bytes = mem.get(ptr as usize..(ptr as usize).checked_add(4)?)?;
	Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn write_bytes(mem: &mut [u8], ptr: u32, bytes: &[u8]) -> Option<()> {
	mem.get_mut(ptr as usize..(ptr as usize).checked_add(bytes.len())?)?.copy_from_slice(bytes);
	Some(())
}

/// The (pointer, length) pairs of an iovec array, or `None` if any lies outside memory.
fn iovecs(mem: &[u8], iovs: u32, count: u32) -> Option<Vec<(usize, usize)>> {
	(0..count)
		.map(|i| {
			let at = iovs.checked_add(i.checked_mul(8)?)?;
			let (ptr, len) =
				(read_u32(mem, at)? as usize, read_u32(mem, at.checked_add(4)?)? as usize);
			(ptr.checked_add(len)? <= mem.len()).then_some((ptr, len))
		})
		.collect()
}

fn charge(caller: &mut Caller<'_, Host>, bytes: u64) -> wasmtime::Result<()> {
	let fuel = caller.get_fuel()?;
	caller.set_fuel(fuel.saturating_sub(bytes / BYTES_PER_WORK_UNIT))
}

fn fd_write(
	mut caller: Caller<'_, Host>,
	fd: i32,
	iovs: i32,
	count: i32,
	written: i32,
) -> wasmtime::Result<i32> {
	let (mem, host) = memory(&mut caller)?;
	let Some(pieces) = iovecs(mem, iovs as u32, count as u32) else { return Ok(errno::FAULT) };
	let mut total = 0u64;
	for (ptr, len) in pieces {
		let bytes = &mem[ptr..ptr + len];
		match fd {
			1 => {
				if host.output.len() as u64 + len as u64 > host.output_limit {
					return Err(HostError::OutputTooLarge.into());
				}
				host.output.extend_from_slice(bytes);
			},
			2 => {
				let room = host.stderr_limit.saturating_sub(host.stderr.len());
				host.stderr.extend_from_slice(&bytes[..len.min(room)]);
			},
			_ => return Ok(errno::BADF),
		}
		total += len as u64;
	}
	if write_bytes(mem, written as u32, &(total as u32).to_le_bytes()).is_none() {
		return Ok(errno::FAULT);
	}
	charge(&mut caller, total)?;
	Ok(errno::SUCCESS)
}

fn fd_read(
	mut caller: Caller<'_, Host>,
	fd: i32,
	iovs: i32,
	count: i32,
	read: i32,
) -> wasmtime::Result<i32> {
	if fd != 0 {
		return Ok(errno::BADF);
	}
	let (mem, host) = memory(&mut caller)?;
	let Some(pieces) = iovecs(mem, iovs as u32, count as u32) else { return Ok(errno::FAULT) };
	let mut total = 0usize;
	for (ptr, len) in pieces {
		let rest = &host.input[host.input_pos..];
		let n = len.min(rest.len());
		mem[ptr..ptr + n].copy_from_slice(&rest[..n]);
		host.input_pos += n;
		total += n;
		if n < len {
			break;
		}
	}
	if write_bytes(mem, read as u32, &(total as u32).to_le_bytes()).is_none() {
		return Ok(errno::FAULT);
	}
	charge(&mut caller, total as u64)?;
	Ok(errno::SUCCESS)
}

fn random_get(mut caller: Caller<'_, Host>, buf: i32, len: i32) -> wasmtime::Result<i32> {
	let (mem, host) = memory(&mut caller)?;
	let (start, len) = (buf as u32 as usize, len as u32 as usize);
	let Some(out) = start.checked_add(len).and_then(|end| mem.get_mut(start..end)) else {
		return Ok(errno::FAULT);
	};
	host.random.fill(out);
	charge(&mut caller, len as u64)?;
	Ok(errno::SUCCESS)
}

/// Writes the sizes of a list of NUL-terminated strings (`args` or `environ`).
fn list_sizes(
	caller: &mut Caller<'_, Host>,
	args: bool,
	count_ptr: i32,
	size_ptr: i32,
) -> wasmtime::Result<i32> {
	let (mem, host) = memory(caller)?;
	let list: &[Vec<u8>] = if args { &host.args } else { &[] };
	let size: usize = list.iter().map(Vec::len).sum();
	let ok = write_bytes(mem, count_ptr as u32, &(list.len() as u32).to_le_bytes())
		.and_then(|()| write_bytes(mem, size_ptr as u32, &(size as u32).to_le_bytes()));
	Ok(if ok.is_some() { errno::SUCCESS } else { errno::FAULT })
}

/// Writes a list of NUL-terminated strings and the pointers to them.
fn list_get(
	caller: &mut Caller<'_, Host>,
	args: bool,
	ptrs: i32,
	buf: i32,
) -> wasmtime::Result<i32> {
	let (mem, host) = memory(caller)?;
	let list: &[Vec<u8>] = if args { &host.args } else { &[] };
	let mut at = buf as u32;
	for (i, item) in list.iter().enumerate() {
		let ok = write_bytes(mem, (ptrs as u32).wrapping_add(4 * i as u32), &at.to_le_bytes())
			.and_then(|()| write_bytes(mem, at, item));
		if ok.is_none() {
			return Ok(errno::FAULT);
		}
		at = at.wrapping_add(item.len() as u32);
	}
	Ok(errno::SUCCESS)
}

fn write_u64(caller: &mut Caller<'_, Host>, ptr: i32, value: u64) -> wasmtime::Result<i32> {
	let (mem, _) = memory(caller)?;
	Ok(if write_bytes(mem, ptr as u32, &value.to_le_bytes()).is_some() {
		errno::SUCCESS
	} else {
		errno::FAULT
	})
}

/// The functions that do nothing but answer an error code: name, parameter types, errno.
const REFUSED: &[(&str, &str, i32)] = &[
	("fd_advise", "iIIi", errno::BADF),
	("fd_allocate", "iII", errno::BADF),
	("fd_datasync", "i", errno::BADF),
	("fd_fdstat_set_flags", "ii", errno::BADF),
	("fd_fdstat_set_rights", "iII", errno::BADF),
	("fd_filestat_get", "ii", errno::BADF),
	("fd_filestat_set_size", "iI", errno::BADF),
	("fd_filestat_set_times", "iIIi", errno::BADF),
	("fd_pread", "iiiIi", errno::BADF),
	("fd_prestat_get", "ii", errno::BADF),
	("fd_prestat_dir_name", "iii", errno::BADF),
	("fd_pwrite", "iiiIi", errno::BADF),
	("fd_readdir", "iiiIi", errno::BADF),
	("fd_renumber", "ii", errno::BADF),
	("fd_sync", "i", errno::BADF),
	("fd_tell", "ii", errno::SPIPE),
	("path_create_directory", "iii", errno::NOTCAPABLE),
	("path_filestat_get", "iiiii", errno::NOTCAPABLE),
	("path_filestat_set_times", "iiiiIIi", errno::NOTCAPABLE),
	("path_link", "iiiiiii", errno::NOTCAPABLE),
	("path_open", "iiiiiIIii", errno::NOTCAPABLE),
	("path_readlink", "iiiiii", errno::NOTCAPABLE),
	("path_remove_directory", "iii", errno::NOTCAPABLE),
	("path_rename", "iiiiii", errno::NOTCAPABLE),
	("path_symlink", "iiiii", errno::NOTCAPABLE),
	("path_unlink_file", "iii", errno::NOTCAPABLE),
	("poll_oneoff", "iiii", errno::NOTSUP),
	("proc_raise", "i", errno::NOTSUP),
	("sock_accept", "iii", errno::NOTCAPABLE),
	("sock_recv", "iiiiii", errno::NOTCAPABLE),
	("sock_send", "iiiii", errno::NOTCAPABLE),
	("sock_shutdown", "ii", errno::NOTCAPABLE),
];

/// Adds every `wasi_snapshot_preview1` function to `linker`.
///
/// # Errors
/// Only if a name is defined twice, which would be a bug here.
pub fn add_to_linker(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
	linker.func_wrap(MODULE, "fd_write", fd_write)?;
	linker.func_wrap(MODULE, "fd_read", fd_read)?;
	linker.func_wrap(MODULE, "random_get", random_get)?;
	linker.func_wrap(MODULE, "args_sizes_get", |mut c: Caller<'_, Host>, n: i32, s: i32| {
		list_sizes(&mut c, true, n, s)
	})?;
	linker.func_wrap(MODULE, "args_get", |mut c: Caller<'_, Host>, p: i32, b: i32| {
		list_get(&mut c, true, p, b)
	})?;
	linker.func_wrap(MODULE, "environ_sizes_get", |mut c: Caller<'_, Host>, n: i32, s: i32| {
		list_sizes(&mut c, false, n, s)
	})?;
	linker.func_wrap(MODULE, "environ_get", |mut c: Caller<'_, Host>, p: i32, b: i32| {
		list_get(&mut c, false, p, b)
	})?;
	linker.func_wrap(MODULE, "clock_res_get", |mut c: Caller<'_, Host>, id: i32, out: i32| {
		if !(0..4).contains(&id) {
			return Ok(errno::INVAL);
		}
		write_u64(&mut c, out, 1)
	})?;
	linker.func_wrap(
		MODULE,
		"clock_time_get",
		|mut c: Caller<'_, Host>, id: i32, _precision: i64, out: i32| match id {
			0 => write_u64(&mut c, out, FIXED_REALTIME_NS),
			1..=3 => write_u64(&mut c, out, 0),
			_ => Ok(errno::INVAL),
		},
	)?;
	linker.func_wrap(MODULE, "fd_fdstat_get", |mut c: Caller<'_, Host>, fd: i32, out: i32| {
		// Filetype 0 (unknown) so C stdio buffers fully; rights: fd_read (bit 1) or fd_write (bit 6).
		let rights: u64 = match fd {
			0 => 1 << 1,
			1 | 2 => 1 << 6,
			_ => return Ok(errno::BADF),
		};
		let mut stat = [0u8; 24];
		stat[8..16].copy_from_slice(&rights.to_le_bytes());
		let (mem, _) = memory(&mut c)?;
		Ok(if write_bytes(mem, out as u32, &stat).is_some() {
			errno::SUCCESS
		} else {
			errno::FAULT
		})
	})?;
	linker.func_wrap(MODULE, "fd_close", |fd: i32| {
		if (0..3).contains(&fd) {
			errno::SUCCESS
		} else {
			errno::BADF
		}
	})?;
	linker.func_wrap(MODULE, "fd_seek", |fd: i32, _offset: i64, _whence: i32, _out: i32| {
		if (0..3).contains(&fd) {
			errno::SPIPE
		} else {
			errno::BADF
		}
	})?;
	linker.func_wrap(MODULE, "sched_yield", || errno::SUCCESS)?;
	linker.func_wrap(MODULE, "proc_exit", |code: i32| -> wasmtime::Result<()> {
		Err(HostError::Exit(code).into())
	})?;

	for (name, params, code) in REFUSED {
		let params = params.chars().map(|p| if p == 'I' { ValType::I64 } else { ValType::I32 });
		let ty = FuncType::new(linker.engine(), params, [ValType::I32]);
		let code = *code;
		linker.func_new(MODULE, name, ty, move |_, _, results: &mut [Val]| {
			results[0] = Val::I32(code);
			Ok(())
		})?;
	}
	Ok(())
}

/// The standard probe module behind [`crate::Executor::probe`]: an endless loop of integer
/// arithmetic, memory traffic and float work, stopped by the work limit.
pub fn probe_module() -> Vec<u8> {
	wat::parse_str(PROBE_WAT).expect("the probe module is valid WAT; qed")
}

const PROBE_WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32) (local $x i64) (local $f f64)
    (local.set $x (i64.const 88172645463325252))
    (local.set $f (f64.const 1.0))
    (loop $l
      ;; xorshift
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
      (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
      (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
      ;; memory traffic within the first page
      (local.set $i (i32.and (i32.wrap_i64 (local.get $x)) (i32.const 0xfff8)))
      (i64.store (local.get $i) (i64.add (i64.load (local.get $i)) (local.get $x)))
      ;; float work
      (local.set $f (f64.add (f64.mul (local.get $f) (f64.const 0.999999)) (f64.const 0.5)))
      (br $l)))
)
"#;

/// Memory the chase probe ([`chase_probe_module`]) goes through: far more than any cache.
pub const CHASE_BYTES: u64 = 64 << 20;

/// Work units the chase probe spends filling its memory before it chases.
pub const CHASE_FILL_WORK: u64 = chase_fill_work(CHASE_BYTES);

/// The probe behind [`crate::Speed::slowest`]: [`chase_module`] through [`CHASE_BYTES`].
pub fn chase_probe_module() -> Vec<u8> {
	chase_module(CHASE_BYTES)
}

/// Work units [`chase_module`]`(bytes)` spends filling its memory before it chases: 21 per
/// cache line, one for each operator of the fill loop (fuel charges nothing for `loop` and
/// `end`).
pub const fn chase_fill_work(bytes: u64) -> u64 {
	21 * (bytes / 64)
}

/// A module that writes one cycle through the cache lines of `bytes` of memory (a power of
/// two, at least 64 KiB and at most 2 GiB; line `j` links to line `(j × 0x9E3779B1 + 1) mod
/// lines`, a full-period congruential step, so the next line is nowhere near and no
/// prefetcher guesses it) and then follows the links until the work limit stops it: a load,
/// whose address is the last load's value, every four work units.
pub fn chase_module(bytes: u64) -> Vec<u8> {
	let lines = bytes / 64;
	let wat = CHASE_WAT
		.replace("PAGES", &(bytes >> 16).to_string())
		.replace("LINES", &lines.to_string())
		.replace("MASK", &(lines - 1).to_string());
	wat::parse_str(wat).expect("the chase module is valid WAT; qed")
}

const CHASE_WAT: &str = r#"
(module
  (memory (export "memory") PAGES)
  (func (export "_start")
    (local $j i32) (local $p i32)
    (loop $fill
      (i32.store (i32.shl (local.get $j) (i32.const 6))
        (i32.shl
          (i32.and (i32.add (i32.mul (local.get $j) (i32.const 0x9E3779B1)) (i32.const 1))
            (i32.const MASK))
          (i32.const 6)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $j) (i32.const LINES))))
    (loop $chase
      (local.set $p (i32.load (local.get $p)))
      (br $chase)))
)
"#;
