"""Accuracy of the inline engine on the labelled dev sets.

PII and secrets (``pii_dev.jsonl``): per-type precision, recall and F1 with two span
rules, *exact* (same type, same ``char_start``/``char_end``) and *overlap* (same type,
spans intersect; one-to-one), and the micro average over the PII and SECRET
categories. As the data README says, a prediction of a type the data does not label
(TCKN, UK_NINO, MAC_ADDRESS, ...) is a false positive only on ``neg_*`` records;
on other records it is ignored. The false-positive rate is the share of ``neg_*``
texts with any finding at all.

Prompt injection (``injection_dev.jsonl``): a text is flagged when any detection has
category ``INJECTION``; recall and precision are per text.

A detection counts as a prediction unless the engine resolved it to ``ALLOW``
(below the allow threshold, i.e. ignored), which is what a user of the response
sees as masked or blocked.

Run alone with ``python -m benchmarks.bench_accuracy [--errors]`` to list every miss
and false positive by record id, type and offsets (the data is synthetic).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchmarks._common import (
    InjectionRecord,
    PiiRecord,
    char_span,
    data_source,
    load_injection,
    load_pii,
    make_engine,
)

if TYPE_CHECKING:
    from tsz_otel import Engine
    from tsz_otel.models import DetectionResult

TITLE = "Accuracy on the dev sets"

LABELLED_TYPES: dict[str, str] = {
    "EMAIL": "PII",
    "PHONE_NUMBER": "PII",
    "CREDIT_CARD": "PII",
    "IBAN": "PII",
    "US_SSN": "PII",
    "IP_ADDRESS": "PII",
    "AWS_ACCESS_KEY": "SECRET",
    "GITHUB_TOKEN": "SECRET",
    "OPENAI_API_KEY": "SECRET",
    "JWT": "SECRET",
    "PRIVATE_KEY": "SECRET",
    "URL_WITH_CREDENTIALS": "SECRET",
}
"""The types ``pii_dev.jsonl`` labels, with their catalogue category."""

FALLBACK_CATEGORIES: dict[str, str] = {
    "PROMPT_INJECTION": "INJECTION",
    "JAILBREAK": "INJECTION",
    "SYSTEM_PROMPT_LEAK": "INJECTION",
    "BLOCKLIST": "BLOCKLIST",
}
"""Categories for detections that carry no explanation."""

MICRO_CATEGORIES = frozenset({"PII", "SECRET"})
INJECTION_CATEGORY = "INJECTION"


@dataclass(frozen=True, slots=True)
class Prediction:
    type: str
    category: str
    start: int
    end: int


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Miss:
    """One error, for ``--errors``: what went wrong where.

    ``error`` is ``FN`` (missed), ``FP`` (spurious) or ``SPAN`` (found, other
    boundaries). ``value`` is the dev-set substring (synthetic data, never user data).
    """

    record: str
    kind: str
    error: str
    type: str
    start: int
    end: int
    value: str = ""


@dataclass(slots=True)
class PiiScores:
    exact: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    overlap: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    support: Counter[str] = field(default_factory=Counter)
    categories: dict[str, str] = field(default_factory=lambda: dict(LABELLED_TYPES))
    negatives: Counter[str] = field(default_factory=Counter)
    negatives_flagged: Counter[str] = field(default_factory=Counter)
    negative_types: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    injection_flags_on_pii: int = 0
    misses: list[Miss] = field(default_factory=list)

    def micro(self, table: dict[str, Counts]) -> Counts:
        total = Counts()
        for type_name, counts in table.items():
            if self.categories.get(type_name) in MICRO_CATEGORIES:
                total.add(counts)
        return total


@dataclass(slots=True)
class InjectionScores:
    counts: Counts = field(default_factory=Counts)
    benign: int = 0
    by_category: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    misses: list[Miss] = field(default_factory=list)

    @property
    def false_positive_rate(self) -> float:
        return self.counts.fp / self.benign if self.benign else 0.0


def category_of(detection: DetectionResult) -> str:
    category = detection.category
    if category:
        return category.upper()
    return LABELLED_TYPES.get(detection.type) or FALLBACK_CATEGORIES.get(detection.type, "?")


def predictions(engine: Engine, text: str) -> list[Prediction]:
    """The detections a user sees as findings (everything not resolved to ALLOW)."""
    response = engine.detect(text)
    found = []
    for detection in response.detections:
        if detection.action == "ALLOW":
            continue
        start, end = char_span(text, detection)
        found.append(Prediction(detection.type, category_of(detection), start, end))
    return found


Spans = Sequence[tuple[int, int]]


def _exact(gold: tuple[int, int], pred: tuple[int, int]) -> bool:
    return gold == pred


def _overlaps(gold: tuple[int, int], pred: tuple[int, int]) -> bool:
    return gold[0] < pred[1] and pred[0] < gold[1]


def match(
    gold: Spans, pred: Spans, same: Callable[[tuple[int, int], tuple[int, int]], bool]
) -> tuple[Counts, list[int], list[int]]:
    """Greedy one-to-one matching; returns counts and the unmatched gold/pred indexes."""
    used: set[int] = set()
    unmatched_pred: list[int] = []
    for p_index, p in sorted(enumerate(pred), key=lambda item: item[1]):
        hit = next((g for g, span in enumerate(gold) if g not in used and same(span, p)), None)
        if hit is None:
            unmatched_pred.append(p_index)
        else:
            used.add(hit)
    unmatched_gold = [g for g in range(len(gold)) if g not in used]
    tp = len(used)
    return Counts(tp, len(pred) - tp, len(gold) - tp), unmatched_gold, unmatched_pred


def _score_negative(scores: PiiScores, record: PiiRecord, preds: list[Prediction]) -> None:
    scores.negatives[record.kind] += 1
    if preds:
        scores.negatives_flagged[record.kind] += 1
    for p in preds:
        scores.categories.setdefault(p.type, p.category)
        scores.negative_types[record.kind][p.type] += 1
        scores.exact[p.type].fp += 1
        scores.overlap[p.type].fp += 1
        scores.misses.append(_miss(record, "FP", p.type, (p.start, p.end)))


def _score_positive(scores: PiiScores, record: PiiRecord, preds: list[Prediction]) -> None:
    if any(p.category == INJECTION_CATEGORY for p in preds):
        scores.injection_flags_on_pii += 1
    gold: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for span in record.spans:
        gold[span.type].append((span.start, span.end))
        scores.support[span.type] += 1
    found: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for p in preds:
        if p.type in LABELLED_TYPES:  # unlabelled types are not judged on labelled records
            found[p.type].append((p.start, p.end))
    for type_name in gold.keys() | found.keys():
        g, f = gold[type_name], found[type_name]
        exact, _, exact_fp = match(g, f, _exact)
        overlap, missed, spurious = match(g, f, _overlaps)
        scores.exact[type_name].add(exact)
        scores.overlap[type_name].add(overlap)
        scores.misses += [_miss(record, "FN", type_name, g[i]) for i in missed]
        scores.misses += [_miss(record, "FP", type_name, f[i]) for i in spurious]
        scores.misses += [
            _miss(record, "SPAN", type_name, f[i]) for i in exact_fp if i not in spurious
        ]


def _miss(record: PiiRecord, error: str, type_name: str, span: tuple[int, int]) -> Miss:
    start, end = span
    return Miss(record.id, record.kind, error, type_name, start, end, record.text[start:end])


def score_pii(engine: Engine, records: Iterable[PiiRecord]) -> PiiScores:
    scores = PiiScores()
    for record in records:
        preds = predictions(engine, record.text)
        if record.negative:
            _score_negative(scores, record, preds)
        else:
            _score_positive(scores, record, preds)
    return scores


def score_injection(engine: Engine, records: Iterable[InjectionRecord]) -> InjectionScores:
    scores = InjectionScores()
    for record in records:
        flagged = any(p.category == INJECTION_CATEGORY for p in predictions(engine, record.text))
        label = "injection" if record.injection else "benign"
        cell = scores.by_category[(label, record.category)]
        cell[0] += 1
        cell[1] += int(flagged)
        if not record.injection:
            scores.benign += 1
        if flagged and record.injection:
            scores.counts.tp += 1
        elif flagged:
            scores.counts.fp += 1
            scores.misses.append(Miss(record.id, record.category, "FP", "INJECTION", 0, 0))
        elif record.injection:
            scores.counts.fn += 1
            scores.misses.append(Miss(record.id, record.category, "FN", "INJECTION", 0, 0))
    return scores


# --------------------------------------------------------------------------- rows


def _type_row(
    name: str, category: str, support: int, exact: Counts, overlap: Counts
) -> dict[str, Any]:
    return {
        "table": "PII and secrets per type",
        "type": name,
        "category": category,
        "support": support,
        "TP": exact.tp,
        "FP": exact.fp,
        "FN": exact.fn,
        "P exact": exact.precision,
        "R exact": exact.recall,
        "F1 exact": exact.f1,
        "P overlap": overlap.precision,
        "R overlap": overlap.recall,
        "F1 overlap": overlap.f1,
    }


def _per_type_rows(scores: PiiScores) -> list[dict[str, Any]]:
    names = sorted(scores.exact.keys() | scores.support.keys())
    names.sort(key=lambda n: (n not in LABELLED_TYPES, scores.categories.get(n, "?"), n))
    rows = [
        _type_row(
            name,
            scores.categories.get(name, "?"),
            scores.support[name],
            scores.exact[name],
            scores.overlap[name],
        )
        for name in names
    ]
    rows.append(
        _type_row(
            "micro (PII+SECRET)",
            "",
            sum(scores.support.values()),
            scores.micro(scores.exact),
            scores.micro(scores.overlap),
        )
    )
    return rows


def _negative_rows(scores: PiiScores) -> list[dict[str, Any]]:
    rows = []
    for kind in sorted(scores.negatives):
        types = scores.negative_types[kind].most_common()
        rows.append(
            {
                "table": "hard negatives (neg_*) flagged",
                "kind": kind,
                "texts": scores.negatives[kind],
                "flagged": scores.negatives_flagged[kind],
                "rate": scores.negatives_flagged[kind] / scores.negatives[kind],
                "types found": ", ".join(f"{t}×{n}" for t, n in types) or "-",
            }
        )
    total, flagged = sum(scores.negatives.values()), sum(scores.negatives_flagged.values())
    rows.append(
        {
            "table": "hard negatives (neg_*) flagged",
            "kind": "all",
            "texts": total,
            "flagged": flagged,
            "rate": flagged / total if total else 0.0,
            "types found": "",
        }
    )
    return rows


def _injection_rows(scores: InjectionScores) -> list[dict[str, Any]]:
    return [
        {
            "table": "prompt injection by category (text level)",
            "label": label,
            "category": category,
            "texts": cell[0],
            "flagged": cell[1],
            "rate": cell[1] / cell[0],
        }
        for (label, category), cell in sorted(scores.by_category.items())
    ]


def _negative_rate(pii: PiiScores) -> float:
    total = sum(pii.negatives.values())
    return sum(pii.negatives_flagged.values()) / total if total else 0.0


def _summary_rows(
    pii: PiiScores, inj: InjectionScores, n_pii: int, n_inj: int, seconds: float, smoke: bool
) -> list[dict[str, Any]]:
    exact, overlap = pii.micro(pii.exact), pii.micro(pii.overlap)
    values: list[tuple[str, Any]] = [
        ("data", data_source(smoke)),
        ("PII records / injection records", f"{n_pii} / {n_inj}"),
        ("micro P / R / F1, PII+SECRET, exact span", _prf(exact)),
        ("micro P / R / F1, PII+SECRET, overlapping span", _prf(overlap)),
        ("hard negatives flagged", f"{_negative_rate(pii):.2%}"),
        ("labelled PII texts flagged as injection", pii.injection_flags_on_pii),
        ("injection P / R / F1 (text level)", _prf(inj.counts)),
        ("benign prompts flagged as injection", f"{inj.false_positive_rate:.2%}"),
        ("elapsed (s)", seconds),
    ]
    return [{"table": "summary", "metric": k, "value": v} for k, v in values]


def _prf(counts: Counts) -> str:
    return f"{counts.precision:.3f} / {counts.recall:.3f} / {counts.f1:.3f}"


def _target(name: str, goal: str, measured: float, met: bool, shown: str) -> dict[str, Any]:
    return {"table": "targets", "target": name, "goal": goal, "measured": shown, "met": met}


def target_rows(pii: PiiScores, inj: InjectionScores) -> list[dict[str, Any]]:
    exact, overlap = pii.micro(pii.exact).f1, pii.micro(pii.overlap).f1
    negatives = _negative_rate(pii)
    recall, precision = inj.counts.recall, inj.counts.precision
    return [
        _target("micro-F1 PII+secrets (exact)", ">= 0.97", exact, exact >= 0.97, f"{exact:.3f}"),
        _target(
            "micro-F1 PII+secrets (overlap)", ">= 0.97", overlap, overlap >= 0.97, f"{overlap:.3f}"
        ),
        _target("negatives flagged", "<= 1%", negatives, negatives <= 0.01, f"{negatives:.2%}"),
        _target("injection recall", ">= 0.90", recall, recall >= 0.90, f"{recall:.3f}"),
        _target("injection precision", ">= 0.95", precision, precision >= 0.95, f"{precision:.3f}"),
    ]


def evaluate(smoke: bool) -> tuple[PiiScores, InjectionScores, list[dict[str, Any]]]:
    """Score both data sets; returns the scores and the report rows."""
    pii_records, inj_records = load_pii(smoke), load_injection(smoke)
    engine = make_engine()
    started = time.perf_counter()
    pii = score_pii(engine, pii_records)
    inj = score_injection(engine, inj_records)
    seconds = time.perf_counter() - started
    rows = _summary_rows(pii, inj, len(pii_records), len(inj_records), seconds, smoke)
    rows += _per_type_rows(pii) + _negative_rows(pii) + _injection_rows(inj)
    rows += target_rows(pii, inj)
    return pii, inj, rows


def run(smoke: bool) -> list[dict[str, Any]]:
    """The benchmark entry point used by ``run_all.py``."""
    return evaluate(smoke)[2]


def _print_misses(misses: Sequence[Miss]) -> None:
    for miss in sorted(misses, key=lambda m: (m.error, m.type, m.record)):
        where = f"[{miss.start}:{miss.end}] {miss.value!r}" if miss.end else ""
        print(f"{miss.error:<4} {miss.type:<22} {miss.record:<14} {miss.kind:<24} {where}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list every miss and FP")
    args = parser.parse_args(argv)
    pii, inj, rows = evaluate(args.smoke)
    from benchmarks.run_all import print_tables

    print_tables("accuracy", rows)
    if args.errors:
        _print_misses(pii.misses + inj.misses)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
