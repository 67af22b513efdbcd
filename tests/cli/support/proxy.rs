//! A running `keyguard serve` for the serve tests (tests/cli/serve*.rs): the built binary on a
//! free loopback port, its provider keys and upstream bases given through the environment, its
//! log (stderr) collected so a test can check it for keys.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    pub fn start(dir: &Path, upstream: &str, key: &str) -> Proxy {
        let mut child = keyguard()
            .current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("PROXY_OPENAI_KEY", key)
            .env("PROXY_ANTHROPIC_KEY", key)
            .env("KEYGUARD_OPENAI_API_BASE", upstream)
            .env("KEYGUARD_ANTHROPIC_API_BASE", upstream)
            .env("PROXY_GEMINI_KEY", key)
            .env("KEYGUARD_GEMINI_API_BASE", upstream)
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
                if let Some(url) = line.strip_prefix("keyguard serve: listening on ") {
                    let _ = tx.send(url.to_string());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        Proxy { child, url, log }
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
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
