"""A persona's pure parts: the sentences it states, how it is kept in a memory's metadata, its versions."""

import pytest

from pipeline.errors import Invalid
from pipeline.persona import (
    Persona, check_persona_id, from_metadata, memory_id, next_version, render, statements, to_metadata,
)

NOVA = Persona("nova", "Nova", "editor", ("patient", "curious"), ("short answers",), "formal", agent="alice")


def test_a_persona_states_its_role_traits_preferences_and_style_as_sentences():
    assert statements(NOVA) == ["Nova works as an editor.", "Nova is patient.", "Nova is curious.",
                                "Nova prefers short answers.", "Nova prefers a formal style."]
    assert render(Persona("x", "Ada  Lovelace", "the  lead.")) == "Ada Lovelace works as the lead."
    assert statements(Persona("x", "Ada")) == ["Ada is a persona."]  # never an empty memory


def test_the_record_survives_a_round_trip_through_metadata():
    stored = next_version(None, NOVA, 1_000)
    assert from_metadata(to_metadata(stored)) == stored
    assert from_metadata({"persona": {"id": "bad id", "name": "x"}}) is None
    assert from_metadata({"note": "a client's own persona memory"}) is None


def test_a_new_version_keeps_the_old_one_in_its_history():
    v1 = next_version(None, NOVA, 1_000)
    v2 = next_version(v1, Persona("nova", "Nova", "writer", agent="alice"), 2_000)
    assert (v1.version, v2.version, v2.updated_at) == (1, 2, 2_000)
    assert [h["role"] for h in v2.history] == ["editor"] and v2.history[0]["version"] == 1
    assert memory_id("nova", v2.version) == "persona.nova.v2"
    assert v1.same_statements(Persona("nova", "Nova", "editor", ("patient", "curious"), ("short answers",),
                                      "formal", active=False))
    assert not v1.same_statements(v2)


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "-lead", "a.b", "../x"])
def test_a_persona_id_is_refused_unless_plain(bad):
    with pytest.raises(Invalid):
        check_persona_id(bad)
