//! The seed workloads of `ccgsc-tasks`, built by this crate's build script as
//! `wasm32-wasip1` commands with `simd128`, and embedded as bytes.
//!
//! Build your own task the same way: any program that reads stdin and writes stdout, built
//! for `wasm32-wasip1` (see the README for Rust and C).
#![deny(missing_docs)]

pub mod workloads;

/// Counts and lists primes in a range (`ccgsc_tasks::primes`).
pub const PRIMES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/primes.wasm"));
/// Renders a Mandelbrot tile (`ccgsc_tasks::mandelbrot`).
pub const MANDELBROT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mandelbrot.wasm"));
/// Multiplies matrix tiles (`ccgsc_tasks::matmul`).
pub const MATMUL: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/matmul.wasm"));
/// Searches a password range with PBKDF2-HMAC-SHA256 (`ccgsc_tasks::pwhash`).
pub const PWHASH: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pwhash.wasm"));

/// Every module with its name, in a fixed order.
pub const ALL: [(&str, &[u8]); 4] =
	[("primes", PRIMES), ("mandelbrot", MANDELBROT), ("matmul", MATMUL), ("pwhash", PWHASH)];
