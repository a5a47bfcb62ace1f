//! The blob protocol, `/ccgsc/blob/1`: one request, one response, on its own substream.
//!
//! A fetcher first asks one provider for the blob's [`Manifest`] (its length and chunk
//! leaves) and checks it against the content id; from then on every chunk is checked on its
//! own against its leaf, whoever sent it. The leaves cost 32 bytes per 64 KiB chunk, once,
//! instead of a Merkle path per chunk.
//!
//! Wire format (little-endian integers):
//!
//! ```text
//! request   0x01 ‖ id[32]                         manifest
//!           0x02 ‖ id[32] ‖ first:u32 ‖ count:u32  chunks first..first+count
//!           0x03 ‖ root[32]                       a job's input ids
//! response  0x00                                  not found
//!           0x01 ‖ length:u64 ‖ n:u32 ‖ leaves[32·n]
//!           0x02 ‖ len:u32 ‖ bytes[len]            the chunks back to back
//!           0x03 ‖ n:u32 ‖ ids[32·n]               input ids, checked against the root
//! ```
//!
//! The codec reads a chunks response straight into one buffer of its announced size, after
//! checking that size against the limit, so a response is copied once on its way in.

use std::{
	io,
	sync::{Arc, Mutex},
};

use ccgsc_primitives::{ContentId, Hash, CHUNK_SIZE};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use crate::store::{decode_leaves, encode_leaves, Manifest, MAX_BLOB};

/// The protocol's name and version.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/ccgsc/blob/1");

/// The most chunks one request may ask for (4 MiB).
pub const MAX_CHUNKS_PER_REQUEST: u32 = 64;

/// The most leaves a manifest may carry: one per chunk of a [`MAX_BLOB`] blob.
const MAX_LEAVES: u64 = MAX_BLOB / CHUNK_SIZE as u64;

/// The most input ids one job's list may carry (the chain's task limit is far lower).
pub const MAX_INPUTS: u32 = 1 << 20;

/// What a peer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
	/// The blob's length and chunk leaves.
	Manifest(ContentId),
	/// Chunks `first..first + count` of the blob (clamped to its end).
	Chunks {
		/// The blob.
		id: ContentId,
		/// The first chunk.
		first: u32,
		/// How many chunks, at most [`MAX_CHUNKS_PER_REQUEST`].
		count: u32,
	},
	/// The input ids of the job whose inputs root this is (the chain keeps only the root).
	Inputs(Hash),
}

/// What a peer answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
	/// The peer does not have the blob (or the range is past its end).
	NotFound,
	/// The blob's manifest (unverified until the fetcher checks it against the id).
	Manifest(Manifest),
	/// The requested chunks back to back (unverified until checked against the manifest).
	Chunks(Vec<u8>),
	/// A job's input ids, in task order (unverified until checked against the root).
	Inputs(Vec<ContentId>),
}

/// Chunk buffers kept for reuse at most (64 MiB at the default request size).
const POOLED_BUFFERS: usize = 64;

/// A pool of chunk buffers. Responses of a megabyte each would otherwise cost a fresh
/// allocation, its zeroing and its page faults, twice per request (once to read from disk,
/// once to receive); with the pool, buffers go round between the codec, the store and the
/// fetch, and a buffer is zeroed only where it grows.
#[derive(Clone, Debug, Default)]
pub struct Buffers(Arc<Mutex<Vec<Vec<u8>>>>);

impl Buffers {
	/// A buffer of `len` bytes (whatever they hold: the caller overwrites them).
	pub fn take(&self, len: usize) -> Vec<u8> {
		let mut buf = self.take_any();
		buf.resize(len, 0);
		buf
	}

	/// A buffer of any length, for a caller that sizes it itself.
	pub fn take_any(&self) -> Vec<u8> {
		self.0
			.lock()
			.expect("never poisoned: no code panics holding it qed")
			.pop()
			.unwrap_or_default()
	}

	/// Returns a buffer to the pool.
	pub fn give(&self, buf: Vec<u8>) {
		let mut pool = self.0.lock().expect("never poisoned: no code panics holding it qed");
		if pool.len() < POOLED_BUFFERS
			&& buf.capacity() <= MAX_CHUNKS_PER_REQUEST as usize * CHUNK_SIZE
		{
			pool.push(buf);
		}
	}
}

