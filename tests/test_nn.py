"""minigrad.nn: Module bookkeeping, layers, state dicts, and parity with torch.nn."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from numerics import assert_identical, assert_same_numbers


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.LayerNorm(4)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2)})
        self.drop = nn.Dropout(0.5)
        self.register_buffer("scale", mg.tensor(np.float32(2.0)))
        self.register_buffer("cache", mg.zeros(2), persistent=False)
        self.not_a_param = mg.ones(3)

    def forward(self, x):
        h = self.fc1(x).relu()
        for b in self.blocks:
            h = b(h)
        return self.heads["a"](self.drop(h)) * self.scale


def test_registration_names_and_counts():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "blocks.0.weight", "blocks.0.bias",
                     "blocks.1.weight", "blocks.1.bias", "heads.a.weight", "heads.a.bias"]
    assert m.num_parameters() == 3 * 4 + 4 + 16 + 4 + 4 + 4 + 8 + 2
    assert list(m.state_dict()) == ["scale"] + names   # own entries first, as PyTorch; no "cache"
    assert [type(c).__name__ for c in m.children()] == ["Linear", "ModuleList", "ModuleDict", "Dropout"]
    assert m.fc1.weight.shape == (4, 3)                       # (out, in) as in PyTorch


def test_shared_parameter_listed_once():
    a = nn.Linear(3, 3)
    m = nn.Sequential(a, nn.ReLU(), a)
    assert len(list(m.parameters())) == 2


def test_train_eval_propagates_and_controls_dropout():
    m = TwoLayer()
    m.eval()
    assert all(not sub.training for sub in m.modules())
    x = mg.randn(5, 3)
    assert_identical(m(x), m(x), why="eval mode: the same operations on the same memory, twice")
    m.train()
    assert m.drop.training


def test_state_dict_round_trip_and_errors():
    a, b = TwoLayer(), TwoLayer()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    a.eval(), b.eval()
    x = mg.randn(2, 3)
    assert_same_numbers(a(x), b(x))          # two models with equal weights: rounding may differ
    sd = dict(a.state_dict())
    sd["fc1.weight"] = np.zeros((5, 3), np.float32)
    del sd["fc1.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as err:
        b.load_state_dict(sd)
    msg = str(err.value)
    assert "fc1.weight: checkpoint (5, 3) vs model (4, 3)" in msg
    assert "missing keys: fc1.bias" in msg and "unexpected keys: extra" in msg
    sd["fc1.weight"] = np.zeros((4, 3), np.float32)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc1.bias"] and res.unexpected_keys == ["extra"]
    assert np.array_equal(b.fc1.weight.numpy(), np.zeros((4, 3)))


def test_load_state_dict_copies_not_aliases():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.load_state_dict(a.state_dict())
    a.weight.data[0, 0] = 123.0
    assert b.weight.data[0, 0] != 123.0


def test_repr_tree():
    text = repr(TwoLayer())
    assert "(fc1): Linear(in_features=3, out_features=4, bias=True)" in text
    assert "(blocks): ModuleList(\n    (0): Linear" in text
    assert "(1): LayerNorm((4,), eps=1e-05)" in text


def test_zero_grad_and_accumulation():
    m = nn.Linear(3, 1)
    x = mg.randn(4, 3)
    m(x).sum().backward()
    g1 = m.weight.grad.numpy().copy()
    m(x).sum().backward()
    assert np.allclose(m.weight.grad.numpy(), 2 * g1)       # gradients accumulate
    m.zero_grad()
    assert m.weight.grad is None


def test_setattr_before_init_is_a_clear_error():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
    with pytest.raises(AttributeError, match=r"super\(\)\.__init__"):
        Bad()


def test_double_converts_parameters_for_gradcheck():
    m = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4), nn.Linear(4, 2)).double()
    assert all(p.dtype == np.float64 for p in m.parameters())
    x = mg.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda x, *ps: m(x), [x] + list(m.parameters()))


def test_manual_seed_makes_initialisation_reproducible():
    mg.manual_seed(7)
    a = nn.Linear(4, 4).weight.numpy()
    mg.manual_seed(7)
    b = nn.Linear(4, 4).weight.numpy()
    assert np.array_equal(a, b)


def test_linear_init_bounds_like_pytorch():
    m = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.weight.numpy()).max() > 0.8 * bound


def test_parameter_owns_its_data():
    array = np.ones(3, np.float32)
    p = nn.Parameter(array)
    p.data[0] = 5
    assert array[0] == 1 and p.requires_grad


def test_tiny_mlp_learns_xor():
    mg.manual_seed(0)
    x = mg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = mg.tensor([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    for _ in range(300):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.data -= 0.5 * p.grad.data
    assert loss.item() < 0.05
    assert np.array_equal(model(x).argmax(-1).numpy(), [0, 1, 1, 0])


@pytest.mark.interop
def test_layers_match_torch_nn():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.LayerNorm(7), nn.Linear(7, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.GELU(), torch.nn.LayerNorm(7),
                                 torch.nn.Linear(7, 3))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 1])
    out_ours = ours(mg.tensor(x))
    out_theirs = theirs(torch.tensor(x))
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), atol=1e-6, rtol=1e-3)
    F.cross_entropy(out_ours, y).backward()
    torch.nn.functional.cross_entropy(out_theirs, torch.tensor(y)).backward()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-4, err_msg=name)
