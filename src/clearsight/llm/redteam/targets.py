"""How a probe reaches the application: an OpenAI-compatible chat endpoint, or any HTTP API through a template.

A target only builds requests and reads answers; sending, retrying and pacing belong to the runner, so the
same retry logic serves both formats. Credentials live only in request headers, which never enter a
transcript, and a target's description drops URL user-info and query values; the key is also handed to the
runner, which scrubs it from anything the target sends back (an error page may echo the request headers).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from clearsight.core.errors import InputError
from clearsight.core.redteam import SentRequest, TargetInfo, ToolCall
from clearsight.guard.jsonpath import JsonPath, parse_path
from clearsight.yaml_models import load_model, read_text_file

Slot = Literal["system", "document", "tools"]
PLACEHOLDER = re.compile(r"\{(prompt|system|document|model|tools|api_key)\}")
UNKNOWN_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
BODY_PLACEHOLDERS = {"prompt", "system", "document", "model", "tools"}
MAX_TEMPLATE_BYTES = 256 * 1024


class BadReply(ValueError):
    """The target answered, but not in the shape its format promises."""


@dataclass(frozen=True)
class Answer:
    """What a target read from a response body: text, tool calls, and why the model stopped when it says."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One probe's content, after the run decided where the system prompt and any fixture go."""

    prompt: str
    system: str | None = None
    document: str | None = None
    tools: tuple[dict[str, JsonValue], ...] = ()


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    body: JsonValue
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # may hold the API key
    messages: list[dict[str, str]] = field(default_factory=list)

    def sent(self) -> SentRequest:
        return SentRequest(method=self.method, url=redact_url(self.url), body=self.body, messages=self.messages)


class Target(Protocol):
    info: TargetInfo
    slots: frozenset[Slot]

    def prepare(self, delivery: Delivery) -> PreparedRequest: ...

    def read(self, body: bytes) -> Answer: ...

    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach a report (the API key), to scrub from whatever comes back."""
        ...


def redact_url(url: str) -> str:
    """The URL without user-info and with query values masked: keys such as ``?api_key=`` stay out of reports."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {redact_url(url)!r}", field="--target")
    return url


def check_api_key(key: str, source: str | None = None) -> str:
    """A key HTTP headers can carry: printable ASCII without spaces, else a clear error that never shows it."""
    if not key or not all(33 <= ord(c) <= 126 for c in key):
        where = f"the value of {source}" if source else "the API key"
        raise InputError(f"{where} has characters an HTTP header cannot carry (non-ASCII, spaces or control "
                         "characters)", field="--api-key-env", hint="check that the variable holds only the key")
    return key


def inline_document(prompt: str, document: str) -> str:
    """The document as retrieved context in the user turn, for a template that has no slot of its own for it."""
    return f"Use the retrieved context below to answer.\n\n<context>\n{document}\n</context>\n\n{prompt}"


def context_message(document: str) -> str:
    """A retrieved document as a RAG application hands it over: a system message of its own, marked as context."""
    return f"Retrieved context for the user's request (from the knowledge base):\n\n<document>\n{document}\n</document>"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise BadReply("the answer is JSON nested too deeply to read") from exc
    except ValueError as exc:
        raise BadReply(f"the answer is not JSON ({body[:80]!r})") from exc


def _tool_calls(value: Any) -> list[ToolCall]:
    """OpenAI's ``[{function: {name, arguments}}]`` or a plain ``[{name, arguments}]``."""
    calls: list[ToolCall] = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        inner: dict[str, Any] = function if isinstance(function, dict) else item
        arguments = inner.get("arguments", "")
        calls.append(ToolCall(name=str(inner.get("name", "")),
                              arguments=arguments if isinstance(arguments, str) else json.dumps(arguments)))
    return calls


