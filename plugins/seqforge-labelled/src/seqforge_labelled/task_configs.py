"""Config dataclasses of the classification, tagging and one-to-many tasks (import-light: no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field

from seqforge.api import DecodeConfig


@dataclass
class ClassificationTaskConfig:
    """``task=classify``: one label per sequence from pooled encoder outputs."""

    pooling: str = "mean"  # last|mean|max|attention|structured, always over real (unpadded) steps
    # structured (Lin et al. 2017): r hops of d_a-unit attention, loss + pooling_penalty * ||AA^T - I||_F^2
    # (the paper: r=30, d_a=350, coefficient 1.0; smaller here for the small demos)
    pooling_hops: int = 4
    pooling_hidden: int = 64
    pooling_penalty: float = 0.1
    label_smoothing: float = 0.0
    show_examples: int = 8  # test examples printed after training (with a confusion summary)


@dataclass
class DocumentClassificationTaskConfig:
    """``task=doc_classify``: a hierarchical attention network (Yang et al. 2016) over ``data=documents``."""

    label_smoothing: float = 0.0
    show_examples: int = 4  # test documents printed after training
    attention_size: int = 0  # width of the word/sentence context vectors u_w, u_s (0: the encoder's output size)


@dataclass
class TaggingTaskConfig:
    """``task=tag``: one tag per token (BiLSTM-style tagger, any encoder)."""

    # add a character-level encoding of each word (same cell as the word encoder, bidirectional)
    char_features: bool = False
    char_embedding_dim: int = 16
    char_hidden_size: int = 25  # per direction
    show_examples: int = 3  # test sentences printed after training
    # softmax (independent per-token tags)|crf (linear-chain CRF: learned transitions, Viterbi decoding)
    output: str = "softmax"
    # auto (iob2 for IOB data, else none)|iob2 (forbid O -> I-X and other I-X not after B-X/I-X)|none
    crf_constraints: str = "auto"
    # Lample et al. 2016: in training, a word seen once is replaced by <unk> with this probability, so the <unk>
    # embedding learns to stand for the unseen words of new text (0.5 in the paper; 0 = off).
    singleton_unk: float = 0.0


@dataclass
class ConditionalTaskConfig:
    """``task=conditional``: generate a sequence from one vector (an embedded label or a feature vector)."""

    condition: str = "both"  # init (the decoder's initial state)|input (concatenated at every step)|both
    condition_dim: int = 64  # size of the embedded condition
    decode: DecodeConfig = field(default_factory=lambda: DecodeConfig(max_len=200, max_len_ratio=0.0))
    show_examples: int = 2  # generated sequences printed per condition after training
    show_conditions: int = 10  # how many conditions (labels or test vectors) to show
