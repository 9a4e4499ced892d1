"""The rules that decide whether an answer helped (pure, lexical fallback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.analysis.queries import MessageAnalysis
from rapport.network.resolution import (
    ThreadMessage,
    is_only_questions,
    judge_answer,
    question_cue,
    thanks_cue,
)

T0 = datetime(2017, 10, 31, 12, 0, tzinfo=UTC)


def _m(i: int, author: int, text: str, minutes: int) -> ThreadMessage:
    return ThreadMessage(i, author, False, text, T0 + timedelta(minutes=minutes))


# Texts below are tweets of the TWCS demo.
def test_lexical_question_and_thanks_cues() -> None:
    assert question_cue("@AskPlayStation So, what's the november ps plus free game?")
    assert question_cue("@VirginTrains hi! i need some help with a booking")  # help cue
    assert (
        question_cue("@ChipotleTweets Guac on! I'm happy it was such a great experience.") is None
    )
    assert thanks_cue("@115911 Got it. I resized it and it worked. Thanks.")
    assert thanks_cue("@AmazonHelp this is useless, thanks for nothing") is None  # complaint wins
    assert is_only_questions("@115794 @115796 What have you seen?")
    assert not is_only_questions("@Delta Yes it does. You need to select the return journey.")


def test_judge_thanked_complained_followed_up_and_quiet() -> None:
    q = _m(1, 10, "@AdobeCare Did u release an update today for Lightroom Classic CC?", 0)
    a = _m(2, 20, "@10 Lightroom 7.0.1 update was launched recently, please update the app.", 5)
    thanks = _m(3, 10, "@AdobeCare thanks, that worked", 9)
    moan = _m(3, 10, "@AdobeCare nope still down.", 9)
    again = _m(3, 10, "@AdobeCare so..when are they available?", 9)
    assert judge_answer([q, a, thanks], q, a, {}).outcome == "thanked"
    verdict = judge_answer([q, a, moan], q, a, {})
    assert (verdict.resolved, verdict.outcome) == (False, "complained")
    assert judge_answer([q, a, again], q, a, {}).outcome == "followed_up"
    quiet = judge_answer([q, a], q, a, {})
    assert (quiet.resolved, quiet.outcome, quiet.method) == (True, "no_complaint", "thread")


def test_judge_uses_stored_analysis_when_present() -> None:
    q = _m(1, 10, "@AdobeCare my app froze after updating", 0)
    a = _m(2, 20, "@10 Have you tried signing out and back in to the desktop app?", 5)
    later = _m(3, 10, "@AdobeCare ok it is running now", 9)
    analyses = {
        1: MessageAnalysis(1, "negative", -0.6, "complaint", 0.5, "en"),
        3: MessageAnalysis(3, "positive", 0.5, "feedback", 0.1, "en"),
    }
    verdict = judge_answer([q, a, later], q, a, analyses)
    assert (verdict.outcome, verdict.method) == ("turned_positive", "analysis")
    assert "-0.60 → +0.50" in verdict.evidence


def test_opening_thanks_counts_even_when_the_rest_grumbles() -> None:
    """TWCS 1184 thanks Virgin Trains' answer, then moans about the app; the
    whole message reads negative, but the answer helped. TWCS 4091 only
    "appreciates the effort" inside a complaint: not thanks."""
    grumble = MessageAnalysis(3, "negative", -0.53, "complaint", 0.3, "en")
    thanked = thanks_cue(
        "@VirginTrains Thanks, see it now. Real shame about how poor the new App is though.",
        grumble,
    )
    assert thanked is not None and thanked.method == "lexical"
    assert "opens with thanks 'Thanks'" in thanked.evidence and "-0.53" in thanked.evidence
    effort = (
        "@115911 Don't get me wrong I appreciate the effort but the app is getting too hard "
        "to use for what uselessness I get out of it"
    )
    assert thanks_cue(effort, grumble) is None
    assert thanks_cue("@AmazonHelp Thanks for nothing. Still broken.", grumble) is None
