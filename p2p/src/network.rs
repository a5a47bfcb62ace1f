//! The swarm, its event loop, and the cheap handle in front of it.
//!
//! The [`EventLoop`] owns the `Swarm` and is the only code that touches it: it `select!`s
//! over swarm events, [`Command`]s from [`Client`] handles, and responses that are ready to
//! send. Nothing slow runs on it: reading chunks from disk for a peer happens on the blocking
//! pool and comes back as a ready response; checking received chunks happens in the fetch
//! (see `fetch.rs`), which only asks the loop to send requests. Encryption and multiplexing
//! run in each connection's own task, so on a multi-core runtime the loop, the connections
//! and the hashing spread over the cores.

use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

use ccgsc_primitives::{ContentId, Hash};
use futures::StreamExt;
use libp2p::{
	identify, identity, kad,
	multiaddr::Protocol,
	ping,
	request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
	swarm::{
		dial_opts::{DialOpts, PeerCondition},
		NetworkBehaviour, SwarmEvent,
	},
	Multiaddr, PeerId, StreamProtocol, Swarm,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
	coalesce::CoalescedYamux,
	fetch::{self, FetchOptions, FetchReport},
	protocol::{self, Buffers, Request, Response},
	store::Store,
	Config, Error,
};

/// The Kademlia protocol of CCGSC's own DHT (not the public IPFS one).
const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/ccgsc/kad/1");

/// The identify protocol version peers announce.
const IDENTIFY_VERSION: &str = "/ccgsc/id/1";

/// Commands queued to the event loop at most; senders wait when it is full.
const COMMAND_QUEUE: usize = 1024;

#[derive(NetworkBehaviour)]
struct Behaviour {
	kad: kad::Behaviour<kad::store::MemoryStore>,
	identify: identify::Behaviour,
	ping: ping::Behaviour,
	blob: request_response::Behaviour<protocol::Codec>,
}

/// What the DHT's provider records are about.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Key {
	/// A blob.
	Blob(ContentId),
	/// A job's input list, by inputs root.
	Inputs(Hash),
}

impl Key {
	fn record(self) -> kad::RecordKey {
		match self {
			Key::Blob(id) => kad::RecordKey::new(&id.0),
			Key::Inputs(root) => kad::RecordKey::new(&[&b"inputs:"[..], &root[..]].concat()),
		}
	}
}

/// What a [`Client`] asks of the event loop.
enum Command {
	Provide { key: Key, reply: oneshot::Sender<()> },
	FindProviders { key: Key, reply: oneshot::Sender<HashSet<PeerId>> },
	Request { peer: PeerId, request: Request, reply: oneshot::Sender<Result<Response, Error>> },
	Dial { addr: Multiaddr, reply: oneshot::Sender<Result<(), Error>> },
	Ban { peer: PeerId },
	Widen { peer: PeerId },
	Connections { peer: PeerId, reply: oneshot::Sender<usize> },
	ConnectedPeers { reply: oneshot::Sender<Vec<PeerId>> },
	ListenAddrs { reply: oneshot::Sender<Vec<Multiaddr>> },
}

/// A cheap, cloneable handle to a running node: provide, find, fetch and serve blobs.
#[derive(Clone)]
pub struct Client {
	commands: mpsc::Sender<Command>,
	store: Store,
	peer_id: PeerId,
	pub(crate) config: Arc<Config>,
	/// Chunk buffers shared with the codec and the store reads.
	pub(crate) buffers: Buffers,
	/// One lock per blob being fetched, so two fetches of one blob never write one partial.
	pub(crate) fetching: Arc<Mutex<HashMap<ContentId, Arc<tokio::sync::Mutex<()>>>>>,
}

impl std::fmt::Debug for Client {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.debug_struct("Client").field("peer_id", &self.peer_id).finish_non_exhaustive()
	}
}

impl Client {
	/// This node's peer id.
	pub fn peer_id(&self) -> PeerId {
		self.peer_id
	}

	/// The node's content store.
	pub fn store(&self) -> &Store {
		&self.store
	}

	/// Whether the complete blob `id` is in the local store.
	pub fn has(&self, id: &ContentId) -> bool {
		self.store.has(id)
	}

	async fn call<R>(
		&self,
		command: impl FnOnce(oneshot::Sender<R>) -> Command,
	) -> Result<R, Error> {
		let (reply, response) = oneshot::channel();
		self.commands.send(command(reply)).await.map_err(|_| Error::Stopped)?;
		response.await.map_err(|_| Error::Stopped)
	}

