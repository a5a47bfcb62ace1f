//! # CCGSC content exchange
//!
//! How modules, inputs and outputs move between posters, workers and checkers without
//! touching the chain. A blob is named by its [`ContentId`] (from `ccgsc-primitives`: the
//! chunk tree's root bound to the blob's length), so whoever fetches it can check every
//! 64 KiB chunk on arrival, from any peer, and the output id a worker reveals on chain is the
//! id anyone fetches it under.
//!
//! - [`Store`]: blobs on disk, by id; partial fetches that resume.
//! - [`Node`]: a rust-libp2p swarm (TCP + Noise + Yamux, with Yamux's per-frame flushes
//!   coalesced so Noise seals full 64 KiB frames; Kademlia provider records in server mode,
//!   identify, ping, and the request-response protocol [`protocol::PROTOCOL`]) driven by one
//!   event loop task, with a cheap cloneable [`Client`] in front of it: `add`, `provide`,
//!   `fetch`, `has`.
//! - Peers meet through bootstrap addresses ([`Config::with_bootstrap`]); the portal is the
//!   natural bootstrap node, and a client given none finds the portal beside its folder
//!   ([`bootstrap`]). After that the DHT and identify spread the rest.
//!
//! Bounds: commands and ready responses travel on bounded channels; a fetch keeps
//! [`Config::requests_per_peer`] requests in flight per provider; a node serves at most
//! [`Config::max_inbound_streams`] requests per connection at once; requests, responses and
//! manifests have size limits checked before anything is allocated.
//!
//! Example (a node that serves a blob, and another that fetches it):
//!
//! ```no_run
//! # async fn example(dir: &std::path::Path) -> Result<(), ccgsc_p2p::Error> {
//! use ccgsc_p2p::{Config, Node};
//! let server = Node::start(Config::new(dir.join("a"))).await?;
//! let id = server.client().add(b"hello".to_vec()).await?;
//! let bootstrap = server.client().listen_addrs().await?;
//! let fetcher = Node::start(Config::new(dir.join("b")).with_bootstrap(bootstrap)).await?;
//! assert_eq!(fetcher.client().get(id).await?, b"hello");
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod bootstrap;
mod coalesce;
mod fetch;
mod network;
pub mod protocol;
mod store;

use std::{path::PathBuf, time::Duration};

pub use bootstrap::Bootstrap;
pub use ccgsc_primitives::ContentId;
pub use fetch::{FetchOptions, FetchReport, Progress};
pub use libp2p::{identity::Keypair, Multiaddr, PeerId};
pub use network::{Client, Node};
pub use store::{Manifest, Partial, Store, MAX_BLOB};

/// Errors of content exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
	/// No peer announces the blob (or every one that did no longer has it).
	#[error("no peer provides {0}")]
	NotFound(ContentId),
	/// Every provider failed before the last chunk arrived; what arrived stays on disk and the
	/// next fetch resumes from it.
	#[error("{id} is unavailable: {missing} chunks missing and no provider left to ask")]
	Unavailable {
		/// The blob.
		id: ContentId,
		/// Chunks still missing.
		missing: usize,
	},
	/// The blob is not in the local store (and was asked for locally).
	#[error("{0} is not in the local store")]
	NotInStore(ContentId),
	/// One request to a peer failed: unreachable, timed out, or the connection dropped.
	#[error("request to {peer} failed: {reason}")]
	Request {
		/// The peer.
		peer: PeerId,
		/// What went wrong.
		reason: String,
	},
	/// A dial could not start (for example, an address without a transport).
	#[error("cannot dial: {0}")]
	Dial(String),
	/// An address could not be listened on.
	#[error("cannot listen: {0}")]
	Listen(String),
	/// The transport or a behaviour could not be built.
	#[error("cannot set up the swarm: {0}")]
	Setup(String),
	/// The content store failed.
	#[error("content store: {0}")]
	Store(#[from] std::io::Error),
	/// The node has stopped.
	#[error("the p2p node has stopped")]
	Stopped,
}

/// The most connections a fetch opens to one provider.
pub const MAX_CONNECTIONS_PER_PEER: usize = 8;

