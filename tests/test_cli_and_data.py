"""The bundled corpora and the `minigrad` command."""
import re
import subprocess
import sys

from minigrad.cli import main
from minigrad.data import kjv_books, kjv_text, kjv_verses, song_poems, tang_poems, tang_text


def test_tang_poems_parse_with_titles_and_authors():
    poems = tang_poems()
    assert len(poems) == 313
    assert poems[0].title == "感遇・其一" and poems[0].author == "张九龄"
    assert all(p.author and p.lines for p in poems)
    assert "兰叶春葳蕤" in tang_text()


def test_song_poems_and_kjv():
    assert len(song_poems()) > 80
    verses = kjv_verses()
    assert len(verses) == 31102
    assert verses[0] == ("Ge", 1, 1, "In the beginning God created the heaven and the earth.")
    books = kjv_books()
    assert len(books) == 66 and {v["book"] for _, v in books.items()} >= {"Genesis", "Revelation"}
    assert all(book in books for book, _, _, _ in verses[::997])
    text = kjv_text(10_000)
    assert len(text) <= 10_001 and text.endswith("\n")


def test_demo_runs_and_reports_perplexity(capsys):
    assert main(["demo", "--steps", "40", "--chars", "20000", "--sample-chars", "30"]) == 0
    out = capsys.readouterr().out
    before, after = [float(x) for x in re.findall(r"validation perplexity ([\d.]+)", out)]
    assert after < before            # 40 steps already beat the untrained model
    assert "sample" in out


def test_cli_help_shows_defaults():
    out = subprocess.run([sys.executable, "-m", "minigrad", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--steps" in out and "default: 3000" in out
