"""Build any of the global attentions' score functions by name, for the local and hard attentions to reuse.

Local (Luong et al. 2015, §3.2) and hard attention (Xu et al. 2015) change
*where* and *how* the decoder attends, not how a position is scored: each
takes ``model.attention.score=dot|general|concat|bahdanau`` and scores with
that global attention's own ``project_memory`` and ``score`` (formulas in
:mod:`seqforge_attention.attention`).
"""

from __future__ import annotations

from torch import nn

from seqforge_attention.attention import (
    BahdanauAttention,
    LuongConcatAttention,
    LuongDotAttention,
    LuongGeneralAttention,
)

#: ``model.attention.score`` -> the global attention whose score function is used.
SCORES: dict[str, type[nn.Module]] = {
    "dot": LuongDotAttention,
    "general": LuongGeneralAttention,
    "concat": LuongConcatAttention,
    "bahdanau": BahdanauAttention,
}


def build_scorer(score: str, query_size: int, memory_size: int, attention_size: int | None, scale: bool) -> nn.Module:
    """The global attention named ``score``; only its ``project_memory`` and ``score`` methods are used.

    ``attention_size`` applies to ``concat``/``bahdanau`` and ``scale`` to ``dot``: setting
    either for another score is a mistake worth naming rather than ignoring.

    Raises:
        ValueError: an unknown ``score`` or a field that does not apply to it (the core names ``model.attention``).
    """
    if score not in SCORES:
        raise ValueError(f"model.attention.score must be one of {', '.join(SCORES)}, got {score!r}")
    if attention_size is not None and score not in ("concat", "bahdanau"):
        raise ValueError(f"model.attention.attention_size applies to score=concat or bahdanau, not score={score}; "
                         "leave it null")
    if scale and score != "dot":
        raise ValueError(f"model.attention.scale=true applies to score=dot, not score={score}")
    if score == "dot":
        return LuongDotAttention(query_size, memory_size, scale=scale)
    if score == "general":
        return LuongGeneralAttention(query_size, memory_size)
    return SCORES[score](query_size, memory_size, attention_size=attention_size)
