"""Reading answers and grading them. None of these tests needs inspect_ai."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from assay.evals.suites.vuln_detect.scoring import (
    ACCEPTED_CWES,
    LINE_TOLERANCE,
    Answer,
    format_answer,
    grade,
    normalize_cwe,
    parse_answer,
    summarize,
)

CHECK = settings(max_examples=100, deadline=None)

# Reasoning text that cannot itself hold an answer line.
prose = st.text(alphabet=st.characters(codec="utf-8"), max_size=300).filter(
    lambda t: "answer" not in t.lower()
)
keyword = st.sampled_from(["ANSWER", "Answer", "answer", "**ANSWER**", "Final answer", "ANSWER"])
colon = st.sampled_from([":", " :", ": ", ":  ", "=", "**:**"])
cwe_spelling = st.sampled_from(["CWE-{}", "cwe-{}", "CWE {}", "CWE_{}", "CWE{}", "`CWE-{}`"])
line_spelling = st.sampled_from(
    ["line {}", "Line {}", "line: {}", "line #{}", "line no. {}", "LINE {}", "L{}", "lines {}-9"]
)
joiner = st.sampled_from([" ", ", ", " at ", " on ", " (SQL injection) at "])
none_spelling = st.sampled_from(
    ["none", "None", "NONE", "none.", "No vulnerability", "not vulnerable", "**none**", "n/a"]
)


@CHECK
@given(
    before=prose,
    key=keyword,
    sep=colon,
    cwe=st.integers(1, 1999),
    line=st.integers(1, 99999),
    cwe_form=cwe_spelling,
    line_form=line_spelling,
    join=joiner,
    trailer=st.sampled_from(["", ".", " ", "  (high confidence)"]),
)
def test_a_flagged_answer_is_read_however_it_is_spelled(
    before: str,
    key: str,
    sep: str,
    cwe: int,
    line: int,
    cwe_form: str,
    line_form: str,
    join: str,
    trailer: str,
) -> None:
    reply = f"{before}\n{key}{sep}{cwe_form.format(cwe)}{join}{line_form.format(line)}{trailer}"
    answer = parse_answer(reply)
    assert (answer.verdict, answer.cwe, answer.line) == ("vulnerable", f"CWE-{cwe}", line)
    assert answer.flagged


@CHECK
@given(before=prose, key=keyword, sep=colon, body=none_spelling, after=st.sampled_from(["", " "]))
def test_a_clean_verdict_is_read_however_it_is_spelled(
    before: str, key: str, sep: str, body: str, after: str
) -> None:
    answer = parse_answer(f"{before}\n{key}{sep}{body}{after}")
    assert answer.verdict == "none"
    assert (answer.cwe, answer.line, answer.flagged) == (None, None, False)


@CHECK
@given(
    cwe=st.one_of(st.none(), st.integers(1, 1999).map(lambda i: f"CWE-{i}")),
    line=st.one_of(st.none(), st.integers(1, 5000)),
)
def test_the_canonical_form_reads_back(cwe: str | None, line: int | None) -> None:
    answer = parse_answer(format_answer(cwe, line))
    assert (answer.cwe, answer.line) == (cwe, line)
    assert answer.verdict == ("none" if cwe is None and line is None else "vulnerable")


@CHECK
@given(
    first=st.integers(1, 999),
    last=st.integers(1, 999),
    middle=prose,
)
def test_the_last_answer_line_wins(first: int, last: int, middle: str) -> None:
    reply = f"ANSWER: CWE-{first} line 1\n{middle}\nANSWER: CWE-{last} line 2"
    assert parse_answer(reply).cwe == f"CWE-{last}"
    assert parse_answer(f"ANSWER: CWE-{first} line 3\n{middle}\nANSWER: none").verdict == "none"


@CHECK
@given(reply=st.text(max_size=500))
def test_any_reply_parses_to_a_consistent_answer(reply: str) -> None:
    answer = parse_answer(reply)
    if answer.verdict == "vulnerable":
        assert answer.cwe is not None or answer.line is not None
    else:
        assert (answer.cwe, answer.line) == (None, None)
    if answer.cwe is not None:
        assert answer.cwe == normalize_cwe(answer.cwe)
        assert answer.cwe.startswith("CWE-") and answer.cwe[4:].isdigit()


@CHECK
@given(reply=prose)
def test_a_reply_without_an_answer_line_is_unparsed(reply: str) -> None:
    assume("answer" not in reply.lower())
    assert parse_answer(reply) == Answer("unparsed")


@pytest.mark.parametrize(
    ("reply", "verdict", "cwe", "line"),
    [
        ("Looks like SQLi.\nANSWER: CWE-89 line 12", "vulnerable", "CWE-89", 12),
        ("ANSWER: CWE-0787 at line no. 33", "vulnerable", "CWE-787", 33),
        ("answer: cwe 416", "vulnerable", "CWE-416", None),
        ("ANSWER: line 7", "vulnerable", None, 7),
        ("ANSWER: no vulnerability (the CWE-89 risk is handled)", "none", None, None),
        ("ANSWER: safe", "none", None, None),
        ("ANSWER: I am not sure", "unparsed", None, None),
        ("The answer is CWE-89 on line 4", "unparsed", None, None),
        ("", "unparsed", None, None),
    ],
)
def test_examples(reply: str, verdict: str, cwe: str | None, line: int | None) -> None:
    answer = parse_answer(reply)
    assert (answer.verdict, answer.cwe, answer.line) == (verdict, cwe, line)


def test_children_of_a_planted_class_count_and_parents_do_not() -> None:
    def cwe_ok(planted: str, given: str) -> bool:
        return grade(Answer("vulnerable", given, 5), cwe=planted, line=5).cwe_correct

    assert cwe_ok("CWE-787", "CWE-121")
    assert cwe_ok("CWE-22", "CWE-23")
    assert cwe_ok("CWE-798", "CWE-259")
    assert not cwe_ok("CWE-787", "CWE-119")
    assert not cwe_ok("CWE-78", "CWE-77")
    assert not cwe_ok("CWE-89", "CWE-20")
    assert all(planted in accepted for planted, accepted in ACCEPTED_CWES.items())


@pytest.mark.parametrize(
    ("given_line", "correct"),
    [(20, True), (19, True), (21, True), (18, False), (22, False), (None, False)],
)
def test_the_line_is_right_within_one(given_line: int | None, correct: bool) -> None:
    assert LINE_TOLERANCE == 1
    result = grade(Answer("vulnerable", "CWE-20", given_line), cwe="CWE-89", line=20)
    assert result.line_correct is correct
    assert not result.cwe_correct  # graded apart from the line


def test_grades_of_a_vulnerable_sample() -> None:
    right = grade(parse_answer("ANSWER: CWE-89 line 4"), cwe="CWE-89", line=4)
    assert right.as_value() == {
        "vulnerable": 1,
        "parsed": 1,
        "flagged": 1,
        "cwe_correct": 1,
        "line_correct": 1,
        "false_positive": 0,
    }
    missed = grade(parse_answer("ANSWER: none"), cwe="CWE-89", line=4)
    assert (missed.flagged, missed.cwe_correct, missed.false_positive) == (False, False, False)


def test_grades_of_a_twin() -> None:
    flagged = grade(parse_answer("ANSWER: CWE-89 line 4"), cwe=None, line=None)
    assert flagged.false_positive and not flagged.cwe_correct and not flagged.line_correct
    clean = grade(parse_answer("ANSWER: none"), cwe=None, line=None)
    assert not clean.false_positive and clean.parsed
    unparsed = grade(parse_answer("no idea"), cwe=None, line=None)
    assert not unparsed.false_positive and not unparsed.parsed


def test_summary_rates() -> None:
    values = [
        grade(parse_answer(reply), cwe=cwe, line=line).as_value()
        for reply, cwe, line in [
            ("ANSWER: CWE-89 line 4", "CWE-89", 4),  # both right
            ("ANSWER: CWE-78 line 5", "CWE-89", 4),  # line right
            ("ANSWER: none", "CWE-416", 9),  # missed
            ("ANSWER: CWE-22 line 3", None, None),  # false positive
            ("ANSWER: none", None, None),
            ("nothing to say", None, None),  # unparsed
        ]
    ]
    summary = summarize(values)
    assert (summary.samples, summary.vulnerable, summary.twins) == (6, 3, 3)
    assert summary.cwe_accuracy == pytest.approx(1 / 3)
    assert summary.line_accuracy == pytest.approx(2 / 3)
    assert summary.detection_rate == pytest.approx(2 / 3)
    assert summary.false_positive_rate == pytest.approx(1 / 3)
    assert summary.unparsed_rate == pytest.approx(1 / 6)


def test_a_rate_over_no_sample_is_nan_and_fractions_average() -> None:
    only_vulnerable = summarize(
        [
            {
                "vulnerable": 1,
                "parsed": 1,
                "flagged": 1,
                "cwe_correct": 1,
                "line_correct": 0.5,
                "false_positive": 0,
            }
        ]
    )
    assert math.isnan(only_vulnerable.false_positive_rate)
    assert only_vulnerable.line_accuracy == 0.5
    assert math.isnan(summarize([]).cwe_accuracy)


@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=2, max_size=60))
def test_standard_errors_match_the_binomial_formula(flags: list[float]) -> None:
    from assay.evals.suites.vuln_detect.scoring import standard_errors

    rows = [
        {"vulnerable": 1.0, "cwe_correct": f, "line_correct": f, "flagged": f,
         "false_positive": 0.0, "parsed": 1.0}
        for f in flags
    ]  # fmt: skip
    n, p = len(flags), sum(flags) / len(flags)
    expected = math.sqrt(p * (1 - p) * n / (n - 1) / n)
    assert math.isclose(standard_errors(rows)["cwe_accuracy"], expected, abs_tol=1e-12)
    # No twins: their rate has no standard error.
    assert math.isnan(standard_errors(rows)["false_positive_rate"])
