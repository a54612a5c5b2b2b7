"""Tagging: CoNLL reading (IOB1/IOB2, -DOCSTART-, columns), seqeval entity scores, unseen tags, the tagger."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from seqforge.api import ConfigError, DataError
from seqforge_labelled.conll import TaggingData, iob1_to_iob2, read_conll
from seqforge_labelled.tagging import tagging_scores

# CoNLL-2003 layout: token POS chunk NER, IOB1 (I- begins entities; B- only between two adjacent same-type entities).
IOB1 = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O
German JJ I-NP I-MISC
call NN I-NP O
. . O O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER
Paul NNP I-NP B-PER
Smith NNP I-NP I-PER
"""


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_reads_sentences_skipping_docstart_with_configurable_columns(tmp_path: Path) -> None:
    """Two sentences; -DOCSTART- is not a sentence; tag_column=1 reads the POS column instead"""
    path = write(tmp_path / "a.conll", IOB1)
    sentences, lines = read_conll(path, key="data.train")
    assert [tokens for tokens, _ in sentences] == [
        ["EU", "rejects", "German", "call", "."],
        ["Peter", "Blackburn", "Paul", "Smith"],
    ]
    assert sentences[0][1] == ["I-ORG", "O", "I-MISC", "O", "O"]
    assert lines[1] == [9, 10, 11, 12]
    pos, _ = read_conll(path, key="data.train", tag_column=1)
    assert pos[0][1] == ["NNP", "VBZ", "JJ", "NN", "."]


def test_iob1_becomes_iob2_with_the_same_entities() -> None:
    """I- that begins an entity becomes B-; B- between two PER entities stays; IOB2 input is unchanged"""
    iob1 = ["I-PER", "I-PER", "B-PER", "I-PER", "O", "I-LOC", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "I-PER", "O", "B-LOC", "B-ORG"]
    assert iob1_to_iob2(iob1) == iob2
    assert iob1_to_iob2(iob2) == iob2
    assert tagging_scores([iob2], [iob1], entities=True)["f1"] == 1.0  # seqeval finds the same 4 entities in both


def test_the_data_module_converts_an_iob1_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conll", IOB1)
    data = TaggingData(train=path, valid=path, test=path).prepare()
    assert data.scheme == "iob"
    assert data.sentences["train"][1][1] == ["B-PER", "I-PER", "B-PER", "I-PER"]
    assert data.sentences["train"][0][1] == ["B-ORG", "O", "B-MISC", "O", "O"]


def test_strict_iob2_refuses_an_iob1_file_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conll", IOB1)
    with pytest.raises(DataError, match=r"a\.conll, line 3 \(config key `data.train`\): 'I-ORG' begins an entity"):
        TaggingData(train=path, valid=path, test=path, scheme="iob2").prepare()


def test_wrong_number_of_columns_names_file_and_line(tmp_path: Path) -> None:
    """Line 4 has 3 columns where the file's first token line has 4"""
    path = write(tmp_path / "bad.conll", "EU NNP I-NP B-ORG\nrejects VBZ I-VP O\n\nGerman JJ B-MISC\n")
    with pytest.raises(DataError, match=r"bad\.conll, line 4 \(config key `data.valid`\): expected 4 "
                                        r"whitespace-separated column\(s\).*found 3"):
        read_conll(path, key="data.valid")


def test_a_tag_column_outside_the_file_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "a.conll", "EU B-ORG\n")
    with pytest.raises(ConfigError, match=r"data\.tag_column=3"):
        read_conll(path, key="data.train", tag_column=3)


