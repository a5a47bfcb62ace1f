//! The portal's connection to the node: reconnecting, following finalized blocks, and keeping
//! every accepted output while the chain keeps its job's record. An output is fetched as soon
//! as it is accepted, provisionally too (a single result in its audit window), so the job page
//! shows it, marked provisional, without waiting out the window; an audit that overturns it
//! settles the task on another output, which is fetched then.

use std::{path::Path, time::Duration};

use anyhow::Context;
use ccgsc_chain::{api, Chain};
use ccgsc_p2p::{FetchOptions, PeerId};
use ccgsc_primitives::{ContentId, JobId, Outcome, TaskIndex};
use ccgsc_worker::kept::{self, Item};
use tokio::sync::watch;

use crate::Portal;

/// How often an output that cannot be fetched yet is tried again, and how many times.
const KEEP_RETRY: Duration = Duration::from_secs(5);
const KEEP_TRIES: u32 = 12;

/// The node connection: `None` while (re)connecting.
pub(crate) struct Link {
	pub(crate) url: String,
	chain: watch::Sender<Option<Chain>>,
	/// The latest finalized block number seen; every change wakes the event streams.
	finalized: watch::Sender<u32>,
}

impl Link {
	pub(crate) fn new(url: String) -> Self {
		Self { url, chain: watch::channel(None).0, finalized: watch::channel(0).0 }
	}

	/// The connection, if there is one now.
	pub(crate) fn chain(&self) -> Option<Chain> {
		self.chain.borrow().clone()
	}

	pub(crate) fn connected(&self) -> bool {
		self.chain.borrow().is_some()
	}

	/// Changes whenever a block is finalized or the connection comes or goes.
	pub(crate) fn changes(&self) -> (watch::Receiver<u32>, watch::Receiver<Option<Chain>>) {
		(self.finalized.subscribe(), self.chain.subscribe())
	}

	pub(crate) fn finalized(&self) -> u32 {
		*self.finalized.borrow()
	}
}

/// Opens the notes of which job each output in the store was kept for (the worker's
/// [`Kept`](kept::Kept), in `dir`); `None`, with a warning, if another process holds them.
pub(crate) fn open_notes(dir: &Path) -> anyhow::Result<Option<kept::Held>> {
	let held = kept::Held::open(dir).context("cannot open the notes of what the store keeps")?;
	if held.is_none() {
		tracing::warn!(
			dir = %dir.display(),
			"another process keeps the notes of this directory: outputs kept now stay"
		);
	}
	Ok(held)
}

/// Notes that `output` is kept for `job`, before it is fetched (so a crash leaves a note for
/// an output that may not be there, never an output without a note). A note that cannot be
/// written only means that the output stays.
fn note(portal: &Portal, job: JobId, output: ContentId) {
	let Some(notes) = &portal.inner.kept else { return };
	if let Err(e) =
		notes.kept.lock().expect("kept notes lock poisoned").note(job, Item::Blob(output))
	{
		tracing::warn!(job, %output, error = %e, "cannot note which job an output is kept for");
	}
}

/// Removes what was kept only for `jobs`, whose records the chain removed; waits for it, so an
/// output a later block settles again (under another job) is noted after it is released.
async fn drop_jobs(portal: &Portal, jobs: Vec<JobId>) {
	let Some(notes) = &portal.inner.kept else { return };
	let (kept, store) = (notes.kept.clone(), portal.inner.p2p.store().clone());
	let _ = tokio::task::spawn_blocking(move || kept::drop_jobs(&kept, &store, &jobs)).await;
}

