//! The layers point one way: `http` → `app` → domain and persistence. These checks read the
//! sources, so that a shortcut through the layers fails the build's tests rather than a
//! review.

use std::fs;
use std::path::{Path, PathBuf};

fn api_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/api/src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach anywhere) and
/// without comments.
fn code_of(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let body = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    body.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_use_cases_know_nothing_of_http() {
    let files = rust_files(&api_src().join("app"));
    assert!(files.len() >= 10, "app/ has {} files", files.len());
    let mut offences = Vec::new();
    for file in files {
        let code = code_of(&file);
        for needle in [
            "actix_web",
            "actix_",
            "utoipa",
            "crate::http",
            "ToSchema",
            "HttpResponse",
        ] {
            if code.contains(needle) {
                offences.push(format!("{} uses {needle}", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn handlers_call_use_cases_not_other_handlers_nor_the_route_table() {
    let dir = api_src().join("http/handlers");
    let modules: Vec<String> = rust_files(&dir)
        .iter()
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|m| m != "mod")
        .collect();
    assert!(modules.len() >= 8, "handler modules: {modules:?}");
    let mut offences = Vec::new();
    for file in rust_files(&dir) {
        let me = file.file_stem().unwrap().to_string_lossy().into_owned();
        let code = code_of(&file);
        if code.contains("routes::") || code.contains("http::routes") {
            offences.push(format!("{me} imports the route table"));
        }
        for other in modules.iter().filter(|m| **m != me) {
            for needle in [
                format!("handlers::{other}::"),
                format!("handlers::{other};"),
                format!("super::{other}::"),
                format!("handlers::{{{other}"),
            ] {
                if code.contains(&needle) {
                    offences.push(format!("{me} calls the handler module {other}"));
                }
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn handler_files_and_functions_stay_small() {
    let mut offences = Vec::new();
    for file in rust_files(&api_src().join("http/handlers")) {
        let text = fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let lines = text.lines().count();
        if lines > 300 {
            offences.push(format!("{name}: {lines} lines (at most 300)"));
        }
        let all: Vec<&str> = text.lines().collect();
        for (i, line) in all.iter().enumerate() {
            if !line.starts_with("pub async fn ") && !line.starts_with("async fn ") {
                continue;
            }
            let end = all[i..]
                .iter()
                .position(|l| *l == "}")
                .map_or(all.len(), |p| i + p);
            let length = end - i + 1;
            if length > 40 {
                offences.push(format!(
                    "{name}: {} is {length} lines (at most 40)",
                    line.trim()
                ));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

#[test]
fn the_layers_do_not_import_each_other_in_a_cycle() {
    // app → http would be a cycle (http calls app); the domain crate stays pure.
    let mut offences = Vec::new();
    for file in rust_files(&api_src().join("app")) {
        if code_of(&file).contains("crate::http") {
            offences.push(file.display().to_string());
        }
    }
    let domain = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/domain/src");
    for file in rust_files(&domain) {
        let code = code_of(&file);
        for needle in ["diesel", "actix", "hienmau_db", "utoipa"] {
            if code.contains(needle) {
                offences.push(format!("{} uses {needle}", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}
