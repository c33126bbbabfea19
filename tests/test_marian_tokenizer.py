"""MarianTokenizer on a hand-built directory (tiny .spm files from tests/fixtures; no sentencepiece,
no transformers): vocab.json ids, language codes, </s>, padding/truncation, labels, decode."""

import json
import os

import numpy as np
import pytest

from fixtures.marian_dirs import marian_vocab, write_marian_dir
from fixtures.spm_models import specials, write_model
from minigrad.tokenizers import MarianTokenizer, SentencePieceTokenizer

U = "\u2581"
SOURCE = [U, U + "In", U + "the", U + "beginning", U + "God", "."] + list("Inthebgodsaw")
TARGET = [U, "起初", "神", "创造", "天地", "。", "，"] + list("起初创造天地")


def _spm(path, pieces):
    scored = [(p, -1.0 if len(p) > 1 or p in ".。，神" else -5.0) for p in dict.fromkeys(pieces)]
    return write_model(path, specials() + scored)


@pytest.fixture(scope="module")
def marian_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("marian")
    src, tgt = _spm(root / "src.spm", SOURCE), _spm(root / "tgt.spm", TARGET)
    shared = write_marian_dir(root / "shared", src, tgt, dict.fromkeys(SOURCE), dict.fromkeys(TARGET),
                              lang_codes=[">>cmn_Hans<<", ">>yue_Hant<<"])
    separate = write_marian_dir(root / "separate", src, tgt, dict.fromkeys(SOURCE), dict.fromkeys(TARGET),
                                separate_vocabs=True)
    return shared, separate


def vocab_of(directory, name="vocab.json"):
    with open(os.path.join(directory, name), encoding="utf-8") as f:
        return json.load(f)


def test_ids_are_vocab_json_ids_with_eos(marian_dir):
    shared, _ = marian_dir
    tok = MarianTokenizer.from_pretrained(shared)
    vocab = vocab_of(shared)
    pieces = [U + "In", U + "the", U + "beginning", U + "God", "."]
    ids = tok("In the beginning God.").input_ids
    assert ids == [vocab[p] for p in pieces] + [vocab["</s>"]]
    spm_ids = SentencePieceTokenizer(os.path.join(shared, "source.spm")).encode("In the beginning God.")
    assert ids[:-1] != spm_ids                              # the point: Marian ids are not .spm ids
    assert (tok.eos_token_id, tok.unk_token_id, tok.pad_token_id) == (0, 1, len(vocab) - 1)
    assert tok.vocab_size == len(vocab) and tok.source_lang == "en" and tok.target_lang == "zh"


def test_language_code_and_unknown_pieces(marian_dir):
    shared, _ = marian_dir
    tok = MarianTokenizer.from_pretrained(shared)
    vocab = vocab_of(shared)
    assert tok.supported_language_codes == [">>cmn_Hans<<", ">>yue_Hant<<"]
    assert tok(">>cmn_Hans<< In the").input_ids == [vocab[">>cmn_Hans<<"], vocab[U + "In"], vocab[U + "the"], 0]
    assert tok(">>xx<< In").input_ids == [1, vocab[U + "In"], 0]          # a code not in the vocab: <unk>
    assert tok("In ZZ the").input_ids == [vocab[U + "In"], vocab[U], 1, vocab[U + "the"], 0]   # ZZ: one <unk>
    assert tok("In </s> the").input_ids == [vocab[U + "In"], 0, vocab[U + "the"], 0]  # a special token stays whole
    assert tok("").input_ids == [0]


def test_batch_padding_truncation_and_labels(marian_dir):
    shared, _ = marian_dir
    tok = MarianTokenizer.from_pretrained(shared)
    vocab, pad = vocab_of(shared), tok.pad_token_id
    batch = tok(["In the beginning God.", "God"], text_target=["起初，神创造天地。", "神"], padding=True,
                return_tensors="np")
    assert sorted(batch) == ["attention_mask", "input_ids", "labels"]
    assert batch.input_ids.shape == (2, 6) and batch.input_ids.dtype == np.int64
    assert batch.input_ids[1].tolist() == [vocab[U + "God"], 0, pad, pad, pad, pad]
    assert batch.attention_mask[1].tolist() == [1, 1, 0, 0, 0, 0]
    target = [U, "起初", "，", "神", "创造", "天地", "。"]
    assert batch.labels[0].tolist() == [vocab[p] for p in target] + [0]
    assert batch.labels[1].tolist() == [vocab[U], vocab["神"], 0] + [pad] * 5
    with tok.as_target_tokenizer():
        assert tok("神").input_ids == batch.labels[1][:3].tolist()
    assert tok(text_target="神").input_ids == batch.labels[1][:3].tolist()
    # The source .spm does not know 天, 地, 。: one unknown piece "天地。", not in vocab.json -> <unk>.
    assert tok("天地。").input_ids == [vocab[U], 1, 0]
    assert tok(text_target="天地。").input_ids == [vocab[U], vocab["天地"], vocab["。"], 0]
    cut = tok(["In the beginning God."], truncation=True, max_length=3).input_ids[0]
    assert cut == [vocab[U + "In"], vocab[U + "the"], 0]               # cut to max_length - 1, then </s>
    fixed = tok("God", padding="max_length", max_length=4).input_ids
    assert fixed == [vocab[U + "God"], 0, pad, pad]
    with pytest.raises(ValueError, match="text"):
        tok()


