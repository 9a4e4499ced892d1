"""The rules that decide whether an answer helped (pure, lexical fallback)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapport.analysis.queries import MessageAnalysis
from rapport.network.resolution import (
    ThreadMessage,
    asks_about_addressee,
    is_only_questions,
    judge_answer,
    not_an_answer,
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


def test_a_reply_without_substance_is_no_answer() -> None:
    """Replies of the TWCS demo: pleasantries, questions back and hand-offs
    to DMs carry no knowledge; a suggestion put as a question does."""
    no = [
        "@115712 We're always here to help, and only a DM away! Just let us know what you "
        "need and we'll assist",
        "@115762 Can you please give me your gamertag / platform you're playing on so I can "
        "pull up your account information.",
        "@115749 Oh no! That's never good Wendy. Did you pick up your receipt? When did you "
        "visit? Robbie",
        "@115886 I am really sorry to hear that and I hope you will allow us to provide you "
        "better service in the future.",
        "@115900 Hello. Just checking in to see if you are still experiencing DVR issues.",
        "@115828 Hey there, is that our latest Stable version 72.2? Can you tell us what mobile "
        "device you're using, and what version of Android you're on? Thanks in advance!",
        "@115911 Hey! We would need to see what offers are available to you. Send us a DM so we "
        "can further assist you.",
    ]
    for text in no:
        assert not_an_answer(text) is not None, text
    assert "hand-off" in (not_an_answer(no[0]) or "")
    yes = [
        "@115921 Yes it does. You need to select the return journey then in the ticket "
        "flexibility menu you can select open return ^CB",
        "@115883 I sincerely apologize, our IT team is diligently working on it, we should "
        "have it up and working very soon.",
        "@115768 Have you tried signing out/back in or reinstalling the CC desktop app? "
        "https://t.co/Ne2f7tDTzY",
        "@115839 I'm sorry your book arrived this way! You can find replacement/refund options "
        "here: https://t.co/zRrkpWmeUP",
    ]
    for text in yes:
        assert not_an_answer(text) is None, (text, not_an_answer(text))


def test_peer_replies_that_help_nobody() -> None:
    """Between customers: answering a question about oneself, a "me too" and
    a complaint are no help; a pointer to where to preorder is."""
    about_them = not_an_answer(
        "@115722 I've reached out to anyone who would talk to me. #pathetic #gfy",
        question="@116750 Have you reached out to Financial Service? ^NHP",
        peer=True,
    )
    assert about_them == "it answers a question about the replier themself"
    assert asks_about_addressee("@115794 @115796 What have you seen?")
    assert not asks_about_addressee("@VirginTrains does the new app have an open return?")
    me_too = not_an_answer(
        "@116888 @SpotifyCares Same exact issue. Sound won't play more than 50% although i "
        "have it on full",
        question="@SpotifyCares The buttons on my headphones don't pause my music anymore. "
        "Is this a Spotify or an iOS 11 issue?",
        peer=True,
    )
    assert me_too == "a 'me too', not an answer"
    grumble = MessageAnalysis(9, "negative", -0.7, "complaint", 0.4, "en")
    complaint = not_an_answer(
        "@116453 Miles/points. But useless if the airline isn't actually helpful and on time!",
        question="@116452 Wait, y'all actually stick to one airline? I just go with whatever",
        peer=True,
        analysis=grumble,
    )
    assert complaint is not None and complaint.startswith("the reply is itself a complaint")
    upset = MessageAnalysis(9, "negative", -0.4, "chatter", 0.2, "en")
    venting = not_an_answer(
        "@115845 They sent the feckin' order to Germany! Some dozy driver is looking for an "
        "address in the wrong country! I'm so done with Amazon!",
        question="@115844 WHAT IN THE WORLD?!",
        peer=True,
        analysis=upset,
    )
    assert venting is not None and venting.startswith("the reply vents")
    assert not_an_answer("@117078 @116584 Hi! Stand by please. Checking it out .. thanks!")
    helped = not_an_answer(
        "@115910 No sir! You can still preorder at https://t.co/E7pnnCVItW *JoanO",
        question="@115911 Are pre orders done for the X?",
        peer=True,
    )
    assert helped is None


def test_a_question_the_intent_model_calls_chatter_still_counts() -> None:
    chatter = MessageAnalysis(1, "neutral", 0.14, "chatter", 0.3, "en")
    cue = question_cue("@ATVIAssist can you still pre oder ww2 on the playstation store", chatter)
    assert cue is not None and cue.method == "lexical"
    assert question_cue("@ChipotleTweets Guac on! Great experience.", chatter) is None
