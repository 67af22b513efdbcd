//! The provider key taken out of upstream bytes on their way to the client: whole answers and
//! streamed ones, chunk by chunk, as they pass through.
//!
//! Why: an upstream can quote the key it was sent (a mid-stream SSE `error` event — Anthropic
//! sends `event: error` with an `error` object, OpenAI a `data:` line holding an `error` object —
//! or a broken or hostile upstream echoing the request headers). Error *answers* are scrubbed
//! in `errors::upstream_error`; this covers the 2xx bodies, streamed or not.
//!
//! How, cheaply: one `memchr::memmem` search for the key per chunk (SIMD; a chunk without the
//! key is passed on as the same `Bytes`, no copy), and a copy only when a chunk contains the key
//! or ends with the start of it. A key cut across two chunks is caught by holding back the
//! chunk's tail when, and only when, it is a proper prefix of the key (at most key length - 1
//! bytes); SSE chunks end in a blank line, which starts no key, so normally nothing is held and
//! nothing is delayed. A held tail of 8 or more characters that the stream ends on is replaced
//! too (the same 8-character rule as `providers::scrub`).

use axum::body::Bytes;
use memchr::memmem::Finder;

use crate::finding::Secret;

/// What replaces the key (the same marker as `providers::scrub`).
const MARK: &[u8] = b"<key>";
/// A held-back key prefix this long is treated as a quote of the key when the stream ends on it.
const QUOTE: usize = 8;

pub struct KeyScrub {
    finder: Finder<'static>,
    held: Vec<u8>,
}

impl KeyScrub {
    pub fn new(key: &Secret) -> KeyScrub {
        KeyScrub {
            finder: Finder::new(key.expose()).into_owned(),
            held: Vec::new(),
        }
    }

    fn key(&self) -> &[u8] {
        self.finder.needle()
    }

    /// The next piece to send for `chunk`: the same bytes when they hold no key (the common
    /// case), else a copy with every key replaced, minus a held-back tail that may start a key.
    pub fn chunk(&mut self, chunk: Bytes) -> Bytes {
        if self.key().is_empty() {
            return chunk;
        }
        if self.held.is_empty() && self.finder.find(&chunk).is_none() {
            let t = self.tail(&chunk);
            if t == 0 {
                return chunk;
            }
            self.held.extend_from_slice(&chunk[chunk.len() - t..]);
            return chunk.slice(..chunk.len() - t);
        }
        let mut joined = std::mem::take(&mut self.held);
        joined.extend_from_slice(&chunk);
        let mut out = self.replace(&joined);
        let t = self.tail(&out);
        self.held = out.split_off(out.len() - t);
        Bytes::from(out)
    }

    /// What is still held when the stream ends.
    pub fn finish(&mut self) -> Option<Bytes> {
        let held = std::mem::take(&mut self.held);
        match held.len() {
            0 => None,
            n if n >= QUOTE => Some(Bytes::from_static(MARK)),
            _ => Some(Bytes::from(held)),
        }
    }

    /// A whole body with every copy of the key replaced (no copy when there is none).
    pub fn whole(&self, body: Bytes) -> Bytes {
        if self.key().is_empty() || self.finder.find(&body).is_none() {
            return body;
        }
        Bytes::from(self.replace(&body))
    }

    fn replace(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while let Some(at) = self.finder.find(rest) {
            out.extend_from_slice(&rest[..at]);
            out.extend_from_slice(MARK);
            rest = &rest[at + self.key().len()..];
        }
        out.extend_from_slice(rest);
        out
    }

    /// The length of the longest suffix of `bytes` that is a proper prefix of the key.
    fn tail(&self, bytes: &[u8]) -> usize {
        let key = self.key();
        let start = bytes.len().saturating_sub(key.len() - 1);
        let window = &bytes[start..];
        memchr::memchr_iter(key[0], window)
            .find(|&i| key.starts_with(&window[i..]))
            .map_or(0, |i| window.len() - i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Secret {
        // Made at run time: no key-shaped literal in the source.
        let body: String = (0..40u32)
            .map(|i| b"abcdefghjkmnpqrstuvwxyz23456789"[((i * 7 + 3) % 31) as usize] as char)
            .collect();
        Secret::new(format!("pk-test-{body}").as_bytes())
    }

    fn run(s: &mut KeyScrub, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&s.chunk(Bytes::copy_from_slice(c)));
        }
        if let Some(rest) = s.finish() {
            out.extend_from_slice(&rest);
        }
        out
    }

