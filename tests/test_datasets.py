"""Language-model windows and the classification sets (minigrad.data.datasets)."""
import re

import numpy as np
import pytest

from minigrad.data import (LMData, TokenWindows, classification_task, encode_texts, kjv_genre,
                           load_text, sentiment, split_by_position, step_rng, tang_author, tang_form)
from minigrad.tokenizers import CharTokenizer


def test_windows_targets_are_inputs_shifted_by_one():
    ids = np.arange(100)
    w = TokenWindows(ids, block_size=8)
    x, y = w.batch(5, step_rng(0, 3))
    assert x.shape == y.shape == (5, 8)
    np.testing.assert_array_equal(y, x + 1)
    x2, _ = w.batch(5, step_rng(0, 3))
    np.testing.assert_array_equal(x, x2)                 # a pure function of (seed, step)
    assert not np.array_equal(x, w.batch(5, step_rng(0, 4))[0])
    evals = list(w.eval_batches(4))
    starts = np.concatenate([b[0][:, 0] for b in evals])
    np.testing.assert_array_equal(starts, np.arange(0, 92, 8))   # non-overlapping, in order
    with pytest.raises(ValueError, match="too few"):
        TokenWindows(np.arange(5), block_size=8)


def test_split_by_position_and_lm_data():
    train, val = split_by_position(np.arange(10), 0.2)
    assert train.tolist() == list(range(8)) and val.tolist() == [8, 9]
    text = load_text("tang")
    tok = CharTokenizer.from_text(text)
    data = LMData.from_text(text, tok, block_size=32)
    assert abs(len(data.val.ids) - 0.1 * len(text)) <= 1           # one id per character
    assert tok.decode(data.val.ids[:5].tolist()) == text[len(data.train.ids):][:5]


def test_load_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_text(str(tmp_path / "none.txt"))
    (tmp_path / "e.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="is empty"):
        load_text(str(tmp_path / "e.txt"))


def test_kjv_genre_labels_come_from_the_books_table():
    ds = kjv_genre()
    assert len(ds) == 31102 and ds.num_labels == 7
    assert ds.counts() == {"Law": 5852, "History": 8025, "Wisdom": 4785, "Prophets": 5490,
                           "Gospels": 3779, "Epistles": 2767, "Apocalyptic": 404}
    assert ds.label_names[ds.labels[0]] == "Law"                       # Genesis 1:1
    train, test = ds.split(0.2, seed=0)
    assert len(train) + len(test) == len(ds) and not set(train.texts[:50]) & set(test.texts)
    small = train.sample(70, seed=1)
    assert set(small.counts().values()) == {10}                        # balanced


def test_tang_form_and_author():
    form = tang_form()
    assert form.counts() == {"五言": 155, "七言": 136}
    for text, label in zip(form.texts, form.labels):
        lengths = {len(s) for s in re.split(r"[，。？！；、：\n]", text) if s}
        assert lengths == ({5} if label == 0 else {7})
    authors = tang_author(top=5)
    assert authors.label_names[:2] == ["杜甫", "王维"] and len(authors) == 136


def test_sentiment_set_is_balanced_held_out_and_not_one_keyword():
    train, test = sentiment("train"), sentiment("test")
    assert train.counts() == {"negative": 600, "positive": 600}
    assert test.counts() == {"negative": 150, "positive": 150}
    assert not {t.lower() for t in train.texts} & {t.lower() for t in test.texts}
    words = lambda t: set(re.findall(r"[a-z']+", t.lower()))
    for w in ("great", "boring", "not", "but", "recommend"):
        labels = {int(l) for t, l in zip(train.texts, train.labels) if w in words(t)}
        assert labels == {0, 1}, w                                      # under both labels
    assert classification_task("sentiment")[1].name == "sentiment-test"


def test_encode_texts_pads_and_prepends_cls():
    tok = CharTokenizer.from_text("abc", special_tokens=["[PAD]", "[CLS]"], pad_token="[PAD]",
                                  cls_token="[CLS]")
    ids, mask = encode_texts(tok, ["ab", "abcabc"], max_length=4, cls_token="[CLS]")
    assert ids.shape == (2, 4) and mask.tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]
    assert ids[0, 0] == tok.cls_token_id and ids[0, 3] == tok.pad_token_id
