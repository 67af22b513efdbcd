//! Verifying many keys at once, for `keyguard verify` and `scan --verify`: one worker thread per
//! provider, so providers are checked in parallel, and within one provider the requests are
//! spaced by its `min_interval` (no two starts closer than that), so a long list of one
//! provider's keys never hammers it. A key whose format the adapter rejects costs no request
//! and no wait.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{Params, Provider, Secret, Session, Verdict};

/// Spacing between two requests to one provider unless its adapter asks for another.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_millis(200);

/// One key to check with one adapter (two-part keys joined as `ID:SECRET`).
pub struct Job {
    pub provider: &'static dyn Provider,
    pub key: Secret,
}

/// A verdict and when it was reached.
#[derive(Debug, Clone)]
pub struct Checked {
    pub verdict: Verdict,
    pub checked_at: jiff::Timestamp,
}

/// Verifies every job (format first, then the adapter) and returns the answers in job order.
/// `session` must have been `prepare`d for each provider (else official hosts are used).
pub fn verify_all(session: &Session, jobs: &[Job]) -> Vec<Checked> {
    let params = Params::new();
    let mut by_provider: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, job) in jobs.iter().enumerate() {
        by_provider.entry(job.provider.id()).or_default().push(i);
    }
    let mut out: Vec<Option<Checked>> = vec![None; jobs.len()];
    std::thread::scope(|s| {
        let workers: Vec<_> = by_provider
            .into_values()
            .map(|indexes| {
                let params = &params;
                s.spawn(move || {
                    let p = jobs[indexes[0]].provider;
                    let cx = session.cx(p, None, params);
                    let mut last_start: Option<Instant> = None;
                    let mut done = Vec::with_capacity(indexes.len());
                    for i in indexes {
                        let key = &jobs[i].key;
                        let verdict = match p.check_format(key) {
                            Err(why) => Verdict::unknown(why),
                            Ok(()) => {
                                if let Some(t) = last_start {
                                    std::thread::sleep(
                                        p.min_interval().saturating_sub(t.elapsed()),
                                    );
                                }
                                last_start = Some(Instant::now());
                                p.verify(&cx, key).scrubbed(key)
                            }
                        };
                        done.push((
                            i,
                            Checked {
                                verdict,
                                checked_at: jiff::Timestamp::now(),
                            },
                        ));
                    }
                    done
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            for (i, checked) in done {
                out[i] = Some(checked);
            }
        }
    });
    out.into_iter()
        .map(|c| c.expect("every job belongs to one worker"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::super::{Capabilities, Cx, Manual, Status};
    use super::*;

    /// An adapter that records when each call started and answers by the key's last byte.
    struct Recorder {
        id: &'static str,
        starts: Mutex<Vec<Instant>>,
    }

    impl Provider for Recorder {
        fn id(&self) -> &'static str {
            self.id
        }
        fn name(&self) -> &'static str {
            self.id
        }
        fn rules(&self) -> &'static [&'static str] {
            &[]
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities {
                verify: true,
                create: false,
                revoke: false,
            }
        }
        fn manual(&self) -> Manual {
            Manual {
                dashboard: "",
                create: &[],
                revoke: &[],
                usage: "",
            }
        }
        fn min_interval(&self) -> Duration {
            Duration::from_millis(100)
        }
        fn check_format(&self, key: &Secret) -> Result<(), String> {
            if key.expose().starts_with(b"bad") {
                Err("not this provider's format".into())
            } else {
                Ok(())
            }
        }
        fn verify(&self, _cx: &Cx, key: &Secret) -> Verdict {
            self.starts.lock().unwrap().push(Instant::now());
            std::thread::sleep(Duration::from_millis(20));
            match key.expose().last() {
                Some(b'L') => Verdict::live(None, "ok"),
                _ => Verdict::dead("no"),
            }
        }
    }

    fn leak(id: &'static str) -> &'static Recorder {
        Box::leak(Box::new(Recorder {
            id,
            starts: Mutex::new(Vec::new()),
        }))
    }

    #[test]
    fn providers_run_in_parallel_and_each_is_spaced() {
        let (a, b) = (leak("a"), leak("b"));
        let mut jobs = Vec::new();
        for n in 0..4 {
            for p in [a as &dyn Provider, b as &dyn Provider] {
                let last = if n % 2 == 0 { "L" } else { "D" };
                jobs.push(Job {
                    provider: p,
                    key: Secret::new(format!("test-{}-{n}-{last}", p.id()).as_bytes()),
                });
            }
        }
        jobs.push(Job {
            provider: a,
            key: Secret::new(b"bad-format"),
        });
        let session = Session::new(Duration::from_secs(1));
        let started = Instant::now();
        let checked = verify_all(&session, &jobs);
        let wall = started.elapsed();

        // Answers come back in job order.
        for (job, c) in jobs.iter().zip(&checked) {
            let want = match job.key.expose() {
                k if k.starts_with(b"bad") => Status::Unknown,
                k if k.ends_with(b"L") => Status::Live,
                _ => Status::Dead,
            };
            assert_eq!(c.verdict.status, want);
        }
        // The rejected format made no call.
        assert_eq!(a.starts.lock().unwrap().len(), 4);
        for p in [a, b] {
            let starts = p.starts.lock().unwrap();
            for w in starts.windows(2) {
                assert!(
                    w[1] - w[0] >= Duration::from_millis(100),
                    "{}: calls {:?} apart",
                    p.id,
                    w[1] - w[0]
                );
            }
        }
        // One provider alone needs 3 gaps of 100 ms; the two in series would need over 600 ms.
        assert!(wall >= Duration::from_millis(300), "{wall:?}");
        assert!(wall < Duration::from_millis(600), "not parallel: {wall:?}");
    }
}
