"""The KJV → 和合本 translation data (data/translation.py): the join, the splits by chapter and
by book, the tokenizers' special ids, encoding round trips and deterministic batches."""
import numpy as np
import pytest

from minigrad.data import (VersePair, build_translation_data, cuv_books, cuv_verses, kjv_verses,
                           load_verse_pairs, split_verse_pairs)
from minigrad.data.translation import EOS_ID, IGNORE_INDEX, PAD_ID


@pytest.fixture(scope="module")
def pairs():
    return load_verse_pairs()


@pytest.fixture(scope="module")
def small_data():
    return build_translation_data(max_pairs=600, source_vocab_size=400)


def test_cuv_is_bundled_and_joins_the_kjv(pairs):
    assert len(cuv_verses()) == 31102 and len(kjv_verses()) == 31102
    assert len(cuv_books()) == 66 and cuv_books()["Ge"]["book_zh"] == "创世纪"
    assert len(pairs) == 31100
    first = pairs[0]
    assert (first.book, first.chapter, first.verse) == ("Ge", 1, 1)
    assert first.en.startswith("In the beginning God created") and first.zh == "起初 神创造天地。"
    assert len({(p.book, p.chapter, p.verse) for p in pairs}) == len(pairs)
    merged = [p for p in pairs if p.zh.strip("。 ") == "见上节"]     # joined to the verse before
    assert len(merged) == 70 and len(load_verse_pairs(skip_merged=True)) == 31100 - 70


@pytest.mark.parametrize("by", ["chapter", "book"])
def test_splits_are_disjoint_whole_units_and_cover_everything(pairs, by):
    s = split_verse_pairs(pairs, by=by)
    assert len(s.train) + len(s.val) + len(s.test) == len(pairs)
    unit = (lambda p: (p.book, p.chapter)) if by == "chapter" else (lambda p: p.book)
    units = [{unit(p) for p in part} for part in (s.train, s.val, s.test)]
    assert not units[0] & units[1] and not units[0] & units[2] and not units[1] & units[2]
    keys = [{(p.book, p.chapter, p.verse) for p in part} for part in (s.train, s.val, s.test)]
    assert not keys[0] & keys[1] and not keys[0] & keys[2] and not keys[1] & keys[2]
    if by == "chapter":                    # 1,189 chapters: 59 held out for each of val and test
        assert len(units[1]) == len(units[2]) == 59
        assert len(units[0]) == 1189 - 118
    else:
        assert len(units[1]) == len(units[2]) == 3


def test_split_is_deterministic_and_depends_on_the_seed(pairs):
    a, b = split_verse_pairs(pairs, seed=0), split_verse_pairs(pairs, seed=0)
    assert a == b
    c = split_verse_pairs(pairs, seed=1)
    assert {(p.book, p.chapter) for p in a.test} != {(p.book, p.chapter) for p in c.test}


def test_split_refuses_bad_options(pairs):
    with pytest.raises(ValueError, match="by must be"):
        split_verse_pairs(pairs, by="verse")
    with pytest.raises(ValueError, match="val_fraction"):
        split_verse_pairs(pairs, val_fraction=0.6, test_fraction=0.5)
    with pytest.raises(ValueError, match="too few"):
        split_verse_pairs(pairs[:40], by="chapter")          # Genesis 1 and 2: two chapters


def test_tokenizers_have_marian_special_ids_and_round_trip(small_data):
    src, tgt = small_data.source_tokenizer, small_data.target_tokenizer
    assert (src.pad_token_id, src.eos_token_id) == (PAD_ID, EOS_ID)
    assert (tgt.pad_token_id, tgt.eos_token_id) == (PAD_ID, EOS_ID)
    assert src.vocab_size <= 400
    text = small_data.splits.train[3].en
    assert src.decode(src.encode(text, add_special_tokens=False)) == text
    zh = small_data.splits.train[3].zh
    ids, mask, labels = small_data.encode("train")
    row = labels[3][labels[3] != IGNORE_INDEX]
    assert row[-1] == EOS_ID and small_data.decode(row) == zh
    assert ids[3, mask[3].sum() - 1] == EOS_ID and (ids[3, mask[3].sum():] == PAD_ID).all()


