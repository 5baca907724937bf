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
from opentelemetry.instrumentation.utils import suppress_instrumentation

from .._http import PerLoop, check_status, translate_error
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
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self._headers = headers
        self._async_transport = async_transport
        self._aclients: PerLoop[httpx.AsyncClient] = PerLoop(self._new_aclient)

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
        try:
            with suppress_instrumentation():
                response = self._client.post(self.url, json=self._body(prompt, max_tokens))
        except httpx.HTTPError as exc:
            raise translate_error(exc, _WHAT) from exc
        return _reply(response)

    async def acomplete(self, prompt: str, *, max_tokens: int | None = None) -> str:
        """Async twin of :meth:`complete`."""
        try:
            with suppress_instrumentation():
                response = await self._aclients.get().post(
                    self.url, json=self._body(prompt, max_tokens)
                )
        except httpx.HTTPError as exc:
            raise translate_error(exc, _WHAT) from exc
        return _reply(response)

    def close(self) -> None:
        self._client.close()

    async def aclose(self) -> None:
        client = self._aclients.pop()
        if client is not None:
            await client.aclose()

    def _body(self, prompt: str, max_tokens: int | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": False,
            "temperature": 0,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body

    def _new_aclient(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            headers=self._headers, timeout=self.timeout, transport=self._async_transport
        )


def _reply(response: httpx.Response) -> str:
    check_status(response, _WHAT)
    try:
        content = json.loads(response.content)["choices"][0]["message"]["content"]
    except (ValueError, LookupError, TypeError) as exc:
        raise RemoteProtocolError(f"{_WHAT}: answer has no choices[0].message.content") from exc
    if not isinstance(content, str):
        raise RemoteProtocolError(f"{_WHAT}: message content is not text")
    return content
