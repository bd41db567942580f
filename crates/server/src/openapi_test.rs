//! Unit tests of `openapi`.
#![allow(clippy::unwrap_used)]
use super::*;

/// Every schema an API route names exists in the components, so the document has no dangling refs.
#[test]
fn every_referenced_schema_is_a_component() {
    let doc = serde_json::to_value(build()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for r in ROUTES.iter().filter(|r| r.kind == Kind::Api) {
        for name in [r.request, r.response].into_iter().flatten() {
            let name = name.trim_end_matches("[]");
            assert!(schemas.contains_key(name), "{} {}: schema {name} missing", r.method, r.path);
        }
    }
    assert!(doc["paths"]["/api/v1/orgs/{id}"]["get"]["parameters"][0]["name"] == "id");
}
