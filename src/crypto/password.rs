//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). CPU-heavy: call on
//! the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Runs password checks at most `n` at a time, each in a 19 MiB work area allocated once and
/// reused. Allocating argon2's memory per check fragments the allocator's heap: under a burst of
/// logins nexus grew to gigabytes of RSS that it never returned (docs/BENCHMARKS.md). Checks beyond
/// the bound wait their turn, as they would for a core.
pub struct HashSlots {
    slots: tokio::sync::Semaphore,
    work_areas: parking_lot::Mutex<Vec<Vec<Block>>>,
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl HashSlots {
    /// `n` concurrent checks (at least one); the server uses one per core.
    pub fn new(n: usize) -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(n.max(1)),
            work_areas: parking_lot::Mutex::new(Vec::new()),
            running: Default::default(),
            peak: Default::default(),
        }
    }

    /// [`verify_password`] on the blocking pool, within the bound, in a reused work area.
    pub async fn verify(&self, password: String, phc: String) -> Result<bool, tokio::task::JoinError> {
        use std::sync::atomic::Ordering;
        let _permit = self.slots.acquire().await.expect("the hash semaphore is never closed");
        let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now_running, Ordering::SeqCst);
        let mut area = self.work_areas.lock().pop().unwrap_or_default();
        let result = tokio::task::spawn_blocking(move || {
            let valid = verify_password_in(&password, &phc, &mut area);
            (valid, area)
        })
        .await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        let (valid, area) = result?;
        self.work_areas.lock().push(area);
        Ok(valid)
    }

    /// The most checks that ever ran at once (for tests and diagnostics).
    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Verifies in constant time; a malformed stored hash verifies nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_password_in(password, phc, &mut Vec::new())
}

/// [`verify_password`] with argon2's memory in `area` (grown to the hash's size and kept).
pub fn verify_password_in(password: &str, phc: &str, area: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    // Imported Keycloak PBKDF2 hashes (ADR 019) until their first sign-in re-hashes them.
    if parsed.algorithm.as_str().starts_with("pbkdf2") {
        let mut salt_bytes = [0u8; 64];
        let (Ok(salt), Some(iterations)) = (salt.decode_b64(&mut salt_bytes), parsed.params.get_decimal("i")) else {
            return false;
        };
        return super::keycloak_hash::verify_pbkdf2(
            password,
            parsed.algorithm.as_str(),
            iterations,
            salt,
            expected.as_bytes(),
        );
    }
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    if area.len() != params.block_count() {
        area.resize(params.block_count(), Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    if argon
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut computed, &mut area[..])
        .is_err()
    {
        return false;
    }
    subtle::ConstantTimeEq::ct_eq(computed.as_slice(), expected.as_bytes()).into()
}

/// Whether a stored hash is anything but nexus's own argon2id with today's parameters (an imported
/// Keycloak hash): the next successful sign-in replaces it.
pub fn needs_rehash(phc: &str) -> bool {
    let (m, t, p) = PARAMS;
    !phc.starts_with(&format!("$argon2id$v=19$m={m},t={t},p={p}$"))
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
    // As logins do (`HashSlots`): one work area, reused.
    let mut area = Vec::new();
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            let ok = verify_password_in(std::hint::black_box("nexus-hash-cost-probe"), &phc, &mut area);
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
                let mut area = Vec::new();
                for _ in 0..per_thread {
                    assert!(verify_password_in(
                        std::hint::black_box("nexus-hash-cost-probe"),
                        &phc,
                        &mut area
                    ));
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn hash_slots_bound_concurrent_checks() {
        let slots = std::sync::Arc::new(HashSlots::new(2));
        let phc = hash_password("pw");
        let checks: Vec<_> = (0..6)
            .map(|_| {
                let (slots, phc) = (slots.clone(), phc.clone());
                tokio::spawn(async move { slots.verify("pw".into(), phc).await.expect("joins") })
            })
            .collect();
        for check in checks {
            assert!(check.await.expect("task"));
        }
        assert!(slots.peak() <= 2, "peak {}", slots.peak());
        assert!(slots.peak() >= 1);
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let phc = hash_password("correct horse");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_reused_work_area_verifies_like_argon2_itself() {
        use argon2::password_hash::PasswordVerifier;
        let mut area = Vec::new();
        let ours = hash_password("pw-1");
        // Hashes of other variants and costs (imported ones may differ from nexus's own).
        let small = Params::new(1024, 1, 1, None).expect("params");
        let others: Vec<String> = [Algorithm::Argon2i, Algorithm::Argon2d, Algorithm::Argon2id]
            .into_iter()
            .map(|alg| {
                Argon2::new(alg, Version::V0x13, small.clone())
                    .hash_password(b"pw-2", &SaltString::generate(&mut OsRng))
                    .expect("hash")
                    .to_string()
            })
            .collect();
        for (phc, right) in std::iter::once((&ours, "pw-1")).chain(others.iter().map(|p| (p, "pw-2"))) {
            let parsed = PasswordHash::new(phc).expect("phc");
            for candidate in [right, "wrong", ""] {
                let reference = Argon2::default().verify_password(candidate.as_bytes(), &parsed).is_ok();
                assert_eq!(
                    verify_password_in(candidate, phc, &mut area),
                    reference,
                    "{phc} {candidate}"
                );
            }
        }
        // The area is kept at the last hash's size and reused.
        assert_eq!(area.len(), 1024);
        assert!(verify_password_in("pw-1", &ours, &mut area));
        assert_eq!(area.len(), 19 * 1024);
        let mut tampered = ours.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert!(!verify_password_in("pw-1", &tampered, &mut area));
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
