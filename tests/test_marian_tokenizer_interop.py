"""MarianTokenizer parity with Hugging Face's (skipped without ``transformers`` and ``sentencepiece``).

Marian directories are built as Hugging Face's conversion builds them (tests/fixtures/marian_dirs.py):
source.spm trained on KJV verses, target.spm on the Chinese poems, vocab.json = </s>, <unk>,
language codes, the pieces of both models, <pad>. Shared and separate vocabularies.
"""

import warnings

import numpy as np
import pytest

from fixtures.marian_dirs import write_marian_dir
from minigrad.tokenizers import MarianTokenizer
from test_sentencepiece_interop import EN, EN_TEST, TRICKY, ZH, ZH_TEST

pytestmark = pytest.mark.interop
spm = pytest.importorskip("sentencepiece")
transformers = pytest.importorskip("transformers")

CODES = [">>cmn_Hans<<", ">>yue_Hant<<"]


def _pieces(path):
    sp = spm.SentencePieceProcessor(model_file=path)
    return [sp.id_to_piece(i) for i in range(len(sp)) if not (sp.is_control(i) or sp.is_unknown(i))]


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("marian_hf")
    (root / "en.txt").write_text("\n".join(EN[::4]), encoding="utf-8")
    (root / "zh.txt").write_text("\n".join(ZH), encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(root / "en.txt"), model_prefix=str(root / "src"), vocab_size=2000,
                                   minloglevel=2, num_threads=2)
    spm.SentencePieceTrainer.train(input=str(root / "zh.txt"), model_prefix=str(root / "tgt"), vocab_size=3000,
                                   model_type="bpe", byte_fallback=True, character_coverage=0.98, minloglevel=2,
                                   num_threads=2)
    src, tgt = str(root / "src.model"), str(root / "tgt.model")
    out = {}
    for separate in (False, True):
        d = write_marian_dir(root / f"sep{int(separate)}", src, tgt, _pieces(src), _pieces(tgt),
                             lang_codes=CODES, separate_vocabs=separate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")            # "Recommended: pip install sacremoses."
            hf = transformers.MarianTokenizer.from_pretrained(d)
        out[separate] = (MarianTokenizer.from_pretrained(d), hf)
    return out


SOURCES = EN_TEST[::2] + [f"{code} {t}" for code in CODES for t in EN_TEST[:50]] + TRICKY + [">>cmn_Hans<<", ">>x"]
TARGETS = ZH_TEST[::2] + TRICKY


@pytest.mark.parametrize("separate", [False, True])
def test_same_ids_as_hugging_face(dirs, separate):
    ours, hf = dirs[separate]
    assert ours.vocab_size == hf.vocab_size and sorted(ours.all_special_tokens) == sorted(hf.all_special_tokens)
    bad = [t for t in SOURCES if ours(t).input_ids != hf(t)["input_ids"]]
    assert not bad, f"{len(bad)}/{len(SOURCES)} sources differ, e.g. {bad[:3]}"
    bad = [t for t in TARGETS if ours(text_target=t).input_ids != hf(text_target=t)["input_ids"]]
    assert not bad, f"{len(bad)}/{len(TARGETS)} targets differ, e.g. {bad[:3]}"


@pytest.mark.parametrize("separate", [False, True])
def test_batches_as_hugging_face(dirs, separate):
    ours, hf = dirs[separate]
    for start in range(0, 64, 16):
        src, tgt = SOURCES[start:start + 16], TARGETS[start:start + 16]
        for kwargs in (dict(padding=True), dict(padding=True, truncation=True, max_length=12),
                       dict(padding="max_length", truncation=True, max_length=40)):
            a = ours(src, text_target=tgt, return_tensors="np", **kwargs)
            b = hf(src, text_target=tgt, return_tensors="np", **kwargs)
            assert sorted(a) == sorted(b)
            for key in b:
                np.testing.assert_array_equal(a[key], np.asarray(b[key]), err_msg=f"{key} {kwargs}")


@pytest.mark.parametrize("separate", [False, True])
def test_decode_as_hugging_face(dirs, separate):
    ours, hf = dirs[separate]
    rows = [hf(t)["input_ids"] for t in SOURCES[:300]] + [hf(text_target=t)["input_ids"] for t in TARGETS[:300]]
    rows += [[hf.pad_token_id] + r for r in rows[-50:]]          # generated: <pad> first
    for ids in rows:
        for skip in (False, True):
            for use_source in (None, False):
                kw = {} if use_source is None else dict(use_source_tokenizer=use_source)
                assert ours.decode(ids, skip_special_tokens=skip, **kw) == \
                    hf.decode(ids, skip_special_tokens=skip, **kw), (ids, skip, use_source)
    batch = np.asarray(hf(TARGETS[:20], padding=True)["input_ids"])
    assert ours.batch_decode(batch, skip_special_tokens=True) == hf.batch_decode(batch, skip_special_tokens=True)


@pytest.mark.parametrize("separate", [False, True])
def test_hugging_face_reads_our_saved_directory(dirs, separate, tmp_path):
    ours, hf = dirs[separate]
    ours.save_pretrained(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = transformers.MarianTokenizer.from_pretrained(tmp_path)
    for text in SOURCES[:100]:
        assert again(text)["input_ids"] == hf(text)["input_ids"]
    for text in TARGETS[:100]:
        assert again(text_target=text)["input_ids"] == hf(text_target=text)["input_ids"]