/// A node's configuration: `Config::new(store)` and `with_*` for the rest.
#[derive(Clone, Debug)]
pub struct Config {
	/// The content store's directory.
	pub store: PathBuf,
	/// The node's identity; a fresh ed25519 key when `None`.
	pub keypair: Option<Keypair>,
	/// Where to listen (default: a free TCP port on 127.0.0.1: nothing is exposed unless asked).
	pub listen: Vec<Multiaddr>,
	/// Peers to dial at start, each ending in `/p2p/<peer id>`.
	pub bootstrap: Vec<Multiaddr>,
	/// Chunks per request (default 16, 1 MiB; at most
	/// [`protocol::MAX_CHUNKS_PER_REQUEST`]).
	pub chunks_per_request: u32,
	/// Requests a fetch keeps in flight per provider (default 8).
	pub requests_per_peer: usize,
	/// Connections a fetch of more than one request opens to each provider (default 2, at
	/// most [`MAX_CONNECTIONS_PER_PEER`]). Requests take the connections in turn, and each
	/// connection encrypts and multiplexes in its own task, so one transfer spreads over two
	/// cores on each side instead of waiting on one; on this project's 2-core machine a
	/// second connection moves a large blob about 15 % faster (three or four were not clearly
	/// faster than two).
	pub connections_per_peer: usize,
	/// Requests this node serves at once per connection (default 64).
	pub max_inbound_streams: usize,
	/// How long a request may take before the peer counts as failed (default 30 s).
	pub request_timeout: Duration,
	/// How long a DHT query may take (default 5 s); bounds a not-found answer.
	pub query_timeout: Duration,
	/// How long a peer that sent bad bytes stays banned (default 10 min).
	pub ban_duration: Duration,
	/// How long an idle connection stays open (default 60 s).
	pub idle_timeout: Duration,
}

impl Config {
	/// The defaults, with the store in `store`.
	pub fn new(store: impl Into<PathBuf>) -> Self {
		Self {
			store: store.into(),
			keypair: None,
			listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("a valid multiaddr qed")],
			bootstrap: Vec::new(),
			chunks_per_request: 16,
			requests_per_peer: 8,
			connections_per_peer: 2,
			max_inbound_streams: 64,
			request_timeout: Duration::from_secs(30),
			query_timeout: Duration::from_secs(5),
			ban_duration: Duration::from_secs(600),
			idle_timeout: Duration::from_secs(60),
		}
	}

	/// Uses `keypair` as the node's identity.
	pub fn with_keypair(mut self, keypair: Keypair) -> Self {
		self.keypair = Some(keypair);
		self
	}

	/// Uses the ed25519 key with this 32-byte secret as the node's identity (a worker's chain
	/// key, so its peer id and its account are one key).
	pub fn with_ed25519_secret(self, mut secret: [u8; 32]) -> Self {
		let keypair = Keypair::ed25519_from_bytes(&mut secret)
			.expect("any 32 bytes are an ed25519 secret qed");
		self.with_keypair(keypair)
	}

	/// Listens on `addrs` instead of the default.
	pub fn with_listen(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
		self.listen = addrs.into_iter().collect();
		self
	}

	/// Dials `addrs` at start.
	pub fn with_bootstrap(mut self, addrs: impl IntoIterator<Item = Multiaddr>) -> Self {
		self.bootstrap.extend(addrs);
		self
	}

	/// Asks for `chunks` chunks per request (clamped to 1..=[`protocol::MAX_CHUNKS_PER_REQUEST`]).
	pub fn with_chunks_per_request(mut self, chunks: u32) -> Self {
		self.chunks_per_request = chunks.clamp(1, protocol::MAX_CHUNKS_PER_REQUEST);
		self
	}

	/// Keeps `requests` requests in flight per provider (at least 1).
	pub fn with_requests_per_peer(mut self, requests: usize) -> Self {
		self.requests_per_peer = requests.max(1);
		self
	}

	/// Opens up to `connections` connections to each provider of a large fetch (clamped to
	/// 1..=[`MAX_CONNECTIONS_PER_PEER`]).
	pub fn with_connections_per_peer(mut self, connections: usize) -> Self {
		self.connections_per_peer = connections.clamp(1, MAX_CONNECTIONS_PER_PEER);
		self
	}

	/// Sets the request timeout.
	pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
		self.request_timeout = timeout;
		self
	}

	/// Sets the DHT query timeout.
	pub fn with_query_timeout(mut self, timeout: Duration) -> Self {
		self.query_timeout = timeout;
		self
	}
}
