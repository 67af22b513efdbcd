//! A running `keyguard serve` for the serve tests (tests/cli/serve*.rs): the built binary on a
//! free loopback port, its provider keys and upstream bases given through the environment, its
//! log (stderr) collected so a test can check it for keys.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Fakes, keyguard};

/// A fake provider key matching no known format (a route refuses another provider's format).
pub fn provider_key(seed: u64) -> String {
    format!("pk-test-{}", Fakes::new(seed).alnum(40))
}

/// `keyguard serve` run in `dir` (its keyguard.toml, its store), killed when dropped. Every
/// route's key is `key` (read from `PROXY_<PROVIDER>_KEY`) and every upstream is `upstream`.
pub struct Proxy {
    pub child: Child,
    pub url: String,
    log: Arc<Mutex<String>>,
}

impl Proxy {
    /// `keyguard serve --listen 127.0.0.1:0` in `dir`.
    pub fn start(dir: &Path, upstream: &str, key: &str) -> Proxy {
        Proxy::start_with(dir, upstream, key, &["--listen", "127.0.0.1:0"], &[])
    }

    /// `keyguard serve ARGS` in `dir` with the provider keys and upstream overrides in its
    /// environment, plus `env`.
    pub fn start_with(
        dir: &Path,
        upstream: &str,
        key: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Proxy {
        let mut cmd = keyguard();
        cmd.current_dir(dir).arg("serve").args(args);
        for provider in ["OPENAI", "ANTHROPIC", "GEMINI"] {
            cmd.env(format!("PROXY_{provider}_KEY"), key)
                .env(format!("KEYGUARD_{provider}_API_BASE"), upstream);
        }
        cmd.envs(env.iter().copied());
        Proxy::spawn(cmd)
    }

    /// Runs `cmd` (a `keyguard serve` command line) and waits for its "listening on" line.
    pub fn spawn(mut cmd: Command) -> Proxy {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("keyguard serve: listening on http://") {
                    // Listening on every interface: this machine reaches it on loopback.
                    let _ = tx.send(format!("http://{}", url.replace("0.0.0.0", "127.0.0.1")));
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        Proxy { child, url, log }
    }

    /// `HOST:PORT` of the server.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The per-request log lines (`user=...`), one per request the handler saw.
    pub fn request_lines(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("user="))
            .map(str::to_string)
            .collect()
    }

    /// `GET /metrics` once the server has counted at least `at_least` tokens
    /// (`keyguard_tokens_total`), or after 20 s: tokens are recorded when an answer ends, which
    /// can follow the client's last read. The caller asserts on the text.
    pub fn metrics_after_tokens(&self, at_least: u64) -> String {
        // reqwest is built without a default crypto provider (as keyguard itself is).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = client.get(format!("{}/metrics", self.url)).send().unwrap();
            assert_eq!(r.status().as_u16(), 200, "GET /metrics");
            let text = r.text().unwrap();
            if metric(&text, "keyguard_tokens_total") >= at_least || Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the log contains `what`.
    pub fn wait_for_log(&self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.log().contains(what) {
            assert!(
                Instant::now() < deadline,
                "no `{what}` in the log: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an unlabelled counter in Prometheus text.
pub fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in {text}"))
}
