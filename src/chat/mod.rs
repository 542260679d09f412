//! Chat surfaces: where tickets are mirrored as cards and teammates act on them.

pub mod discord;
pub mod slack;
