"""A checkpoint is data, never code: crafted configs are refused before anything is built or written."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import pytest
import torch
from cli_helpers import run_seqforge, run_seqforge_in_process
from test_bad_input import assert_clean_failure

from seqforge.checkpoint_safety import CALLBACK_TARGETS, inert, safe_stored_config, stored_run_config
from seqforge.errors import ConfigError, DataError

LM = {"_target_": "seqforge.tasks.lm.LanguageModelTask"}
TEXT = {"_target_": "seqforge.data.lm.LanguageModelData"}
LSTM = {"_target_": "seqforge_rnn.cells.LSTMCell"}


def _config(**changes: Any) -> dict[str, Any]:
    """A stored config shaped like seqforge's (task, data, model with cell and encoder), with ``changes`` on top."""
    from seqforge.plugin_manager import get_plugins

    registry = get_plugins().registry
    config: dict[str, Any] = {
        "task": {"_target_": registry.get("task", "lm").target},
        "data": {"_target_": registry.get("data", "text").target, "path": None},
        "model": {"cell": {"_target_": registry.get("cell", "lstm").target},
                  "encoder": {"_target_": registry.get("encoder", "recurrent").target}, "hidden_size": 8},
        "callbacks": {},
    }
    config.update(changes)
    return config


def _write_checkpoint(path: Path, config: dict[str, Any]) -> Path:
    torch.save({"state_dict": {}, "seqforge": {"format": 1, "config": config}}, path)
    return path


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    path = tmp_path / "victim.txt"
    path.write_text("precious\n")
    return path


def _opener(victim: Path) -> dict[str, Any]:
    """What an attacker would store: ``open(victim, "w")`` empties the file when instantiated."""
    return {"_target_": "builtins.open", "file": str(victim), "mode": "w"}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# -- every command that loads a checkpoint ---------------------------------------------------------------------
COMMANDS = [
    ("evaluate", []),
    ("generate", ["prompt=a"]),
    ("translate", ["input=-"]),
    ("predict", ["input=-"]),
    ("neighbors", ["word=a"]),
    ("export-vectors", ["output=vectors.txt"]),
    ("evaluate-vectors", ["analogy=demo"]),
    ("train", []),  # resume=
]


@pytest.mark.parametrize("command,args", COMMANDS, ids=[c for c, _ in COMMANDS])
@pytest.mark.requires_plugins("rnn")
def test_a_checkpoint_naming_builtins_open_touches_no_file(
    tmp_path: Path, victim: Path, command: str, args: list[str]
) -> None:
    """`task: {_target_: builtins.open, file: …, mode: w}` is refused by every command; no file is created or changed"""
    ckpt = _write_checkpoint(tmp_path / "evil.ckpt", _config(task=_opener(victim)))
    before = _files(tmp_path)
    where = [f"resume={ckpt}"] if command == "train" else [f"ckpt={ckpt}"]
    # the refusal, not the process, is the subject
    result = run_seqforge_in_process(command, *where, *args, cwd=tmp_path, stdin="hello\n")
    assert_clean_failure(result, "is refused", "`task._target_`", "`builtins.open`", "Nothing was built or written")
    assert _files(tmp_path) == before  # the victim keeps its content; no output, log or run directory appears


@pytest.mark.requires_plugins("rnn")
def test_resume_refuses_a_stored_callback_that_is_not_allow_listed_and_names_the_fix(
    tmp_path: Path, victim: Path
) -> None:
    """`callbacks.evil={_target_: builtins.open …}` stored in a checkpoint never runs on resume=; the message says
    `~callbacks.evil`"""
    ckpt = _write_checkpoint(tmp_path / "evil.ckpt", _config(callbacks={"evil": _opener(victim)}))
    before = _files(tmp_path)
    result = run_seqforge_in_process("train", f"resume={ckpt}", cwd=tmp_path)
    assert_clean_failure(result, "`callbacks.evil._target_`", "`builtins.open`", "`~callbacks.evil`")
    assert _files(tmp_path) == before


