"""Config keys and values: the nearest key for a misspelt one, no `+key` in typed nodes, values named instead of tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_helpers import TINY, run_seqforge, run_seqforge_in_process, write_corpus
from compose_helpers import compose_config
from test_bad_input import assert_clean_failure

from seqforge.errors import ConfigError, SeqforgeError


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# -- keys -----------------------------------------------------------------------------------------------------------
@pytest.mark.requires_plugins("rnn")
def test_a_misspelt_key_names_the_nearest_valid_one_not_the_plus_hint(tmp_path: Path) -> None:
    """`model.hiden_size=10` -> "Did you mean `model.hidden_size=10`?", and no advice to add it with `+`"""
    result = run_seqforge_in_process("train", "model.hiden_size=10", cwd=tmp_path)
    assert_clean_failure(result, "`model` has no key `hiden_size`", "Did you mean `model.hidden_size=10`?")
    assert "+model.hiden_size" not in result.stderr


@pytest.mark.requires_plugins("rnn")
def test_adding_a_key_to_a_typed_group_with_plus_is_refused(tmp_path: Path) -> None:
    """`+model.hiden_size=10` would train and leave an unloadable checkpoint: refused, naming the nearest key"""
    result = run_seqforge_in_process("train", "+model.hiden_size=10", "trainer.max_steps=1", cwd=tmp_path)
    assert_clean_failure(result, "would add `hiden_size` to `model`", "typed (ModelConfig)", "Did you mean "
                                                                                             "`model.hidden_size=10`?")
    assert not (tmp_path / "outputs").exists() or not list((tmp_path / "outputs").rglob("*.ckpt"))


@pytest.mark.requires_plugins("rnn")
def test_override_hook_in_process(config_store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hydra's override step: misspelt parents too (`modle.…`), `+` into task/data refused, `+callbacks.x` still fine"""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.errors import ConfigCompositionException

    from seqforge.config_keys import install_override_checks

    monkeypatch.setattr(
        ConfigLoaderImpl, "_apply_overrides_to_config", ConfigLoaderImpl.__dict__["_apply_overrides_to_config"]
    )
    install_override_checks()
    install_override_checks()  # idempotent
    with pytest.raises(ConfigCompositionException, match=r"Did you mean `model.hidden_size=3`"):
        compose_config(["modle.hidden_size=3"])
    with pytest.raises(
        ConfigCompositionException, match=r"would add `sample_lenght` to `task`.*`task.sample_length=3`"
    ):
        compose_config(["+task.sample_lenght=3"])
    cfg = compose_config(["+callbacks.x._target_=a.B", "+optim.scheduler.kwargs.gamma=0.5", "++model.hidden_size=7"])
    assert cfg.callbacks.x._target_ == "a.B" and cfg.optim.scheduler.kwargs.gamma == 0.5 and cfg.model.hidden_size == 7


@pytest.mark.requires_plugins("rnn")
def test_resume_overrides_are_checked_the_same_way() -> None:
    """resume= applies its overrides itself: a misspelt key or a `+key` into a typed node is refused there too"""
    from seqforge.cli import _apply_dotted_overrides

    cfg = compose_config([])
    with pytest.raises(ConfigError, match=r"Did you mean `trainer.max_steps=9`"):
        _apply_dotted_overrides(cfg, ["trainer.max_step=9"])
    with pytest.raises(ConfigError, match="typed"):
        _apply_dotted_overrides(cfg, ["+trainer.max_step=9"])
    _apply_dotted_overrides(cfg, ["trainer.max_steps=9", "+callbacks.k._target_=a.B", "~callbacks.k"])
    assert cfg.trainer.max_steps == 9 and "k" not in cfg.callbacks


@pytest.mark.requires_plugins("rnn")
def test_a_checkpoint_with_an_added_key_still_loads_and_says_so(capsys: pytest.CaptureFixture) -> None:
    """Checkpoints written before the `+` refusal (with `model.hiden_size`) load: the unknown key is dropped with a note"""
    from seqforge.builders import as_plain
    from seqforge.checkpoint_safety import stored_run_config

    plain = as_plain(compose_config([]))
    plain["model"]["hiden_size"] = 10
    cfg = stored_run_config({"seqforge": {"config": plain}}, source="x")
    assert "hiden_size" not in cfg.model and cfg.model.hidden_size == plain["model"]["hidden_size"]
    assert "ignored key(s) model.hiden_size" in capsys.readouterr().err


