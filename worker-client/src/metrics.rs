//! The worker's Prometheus endpoint: `GET /metrics` in the text exposition format.

use std::{net::SocketAddr, sync::atomic::Ordering, sync::Arc};

use axum::{extract::State, routing::get, Router};

use crate::Stats;

async fn metrics(State(stats): State<Arc<Stats>>) -> String {
	let counters = [
		("ccgsc_worker_tasks_total", "Tasks executed and committed.", &stats.tasks_done),
		("ccgsc_worker_revealed_total", "Results revealed.", &stats.revealed),
		("ccgsc_worker_earned_total", "Credits earned, in the smallest unit.", &stats.earned),
		("ccgsc_worker_slashed_total", "Credits slashed, in the smallest unit.", &stats.slashed),
		("ccgsc_worker_abandoned_total", "Leases given back.", &stats.abandoned),
		("ccgsc_worker_refused_total", "Transactions the chain refused.", &stats.refused),
	];
	let mut out = String::new();
	for (name, help, value) in counters {
		out.push_str(&format!(
			"# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
			value.load(Ordering::Relaxed)
		));
	}
	out.push_str(&format!(
		"# HELP ccgsc_worker_running Tasks running now.\n# TYPE ccgsc_worker_running gauge\nccgsc_worker_running {}\n",
		stats.running.load(Ordering::Relaxed)
	));
	out
}

/// Serves `stats` at `http://addr/metrics` until the process ends; returns the bound address
/// (port 0 picks a free one).
///
/// # Errors
/// If `addr` cannot be bound.
pub async fn serve_metrics(addr: SocketAddr, stats: Arc<Stats>) -> std::io::Result<SocketAddr> {
	let listener = tokio::net::TcpListener::bind(addr).await?;
	let bound = listener.local_addr()?;
	let app = Router::new().route("/metrics", get(metrics)).with_state(stats);
	tokio::spawn(async move {
		if let Err(e) = axum::serve(listener, app).await {
			tracing::warn!(error = %e, "metrics server stopped");
		}
	});
	Ok(bound)
}
