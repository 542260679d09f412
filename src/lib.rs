//! Switchboard: social-network interactions become tickets, mirrored as cards in chat.
//!
//! Data flows one way: webhook → verify → parse → normalise → inbox (committed before the ack)
//! → core decides → effects into the outbox (same transaction) → workers deliver. See
//! `docs/design.md`.

pub mod accounts;
pub mod app;
pub mod chat;
pub mod cli;
pub mod config;
pub mod core;
pub mod crypto;
pub mod logging;
pub mod networks;
pub mod oauth;
pub mod report;
pub mod server;
pub mod store;
pub mod telemetry;
pub mod workers;

/// mimalloc for every binary built on this crate (the service, its benches and tests): with
/// glibc's malloc, allocation took ~12 % of the CPU of the ingest benchmark with the workers
/// running (arena locks and consolidation across tokio's and sqlx's threads).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
