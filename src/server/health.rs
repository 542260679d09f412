use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::AppState;
use crate::store::JobStatus;

/// Liveness: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers and the outbox moves (its oldest due job has not waited
/// longer than `server.ready_max_outbox_age_secs`); 503 with a `reason` otherwise. The
/// details (backlog, failures) help operators without reading logs; with
/// `server.metrics_token` set they are shown only to requests carrying it.
pub async fn readyz(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> (StatusCode, Json<serde_json::Value>) {
    let store = &state.store;
    let details = super::metrics::authorized(&headers, state.config.server.metrics_token.as_ref());
    if let Err(e) = store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "reason": "database unreachable" })),
        );
    }
    let now = chrono::Utc::now();
    // How long the oldest due job has waited: a growing figure means deliveries are stuck.
    let oldest_due_secs = match store.oldest_due_job(now).await {
        Ok(t) => t.map(|t| (now - t).num_seconds().max(0)),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read the outbox");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "ready": false, "reason": "cannot read the outbox" })),
            );
        }
    };
    let threshold = state.config.server.ready_max_outbox_age_secs;
    let stuck = oldest_due_secs
        .filter(|&s| threshold > 0 && u64::try_from(s).unwrap_or(0) > threshold)
        .map(|s| {
            format!("outbox stuck: the oldest due job has waited {s} s (more than {threshold} s)")
        });
    if let Some(reason) = &stuck {
        tracing::warn!(reason, "readiness: not ready");
    }
    let status = if stuck.is_some() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut body = json!({ "ready": stuck.is_none() });
    if let Some(reason) = stuck {
        body["reason"] = json!(reason);
    }
    if details {
        body["database"] = json!(store.backend());
        body["inbox_pending"] = json!(store.count_pending_inbox().await.ok());
        body["outbox_pending"] = json!(store.count_jobs(JobStatus::Pending).await.ok());
        body["outbox_failed"] = json!(store.count_jobs(JobStatus::Failed).await.ok());
        body["outbox_oldest_due_secs"] = json!(oldest_due_secs);
    }
    (status, Json(body))
}
