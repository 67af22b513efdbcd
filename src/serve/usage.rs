//! Token usage from upstream answers, for `tokens_per_day`: read from a whole JSON response, or
//! incrementally from a server-sent-events stream fed in whatever chunks the network delivers,
//! so the tokens seen so far are known when a client abandons a stream midway.
//!
//! Provider facts (OpenAI's OpenAPI spec and Anthropic's and Google's API references, read
//! through the search tool's mirrors):
//! - OpenAI: `usage.total_tokens` (or `prompt_tokens + completion_tokens`). Streaming with
//!   `stream_options.include_usage` adds one chunk before `data: [DONE]` whose `usage` covers the
//!   whole request (other chunks carry `"usage": null`); a stream cut before it has no usage, so
//!   the meter counts the content chunks seen as an estimate of the output tokens (OpenAI sends
//!   about one token per chunk) and marks the figure inexact.
//! - Anthropic: `usage.input_tokens` and `output_tokens`, plus `cache_creation_input_tokens` and
//!   `cache_read_input_tokens` (prompt tokens too, billed differently; counted here, since the
//!   limit is on tokens processed). Streaming: `message_start` carries `message.usage` (input
//!   tokens, a first output count), each `message_delta` carries cumulative `usage` (output
//!   tokens; newer API versions repeat the input counts).
//! - Gemini: `usageMetadata.totalTokenCount` (or `promptTokenCount + candidatesTokenCount`);
//!   with `alt=sse` every chunk carries the cumulative `usageMetadata`.
//!
//! The SSE parser follows the WHATWG event-stream rules: lines end in LF, CRLF or CR (a CR at the
//! end of one chunk and an LF at the start of the next are one line end), `data:` lines join with
//! LF, a blank line dispatches, `:` starts a comment. Lines longer than `MAX_LINE` are discarded
//! (memory stays bounded whatever upstream sends).

use serde_json::Value;

use super::config::Wire;

/// Longest SSE line kept; longer ones are dropped whole. Usage chunks are a few hundred bytes.
const MAX_LINE: usize = 1 << 20;

/// Tokens counted for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    /// What the limit counts: the provider's total when it gives one, else input + output.
    pub total: u64,
    /// False when the figure is an estimate (a stream cut before its usage arrived).
    pub exact: bool,
}

/// The usage of a non-streaming JSON response, if it states one.
pub fn from_response(wire: Wire, body: &[u8]) -> Option<Usage> {
    let v: Value = serde_json::from_slice(body).ok()?;
    match wire {
        Wire::OpenAi => openai_usage(v.get("usage")?),
        Wire::Anthropic => {
            let mut a = AnthropicCounts::default();
            a.update(v.get("usage")?);
            a.seen.then(|| a.usage())
        }
        Wire::Gemini => gemini_usage(v.get("usageMetadata")?),
    }
}

fn num(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

fn openai_usage(u: &Value) -> Option<Usage> {
    let input = num(u, "prompt_tokens");
    let output = num(u, "completion_tokens");
    let total = num(u, "total_tokens");
    if input.is_none() && output.is_none() && total.is_none() {
        return None;
    }
    let (input, output) = (input.unwrap_or(0), output.unwrap_or(0));
    Some(Usage {
        input,
        output,
        total: total.unwrap_or(input + output),
        exact: true,
    })
}

fn gemini_usage(u: &Value) -> Option<Usage> {
    let input = num(u, "promptTokenCount");
    let output = num(u, "candidatesTokenCount");
    let thoughts = num(u, "thoughtsTokenCount").unwrap_or(0);
    let total = num(u, "totalTokenCount");
    if input.is_none() && output.is_none() && total.is_none() {
        return None;
    }
    let (input, output) = (input.unwrap_or(0), output.unwrap_or(0) + thoughts);
    Some(Usage {
        input,
        output,
        total: total.unwrap_or(input + output),
        exact: true,
    })
}

/// Anthropic's counts, merged field by field (each is cumulative, so the largest seen wins).
#[derive(Debug, Clone, Copy, Default)]
struct AnthropicCounts {
    input: u64,
    cache_creation: u64,
    cache_read: u64,
    output: u64,
    seen: bool,
}

impl AnthropicCounts {
    fn update(&mut self, u: &Value) {
        let mut take = |field: &mut u64, key: &str| {
            if let Some(n) = num(u, key) {
                *field = (*field).max(n);
                self.seen = true;
            }
        };
        take(&mut self.input, "input_tokens");
        take(&mut self.cache_creation, "cache_creation_input_tokens");
        take(&mut self.cache_read, "cache_read_input_tokens");
        take(&mut self.output, "output_tokens");
    }

    fn usage(&self) -> Usage {
        let input = self.input + self.cache_creation + self.cache_read;
        Usage {
            input,
            output: self.output,
            total: input + self.output,
            exact: true,
        }
    }
}

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (Anthropic names its events; OpenAI and Gemini do not).
    pub event: Option<String>,
    pub data: String,
}

