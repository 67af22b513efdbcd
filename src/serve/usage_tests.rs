use proptest::prelude::*;
use serde_json::json;

use super::*;

/// An OpenAI chat stream with `include_usage`, as the API documents it: content chunks with
/// `"usage": null`, a final chunk with empty `choices` and the usage, then `[DONE]`.
fn openai_stream() -> String {
    let mut s = String::new();
    for (i, word) in ["Hel", "lo", " there"].iter().enumerate() {
        let chunk = json!({"id": "c1", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": null}],
            "usage": null});
        s.push_str(&format!("data: {chunk}\n\n"));
        if i == 0 {
            s.push_str(": keep-alive comment\n\n");
        }
    }
    let stop = json!({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": null});
    s.push_str(&format!("data: {stop}\n\n"));
    let usage = json!({"id": "c1", "choices": [],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}});
    s.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    s
}

/// An Anthropic messages stream: named events, usage in `message_start` and `message_delta`.
/// Line ends are CRLF, which the parser must take as well as LF.
fn anthropic_stream() -> String {
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "m1", "type": "message",
            "role": "assistant", "content": [], "model": "claude-haiku-4-5",
            "usage": {"input_tokens": 25, "cache_read_input_tokens": 5, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "Hello"}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "!"}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": 15}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\r\ndata: {data}\r\n\r\n"))
        .collect()
}