    #[test]
    fn a_chunk_without_the_key_passes_as_is() {
        let k = key();
        let mut s = KeyScrub::new(&k);
        let chunk =
            Bytes::from_static(b"data: {\"choices\":[{\"delta\":{\"content\":\"pk\"}}]}\n\n");
        let out = s.chunk(chunk.clone());
        assert_eq!(out, chunk);
        // The very same buffer: no copy.
        assert_eq!(out.as_ptr(), chunk.as_ptr());
        assert!(s.finish().is_none());
    }

    #[test]
    fn the_key_is_replaced_at_every_split_point() {
        let k = key();
        let kb = k.expose();
        let text = [
            b"event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"bad key ".as_slice(),
            kb,
            b" and again ",
            kb,
            b"\"}}\n\n",
        ]
        .concat();
        let expected = String::from_utf8(text.clone())
            .unwrap()
            .replace(std::str::from_utf8(kb).unwrap(), "<key>");
        for cut in 1..text.len() {
            for cut2 in [cut, (cut + 13).min(text.len())] {
                let mut s = KeyScrub::new(&k);
                let out = run(&mut s, &[&text[..cut], &text[cut..cut2], &text[cut2..]]);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    expected,
                    "cut at {cut}/{cut2}"
                );
            }
        }
        // One byte at a time.
        let mut s = KeyScrub::new(&k);
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(String::from_utf8(run(&mut s, &bytes)).unwrap(), expected);
    }

    #[test]
    fn a_stream_ending_on_a_long_key_prefix_ends_on_the_mark() {
        let k = key();
        let mut s = KeyScrub::new(&k);
        let out = run(&mut s, &[b"data: x ", &k.expose()[..12]]);
        assert_eq!(out, b"data: x <key>");
        // A short prefix (`pk-`, public) is passed on at the end.
        let mut s = KeyScrub::new(&k);
        assert_eq!(run(&mut s, &[b"ok pk-"]), b"ok pk-");
    }

    #[test]
    fn whole_bodies() {
        let k = key();
        let s = KeyScrub::new(&k);
        let body = [b"{\"echo\":\"".as_slice(), k.expose(), b"\"}"].concat();
        assert_eq!(&s.whole(Bytes::from(body))[..], b"{\"echo\":\"<key>\"}");
        let clean = Bytes::from_static(b"{}");
        assert_eq!(s.whole(clean.clone()).as_ptr(), clean.as_ptr());
    }

    proptest::proptest! {
        /// Any text with copies of the key, cut into any chunks, comes out with every copy
        /// replaced and nothing else changed. (The text's own characters never start the key, so
        /// it cannot end on a key prefix by chance.)
        #[test]
        fn any_chunking_gives_the_same_scrubbed_text(
            parts in proptest::collection::vec(("[a-oq-z0-9 {}\":\n-]{0,40}", proptest::bool::ANY), 0..12),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let k = key();
            let kb = k.expose();
            let mut text = Vec::new();
            for (t, with_key) in &parts {
                text.extend_from_slice(t.as_bytes());
                if *with_key {
                    text.extend_from_slice(kb);
                }
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (text.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts {
                chunks.push(&text[at..c]);
                at = c;
            }
            chunks.push(&text[at..]);
            let mut s = KeyScrub::new(&k);
            let out = String::from_utf8(run(&mut s, &chunks)).unwrap();
            let expected = String::from_utf8(text.clone())
                .unwrap()
                .replace(std::str::from_utf8(kb).unwrap(), "<key>");
            proptest::prop_assert_eq!(out, expected);
        }
    }

    /// Not a timing assertion: prints the pass-through cost for the record
    /// (`cargo test --release --lib scrub_throughput -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn scrub_throughput() {
        let k = key();
        let event = b"data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" pkg tokens\"}}],\"usage\":null}\n\n";
        let chunk = Bytes::from_static(event);
        let n = 1_000_000;
        let mut s = KeyScrub::new(&k);
        let start = std::time::Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            bytes += std::hint::black_box(s.chunk(chunk.clone())).len();
        }
        let el = start.elapsed();
        println!(
            "{n} chunks of {} bytes: {:?} ({:.1} ns per chunk, {:.2} GB/s)",
            event.len(),
            el,
            el.as_nanos() as f64 / n as f64,
            bytes as f64 / el.as_secs_f64() / 1e9
        );
    }
}