/// Connects (retrying), follows finalized blocks, and starts over whenever the node goes away.
pub(crate) async fn follow(portal: Portal) {
	let link = &portal.inner.link;
	let mut delay = Duration::from_millis(250);
	loop {
		let chain = match Chain::connect(&link.url).await {
			Ok(chain) => chain,
			Err(e) => {
				tracing::warn!(url = %link.url, error = %e, "node unreachable; retrying in {delay:?}");
				tokio::time::sleep(delay).await;
				delay = (delay * 2).min(Duration::from_secs(3));
				continue;
			},
		};
		let mut blocks = match chain.client().stream_blocks().await {
			Ok(blocks) => blocks,
			Err(e) => {
				tracing::warn!(error = %e, "cannot follow blocks; reconnecting");
				tokio::time::sleep(delay).await;
				continue;
			},
		};
		delay = Duration::from_millis(250);
		tracing::info!(url = %link.url, "connected to the node");
		// Records removed while the portal was away, before any block is followed: so every
		// release comes before the notes of later blocks.
		if let Some(notes) = &portal.inner.kept {
			kept::drop_pruned(&notes.kept, portal.inner.p2p.store(), &chain).await;
		}
		link.chain.send_replace(Some(chain.clone()));
		tokio::spawn(backfill(portal.clone(), chain.clone()));
		while let Some(block) = blocks.next().await {
			let block = match block {
				Ok(block) => block,
				Err(e) => {
					tracing::warn!(error = %e, "block stream failed; reconnecting");
					break;
				},
			};
			match ccgsc_chain::block_events(&block).await {
				Ok(events) => {
					let provisional = events
						.find::<api::jobs::events::ProvisionallyAccepted>()
						.flatten()
						.map(|e| (e.job, e.task, Some(e.result)));
					let settled = events
						.find::<api::jobs::events::TaskSettled>()
						.flatten()
						.map(|e| (e.job, e.task, e.result));
					for (job, task, result) in provisional.chain(settled) {
						let Some(result) = result else { continue };
						if ccgsc_chain::convert::outcome_back(&result.outcome) == Outcome::Success {
							let output = ContentId(result.output.0);
							note(&portal, job, output);
							let (portal, chain) = (portal.clone(), chain.clone());
							tokio::spawn(
								async move { keep(&portal, &chain, job, task, output).await },
							);
						}
					}
					let pruned: Vec<JobId> = events
						.find::<api::jobs::events::JobPruned>()
						.flatten()
						.map(|e| e.job)
						.collect();
					if !pruned.is_empty() {
						drop_jobs(&portal, pruned).await;
					}
				},
				Err(e) => tracing::warn!(error = %e, "cannot read a block's events"),
			}
			link.finalized.send_replace(block.number() as u32);
		}
		link.chain.send_replace(None);
		tracing::warn!(url = %link.url, "lost the node; reconnecting");
	}
}

/// Fetches accepted outputs (provisional ones too) the store does not have yet (accepted while
/// the portal was away), noting every accepted output for its job, kept already or not.
async fn backfill(portal: Portal, chain: Chain) {
	let jobs = match chain.jobs().await {
		Ok(jobs) => jobs,
		Err(e) => return tracing::warn!(error = %e, "cannot list jobs to keep their outputs"),
	};
	for (job, _) in jobs {
		let Ok(Some(snapshot)) = chain.job_with_tasks(job).await else { continue };
		for (index, task) in snapshot.tasks {
			let Some(result) = task.result else { continue };
			use api::runtime_types::pallet_jobs::types::Phase;
			let accepted = matches!(task.phase, Phase::Done | Phase::Provisional(_));
			let output = ContentId(result.output.0);
			if accepted && ccgsc_chain::convert::outcome_back(&result.outcome) == Outcome::Success {
				note(&portal, job, output);
				keep(&portal, &chain, job, index, output).await;
			}
		}
	}
}

/// Fetches `output` of an accepted task into the store (which checks every chunk against the
/// id), asking the task's replicas first, and keeps trying for a minute.
async fn keep(portal: &Portal, chain: &Chain, job: JobId, task: TaskIndex, output: ContentId) {
	let p2p = &portal.inner.p2p;
	if p2p.has(&output) {
		return;
	}
	let mut providers = Vec::new();
	if let Ok(Some(info)) = chain.task(job, task).await {
		for replica in &info.replicas.0 {
			if let Ok(Some(worker)) = chain.worker(&replica.worker).await {
				if let Ok(peer) = PeerId::from_bytes(&worker.profile.peer_id.0) {
					providers.push(peer);
				}
			}
		}
	}
	for attempt in 1..=KEEP_TRIES {
		let options = FetchOptions::default().with_providers(providers.iter().copied());
		match p2p.fetch_with(output, options).await {
			Ok(_) => {
				tracing::info!(job, task, %output, "kept an accepted output");
				return;
			},
			Err(e) if attempt == KEEP_TRIES => {
				tracing::warn!(job, task, %output, error = %e, "cannot fetch an accepted output");
			},
			Err(_) => tokio::time::sleep(KEEP_RETRY).await,
		}
	}
}
