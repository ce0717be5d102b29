//! Surety: an OAuth 2.0 / OpenID Connect identity provider.
//!
//! Layers (arrows point down only): `web` (axum, the only HTTP-aware layer) →
//! `oauth`, `accounts`, `admin`, `keys` (protocol and domain logic; no axum, sqlx or
//! redis) → `store` (durable state, SQLite or PostgreSQL) and `cache` (ephemeral,
//! single-use state, in-process or Redis). `app` wires them together.

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connect;
pub mod demo;
pub mod keys;
pub mod oauth;
pub mod outbox;
pub mod partners;
pub mod resource;
pub mod store;
pub mod synth;
pub mod uri;
pub mod util;
pub mod verify;
pub mod web;
