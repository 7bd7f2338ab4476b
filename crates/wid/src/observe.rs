//! Operating `wid up`: `/healthz` (alive), `/readyz` (database reachable, migrations current,
//! keys loaded, not draining), Prometheus metrics at `/metrics` (`prometheus-client`), and
//! the one log line per request with its correlation id.
//!
//! Labels are bounded: routes are a fixed set of names (never a path), statuses numbers,
//! AADSTS codes from the catalogue. Nothing here reads a body, a query string or a header
//! other than the correlation id's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use wid_cloud::CloudState;

/// Labels of `wid_http_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

/// Labels of `wid_token_exchanges_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExchangeLabels {
    result: &'static str,
    code: String,
}

/// Labels of the gauges and counters read at scrape time.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// The server's metrics and readiness.
#[derive(Debug)]
pub struct Observe {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    exchanges: Family<ExchangeLabels, Counter>,
    exchange_seconds: Histogram,
    pool: Family<StateLabels, Gauge>,
    issuer_fetches: Family<StateLabels, Counter>,
    draining: AtomicBool,
}

impl Default for Observe {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("wid");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route (ARM, token, api, ...), method and status",
            requests.clone(),
        );
        let exchanges = Family::<ExchangeLabels, Counter>::default();
        registry.register(
            "token_exchanges",
            "Token endpoint requests by result and AADSTS code (0 for success)",
            exchanges.clone(),
        );
        let exchange_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "token_exchange_duration_seconds",
            "Time to answer a token endpoint request",
            exchange_seconds.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            pool.clone(),
        );
        let issuer_fetches = Family::<StateLabels, Counter>::default();
        registry.register(
            "issuer_metadata_fetches",
            "Fetches of federated issuers' discovery documents and JWKS by result",
            issuer_fetches.clone(),
        );
        Self {
            registry,
            requests,
            exchanges,
            exchange_seconds,
            pool,
            issuer_fetches,
            draining: AtomicBool::new(false),
        }
    }
}

