//! The OpenAPI document of the connections API, checked in as `openapi.json` and served at
//! `/api/v2/openapi.json`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::ApiState;

/// The document.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /api/v2/openapi.json` (no authentication, like Airflow's).
pub fn router() -> Router<ApiState> {
    Router::new().route(
        "/api/v2/openapi.json",
        get(|| async {
            ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
        }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_parses_and_names_every_route() {
        let v: serde_json::Value = serde_json::from_str(super::OPENAPI_JSON).unwrap();
        let paths = v["paths"].as_object().unwrap();
        for p in [
            "/api/v2/connections",
            "/api/v2/connections/{connection_id}",
            "/api/v2/connections/test",
            crate::connection_export::PATH,
            crate::deployment_secrets::PATH,
        ] {
            assert!(paths.contains_key(p), "{p}");
        }
        assert_eq!(v["openapi"], "3.0.3");
    }
}
