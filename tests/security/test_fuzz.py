"""Property-based fuzzing with hostile alphabets: any input gives a result or a located
finding, never a traceback. tests/test_datatypes.py and tests/expressions/test_parser.py fuzz
with arbitrary text; these strategies aim at the edges random text rarely reaches (huge
numbers, deep nesting, grammar tokens, mutated ODM)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odm_engine.datatypes import DATA_TYPES, DataTypeProblem, Parsed, parse_value
from odm_engine.exchange import read_clinical_data
from odm_engine.expressions import SyntaxProblem, parse
from odm_engine.findings import Finding
from tests.exchange.helpers import vs_study
from tests.exchange.test_import_export import SUBJECTS

FUZZ = settings(
    max_examples=int(__import__("os").environ.get("EDC_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

LEXICAL = st.text(alphabet="0123456789+-.:eE TZPYMDHSWR/xX_,;\t\n\u00a0\u0660", max_size=40)
HUGE = st.builds(
    lambda sign, digits, tail: f"{sign}{'9' * digits}{tail}",
    st.sampled_from(["", "-", "+"]),
    st.integers(1, 6000),
    st.sampled_from(["", ".5", "e999999999", "E-999999999", "-12-31", "Y", "T00:00"]),
)


@FUZZ
@given(
    data_type=st.sampled_from(sorted(DATA_TYPES)),
    text=st.one_of(LEXICAL, HUGE, st.text(max_size=20)),
    length=st.none() | st.integers(-1, 10_000),
    digits=st.none() | st.integers(-1, 100),
)
def test_parse_value_with_hostile_lexical_forms(
    data_type: str, text: str, length: int | None, digits: int | None
) -> None:
    result = parse_value(data_type, text, length=length, significant_digits=digits)
    assert isinstance(result, Parsed | DataTypeProblem)
    if isinstance(result, DataTypeProblem):
        assert result.message


TOKENS = st.sampled_from(
    [
        "(", ")", "[", "]", "/", "'", '"', "\\", ",", " ", "=", "!=", "<", ">=", "and", "or",
        "not", "+", "-", "*", "/", "%", "1", "1.5", "1e9", "'2024-01-01'", "today()",
        "IT.AGE", "SE.1/F.1/IT.A", "$", "@", "if", "then", "else", "null", "is", "in",
        "{{", "}}", "__import__('os')", "eval(", "\x00", "\u202e",
    ]
)  # fmt: skip
EXPRESSIONS = st.one_of(
    st.lists(TOKENS, max_size=30).map("".join),
    st.integers(1, 3000).map(lambda n: "(" * n + "1" + ")" * n),
    st.integers(1, 3000).map(lambda n: "not " * n + "true"),
    st.integers(1, 2000).map(lambda n: "1" + " + 1" * n),
)


@FUZZ
@given(EXPRESSIONS)
def test_expression_parser_with_grammar_tokens_and_deep_nesting(text: str) -> None:
    result = parse(text)
    if isinstance(result, SyntaxProblem):
        assert result.line >= 1 and result.column >= 1


VALID = vs_study(
    '<ClinicalData StudyOID="S.1" MetaDataVersionOID="MDV.1">'
    + SUBJECTS.replace("{sex}", "M")
    + "</ClinicalData>"
)
FRAGMENTS = [
    b"<", b">", b"&", b"&amp;", b'"', b"<!--", b"-->", b"<![CDATA[", b"]]>", b"\x00", b"\xff",
    b"<SubjectData SubjectKey='x'>", b"</SubjectData>", b"<ItemData ItemOID='IT.X' Value='1'/>",
    b"<!DOCTYPE x>", b"<?xml version='1.0'?>", b"TransactionType='Remove' ",
    b"xmlns='urn:other' ", b"ItemGroupRepeatKey='' ", b'IsNull="Yes" ', b"\xef\xbb\xbf",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "flip", "truncate"]))
        if kind == "insert":
            data[at:at] = draw(st.sampled_from(FRAGMENTS) | st.binary(max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at:]
    return bytes(data)


@FUZZ
@given(mutated())
def test_import_reader_on_mutated_odm(data: bytes) -> None:
    reader = read_clinical_data(data, path="fuzz.xml")
    records = list(reader)
    assert all(isinstance(f, Finding) for f in reader.findings)
    for f in reader.findings:
        assert f.message and f.code
    assert len(records) == reader.subjects
    reader.metadata()  # the file's own Study, loaded after the stream: no exception either
