"""A plain OpenAI chat app: no tsz-otel import, no OpenTelemetry code.

Run it under ``opentelemetry-instrument`` and the ``tsz_openai`` instrumentor guards the
call; ``TSZ_MODE`` alone switches between observe, mask and block (see README.md).
``openai.OpenAI()`` reads ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` from the environment:
point them at the local test server or at a real provider.
"""

from __future__ import annotations

import os

import openai

PROMPT = "Summarise my account. My card is 4111 1111 1111 1111 and my e-mail is jane@example.com."


def main() -> None:
    client = openai.OpenAI()
    print(f"sent:   {PROMPT}")
    reply = client.chat.completions.create(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        messages=[{"role": "user", "content": PROMPT}],
    )
    print(f"answer: {reply.choices[0].message.content}")


if __name__ == "__main__":
    main()