impl Observe {
    /// Marks the server as leaving: `/readyz` answers 503 so the load balancer takes it
    /// out of its pool while requests in flight finish.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether [`Observe::drain`] was called.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    fn render(&self, cloud: &CloudState) -> Result<String, std::fmt::Error> {
        let (size, idle) = cloud.store.pool_stats();
        let idle = idle as i64;
        self.pool
            .get_or_create(&StateLabels { state: "idle" })
            .set(idle);
        self.pool
            .get_or_create(&StateLabels { state: "in_use" })
            .set(i64::from(size) - idle);
        for (state, total) in [
            ("ok", cloud.oidc.fetches_ok.load(Ordering::Relaxed)),
            ("failed", cloud.oidc.fetches_failed.load(Ordering::Relaxed)),
        ] {
            let c = self.issuer_fetches.get_or_create(&StateLabels { state });
            c.inc_by(total.saturating_sub(c.get()));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The shared state of the operational routes and the request middleware.
#[derive(Clone, Debug)]
pub struct OpsState {
    /// The cloud (its store and keys).
    pub cloud: CloudState,
    /// Metrics and the draining flag.
    pub observe: Arc<Observe>,
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(s): State<OpsState>) -> Response {
    match s.observe.render(&s.cloud) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /readyz`: 200 when this replica should get traffic.
pub async fn readyz(State(s): State<OpsState>) -> Response {
    if s.observe.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining: shutting down\n").into_response();
    }
    // Bounded: a database that hangs makes the replica unready, not the probe slow.
    match tokio::time::timeout(std::time::Duration::from_secs(2), s.cloud.store.ready()).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "database: migrations are not current\n",
            )
                .into_response();
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            return (StatusCode::SERVICE_UNAVAILABLE, "database: unreachable\n").into_response();
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer within 2 s");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "database: no answer within 2 s\n",
            )
                .into_response();
        }
    }
    let now = s.cloud.clock.now();
    for p in [
        wid_cloud::keys::Purpose::Issuer,
        wid_cloud::keys::Purpose::Sts,
    ] {
        if s.cloud.keys.jwks(p, now).keys.is_empty() {
            return (StatusCode::SERVICE_UNAVAILABLE, "keys: none published\n").into_response();
        }
    }
    (StatusCode::OK, "ready\n").into_response()
}

/// The route family of a path: a bounded label, never the path itself. Compared without
/// case and without copying the path (it runs on every request).
pub fn route_of(path: &str) -> &'static str {
    let p = path.as_bytes();
    let starts = |prefix: &str| {
        p.len() >= prefix.len() && p[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    let ends = |suffix: &str| {
        p.len() >= suffix.len()
            && p[p.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
    };
    let contains = |needle: &str| {
        p.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
    };
    if ends("/oauth2/v2.0/token") || ends("/oauth2/token") {
        "token"
    } else if starts("/subscriptions") || starts("/providers") {
        "arm"
    } else if starts("/api/") {
        "api"
    } else if starts("/issuer/") {
        "issuer"
    } else if starts("/metadata/identity") {
        "imds"
    } else if starts("/metadata/") {
        "metadata"
    } else if starts("/v1.0/") {
        "graph"
    } else if contains("/discovery/") || contains("/.well-known/") {
        "discovery"
    } else if ["/healthz", "/readyz", "/metrics"]
        .iter()
        .any(|o| path.eq_ignore_ascii_case(o))
    {
        "ops"
    } else {
        "other"
    }
}

/// The method as a bounded label: HTTP's own methods, and `other` for any extension
/// method a client invents (which would otherwise grow the metric without bound).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The request's correlation id: the client's (`x-ms-correlation-request-id`,
/// `x-ms-client-request-id`, `client-request-id`) when it is a plain id, else a new one.
pub fn correlation_id(headers: &HeaderMap) -> String {
    [
        "x-ms-correlation-request-id",
        "x-ms-client-request-id",
        "client-request-id",
    ]
    .iter()
    .filter_map(|h| headers.get(*h)?.to_str().ok())
    .find(|v| {
        !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
    .map(String::from)
    .unwrap_or_else(wid_model::ids::new_guid)
}

/// Counts and logs each request: method, route, path, status, latency and correlation id;
/// never query strings, other headers or bodies, which can carry secrets.
pub async fn track(State(s): State<OpsState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = route_of(&path);
    let correlation_id = correlation_id(req.headers());
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed();
    let status = resp.status().as_u16();
    s.observe
        .requests
        .get_or_create(&RequestLabels {
            route,
            method: method_label(&method),
            status,
        })
        .inc();
    if route == "token" && method == axum::http::Method::POST {
        s.observe.exchange_seconds.observe(elapsed.as_secs_f64());
        let labels = match resp.extensions().get::<wid_cloud::sts::AadstsCode>() {
            Some(c) => ExchangeLabels {
                result: "error",
                code: c.0.to_string(),
            },
            None if status == 200 => ExchangeLabels {
                result: "success",
                code: "0".into(),
            },
            None => ExchangeLabels {
                result: "error",
                code: "none".into(),
            },
        };
        s.observe.exchanges.get_or_create(&labels).inc();
    }
    tracing::info!(%method, route, %path, status, ms = elapsed.as_millis() as u64, %correlation_id, "request");
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_a_bounded_set() {
        assert_eq!(route_of("/t1/oauth2/v2.0/token"), "token");
        assert_eq!(route_of("/T1/OAuth2/Token"), "token");
        assert_eq!(route_of("/subscriptions/x/resourceGroups/y"), "arm");
        assert_eq!(route_of("/api/v2/connections/c"), "api");
        assert_eq!(route_of("/metadata/identity/oauth2/token"), "token");
        assert_eq!(route_of("/metadata/endpoints"), "metadata");
        assert_eq!(route_of("/anything/else"), "other");
        assert_eq!(
            route_of("/T1/v2.0/.Well-Known/openid-configuration"),
            "discovery"
        );
        assert_eq!(route_of("/HEALTHZ"), "ops");
        assert_eq!(route_of("/healthz/more"), "other");
        assert_eq!(route_of(""), "other");
    }

    #[test]
    fn invented_methods_share_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for m in ["PURGE", "X-ANYTHING-1", "X-ANYTHING-2"] {
            assert_eq!(
                method_label(&Method::from_bytes(m.as_bytes()).unwrap()),
                "other"
            );
        }
    }

    #[test]
    fn correlation_ids_are_plain_or_new() {
        let mut h = HeaderMap::new();
        h.insert("client-request-id", "abc-123".parse().unwrap());
        assert_eq!(correlation_id(&h), "abc-123");
        h.insert(
            "x-ms-client-request-id",
            "a b\nforged"
                .parse()
                .unwrap_or_else(|_| "a b".parse().unwrap()),
        );
        assert_eq!(correlation_id(&h), "abc-123");
        let fresh = correlation_id(&HeaderMap::new());
        assert_eq!(fresh.len(), 36);
    }
}