@pytest.mark.requires_plugins("rnn")
def test_a_misspelt_override_on_evaluate_names_the_nearest_key() -> None:
    """`seqforge evaluate ckpt=… data.bach_size=2` -> the nearest key, not a ConfigKeyError traceback"""
    from omegaconf import OmegaConf

    from seqforge.checkpoint_safety import apply_overrides

    cfg = compose_config([])
    with pytest.raises(ConfigError, match=r"`seqforge evaluate`: .*Did you mean `data.batch_size=2`"):
        apply_overrides(cfg, OmegaConf.from_dotlist(["data.bach_size=2"]), command="evaluate")


# -- values ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("override,fragments", [
    ("trainer.max_steps=-5", ["trainer.max_steps=-5", "-1 for no step limit"]),
    ("optim.lr=-1", ["optim.lr=-1.0", "learning rate"]),
])
@pytest.mark.requires_plugins("rnn")
def test_values_lightning_or_torch_would_refuse_are_named_by_key(
    tmp_path: Path, override: str, fragments: list[str]
) -> None:
    """A negative max_steps or lr: exit 1, one paragraph naming the key, nothing written outside the run directory"""
    corpus = write_corpus(tmp_path / "corpus.txt", chars=2000)
    before = _files(tmp_path)
    result = run_seqforge_in_process(
        "train", f"data.path={corpus}", *TINY, override, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path
    )
    assert result.returncode == 1
    assert_clean_failure(result, *fragments)
    assert {f for f in _files(tmp_path) - before if not f.startswith("run")} == set()
    assert not list((tmp_path / "run").rglob("*.ckpt"))


@pytest.mark.requires_plugins("rnn")
def test_gpu_accelerator_without_a_gpu_is_named(tmp_path: Path) -> None:
    """`trainer.accelerator=gpu` on a CPU-only machine says so and suggests cpu/auto"""
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")
    result = run_seqforge_in_process("train", *TINY, "trainer.accelerator=gpu", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert_clean_failure(result, "trainer.accelerator=gpu", "no GPU", "trainer.accelerator=cpu")


@pytest.mark.requires_plugins("rnn", "seq2seq")
def test_beam_size_zero_is_named_by_key(tmp_path: Path) -> None:
    """`task.decode.beam_size=0` fails when the task is built, naming the key (translate takes it as decode.beam_size)"""
    result = run_seqforge_in_process(
        "train",
        "experiment=translate_demo",
        "task.decode.beam_size=0",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
    )
    assert_clean_failure(result, "task.decode.beam_size=0", "a number of beams >= 1", "decode.beam_size=")


@pytest.mark.parametrize("decode,key", [
    ({"beam_size": 0}, "beam_size"), ({"n_best": 6}, "n_best"), ({"strategy": "beem"}, "strategy"),
    ({"max_len": 0}, "max_len"), ({"temperature": -1.0}, "temperature"), ({"top_p": 1.5}, "top_p"),
])
@pytest.mark.requires_plugins("rnn")
def test_decode_values_are_checked_for_every_task_that_decodes(decode: dict, key: str) -> None:
    """Translation and one-to-many generation share DecodeConfig, which refuses values search would crash on"""
    from seqforge.builders import instantiate
    from seqforge.plugin_manager import get_plugins

    registry = get_plugins().registry
    for task in ("translation", "conditional"):
        node = {"_target_": registry.get("task", task).target, "decode": decode}
        with pytest.raises(ConfigError, match=rf"task\.decode\.{key}="):
            instantiate(node, "task")


# -- wrong words ------------------------------------------------------------------------------------------------------
def test_max_steps_zero_does_not_point_at_a_missing_checkpoints_folder(tmp_path: Path) -> None:
    """With no training step there is no checkpoint: the closing line says so instead of naming checkpoints/"""
    from seqforge.run_checks import checkpoints_line

    assert checkpoints_line(tmp_path / "checkpoints", 0).startswith("No checkpoint was written")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"x")
    assert checkpoints_line(tmp_path / "checkpoints", 3) == f"Checkpoints: {tmp_path / 'checkpoints'} (last.ckpt)"


