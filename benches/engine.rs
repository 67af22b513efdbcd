//! Engine throughput on one core: `cargo bench --bench engine`.
//! `KEYGUARD_BENCH_CORPUS=DIR` adds a case over up to 64 MiB of the text files under DIR.
//!
//! Two inputs, generated here (deterministic, no secrets): ordinary source-like text, and text dense
//! with the words scanners key on (`token`, `password`, `sk-`, `AKIA`, ...) so the confirmation path
//! runs constantly. Prints the median of several runs in MB/s (1 MB = 10^6 bytes).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use keyguard::engine::Scanner;
use keyguard::rules::RuleSet;

const SIZE: usize = 64 << 20;
const RUNS: usize = 9;

/// A small xorshift generator: the bench needs repeatable text, not good randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn ident(rng: &mut Rng, out: &mut String) {
    const SYL: &[&str] = &[
        "get", "set", "user", "data", "item", "list", "map", "node", "value", "index", "count",
        "render", "state", "props", "config", "handler", "request", "response", "buffer", "parse",
    ];
    out.push_str(rng.pick(SYL));
    let cap = rng.pick(SYL);
    let mut c = cap.chars();
    out.extend(c.next().map(|x| x.to_ascii_uppercase()));
    out.push_str(c.as_str());
}

fn source_text(seed: u64, size: usize, dense: bool) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut s = String::with_capacity(size + 256);
    const KEYWORDY: &[&str] = &[
        "const token = getToken(req);",
        "password: hashPassword(input.password),",
        "if (task-runner) { risk-level = 3 }",
        "api_key = os.environ.get(\"API_KEY\")",
        "secret = load_secret(name)",
        "// AKIA keys are rotated by the platform team",
        "headers['Authorization'] = `Bearer ${session.accessToken}`",
        "private_key_path = \"/etc/ssl/private/server.key\"",
        "sk-learn and sk-image are python packages",
        "slack_channel = \"#xoxb-alerts\"",
    ];
    const LINES: &[&str] = &[
        "    return this.props.children.map((child) => render(child));",
        "import { useEffect, useState } from 'react';",
        "def handle(self, request, *args, **kwargs):",
        "        self.assertEqual(response.status_code, 200)",
        "  \"version\": \"4.17.21\",",
        "  resolved \"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz\"",
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
        "    for (i, item) in items.iter().enumerate() {",
        "<div class=\"container mx-auto px-4\">{children}</div>",
        "SELECT id, name, created_at FROM users WHERE id = $1;",
    ];
    while s.len() < size {
        if dense || rng.next().is_multiple_of(50) {
            s.push_str(rng.pick(KEYWORDY));
        } else {
            s.push_str(rng.pick(LINES));
            s.push(' ');
            ident(&mut rng, &mut s);
            s.push_str(&format!(" = {:x};", rng.next()));
        }
        s.push('\n');
    }
    s.truncate(size);
    s.into_bytes()
}

fn bench(name: &str, scanner: &Scanner, input: &[u8]) {
    // KEYGUARD_BENCH=text selects cases by name (for profiling one of them).
    if std::env::var("KEYGUARD_BENCH").is_ok_and(|only| !name.contains(only.as_str())) {
        return;
    }
    let mut rates = Vec::with_capacity(RUNS);
    let mut found = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        found = black_box(scanner.scan(black_box(input))).len();
        rates.push(input.len() as f64 / t.elapsed().as_secs_f64() / 1e6);
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{name:<28} {:>8.0} MB/s median  (min {:.0}, max {:.0}; {} MiB, {} matches)",
        rates[RUNS / 2],
        rates[0],
        rates[RUNS - 1],
        input.len() >> 20,
        found
    );
}

/// Up to `size` bytes of real text files under `dir` (KEYGUARD_BENCH_CORPUS), in walk order.
fn corpus(dir: &str, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    for entry in ignore::WalkBuilder::new(dir)
        .hidden(false)
        .build()
        .flatten()
    {
        if out.len() >= size {
            break;
        }
        if entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(bytes) = std::fs::read(entry.path())
            && !bytes[..bytes.len().min(8192)].contains(&0)
        {
            out.extend_from_slice(&bytes);
        }
    }
    out.truncate(size);
    out
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less args; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let size = if quick { 1 << 20 } else { SIZE };
    let scanner = Scanner::new(Arc::new(RuleSet::builtin())).unwrap();
    println!(
        "engine throughput, one thread, {} rules",
        scanner.rules().len()
    );
    bench(
        "source text, no secrets",
        &scanner,
        &source_text(1, size, false),
    );
    bench(
        "keyword-dense, no secrets",
        &scanner,
        &source_text(2, size, true),
    );
    if let Ok(dir) = std::env::var("KEYGUARD_BENCH_CORPUS") {
        let text = corpus(&dir, size);
        bench("real text (corpus)", &scanner, &text);
    }
    let mut one_line = source_text(3, size, false);
    for b in one_line.iter_mut() {
        if *b == b'\n' {
            *b = b';';
        }
    }
    bench("one long line (minified)", &scanner, &one_line);
}
