"""``-o policyreport`` is written by libyaml's emitter: the same text as PyYAML's own emitter
for report-shaped documents (fixed keys, any string values), so the output did not change."""

from __future__ import annotations

import io

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kaico.cli import main
from kaico.cli.render import evaluation

_keys = st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9_./-]{0,30}\Z")
_text = st.text(max_size=80) | st.sampled_from([
    "", " ", "a: b", "- x", "yes", "null", "~", "1e3", "0x1f", "#x", "a\nb", "a\n", " lead",
    "trail ", "\t", "'q'", '"dq"', "é", "\u2028", "\x85", "\ufeff", "a" * 1200, "x " * 600,
])
_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)


def test_libyaml_is_the_emitter_when_pyyaml_has_it():
    assert evaluation.DUMPER is getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(st.dictionaries(_keys, _values, min_size=1, max_size=5), min_size=1, max_size=3))
def test_report_shaped_documents_are_written_as_pyyaml_writes_them(documents):
    """One at a time with libyaml, as ``write_policyreport`` does, against PyYAML's whole."""
    one_by_one = "".join(("---\n" if number else "")
                         + yaml.dump(document, Dumper=evaluation.DUMPER, sort_keys=False, width=1000)
                         for number, document in enumerate(documents))
    assert one_by_one == yaml.safe_dump_all(documents, sort_keys=False, width=1000)


def test_the_samples_policyreports_are_pyyamls_text(shared_dir):
    out = io.StringIO()
    main(["check", "-f", str(shared_dir / "samples"), "-o", "policyreport"], stdout=out)
    documents = list(yaml.safe_load_all(out.getvalue()))
    assert len(documents) > 10
    assert out.getvalue() == yaml.safe_dump_all(documents, sort_keys=False, width=1000)
