"""The ``seqforge`` command: ``train``, ``evaluate``, ``generate``, ``predict``, ``plugins`` (plus the plugins'
commands, e.g. ``translate``).

``sys.argv`` is never modified: Lightning's DDP launcher starts each extra
rank by re-running ``sys.argv`` (plus Hydra's run-dir overrides), so the
children must see the same ``seqforge train ...`` command as the parent.
Heavy imports (torch, lightning) happen only inside the commands that train.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from seqforge import __version__
from seqforge.command_io import command_for, read_input_lines, write_output_lines
from seqforge.errors import SeqforgeError
from seqforge.interfaces import Generates, Predicts, Translates
from seqforge.key_values import parse_key_values  # raises UsageError: main() exits 2
from seqforge.vendor_adapters import hydra_args_parser, run_hydra

USAGE = f"""\
seqforge {__version__} — plugin-based sequence modelling

usage:
  seqforge train [KEY=VALUE ...] [GROUP=OPTION ...] [hydra flags: --cfg job, -m, --help]
  seqforge evaluate ckpt=PATH [split=valid|test|all] [data.KEY=VALUE ...]
  seqforge generate ckpt=PATH [prompt=TEXT] [max_new_tokens=N] [temperature=T] [top_k=K] [top_p=P] [seed=S]
  seqforge predict ckpt=PATH [input=FILE|-] [output=FILE|-] [batch_size=N]   # label<TAB>p or token<TAB>tag lines
  seqforge plugins list
  seqforge plugins new DIST-NAME --kind cell|attention [--name NAME] [--dir PATH]   # scaffold a plugin package
  seqforge plugins check DIST-OR-ENTRY-POINT-NAME                                 # run its contract suite

examples:
  seqforge train                                     # char-level LSTM LM on the embedded corpus
  seqforge train model/cell=gru model.hidden_size=128 trainer.max_steps=50
  seqforge train experiment=ptb_small data.path=/data/ptb
  seqforge train --cfg job                           # print the composed config
  seqforge train resume=outputs/2026-11-22/10-00-00  # continue a killed run
  seqforge train -m model/cell=lstm,gru trainer=ddp trainer.devices=2   # a sweep: each job its own process and devices
"""

HELP_FLAGS = {"-h", "--help", "help"}


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"seqforge: error: {message}", file=sys.stderr)
    raise SystemExit(code)


# -- key=value arguments for evaluate/generate ----------------------------------
@dataclass
class EvaluateArgs:
    ckpt: str | None = None
    split: str = "all"  # valid|test|all


@dataclass
class GenerateArgs:
    ckpt: str | None = None
    prompt: str = ""
    max_new_tokens: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None


# -- train ----------------------------------------------------------------------
def _check_component_overrides(overrides: list[str]) -> None:
    """Unknown component names get seqforge's message (available names + closest match), not Hydra's;
    a plain name two distributions provide is refused naming both (before Hydra composes anything)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from seqforge.plugin_manager import get_registry
    from seqforge.registry import KIND_GROUPS

    group_kinds = {group: kind for kind, group in KIND_GROUPS.items()}
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception:  # noqa: BLE001 - Hydra reports syntax errors itself, with position
        return
    registry = get_registry()
    _check_core_loaded(registry)
    if not any(o.key_or_group == "model/cell" for o in parsed) and "lstm" not in registry.names("cell"):
        fail(
            "The default cell 'lstm' comes from the seqforge-rnn plugin, which is not installed or not loaded "
            "(`pip install seqforge-rnn`, or `pip install -e plugins/seqforge-rnn` in a checkout; check "
            "SEQFORGE_PLUGINS). Or pick an installed cell with model/cell=<name>: "
            f"{', '.join(registry.names('cell')) or 'none installed'}."
        )
    for override in parsed:
        kind = group_kinds.get(override.key_or_group)
        if kind is None or override.is_delete():
            continue
        if override.is_sweep_override():  # Hydra escapes ':' in these strings (`seqforge-rnn\\:lstm`)
            choices: list[Any] = [value.replace("\\:", ":") for value in override.sweep_string_iterator()]
        else:
            choices = [override.value()]
        for choice in choices:
            if choice not in (None, "null"):
                try:
                    registry.get(kind, str(choice))
                except SeqforgeError as exc:
                    fail(str(exc))


