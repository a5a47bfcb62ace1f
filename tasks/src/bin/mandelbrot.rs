//! The `mandelbrot` task as a WASI command (and its native twin): stdin -> stdout; see
//! [`ccgsc_tasks::mandelbrot`] for the formats. Run natively with
//! `cargo run --release -p ccgsc-tasks --bin mandelbrot < input > output`.

fn main() {
	ccgsc_tasks::main_stdio(ccgsc_tasks::mandelbrot::run);
}
