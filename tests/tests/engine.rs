//! The Docker Engine answers through bollard, with API version negotiation. This test needs a
//! running engine and fails (never skips) when there is none: `.ci/run` starts one.

use stack_compose::{Engine, EngineOptions};

#[tokio::test(flavor = "current_thread")]
async fn engine_answers_with_a_negotiated_api_version() {
    let options = EngineOptions::from_env(&|k| std::env::var(k).ok());
    let engine = Engine::connect(&options)
        .await
        .unwrap_or_else(|e| panic!("no Docker Engine: {e}\n(.ci/run starts dockerd; start one by hand for local runs)"));
    let v = engine.version().await.expect("GET /version");
    assert!(!v.version.is_empty(), "engine reported no version: {v:?}");
    let api: Vec<u32> = v.api_version.split('.').filter_map(|p| p.parse().ok()).collect();
    assert!(api.len() == 2 && (api[0], api[1]) >= (1, 41), "engine API {} is older than 1.41", v.api_version);
    // Negotiation settles on the lower of the client's and the engine's versions.
    let negotiated: Vec<u32> = v.negotiated_api_version.split('.').filter_map(|p| p.parse().ok()).collect();
    assert!(negotiated.len() == 2 && negotiated <= api, "negotiated {} is above the engine's {}", v.negotiated_api_version, v.api_version);
}

#[tokio::test(flavor = "current_thread")]
async fn unreachable_engine_is_one_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("no-engine.sock");
    let options = EngineOptions { host: Some(format!("unix://{}", sock.display())), timeout_secs: 2, ..EngineOptions::default() };
    let err = Engine::connect(&options).await.expect_err("no engine listens there");
    let text = err.to_string();
    assert!(text.contains("cannot reach the Docker Engine") && text.contains("no-engine.sock") && text.contains("help:"), "{text}");
}
