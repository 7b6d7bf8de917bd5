"""PII detection on write: the kinds of personal data a memory's text holds, and what the
project's `pii_mode` does about them.

Every write of memory text (verbatim adds, the pipeline's ADD and UPDATE, updates and batch
updates, dashboard edits) screens the text here once, before it is embedded or stored:

- flag (the default): the text is stored as written; the kinds found go on `Memory.pii_kinds`;
- redact: each span found is replaced by its placeholder (`<PHONE>`, `<EMAIL>`, ...) in the
  stored text, its embedding, its history row and recorded input; the kinds still go on the
  memory, and the history row's `pii_redacted` counts the spans replaced per kind (never their
  values);
- reject: the write is refused with a 400 naming the kinds, before anything is written.

`pii_kinds` is null for a memory no screening has seen (written before detection existed, or
with MEMDASH_PII_DETECTION off): `manage.py backfill_pii` fills those in, flagging only.

Detection is Microsoft Presidio's analyzer (presidio-analyzer) with pattern recognizers only:
regular expressions, checksums (Luhn for cards, mod-97 for IBANs, each national scheme's own)
and python-phonenumbers. No NER model is loaded and nothing is downloaded: the NLP engine is a
blank spaCy English pipeline (a tokenizer that ships with spaCy) whose lemmas are the
lower-cased tokens, which is all Presidio's context words need ("ssn", "passport", "nhs" near
a number raise its score). The e-mail recognizer checks domains against tldextract's bundled
suffix list instead of fetching one. Two rules of memdash's sit on top of Presidio's scores:

- a span is kept when its score reaches MIN_SCORE (Presidio's own score for a match that its
  context words support);
- kinds that are only a run of digits with a checksum (an NHS number, a PESEL, an Aadhaar, a
  TFN, an ABN) also need a context word: one random number in ten or eleven passes such a
  checksum, so an order number would otherwise be a national identifier.

Overlapping spans of different kinds keep the higher score (the more specific kind on a tie):
one number is one kind.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings

from core.errors import InvalidRequest
from tenancy.models import PiiMode, Project

if TYPE_CHECKING:
    # Types only: the filter language (below the models) imports this module for KINDS.
    from presidio_analyzer import AnalyzerEngine

    from memories.attribution import Message
    from memories.models import Event, MemoryHistory

# A span is kept at this score: Presidio's score for a pattern match its context supports.
MIN_SCORE = 0.4
LANGUAGE = "en"
# Every recognizer below needs a digit or an "@" in the text; most memories have neither, and
# skip the analyzer altogether.
_CANDIDATE = re.compile(r"[0-9@]")
# "firmware 4.2.0.17" is a version, not an IP address.
_VERSION_BEFORE = re.compile(r"\b(?:version|ver|v|firmware|build|release)\W{0,3}$", re.IGNORECASE)
# A phone number has at least 7 digits, however it is grouped: the phone recognizer, the
# analyzer's costliest part (python-phonenumbers, once per region), runs only where they are.
_PHONE_DIGITS = re.compile(r"(?:\d[\s().+\-/]*){7}")


@dataclass(frozen=True)
class Kind:
    """A kind of personal data: its short name (stored, filtered on), Presidio's entity, and
    what the dashboard calls it."""

    name: str
    entity: str
    label: str
    # Only a run of digits and a checksum: kept only with a supporting context word.
    needs_context: bool = False

    @property
    def placeholder(self) -> str:
        return f"<{self.name.upper()}>"


# In order of specificity: an overlap between two kinds of equal score keeps the later one.
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("phone", "PHONE_NUMBER", "phone number"),
        Kind("ip", "IP_ADDRESS", "IP address"),
        Kind("email", "EMAIL_ADDRESS", "email address"),
        Kind("card", "CREDIT_CARD", "payment card number"),
        Kind("iban", "IBAN_CODE", "IBAN"),
        Kind("us_ssn", "US_SSN", "US social security number"),
        Kind("us_itin", "US_ITIN", "US taxpayer id (ITIN)"),
        Kind("us_passport", "US_PASSPORT", "US passport number"),
        Kind("uk_nino", "UK_NINO", "UK national insurance number"),
        Kind("uk_nhs", "UK_NHS", "UK NHS number", needs_context=True),
        Kind("es_nif", "ES_NIF", "Spanish NIF / DNI"),
        Kind("es_nie", "ES_NIE", "Spanish NIE"),
        Kind("it_fiscal_code", "IT_FISCAL_CODE", "Italian fiscal code"),
        Kind("pl_pesel", "PL_PESEL", "Polish PESEL", needs_context=True),
        Kind("in_aadhaar", "IN_AADHAAR", "Indian Aadhaar number", needs_context=True),
        Kind("in_pan", "IN_PAN", "Indian PAN"),
        Kind("sg_nric", "SG_NRIC_FIN", "Singapore NRIC / FIN"),
        Kind("au_tfn", "AU_TFN", "Australian tax file number", needs_context=True),
        Kind("au_abn", "AU_ABN", "Australian business number", needs_context=True),
        Kind("ca_sin", "CA_SIN", "Canadian social insurance number", needs_context=True),
    )
}
_BY_ENTITY = {kind.entity: kind for kind in KINDS.values()}
_RANK = {name: rank for rank, name in enumerate(KINDS)}


def label(kind: str) -> str:
    """What the dashboard calls a kind (an unknown one, by its name)."""
    known = KINDS.get(kind)
    return known.label if known else kind


# --- detection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    score: float


def detect(text: str) -> list[Finding]:
    """The spans of personal data in `text`, in order, without overlaps."""
    if not _CANDIDATE.search(text):
        return []
    engine = _engine()
    lowered = text.lower()
    # One call at a time per process: spaCy's vocabulary grows with every new word it sees.
    with _analyzing:
        results = engine.analyzer.analyze(
            text=text,
            language=LANGUAGE,
            score_threshold=0.0,
            # Context phrases of several words ("tax file number") never equal one token: the
            # ones the text holds are given as context of the whole (short) text.
            context=[phrase for phrase in engine.phrases if phrase in lowered],
            return_decision_process=True,
        )
    kept = []
    for result in results:
        kind = _BY_ENTITY.get(result.entity_type)
        if kind is None or result.score < MIN_SCORE:
            continue
        explanation = result.analysis_explanation
        if kind.needs_context and not (explanation and explanation.supportive_context_word):
            continue
        if kind.name == "ip" and _VERSION_BEFORE.search(text, 0, result.start):
            continue
        kept.append(Finding(kind.name, result.start, result.end, result.score))
    return _without_overlaps(kept)


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    best_first = sorted(findings, key=lambda f: (-f.score, -_RANK[f.kind], f.start))
    chosen: list[Finding] = []
    for finding in best_first:
        if all(finding.end <= other.start or other.end <= finding.start for other in chosen):
            chosen.append(finding)
    return sorted(chosen, key=lambda f: f.start)


def kinds_in(text: str) -> list[str]:
    """The kinds of personal data `text` holds, sorted (what `Memory.pii_kinds` stores)."""
    return sorted({finding.kind for finding in detect(text)})


def redact(text: str, findings: Sequence[Finding]) -> str:
    """`text` with each finding replaced by its kind's placeholder."""
    parts, at = [], 0
    for finding in findings:
        parts += [text[at : finding.start], KINDS[finding.kind].placeholder]
        at = finding.end
    return "".join([*parts, text[at:]])


