"""Terraform type constraints are read from variable declarations, and values are checked
against them by Terraform's conversion rules."""

import pytest

from harness.patterns.terraform_types import ANY, TerraformType, conform, parse_type

OBJECT = (
    '${object({host = string, port = optional(number, 5432), password = optional(string, ""), '
    "tags = optional(map(string), {a = [1, 2]})})}"
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("string", "string"),
        ("number", "number"),
        ("bool", "bool"),
        ("${list(string)}", "list(string)"),
        ("${set(number)}", "set(number)"),
        ("${map(list(bool))}", "map(list(bool))"),
        ("${tuple([string, number])}", "tuple([string, number])"),
        (
            OBJECT,
            "object({host = string, port = optional(number), password = optional(string), "
            "tags = optional(map(string))})",
        ),
        ("${any}", "any"),
    ],
)
def test_type_constraints_are_read_as_declared(text: str, shown: str) -> None:
    assert str(parse_type(text)) == shown


def test_no_type_is_any() -> None:
    assert parse_type(None) == ANY


@pytest.mark.parametrize("text", ["${list(string}", "${strung}", "${map(string) extra}"])
def test_a_malformed_constraint_is_an_error(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_type(text)
    assert repr(text[2:-1]) in str(error.value)  # names the constraint it could not read


NUMBER, STRING, BOOL = TerraformType("number"), TerraformType("string"), TerraformType("bool")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (60, NUMBER),
        (0.5, NUMBER),
        ("60", NUMBER),
        ("1e3", NUMBER),
        ("x", STRING),
        (3, STRING),
        (True, STRING),
        (True, BOOL),
        ("false", BOOL),
        (None, NUMBER),
        ({"a": 1}, ANY),
    ],
)
def test_values_terraform_converts_are_accepted(value: object, expected: TerraformType) -> None:
    assert conform(value, expected, "v") is None


@pytest.mark.parametrize(
    ("value", "expected", "problem"),
    [
        ("abc", NUMBER, "v: expected number, got 'abc'"),
        (True, NUMBER, "v: expected number, got True"),
        ("yes", BOOL, "v: expected bool, got 'yes'"),
        ([1], STRING, "v: expected string, got [1]"),
        (["a", "b"], parse_type("${list(number)}"), "v[0]: expected number, got 'a'"),
        ("a", parse_type("${list(string)}"), "v: expected list(string), got 'a'"),
        ({"a": "x"}, parse_type("${map(number)}"), "v.a: expected number, got 'x'"),
        ([1], parse_type("${tuple([number, string])}"), "v: expected 2 elements, got 1"),
        ({"port": 1}, parse_type(OBJECT), "v: attribute 'host' is required"),
        ({"host": "h", "port": "x"}, parse_type(OBJECT), "v.port: expected number, got 'x'"),
        (
            {"host": "h", "colour": 1},
            parse_type(OBJECT),
            "v: unknown attribute 'colour' (known: host, port, password, tags)",
        ),
    ],
)
def test_values_terraform_refuses_are_named(
    value: object, expected: TerraformType, problem: str
) -> None:
    assert conform(value, expected, "v") == problem
