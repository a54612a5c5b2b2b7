"""Truncated BPTT (``train.tbptt_steps``): equivalences with full BPTT and a hand-written reference, carried state,
errors."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from cli_helpers import KILL_AT_STEP, TINY, run_seqforge, write_corpus
from compose_helpers import compose_config

from seqforge.errors import ConfigError, SeqforgeError
from seqforge.recurrent.state import detach_state
from seqforge.train import build_run, make_trainer

#: A tiny step-regression run over a short generated sine signal (streams of 120 steps, batches of 12).
SIGNAL = [
    "task=regression", "data=signal", "data.length=1200", "data.split=[0.8,0.1,0.1]", "data.seq_len=12",
    "data.batch_size=4", "data.eval_batch_size=2", "model.hidden_size=8", "trainer.val_check_interval=1000",
    "trainer.check_val_every_n_epoch=null", "trainer.enable_progress_bar=false", "logger=none", "task.plot_steps=0",
    "trainer.enable_model_summary=false", "checkpoint.every_n_train_steps=null",
]


def _fit(overrides: list[str], run_dir: Path, patch=None):
    module = build_run(compose_config(overrides))
    if patch is not None:
        patch(module)
    trainer = make_trainer(module.cfg, run_dir, task=module.task)
    trainer.fit(module, datamodule=module.data)
    return module, trainer


def _lm(tmp_path: Path, *extra: str) -> list[str]:
    corpus = write_corpus(tmp_path / "corpus.txt", chars=3000)
    return [
        f"data.path={corpus}",
        "trainer.val_check_interval=100",
        "logger=none",
        "checkpoint.every_n_train_steps=null",
        *TINY,
        *extra,
    ]


@pytest.mark.requires_plugins("rnn")
def test_chunks_of_the_full_length_equal_plain_bptt_exactly(tmp_path: Path) -> None:
    """tbptt_steps = seq_len (manual optimisation, one chunk per batch) ends with the very same parameters as
    Lightning's automatic loop: clipping and a per-step LR schedule included"""
    common = _lm(
        tmp_path,
        "trainer.max_steps=7",
        "trainer.gradient_clip_val=0.05",
        "model.dropout=0.1",
        "optim.scheduler.name=StepLR",
        "optim.scheduler.interval=step",
        "+optim.scheduler.kwargs.step_size=2",
        "+optim.scheduler.kwargs.gamma=0.5",
    )
    plain, _ = _fit(common, tmp_path / "plain")
    chunked, trainer = _fit([*common, "train.tbptt_steps=8"], tmp_path / "chunked")
    assert not chunked.automatic_optimization and trainer.global_step == 7
    assert chunked.optimizers().param_groups[0]["lr"] == plain.optimizers().param_groups[0]["lr"] == 3e-3 * 0.5**3
    for (name, expected), actual in zip(plain.model.state_dict().items(), chunked.model.state_dict().values()):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0, msg=name)


@pytest.mark.requires_plugins("rnn")
def test_full_length_chunks_with_an_epoch_schedule_across_epochs(tmp_path: Path) -> None:
    """Same equivalence for the regression task over an epoch boundary (20 batches per epoch) with an epoch-interval
    schedule and carried state: the state is reset at the new epoch and the LR halves once, as in automatic mode"""
    common = [*SIGNAL, "trainer.max_steps=26", "optim.scheduler.name=StepLR", "optim.scheduler.interval=epoch",
              "+optim.scheduler.kwargs.step_size=1", "+optim.scheduler.kwargs.gamma=0.5"]
    plain, _ = _fit(common, tmp_path / "plain")
    fresh: list = []

    def spy(module):
        step = module.task.training_step

        def recording(model, batch, carry, *, stateful):
            fresh.append((batch.index, carry is None))
            return step(model, batch, carry, stateful=stateful)

        module.task.training_step = recording

    chunked, _ = _fit([*common, "train.tbptt_steps=12"], tmp_path / "chunked", patch=spy)
    assert [index for index, is_fresh in fresh if is_fresh] == [0, 0]  # each epoch's first batch, and only those
    assert chunked.optimizers().param_groups[0]["lr"] == plain.optimizers().param_groups[0]["lr"] == 3e-3 * 0.5
    for expected, actual in zip(plain.model.parameters(), chunked.model.parameters()):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)