	/// Stores `data` locally and announces it. Returns its content id.
	///
	/// # Errors
	/// If the store cannot write it, or the node has stopped.
	pub async fn add(&self, data: Vec<u8>) -> Result<ContentId, Error> {
		let store = self.store.clone();
		let id = tokio::task::spawn_blocking(move || store.put(&data))
			.await
			.map_err(|_| Error::Stopped)??;
		self.provide(id).await?;
		Ok(id)
	}

	/// Announces that this node serves blob `id` (which must be in its store), and returns
	/// once the announcement has reached the peers closest to it (or the DHT query timed out:
	/// the record is kept locally either way, and peers that ask this node find it).
	///
	/// # Errors
	/// [`Error::NotInStore`] if the blob is not in the store; [`Error::Stopped`] if the node
	/// has stopped.
	pub async fn provide(&self, id: ContentId) -> Result<(), Error> {
		if !self.store.has(&id) {
			return Err(Error::NotInStore(id));
		}
		self.call(|reply| Command::Provide { key: Key::Blob(id), reply }).await
	}

	/// Stores a job's input ids, announces them, and returns their inputs root (the value
	/// `post_job` takes).
	///
	/// # Errors
	/// If the store cannot write them, or the node has stopped.
	pub async fn add_inputs(&self, ids: Vec<ContentId>) -> Result<Hash, Error> {
		let store = self.store.clone();
		let root = tokio::task::spawn_blocking(move || store.put_inputs(&ids))
			.await
			.map_err(|_| Error::Stopped)??;
		self.call(|reply| Command::Provide { key: Key::Inputs(root), reply }).await?;
		Ok(root)
	}

	/// The input ids of the job with inputs root `root`: from the store, or from the peers
	/// that announce them (checked against the root, then kept and announced here too).
	/// `hint` names peers to ask besides the DHT's (for example, the job's poster).
	///
	/// # Errors
	/// [`Error::NotFound`] (with the root as the id) if no peer has a list matching the root.
	pub async fn inputs(&self, root: Hash, hint: &[PeerId]) -> Result<Vec<ContentId>, Error> {
		let store = self.store.clone();
		if let Some(ids) = tokio::task::spawn_blocking(move || store.inputs(&root))
			.await
			.map_err(|_| Error::Stopped)??
		{
			return Ok(ids);
		}
		let mut peers: Vec<PeerId> = hint.to_vec();
		let found = self.call(|reply| Command::FindProviders { key: Key::Inputs(root), reply });
		peers.extend(found.await?.into_iter().filter(|p| !hint.contains(p)));
		for peer in peers.into_iter().filter(|p| *p != self.peer_id) {
			match self.request(peer, Request::Inputs(root)).await {
				Ok(Response::Inputs(ids)) if ccgsc_primitives::inputs_root(&ids) == root => {
					self.add_inputs(ids.clone()).await?;
					return Ok(ids);
				},
				Ok(Response::Inputs(_)) => self.ban(peer).await?,
				_ => {},
			}
		}
		Err(Error::NotFound(ContentId(root)))
	}

	/// The peers that announce blob `id` (not this node), as the DHT knows them.
	///
	/// # Errors
	/// [`Error::Stopped`] if the node has stopped.
	pub async fn find_providers(&self, id: ContentId) -> Result<HashSet<PeerId>, Error> {
		let mut peers =
			self.call(|reply| Command::FindProviders { key: Key::Blob(id), reply }).await?;
		peers.remove(&self.peer_id);
		Ok(peers)
	}

	/// Fetches blob `id` into the local store (see [`Client::fetch_with`]).
	///
	/// # Errors
	/// As [`Client::fetch_with`].
	pub async fn fetch(&self, id: ContentId) -> Result<FetchReport, Error> {
		self.fetch_with(id, FetchOptions::default()).await
	}

	/// Fetches blob `id` into the local store, in parallel from every provider the DHT and
	/// `options` name, checking every chunk before it is stored, resuming from chunks an
	/// earlier fetch left on disk, and dropping (and banning for a while) any peer that sends
	/// bytes that do not check out. Once complete, this node provides the blob too.
	///
	/// # Errors
	/// [`Error::NotFound`] if no peer provides it; [`Error::Unavailable`] if every provider
	/// failed before the last chunk arrived (what arrived stays on disk for the next try);
	/// [`Error::Store`] if the store cannot be written; [`Error::Stopped`] if the node has
	/// stopped.
	pub async fn fetch_with(
		&self,
		id: ContentId,
		options: FetchOptions,
	) -> Result<FetchReport, Error> {
		fetch::fetch(self, id, options).await
	}