@pytest.mark.requires_plugins("rnn")
def test_nan_at_the_first_step_does_not_promise_a_checkpoint(tmp_path: Path) -> None:
    """A NaN before any save says there is no checkpoint to resume from (not "the last good checkpoint is kept")"""
    from seqforge.train import build_run, make_trainer

    corpus = write_corpus(tmp_path / "corpus.txt", chars=3000)
    cfg = compose_config([f"data.path={corpus}", "trainer.max_steps=5", "logger=none", *TINY])
    module = build_run(cfg)
    healthy = module.task.training_step

    def poisoned(model, batch, carry, *, stateful):
        loss, logs, carry = healthy(model, batch, carry, stateful=stateful)
        return loss * float("nan"), logs, carry

    module.task.training_step = poisoned
    with pytest.raises(SeqforgeError, match=r"at step 0 .*No checkpoint had been written yet") as caught:
        make_trainer(cfg, tmp_path).fit(module, datamodule=module.data)
    assert "last good checkpoint is kept" not in str(caught.value)


def test_core_left_out_of_seqforge_plugins_is_named(tmp_path: Path) -> None:
    """`SEQFORGE_PLUGINS=rnn` says the core is left out and how to add it, not "Could not find 'model/attention/none'" """
    result = run_seqforge("train", cwd=tmp_path, env={"SEQFORGE_PLUGINS": "rnn"})
    assert_clean_failure(result, "leaves out the entry point `core`", "SEQFORGE_PLUGINS=core,rnn")
    assert "Could not find" not in result.stderr


@pytest.mark.requires_plugins("rnn", "labelled")
def test_a_task_without_translate_names_the_command_that_applies_it() -> None:
    """A classifier is sent to `seqforge predict`, a language model to `seqforge generate`"""
    from seqforge.command_io import command_for
    from seqforge.tasks.lm import LanguageModelTask
    from seqforge_labelled.classification import ClassificationTask  # a plugin task as the subject

    assert "`seqforge predict`" in command_for(ClassificationTask())
    assert "`seqforge generate`" in command_for(LanguageModelTask())


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_classifier_checkpoint_given_to_translate_points_at_predict(tmp_path: Path) -> None:
    """`seqforge translate ckpt=<classifier>` -> "use `seqforge predict`" (was: use seqforge generate)"""
    train = tmp_path / "train.tsv"
    train.write_text("".join(f"{'pos' if i % 2 else 'neg'}\t{'good' if i % 2 else 'bad'} {i}\n" for i in range(12)))
    trained = run_seqforge_in_process(
        "train", "task=classify", "data=labelled", f"data.train={train}", f"data.valid={train}", f"data.test={train}",
        "model/cell=gru", "model.hidden_size=8", "model.embedding_dim=8", "trainer.max_steps=1", "task.show_examples=0",
        "trainer.enable_progress_bar=false", "logger=csv", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    result = run_seqforge_in_process("translate", f"ckpt={tmp_path / 'run'}", cwd=tmp_path, stdin="good\n")
    assert_clean_failure(result, "ClassificationTask, which does not translate", "use `seqforge predict`")


# -- unreadable checkpoints -------------------------------------------------------------------------------------------
def test_a_text_file_renamed_ckpt_is_not_a_readable_checkpoint(tmp_path: Path) -> None:
    """Was `KeyError: 101`"""
    path = tmp_path / "notes.ckpt"
    path.write_text("hello, this is text\n")
    result = run_seqforge_in_process("evaluate", f"ckpt={path}", cwd=tmp_path)
    assert_clean_failure(result, "not a readable seqforge checkpoint", "a text file renamed .ckpt")
    assert "KeyError: 101" not in result.stderr


@pytest.mark.requires_plugins("rnn")
def test_a_truncated_checkpoint_is_not_a_readable_checkpoint(tmp_path: Path) -> None:
    """Half a real checkpoint (was `OSError: [Errno 22] Invalid argument` with a traceback)"""
    from seqforge.builders import as_plain

    whole = tmp_path / "whole.ckpt"
    torch.save(
        {"state_dict": {"w": torch.randn(256, 256)}, "seqforge": {"config": as_plain(compose_config([]))}}, whole
    )
    path = tmp_path / "torn.ckpt"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = run_seqforge_in_process("generate", f"ckpt={path}", cwd=tmp_path)
    assert_clean_failure(result, "not a readable seqforge checkpoint", "truncated")
