//! Fetching a blob from every provider at once.
//!
//! 1. Find providers: the DHT's, plus any the caller already knows (a worker's chain account
//!    is its peer id, so the chain names who must serve a revealed output).
//! 2. Ask providers in turn for the manifest until one sends a manifest that matches the id;
//!    a peer that sends one that does not is dropped.
//! 3. Open the partial blob (resuming what is on disk), split the missing chunks into ranges
//!    of `chunks_per_request`, and keep up to `requests_per_peer` ranges in flight at every
//!    live provider, over up to `connections_per_peer` connections to each (when the blob
//!    needs more than one request), so the encryption of one transfer runs on several cores.
//!    Each response is checked chunk by chunk against the manifest and written on the
//!    blocking pool, so hashing never runs on the event loop, and several responses are
//!    checked at once while the next requests are already out (a range counts against its
//!    peer's `requests_per_peer` until its check is done, which bounds the bytes held in
//!    memory). A peer that sends a bad chunk is banned and its range goes back in the queue; a
//!    peer that fails or no longer has the blob just leaves the fetch.
//! 4. When no live provider is left but chunks are, ask the DHT once more for providers not
//!    tried yet; if there are none, fail with what is missing (and keep what arrived).

use std::{
	collections::{HashMap, HashSet, VecDeque},
	sync::Arc,
};

use ccgsc_primitives::ContentId;
use futures::{stream::FuturesUnordered, StreamExt};
use libp2p::PeerId;
use tokio::sync::watch;

use crate::{
	network::Client,
	protocol::{Request, Response},
	Error,
};

/// How far a fetch has come.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
	/// Bytes of the blob on disk and verified.
	pub have: u64,
	/// The blob's length (0 until the manifest is in).
	pub length: u64,
}

/// Options of one fetch.
#[derive(Debug, Default)]
pub struct FetchOptions {
	/// Peers known to provide the blob, asked besides the ones the DHT names.
	pub providers: Vec<PeerId>,
	/// Where to publish progress as chunks arrive.
	pub progress: Option<watch::Sender<Progress>>,
}

impl FetchOptions {
	/// Also asks `peers`.
	pub fn with_providers(mut self, peers: impl IntoIterator<Item = PeerId>) -> Self {
		self.providers.extend(peers);
		self
	}

	/// Publishes progress on `progress`.
	pub fn with_progress(mut self, progress: watch::Sender<Progress>) -> Self {
		self.progress = Some(progress);
		self
	}
}

/// What a finished fetch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchReport {
	/// The blob's length.
	pub length: u64,
	/// Bytes that were already on disk (a whole blob, or chunks an earlier fetch left).
	pub resumed: u64,
	/// Verified bytes received from each peer this time.
	pub received: HashMap<PeerId, u64>,
	/// Peers dropped (and banned) for sending bytes that did not check out.
	pub dropped: Vec<PeerId>,
}

impl FetchReport {
	/// Verified bytes received this time, from all peers.
	pub fn received_bytes(&self) -> u64 {
		self.received.values().sum()
	}
}

/// Bytes written between two background flushes of a partial blob. The flush that
/// [`Partial::finish`](crate::store::Partial::finish) must do before the blob enters the store
/// waits for whatever is still unflushed while nothing else is left to do, so the smaller
/// this is, the shorter that idle tail: in `cargo bench -p ccgsc-p2p --bench transfer`, run
/// four times with each value in turn, 8 MiB fetched 256 MiB about 5 % faster than 32 MiB
/// (835 against 793 MiB/s), and 1 or 2 MiB no faster.
const SYNC_EVERY: u64 = 8 << 20;

