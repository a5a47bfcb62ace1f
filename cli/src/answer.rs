//! What the outputs of a built-in workload's job add up to, said once `fetch` has written them,
//! so a poster who ran `ccgsc example primes` reads a count of primes rather than decoding
//! binary files: the answers the portal shows (its `answer` module and the Mandelbrot image
//! its page draws), from the verified outputs in hand.
//!
//! | workload | answer |
//! | --- | --- |
//! | `primes` | the primes the ranges counted together |
//! | `pwhash` | the password, or that no range searched holds it |
//! | `matmul` | the product `C`, written whole to `job<id>-product-<rows>x<cols>-f32le.bin` |
//! | `mandelbrot` | the image, written to `job<id>-mandelbrot.png` in the portal's colours |
//!
//! A job is a built-in workload's when its module is one of [`ccgsc_task_modules::ALL`] byte
//! for byte, however it was posted. Inputs are read only where the answer needs them: a
//! password's digits, a product's columns, the tiles' places in the image.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ccgsc_primitives::ContentId;
use ccgsc_tasks::{mandelbrot, matmul, primes, pwhash};

/// The built-in workload (`primes`, `mandelbrot`, `matmul` or `pwhash`) whose module has
/// content id `module`, if any.
pub(crate) fn workload(module: &ContentId) -> Option<&'static str> {
	ccgsc_task_modules::ALL
		.iter()
		.find(|(_, bytes)| ContentId::of(bytes) == *module)
		.map(|(name, _)| *name)
}

/// What the outputs of job `job` of the built-in `workload` add up to, one line; a matrix
/// product or an image is written to `out` and the line names the file. `outputs` are the
/// tasks' verified outputs in task order (`None`: the task has no accepted output of a run
/// to its end); `input` gets a task's input by its index.
///
/// # Errors
/// If an input the answer needs cannot be had or read, or a file cannot be written.
pub(crate) async fn say(
	workload: &str,
	job: u64,
	outputs: &[Option<Vec<u8>>],
	mut input: impl AsyncFnMut(u32) -> anyhow::Result<Vec<u8>>,
	out: &Path,
) -> anyhow::Result<String> {
	let total = outputs.len();
	let missing = outputs.iter().filter(|o| o.is_none()).count();
	Ok(match workload {
		"primes" => {
			let counts: Vec<u64> = outputs
				.iter()
				.flatten()
				.map(|o| primes::decode(o).map(|(count, _)| count))
				.collect::<Result<_, _>>()?;
			let sum: u64 = counts.iter().sum();
			if counts.is_empty() {
				format!("no count: no output for any of the {total} ranges")
			} else if missing == 0 {
				format!("answer: {sum} primes in the {total} ranges")
			} else {
				format!(
					"answer: {sum} primes in {} of the {total} ranges (no output for the other \
					 {missing})",
					counts.len()
				)
			}
		},
		"pwhash" => {
			let (mut found, mut searched) = (None, 0);
			for (task, output) in outputs.iter().enumerate() {
				let Some(output) = output else { continue };
				searched += 1;
				if let (Some(key), None) = (pwhash::found(output)?, found) {
					found = Some((task as u32, key));
				}
			}
			match found {
				Some((task, key)) => {
					let search = pwhash::decode(&input(task).await?)
						.with_context(|| format!("task {task}'s input"))?;
					let password = pwhash::password(key, search.digits);
					format!("answer: the password is {password} (task {task} found it)")
				},
				None if searched == 0 => {
					format!("no answer: no output for any of the {total} ranges")
				},
				None if missing == 0 => {
					format!("answer: no password in the {total} ranges searched")
				},
				None => format!(
					"answer: no password in the {searched} ranges searched (no output for the \
					 other {missing})"
				),
			}
		},
		"matmul" => {
			if missing > 0 {
				return Ok(format!("no product: no output for {missing} of the {total} bands"));
			}
			let (_, _, cols) = matmul::shape(&input(0).await?).context("task 0's input")?;
			let row = cols as usize * 4;
			let bands: Vec<&[u8]> = outputs.iter().flatten().map(Vec::as_slice).collect();
			if let Some(task) = bands.iter().position(|b| b.is_empty() || b.len() % row != 0) {
				bail!("task {task}'s output is not rows of {cols} f32");
			}
			let product = bands.concat();
			let rows = product.len() / row;
			let file = write(out, &format!("job{job}-product-{rows}x{cols}-f32le.bin"), &product)?;
			format!(
				"answer: C = A·B, {rows} × {cols} f32 (little-endian, row by row), in {}",
				file.display()
			)
		},
		"mandelbrot" => {
			if missing > 0 {
				return Ok(format!("no image: no output for {missing} of the {total} tiles"));
			}
			let mut tiles = Vec::with_capacity(total);
			for task in 0..total as u32 {
				let tile = mandelbrot::Tile::decode(&input(task).await?)
					.with_context(|| format!("task {task}'s input"))?;
				tiles.push(tile);
			}
			let layout = mandelbrot::Layout::of(&tiles)
				.context("the tiles do not make one image (steps differ, or it is too large)")?;
			let outputs: Vec<&[u8]> = outputs.iter().flatten().map(Vec::as_slice).collect();
			let Some(image) = layout.image(&outputs) else {
				bail!("a tile's output is not one byte per pixel of its tile");
			};
			let png = png(layout.width, layout.height, &image);
			let file = write(out, &format!("job{job}-mandelbrot.png"), &png)?;
			format!(
				"answer: the image, {} × {} px, in {}",
				layout.width,
				layout.height,
				file.display()
			)
		},
		other => bail!("no built-in workload {other:?}"),
	})
}