def _check_component_choices(choices: Any) -> None:
    """Every component the composed config selected (defaults and presets included) names exactly one provider."""
    from seqforge.plugin_manager import get_registry
    from seqforge.registry import KIND_GROUPS

    registry = get_registry()
    for kind, group in KIND_GROUPS.items():
        choice = choices.get(group)
        if choice is not None:
            registry.get(kind, str(choice))  # AmbiguousComponentError names both providers and the qualified names


def _check_core_loaded(registry: Any) -> None:
    """``SEQFORGE_PLUGINS`` that leaves out the core gets a message naming it, not Hydra's "Could not find
    'model/attention/none'"."""
    import os

    from seqforge.plugin_manager import ALLOW_LIST_ENV

    if any(component.provider.plugin == "core" for component in registry):
        return
    allowed = os.environ.get(ALLOW_LIST_ENV)
    setting = f"{ALLOW_LIST_ENV}={allowed}" if allowed is not None else "the plugin environment"
    fix = f"`{ALLOW_LIST_ENV}=core,{allowed}`" if allowed else f"unset {ALLOW_LIST_ENV}"
    fail(
        f"seqforge's own components are not loaded ({setting} leaves out the entry point `core`): every run needs them "
        f"(task=lm, data=text, model/encoder=recurrent, model/attention=none, ...). "
        f"Add it: {fix}."
    )


def _apply_dotted_overrides(cfg: Any, overrides: Sequence[str]) -> None:
    """Apply ``key=value``, ``+key=value`` and ``~key`` overrides to ``cfg`` in place (group choices are ignored)."""
    from omegaconf import OmegaConf, open_dict

    from seqforge.config_keys import check_override_key

    for override in overrides:
        key, _, value = override.partition("=")
        bare = key.lstrip("+~")
        if "/" in bare or bare.startswith("hydra.") or bare == "resume":
            continue
        check_override_key(cfg, override)  # a misspelt key names the nearest one; no `+key` inside typed nodes
        with open_dict(cfg):
            if key.startswith("~"):
                parent, _, leaf = bare.rpartition(".")
                node = OmegaConf.select(cfg, parent) if parent else cfg
                if node is not None and leaf in node:
                    del node[leaf]
            else:
                OmegaConf.update(cfg, bare, OmegaConf.from_dotlist([f"x={value}"]).x, force_add=True)