pub(crate) async fn fetch(
	client: &Client,
	id: ContentId,
	options: FetchOptions,
) -> Result<FetchReport, Error> {
	let lock = {
		let mut fetching = client.fetching.lock().expect("the lock is never poisoned qed");
		fetching.entry(id).or_default().clone()
	};
	let result = {
		let _guard = lock.lock().await;
		fetch_locked(client, id, options).await
	};
	let mut fetching = client.fetching.lock().expect("the lock is never poisoned qed");
	if Arc::strong_count(&lock) == 2 {
		fetching.remove(&id);
	}
	result
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
	tokio::task::spawn_blocking(f).await.map_err(|_| Error::Stopped)
}

async fn fetch_locked(
	client: &Client,
	id: ContentId,
	options: FetchOptions,
) -> Result<FetchReport, Error> {
	let store = client.store().clone();
	let progress = options.progress;
	if store.has(&id) {
		let length = blocking(move || store.manifest(&id)).await??.map_or(0, |m| m.length);
		if let Some(p) = &progress {
			p.send_replace(Progress { have: length, length });
		}
		return Ok(FetchReport { length, resumed: length, ..Default::default() });
	}

	let mut report = FetchReport::default();
	let mut tried: HashSet<PeerId> = HashSet::new();
	let mut candidates: Vec<PeerId> = Vec::new();
	let add_candidates = |candidates: &mut Vec<PeerId>, peers: Vec<PeerId>, tried: &HashSet<_>| {
		for peer in peers {
			if peer != client.peer_id() && !tried.contains(&peer) && !candidates.contains(&peer) {
				candidates.push(peer);
			}
		}
	};
	add_candidates(&mut candidates, options.providers, &tried);
	add_candidates(&mut candidates, client.find_providers(id).await?.into_iter().collect(), &tried);
	if candidates.is_empty() {
		return Err(Error::NotFound(id));
	}

	// The manifest, from the first provider that sends one matching the id.
	let mut manifest = None;
	while manifest.is_none() {
		let Some(peer) = candidates.first().copied() else {
			return Err(Error::NotFound(id));
		};
		match client.request(peer, Request::Manifest(id)).await {
			Ok(Response::Manifest(m)) if m.matches(&id) => manifest = Some(m),
			Ok(Response::NotFound) | Err(_) => {
				tried.insert(candidates.remove(0));
			},
			Ok(_) => {
				client.ban(peer).await?;
				report.dropped.push(peer);
				tried.insert(candidates.remove(0));
			},
		}
	}
	let manifest = manifest.expect("the loop ends with a manifest qed");
	let length = manifest.length;
	let partial = {
		let store = store.clone();
		Arc::new(blocking(move || store.partial(&id, manifest)).await??)
	};
	report.length = length;
	report.resumed = partial.present_bytes();
	let mut have = report.resumed;
	let publish = |have: u64| {
		if let Some(p) = &progress {
			p.send_replace(Progress { have, length });
		}
	};
	publish(have);

	let per_request = client.config.chunks_per_request;
	let mut queue: VecDeque<(u32, u32)> = ranges(&partial.missing(), per_request).collect();
	let mut live: Vec<PeerId> = candidates;
	// A blob of more than one request spreads over more connections to each provider.
	let widen = queue.len() > 1;
	let widen_all = |peers: Vec<PeerId>| async move {
		if widen {
			for peer in peers {
				client.widen(peer).await?;
			}
		}
		Ok::<_, Error>(())
	};
	widen_all(live.clone()).await?;
	let mut load: HashMap<PeerId, usize> = HashMap::new();
	let mut in_flight = FuturesUnordered::new();
	// Responses being checked and written on the blocking pool, several at once. A range
	// counts against its peer's load until its check is done, so the bytes held in memory stay
	// bounded by the requests in flight.
	let mut checking = FuturesUnordered::new();
	let mut rediscovered = false;
	let mut sync: Option<tokio::task::JoinHandle<std::io::Result<()>>> = None;
	let mut unsynced = 0u64;
	loop {
		for peer in &live {
			let busy = load.entry(*peer).or_default();
			while *busy < client.config.requests_per_peer {
				let Some((first, count)) = queue.pop_front() else { break };
				*busy += 1;
				let (client, peer) = (client.clone(), *peer);
				in_flight.push(async move {
					let response = client.request(peer, Request::Chunks { id, first, count }).await;
					(peer, (first, count), response)
				});
			}
		}
		if in_flight.is_empty() && checking.is_empty() {
			if queue.is_empty() {
				break;
			}
			// Every provider is gone: look once for ones not tried yet.
			let missing = queue.iter().map(|(_, n)| *n as usize).sum();
			if rediscovered {
				return Err(Error::Unavailable { id, missing });
			}
			rediscovered = true;
			let found = client.find_providers(id).await?.into_iter().collect();
			add_candidates(&mut live, found, &tried);
			if live.is_empty() {
				return Err(Error::Unavailable { id, missing });
			}
			widen_all(live.clone()).await?;
			continue;
		}
		tokio::select! {
			Some((peer, (first, count), response)) = in_flight.next() => match response {
				Ok(Response::Chunks(bytes)) => {
					// Short or long, the chunks are a lie, like chunks that do not check out.
					let whole = bytes.len() as u64 == partial.manifest().span(first, count);
					let (partial, buffers) = (partial.clone(), client.buffers.clone());
					checking.push(async move {
						let n = bytes.len() as u64;
						let written = blocking(move || {
							let written =
								if whole { partial.write_chunks(first, &bytes) } else { Ok(false) };
							buffers.give(bytes);
							written
						})
						.await;
						(peer, (first, count), n, written)
					});
				},
				// Any other answer or failure only means the peer cannot serve the range.
				Ok(_) | Err(_) => {
					if let Some(busy) = load.get_mut(&peer) {
						*busy = busy.saturating_sub(1);
					}
					queue.push_front((first, count));
					live.retain(|p| *p != peer);
					tried.insert(peer);
				},
			},
			Some((peer, (first, count), n, written)) = checking.next() => {
				if let Some(busy) = load.get_mut(&peer) {
					*busy = busy.saturating_sub(1);
				}
				if written?? {
					unsynced += n;
					if unsynced >= SYNC_EVERY && sync.as_ref().is_none_or(|s| s.is_finished()) {
						let partial = partial.clone();
						sync = Some(tokio::task::spawn_blocking(move || partial.sync()));
						unsynced = 0;
					}
					have += n;
					*report.received.entry(peer).or_default() += n;
					publish(have);
				} else {
					tracing::warn!(%peer, %id, first, "peer sent chunks that do not check out");
					queue.push_front((first, count));
					if !report.dropped.contains(&peer) {
						client.ban(peer).await?;
						report.dropped.push(peer);
					}
					live.retain(|p| *p != peer);
					tried.insert(peer);
				}
			},
		}
	}

	if let Some(sync) = sync {
		sync.await.map_err(|_| Error::Stopped)??;
	}
	let partial = Arc::try_unwrap(partial).map_err(|_| Error::Stopped)?;
	blocking(move || partial.finish()).await??;
	client.provide(id).await?;
	debug_assert_eq!(have, length);
	Ok(report)
}

/// Splits sorted chunk indices into runs of consecutive indices of at most `max` chunks.
fn ranges(indices: &[u32], max: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
	let mut i = 0;
	std::iter::from_fn(move || {
		let first = *indices.get(i)?;
		let mut count = 1;
		while count < max && indices.get(i + count as usize) == Some(&(first + count)) {
			count += 1;
		}
		i += count as usize;
		Some((first, count))
	})
}

#[cfg(test)]
mod tests {
	use super::ranges;

	#[test]
	fn ranges_split_runs_and_gaps() {
		let r: Vec<_> = ranges(&[0, 1, 2, 3, 4, 7, 8, 10], 3).collect();
		assert_eq!(r, vec![(0, 3), (3, 2), (7, 2), (10, 1)]);
		assert_eq!(ranges(&[], 4).count(), 0);
	}
}
