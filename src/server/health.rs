use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::AppState;
use crate::store::JobStatus;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers. Also reports the outbox backlog and failures, so a failed
/// delivery is visible to operators without reading logs.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let store = &state.store;
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "database": "unreachable" })),
        );
    }
    let pending = store.count_jobs(JobStatus::Pending).await.ok();
    let failed = store.count_jobs(JobStatus::Failed).await.ok();
    let inbox = store.count_pending_inbox().await.ok();
    let now = chrono::Utc::now();
    // How long the oldest due job has waited: a growing figure means deliveries are stuck.
    let oldest_due_secs = store
        .oldest_due_job(now)
        .await
        .ok()
        .flatten()
        .map(|t| (now - t).num_seconds().max(0));
    (
        StatusCode::OK,
        Json(json!({
            "database": store.backend(),
            "inbox_pending": inbox,
            "outbox_pending": pending,
            "outbox_failed": failed,
            "outbox_oldest_due_secs": oldest_due_secs,
        })),
    )
}