def test_decode(marian_dir):
    shared, _ = marian_dir
    tok = MarianTokenizer.from_pretrained(shared)
    ids = tok(["In the beginning God.", "God"], padding=True).input_ids
    assert tok.decode(ids[0], skip_special_tokens=True) == "In the beginning God."
    assert tok.decode(ids[0]) == "In the beginning God.</s>"
    assert tok.decode(ids[1]) == "God</s> <pad> <pad> <pad> <pad>"      # Hugging Face's spacing
    assert tok.batch_decode(np.array(ids), skip_special_tokens=True) == ["In the beginning God.", "God"]
    labels = tok(text_target="起初，神创造天地。").input_ids
    assert tok.decode(labels, skip_special_tokens=True, use_source_tokenizer=False) == "起初，神创造天地。"
    # A generated sequence starts with the decoder start token <pad>.
    assert tok.decode([tok.pad_token_id] + labels, skip_special_tokens=True, use_source_tokenizer=False) \
        == "起初，神创造天地。"
    with pytest.raises(ValueError, match="unknown token id"):
        tok.decode([tok.vocab_size])


def test_separate_vocabs(marian_dir):
    _, separate = marian_dir
    tok = MarianTokenizer.from_pretrained(separate)
    src_vocab, tgt_vocab = vocab_of(separate), vocab_of(separate, "target_vocab.json")
    assert tok("God").input_ids == [src_vocab[U + "God"], 0]
    labels = tok(text_target="神。").input_ids
    assert labels == [tgt_vocab[U], tgt_vocab["神"], tgt_vocab["。"], 0]
    assert tok.decode(labels, skip_special_tokens=True) == "神。"     # target vocab + target.spm
    assert tok.get_tgt_vocab() == tgt_vocab and tok.supported_language_codes == []
    # vocab.json's special ids mean the special tokens, also when decoding with the target vocab.
    assert tok.pad_token_id == len(src_vocab) - 1 and tgt_vocab["<pad>"] != tok.pad_token_id
    assert tok.decode([tok.pad_token_id] + labels) == "<pad> 神。</s>"
    assert tok.decode(np.array([tok.pad_token_id] + labels), skip_special_tokens=True) == "神。"


def test_save_pretrained_round_trip(marian_dir, tmp_path):
    shared, _ = marian_dir
    tok = MarianTokenizer.from_pretrained(shared)
    tok.save_pretrained(tmp_path / "copy")
    assert sorted(os.listdir(tmp_path / "copy")) == ["source.spm", "target.spm", "tokenizer_config.json",
                                                     "vocab.json"]
    again = MarianTokenizer.from_pretrained(tmp_path / "copy")
    text = ">>cmn_Hans<< In the beginning God."
    assert again(text).input_ids == tok(text).input_ids
    assert again(text_target="起初").input_ids == tok(text_target="起初").input_ids


def test_bad_directories_are_refused(marian_dir, tmp_path):
    shared, _ = marian_dir
    with pytest.raises(FileNotFoundError, match="not a directory"):
        MarianTokenizer.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="source.spm"):
        MarianTokenizer.from_pretrained(tmp_path / "empty")
    src = os.path.join(shared, "source.spm")
    bad = tmp_path / "vocab.json"
    bad.write_text(json.dumps({"<unk>": 0, "a": 5}))
    with pytest.raises(ValueError, match="outside 0..1"):
        MarianTokenizer(src, src, bad)
    bad.write_text(json.dumps({"a": 0, "</s>": 1, "<pad>": 2}))
    with pytest.raises(ValueError, match="unknown token"):
        MarianTokenizer(src, src, bad)
    bad.write_text(json.dumps(marian_vocab(["x"]))[:-3])
    with pytest.raises(ValueError, match="not valid JSON"):
        MarianTokenizer(src, src, bad)


def test_auto_tokenizer_knows_a_marian_directory_by_its_files_alone(marian_dir, tmp_path):
    import shutil

    from minigrad.models import AutoTokenizer
    shared, _ = marian_dir
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("source.spm", "target.spm", "vocab.json"):          # no config.json, no tokenizer_config
        shutil.copy(os.path.join(shared, name), bare / name)
    tok = AutoTokenizer.from_pretrained(bare)
    assert isinstance(tok, MarianTokenizer)
    text = ">>cmn_Hans<< In the beginning God."
    assert tok(text).input_ids == MarianTokenizer.from_pretrained(shared)(text).input_ids
