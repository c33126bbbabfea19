"""Seeing inside a model (§4.1 自注意力机制, §8 可解释性, and lesson 1's graph of §2.1).

Interactive views, one self-contained HTML file each (JavaScript and SVG/canvas inline, no
network: they work offline and behind a firewall):

    view = mg.viz.attention_view(model, "床前明月光", tokenizer)   # the attention explorer
    view                                    # in Jupyter; or view.save("attention.html")
    g = mg.viz.graph(loss)                  # the computation graph backward() walks
    with mg.viz.record_scopes(model): ...   # note which module made each op (graph groups them)

Static pictures (PNG, matplotlib):

    fig = plot_attention(model, tokenizer, "床前明月光")   # layers × heads grid of maps
    plot_loss_curve(history, "loss.png")

matplotlib is imported only when a static picture is asked for, so `import minigrad` and the
interactive views do not pay for it.
"""
from __future__ import annotations

from .attention import AttentionView, attention_data, attention_view, save_attention_html
from .graph_view import GraphView, graph, record_scopes

_PLOTS = ("plot_attention", "plot_loss_curve", "cjk_font", "attention_maps", "cross_attention_maps")

__all__ = ["attention_view", "save_attention_html", "attention_data", "AttentionView", "graph",
           "GraphView", "record_scopes", *_PLOTS]


def __getattr__(name):
    if name in _PLOTS or name == "plots":
        import importlib
        plots = importlib.import_module(".plots", __name__)     # matplotlib: only now
        return plots if name == "plots" else getattr(plots, name)
    raise AttributeError(f"module 'minigrad.viz' has no attribute '{name}'")
