//! The OpenAPI document is part of the contract: any change to it shows up here as a diff of
//! `tests/snapshots/openapi.json`, reviewed with the change. `UPDATE_SNAPSHOTS=1 cargo test
//! openapi` rewrites the snapshot.

use std::path::Path;

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/openapi.json");
    let now = hienmau_api::http::openapi::pretty_json();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &now).unwrap();
        return;
    }
    let before = std::fs::read_to_string(&path).unwrap();
    if before != now {
        let first = before
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(before.lines().count().min(now.lines().count()));
        panic!(
            "the OpenAPI document changed from line {}: snapshot {:?}, now {:?} \
             (UPDATE_SNAPSHOTS=1 rewrites the snapshot once the change is intended)",
            first + 1,
            before.lines().nth(first),
            now.lines().nth(first)
        );
    }
}