def _content_text(content: Any) -> str:
    """OpenAI content as text: a string, or the text parts of a list (``[{type: text, text: ...}]``) joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") in ("text", "output_text")]
        return "".join(p for p in parts if isinstance(p, str))
    return ""


class OpenAITarget:
    """``POST {base}/v1/chat/completions`` (or the exact URL given) with system and user messages and tools."""

    slots: frozenset[Slot] = frozenset({"system", "document", "tools"})

    def __init__(self, url: str, *, model: str | None = None, api_key: str | None = None,
                 api_key_env: str | None = None) -> None:
        base = _check_url(url).rstrip("/")
        if base.endswith("/chat/completions"):
            self.url = base
        else:
            self.url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        self.model = model
        self._api_key = check_api_key(api_key, api_key_env) if api_key is not None else None
        self.info = TargetInfo(url=redact_url(self.url), format="openai", model=model, api_key_env=api_key_env)

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key else ()

    def prepare(self, delivery: Delivery) -> PreparedRequest:
        """System prompt, then the retrieved document in a system message of its own, then the user's question.

        Putting the document in the user's turn would make it the user's own words; RAG applications
        (LangChain's retrieval chains, LlamaIndex's context chat engine) hand it over beside the instructions.
        """
        messages = [{"role": "system", "content": delivery.system}] if delivery.system else []
        if delivery.document:
            messages.append({"role": "system", "content": context_message(delivery.document)})
        messages.append({"role": "user", "content": delivery.prompt})
        body: dict[str, JsonValue] = {"messages": [dict(m) for m in messages]}
        if self.model:
            body["model"] = self.model
        if delivery.tools:
            body["tools"] = list(delivery.tools)
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        return PreparedRequest("POST", self.url, body, headers, messages)

    def read(self, body: bytes) -> Answer:
        document = _json(body)
        try:
            choice = document["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BadReply("the answer has no choices[0].message (not an OpenAI chat completion)") from exc
        if not isinstance(message, dict):
            raise BadReply("choices[0].message is not an object")
        finish = choice.get("finish_reason") if isinstance(choice, dict) else None
        return Answer(_content_text(message.get("content")), _tool_calls(message.get("tool_calls")),
                      finish if isinstance(finish, str) else None)


# --------------------------------------------------------------------------- template format


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TemplateRequest(_Strict):
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    url: str | None = Field(None, description="Absolute, or a path joined to --target; --target when absent.")
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue


class TemplateResponse(_Strict):
    text: str = Field(description="JSON path of the answer text, e.g. $.answer or $.choices[0].text.")
    tool_calls: str | None = Field(None, description="JSON path of a list of {name, arguments} tool calls.")


class TemplateSpec(_Strict):
    request: TemplateRequest
    response: TemplateResponse


def _strings(value: JsonValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def load_template(path: Path) -> TemplateSpec:
    """Read and check a template (YAML or JSON); every problem names the file, and the line where it can."""
    shown = str(path)
    if not path.is_file():
        raise InputError("template file does not exist", path=shown)
    text = read_text_file(path, max_bytes=MAX_TEMPLATE_BYTES, what="a request template")
    _, spec = load_model(text, TemplateSpec, shown, top_level="'request' and 'response'",
                         empty_hint="see docs/llm-redteam.md for an example template")
    strings = _strings(spec.request.body)
    if not any("{prompt}" in s for s in strings):
        raise InputError("the body has no {prompt} placeholder, so no probe would reach the model", path=shown,
                         field="request.body")
    for where, values in (("request.body", strings), ("request.headers", list(spec.request.headers.values()))):
        allowed = BODY_PLACEHOLDERS if where == "request.body" else {"api_key", "model"}
        for value in values:
            for name in UNKNOWN_PLACEHOLDER.findall(value):
                if name not in allowed:
                    raise InputError(f"unknown placeholder {{{name}}}", path=shown, field=where,
                                     hint="allowed here: " + ", ".join(f"{{{a}}}" for a in sorted(allowed)))
    if any(s != "{tools}" and "{tools}" in s for s in strings):
        raise InputError("{tools} must be a whole value (it becomes a JSON list)", path=shown, field="request.body")
    for field_name, path_text in (("response.text", spec.response.text),
                                  ("response.tool_calls", spec.response.tool_calls)):
        if path_text is not None:
            try:
                parse_path(path_text)
            except ValueError as exc:
                raise InputError(str(exc), path=shown, field=field_name) from exc
    return spec


def _substitute(value: JsonValue, values: dict[str, str], tools: list[JsonValue]) -> JsonValue:
    """Placeholders replaced inside the parsed body, so any text stays JSON-safe whatever it contains."""
    if isinstance(value, str):
        if value == "{tools}":
            return tools
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), value)
    if isinstance(value, list):
        return [_substitute(item, values, tools) for item in value]
    if isinstance(value, dict):
        return {k: _substitute(v, values, tools) for k, v in value.items()}
    return value


class TemplateTarget:
    """Any HTTP API: the template says where the prompt, system prompt, document and tools go in the body."""

    def __init__(self, url: str, spec: TemplateSpec, *, template_path: str | None = None, model: str | None = None,
                 api_key: str | None = None, api_key_env: str | None = None) -> None:
        base = _check_url(url)
        self.url = _check_url(urljoin(base, spec.request.url)) if spec.request.url else base
        self.spec = spec
        self.model = model
        self._api_key = check_api_key(api_key, api_key_env) if api_key is not None else None
        self._text: JsonPath = parse_path(spec.response.text)
        self._calls: JsonPath | None = parse_path(spec.response.tool_calls) if spec.response.tool_calls else None
        strings = _strings(spec.request.body)
        slots: set[Slot] = {name for name in ("system", "document") if any(f"{{{name}}}" in s for s in strings)}
        if self._calls is not None:
            slots.add("tools")
        self.slots = frozenset(slots)
        self.info = TargetInfo(url=redact_url(self.url), format="template", model=model, template=template_path,
                               api_key_env=api_key_env)
        if any("{api_key}" in v for v in spec.request.headers.values()) and not api_key:
            raise InputError("the template's headers use {api_key}, so give --api-key-env", path=template_path)

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self._api_key else ()

    def prepare(self, delivery: Delivery) -> PreparedRequest:
        prompt = delivery.prompt
        if delivery.document and "document" not in self.slots:
            prompt = inline_document(prompt, delivery.document)
        values = {"prompt": prompt, "system": delivery.system or "", "document": delivery.document or "",
                  "model": self.model or ""}
        body = _substitute(self.spec.request.body, values, list(delivery.tools))
        secret = {"api_key": self._api_key or "", "model": self.model or ""}
        headers = {k: PLACEHOLDER.sub(lambda m: secret.get(m.group(1), ""), v)
                   for k, v in self.spec.request.headers.items()}
        messages = ([{"role": "system", "content": delivery.system}] if delivery.system else []) + [
            {"role": "user", "content": prompt}]
        return PreparedRequest(self.spec.request.method, self.url, body, headers, messages)

    def read(self, body: bytes) -> Answer:
        document = _json(body)
        found, text = self._text.first(document)
        if not found:
            raise BadReply(f"the answer has nothing at {self._text}")
        calls = _tool_calls(self._calls.first(document)[1]) if self._calls is not None else []
        if text is None:
            return Answer("", calls)
        return Answer(text if isinstance(text, str) else json.dumps(text), calls)