/// An incremental SSE parser: feed it bytes as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: an LF starting the next one belongs to that line end.
    after_cr: bool,
    /// The current line is over `MAX_LINE` and is being skipped to its end.
    skipping: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses `chunk`, calling `on_event` for each event it completes.
    pub fn feed(&mut self, chunk: &[u8], mut on_event: impl FnMut(SseEvent)) {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(b'\n') = rest.first() {
                rest = &rest[1..];
            }
        }
        while !rest.is_empty() {
            match memchr::memchr2(b'\n', b'\r', rest) {
                Some(at) => {
                    self.push(&rest[..at]);
                    let ending = rest[at];
                    rest = &rest[at + 1..];
                    if ending == b'\r' {
                        match rest.first() {
                            Some(b'\n') => rest = &rest[1..],
                            Some(_) => {}
                            None => self.after_cr = true,
                        }
                    }
                    self.end_line(&mut on_event);
                }
                None => {
                    self.push(rest);
                    rest = &[];
                }
            }
        }
    }

    /// Every event of `chunk`, collected (for tests and small callers).
    pub fn feed_collect(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.feed(chunk, |e| out.push(e));
        out
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if self.line.len() + bytes.len() > MAX_LINE {
            self.line.clear();
            self.skipping = true;
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, on_event: &mut impl FnMut(SseEvent)) {
        if std::mem::take(&mut self.skipping) {
            self.line.clear();
            return;
        }
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if self.has_data {
                let mut data = std::mem::take(&mut self.data);
                if data.ends_with('\n') {
                    data.pop();
                }
                on_event(SseEvent {
                    event: self.event.take(),
                    data,
                });
            }
            self.event = None;
            self.has_data = false;
            self.data.clear();
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', &line) {
            Some(at) => {
                let v = &line[at + 1..];
                (&line[..at], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (&line[..], &b""[..]),
        };
        match field {
            b"data" => {
                if self.data.len() + value.len() <= MAX_LINE {
                    self.data.push_str(&String::from_utf8_lossy(value));
                    self.data.push('\n');
                }
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }
}

/// Reads the usage out of a streamed response as it passes through.
#[derive(Debug)]
pub struct StreamMeter {
    wire: Wire,
    parser: SseParser,
    /// The usage the provider stated (OpenAI's final chunk, Gemini's latest `usageMetadata`).
    stated: Option<Usage>,
    anthropic: AnthropicCounts,
    /// Content chunks (OpenAI) or `content_block_delta` events (Anthropic) seen: the estimate of
    /// the output tokens when a stream is cut before its usage arrives.
    content_chunks: u64,
    /// The prompt's tokens estimated from the request (`with_prompt_estimate`), counted when a
    /// stream states no input count before it is cut (OpenAI's usage chunk comes last).
    prompt_estimate: u64,
    done: bool,
}

impl StreamMeter {
    pub fn new(wire: Wire) -> StreamMeter {
        StreamMeter {
            wire,
            parser: SseParser::new(),
            stated: None,
            anthropic: AnthropicCounts::default(),
            content_chunks: 0,
            prompt_estimate: 0,
            done: false,
        }
    }

    /// Sets the prompt estimate (the server uses the rebuilt body's length / 4: about 4 bytes of
    /// English text per token; the JSON around the messages makes it err high).
    pub fn with_prompt_estimate(mut self, tokens: u64) -> StreamMeter {
        self.prompt_estimate = tokens;
        self
    }

    /// Feeds bytes exactly as they are forwarded to the client.
    pub fn feed(&mut self, chunk: &[u8]) {
        let wire = self.wire;
        let mut events = Vec::new();
        self.parser.feed(chunk, |e| events.push(e));
        for e in events {
            self.event(wire, &e);
        }
    }

    fn event(&mut self, wire: Wire, e: &SseEvent) {
        if wire == Wire::OpenAi && e.data.trim() == "[DONE]" {
            self.done = true;
            return;
        }
        let Ok(v) = serde_json::from_str::<Value>(&e.data) else {
            return;
        };
        match wire {
            Wire::OpenAi => {
                if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
                    if let Some(u) = openai_usage(u) {
                        self.stated = Some(u);
                    }
                } else if v
                    .get("choices")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(has_delta_content))
                {
                    self.content_chunks += 1;
                }
            }
            Wire::Anthropic => {
                let ty = v
                    .get("type")
                    .and_then(Value::as_str)
                    .or(e.event.as_deref())
                    .unwrap_or("");
                match ty {
                    "message_start" => {
                        if let Some(u) = v.pointer("/message/usage") {
                            self.anthropic.update(u);
                        }
                    }
                    "message_delta" => {
                        if let Some(u) = v.get("usage") {
                            self.anthropic.update(u);
                        }
                    }
                    "content_block_delta" => self.content_chunks += 1,
                    "message_stop" => self.done = true,
                    _ => {}
                }
            }
            Wire::Gemini => {
                if let Some(u) = v.get("usageMetadata").and_then(gemini_usage) {
                    // Cumulative: the latest is the largest; `max` guards a reordering.
                    let prev = self.stated.unwrap_or_default();
                    self.stated = Some(if u.total >= prev.total { u } else { prev });
                }
            }
        }
    }

    /// Whether the stream reached its documented end (`[DONE]`, `message_stop`).
    pub fn finished(&self) -> bool {
        self.done
    }

    /// The tokens known so far: the provider's figures when it stated them, else an estimate.
    pub fn usage(&self) -> Usage {
        match self.wire {
            Wire::Anthropic => {
                let mut u = self.anthropic.usage();
                if !self.done && self.content_chunks > u.output {
                    // Cut before the final `message_delta`: the deltas seen are the estimate.
                    u.total += self.content_chunks - u.output;
                    u.output = self.content_chunks;
                }
                u.exact = self.done;
                u
            }
            // Cut before the usage chunk: the prompt was read and billed all the same, so it
            // counts as estimated, with one token per content chunk seen.
            Wire::OpenAi => self.stated.unwrap_or(Usage {
                input: self.prompt_estimate,
                output: self.content_chunks,
                total: self.prompt_estimate + self.content_chunks,
                exact: false,
            }),
            Wire::Gemini => self.stated.unwrap_or(Usage {
                input: self.prompt_estimate,
                output: 0,
                total: self.prompt_estimate,
                exact: false,
            }),
        }
    }
}

fn has_delta_content(choice: &Value) -> bool {
    let Some(d) = choice.get("delta") else {
        return false;
    };
    let text = |k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    text("content")
        || text("refusal")
        || d.get("tool_calls")
            .and_then(Value::as_array)
            .is_some_and(|t| !t.is_empty())
}

#[cfg(test)]
#[path = "usage_tests.rs"]
mod tests;
