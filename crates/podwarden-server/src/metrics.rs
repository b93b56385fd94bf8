//! Prometheus metrics: request counts and latency by route and status, recorded by a
//! middleware, plus asset and agent gauges read from the store at scrape time.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Debug, Default, Clone)]
struct Latency {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Latency>,
}

/// Request metrics of this process.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Records one request.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner
            .requests
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        let latency = inner
            .latency
            .entry((method.to_string(), route.to_string()))
            .or_default();
        latency.count += 1;
        latency.sum_seconds += seconds;
        for (bound, count) in BUCKETS.iter().zip(latency.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }

    /// The request metrics in Prometheus text format.
    pub fn render_requests(&self, out: &mut String) {
        let Ok(inner) = self.inner.lock() else {
            return;
        };
        out.push_str(
            "# HELP podwarden_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE podwarden_http_requests_total counter\n");
        for ((method, route, status), count) in &inner.requests {
            let _ = writeln!(
                out,
                "podwarden_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
        out.push_str("# HELP podwarden_http_request_duration_seconds HTTP request latency.\n");
        out.push_str("# TYPE podwarden_http_request_duration_seconds histogram\n");
        for ((method, route), latency) in &inner.latency {
            let route = escape(route);
            for (bound, count) in BUCKETS.iter().zip(latency.counts.iter()) {
                let _ = writeln!(
                    out,
                    "podwarden_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "podwarden_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}",
                latency.count
            );
            let _ = writeln!(
                out,
                "podwarden_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {}",
                latency.sum_seconds
            );
            let _ = writeln!(
                out,
                "podwarden_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
                latency.count
            );
        }
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: times each request and records it under its route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