# -- what the check covers (in-process) ---------------------------------------------------------------------------
@pytest.mark.parametrize("changes,where", [
    ({"task": {"_target_": "builtins.print"}}, "task._target_"),
    ({"data": {**TEXT, "path": {"_target_": "builtins.open", "file": "x", "mode": "w"}}}, "data.path._target_"),
    ({"data": {**TEXT, "path": [1, {"_target_": "os.remove", "path": "x"}]}}, "data.path[1]._target_"),
    ({"task": {**LM, "_args_": [{"_target_": "builtins.open"}]}}, "task._args_"),
    ({"task": {**LM, "_partial_": True}}, "task._partial_"),
    ({"task": {**LM, "_recursive_": False}}, "task._recursive_"),
    ({"task": {**LM, "_convert_": "all"}}, "task._convert_"),
    ({"task": {"_target_": ["builtins", "open"]}}, "task._target_"),
    ({"task": TEXT}, "task._target_"),  # registered, but as data: a slot takes only its own kind
    ({"task": "${oc.create:{_target_: builtins.open}}"}, "task"),  # a slot must be a component mapping
    ({"extra": {"deep": [{"x": {"_target_": "subprocess.call"}}]}}, "extra.deep[0].x._target_"),
])
@pytest.mark.requires_plugins("rnn")
def test_targets_outside_the_registry_are_refused_wherever_they_sit(changes: dict[str, Any], where: str) -> None:
    """Nested targets, targets in lists, Hydra's call keys and wrong-kind components are refused, naming the key"""
    with pytest.raises(ConfigError, match=rf"stored config key `{__import__('re').escape(where)}`"):
        safe_stored_config(_config(**changes), source="`ckpt=x`")


@pytest.mark.requires_plugins("rnn", "seq2seq", "word2vec")
def test_a_genuine_config_passes_unchanged() -> None:
    """Every target a composed run stores is a registered one, so real checkpoints still load"""
    from compose_helpers import compose_config

    from seqforge.builders import as_plain

    for overrides in ([], ["experiment=translate_demo"], ["experiment=tagging_demo"], ["experiment=word2vec_demo"]):
        plain = as_plain(compose_config(overrides))
        assert safe_stored_config(plain, source="x") == {**plain, "callbacks": {}}


