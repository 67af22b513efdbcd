//! Local stand-ins for providers, for tests of `keyguard verify` and `scan --verify`: a wiremock
//! server on its own tokio runtime (the binary under test reaches it through
//! `KEYGUARD_<PROVIDER>_API_BASE`), and a "trap": a bare TCP listener used as the HTTP(S) proxy,
//! which records each request's first line (e.g. `CONNECT api.groq.com:443 HTTP/1.1`), answers
//! 502 and closes, so a test can prove where keyguard tried to go.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiremock::{Mock, MockServer};

pub struct Server {
    rt: tokio::runtime::Runtime,
    pub mock: MockServer,
}

impl Server {
    pub fn start() -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mock = rt.block_on(MockServer::start());
        Server { rt, mock }
    }

    /// Mocks are matched in the order they are mounted: mount specific ones first.
    pub fn mount(&self, mock: Mock) {
        self.rt.block_on(mock.mount(&self.mock));
    }

    pub fn uri(&self) -> String {
        self.mock.uri()
    }

    pub fn requests(&self) -> Vec<wiremock::Request> {
        self.rt
            .block_on(self.mock.received_requests())
            .unwrap_or_default()
    }
}

/// A proxy that forwards nothing.
pub struct Trap {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Trap {
    pub fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut first = String::new();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                if reader.read_line(&mut first).is_ok() && !first.is_empty() {
                    record.lock().unwrap().push(first.trim_end().to_string());
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        Trap { url, seen }
    }

    /// First lines of the requests seen so far.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// The proxy variables (both spellings) pointing at the trap, with loopback exempt.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        for name in ["http_proxy", "https_proxy", "all_proxy"] {
            vars.push((name.to_string(), self.url.clone()));
            vars.push((name.to_uppercase(), self.url.clone()));
        }
        for name in ["no_proxy", "NO_PROXY"] {
            vars.push((name.to_string(), "127.0.0.1,localhost".to_string()));
        }
        vars
    }
}