@dataclass(frozen=True)
class _Engine:
    analyzer: AnalyzerEngine
    # The recognizers' context words of more than one word, lower-cased.
    phrases: tuple[str, ...]


_lock = threading.Lock()
_analyzing = threading.Lock()


def _engine() -> _Engine:
    with _lock:
        return _build_engine()


@cache
def _build_engine() -> _Engine:
    # Imported here: spaCy and Presidio take about a second to import, and most processes
    # (manage.py commands, beat) never screen a text.
    import logging

    import spacy
    import tldextract
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as recognizers
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import SpacyNlpEngine

    # Presidio logs every recognizer it loads and every call at INFO.
    logging.getLogger("presidio-analyzer").setLevel(logging.WARNING)
    offline_suffixes = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())

    class EmailRecognizer(recognizers.EmailRecognizer):
        # Presidio's checks the domain with tldextract's default, which downloads the public
        # suffix list on first use; the snapshot bundled with tldextract is enough.
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_suffixes(pattern_text).fqdn)

    class PhoneRecognizer(recognizers.PhoneRecognizer):
        def analyze(self, text: str, entities: Any, nlp_artifacts: Any = None) -> Any:
            if not _PHONE_DIGITS.search(text):
                return []
            return super().analyze(text, entities, nlp_artifacts)

    class BlankEnglish(SpacyNlpEngine):
        """A tokenizer and lower-cased tokens as lemmas: Presidio's context words work, and
        no model is loaded (spaCy's trained pipelines are not on PyPI)."""

        def load(self) -> None:
            nlp = spacy.blank(LANGUAGE)
            nlp.add_pipe(_LOWER_LEMMAS)
            # Presidio declares `nlp` as None until loaded.
            self.nlp = {LANGUAGE: nlp}  # type: ignore[assignment]

    _register_lower_lemmas()
    # The Spanish, Italian and Polish recognizers are Presidio's, set to run on the English
    # texts memories are (an identifier is the same whatever the language around it).
    registry = RecognizerRegistry(
        recognizers=[
            # Strict grouping (2): the digits must be grouped as the region writes them, which
            # keeps invoice and order numbers such as 2024-000123 out.
            PhoneRecognizer(leniency=2),
            recognizers.IpRecognizer(),
            EmailRecognizer(),
            recognizers.CreditCardRecognizer(),
            recognizers.IbanRecognizer(),
            recognizers.UsSsnRecognizer(),
            recognizers.UsItinRecognizer(),
            recognizers.UsPassportRecognizer(),
            recognizers.UkNinoRecognizer(),
            recognizers.NhsRecognizer(),
            recognizers.EsNifRecognizer(supported_language=LANGUAGE),
            recognizers.EsNieRecognizer(supported_language=LANGUAGE),
            recognizers.ItFiscalCodeRecognizer(supported_language=LANGUAGE),
            recognizers.PlPeselRecognizer(supported_language=LANGUAGE),
            recognizers.InAadhaarRecognizer(),
            recognizers.InPanRecognizer(),
            recognizers.SgFinRecognizer(),
            recognizers.AuTfnRecognizer(),
            recognizers.AuAbnRecognizer(),
            recognizers.CaSinRecognizer(),
        ],
        supported_languages=[LANGUAGE],
    )
    nlp_engine = BlankEnglish(models=[{"lang_code": LANGUAGE, "model_name": "blank"}])
    nlp_engine.load()
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        # Whole words: as substrings, "sin" (Canada's SIN) is in "business" and "using".
        context_aware_enhancer=LemmaContextAwareEnhancer(context_matching_mode="whole_word"),
    )
    phrases = {
        word.lower()
        for recognizer in registry.recognizers
        for word in recognizer.context or ()
        if " " in word.strip()
    }
    return _Engine(analyzer, tuple(sorted(phrases)))


