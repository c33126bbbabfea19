"""全唐诗, bundled and cleaned; poem corpora split by poem (minigrad.data)."""
import re

import numpy as np
import pytest

from minigrad.data import (END_OF_TEXT, LMData, Poem, clean_verse, document_split, load_documents,
                           quantangshi_poems, split_by_position, split_documents, tang_poems)
from minigrad.tokenizers import CharTokenizer

VERSE = re.compile(r"^(?:[^\s，。？！；：、]+[，。？！；：、])+$")


def test_quantangshi_is_bundled_as_clean_verse():
    poems = quantangshi_poems()
    assert len(poems) == 53_583                          # of 57,603: apparatus, commentary, repeats out
    assert len({p.lines for p in poems}) == len(poems)   # no poem twice
    text = "\n".join(p.text for p in poems)
    assert "\r" not in text and "\n\n" not in text and "（" not in text and "□" not in text
    assert all(VERSE.match(line) for p in poems[::50] for line in p.lines)
    assert 3_000_000 < sum(len(p.text) for p in poems) < 3_700_000
    jingyesi = [p for p in poems if p.author == "李白" and "静夜思" in p.title]
    assert jingyesi and jingyesi[0].lines[0] == "床前看月光，疑是地上霜。"     # the Qing text
    assert any(p.author == "孟浩然" and p.lines[0] == "春眠不觉晓，处处闻啼鸟。" for p in poems)
    forms = {}
    for p in poems:
        forms[p.form] = forms.get(p.form, 0) + 1
    assert forms == {"五言律诗": 14_696, "七言绝句": 10_620, "五言": 9_455, "七言律诗": 8_189,
                     "杂言": 4_891, "五言绝句": 3_943, "七言": 1_789}


def test_clean_verse_cuts_notes_and_refuses_an_apparatus():
    assert clean_verse(["逻人（一作「叉」）横鸟道，江祖出鱼梁。"]) == ("逻人横鸟道，江祖出鱼梁。",)
    assert clean_verse(["城边问官使：「早晚发西京？」", "。"]) == ("城边问官使：早晚发西京？",)
    assert clean_verse(["[爽]节在重九，物华新雨余。"]) == ("爽节在重九，物华新雨余。",)
    for bad in (["绶吐芽犹嫩，冰□已镂津。"],                        # a lost character
                ["簪玉步河堤，妖韶援绿{𥫗/戢}。"],                    # a spelled-out character
                ["〖10〗《弹》首句作「侠客遥相望」。"],                 # a footnote
                ["好诗一首，", "（按：此诗全唐诗卷三已收入。"]):         # a note over a line break
        assert clean_verse(bad) is None, bad


def test_poem_forms():
    assert Poem("", "", ("春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。")).form == "五言绝句"
    assert Poem("", "", ("朝辞白帝彩云间，千里江陵一日还。",) * 4).form == "七言律诗"
    assert Poem("", "", ("独独漉漉，鼠食猫肉。",)).form == "杂言"
    assert Poem("", "", ("白日依山尽，",)).line_lengths == (5,)


def test_split_by_poem_keeps_every_poem_whole_and_in_one_place():
    docs = load_documents("tang")
    train, val, test = split_documents(docs, 0.1, 0.1)
    assert len(train) + len(val) + len(test) == len(docs) == 313
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    assert 15 <= len(val) <= 50 and 15 <= len(test) <= 50
    # a poem's split is a function of its text: the same wherever it sits and whatever else is there
    assert [document_split(d, 0.1, 0.1) for d in val] == ["val"] * len(val)
    assert split_documents(list(reversed(docs)) + val[:3], 0.1, 0.1)[1] == list(reversed(val)) + val[:3]
    with pytest.raises(ValueError, match="no validation documents"):
        split_documents(train[:2], 0.01, 0.01)
    with pytest.raises(ValueError, match="leave data to train on"):
        split_documents(docs, 0.5, 0.5)


def test_lm_data_from_documents_ends_every_poem_with_end_of_text():
    docs = load_documents("tang")
    tok = CharTokenizer.from_text("".join(docs), special_tokens=[END_OF_TEXT], eos_token=END_OF_TEXT)
    data = LMData.from_documents(docs, tok, block_size=32, val_fraction=0.1, test_fraction=0.1)
    _, val, test = split_documents(docs, 0.1, 0.1)
    assert data.unit == "document" and data.documents == {"train": 313 - len(val) - len(test),
                                                          "val": len(val), "test": len(test)}
    assert tok.decode(data.val.ids.tolist()) == "".join(d + END_OF_TEXT for d in val)
    assert tok.decode(data.test.ids.tolist()).split(END_OF_TEXT)[:-1] == test
    assert int((data.train.ids == tok.eos_token_id).sum()) == data.documents["train"]


def test_split_by_position_three_ways():
    train, val, test = split_by_position(np.arange(100), 0.1, 0.2)
    assert (train.tolist(), val.tolist(), test.tolist()) == (list(range(70)), list(range(70, 80)),
                                                             list(range(80, 100)))
    assert [len(p) for p in split_by_position(np.arange(10), 0.2)] == [8, 2]   # two ways, as before


def test_tang300_is_still_a_data_set():
    assert len(tang_poems()) == 313 and len(load_documents("tang")) == 313
    assert load_documents("kjv") is None                 # split by position, not by document
