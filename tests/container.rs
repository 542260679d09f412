//! The container files, checked without building an image (CI has no Docker): every `COPY`
//! from the build context names a file of the repository, the final stage runs as a non-root
//! user with a `HEALTHCHECK`, the builder's toolchain is Cargo.toml's `rust-version`, and
//! `compose.yaml` builds that Dockerfile and starts Postgres with it.

use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(name))
        .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
}

/// One Dockerfile instruction: keyword (upper case) and its arguments, continuation lines
/// joined, comments and parser directives skipped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        out.push((keyword.to_ascii_uppercase(), args.trim().to_string()));
        current.clear();
    }
    assert!(
        current.is_empty(),
        "the Dockerfile ends inside a continuation"
    );
    out
}

/// The stages: each `FROM` and the instructions after it.
fn stages(text: &str) -> Vec<Vec<(String, String)>> {
    let mut stages: Vec<Vec<(String, String)>> = Vec::new();
    for (k, a) in instructions(text) {
        if k == "FROM" {
            stages.push(Vec::new());
        }
        if let Some(stage) = stages.last_mut() {
            stage.push((k, a));
        } else {
            assert!(k == "ARG", "{k} before the first FROM");
        }
    }
    stages
}

#[test]
fn every_copy_from_the_context_exists() {
    let dockerfile = read("Dockerfile");
    let mut copies = 0;
    for (k, args) in instructions(&dockerfile) {
        if k != "COPY" && k != "ADD" {
            continue;
        }
        let words: Vec<&str> = args.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from=")) {
            continue;
        }
        let paths: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| !w.starts_with("--"))
            .collect();
        assert!(
            paths.len() >= 2,
            "COPY needs a source and a destination: {args}"
        );
        for source in &paths[..paths.len() - 1] {
            assert!(
                !source.contains('*') && !source.starts_with('/') && !source.contains(".."),
                "{source}: name files of the repository plainly"
            );
            let path = Path::new(ROOT).join(source);
            assert!(
                path.exists(),
                "COPY {source}: no such file in the repository"
            );
            copies += 1;
        }
    }
    assert!(
        copies >= 4,
        "Cargo.toml, Cargo.lock, src, migrations at least"
    );
    // What the build needs is not excluded from the context; what it must not see is.
    let ignore = read(".dockerignore");
    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for needed in ["src", "migrations", "Cargo.toml", "Cargo.lock", "benches"] {
        assert!(
            !ignored.iter().any(|l| l.trim_matches('/') == needed),
            "{needed} is ignored"
        );
    }
    for excluded in ["target", ".git"] {
        assert!(
            ignored.iter().any(|l| l.trim_matches('/') == excluded),
            "{excluded} is sent to the daemon"
        );
    }
}

#[test]
fn the_benches_the_manifest_declares_are_copied() {
    // Cargo refuses a manifest whose [[bench]] files are missing, even for a release build.
    let manifest = read("Cargo.toml");
    let dockerfile = read("Dockerfile");
    if manifest.contains("[[bench]]") {
        assert!(
            dockerfile.contains("COPY benches"),
            "the benches are not copied"
        );
    }
}

#[test]
fn the_final_stage_is_small_non_root_and_health_checked() {
    let dockerfile = read("Dockerfile");
    let stages = stages(&dockerfile);
    assert!(stages.len() >= 2, "a multi-stage build");
    let last = stages.last().expect("a stage");
    let from = &last[0].1;
    assert!(from.contains("slim"), "small runtime image: {from}");
    let user = last
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .map(|(_, a)| a.clone())
        .expect("the final stage sets USER");
    let name = user.split(':').next().unwrap_or_default();
    assert!(!matches!(name, "" | "root" | "0"), "runs as root: {user}");
    let check = last
        .iter()
        .find(|(k, _)| k == "HEALTHCHECK")
        .map(|(_, a)| a.clone())
        .expect("the final stage has a HEALTHCHECK");
    assert!(check.contains("CMD"), "{check}");
    assert!(
        check.contains("healthcheck") || check.contains("/healthz"),
        "checks /healthz: {check}"
    );
    // The binary the final stage runs comes from the builder stage.
    assert!(
        last.iter()
            .any(|(k, a)| k == "COPY" && a.contains("--from=builder")),
        "the binary is copied from the builder"
    );
}

#[test]
fn the_builder_uses_the_manifests_toolchain() {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let rust = manifest["package"]["rust-version"]
        .as_str()
        .expect("rust-version");
    let dockerfile = read("Dockerfile");
    let arg = instructions(&dockerfile)
        .into_iter()
        .find_map(|(k, a)| {
            (k == "ARG")
                .then(|| a.strip_prefix("RUST_VERSION=").map(str::to_string))
                .flatten()
        })
        .expect("ARG RUST_VERSION=…");
    assert_eq!(arg, rust, "the builder's Rust is Cargo.toml's rust-version");
    let builder = &stages(&dockerfile)[0][0].1;
    assert!(
        builder.starts_with("rust:${RUST_VERSION}") && builder.contains("AS builder"),
        "{builder}"
    );
}

/// `compose.yaml`, read as YAML's block structure (no YAML crate here): top-level keys and
/// the services under `services:`.
fn top_level_keys(text: &str, parent: Option<&str>) -> Vec<String> {
    let mut keys = Vec::new();
    let mut inside = parent.is_none();
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        match parent {
            Some(p) if indent == 0 => inside = line.trim_end() == format!("{p}:"),
            Some(_) if inside && indent == 2 => {
                if let Some(k) = line.trim().strip_suffix(':') {
                    keys.push(k.to_string());
                }
            }
            None if indent == 0 => {
                if let Some((k, _)) = line.split_once(':') {
                    keys.push(k.to_string());
                }
            }
            _ => {}
        }
    }
    keys
}

#[test]
fn compose_starts_switchboard_with_postgres() {
    let compose = read("compose.yaml");
    assert!(!compose.contains('\t'), "YAML has no tabs");
    let top = top_level_keys(&compose, None);
    assert!(top.contains(&"services".to_string()), "{top:?}");
    let services = top_level_keys(&compose, Some("services"));
    assert!(
        services.contains(&"switchboard".to_string()) && services.contains(&"postgres".to_string()),
        "{services:?}"
    );
    assert!(
        compose.contains("dockerfile: Dockerfile"),
        "builds the Dockerfile"
    );
    assert!(compose.contains("image: postgres:"), "runs Postgres");
    assert!(
        compose.contains("SWITCHBOARD_DATABASE_URL: postgres://"),
        "Switchboard uses that Postgres"
    );
    assert!(
        compose.contains(":/etc/switchboard/switchboard.toml"),
        "the configuration is mounted where the image reads it"
    );
    assert!(
        read("Dockerfile").contains("SWITCHBOARD_CONFIG=/etc/switchboard/switchboard.toml"),
        "the image reads the mounted configuration"
    );
    for secret in ["xoxb-", "xapp-", "EAAG"] {
        assert!(!compose.contains(secret), "a secret in compose.yaml");
    }
    // Kubernetes runs the same image, as its non-root user.
    let k8s = read("manifests/kubernetes.yaml");
    assert!(k8s.contains("./Dockerfile") && k8s.contains("runAsNonRoot: true"));
}