def test_seqeval_entity_scores_on_a_hand_made_example() -> None:
    """Gold: PER(0-1), LOC(4), ORG(6); predicted: PER(0-1) right, LOC(4-5) wrong span, MISC(6) wrong type, ORG(8)
    spurious.
    Entities: 1 correct of 4 predicted, of 3 gold -> P 1/4, R 1/3, F1 2/7; tokens: 6 of 9 correct"""
    gold = [["B-PER", "I-PER", "O", "O", "B-LOC", "O", "B-ORG", "O", "O"]]
    pred = [["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "B-MISC", "O", "B-ORG"]]
    scores = tagging_scores(pred, gold, entities=True)
    assert scores["precision"] == pytest.approx(1 / 4)
    assert scores["recall"] == pytest.approx(1 / 3)
    assert scores["f1"] == pytest.approx(2 / 7)
    assert scores["token_acc"] == pytest.approx(6 / 9)


def test_plain_tags_get_token_accuracy_only(tmp_path: Path) -> None:
    path = write(tmp_path / "pos.conll", "EU NNP\nrejects VBZ\n\ncall NN\n")
    data = TaggingData(train=path, valid=path, test=path).prepare()
    assert data.scheme == "none"
    assert set(tagging_scores([["NNP"]], [["NN"]], entities=False)) == {"token_acc"}


def test_tags_unseen_in_training_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train = write(tmp_path / "train.conll", "EU B-ORG\nrejects O\n")
    test = write(tmp_path / "test.conll", "Paris B-LOC\nis O\nParis B-LOC\n")
    TaggingData(train=train, valid=train, test=test).prepare()
    assert "test split has 2 token(s) with 1 label(s) never seen in training: 'B-LOC' (2)" in capsys.readouterr().out
    with pytest.raises(DataError, match="B-LOC"):
        TaggingData(train=train, valid=train, test=test, unseen_labels="error").prepare()


def test_tagger_with_character_features_is_independent_of_batch_padding(tmp_path: Path) -> None:
    """A sentence gets the same tag scores alone and padded next to a longer one (words and characters masked)"""
    from seqforge.encoders import RecurrentEncoder
    from seqforge_labelled.tagging import CharWordEncoder, SequenceTagger
    from seqforge_rnn.cells import LSTMCell

    path = write(tmp_path / "a.conll", IOB1)
    data = TaggingData(train=path, valid=path, test=path).prepare()
    data.use_chars = True
    torch.manual_seed(0)
    chars = CharWordEncoder(
        encoder=RecurrentEncoder(cell=LSTMCell, input_size=4, hidden_size=3, bidirectional=True),
        vocab_size=len(data.chars),
        embedding_dim=4,
    )
    model = SequenceTagger(
        encoder=RecurrentEncoder(cell=LSTMCell, input_size=8 + 6, hidden_size=5, bidirectional=True),
        vocab_size=len(data.words),
        embedding_dim=8,
        num_tags=len(data.tags),
        chars=chars,
        dropout=0.0,
    ).eval()
    both = data.collate(data.encoded["train"])
    alone = data.collate(data.encoded["train"][1:])
    scores_both = model(both.words, both.lengths, both.chars)
    scores_alone = model(alone.words, alone.lengths, alone.chars)
    assert torch.allclose(scores_both[1, :4], scores_alone[0], atol=1e-5)


# -- the CRF output layer (task.output=crf) ---------------------------------------------------------


def _tagger(data: TaggingData, crf: bool):
    """A tiny tagger whose tag scores favour I-PER at every token (zero head weights, biased head)."""
    from seqforge.encoders import RecurrentEncoder
    from seqforge_labelled.crf import build_crf
    from seqforge_labelled.tagging import SequenceTagger
    from seqforge_rnn.cells import LSTMCell

    torch.manual_seed(0)
    model = SequenceTagger(
        encoder=RecurrentEncoder(cell=LSTMCell, input_size=8, hidden_size=5, bidirectional=True),
        vocab_size=len(data.words),
        embedding_dim=8,
        num_tags=len(data.tags),
        dropout=0.0,
        crf=build_crf(data.tags, "auto", iob=True) if crf else None,
    ).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.bias[data.tags.index("I-PER")] = 3.0
        model.head.bias[data.tags.index("B-PER")] = 2.0
    return model


def test_a_crf_tagger_tags_and_evaluates_with_constrained_viterbi(tmp_path: Path) -> None:
    """Scores favouring I-PER everywhere: softmax argmax tags I-PER I-PER ...; the CRF (IOB2) opens with B-PER, in tag()
    (seqforge predict and the printed examples) and in evaluation (the metrics)"""
    from seqforge_labelled.tagging import TaggingTask

    path = write(tmp_path / "a.conll", IOB1)
    data = TaggingData(train=path, valid=path, test=path).prepare()
    sentences = [["Peter", "Blackburn", "left"], ["Paul"]]
    softmax, crf = TaggingTask(), TaggingTask(output="crf")
    assert softmax.tag(_tagger(data, crf=False), data, sentences) == [["I-PER"] * 3, ["I-PER"]]
    assert crf.tag(_tagger(data, crf=True), data, sentences) == [["B-PER", "I-PER", "I-PER"], ["B-PER"]]
    crf.begin_evaluation(data, "test")
    sums, _ = crf.evaluation_step(_tagger(data, crf=True), data.collate(data.encoded["test"]), None, stateful=False)
    assert [p for p, _ in sums["texts"]] == [["B-PER"] + ["I-PER"] * 4, ["B-PER"] + ["I-PER"] * 3]


def test_crf_loss_leaves_out_sentences_holding_a_tag_unseen_in_training(tmp_path: Path) -> None:
    """A sentence with an IGNORE tag has no gold path: the summed NLL and the token count are those of the other
    sentence"""
    path = write(tmp_path / "a.conll", IOB1)
    data = TaggingData(train=path, valid=path, test=path).prepare()
    model = _tagger(data, crf=True)
    batch = data.collate(data.encoded["train"])
    scores = model(batch.words, batch.lengths)
    tags = batch.tags.clone()
    tags[0, 1] = -100  # IGNORE
    nll, tokens = model.nll(scores, tags, batch.lengths)
    alone, alone_tokens = model.nll(scores[1:], batch.tags[1:], batch.lengths[1:])
    assert tokens.item() == alone_tokens.item() == 4
    assert nll.item() == pytest.approx(alone.item())


def test_an_unknown_output_layer_is_a_config_error() -> None:
    from seqforge_labelled.tagging import TaggingTask

    with pytest.raises(ConfigError, match=r"task\.output must be one of softmax, crf.*got 'crf2'"):
        TaggingTask(output="crf2")
    with pytest.raises(ConfigError, match=r"task\.crf_constraints must be one of auto, iob2, none"):
        TaggingTask(output="crf", crf_constraints="bio")


def test_a_vocabulary_holding_omegaconf_syntax_survives_restoring(tmp_path: Path) -> None:
    """Tokens '???' (OmegaConf's MISSING) and '${x}' (an interpolation), e.g. in WNUT17 tweets, come back from a
    checkpoint's data state"""
    from omegaconf import OmegaConf

    from seqforge_labelled.tagging import TaggingTask

    path = write(tmp_path / "a.conll", "What O\n??? O\n${x} O\nParis B-LOC\n")
    cfg = OmegaConf.create(
        {"data": {"_target_": "seqforge_labelled.conll.TaggingData", "train": path, "valid": path, "test": path}}
    )
    state = TaggingTask().build_data(cfg).prepare().state()
    restored = TaggingTask(char_features=True).build_data(cfg, state=state)
    assert "???" in restored.words.itos and "${x}" in restored.words.itos and restored.tags == state["tags"]
    assert restored.use_chars


def test_singleton_unk_replaces_only_training_singletons_and_only_in_training(tmp_path: Path) -> None:
    """task.singleton_unk (Lample et al. 2016): words seen once in training become <unk> with that probability during
    training; words seen twice and padding never; evaluation sees the words as they are"""
    from seqforge.api import PAD_ID, UNK_ID
    from seqforge_labelled.tagging import TaggingTask

    path = write(tmp_path / "a.conll", IOB1 + "\nPeter NNP I-NP I-PER\nleft VBD I-VP O\n")
    data = TaggingData(train=path, valid=path, test=path).prepare()
    twice = data.words.stoi["Peter"]
    assert twice not in data.singleton_ids().tolist() and data.words.stoi["EU"] in data.singleton_ids().tolist()
    words = data.collate(data.encoded["train"]).words  # (B, T)
    singleton = torch.isin(words, data.singleton_ids())

    always = TaggingTask(singleton_unk=1.0)
    always._train_data = data
    replaced = always._replace_singletons(words)
    assert torch.equal(replaced[singleton], torch.full_like(words[singleton], UNK_ID))
    assert torch.equal(replaced[~singleton], words[~singleton])  # other words and padding untouched
    assert (words == PAD_ID).any() and (replaced == PAD_ID).sum() == (words == PAD_ID).sum()

    half = TaggingTask(singleton_unk=0.5)
    half._train_data = data
    torch.manual_seed(0)
    share = torch.stack(
        [(half._replace_singletons(words)[singleton] == UNK_ID).float().mean() for _ in range(200)]
    ).mean()
    assert 0.45 < share.item() < 0.55
    assert torch.equal(TaggingTask()._replace_singletons(words), words)  # 0: off
    with pytest.raises(ConfigError, match=r"task\.singleton_unk is a probability"):
        TaggingTask(singleton_unk=1.5)