/// The request-response codec of [`PROTOCOL`]. Chunk buffers come from, and go back to, its
/// [`Buffers`].
#[derive(Clone, Debug, Default)]
pub struct Codec {
	buffers: Buffers,
}

impl Codec {
	/// A codec drawing chunk buffers from `buffers`.
	pub fn new(buffers: Buffers) -> Self {
		Self { buffers }
	}
}

async fn read_u32<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u32> {
	let mut b = [0u8; 4];
	io.read_exact(&mut b).await?;
	Ok(u32::from_le_bytes(b))
}

async fn read_u64<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u64> {
	let mut b = [0u8; 8];
	io.read_exact(&mut b).await?;
	Ok(u64::from_le_bytes(b))
}

fn invalid(what: &'static str) -> io::Error {
	io::Error::new(io::ErrorKind::InvalidData, what)
}

#[async_trait::async_trait]
impl libp2p::request_response::Codec for Codec {
	type Protocol = StreamProtocol;
	type Request = Request;
	type Response = Response;

	async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Request>
	where
		T: AsyncRead + Unpin + Send,
	{
		let mut tag = [0u8; 1];
		io.read_exact(&mut tag).await?;
		let mut id = [0u8; 32];
		io.read_exact(&mut id).await?;
		let id = ContentId(id);
		match tag[0] {
			1 => Ok(Request::Manifest(id)),
			3 => Ok(Request::Inputs(id.0)),
			2 => {
				let first = read_u32(io).await?;
				let count = read_u32(io).await?;
				if count == 0 || count > MAX_CHUNKS_PER_REQUEST {
					return Err(invalid("chunk count out of range"));
				}
				Ok(Request::Chunks { id, first, count })
			},
			_ => Err(invalid("unknown request")),
		}
	}

	async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
	where
		T: AsyncRead + Unpin + Send,
	{
		let mut tag = [0u8; 1];
		io.read_exact(&mut tag).await?;
		match tag[0] {
			0 => Ok(Response::NotFound),
			1 => {
				let length = read_u64(io).await?;
				let n = read_u32(io).await?;
				if length > MAX_BLOB || u64::from(n) > MAX_LEAVES {
					return Err(invalid("manifest too large"));
				}
				let mut bytes = vec![0u8; n as usize * 32];
				io.read_exact(&mut bytes).await?;
				Ok(Response::Manifest(Manifest { length, leaves: decode_leaves(&bytes)? }))
			},
			2 => {
				let len = read_u32(io).await?;
				if len as usize > MAX_CHUNKS_PER_REQUEST as usize * CHUNK_SIZE {
					return Err(invalid("chunks response too large"));
				}
				let mut bytes = self.buffers.take(len as usize);
				match io.read_exact(&mut bytes).await {
					Ok(()) => Ok(Response::Chunks(bytes)),
					Err(e) => {
						self.buffers.give(bytes);
						Err(e)
					},
				}
			},
			3 => {
				let n = read_u32(io).await?;
				if n > MAX_INPUTS {
					return Err(invalid("input list too large"));
				}
				let mut bytes = vec![0u8; n as usize * 32];
				io.read_exact(&mut bytes).await?;
				Ok(Response::Inputs(decode_leaves(&bytes)?.into_iter().map(ContentId).collect()))
			},
			_ => Err(invalid("unknown response")),
		}
	}

	async fn write_request<T>(
		&mut self,
		_: &StreamProtocol,
		io: &mut T,
		request: Request,
	) -> io::Result<()>
	where
		T: AsyncWrite + Unpin + Send,
	{
		let mut buf = Vec::with_capacity(41);
		match request {
			Request::Manifest(id) => {
				buf.push(1);
				buf.extend_from_slice(&id.0);
			},
			Request::Inputs(root) => {
				buf.push(3);
				buf.extend_from_slice(&root);
			},
			Request::Chunks { id, first, count } => {
				buf.push(2);
				buf.extend_from_slice(&id.0);
				buf.extend_from_slice(&first.to_le_bytes());
				buf.extend_from_slice(&count.to_le_bytes());
			},
		}
		io.write_all(&buf).await?;
		io.close().await
	}