@pytest.mark.requires_plugins("rnn")
def test_restore_refuses_before_building_anything(
    tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """restore() raises before a single target is imported or called: builtins.open is never reached"""
    from seqforge.train import restore

    opened: list[Any] = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    checkpoint = {"state_dict": {}, "seqforge": {"config": _config(model={"cell": _opener(victim), "encoder": LM})}}
    with pytest.raises(ConfigError, match=r"model\.cell\._target_"):
        restore(checkpoint, source="`ckpt=evil.ckpt`")
    assert not [a for a in opened if str(victim) in map(str, a)]
    assert victim.read_text() == "precious\n"


@pytest.mark.requires_plugins("rnn")
def test_stored_callbacks_are_dropped_unless_resuming() -> None:
    """evaluate/generate/… never run a checkpoint's callbacks; resume= keeps allow-listed ones only"""
    early = {"_target_": "lightning.pytorch.callbacks.EarlyStopping", "monitor": "val/loss"}
    evil = {"_target_": "builtins.exec", "source": "print(1)"}
    assert safe_stored_config(_config(callbacks={"evil": evil}), source="x")["callbacks"] == {}
    assert safe_stored_config(_config(callbacks={"es": early}), source="x", resuming=True)["callbacks"] == {"es": early}
    assert early["_target_"] in CALLBACK_TARGETS
    with pytest.raises(ConfigError, match=r"callbacks\.evil\._target_"):
        safe_stored_config(_config(callbacks={"evil": evil, "es": early}), source="x", resuming=True)
    # the user deletes it on the command line (`~callbacks.evil`): dropped unchecked, the rest kept
    kept = safe_stored_config(
        _config(callbacks={"evil": evil, "es": early}), source="x", resuming=True, replaced_callbacks={"evil"}
    )
    assert kept["callbacks"] == {"es": early}


@pytest.mark.parametrize("text", ["${oc.env:HOME}", "a\\${x}", "a\\\\${x}b", "${a:${b}}", "\\", "$${x}", "plain"])
@pytest.mark.requires_plugins("rnn")
def test_interpolations_in_a_checkpoint_stay_literal_text(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`${oc.env:…}` and friends are never resolved: the value read back is exactly the stored text"""
    monkeypatch.setenv("HOME", "/resolved")
    cfg = stored_run_config({"seqforge": {"config": _config(data={**TEXT, "path": text})}}, source="x")
    assert cfg.data.path == text
    from omegaconf import OmegaConf

    assert OmegaConf.create({"k": inert(text)}).k == text


@pytest.mark.requires_plugins("rnn")
def test_an_oc_create_interpolation_cannot_smuggle_a_target(victim: Path) -> None:
    """`${oc.create:{_target_: builtins.open, …}}` inside a component stays a string: nothing is opened"""
    sneaky = "${oc.create:{_target_: builtins.open, file: " + str(victim) + ", mode: w}}"
    cfg = stored_run_config({"seqforge": {"config": _config(data={**TEXT, "path": sneaky})}}, source="x")
    assert cfg.data.path == sneaky
    assert victim.read_text() == "precious\n"


# -- files read as tensors or vectors (weights_only) -------------------------------------------------------------------
class _Payload:
    """Pickles as ``open(victim, "w")``: loading it without weights_only empties the victim."""

    def __init__(self, victim: Path) -> None:
        self.victim = str(victim)

    def __reduce__(self) -> Any:
        return (builtins.open, (self.victim, "w"))


def _pickle_bomb(path: Path, victim: Path) -> Path:
    torch.save({"x": _Payload(victim)}, path)
    return path


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """(control) the payload used below really empties a file when loaded without weights_only"""
    other = tmp_path / "other.txt"
    other.write_text("precious\n")
    torch.load(_pickle_bomb(tmp_path / "bomb.pt", other), weights_only=False)
    assert other.read_text() == ""


@pytest.mark.requires_plugins("rnn", "labelled")
def test_a_pickled_tensor_input_is_refused_without_running_it(tmp_path: Path, victim: Path) -> None:
    """`.pt` data inputs load with weights_only=True: the payload is refused, the victim untouched"""
    from seqforge_labelled.labelled_data import read_tensor_file  # the family's tensor-file reader as the subject

    with pytest.raises(DataError, match="could not be loaded"):
        read_tensor_file(str(_pickle_bomb(tmp_path / "x.pt", victim)), key="data.train", required=("x", "y"))
    assert victim.read_text() == "precious\n"


def test_a_pickle_given_as_pretrained_vectors_is_refused_without_running_it(tmp_path: Path, victim: Path) -> None:
    """`model.embedding.pretrained` is parsed as word2vec text/binary, never unpickled"""
    from seqforge.embeddings import read_word2vec

    with pytest.raises(DataError, match=r"model\.embedding\.pretrained"):
        read_word2vec(_pickle_bomb(tmp_path / "vectors.pt", victim))
    assert victim.read_text() == "precious\n"


def test_a_pickled_checkpoint_is_refused_without_running_it(tmp_path: Path, victim: Path) -> None:
    """A .ckpt whose pickle carries code is 'not a readable seqforge checkpoint'; the victim untouched"""
    ckpt = _pickle_bomb(tmp_path / "bomb.ckpt", victim)
    result = run_seqforge("evaluate", f"ckpt={ckpt}", cwd=tmp_path)
    assert_clean_failure(result, "not a readable seqforge checkpoint")
    assert victim.read_text() == "precious\n"
    assert not os.path.exists(tmp_path / "checkpoints")


# -- components that moved between releases ---------------------------------------------------------------------
def _registry_with_moved_task() -> Any:
    from seqforge.registry import Registry
    from seqforge.tasks.configs import LanguageModelTaskConfig

    registry = Registry(store_configs=False)
    registry.task(
        "lm", "seqforge.tasks.lm.LanguageModelTask", LanguageModelTaskConfig, formerly=["oldpkg.tasks.LanguageModel"]
    )
    registry.data("text", TEXT["_target_"], LanguageModelTaskConfig)
    registry.encoder("recurrent", "seqforge.encoders.RecurrentEncoder", LanguageModelTaskConfig)
    registry.cell("lstm", LSTM["_target_"], LanguageModelTaskConfig)
    return registry


@pytest.mark.requires_plugins("rnn")
def test_a_checkpoint_naming_a_former_path_loads_as_the_current_component() -> None:
    """`formerly=` at registration: a checkpoint written before the plugin moved its class builds the class's new path"""
    config = _config(
        task={"_target_": "oldpkg.tasks.LanguageModel", "bptt": 5},
        data=TEXT,
        model={"cell": LSTM, "encoder": {"_target_": "seqforge.encoders.RecurrentEncoder"}},
    )
    plain = safe_stored_config(config, source="x", registry=_registry_with_moved_task())
    assert plain["task"] == {"_target_": "seqforge.tasks.lm.LanguageModelTask", "bptt": 5}


@pytest.mark.requires_plugins("rnn")
def test_a_former_path_is_still_only_accepted_in_its_own_slot() -> None:
    """A former task path stored as the data module is refused like any wrong-kind target"""
    config = _config(
        data={"_target_": "oldpkg.tasks.LanguageModel"},
        task=LM,
        model={"cell": LSTM, "encoder": {"_target_": "seqforge.encoders.RecurrentEncoder"}},
    )
    with pytest.raises(ConfigError, match=r"stored config key `data\._target_`.*registered as a task, not a data"):
        safe_stored_config(config, source="x", registry=_registry_with_moved_task())


@pytest.mark.parametrize("formerly", ["oldpkg.tasks.LanguageModel", ["not a path"]])
def test_formerly_must_be_a_list_of_import_paths(formerly: Any) -> None:
    from seqforge.errors import PluginError
    from seqforge.registry import Registry
    from seqforge.tasks.configs import LanguageModelTaskConfig

    with pytest.raises(PluginError, match="formerly="):
        Registry(store_configs=False).task(
            "lm", "seqforge.tasks.lm.LanguageModelTask", LanguageModelTaskConfig, formerly=formerly
        )