def _train_batches(module) -> list:
    """The training batches in epoch order (from the start, wherever training stopped)."""
    loader = module.data._loaders["train"]
    loader.consumed = 0
    return list(loader)


def _reference_tbptt(model: torch.nn.Module, batches: list, k: int, lr: float, steps: int) -> None:
    """Truncated BPTT written out by hand: SGD step per chunk of k steps, detached state carried across chunks and
    batches."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    state, taken = None, 0
    for batch in batches:
        for inputs, targets in zip(batch.inputs.split(k, dim=1), batch.targets.split(k, dim=1)):
            if taken == steps:
                return
            prediction, state = model(inputs, state)
            loss = F.mse_loss(prediction, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            state, taken = detach_state(state), taken + 1


@pytest.mark.requires_plugins("rnn")
def test_truncated_bptt_matches_a_hand_written_reference(tmp_path: Path) -> None:
    """Chunks of 5 steps (12-step batches: 5 + 5 + 2), state carried across chunks and batches: same parameters
    as the reference loop, and max_steps counts chunks (optimiser steps), stopping inside a batch"""
    overrides = [
        *SIGNAL,
        "train.tbptt_steps=5",
        "trainer.max_steps=8",
        "optim=sgd",
        "optim.lr=0.1",
        "trainer.gradient_clip_val=null",
    ]
    initial: dict = {}
    module, trainer = _fit(overrides, tmp_path, patch=lambda m: initial.update(model=copy.deepcopy(m.model)))
    assert trainer.global_step == 8  # 3 chunks per batch: batches 1, 2 and two chunks of batch 3
    reference = initial["model"]
    _reference_tbptt(reference, _train_batches(module), k=5, lr=0.1, steps=8)
    for (name, expected), actual in zip(reference.state_dict().items(), module.model.state_dict().values()):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.requires_plugins("rnn")
def test_truncation_changes_the_gradient(tmp_path: Path) -> None:
    """Chunks shorter than the batch give different parameters than full BPTT (the state is detached between chunks)"""
    common = [*SIGNAL, "trainer.max_steps=3", "optim=sgd", "optim.lr=0.1", "trainer.gradient_clip_val=null"]
    full, _ = _fit([*common, "train.tbptt_steps=12"], tmp_path / "full")
    initial: dict = {}
    truncated, _ = _fit(
        [*common, "train.tbptt_steps=4", "trainer.max_steps=9"],
        tmp_path / "t",
        patch=lambda m: initial.update(m=copy.deepcopy(m.model)),
    )
    reference = initial["m"]
    _reference_tbptt(reference, _train_batches(truncated), k=4, lr=0.1, steps=9)
    for expected, actual in zip(reference.parameters(), truncated.model.parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(a, b) for a, b in zip(full.model.parameters(), truncated.model.parameters()))


@pytest.mark.requires_plugins("rnn")
def test_carried_state_equals_running_the_concatenated_sequence(tmp_path: Path) -> None:
    """With frozen weights (lr 0), the state carried through 3 batches of 3 chunks each equals running
    the concatenated 36 steps in one call, row by row"""
    module, trainer = _fit(
        [*SIGNAL, "train.tbptt_steps=4", "trainer.max_steps=9", "optim=sgd", "optim.lr=0.0"], tmp_path
    )
    assert trainer.global_step == 9
    batches = _train_batches(module)[:3]
    # (B, 36, F): sample i of batch n+1 continues sample i of batch n
    inputs = torch.cat([b.inputs for b in batches], dim=1)
    module.model.eval()
    with torch.no_grad():
        _, state = module.model(inputs)
    carried = module._carry["train"]
    for expected, actual in zip(torch.utils._pytree.tree_leaves(state), torch.utils._pytree.tree_leaves(carried)):
        torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.requires_plugins("rnn")
def test_without_stateful_data_each_batch_starts_afresh(tmp_path: Path) -> None:
    """data.stateful=false: the carry lives only between the chunks of one batch"""
    seen: list = []

    def spy(module):
        step = module.task.training_step

        def recording(model, batch, carry, *, stateful):
            seen.append(carry is None)
            return step(model, batch, carry, stateful=stateful)

        module.task.training_step = recording

    _fit([*SIGNAL, "data.stateful=false", "train.tbptt_steps=5", "trainer.max_steps=6"], tmp_path, patch=spy)
    assert seen == [True, False, False, True, False, False]


@pytest.mark.requires_plugins("rnn")
def test_padding_chunks_keep_ranks_in_step(tmp_path: Path) -> None:
    """When another rank has more chunks, this one takes zero-gradient steps: with SGD they change nothing,
    but they count as optimiser steps, so every rank calls backward/step equally often"""
    common = [*SIGNAL, "train.tbptt_steps=6", "optim=sgd", "optim.lr=0.1"]
    plain, _ = _fit([*common, "trainer.max_steps=4"], tmp_path / "plain")

    def two_more(module):
        module._chunks_on_every_rank = lambda count: count + 2

    padded, trainer = _fit([*common, "trainer.max_steps=8"], tmp_path / "padded", patch=two_more)
    assert trainer.global_step == 8  # 2 batches x (2 chunks + 2 padding steps)
    for expected, actual in zip(plain.model.parameters(), padded.model.parameters()):
        torch.testing.assert_close(actual, expected, rtol=0, atol=0)


@pytest.mark.requires_plugins("rnn")
def test_nan_in_a_chunk_stops_naming_step_and_chunk(tmp_path: Path) -> None:
    """The NaN guard covers every chunk"""

    def poison(module):
        step = module.task.training_step

        def poisoned(model, batch, carry, *, stateful):
            loss, logs, carry = step(model, batch, carry, stateful=stateful)
            return (loss * float("nan") if module.global_step == 4 else loss), logs, carry

        module.task.training_step = poisoned

    with pytest.raises(SeqforgeError, match=r"became nan at step 4 .*batch 1, truncated-BPTT chunk 1"):
        _fit([*SIGNAL, "train.tbptt_steps=4", "trainer.max_steps=9"], tmp_path, patch=poison)


@pytest.mark.parametrize("steps", [0, -3])
@pytest.mark.requires_plugins("rnn")
def test_non_positive_tbptt_steps_is_refused(steps: int) -> None:
    with pytest.raises(ConfigError, match=rf"train.tbptt_steps must be a positive number .* got {steps}"):
        build_run(compose_config([*SIGNAL, f"train.tbptt_steps={steps}"]))


@pytest.mark.requires_plugins("rnn")
def test_tbptt_longer_than_the_sequences_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"train.tbptt_steps=13 is larger than the training sequences, which have 12 "
                                          r"time steps \(data.seq_len\)"):
        build_run(compose_config([*SIGNAL, "train.tbptt_steps=13"]))


@pytest.mark.requires_plugins("rnn")
def test_tasks_without_split_time_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"ForecastTask has no `split_time\(batch, steps\)` hook"):
        build_run(compose_config(["task=forecast", "data=timeseries", "train.tbptt_steps=4"]))


@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_invalid_tbptt_from_the_cli_is_one_paragraph(tmp_path: Path) -> None:
    result = run_seqforge("train", *SIGNAL, "train.tbptt_steps=40", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr + result.stdout
    assert (
        "train.tbptt_steps=40 is larger than the training sequences, which have 12 time steps (data.seq_len)"
        in result.stderr
    )


def _params(run_dir: Path) -> tuple[dict, int]:
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    return checkpoint["state_dict"], checkpoint["global_step"]


@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_ddp_two_ranks_with_tbptt_equal_one_process_with_the_combined_batch(tmp_path: Path) -> None:
    """`trainer=ddp devices=2` with truncated BPTT and carried state: both ranks take the same chunks (no hang) and
    end with the parameters of one process whose batch holds both ranks' streams"""
    common = [o for o in SIGNAL if not o.startswith(("logger", "checkpoint", "data.batch_size"))]
    common += ["train.tbptt_steps=5", "trainer.max_steps=9", "seed=3", "checkpoint.every_n_train_steps=3"]
    single = run_seqforge("train", *common, "data.batch_size=4", f"hydra.run.dir={tmp_path / 'single'}", cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = run_seqforge(
        "train", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", *common, "data.batch_size=2",
        f"hydra.run.dir={tmp_path / 'ddp'}", cwd=tmp_path,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    (expected, expected_step), (actual, actual_step) = _params(tmp_path / "single"), _params(tmp_path / "ddp")
    assert expected_step == actual_step == 9
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=1e-4, atol=1e-5, msg=name)


UNEVEN = '''
import lightning as L

class Uneven(L.Callback):
    """Rank 1 drops the last chunk of every batch: it has fewer chunks than rank 0."""

    def on_fit_start(self, trainer, module) -> None:
        if trainer.global_rank == 1:
            split = module.task.split_time
            module.task.split_time = lambda batch, steps: split(batch, steps)[:-1]
'''


@pytest.mark.xdist_group("ddp")  # two ranks each: never two such tests at once under `pytest -n`
@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_ddp_ranks_with_different_chunk_counts_do_not_hang(tmp_path: Path) -> None:
    """Rank 1 has 2 chunks per batch, rank 0 has 3: rank 1 pads with zero-gradient steps, both finish together"""
    (tmp_path / "uneven.py").write_text(UNEVEN)
    common = [o for o in SIGNAL if not o.startswith(("logger", "data.batch_size"))]
    result = run_seqforge(
        "train",
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        *common,
        "data.batch_size=2",
        "train.tbptt_steps=5",
        "trainer.max_steps=9",
        "+callbacks.uneven._target_=uneven.Uneven",
        f"hydra.run.dir={tmp_path / 'run'}",
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert _params(tmp_path / "run")[1] == 9




@pytest.mark.slow
@pytest.mark.requires_plugins("rnn")
def test_resume_after_kill_under_tbptt_matches_uninterrupted_run(tmp_path: Path) -> None:
    """Manual optimisation keeps exact resume: data position, carried state, optimiser and scheduler"""
    (tmp_path / "killer.py").write_text(KILL_AT_STEP)
    common = [o for o in SIGNAL if not o.startswith(("logger", "checkpoint"))]
    common += ["train.tbptt_steps=5", "trainer.max_steps=45", "checkpoint.every_n_train_steps=6", "model.dropout=0.2",
               "model.num_layers=2", "optim.scheduler.name=StepLR", "optim.scheduler.interval=step",
               "+optim.scheduler.kwargs.step_size=10",
               "+optim.scheduler.kwargs.gamma=0.5", "seed=5"]
    env = {"PYTHONPATH": str(tmp_path)}
    straight = run_seqforge("train", *common, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path, env=env)
    assert straight.returncode == 0, straight.stderr[-3000:]
    killed = run_seqforge(
        "train", *common, f"hydra.run.dir={tmp_path / 'killed'}", "+callbacks.killer._target_=killer.KillAt",
        "+callbacks.killer.step=28", cwd=tmp_path, env=env,
    )
    assert killed.returncode != 0
    assert _params(tmp_path / "killed")[1] == 24  # saved after the batch that crossed step 24 (3 chunks per batch)
    resumed = run_seqforge("train", f"resume={tmp_path / 'killed'}", "~callbacks.killer", cwd=tmp_path, env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (expected, expected_step), (actual, actual_step) = _params(tmp_path / "straight"), _params(tmp_path / "killed")
    assert expected_step == actual_step == 45
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)
