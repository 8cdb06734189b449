//! Storage: the database (`db`) for everything durable, the ephemeral store for what may be lost.

pub mod db;
pub mod ephemeral;
