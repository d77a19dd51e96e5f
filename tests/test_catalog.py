"""Checks between skill files: ids, invocation names and examples belong to one skill."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_skill_loader import MINIMAL

from voice_runtime.cli.common import load_skills
from voice_runtime.project import Project
from voice_runtime.skills.catalog import load_catalog


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, "utf-8")
    return path


def test_duplicate_id_and_shared_invocation_names(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MINIMAL)
    other = (
        MINIMAL.replace("tea time]", "TEA-TIME!]")
        .replace("下午茶时间]", "下午茶 时间]")
        .replace("how do I brew", "how should I steep")
        .replace("brewing", "steeping")
        .replace("怎么泡", "如何冲泡")
    )
    write(tmp_path, "b.yaml", other)
    catalog = load_catalog([tmp_path])
    found = [str(d) for d in catalog.diagnostics]
    assert any(
        f.startswith(
            f"{tmp_path}/b.yaml:2:5: error: skill id 'tea_time' is also used "
            f"by tea_time in {tmp_path}/a.yaml"
        )
        for f in found
    ), found
    # compared normalised: case, punctuation, spaces in Chinese
    assert any("invocation name 'TEA-TIME!' is also used by tea_time" in f for f in found)
    assert any("invocation name '下午茶 时间' is also used by tea_time" in f for f in found)
    assert [s.id for s in catalog.skills] == ["tea_time"]
    assert list(catalog.skipped) == [f"{tmp_path}/b.yaml"]


def test_full_width_invocation_collides(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", MINIMAL)
    other = (
        MINIMAL.replace("id: tea_time", "id: tea_two")
        .replace("tea time]", "ＴＥＡ ＴＩＭＥ]")
        .replace("下午茶时间]", "喝茶]")
        .replace("how do I brew", "how should I steep")
        .replace("brewing", "steeping")
        .replace("怎么泡", "如何冲泡")
    )
    write(tmp_path, "b.yaml", other)
    found = [str(d) for d in load_catalog([tmp_path]).diagnostics]
    assert len(found) == 1
    assert "invocation name 'ＴＥＡ ＴＩＭＥ' is also used by tea_time" in found[0]


def test_same_example_in_two_intents(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """\
  taste:
    examples:
      en: [what does it taste like, "how do I brew [green tea](tea)"]
      zh: [味道怎么样, 好喝吗]
    response: {en: It tastes fresh., zh: 很清香。}
"""
    )
    write(tmp_path, "a.yaml", text)
    catalog = load_catalog([tmp_path])
    found = [str(d) for d in catalog.diagnostics]
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path}/a.yaml:23:37: error: ")
    assert (
        "example 'how do I brew green tea' (intent 'taste') is also used by tea_time.brew"
        in found[0]
    )


def test_a_broken_skill_does_not_stop_the_others(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", MINIMAL)
    write(tmp_path, "bad.yaml", "version: 1\nid: broken\n")
    catalog = load_catalog([tmp_path])
    assert [s.id for s in catalog.skills] == ["tea_time"]
    reason = catalog.skipped[f"{tmp_path}/bad.yaml"]
    assert reason.startswith("3 error(s), first: ") or "missing the required field" in reason


def test_shipped_skills() -> None:
    catalog = load_catalog([Path(__file__).parent.parent / "skills"])
    assert not catalog.diagnostics
    assert len(catalog.skills) >= 6
    for skill in catalog.skills:
        assert set(skill.languages) == {"en", "zh"}, skill.id


def test_example_that_repeats_a_builtin_sentence(tmp_path: Path) -> None:
    reserved = {("en", "help me"): ("built-in intent 'help'", "nlu_data/en.yaml")}
    write(tmp_path, "a.yaml", MINIMAL.replace("brewing [black tea](tea)", "help me"))
    found = [str(d) for d in load_catalog([tmp_path], reserved).diagnostics]
    assert len(found) == 1
    assert (
        "example 'help me' (intent 'brew') is also used by built-in intent 'help' in "
        "nlu_data/en.yaml" in found[0]
    )


def test_runtime_says_which_skill_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "skills").mkdir()
    write(tmp_path / "skills", "good.yaml", MINIMAL)
    write(tmp_path / "skills", "bad.yaml", MINIMAL.replace("id: tea_time", "id: 7up"))
    catalog = load_skills(Project(tmp_path))
    assert [s.id for s in catalog.skills] == ["tea_time"]
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"skipped skill {tmp_path}/skills/bad.yaml: 1 error(s), first: ")
    assert "skill id '7up' must be lower-case letters" in err[0]
    assert err[1] == "run 'voice validate' for every problem"