def test_unknown_chinese_characters_become_unk(small_data):
    tgt = small_data.target_tokenizer
    labels = small_data.encode_target(["起初鼹"])            # 鼹 (a mole) is not in Genesis 1-23
    assert labels[0].tolist() == [tgt.convert_tokens_to_ids("起"), tgt.convert_tokens_to_ids("初"),
                                  tgt.unk_token_id, EOS_ID]


def test_long_verses_are_cut_and_still_end_with_eos():
    data = build_translation_data(max_pairs=300, source_vocab_size=300, max_source_length=8,
                                  max_target_length=6)
    ids, mask, labels = data.encode("val")
    assert ids.shape[1] <= 8 and labels.shape[1] <= 6
    for i in range(len(ids)):
        assert ids[i, mask[i].sum() - 1] == EOS_ID
        assert labels[i][labels[i] != IGNORE_INDEX][-1] == EOS_ID


def test_batches_are_a_pure_function_of_step_and_seed(small_data):
    a = small_data.batch(7, 8, seed=3)
    b = small_data.batch(7, 8, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(small_data.batch_indices(7, 8, 3), small_data.batch_indices(8, 8, 3))
    assert not np.array_equal(small_data.batch_indices(7, 8, 3), small_data.batch_indices(7, 8, 4))
    src, mask, labels = a
    assert src.shape == mask.shape and src.shape[0] == labels.shape[0] == 8
    assert mask[:, -1].any() and (labels[:, -1] != IGNORE_INDEX).any()   # no all-padding column


def test_one_epoch_visits_every_training_pair_once(small_data):
    n = len(small_data.splits.train)
    epoch = np.concatenate([small_data.batch_indices(s, 10, seed=0) for s in range(n // 10)])
    assert len(set(epoch.tolist())) == len(epoch) == n - n % 10
    rest = small_data.batch_indices(n // 10, 10, seed=0)       # crosses into the next epoch
    assert len(rest) == 10 and rest.max() < n


def test_a_handmade_split_is_used_as_given():
    from minigrad.data import TranslationSplits
    train = tuple(VersePair("X", 1, i, f"the word {i}", "道" * (i + 1)) for i in range(5))
    val = (VersePair("X", 2, 1, "the word", "道"),)
    data = build_translation_data(TranslationSplits(train, val, val), source_vocab_size=270)
    assert data.describe()["pairs"] == [5, 1, 1]
    assert data.target_tokenizer.convert_tokens_to_ids("道") == 3           # after pad, eos, unk


def test_length_buckets_keep_every_pair_once_and_cut_the_padding(small_data):
    from minigrad.data import TranslationData
    bucketed = TranslationData(small_data.splits, small_data.tokenizers, small_data.max_source_length,
                               small_data.max_target_length, length_buckets=4)
    n, B = len(small_data.splits.train), 8
    for epoch in (0, 1):
        order = bucketed.epoch_order(epoch, B, seed=0)
        assert sorted(order.tolist()) == list(range(n))                # a permutation: each pair once
    assert not np.array_equal(bucketed.epoch_order(0, B, 0), bucketed.epoch_order(1, B, 0))
    again = TranslationData(small_data.splits, small_data.tokenizers, small_data.max_source_length,
                            small_data.max_target_length, length_buckets=4)      # a fresh one (--resume)
    assert np.array_equal(bucketed.batch_indices(3, B, 0), again.batch_indices(3, B, 0))

    def padding(data):
        _, mask, labels = data.encode("train")
        length = mask.sum(1) + (labels != IGNORE_INDEX).sum(1)
        waste = 0
        for s in range(n // B):
            rows = length[data.batch_indices(s, B, seed=0)]
            waste += int((rows.max() - rows).sum())
        return waste

    assert padding(bucketed) < 0.6 * padding(small_data)
    with pytest.raises(ValueError, match="length_buckets"):
        TranslationData(small_data.splits, small_data.tokenizers, length_buckets=-1)


def test_the_tokenizer_pair_is_called_as_marian_tokenizer(small_data):
    tok = small_data.tokenizers
    enc = tok(["In the beginning", "God"], return_tensors="np")
    ids, mask = small_data.encode_source(["In the beginning", "God"])
    assert np.array_equal(enc["input_ids"], ids) and np.array_equal(enc["attention_mask"], mask)
    lists = tok("God", text_target="神")
    assert lists["input_ids"][0][-1] == EOS_ID and lists["labels"] == [[tok.target.encode("神")[0], EOS_ID]]
    with pytest.raises(ValueError, match="text_target"):
        tok()
