"""The official `openai` or `anthropic` Python SDK against `keyguard serve`.

Run by tests/cli/serve_sdk.rs with the venv of scripts/sdk-venv.sh:
    python scenarios.py openai|anthropic
Everything secret or variable comes from the environment (never argv):
    KG_URL, KG_TOKEN      the proxy in front of the mock upstream, and a user token
    KG_BAD_TOKEN          a token the proxy never issued
    KG_SLOW_URL, KG_SLOW_TOKEN
                          a second proxy, in front of an upstream that streams slowly
Each scenario prints one JSON line, {"scenario": NAME, ...what the SDK gave}, or
{"scenario": NAME, "unexpected": "..."} when the SDK did something else; the Rust test judges
them. The clients get only base_url and api_key (plus max_retries=0 where the test wants the
first refusal's response, not the SDK's retries).
"""

import json
import os
import sys
import traceback


def report(name, **fields):
    print(json.dumps({"scenario": name, **fields}, default=str), flush=True)


def error_fields(e):
    """What a status error carries: class, status, message, headers, the body as sent."""
    resp = getattr(e, "response", None)
    return {
        "error": type(e).__name__,
        "status": getattr(e, "status_code", None),
        "message": str(e),
        "headers": dict(resp.headers) if resp is not None else {},
        "body": resp.text if resp is not None else None,
    }


def scenario(name, fn):
    try:
        fn(name)
    except Exception as e:  # reported, not raised: one failure must not hide the others
        fields = error_fields(e)
        fields["unexpected"] = "".join(traceback.format_exception_only(type(e), e)).strip()
        report(name, **fields)


def expect_error(name, call, exc):
    """Runs `call`, which must raise `exc` (an SDK class)."""
    try:
        result = call()
    except exc as e:
        report(name, **error_fields(e))
        return
    report(name, unexpected="no exception; got %r" % (result,))


def run_openai():
    import openai

    url, token = os.environ["KG_URL"], os.environ["KG_TOKEN"]
    client = openai.OpenAI(base_url=url + "/v1", api_key=token)
    once = client.with_options(max_retries=0)
    msgs = lambda text: [{"role": "user", "content": text}]  # noqa: E731
    report("versions", sdk=openai.__version__, auth_headers=sorted(client.auth_headers))

    def models(name):
        listed = list(client.models.list())
        # `Model.created` is an int in the SDK's types: a client may well use it.
        report(name, ids=[m.id for m in listed], typed=all(isinstance(m.created, int) for m in listed))

    def plain(name):
        raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=msgs("hi"))
        done = raw.parse()
        report(name, text=done.choices[0].message.content, total_tokens=done.usage.total_tokens,
               headers=dict(raw.headers), body=raw.http_response.text)

    def streamed(name):
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=msgs("hi"), stream=True)
        pieces, usage = [], None
        for chunk in stream:  # ends at `data: [DONE]`
            for choice in chunk.choices:
                if choice.delta.content:
                    pieces.append(choice.delta.content)
            if chunk.usage is not None:
                usage = chunk.usage.total_tokens
        report(name, pieces=pieces, usage=usage)

    def model_not_allowed(name):
        expect_error(name, lambda: client.chat.completions.create(model="gpt-5", messages=msgs("hi")),
                     openai.BadRequestError)

    def bad_token(name):
        bad = openai.OpenAI(base_url=url + "/v1", api_key=os.environ["KG_BAD_TOKEN"])
        expect_error(name, lambda: bad.chat.completions.create(model="gpt-4o-mini", messages=msgs("hi")),
                     openai.AuthenticationError)

    def upstream(status):
        # The default client for 401 (the proxy says not to retry), no retries for 500.
        c = client if status == 401 else once

        def run(name):
            expect_error(name, lambda: c.chat.completions.create(
                model="gpt-4o-mini", messages=msgs("upstream-%d" % status)), openai.APIStatusError)
        return run

    def disconnect(name):
        slow = openai.OpenAI(base_url=os.environ["KG_SLOW_URL"] + "/v1", api_key=os.environ["KG_SLOW_TOKEN"])
        stream = slow.chat.completions.create(model="gpt-4o-mini", messages=msgs("hi"), stream=True)
        first = None
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = chunk.choices[0].delta.content
                break
        stream.close()
        report(name, first=first)

    def over_limit(name):
        for attempt in range(1, 41):
            try:
                once.chat.completions.create(model="gpt-4o-mini", messages=msgs("hi"))
            except openai.RateLimitError as e:
                report(name, attempts=attempt, **error_fields(e))
                return
        report(name, unexpected="no RateLimitError in 40 requests")

    for name, fn in [("models", models), ("plain", plain), ("stream", streamed),
                     ("model_not_allowed", model_not_allowed), ("bad_token", bad_token),
                     ("upstream_401", upstream(401)), ("upstream_500", upstream(500)),
                     ("disconnect", disconnect), ("over_limit", over_limit)]:
        scenario(name, fn)