_LOWER_LEMMAS = "memdash_lower_lemmas"


@cache
def _register_lower_lemmas() -> None:
    from spacy.language import Language
    from spacy.tokens import Doc

    @Language.component(_LOWER_LEMMAS)
    def lower_lemmas(doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = token.lower_
        return doc


def recognizer_names() -> list[str]:
    """The Presidio recognizers that run, by name (documentation and tests)."""
    return [type(recognizer).__name__ for recognizer in _engine().analyzer.registry.recognizers]


# --- what a write stores -------------------------------------------------------------------------


@dataclass(frozen=True)
class Screened:
    """One text after screening: what to store, the kinds it held, the spans replaced."""

    text: str
    kinds: list[str]
    redacted: dict[str, int] = field(default_factory=dict)


@dataclass
class Screening:
    """The texts of one write after screening, looked up by the text to store."""

    mode: str = PiiMode.FLAG
    # False (nothing screened): MEMDASH_PII_DETECTION is off, or no text was written.
    enabled: bool = False
    _stored: dict[str, Screened] = field(default_factory=dict)
    _original: dict[str, str] = field(default_factory=dict)

    def stored(self, text: str) -> str:
        """What to store for `text` as written (itself, unless redacted)."""
        return self._original.get(text, text)

    def kinds(self, stored_text: str) -> list[str] | None:
        """`Memory.pii_kinds` for a stored text; None when nothing screened it."""
        if not self.enabled:
            return None
        found = self._stored.get(stored_text)
        if found:
            return found.kinds
        return kinds_in(stored_text) if isinstance(stored_text, str) else []

    def note(self, row: MemoryHistory) -> MemoryHistory:
        """Record on a history row how many spans of each kind its new text had replaced."""
        found = self._stored.get(row.new_memory or "")
        if found and found.redacted and row.new_memory != row.old_memory:
            row.pii_redacted = found.redacted
        return row

    @property
    def redacting(self) -> bool:
        return self.enabled and self.mode == PiiMode.REDACT

    def messages(self, messages: Sequence[Message]) -> list[Message]:
        """The messages as a redact-mode write records them (unchanged in other modes)."""
        if not self.redacting:
            return list(messages)
        return [
            replace(m, content=self.stored(m.content)) if isinstance(m.content, str) else m
            for m in messages
        ]

    def message_dicts(self, messages: Any) -> Any:
        """Recorded messages (history `input`, an Event's payload) as a redact-mode write keeps
        them: each text content redacted."""
        if not self.redacting or not isinstance(messages, list):
            return messages
        return [
            {**m, "content": self._redacted(m["content"])}
            if isinstance(m, dict) and isinstance(m.get("content"), str)
            else m
            for m in messages
        ]

    def _redacted(self, text: str) -> str:
        if text in self._original:
            return self._original[text]
        return text if text in self._stored else redact_text(text)

    def payload(self, payload: dict[str, Any] | None) -> dict[str, Any] | None:
        """An Event payload with its `messages` as message_dicts keeps them."""
        if not self.redacting or not payload or "messages" not in payload:
            return payload
        return {**payload, "messages": self.message_dicts(payload["messages"])}


def screen(project: Project, texts: Iterable[str]) -> Screening:
    """Screen the texts one write stores, by the project's pii_mode.

    Raises InvalidRequest (a 400) naming the kinds found when the mode is reject: call it
    before anything is written.
    """
    screening = Screening(mode=project.pii_mode, enabled=settings.MEMDASH_PII_DETECTION)
    if not screening.enabled:
        return screening
    refused: set[str] = set()
    for text in dict.fromkeys(texts):
        findings = detect(text)
        kinds = sorted({f.kind for f in findings})
        if screening.mode == PiiMode.REJECT and kinds:
            refused.update(kinds)
        elif screening.mode == PiiMode.REDACT and findings:
            stored = redact(text, findings)
            counts: dict[str, int] = {}
            for finding in findings:
                counts[finding.kind] = counts.get(finding.kind, 0) + 1
            screening._stored[stored] = Screened(stored, kinds, dict(sorted(counts.items())))
            screening._original[text] = stored
        else:
            screening._stored[text] = Screened(text, kinds)
    if refused:
        raise InvalidRequest(rejection(sorted(refused)))
    return screening


def screen_messages(project: Project, messages: Sequence[Message]) -> Screening:
    """screen() for the text messages of an add."""
    return screen(project, (m.content for m in messages if isinstance(m.content, str)))


def rejection(kinds: Sequence[str]) -> str:
    shown = ", ".join(f"{label(kind)} ({kind})" for kind in kinds)
    return (
        f"The text contains personal data this project refuses: {shown}. "
        "Its pii_mode is 'reject'; nothing was written."
    )


def redact_text(text: str) -> str:
    """`text` with every span found replaced by its placeholder."""
    return redact(text, detect(text)) if _CANDIDATE.search(text) else text


def redact_event_payload(event: Event, screening: Screening) -> None:
    """A redact-mode pipeline run keeps its conversation redacted once the memories are
    written: the Event's payload held it for the worker until then."""
    if not screening.redacting:
        return
    payload = screening.payload(event.payload)
    if payload is not event.payload:
        event.payload = payload
        event.save(update_fields=["payload"])