def _train_task(cfg: Any) -> float | None:
    """Hydra task function: one training run in the Hydra run directory."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    try:
        hydra_cfg = HydraConfig.get()
        strategy = str(cfg.trainer.strategy)
        if (
            hydra_cfg.mode == RunMode.MULTIRUN
            and strategy.startswith("ddp")
            and "spawn" not in strategy
            and "fork" not in strategy
            and not _processes_started_externally()
        ):
            raise SeqforgeError(
                f"trainer.strategy={strategy} cannot run inside an in-process multirun (hydra/launcher="
                f"{hydra_cfg.runtime.choices.get('hydra/launcher')}): Lightning's DDP children re-run the whole "
                "command line, i.e. the whole sweep (Lightning #11300, Hydra #2070). Use the seqforge launcher, which "
                "runs every job as its own process on its own devices (hydra/launcher=seqforge, the default for -m), "
                "or trainer.strategy=ddp_spawn."
            )
        _check_component_choices(hydra_cfg.runtime.choices)
        run_dir = Path(hydra_cfg.runtime.output_dir)
        from seqforge.train import run_training

        metrics = run_training(cfg, run_dir, ckpt_path=_requeued_checkpoint(run_dir))
    except SeqforgeError as exc:
        fail(str(exc), code=getattr(exc, "exit_code", 1))  # a signal: 128 + its number
    from seqforge.results import read_result

    result = read_result(run_dir) or {}
    # The objective for Hydra sweepers: the monitored metric (checkpoint.monitor) at its best, as the seqforge launcher
    # reports it.
    return result.get("objective", metrics.get("val", {}).get("loss"))


class RunDirGuard:
    """Hydra callback (``hydra.callbacks.run_dir``): claim the run directory before Hydra writes into it.

    Hydra creates the run directory and writes ``.hydra/`` before the task starts, so
    a directory under a file would fail there with a traceback, and a refused run
    would already have replaced the earlier run's ``.hydra/``. Claiming here (see
    :func:`seqforge.run_dir.claim`) reports both in one paragraph; the task claims
    again (a no-op) for launchers that skip this hook.
    """

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        from omegaconf import OmegaConf

        from seqforge.run_dir import claim

        run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir"))).absolute()
        try:
            # refused: nothing written
            _check_component_choices(OmegaConf.select(config, "hydra.runtime.choices") or {})
            claim(
                run_dir,
                resuming=_requeued_checkpoint(run_dir) is not None,
                overwrite=bool(config.get("overwrite", False)),
            )
        except SeqforgeError as exc:
            fail(str(exc), code=1)

    def __getattr__(self, name: str) -> Any:  # the other Hydra callback hooks: nothing to do
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def _processes_started_externally() -> bool:
    """True when SLURM (srun) or torchrun started every rank (submitit's sweeps).

    Lightning then re-runs no command line.
    """
    # from their own modules: the package re-exports them implicitly, which strict mypy does not accept
    from lightning.fabric.plugins.environments.slurm import SLURMEnvironment
    from lightning.fabric.plugins.environments.torchelastic import TorchElasticEnvironment

    return SLURMEnvironment.detect() or TorchElasticEnvironment.detect()


def _requeued_checkpoint(run_dir: Path) -> Path | None:
    """``last.ckpt`` of a SLURM job that was requeued (preempted or timed out, resubmitted by submitit), so it
    continues."""
    import os

    last = run_dir / "checkpoints" / "last.ckpt"
    return last if int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0) > 0 and last.is_file() else None


def resume_training(target: str, overrides: list[str]) -> None:
    """``seqforge train resume=<run dir | checkpoint> [key=value ...]``.

    The run continues with the config stored in its checkpoint (not a fresh
    composition), in its own directory; ``key=value``/``+key=value``/``~key``
    overrides still apply (e.g. a larger ``trainer.max_steps``). Lightning
    restores weights, optimiser, scheduler, loop and data position; seqforge
    restores the carried hidden state and the RNG state.
    """
    from omegaconf.errors import OmegaConfBaseException

    from seqforge.checkpoint_loading import load_checkpoint, resolve_checkpoint
    from seqforge.checkpoint_safety import stored_run_config

    groups = [
        o
        for o in overrides
        if "/" in o.partition("=")[0] or (o.partition("=")[0] in ("task", "data", "experiment", "optim", "trainer"))
    ]
    if groups:
        fail(f"cannot change components or presets when resuming ({', '.join(groups)}); the run keeps the config it "
             "started with.")
    ckpt_path = resolve_checkpoint(target, key="resume")
    # Only registry (or allow-listed callback) targets, checked before anything is built or written.
    cfg = stored_run_config(
        load_checkpoint(ckpt_path, key="resume"), source=f"`resume={target}`", resuming=True, overrides=overrides
    )
    try:
        _apply_dotted_overrides(cfg, overrides)
    except OmegaConfBaseException as exc:
        fail(f"resume: {str(exc).splitlines()[0]} (key `{getattr(exc, 'full_key', '?')}`).")
    cfg.resume = None
    run_dir = ckpt_path.parent.parent if ckpt_path.parent.name == "checkpoints" else ckpt_path.parent
    from seqforge.train import run_training

    print(f"seqforge: resuming {ckpt_path} in {run_dir}")
    run_training(cfg, run_dir.resolve(), ckpt_path=ckpt_path)  # claims the directory (lock, write probe) first


#: Hydra plugins that seqforge's extras bring: (override, module, extra).
SWEEP_PLUGINS = (
    ("hydra/sweeper=optuna", "hydra_plugins.hydra_optuna_sweeper", "sweep"),
    ("hydra/launcher=slurm", "hydra_plugins.hydra_submitit_launcher", "slurm"),
    ("hydra/launcher=submitit_", "hydra_plugins.hydra_submitit_launcher", "slurm"),
)


def _check_sweep_plugins(overrides: list[str]) -> None:
    """A sweeper or launcher from an extra that is not installed gets an install hint, not Hydra's 'could not find'."""
    import importlib.util

    for override in overrides:
        for prefix, module, extra in SWEEP_PLUGINS:
            if override.startswith(prefix) and importlib.util.find_spec(module) is None:
                fail(f"`{override}` needs the {module.split('.')[1].replace('_', '-')} package, which is not "
                     f"installed: pip install \"seqforge[{extra}]\".")


def _register_launcher() -> None:
    """Make sure Hydra knows ``hydra/launcher=seqforge``: its plugin scan (pkgutil) misses namespace portions of
    editable installs."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.seqforge_launcher.seqforge_launcher import SeqforgeLauncher

    Plugins.instance().register(SeqforgeLauncher)


def train(argv: list[str]) -> None:

    from seqforge.config import register_schema
    from seqforge.config_keys import install_override_checks
    from seqforge.plugin_manager import get_plugins

    get_plugins()  # registering components fills Hydra's ConfigStore
    register_schema()
    install_override_checks()  # `model.hiden_size=1` names `model.hidden_size`; no `+key` inside typed nodes
    _register_launcher()
    parser = hydra_args_parser()
    args = parser.parse_args(argv)
    if not args.help and not args.hydra_help:
        resume = [o.partition("=")[2] for o in args.overrides if o.startswith("resume=")]
        if resume and resume[-1] not in ("", "null"):
            return resume_training(resume[-1], [o for o in args.overrides if not o.startswith("resume=")])
        _check_component_overrides(args.overrides)
        _check_sweep_plugins(args.overrides)
    # The task function sits in this module, so Hydra finds the packaged configs in seqforge/conf.
    try:
        run_hydra(args, parser, _train_task, config_path="conf", config_name="config")
    except ValueError as exc:  # Hydra's own command-line checks (e.g. `--cfg` together with `-m`)
        fail(f"seqforge train: {exc}.")


# -- evaluate / generate -----------------------------------------------------------
def _dotted(overrides: list[str], command: str) -> Any:
    """``data.path=...`` words as a DictConfig (None if there are none); a malformed one names itself."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if not overrides:
        return None
    try:
        return OmegaConf.from_dotlist(overrides)
    except OmegaConfBaseException as exc:
        fail(f"`seqforge {command}`: cannot read the override(s) {' '.join(overrides)}: {str(exc).splitlines()[0]}.")


def _checkpoint_path(value: str | None, command: str) -> Path:
    from seqforge.checkpoint_loading import resolve_checkpoint

    if not value:
        fail(f"`seqforge {command}` needs ckpt=<checkpoint file or run directory>.")
    return resolve_checkpoint(value)


def evaluate(argv: list[str]) -> None:
    from seqforge.metrics_table import print_metrics
    from seqforge.train import evaluate_checkpoint

    args, overrides = parse_key_values(argv, EvaluateArgs, "evaluate")
    splits = {"valid": ["valid"], "test": ["test"], "all": ["valid", "test"]}.get(args.split)
    if splits is None:
        fail(f"`seqforge evaluate split={args.split}`: expected valid, test or all.")
    path = _checkpoint_path(args.ckpt, "evaluate")
    metrics = evaluate_checkpoint(path, splits, _dotted(overrides, "evaluate"))
    print_metrics(metrics, title=f"Metrics of {path}")


def generate(argv: list[str]) -> None:
    from seqforge.run_loading import load_run

    args, overrides = parse_key_values(argv, GenerateArgs, "generate")
    if args.max_new_tokens < 0 or args.temperature < 0:
        fail("`seqforge generate`: max_new_tokens and temperature must be >= 0.")
    path = _checkpoint_path(args.ckpt, "generate")
    module = load_run(path, _dotted(overrides, "generate"), command="generate")
    if not isinstance(module.task, Generates):
        fail(f"the checkpoint {path} holds a {type(module.task).__name__}, which does not generate text: `seqforge "
             f"generate` applies language models and one-to-many generators. {command_for(module.task)}")
    text = module.task.generate(
        module.model, module.data, args.prompt, max_new_tokens=args.max_new_tokens,
        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, seed=args.seed,
    )
    print(text)


@dataclass
class PredictArgs:
    ckpt: str | None = None
    input: str = "-"  # a file with one example per line, or - for stdin
    output: str = "-"  # a file, or - for stdout
    batch_size: int = 64


def predict(argv: list[str]) -> None:
    """``seqforge predict ckpt=... input=... output=...``: apply a trained classifier or tagger to new lines.

    The task's optional ``predict(model, data, lines, batch_size) -> (output rows, notes)``
    hook does the work; blank input lines are skipped here and reported, so a
    task only ever sees real examples.
    """
    from seqforge.run_loading import load_run

    args, overrides = parse_key_values(argv, PredictArgs, "predict")
    if args.batch_size < 1:
        fail(f"`seqforge predict batch_size={args.batch_size}`: expected a positive number of lines per batch.")
    path = _checkpoint_path(args.ckpt, "predict")
    module = load_run(path, _dotted(overrides, "predict"), command="predict")
    task = module.task
    if not isinstance(task, Predicts):
        instead = (
            "`seqforge translate`"
            if isinstance(task, Translates)
            else "`seqforge generate`"
            if isinstance(task, Generates)
            else None
        )
        fail(
            f"the checkpoint {path} holds a {type(task).__name__}, which has no `predict`: `seqforge predict` applies "
            "classifiers (task=classify) and taggers (task=tag), both from seqforge-labelled. Sequence-to-sequence "
            "models use `seqforge translate`; language models and one-to-many generators (task=conditional) use "
            "`seqforge generate`"
            + (f" (for this checkpoint: {instead})." if instead else "; `seqforge evaluate` scores any checkpoint.")
        )
    lines = read_input_lines(args.input)
    blank = [number for number, line in enumerate(lines, start=1) if not line.strip()]
    examples = [line for line in lines if line.strip()]
    rows, notes = task.predict(module.model, module.data, examples, batch_size=args.batch_size)
    write_output_lines(args.output, rows)
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
        where = f"{'line' if len(blank) == 1 else 'lines'} {shown}"
        notes = [
            f"skipped {len(blank)} empty input line(s) ({where}); the outputs follow the other lines in order",
            *notes,
        ]
    print(f"seqforge: predicted {len(examples)} line(s)" + "".join(f"; {note}" for note in notes), file=sys.stderr)


# -- plugins --------------------------------------------------------------------------
def plugins(argv: list[str]) -> None:
    if argv and argv[0] == "new":
        from seqforge.scaffold import new_command

        return new_command(argv[1:])
    if argv and argv[0] == "check":
        from seqforge.plugin_check import check_command

        return check_command(argv[1:])
    if argv and argv[0] not in ("list",):
        fail(f"unknown `seqforge plugins` command '{argv[0]}'; expected: list, new, check.")
    from seqforge.plugin_listing import print_plugins
    from seqforge.plugin_manager import get_plugins

    print_plugins(get_plugins())


COMMANDS = {"train": train, "evaluate": evaluate, "generate": generate, "predict": predict, "plugins": plugins}


def plugin_commands() -> dict[str, Any]:
    """Subcommands registered by plugins (``registry.command``), by name."""
    from seqforge.plugin_manager import get_plugins

    return {c.name: c for c in get_plugins().registry.commands()}


def usage() -> str:
    """USAGE plus the plugins' commands."""
    extra = plugin_commands()
    if not extra:
        return USAGE
    rows = "\n".join(
        f"  seqforge {c.name:<18} {c.description}  [{c.provider.distribution or c.provider.plugin}]"
        for c in extra.values()
    )
    return USAGE + f"\nplugin commands:\n{rows}\n"


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in HELP_FLAGS:
        print(usage())
        return
    if argv[0] == "--version":
        print(f"seqforge {__version__}")
        return
    command = COMMANDS.get(argv[0])
    if command is None:
        extra = plugin_commands()
        if argv[0] in extra:
            command = extra[argv[0]].load()
        else:
            import difflib

            known = [*COMMANDS, *extra]
            close = difflib.get_close_matches(argv[0], known, n=1)
            fail(
                f"unknown command '{argv[0]}'; expected one of {', '.join(known)}."
                + (f" Did you mean '{close[0]}'?" if close else "")
            )
    try:
        command(argv[1:])
    except SeqforgeError as exc:
        fail(str(exc), code=getattr(exc, "exit_code", 1))  # a signal: 128 + its number


if __name__ == "__main__":
    main()
