use super::*;

fn hex(bytes: &[u8]) -> String {
	bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn primes_known_answers() {
	let (count, list) =
		primes::decode(&primes::run(&primes::input(0, 1_000_000), &[]).unwrap()).unwrap();
	assert_eq!(count, 78_498);
	assert_eq!(list.len(), 78_498);
	assert_eq!(&list[..5], &[2, 3, 5, 7, 11]);
	assert_eq!(list.last(), Some(&999_983));

	let (count, list) = primes::decode(&primes::run(&primes::input(0, 100), &[]).unwrap()).unwrap();
	assert_eq!((count, list.len()), (25, 25));

	// pi(10^7) - pi(10^6), counted in a segment, count only.
	let out = primes::run(&primes::input(1_000_000, 10_000_000), &["--count".into()]).unwrap();
	assert_eq!(out.len(), 8);
	assert_eq!(primes::decode(&out).unwrap().0, 664_579 - 78_498);
}

#[test]
fn primes_split_ranges_add_up() {
	let count =
		|lo, hi| primes::decode(&primes::run(&primes::input(lo, hi), &[]).unwrap()).unwrap().0;
	let parts: u64 = (0..10).map(|i| count(i * 100_000, (i + 1) * 100_000)).sum();
	assert_eq!(parts, 78_498);
	assert_eq!(count(7, 7), 0);
	assert_eq!(count(0, 2), 0);
	assert_eq!(count(2, 3), 1);
}

#[test]
fn primes_bad_input() {
	assert_eq!(primes::run(&[1, 2, 3], &[]), Err(BadInput("input too short")));
	assert_eq!(primes::run(&primes::input(5, 4), &[]), Err(BadInput("lo > hi")));
	assert_eq!(
		primes::run(&[primes::input(0, 4), vec![0]].concat(), &[]),
		Err(BadInput("trailing bytes after the input"))
	);
}

#[test]
fn sha256_and_pbkdf2_known_answers() {
	assert_eq!(
		hex(&pwhash::sha256(b"abc")),
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	);
	assert_eq!(
		hex(&pwhash::sha256(b"")),
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	);
	// FIPS 180-2, appendix B.2: 56 bytes, so the padding takes a second block.
	assert_eq!(
		hex(&pwhash::sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
	);
	// RFC 7914, section 11.
	let mut dk = [0u8; 64];
	pwhash::pbkdf2_sha256(b"passwd", b"salt", 1, &mut dk);
	assert_eq!(
		hex(&dk),
		"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
		 49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
	);
}

#[test]
fn pwhash_finds_the_key_in_range_and_not_outside() {
	let salt = *b"ccgsc-test-salt!";
	let mut target = [0u8; 32];
	pwhash::pbkdf2_sha256(pwhash::password(4321, 4).as_bytes(), &salt, 100, &mut target);
	assert_eq!(pwhash::password(42, 4), "0042");
	let search =
		pwhash::Search { salt, iterations: 100, digits: 4, start: 4000, end: 4400, target };
	let hit = pwhash::run(&search.input(), &[]).unwrap();
	assert_eq!(hit, [&[1u8][..], &4321u64.to_le_bytes()].concat());
	assert_eq!(pwhash::found(&hit), Ok(Some(4321)));
	let miss = pwhash::Search { start: 0, end: 400, ..search };
	let missed = pwhash::run(&miss.input(), &[]).unwrap();
	assert_eq!(missed, vec![0]);
	assert_eq!(pwhash::found(&missed), Ok(None));
	for not_an_output in [&[][..], &[2], &hit[..5], &[0, 0]] {
		assert!(pwhash::found(not_an_output).is_err(), "{not_an_output:?}");
	}
	let bad = pwhash::Search { iterations: 0, ..search };
	assert!(pwhash::run(&bad.input(), &[]).is_err());
}

#[test]
fn matmul_known_answer() {
	// [1 2; 3 4] x [5 6; 7 8] = [19 22; 43 50]
	let out =
		matmul::run(&matmul::input(2, 2, 2, &[1., 2., 3., 4.], &[5., 6., 7., 8.]), &[]).unwrap();
	let c: Vec<f32> =
		out.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
	assert_eq!(c, vec![19., 22., 43., 50.]);
	assert!(matmul::run(&matmul::input(2, 2, 2, &[1., 2., 3.], &[5., 6., 7., 8.]), &[]).is_err());
	assert!(matmul::run(&matmul::input(0, 2, 2, &[], &[]), &[]).is_err());
}

#[test]
fn matmul_blocks_and_edges_sum_in_order_of_k_like_the_textbook_loop() {
	// Sides that are and are not multiples of the kernel's block, with values whose sums
	// round differently in another order, so a change of order shows as different bits.
	for (rows, inner, cols) in [(8, 16, 16), (9, 13, 21), (3, 7, 5), (12, 1, 8), (5, 33, 17)] {
		let a: Vec<f32> = (0..rows * inner).map(|i| 1.0 / (i as f32 + 0.7) - 0.3).collect();
		let b: Vec<f32> = (0..inner * cols).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
		let mut expected = vec![0f32; rows * cols];
		for i in 0..rows {
			for j in 0..cols {
				for k in 0..inner {
					expected[i * cols + j] += a[i * inner + k] * b[k * cols + j];
				}
			}
		}
		let c = matmul::multiply(rows, inner, cols, &a, &b);
		let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
		assert_eq!(bits(&c), bits(&expected), "{rows} × {inner} × {cols}");
	}
}

#[test]
fn mandelbrot_inside_and_outside() {
	// One pixel at the origin (inside) and one at 2+2i (escapes after one iteration:
	// 1 + 254 * 1 / 100 = 3).
	let inside =
		mandelbrot::Tile { x0: 0.0, y0: 0.0, step: 1.0, width: 1, height: 1, max_iter: 100 };
	assert_eq!(mandelbrot::run(&inside.input(), &[]).unwrap(), vec![0]);
	let outside = mandelbrot::Tile { x0: 2.0, y0: 2.0, ..inside };
	assert_eq!(mandelbrot::run(&outside.input(), &[]).unwrap(), vec![3]);
	let grid = mandelbrot::Tile::grid((-0.5, 0.0, 3.0), (64, 48), (4, 3), 200);
	assert_eq!(grid.len(), 12);
	assert!(grid.iter().all(|t| (t.width, t.height) == (16, 16)));
	let bad = mandelbrot::Tile { width: 0, ..inside };
	assert!(mandelbrot::run(&bad.input(), &[]).is_err());
}

#[test]
fn mandelbrot_tiles_decode_and_lay_out_as_the_grid_cut_them() {
	let grid = mandelbrot::Tile::grid((-0.5, 0.0, 3.0), (64, 48), (4, 3), 50);
	let decoded: Vec<_> =
		grid.iter().map(|t| mandelbrot::Tile::decode(&t.input()).unwrap()).collect();
	assert_eq!(decoded, grid);
	assert!(mandelbrot::Tile::decode(&grid[0].input()[..35]).is_err());
	let no_iterations = mandelbrot::Tile { max_iter: 0, ..grid[0] };
	assert!(mandelbrot::Tile::decode(&no_iterations.input()).is_err());

	// Tile 5 is the second of the second row of 4: 16 pixels right, 16 down.
	let layout = mandelbrot::Layout::of(&grid).unwrap();
	assert_eq!((layout.width, layout.height), (64, 48));
	let rect = mandelbrot::Rect { x: 16, y: 16, width: 16, height: 16 };
	assert_eq!(layout.tiles[5], rect);

	// Each tile's output where its tile lies: here tile i's pixels are all i + 1.
	let outputs: Vec<Vec<u8>> = (1..=12).map(|i| vec![i; 16 * 16]).collect();
	let outputs: Vec<&[u8]> = outputs.iter().map(Vec::as_slice).collect();
	let image = layout.image(&outputs).unwrap();
	assert_eq!(image.len(), 64 * 48);
	for (at, pixel) in image.iter().enumerate() {
		let (x, y) = (at % 64, at / 64);
		assert_eq!(*pixel as usize, 1 + x / 16 + 4 * (y / 16), "pixel ({x}, {y})");
	}
	assert_eq!(layout.image(&outputs[1..]), None, "a tile without output");
	let short = [&outputs[..3], &[&outputs[3][1..]], &outputs[4..]].concat();
	assert_eq!(layout.image(&short), None, "an output not of its tile's size");

	let finer = mandelbrot::Tile { step: grid[1].step / 2.0, ..grid[1] };
	assert_eq!(mandelbrot::Layout::of(&[grid[0], finer]), None, "two steps");
	assert_eq!(mandelbrot::Layout::of(&[]), None);
}
