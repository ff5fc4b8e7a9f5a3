//! `hybrid-bff` with no configuration file loads the development configuration, whose client secret and session
//! key are public: it says so on stderr, and refuses to start when `public_origin` is not this machine.

use std::process::Command;

/// The binary run from the repository root (where the relative development path points), without `BFF_CONFIG`.
fn run_without_a_file(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO_BIN_EXE_hybrid-bff"))
        .current_dir(root)
        .env_remove("BFF_CONFIG")
        .envs(env.iter().copied())
        .output()
        .expect("hybrid-bff runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_development_file_is_refused_for_a_public_origin_and_its_loading_is_said() {
    let (code, stderr) = run_without_a_file(&[("BFF_PUBLIC_ORIGIN", "https://app.example.com")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("loading the DEVELOPMENT configuration bff/config/dev.toml"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "configuration error in `oidc.client_secret`: is the public development secret"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("BFF_OIDC__CLIENT_SECRET"), "{stderr}");

    let (code, stderr) = run_without_a_file(&[
        ("BFF_PUBLIC_ORIGIN", "https://app.example.com"),
        ("BFF_OIDC__CLIENT_SECRET", "this-deployments-own"),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("configuration error in `session.keys`: holds the public development key"),
        "{stderr}"
    );
    assert!(!stderr.contains("this-deployments-own"), "{stderr}");
}
