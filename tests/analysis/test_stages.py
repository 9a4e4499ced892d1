"""The pure stages: text preparation, features, language, urgency, sentiment
and intent on plain texts (no database, no MiniLM)."""

from __future__ import annotations

import pytest

from rapport.analysis import engine, language
from rapport.analysis.loading import fast_model
from rapport.analysis.text import MAX_ANALYSED_CHARS, prepare, prepare_batch
from rapport.analysis.urgency import UrgencyContext, score
from rapport.analysis.weak_labels import Hints, weak_intent


def test_prepare_batch_keeps_messages_apart_and_normalises() -> None:
    out = prepare_batch(
        ["@AmazonHelp I don't like it :) https://t.co/x", "line\nbreak\r\nand\u2028sep", "", "😡😡"]
    )
    assert len(out) == 4
    assert out[0].tokens == ("@user", "i", "don't", "like", "it", ":)", "http")
    assert out[1].tokens == ("line", "break", "and", "sep")
    assert out[2].tokens == () and out[2].text == ""
    assert out[3].tokens == ("😡", "😡") and not out[3].has_letters


def test_long_text_is_truncated_with_a_note() -> None:
    p = prepare("word " * 30_000)
    assert len(p.text) <= MAX_ANALYSED_CHARS
    assert p.notes and "truncated" in p.notes[0] and "150,000" in p.notes[0]


def test_features_are_the_same_alone_or_in_a_batch() -> None:
    fz = fast_model().featurizer
    texts = ["my flight got cancelled and nobody helps", "love it!", "", "is it down?"]
    together = fz.transform(prepare_batch(texts)).toarray()
    for i, t in enumerate(texts):
        alone = fz.transform(prepare_batch([t])).toarray()[0]
        assert (abs(alone - together[i]) < 1e-9).all()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Where is my package? It was due yesterday", "en"),
        ("Bonjour, mon colis n'est toujours pas arrivé, pouvez-vous m'aider ?", "fr"),
        ("¿Cómo puedo rastrear mi paquete? Gracias", "es"),
        ("先日教えていただいたように再起動してみたら、途切れなくなりました！", "ja"),
        ("😡😡😡", "und"),
        ("", "und"),
    ],
)
def test_language_is_detected(text: str, code: str) -> None:
    assert language.detect([prepare(text)])[0].code == code


def test_urgency_formula_adds_its_reasons() -> None:
    p = prepare("My flight was cancelled and I'm stranded, still waiting for a refund!!")
    calm = score(prepare("Thanks, all good"), 0.8, "praise")
    urgent = score(p, -0.9, "complaint", UrgencyContext(prior_messages_24h=3, retweets=50))
    assert calm.value == 0.0 and calm.reasons == ("no sign of urgency",)
    assert urgent.value > 0.75
    joined = " ".join(urgent.reasons)
    for part in ("negative sentiment", "intent complaint", "cancelled", "stranded", "repeated"):
        assert part in joined
    assert 0.0 <= urgent.value <= 1.0


def test_weak_rules_follow_the_guide_order() -> None:
    h = Hints("inbound")
    assert weak_intent("@Brand please refund my order", h) == "request"
    assert weak_intent("@Brand when does the sale end?", h) == "question"
    assert weak_intent(
        "@Brand why is it ALWAYS down?! ridiculous", Hints("inbound", vader=-0.6)
    ) == ("complaint")
    assert weak_intent("@Brand thank you so much, great help", Hints("inbound", vader=0.8)) == (
        "praise"
    )
    assert weak_intent("I wish it had a volume ring", Hints("review", rating=4)) == "feedback"
    assert weak_intent("@Brand We're looking into it", Hints("outbound")) == "chatter"


def test_analyze_text_gives_every_stage_with_evidence() -> None:
    r = engine.analyze_text("@AmericanAir my flight got cancelled and you lost my bag. Terrible!")
    assert r.sentiment == "negative" and r.sentiment_score < -0.3
    assert r.intent == "complaint"
    assert r.language == "en"
    assert 0.3 < r.urgency <= 1
    assert r.evidence["sentiment"] and r.evidence["urgency"]
    assert any("cancelled" in e for e in r.evidence["urgency"])
    contract = r.contract()
    assert set(contract) == {
        "sentiment",
        "sentiment_score",
        "intent",
        "urgency",
        "language",
        "topics",
        "evidence",
    }


@pytest.mark.parametrize(
    ("text", "sentiment", "intent"),
    [
        ("@Delta thank you so much, the crew was amazing!", "positive", "praise"),
        ("@AppleSupport how do I turn off the lock screen suggestions?", None, "question"),
        ("@SpotifyCares please DM me, I need a refund for a double charge", None, "request"),
    ],
)
def test_clear_messages_get_the_obvious_labels(
    text: str, sentiment: str | None, intent: str
) -> None:
    r = engine.analyze_text(text)
    if sentiment:
        assert r.sentiment == sentiment
    assert r.intent == intent


def test_empty_and_emoji_only_texts_are_analysed_without_guessing_words() -> None:
    empty, emoji = engine.analyze_texts(["", "😡😡😡"])
    assert (empty.sentiment, empty.intent, empty.sentiment_score) == ("neutral", "chatter", 0.0)
    assert empty.language == "und" and "empty text" in " ".join(empty.evidence["notes"])
    assert emoji.language == "und"
    assert "no words" in " ".join(emoji.evidence["notes"])
    assert emoji.sentiment == "negative"  # the lexicon knows 😡


@pytest.mark.parametrize(
    ("text", "label", "words"),
    [
        (
            "Thanks, see it now. Real shame about how poor the new App is though.",
            "negative",
            {"shame", "poor"},
        ),
        ("my flight got cancelled and I was charged twice, refund me now!", "negative", None),
        ("I love the new update, great job @AppleSupport", "positive", {"love", "great"}),
    ],
)
def test_sentiment_evidence_names_the_words_that_drove_the_label(
    text: str, label: str, words: set[str] | None
) -> None:
    r = engine.analyze_text(text)
    assert r.sentiment == label
    evidence = r.evidence["sentiment"]
    # Lexicon cues are traced back to the message's own words, never left as a
    # feature name, and weak function words do not crowd them out.
    assert not any("lexicon" in e for e in evidence)
    tokens = set(prepare(text).tokens)
    for item in evidence:
        assert set(item.split()) <= tokens, (item, tokens)
    if words is not None:
        assert words <= set(evidence), evidence
    assert "how" not in evidence and "now" not in evidence


def test_negated_lexicon_words_are_marked_in_the_evidence() -> None:
    r = engine.analyze_text("this is not good at all")
    assert r.sentiment == "negative"
    assert "good (negated)" in r.evidence["sentiment"]


def test_evidence_words_come_from_the_message_they_explain() -> None:
    texts = [
        "@AmazonHelp worst service ever, my package is lost again",
        "@Delta thank you so much, the crew was amazing!",
        "Is the store open today?",
    ]
    for text, r in zip(texts, engine.analyze_texts(texts), strict=True):
        tokens = set(prepare(text).tokens)
        for stage in ("sentiment", "intent"):
            for item in r.evidence[stage]:
                words = item.removesuffix(" (negated)").split()
                assert set(words) <= tokens or item in {
                    "opens like a question",
                    "message length",
                }, (stage, item, text)
