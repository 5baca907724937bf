"""A minimal OpenAI-compatible chat client over httpx, sync and async.

It sends one user message to ``<base_url>/chat/completions`` (TSZ's convention:
``TSZ_AI_MODEL_URL`` / ``THYRIS_AI_MODEL_URL`` is the API base and the path is appended)
with ``Authorization: Bearer <key>`` and returns the first choice's text. Every call has
a timeout, runs under ``suppress_instrumentation()`` (so tsz-otel's own instrumentors never
trace or scan it), and fails only with :class:`~tsz_otel.errors.RemoteError` subclasses.
The openai SDK is not used: the call is one POST and the SDK would be a hard dependency.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from .._http import HttpClients
from .._unicode import well_formed
from ..errors import RemoteProtocolError

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["DEFAULT_MODEL", "ModelClient"]

DEFAULT_MODEL = "llama3"
"""TSZ's default ``AI_MODEL`` when none is configured."""

_WHAT = "AI model"


class ModelClient:
    """Chat completions against one OpenAI-compatible endpoint and model."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model or DEFAULT_MODEL
        self.timeout = timeout
        self._http = HttpClients(
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            transport=transport,
            async_transport=async_transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelClient | None:
        """The client for ``settings.ai_*``, or ``None`` when no model URL is configured."""
        if not settings.ai_model_url:
            return None
        return cls(
            settings.ai_model_url,
            model=settings.ai_model,
            api_key=settings.ai_api_key,
            timeout=settings.ai_timeout,
        )

    def complete(self, prompt: str, *, max_tokens: int | None = None) -> str:
        """The model's reply to ``prompt`` (first choice's message content)."""
        body = self._body(prompt, max_tokens)
        return _reply(self._http.send("POST", self.url, _WHAT, json=body))

    async def acomplete(self, prompt: str, *, max_tokens: int | None = None) -> str:
        """Async twin of :meth:`complete`."""
        body = self._body(prompt, max_tokens)
        return _reply(await self._http.asend("POST", self.url, _WHAT, json=body))

    def close(self) -> None:
        self._http.close()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _body(self, prompt: str, max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": well_formed(prompt)}],  # JSON is UTF-8
            "stream": False,
            "temperature": 0,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body


def _reply(response: httpx.Response) -> str:
    try:
        content = json.loads(response.content)["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError) as exc:
        raise RemoteProtocolError(f"{_WHAT}: answer has no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise RemoteProtocolError(f"{_WHAT}: message content is not text")
    return content