fn gemini_stream() -> String {
    [
        json!({"candidates": [{"content": {"parts": [{"text": "Hi"}]}}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 1, "totalTokenCount": 9}}),
        json!({"candidates": [{"content": {"parts": [{"text": " there"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 4, "totalTokenCount": 12}}),
    ]
    .iter()
    .map(|c| format!("data: {c}\r\n\r\n"))
    .collect()
}

fn whole(wire: Wire, stream: &str) -> StreamMeter {
    let mut m = StreamMeter::new(wire);
    m.feed(stream.as_bytes());
    m
}

#[test]
fn sse_field_rules() {
    let mut p = SseParser::new();
    let events = p.feed_collect(
        b"event: a\ndata: one\ndata:two\n\n: comment\n\ndata\n\nid: 7\nretry: 10\n\nevent: lonely\n\ndata: x\r\rdata: y\r\n\r\n",
    );
    assert_eq!(
        events,
        vec![
            SseEvent {
                event: Some("a".into()),
                data: "one\ntwo".into()
            },
            SseEvent {
                event: None,
                data: String::new()
            },
            SseEvent {
                event: None,
                data: "x".into()
            },
            SseEvent {
                event: None,
                data: "y".into()
            },
        ]
    );
    // An event without its blank line is not dispatched (yet).
    assert!(p.feed_collect(b"data: pending\n").is_empty());
    assert_eq!(p.feed_collect(b"\n")[0].data, "pending");
}

#[test]
fn cr_at_a_chunk_boundary_is_one_line_end() {
    // CR | LF split across chunks ends one line; taken as two, the LF would be a blank line
    // and dispatch "a" alone.
    let mut p = SseParser::new();
    let mut events = p.feed_collect(b"data: a\r");
    events.extend(p.feed_collect(b"\ndata: b\r"));
    events.extend(p.feed_collect(b"\n\r"));
    events.extend(p.feed_collect(b"\ndata: c\n\n"));
    let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["a\nb", "c"]);
}

#[test]
fn an_overlong_line_is_dropped_and_parsing_continues() {
    let mut p = SseParser::new();
    let mut huge = b"data: ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
    let mut events = Vec::new();
    for chunk in huge.chunks(4096) {
        events.extend(p.feed_collect(chunk));
    }
    events.extend(p.feed_collect(b"\n\ndata: after\n\n"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data, "after");
    assert!(p.line.capacity() <= 2 * MAX_LINE);
}

#[test]
fn openai_stream_usage() {
    let m = whole(Wire::OpenAi, &openai_stream());
    assert!(m.finished());
    assert_eq!(
        m.usage(),
        Usage {
            input: 12,
            output: 3,
            total: 15,
            exact: true
        }
    );
}

#[test]
fn openai_stream_cut_before_usage_is_estimated() {
    let s = openai_stream();
    let cut = s.find("\"choices\":[]").unwrap();
    let m = whole(Wire::OpenAi, &s[..cut]);
    assert!(!m.finished());
    let u = m.usage();
    assert!(!u.exact);
    assert_eq!(u.output, 3, "three content chunks seen");
    assert_eq!(u.total, 3);
    // With the prompt estimated from the request, the cut stream counts the prompt too: the
    // provider read and billed it although its usage chunk never came.
    let mut m = StreamMeter::new(Wire::OpenAi).with_prompt_estimate(40);
    m.feed(&s.as_bytes()[..cut]);
    let u = m.usage();
    assert_eq!((u.input, u.output, u.total, u.exact), (40, 3, 43, false));
    // The stated usage, once it arrives, replaces the estimate.
    let mut m = StreamMeter::new(Wire::OpenAi).with_prompt_estimate(40);
    m.feed(s.as_bytes());
    assert_eq!(m.usage().total, 15);
}

#[test]
fn anthropic_stream_usage() {
    let m = whole(Wire::Anthropic, &anthropic_stream());
    assert!(m.finished());
    assert_eq!(
        m.usage(),
        Usage {
            input: 30,
            output: 15,
            total: 45,
            exact: true
        }
    );
}

#[test]
fn anthropic_stream_cut_midway_keeps_the_input_tokens() {
    let s = anthropic_stream();
    let cut = s.find("event: message_delta").unwrap();
    let u = whole(Wire::Anthropic, &s[..cut]).usage();
    assert!(!u.exact);
    assert_eq!(u.input, 30);
    assert_eq!(u.output, 2, "two text deltas seen");
    assert_eq!(u.total, 32);
    // Cut right after message_start: input known, one output token as Anthropic stated.
    let cut = s.find("event: content_block_start").unwrap();
    let u = whole(Wire::Anthropic, &s[..cut]).usage();
    assert_eq!((u.input, u.output, u.total), (30, 1, 31));
}

#[test]
fn gemini_stream_usage_is_the_latest() {
    let s = gemini_stream();
    assert_eq!(whole(Wire::Gemini, &s).usage().total, 12);
    let first_end = s.find("\r\n\r\n").unwrap() + 4;
    assert_eq!(whole(Wire::Gemini, &s[..first_end]).usage().total, 9);
    assert_eq!(whole(Wire::Gemini, "").usage().total, 0);
}

#[test]
fn non_streaming_responses() {
    let openai = json!({"id": "c", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21}});
    assert_eq!(
        from_response(Wire::OpenAi, openai.to_string().as_bytes()),
        Some(Usage {
            input: 9,
            output: 12,
            total: 21,
            exact: true
        })
    );
    let no_total = json!({"usage": {"prompt_tokens": 4, "completion_tokens": 6}});
    assert_eq!(
        from_response(Wire::OpenAi, no_total.to_string().as_bytes())
            .unwrap()
            .total,
        10
    );
    let anthropic = json!({"type": "message", "usage": {"input_tokens": 10, "cache_creation_input_tokens": 3, "output_tokens": 7}});
    assert_eq!(
        from_response(Wire::Anthropic, anthropic.to_string().as_bytes()),
        Some(Usage {
            input: 13,
            output: 7,
            total: 20,
            exact: true
        })
    );
    let gemini = json!({"candidates": [], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6, "totalTokenCount": 14}});
    assert_eq!(
        from_response(Wire::Gemini, gemini.to_string().as_bytes())
            .unwrap()
            .total,
        14
    );
    for wire in [Wire::OpenAi, Wire::Anthropic, Wire::Gemini] {
        assert_eq!(from_response(wire, b"not json"), None);
        assert_eq!(from_response(wire, b"{\"usage\": {}}"), None);
        assert_eq!(from_response(wire, b"{}"), None);
    }
}

/// Splits `bytes` at the given cut points (any positions, sorted and deduplicated).
fn chunks(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.retain(|c| *c < bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::new();
    let mut start = 0;
    for c in cuts {
        out.push(&bytes[start..c]);
        start = c;
    }
    out.push(&bytes[start..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_chunking_gives_the_same_events_and_usage(
        which in 0..3usize,
        cuts in prop::collection::vec(0..4000usize, 0..40),
        prefix in 0..100usize,
    ) {
        let (wire, stream) = [
            (Wire::OpenAi, openai_stream()),
            (Wire::Anthropic, anthropic_stream()),
            (Wire::Gemini, gemini_stream()),
        ][which].clone();
        let bytes = stream.as_bytes();
        let expected_events = SseParser::new().feed_collect(bytes);
        let expected = whole(wire, &stream);

        let mut parser = SseParser::new();
        let mut meter = StreamMeter::new(wire);
        let mut events = Vec::new();
        for chunk in chunks(bytes, cuts.clone()) {
            events.extend(parser.feed_collect(chunk));
            meter.feed(chunk);
        }
        prop_assert_eq!(&events, &expected_events);
        prop_assert_eq!(meter.usage(), expected.usage());
        prop_assert_eq!(meter.finished(), expected.finished());

        // Abandoned after any prefix: the same as metering that prefix whole, and never more
        // than the whole stream's figure.
        let end = bytes.len() * prefix / 100;
        let mut partial = StreamMeter::new(wire);
        for chunk in chunks(&bytes[..end], cuts) {
            partial.feed(chunk);
        }
        let mut whole_prefix = StreamMeter::new(wire);
        whole_prefix.feed(&bytes[..end]);
        prop_assert_eq!(partial.usage(), whole_prefix.usage());
        prop_assert!(partial.usage().total <= expected.usage().total);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..400),
        cuts in prop::collection::vec(0..400usize, 0..10),
    ) {
        for wire in [Wire::OpenAi, Wire::Anthropic, Wire::Gemini] {
            let mut m = StreamMeter::new(wire);
            for c in chunks(&bytes, cuts.clone()) {
                m.feed(c);
            }
            let _ = m.usage();
        }
    }
}