	/// Fetches blob `id` (if it is not here yet) and returns its bytes.
	///
	/// # Errors
	/// As [`Client::fetch`], and if the stored blob cannot be read.
	pub async fn get(&self, id: ContentId) -> Result<Vec<u8>, Error> {
		self.fetch(id).await?;
		let store = self.store.clone();
		tokio::task::spawn_blocking(move || store.get(&id))
			.await
			.map_err(|_| Error::Stopped)??
			.ok_or(Error::NotInStore(id))
	}

	/// Sends one request of the blob protocol to `peer` and waits for its response.
	///
	/// # Errors
	/// [`Error::Request`] if the peer cannot be reached or does not answer in time.
	pub async fn request(&self, peer: PeerId, request: Request) -> Result<Response, Error> {
		self.call(|reply| Command::Request { peer, request, reply }).await?
	}

	/// Dials `addr` (with or without a `/p2p/<peer>` suffix) and adds it to the DHT's routing
	/// table when it names the peer.
	///
	/// # Errors
	/// [`Error::Dial`] if the dial cannot start.
	pub async fn dial(&self, addr: Multiaddr) -> Result<(), Error> {
		self.call(|reply| Command::Dial { addr, reply }).await?
	}

	/// Disconnects `peer` and refuses its connections for the configured ban duration.
	///
	/// # Errors
	/// [`Error::Stopped`] if the node has stopped.
	pub async fn ban(&self, peer: PeerId) -> Result<(), Error> {
		self.commands.send(Command::Ban { peer }).await.map_err(|_| Error::Stopped)
	}

	/// Has the node keep the configured `connections_per_peer` connections to `peer` (from
	/// its first one on, until it disconnects), for a large fetch to spread over (see
	/// [`Config`]).
	pub(crate) async fn widen(&self, peer: PeerId) -> Result<(), Error> {
		self.commands.send(Command::Widen { peer }).await.map_err(|_| Error::Stopped)
	}

	/// How many connections this node has open to `peer`.
	///
	/// # Errors
	/// [`Error::Stopped`] if the node has stopped.
	pub async fn connections(&self, peer: PeerId) -> Result<usize, Error> {
		self.call(|reply| Command::Connections { peer, reply }).await
	}

	/// The peers this node is connected to.
	///
	/// # Errors
	/// [`Error::Stopped`] if the node has stopped.
	pub async fn connected_peers(&self) -> Result<Vec<PeerId>, Error> {
		self.call(|reply| Command::ConnectedPeers { reply }).await
	}

	/// The addresses this node listens on, each ending in `/p2p/<peer id>` so others can use
	/// it as a bootstrap address. Waits for the first one.
	///
	/// # Errors
	/// [`Error::Stopped`] if the node has stopped.
	pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, Error> {
		self.call(|reply| Command::ListenAddrs { reply }).await
	}
}

/// A running node: its [`Client`] and the task that drives its swarm.
///
/// Dropping it (or [`Node::stop`]) stops the swarm and closes its connections; clients that
/// outlive it get [`Error::Stopped`].
#[derive(Debug)]
pub struct Node {
	client: Client,
	task: tokio::task::JoinHandle<()>,
}

