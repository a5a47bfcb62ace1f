//! The web UI: static files embedded in the binary.

use axum::{http::header, response::IntoResponse};

/// Keeps the page to its own scripts, styles and images (and `data:`/`blob:` images for the
/// rendered Mandelbrot and downloads).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; \
	script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
	(
		[
			(header::CONTENT_TYPE, content_type),
			(header::CONTENT_SECURITY_POLICY, CSP),
			(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
			(header::CACHE_CONTROL, "no-cache"),
		],
		body,
	)
}

pub(crate) async fn index() -> impl IntoResponse {
	asset("text/html; charset=utf-8", include_str!("../assets/index.html"))
}

pub(crate) async fn script() -> impl IntoResponse {
	asset("text/javascript; charset=utf-8", include_str!("../assets/app.js"))
}

pub(crate) async fn style() -> impl IntoResponse {
	asset("text/css; charset=utf-8", include_str!("../assets/style.css"))
}