def run_anthropic():
    import anthropic

    url, token = os.environ["KG_URL"], os.environ["KG_TOKEN"]
    client = anthropic.Anthropic(base_url=url, api_key=token)
    once = client.with_options(max_retries=0)
    msgs = lambda text: [{"role": "user", "content": text}]  # noqa: E731
    model = "claude-haiku-4-5"
    report("versions", sdk=anthropic.__version__, auth_headers=sorted(client.auth_headers))

    def models(name):
        listed = list(client.models.list())
        # `ModelInfo.display_name` is a str and `created_at` a datetime in the SDK's types.
        typed = all(isinstance(m.display_name, str) and hasattr(m.created_at, "isoformat") for m in listed)
        report(name, ids=[m.id for m in listed], typed=typed)

    def plain(name):
        raw = client.messages.with_raw_response.create(model=model, max_tokens=50, messages=msgs("hi"))
        done = raw.parse()
        report(name, text="".join(b.text for b in done.content if b.type == "text"),
               total_tokens=done.usage.input_tokens + done.usage.output_tokens,
               headers=dict(raw.headers), body=raw.http_response.text)

    def streamed(name):
        # The SDK's stream helper: `text_stream` yields the text deltas; the accumulated final
        # message carries the usage of message_start and message_delta.
        with client.messages.stream(model=model, max_tokens=50, messages=msgs("hi")) as stream:
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        report(name, pieces=pieces, usage=final.usage.input_tokens + final.usage.output_tokens,
               stop_reason=final.stop_reason)

    def model_not_allowed(name):
        expect_error(name, lambda: client.messages.create(model="claude-opus-4-1", max_tokens=50, messages=msgs("hi")),
                     anthropic.BadRequestError)

    def bad_token(name):
        bad = anthropic.Anthropic(base_url=url, api_key=os.environ["KG_BAD_TOKEN"])
        expect_error(name, lambda: bad.messages.create(model=model, max_tokens=50, messages=msgs("hi")),
                     anthropic.AuthenticationError)

    def upstream(status):
        # The default client for 401 (the proxy says not to retry), no retries for 500.
        c = client if status == 401 else once

        def run(name):
            expect_error(name, lambda: c.messages.create(
                model=model, max_tokens=50, messages=msgs("upstream-%d" % status)), anthropic.APIStatusError)
        return run

    def disconnect(name):
        slow = anthropic.Anthropic(base_url=os.environ["KG_SLOW_URL"], api_key=os.environ["KG_SLOW_TOKEN"])
        stream = slow.messages.create(model=model, max_tokens=50, messages=msgs("hi"), stream=True)
        first = None
        for event in stream:
            if event.type == "content_block_delta":
                first = event.delta.text
                break
        stream.close()
        report(name, first=first)

    def over_limit(name):
        for attempt in range(1, 41):
            try:
                once.messages.create(model=model, max_tokens=50, messages=msgs("hi"))
            except anthropic.RateLimitError as e:
                report(name, attempts=attempt, **error_fields(e))
                return
        report(name, unexpected="no RateLimitError in 40 requests")

    for name, fn in [("models", models), ("plain", plain), ("stream", streamed),
                     ("model_not_allowed", model_not_allowed), ("bad_token", bad_token),
                     ("upstream_401", upstream(401)), ("upstream_500", upstream(500)),
                     ("disconnect", disconnect), ("over_limit", over_limit)]:
        scenario(name, fn)


if __name__ == "__main__":
    {"openai": run_openai, "anthropic": run_anthropic}[sys.argv[1]]()
