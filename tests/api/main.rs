//! One integration test binary; a file per surface. Runs once per storage stack (see helpers.rs).

mod helpers;

mod smoke;