	async fn write_response<T>(
		&mut self,
		_: &StreamProtocol,
		io: &mut T,
		response: Response,
	) -> io::Result<()>
	where
		T: AsyncWrite + Unpin + Send,
	{
		match response {
			Response::NotFound => io.write_all(&[0]).await?,
			Response::Manifest(manifest) => {
				let mut head = vec![1u8];
				head.extend_from_slice(&manifest.length.to_le_bytes());
				head.extend_from_slice(&(manifest.leaves.len() as u32).to_le_bytes());
				head.extend_from_slice(&encode_leaves(&manifest.leaves));
				io.write_all(&head).await?;
			},
			Response::Inputs(ids) => {
				let mut out = vec![3u8];
				out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
				out.extend(ids.iter().flat_map(|id| id.0));
				io.write_all(&out).await?;
			},
			Response::Chunks(bytes) => {
				let mut head = [0u8; 5];
				head[0] = 2;
				head[1..].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
				io.write_all(&head).await?;
				let written = io.write_all(&bytes).await;
				self.buffers.give(bytes);
				written?;
			},
		}
		io.close().await
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use futures::io::Cursor;
	use libp2p::request_response::Codec as _;

	fn roundtrip_request(request: Request) -> io::Result<Request> {
		futures::executor::block_on(async {
			let mut buf = Cursor::new(Vec::new());
			Codec::default().write_request(&PROTOCOL, &mut buf, request).await?;
			let mut read = Cursor::new(buf.into_inner());
			Codec::default().read_request(&PROTOCOL, &mut read).await
		})
	}

	fn roundtrip_response(response: Response) -> io::Result<Response> {
		futures::executor::block_on(async {
			let mut buf = Cursor::new(Vec::new());
			Codec::default().write_response(&PROTOCOL, &mut buf, response).await?;
			let mut read = Cursor::new(buf.into_inner());
			Codec::default().read_response(&PROTOCOL, &mut read).await
		})
	}

	#[test]
	fn requests_and_responses_survive_the_wire() {
		let id = ContentId::of(b"blob");
		for request in [
			Request::Manifest(id),
			Request::Chunks { id, first: 7, count: 64 },
			Request::Inputs([9; 32]),
		] {
			assert_eq!(roundtrip_request(request).unwrap(), request);
		}
		for response in [
			Response::NotFound,
			Response::Manifest(Manifest { length: 3, leaves: vec![[7; 32]] }),
			Response::Chunks(vec![1, 2, 3]),
			Response::Chunks(vec![]),
			Response::Inputs(vec![id, ContentId::of(b"other")]),
		] {
			assert_eq!(roundtrip_response(response.clone()).unwrap(), response);
		}
	}

	#[test]
	fn oversized_or_malformed_messages_are_refused_before_allocating() {
		let id = ContentId::of(b"blob");
		assert!(roundtrip_request(Request::Chunks { id, first: 0, count: 65 }).is_err());
		assert!(roundtrip_request(Request::Chunks { id, first: 0, count: 0 }).is_err());
		let read = |bytes: Vec<u8>| {
			futures::executor::block_on(
				Codec::default().read_response(&PROTOCOL, &mut Cursor::new(bytes)),
			)
		};
		let mut huge = vec![2u8];
		huge.extend_from_slice(&u32::MAX.to_le_bytes());
		assert_eq!(read(huge).unwrap_err().kind(), io::ErrorKind::InvalidData);
		let mut many_leaves = vec![1u8];
		many_leaves.extend_from_slice(&3u64.to_le_bytes());
		many_leaves.extend_from_slice(&u32::MAX.to_le_bytes());
		assert_eq!(read(many_leaves).unwrap_err().kind(), io::ErrorKind::InvalidData);
		assert_eq!(read(vec![9]).unwrap_err().kind(), io::ErrorKind::InvalidData);
		assert_eq!(read(vec![2, 10, 0, 0, 0, 1]).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
	}
}
