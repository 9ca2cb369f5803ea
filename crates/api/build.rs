//! Rebuilds the binary when the web app's build changes: `rust-embed` includes each file it
//! found, so cargo notices a changed file but not a new one (the assets' names carry their
//! hashes, so every app release adds files). A folder named here is watched whole.

fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
    println!("cargo:rerun-if-changed=build.rs");
}