/// Writes `bytes` to `out/name` and returns the path.
fn write(out: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
	let file = out.join(name);
	std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
	Ok(file)
}

/// The portal's colours for a Mandelbrot byte (`palette` in `web-portal/assets/app.js`), as
/// a PNG palette of 256 RGB entries: black inside the set (0), then from blue through green
/// to yellow as points escape later.
fn palette() -> Vec<u8> {
	(0..=255u8)
		.flat_map(|v| {
			if v == 0 {
				return [0, 0, 0];
			}
			let t = f64::from(v) / 255.0;
			let channel = |x: f64| (255.0 * x).round() as u8;
			[
				channel((3.0 * t).min(1.0)),
				channel(t.powf(0.6)),
				channel((120.0 + 135.0 * (1.0 - t)) / 255.0),
			]
		})
		.collect()
}

/// `image` (one Mandelbrot byte per pixel, row by row, `width × height`) as an indexed PNG
/// in [`palette`]'s colours.
///
/// The pixels are stored without compression (zlib's stored blocks), so a 1024 × 768 image
/// takes 0.8 MB: the zlib the workspace builds already (`miniz_oxide`, for backtraces) is
/// built without its compressor, and the `png` crate turns that on, which rebuilds much of
/// polkadot-sdk in every build that has the CLI in it.
fn png(width: u32, height: u32, image: &[u8]) -> Vec<u8> {
	let mut scanlines = Vec::with_capacity(image.len() + height as usize);
	for row in image.chunks_exact(width as usize) {
		scanlines.push(0); // filter type 0: the row as it is
		scanlines.extend_from_slice(row);
	}
	let mut header = Vec::with_capacity(13);
	header.extend_from_slice(&width.to_be_bytes());
	header.extend_from_slice(&height.to_be_bytes());
	// 8 bits per pixel, colour type 3 (indexed), deflate, filter method 0, no interlace.
	header.extend_from_slice(&[8, 3, 0, 0, 0]);
	let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
	for (kind, data) in [
		(b"IHDR", header),
		(b"PLTE", palette()),
		(b"IDAT", zlib_stored(&scanlines)),
		(b"IEND", Vec::new()),
	] {
		png.extend_from_slice(&(data.len() as u32).to_be_bytes());
		let start = png.len();
		png.extend_from_slice(kind);
		png.extend_from_slice(&data);
		let crc = crc32fast::hash(&png[start..]);
		png.extend_from_slice(&crc.to_be_bytes());
	}
	png
}

