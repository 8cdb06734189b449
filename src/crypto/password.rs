//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). CPU-heavy: call on
//! the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::time::{Duration, Instant};

/// The argon2id parameters of every stored hash, for reports: memory KiB, passes, lanes.
pub const PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: m=19456 KiB, t=2, p=1.
    let (m, t, p) = PARAMS;
    let params = Params::new(m, t, p, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Returns the PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .expect("argon2 hashing with valid parameters does not fail")
}

/// Verifies in constant time; a malformed stored hash verifies nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// What one login's password check costs on this machine (`nexus password-hash-cost`).
#[derive(Debug, Clone, Copy)]
pub struct VerifyCost {
    pub samples: u32,
    /// Median, mean and fastest wall time of one [`verify_password`] call on one thread.
    pub median: Duration,
    pub mean: Duration,
    pub min: Duration,
}

impl VerifyCost {
    /// The login rate the hash alone allows with `cores` hashing in parallel: cores / median seconds.
    pub fn ceiling_per_second(&self, cores: usize) -> f64 {
        cores as f64 / self.median.as_secs_f64()
    }
}

/// Times `samples` (at least 1) sequential verifications of a correct password by
/// [`verify_password`] — the function logins call — against a hash with the real parameters.
/// CPU-heavy: seconds for tens of samples.
pub fn measure_verify_cost(samples: u32) -> VerifyCost {
    let samples = samples.max(1);
    let phc = hash_password("nexus-hash-cost-probe");
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            let ok = verify_password(std::hint::black_box("nexus-hash-cost-probe"), &phc);
            let elapsed = start.elapsed();
            assert!(ok, "a freshly made hash verifies");
            elapsed
        })
        .collect();
    times.sort_unstable();
    let mid = times.len() / 2;
    let median = if times.len() % 2 == 1 {
        times[mid]
    } else {
        (times[mid - 1] + times[mid]) / 2
    };
    VerifyCost {
        samples,
        median,
        mean: times.iter().sum::<Duration>() / samples,
        min: times[0],
    }
}

/// Runs `per_thread` verifications on each of `threads` threads at once; returns verifications per
/// second over the whole run (what the cores achieve together, memory bandwidth included).
pub fn measure_parallel_verify_rate(threads: usize, per_thread: u32) -> f64 {
    let threads = threads.max(1);
    let per_thread = per_thread.max(1);
    let phc = hash_password("nexus-hash-cost-probe");
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    assert!(verify_password(std::hint::black_box("nexus-hash-cost-probe"), &phc));
                }
            });
        }
    });
    (threads as f64 * f64::from(per_thread)) / start.elapsed().as_secs_f64()
}

/// A hash to verify against when the user does not exist, so timing does not reveal it.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("nexus-timing-equaliser"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn verify_cost_is_measured_over_the_samples() {
        let cost = measure_verify_cost(3);
        assert_eq!(cost.samples, 3);
        assert!(cost.min > Duration::ZERO);
        assert!(cost.min <= cost.median && cost.min <= cost.mean);
        let ceiling = cost.ceiling_per_second(2);
        assert!((ceiling - 2.0 / cost.median.as_secs_f64()).abs() < 1e-9);
        assert!(measure_parallel_verify_rate(2, 1) > 0.0);
    }
}