impl Node {
	/// Opens the store, starts the swarm on the configured listen addresses, dials the
	/// bootstrap peers and announces every blob already in the store. Must be called inside a
	/// tokio runtime (a multi-threaded one spreads connections over cores).
	///
	/// # Errors
	/// [`Error::Store`] if the store cannot be opened; [`Error::Listen`] if an address cannot
	/// be listened on; [`Error::Setup`] if the transport cannot be built.
	pub async fn start(config: Config) -> Result<Self, Error> {
		let store = Store::open(&config.store)?;
		let keypair = config.keypair.clone().unwrap_or_else(identity::Keypair::generate_ed25519);
		let peer_id = keypair.public().to_peer_id();
		let buffers = Buffers::default();
		let mut swarm = build_swarm(keypair, &config, buffers.clone())?;
		for addr in &config.listen {
			swarm.listen_on(addr.clone()).map_err(|e| Error::Listen(e.to_string()))?;
		}
		for addr in &config.bootstrap {
			dial(&mut swarm, addr.clone())?;
		}
		if !config.bootstrap.is_empty() {
			let _ = swarm.behaviour_mut().kad.bootstrap();
		}

		let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
		let (responses, response_rx) = mpsc::channel(COMMAND_QUEUE);
		let config = Arc::new(config);
		let event_loop = EventLoop {
			swarm,
			store: store.clone(),
			buffers: buffers.clone(),
			commands: command_rx,
			responses,
			ready: response_rx,
			ban_duration: config.ban_duration,
			banned: HashMap::new(),
			connections_per_peer: config.connections_per_peer,
			connections: HashMap::new(),
			wide: HashSet::new(),
			widening: HashSet::new(),
			listen_addrs: Vec::new(),
			listen_waiters: Vec::new(),
			pending_requests: HashMap::new(),
			pending_providers: HashMap::new(),
			pending_provides: HashMap::new(),
		};
		let task = tokio::spawn(event_loop.run());
		let client =
			Client { commands, store, peer_id, config, buffers, fetching: Default::default() };

		let announcer = client.clone();
		tokio::spawn(async move {
			let store = announcer.store.clone();
			let ids = tokio::task::spawn_blocking(move || store.list()).await;
			for id in ids.into_iter().flatten().flatten() {
				if announcer.provide(id).await.is_err() {
					return;
				}
			}
			let store = announcer.store.clone();
			let roots = tokio::task::spawn_blocking(move || store.list_inputs()).await;
			for root in roots.into_iter().flatten().flatten() {
				let provide =
					announcer.call(|reply| Command::Provide { key: Key::Inputs(root), reply });
				if provide.await.is_err() {
					return;
				}
			}
		});
		Ok(Self { client, task })
	}

	/// The node's client handle.
	pub fn client(&self) -> &Client {
		&self.client
	}

	/// Stops the swarm (its connections close) and waits until it has.
	pub async fn stop(mut self) {
		self.task.abort();
		let _ = (&mut self.task).await;
	}
}

impl Drop for Node {
	fn drop(&mut self) {
		self.task.abort();
	}
}

fn build_swarm(
	keypair: identity::Keypair,
	config: &Config,
	buffers: Buffers,
) -> Result<Swarm<Behaviour>, Error> {
	let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
		.with_tokio()
		.with_tcp(
			libp2p::tcp::Config::default().nodelay(true),
			libp2p::noise::Config::new,
			CoalescedYamux::default,
		)
		.map_err(|e| Error::Setup(e.to_string()))?
		.with_behaviour(|key| {
			let peer_id = key.public().to_peer_id();
			let mut kad_config = kad::Config::new(KAD_PROTOCOL);
			kad_config.set_query_timeout(config.query_timeout);
			let store_config = kad::store::MemoryStoreConfig {
				max_provided_keys: 1 << 20,
				max_records: 1 << 16,
				..Default::default()
			};
			let mut kad = kad::Behaviour::with_config(
				peer_id,
				kad::store::MemoryStore::with_config(peer_id, store_config),
				kad_config,
			);
			// Serve DHT queries even when no external address is confirmed (on loopback or
			// behind NAT the automatic mode would keep every node a client).
			kad.set_mode(Some(kad::Mode::Server));
			Behaviour {
				kad,
				identify: identify::Behaviour::new(identify::Config::new(
					IDENTIFY_VERSION.into(),
					key.public(),
				)),
				ping: ping::Behaviour::default(),
				blob: request_response::Behaviour::with_codec(
					protocol::Codec::new(buffers),
					[(protocol::PROTOCOL, ProtocolSupport::Full)],
					request_response::Config::default()
						.with_request_timeout(config.request_timeout)
						.with_max_concurrent_streams(config.max_inbound_streams),
				),
			}
		})
		.map_err(|e| Error::Setup(e.to_string()))?
		.with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_timeout))
		.build();
	Ok(swarm)
}

fn dial(swarm: &mut Swarm<Behaviour>, addr: Multiaddr) -> Result<(), Error> {
	if let Some(Protocol::P2p(peer)) = addr.iter().last() {
		swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
	}
	swarm.dial(addr).map_err(|e| Error::Dial(e.to_string()))
}