/// `data` as a zlib stream (RFC 1950) of stored deflate blocks (RFC 1951, 3.2.4).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
	// Deflate with a 32 KiB window, no preset dictionary; 0x7801 is a multiple of 31.
	let mut zlib = Vec::with_capacity(data.len() + data.len() / 0xffff * 5 + 11);
	zlib.extend_from_slice(&[0x78, 0x01]);
	let mut blocks = data.chunks(0xffff).peekable();
	if data.is_empty() {
		zlib.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
	}
	while let Some(block) = blocks.next() {
		// BFINAL on the last block, BTYPE 00 (stored), then LEN and its complement.
		zlib.push(u8::from(blocks.peek().is_none()));
		let len = block.len() as u16;
		zlib.extend_from_slice(&len.to_le_bytes());
		zlib.extend_from_slice(&(!len).to_le_bytes());
		zlib.extend_from_slice(block);
	}
	let (mut a, mut b) = (1u32, 0u32);
	for &byte in data {
		a = (a + u32::from(byte)) % 65_521;
		b = (b + a) % 65_521;
	}
	zlib.extend_from_slice(&(b << 16 | a).to_be_bytes());
	zlib
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The workload `name` made from `params`: its inputs, and each task's output run natively.
	fn made(name: &str, params: serde_json::Value, run: ccgsc_tasks::Task) -> Made {
		let made = ccgsc_task_modules::workloads::make(name, params).unwrap();
		let outputs = made.inputs.iter().map(|i| Some(run(i, &made.args).unwrap())).collect();
		Made { inputs: made.inputs, outputs }
	}

	struct Made {
		inputs: Vec<Vec<u8>>,
		outputs: Vec<Option<Vec<u8>>>,
	}

	impl Made {
		/// What [`say`] says of these outputs, with the inputs it asked for.
		async fn say(&self, name: &str, out: &Path) -> (anyhow::Result<String>, Vec<u32>) {
			let mut asked = Vec::new();
			let said = say(
				name,
				7,
				&self.outputs,
				async |task| {
					asked.push(task);
					Ok(self.inputs[task as usize].clone())
				},
				out,
			)
			.await;
			(said, asked)
		}
	}

	#[test]
	fn a_module_is_a_workloads_by_its_bytes() {
		let module = ContentId::of(ccgsc_task_modules::MATMUL);
		assert_eq!(workload(&module), Some("matmul"));
		assert_eq!(workload(&ContentId::of(b"\0asm")), None);
	}

	#[tokio::test]
	async fn primes_counted_in_every_range_add_up_and_a_range_without_output_is_named() {
		let dir = tempfile::tempdir().unwrap();
		let params = serde_json::json!({"limit": 1000, "tasks": 3, "list": true});
		let mut job = made("primes", params, primes::run);
		let (said, asked) = job.say("primes", dir.path()).await;
		assert_eq!(said.unwrap(), "answer: 168 primes in the 3 ranges");
		assert!(asked.is_empty(), "a count needs no input");

		job.outputs[2] = None;
		let below_668 = 121;
		let (said, _) = job.say("primes", dir.path()).await;
		assert_eq!(
			said.unwrap(),
			format!("answer: {below_668} primes in 2 of the 3 ranges (no output for the other 1)")
		);
		job.outputs = vec![None; 3];
		let (said, _) = job.say("primes", dir.path()).await;
		assert_eq!(said.unwrap(), "no count: no output for any of the 3 ranges");
	}

	#[tokio::test]
	async fn a_password_is_said_with_the_digits_of_the_search_that_found_it() {
		let dir = tempfile::tempdir().unwrap();
		let params = serde_json::json!({"digits": 4, "tasks": 3, "secret": 42, "iterations": 1});
		let mut job = made("pwhash", params, pwhash::run);
		let (said, asked) = job.say("pwhash", dir.path()).await;
		assert_eq!(said.unwrap(), "answer: the password is 0042 (task 0 found it)");
		assert_eq!(asked, [0]);

		job.outputs[0] = None;
		let (said, _) = job.say("pwhash", dir.path()).await;
		let said = said.unwrap();
		assert_eq!(
			said,
			"answer: no password in the 2 ranges searched (no output for the other 1)"
		);

		job.outputs = vec![None; 3];
		let (said, _) = job.say("pwhash", dir.path()).await;
		assert_eq!(said.unwrap(), "no answer: no output for any of the 3 ranges");

		job.outputs[0] = Some(vec![7]);
		let (said, _) = job.say("pwhash", dir.path()).await;
		assert!(said.is_err(), "bytes that are no output of the task: {said:?}");
	}

	#[tokio::test]
	async fn a_matrix_product_is_written_whole_from_its_bands() {
		let dir = tempfile::tempdir().unwrap();
		let mut job = made("matmul", serde_json::json!({"n": 9, "tiles": 3}), matmul::run);
		let (said, asked) = job.say("matmul", dir.path()).await;
		let file = dir.path().join("job7-product-9x9-f32le.bin");
		let expected = format!(
			"answer: C = A·B, 9 × 9 f32 (little-endian, row by row), in {}",
			file.display()
		);
		assert_eq!(said.unwrap(), expected);
		assert_eq!(asked, [0], "only the columns are read from an input");
		let bands: Vec<u8> = job.outputs.iter().flatten().flatten().copied().collect();
		assert_eq!(std::fs::read(&file).unwrap(), bands);
		assert_eq!(bands.len(), 9 * 9 * 4);

		job.outputs[1] = None;
		let (said, _) = job.say("matmul", dir.path()).await;
		assert_eq!(said.unwrap(), "no product: no output for 1 of the 3 bands");
	}

	#[tokio::test]
	async fn a_mandelbrot_image_is_written_as_a_png_in_the_portals_colours() {
		let dir = tempfile::tempdir().unwrap();
		let params = serde_json::json!({
			"width": 64,
			"height": 48,
			"tiles_x": 2,
			"tiles_y": 2,
			"max_iter": 60,
		});
		let mut job = made("mandelbrot", params, mandelbrot::run);
		let (said, asked) = job.say("mandelbrot", dir.path()).await;
		let file = dir.path().join("job7-mandelbrot.png");
		assert_eq!(said.unwrap(), format!("answer: the image, 64 × 48 px, in {}", file.display()));
		assert_eq!(asked.len(), job.inputs.len(), "every tile's place");

		// Decoded, it is the tiles' bytes where the layout puts them, in the palette.
		let (header, palette_chunk, pixels) = decode(&std::fs::read(&file).unwrap());
		assert_eq!(
			header,
			[&64u32.to_be_bytes()[..], &48u32.to_be_bytes(), &[8, 3, 0, 0, 0]].concat()
		);
		assert_eq!(palette_chunk, palette());
		let tiles: Vec<_> =
			job.inputs.iter().map(|i| mandelbrot::Tile::decode(i).unwrap()).collect();
		let layout = mandelbrot::Layout::of(&tiles).unwrap();
		for (rect, output) in layout.tiles.iter().zip(job.outputs.iter().flatten()) {
			for (row, bytes) in output.chunks_exact(rect.width as usize).enumerate() {
				let at = (rect.y as usize + row) * 65 + 1 + rect.x as usize;
				assert_eq!(&pixels[at..at + bytes.len()], bytes, "{rect:?} row {row}");
			}
		}
		assert!(pixels.iter().step_by(65).all(|&filter| filter == 0), "rows as they are");
		assert_eq!(&palette()[..3], [0, 0, 0], "inside the set is black");
		assert_eq!(&palette()[255 * 3..], [255, 255, 120], "the latest escapes are yellow");

		job.outputs[3] = None;
		let (said, _) = job.say("mandelbrot", dir.path()).await;
		assert_eq!(said.unwrap(), "no image: no output for 1 of the 4 tiles");
	}

	/// A PNG's IHDR, PLTE and inflated IDAT data (its scanlines), each chunk's CRC checked, the
	/// stream inflated by `miniz_oxide` (which checks its Adler-32).
	fn decode(png: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
		assert_eq!(png[..8], *b"\x89PNG\r\n\x1a\n");
		let (mut rest, mut chunks) = (&png[8..], Vec::new());
		while !rest.is_empty() {
			let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
			let (kind, data) = (&rest[4..8], &rest[8..8 + len]);
			let crc = u32::from_be_bytes(rest[8 + len..12 + len].try_into().unwrap());
			assert_eq!(crc32fast::hash(&rest[4..8 + len]), crc, "{kind:?}");
			chunks.push((kind.to_vec(), data.to_vec()));
			rest = &rest[12 + len..];
		}
		let kinds: Vec<&[u8]> = chunks.iter().map(|(kind, _)| kind.as_slice()).collect();
		assert_eq!(kinds, [b"IHDR", b"PLTE", b"IDAT", b"IEND"]);
		(chunks[0].1.clone(), chunks[1].1.clone(), inflate(&chunks[2].1))
	}

	fn inflate(zlib: &[u8]) -> Vec<u8> {
		use miniz_oxide::inflate::{core::*, TINFLStatus};
		let flags = inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER
			| inflate_flags::TINFL_FLAG_COMPUTE_ADLER32
			| inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
		let mut out = vec![0; zlib.len()];
		let (status, read, written) =
			decompress(&mut DecompressorOxide::new(), zlib, &mut out, 0, flags);
		assert_eq!((status, read), (TINFLStatus::Done, zlib.len()));
		out.truncate(written);
		out
	}

	#[test]
	fn stored_blocks_inflate_to_what_was_stored() {
		for len in [0, 1, 0xffff, 0xffff + 1, 3 * 0xffff + 17] {
			let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
			assert_eq!(inflate(&zlib_stored(&data)), data, "{len} bytes");
		}
	}
}
