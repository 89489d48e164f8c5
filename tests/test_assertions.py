from __future__ import annotations

import pytest

from llmaudit.assertions import evaluate, validate_asserts


@pytest.mark.parametrize(
    ("spec", "output", "passed"),
    [
        ({"type": "equals", "value": "Paris"}, " Paris\n", True),
        ({"type": "equals", "value": "Paris"}, "paris", False),
        ({"type": "equals", "value": 42}, "42", True),
        ({"type": "contains", "value": "Paris"}, "It is Paris.", True),
        ({"type": "icontains", "value": "paris"}, "It is PARIS.", True),
        ({"type": "not-contains", "value": "London"}, "It is Paris.", True),
        ({"type": "not-contains", "value": "Paris"}, "It is Paris.", False),
        ({"type": "contains-any", "value": ["Rome", "Paris"]}, "Paris", True),
        ({"type": "contains-all", "value": ["Rome", "Paris"]}, "Paris", False),
        ({"type": "starts-with", "value": "Yes"}, "  Yes, it is", True),
        ({"type": "regex", "value": r"^\d+$"}, "123", True),
        ({"type": "regex", "value": r"^\d+$"}, "12a", False),
        ({"type": "is-json"}, '{"a": 1}', True),
        ({"type": "is-json"}, '```json\n{"a": 1}\n```', True),
        ({"type": "is-json"}, "{a: 1}", False),
        ({"type": "json-schema", "value": {"type": "object", "required": ["a"]}}, '{"a": 1}', True),
        ({"type": "json-schema", "value": {"type": "object", "required": ["b"]}}, '{"a": 1}', False),
        ({"type": "contains-json"}, 'Here: {"a": [1, 2]} done', True),
        ({"type": "contains-json"}, "no json here", False),
        ({"type": "number", "value": 3.14, "tolerance": 0.01}, "pi is about 3.141", True),
        ({"type": "number", "value": 1200}, "It costs 1,200 dollars", True),
        ({"type": "number", "value": 10, "tolerance": 1}, "12", False),
        ({"type": "number", "value": 10}, "ten", False),
        ({"type": "length", "min": 2, "max": 5}, "abc", True),
        ({"type": "length", "max": 2}, "abc", False),
    ],
)
def test_each_check(spec, output, passed):
    result = evaluate([spec], output)
    assert result is not None
    assert result.passed is passed, result.reason


def test_no_check_is_unknown_not_passed():
    assert evaluate(None, "anything") is None
    assert evaluate([], "anything") is None


def test_expected_alone_means_equals():
    result = evaluate(None, " 4 ", expected="4")
    assert result is not None and result.passed


def test_all_checks_must_pass_and_reasons_are_given():
    result = evaluate([{"type": "contains", "value": "a"}, {"type": "contains", "value": "zz"}], "abc")
    assert result is not None and not result.passed
    assert "zz" in result.reason


def test_validate_asserts():
    assert validate_asserts([{"type": "contains", "value": "x"}]) is None
    assert "unknown type" in validate_asserts([{"type": "llm-rubric-x"}])
    assert "invalid regex" in validate_asserts([{"type": "regex", "value": "("}])
    assert validate_asserts({"type": "contains"}) is not None
