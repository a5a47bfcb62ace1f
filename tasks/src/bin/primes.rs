//! The `primes` task as a WASI command (and its native twin): stdin -> stdout; see
//! [`ccgsc_tasks::primes`] for the formats. Run natively with
//! `cargo run --release -p ccgsc-tasks --bin primes < input > output`.

fn main() {
	ccgsc_tasks::main_stdio(ccgsc_tasks::primes::run);
}
