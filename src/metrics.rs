//! Prometheus metrics: requests by route and status, latency, tokens issued by grant and realm,
//! requests refused by the rate limits.

use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub tokens_issued: IntCounterVec,
    /// Events not stored because the writer's queue was full.
    pub events_dropped: IntCounter,
    pub rate_limited: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("nexus_http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("nexus_http_request_duration_seconds", "HTTP request latency").buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route"],
        )
        .expect("valid metric");
        let tokens_issued = IntCounterVec::new(
            Opts::new(
                "nexus_tokens_issued_total",
                "Access tokens issued by grant type and realm",
            ),
            &["grant_type", "realm"],
        )
        .expect("valid metric");
        let events_dropped = IntCounter::new(
            "nexus_events_dropped_total",
            "Events dropped because the event writer's queue was full",
        )
        .expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "nexus_rate_limited_total",
                "Requests refused with 429 by endpoint, limit (requests or failures) and realm",
            ),
            &["endpoint", "reason", "realm"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(tokens_issued.clone()),
            Box::new(events_dropped.clone()),
            Box::new(rate_limited.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        Self {
            registry,
            requests,
            latency,
            tokens_issued,
            events_dropped,
            rate_limited,
        }
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