struct EventLoop {
	swarm: Swarm<Behaviour>,
	store: Store,
	buffers: Buffers,
	commands: mpsc::Receiver<Command>,
	/// Where blocking reads put the responses they have ready.
	responses: mpsc::Sender<(ResponseChannel<Response>, Response)>,
	ready: mpsc::Receiver<(ResponseChannel<Response>, Response)>,
	ban_duration: Duration,
	banned: HashMap<PeerId, Instant>,
	connections_per_peer: usize,
	/// Connections open to each connected peer.
	connections: HashMap<PeerId, usize>,
	/// Peers a large fetch asked to spread over `connections_per_peer` connections (until
	/// they disconnect).
	wide: HashSet<PeerId>,
	/// Peers an extra connection is being dialed to, so a fetch that asks again meanwhile
	/// does not dial another.
	widening: HashSet<PeerId>,
	listen_addrs: Vec<Multiaddr>,
	listen_waiters: Vec<oneshot::Sender<Vec<Multiaddr>>>,
	pending_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<Response, Error>>>,
	pending_providers: HashMap<kad::QueryId, (HashSet<PeerId>, oneshot::Sender<HashSet<PeerId>>)>,
	pending_provides: HashMap<kad::QueryId, oneshot::Sender<()>>,
}

impl EventLoop {
	async fn run(mut self) {
		loop {
			tokio::select! {
				event = self.swarm.select_next_some() => self.on_event(event),
				command = self.commands.recv() => match command {
					Some(command) => self.on_command(command),
					None => break,
				},
				Some((channel, response)) = self.ready.recv() => {
					// The peer may have gone meanwhile; its loss, nothing to do.
					let _ = self.swarm.behaviour_mut().blob.send_response(channel, response);
				},
			}
		}
	}

	fn is_banned(&mut self, peer: &PeerId) -> bool {
		match self.banned.get(peer) {
			Some(until) if *until > Instant::now() => true,
			Some(_) => {
				self.banned.remove(peer);
				false
			},
			None => false,
		}
	}

	/// Dials one more connection to `peer` if it is connected, wide, short of
	/// `connections_per_peer` and not being dialed already. Each connection that comes up
	/// calls this again, until the peer has its number.
	fn widen(&mut self, peer: PeerId) {
		let open = self.connections.get(&peer).copied().unwrap_or(0);
		// The first connection is the requests' own business; once it is up, the peer's
		// addresses are known and the next ones are dialed from here.
		if open == 0
			|| open >= self.connections_per_peer
			|| self.is_banned(&peer)
			|| !self.widening.insert(peer)
		{
			return;
		}
		let opts = DialOpts::peer_id(peer).condition(PeerCondition::Always).build();
		if let Err(e) = self.swarm.dial(opts) {
			tracing::debug!(%peer, error = %e, "cannot open another connection");
			self.widening.remove(&peer);
		}
	}

	fn on_command(&mut self, command: Command) {
		match command {
			Command::Provide { key, reply } => {
				match self.swarm.behaviour_mut().kad.start_providing(key.record()) {
					Ok(query) => {
						self.pending_provides.insert(query, reply);
					},
					Err(e) => {
						tracing::warn!(?key, error = %e, "cannot record provider");
						let _ = reply.send(());
					},
				}
			},
			Command::FindProviders { key, reply } => {
				let query = self.swarm.behaviour_mut().kad.get_providers(key.record());
				self.pending_providers.insert(query, (HashSet::new(), reply));
			},
			Command::Request { peer, request, reply } => {
				if self.is_banned(&peer) {
					let _ =
						reply.send(Err(Error::Request { peer, reason: "peer is banned".into() }));
					return;
				}
				let id = self.swarm.behaviour_mut().blob.send_request(&peer, request);
				self.pending_requests.insert(id, reply);
			},
			Command::Dial { addr, reply } => {
				let _ = reply.send(dial(&mut self.swarm, addr));
			},
			Command::Ban { peer } => {
				tracing::info!(%peer, "banning peer");
				self.banned.insert(peer, Instant::now() + self.ban_duration);
				self.swarm.behaviour_mut().kad.remove_peer(&peer);
				let _ = self.swarm.disconnect_peer_id(peer);
			},
			Command::Widen { peer } => {
				self.wide.insert(peer);
				self.widen(peer);
			},
			Command::Connections { peer, reply } => {
				let _ = reply.send(self.connections.get(&peer).copied().unwrap_or(0));
			},
			Command::ConnectedPeers { reply } => {
				let _ = reply.send(self.swarm.connected_peers().copied().collect());
			},
			Command::ListenAddrs { reply } => {
				if self.listen_addrs.is_empty() {
					self.listen_waiters.push(reply);
				} else {
					let _ = reply.send(self.listen_addrs.clone());
				}
			},
		}
	}

	fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
		match &event {
			SwarmEvent::ConnectionEstablished { peer_id, num_established, .. } => {
				self.connections.insert(*peer_id, num_established.get() as usize);
				self.widening.remove(peer_id);
				if self.wide.contains(peer_id) {
					self.widen(*peer_id);
				}
			},
			SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } => {
				self.connections.remove(peer_id);
				self.wide.remove(peer_id);
			},
			SwarmEvent::ConnectionClosed { peer_id, num_established, .. } => {
				self.connections.insert(*peer_id, *num_established as usize);
			},
			SwarmEvent::OutgoingConnectionError { peer_id: Some(peer_id), .. } => {
				self.widening.remove(peer_id);
			},
			_ => {},
		}
		match event {
			SwarmEvent::NewListenAddr { address, .. } => {
				let local = *self.swarm.local_peer_id();
				self.listen_addrs.push(address.with(Protocol::P2p(local)));
				for waiter in self.listen_waiters.drain(..) {
					let _ = waiter.send(self.listen_addrs.clone());
				}
			},
			SwarmEvent::ConnectionEstablished { peer_id, .. } if self.is_banned(&peer_id) => {
				let _ = self.swarm.disconnect_peer_id(peer_id);
			},
			SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
				peer_id,
				info,
				..
			})) if !self.is_banned(&peer_id) => {
				for addr in info.listen_addrs {
					self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
				}
			},
			SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad(event),
			SwarmEvent::Behaviour(BehaviourEvent::Blob(event)) => self.on_blob(event),
			_ => {},
		}
	}

	fn on_kad(&mut self, event: kad::Event) {
		let kad::Event::OutboundQueryProgressed { id, result, step, .. } = event else { return };
		match result {
			kad::QueryResult::StartProviding(result) => {
				if let Err(e) = result {
					tracing::debug!(error = ?e, "provider record not replicated");
				}
				if let Some(reply) = self.pending_provides.remove(&id) {
					let _ = reply.send(());
				}
			},
			kad::QueryResult::GetProviders(result) => {
				if let Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) = result {
					if let Some((found, _)) = self.pending_providers.get_mut(&id) {
						found.extend(providers);
					}
				}
				if step.last {
					if let Some((found, reply)) = self.pending_providers.remove(&id) {
						let _ = reply.send(found);
					}
				}
			},
			_ => {},
		}
	}

	fn on_blob(&mut self, event: request_response::Event<Request, Response>) {
		use request_response::{Event, Message};
		match event {
			Event::Message { peer, message: Message::Request { request, channel, .. } } => {
				if self.is_banned(&peer) {
					return;
				}
				let (store, buffers) = (self.store.clone(), self.buffers.clone());
				let ready = self.responses.clone();
				tokio::task::spawn_blocking(move || {
					let response = serve(&store, &buffers, request);
					let _ = ready.blocking_send((channel, response));
				});
			},
			Event::Message { message: Message::Response { request_id, response }, .. } => {
				if let Some(reply) = self.pending_requests.remove(&request_id) {
					let _ = reply.send(Ok(response));
				}
			},
			Event::OutboundFailure { peer, request_id, error, .. } => {
				if let Some(reply) = self.pending_requests.remove(&request_id) {
					let _ = reply.send(Err(Error::Request { peer, reason: error.to_string() }));
				}
			},
			Event::InboundFailure { peer, error, .. } => {
				tracing::debug!(%peer, %error, "inbound request failed");
			},
			Event::ResponseSent { .. } => {},
		}
	}
}

/// Answers one request from the store.
fn serve(store: &Store, buffers: &Buffers, request: Request) -> Response {
	let answer = match request {
		Request::Manifest(id) => store.manifest(&id).map(|m| m.map(Response::Manifest)),
		Request::Inputs(root) => store.inputs(&root).map(|ids| ids.map(Response::Inputs)),
		Request::Chunks { id, first, count } => {
			let mut buf = buffers.take_any();
			match store.read_chunks_into(&id, first, count, &mut buf) {
				Ok(true) => Ok(Some(Response::Chunks(buf))),
				other => {
					buffers.give(buf);
					other.map(|_| None)
				},
			}
		},
	};
	match answer {
		Ok(Some(response)) => response,
		Ok(None) => Response::NotFound,
		Err(e) => {
			tracing::warn!(error = %e, "cannot read from the store");
			Response::NotFound
		},
	}
}
