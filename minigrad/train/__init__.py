"""Training and evaluation (§3.2 预训练 · 模型训练 / 模型评估, §3.3 微调).

    loop.py        Trainer, TrainConfig: AdamW, warm-up + cosine schedule, clipping, evaluation,
                   progress bar, loss curve, checkpoints, Ctrl-C, --resume
    tasks.py       LMTask (GPT), MLMTask (BERT pre-training), ClassificationTask (fine-tuning)
    checkpoint.py  one safetensors file per checkpoint: weights, optimizer, RNG, step, config
    translate.py   TranslationTask (English→Chinese, §6), BLEU/chrF evaluation, two baselines,
                   translate / load_translator
"""
from .checkpoint import (CheckpointMismatchError, build_model, check_compatible, load_model,
                         read_checkpoint, save_checkpoint, tokenizer_from_dict, tokenizer_to_dict)
from .loop import BEST, CHECKPOINT, LOSS_PNG, Trainer, TrainConfig, TrainResult, check_writable
from .tasks import ClassificationTask, LMTask, MLMTask
from .translate import (TranslationTask, Translator, baseline_most_frequent, baseline_retrieval,
                        build_translation_model, evaluate_translation, load_translator,
                        score_translations, translate)

__all__ = ["Trainer", "TrainConfig", "TrainResult", "LMTask", "MLMTask", "ClassificationTask",
           "CheckpointMismatchError", "build_model", "load_model", "read_checkpoint",
           "save_checkpoint", "check_compatible", "check_writable", "tokenizer_to_dict",
           "tokenizer_from_dict", "CHECKPOINT", "BEST", "LOSS_PNG",
           "TranslationTask", "Translator", "build_translation_model", "evaluate_translation",
           "score_translations", "baseline_most_frequent", "baseline_retrieval", "translate",
           "load_translator"]
