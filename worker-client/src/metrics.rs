//! A Prometheus endpoint: `GET /metrics` in the text exposition format. The worker serves its
//! [`Stats`]; `ccgsc-verifier` serves its own counters through the same [`Metrics`] trait.

use std::{fmt::Write as _, net::SocketAddr, sync::atomic::Ordering, sync::Arc};

use axum::{extract::State, routing::get, Router};

use crate::Stats;

/// Anything that renders itself as Prometheus metrics.
pub trait Metrics: Send + Sync + 'static {
	/// The metrics, in the text exposition format.
	fn render(&self) -> String;
}

/// Appends one metric with its help and type lines to `out`.
pub fn metric(out: &mut String, kind: &str, name: &str, help: &str, value: u64) {
	let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
}

impl Metrics for Stats {
	fn render(&self) -> String {
		let counters = [
			("ccgsc_worker_tasks_total", "Tasks executed and committed.", &self.tasks_done),
			("ccgsc_worker_revealed_total", "Results revealed.", &self.revealed),
			("ccgsc_worker_earned_total", "Credits earned, in the smallest unit.", &self.earned),
			("ccgsc_worker_slashed_total", "Credits slashed, in the smallest unit.", &self.slashed),
			("ccgsc_worker_abandoned_total", "Leases given back.", &self.abandoned),
			(
				"ccgsc_worker_stopped_total",
				"Tasks stopped, or never started, because their job closed (cancelled, or past \
				 its deadline); their leases are given back.",
				&self.stopped,
			),
			("ccgsc_worker_renewed_total", "Leases renewed.", &self.renewed),
			("ccgsc_worker_refused_total", "Transactions the chain refused.", &self.refused),
			(
				"ccgsc_worker_busy_microseconds_total",
				"Time spent running tasks in the sandbox, summed over cores.",
				&self.busy_micros,
			),
		];
		let mut out = String::new();
		for (name, help, value) in counters {
			metric(&mut out, "counter", name, help, value.load(Ordering::Relaxed));
		}
		metric(
			&mut out,
			"gauge",
			"ccgsc_worker_running",
			"Tasks running now.",
			self.running.load(Ordering::Relaxed),
		);
		metric(
			&mut out,
			"gauge",
			"ccgsc_worker_chain_connected",
			"1 while the worker follows its node's blocks, 0 while it cannot reach the node.",
			u64::from(self.connected.load(Ordering::Relaxed)),
		);
		metric(
			&mut out,
			"gauge",
			"ccgsc_worker_active",
			"0 once the chain refused a claim because the worker is not active (stake below the \
			 minimum, or not registered), 1 otherwise.",
			u64::from(!self.inactive.load(Ordering::Relaxed)),
		);
		out
	}
}

async fn metrics<M: Metrics>(State(metrics): State<Arc<M>>) -> String {
	metrics.render()
}

/// Serves `metrics` at `http://addr/metrics` until the process ends; returns the bound
/// address (port 0 picks a free one).
///
/// # Errors
/// If `addr` cannot be bound.
pub async fn serve_metrics<M: Metrics>(
	addr: SocketAddr,
	metrics_of: Arc<M>,
) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr).await?;
	let bound = listener.local_addr()?;
	let app = Router::new().route("/metrics", get(metrics::<M>)).with_state(metrics_of);
	tokio::spawn(async move {
		if let Err(e) = axum::serve(listener, app).await {
			tracing::warn!(error = %e, "metrics server stopped");
		}
	});
	Ok(bound)
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_status_line_and_the_gauge_say_whether_the_node_is_reached() {
		let stats = Stats::default();
		assert!(stats.line().starts_with("node unreachable, retrying · tasks done 0 "));
		assert!(stats.render().contains("\nccgsc_worker_chain_connected 0\n"));
		stats.connected.store(true, Ordering::Relaxed);
		assert!(stats.line().starts_with("tasks done 0 "));
		assert!(stats.render().contains("\nccgsc_worker_chain_connected 1\n"));
	}
}
