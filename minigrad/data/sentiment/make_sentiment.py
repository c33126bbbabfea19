"""Builds train.tsv and test.tsv of minigrad's movie-review sentiment set (see README.md).

    python minigrad/data/sentiment/make_sentiment.py      # rewrites the two files, same result

Every review is assembled from the phrase lists below by the seeded generator; its label is
decided by the rules in `review()`, not by any one word:
  * a negation flips an aspect's polarity ("the plot was not dull" is praise);
  * "X, but Y" / "although X, Y": the second half carries the verdict;
  * three aspects joined by "and"/commas: the majority decides;
  * an explicit recommendation at the end ("skip it", "worth your evening") overrides the rest,
    and it can itself be negated ("I would not call it a waste of time").
So "great" appears in negative reviews ("the score was great, but the story was a mess") and
"boring" in positive ones ("it is never boring").
"""
from __future__ import annotations

import random
from pathlib import Path

SEED = 2024
N_TRAIN, N_TEST = 1200, 300

ASPECTS = ["the acting", "the plot", "the script", "the dialogue", "the soundtrack", "the score",
           "the pacing", "the ending", "the cinematography", "the lead performance", "the story",
           "the direction", "the humour", "the visual effects", "the editing", "the cast",
           "the first half", "the final act", "the characters", "the camera work"]
TITLES = ["this film", "the movie", "this picture", "the sequel", "this thriller", "the remake",
          "this drama", "the comedy", "this documentary", "the adaptation"]
POS = ["great", "wonderful", "gripping", "moving", "clever", "superb", "charming", "sharp",
       "beautiful", "thrilling", "brilliant", "delightful", "convincing", "fresh", "memorable",
       "well judged", "funny", "tender", "stunning", "excellent"]
NEG = ["dull", "clumsy", "flat", "boring", "forgettable", "bloated", "lifeless", "messy",
       "predictable", "tedious", "awkward", "shallow", "confusing", "weak", "wooden",
       "overlong", "cheap", "tiresome", "a mess", "painful"]
# verdicts: (text, polarity); "{t}" is the title
VERDICTS = [("I would recommend {t}.", 1), ("Worth your evening.", 1), ("See it.", 1),
            ("I left the cinema smiling.", 1), ("I would happily watch {t} again.", 1),
            ("I would not call it a waste of time.", 1), ("I have no regrets about the ticket.", 1),
            ("Skip it.", 0), ("I would not recommend {t}.", 0), ("A waste of an evening.", 0),
            ("I checked my watch more than once.", 0), ("I would not watch {t} again.", 0),
            ("I want my money back.", 0), ("I cannot say it was worth the ticket.", 0)]
OPENERS = ["", "", "", "Honestly, ", "I saw {t} last night. ", "Well. ", "So, ",
           "I went in with low expectations. ", "I went in with high hopes. ",
           "My friends loved {t}. ", "The critics hated {t}. "]
BE = ["was", "is", "felt", "seemed"]
ADV = ["", "", "", "really ", "truly ", "rather ", "quite ", "very "]


PLURAL = {"the characters", "the visual effects"}
NO_ADVERB = {"excellent", "superb", "brilliant", "stunning", "a mess", "well judged", "wonderful"}


def clause(rng: random.Random, polarity: int, used: set) -> str:
    """An aspect described with the given polarity, sometimes through a negation."""
    aspect = rng.choice([a for a in ASPECTS if a not in used])
    used.add(aspect)
    be = rng.choice(BE)
    if aspect in PLURAL:
        be = {"was": "were", "is": "are"}.get(be, be)
    if rng.random() < 0.25:                      # negated: "not <opposite word>"
        word = rng.choice(NEG if polarity else POS)
        neg = rng.choice(["not", "never", "hardly", "not at all"] if be in ("was", "is", "were", "are")
                         else ["not", "not at all"])
        if neg == "not at all":
            return f"{aspect} {be} not {word} at all"
        return f"{aspect} {be} {neg} {word}"
    word = rng.choice(POS if polarity else NEG)
    adv = "" if word in NO_ADVERB else rng.choice(ADV)
    return f"{aspect} {be} {adv}{word}"


def review(rng: random.Random, label: int) -> str:
    t, used = rng.choice(TITLES), set()
    opener = rng.choice(OPENERS).format(t=t)
    shape = rng.choices(["single", "but", "although", "majority", "verdict"], [3, 2, 1, 1, 3])[0]
    if shape == "single":
        body = clause(rng, label, used).capitalize() + "."
    elif shape == "but":                         # the second half decides
        body = f"{clause(rng, 1 - label, used).capitalize()}, {rng.choice(['but', 'yet', 'but overall'])} {clause(rng, label, used)}."
    elif shape == "although":
        body = f"{rng.choice(['Although', 'Even though', 'While'])} {clause(rng, 1 - label, used)}, {clause(rng, label, used)}."
    elif shape == "majority":                    # two of three aspects decide
        pols = [label, label, 1 - label]
        rng.shuffle(pols)
        a, b, c = (clause(rng, p, used) for p in pols)
        body = f"{a.capitalize()}, {b} and {c}."
    else:                                        # mixed or misleading body, the verdict decides
        body_pol = rng.choice([0, 1])
        if rng.random() < 0.5:
            body = clause(rng, body_pol, used).capitalize() + "."
        else:
            body = f"{clause(rng, body_pol, used).capitalize()}, but {clause(rng, 1 - body_pol, used)}."
        verdict = rng.choice([v for v, p in VERDICTS if p == label]).format(t=t)
        body = f"{body} {verdict}"
    if opener.endswith(", "):                    # "Honestly, the acting ..."
        body = body[0].lower() + body[1:]
    return (opener + body).strip()


def build():
    rng = random.Random(SEED)
    seen, rows = set(), []
    labels = []
    for n in (N_TRAIN, N_TEST):                  # each split exactly balanced
        part = [i % 2 for i in range(n)]
        rng.shuffle(part)
        labels += part
    for label in labels:
        while True:
            text = review(rng, label)
            if text.lower() not in seen:         # no duplicate texts, within or across splits
                seen.add(text.lower())
                break
        rows.append((text, "positive" if label else "negative"))
    return rows[:N_TRAIN], rows[N_TRAIN:]


def write(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("label\ttext\n")
        for text, label in rows:
            f.write(f"{label}\t{text}\n")


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    train, test = build()
    write(here / "train.tsv", train)
    write(here / "test.tsv", test)
    print(f"wrote {len(train)} training and {len(test)} test reviews to {here}")
