"""The `minigrad` command (also `python -m minigrad`).

    minigrad demo        train a small GPT on 全唐诗 (the Complete Tang Poems) for about a
                         minute: perplexity on held-out poems, a poem, a loss curve and an
                         attention map, static and interactive (in ./runs/demo)
    minigrad train       pre-train a GPT (next character) or a BERT (masked characters) (§3.2),
                         or with --task translate an English→Chinese encoder–decoder on the
                         KJV and the 和合本 (§2.3, §6)
    minigrad evaluate    loss and perplexity, accuracy, or BLEU/chrF (translation), of a
                         checkpoint on its test or validation split (§3.2 模型评估)
    minigrad generate    continue a prompt with a trained GPT
    minigrad translate   English→Chinese with a model from `train --task translate` (§6 机器翻译)
    minigrad finetune    fine-tune a BERT for text classification (§3.3 微调, §5), from scratch,
                         from `minigrad train --arch bert`, or from a Hugging Face BERT
                         directory (--pretrained DIR: real weights, WordPiece tokenizer)
    minigrad attention   draw a checkpoint's (or a Hugging Face directory's) attention maps
                         for a text as a PNG (§4.1), and with --html FILE as an interactive
                         page that opens offline
    minigrad lesson      the exercises: `lesson list`, `lesson check N [--file PATH]`

Held-out data (§3.2 模型评估): the validation split chooses the weights to keep (early
stopping: best.safetensors), the test split, used once at the end, gives the figure to report.
Every command has --help, which shows the defaults.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
BERT_ROLES = dict(pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                  mask_token="[MASK]")
SENTENCE = "This is a great movie!"         # the chapter's §5 example sentence
HF_MODEL_DIR = "hf_model"                   # finetune --pretrained writes OUT/hf_model
MAX_VAL_TEXTS = 500                         # finetune: validation texts at most (evaluated often)


class CLIError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""


# --------------------------------------------------------------------------------------------
# building blocks shared by the commands
# --------------------------------------------------------------------------------------------
def _train_config(args, out_dir):
    from .train import TrainConfig
    return TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, min_lr=args.min_lr,
                       warmup_steps=args.warmup_steps, weight_decay=args.weight_decay,
                       grad_clip=args.grad_clip, eval_every=args.eval_every,
                       eval_windows=args.eval_windows, ckpt_every=args.ckpt_every, seed=args.seed,
                       out_dir=str(out_dir), progress=not args.no_progress,
                       overwrite=getattr(args, "overwrite", True),   # the demo: always afresh
                       grad_accum=getattr(args, "grad_accum", 1))


def _notice(message: str) -> None:
    """A one-line notice or warning, on stderr (stdout keeps the command's output)."""
    print(message, file=sys.stderr)


def _log(message: str) -> None:
    """The training loop's log: its notices and warnings go where _notice's go."""
    if message.startswith(("notice:", "warning:")):
        _notice(message)
    else:
        print(message)


# Lines the attention map shows by default, from each bundled corpus (全唐诗's 静夜思 has the
# Qing reading 床前看月光, 唐诗三百首 the popular 床前明月光).
EXAMPLES = {"quantangshi": "床前看月光，疑是地上霜。", "tang": "床前明月光，疑是地上霜。",
            "kjv": "In the beginning God created the heaven and the earth."}


def _cut_documents(docs, max_chars):
    """The first documents that hold at most max_chars characters in all (whole documents)."""
    if max_chars is None:
        return docs
    kept, total = [], 0
    for d in docs:
        if total + len(d) > max_chars:
            break
        kept.append(d)
        total += len(d)
    return kept


def _char_tokenizer(text: str, bert: bool, min_count: int):
    """A character vocabulary from the training text: every character seen at least min_count
    times; the rest are read as the unknown token ([UNK] for BERT, <unk> for GPT).  A GPT's
    vocabulary also has <|endoftext|>, which closes every document of a split by document."""
    from .data import END_OF_TEXT, UNK_TOKEN
    from .tokenizers import CharTokenizer
    if bert:
        return CharTokenizer.from_text(text, special_tokens=BERT_SPECIALS, min_count=min_count,
                                       **BERT_ROLES)
    return CharTokenizer.from_text(text, special_tokens=[END_OF_TEXT, UNK_TOKEN], min_count=min_count,
                                   eos_token=END_OF_TEXT, unk_token=UNK_TOKEN)


def _lm_data(source: str, max_chars, block_size: int, val_fraction: float, test_fraction: float,
             bert: bool, min_count: int = 1, tokenizer=None):
    """(LMData, description) of a corpus, split three ways (§3.2 模型评估): a poem corpus
    ('quantangshi', 'tang') by poem, other text by position.  The vocabulary comes from the
    training split alone (or is `tokenizer`, the one of a checkpoint being evaluated)."""
    from .data import LMData, load_documents, load_text, split_by_position, split_documents
    block = block_size - 1 if bert else block_size           # BERT windows start with [CLS]
    docs = load_documents(source)
    desc = {"source": source, "max_chars": max_chars, "val_fraction": val_fraction,
            "test_fraction": test_fraction, "min_count": min_count,
            "split": "document" if docs is not None else "position"}
    try:
        if docs is not None:
            docs = _cut_documents(docs, max_chars)
            if tokenizer is None:
                train_docs = split_documents(docs, val_fraction, test_fraction)[0]
                tokenizer = _char_tokenizer("".join(train_docs), bert, min_count)
            separator = tokenizer.sep_token if bert else tokenizer.eos_token
            data = LMData.from_documents(docs, tokenizer, block, val_fraction, test_fraction,
                                         source, separator=separator)
            desc["example"] = EXAMPLES.get(source, docs[0].splitlines()[0])[:block]
        else:
            text = load_text(source, max_chars)
            if tokenizer is None:
                n_train = len(split_by_position(range(len(text)), val_fraction, test_fraction)[0])
                tokenizer = _char_tokenizer(text[:n_train], bert, min_count)
            data = LMData.from_text(text, tokenizer, block, val_fraction, source, test_fraction)
            desc["example"] = EXAMPLES.get(source, text.strip().splitlines()[0])[:block]
    except KeyError as e:                   # an old checkpoint's vocabulary without <unk>
        raise CLIError(f"'{source}' has a character the model's vocabulary lacks: {e.args[0]}") from None
    return data, desc


def _describe_data(data, desc) -> str:
    """One line: which corpus, how it was split, how big each split is, the vocabulary."""
    from .data import CORPUS_NAMES
    tok = data.tokenizer
    name = CORPUS_NAMES.get(desc["source"], desc["source"])
    sizes = [len(w.ids) for w in (data.train, data.val, data.test) if w is not None]
    from .i18n import tr
    if data.unit == "document":
        n = data.documents
        poems = desc["source"] in ("quantangshi", "tang")
        unit = tr("poems" if poems else "documents", "首诗" if poems else "篇文档")
        total, test = n['train'] + n['val'] + n['test'], sizes[2] if len(sizes) > 2 else 0
        split = tr(f"{total:,} {unit}, split by poem: {n['train']:,} "
                   f"training / {n['val']:,} validation / {n['test']:,} test ({sizes[0]:,} / "
                   f"{sizes[1]:,} / {test:,} tokens)",
                   f"{total:,} {unit}，按诗划分：训练集 {n['train']:,} / 验证集 {n['val']:,} / "
                   f"测试集 {n['test']:,}（{sizes[0]:,} / {sizes[1]:,} / {test:,} 个词元）")
    else:
        split = tr(f"split by position: {sizes[0]:,} training / {sizes[1]:,} validation"
                   + (f" / {sizes[2]:,} test" if len(sizes) > 2 else "") + " tokens",
                   f"按位置划分：训练集 {sizes[0]:,} / 验证集 {sizes[1]:,}"
                   + (f" / 测试集 {sizes[2]:,}" if len(sizes) > 2 else "") + " 个词元")
    vocab = tr(f"vocabulary {tok.vocab_size:,}", f"词表 {tok.vocab_size:,}")
    if desc.get("min_count", 1) > 1:
        vocab += tr(f" (characters seen at least {desc['min_count']} times in training; the rest "
                    f"are {tok.unk_token})",
                    f"（训练集中至少出现 {desc['min_count']} 次的字；其余记为 {tok.unk_token}）")
    return tr(f"data: {name}, {split}; {vocab}", f"数据：{name}，{split}；{vocab}")


def _model_config(args, vocab_size: int, arch: str, num_labels: int = 2) -> dict:
    from .models import BertConfig, GPTConfig
    if arch == "gpt":
        return GPTConfig(vocab_size=vocab_size, n_layer=args.n_layer, n_head=args.n_head,
                         n_embd=args.n_embd, block_size=args.block_size,
                         dropout=args.dropout).to_dict()
    return BertConfig(vocab_size=vocab_size, hidden_size=args.n_embd, num_hidden_layers=args.n_layer,
                      num_attention_heads=args.n_head, intermediate_size=4 * args.n_embd,
                      max_position_embeddings=args.block_size, hidden_dropout_prob=args.dropout,
                      attention_probs_dropout_prob=args.dropout, num_labels=num_labels,
                      pad_token_id=0).to_dict()


class _Default:
    """A default that depends on --pretrained (shown in --help as 'A; B with --pretrained').

    A Hugging Face BERT is already trained, so fine-tuning it takes small steps (lr 5e-5, as
    in the BERT paper, §3.3 微调) and word pieces instead of characters (64 tokens hold a review).
    A callable `pretrained` is computed from the other arguments (warm-up: 10% of --steps).
    """

    def __init__(self, scratch, pretrained, shown=None):
        self.scratch, self.pretrained = scratch, pretrained
        self.shown = shown if shown is not None else pretrained

    def __str__(self) -> str:
        return f"{_show(self.scratch)}; {_show(self.shown)} with --pretrained"

    def __truediv__(self, k):             # --min-lr defaults to --lr / 10
        return _Default(float(f"{self.scratch / k:.6g}"), float(f"{self.pretrained / k:.6g}"))


def _resolve_defaults(args) -> None:
    """Replace every _Default left in `args` by its value for this run."""
    pretrained = bool(getattr(args, "pretrained", None))
    later = []
    for name, value in vars(args).items():
        if isinstance(value, _Default):
            if pretrained and callable(value.pretrained):
                later.append((name, value.pretrained))
            else:
                setattr(args, name, value.pretrained if pretrained else value.scratch)
    for name, rule in later:              # after the plain values it depends on
        setattr(args, name, rule(args))


def _hf_model_type(directory) -> str:
    """config.json's model_type, with the loaders' errors as CLIErrors."""
    from .models.pretrained import CONFIG_NAME, model_type_of, read_config
    try:
        return model_type_of(read_config(directory), os.path.join(directory, CONFIG_NAME))
    except (OSError, ValueError) as e:
        raise CLIError(str(e)) from None


def _load_hf_bert(directory, train_set, dropout=None):
    """(model, tokenizer) for fine-tuning (§3.3 微调, §5): a local Hugging Face BERT directory
    (config.json + model.safetensors + vocab.txt) with a new classification head, one output
    per label of `train_set`, and its WordPiece tokenizer.  Prints Hugging Face's notice that
    the head is newly initialised.  `dropout` (None: config.json's) overrides both rates."""
    import warnings

    from .models import AutoTokenizer, BertForSequenceClassification, NewlyInitializedWarning
    from .tokenizers import BertTokenizer
    model_type = _hf_model_type(directory)
    if model_type != "bert":
        raise CLIError(f"--pretrained needs a BERT directory (model_type 'bert'); "
                       f"{os.path.join(directory, 'config.json')} says '{model_type}'")
    names = list(train_set.label_names)
    overrides = dict(num_labels=len(names), id2label={str(i): n for i, n in enumerate(names)},
                     label2id={n: i for i, n in enumerate(names)})
    if dropout is not None:
        overrides.update(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    try:
        tok = AutoTokenizer.from_pretrained(directory)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NewlyInitializedWarning)
            model = BertForSequenceClassification.from_pretrained(directory, **overrides)
    except (OSError, ValueError) as e:        # PretrainedError is a ValueError
        raise CLIError(str(e)) from None
    for w in caught:
        if issubclass(w.category, NewlyInitializedWarning):
            print(f"notice: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not isinstance(tok, BertTokenizer):
        raise CLIError(f"--pretrained: '{directory}' has a {type(tok).__name__}, not BERT's vocab.txt")
    if tok.vocab_size > model.config.vocab_size:
        raise CLIError(f"--pretrained: vocab.txt has {tok.vocab_size} tokens but config.json's "
                       f"vocab_size is {model.config.vocab_size}; do they belong together?")
    return model, tok


def _load_hf_for_attention(directory):
    """(model, tokenizer) of a Hugging Face directory, to look at (no new head): the bare
    BertModel for BERT, the GPT for GPT-2, the MarianMTModel (its cross-attention) for Marian."""
    from .models import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
    cls = {"gpt2": AutoModelForCausalLM, "marian": AutoModelForSeq2SeqLM}.get(_hf_model_type(directory),
                                                                            AutoModel)
    try:
        return cls.from_pretrained(directory), AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as e:
        raise CLIError(str(e)) from None


def _save_hf_directory(model, tok, directory) -> str:
    """save_pretrained of model and tokenizer: a directory that minigrad's and Hugging Face's
    AutoModelForSequenceClassification / AutoTokenizer .from_pretrained both read."""
    from .models import save_pretrained
    save_pretrained(model, directory)          # config.json + model.safetensors
    save_pretrained(tok, directory)            # vocab.txt + tokenizer_config.json
    return str(directory)


def _print_run_end(result, out_dir):
    if result.best:
        print(f"best weights:   {result.best}  (step {result.best_step}, the lowest validation loss)")
    print(f"last step:      {result.checkpoint}  (step {result.step}; --resume continues from it)")
    if result.loss_png:
        print(f"loss curve:     {result.loss_png}")


def _model_text(tok, text: str, what: str) -> str:
    """`text` as the model can read it: a character outside the vocabulary is read as the
    unknown token, with a notice; a vocabulary without one (a checkpoint from before minigrad
    had <unk>) leaves the character out, with a notice."""
    unknown = tok.unknown_characters(text) if hasattr(tok, "unknown_characters") else []
    if not unknown:
        return text
    shown = " ".join(repr(c) for c in unknown[:8]) + (" ..." if len(unknown) > 8 else "")
    if tok.unk_token is not None:
        _notice(f"notice: {len(unknown)} character(s) of the {what} are not in the model's "
                f"vocabulary, read as {tok.unk_token}: {shown}")
        return text
    _notice(f"notice: {len(unknown)} character(s) of the {what} are not in the model's vocabulary, "
            f"which has no unknown token (an older checkpoint), so they are left out: {shown}")
    return "".join(piece if special else "".join(c for c in piece if c not in unknown)
                   for piece, special in tok._split_special(text))


def _sample(model, tok, prompt: str, n: int, temperature: float, top_k, seed: int,
            greedy: bool = False, start_of_text: bool = False, max_lines: int | None = None):
    """(text, why it stopped).  The prompt continued by up to n tokens: drawn from
    softmax(logits / temperature) among the top_k (greedy: the most likely one each time;
    temperature 0 means greedy).  A model trained on documents (start_of_text) is given
    <|endoftext|> before the prompt, as before every document it saw, and stops when it
    writes <|endoftext|> itself: the end of the poem; `max_lines` stops it at the end of
    that many lines.  Nothing else is held back from it."""
    import numpy as np

    import minigrad as mg
    if temperature < 0:
        raise CLIError(f"--temperature must be >= 0 (0: greedy), got {temperature}")
    if top_k is not None and top_k < 1:
        raise CLIError(f"--top-k must be >= 1, got {top_k}")
    greedy = greedy or temperature == 0
    ids = tok.encode(_model_text(tok, prompt, "prompt"))
    if not ids:
        raise CLIError("the prompt is empty: give at least one character")
    eos = tok.eos_token_id if start_of_text and tok.eos_token is not None else None
    context = ([eos] if eos is not None else []) + ids
    mg.manual_seed(seed)
    out = model.generate(np.asarray([context]), max_new_tokens=n, temperature=temperature or 1.0,
                         top_k=top_k, do_sample=not greedy)
    new = out.data[0, len(context):].tolist()
    stop = "length"
    if eos is not None and eos in new:
        new, stop = new[:new.index(eos)], "end"
    text = tok.decode(ids + new)
    if max_lines is not None and text.count("\n") >= max_lines:
        text, stop = "\n".join(text.split("\n")[:max_lines]), "lines"
    return text, stop


def _attention_files(model, tok, text: str, png, html=None, layer=None, head=None) -> list[str]:
    """The attention maps on `text`: a PNG (matplotlib) and, with `html`, the interactive
    explorer of the same maps, one HTML file that opens offline (mg.viz.attention_view)."""
    import matplotlib.pyplot as plt

    from .viz import plot_attention, save_attention_html
    text = _model_text(tok, text, "text")
    fig = plot_attention(model, tok, text, layer=layer, head=head)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    written = [str(png)]
    if html is not None:
        Path(html).parent.mkdir(parents=True, exist_ok=True)
        written.append(save_attention_html(model, tok, text, html,
                                           layers=None if layer is None else [layer],
                                           heads=None if head is None else [head]))
    return written


# --------------------------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------------------------
# The demo's model and run, tuned to train for about a minute on 2 idle CPU cores (about 60 ms
# a step; benchmarks/tang_curves.py measures it): in a minute a narrow model taking many small
# steps learns more than a wider one taking few (width 64 and 16 windows a step beat width 96 or
# 128, or 32 windows, at the same time); the vocabulary (characters seen at least 10 times in
# training, 99.7% of the text) keeps the output layer, most of the work, small; no dropout, as
# 900 steps see under a third of the poems once: there is nothing to overfit yet.
DEMO = dict(n_layer=2, n_head=4, n_embd=64, block_size=64, dropout=0.0, steps=900, batch_size=16,
            lr=5e-3, warmup=100, eval_every=100, eval_windows=128, min_count=10)
# held-out shares per corpus: 2% of 全唐诗 is about 1,000 poems each for validation and test
DEMO_SPLITS = {"quantangshi": (0.02, 0.02), "tang": (0.1, 0.1), "kjv": (0.05, 0.05)}
DEMO_PROMPTS = {"quantangshi": "春眠不觉晓，", "tang": "春眠不觉晓，", "kjv": "And God said, "}


def _demo(args) -> int:
    """A small GPT (§3.1) pre-trained on a bundled corpus (§3.2 预训练): next-character
    cross-entropy (§4.2); the weights kept are those with the lowest validation loss (early
    stopping), scored once by perplexity = exp(mean cross-entropy) on test poems it never saw
    (§3.2 模型评估); then a poem and an attention map (§4.1)."""
    import minigrad as mg
    from .i18n import set_language, tr
    from .models import GPT, GPTConfig
    from .train import LMTask, Trainer, check_writable, load_model

    if getattr(args, "lang", None):
        set_language(args.lang)            # --lang zh: the demo's lines in Chinese
    out_dir = check_writable(args.out)
    mg.manual_seed(args.seed)
    val_fraction, test_fraction = DEMO_SPLITS[args.corpus]
    data, desc = _lm_data(args.corpus, args.chars if args.corpus == "kjv" else None, args.block_size,
                          val_fraction, test_fraction, bert=False, min_count=args.min_count)
    tok = data.tokenizer
    print(_describe_data(data, desc))
    config = GPTConfig(vocab_size=tok.vocab_size, n_layer=args.n_layer, n_head=args.n_head,
                       n_embd=args.n_embd, block_size=args.block_size, dropout=args.dropout)
    model = GPT(config)
    print(tr(f"model: GPT, {config.n_layer} layer{'s' if config.n_layer != 1 else ''} × {config.n_head} "
             f"heads, width {config.n_embd}, "
             f"context {config.block_size}, dropout {config.dropout}: {model.num_parameters():,} parameters",
             f"模型：GPT，{config.n_layer} 层 × {config.n_head} 个注意力头，宽度 {config.n_embd}，"
             f"上下文 {config.block_size}，dropout {config.dropout}：共 {model.num_parameters():,} 个参数"))
    task = LMTask(data, eval_windows=args.eval_windows, description=desc)
    before = task.evaluate(model)
    print(tr(f"before training: validation perplexity {before['perplexity']:,.1f} on "
             f"{before['tokens']:,} tokens (a uniform guess scores {tok.vocab_size:,})",
             f"训练之前：在 {before['tokens']:,} 个词元上的验证集困惑度为 {before['perplexity']:,.1f}"
             f"（均匀乱猜的困惑度是 {tok.vocab_size:,}）"))
    trainer = Trainer(model, task, _train_config(args, out_dir), config.to_dict(), tok, log=_log)
    result = trainer.fit()
    if result.interrupted:
        return 130
    speed = f"{result.step / max(result.seconds, 1e-9):.1f}"
    print(tr(f"trained {result.step} steps in {result.seconds:.0f} s "
             f"({speed} steps/s); kept the weights of step "
             f"{result.best_step}, the lowest validation loss",
             f"训练了 {result.step} 步，用时 {result.seconds:.0f} 秒（每秒 {speed} 步）；"
             f"保留第 {result.best_step} 步的权重，它的验证集损失最低"))
    model, _, _ = load_model(result.best)
    prompt = args.prompt if args.prompt is not None else DEMO_PROMPTS[args.corpus]
    greedy = args.greedy or args.temperature == 0
    how = tr("greedy", "贪心解码") if greedy else \
        tr(f"temperature {args.temperature}, top-k {args.top_k}", f"温度 {args.temperature}，top-k {args.top_k}")
    poem = data.unit == "document"
    print(tr(f"sample ({how}; the prompt is '{prompt}'; it stops "
             f"{'at the end of the poem or' if poem else 'at'} {args.max_lines} lines):",
             f"生成样例（{how}；开头是“{prompt}”；{'写完一首诗或' if poem else ''}满 {args.max_lines} "
             f"行即停）："))
    text, stop = _sample(model, tok, prompt, args.sample_chars, args.temperature, args.top_k,
                         args.seed, args.greedy, data.unit == "document", args.max_lines)
    print(text)
    print({"end": tr("(the model ended the poem)", "（模型自己结束了这首诗）"),
           "lines": tr(f"({args.max_lines} lines: stopped)", f"（满 {args.max_lines} 行：停止）"),
           "length": tr(f"({args.sample_chars} characters: stopped)",
                        f"（满 {args.sample_chars} 个字：停止）")}[stop])
    example = desc["example"]
    png, page = _attention_files(model, tok, example, out_dir / "attention.png",
                                 out_dir / "attention.html")
    print(tr(f"loss curve:     {result.loss_png}  (training and validation loss; the ring marks the "
             f"kept weights, the star their test score)",
             f"损失曲线：  {result.loss_png}（训练集与验证集损失；圆圈标出保留的权重，星号是它们在测试集上的得分）"))
    print(tr(f"attention map:  {png}  (all layers × heads on '{example}')",
             f"注意力图：  {png}（“{example}”上的所有层 × 注意力头）"))
    print(tr(f"explorer:       {page}  (the same maps, interactive: open it in a browser, offline)",
             f"交互浏览：  {page}（同样的注意力图，可交互：用浏览器离线打开）"))
    print(tr(f"weights:        {result.best}  (step {result.best_step}; try: minigrad generate "
             f"--checkpoint {result.best} --prompt '{prompt}')",
             f"权重：      {result.best}（第 {result.best_step} 步；试试：minigrad generate "
             f"--checkpoint {result.best} --prompt '{prompt}'）"))
    return 0


# --------------------------------------------------------------------------------------------
# train / evaluate / generate / finetune / attention
# --------------------------------------------------------------------------------------------
def _train(args) -> int:
    """Pre-training (§3.2): a GPT predicts the next character, a BERT the masked ones; with
    --distributed on every process of an MPI job (§8, minigrad.train.distributed_loop), with
    --nproc N as such a job of N processes started here."""
    import minigrad as mg
    from .train import LMTask, MLMTask, Trainer, build_model, check_writable

    if args.task == "translate":                    # the encoder–decoder on KJV → 和合本 (§6)
        from .cli_translate import train_translate
        if args.out == "runs/train" and not any(a == "--out" or a.startswith("--out=") for a in args.argv):
            args.out = "runs/translate"
        return train_translate(args, log=_log)
    if args.nproc is not None:
        return _launch_train(args)
    world = _join_job(args)                         # 1 without --distributed
    main = _is_main()
    say = print if main else (lambda *a, **k: None)  # rank 0 speaks for the job
    out_dir = check_writable(args.out)
    bert = args.arch == "bert"
    data, desc = _lm_data(args.data, args.max_chars, args.block_size, args.val_fraction,
                          args.test_fraction, bert, args.min_count)
    arch = "bert-mlm" if bert else "gpt"
    mg.manual_seed(args.seed)                       # the same on every rank (MLM masks)
    model_config = _model_config(args, data.tokenizer.vocab_size, arch)
    model = build_model(arch, model_config)
    task = (MLMTask if bert else LMTask)(data, eval_windows=args.eval_windows, description=desc)
    say(_describe_data(data, desc))
    say(f"model: {arch}, {model.num_parameters():,} parameters; output: {out_dir}")
    config = _train_config(args, out_dir)
    if args.distributed:
        from .train.distributed_loop import DistributedTrainer
        say(f"data parallel: {world} process{'es' if world != 1 else ''} × {args.batch_size // world} "
            f"sequences (global batch {args.batch_size})"
            + (f", {args.grad_accum} micro-batches each" if args.grad_accum > 1 else "")
            + ("; AdamW's state sharded (ZeRO-1)" if args.zero else ""))
        trainer = DistributedTrainer(model, task, config, model_config, data.tokenizer, log=_log,
                                     zero=args.zero)
    else:
        trainer = Trainer(model, task, config, model_config, data.tokenizer, log=_log)
    result = trainer.fit(resume=args.resume)
    if main:
        _print_run_end(result, out_dir)
        print(f"throughput:     {result.tokens_per_second:,.0f} tokens/s ({result.tokens:,} tokens in "
              f"{result.train_seconds:.1f} s of training steps, {world} process{'es' if world != 1 else ''})")
    return 130 if result.interrupted else 0


def _launch_train(args) -> int:
    """--nproc N: this same command as an MPI job of N processes (mpiexec -n N ... --distributed)."""
    from .distributed.launch import check_available, launch
    if args.nproc < 1:
        raise CLIError(f"--nproc must be >= 1, got {args.nproc}")
    try:
        check_available()
    except RuntimeError as e:
        raise CLIError(f"--nproc {args.nproc}: {e}") from None
    argv, rest = [], list(args.argv)
    while rest:
        a = rest.pop(0)
        if a == "--nproc":
            rest.pop(0)
        elif not a.startswith("--nproc="):
            argv.append(a)
    if "--distributed" not in argv:
        argv.append("--distributed")
    return launch(args.nproc, ["minigrad", *argv])


def _join_job(args) -> int:
    """With --distributed: join the MPI job (rank and world size from mpiexec); returns the
    world size.  Without it, refuse to be one of several processes started by mpiexec (each
    would train its own model into the same folder)."""
    from . import distributed as dist
    if args.zero and not args.distributed:
        raise CLIError("--zero shards the optimizer state over the processes of a job: use it "
                       "with --distributed (under mpiexec) or --nproc N")
    if not args.distributed:
        size = next((os.environ[v] for v in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE") if v in os.environ), "1")
        if dist.launched_by_mpiexec() and size != "1":
            raise CLIError(f"this process is one of {size} started by mpiexec: add --distributed "
                           f"(data parallelism), or run a single process")
        return 1
    try:
        _, world = dist.init()
    except ImportError as e:
        raise CLIError(f"--distributed: {e}") from None
    if world == 1 and not dist.launched_by_mpiexec():
        _notice("notice: --distributed in a single process (not started by mpiexec): a job of one "
                "process; start N with mpiexec -n N ... --distributed, or --nproc N")
    return world


def _is_main() -> bool:
    from . import distributed as dist
    return not dist.is_initialized() or dist.is_main_process()


def _abort_partners(message: str) -> None:
    """An error on one process of a job ends all of them (MPI_Abort) instead of leaving the
    others to wait for it."""
    from . import distributed as dist
    if dist.is_initialized() and dist.world_size() > 1:
        dist.abort(message)


def _evaluate(args) -> int:
    """Loss and perplexity = exp(mean cross-entropy) on a split of a language model's data, or
    accuracy of a classifier (§3.2 模型评估): the test split by default, which took no part in
    training or in choosing the weights."""
    from .data import classification_task
    from .train import ClassificationTask, LMTask, MLMTask, load_model

    model, tok, ckpt = load_model(args.checkpoint)
    task_info = ckpt["task"] or {}
    kind = task_info.get("task")
    if kind == "translate":                         # BLEU/chrF and the baselines (§6)
        from .cli_translate import evaluate_translate
        return evaluate_translate(args, ckpt)
    if kind in ("lm", "mlm"):
        has_test = bool(task_info.get("test_fraction"))
        split = args.split or ("test" if has_test else "val")
        if split == "test" and not has_test:
            raise CLIError(f"'{args.checkpoint}' was trained without a test split (an older "
                           f"checkpoint); use --split val")
        source = args.data or task_info["source"]
        same = source == task_info["source"]
        if "split" in task_info or not same:
            data, _ = _lm_data(source, task_info.get("max_chars") if same else None,
                               task_info["block_size"], task_info.get("val_fraction", 0.1),
                               task_info.get("test_fraction", 0.0) if has_test else 0.0,
                               kind == "mlm", tokenizer=tok)
        else:
            data = _old_lm_data(source, task_info, tok, kind)
        task = (MLMTask if kind == "mlm" else LMTask)(data, eval_windows=None)
        part = data.split(split)
        metrics = task.evaluate(model, max_windows=args.windows, split=split)
        windows = len(range(0, len(part.ids) - part.block_size, part.block_size))
        used = windows if args.windows is None else min(args.windows, windows)
        what = "masked tokens" if kind == "mlm" else "tokens"
        print(f"{ckpt['arch']} at step {ckpt['step']}, {'test' if split == 'test' else 'validation'} "
              f"split of {source} (by {'poem' if data.unit == 'document' else 'position'}): "
              f"{metrics['tokens']:,} {what} evaluated, in {used:,} of its {windows:,} windows "
              f"of {part.block_size}")
    elif kind == "classification":
        _, test = classification_task(task_info["name"], seed=task_info.get("split_seed", 0))
        task = ClassificationTask(test, test, tok, task_info["max_length"])
        metrics = task.evaluate(model, split="test")
        print(f"{ckpt['arch']} at step {ckpt['step']}, test split of {task_info['name']}: "
              f"{metrics['texts']:,} texts evaluated")
    else:
        raise CLIError(f"'{args.checkpoint}' does not say what it was trained on (no task metadata)")
    split_name = next(k[:-5] for k in metrics if k.endswith("_loss"))
    for k, v in metrics.items():
        if k not in ("tokens", "texts"):
            label = k.replace("_", " ") if k.endswith("_loss") else f"{split_name} {k}"
            print(f"{label}: {v:.4f}")
    return 0


def _old_lm_data(source, task_info, tok, kind):
    """The validation split of a checkpoint from before the three-way split: the last
    val_fraction of the text by position."""
    from .data import LMData, load_text
    block = task_info["block_size"] - (1 if kind == "mlm" else 0)
    text = load_text(source, task_info.get("max_chars"))
    try:
        return LMData.from_text(text, tok, block, task_info.get("val_fraction", 0.1), source)
    except KeyError as e:
        raise CLIError(f"'{source}' has a character the model's vocabulary lacks: {e.args[0]}") from None


def _generate(args) -> int:
    from .train import load_model
    model, tok, ckpt = load_model(args.checkpoint)
    if ckpt["arch"] != "gpt":
        raise CLIError(f"generate needs a GPT checkpoint; '{args.checkpoint}' holds a {ckpt['arch']}")
    documents = (ckpt["task"] or {}).get("split") == "document"
    text, stop = _sample(model, tok, args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                         args.seed, args.greedy, documents)
    print(text)
    if stop == "end":
        _notice("notice: the model wrote <|endoftext|>: it ended the text there")
    return 0


def _translate(args) -> int:
    from .cli_translate import translate_command
    return translate_command(args)


def _finetune(args) -> int:
    """Fine-tuning (§3.3 微调): a BERT with a classification layer on the [CLS] vector (§5),
    from a Hugging Face BERT directory (--pretrained: real pre-trained weights and their
    WordPiece tokenizer), from a minigrad checkpoint (minigrad train --arch bert, --checkpoint),
    or from scratch.  With --pretrained the result is also written as a Hugging Face directory
    (OUT/hf_model)."""
    import minigrad as mg
    from .data import classification_task
    from .train import ClassificationTask, Trainer, check_writable

    _resolve_defaults(args)
    if args.checkpoint and args.pretrained:
        raise CLIError("give --pretrained (a Hugging Face BERT directory) or --checkpoint (a minigrad "
                       "BERT checkpoint), not both")
    out_dir = check_writable(args.out)
    train_set, test_set = classification_task(args.task, seed=args.split_seed)
    # validation texts, for early stopping: a stratified share of the training texts (at most
    # MAX_VAL_TEXTS), set aside before --n-train picks the texts to train on
    share = min(args.val_fraction, MAX_VAL_TEXTS / len(train_set))
    train_set, val_set = train_set.split(share, seed=args.split_seed)
    if args.n_train:
        train_set = train_set.sample(args.n_train, seed=args.seed)
    mg.manual_seed(args.seed)
    if args.pretrained:
        model, tok = _load_hf_bert(args.pretrained, train_set, args.dropout)
        model_config = model.config.to_dict()
        print(f"encoder weights and WordPiece vocabulary ({tok.vocab_size:,} tokens) from "
              f"{args.pretrained}; new classifier layer")
    else:
        model, tok, model_config = _minigrad_bert(args, train_set)
    max_length = min(args.max_length, model_config["max_position_embeddings"])
    task = ClassificationTask(train_set, test_set, tok, max_length,
                              description={"name": args.task, "n_train": len(train_set),
                                           "split_seed": args.split_seed,
                                           "val_fraction": args.val_fraction,
                                           "pretrained": args.pretrained or args.checkpoint or None,
                                           "example": val_set.texts[0][:max_length - 2]},
                              val=val_set)
    print(f"task {args.task}: {len(train_set):,} training texts {train_set.counts()}, "
          f"{len(val_set):,} validation texts (to choose the weights to keep), {len(test_set):,} "
          f"test texts (scored once, at the end); {model.num_parameters():,} parameters")
    if args.pretrained and not args.resume:
        before = task.evaluate(model)["accuracy"]
        print(f"before fine-tuning: validation accuracy {before:.1%} (the classifier is new and random)")
    trainer = Trainer(model, task, _train_config(args, out_dir), model_config, tok, log=_log)
    result = trainer.fit(resume=args.resume)
    _print_run_end(result, out_dir)
    if result.interrupted:
        return 130
    if args.pretrained:
        from .train import read_checkpoint
        model.load_state_dict(read_checkpoint(result.best)["model"])
        hf_dir = _save_hf_directory(model, tok, out_dir / HF_MODEL_DIR)
        print(f"Hugging Face directory: {hf_dir}  (the best weights, step {result.best_step}; load "
              f"it with AutoModelForSequenceClassification / AutoTokenizer .from_pretrained, in "
              f"minigrad or transformers)")
    return 0


def _minigrad_bert(args, train_set):
    """(model, tokenizer, model_config) of a character-level BERT classifier: the encoder of a
    `minigrad train --arch bert` checkpoint (--checkpoint), or random weights."""
    from .tokenizers import CharTokenizer
    from .train import build_model, read_checkpoint
    from .train.checkpoint import tokenizer_from_dict
    if args.checkpoint:
        ckpt = read_checkpoint(args.checkpoint)
        if ckpt["arch"] not in ("bert-mlm", "bert-cls"):
            raise CLIError(f"finetune needs a BERT checkpoint (minigrad train --arch bert); "
                           f"'{args.checkpoint}' holds a {ckpt['arch']}")
        tok = tokenizer_from_dict(ckpt["tokenizer"])
        model_config = dict(ckpt["model_config"], num_labels=train_set.num_labels)
        model = build_model("bert-cls", model_config)
        encoder = {k: v for k, v in ckpt["model"].items()
                   if k.startswith("bert.") and not k.startswith("bert.pooler")}
        model.load_state_dict(encoder, strict=False)
        print(f"encoder weights from {args.checkpoint} (step {ckpt['step']}); new classifier layer")
    else:
        tok = CharTokenizer.from_text("".join(train_set.texts), special_tokens=BERT_SPECIALS, **BERT_ROLES)
        model_config = _model_config(args, tok.vocab_size, "bert-cls", train_set.num_labels)
        model = build_model("bert-cls", model_config)
        print("no --checkpoint or --pretrained: training from scratch (random initial weights)")
    return model, tok, model_config


def _attention(args) -> int:
    """Attention maps softmax(QKᵀ/√d_k) of every layer and head (§4.1) on a text, of a
    minigrad checkpoint or of a Hugging Face directory (--pretrained, or a directory given
    to --checkpoint).  Without --text: a line of the checkpoint's own corpus (stored in it
    when it was trained), or the chapter's §5 sentence for a Hugging Face model."""
    from .train import load_model
    if bool(args.checkpoint) == bool(args.pretrained):
        raise CLIError("give one of --checkpoint FILE (from train/finetune) or --pretrained DIR "
                       "(a Hugging Face directory)")
    source = args.pretrained or args.checkpoint
    if args.pretrained or os.path.isdir(source):
        model, tok = _load_hf_for_attention(source)
        text = args.text or SENTENCE
    else:
        model, tok, ckpt = load_model(source)
        text = args.text or _default_text(ckpt)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for path in _attention_files(model, tok, text, args.out, args.html, args.layer, args.head):
        print(path)
    return 0


def _default_text(ckpt) -> str:
    """A line from the corpus a checkpoint was trained on: the one stored in it, or (older
    checkpoints) the bundled corpus's example line, else the §5 sentence."""
    task = ckpt["task"] or {}
    if ckpt["arch"] == "marian":                          # a translation model reads English
        return task.get("example") or "In the beginning God created the heaven and the earth."
    text = task.get("example") or EXAMPLES.get(task.get("source"), SENTENCE)
    block = (ckpt["model_config"] or {}).get("block_size") or \
        (ckpt["model_config"] or {}).get("max_position_embeddings")
    return text[:block - (0 if ckpt["arch"] == "gpt" else 2)] if block else text


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------
def _show(value) -> str:
    """A default as a person writes it: 0.0003, not 0.00030000000000000003."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each default once, cleanly: floats as %g, nothing after an option
    without a default (None, a flag) or whose help already says what its default is."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False
                or default is argparse.SUPPRESS or not action.option_strings):
            return text
        return f"{text} (default: {_show(default).replace('%', '%%')})"


def _sub(sub, name, func, help_):
    p = sub.add_parser(name, help=help_, description=help_, formatter_class=_HelpFormatter)
    p.set_defaults(func=func)
    return p


def _model_args(p, n_layer, n_head, n_embd, block_size, dropout):
    p.add_argument("--n-layer", type=int, default=n_layer, help="Transformer blocks")
    p.add_argument("--n-head", type=int, default=n_head, help="attention heads per block")
    p.add_argument("--n-embd", type=int, default=n_embd, help="model width (divisible by --n-head)")
    p.add_argument("--block-size", type=int, default=block_size, help="context length in tokens")
    p.add_argument("--dropout", type=float, default=dropout, help="dropout rate")


def _tenth(lr):
    """lr / 10 without the float noise (3e-3 / 10 is 0.00030000000000000003)."""
    return lr / 10 if isinstance(lr, _Default) else float(f"{lr / 10:.6g}")


def _train_args(p, steps, batch_size, lr, warmup, eval_every, ckpt_every, out, resume=True,
                min_lr=None, weight_decay=0.1, eval_windows=256):
    p.add_argument("--steps", type=int, default=steps, help="optimizer steps in all")
    p.add_argument("--batch-size", type=int, default=batch_size, help="sequences per step")
    p.add_argument("--lr", type=float, default=lr, help="peak learning rate (AdamW)")
    p.add_argument("--min-lr", type=float, default=min_lr if min_lr is not None else _tenth(lr),
                   help="learning rate at the end of the cosine decay")
    p.add_argument("--warmup-steps", type=int, default=warmup, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=weight_decay, help="AdamW weight decay")
    p.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0: off)")
    p.add_argument("--eval-every", type=int, default=eval_every,
                   help="evaluate on the validation split every N steps")
    p.add_argument("--eval-windows", type=int, default=eval_windows,
                   help="validation windows per evaluation (language models; the final test "
                        "score uses the whole test split)")
    p.add_argument("--ckpt-every", type=int, default=ckpt_every, help="checkpoint every N steps")
    p.add_argument("--seed", type=int, default=1337, help="random seed (init, batches, dropout)")
    p.add_argument("--out", default=out, help="output folder (checkpoints, loss curve)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--grad-accum", type=int, default=1, metavar="K",
                   help="gradient accumulation: K micro-batches of batch-size/K a step, the "
                        "update of the whole batch (less memory)")
    if resume:
        p.add_argument("--resume", action="store_true",
                       help="continue from OUT/checkpoint.safetensors (same options)")
        p.add_argument("--overwrite", action="store_true",
                       help="start afresh in an OUT that already holds a run, replacing its files")


def _sampling_args(p, temperature=0.8, top_k=20):
    p.add_argument("--temperature", type=float, default=temperature,
                   help="sampling temperature (0: greedy)")
    p.add_argument("--top-k", type=int, default=top_k, help="sample from the k most likely")
    p.add_argument("--greedy", action="store_true",
                   help="always take the most likely token (no sampling; as --temperature 0)")


def _epilog() -> str:
    """The module docstring's table of commands: every command, with what it does."""
    lines = __doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("minigrad "))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return "commands:\n" + "\n".join(lines[start:end]) + "\n\nEvery command has --help, which shows the defaults."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigrad", description=__doc__.splitlines()[0],
                                     epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _sub(sub, "demo", _demo, "train a small GPT on 全唐诗 for about a minute: perplexity on "
                "held-out poems, a poem, a loss curve and an attention map")
    demo.add_argument("--corpus", choices=["quantangshi", "tang", "kjv"], default="quantangshi",
                      help="bundled text: 全唐诗 (57,603 poems), 唐诗三百首 (313), or the King James Bible")
    demo.add_argument("--chars", type=int, default=400_000, help="characters of the KJV to use")
    demo.add_argument("--min-count", type=int, default=DEMO["min_count"],
                      help="vocabulary: characters seen at least this often in training (the rest: <unk>)")
    _model_args(demo, n_layer=DEMO["n_layer"], n_head=DEMO["n_head"], n_embd=DEMO["n_embd"],
                block_size=DEMO["block_size"], dropout=DEMO["dropout"])
    _train_args(demo, steps=DEMO["steps"], batch_size=DEMO["batch_size"], lr=DEMO["lr"],
                warmup=DEMO["warmup"], eval_every=DEMO["eval_every"], ckpt_every=DEMO["steps"],
                out="runs/demo", resume=False, eval_windows=DEMO["eval_windows"])
    demo.add_argument("--prompt", default=None, help="start of the sample (default: 春眠不觉晓， "
                      "for the poems, 'And God said, ' for kjv)")
    demo.add_argument("--sample-chars", type=int, default=200, help="characters to generate at most")
    demo.add_argument("--max-lines", type=int, default=8, help="stop the sample after this many lines")
    _sampling_args(demo)
    demo.add_argument("--lang", choices=["en", "zh"], default=None,
                      help="the language of the demo's lines: en or zh (中文); default: "
                           "MINIGRAD_LANG, else the locale (LANG=zh_CN.UTF-8 gives zh), else en")

    train = _sub(sub, "train", _train, "pre-train a character-level GPT (next character) or "
                 "BERT (masked characters) on a bundled corpus or a text file (§3.2)")
    train.add_argument("--arch", choices=["gpt", "bert"], default="gpt", help="model family")
    train.add_argument("--task", choices=["lm", "translate"], default="lm",
                       help="lm: pre-train on --data; translate: English→Chinese on the KJV and "
                            "the 和合本, verse by verse (--data is not used; OUT: runs/translate)")
    train.add_argument("--data", default="quantangshi",
                       help="'quantangshi' (全唐诗), 'tang' (唐诗三百首), 'kjv' or a UTF-8 text file")
    train.add_argument("--max-chars", type=int, default=None,
                       help="use only the first N characters (whole poems of a poem corpus)")
    train.add_argument("--val-fraction", type=float, default=0.05,
                       help="validation share: poems of a poem corpus, else the text after the "
                            "training part")
    train.add_argument("--test-fraction", type=float, default=0.05,
                       help="test share: poems of a poem corpus, else the end of the text")
    train.add_argument("--min-count", type=int, default=1,
                       help="vocabulary: characters seen at least this often in training (the rest: "
                            "the unknown token)")
    _model_args(train, n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.1)
    _train_args(train, steps=2000, batch_size=12, lr=1e-3, warmup=100, eval_every=250,
                ckpt_every=250, out="runs/train")
    train.add_argument("--distributed", action="store_true",
                       help="data parallelism: run under mpiexec -n N, each process on "
                            "batch-size/N of every batch (§8)")
    train.add_argument("--nproc", type=int, default=None, metavar="N",
                       help="start N processes with mpiexec yourself (as --distributed); needs "
                            "the distributed extra: pip install -e \".[distributed]\"")
    train.add_argument("--zero", action="store_true",
                       help="with --distributed/--nproc: shard AdamW's state over the processes (ZeRO-1)")
    tr = train.add_argument_group("--task translate")
    tr.add_argument("--split-by", choices=["chapter", "book"], default="chapter",
                    help="hold out whole chapters or whole books (5%% validation, 5%% test)")
    tr.add_argument("--split-seed", type=int, default=0, help="seed of the held-out chapters/books")
    tr.add_argument("--max-pairs", type=int, default=None,
                    help="use only the first N verse pairs (quick runs; default: all 31,100)")
    tr.add_argument("--label-smoothing", type=float, default=0.1,
                    help="ε of the label-smoothed cross-entropy (§4.2)")
    tr.add_argument("--src-vocab", type=int, default=3000, help="English BPE vocabulary size")
    tr.add_argument("--max-length", type=int, default=128,
                    help="longest English / Chinese verse in tokens (longer ones are cut)")
    tr.add_argument("--length-buckets", type=int, default=50,
                    help="put verses of similar length in a batch, sorting chunks of this many "
                         "batches (less padding, ~1.4x faster steps; 0: batches as drawn)")
    tr.add_argument("--eval-verses", type=int, default=64,
                    help="validation verses translated (greedy) for BLEU/chrF at each evaluation")
    tr.add_argument("--test-verses", type=int, default=None,
                    help="test verses translated for the final figure (default: all)")

    ev = _sub(sub, "evaluate", _evaluate, "loss and perplexity (language models), accuracy "
              "(classifiers) or BLEU/chrF against two baselines (translation) of a checkpoint on "
              "its test split")
    ev.add_argument("--checkpoint", required=True, help="a .safetensors file written by train/finetune")
    ev.add_argument("--split", choices=["val", "test"], default=None,
                    help="language models: which split (default: test; val for checkpoints "
                         "without a test split)")
    ev.add_argument("--data", default=None, help="evaluate on this corpus or text file instead")
    ev.add_argument("--windows", type=int, default=None,
                    help="at most N windows of the split (default: all)")
    ev.add_argument("--verses", type=int, default=None,
                    help="translation models: the first N verses of the split (default: all)")
    ev.add_argument("--num-beams", type=int, default=1,
                    help="translation models: also score beam search with N beams")

    gen = _sub(sub, "generate", _generate, "continue a prompt with a trained GPT (a poem model "
               "stops when it ends the poem)")
    gen.add_argument("--checkpoint", required=True, help="a GPT checkpoint (.safetensors)")
    gen.add_argument("--prompt", required=True, help="the start of the text")
    gen.add_argument("--max-new-tokens", type=int, default=200, help="characters to generate at most")
    _sampling_args(gen)
    gen.add_argument("--seed", type=int, default=1337, help="random seed of the sampling")

    trl = _sub(sub, "translate", _translate, "translate English into Chinese with a checkpoint of "
               "`minigrad train --task translate` (§6 机器翻译)")
    trl.add_argument("--checkpoint", required=True, help="a translation checkpoint (.safetensors)")
    trl.add_argument("--text", action="append", default=None,
                     help="an English text (repeat for several; default: lines of stdin)")
    trl.add_argument("--num-beams", type=int, default=1, help="beam search with N beams (1: greedy)")
    trl.add_argument("--max-new-tokens", type=int, default=None,
                     help="Chinese characters at most (default: the training --max-length)")

    ft = _sub(sub, "finetune", _finetune, "fine-tune a BERT for text classification (§3.3, §5): from "
              "scratch, from a minigrad BERT checkpoint, or from a Hugging Face BERT directory "
              "(--pretrained; then OUT/hf_model is written too)")
    ft.add_argument("--task", choices=["kjv-genre", "tang-form", "tang-author", "sentiment"],
                    default="sentiment", help="labelled data set")
    ft.add_argument("--pretrained", default=None, metavar="DIR",
                    help="a local Hugging Face BERT directory (config.json, model.safetensors, "
                         "vocab.txt), e.g. minigrad.models.package_model_dir(): its weights, its "
                         "WordPiece tokenizer and its architecture (--n-layer etc. are ignored)")
    ft.add_argument("--checkpoint", default=None,
                    help="pre-trained BERT (minigrad train --arch bert); omit both this and "
                         "--pretrained to train from scratch")
    ft.add_argument("--n-train", type=int, default=None,
                    help="use only N training texts, balanced (default: all)")
    ft.add_argument("--val-fraction", type=float, default=0.1,
                    help=f"share of the training texts set aside for validation (at most "
                         f"{MAX_VAL_TEXTS}); they choose the weights to keep")
    ft.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation/test split")
    ft.add_argument("--max-length", type=int, default=_Default(128, 64),
                    help="tokens per text, [CLS] included (characters; with --pretrained word "
                         "pieces, [CLS] text [SEP])")
    _model_args(ft, n_layer=2, n_head=4, n_embd=64, block_size=128,
                dropout=_Default(0.1, None, shown="config.json's"))
    _train_args(ft, steps=_Default(300, 150), batch_size=_Default(32, 16), lr=_Default(5e-4, 5e-5),
                warmup=_Default(30, lambda a: a.steps // 10, shown="10% of --steps"), eval_every=50,
                ckpt_every=100, out="runs/finetune",
                weight_decay=0.01)

    at = _sub(sub, "attention", _attention, "draw attention maps for a text (§4.1), of a "
              "checkpoint or of a Hugging Face model directory")
    at.add_argument("--checkpoint", default=None,
                    help="a GPT, BERT or translation checkpoint (.safetensors; a translation model "
                         "shows the cross-attention of its own translation), or a Hugging Face directory")
    at.add_argument("--pretrained", default=None, metavar="DIR",
                    help="a local Hugging Face BERT, GPT-2 or Marian directory, e.g. MiniLM")
    at.add_argument("--text", default=None,
                    help="the text to look at (default: a line of the checkpoint's own corpus; "
                         f"for a Hugging Face model: {SENTENCE})")
    at.add_argument("--out", default="attention.png", help="PNG file to write")
    at.add_argument("--html", default=None, metavar="FILE",
                    help="also write the interactive explorer of the same maps to FILE (one "
                         "self-contained HTML page: opens offline, in any browser)")
    at.add_argument("--layer", type=int, default=None, help="one layer (default: all)")
    at.add_argument("--head", type=int, default=None, help="one head (default: all)")

    sub.add_parser("lesson", help="the exercises: `lesson list`, `lesson check N [--file PATH]`")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["lesson"]:         # minigrad lesson list | check N [--file PATH]
        from .autograder import main as lesson_main
        return lesson_main(argv[1:])
    args = build_parser().parse_args(argv)
    args.argv = argv                               # train --nproc passes it on to mpiexec
    from .backends import BackendUnavailable
    from .serialization import CheckpointError
    from .train import CheckpointMismatchError
    if os.environ.get("MINIGRAD_DEBUG"):          # full tracebacks for developers
        return args.func(args)
    try:
        return args.func(args)
    except (CLIError, CheckpointError, CheckpointMismatchError, OSError, ValueError,
            FloatingPointError, BackendUnavailable) as e:
        # one line, never a traceback: a bad option, a tampered or mismatched checkpoint, a full
        # disk (OSError), weights gone NaN (the last good checkpoint is kept), no such backend
        print(f"minigrad {args.command}: error: {e}", file=sys.stderr)
        _abort_partners(f"minigrad {args.command} failed here ({type(e).__name__}); ending the job")
        return 2
    except KeyboardInterrupt:
        print(f"minigrad {args.command}: interrupted", file=sys.stderr)
        _abort_partners(f"minigrad {args.command} was interrupted here; ending the job")
        return 130


if __name__ == "__main__":
    sys.exit(main())
